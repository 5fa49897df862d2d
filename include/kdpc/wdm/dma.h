/* SPDX-License-Identifier: MIT */
/*
 * kdpc/wdm/dma.h - DMA adapters, controller objects and cancel-safe queues
 * (docs/facts/io.md sections 4.25 and 5; versions 2 and 3: docs/facts/dma.md).
 *
 * Objects: an adapter, controller, device, cancel-safe queue or IRP pointer
 * that is not a live object of its type (NULL, never created or initialised,
 * deleted, another type) is never read: bug check io.invalid_object with the
 * fault Windows would take (0x50 with P1 = the pointer; 0x1E for NULL; 0xA
 * at DISPATCH_LEVEL), and the call does nothing when the rule is a warning.
 *
 * Logical addresses are host addresses: a virtual device turns one back
 * into memory with kdpc_dma_host_address() (<kdpc/driver.h>), which only
 * succeeds while the range is mapped through map registers or lies in a
 * common buffer.
 */
#ifndef KDPC_WDM_DMA_H
#define KDPC_WDM_DMA_H

#include <kdpc/wdm/types.h>
#include <kdpc/wdm/ke.h>
#include <kdpc/wdm/io.h>
#include <kdpc/wdm/irp.h>

KDPC_BEGIN_DECLS

/** The bus a device sits on (every value wdm.h defines; kdpc's adapters behave alike on all). */
typedef enum _INTERFACE_TYPE {
    InterfaceTypeUndefined = -1,
    Internal = 0,
    Isa = 1,
    Eisa = 2,
    MicroChannel = 3,
    TurboChannel = 4,
    PCIBus = 5,
    VMEBus = 6,
    NuBus = 7,
    PCMCIABus = 8,
    CBus = 9,
    MPIBus = 10,
    MPSABus = 11,
    ProcessorInternal = 12,
    InternalPowerBus = 13,
    PNPISABus = 14,
    PNPBus = 15,
    Vmcs = 16,
    ACPIBus = 17,
    MaximumInterfaceType = 18
} INTERFACE_TYPE,
    *PINTERFACE_TYPE;
typedef enum _DMA_WIDTH {
    Width8Bits,
    Width16Bits,
    Width32Bits,
    Width64Bits,
    MaximumDmaWidth
} DMA_WIDTH;
typedef enum _DMA_SPEED { Compatible, TypeA, TypeB, TypeC, TypeF, MaximumDmaSpeed } DMA_SPEED;

#define DEVICE_DESCRIPTION_VERSION  0
#define DEVICE_DESCRIPTION_VERSION1 1
#define DEVICE_DESCRIPTION_VERSION2 2
#define DEVICE_DESCRIPTION_VERSION3 3

/** What a device can do for DMA (IoGetDmaAdapter's input). */
typedef struct _DEVICE_DESCRIPTION {
    ULONG Version;
    BOOLEAN Master;        /* bus master (else system / slave DMA) */
    BOOLEAN ScatterGather; /* can take a scatter/gather list */
    BOOLEAN DemandMode;
    BOOLEAN AutoInitialize;
    BOOLEAN Dma32BitAddresses;
    BOOLEAN IgnoreCount;
    BOOLEAN Reserved1;
    BOOLEAN Dma64BitAddresses;
    ULONG BusNumber;
    ULONG DmaChannel;
    INTERFACE_TYPE InterfaceType;
    DMA_WIDTH DmaWidth;
    DMA_SPEED DmaSpeed;
    ULONG MaximumLength; /* largest transfer, bytes */
    ULONG DmaPort;
    /* version 3 (DEVICE_DESCRIPTION_VERSION3) only: */
    ULONG DmaAddressWidth; /* bus master: address bits, 1..64 */
    ULONG DmaControllerInstance;
    ULONG DmaRequestLine;           /* system DMA: the controller's request line */
    PHYSICAL_ADDRESS DeviceAddress; /* system DMA: the device's data register */
} DEVICE_DESCRIPTION, *PDEVICE_DESCRIPTION;

/** IO_ALLOCATION_ACTION (5.4). */
typedef enum _IO_ALLOCATION_ACTION {
    KeepObject = 1,
    DeallocateObject = 2,
    DeallocateObjectKeepRegisters = 3
} IO_ALLOCATION_ACTION;

