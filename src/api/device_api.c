/* SPDX-License-Identifier: MIT */
/*
 * device_api.c - the native calls that put a virtual device on a machine's
 * root bus and take it off (kdpc_device_plug / kdpc_device_unplug), and
 * those that drive its device stack through the PnP manager
 * (kdpc_device_pdo, kdpc_device_rebalance, kdpc_power_set_system). The
 * hardware side is the device layer's (kdpc__dev_add, kdpc__dev_detach);
 * the PnP side is src/pnp's.
 */
#include <kdpc/device.h>
#include <kdpc/driver.h>
#include "pnp/pnp.h"

kdpc_status kdpc_device_plug(kdpc_machine *m, const kdpc_device_desc *desc, kdpc_device **dev)
{
    if (dev != NULL)
        *dev = NULL;
    if (m == NULL || desc == NULL || dev == NULL)
        return KDPC_EINVAL;
    kdpc_status st = kdpc__dev_api_check(m);
    if (st != KDPC_OK)
        return st;
    if (kdpc__dev_in_device_code(m) && !kdpc__devm_of(m)->in_event)
        return KDPC_EBUSY; /* from a register handler */
    kdpc_device *d = NULL;
    st = kdpc__dev_add(m, desc, &d);
    if (st != KDPC_OK)
        return st;
    *dev = d;
    if (desc->driver == NULL)
        return KDPC_OK;
    kdpc__pnpreq r = {.kind = KDPC_PNPREQ_START, .dev = d};
    st = kdpc__pnp_submit(m, &r, NULL);
    /* a device the PnP manager could not take stays plugged: KDPC_ENOMEM is the only error */
    return st;
}

/* @dev as a device of the calling machine (simulated code: looked up, never read), or of the
 * machine it names (a host thread: @dev must be a device kdpc_device_plug returned). */
static kdpc_machine *machine_of(const kdpc_device *dev)
{
    if (dev == NULL)
        return NULL;
    kdpc__thread *t = kdpc__self();
    if (t != NULL)
        return t->m->dev != NULL && kdpc__dev_lookup(t->m, dev) != NULL ? t->m : NULL;
    return kdpc_device_machine(dev);
}

kdpc_status kdpc_device_unplug(kdpc_device *dev, kdpc_unplug_how how)
{
    kdpc_machine *m = machine_of(dev);
    if (m == NULL || (how != KDPC_UNPLUG_ORDERLY && how != KDPC_UNPLUG_SURPRISE))
        return KDPC_EINVAL;
    kdpc_status st = kdpc__dev_api_check(m);
    if (st != KDPC_OK)
        return st;
    if (kdpc__dev_in_device_code(m) && !kdpc__devm_of(m)->in_event)
        return KDPC_EBUSY;
    kdpc_device_state s = kdpc_device_get_state(dev);
    if (s == KDPC_DEVICE_REMOVED || s == KDPC_DEVICE_SURPRISE_REMOVED)
        return KDPC_EINVAL;
    /* the open-file veto is known now: decided here, also for a request that is only queued
     * (a host thread between runs), so that the caller sees KDPC_EBUSY (fact 2.7) */
    kdpc__pnpdev *pr = kdpc__pnp_dev(dev, false);
    if (how == KDPC_UNPLUG_ORDERLY && pr != NULL && pr->pdo != NULL && pr->added &&
        !pr->stack_removed && kdpc__io_open_count(m, pr->pdo) > 0)
        return KDPC_EBUSY;
    kdpc__pnpreq r = {.kind = KDPC_PNPREQ_UNPLUG, .dev = dev, .how = how};
    return kdpc__pnp_submit(m, &r, NULL);
}

PDEVICE_OBJECT kdpc_device_pdo(const kdpc_device *dev)
{
    kdpc_machine *m = machine_of(dev);
    if (m == NULL)
        return NULL;
    kdpc__pnpdev *r = kdpc__pnp_dev((kdpc_device *)dev, false);
    return r != NULL ? r->pdo : NULL;
}

kdpc_status kdpc_device_rebalance(kdpc_device *dev)
{
    kdpc_machine *m = machine_of(dev);
    if (m == NULL)
        return KDPC_EINVAL;
    kdpc_status st = kdpc__dev_api_check(m);
    if (st != KDPC_OK)
        return st;
    if (kdpc__dev_in_device_code(m))
        return KDPC_EBUSY;
    if (kdpc_device_get_state(dev) != KDPC_DEVICE_STARTED)
        return KDPC_EINVAL;
    kdpc__pnpreq r = {.kind = KDPC_PNPREQ_REBALANCE, .dev = dev};
    return kdpc__pnp_submit(m, &r, NULL);
}

NTSTATUS kdpc_power_set_system(kdpc_machine *m, SYSTEM_POWER_STATE state)
{
    kdpc__thread *t = kdpc__io_passive_thread();
    if (m == NULL || t == NULL || t->m != m || kdpc__dev_in_device_code(m) ||
        kdpc__pnp_on_manager(m) || state < PowerSystemWorking || state > PowerSystemHibernate)
        return STATUS_INVALID_PARAMETER;
    kdpc__pnpreq r = {.kind = KDPC_PNPREQ_SYSTEM_POWER, .sstate = state};
    NTSTATUS nt = STATUS_SUCCESS;
    kdpc_status st = kdpc__pnp_submit(m, &r, &nt);
    if (st != KDPC_OK)
        return STATUS_INSUFFICIENT_RESOURCES;
    return nt;
}
