/* SPDX-License-Identifier: MIT */
/*
 * kdpc/wdm/hal.h - device registers and I/O ports (READ_/WRITE_REGISTER_*,
 * READ_/WRITE_PORT_* and their _BUFFER_ forms) and the I/O space mappings
 * that reach them (MmMapIoSpace, MmMapIoSpaceEx, MmUnmapIoSpace), plus
 * MmGetPhysicalAddress (docs/facts/hal.md).
 *
 * The registers belong to virtual devices (<kdpc/device.h>): a device's
 * register window is a range of physical addresses; MmMapIoSpace hands out
 * a virtual address for (part of) it, and READ_/WRITE_REGISTER_* through
 * that address call the window's read and write handlers. I/O ports are
 * reached by number (the Port argument is the port, as on x64 Windows).
 *
 * Every access is an interleaving point before it happens (an interrupt may
 * arrive between two accesses), is traced (KDPC_EV_REG_READ/_WRITE,
 * KDPC_EV_PORT_READ/_WRITE with the physical address or port and the
 * value), is counted in the device's counters, and feeds
 * sync.isr_unsynchronized per register: a register that an ISR touches and
 * that a DPC or thread touches without that interrupt's lock, while that
 * interrupt is connected, is reported once, naming both routines (a touch
 * before IoConnectInterrupt or after IoDisconnectInterrupt is not).
 *
 * The address MmMapIoSpace returns is host memory that cannot be accessed:
 * dereferencing it directly (instead of through READ_/WRITE_REGISTER_*)
 * faults into a bug check report (0x50, or 0xD1 at DISPATCH_LEVEL or above),
 * never a silent read.
 *
 * Bug checks: hal.bad_address (an access no mapping or device owns, or after
 * MmUnmapIoSpace: 0x50 below DISPATCH_LEVEL, 0xD1 at or above; a write
 * through a read-only mapping: 0xBE); hal.map_unowned (MmMapIoSpace of a
 * range no device window covers: 0xC4 P1 0x83); hal.bad_unmap
 * (MmUnmapIoSpace of an address that is not a mapping, or unmapped twice:
 * 0xDA P1 0x03; with another byte count than mapped: 0xDA P1 0x02);
 * hal.irql (MmMapIoSpace(Ex) or MmUnmapIoSpace above DISPATCH_LEVEL: 0xC4
 * P1 0x20011, P2 the IRQL).
 */
#ifndef KDPC_WDM_HAL_H
#define KDPC_WDM_HAL_H

#include <kdpc/wdm/types.h>

KDPC_BEGIN_DECLS

/** Cache attribute of an I/O space mapping (MmMapIoSpace). kdpc records it and
 * nothing else depends on it (there is no cache between a CPU and a virtual device). */
typedef enum _MEMORY_CACHING_TYPE {
    MmNotMapped = -1,
    MmNonCached = 0,
    MmCached = 1,
    MmWriteCombined = 2,
    MmHardwareCoherentCached = 3,
    MmNonCachedUnordered = 4,
    MmUSWCCached = 5,
    MmMaximumCacheType = 6
} MEMORY_CACHING_TYPE;

/* Page protections (MmMapIoSpaceEx's Protect). */
#ifndef PAGE_NOACCESS
#define PAGE_NOACCESS          0x01u
#define PAGE_READONLY          0x02u
#define PAGE_READWRITE         0x04u
#define PAGE_WRITECOPY         0x08u
#define PAGE_EXECUTE           0x10u
#define PAGE_EXECUTE_READ      0x20u
#define PAGE_EXECUTE_READWRITE 0x40u
#define PAGE_EXECUTE_WRITECOPY 0x80u
#define PAGE_GUARD             0x100u
#define PAGE_NOCACHE           0x200u
#define PAGE_WRITECOMBINE      0x400u
#endif

/* ------------------------------------------------------------------ */
/* I/O space mappings                                                  */

KDPC_EXPORT PVOID kdpc_MmMapIoSpace(PHYSICAL_ADDRESS PhysicalAddress, SIZE_T NumberOfBytes,
                                    MEMORY_CACHING_TYPE CacheType);
