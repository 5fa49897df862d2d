/* SPDX-License-Identifier: MIT */
/*
 * memory.c - allocations the I/O manager makes for drivers (work items),
 * listed so that destroying the machine frees what a driver leaked.
 */
#include <stdlib.h>

#include "io/io.h"

void *kdpc__io_alloc(kdpc_machine *m, size_t size)
{
    kdpc__io *io = kdpc__io_of(m);
    kdpc__iomem *h = calloc(1, sizeof(*h) + size);
    if (h == NULL)
        return NULL;
    h->link.next = io->mem.next;
    h->link.prev = &io->mem;
    io->mem.next->prev = &h->link;
    io->mem.next = &h->link;
    return h->data;
}

void kdpc__io_free_mem(kdpc_machine *m, void *p)
{
    (void)m;
    if (p == NULL)
        return;
    kdpc__iomem *h = (kdpc__iomem *)(void *)((unsigned char *)p - offsetof(kdpc__iomem, data));
    h->link.prev->next = h->link.next;
    h->link.next->prev = h->link.prev;
    free(h);
}

void kdpc__io_mem_init(kdpc__io *io)
{
    io->mem.next = io->mem.prev = &io->mem;
}

void kdpc__io_mem_free_all(kdpc__io *io)
{
    while (io->mem.next != &io->mem) {
        kdpc__iolink *l = io->mem.next;
        io->mem.next = l->next;
        free(CONTAINING_RECORD(l, kdpc__iomem, link));
    }
    io->mem.prev = &io->mem;
}
