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

static uint64_t rd(volatile const void *reg, unsigned width, const char *what, uintptr_t ip)
{
    kdpc_machine *m = kdpc__hal_enter(what);
    if (m == NULL)
        return UINT64_MAX;
    return kdpc__hal_reg_access(m, (uintptr_t)reg, width, false, 0, what, ip);
}

static void wr(volatile const void *reg, unsigned width, uint64_t v, const char *what, uintptr_t ip)
{
    kdpc_machine *m = kdpc__hal_enter(what);
    if (m != NULL)
        (void)kdpc__hal_reg_access(m, (uintptr_t)reg, width, true, v, what, ip);
}

UCHAR kdpc_READ_REGISTER_UCHAR(volatile UCHAR *Register)
{
    return (UCHAR)rd(Register, 1, "READ_REGISTER_UCHAR", IP());
}
USHORT kdpc_READ_REGISTER_USHORT(volatile USHORT *Register)
{
    return (USHORT)rd(Register, 2, "READ_REGISTER_USHORT", IP());
}
ULONG kdpc_READ_REGISTER_ULONG(volatile ULONG *Register)
{
    return (ULONG)rd(Register, 4, "READ_REGISTER_ULONG", IP());
}
ULONG64 kdpc_READ_REGISTER_ULONG64(volatile ULONG64 *Register)
{
    return rd(Register, 8, "READ_REGISTER_ULONG64", IP());
}
void kdpc_WRITE_REGISTER_UCHAR(volatile UCHAR *Register, UCHAR Value)
{
    wr(Register, 1, Value, "WRITE_REGISTER_UCHAR", IP());
}
void kdpc_WRITE_REGISTER_USHORT(volatile USHORT *Register, USHORT Value)
{
    wr(Register, 2, Value, "WRITE_REGISTER_USHORT", IP());
}
void kdpc_WRITE_REGISTER_ULONG(volatile ULONG *Register, ULONG Value)
{
    wr(Register, 4, Value, "WRITE_REGISTER_ULONG", IP());
}
void kdpc_WRITE_REGISTER_ULONG64(volatile ULONG64 *Register, ULONG64 Value)
{
    wr(Register, 8, Value, "WRITE_REGISTER_ULONG64", IP());
}

/* @count values of @width bytes between consecutive registers and @buf. */
static void buffer(volatile const void *reg, void *buf, ULONG count, unsigned width, bool write,
                   const char *what, uintptr_t ip)
{
    kdpc_machine *m = kdpc__hal_enter(what);
    if (m == NULL || count == 0)
        return;
    unsigned char *b = buf;
    uintptr_t va = (uintptr_t)reg;
    for (ULONG i = 0; i < count; i++, b += width, va += width) {
        uint64_t v = 0;
        if (write)
            memcpy(&v, b, width); /* little endian: the low bytes */
        v = kdpc__hal_reg_access(m, va, width, write, v, what, ip);
        if (!write)
            memcpy(b, &v, width);
    }
}

void kdpc_READ_REGISTER_BUFFER_UCHAR(volatile UCHAR *Register, PUCHAR Buffer, ULONG Count)
{
    buffer(Register, Buffer, Count, 1, false, "READ_REGISTER_BUFFER_UCHAR", IP());
}
void kdpc_READ_REGISTER_BUFFER_USHORT(volatile USHORT *Register, PUSHORT Buffer, ULONG Count)
{
    buffer(Register, Buffer, Count, 2, false, "READ_REGISTER_BUFFER_USHORT", IP());
}
void kdpc_READ_REGISTER_BUFFER_ULONG(volatile ULONG *Register, PULONG Buffer, ULONG Count)
{
    buffer(Register, Buffer, Count, 4, false, "READ_REGISTER_BUFFER_ULONG", IP());
}
void kdpc_READ_REGISTER_BUFFER_ULONG64(volatile ULONG64 *Register, PULONG64 Buffer, ULONG Count)
{
    buffer(Register, Buffer, Count, 8, false, "READ_REGISTER_BUFFER_ULONG64", IP());
}
void kdpc_WRITE_REGISTER_BUFFER_UCHAR(volatile UCHAR *Register, PUCHAR Buffer, ULONG Count)
{
    buffer(Register, Buffer, Count, 1, true, "WRITE_REGISTER_BUFFER_UCHAR", IP());
}
void kdpc_WRITE_REGISTER_BUFFER_USHORT(volatile USHORT *Register, PUSHORT Buffer, ULONG Count)
{
    buffer(Register, Buffer, Count, 2, true, "WRITE_REGISTER_BUFFER_USHORT", IP());
}
void kdpc_WRITE_REGISTER_BUFFER_ULONG(volatile ULONG *Register, PULONG Buffer, ULONG Count)
{
    buffer(Register, Buffer, Count, 4, true, "WRITE_REGISTER_BUFFER_ULONG", IP());
}
void kdpc_WRITE_REGISTER_BUFFER_ULONG64(volatile ULONG64 *Register, PULONG64 Buffer, ULONG Count)
{
    buffer(Register, Buffer, Count, 8, true, "WRITE_REGISTER_BUFFER_ULONG64", IP());
}
