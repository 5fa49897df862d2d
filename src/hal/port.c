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

static uint64_t rd(const void *port, unsigned width, const char *what, uintptr_t ip)
{
    kdpc_machine *m = kdpc__hal_enter(what);
    if (m == NULL)
        return UINT64_MAX;
    return kdpc__hal_port_access(m, (uintptr_t)port, width, false, 0, what, ip);
}

static void wr(const void *port, unsigned width, uint64_t v, const char *what, uintptr_t ip)
{
    kdpc_machine *m = kdpc__hal_enter(what);
    if (m != NULL)
        (void)kdpc__hal_port_access(m, (uintptr_t)port, width, true, v, what, ip);
}

UCHAR kdpc_READ_PORT_UCHAR(PUCHAR Port)
{
    return (UCHAR)rd(Port, 1, "READ_PORT_UCHAR", IP());
}
USHORT kdpc_READ_PORT_USHORT(PUSHORT Port)
{
    return (USHORT)rd(Port, 2, "READ_PORT_USHORT", IP());
}
ULONG kdpc_READ_PORT_ULONG(PULONG Port)
{
    return (ULONG)rd(Port, 4, "READ_PORT_ULONG", IP());
}
void kdpc_WRITE_PORT_UCHAR(PUCHAR Port, UCHAR Value)
{
    wr(Port, 1, Value, "WRITE_PORT_UCHAR", IP());
}
void kdpc_WRITE_PORT_USHORT(PUSHORT Port, USHORT Value)
{
    wr(Port, 2, Value, "WRITE_PORT_USHORT", IP());
}
void kdpc_WRITE_PORT_ULONG(PULONG Port, ULONG Value)
{
    wr(Port, 4, Value, "WRITE_PORT_ULONG", IP());
}

/* @count values of @width bytes between the one port @port and @buf. */
static void buffer(const void *port, void *buf, ULONG count, unsigned width, bool write,
                   const char *what, uintptr_t ip)
{
    kdpc_machine *m = kdpc__hal_enter(what);
    if (m == NULL || count == 0)
        return;
    unsigned char *b = buf;
    for (ULONG i = 0; i < count; i++, b += width) {
        uint64_t v = 0;
        if (write)
            memcpy(&v, b, width);
        v = kdpc__hal_port_access(m, (uintptr_t)port, width, write, v, what, ip);
        if (!write)
            memcpy(b, &v, width);
    }
}

void kdpc_READ_PORT_BUFFER_UCHAR(PUCHAR Port, PUCHAR Buffer, ULONG Count)
{
    buffer(Port, Buffer, Count, 1, false, "READ_PORT_BUFFER_UCHAR", IP());
}
void kdpc_READ_PORT_BUFFER_USHORT(PUSHORT Port, PUSHORT Buffer, ULONG Count)
{
    buffer(Port, Buffer, Count, 2, false, "READ_PORT_BUFFER_USHORT", IP());
}
void kdpc_READ_PORT_BUFFER_ULONG(PULONG Port, PULONG Buffer, ULONG Count)
{
    buffer(Port, Buffer, Count, 4, false, "READ_PORT_BUFFER_ULONG", IP());
}
void kdpc_WRITE_PORT_BUFFER_UCHAR(PUCHAR Port, PUCHAR Buffer, ULONG Count)
{
    buffer(Port, Buffer, Count, 1, true, "WRITE_PORT_BUFFER_UCHAR", IP());
}
void kdpc_WRITE_PORT_BUFFER_USHORT(PUSHORT Port, PUSHORT Buffer, ULONG Count)
{
    buffer(Port, Buffer, Count, 2, true, "WRITE_PORT_BUFFER_USHORT", IP());
}
void kdpc_WRITE_PORT_BUFFER_ULONG(PULONG Port, PULONG Buffer, ULONG Count)
{
    buffer(Port, Buffer, Count, 4, true, "WRITE_PORT_BUFFER_ULONG", IP());
}
