/* SPDX-License-Identifier: MIT */
/*
 * test_irp_history.c - the history an IRP's reports print (src/io/irp.c,
 * kdpc__io_irp_note): IoCallDriver, IoCompleteRequest and the other steps
 * are stored as their format and arguments and formatted only when a report
 * prints them. An IRP passed down fourteen devices to a StartIo that never
 * completes it is io.irp_lost at the end of the run; its history shows the
 * newest steps, formatted as printf would, the oldest cut off at a step.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "kdpc_test.h"

#define NDEV 14

static struct {
    PDRIVER_OBJECT drv;
    PDEVICE_OBJECT dev[NDEV]; /* dev[i] passes a read on to dev[i + 1] */
    PIRP irp;
    int reached_end;
} g;

static NTSTATUS Read(PDEVICE_OBJECT dev, PIRP irp)
{
    PDEVICE_OBJECT next = *(PDEVICE_OBJECT *)dev->DeviceExtension;
    if (next != NULL) {
        IoSkipCurrentIrpStackLocation(irp);
        return IoCallDriver(next, irp);
    }
    IoMarkIrpPending(irp);
    IoStartPacket(dev, irp, NULL, NULL);
    return STATUS_PENDING;
}

static void ForgetfulStartIo(PDEVICE_OBJECT dev, PIRP irp)
{
    (void)dev;
    (void)irp; /* never completed */
}

static NTSTATUS Entry(PDRIVER_OBJECT drv, PUNICODE_STRING reg)
{
    (void)reg;
    drv->MajorFunction[IRP_MJ_READ] = Read;
    drv->DriverStartIo = ForgetfulStartIo;
    for (int i = NDEV - 1; i >= 0; i--) {
        NTSTATUS st = IoCreateDevice(drv, sizeof(PDEVICE_OBJECT), NULL, FILE_DEVICE_UNKNOWN, 0,
                                     FALSE, &g.dev[i]);
        if (!NT_SUCCESS(st))
            return st;
        *(PDEVICE_OBJECT *)g.dev[i]->DeviceExtension = i + 1 < NDEV ? g.dev[i + 1] : NULL;
    }
    return STATUS_SUCCESS;
}

static void body(void *ctx)
{
    (void)ctx;
    if (!NT_SUCCESS(kdpc_driver_load(kdpc_current_machine(), "history", Entry, &g.drv)))
        return;
    g.irp = IoAllocateIrp(1, FALSE);
    if (g.irp == NULL)
        return;
    IoGetNextIrpStackLocation(g.irp)->MajorFunction = IRP_MJ_READ;
    (void)IoCallDriver(g.dev[0], g.irp);
    g.reached_end = 1;
}

static void test_lost_irp_history_is_formatted_newest_last(void **state)
{
    (void)state;
    memset(&g, 0, sizeof g);
    kdpc_machine *m = kt_machine(1, 7);
    kdpc_status st = kdpc_machine_run(m, body, NULL);
    assert_int_equal(st, KDPC_OK);
    assert_int_equal(g.reached_end, 1);
    const kdpc_violation *w = kdpc_machine_find_violation(m, "io.irp_lost");
    assert_non_null(w);
    assert_non_null(w->message);
    /* the newest steps, as printf formats them, in order */
    char want[200];
    snprintf(want, sizeof want,
             "IoCallDriver(%p, MJ %u) > IoCallDriver(%p, MJ %u) > IoCallDriver(%p, MJ %u) > "
             "StartIo",
             (void *)g.dev[NDEV - 3], (unsigned)IRP_MJ_READ, (void *)g.dev[NDEV - 2],
             (unsigned)IRP_MJ_READ, (void *)g.dev[NDEV - 1], (unsigned)IRP_MJ_READ);
    if (strstr(w->message, want) == NULL)
        print_message("message: %s\nwanted: %s\n", w->message, want);
    assert_non_null(strstr(w->message, want));
    /* the oldest are cut off at a whole step: 15 steps do not fit */
    const char *h = strstr(w->message, "history: ");
    assert_non_null(h);
    h += strlen("history: ");
    assert_true(strncmp(h, "IoCallDriver(", 13) == 0 || strncmp(h, "...", 3) == 0);
    snprintf(want, sizeof want, "IoCallDriver(%p, MJ", (void *)g.dev[0]);
    assert_null(strstr(w->message, want));
    assert_true(strlen(h) < 240);
    kdpc_machine_destroy(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lost_irp_history_is_formatted_newest_last),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