KDPC_EXPORT PVOID kdpc_MmMapIoSpaceEx(PHYSICAL_ADDRESS PhysicalAddress, SIZE_T NumberOfBytes,
                                      ULONG Protect);
KDPC_EXPORT void kdpc_MmUnmapIoSpace(PVOID BaseAddress, SIZE_T NumberOfBytes);
KDPC_EXPORT PHYSICAL_ADDRESS kdpc_MmGetPhysicalAddress(PVOID BaseAddress);

/**
 * MmMapIoSpace - map @NumberOfBytes of device registers at @PhysicalAddress
 * (a CmResourceTypeMemory translated resource) into nonpaged system space.
 * The whole range must lie in one register window of one plugged device;
 * from a driver's code, in one CmResourceTypeMemory range of the translated
 * resources its device stacks were started with (a window of a device no
 * driver is named for is only checked against the plugged windows).
 * Return: the virtual address that maps @PhysicalAddress (same offset in
 * its page), to be used with READ_/WRITE_REGISTER_*; NULL for 0 bytes.
 * IRQL: <= DISPATCH_LEVEL. Interleaving point.
 * Bugchecks: hal.map_unowned (0xC4 P1 0x83, P2 the address, P3 the bytes,
 * P4 the first page frame no device owns); as a warning: NULL. hal.irql
 * above DISPATCH_LEVEL (0xC4 P1 0x20011, P2 the IRQL); as a warning the call
 * goes on.
 */
static inline PVOID MmMapIoSpace(PHYSICAL_ADDRESS PhysicalAddress, SIZE_T NumberOfBytes,
                                 MEMORY_CACHING_TYPE CacheType)
{
    return kdpc_MmMapIoSpace(PhysicalAddress, NumberOfBytes, CacheType);
}
/**
 * MmMapIoSpaceEx - MmMapIoSpace with a page protection: exactly one of
 * PAGE_READONLY, PAGE_READWRITE, PAGE_EXECUTE, PAGE_EXECUTE_READ,
 * PAGE_EXECUTE_READWRITE, plus at most one of PAGE_NOCACHE and
 * PAGE_WRITECOMBINE. Writes through a mapping without write access are bug
 * check hal.bad_address (0xBE). Return: as MmMapIoSpace; NULL for another
 * @Protect (Divergence: Windows does not document the outcome).
 * IRQL: <= DISPATCH_LEVEL (else hal.irql, as MmMapIoSpace). Interleaving point.
 */
static inline PVOID MmMapIoSpaceEx(PHYSICAL_ADDRESS PhysicalAddress, SIZE_T NumberOfBytes,
                                   ULONG Protect)
{
    return kdpc_MmMapIoSpaceEx(PhysicalAddress, NumberOfBytes, Protect);
}
/**
 * MmUnmapIoSpace - undo the MmMapIoSpace(Ex) that returned @BaseAddress, with
 * the @NumberOfBytes it mapped. Accesses through it afterwards are bug check
 * hal.bad_address. IRQL: <= DISPATCH_LEVEL. Interleaving point.
 * Bugchecks: hal.bad_unmap (0xDA: P1 0x03 not a mapping or unmapped twice,
 * P4 @BaseAddress; P1 0x02 another size, P3 the mapped and P4 the given
 * bytes); as a warning nothing is unmapped. hal.irql above DISPATCH_LEVEL
 * (0xC4 P1 0x20011, P2 the IRQL); as a warning the call goes on.
 */
static inline void MmUnmapIoSpace(PVOID BaseAddress, SIZE_T NumberOfBytes)
{
    kdpc_MmUnmapIoSpace(BaseAddress, NumberOfBytes);
}
/**
 * MmGetPhysicalAddress - the physical address of @BaseAddress: for an
 * address MmMapIoSpace returned (or inside its range), the device register's
 * physical address; for any other memory (nonpaged pool, a common buffer,
 * a static), kdpc's fake physical address, which is the host address itself
 * (Divergence: kdpc has no physical memory; the identity is the same that
 * DMA logical addresses use). IRQL: any. Not an interleaving point.
 */
