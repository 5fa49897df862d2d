/* SPDX-License-Identifier: MIT */
/*
 * alive.c - every IRP not completed when a run ends without finishing
 * (KDPC_DEADLOCK, KDPC_TIMEOUT), and where it sits: in a device queue, in
 * progress as a device's CurrentIrp (StartIo), cancelable or cancelled, or
 * held by a driver that returned STATUS_PENDING. Read-only.
 */
#include "io/io.h"

static const char *where(const kdpc__irprec *r)
{
    if (r->queued)
        return "in the device queue";
    if (r->started)
        return "in progress (CurrentIrp, StartIo)";
    if (r->dispatched)
        return "held by the driver (pending, in no device queue)";
    return "allocated, never sent";
}

void kdpc__io_describe_alive(kdpc_machine *m, FILE *f)
{
    if (m->ke == NULL || kdpc__io_of(m) == NULL)
        return;
    unsigned n = 0;
    for (const kdpc__irprec *r = kdpc__io_of(m)->irps; r != NULL; r = r->next) {
        if (r->completed)
            continue;
        if (n++ >= 32)
            continue;
        char dev[160] = "no device";
        kdpc__devrec *d = r->device != NULL ? kdpc__io_devrec(m, r->device) : NULL;
        if (d != NULL)
            kdpc__io_device_label(d, dev, sizeof(dev));
        char history[240];
        fprintf(f, "  IRP %p of %s: %s%s%s; history: %s\n", (const void *)&r->irp, dev, where(r),
                r->irp.CancelRoutine != NULL ? ", cancelable" : "",
                r->irp.Cancel ? ", cancelled" : "",
                kdpc__io_irp_history(r, history, sizeof(history)));
    }
    if (n > 32)
        fprintf(f, "  ... %u IRPs not completed in all\n", n);
}