/** AdapterControl / ControllerControl prototype (5.3, 5.14). */
typedef IO_ALLOCATION_ACTION DRIVER_CONTROL(PDEVICE_OBJECT DeviceObject, PIRP Irp,
                                            PVOID MapRegisterBase, PVOID Context);
typedef DRIVER_CONTROL *PDRIVER_CONTROL;

typedef struct _SCATTER_GATHER_ELEMENT {
    PHYSICAL_ADDRESS Address;
    ULONG Length;
    ULONG_PTR Reserved;
} SCATTER_GATHER_ELEMENT, *PSCATTER_GATHER_ELEMENT;

typedef struct _SCATTER_GATHER_LIST {
    ULONG NumberOfElements;
    ULONG_PTR Reserved;
    SCATTER_GATHER_ELEMENT Elements[1];
} SCATTER_GATHER_LIST, *PSCATTER_GATHER_LIST;

typedef void DRIVER_LIST_CONTROL(PDEVICE_OBJECT DeviceObject, PIRP Irp,
                                 PSCATTER_GATHER_LIST ScatterGather, PVOID Context);
typedef DRIVER_LIST_CONTROL *PDRIVER_LIST_CONTROL;

typedef struct _DMA_ADAPTER DMA_ADAPTER, *PDMA_ADAPTER;

/* --- version 3 types (docs/facts/dma.md) --- */

/** How a system DMA transfer ended (DmaCompletionRoutine's Status). */
typedef enum _DMA_COMPLETION_STATUS {
    DmaComplete,
    DmaAborted,
    DmaError,
    DmaCancelled
} DMA_COMPLETION_STATUS;

/** DmaCompletionRoutine: a system DMA transfer mapped by MapTransferEx ended; DISPATCH_LEVEL. */
typedef void DMA_COMPLETION_ROUTINE(PDMA_ADAPTER DmaAdapter, PDEVICE_OBJECT DeviceObject,
                                    PVOID CompletionContext, DMA_COMPLETION_STATUS Status);
typedef DMA_COMPLETION_ROUTINE *PDMA_COMPLETION_ROUTINE;

/** Flags of AllocateAdapterChannelEx / GetScatterGatherListEx / BuildScatterGatherListEx. */
#define DMA_SYNCHRONOUS_CALLBACK 0x01

/** The opaque DMA transfer context a driver allocates (InitializeDmaTransferContext). */
#define DMA_TRANSFER_CONTEXT_VERSION1 1
#define DMA_TRANSFER_CONTEXT_SIZE_V1  128

/** GetDmaTransferInfo's answer for one transfer. */
typedef struct _DMA_TRANSFER_INFO_V1 {
    ULONG MapRegisterCount;
    ULONG ScatterGatherElementCount;
    ULONG ScatterGatherListSize; /* bytes for BuildScatterGatherListEx / MapTransferEx */
} DMA_TRANSFER_INFO_V1, *PDMA_TRANSFER_INFO_V1;
#define DMA_TRANSFER_INFO_VERSION1 1
typedef struct _DMA_TRANSFER_INFO {
    ULONG Version; /* the caller sets DMA_TRANSFER_INFO_VERSION1 */
    KDPC_EXTENSION union {
        DMA_TRANSFER_INFO_V1 V1;
    };
} DMA_TRANSFER_INFO, *PDMA_TRANSFER_INFO;

/** GetDmaAdapterInfo's answer: the adapter's DMA controller. */
typedef struct _DMA_ADAPTER_INFO_V1 {
    ULONG ReadDmaCounterAvailable;
    ULONG ScatterGatherLimit; /* most elements one transfer may have */
    ULONG DmaAddressWidth;    /* bits */
    ULONG Flags;              /* none defined */
    ULONG MinimumTransferUnit;
} DMA_ADAPTER_INFO_V1, *PDMA_ADAPTER_INFO_V1;
#define DMA_ADAPTER_INFO_VERSION1 1
typedef struct _DMA_ADAPTER_INFO {
    ULONG Version; /* the caller sets DMA_ADAPTER_INFO_VERSION1 */
    KDPC_EXTENSION union {
        DMA_ADAPTER_INFO_V1 V1;
    };
} DMA_ADAPTER_INFO, *PDMA_ADAPTER_INFO;