static inline PHYSICAL_ADDRESS MmGetPhysicalAddress(PVOID BaseAddress)
{
    return kdpc_MmGetPhysicalAddress(BaseAddress);
}

/* ------------------------------------------------------------------ */
/* Registers (memory space)                                            */

KDPC_EXPORT UCHAR kdpc_READ_REGISTER_UCHAR(volatile UCHAR *Register);
KDPC_EXPORT USHORT kdpc_READ_REGISTER_USHORT(volatile USHORT *Register);
KDPC_EXPORT ULONG kdpc_READ_REGISTER_ULONG(volatile ULONG *Register);
KDPC_EXPORT ULONG64 kdpc_READ_REGISTER_ULONG64(volatile ULONG64 *Register);
KDPC_EXPORT void kdpc_WRITE_REGISTER_UCHAR(volatile UCHAR *Register, UCHAR Value);
KDPC_EXPORT void kdpc_WRITE_REGISTER_USHORT(volatile USHORT *Register, USHORT Value);
KDPC_EXPORT void kdpc_WRITE_REGISTER_ULONG(volatile ULONG *Register, ULONG Value);
KDPC_EXPORT void kdpc_WRITE_REGISTER_ULONG64(volatile ULONG64 *Register, ULONG64 Value);
KDPC_EXPORT void kdpc_READ_REGISTER_BUFFER_UCHAR(volatile UCHAR *Register, PUCHAR Buffer,
                                                 ULONG Count);
KDPC_EXPORT void kdpc_READ_REGISTER_BUFFER_USHORT(volatile USHORT *Register, PUSHORT Buffer,
                                                  ULONG Count);
KDPC_EXPORT void kdpc_READ_REGISTER_BUFFER_ULONG(volatile ULONG *Register, PULONG Buffer,
                                                 ULONG Count);
KDPC_EXPORT void kdpc_READ_REGISTER_BUFFER_ULONG64(volatile ULONG64 *Register, PULONG64 Buffer,
                                                   ULONG Count);
KDPC_EXPORT void kdpc_WRITE_REGISTER_BUFFER_UCHAR(volatile UCHAR *Register, PUCHAR Buffer,
                                                  ULONG Count);
KDPC_EXPORT void kdpc_WRITE_REGISTER_BUFFER_USHORT(volatile USHORT *Register, PUSHORT Buffer,
                                                   ULONG Count);
KDPC_EXPORT void kdpc_WRITE_REGISTER_BUFFER_ULONG(volatile ULONG *Register, PULONG Buffer,
                                                  ULONG Count);
KDPC_EXPORT void kdpc_WRITE_REGISTER_BUFFER_ULONG64(volatile ULONG64 *Register, PULONG64 Buffer,
                                                    ULONG Count);

/**
 * READ_REGISTER_UCHAR/USHORT/ULONG/ULONG64 - read the register at @Register
 * (an address from MmMapIoSpace plus an offset): the device's read handler
 * gives the value. IRQL: any. An interleaving point before the access.
 * Bugchecks: hal.bad_address for an address no live mapping covers.
 */
static inline UCHAR READ_REGISTER_UCHAR(volatile UCHAR *Register)
{
    return kdpc_READ_REGISTER_UCHAR(Register);
}
static inline USHORT READ_REGISTER_USHORT(volatile USHORT *Register)
{
    return kdpc_READ_REGISTER_USHORT(Register);
}
static inline ULONG READ_REGISTER_ULONG(volatile ULONG *Register)
{
    return kdpc_READ_REGISTER_ULONG(Register);
}
static inline ULONG64 READ_REGISTER_ULONG64(volatile ULONG64 *Register)
{
    return kdpc_READ_REGISTER_ULONG64(Register);
}
/** WRITE_REGISTER_UCHAR/USHORT/ULONG/ULONG64 - write @Value to the register: the device's
 * write handler takes it. As READ_REGISTER_*; 0xBE through a read-only mapping. */
