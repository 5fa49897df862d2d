/* SPDX-License-Identifier: MIT */
/*
 * port.c - READ_/WRITE_PORT_{UCHAR,USHORT,ULONG} and their _BUFFER_ forms
 * (docs/facts/hal.md section 2): I/O ports, reached by number (the pointer
 * argument is the port number, a CmResourceTypePort start plus an offset).
 * Facts: any IRQL; the _BUFFER_ forms move Count values between one port and
 * a buffer. One interleaving point covers a whole _BUFFER_ transfer.
 */
#include "hal/hal.h"

#define IP() ((uintptr_t)__builtin_return_address(0))

UCHAR kdpc_READ_PORT_UCHAR(PUCHAR Port)
{
    return (UCHAR)kdpc__hal_io("READ_PORT_UCHAR", true, (uintptr_t)Port, 1, false, 0, IP());
}
USHORT kdpc_READ_PORT_USHORT(PUSHORT Port)
{
    return (USHORT)kdpc__hal_io("READ_PORT_USHORT", true, (uintptr_t)Port, 2, false, 0, IP());
}
ULONG kdpc_READ_PORT_ULONG(PULONG Port)
{
    return (ULONG)kdpc__hal_io("READ_PORT_ULONG", true, (uintptr_t)Port, 4, false, 0, IP());
}
void kdpc_WRITE_PORT_UCHAR(PUCHAR Port, UCHAR Value)
{
    (void)kdpc__hal_io("WRITE_PORT_UCHAR", true, (uintptr_t)Port, 1, true, Value, IP());
}
void kdpc_WRITE_PORT_USHORT(PUSHORT Port, USHORT Value)
{
    (void)kdpc__hal_io("WRITE_PORT_USHORT", true, (uintptr_t)Port, 2, true, Value, IP());
}
void kdpc_WRITE_PORT_ULONG(PULONG Port, ULONG Value)
{
    (void)kdpc__hal_io("WRITE_PORT_ULONG", true, (uintptr_t)Port, 4, true, Value, IP());
}

void kdpc_READ_PORT_BUFFER_UCHAR(PUCHAR Port, PUCHAR Buffer, ULONG Count)
{
    kdpc__hal_io_buffer("READ_PORT_BUFFER_UCHAR", true, (uintptr_t)Port, Buffer, Count, 1, false,
                        IP());
}
void kdpc_READ_PORT_BUFFER_USHORT(PUSHORT Port, PUSHORT Buffer, ULONG Count)
{
    kdpc__hal_io_buffer("READ_PORT_BUFFER_USHORT", true, (uintptr_t)Port, Buffer, Count, 2, false,
                        IP());
}
void kdpc_READ_PORT_BUFFER_ULONG(PULONG Port, PULONG Buffer, ULONG Count)
{
    kdpc__hal_io_buffer("READ_PORT_BUFFER_ULONG", true, (uintptr_t)Port, Buffer, Count, 4, false,
                        IP());
}
void kdpc_WRITE_PORT_BUFFER_UCHAR(PUCHAR Port, PUCHAR Buffer, ULONG Count)
{
    kdpc__hal_io_buffer("WRITE_PORT_BUFFER_UCHAR", true, (uintptr_t)Port, Buffer, Count, 1, true,
                        IP());
}
void kdpc_WRITE_PORT_BUFFER_USHORT(PUSHORT Port, PUSHORT Buffer, ULONG Count)
{
    kdpc__hal_io_buffer("WRITE_PORT_BUFFER_USHORT", true, (uintptr_t)Port, Buffer, Count, 2, true,
                        IP());
}
void kdpc_WRITE_PORT_BUFFER_ULONG(PULONG Port, PULONG Buffer, ULONG Count)
{
    kdpc__hal_io_buffer("WRITE_PORT_BUFFER_ULONG", true, (uintptr_t)Port, Buffer, Count, 4, true,
                        IP());
}