/** A NUMA node preference (AllocateCommonBufferEx). */
typedef ULONG NODE_REQUIREMENT;
#define MM_ANY_NODE_OK 0x80000000u

/** The adapter's operations (5.2-5.10). */
typedef struct _DMA_OPERATIONS {
    ULONG Size;
    void (*PutDmaAdapter)(PDMA_ADAPTER DmaAdapter);
    PVOID(*AllocateCommonBuffer)
    (PDMA_ADAPTER DmaAdapter, ULONG Length, PPHYSICAL_ADDRESS LogicalAddress, BOOLEAN CacheEnabled);
    void (*FreeCommonBuffer)(PDMA_ADAPTER DmaAdapter, ULONG Length, PHYSICAL_ADDRESS LogicalAddress,
                             PVOID VirtualAddress, BOOLEAN CacheEnabled);
    NTSTATUS(*AllocateAdapterChannel)
    (PDMA_ADAPTER DmaAdapter, PDEVICE_OBJECT DeviceObject, ULONG NumberOfMapRegisters,
     PDRIVER_CONTROL ExecutionRoutine, PVOID Context);
    BOOLEAN(*FlushAdapterBuffers)
    (PDMA_ADAPTER DmaAdapter, PMDL Mdl, PVOID MapRegisterBase, PVOID CurrentVa, ULONG Length,
     BOOLEAN WriteToDevice);
    void (*FreeAdapterChannel)(PDMA_ADAPTER DmaAdapter);
    void (*FreeMapRegisters)(PDMA_ADAPTER DmaAdapter, PVOID MapRegisterBase,
                             ULONG NumberOfMapRegisters);
    PHYSICAL_ADDRESS(*MapTransfer)
    (PDMA_ADAPTER DmaAdapter, PMDL Mdl, PVOID MapRegisterBase, PVOID CurrentVa, PULONG Length,
     BOOLEAN WriteToDevice);
    ULONG (*GetDmaAlignment)(PDMA_ADAPTER DmaAdapter);
    ULONG (*ReadDmaCounter)(PDMA_ADAPTER DmaAdapter);
    NTSTATUS(*GetScatterGatherList)
    (PDMA_ADAPTER DmaAdapter, PDEVICE_OBJECT DeviceObject, PMDL Mdl, PVOID CurrentVa, ULONG Length,
     PDRIVER_LIST_CONTROL ExecutionRoutine, PVOID Context, BOOLEAN WriteToDevice);
    void (*PutScatterGatherList)(PDMA_ADAPTER DmaAdapter, PSCATTER_GATHER_LIST ScatterGather,
                                 BOOLEAN WriteToDevice);
    /* version 2 (DEVICE_DESCRIPTION_VERSION2 and later) */
    NTSTATUS(*CalculateScatterGatherList)
    (PDMA_ADAPTER DmaAdapter, PMDL Mdl, PVOID CurrentVa, ULONG Length, PULONG ScatterGatherListSize,
     PULONG pNumberOfMapRegisters);
    NTSTATUS(*BuildScatterGatherList)
    (PDMA_ADAPTER DmaAdapter, PDEVICE_OBJECT DeviceObject, PMDL Mdl, PVOID CurrentVa, ULONG Length,
     PDRIVER_LIST_CONTROL ExecutionRoutine, PVOID Context, BOOLEAN WriteToDevice,
     PVOID ScatterGatherBuffer, ULONG ScatterGatherLength);
    NTSTATUS(*BuildMdlFromScatterGatherList)
    (PDMA_ADAPTER DmaAdapter, PSCATTER_GATHER_LIST ScatterGather, PMDL OriginalMdl,
     PMDL *TargetMdl);
    /* version 3 (DEVICE_DESCRIPTION_VERSION3) */
    NTSTATUS (*GetDmaAdapterInfo)(PDMA_ADAPTER DmaAdapter, PDMA_ADAPTER_INFO AdapterInfo);
    NTSTATUS(*GetDmaTransferInfo)
    (PDMA_ADAPTER DmaAdapter, PMDL Mdl, ULONGLONG Offset, ULONG Length, BOOLEAN WriteOnly,
     PDMA_TRANSFER_INFO TransferInfo);
    NTSTATUS (*InitializeDmaTransferContext)(PDMA_ADAPTER DmaAdapter, PVOID DmaTransferContext);
    PVOID(*AllocateCommonBufferEx)
    (PDMA_ADAPTER DmaAdapter, PPHYSICAL_ADDRESS MaximumAddress, ULONG Length,
     PPHYSICAL_ADDRESS LogicalAddress, BOOLEAN CacheEnabled, NODE_REQUIREMENT PreferredNode);
    NTSTATUS(*AllocateAdapterChannelEx)
    (PDMA_ADAPTER DmaAdapter, PDEVICE_OBJECT DeviceObject, PVOID DmaTransferContext,
     ULONG NumberOfMapRegisters, ULONG Flags, PDRIVER_CONTROL ExecutionRoutine,
     PVOID ExecutionContext, PVOID *MapRegisterBase);
    NTSTATUS(*ConfigureAdapterChannel)
    (PDMA_ADAPTER DmaAdapter, ULONG FunctionNumber, PVOID Context);
    BOOLEAN(*CancelAdapterChannel)
    (PDMA_ADAPTER DmaAdapter, PDEVICE_OBJECT DeviceObject, PVOID DmaTransferContext);
    NTSTATUS(*MapTransferEx)
    (PDMA_ADAPTER DmaAdapter, PMDL Mdl, PVOID MapRegisterBase, ULONGLONG Offset, ULONG DeviceOffset,
     PULONG Length, BOOLEAN WriteToDevice, PSCATTER_GATHER_LIST ScatterGatherBuffer,
     ULONG ScatterGatherBufferLength, PDMA_COMPLETION_ROUTINE DmaCompletionRoutine,
     PVOID CompletionContext);
    NTSTATUS(*GetScatterGatherListEx)
    (PDMA_ADAPTER DmaAdapter, PDEVICE_OBJECT DeviceObject, PVOID DmaTransferContext, PMDL Mdl,
     ULONGLONG Offset, ULONG Length, ULONG Flags, PDRIVER_LIST_CONTROL ExecutionRoutine,
     PVOID Context, BOOLEAN WriteToDevice, PDMA_COMPLETION_ROUTINE DmaCompletionRoutine,
     PVOID CompletionContext, PSCATTER_GATHER_LIST *ScatterGatherList);
    NTSTATUS(*BuildScatterGatherListEx)
    (PDMA_ADAPTER DmaAdapter, PDEVICE_OBJECT DeviceObject, PVOID DmaTransferContext, PMDL Mdl,
     ULONGLONG Offset, ULONG Length, ULONG Flags, PDRIVER_LIST_CONTROL ExecutionRoutine,
     PVOID Context, BOOLEAN WriteToDevice, PVOID ScatterGatherBuffer, ULONG ScatterGatherLength,
     PDMA_COMPLETION_ROUTINE DmaCompletionRoutine, PVOID CompletionContext,
     PVOID ScatterGatherList);
    NTSTATUS(*FlushAdapterBuffersEx)
    (PDMA_ADAPTER DmaAdapter, PMDL Mdl, PVOID MapRegisterBase, ULONGLONG Offset, ULONG Length,
     BOOLEAN WriteToDevice);
    void (*FreeAdapterObject)(PDMA_ADAPTER DmaAdapter, IO_ALLOCATION_ACTION AllocationAction);
    NTSTATUS (*CancelMappedTransfer)(PDMA_ADAPTER DmaAdapter, PVOID DmaTransferContext);
} DMA_OPERATIONS, *PDMA_OPERATIONS;

