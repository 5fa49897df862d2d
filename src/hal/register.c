/* SPDX-License-Identifier: MIT */
/*
 * register.c - READ_/WRITE_REGISTER_{UCHAR,USHORT,ULONG,ULONG64} and their
 * _BUFFER_ forms (docs/facts/hal.md section 2): registers in memory space,
 * reached through an address MmMapIoSpace returned. Facts: any IRQL, the
 * register is mapped device memory, the _BUFFER_ forms move Count values
 * between the registers and a buffer that holds at least Count values.
 * Divergence (a choice where the pages are silent): the _BUFFER_ forms walk
 * consecutive registers (the register address advances with the buffer,
 * as an x64 string move does); one interleaving point covers the whole
 * transfer.
 */
#include "hal/hal.h"

#define IP() ((uintptr_t)__builtin_return_address(0))

UCHAR kdpc_READ_REGISTER_UCHAR(volatile UCHAR *Register)
{
    return (UCHAR)kdpc__hal_io("READ_REGISTER_UCHAR", false, (uintptr_t)Register, 1, false, 0,
                               IP());
}
USHORT kdpc_READ_REGISTER_USHORT(volatile USHORT *Register)
{
    return (USHORT)kdpc__hal_io("READ_REGISTER_USHORT", false, (uintptr_t)Register, 2, false, 0,
                                IP());
}
ULONG kdpc_READ_REGISTER_ULONG(volatile ULONG *Register)
{
    return (ULONG)kdpc__hal_io("READ_REGISTER_ULONG", false, (uintptr_t)Register, 4, false, 0,
                               IP());
}
ULONG64 kdpc_READ_REGISTER_ULONG64(volatile ULONG64 *Register)
{
    return kdpc__hal_io("READ_REGISTER_ULONG64", false, (uintptr_t)Register, 8, false, 0, IP());
}
void kdpc_WRITE_REGISTER_UCHAR(volatile UCHAR *Register, UCHAR Value)
{
    (void)kdpc__hal_io("WRITE_REGISTER_UCHAR", false, (uintptr_t)Register, 1, true, Value, IP());
}
void kdpc_WRITE_REGISTER_USHORT(volatile USHORT *Register, USHORT Value)
{
    (void)kdpc__hal_io("WRITE_REGISTER_USHORT", false, (uintptr_t)Register, 2, true, Value, IP());
}
void kdpc_WRITE_REGISTER_ULONG(volatile ULONG *Register, ULONG Value)
{
    (void)kdpc__hal_io("WRITE_REGISTER_ULONG", false, (uintptr_t)Register, 4, true, Value, IP());
}
void kdpc_WRITE_REGISTER_ULONG64(volatile ULONG64 *Register, ULONG64 Value)
{
    (void)kdpc__hal_io("WRITE_REGISTER_ULONG64", false, (uintptr_t)Register, 8, true, Value, IP());
}

void kdpc_READ_REGISTER_BUFFER_UCHAR(volatile UCHAR *Register, PUCHAR Buffer, ULONG Count)
{
    kdpc__hal_io_buffer("READ_REGISTER_BUFFER_UCHAR", false, (uintptr_t)Register, Buffer, Count, 1,
                        false, IP());
}
void kdpc_READ_REGISTER_BUFFER_USHORT(volatile USHORT *Register, PUSHORT Buffer, ULONG Count)
{
    kdpc__hal_io_buffer("READ_REGISTER_BUFFER_USHORT", false, (uintptr_t)Register, Buffer, Count, 2,
                        false, IP());
}
void kdpc_READ_REGISTER_BUFFER_ULONG(volatile ULONG *Register, PULONG Buffer, ULONG Count)
{
    kdpc__hal_io_buffer("READ_REGISTER_BUFFER_ULONG", false, (uintptr_t)Register, Buffer, Count, 4,
                        false, IP());
}
void kdpc_READ_REGISTER_BUFFER_ULONG64(volatile ULONG64 *Register, PULONG64 Buffer, ULONG Count)
{
    kdpc__hal_io_buffer("READ_REGISTER_BUFFER_ULONG64", false, (uintptr_t)Register, Buffer, Count,
                        8, false, IP());
}
void kdpc_WRITE_REGISTER_BUFFER_UCHAR(volatile UCHAR *Register, PUCHAR Buffer, ULONG Count)
{
    kdpc__hal_io_buffer("WRITE_REGISTER_BUFFER_UCHAR", false, (uintptr_t)Register, Buffer, Count, 1,
                        true, IP());
}
void kdpc_WRITE_REGISTER_BUFFER_USHORT(volatile USHORT *Register, PUSHORT Buffer, ULONG Count)
{
    kdpc__hal_io_buffer("WRITE_REGISTER_BUFFER_USHORT", false, (uintptr_t)Register, Buffer, Count,
                        2, true, IP());
}
void kdpc_WRITE_REGISTER_BUFFER_ULONG(volatile ULONG *Register, PULONG Buffer, ULONG Count)
{
    kdpc__hal_io_buffer("WRITE_REGISTER_BUFFER_ULONG", false, (uintptr_t)Register, Buffer, Count, 4,
                        true, IP());
}
void kdpc_WRITE_REGISTER_BUFFER_ULONG64(volatile ULONG64 *Register, PULONG64 Buffer, ULONG Count)
{
    kdpc__hal_io_buffer("WRITE_REGISTER_BUFFER_ULONG64", false, (uintptr_t)Register, Buffer, Count,
                        8, true, IP());
}
