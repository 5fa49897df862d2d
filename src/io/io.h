/* SPDX-License-Identifier: MIT */
/*
 * io.h - internal state of the I/O manager: driver and device objects.
 */
#ifndef KDPC_IO_H
#define KDPC_IO_H

#include "ke/ke.h"

typedef struct kdpc__devrec kdpc__devrec;

typedef struct kdpc__drvrec {
    DRIVER_OBJECT obj;
    DRIVER_EXTENSION ext;
    UNICODE_STRING registry_path;
    kdpc_machine *m;
    struct kdpc__drvrec *next;
    WCHAR names[]; /* DriverName, then RegistryPath */
} kdpc__drvrec;

struct kdpc__devrec {
    DEVICE_OBJECT obj;
    size_t ext_size;
    kdpc__devrec *next; /* every device of the machine */
    WCHAR *name;
    _Alignas(16) unsigned char ext[];
};

typedef struct kdpc__io {
    kdpc__drvrec *drivers;
    kdpc__devrec *devices;
} kdpc__io;

static inline kdpc__io *kdpc__io_of(const kdpc_machine *m)
{
    return (kdpc__io *)kdpc__ke_of(m)->io;
}

int kdpc__io_init(kdpc_machine *m);
void kdpc__io_free(kdpc_machine *m);
/* Free a device record without checks (driver teardown). */
void kdpc__io_device_free(kdpc_machine *m, kdpc__devrec *d);
kdpc__devrec *kdpc__io_devrec(kdpc_machine *m, PDEVICE_OBJECT dev);
bool kdpc__io_in_device(const kdpc__devrec *d, const void *addr);

#endif /* KDPC_IO_H */