/** A DMA adapter: Version 1; operations in DmaOperations (5.1). */
struct _DMA_ADAPTER {
    USHORT Version;
    USHORT Size;
    PDMA_OPERATIONS DmaOperations;
};

KDPC_EXPORT PDMA_ADAPTER kdpc_IoGetDmaAdapter(PDEVICE_OBJECT PhysicalDeviceObject,
                                              PDEVICE_DESCRIPTION DeviceDescription,
                                              PULONG NumberOfMapRegisters);

/**
 * IoGetDmaAdapter - an adapter for the device described; *NumberOfMapRegisters
 * gets the most map registers one transfer may use (pages of MaximumLength
 * + 1, at most 16: kdpc's map register limit). NULL for a NULL description,
 * a Version above DEVICE_DESCRIPTION_VERSION3, or a version 3 bus master
 * whose DmaAddressWidth is 0 or above 64.
 * IRQL: PASSIVE_LEVEL.
 * The operations follow io.md 5.2-5.10: AllocateAdapterChannel calls
 * AdapterControl at once when the adapter (and registers) are free, else
 * queues it FIFO; MapTransfer maps at most the registers allocated (Length is
 * cut to that: split larger transfers); FlushAdapterBuffers once per
 * MapTransfer before completion or freeing. GetDmaAlignment is 1.
 * Divergence: ReadDmaCounter always returns 0 (a virtual device moves a
 * mapped piece at once, so no transfer is ever part-way through).
 * AdapterControl always runs at DISPATCH_LEVEL. Bugchecks: dma.adapter_held
 * (0xE6/0x2A) completing the IRP with the channel or registers still held,
 * dma.not_flushed (0xE6/0x0D), dma.double_free (0xE6/0x04 channel, 0x05
 * registers).
 *
 * Version 2 members (DEVICE_DESCRIPTION_VERSION2 and 3; docs/facts/dma.md):
 * CalculateScatterGatherList (list size and map registers; NULL Mdl: the
 * most a buffer there could need, a page per element; STATUS_BUFFER_TOO_SMALL
 * when Length passes the MDL, STATUS_INSUFFICIENT_RESOURCES above the
 * adapter's registers), BuildScatterGatherList (GetScatterGatherList into
 * the driver's buffer; STATUS_BUFFER_TOO_SMALL), BuildMdlFromScatterGatherList
 * (kdpc never copies a buffer: *TargetMdl = OriginalMdl).
 * Version 3 members (DEVICE_DESCRIPTION_VERSION3): every request names a
 * DMA transfer context from InitializeDmaTransferContext (NULL or unknown:
 * STATUS_INVALID_PARAMETER). AllocateAdapterChannelEx queues like
 * AllocateAdapterChannel; with DMA_SYNCHRONOUS_CALLBACK it runs AdapterControl
 * before returning, or (no AdapterControl) returns *MapRegisterBase and the
 * caller holds the channel and registers until FreeAdapterObject; busy:
 * STATUS_INSUFFICIENT_RESOURCES. CancelAdapterChannel: TRUE for a pending (or
 * not yet made) request, FALSE once granted. GetDmaTransferInfo: registers,
 * elements and list size (DMA_TRANSFER_INFO_VERSION1 only, else
 * STATUS_NOT_SUPPORTED). MapTransferEx writes the scatter/gather list (one
 * element per MDL of the chain) and cuts *Length to the registers and list
 * room; FlushAdapterBuffersEx (Mdl, Offset of the map) ends it
 * (STATUS_INVALID_PARAMETER when nothing is mapped there);
 * GetScatterGatherListEx / BuildScatterGatherListEx (bus masters only) keep
 * the registers until PutScatterGatherList; GetDmaAdapterInfo
 * (DMA_ADAPTER_INFO_VERSION1); CancelMappedTransfer stops further transfers
 * under the context (STATUS_CANCELLED). ConfigureAdapterChannel returns
 * STATUS_NOT_IMPLEMENTED (kdpc's DMA controller has no custom functions).
 * Every MDL of a chain these members take must be one kdpc made
 * (IoAllocateMdl, an IRP's direct I/O MDL, MmAllocatePagesForMdl): any
 * other pointer is never followed (io.invalid_object; as a warning,
 * STATUS_INVALID_PARAMETER); a queued request re-checks its device object
 * and chain when it comes up (a device deleted or an MDL freed meanwhile:
 * io.invalid_object, or the request is dropped unread as a warning).
 * IRQL: AllocateAdapterChannelEx and BuildScatterGatherListEx at
 * DISPATCH_LEVEL, the other members at or below it (not checked, as for the
 * version 1 members); AdapterControl, AdapterListControl and
 * DmaCompletionRoutine always run at DISPATCH_LEVEL.
 * A system DMA MapTransferEx with a DmaCompletionRoutine queues the
 * controller's completion as a DPC on the calling CPU: the routine runs at
 * DISPATCH_LEVEL once IRQL drops, with DmaComplete, or DmaCancelled when
 * FlushAdapterBuffersEx or CancelMappedTransfer came first. Divergence: the
 * transfer itself takes no virtual time (ReadDmaCounter is 0).
 * Divergence: AllocateCommonBufferEx ignores MaximumAddress and PreferredNode
 * (logical addresses are host addresses). Divergence: every adapter's DMA_OPERATIONS has all members
 * (Size is sizeof(DMA_OPERATIONS)); a member newer than the adapter's
 * DEVICE_DESCRIPTION version returns STATUS_NOT_SUPPORTED (NULL, FALSE or
 * nothing where it returns no status). Divergence: a request with a context
 * CancelAdapterChannel cancelled beforehand returns STATUS_CANCELLED (kdpc's
 * choice of status). The Windows 10 members (AllocateDomainCommonBuffer and
 * later) are not declared.
 */