static inline void WRITE_REGISTER_UCHAR(volatile UCHAR *Register, UCHAR Value)
{
    kdpc_WRITE_REGISTER_UCHAR(Register, Value);
}
static inline void WRITE_REGISTER_USHORT(volatile USHORT *Register, USHORT Value)
{
    kdpc_WRITE_REGISTER_USHORT(Register, Value);
}
static inline void WRITE_REGISTER_ULONG(volatile ULONG *Register, ULONG Value)
{
    kdpc_WRITE_REGISTER_ULONG(Register, Value);
}
static inline void WRITE_REGISTER_ULONG64(volatile ULONG64 *Register, ULONG64 Value)
{
    kdpc_WRITE_REGISTER_ULONG64(Register, Value);
}
/**
 * READ_REGISTER_BUFFER_* - read @Count values into @Buffer from @Count
 * consecutive registers starting at @Register (a string move, as x64 does
 * it: Divergence/choice, the pages do not say whether the address advances;
 * the PORT forms below repeat one port). One interleaving point before the
 * transfer; each value is one handler call and one trace event.
 * WRITE_REGISTER_BUFFER_* - the same towards the device. @Count 0 does nothing.
 */
static inline void READ_REGISTER_BUFFER_UCHAR(volatile UCHAR *Register, PUCHAR Buffer, ULONG Count)
{
    kdpc_READ_REGISTER_BUFFER_UCHAR(Register, Buffer, Count);
}
static inline void READ_REGISTER_BUFFER_USHORT(volatile USHORT *Register, PUSHORT Buffer,
                                               ULONG Count)
{
    kdpc_READ_REGISTER_BUFFER_USHORT(Register, Buffer, Count);
}
static inline void READ_REGISTER_BUFFER_ULONG(volatile ULONG *Register, PULONG Buffer, ULONG Count)
{
    kdpc_READ_REGISTER_BUFFER_ULONG(Register, Buffer, Count);
}
static inline void READ_REGISTER_BUFFER_ULONG64(volatile ULONG64 *Register, PULONG64 Buffer,
                                                ULONG Count)
{
    kdpc_READ_REGISTER_BUFFER_ULONG64(Register, Buffer, Count);
}
static inline void WRITE_REGISTER_BUFFER_UCHAR(volatile UCHAR *Register, PUCHAR Buffer, ULONG Count)
{
    kdpc_WRITE_REGISTER_BUFFER_UCHAR(Register, Buffer, Count);
}
static inline void WRITE_REGISTER_BUFFER_USHORT(volatile USHORT *Register, PUSHORT Buffer,
                                                ULONG Count)
{
    kdpc_WRITE_REGISTER_BUFFER_USHORT(Register, Buffer, Count);
}
static inline void WRITE_REGISTER_BUFFER_ULONG(volatile ULONG *Register, PULONG Buffer, ULONG Count)
{
    kdpc_WRITE_REGISTER_BUFFER_ULONG(Register, Buffer, Count);
}
static inline void WRITE_REGISTER_BUFFER_ULONG64(volatile ULONG64 *Register, PULONG64 Buffer,
                                                 ULONG Count)
{
    kdpc_WRITE_REGISTER_BUFFER_ULONG64(Register, Buffer, Count);
}

/* ------------------------------------------------------------------ */
/* I/O ports                                                           */

