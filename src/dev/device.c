/* SPDX-License-Identifier: MIT */
/*
 * device.c - the devices of a machine: validating a description, adding a
 * device (its hardware side: ranges, lines, fault injectors), looking it
 * up, its state and counters, the hardware side of a removal, and the
 * device layer's lifetime on a machine.
 *
 * A device is kdpc's memory from kdpc__dev_add to kdpc__dev_free (machine
 * destroy or reset): pointers the layers above keep (a device, one of its
 * kdpc__devrange) stay valid across its removal.
 */
#include <stdlib.h>
#include <string.h>

#include "dev/dev.h"

#define WINDOW_MAX_LENGTH (1ull << 30)
#define PORT_SPACE        0x10000ull
#define IRQL_MIN          3u
#define IRQL_MAX          12u

int kdpc__dev_init(kdpc_machine *m)
{
    kdpc__devm *dm = calloc(1, sizeof(*dm));
    if (dm == NULL)
        return -1;
    m->dev = dm;
    return 0;
}

void kdpc__dev_free(kdpc_machine *m)
{
    kdpc__devm *dm = kdpc__devm_of(m);
    if (dm == NULL)
        return;
    kdpc__dev_events_free(m);
    kdpc__dev_ranges_free(m);
    kdpc_device *d = dm->first;
    while (d != NULL) {
        kdpc_device *next = d->next;
        if (d->pnp != NULL && dm->hooks.free_pnp != NULL)
            dm->hooks.free_pnp(m, d, d->pnp);
        free(d->name);
        free(d->driver);
        free(d);
        d = next;
    }
    kdpc__ptrmap_free(&dm->known);
    free(dm);
    m->dev = NULL;
}

kdpc__dev_hooks *kdpc__dev_hooks_of(kdpc_machine *m)
{
    return &kdpc__devm_of(m)->hooks;
}

kdpc_status kdpc__dev_api_check(kdpc_machine *m)
{
    kdpc__thread *t = kdpc__self();
    if (t != NULL)
        return t->m == m ? KDPC_OK : KDPC_EBUSY;
    kdpc__mutex_lock(&m->mu);
    kdpc_status st = KDPC_OK;
    if (atomic_load(&m->halted) || m->dead)
        st = KDPC_E_HALTED;
    else if (m->api_runs > 0 || m->destroying)
        st = KDPC_EBUSY;
    kdpc__mutex_unlock(&m->mu);
    return st;
}

bool kdpc__dev_in_device_code(kdpc_machine *m)
{
    const kdpc__devm *dm = kdpc__devm_of(m);
    return dm != NULL && dm->in_device > 0;
}

static bool range_ok(const kdpc_range_desc *r, bool port)
{
    if (r->read == NULL || r->write == NULL || r->length == 0)
        return false;
    if (port)
        return r->length <= PORT_SPACE && r->base <= PORT_SPACE - r->length;
    return r->length <= WINDOW_MAX_LENGTH && r->base <= UINT64_MAX - r->length;
}

/* KDPC_EINVAL checks of kdpc_device_plug's contract. */
static bool desc_ok(const kdpc_machine *m, const kdpc_device_desc *desc)
{
    if (desc->name == NULL || desc->name[0] == '\0')
        return false;
    if (desc->nwindows > KDPC_DEVICE_MAX_RANGES || desc->nports > KDPC_DEVICE_MAX_RANGES ||
        desc->nlines > KDPC_DEVICE_MAX_LINES)
        return false;
    for (unsigned i = 0; i < desc->nwindows; i++) {
        if (!range_ok(&desc->windows[i], false))
            return false;
    }
    for (unsigned i = 0; i < desc->nports; i++) {
        if (!range_ok(&desc->ports[i], true))
            return false;
    }
    uint64_t cpus = m->ncpu >= 64 ? UINT64_MAX : (1ull << m->ncpu) - 1u;
    for (unsigned i = 0; i < desc->nlines; i++) {
        const kdpc_line_desc *l = &desc->lines[i];
        if (l->line >= KDPC_MAX_LINES || l->irql < IRQL_MIN || l->irql > IRQL_MAX)
            return false;
        if (l->affinity != 0 && (l->affinity & cpus) == 0)
            return false; /* no CPU of this machine could take it */
    }
    return true;
}

static char *dupstr(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p != NULL)
        memcpy(p, s, n);
    return p;
}

/* A device of @m not yet removed named @name. */
static bool name_taken(const kdpc__devm *dm, const char *name)
{
    for (const kdpc_device *d = dm->first; d != NULL; d = d->next) {
        if (d->state != KDPC_DEVICE_REMOVED && strcmp(d->name, name) == 0)
            return true;
    }
    return false;
}

static void fill_ranges(kdpc_device *d)
{
    for (unsigned i = 0; i < KDPC_DEVICE_MAX_RANGES; i++) {
        const kdpc_range_desc *w = &d->desc.windows[i];
        const kdpc_range_desc *p = &d->desc.ports[i];
        d->windows[i] = (kdpc__devrange){d, i, false, w->base, w->length, w->read, w->write};
        d->ports[i] = (kdpc__devrange){d, i, true, p->base, p->length, p->read, p->write};
    }
}