static inline PDMA_ADAPTER IoGetDmaAdapter(PDEVICE_OBJECT PhysicalDeviceObject,
                                           PDEVICE_DESCRIPTION DeviceDescription,
                                           PULONG NumberOfMapRegisters)
{
    return kdpc_IoGetDmaAdapter(PhysicalDeviceObject, DeviceDescription, NumberOfMapRegisters);
}

/** Pages spanned by [Va, Va + Size) (5.9). */
#define ADDRESS_AND_SIZE_TO_SPAN_PAGES(Va, Size)                                                   \
    ((ULONG)((((ULONG_PTR)(Va) & (PAGE_SIZE - 1)) + (Size) + (PAGE_SIZE - 1)) >> PAGE_SHIFT))
#define BYTE_OFFSET(Va) ((ULONG)((ULONG_PTR)(Va) & (PAGE_SIZE - 1)))
/** Pages needed for Size bytes, rounded up. */
#define BYTES_TO_PAGES(Size) ((ULONG)(((Size) >> PAGE_SHIFT) + (((Size) & (PAGE_SIZE - 1)) != 0)))

/* --- controller objects (5.13-5.15) --- */
typedef struct _CONTROLLER_OBJECT {
    CSHORT Type; /* IO_TYPE_CONTROLLER */
    CSHORT Size; /* sizeof(CONTROLLER_OBJECT) + the extension's size */
    PVOID ControllerExtension;
} CONTROLLER_OBJECT, *PCONTROLLER_OBJECT;