KDPC_EXPORT UCHAR kdpc_READ_PORT_UCHAR(PUCHAR Port);
KDPC_EXPORT USHORT kdpc_READ_PORT_USHORT(PUSHORT Port);
KDPC_EXPORT ULONG kdpc_READ_PORT_ULONG(PULONG Port);
KDPC_EXPORT void kdpc_WRITE_PORT_UCHAR(PUCHAR Port, UCHAR Value);
KDPC_EXPORT void kdpc_WRITE_PORT_USHORT(PUSHORT Port, USHORT Value);
KDPC_EXPORT void kdpc_WRITE_PORT_ULONG(PULONG Port, ULONG Value);
KDPC_EXPORT void kdpc_READ_PORT_BUFFER_UCHAR(PUCHAR Port, PUCHAR Buffer, ULONG Count);
KDPC_EXPORT void kdpc_READ_PORT_BUFFER_USHORT(PUSHORT Port, PUSHORT Buffer, ULONG Count);
KDPC_EXPORT void kdpc_READ_PORT_BUFFER_ULONG(PULONG Port, PULONG Buffer, ULONG Count);
KDPC_EXPORT void kdpc_WRITE_PORT_BUFFER_UCHAR(PUCHAR Port, PUCHAR Buffer, ULONG Count);
KDPC_EXPORT void kdpc_WRITE_PORT_BUFFER_USHORT(PUSHORT Port, PUSHORT Buffer, ULONG Count);
KDPC_EXPORT void kdpc_WRITE_PORT_BUFFER_ULONG(PULONG Port, PULONG Buffer, ULONG Count);

/**
 * READ_PORT_UCHAR/USHORT/ULONG - read the I/O port whose number is @Port
 * (the CmResourceTypePort start plus an offset, cast to a pointer). IRQL:
 * any. An interleaving point before the access. Bugchecks: hal.bad_address
 * for a port no device owns (Divergence: a PC reads all ones from an
 * unclaimed port; kdpc calls it the driver's bug).
 */
static inline UCHAR READ_PORT_UCHAR(PUCHAR Port)
{
    return kdpc_READ_PORT_UCHAR(Port);
}
static inline USHORT READ_PORT_USHORT(PUSHORT Port)
{
    return kdpc_READ_PORT_USHORT(Port);
}
static inline ULONG READ_PORT_ULONG(PULONG Port)
{
    return kdpc_READ_PORT_ULONG(Port);
}
/** WRITE_PORT_UCHAR/USHORT/ULONG - write @Value to the port. As READ_PORT_*. */
static inline void WRITE_PORT_UCHAR(PUCHAR Port, UCHAR Value)
{
    kdpc_WRITE_PORT_UCHAR(Port, Value);
}
static inline void WRITE_PORT_USHORT(PUSHORT Port, USHORT Value)
{
    kdpc_WRITE_PORT_USHORT(Port, Value);
}
static inline void WRITE_PORT_ULONG(PULONG Port, ULONG Value)
{
    kdpc_WRITE_PORT_ULONG(Port, Value);
}
/** READ_PORT_BUFFER_* / WRITE_PORT_BUFFER_* - @Count transfers between @Buffer and the one
 * port @Port (the port does not advance: Divergence/choice, as x86 string I/O; the pages are
 * silent). One interleaving point before them; @Count 0 does nothing. */
static inline void READ_PORT_BUFFER_UCHAR(PUCHAR Port, PUCHAR Buffer, ULONG Count)
{
    kdpc_READ_PORT_BUFFER_UCHAR(Port, Buffer, Count);
}
static inline void READ_PORT_BUFFER_USHORT(PUSHORT Port, PUSHORT Buffer, ULONG Count)
{
    kdpc_READ_PORT_BUFFER_USHORT(Port, Buffer, Count);
}
static inline void READ_PORT_BUFFER_ULONG(PULONG Port, PULONG Buffer, ULONG Count)
{
    kdpc_READ_PORT_BUFFER_ULONG(Port, Buffer, Count);
}
static inline void WRITE_PORT_BUFFER_UCHAR(PUCHAR Port, PUCHAR Buffer, ULONG Count)
{
    kdpc_WRITE_PORT_BUFFER_UCHAR(Port, Buffer, Count);
}
static inline void WRITE_PORT_BUFFER_USHORT(PUSHORT Port, PUSHORT Buffer, ULONG Count)
{
    kdpc_WRITE_PORT_BUFFER_USHORT(Port, Buffer, Count);
}
static inline void WRITE_PORT_BUFFER_ULONG(PULONG Port, PULONG Buffer, ULONG Count)
{
    kdpc_WRITE_PORT_BUFFER_ULONG(Port, Buffer, Count);
}

KDPC_END_DECLS

#endif /* KDPC_WDM_HAL_H */