kdpc_status kdpc__dev_add(kdpc_machine *m, const kdpc_device_desc *desc, kdpc_device **out)
{
    if (m == NULL || desc == NULL || out == NULL || !desc_ok(m, desc))
        return KDPC_EINVAL;
    kdpc__devm *dm = kdpc__devm_of(m);
    if (dm == NULL)
        return KDPC_EINVAL;
    if (name_taken(dm, desc->name))
        return KDPC_EEXIST;
    kdpc_device *d = calloc(1, sizeof(*d));
    if (d == NULL)
        return KDPC_ENOMEM;
    d->m = m;
    d->desc = *desc;
    d->name = dupstr(desc->name);
    d->driver = desc->driver != NULL ? dupstr(desc->driver) : NULL;
    if (d->name == NULL || (desc->driver != NULL && d->driver == NULL))
        goto nomem;
    d->desc.name = d->name;
    d->desc.driver = d->driver;
    /* Entries past the counts are not the device's: zero them so nothing reads garbage. */
    for (unsigned i = desc->nwindows; i < KDPC_DEVICE_MAX_RANGES; i++)
        memset(&d->desc.windows[i], 0, sizeof(d->desc.windows[i]));
    for (unsigned i = desc->nports; i < KDPC_DEVICE_MAX_RANGES; i++)
        memset(&d->desc.ports[i], 0, sizeof(d->desc.ports[i]));
    for (unsigned i = desc->nlines; i < KDPC_DEVICE_MAX_LINES; i++)
        memset(&d->desc.lines[i], 0, sizeof(d->desc.lines[i]));
    fill_ranges(d);
    kdpc_status st = kdpc__dev_ranges_place(m, d);
    if (st == KDPC_OK)
        st = kdpc__dev_lines_check(m, d);
    if (st != KDPC_OK) {
        free(d->name);
        free(d->driver);
        free(d);
        return st;
    }
    for (unsigned i = 0; i < d->desc.nwindows; i++)
        d->desc.windows[i].base = d->windows[i].base;
    /* Everything that can fail first; then nothing can. */
    if (!kdpc__dev_ranges_reserve(m, d) || !kdpc__ptrmap_put(&dm->known, (uintptr_t)d, d))
        goto nomem;
    kdpc__dev_ranges_insert(m, d);
    d->indexed = true;
    d->state = KDPC_DEVICE_PLUGGED;
    kdpc__dev_faults_seed(d);
    if (dm->last != NULL)
        dm->last->next = d;
    else
        dm->first = d;
    dm->last = d;
    *out = d;
    return KDPC_OK;
nomem:
    free(d->name);
    free(d->driver);
    free(d);
    return KDPC_ENOMEM;
}

kdpc_device *kdpc__dev_first(kdpc_machine *m)
{
    const kdpc__devm *dm = kdpc__devm_of(m);
    return dm != NULL ? dm->first : NULL;
}

kdpc_device *kdpc__dev_next(kdpc_device *d)
{
    return d != NULL ? d->next : NULL;
}

kdpc_device *kdpc__dev_lookup(kdpc_machine *m, const void *d)
{
    const kdpc__devm *dm = m != NULL ? kdpc__devm_of(m) : NULL;
    if (dm == NULL || d == NULL)
        return NULL;
    return kdpc__ptrmap_get(&dm->known, (uintptr_t)d);
}

const kdpc_device_desc *kdpc__dev_desc(const kdpc_device *d)
{
    return &d->desc;
}

void **kdpc__dev_pnp_slot(kdpc_device *d)
{
    return &d->pnp;
}

void kdpc__dev_set_state(kdpc_device *d, kdpc_device_state s)
{
    d->state = s;
    if (s != KDPC_DEVICE_REMOVED)
        return;
    kdpc__dev_detach(d);
    if (d->indexed) {
        kdpc__dev_ranges_remove(d->m, d);
        d->indexed = false;
    }
}

void kdpc__dev_detach(kdpc_device *d)
{
    if (d->detached)
        return;
    kdpc__dev_events_cancel_all(d);
    kdpc__dev_lines_lower(d);
    d->detached = true;
}

bool kdpc__dev_detached(const kdpc_device *d)
{
    return d->detached;
}

/* ------------------------------------------------------------------ */
/* Native API                                                          */

void kdpc_device_desc_init(kdpc_device_desc *d)
{
    if (d == NULL)
        return;
    memset(d, 0, sizeof(*d));
    for (unsigned i = 0; i < KDPC_DEVICE_MAX_LINES; i++)
        d->lines[i].irql = 5;
    d->late_ns = 1000000;
}

kdpc_device_state kdpc_device_get_state(const kdpc_device *dev)
{
    return dev != NULL ? dev->state : KDPC_DEVICE_REMOVED;
}

kdpc_machine *kdpc_device_machine(const kdpc_device *dev)
{
    return dev != NULL ? dev->m : NULL;
}

void *kdpc_device_ctx(const kdpc_device *dev)
{
    return dev != NULL ? dev->desc.ctx : NULL;
}

const char *kdpc_device_name(const kdpc_device *dev)
{
    return dev != NULL ? dev->name : "";
}

uint64_t kdpc_device_window_base(const kdpc_device *dev, unsigned index)
{
    if (dev == NULL || index >= dev->desc.nwindows)
        return 0;
    return dev->windows[index].base;
}

kdpc_status kdpc_device_get_counters(const kdpc_device *dev, kdpc_device_counters *out)
{
    if (dev == NULL || out == NULL)
        return KDPC_EINVAL;
    *out = dev->counters;
    return KDPC_OK;
}
