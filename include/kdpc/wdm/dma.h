/* SPDX-License-Identifier: MIT */
/*
 * kdpc/wdm/dma.h - DMA adapters, controller objects and cancel-safe queues
 * (docs/facts/io.md sections 4.25 and 5).
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

typedef enum _INTERFACE_TYPE {
    InterfaceTypeUndefined = -1,
    Internal = 0,
    Isa = 1,
    PCIBus = 5
} INTERFACE_TYPE;
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
 * + 1, at most 16: kdpc's map register limit). NULL for a NULL description
 * or a Version above DEVICE_DESCRIPTION_VERSION2.
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
