/* SPDX-License-Identifier: MIT */
/*
 * ddiirql.c - the IRQL table of the I/O manager routines named by the DDI compliance rules
 * IrqlIoPassive1..5 (io.passive_irql), IrqlIoApcLte (io.apc_irql) and IrqlDispatch
 * (io.dispatch_irql), and the check the routines make with it.
 */
#include <string.h>

#include "verifier/ddiirql.h"

/* The IRQLs of the table (the verifier layer sees no WDM header). */
enum { LV_PASSIVE = 0, LV_APC = 1, LV_DISPATCH = 2 };

typedef struct ddi_irql {
    const char *routine;
    kdpc__rule rule;
    uint8_t level; /* the IRQL limit */
    bool exact;    /* true: only at @level; false: at @level or below */
    uint32_t p1;
} ddi_irql;

/* Divergence: IoCreateDeviceSecure, IoConnectInterruptEx and IoCreateSymbolicLink are
 * PASSIVE_LEVEL routines that no DDI rule lists (IrqlIoPassive4 names
 * IoCreateUnprotectedSymbolicLink); each reports the code of the rule that lists its sibling
 * (IoCreateDevice, IoConnectInterrupt, IoDeleteSymbolicLink). */
static const ddi_irql table[] = {
    {"IoCreateDevice", KDPC_R_IO_PASSIVE_IRQL, LV_PASSIVE, false, KDPC_DDI_IRQL_IO_PASSIVE1},
    {"IoCreateDeviceSecure", KDPC_R_IO_PASSIVE_IRQL, LV_PASSIVE, false, KDPC_DDI_IRQL_IO_PASSIVE1},
    {"IoSetDeviceInterfaceState", KDPC_R_IO_PASSIVE_IRQL, LV_PASSIVE, false,
     KDPC_DDI_IRQL_IO_PASSIVE1},
    {"IoBuildDeviceIoControlRequest", KDPC_R_IO_PASSIVE_IRQL, LV_APC, false,
     KDPC_DDI_IRQL_IO_PASSIVE1},
    {"IoConnectInterrupt", KDPC_R_IO_PASSIVE_IRQL, LV_PASSIVE, false, KDPC_DDI_IRQL_IO_PASSIVE2},
    {"IoConnectInterruptEx", KDPC_R_IO_PASSIVE_IRQL, LV_PASSIVE, false, KDPC_DDI_IRQL_IO_PASSIVE2},
    {"IoCreateController", KDPC_R_IO_PASSIVE_IRQL, LV_PASSIVE, false, KDPC_DDI_IRQL_IO_PASSIVE2},
    {"IoDetachDevice", KDPC_R_IO_PASSIVE_IRQL, LV_PASSIVE, false, KDPC_DDI_IRQL_IO_PASSIVE3},
    {"IoRegisterDeviceInterface", KDPC_R_IO_PASSIVE_IRQL, LV_PASSIVE, false,
     KDPC_DDI_IRQL_IO_PASSIVE3},
    {"IoCreateNotificationEvent", KDPC_R_IO_PASSIVE_IRQL, LV_PASSIVE, false,
     KDPC_DDI_IRQL_IO_PASSIVE4},
    {"IoCreateSynchronizationEvent", KDPC_R_IO_PASSIVE_IRQL, LV_PASSIVE, false,
     KDPC_DDI_IRQL_IO_PASSIVE4},
    {"IoCreateSymbolicLink", KDPC_R_IO_PASSIVE_IRQL, LV_PASSIVE, false, KDPC_DDI_IRQL_IO_PASSIVE4},
    {"IoDeleteSymbolicLink", KDPC_R_IO_PASSIVE_IRQL, LV_PASSIVE, false, KDPC_DDI_IRQL_IO_PASSIVE4},
    {"IoDeleteController", KDPC_R_IO_PASSIVE_IRQL, LV_PASSIVE, false, KDPC_DDI_IRQL_IO_PASSIVE4},
    {"IoGetDeviceObjectPointer", KDPC_R_IO_PASSIVE_IRQL, LV_PASSIVE, false,
     KDPC_DDI_IRQL_IO_PASSIVE5},
    {"IoGetDmaAdapter", KDPC_R_IO_PASSIVE_IRQL, LV_PASSIVE, false, KDPC_DDI_IRQL_IO_PASSIVE5},
    {"IoWMIRegistrationControl", KDPC_R_IO_PASSIVE_IRQL, LV_PASSIVE, false,
     KDPC_DDI_IRQL_IO_PASSIVE5},
    {"IoDeleteDevice", KDPC_R_IO_APC_IRQL, LV_APC, false, KDPC_DDI_IRQL_IO_APC_LTE},
    {"IoAllocateController", KDPC_R_IO_DISPATCH_IRQL, LV_DISPATCH, true, KDPC_DDI_IRQL_DISPATCH},
    {"IoFreeController", KDPC_R_IO_DISPATCH_IRQL, LV_DISPATCH, true, KDPC_DDI_IRQL_DISPATCH},
    {"KeInsertDeviceQueue", KDPC_R_IO_DISPATCH_IRQL, LV_DISPATCH, true, KDPC_DDI_IRQL_DISPATCH},
    {"KeInsertByKeyDeviceQueue", KDPC_R_IO_DISPATCH_IRQL, LV_DISPATCH, true,
     KDPC_DDI_IRQL_DISPATCH},
    {"KeRemoveDeviceQueue", KDPC_R_IO_DISPATCH_IRQL, LV_DISPATCH, true, KDPC_DDI_IRQL_DISPATCH},
    {"KeRemoveByKeyDeviceQueue", KDPC_R_IO_DISPATCH_IRQL, LV_DISPATCH, true,
     KDPC_DDI_IRQL_DISPATCH},
};

static const char *level_name(unsigned level)
{
    return level == LV_PASSIVE ? "PASSIVE_LEVEL" : level == LV_APC ? "APC_LEVEL" : "DISPATCH_LEVEL";
}

bool kdpc__ddi_irql_ok(kdpc_machine *m, unsigned irql, const char *routine, uint64_t obj)
{
    static const ddi_irql fallback = {"", KDPC_R_IO_PASSIVE_IRQL, LV_PASSIVE, false,
                                      KDPC_DDI_IRQL_IO_PASSIVE4};
    const ddi_irql *d = &fallback;
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
        if (strcmp(table[i].routine, routine) == 0) {
            d = &table[i];
            break;
        }
    }
    if (d->exact ? irql == d->level : irql <= d->level)
        return true;
    if (d->exact)
        kdpc__violation(m, d->rule, 0xC4, d->p1, irql, obj, 0, NULL,
                        "%s called at IRQL %u: it runs only at DISPATCH_LEVEL", routine, irql);
    else if (d->level == LV_PASSIVE)
        kdpc__violation(m, d->rule, 0xC4, d->p1, irql, obj, 0, NULL,
                        "%s called at IRQL %u: it runs only at PASSIVE_LEVEL", routine, irql);
    else
        kdpc__violation(m, d->rule, 0xC4, d->p1, irql, obj, 0, NULL,
                        "%s called at IRQL %u: it runs only at IRQL <= %s", routine, irql,
                        level_name(d->level));
    return false;
}