#define IO_TYPE_CONTROLLER 5

KDPC_EXPORT PCONTROLLER_OBJECT kdpc_IoCreateController(ULONG Size);
KDPC_EXPORT void kdpc_IoAllocateController(PCONTROLLER_OBJECT ControllerObject,
                                           PDEVICE_OBJECT DeviceObject,
                                           PDRIVER_CONTROL ExecutionRoutine, PVOID Context);
KDPC_EXPORT void kdpc_IoFreeController(PCONTROLLER_OBJECT ControllerObject);
KDPC_EXPORT void kdpc_IoDeleteController(PCONTROLLER_OBJECT ControllerObject);

/** IoCreateController - a controller with a zeroed extension of @Size bytes, or NULL. IRQL:
 * PASSIVE_LEVEL. */
static inline PCONTROLLER_OBJECT IoCreateController(ULONG Size)
{
    return kdpc_IoCreateController(Size);
}
/**
 * IoAllocateController - free: ControllerControl(Dev, Dev->CurrentIrp, NULL,
 * Context) runs now, synchronously; busy: queued FIFO. DeallocateObject
 * frees it at once, KeepObject keeps it until IoFreeController (5.14).
 * IRQL: DISPATCH_LEVEL. Bugchecks: controller.held (code 0) when the IRP it
 * was allocated for completes while it is still held.
 */
