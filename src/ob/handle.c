/* SPDX-License-Identifier: MIT */
/*
 * handle.c - the machine's handle table (one per machine, kernel and the
 * test's user-mode handles in one index space) and ZwClose.
 *
 * A handle value encodes its slot: (index + 1) * 4, with the x64 kernel-handle
 * bit (0x80000000, sign-extended) for kernel handles (docs/facts/memory.md,
 * "Handles"). A slot freed by a close is the next one given out, so a stale
 * handle may name a new object, as on Windows.
 */
#include <stdlib.h>

#include "ke/ke.h"
#include "ob/ob.h"

#define KERNEL_BIT  ((uintptr_t)(intptr_t)(int32_t)INT32_MIN) /* 0xFFFFFFFF80000000 on x64 */
#define MAX_HANDLES (1u << 24)

kdpc__ob *kdpc__ob_get(kdpc_machine *m)
{
    kdpc__ke *ke = kdpc__ke_of(m);
    if (ke->ob == NULL)
        ke->ob = calloc(1, sizeof(kdpc__ob));
    return ke->ob;
}

static HANDLE encode(uint32_t index, bool user)
{
    uintptr_t v = ((uintptr_t)index + 1u) * 4u;
    return (HANDLE)(user ? v : (v | KERNEL_BIT));
}

/* The slot index of @h (any kind), or -1 when @h is no handle value of this table. */
static int64_t decode(const kdpc__ob *ob, HANDLE h, bool *user)
{
    uintptr_t v = (uintptr_t)h;
    *user = (v & KERNEL_BIT) != KERNEL_BIT;
    if (!*user)
        v &= ~KERNEL_BIT;
    if (v == 0 || (v & 3u) != 0 || v / 4u > ob->n)
        return -1;
    return (int64_t)(v / 4u - 1u);
}

HANDLE kdpc__ob_handle_open_mode(kdpc_machine *m, kdpc__ob_kind kind, void *object,
                                 ACCESS_MASK granted, kdpc__ob_close_fn on_close, bool user)
{
    kdpc__ob *ob = kdpc__ob_get(m);
    if (ob == NULL || object == NULL)
        return NULL;
    uint32_t i;
    if (ob->free_head != 0) {
        i = ob->free_head - 1u;
        ob->free_head = ob->slots[i].next;
    } else {
        if (ob->n == MAX_HANDLES)
            return NULL;
        if (ob->n == ob->cap) {
            uint32_t cap = ob->cap == 0 ? 16u : ob->cap * 2u;
            kdpc__ob_slot *s = realloc(ob->slots, cap * sizeof(*s));
            if (s == NULL)
                return NULL;
            ob->slots = s;
            ob->cap = cap;
        }
        i = ob->n++;
    }
    ob->slots[i] = (kdpc__ob_slot){.object = object,
                                   .on_close = on_close,
                                   .granted = granted,
                                   .kind = (uint8_t)kind,
                                   .user = user};
    ob->open++;
    return encode(i, user);
}

HANDLE kdpc__ob_handle_open(kdpc_machine *m, kdpc__ob_kind kind, void *object, ACCESS_MASK granted,
                            kdpc__ob_close_fn on_close)
{
    return kdpc__ob_handle_open_mode(m, kind, object, granted, on_close, false);
}

const kdpc__ob_slot *kdpc__ob_handle_slot(kdpc_machine *m, HANDLE h)
{
    kdpc__ob *ob = kdpc__ke_of(m)->ob;
    bool user;
    int64_t i = ob == NULL ? -1 : decode(ob, h, &user);
    if (i < 0)
        return NULL;
    const kdpc__ob_slot *s = &ob->slots[i];
    return s->object != NULL && s->user == user ? s : NULL;
}

void *kdpc__ob_handle_object(kdpc_machine *m, HANDLE h, kdpc__ob_kind kind, ACCESS_MASK *granted)
{
    const kdpc__ob_slot *s = kdpc__ob_handle_slot(m, h);
    if (s == NULL || s->kind != (uint8_t)kind)
        return NULL;
    if (granted != NULL)
        *granted = s->granted;
    return s->object;
}

NTSTATUS kdpc__ob_handle_close(kdpc_machine *m, HANDLE h)
{
    const kdpc__ob_slot *cs = kdpc__ob_handle_slot(m, h);
    if (cs == NULL)
        return STATUS_INVALID_HANDLE;
    kdpc__ob *ob = kdpc__ke_of(m)->ob;
    uint32_t i = (uint32_t)(cs - ob->slots);
    kdpc__ob_slot s = ob->slots[i];
    ob->slots[i] = (kdpc__ob_slot){.next = ob->free_head};
    ob->free_head = i + 1u;
    ob->open--;
    if (s.on_close != NULL)
        s.on_close(s.object); /* after the slot is free: it may open or close handles */
    return STATUS_SUCCESS;
}

void kdpc__ob_free(kdpc_machine *m)
{
    kdpc__ke *ke = kdpc__ke_of(m);
    kdpc__ob *ob = ke == NULL ? NULL : ke->ob;
    if (ob == NULL)
        return;
    kdpc__ob_events_free(ob);
    kdpc__ptrmap_free(&ob->refs);
    free(ob->slots);
    free(ob);
    ke->ob = NULL;
}

NTSTATUS kdpc_ZwClose(HANDLE Handle)
{
    kdpc__cpu *c;
    kdpc_machine *m = kdpc__ke_ctx("ZwClose", &c);
    if (m == NULL)
        return STATUS_INVALID_HANDLE;
    /* as a warning or off the handle is closed anyway */
    (void)kdpc__ob_irql_ok(m, c, PASSIVE_LEVEL, KDPC_DDI_IRQL_ZW_PASSIVE, "ZwClose");
    NTSTATUS st = kdpc__ob_handle_close(m, Handle);
    kdpc__ke_point(m);
    return st;
}