static inline void IoAllocateController(PCONTROLLER_OBJECT ControllerObject,
                                        PDEVICE_OBJECT DeviceObject,
                                        PDRIVER_CONTROL ExecutionRoutine, PVOID Context)
{
    kdpc_IoAllocateController(ControllerObject, DeviceObject, ExecutionRoutine, Context);
}
/** IoFreeController - release it; the next queued ControllerControl runs inside this call. */
static inline void IoFreeController(PCONTROLLER_OBJECT ControllerObject)
{
    kdpc_IoFreeController(ControllerObject);
}
/** IoDeleteController - free the controller object. IRQL: PASSIVE_LEVEL. */
static inline void IoDeleteController(PCONTROLLER_OBJECT ControllerObject)
{
    kdpc_IoDeleteController(ControllerObject);
}

/* --- cancel-safe queues (4.25) --- */
typedef struct _IO_CSQ IO_CSQ, *PIO_CSQ;
typedef struct _IO_CSQ_IRP_CONTEXT {
    ULONG Type;
    PIRP Irp;
    PIO_CSQ Csq;
} IO_CSQ_IRP_CONTEXT, *PIO_CSQ_IRP_CONTEXT;

typedef void IO_CSQ_INSERT_IRP(PIO_CSQ Csq, PIRP Irp);
typedef NTSTATUS IO_CSQ_INSERT_IRP_EX(PIO_CSQ Csq, PIRP Irp, PVOID InsertContext);
typedef void IO_CSQ_REMOVE_IRP(PIO_CSQ Csq, PIRP Irp);
typedef PIRP IO_CSQ_PEEK_NEXT_IRP(PIO_CSQ Csq, PIRP Irp, PVOID PeekContext);
typedef void IO_CSQ_ACQUIRE_LOCK(PIO_CSQ Csq, PKIRQL Irql);
typedef void IO_CSQ_RELEASE_LOCK(PIO_CSQ Csq, KIRQL Irql);
typedef void IO_CSQ_COMPLETE_CANCELED_IRP(PIO_CSQ Csq, PIRP Irp);

/** A cancel-safe queue: the driver's callbacks (kdpc does the cancel logic). */
struct _IO_CSQ {
    ULONG Type;
    IO_CSQ_INSERT_IRP *CsqInsertIrp;
    IO_CSQ_REMOVE_IRP *CsqRemoveIrp;
    IO_CSQ_PEEK_NEXT_IRP *CsqPeekNextIrp;
    IO_CSQ_ACQUIRE_LOCK *CsqAcquireLock;
    IO_CSQ_RELEASE_LOCK *CsqReleaseLock;
    IO_CSQ_COMPLETE_CANCELED_IRP *CsqCompleteCanceledIrp;
    PVOID ReservePointer; /* CsqInsertIrpEx for IoCsqInitializeEx */
};

KDPC_EXPORT NTSTATUS kdpc_IoCsqInitialize(PIO_CSQ Csq, IO_CSQ_INSERT_IRP *CsqInsertIrp,
                                          IO_CSQ_REMOVE_IRP *CsqRemoveIrp,
                                          IO_CSQ_PEEK_NEXT_IRP *CsqPeekNextIrp,
                                          IO_CSQ_ACQUIRE_LOCK *CsqAcquireLock,
                                          IO_CSQ_RELEASE_LOCK *CsqReleaseLock,
                                          IO_CSQ_COMPLETE_CANCELED_IRP *CsqCompleteCanceledIrp);
KDPC_EXPORT NTSTATUS kdpc_IoCsqInitializeEx(PIO_CSQ Csq, IO_CSQ_INSERT_IRP_EX *CsqInsertIrp,
                                            IO_CSQ_REMOVE_IRP *CsqRemoveIrp,
                                            IO_CSQ_PEEK_NEXT_IRP *CsqPeekNextIrp,
                                            IO_CSQ_ACQUIRE_LOCK *CsqAcquireLock,
                                            IO_CSQ_RELEASE_LOCK *CsqReleaseLock,
                                            IO_CSQ_COMPLETE_CANCELED_IRP *CsqCompleteCanceledIrp);
KDPC_EXPORT NTSTATUS kdpc_IoCsqInsertIrpEx(PIO_CSQ Csq, PIRP Irp, PIO_CSQ_IRP_CONTEXT Context,
                                           PVOID InsertContext);
KDPC_EXPORT PIRP kdpc_IoCsqRemoveNextIrp(PIO_CSQ Csq, PVOID PeekContext);
KDPC_EXPORT PIRP kdpc_IoCsqRemoveIrp(PIO_CSQ Csq, PIO_CSQ_IRP_CONTEXT Context);

/** IoCsqInitialize - bind the callbacks. Return: STATUS_SUCCESS. IRQL: any. */
static inline NTSTATUS IoCsqInitialize(PIO_CSQ Csq, IO_CSQ_INSERT_IRP *CsqInsertIrp,
                                       IO_CSQ_REMOVE_IRP *CsqRemoveIrp,
                                       IO_CSQ_PEEK_NEXT_IRP *CsqPeekNextIrp,
                                       IO_CSQ_ACQUIRE_LOCK *CsqAcquireLock,
                                       IO_CSQ_RELEASE_LOCK *CsqReleaseLock,
                                       IO_CSQ_COMPLETE_CANCELED_IRP *CsqCompleteCanceledIrp)
{
    return kdpc_IoCsqInitialize(Csq, CsqInsertIrp, CsqRemoveIrp, CsqPeekNextIrp, CsqAcquireLock,
                                CsqReleaseLock, CsqCompleteCanceledIrp);
}
/** IoCsqInitializeEx - as IoCsqInitialize with an insert routine that may fail. */
static inline NTSTATUS IoCsqInitializeEx(PIO_CSQ Csq, IO_CSQ_INSERT_IRP_EX *CsqInsertIrp,
                                         IO_CSQ_REMOVE_IRP *CsqRemoveIrp,
                                         IO_CSQ_PEEK_NEXT_IRP *CsqPeekNextIrp,
                                         IO_CSQ_ACQUIRE_LOCK *CsqAcquireLock,
                                         IO_CSQ_RELEASE_LOCK *CsqReleaseLock,
                                         IO_CSQ_COMPLETE_CANCELED_IRP *CsqCompleteCanceledIrp)
{
    return kdpc_IoCsqInitializeEx(Csq, CsqInsertIrp, CsqRemoveIrp, CsqPeekNextIrp, CsqAcquireLock,
                                  CsqReleaseLock, CsqCompleteCanceledIrp);
}
/**
 * IoCsqInsertIrpEx - under the queue lock: insert (the driver's callback),
 * mark the IRP pending, set kdpc's cancel routine; an IRP already cancelled
 * is taken out again and completed through CsqCompleteCanceledIrp (4.25,
 * ReactOS's order). Returns the insert callback's status.
 */
static inline NTSTATUS IoCsqInsertIrpEx(PIO_CSQ Csq, PIRP Irp, PIO_CSQ_IRP_CONTEXT Context,
                                        PVOID InsertContext)
{
    return kdpc_IoCsqInsertIrpEx(Csq, Irp, Context, InsertContext);
}
/** IoCsqInsertIrp - IoCsqInsertIrpEx without an insert context. */
static inline void IoCsqInsertIrp(PIO_CSQ Csq, PIRP Irp, PIO_CSQ_IRP_CONTEXT Context)
{
    (void)kdpc_IoCsqInsertIrpEx(Csq, Irp, Context, NULL);
}
/** IoCsqRemoveNextIrp - the next IRP (per CsqPeekNextIrp) that is not being cancelled, taken
 * out; NULL when none is left. */
static inline PIRP IoCsqRemoveNextIrp(PIO_CSQ Csq, PVOID PeekContext)
{
    return kdpc_IoCsqRemoveNextIrp(Csq, PeekContext);
}
/** IoCsqRemoveIrp - take out the IRP of @Context; NULL if it has been cancelled meanwhile. */
static inline PIRP IoCsqRemoveIrp(PIO_CSQ Csq, PIO_CSQ_IRP_CONTEXT Context)
{
    return kdpc_IoCsqRemoveIrp(Csq, Context);
}

KDPC_END_DECLS

#endif /* KDPC_WDM_DMA_H */
