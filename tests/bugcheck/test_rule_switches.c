/* SPDX-License-Identifier: MIT */
/*
 * test_rule_switches.c - every rule can be switched per machine
 * (kdpc_rule_set: off / warning / bug check, single ids and the "family.*"
 * and "*" patterns; docs/rules.md: "Every rule can be switched to warning/off per
 * machine for teaching"), the rule table (kdpc_rule_count / kdpc_rule_info),
 * and the halt contract of a bug check.
 *
 * For each switchable rule one small scenario breaks it; it runs three times:
 *  - default: the docs/rules.md outcome (bug check with that rule, or a warning);
 *  - off: nothing of that rule is recorded and the run goes on as a free
 *    kernel would (KDPC_OK; KDPC_DEADLOCK for a recursive acquire, which spins
 *    forever on an MP free kernel, 2.17); where a fact states the free
 *    kernel's behaviour (1.11, 2.6, 2.7, 2.9) the scenario checks it;
 *  - warn: a warning (fatal false, code 0) is recorded and the run goes on.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "kdpc_test.h"
#include <kdpc/object.h>

#define LINE 6

/* The rules of src/verifier/verifier.h (KDPC_RULE_TABLE), in table order. */
static const char *const all_rules[] = {
    "irql.raise_lower",
    "irql.lower_raise",
    "irql.invalid",
    "spinlock.acquire_irql",
    "spinlock.dpc_acquire_irql",
    "spinlock.dpc_release_irql",
    "spinlock.release_irql",
    "spinlock.recursive",
    "spinlock.not_owned",
    "spinlock.order",
    "spinlock.mixed_api",
    "spinlock.held_too_long",
    "sync.isr_unsynchronized",
    "sync.unlocked_shared",
    "sync.irql_too_high",
    "dpc.wait",
    "dpc.irql_changed",
    "dpc.lock_held",
    "dpc.too_long",
    "dpc.stall_too_long",
    "dpc.watchdog",
    "isr.too_long",
    "isr.irql_changed",
    "isr.storm",
    "unload.pending",
    "thread.exit_state",
    "removelock.release_unheld",
    "removelock.after_wait",
    "pnp.must_not_fail",
    "work.bad_irql_return",
    "work.requeue",
    "work.queue_irql",
    "sync.apc_irql",
    "io.double_complete",
    "io.complete_pending",
    "io.start_next_irql",
    "io.irp_lost",
    "io.buffer_overrun",
    "io.complete_cancelable",
    "io.cancel_lock_held",
    "errorlog.irql",
    "mem.paged_touch",
    "mem.paged_alloc",
    "mem.paged_code",
    "mem.free_active",
    "pio.not_flushed",
    "dma.adapter_held",
    "dma.not_flushed",
    "dma.double_free",
    "dev.dma_unmapped",
    "controller.held",
    "wait.objects",
    "io.invalid_object",
    "io.pending_not_returned",
    "io.no_startio",
    "isr.disconnect_irql",
    "isr.disconnect_self",
    "io.passive_irql",
    "obj.invalid",
    "hal.bad_address",
    "hal.map_unowned",
    "hal.bad_unmap",
    "hal.irql",
    "zw.passive_irql",
    "rtl.irql",
    "ob.irql",
    "ob.user_handle",
    "mm.irql",
    "mm.bad_mdl",
    "mm.map_bugcheck",
    "mem.pool_irql",
    /* area: irql-ke */
    "irql.ke_dispatch",
    "irql.ke_set_event",
    "irql.ke_set_event_wait",
    "ps.passive_irql",
    "irql.ex_apc",
    "ob.bad_handle",
    /* area: irql-io */
    "io.dispatch_irql",
    "io.apc_irql",
    "mm.section_irql",
    /* area: dispatch */
    "io.irql_changed",
    "io.apc_disable_changed",
    "io.bad_status",
    "io.pending_not_marked",
    "io.queued_before_marked",
    "io.irp_unfinished",
    "io.status_mismatch",
    "io.completion_not_pending",
    "io.complete_owned_below",
    "io.completion_event_pending",
    "io.completion_no_signal",
    "io.cancelled_pending",
    /* area: irp-flow */
    "io.complete_irql",
    "io.call_irql",
    "io.forward_irql",
    "io.forward_apc_irql",
    "io.call_cancelable",
    "io.stack_short",
    "io.bad_stack_copy",
    "io.copy_without_completion",
    "io.skipped_device",
    "io.complete_lock_held",
    "io.startio_recursion",
    "io.signaled_event",
    "io.complete_unsent",
    "io.cancel_not_completed",
    "io.iosb_unwound",
    "io.forward_owned_below",
    "io.status_overridden",
    /* area: irp-life */
    "io.reuse_not_allocated",
    "io.reuse_in_use",
    "io.local_no_completion",
    "io.build_bad_buffer",
    "io.build_event_set",
    "io.completion_ex_unchecked",
    "io.completion_ex_unsent",
    "io.completion_ex_device",
    /* area: pnp */
    "pnp.irp_init",
    "pnp.system_irp",
    "pnp.irp_status",
    "pnp.not_passed_down",
    "pnp.surprise_remove_delete",
    "pnp.delete_before_lower",
    "pnp.remove_not_deleted",
    "pnp.adddevice_initializing",
    "dev.attach_flags",
    "pnp.not_pdo",
    "pnp.no_dispatch",
    "wmi.not_forwarded",
    "wmi.registered",
    /* area: pool */
    "mem.zero_alloc",
    "mem.bad_free",
    "mem.overrun",
    "mem.overrun_tracked",
    "mem.leak",
    "lookaside.misuse",
    "mm.mdl_flags",
    "mem.alloc_unloaded",
    "mem.paged_object",
    "rtl.copy_overlap",
    /* area: dma */
    "dma.irql",
    "dma.null_adapter",
    "dma.adapter_released",
    "dma.put_outstanding",
    "dma.second_channel",
    "dma.too_many_map_registers",
    "dma.unlocked_buffer",
    "dma.buffer_overrun",
    "dma.outside_mdl",
    "dma.double_map",
    "dma.zero_length",
    "dma.flush_unmapped",
    "dma.channel_flush",
    "dma.adapter_not_put",
    "dma.bad_description",
    /* area: locks */
    "spinlock.release_new_irql",
    "lock.recursive",
    "lock.reinit_held",
    "lock.freed_held",
    "lock.critical_leave",
    "lock.guarded_leave",
    "irql.lower_unmatched",
    "irql.lower_other",
    "lock.release_order",
    /* area: power */
    "power.requested_irp",
    "removelock.wait_outside_remove",
    "removelock.delete_unwaited",
    "power.irp_status",
    "removelock.held_on_return",
    "removelock.forward_unheld",
    "power.not_passed_down",
    "power.pagable_not_inherited",
    /* last, the rules no switch can soften: the loops below skip them */
    "ke.crash",
    "test.assert",
    "ke.bugcheck",
};
#define NRULES (sizeof(all_rules) / sizeof(all_rules[0]))
#define NFIXED 3 /* unswitchable rules at the end of all_rules */

/* Rules whose docs/rules.md outcome is a warning. */
static bool is_warning_rule(const char *id)
{
    if (strcmp(id, "io.local_no_completion") == 0) /* irp-life */
        return true;
    if (strcmp(id, "irql.lower_unmatched") == 0 || strcmp(id, "irql.lower_other") == 0) /* locks */
        return true;
    if (strcmp(id, "io.cancelled_pending") == 0 || strcmp(id, "io.completion_event_pending") == 0 ||
        strcmp(id, "io.completion_no_signal") == 0) /* dispatch */
        return true;
    if (strcmp(id, "sync.isr_unsynchronized") == 0 || strcmp(id, "sync.unlocked_shared") == 0)
        return true;
    if (strcmp(id, "io.forward_apc_irql") == 0 || strcmp(id, "io.copy_without_completion") == 0 ||
        strcmp(id, "io.skipped_device") == 0 || strcmp(id, "io.startio_recursion") == 0 ||
        strcmp(id, "io.signaled_event") == 0 || strcmp(id, "io.complete_unsent") == 0)
        return true; /* irp-flow */
    return strcmp(id, "spinlock.held_too_long") == 0 || strcmp(id, "dpc.too_long") == 0 ||
           strcmp(id, "dpc.stall_too_long") == 0 || strcmp(id, "isr.too_long") == 0 ||
           strcmp(id, "io.irp_lost") == 0 || strcmp(id, "pio.not_flushed") == 0;
}

/* ------------------------------------------------------------------ */
/* Scenario state                                                      */

static int sw_done;      /* the scenario's entry reached its end */
static int sw_observed;  /* an IRQL the scenario observed (free-kernel behaviour) */
static int sw_observed2; /* a second one */
static volatile LONG sw_flag, sw_busy_up, sw_busy_stop;
static LONG sw_dpc_runs;
static KSPIN_LOCK sw_lock_a, sw_lock_b;
static KDPC sw_dpc_a, sw_dpc_b;
static PKINTERRUPT sw_interrupt;

static void sw_reset(void)
{
    sw_done = 0;
    sw_observed = sw_observed2 = -1;
    sw_flag = sw_busy_up = sw_busy_stop = 0;
    sw_dpc_runs = 0;
    sw_lock_a = sw_lock_b = 0;
    sw_interrupt = NULL;
}

static void run_dpc(PKDPC dpc, PKDEFERRED_ROUTINE routine)
{
    KeInitializeDpc(dpc, routine, NULL);
    (void)KeInsertQueueDpc(dpc, NULL, NULL); /* at PASSIVE on this CPU: has run (4.15) */
}

static bool connect_isr(PKSERVICE_ROUTINE isr, KINTERRUPT_MODE mode)
{
    return NT_SUCCESS(
        IoConnectInterrupt(&sw_interrupt, isr, NULL, NULL, LINE, 5, 5, mode, FALSE, 1, FALSE));
}

static void interrupt_once(void)
{
    kdpc_line_assert(kdpc_current_machine(), LINE);
    for (int i = 0; i < 1000 && sw_flag == 0; i++)
        KeStallExecutionProcessor(1);
}

/* irql.raise_lower */
static void ScRaiseLower(void *ctx)
{
    (void)ctx;
    KIRQL old, old2;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    KeRaiseIrql(APC_LEVEL, &old2);
    sw_observed = KeGetCurrentIrql(); /* 1.11 free kernel: APC_LEVEL */
    KeLowerIrql(old);
    sw_done = 1;
}

/* irql.lower_raise */
static void ScLowerRaise(void *ctx)
{
    (void)ctx;
    KeLowerIrql(DISPATCH_LEVEL);
    sw_observed = KeGetCurrentIrql(); /* 1.11 free kernel: DISPATCH_LEVEL */
    KeLowerIrql(PASSIVE_LEVEL);
    sw_done = 1;
}

/* irql.invalid */
static void ScInvalid(void *ctx)
{
    (void)ctx;
    KIRQL old;
    KeRaiseIrql(16, &old);
    KeLowerIrql(old);
    sw_done = 1;
}

/* spinlock.acquire_irql */
static void ScAcquireIrql(void *ctx)
{
    (void)ctx;
    KIRQL old, lock_old;
    KeRaiseIrql(5, &old);
    KeAcquireSpinLock(&sw_lock_a, &lock_old);
    sw_observed = KeGetCurrentIrql(); /* 2.6 free kernel: DISPATCH_LEVEL while held */
    KeReleaseSpinLock(&sw_lock_a, lock_old);
    sw_observed2 = KeGetCurrentIrql(); /* 2.6: back at the entry IRQL 5 */
    KeLowerIrql(old);
    sw_done = 1;
}

/* spinlock.dpc_acquire_irql */
static void ScDpcAcquireIrql(void *ctx)
{
    (void)ctx;
    KeAcquireSpinLockAtDpcLevel(&sw_lock_a);
    sw_observed = KeGetCurrentIrql(); /* 2.7 free kernel: no raise, PASSIVE_LEVEL */
    KIRQL old = KeRaiseIrqlToDpcLevel();
    KeReleaseSpinLockFromDpcLevel(&sw_lock_a);
    KeLowerIrql(old);
    sw_done = 1;
}

/* spinlock.dpc_release_irql */
static void ScDpcReleaseIrql(void *ctx)
{
    (void)ctx;
    KIRQL old = KeRaiseIrqlToDpcLevel();
    KeAcquireSpinLockAtDpcLevel(&sw_lock_a);
    KeLowerIrql(old);
    KeReleaseSpinLockFromDpcLevel(&sw_lock_a);
    sw_done = 1;
}

/* spinlock.release_irql */
static void ScReleaseIrql(void *ctx)
{
    (void)ctx;
    KIRQL lock_old, old;
    KeAcquireSpinLock(&sw_lock_a, &lock_old);
    KeRaiseIrql(5, &old);
    KeReleaseSpinLock(&sw_lock_a, lock_old);
    sw_observed = KeGetCurrentIrql(); /* 2.9: IRQL := NewIrql without validation */
    sw_done = 1;
}

/* spinlock.recursive */
static void ScRecursive(void *ctx)
{
    (void)ctx;
    KIRQL old, old2;
    KeAcquireSpinLock(&sw_lock_a, &old);
    KeAcquireSpinLock(&sw_lock_a, &old2); /* 2.17 MP free kernel: spins forever */
    sw_done = 1;
}

/* spinlock.not_owned */
static void ScNotOwned(void *ctx)
{
    (void)ctx;
    KIRQL old = KeRaiseIrqlToDpcLevel();
    KeReleaseSpinLockFromDpcLevel(&sw_lock_a); /* 2.18 free: the word is just cleared */
    KeLowerIrql(old);
    sw_done = 1;
}

/* spinlock.order */
static void ScOrderAB(PKDPC Dpc, PVOID Context, PVOID Arg1, PVOID Arg2)
{
    (void)Dpc;
    (void)Context;
    (void)Arg1;
    (void)Arg2;
    KeAcquireSpinLockAtDpcLevel(&sw_lock_a);
    KeAcquireSpinLockAtDpcLevel(&sw_lock_b);
    KeReleaseSpinLockFromDpcLevel(&sw_lock_b);
    KeReleaseSpinLockFromDpcLevel(&sw_lock_a);
}

static void ScOrderBA(PKDPC Dpc, PVOID Context, PVOID Arg1, PVOID Arg2)
{
    (void)Dpc;
    (void)Context;
    (void)Arg1;
    (void)Arg2;
    KeAcquireSpinLockAtDpcLevel(&sw_lock_b);
    KeAcquireSpinLockAtDpcLevel(&sw_lock_a);
    KeReleaseSpinLockFromDpcLevel(&sw_lock_a);
    KeReleaseSpinLockFromDpcLevel(&sw_lock_b);
}

static void ScOrder(void *ctx)
{
    (void)ctx;
    run_dpc(&sw_dpc_a, ScOrderAB);
    run_dpc(&sw_dpc_b, ScOrderBA);
    sw_done = 1;
}

/* spinlock.mixed_api */
static void ScMixedApi(void *ctx)
{
    (void)ctx;
    KIRQL old;
    KLOCK_QUEUE_HANDLE h;
    KeAcquireSpinLock(&sw_lock_a, &old);
    KeReleaseSpinLock(&sw_lock_a, old);
    KeAcquireInStackQueuedSpinLock(&sw_lock_a, &h);
    KeReleaseInStackQueuedSpinLock(&h);
    sw_done = 1;
}

/* spinlock.held_too_long */
static void ScHeldTooLong(void *ctx)
{
    (void)ctx;
    KIRQL old;
    KeAcquireSpinLock(&sw_lock_a, &old);
    KeStallExecutionProcessor(30);
    KeReleaseSpinLock(&sw_lock_a, old);
    sw_done = 1;
}

/* sync.irql_too_high */
static BOOLEAN ScQuietIsr(PKINTERRUPT Interrupt, PVOID ServiceContext)
{
    (void)Interrupt;
    (void)ServiceContext;
    return TRUE;
}

static BOOLEAN ScSynchRoutine(PVOID Context)
{
    (void)Context;
    return TRUE;
}

static void ScSyncIrqlTooHigh(void *ctx)
{
    (void)ctx;
    KIRQL old;
    if (!connect_isr(ScQuietIsr, Latched))
        return;
    KeRaiseIrql(7, &old);
    (void)KeSynchronizeExecution(sw_interrupt, ScSynchRoutine, NULL);
    KeLowerIrql(old);
    sw_done = 1;
}

/* sync.isr_unsynchronized / sync.unlocked_shared: watched memory */
static BOOLEAN ScTouchRegs(PVOID Context)
{
    ((volatile UCHAR *)Context)[0] = 1; /* holding the interrupt lock: fine */
    return TRUE;
}

static void ScIsrUnsync(void *ctx)
{
    (void)ctx;
    kdpc_machine *m = kdpc_current_machine();
    volatile UCHAR *regs = kdpc_shared_alloc(m, 64);
    if (regs == NULL || !connect_isr(ScQuietIsr, Latched) ||
        kdpc_shared_bind_interrupt(m, (void *)(uintptr_t)regs, sw_interrupt) != KDPC_OK)
        return;
    (void)KeSynchronizeExecution(sw_interrupt, ScTouchRegs, (PVOID)(uintptr_t)regs);
    KIRQL old = KeRaiseIrqlToDpcLevel();
    regs[1] = 2; /* without the interrupt lock: a warning */
    KeStallExecutionProcessor(1);
    KeLowerIrql(old);
    sw_done = regs[0] == 1 && regs[1] == 2;
}

static volatile UCHAR *sc_shared;
static KDPC sc_shared_dpc;

static void ScSharedDpc(PKDPC Dpc, PVOID Context, PVOID Arg1, PVOID Arg2)
{
    (void)Dpc;
    (void)Context;
    (void)Arg1;
    (void)Arg2;
    sc_shared[0]++; /* no lock, and the thread used none either */
}

static void ScUnlockedShared(void *ctx)
{
    (void)ctx;
    sc_shared = kdpc_shared_alloc(kdpc_current_machine(), 64);
    if (sc_shared == NULL)
        return;
    sc_shared[0] = 1; /* the thread */
    KeStallExecutionProcessor(1);
    KeInitializeDpc(&sc_shared_dpc, ScSharedDpc, NULL);
    (void)KeInsertQueueDpc(&sc_shared_dpc, NULL, NULL);
    KeStallExecutionProcessor(1);
    sw_done = sc_shared[0] == 2;
}

/* dpc.wait */
static void ScDpcWait(void *ctx)
{
    (void)ctx;
    KIRQL old = KeRaiseIrqlToDpcLevel();
    KeFlushQueuedDpcs();
    KeLowerIrql(old);
    sw_done = 1;
}

/* dpc.irql_changed */
static void ScLowersDpc(PKDPC Dpc, PVOID Context, PVOID Arg1, PVOID Arg2)
{
    (void)Dpc;
    (void)Context;
    (void)Arg1;
    (void)Arg2;
    KeLowerIrql(PASSIVE_LEVEL);
}

static void ScDpcIrqlChanged(void *ctx)
{
    (void)ctx;
    run_dpc(&sw_dpc_a, ScLowersDpc);
    sw_done = 1;
}

/* dpc.lock_held */
static void ScKeepsLockDpc(PKDPC Dpc, PVOID Context, PVOID Arg1, PVOID Arg2)
{
    (void)Dpc;
    (void)Context;
    (void)Arg1;
    (void)Arg2;
    KeAcquireSpinLockAtDpcLevel(&sw_lock_a);
}

static void ScDpcLockHeld(void *ctx)
{
    (void)ctx;
    run_dpc(&sw_dpc_a, ScKeepsLockDpc);
    KIRQL old = KeRaiseIrqlToDpcLevel(); /* clean up on the same CPU */
    KeReleaseSpinLockFromDpcLevel(&sw_lock_a);
    KeLowerIrql(old);
    sw_done = 1;
}

/* dpc.too_long */
static void ScSlowDpc(PKDPC Dpc, PVOID Context, PVOID Arg1, PVOID Arg2)
{
    (void)Dpc;
    (void)Context;
    (void)Arg1;
    (void)Arg2;
    KeStallExecutionProcessor(60);
    KeStallExecutionProcessor(60);
}

static void ScDpcTooLong(void *ctx)
{
    (void)ctx;
    run_dpc(&sw_dpc_a, ScSlowDpc);
    sw_done = 1;
}

/* dpc.stall_too_long */
static void ScStallTooLong(void *ctx)
{
    (void)ctx;
    KeStallExecutionProcessor(60);
    sw_done = 1;
}

/* dpc.watchdog */
static void ScRunawayDpc(PKDPC Dpc, PVOID Context, PVOID Arg1, PVOID Arg2)
{
    (void)Dpc;
    (void)Context;
    (void)Arg1;
    (void)Arg2;
    for (int i = 0; i < 40; i++) /* 2 ms in 50 us pieces */
        KeStallExecutionProcessor(50);
}

static void ScWatchdog(void *ctx)
{
    (void)ctx;
    run_dpc(&sw_dpc_a, ScRunawayDpc);
    sw_done = 1;
}

static void tweak_watchdog(kdpc_config *cfg)
{
    cfg->clock_tick_ns = 100000;
    cfg->watchdog_single_ns = 1000000;
}

/* isr.too_long */
static BOOLEAN ScSlowIsr(PKINTERRUPT Interrupt, PVOID ServiceContext)
{
    (void)Interrupt;
    (void)ServiceContext;
    sw_flag = 1;
    KeStallExecutionProcessor(30);
    return TRUE;
}

static void ScIsrTooLong(void *ctx)
{
    (void)ctx;
    if (!connect_isr(ScSlowIsr, Latched))
        return;
    interrupt_once();
    sw_done = sw_flag != 0;
}

/* isr.irql_changed */
static BOOLEAN ScRaisingIsr(PKINTERRUPT Interrupt, PVOID ServiceContext)
{
    (void)Interrupt;
    (void)ServiceContext;
    KIRQL old;
    sw_flag = 1;
    KeRaiseIrql(8, &old);
    return TRUE;
}

static void ScIsrIrqlChanged(void *ctx)
{
    (void)ctx;
    if (!connect_isr(ScRaisingIsr, Latched))
        return;
    interrupt_once();
    sw_done = sw_flag != 0;
}

/* isr.storm */
static BOOLEAN ScUnclaimingIsr(PKINTERRUPT Interrupt, PVOID ServiceContext)
{
    (void)Interrupt;
    (void)ServiceContext;
    sw_flag++;
    return FALSE;
}

static void ScStorm(void *ctx)
{
    (void)ctx;
    if (!connect_isr(ScUnclaimingIsr, LevelSensitive))
        return;
    kdpc_machine *m = kdpc_current_machine();
    kdpc_line_assert(m, LINE);
    for (int i = 0; i < 1000; i++)
        KeStallExecutionProcessor(1);
    kdpc_line_deassert(m, LINE);
    sw_done = 1;
}

/* unload.pending */
static void ScBusyOnCpu1(PVOID ctx)
{
    (void)ctx;
    (void)KeSetSystemAffinityThreadEx(2);
    KIRQL old = KeRaiseIrqlToDpcLevel();
    sw_busy_up = 1;
    while (!sw_busy_stop)
        KeStallExecutionProcessor(5);
    KeLowerIrql(old);
}

static void ScDriverDpc(PKDPC Dpc, PVOID Context, PVOID Arg1, PVOID Arg2)
{
    (void)Dpc;
    (void)Context;
    (void)Arg1;
    (void)Arg2;
    sw_dpc_runs++;
}

static NTSTATUS ScDriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    (void)DriverObject;
    (void)RegistryPath;
    KeInitializeDpc(&sw_dpc_a, ScDriverDpc, NULL); /* a driver-global CustomDpc */
    return STATUS_SUCCESS;
}

static void ScDriverUnload(PDRIVER_OBJECT DriverObject)
{
    (void)DriverObject;
    KeSetTargetProcessorDpc(&sw_dpc_a, 1); /* CPU 1 is busy at DISPATCH_LEVEL: stays queued */
    (void)KeInsertQueueDpc(&sw_dpc_a, NULL, NULL);
}

static void ScUnloadPending(void *ctx)
{
    (void)ctx;
    HANDLE h;
    PDRIVER_OBJECT drv;
    (void)KeSetSystemAffinityThreadEx(1);
    if (!NT_SUCCESS(
            PsCreateSystemThread(&h, THREAD_ALL_ACCESS, NULL, NULL, NULL, ScBusyOnCpu1, NULL)))
        return;
    while (!sw_busy_up)
        KeStallExecutionProcessor(1);
    if (NT_SUCCESS(kdpc_driver_load(kdpc_current_machine(), "switches", ScDriverEntry, &drv))) {
        drv->DriverUnload = ScDriverUnload;
        (void)kdpc_driver_unload(drv);
    }
    sw_busy_stop = 1;
    (void)ZwClose(h);
    KeFlushQueuedDpcs(); /* the DPC runs on CPU 1 once it drops below DISPATCH_LEVEL */
    sw_done = sw_dpc_runs == 1;
}

/* thread.exit_state */
static void ScReturnsAtDispatch(PVOID ctx)
{
    (void)ctx;
    (void)KeRaiseIrqlToDpcLevel();
    sw_flag = 1;
}

static void ScThreadExitState(void *ctx)
{
    (void)ctx;
    HANDLE h;
    if (!NT_SUCCESS(PsCreateSystemThread(&h, THREAD_ALL_ACCESS, NULL, NULL, NULL,
                                         ScReturnsAtDispatch, NULL)))
        return;
    for (int i = 0; i < 1000 && sw_flag == 0; i++)
        KeStallExecutionProcessor(1); /* the thread ran and ended (it cannot be preempted) */
    (void)ZwClose(h);
    sw_done = sw_flag != 0;
}

/* removelock.release_unheld: a tag released twice (0xC4/0xD5); off or a warning: nothing is
 * released, the lock's count stays right */
static IO_REMOVE_LOCK sc_remlock;

static void ScRemoveLockReleaseUnheld(void *ctx)
{
    (void)ctx;
    IoInitializeRemoveLock(&sc_remlock, 'wsrl', 0, 0);
    if (!NT_SUCCESS(IoAcquireRemoveLock(&sc_remlock, &sc_remlock)))
        return;
    IoReleaseRemoveLock(&sc_remlock, &sc_remlock);
    IoReleaseRemoveLock(&sc_remlock, &sc_remlock);
    sw_done = sc_remlock.Common.IoCount == 1;
}

/* removelock.after_wait: a second IoReleaseRemoveLockAndWait (0xC4/0xD4); off or a warning: it
 * returns at once and the lock stays removed */
static void ScRemoveLockAfterWait(void *ctx)
{
    (void)ctx;
    IoInitializeRemoveLock(&sc_remlock, 'wsrl', 0, 0);
    if (!NT_SUCCESS(IoAcquireRemoveLock(&sc_remlock, NULL)))
        return;
    IoReleaseRemoveLockAndWait(&sc_remlock, NULL);
    IoReleaseRemoveLockAndWait(&sc_remlock, NULL);
    sw_done = sc_remlock.Common.Removed && sc_remlock.Common.IoCount == 0;
}

/* pnp.must_not_fail: a driver fails IRP_MN_REMOVE_DEVICE (0xC4/0x43006); off or a warning: the
 * removal goes on */
static PDEVICE_OBJECT sc_lower;

static NTSTATUS ScFailRemovePnp(PDEVICE_OBJECT dev, PIRP irp)
{
    PIO_STACK_LOCATION s = IoGetCurrentIrpStackLocation(irp);
    if (s->MinorFunction == IRP_MN_REMOVE_DEVICE) {
        irp->IoStatus.Status = STATUS_DEVICE_BUSY;
        IoCompleteRequest(irp, IO_NO_INCREMENT);
        IoDetachDevice(sc_lower);
        IoDeleteDevice(dev);
        return STATUS_DEVICE_BUSY;
    }
    if (s->MinorFunction == IRP_MN_QUERY_REMOVE_DEVICE)
        irp->IoStatus.Status = STATUS_SUCCESS; /* answered going down (pnp.irp_status) */
    IoSkipCurrentIrpStackLocation(irp);
    return IoCallDriver(sc_lower, irp);
}

static NTSTATUS ScFailRemoveAdd(PDRIVER_OBJECT drv, PDEVICE_OBJECT pdo)
{
    PDEVICE_OBJECT fdo;
    NTSTATUS st = IoCreateDevice(drv, 0, NULL, FILE_DEVICE_UNKNOWN, 0, FALSE, &fdo);
    if (!NT_SUCCESS(st))
        return st;
    sc_lower = IoAttachDeviceToDeviceStack(fdo, pdo);
    fdo->Flags &= ~(ULONG)DO_DEVICE_INITIALIZING;
    return STATUS_SUCCESS;
}

static NTSTATUS ScFailRemoveEntry(PDRIVER_OBJECT drv, PUNICODE_STRING path)
{
    (void)path;
    drv->DriverExtension->AddDevice = ScFailRemoveAdd;
    drv->MajorFunction[IRP_MJ_PNP] = ScFailRemovePnp;
    return STATUS_SUCCESS;
}

/* Load the PnP driver @driver (DriverEntry @entry) and plug a device @name of it; NULL when
 * either fails. */
static kdpc_device *sc_plug(const char *driver, PDRIVER_INITIALIZE entry, const char *name)
{
    PDRIVER_OBJECT drv;
    kdpc_machine *m = kdpc_current_machine();
    if (!NT_SUCCESS(kdpc_driver_load(m, driver, entry, &drv)))
        return NULL;
    kdpc_device_desc d;
    kdpc_device_desc_init(&d);
    d.name = name;
    d.driver = driver;
    kdpc_device *dev = NULL;
    if (kdpc_device_plug(m, &d, &dev) != KDPC_OK)
        return NULL;
    return dev;
}

static void ScPnpMustNotFail(void *ctx)
{
    (void)ctx;
    kdpc_device *dev = sc_plug("scfail", ScFailRemoveEntry, "scfail0");
    if (dev == NULL)
        return;
    sw_done = kdpc_device_unplug(dev, KDPC_UNPLUG_ORDERLY) == KDPC_OK &&
              kdpc_device_get_state(dev) == KDPC_DEVICE_REMOVED;
}

/* work.bad_irql_return */
static void ScRaisingWork(PVOID Parameter)
{
    (void)Parameter;
    (void)KeRaiseIrqlToDpcLevel(); /* returns at DISPATCH_LEVEL */
    sw_flag = 1;
}

static void ScWorkBadIrql(void *ctx)
{
    (void)ctx;
    static WORK_QUEUE_ITEM item;
    ExInitializeWorkItem(&item, ScRaisingWork, NULL);
    ExQueueWorkItem(&item, DelayedWorkQueue);
    for (int i = 0; i < 1000 && sw_flag == 0; i++)
        KeStallExecutionProcessor(1);
    LARGE_INTEGER t;
    t.QuadPart = -10000; /* 1 ms: the worker finishes its checks */
    (void)KeDelayExecutionThread(KernelMode, FALSE, &t);
    sw_done = sw_flag != 0;
}

/* work.requeue */
static void ScNothingWork(PVOID Parameter)
{
    (void)Parameter;
    sw_flag++;
}

static void ScWorkRequeue(void *ctx)
{
    (void)ctx;
    static WORK_QUEUE_ITEM item;
    ExInitializeWorkItem(&item, ScNothingWork, NULL);
    KIRQL old = KeRaiseIrqlToDpcLevel(); /* no worker can take it meanwhile */
    ExQueueWorkItem(&item, DelayedWorkQueue);
    ExQueueWorkItem(&item, DelayedWorkQueue); /* still queued */
    KeLowerIrql(old);
    LARGE_INTEGER t;
    t.QuadPart = -10000;
    (void)KeDelayExecutionThread(KernelMode, FALSE, &t);
    sw_done = sw_flag == 1; /* as a warning the second queueing is dropped */
}

/* work.queue_irql */
static void ScWorkQueueIrql(void *ctx)
{
    (void)ctx;
    static WORK_QUEUE_ITEM item;
    ExInitializeWorkItem(&item, ScNothingWork, NULL);
    KIRQL old;
    KeRaiseIrql(HIGH_LEVEL, &old);
    ExQueueWorkItem(&item, DelayedWorkQueue);
    KeLowerIrql(old);
    LARGE_INTEGER t;
    t.QuadPart = -10000;
    (void)KeDelayExecutionThread(KernelMode, FALSE, &t);
    sw_done = sw_flag == 1;
}

/* sync.apc_irql */
static void ScApcIrql(void *ctx)
{
    (void)ctx;
    KIRQL old = KeRaiseIrqlToDpcLevel();
    KeEnterCriticalRegion(); /* 0xC4/0x11A: above APC_LEVEL */
    KeLeaveCriticalRegion();
    KeLowerIrql(old);
    sw_done = 1;
}

/* wait.objects */
static void ScWaitObjects(void *ctx)
{
    (void)ctx;
    static KEVENT ev[4];
    PVOID objs[4];
    for (int i = 0; i < 4; i++) {
        KeInitializeEvent(&ev[i], NotificationEvent, TRUE);
        objs[i] = &ev[i];
    }
    /* four objects and no WaitBlockArray: 0xC */
    NTSTATUS st =
        KeWaitForMultipleObjects(4, objs, WaitAll, Executive, KernelMode, FALSE, NULL, NULL);
    sw_done = st == STATUS_SUCCESS;
}

/* isr.disconnect_irql: IoDisconnectInterrupt at DISPATCH_LEVEL (PASSIVE_LEVEL only) */
static void ScDisconnectIrql(void *ctx)
{
    (void)ctx;
    if (!connect_isr(ScQuietIsr, Latched))
        return;
    KIRQL old = KeRaiseIrqlToDpcLevel();
    IoDisconnectInterrupt(sw_interrupt);
    KeLowerIrql(old);
    sw_done = 1;
}

/* io.passive_irql: IoCreateSymbolicLink at APC_LEVEL (PASSIVE_LEVEL only) */
static void ScIoPassiveIrql(void *ctx)
{
    (void)ctx;
    UNICODE_STRING link, dev;
    RtlInitUnicodeString(&link, u"\\DosDevices\\kdpcSwPassive");
    RtlInitUnicodeString(&dev, u"\\Device\\kdpcSwPassive");
    KIRQL old;
    KeRaiseIrql(APC_LEVEL, &old);
    NTSTATUS st = IoCreateSymbolicLink(&link, &dev);
    KeLowerIrql(old);
    sw_done = st == STATUS_INVALID_PARAMETER;
}

/* zw.passive_irql: ZwOpenKey at APC_LEVEL (PASSIVE_LEVEL only); as a warning or off the call
 * fails with STATUS_INVALID_PARAMETER and opens nothing */
static void ScZwPassiveIrql(void *ctx)
{
    (void)ctx;
    UNICODE_STRING name;
    RtlInitUnicodeString(&name, u"\\Registry\\Machine\\Software");
    OBJECT_ATTRIBUTES oa;
    InitializeObjectAttributes(&oa, &name, OBJ_KERNEL_HANDLE, NULL, NULL);
    HANDLE h = NULL;
    KIRQL old;
    KeRaiseIrql(APC_LEVEL, &old);
    NTSTATUS st = ZwOpenKey(&h, KEY_READ, &oa);
    KeLowerIrql(old);
    sw_done = st == STATUS_INVALID_PARAMETER && h == NULL;
}

/* rtl.irql: RtlCompareUnicodeString at APC_LEVEL (PASSIVE_LEVEL only); as a warning or off it
 * still compares */
static void ScRtlIrql(void *ctx)
{
    (void)ctx;
    UNICODE_STRING a, b;
    RtlInitUnicodeString(&a, u"kdpc");
    RtlInitUnicodeString(&b, u"KDPC");
    KIRQL old;
    KeRaiseIrql(APC_LEVEL, &old);
    LONG r = RtlCompareUnicodeString(&a, &b, TRUE);
    KeLowerIrql(old);
    sw_done = r == 0;
}

static void ScObWorker(PVOID ctx)
{
    (void)ctx;
}

/* ob.irql: ZwClose at DISPATCH_LEVEL (PASSIVE_LEVEL only, 0xC4/0x2001F); as a warning or off
 * the handle is closed anyway */
static void ScObIrql(void *ctx)
{
    (void)ctx;
    HANDLE h;
    if (!NT_SUCCESS(
            PsCreateSystemThread(&h, THREAD_ALL_ACCESS, NULL, NULL, NULL, ScObWorker, NULL)))
        return;
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    NTSTATUS st = ZwClose(h);
    KeLowerIrql(old);
    sw_done = st == STATUS_SUCCESS && ZwClose(h) == STATUS_INVALID_HANDLE;
}

/* ob.user_handle: the app's event handle referenced with KernelMode (0xC4/0xF6); as a warning
 * or off the reference is made */
static void ScObUserHandle(void *ctx)
{
    (void)ctx;
    HANDLE h;
    PVOID ev = NULL;
    if (kdpc_user_event_create(kdpc_current_machine(), TRUE, FALSE, SYNCHRONIZE, &h) !=
        STATUS_SUCCESS)
        return;
    NTSTATUS st =
        ObReferenceObjectByHandle(h, EVENT_MODIFY_STATE, *ExEventObjectType, KernelMode, &ev, NULL);
    if (st == STATUS_SUCCESS)
        ObDereferenceObject(ev);
    sw_done = st == STATUS_SUCCESS && kdpc_user_event_close(kdpc_current_machine(), h) == 0;
}

/* mm.section_irql: MmLockPagableCodeSection at DISPATCH_LEVEL (APC_LEVEL at most, 0xC4/0x20019); as a
 * warning or off the handle comes back anyway */
static void ScMmIrql(void *ctx)
{
    (void)ctx;
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    PVOID h = MmLockPagableCodeSection(ScMmIrql);
    KeLowerIrql(old);
    if (h != NULL)
        MmUnlockPagableImageSection(h);
    sw_done = h != NULL;
}

/* mm.bad_mdl: MmFreePagesFromMdl twice (0x4E/0x07); as a warning or off the second does
 * nothing */
static void ScMmBadMdl(void *ctx)
{
    (void)ctx;
    PHYSICAL_ADDRESS lo, hi, skip;
    lo.QuadPart = 0;
    hi.QuadPart = -1;
    skip.QuadPart = 0;
    PMDL mdl = MmAllocatePagesForMdl(lo, hi, skip, PAGE_SIZE);
    if (mdl == NULL)
        return;
    MmFreePagesFromMdl(mdl);
    MmFreePagesFromMdl(mdl);
    ExFreePool(mdl);
    sw_done = 1;
}

/* mm.map_bugcheck: MmMapLockedPagesSpecifyCache with BugCheckOnFailure TRUE (0xC4/0x82); as a
 * warning or off the mapping is made */
static void ScMmMapBugcheck(void *ctx)
{
    (void)ctx;
    PHYSICAL_ADDRESS lo, hi, skip;
    lo.QuadPart = 0;
    hi.QuadPart = -1;
    skip.QuadPart = 0;
    PMDL mdl = MmAllocatePagesForMdl(lo, hi, skip, PAGE_SIZE);
    if (mdl == NULL)
        return;
    PVOID va =
        MmMapLockedPagesSpecifyCache(mdl, KernelMode, MmCached, NULL, TRUE, NormalPagePriority);
    if (va != NULL)
        MmUnmapLockedPages(va, mdl);
    MmFreePagesFromMdl(mdl);
    ExFreePool(mdl);
    sw_done = va != NULL;
}

/* mem.pool_irql: nonpaged pool allocated at HIGH_LEVEL (0xC4/0x02); as a warning or off the
 * block is allocated (and freed back at PASSIVE_LEVEL) */
static void ScPoolIrql(void *ctx)
{
    (void)ctx;
    KIRQL old;
    KeRaiseIrql(HIGH_LEVEL, &old);
    PVOID p = ExAllocatePoolWithTag(NonPagedPoolNx, 16, 'rIpS');
    KeLowerIrql(old);
    if (p != NULL)
        ExFreePool(p);
    sw_done = p != NULL;
}

/* isr.disconnect_self: the ISR disconnects its own interrupt (the IRQL rule is switched off
 * here, so that only the self-deadlock is left) */
static BOOLEAN ScSelfDisconnectingIsr(PKINTERRUPT Interrupt, PVOID ServiceContext)
{
    (void)ServiceContext;
    IoDisconnectInterrupt(Interrupt);
    sw_flag++;
    return TRUE;
}

static void ScDisconnectSelf(void *ctx)
{
    (void)ctx;
    (void)kdpc_rule_set(kdpc_current_machine(), "isr.disconnect_irql", KDPC_RULE_OFF);
    if (!connect_isr(ScSelfDisconnectingIsr, Latched))
        return;
    interrupt_once();
    kdpc_line_assert(kdpc_current_machine(), LINE); /* disconnected: no second call */
    KeStallExecutionProcessor(1);
    sw_done = sw_flag == 1;
}

/* obj.invalid: KeSetEvent on a never-initialised (zero-filled) KEVENT; off or a warning: the
 * call returns 0 and signals nothing */
static void ScObjInvalid(void *ctx)
{
    (void)ctx;
    KEVENT ev;
    memset(&ev, 0, sizeof(ev));
    sw_observed = (int)KeSetEvent(&ev, 0, FALSE);
    sw_done = sw_observed == 0 && ev.Header.SignalState == 0;
}

/* io.* and errorlog.irql: a device with a dispatch routine and a StartIo that never finishes */
static PDEVICE_OBJECT sc_dev;

static void ScStartIoNothing(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    (void)DeviceObject;
    (void)Irp; /* the device "never interrupts": the IRP stays CurrentIrp */
}

static NTSTATUS ScDispatchIoctl(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PIO_STACK_LOCATION s = IoGetCurrentIrpStackLocation(Irp);
    if (s->Parameters.DeviceIoControl.IoControlCode == 0x222003) { /* queue it */
        IoMarkIrpPending(Irp);
        IoStartPacket(DeviceObject, Irp, NULL, NULL);
        return STATUS_PENDING;
    }
    /* complete it with 8 bytes, whatever the output buffer */
    Irp->IoStatus.Status = STATUS_SUCCESS;
    Irp->IoStatus.Information = 8;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
    return STATUS_SUCCESS;
}

static NTSTATUS ScIoDriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    (void)RegistryPath;
    DriverObject->MajorFunction[IRP_MJ_DEVICE_CONTROL] = ScDispatchIoctl;
    DriverObject->DriverStartIo = ScStartIoNothing;
    return IoCreateDevice(DriverObject, 0, NULL, FILE_DEVICE_UNKNOWN, 0, FALSE, &sc_dev);
}

static bool sc_load_io_driver(void)
{
    PDRIVER_OBJECT drv;
    return NT_SUCCESS(kdpc_driver_load(kdpc_current_machine(), "scio", ScIoDriverEntry, &drv));
}

static PIRP sc_bare_irp(NTSTATUS status)
{
    PIRP irp = IoAllocateIrp(1, FALSE);
    if (irp != NULL) {
        IoSetNextIrpStackLocation(irp);
        irp->IoStatus.Status = status;
    }
    return irp;
}

static void ScDoubleComplete(void *ctx)
{
    (void)ctx;
    PIRP irp = sc_bare_irp(STATUS_SUCCESS);
    if (irp == NULL)
        return;
    IoCompleteRequest(irp, IO_NO_INCREMENT);
    IoCompleteRequest(irp, IO_NO_INCREMENT); /* 0x44 */
    IoFreeIrp(irp);
    sw_done = 1;
}

static void ScCompletePending(void *ctx)
{
    (void)ctx;
    PIRP irp = sc_bare_irp(STATUS_PENDING);
    if (irp == NULL)
        return;
    IoCompleteRequest(irp, IO_NO_INCREMENT); /* 0xC9/0x06 */
    IoFreeIrp(irp);
    sw_done = 1;
}

static void ScStartNextIrql(void *ctx)
{
    (void)ctx;
    if (!sc_load_io_driver())
        return;
    IoStartNextPacket(sc_dev, FALSE); /* at PASSIVE_LEVEL: 0xC4/0x00020003 */
    sw_done = 1;
}

static void ScIrpLost(void *ctx)
{
    (void)ctx;
    static IO_STATUS_BLOCK iosb;
    if (!sc_load_io_driver())
        return;
    PIRP irp =
        IoBuildDeviceIoControlRequest(0x222003, sc_dev, NULL, 0, NULL, 0, FALSE, NULL, &iosb);
    if (irp == NULL)
        return;
    (void)IoCallDriver(sc_dev, irp); /* started, never completed: io.irp_lost at the end */
    sw_done = 1;
}

static void ScBufferOverrun(void *ctx)
{
    (void)ctx;
    static IO_STATUS_BLOCK iosb;
    static UCHAR out[4];
    if (!sc_load_io_driver())
        return;
    PIRP irp = IoBuildDeviceIoControlRequest(0x222000, sc_dev, NULL, 0, out, sizeof(out), FALSE,
                                             NULL, &iosb);
    if (irp == NULL)
        return;
    (void)IoCallDriver(sc_dev, irp); /* Information 8 > 4: 0xC9 */
    sw_done = 1;
}

static void ScNoCancel(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    (void)DeviceObject;
    IoReleaseCancelSpinLock(Irp->CancelIrql);
}

static void ScCompleteCancelable(void *ctx)
{
    (void)ctx;
    PIRP irp = sc_bare_irp(STATUS_SUCCESS);
    if (irp == NULL)
        return;
    (void)IoSetCancelRoutine(irp, ScNoCancel);
    IoCompleteRequest(irp, IO_NO_INCREMENT); /* routine still set: 0xC9/0x07 */
    IoFreeIrp(irp);
    sw_done = 1;
}

static void ScKeepCancelLock(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    (void)DeviceObject;
    (void)Irp; /* forgets IoReleaseCancelSpinLock */
}

static void ScCancelLockHeld(void *ctx)
{
    (void)ctx;
    PIRP irp = sc_bare_irp(STATUS_SUCCESS);
    if (irp == NULL)
        return;
    (void)IoSetCancelRoutine(irp, ScKeepCancelLock);
    (void)IoCancelIrp(irp);                   /* returns holding the lock: 0x11B */
    IoReleaseCancelSpinLock(irp->CancelIrql); /* as a warning: let go of it here */
    irp->IoStatus.Status = STATUS_CANCELLED;
    IoCompleteRequest(irp, IO_NO_INCREMENT);
    IoFreeIrp(irp);
    sw_done = 1;
}

static void ScErrorLogIrql(void *ctx)
{
    (void)ctx;
    if (!sc_load_io_driver())
        return;
    KIRQL old;
    KeRaiseIrql(HIGH_LEVEL, &old);
    PVOID e = IoAllocateErrorLogEntry(sc_dev, sizeof(IO_ERROR_LOG_PACKET)); /* 0xC4 */
    KeLowerIrql(old);
    if (e != NULL)
        IoFreeErrorLogEntry(e);
    sw_done = 1;
}

/* mem.* */
static void ScPagedTouch(void *ctx)
{
    (void)ctx;
    volatile UCHAR *p = ExAllocatePoolWithTag(PagedPool, 16, 'tPcS');
    if (p == NULL)
        return;
    KIRQL old = KeRaiseIrqlToDpcLevel();
    p[0] = 1; /* 0xD1 */
    KeLowerIrql(old);
    ExFreePoolWithTag((PVOID)(uintptr_t)p, 'tPcS');
    sw_done = 1;
}

static void ScPagedAlloc(void *ctx)
{
    (void)ctx;
    KIRQL old = KeRaiseIrqlToDpcLevel();
    PVOID p = ExAllocatePoolWithTag(PagedPool, 16, 'aPcS'); /* 0xC4/0x01 */
    KeLowerIrql(old);
    if (p != NULL)
        ExFreePool(p);
    sw_done = 1;
}

static void ScPagedCode(void *ctx)
{
    (void)ctx;
    KIRQL old = KeRaiseIrqlToDpcLevel();
    PAGED_CODE(); /* 0xC4 */
    KeLowerIrql(old);
    sw_done = 1;
}

static void ScNothingDpc(PKDPC Dpc, PVOID Context, PVOID Arg1, PVOID Arg2)
{
    (void)Dpc;
    (void)Context;
    (void)Arg1;
    (void)Arg2;
}

static void ScFreeActive(void *ctx)
{
    (void)ctx;
    PKDPC dpc = ExAllocatePoolWithTag(NonPagedPoolNx, sizeof(KDPC), 'fAcS');
    if (dpc == NULL)
        return;
    KeInitializeDpc(dpc, ScNothingDpc, NULL);
    KIRQL old = KeRaiseIrqlToDpcLevel();
    (void)KeInsertQueueDpc(dpc, NULL, NULL);
    bool removed = KeRemoveQueueDpc(dpc) != FALSE;
    (void)KeInsertQueueDpc(dpc, NULL, NULL);
    ExFreePool(dpc); /* still queued: 0xC7 */
    /* as a warning the freed KDPC is still queued: take it out before it would run */
    KeLowerIrql(old);
    sw_done = removed;
}

/* pio.not_flushed: a direct-I/O read completed by its dispatch routine, never flushed */
static PDEVICE_OBJECT sc_pio_dev;

static NTSTATUS ScPioRead(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    (void)DeviceObject;
    PUCHAR va = MmGetSystemAddressForMdlSafe(Irp->MdlAddress, NormalPagePriority);
    va[0] = 0x5a; /* "read from the device" */
    Irp->IoStatus.Status = STATUS_SUCCESS;
    Irp->IoStatus.Information = 1;
    IoCompleteRequest(Irp, IO_NO_INCREMENT); /* no KeFlushIoBuffers: warning */
    return STATUS_SUCCESS;
}

static NTSTATUS ScPioEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    (void)RegistryPath;
    DriverObject->MajorFunction[IRP_MJ_READ] = ScPioRead;
    NTSTATUS st = IoCreateDevice(DriverObject, 0, NULL, FILE_DEVICE_UNKNOWN, 0, FALSE, &sc_pio_dev);
    if (NT_SUCCESS(st))
        sc_pio_dev->Flags |= DO_DIRECT_IO;
    return st;
}

static void ScPioNotFlushed(void *ctx)
{
    (void)ctx;
    static UCHAR buf[8];
    static IO_STATUS_BLOCK iosb;
    PDRIVER_OBJECT drv;
    if (!NT_SUCCESS(kdpc_driver_load(kdpc_current_machine(), "scpio", ScPioEntry, &drv)))
        return;
    PIRP irp =
        IoBuildSynchronousFsdRequest(IRP_MJ_READ, sc_pio_dev, buf, sizeof(buf), NULL, NULL, &iosb);
    if (irp == NULL)
        return;
    (void)IoCallDriver(sc_pio_dev, irp);
    sw_done = buf[0] == 0x5a;
}

/* dma.* and controller.held: sc_dev's current IRP owns the adapter / controller */
static UCHAR sc_dma_buf[64];
static PMDL sc_dma_mdl;
static PVOID sc_dma_base;

static PDMA_ADAPTER sc_adapter(void)
{
    DEVICE_DESCRIPTION dd = {0};
    dd.Version = DEVICE_DESCRIPTION_VERSION;
    dd.Master = TRUE;
    dd.Dma32BitAddresses = TRUE;
    dd.InterfaceType = PCIBus;
    dd.MaximumLength = PAGE_SIZE;
    ULONG regs = 0;
    return IoGetDmaAdapter(sc_dev, &dd, &regs);
}

static IO_ALLOCATION_ACTION ScKeepChannel(PDEVICE_OBJECT DeviceObject, PIRP Irp,
                                          PVOID MapRegisterBase, PVOID Context)
{
    (void)DeviceObject;
    (void)Irp;
    sc_dma_base = MapRegisterBase;
    PDMA_ADAPTER a = Context;
    if (sc_dma_mdl != NULL) {
        ULONG len = sizeof(sc_dma_buf);
        (void)a->DmaOperations->MapTransfer(a, sc_dma_mdl, MapRegisterBase,
                                            MmGetMdlVirtualAddress(sc_dma_mdl), &len, FALSE);
    }
    return KeepObject;
}

/* Sets up sc_dev with a current IRP and an adapter whose channel it holds. */
static PIRP sc_dma_start(PDMA_ADAPTER *out, bool map)
{
    if (!sc_load_io_driver())
        return NULL;
    PDMA_ADAPTER a = sc_adapter();
    PIRP irp = sc_bare_irp(STATUS_SUCCESS);
    if (a == NULL || irp == NULL)
        return NULL;
    sc_dma_mdl = NULL;
    if (map) {
        sc_dma_mdl = IoAllocateMdl(sc_dma_buf, sizeof(sc_dma_buf), FALSE, FALSE, NULL);
        if (sc_dma_mdl == NULL)
            return NULL;
        MmBuildMdlForNonPagedPool(sc_dma_mdl);
    }
    sc_dev->CurrentIrp = irp; /* as IoStartPacket leaves it */
    KIRQL old = KeRaiseIrqlToDpcLevel();
    NTSTATUS st = a->DmaOperations->AllocateAdapterChannel(a, sc_dev, 1, ScKeepChannel, a);
    KeLowerIrql(old);
    *out = a;
    return NT_SUCCESS(st) ? irp : NULL;
}

static void sc_dma_end(PDMA_ADAPTER a, PIRP irp)
{
    sc_dev->CurrentIrp = NULL;
    IoFreeIrp(irp);
    if (sc_dma_mdl != NULL)
        IoFreeMdl(sc_dma_mdl);
    a->DmaOperations->PutDmaAdapter(a);
}

static void ScDmaAdapterHeld(void *ctx)
{
    (void)ctx;
    PDMA_ADAPTER a = NULL;
    PIRP irp = sc_dma_start(&a, false);
    if (irp == NULL)
        return;
    IoCompleteRequest(irp, IO_NO_INCREMENT); /* channel still held: 0xE6/0x2A */
    KIRQL old = KeRaiseIrqlToDpcLevel();
    a->DmaOperations->FreeAdapterChannel(a);
    KeLowerIrql(old);
    sc_dma_end(a, irp);
    sw_done = 1;
}

static void ScDmaNotFlushed(void *ctx)
{
    (void)ctx;
    PDMA_ADAPTER a = NULL;
    PIRP irp = sc_dma_start(&a, true);
    if (irp == NULL)
        return;
    KIRQL old = KeRaiseIrqlToDpcLevel();
    a->DmaOperations->FreeAdapterChannel(a); /* mapped, never flushed: 0xE6/0x0D */
    KeLowerIrql(old);
    IoCompleteRequest(irp, IO_NO_INCREMENT);
    sc_dma_end(a, irp);
    sw_done = 1;
}

static void ScDmaDoubleFree(void *ctx)
{
    (void)ctx;
    PDMA_ADAPTER a = NULL;
    PIRP irp = sc_dma_start(&a, false);
    if (irp == NULL)
        return;
    KIRQL old = KeRaiseIrqlToDpcLevel();
    a->DmaOperations->FreeAdapterChannel(a);
    a->DmaOperations->FreeAdapterChannel(a); /* 0xE6/0x04 */
    KeLowerIrql(old);
    IoCompleteRequest(irp, IO_NO_INCREMENT);
    sc_dma_end(a, irp);
    sw_done = 1;
}

/* A device programmed with a DMA address nobody mapped moves data there. */
static void ScDevDmaUnmapped(void *ctx)
{
    (void)ctx;
    kdpc_device_desc d;
    kdpc_device_desc_init(&d);
    d.name = "scdma";
    d.dma = true;
    kdpc_device *dev = NULL;
    if (kdpc_device_plug(kdpc_current_machine(), &d, &dev) != KDPC_OK)
        return;
    UCHAR b[8];
    /* the bug check ends the run here; off or a warning: nothing moves, KDPC_EIO */
    if (kdpc_device_dma_read(dev, 0x12340000u, b, sizeof b, NULL) != KDPC_EIO)
        return;
    sw_done = 1;
}

static IO_ALLOCATION_ACTION ScKeepController(PDEVICE_OBJECT DeviceObject, PIRP Irp,
                                             PVOID MapRegisterBase, PVOID Context)
{
    (void)DeviceObject;
    (void)Irp;
    (void)MapRegisterBase;
    (void)Context;
    return KeepObject;
}

static void ScControllerHeld(void *ctx)
{
    (void)ctx;
    if (!sc_load_io_driver())
        return;
    PCONTROLLER_OBJECT k = IoCreateController(16);
    PIRP irp = sc_bare_irp(STATUS_SUCCESS);
    if (k == NULL || irp == NULL)
        return;
    sc_dev->CurrentIrp = irp;
    KIRQL old = KeRaiseIrqlToDpcLevel();
    IoAllocateController(k, sc_dev, ScKeepController, NULL);
    KeLowerIrql(old);
    IoCompleteRequest(irp, IO_NO_INCREMENT); /* controller still held: code 0 */
    old = KeRaiseIrqlToDpcLevel();
    IoFreeController(k);
    KeLowerIrql(old);
    sc_dev->CurrentIrp = NULL;
    IoFreeIrp(irp);
    IoDeleteController(k);
    sw_done = 1;
}

/* io.invalid_object: IoCompleteRequest on a never-initialised (zero-filled) IRP; off or a
 * warning: the call returns, nothing completed */
static void ScIoInvalidObject(void *ctx)
{
    (void)ctx;
    static _Alignas(16) unsigned char zero_irp[sizeof(IRP) + sizeof(IO_STACK_LOCATION)];
    memset(zero_irp, 0, sizeof(zero_irp));
    IoCompleteRequest((PIRP)(void *)zero_irp, IO_NO_INCREMENT); /* 0x1E */
    sw_done = 1;
}

/* io.pending_not_returned: a dispatch routine marks the IRP pending, completes it and returns
 * STATUS_SUCCESS (0xC9/0x23E); off or a warning: the caller gets STATUS_SUCCESS */
static NTSTATUS ScPendingDispatch(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    (void)DeviceObject;
    IoMarkIrpPending(Irp);
    Irp->IoStatus.Status = STATUS_SUCCESS;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
    return STATUS_SUCCESS;
}

static PDEVICE_OBJECT sc_dev2;

static NTSTATUS ScPendingEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    (void)RegistryPath;
    DriverObject->MajorFunction[IRP_MJ_READ] = ScPendingDispatch; /* and no DriverStartIo */
    return IoCreateDevice(DriverObject, 0, NULL, FILE_DEVICE_UNKNOWN, 0, FALSE, &sc_dev2);
}

static void ScIoPendingNotReturned(void *ctx)
{
    (void)ctx;
    PDRIVER_OBJECT drv;
    if (!NT_SUCCESS(kdpc_driver_load(kdpc_current_machine(), "scpend", ScPendingEntry, &drv)))
        return;
    PIRP irp = IoAllocateIrp(1, FALSE);
    if (irp == NULL)
        return;
    IoGetNextIrpStackLocation(irp)->MajorFunction = IRP_MJ_READ;
    sw_observed = (int)IoCallDriver(sc_dev2, irp);
    IoFreeIrp(irp);
    sw_done = sw_observed == STATUS_SUCCESS;
}

/* io.no_startio: IoStartPacket on a device whose driver has no StartIo (0xD1); off or a
 * warning: the IRP stays CurrentIrp, and the test completes it itself */
static void ScIoNoStartIo(void *ctx)
{
    (void)ctx;
    PDRIVER_OBJECT drv;
    if (!NT_SUCCESS(kdpc_driver_load(kdpc_current_machine(), "scnostart", ScPendingEntry, &drv)))
        return;
    PIRP irp = IoAllocateIrp(1, FALSE);
    if (irp == NULL)
        return;
    IoSetNextIrpStackLocation(irp);
    IoStartPacket(sc_dev2, irp, NULL, NULL);
    sw_done = sc_dev2->CurrentIrp == irp;
    irp->IoStatus.Status = STATUS_SUCCESS;
    IoCompleteRequest(irp, IO_NO_INCREMENT);
    IoFreeIrp(irp);
}

/* hal.bad_address: a register read through an address no mapping covers (0x50); off or a
 * warning: all ones, nothing dereferenced */
static ULONG sc_not_a_register;

static void ScHalBadAddress(void *ctx)
{
    (void)ctx;
    sw_done = READ_REGISTER_ULONG(&sc_not_a_register) == 0xFFFFFFFFu;
}

/* hal.map_unowned: MmMapIoSpace of a range no device window covers (0xC4/0x83); off or a
 * warning: NULL */
static void ScHalMapUnowned(void *ctx)
{
    (void)ctx;
    PHYSICAL_ADDRESS pa;
    pa.QuadPart = 0x7000;
    sw_done = MmMapIoSpace(pa, 0x100, MmNonCached) == NULL;
}

/* hal.bad_unmap: MmUnmapIoSpace of an address MmMapIoSpace never returned (0xDA/3); off or a
 * warning: nothing happens */
static void ScHalBadUnmap(void *ctx)
{
    (void)ctx;
    MmUnmapIoSpace(&sc_not_a_register, sizeof(sc_not_a_register));
    sw_done = 1;
}

/* hal.irql: MmMapIoSpaceEx above DISPATCH_LEVEL (0xC4/0x73); off or a warning: the call
 * goes on (an undocumented protection: NULL) */
static void ScHalIrql(void *ctx)
{
    (void)ctx;
    PHYSICAL_ADDRESS pa;
    pa.QuadPart = 0x7000;
    KIRQL old;
    KeRaiseIrql(PROFILE_LEVEL, &old);
    PVOID va = MmMapIoSpaceEx(pa, 0x100, 0xFFFFu);
    KeLowerIrql(old);
    sw_done = va == NULL;
}

/* Scenario routines of the rules added per area (keep each area's routines together). */
/* A completion routine that takes its IRP back (the maker's, or a forwarding driver's). */
static NTSTATUS ScTakeBack(PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID Context)
{
    (void)DeviceObject;
    (void)Irp;
    (void)Context;
    return STATUS_MORE_PROCESSING_REQUIRED;
}

/* area: irql-ke */
/* irql.ke_dispatch: KeCancelTimer at HIGH_LEVEL (0xC4/0x20011); off or a warning: cancelled */
static KTIMER sc_ke_timer;
static void ScKeDispatch(void *ctx)
{
    (void)ctx;
    KeInitializeTimer(&sc_ke_timer);
    KIRQL old;
    KeRaiseIrql(HIGH_LEVEL, &old);
    (void)KeCancelTimer(&sc_ke_timer);
    KeLowerIrql(old);
    sw_done = 1;
}

/* irql.ke_set_event: KeSetEvent at HIGH_LEVEL (0xC4/0x80); off or a warning: the event is set */
static KEVENT sc_ke_event;
static void ScKeSetEvent(void *ctx)
{
    (void)ctx;
    KeInitializeEvent(&sc_ke_event, NotificationEvent, FALSE);
    KIRQL old;
    KeRaiseIrql(HIGH_LEVEL, &old);
    (void)KeSetEvent(&sc_ke_event, IO_NO_INCREMENT, FALSE);
    KeLowerIrql(old);
    sw_done = KeReadStateEvent(&sc_ke_event) != 0;
}

/* irql.ke_set_event_wait: KeSetEvent(Wait TRUE) in a DPC (0xC4/0x20016); off or a warning: set */
static void ScKeSetEventWaitDpc(PKDPC Dpc, PVOID Ctx, PVOID A1, PVOID A2)
{
    (void)Dpc;
    (void)Ctx;
    (void)A1;
    (void)A2;
    (void)KeSetEvent(&sc_ke_event, IO_NO_INCREMENT, TRUE);
}

static void ScKeSetEventWait(void *ctx)
{
    (void)ctx;
    KeInitializeEvent(&sc_ke_event, NotificationEvent, FALSE);
    run_dpc(&sw_dpc_a, ScKeSetEventWaitDpc);
    sw_done = KeReadStateEvent(&sc_ke_event) != 0;
}

/* ps.passive_irql: PsCreateSystemThread at APC_LEVEL (0xC4/0x2001C); off or a warning: created */
static void ScPsThread(PVOID ctx)
{
    (void)ctx;
}

static void ScPsPassiveIrql(void *ctx)
{
    (void)ctx;
    HANDLE h = NULL;
    KIRQL old;
    KeRaiseIrql(APC_LEVEL, &old);
    NTSTATUS st = PsCreateSystemThread(&h, THREAD_ALL_ACCESS, NULL, NULL, NULL, ScPsThread, NULL);
    KeLowerIrql(old);
    if (NT_SUCCESS(st))
        (void)ZwClose(h);
    sw_done = NT_SUCCESS(st);
}

/* irql.ex_apc: ExInitializePagedLookasideList at DISPATCH_LEVEL (0xC4/0x20006; a nonpaged quota
 * allocation there is legal); off or a warning: the list is initialised */
static PAGED_LOOKASIDE_LIST sc_paged_la;
static void ScExApc(void *ctx)
{
    (void)ctx;
    KIRQL old = KeRaiseIrqlToDpcLevel();
    ExInitializePagedLookasideList(&sc_paged_la, NULL, NULL, 0, 64, 'kIcS', 0);
    KeLowerIrql(old);
    ExDeletePagedLookasideList(&sc_paged_la);
    sw_done = 1;
}

/* ob.bad_handle: ObReferenceObjectByHandle(NULL, KernelMode) (0xC4/0xF5); off or a warning:
 * STATUS_INVALID_HANDLE */
static void ScObBadHandle(void *ctx)
{
    (void)ctx;
    PVOID obj = NULL;
    NTSTATUS st =
        ObReferenceObjectByHandle(NULL, SYNCHRONIZE, *PsThreadType, KernelMode, &obj, NULL);
    sw_done = st == STATUS_INVALID_HANDLE && obj == NULL;
}
/* area: irql-io */
/* io.dispatch_irql: KeInsertDeviceQueue at PASSIVE_LEVEL (DISPATCH_LEVEL exactly); off or a
 * warning: the entry goes in (a Not-Busy queue becomes Busy) */
static KDEVICE_QUEUE sc_devq;
static KDEVICE_QUEUE_ENTRY sc_devq_entry;

static void ScIoDispatchIrql(void *ctx)
{
    (void)ctx;
    KeInitializeDeviceQueue(&sc_devq);
    BOOLEAN inserted = KeInsertDeviceQueue(&sc_devq, &sc_devq_entry);
    sw_done = !inserted && sc_devq.Busy;
}

/* io.apc_irql: IoDeleteDevice at DISPATCH_LEVEL (APC_LEVEL at most); off or a warning: the
 * device is deleted */
static void ScIoApcIrql(void *ctx)
{
    (void)ctx;
    if (!sc_load_io_driver())
        return;
    KIRQL old = KeRaiseIrqlToDpcLevel();
    IoDeleteDevice(sc_dev);
    KeLowerIrql(old);
    sw_done = 1;
}

/* mm.irql: MmProbeAndLockPages above DISPATCH_LEVEL (0xC4/0x70); off or a warning: the pages
 * are locked */
static void ScMmPagesIrql(void *ctx)
{
    (void)ctx;
    PVOID buf = ExAllocatePoolWithTag(NonPagedPool, 64, 'mIwS');
    PMDL mdl = buf != NULL ? IoAllocateMdl(buf, 64, FALSE, FALSE, NULL) : NULL;
    if (mdl == NULL)
        return;
    KIRQL old;
    KeRaiseIrql(PROFILE_LEVEL, &old);
    MmProbeAndLockPages(mdl, KernelMode, IoReadAccess);
    KeLowerIrql(old);
    bool locked = (mdl->MdlFlags & MDL_PAGES_LOCKED) != 0;
    MmUnlockPages(mdl);
    IoFreeMdl(mdl);
    ExFreePoolWithTag(buf, 'mIwS');
    sw_done = locked;
}
/* area: dispatch */
/* One driver with an upper and a lower device; sc_dmode picks how its dispatch routine breaks
 * a rule (io.irql_changed ... io.cancelled_pending); off or a warning: the run goes on and the
 * test completes the IRP the driver kept. */
enum {
    SD_IRQL,
    SD_APC,
    SD_BAD,
    SD_NOT_MARKED,
    SD_UNFINISHED,
    SD_MISMATCH,
    SD_NOT_PROPAGATED,
    SD_OWNED_BELOW,
    SD_CANCELLED,
    SD_EVENT,
    SD_NO_SIGNAL,
    SD_QUEUED
};
static int sc_dmode, sc_dback;
static LIST_ENTRY sc_dqueue; /* SD_QUEUED: the driver's queue and its lock */
static KSPIN_LOCK sc_dqlock;
static PDEVICE_OBJECT sc_dup, sc_dlow;
static PIRP sc_dheld;

static void sc_dcomplete(PIRP Irp, NTSTATUS st)
{
    Irp->IoStatus.Status = st;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
}

static NTSTATUS ScDispBack(PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID Context)
{
    (void)DeviceObject;
    (void)Irp;
    (void)Context;
    sc_dback = 1;
    return STATUS_MORE_PROCESSING_REQUIRED;
}

static NTSTATUS ScDispUpperDone(PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID Context)
{
    (void)DeviceObject;
    (void)Irp;
    (void)Context;
    return STATUS_SUCCESS; /* no IoMarkIrpPending although PendingReturned is set */
}

static KEVENT sc_dev_event;
static KDPC sc_ddpc;

/* The lower driver's DPC: completes the IRP it kept. */
static void ScDispLowerDpc(PKDPC Dpc, PVOID Context, PVOID Arg1, PVOID Arg2)
{
    (void)Dpc;
    (void)Context;
    (void)Arg1;
    (void)Arg2;
    PIRP held = sc_dheld;
    sc_dheld = NULL;
    if (held != NULL)
        sc_dcomplete(held, STATUS_SUCCESS);
}

static NTSTATUS ScDispMarkAndSignal(PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID Context)
{
    (void)DeviceObject;
    (void)Context;
    if (Irp->PendingReturned)
        IoMarkIrpPending(Irp); /* and KeSetEvent below: io.completion_event_pending */
    KeSetEvent(&sc_dev_event, IO_NO_INCREMENT, FALSE);
    return STATUS_MORE_PROCESSING_REQUIRED;
}

static NTSTATUS ScDispPropagate(PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID Context)
{
    (void)DeviceObject;
    (void)Context;
    if (Irp->PendingReturned)
        IoMarkIrpPending(Irp);
    return STATUS_SUCCESS;
}

static VOID ScDispCancel(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    (void)DeviceObject;
    IoReleaseCancelSpinLock(Irp->CancelIrql);
}

static NTSTATUS ScDispDispatch(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    KIRQL old;
    if (DeviceObject == sc_dlow) {
        IoMarkIrpPending(Irp);
        sc_dheld = Irp;
        return STATUS_PENDING;
    }
    switch (sc_dmode) {
    case SD_IRQL:
        KeRaiseIrql(DISPATCH_LEVEL, &old);
        sc_dcomplete(Irp, STATUS_SUCCESS);
        return STATUS_SUCCESS; /* no KeLowerIrql */
    case SD_APC:
        KeEnterCriticalRegion();
        sc_dcomplete(Irp, STATUS_SUCCESS);
        return STATUS_SUCCESS; /* no KeLeaveCriticalRegion */
    case SD_BAD:
        sc_dcomplete(Irp, STATUS_SUCCESS);
        return (NTSTATUS)-1;
    case SD_NOT_MARKED:
        sc_dheld = Irp;
        return STATUS_PENDING;
    case SD_UNFINISHED:
        sc_dheld = Irp;
        return STATUS_SUCCESS;
    case SD_MISMATCH:
        sc_dcomplete(Irp, STATUS_INVALID_PARAMETER);
        return STATUS_SUCCESS;
    case SD_NOT_PROPAGATED:
    case SD_EVENT:
        IoCopyCurrentIrpStackLocationToNext(Irp);
        IoSetCompletionRoutine(Irp, sc_dmode == SD_EVENT ? ScDispMarkAndSignal : ScDispUpperDone,
                               NULL, TRUE, TRUE, TRUE);
        return IoCallDriver(sc_dlow, Irp);
    case SD_OWNED_BELOW:
        IoCopyCurrentIrpStackLocationToNext(Irp);
        IoSetCompletionRoutine(Irp, ScDispPropagate, NULL, TRUE, TRUE, TRUE);
        (void)IoCallDriver(sc_dlow, Irp);
        sc_dheld = NULL;
        sc_dcomplete(Irp, STATUS_SUCCESS); /* the lower driver still has it */
        return STATUS_PENDING;
    case SD_NO_SIGNAL:
        /* forwards and waits (1 ms at most) for the lower driver, whose DPC completes the IRP;
         * the completion routine signals nothing, so the wait times out */
        IoCopyCurrentIrpStackLocationToNext(Irp);
        IoSetCompletionRoutine(Irp, ScTakeBack, NULL, TRUE, TRUE, TRUE);
        if (IoCallDriver(sc_dlow, Irp) == STATUS_PENDING) {
            LARGE_INTEGER timeout;
            timeout.QuadPart = -10000; /* 1 ms */
            (void)KeInsertQueueDpc(&sc_ddpc, NULL, NULL);
            (void)KeWaitForSingleObject(&sc_dev_event, Executive, KernelMode, FALSE, &timeout);
        }
        sc_dcomplete(Irp, STATUS_SUCCESS); /* back: it finishes it */
        return STATUS_SUCCESS;
    case SD_QUEUED:
        KeAcquireSpinLock(&sc_dqlock, &old);
        InsertTailList(&sc_dqueue, &Irp->Tail.Overlay.ListEntry);
        KeReleaseSpinLock(&sc_dqlock, old); /* before IoMarkIrpPending */
        IoMarkIrpPending(Irp);
        sc_dheld = Irp;
        return STATUS_PENDING;
    default: /* SD_CANCELLED: Irp->Cancel not looked at */
        IoSetCancelRoutine(Irp, ScDispCancel);
        IoMarkIrpPending(Irp);
        sc_dheld = Irp;
        return STATUS_PENDING;
    }
}

static NTSTATUS ScDispEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    (void)RegistryPath;
    DriverObject->MajorFunction[IRP_MJ_READ] = ScDispDispatch;
    NTSTATUS st = IoCreateDevice(DriverObject, 0, NULL, FILE_DEVICE_UNKNOWN, 0, FALSE, &sc_dup);
    if (!NT_SUCCESS(st))
        return st;
    return IoCreateDevice(DriverObject, 0, NULL, FILE_DEVICE_UNKNOWN, 0, FALSE, &sc_dlow);
}

static void sc_dispatch_run(int mode)
{
    PDRIVER_OBJECT drv;
    KeInitializeEvent(&sc_dev_event, NotificationEvent, FALSE);
    KeInitializeDpc(&sc_ddpc, ScDispLowerDpc, NULL);
    sc_dmode = mode;
    sc_dback = 0;
    sc_dheld = NULL;
    InitializeListHead(&sc_dqueue);
    KeInitializeSpinLock(&sc_dqlock);
    if (!NT_SUCCESS(kdpc_driver_load(kdpc_current_machine(), "scdisp", ScDispEntry, &drv)))
        return;
    PIRP irp = IoAllocateIrp(2, FALSE);
    if (irp == NULL)
        return;
    IoGetNextIrpStackLocation(irp)->MajorFunction = IRP_MJ_READ;
    IoSetCompletionRoutine(irp, ScDispBack, NULL, TRUE, TRUE, TRUE);
    if (mode == SD_CANCELLED)
        (void)IoCancelIrp(irp); /* before it is sent: only Irp->Cancel is set */
    (void)IoCallDriver(sc_dup, irp);
    if (mode == SD_APC)
        KeLeaveCriticalRegion();
    if (sc_dheld != NULL) {
        if (mode == SD_CANCELLED)
            (void)IoSetCancelRoutine(sc_dheld, NULL);
        if (mode == SD_QUEUED)
            RemoveEntryList(&sc_dheld->Tail.Overlay.ListEntry);
        sc_dcomplete(sc_dheld, STATUS_SUCCESS);
    }
    if (mode == SD_EVENT) /* its completion routine stopped the walk */
        sc_dcomplete(irp, STATUS_SUCCESS);
    if (sc_dback)
        IoFreeIrp(irp);
    sw_done = KeGetCurrentIrql() == PASSIVE_LEVEL;
}

/* A scenario entry running sc_dispatch_run with the scenario's arg as its mode. */
static void ScDispatchScenario(void *ctx)
{
    sc_dispatch_run((int)(intptr_t)ctx);
}

/* area: irp-flow */
/* A second driver stacked on sc_dev: sc_flow_mid attached to it, sc_flow_top on top; the top
 * device handles IRPs as sc_flow_mode says, the middle one skips them down. */
typedef enum {
    SCF_SKIP,
    SCF_MARK_MEMCPY,
    SCF_COPY,
    SCF_PAST,
    SCF_STARTIO,
    SCF_SYNC_SUCCESS,
    SCF_TWICE
} sc_flow_how;
static sc_flow_how sc_flow_mode;
static PDEVICE_OBJECT sc_flow_mid, sc_flow_top;
static UCHAR sc_flow_buf[8];
static IO_STATUS_BLOCK sc_flow_iosb;
static KEVENT sc_flow_event;

static void ScFlowStartIo(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    Irp->IoStatus.Status = STATUS_SUCCESS;
    Irp->IoStatus.Information = 0;
    IoStartNextPacket(DeviceObject, FALSE); /* without DeferredStartIo */
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
}

static NTSTATUS ScFlowDispatch(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PIO_STACK_LOCATION cur = IoGetCurrentIrpStackLocation(Irp);
    if (DeviceObject == sc_flow_mid || sc_flow_mode == SCF_SKIP) {
        IoSkipCurrentIrpStackLocation(Irp);
        return IoCallDriver(DeviceObject == sc_flow_mid ? sc_dev : sc_flow_mid, Irp);
    }
    switch (sc_flow_mode) {
    case SCF_MARK_MEMCPY:
        IoMarkIrpPending(Irp);
        memcpy(IoGetNextIrpStackLocation(Irp), cur, sizeof(*cur)); /* 0x206 */
        (void)IoCallDriver(sc_flow_mid, Irp);
        return STATUS_PENDING;
    case SCF_COPY:
        IoCopyCurrentIrpStackLocationToNext(Irp); /* no completion routine: 0x21C */
        return IoCallDriver(sc_flow_mid, Irp);
    case SCF_PAST:
        IoSkipCurrentIrpStackLocation(Irp);
        return IoCallDriver(sc_dev, Irp); /* past sc_flow_mid: 0x211 */
    case SCF_TWICE:
        IoMarkIrpPending(Irp);
        IoSkipCurrentIrpStackLocation(Irp);
        if (IoCallDriver(sc_flow_mid, Irp) == STATUS_PENDING)
            (void)IoCallDriver(sc_flow_mid, Irp); /* sc_dev still has it: 0xC9/0x205 */
        return STATUS_PENDING;
    case SCF_STARTIO:
        IoMarkIrpPending(Irp);
        IoStartPacket(DeviceObject, Irp, NULL, NULL);
        return STATUS_PENDING;
    default: /* SCF_SYNC_SUCCESS: the lower driver fails the read; complete it as a success */
        IoCopyCurrentIrpStackLocationToNext(Irp);
        IoSetCompletionRoutine(Irp, ScTakeBack, NULL, TRUE, TRUE, TRUE);
        (void)IoCallDriver(sc_flow_mid, Irp);
        Irp->IoStatus.Status = STATUS_SUCCESS;
        IoCompleteRequest(Irp, IO_NO_INCREMENT);
        return STATUS_SUCCESS;
    }
}

static NTSTATUS ScFlowDriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    (void)RegistryPath;
    DriverObject->MajorFunction[IRP_MJ_DEVICE_CONTROL] = ScFlowDispatch;
    DriverObject->MajorFunction[IRP_MJ_READ] = ScFlowDispatch;
    DriverObject->DriverStartIo = ScFlowStartIo;
    NTSTATUS st =
        IoCreateDevice(DriverObject, 0, NULL, FILE_DEVICE_UNKNOWN, 0, FALSE, &sc_flow_mid);
    if (NT_SUCCESS(st))
        st = IoCreateDevice(DriverObject, 0, NULL, FILE_DEVICE_UNKNOWN, 0, FALSE, &sc_flow_top);
    if (NT_SUCCESS(st) && (IoAttachDeviceToDeviceStack(sc_flow_mid, sc_dev) == NULL ||
                           IoAttachDeviceToDeviceStack(sc_flow_top, sc_flow_mid) == NULL))
        st = STATUS_UNSUCCESSFUL;
    return st;
}

/* sc_dev's driver and the stacked one, the top device handling IRPs as @how says. */
static bool sc_flow_load(sc_flow_how how)
{
    PDRIVER_OBJECT drv;
    sc_flow_mode = how;
    return sc_load_io_driver() &&
           NT_SUCCESS(kdpc_driver_load(kdpc_current_machine(), "scflow", ScFlowDriverEntry, &drv));
}

/* A device control the top device's stack completes with 8 bytes. */
static PIRP sc_flow_ioctl(PDEVICE_OBJECT dev, ULONG code, PKEVENT event)
{
    return IoBuildDeviceIoControlRequest(code, dev, NULL, 0, sc_flow_buf, sizeof(sc_flow_buf),
                                         FALSE, event, &sc_flow_iosb);
}

/* io.complete_irql */
static void ScFlowCompleteIrql(void *ctx)
{
    (void)ctx;
    if (!sc_load_io_driver())
        return;
    PIRP irp = sc_flow_ioctl(sc_dev, 0x222003, NULL); /* queued: StartIo keeps it */
    if (irp == NULL)
        return;
    (void)IoCallDriver(sc_dev, irp);
    irp->IoStatus.Status = STATUS_SUCCESS;
    KIRQL old;
    KeRaiseIrql(5, &old);
    IoCompleteRequest(irp, IO_NO_INCREMENT); /* from an "ISR": 0xC9/0x0E */
    KeLowerIrql(old);
    sw_done = 1;
}

/* io.call_irql */
static void ScFlowCallIrql(void *ctx)
{
    (void)ctx;
    (void)kdpc_rule_set(kdpc_current_machine(), "io.complete_irql", KDPC_RULE_OFF);
    if (!sc_load_io_driver())
        return;
    PIRP irp = sc_flow_ioctl(sc_dev, 0x222000, NULL);
    if (irp == NULL)
        return;
    KIRQL old;
    KeRaiseIrql(5, &old);
    (void)IoCallDriver(sc_dev, irp); /* 0xC9/0x10 */
    KeLowerIrql(old);
    sw_done = 1;
}

/* io.forward_irql */
static void ScFlowForwardIrql(void *ctx)
{
    (void)ctx;
    if (!sc_load_io_driver())
        return;
    KeInitializeEvent(&sc_flow_event, NotificationEvent, FALSE);
    PIRP irp = IoBuildSynchronousFsdRequest(IRP_MJ_FLUSH_BUFFERS, sc_dev, NULL, 0, NULL,
                                            &sc_flow_event, &sc_flow_iosb);
    if (irp == NULL)
        return;
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    (void)IoCallDriver(sc_dev, irp); /* a flush at DISPATCH_LEVEL: 0xC9/0x23A */
    KeLowerIrql(old);
    sw_done = 1;
}

/* io.forward_apc_irql (a warning) */
static void ScFlowForwardApcIrql(void *ctx)
{
    (void)ctx;
    if (!sc_load_io_driver())
        return;
    KeInitializeEvent(&sc_flow_event, NotificationEvent, FALSE);
    PIRP irp = sc_flow_ioctl(sc_dev, 0x222000, &sc_flow_event);
    if (irp == NULL)
        return;
    KIRQL old;
    KeRaiseIrql(APC_LEVEL, &old);
    (void)IoCallDriver(sc_dev, irp); /* a thread's IRP at APC_LEVEL: 0xC9/0x302 */
    KeLowerIrql(old);
    sw_done = 1;
}

/* io.call_cancelable */
static void ScFlowCallCancelable(void *ctx)
{
    (void)ctx;
    (void)kdpc_rule_set(kdpc_current_machine(), "io.complete_cancelable", KDPC_RULE_OFF);
    if (!sc_load_io_driver())
        return;
    PIRP irp = sc_flow_ioctl(sc_dev, 0x222000, NULL);
    if (irp == NULL)
        return;
    (void)IoSetCancelRoutine(irp, ScNoCancel);
    (void)IoCallDriver(sc_dev, irp); /* cancel routine still set: 0xC9/0x203 */
    sw_done = 1;
}

/* io.stack_short */
static void ScFlowStackShort(void *ctx)
{
    (void)ctx;
    if (!sc_flow_load(SCF_SKIP))
        return;
    PIRP irp = sc_flow_ioctl(sc_flow_mid, 0x222000, NULL); /* 2 locations */
    if (irp == NULL)
        return;
    (void)IoCallDriver(sc_flow_top, irp); /* sc_flow_top's stack needs 3: 0xC9/0x208 */
    sw_done = 1;
}

/* A scenario entry: the stacked driver loaded with the scenario's arg as the top device's mode
 * (sc_flow_how), then a device control sent to sc_flow_top, which breaks the rule of its row. */
static void ScFlowScenario(void *ctx)
{
    sc_flow_how how = (sc_flow_how)(intptr_t)ctx;
    /* the copied pending bit makes the lower routine's return look wrong too: that rule off */
    if (how == SCF_MARK_MEMCPY)
        (void)kdpc_rule_set(kdpc_current_machine(), "io.pending_not_returned", KDPC_RULE_OFF);
    if (!sc_flow_load(how))
        return;
    /* SCF_TWICE: sc_dev queues 0x222003, so it is pending below when sent again */
    PIRP irp = sc_flow_ioctl(sc_flow_top, how == SCF_TWICE ? 0x222003 : 0x222000, NULL);
    if (irp != NULL)
        (void)IoCallDriver(sc_flow_top, irp);
    sw_done = 1;
}

/* io.complete_lock_held */
static void ScFlowCompleteLockHeld(void *ctx)
{
    (void)ctx;
    if (!sc_load_io_driver())
        return;
    PIRP irp = sc_flow_ioctl(sc_dev, 0x222003, NULL); /* queued: StartIo keeps it */
    if (irp == NULL)
        return;
    (void)IoCallDriver(sc_dev, irp);
    irp->IoStatus.Status = STATUS_SUCCESS;
    KIRQL old;
    KeAcquireSpinLock(&sw_lock_a, &old);
    IoCompleteRequest(irp, IO_NO_INCREMENT); /* under the lock: SpinLockSafe */
    KeReleaseSpinLock(&sw_lock_a, old);
    sw_done = 1;
}

/* io.signaled_event (a warning) */
static void ScFlowSignaledEvent(void *ctx)
{
    (void)ctx;
    if (!sc_load_io_driver())
        return;
    KeInitializeEvent(&sc_flow_event, NotificationEvent, TRUE); /* signaled already */
    PIRP irp = sc_flow_ioctl(sc_dev, 0x222003, &sc_flow_event);
    if (irp == NULL)
        return;
    (void)IoCallDriver(sc_dev, irp); /* STATUS_PENDING: 0xC9/0x307 */
    irp->IoStatus.Status = STATUS_SUCCESS;
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    IoCompleteRequest(irp, IO_NO_INCREMENT);
    KeLowerIrql(old);
    sw_done = 1;
}

/* io.complete_unsent (a warning) */
static void ScFlowCompleteUnsent(void *ctx)
{
    (void)ctx;
    if (!sc_load_io_driver())
        return;
    PIRP irp = sc_flow_ioctl(sc_dev, 0x222000, NULL);
    if (irp == NULL)
        return;
    IoSetNextIrpStackLocation(irp);
    irp->IoStatus.Status = STATUS_SUCCESS;
    IoCompleteRequest(irp, IO_NO_INCREMENT); /* never sent: 0xC9/0x239 */
    sw_done = 1;
}

/* io.cancel_not_completed */
static void ScFlowCancelNotCompleted(void *ctx)
{
    (void)ctx;
    if (!sc_load_io_driver())
        return;
    PIRP irp = sc_flow_ioctl(sc_dev, 0x222003, NULL); /* queued: StartIo keeps it */
    if (irp == NULL)
        return;
    (void)IoCallDriver(sc_dev, irp);
    (void)IoCancelIrp(irp); /* no cancel routine: the driver must notice Irp->Cancel */
    LARGE_INTEGER t;
    t.QuadPart = -3010000000LL; /* 301 s: past the 5 minutes */
    (void)KeDelayExecutionThread(KernelMode, FALSE, &t);
    irp->IoStatus.Status = STATUS_CANCELLED;
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    IoCompleteRequest(irp, IO_NO_INCREMENT); /* 0xC4/0x135 */
    KeLowerIrql(old);
    sw_done = 1;
}

/* io.iosb_unwound: a thread sends a request with its status block on its stack and ends */
static void ScFlowIssuer(PVOID ctx)
{
    (void)ctx;
    IO_STATUS_BLOCK iosb;
    PIRP irp =
        IoBuildDeviceIoControlRequest(0x222003, sc_dev, NULL, 0, NULL, 0, FALSE, NULL, &iosb);
    if (irp != NULL)
        (void)IoCallDriver(sc_dev, irp); /* queued: StartIo keeps it */
}

static void ScFlowIosbUnwound(void *ctx)
{
    (void)ctx;
    HANDLE h;
    if (!sc_load_io_driver() || !NT_SUCCESS(PsCreateSystemThread(&h, THREAD_ALL_ACCESS, NULL, NULL,
                                                                 NULL, ScFlowIssuer, NULL)))
        return;
    LARGE_INTEGER t;
    t.QuadPart = -10000; /* 1 ms: the thread has sent it and ended */
    (void)KeDelayExecutionThread(KernelMode, FALSE, &t);
    PIRP irp = sc_dev->CurrentIrp;
    if (irp != NULL) {
        irp->IoStatus.Status = STATUS_SUCCESS;
        KIRQL old;
        KeRaiseIrql(DISPATCH_LEVEL, &old);
        IoCompleteRequest(irp, IO_NO_INCREMENT); /* 0xC9/0x0C */
        KeLowerIrql(old);
    }
    (void)ZwClose(h);
    sw_done = 1;
}

/* io.status_overridden */
static void ScFlowStatusOverridden(void *ctx)
{
    (void)ctx;
    if (!sc_flow_load(SCF_SYNC_SUCCESS))
        return;
    KeInitializeEvent(&sc_flow_event, NotificationEvent, FALSE);
    PIRP irp = IoBuildSynchronousFsdRequest(IRP_MJ_READ, sc_flow_top, sc_flow_buf, 8, NULL,
                                            &sc_flow_event, &sc_flow_iosb);
    if (irp != NULL)
        (void)IoCallDriver(sc_flow_top, irp); /* sc_dev fails the read; the top "succeeds" */
    sw_done = 1;
}
/* area: irp-life */
/* io.reuse_not_allocated: IoReuseIrp of an IoBuildDeviceIoControlRequest IRP (0xC9/0x311); off
 * or a warning: the IRP is reused */
static void ScReuseNotAllocated(void *ctx)
{
    (void)ctx;
    KEVENT ev;
    IO_STATUS_BLOCK iosb;
    KeInitializeEvent(&ev, NotificationEvent, FALSE);
    if (!sc_load_io_driver())
        return;
    PIRP irp = IoBuildDeviceIoControlRequest(0x222000, sc_dev, NULL, 0, NULL, 0, FALSE, &ev, &iosb);
    if (irp == NULL)
        return;
    IoReuseIrp(irp, STATUS_CANCELLED);
    sw_done = irp->IoStatus.Status == STATUS_CANCELLED;
}

/* io.reuse_in_use: IoReuseIrp of an IRP its StartIo still has (0xC9/0x310); off or a warning:
 * the IRP is reused */
static void ScReuseInUse(void *ctx)
{
    (void)ctx;
    if (!sc_load_io_driver())
        return;
    PIRP irp = IoAllocateIrp(sc_dev->StackSize, FALSE);
    if (irp == NULL)
        return;
    PIO_STACK_LOCATION n = IoGetNextIrpStackLocation(irp);
    n->MajorFunction = IRP_MJ_DEVICE_CONTROL;
    n->Parameters.DeviceIoControl.IoControlCode = 0x222003; /* queued: stays CurrentIrp */
    IoSetCompletionRoutine(irp, ScTakeBack, NULL, TRUE, TRUE, TRUE);
    (void)IoCallDriver(sc_dev, irp);
    IoReuseIrp(irp, STATUS_CANCELLED);
    sw_done = irp->IoStatus.Status == STATUS_CANCELLED;
}

/* io.local_no_completion: an IoAllocateIrp IRP sent without a completion routine (a warning);
 * off: the lower driver completes it, and its maker frees it */
static void ScLocalNoCompletion(void *ctx)
{
    (void)ctx;
    if (!sc_load_io_driver())
        return;
    PIRP irp = IoAllocateIrp(sc_dev->StackSize, FALSE);
    if (irp == NULL)
        return;
    PIO_STACK_LOCATION n = IoGetNextIrpStackLocation(irp);
    n->MajorFunction = IRP_MJ_DEVICE_CONTROL;
    n->Parameters.DeviceIoControl.IoControlCode = 0x222000;
    n->Parameters.DeviceIoControl.OutputBufferLength = 8; /* it answers 8 bytes */
    sw_done = IoCallDriver(sc_dev, irp) == STATUS_SUCCESS;
    IoFreeIrp(irp);
}

/* io.build_bad_buffer: IoBuildDeviceIoControlRequest with 64 bytes of METHOD_OUT_DIRECT output
 * at NULL (0xC9/0x09); off or a warning: the builder returns NULL */
static void ScBuildBadBuffer(void *ctx)
{
    (void)ctx;
    KEVENT ev;
    IO_STATUS_BLOCK iosb;
    KeInitializeEvent(&ev, NotificationEvent, FALSE);
    if (!sc_load_io_driver())
        return;
    sw_done = IoBuildDeviceIoControlRequest(0x222002, sc_dev, NULL, 0, NULL, 64, FALSE, &ev,
                                            &iosb) == NULL;
}

/* io.build_event_set: the driver sets the event of its IoBuildDeviceIoControlRequest IRP itself
 * while the IRP is pending (code 0); off or a warning: the IRP completes */
static void ScBuildEventSet(void *ctx)
{
    (void)ctx;
    KEVENT ev;
    IO_STATUS_BLOCK iosb;
    KeInitializeEvent(&ev, NotificationEvent, FALSE);
    if (!sc_load_io_driver())
        return;
    PIRP irp = IoBuildDeviceIoControlRequest(0x222003, sc_dev, NULL, 0, NULL, 0, FALSE, &ev, &iosb);
    if (irp == NULL || IoCallDriver(sc_dev, irp) != STATUS_PENDING) /* StartIo keeps it */
        return;
    KeSetEvent(&ev, IO_NO_INCREMENT, FALSE);
    irp->IoStatus.Status = STATUS_SUCCESS; /* the device "finishes" */
    IoCompleteRequest(irp, IO_NO_INCREMENT);
    sw_done = iosb.Status == STATUS_SUCCESS;
}

/* A driver using IoSetCompletionRoutineEx on the IRPs it gets (sc_ex_mode): 0 sets it and
 * completes the IRP; 1 sets it with sc_dev (another driver's device) and sends the IRP there. */
static int sc_ex_mode;
static PDEVICE_OBJECT sc_exdev;

static NTSTATUS ScExRoutine(PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID Context)
{
    (void)DeviceObject;
    (void)Irp;
    (void)Context;
    return STATUS_CONTINUE_COMPLETION;
}

static NTSTATUS ScExDispatch(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    IoCopyCurrentIrpStackLocationToNext(Irp);
    PIO_STACK_LOCATION n = IoGetNextIrpStackLocation(Irp);
    n->MajorFunction = IRP_MJ_DEVICE_CONTROL;
    n->Parameters.DeviceIoControl.IoControlCode = 0x222000;
    n->Parameters.DeviceIoControl.OutputBufferLength = 8; /* sc_dev answers 8 bytes */
    if (!NT_SUCCESS(IoSetCompletionRoutineEx(sc_ex_mode == 1 ? sc_dev : DeviceObject, Irp,
                                             ScExRoutine, NULL, TRUE, TRUE, TRUE))) {
        Irp->IoStatus.Status = STATUS_INSUFFICIENT_RESOURCES;
        IoCompleteRequest(Irp, IO_NO_INCREMENT);
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    if (sc_ex_mode == 1)
        return IoCallDriver(sc_dev, Irp);
    Irp->IoStatus.Status = STATUS_SUCCESS;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
    return STATUS_SUCCESS;
}

static NTSTATUS ScExEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    (void)RegistryPath;
    DriverObject->MajorFunction[IRP_MJ_READ] = ScExDispatch;
    return IoCreateDevice(DriverObject, 0, NULL, FILE_DEVICE_UNKNOWN, 0, FALSE, &sc_exdev);
}

/* Send a read to the IoSetCompletionRoutineEx driver; its maker takes it back and frees it. */
static void sc_ex_run(int mode)
{
    PDRIVER_OBJECT drv;
    sc_ex_mode = mode;
    if (!sc_load_io_driver() ||
        !NT_SUCCESS(kdpc_driver_load(kdpc_current_machine(), "scex", ScExEntry, &drv)))
        return;
    PIRP irp = IoAllocateIrp(2, FALSE);
    if (irp == NULL)
        return;
    IoGetNextIrpStackLocation(irp)->MajorFunction = IRP_MJ_READ;
    IoSetCompletionRoutine(irp, ScTakeBack, NULL, TRUE, TRUE, TRUE);
    sw_done = IoCallDriver(sc_exdev, irp) == STATUS_SUCCESS;
    IoFreeIrp(irp);
}

/* A scenario entry running sc_ex_run with the scenario's arg as its mode. */
static void ScExScenario(void *ctx)
{
    sc_ex_run((int)(intptr_t)ctx);
}

/* the machine of io.completion_ex_unchecked */
static void ScLowResources(kdpc_config *cfg)
{
    cfg->low_resources_permille = 1000; /* every allocation fails while the class is on */
}

/* io.completion_ex_unchecked: an IoAllocateIrp IRP sent after IoSetCompletionRoutineEx failed on
 * it (0xC4/0x4100F); off or a warning: it goes down, comes back and is freed */
static void ScExUnchecked(void *ctx)
{
    (void)ctx;
    kdpc_machine *m = kdpc_current_machine();
    (void)kdpc_verifier_class_set(m, "low_resources", false);
    if (!sc_load_io_driver())
        return;
    PIRP irp = IoAllocateIrp(sc_dev->StackSize, FALSE);
    if (irp == NULL)
        return;
    PIO_STACK_LOCATION n = IoGetNextIrpStackLocation(irp);
    n->MajorFunction = IRP_MJ_DEVICE_CONTROL;
    n->Parameters.DeviceIoControl.IoControlCode = 0x222000;
    n->Parameters.DeviceIoControl.OutputBufferLength = 8;
    (void)kdpc_verifier_class_set(m, "low_resources", true);
    NTSTATUS st = IoSetCompletionRoutineEx(sc_dev, irp, ScTakeBack, NULL, TRUE, TRUE, TRUE);
    (void)kdpc_verifier_class_set(m, "low_resources", false);
    sw_done = !NT_SUCCESS(st) && IoCallDriver(sc_dev, irp) == STATUS_SUCCESS;
    IoFreeIrp(irp);
}

/* area: pnp */
/* One PnP driver ("scpnp") breaks one rule per mode; the entry plugs its device, may send it
 * an IRP, then unplugs it. Off or a warning: the stack goes on as a free kernel would. */
enum {
    SCP_IRP_INIT,
    SCP_SYSTEM_IRP,
    SCP_IRP_STATUS,
    SCP_NOT_PASSED_DOWN,
    SCP_SURPRISE_DELETE,
    SCP_DELETE_EARLY,
    SCP_REMOVE_NOT_DELETED,
    SCP_ADDDEVICE_INIT,
    SCP_ATTACH_FLAGS,
    SCP_NOT_PDO,
    SCP_NO_DISPATCH,
    SCP_WMI_NOT_FORWARDED,
    SCP_WMI_REGISTERED
};
static int scp_mode;
static PDEVICE_OBJECT scp_lower, scp_fdo, scp_pdo;

static NTSTATUS ScpPnp(PDEVICE_OBJECT dev, PIRP irp)
{
    UCHAR minor = IoGetCurrentIrpStackLocation(irp)->MinorFunction;
    PDEVICE_OBJECT lower = scp_lower;
    if (minor == IRP_MN_QUERY_REMOVE_DEVICE && scp_mode == SCP_NOT_PASSED_DOWN) {
        irp->IoStatus.Status = STATUS_SUCCESS; /* completed, never passed down */
        IoCompleteRequest(irp, IO_NO_INCREMENT);
        return STATUS_SUCCESS;
    }
    if (minor != IRP_MN_START_DEVICE && minor != IRP_MN_CANCEL_REMOVE_DEVICE &&
        minor != IRP_MN_CANCEL_STOP_DEVICE &&
        !(minor == IRP_MN_QUERY_REMOVE_DEVICE && scp_mode == SCP_IRP_STATUS))
        irp->IoStatus.Status = STATUS_SUCCESS;
    if (minor == IRP_MN_REMOVE_DEVICE && scp_mode == SCP_DELETE_EARLY) {
        IoDetachDevice(lower);
        IoDeleteDevice(dev); /* before the IRP went down */
        IoSkipCurrentIrpStackLocation(irp);
        return IoCallDriver(lower, irp);
    }
    IoSkipCurrentIrpStackLocation(irp);
    NTSTATUS st = IoCallDriver(lower, irp);
    if (minor == IRP_MN_SURPRISE_REMOVAL && scp_mode == SCP_SURPRISE_DELETE)
        IoDetachDevice(lower); /* waits for IRP_MN_REMOVE_DEVICE */
    if (minor == IRP_MN_REMOVE_DEVICE && scp_mode != SCP_REMOVE_NOT_DELETED) {
        if (lower->AttachedDevice == dev)
            IoDetachDevice(lower);
        IoDeleteDevice(dev); /* SCP_WMI_REGISTERED: never deregistered */
    }
    return st;
}

static NTSTATUS ScpSystemControl(PDEVICE_OBJECT dev, PIRP irp)
{
    (void)dev;
    NTSTATUS st = irp->IoStatus.Status;
    IoCompleteRequest(irp, IO_NO_INCREMENT); /* SCP_WMI_NOT_FORWARDED: another provider's */
    return st;
}

static NTSTATUS ScpAdd(PDRIVER_OBJECT drv, PDEVICE_OBJECT pdo)
{
    NTSTATUS st = IoCreateDevice(drv, 0, NULL, FILE_DEVICE_UNKNOWN, 0, FALSE, &scp_fdo);
    if (!NT_SUCCESS(st))
        return st;
    scp_pdo = pdo;
    scp_lower = IoAttachDeviceToDeviceStack(scp_fdo, pdo);
    if (scp_mode == SCP_ATTACH_FLAGS)
        scp_fdo->Flags |= DO_BUFFERED_IO | DO_DIRECT_IO;
    if (scp_mode == SCP_WMI_REGISTERED)
        (void)IoWMIRegistrationControl(scp_fdo, WMIREG_ACTION_REGISTER);
    if (scp_mode == SCP_NOT_PDO) {
        HANDLE h;
        if (NT_SUCCESS(IoOpenDeviceRegistryKey(scp_fdo, PLUGPLAY_REGKEY_DEVICE, KEY_READ, &h)))
            (void)ZwClose(h);
    }
    if (scp_mode != SCP_ADDDEVICE_INIT)
        scp_fdo->Flags &= ~(ULONG)DO_DEVICE_INITIALIZING;
    return STATUS_SUCCESS;
}

static NTSTATUS ScpEntry(PDRIVER_OBJECT drv, PUNICODE_STRING path)
{
    (void)path;
    drv->DriverExtension->AddDevice = ScpAdd;
    drv->MajorFunction[IRP_MJ_PNP] = ScpPnp;
    drv->MajorFunction[IRP_MJ_SYSTEM_CONTROL] = ScpSystemControl;
    return STATUS_SUCCESS;
}

static NTSTATUS ScpSent(PDEVICE_OBJECT dev, PIRP irp, PVOID ctx)
{
    (void)dev;
    (void)ctx;
    IoFreeIrp(irp);
    return STATUS_MORE_PROCESSING_REQUIRED;
}

/* The entry sends the top of the stack one IRP of its own. */
static void ScpSend(UCHAR major, UCHAR minor, NTSTATUS status)
{
    PIRP irp = IoAllocateIrp(scp_fdo->StackSize, FALSE);
    if (irp == NULL)
        return;
    irp->IoStatus.Status = status;
    PIO_STACK_LOCATION s = IoGetNextIrpStackLocation(irp);
    s->MajorFunction = major;
    s->MinorFunction = minor;
    if (major == IRP_MJ_SYSTEM_CONTROL)
        s->Parameters.WMI.ProviderId = (ULONG_PTR)scp_pdo;
    IoSetCompletionRoutine(irp, ScpSent, NULL, TRUE, TRUE, TRUE);
    (void)IoCallDriver(scp_fdo, irp);
}

static void ScPnpRun(int mode)
{
    scp_mode = mode;
    kdpc_device *dev = sc_plug("scpnp", ScpEntry, "scpnp0");
    if (dev == NULL)
        return;
    if (mode == SCP_IRP_INIT)
        ScpSend(IRP_MJ_PNP, IRP_MN_QUERY_PNP_DEVICE_STATE, STATUS_SUCCESS);
    if (mode == SCP_SYSTEM_IRP)
        ScpSend(IRP_MJ_PNP, IRP_MN_QUERY_STOP_DEVICE, STATUS_NOT_SUPPORTED);
    if (mode == SCP_WMI_NOT_FORWARDED)
        ScpSend(IRP_MJ_SYSTEM_CONTROL, IRP_MN_QUERY_ALL_DATA, STATUS_NOT_SUPPORTED);
    if (mode == SCP_NO_DISPATCH) /* scpnp has no IRP_MJ_POWER routine */
        ScpSend(IRP_MJ_POWER, IRP_MN_QUERY_POWER, STATUS_NOT_SUPPORTED);
    kdpc_unplug_how how = mode == SCP_SURPRISE_DELETE ? KDPC_UNPLUG_SURPRISE : KDPC_UNPLUG_ORDERLY;
    sw_done = kdpc_device_unplug(dev, how) == KDPC_OK;
}

/* A scenario entry running ScPnpRun with the scenario's arg as its mode. */
static void ScPnpScenario(void *ctx)
{
    ScPnpRun((int)(intptr_t)ctx);
}

/* area: pool */
/* mem.zero_alloc: a zero-byte allocation (0xC4/0x00); off or a warning: a block comes back */
static void ScMemZeroAlloc(void *ctx)
{
    (void)ctx;
    PVOID p = ExAllocatePoolWithTag(NonPagedPoolNx, 0, 'wsTx');
    if (p != NULL)
        ExFreePoolWithTag(p, 'wsTx');
    sw_done = 1;
}

/* mem.bad_free: a double free (0xC4/0x13); off or a warning: the kernel's own 0xC2/0x07 */
static void ScMemBadFree(void *ctx)
{
    (void)ctx;
    PVOID p = ExAllocatePoolWithTag(NonPagedPoolNx, 32, 'wsTx');
    ExFreePoolWithTag(p, 'wsTx');
    ExFreePoolWithTag(p, 'wsTx');
    sw_done = 1;
}

/* mem.overrun: one byte written past a block, seen at its free (0xC1/0x24); pool tracking is
 * turned off so that off means unchecked; off or a warning: the block is freed */
static void ScMemOverrun(void *ctx)
{
    (void)ctx;
    (void)kdpc_verifier_class_set(kdpc_current_machine(), "pool_tracking", false);
    PUCHAR p = ExAllocatePoolWithTag(NonPagedPoolNx, 10, 'wsTx');
    p[10] = 1;
    ExFreePoolWithTag(p, 'wsTx');
    sw_done = 1;
}

/* mem.overrun_tracked: the same with special pool off (0xC4/0x51) */
static void ScMemOverrunTracked(void *ctx)
{
    (void)ctx;
    (void)kdpc_verifier_class_set(kdpc_current_machine(), "special_pool", false);
    PUCHAR p = ExAllocatePoolWithTag(PagedPool, 10, 'wsTx');
    p[10] = 1;
    ExFreePoolWithTag(p, 'wsTx');
    sw_done = 1;
}

/* mem.leak: a driver unloads owning a block DriverEntry allocated (0xC4/0x62); off or a
 * warning: the block stays until the machine goes */
static void ScLeakUnload(PDRIVER_OBJECT DriverObject)
{
    (void)DriverObject;
}

static NTSTATUS ScLeakEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    (void)RegistryPath;
    DriverObject->DriverUnload = ScLeakUnload;
    return ExAllocatePoolWithTag(NonPagedPoolNx, 64, 'wsTx') != NULL ? STATUS_SUCCESS
                                                                     : STATUS_NO_MEMORY;
}

static void ScMemLeak(void *ctx)
{
    (void)ctx;
    PDRIVER_OBJECT drv;
    if (!NT_SUCCESS(kdpc_driver_load(kdpc_current_machine(), "scleak", ScLeakEntry, &drv)))
        return;
    (void)kdpc_driver_unload(drv);
    sw_done = 1;
}

/* mem.alloc_unloaded: a thread the driver left running allocates after its unload (0xC4/0x61);
 * off or a warning: the block is handed out */
static KEVENT sc_late_done;

static void ScLateThread(PVOID Context)
{
    (void)Context;
    LARGE_INTEGER ms = {.QuadPart = -10000};
    (void)KeDelayExecutionThread(KernelMode, FALSE, &ms);
    PVOID b = ExAllocatePoolWithTag(NonPagedPoolNx, 24, 'wsTx');
    if (b != NULL)
        ExFreePoolWithTag(b, 'wsTx');
    (void)KeSetEvent(&sc_late_done, IO_NO_INCREMENT, FALSE);
}

static NTSTATUS ScLateEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    (void)RegistryPath;
    DriverObject->DriverUnload = ScLeakUnload;
    KeInitializeEvent(&sc_late_done, NotificationEvent, FALSE);
    HANDLE h;
    NTSTATUS st = PsCreateSystemThread(&h, THREAD_ALL_ACCESS, NULL, NULL, NULL, ScLateThread, NULL);
    if (NT_SUCCESS(st))
        (void)ZwClose(h);
    return st;
}

static void ScAllocUnloaded(void *ctx)
{
    (void)ctx;
    PDRIVER_OBJECT drv;
    if (!NT_SUCCESS(kdpc_driver_load(kdpc_current_machine(), "sclate", ScLateEntry, &drv)))
        return;
    (void)kdpc_driver_unload(drv);
    (void)KeWaitForSingleObject(&sc_late_done, Executive, KernelMode, FALSE, NULL);
    sw_done = 1;
}

/* lookaside.misuse: a lookaside list initialised twice (0xC4/0xCA); off or a warning: the
 * second initialisation goes ahead */
static void ScLookasideMisuse(void *ctx)
{
    (void)ctx;
    static NPAGED_LOOKASIDE_LIST la;
    ExInitializeNPagedLookasideList(&la, NULL, NULL, 0, 64, 'wsTx', 0);
    ExInitializeNPagedLookasideList(&la, NULL, NULL, 0, 64, 'wsTx', 0);
    ExDeleteNPagedLookasideList(&la);
    sw_done = 1;
}

/* mm.mdl_flags: MmUnlockPages on an MDL never locked (0xC4/0x7C); off or a warning: the flag is
 * cleared */
static void ScMdlFlags(void *ctx)
{
    (void)ctx;
    static UCHAR buf[64];
    PMDL mdl = IoAllocateMdl(buf, sizeof(buf), FALSE, FALSE, NULL);
    if (mdl == NULL)
        return;
    MmUnlockPages(mdl);
    IoFreeMdl(mdl);
    sw_done = 1;
}

/* mem.paged_object: an event in paged pool set (0xC4/0xE1); off or a warning: it is set */
static void ScPagedObject(void *ctx)
{
    (void)ctx;
    PKEVENT e = ExAllocatePoolWithTag(PagedPool, sizeof(KEVENT), 'wsTx');
    KeInitializeEvent(e, NotificationEvent, FALSE);
    (void)KeSetEvent(e, IO_NO_INCREMENT, FALSE);
    sw_observed = (int)KeReadStateEvent(e);
    ExFreePoolWithTag(e, 'wsTx');
    sw_done = 1;
}

/* rtl.copy_overlap: RtlCopyMemory over overlapping buffers (0xC4/0xF0); off or a warning: copied
 * as RtlMoveMemory does */
static void ScCopyOverlap(void *ctx)
{
    (void)ctx;
    UCHAR buf[16] = {1, 2, 3, 4, 5, 6, 7, 8};
    RtlCopyMemory(buf, buf + 1, 7);
    sw_observed = buf[0];
    sw_done = 1;
}

/* area: dma */
/* dma.* rules of DMA verification: sc_dev's adapter (sc_adapter) misused once each */
static PSCATTER_GATHER_LIST sc_dv_sg;

static VOID ScDvList(PDEVICE_OBJECT DeviceObject, PIRP Irp, PSCATTER_GATHER_LIST Sg, PVOID Context)
{
    (void)DeviceObject;
    (void)Irp;
    (void)Context;
    sc_dv_sg = Sg;
}

/* GetScatterGatherList of sc_dma_buf[off, off + len) (the MDL built for the whole buffer unless
 * @unlocked), put back at once when a list came. */
static NTSTATUS sc_dv_get_list(ULONG off, ULONG len, bool unlocked)
{
    if (!sc_load_io_driver())
        return STATUS_UNSUCCESSFUL;
    PDMA_ADAPTER a = sc_adapter();
    PMDL mdl = IoAllocateMdl(sc_dma_buf, sizeof(sc_dma_buf), FALSE, FALSE, NULL);
    if (a == NULL || mdl == NULL)
        return STATUS_UNSUCCESSFUL;
    if (!unlocked)
        MmBuildMdlForNonPagedPool(mdl);
    sc_dv_sg = NULL;
    KIRQL old = KeRaiseIrqlToDpcLevel();
    NTSTATUS st = a->DmaOperations->GetScatterGatherList(
        a, sc_dev, mdl, (PUCHAR)MmGetMdlVirtualAddress(mdl) + off, len, ScDvList, NULL, FALSE);
    if (sc_dv_sg != NULL)
        a->DmaOperations->PutScatterGatherList(a, sc_dv_sg, FALSE);
    KeLowerIrql(old);
    IoFreeMdl(mdl);
    a->DmaOperations->PutDmaAdapter(a);
    return st;
}

static void ScDmaIrql(void *ctx)
{
    (void)ctx;
    if (!sc_load_io_driver())
        return;
    PDMA_ADAPTER a = sc_adapter();
    PHYSICAL_ADDRESS la;
    KIRQL old = KeRaiseIrqlToDpcLevel();
    PVOID va = a->DmaOperations->AllocateCommonBuffer(a, 64, &la, FALSE); /* PASSIVE_LEVEL only */
    KeLowerIrql(old);
    if (va != NULL)
        a->DmaOperations->FreeCommonBuffer(a, 64, la, va, FALSE);
    a->DmaOperations->PutDmaAdapter(a);
    sw_done = 1;
}

static void ScDmaNullAdapter(void *ctx)
{
    (void)ctx;
    if (!sc_load_io_driver())
        return;
    PDMA_ADAPTER a = sc_adapter();
    KIRQL old = KeRaiseIrqlToDpcLevel();
    a->DmaOperations->FreeAdapterChannel(NULL); /* 0xE6/0x19 */
    KeLowerIrql(old);
    a->DmaOperations->PutDmaAdapter(a);
    sw_done = 1;
}

static void ScDmaAdapterReleased(void *ctx)
{
    (void)ctx;
    if (!sc_load_io_driver())
        return;
    PDMA_ADAPTER a = sc_adapter();
    a->DmaOperations->PutDmaAdapter(a);
    PHYSICAL_ADDRESS la;
    /* released: 0xE6/0x18; off, nothing is allocated */
    sw_done = a->DmaOperations->AllocateCommonBuffer(a, 64, &la, FALSE) == NULL;
}

static void ScDmaPutOutstanding(void *ctx)
{
    (void)ctx;
    if (!sc_load_io_driver())
        return;
    PDMA_ADAPTER a = sc_adapter();
    PHYSICAL_ADDRESS la;
    PVOID va = a->DmaOperations->AllocateCommonBuffer(a, 64, &la, FALSE);
    a->DmaOperations->PutDmaAdapter(a); /* the common buffer is still allocated: 0xE6/0x07 */
    sw_done = va != NULL;
}

static void ScDmaSecondChannel(void *ctx)
{
    (void)ctx;
    PDMA_ADAPTER a = NULL;
    PIRP irp = sc_dma_start(&a, false);
    if (irp == NULL)
        return;
    KIRQL old = KeRaiseIrqlToDpcLevel();
    /* sc_dev still holds the channel: 0xE6/0x0B; off, the request waits for it */
    (void)a->DmaOperations->AllocateAdapterChannel(a, sc_dev, 1, ScKeepChannel, a);
    a->DmaOperations->FreeAdapterChannel(a); /* the waiting request gets the channel */
    a->DmaOperations->FreeAdapterChannel(a);
    KeLowerIrql(old);
    IoCompleteRequest(irp, IO_NO_INCREMENT);
    sc_dma_end(a, irp);
    sw_done = 1;
}

static void ScDmaTooManyMapRegisters(void *ctx)
{
    (void)ctx;
    if (!sc_load_io_driver())
        return;
    PDMA_ADAPTER a = sc_adapter(); /* 2 map registers */
    KIRQL old = KeRaiseIrqlToDpcLevel();
    NTSTATUS st = a->DmaOperations->AllocateAdapterChannel(a, sc_dev, 3, ScKeepChannel, a);
    KeLowerIrql(old);
    a->DmaOperations->PutDmaAdapter(a);
    sw_done = st == STATUS_INSUFFICIENT_RESOURCES; /* off: the free kernel's answer */
}

static void ScDmaUnlockedBuffer(void *ctx)
{
    (void)ctx;
    /* an MDL never locked: 0xE6/0x0E; off, the list is made (kdpc's memory is resident) */
    sw_done = sc_dv_get_list(0, 16, true) == STATUS_SUCCESS;
}

static void ScDmaBufferOverrun(void *ctx)
{
    (void)ctx;
    if (!sc_load_io_driver())
        return;
    PDMA_ADAPTER a = sc_adapter();
    PHYSICAL_ADDRESS la;
    PUCHAR va = a->DmaOperations->AllocateCommonBuffer(a, 64, &la, FALSE);
    if (va == NULL)
        return;
    va[64] = 1;                                               /* one byte past its end */
    a->DmaOperations->FreeCommonBuffer(a, 64, la, va, FALSE); /* 0xE6/0x0F */
    a->DmaOperations->PutDmaAdapter(a);
    sw_done = 1;
}

static void ScDmaOutsideMdl(void *ctx)
{
    (void)ctx;
    /* an address past the end of the MDL: 0xE6/0x1B; off, STATUS_INVALID_PARAMETER */
    sw_done = sc_dv_get_list(sizeof(sc_dma_buf), 16, false) == STATUS_INVALID_PARAMETER;
}

static void ScDmaZeroLength(void *ctx)
{
    (void)ctx;
    /* nothing to map: 0xE6/0x21; off, STATUS_INVALID_PARAMETER */
    sw_done = sc_dv_get_list(0, 0, false) == STATUS_INVALID_PARAMETER;
}

static void ScDmaDoubleMap(void *ctx)
{
    (void)ctx;
    PDMA_ADAPTER a = NULL;
    PIRP irp = sc_dma_start(&a, true); /* ScKeepChannel mapped sc_dma_buf */
    if (irp == NULL)
        return;
    KIRQL old = KeRaiseIrqlToDpcLevel();
    ULONG len = sizeof(sc_dma_buf);
    PVOID va = MmGetMdlVirtualAddress(sc_dma_mdl);
    (void)a->DmaOperations->MapTransfer(a, sc_dma_mdl, sc_dma_base, va, &len, FALSE); /* 0x1D */
    (void)a->DmaOperations->FlushAdapterBuffers(a, sc_dma_mdl, sc_dma_base, va, len, FALSE);
    (void)a->DmaOperations->FlushAdapterBuffers(a, sc_dma_mdl, sc_dma_base, va, len, FALSE);
    a->DmaOperations->FreeAdapterChannel(a);
    KeLowerIrql(old);
    IoCompleteRequest(irp, IO_NO_INCREMENT);
    sc_dma_end(a, irp);
    sw_done = 1;
}

static void ScDmaFlushUnmapped(void *ctx)
{
    (void)ctx;
    PDMA_ADAPTER a = NULL;
    PIRP irp = sc_dma_start(&a, false); /* nothing mapped */
    if (irp == NULL)
        return;
    KIRQL old = KeRaiseIrqlToDpcLevel();
    BOOLEAN ok = a->DmaOperations->FlushAdapterBuffers(a, NULL, sc_dma_base, sc_dma_buf, 16,
                                                       FALSE); /* 0xE6/0x20 */
    a->DmaOperations->FreeAdapterChannel(a);
    KeLowerIrql(old);
    IoCompleteRequest(irp, IO_NO_INCREMENT);
    sc_dma_end(a, irp);
    sw_done = !ok;
}

static UCHAR sc_dv_tc[DMA_TRANSFER_CONTEXT_SIZE_V1];

static VOID ScDvDmaDone(PDMA_ADAPTER DmaAdapter, PDEVICE_OBJECT DeviceObject,
                        PVOID CompletionContext, DMA_COMPLETION_STATUS Status)
{
    (void)DmaAdapter;
    (void)DeviceObject;
    (void)CompletionContext;
    sw_observed = (int)Status;
}

static void ScDmaChannelFlush(void *ctx)
{
    (void)ctx;
    if (!sc_load_io_driver())
        return;
    DEVICE_DESCRIPTION dd = {0};
    dd.Version = DEVICE_DESCRIPTION_VERSION3;
    dd.InterfaceType = Isa;
    dd.DmaChannel = 2;
    dd.DmaWidth = Width8Bits;
    dd.MaximumLength = PAGE_SIZE;
    ULONG regs = 0;
    PDMA_ADAPTER a = IoGetDmaAdapter(sc_dev, &dd, &regs); /* system DMA */
    PMDL mdl = IoAllocateMdl(sc_dma_buf, sizeof(sc_dma_buf), FALSE, FALSE, NULL);
    if (a == NULL || mdl == NULL)
        return;
    MmBuildMdlForNonPagedPool(mdl);
    PDMA_OPERATIONS ops = a->DmaOperations;
    PVOID base = NULL;
    KIRQL old = KeRaiseIrqlToDpcLevel();
    (void)ops->InitializeDmaTransferContext(a, sc_dv_tc);
    (void)ops->AllocateAdapterChannelEx(a, sc_dev, sc_dv_tc, 1, DMA_SYNCHRONOUS_CALLBACK, NULL,
                                        NULL, &base);
    ULONG len = sizeof(sc_dma_buf);
    (void)ops->MapTransferEx(a, mdl, base, 0, 0, &len, FALSE, NULL, 0, ScDvDmaDone, NULL);
    /* the transfer runs until the completion DPC: 0xE6/0x23; off, it ends cancelled */
    (void)ops->FlushAdapterBuffersEx(a, mdl, base, 0, len, FALSE);
    ops->FreeAdapterObject(a, DeallocateObject);
    KeLowerIrql(old);
    IoFreeMdl(mdl);
    ops->PutDmaAdapter(a);
    sw_done = 1;
}

static void ScDmaAdapterNotPut(void *ctx)
{
    (void)ctx;
    if (!sc_load_io_driver())
        return;
    PDMA_ADAPTER a = sc_adapter();
    IoDeleteDevice(sc_dev); /* its adapter never put back: 0xE6/0x11 */
    sc_dev = NULL;
    sw_done = a != NULL;
}

static void ScDmaBadDescription(void *ctx)
{
    (void)ctx;
    if (!sc_load_io_driver())
        return;
    DEVICE_DESCRIPTION dd = {0};
    dd.Version = DEVICE_DESCRIPTION_VERSION3 + 1; /* 0xE6/0x25 */
    dd.Master = TRUE;
    dd.InterfaceType = PCIBus;
    dd.MaximumLength = PAGE_SIZE;
    ULONG regs = 0;
    sw_done = IoGetDmaAdapter(sc_dev, &dd, &regs) == NULL; /* off: no adapter */
}
/* area: locks */
static FAST_MUTEX sw_locks_fm;

/* spinlock.release_new_irql */
static void ScLocksReleaseNewIrql(void *ctx)
{
    (void)ctx;
    KIRQL old;
    KeAcquireSpinLock(&sw_lock_a, &old);
    KeReleaseSpinLock(&sw_lock_a, APC_LEVEL); /* free kernel: IRQL := NewIrql */
    KeLowerIrql(PASSIVE_LEVEL);
    sw_done = 1;
}

/* lock.recursive */
static void ScLocksRecursive(void *ctx)
{
    (void)ctx;
    ExInitializeFastMutex(&sw_locks_fm);
    ExAcquireFastMutex(&sw_locks_fm);
    ExAcquireFastMutex(&sw_locks_fm); /* free kernel: waits on itself forever */
    sw_done = 1;
}

/* lock.reinit_held */
static void ScLocksReinitHeld(void *ctx)
{
    (void)ctx;
    KIRQL old;
    KeAcquireSpinLock(&sw_lock_a, &old);
    KeInitializeSpinLock(&sw_lock_a);
    KeReleaseSpinLock(&sw_lock_a, old);
    sw_done = 1;
}

/* lock.freed_held */
static void ScLocksFreedHeld(void *ctx)
{
    (void)ctx;
    KIRQL old;
    PKSPIN_LOCK lock = ExAllocatePoolWithTag(NonPagedPoolNx, sizeof(KSPIN_LOCK), 'kcoL');
    if (lock == NULL)
        return;
    KeInitializeSpinLock(lock);
    KeAcquireSpinLock(lock, &old);
    ExFreePoolWithTag(lock, 'kcoL'); /* off: the lock goes with its memory */
    KeLowerIrql(old);
    sw_done = 1;
}

/* lock.critical_leave */
static void ScLocksCriticalLeave(void *ctx)
{
    (void)ctx;
    KeLeaveCriticalRegion(); /* off: nothing to leave, nothing done */
    sw_done = 1;
}

/* lock.guarded_leave */
static void ScLocksGuardedLeave(void *ctx)
{
    (void)ctx;
    KeLeaveGuardedRegion();
    sw_done = 1;
}

/* irql.lower_unmatched: a warning by default (an SDV rule: Windows goes on) */
static void ScLocksLowerUnmatched(void *ctx)
{
    (void)ctx;
    KIRQL old;
    KeAcquireSpinLock(&sw_lock_a, &old);
    KeReleaseSpinLockFromDpcLevel(&sw_lock_a);
    KeLowerIrql(old); /* no KeRaiseIrql to pair with */
    sw_done = 1;
}

/* lock.release_order */
static void ScLocksReleaseOrder(void *ctx)
{
    (void)ctx;
    KIRQL old, old_a, old_b;
    KeAcquireSpinLock(&sw_lock_a, &old_a);
    KeAcquireSpinLock(&sw_lock_b, &old_b);
    KeReleaseSpinLock(&sw_lock_a, old_a); /* b first; off: released, IRQL back to PASSIVE */
    KeRaiseIrql(DISPATCH_LEVEL, &old);    /* off: b is released at DISPATCH_LEVEL */
    KeReleaseSpinLock(&sw_lock_b, old_b);
    KeLowerIrql(old);
    sw_done = 1;
}

/* irql.lower_other: a warning by default */
static void ScLocksLowerOther(void *ctx)
{
    (void)ctx;
    KIRQL old, old2;
    KeRaiseIrql(APC_LEVEL, &old);
    KeRaiseIrql(DISPATCH_LEVEL, &old2);
    KeLowerIrql(old); /* the inner raise saved APC_LEVEL */
    sw_done = 1;
}
/* area: power */
/* One PnP driver ("scpow") keeping a remove lock in its FDO's extension; scw_mode (the row's
 * arg) picks the rule it breaks: 0 none, 1 waits on QUERY_REMOVE, 2 REMOVE without the wait,
 * 3 the query-power failed and passed down, 4 the query-power answered by the FDO, 5 the FDO
 * without DO_POWER_PAGABLE, 6 the power IRPs' lock never released, 7 never acquired. */
static PDEVICE_OBJECT scw_fdo, scw_lower;
static int scw_mode;

static NTSTATUS ScwPnp(PDEVICE_OBJECT dev, PIRP irp)
{
    UCHAR minor = IoGetCurrentIrpStackLocation(irp)->MinorFunction;
    PIO_REMOVE_LOCK lock = dev->DeviceExtension;
    /* after a wait on QUERY_REMOVE (rule off) the remove comes with the lock gone */
    bool held = NT_SUCCESS(IoAcquireRemoveLock(lock, irp));
    if (!held && minor != IRP_MN_REMOVE_DEVICE) {
        irp->IoStatus.Status = STATUS_DELETE_PENDING;
        IoCompleteRequest(irp, IO_NO_INCREMENT);
        return STATUS_DELETE_PENDING;
    }
    if (minor == IRP_MN_QUERY_REMOVE_DEVICE || minor == IRP_MN_REMOVE_DEVICE)
        irp->IoStatus.Status = STATUS_SUCCESS;
    IoSkipCurrentIrpStackLocation(irp);
    NTSTATUS st = IoCallDriver(scw_lower, irp);
    bool wait = minor == IRP_MN_REMOVE_DEVICE
                    ? scw_mode != 2
                    : minor == IRP_MN_QUERY_REMOVE_DEVICE && scw_mode == 1;
    if (held && wait)
        IoReleaseRemoveLockAndWait(lock, irp);
    else if (held)
        IoReleaseRemoveLock(lock, irp);
    if (minor == IRP_MN_REMOVE_DEVICE) {
        IoDetachDevice(scw_lower);
        IoDeleteDevice(dev);
    }
    return st;
}

static NTSTATUS ScwPower(PDEVICE_OBJECT dev, PIRP irp)
{
    PIO_REMOVE_LOCK lock = dev->DeviceExtension;
    /* mode 7: removelock.forward_unheld (never acquired); mode 6: held_on_return (never
     * released) */
    bool held = scw_mode != 7 && NT_SUCCESS(IoAcquireRemoveLock(lock, irp));
    bool release = held && scw_mode != 6;
    PoStartNextPowerIrp(irp);
    if (IoGetCurrentIrpStackLocation(irp)->MinorFunction == IRP_MN_QUERY_POWER) {
        if (scw_mode == 3) /* power.irp_status: failed and passed down */
            irp->IoStatus.Status = STATUS_UNSUCCESSFUL;
        if (scw_mode == 4) { /* power.not_passed_down: answered here */
            irp->IoStatus.Status = STATUS_SUCCESS;
            IoCompleteRequest(irp, IO_NO_INCREMENT);
            if (release)
                IoReleaseRemoveLock(lock, irp);
            return STATUS_SUCCESS;
        }
    }
    IoSkipCurrentIrpStackLocation(irp);
    NTSTATUS st = PoCallDriver(scw_lower, irp);
    if (release)
        IoReleaseRemoveLock(lock, irp);
    return st;
}

static NTSTATUS ScwAdd(PDRIVER_OBJECT drv, PDEVICE_OBJECT pdo)
{
    /* the lock lives in the extension: its delete is what removelock.delete_unwaited sees */
    NTSTATUS st =
        IoCreateDevice(drv, sizeof(IO_REMOVE_LOCK), NULL, FILE_DEVICE_UNKNOWN, 0, FALSE, &scw_fdo);
    if (!NT_SUCCESS(st))
        return st;
    pdo->Flags |= DO_POWER_PAGABLE;
    scw_lower = IoAttachDeviceToDeviceStack(scw_fdo, pdo);
    if (scw_mode != 5) /* power.pagable_not_inherited */
        scw_fdo->Flags |= DO_POWER_PAGABLE;
    IoInitializeRemoveLock((PIO_REMOVE_LOCK)scw_fdo->DeviceExtension, 'wscp', 0, 0);
    scw_fdo->Flags &= ~(ULONG)DO_DEVICE_INITIALIZING;
    return STATUS_SUCCESS;
}

static NTSTATUS ScwEntry(PDRIVER_OBJECT drv, PUNICODE_STRING path)
{
    (void)path;
    drv->DriverExtension->AddDevice = ScwAdd;
    drv->MajorFunction[IRP_MJ_PNP] = ScwPnp;
    drv->MajorFunction[IRP_MJ_POWER] = ScwPower;
    return STATUS_SUCCESS;
}

static void ScwRun(int mode)
{
    scw_mode = mode;
    kdpc_machine *m = kdpc_current_machine();
    kdpc_device *dev = sc_plug("scpow", ScwEntry, "scpow0");
    if (dev == NULL)
        return;
    if (mode >= 3) {
        (void)kdpc_power_set_system(m, PowerSystemSleeping3);
        (void)kdpc_power_set_system(m, PowerSystemWorking);
    }
    sw_done = kdpc_device_unplug(dev, KDPC_UNPLUG_ORDERLY) == KDPC_OK &&
              kdpc_device_get_state(dev) == KDPC_DEVICE_REMOVED;
}

/* A scenario entry running ScwRun with the scenario's arg as its mode. */
static void ScwScenario(void *ctx)
{
    ScwRun((int)(intptr_t)ctx);
}

/* power.requested_irp: PoRequestPowerIrp(IRP_MN_SET_POWER) with an Irp out-pointer
 * (0xC4/0x4100B); off or a warning: the IRP is sent and its address written */
static void ScPowerRequestedIrp(void *ctx)
{
    (void)ctx;
    scw_mode = 0;
    if (sc_plug("scpow", ScwEntry, "scpow0") == NULL)
        return;
    POWER_STATE ps;
    ps.DeviceState = PowerDeviceD0;
    PIRP out = NULL;
    NTSTATUS st = PoRequestPowerIrp(scw_fdo, IRP_MN_SET_POWER, ps, NULL, NULL, &out);
    sw_done = st == STATUS_PENDING && out != NULL;
}

typedef struct scenario {
    const char *rule;
    kdpc_entry_fn *entry;
    unsigned cpus;
    void (*tweak)(kdpc_config *cfg);
    kdpc_status free_status; /* outcome with the rule off or a warning */
    int observed;            /* IRQL a free kernel shows (sw_observed), or -1 */
    int observed2;
    intptr_t arg; /* the entry's ctx: the mode of a shared scenario routine, else 0 */
} scenario;

static scenario scenarios[] = {
    {"irql.raise_lower", ScRaiseLower, 1, NULL, KDPC_OK, APC_LEVEL, -1, 0},
    {"irql.lower_raise", ScLowerRaise, 1, NULL, KDPC_OK, DISPATCH_LEVEL, -1, 0},
    {"irql.invalid", ScInvalid, 1, NULL, KDPC_OK, -1, -1, 0},
    {"spinlock.acquire_irql", ScAcquireIrql, 1, NULL, KDPC_OK, DISPATCH_LEVEL, 5, 0},
    {"spinlock.dpc_acquire_irql", ScDpcAcquireIrql, 1, NULL, KDPC_OK, PASSIVE_LEVEL, -1, 0},
    {"spinlock.dpc_release_irql", ScDpcReleaseIrql, 1, NULL, KDPC_OK, -1, -1, 0},
    {"spinlock.release_irql", ScReleaseIrql, 1, NULL, KDPC_OK, PASSIVE_LEVEL, -1, 0},
    {"spinlock.recursive", ScRecursive, 1, NULL, KDPC_DEADLOCK, -1, -1, 0},
    {"spinlock.not_owned", ScNotOwned, 1, NULL, KDPC_OK, -1, -1, 0},
    {"spinlock.order", ScOrder, 1, NULL, KDPC_OK, -1, -1, 0},
    {"spinlock.mixed_api", ScMixedApi, 1, NULL, KDPC_OK, -1, -1, 0},
    {"spinlock.held_too_long", ScHeldTooLong, 1, NULL, KDPC_OK, -1, -1, 0},
    {"sync.isr_unsynchronized", ScIsrUnsync, 1, NULL, KDPC_OK, -1, -1, 0},
    {"sync.unlocked_shared", ScUnlockedShared, 1, NULL, KDPC_OK, -1, -1, 0},
    {"sync.irql_too_high", ScSyncIrqlTooHigh, 1, NULL, KDPC_OK, -1, -1, 0},
    {"dpc.wait", ScDpcWait, 1, NULL, KDPC_OK, -1, -1, 0},
    {"dpc.irql_changed", ScDpcIrqlChanged, 1, NULL, KDPC_OK, -1, -1, 0},
    {"dpc.lock_held", ScDpcLockHeld, 1, NULL, KDPC_OK, -1, -1, 0},
    {"dpc.too_long", ScDpcTooLong, 1, NULL, KDPC_OK, -1, -1, 0},
    {"dpc.stall_too_long", ScStallTooLong, 1, NULL, KDPC_OK, -1, -1, 0},
    {"dpc.watchdog", ScWatchdog, 1, tweak_watchdog, KDPC_OK, -1, -1, 0},
    {"isr.too_long", ScIsrTooLong, 1, NULL, KDPC_OK, -1, -1, 0},
    {"isr.irql_changed", ScIsrIrqlChanged, 1, NULL, KDPC_OK, -1, -1, 0},
    {"isr.storm", ScStorm, 1, NULL, KDPC_OK, -1, -1, 0},
    {"unload.pending", ScUnloadPending, 2, NULL, KDPC_OK, -1, -1, 0},
    {"thread.exit_state", ScThreadExitState, 1, NULL, KDPC_OK, -1, -1, 0},
    {"removelock.release_unheld", ScRemoveLockReleaseUnheld, 1, NULL, KDPC_OK, -1, -1, 0},
    {"removelock.after_wait", ScRemoveLockAfterWait, 1, NULL, KDPC_OK, -1, -1, 0},
    {"pnp.must_not_fail", ScPnpMustNotFail, 1, NULL, KDPC_OK, -1, -1, 0},
    {"work.bad_irql_return", ScWorkBadIrql, 1, NULL, KDPC_OK, -1, -1, 0},
    {"work.requeue", ScWorkRequeue, 1, NULL, KDPC_OK, -1, -1, 0},
    {"work.queue_irql", ScWorkQueueIrql, 1, NULL, KDPC_OK, -1, -1, 0},
    {"sync.apc_irql", ScApcIrql, 1, NULL, KDPC_OK, -1, -1, 0},
    {"io.double_complete", ScDoubleComplete, 1, NULL, KDPC_OK, -1, -1, 0},
    {"io.complete_pending", ScCompletePending, 1, NULL, KDPC_OK, -1, -1, 0},
    {"io.start_next_irql", ScStartNextIrql, 1, NULL, KDPC_OK, -1, -1, 0},
    {"io.irp_lost", ScIrpLost, 1, NULL, KDPC_OK, -1, -1, 0},
    {"io.buffer_overrun", ScBufferOverrun, 1, NULL, KDPC_OK, -1, -1, 0},
    {"io.complete_cancelable", ScCompleteCancelable, 1, NULL, KDPC_OK, -1, -1, 0},
    {"io.cancel_lock_held", ScCancelLockHeld, 1, NULL, KDPC_OK, -1, -1, 0},
    {"errorlog.irql", ScErrorLogIrql, 1, NULL, KDPC_OK, -1, -1, 0},
    {"mem.paged_touch", ScPagedTouch, 1, NULL, KDPC_OK, -1, -1, 0},
    {"mem.paged_alloc", ScPagedAlloc, 1, NULL, KDPC_OK, -1, -1, 0},
    {"mem.paged_code", ScPagedCode, 1, NULL, KDPC_OK, -1, -1, 0},
    {"mem.free_active", ScFreeActive, 1, NULL, KDPC_OK, -1, -1, 0},
    {"pio.not_flushed", ScPioNotFlushed, 1, NULL, KDPC_OK, -1, -1, 0},
    {"dma.adapter_held", ScDmaAdapterHeld, 1, NULL, KDPC_OK, -1, -1, 0},
    {"dma.not_flushed", ScDmaNotFlushed, 1, NULL, KDPC_OK, -1, -1, 0},
    {"dma.double_free", ScDmaDoubleFree, 1, NULL, KDPC_OK, -1, -1, 0},
    {"dev.dma_unmapped", ScDevDmaUnmapped, 1, NULL, KDPC_OK, -1, -1, 0},
    {"controller.held", ScControllerHeld, 1, NULL, KDPC_OK, -1, -1, 0},
    {"wait.objects", ScWaitObjects, 1, NULL, KDPC_OK, -1, -1, 0},
    {"io.invalid_object", ScIoInvalidObject, 1, NULL, KDPC_OK, -1, -1, 0},
    {"io.pending_not_returned", ScIoPendingNotReturned, 1, NULL, KDPC_OK, -1, -1, 0},
    {"io.no_startio", ScIoNoStartIo, 1, NULL, KDPC_OK, -1, -1, 0},
    {"isr.disconnect_irql", ScDisconnectIrql, 1, NULL, KDPC_OK, -1, -1, 0},
    {"isr.disconnect_self", ScDisconnectSelf, 1, NULL, KDPC_OK, -1, -1, 0},
    {"io.passive_irql", ScIoPassiveIrql, 1, NULL, KDPC_OK, -1, -1, 0},
    {"obj.invalid", ScObjInvalid, 1, NULL, KDPC_OK, -1, -1, 0},
    {"hal.bad_address", ScHalBadAddress, 1, NULL, KDPC_OK, -1, -1, 0},
    {"hal.map_unowned", ScHalMapUnowned, 1, NULL, KDPC_OK, -1, -1, 0},
    {"hal.bad_unmap", ScHalBadUnmap, 1, NULL, KDPC_OK, -1, -1, 0},
    {"hal.irql", ScHalIrql, 1, NULL, KDPC_OK, -1, -1, 0},
    {"zw.passive_irql", ScZwPassiveIrql, 1, NULL, KDPC_OK, -1, -1, 0},
    {"rtl.irql", ScRtlIrql, 1, NULL, KDPC_OK, -1, -1, 0},
    {"ob.irql", ScObIrql, 1, NULL, KDPC_OK, -1, -1, 0},
    {"ob.user_handle", ScObUserHandle, 1, NULL, KDPC_OK, -1, -1, 0},
    {"mm.irql", ScMmPagesIrql, 1, NULL, KDPC_OK, -1, -1, 0},
    {"mm.bad_mdl", ScMmBadMdl, 1, NULL, KDPC_OK, -1, -1, 0},
    {"mm.map_bugcheck", ScMmMapBugcheck, 1, NULL, KDPC_OK, -1, -1, 0},
    {"mem.pool_irql", ScPoolIrql, 1, NULL, KDPC_OK, -1, -1, 0},
    /* area: irql-ke */
    {"irql.ke_dispatch", ScKeDispatch, 1, NULL, KDPC_OK, -1, -1, 0},
    {"irql.ke_set_event", ScKeSetEvent, 1, NULL, KDPC_OK, -1, -1, 0},
    {"irql.ke_set_event_wait", ScKeSetEventWait, 1, NULL, KDPC_OK, -1, -1, 0},
    {"ps.passive_irql", ScPsPassiveIrql, 1, NULL, KDPC_OK, -1, -1, 0},
    {"irql.ex_apc", ScExApc, 1, NULL, KDPC_OK, -1, -1, 0},
    {"ob.bad_handle", ScObBadHandle, 1, NULL, KDPC_OK, -1, -1, 0},
    /* area: irql-io */
    {"io.dispatch_irql", ScIoDispatchIrql, 1, NULL, KDPC_OK, -1, -1, 0},
    {"io.apc_irql", ScIoApcIrql, 1, NULL, KDPC_OK, -1, -1, 0},
    {"mm.section_irql", ScMmIrql, 1, NULL, KDPC_OK, -1, -1, 0},
    /* area: dispatch */
    {"io.irql_changed", ScDispatchScenario, 1, NULL, KDPC_OK, -1, -1, SD_IRQL},
    {"io.apc_disable_changed", ScDispatchScenario, 1, NULL, KDPC_OK, -1, -1, SD_APC},
    {"io.bad_status", ScDispatchScenario, 1, NULL, KDPC_OK, -1, -1, SD_BAD},
    {"io.pending_not_marked", ScDispatchScenario, 1, NULL, KDPC_OK, -1, -1, SD_NOT_MARKED},
    {"io.queued_before_marked", ScDispatchScenario, 1, NULL, KDPC_OK, -1, -1, SD_QUEUED},
    {"io.irp_unfinished", ScDispatchScenario, 1, NULL, KDPC_OK, -1, -1, SD_UNFINISHED},
    {"io.status_mismatch", ScDispatchScenario, 1, NULL, KDPC_OK, -1, -1, SD_MISMATCH},
    {"io.completion_not_pending", ScDispatchScenario, 1, NULL, KDPC_OK, -1, -1, SD_NOT_PROPAGATED},
    {"io.complete_owned_below", ScDispatchScenario, 1, NULL, KDPC_OK, -1, -1, SD_OWNED_BELOW},
    {"io.completion_event_pending", ScDispatchScenario, 1, NULL, KDPC_OK, -1, -1, SD_EVENT},
    {"io.completion_no_signal", ScDispatchScenario, 1, NULL, KDPC_OK, -1, -1, SD_NO_SIGNAL},
    {"io.cancelled_pending", ScDispatchScenario, 1, NULL, KDPC_OK, -1, -1, SD_CANCELLED},
    /* area: irp-flow */
    {"io.complete_irql", ScFlowCompleteIrql, 1, NULL, KDPC_OK, -1, -1, 0},
    {"io.call_irql", ScFlowCallIrql, 1, NULL, KDPC_OK, -1, -1, 0},
    {"io.forward_irql", ScFlowForwardIrql, 1, NULL, KDPC_OK, -1, -1, 0},
    {"io.forward_apc_irql", ScFlowForwardApcIrql, 1, NULL, KDPC_OK, -1, -1, 0},
    {"io.call_cancelable", ScFlowCallCancelable, 1, NULL, KDPC_OK, -1, -1, 0},
    {"io.stack_short", ScFlowStackShort, 1, NULL, KDPC_OK, -1, -1, 0},
    /* io.bad_stack_copy: the top device marks the IRP pending and memcpys its stack location
     * down (0xC9/0x206) */
    {"io.bad_stack_copy", ScFlowScenario, 1, NULL, KDPC_OK, -1, -1, SCF_MARK_MEMCPY},
    /* io.copy_without_completion (a warning): a copied stack location without a completion
     * routine (0xC9/0x21C) */
    {"io.copy_without_completion", ScFlowScenario, 1, NULL, KDPC_OK, -1, -1, SCF_COPY},
    /* io.skipped_device (a warning): the IRP sent past sc_flow_mid to sc_dev (0xC9/0x211) */
    {"io.skipped_device", ScFlowScenario, 1, NULL, KDPC_OK, -1, -1, SCF_PAST},
    {"io.complete_lock_held", ScFlowCompleteLockHeld, 1, NULL, KDPC_OK, -1, -1, 0},
    /* io.startio_recursion (a warning): StartIo calls IoStartNextPacket */
    {"io.startio_recursion", ScFlowScenario, 1, NULL, KDPC_OK, -1, -1, SCF_STARTIO},
    {"io.signaled_event", ScFlowSignaledEvent, 1, NULL, KDPC_OK, -1, -1, 0},
    {"io.complete_unsent", ScFlowCompleteUnsent, 1, NULL, KDPC_OK, -1, -1, 0},
    {"io.cancel_not_completed", ScFlowCancelNotCompleted, 1, NULL, KDPC_OK, -1, -1, 0},
    {"io.iosb_unwound", ScFlowIosbUnwound, 1, NULL, KDPC_OK, -1, -1, 0},
    /* io.forward_owned_below: the IRP sent on again while sc_dev has it pending (0xC9/0x205) */
    {"io.forward_owned_below", ScFlowScenario, 1, NULL, KDPC_OK, -1, -1, SCF_TWICE},
    {"io.status_overridden", ScFlowStatusOverridden, 1, NULL, KDPC_OK, -1, -1, 0},
    /* area: irp-life */
    {"io.reuse_not_allocated", ScReuseNotAllocated, 1, NULL, KDPC_OK, -1, -1, 0},
    {"io.reuse_in_use", ScReuseInUse, 1, NULL, KDPC_OK, -1, -1, 0},
    {"io.local_no_completion", ScLocalNoCompletion, 1, NULL, KDPC_OK, -1, -1, 0},
    {"io.build_bad_buffer", ScBuildBadBuffer, 1, NULL, KDPC_OK, -1, -1, 0},
    {"io.build_event_set", ScBuildEventSet, 1, NULL, KDPC_OK, -1, -1, 0},
    {"io.completion_ex_unchecked", ScExUnchecked, 1, ScLowResources, KDPC_OK, -1, -1, 0},
    /* io.completion_ex_unsent: IoSetCompletionRoutineEx, then the IRP is completed instead of sent
     * (code 0); off or a warning: the completion goes on */
    {"io.completion_ex_unsent", ScExScenario, 1, NULL, KDPC_OK, -1, -1, 0},
    /* io.completion_ex_device: IoSetCompletionRoutineEx given the lower driver's device (code 0);
     * off or a warning: the routine is set, and the IRP goes down and comes back */
    {"io.completion_ex_device", ScExScenario, 1, NULL, KDPC_OK, -1, -1, 1},
    /* area: pnp */
    {"pnp.irp_init", ScPnpScenario, 1, NULL, KDPC_OK, -1, -1, SCP_IRP_INIT},
    {"pnp.system_irp", ScPnpScenario, 1, NULL, KDPC_OK, -1, -1, SCP_SYSTEM_IRP},
    {"pnp.irp_status", ScPnpScenario, 1, NULL, KDPC_OK, -1, -1, SCP_IRP_STATUS},
    {"pnp.not_passed_down", ScPnpScenario, 1, NULL, KDPC_OK, -1, -1, SCP_NOT_PASSED_DOWN},
    {"pnp.surprise_remove_delete", ScPnpScenario, 1, NULL, KDPC_OK, -1, -1, SCP_SURPRISE_DELETE},
    {"pnp.delete_before_lower", ScPnpScenario, 1, NULL, KDPC_OK, -1, -1, SCP_DELETE_EARLY},
    {"pnp.remove_not_deleted", ScPnpScenario, 1, NULL, KDPC_OK, -1, -1, SCP_REMOVE_NOT_DELETED},
    {"pnp.adddevice_initializing", ScPnpScenario, 1, NULL, KDPC_OK, -1, -1, SCP_ADDDEVICE_INIT},
    {"dev.attach_flags", ScPnpScenario, 1, NULL, KDPC_OK, -1, -1, SCP_ATTACH_FLAGS},
    {"pnp.not_pdo", ScPnpScenario, 1, NULL, KDPC_OK, -1, -1, SCP_NOT_PDO},
    {"pnp.no_dispatch", ScPnpScenario, 1, NULL, KDPC_OK, -1, -1, SCP_NO_DISPATCH},
    {"wmi.not_forwarded", ScPnpScenario, 1, NULL, KDPC_OK, -1, -1, SCP_WMI_NOT_FORWARDED},
    {"wmi.registered", ScPnpScenario, 1, NULL, KDPC_OK, -1, -1, SCP_WMI_REGISTERED},
    /* area: pool */
    {"mem.zero_alloc", ScMemZeroAlloc, 1, NULL, KDPC_OK, -1, -1, 0},
    {"mem.bad_free", ScMemBadFree, 1, NULL, KDPC_BUGCHECK, -1, -1, 0},
    {"mem.overrun", ScMemOverrun, 1, NULL, KDPC_OK, -1, -1, 0},
    {"mem.overrun_tracked", ScMemOverrunTracked, 1, NULL, KDPC_OK, -1, -1, 0},
    {"mem.leak", ScMemLeak, 1, NULL, KDPC_OK, -1, -1, 0},
    {"mem.alloc_unloaded", ScAllocUnloaded, 1, NULL, KDPC_OK, -1, -1, 0},
    {"lookaside.misuse", ScLookasideMisuse, 1, NULL, KDPC_OK, -1, -1, 0},
    {"mm.mdl_flags", ScMdlFlags, 1, NULL, KDPC_OK, -1, -1, 0},
    {"mem.paged_object", ScPagedObject, 1, NULL, KDPC_OK, 1, -1, 0},
    {"rtl.copy_overlap", ScCopyOverlap, 1, NULL, KDPC_OK, 2, -1, 0},
    /* area: dma */
    {"dma.irql", ScDmaIrql, 1, NULL, KDPC_OK, -1, -1, 0},
    {"dma.null_adapter", ScDmaNullAdapter, 1, NULL, KDPC_BUGCHECK, -1, -1,
     0}, /* io.invalid_object */
    {"dma.adapter_released", ScDmaAdapterReleased, 1, NULL, KDPC_OK, -1, -1, 0},
    {"dma.put_outstanding", ScDmaPutOutstanding, 1, NULL, KDPC_OK, -1, -1, 0},
    {"dma.second_channel", ScDmaSecondChannel, 1, NULL, KDPC_OK, -1, -1, 0},
    {"dma.too_many_map_registers", ScDmaTooManyMapRegisters, 1, NULL, KDPC_OK, -1, -1, 0},
    {"dma.unlocked_buffer", ScDmaUnlockedBuffer, 1, NULL, KDPC_OK, -1, -1, 0},
    {"dma.buffer_overrun", ScDmaBufferOverrun, 1, NULL, KDPC_OK, -1, -1, 0},
    {"dma.outside_mdl", ScDmaOutsideMdl, 1, NULL, KDPC_OK, -1, -1, 0},
    {"dma.double_map", ScDmaDoubleMap, 1, NULL, KDPC_OK, -1, -1, 0},
    {"dma.zero_length", ScDmaZeroLength, 1, NULL, KDPC_OK, -1, -1, 0},
    {"dma.flush_unmapped", ScDmaFlushUnmapped, 1, NULL, KDPC_OK, -1, -1, 0},
    {"dma.channel_flush", ScDmaChannelFlush, 1, NULL, KDPC_OK, DmaCancelled, -1, 0},
    {"dma.adapter_not_put", ScDmaAdapterNotPut, 1, NULL, KDPC_OK, -1, -1, 0},
    {"dma.bad_description", ScDmaBadDescription, 1, NULL, KDPC_OK, -1, -1, 0},
    /* area: locks */
    {"spinlock.release_new_irql", ScLocksReleaseNewIrql, 1, NULL, KDPC_OK, -1, -1, 0},
    {"lock.recursive", ScLocksRecursive, 1, NULL, KDPC_DEADLOCK, -1, -1, 0},
    {"lock.reinit_held", ScLocksReinitHeld, 1, NULL, KDPC_OK, -1, -1, 0},
    {"lock.freed_held", ScLocksFreedHeld, 1, NULL, KDPC_OK, -1, -1, 0},
    {"lock.critical_leave", ScLocksCriticalLeave, 1, NULL, KDPC_OK, -1, -1, 0},
    {"lock.guarded_leave", ScLocksGuardedLeave, 1, NULL, KDPC_OK, -1, -1, 0},
    {"irql.lower_unmatched", ScLocksLowerUnmatched, 1, NULL, KDPC_OK, -1, -1, 0},
    {"irql.lower_other", ScLocksLowerOther, 1, NULL, KDPC_OK, -1, -1, 0},
    {"lock.release_order", ScLocksReleaseOrder, 1, NULL, KDPC_OK, -1, -1, 0},
    /* area: power */
    {"power.requested_irp", ScPowerRequestedIrp, 1, NULL, KDPC_OK, -1, -1, 0},
    /* removelock.wait_outside_remove: IoReleaseRemoveLockAndWait on IRP_MN_QUERY_REMOVE_DEVICE
     * (code 0); off or a warning: the lock is released and waited on, the removal goes on (the
     * remove's own acquire fails with STATUS_DELETE_PENDING) */
    {"removelock.wait_outside_remove", ScwScenario, 1, NULL, KDPC_OK, -1, -1, 1},
    /* removelock.delete_unwaited: REMOVE deletes the device without IoReleaseRemoveLockAndWait
     * (code 0); off or a warning: the device is deleted */
    {"removelock.delete_unwaited", ScwScenario, 1, NULL, KDPC_OK, -1, -1, 2},
    /* power.irp_status: the system query-power passed down failed (0xC9/0x219); off or a warning:
     * the bus driver answers it, the sleep goes on */
    {"power.irp_status", ScwScenario, 1, NULL, KDPC_OK, -1, -1, 3},
    /* removelock.held_on_return: the set-power IRPs pass with the remove lock acquired and never
     * released (code 0); off or a warning: the remove handler's IoReleaseRemoveLockAndWait waits
     * for them forever (a hang on Windows, KDPC_DEADLOCK here) */
    {"removelock.held_on_return", ScwScenario, 1, NULL, KDPC_DEADLOCK, -1, -1, 6},
    /* removelock.forward_unheld: the power IRPs passed down without the remove lock (code 0); off
     * or a warning: they go down as sent */
    {"removelock.forward_unheld", ScwScenario, 1, NULL, KDPC_OK, -1, -1, 7},
    /* power.not_passed_down: the system query-power completed by the FDO (0xC9/0x231); off or a
     * warning: the sleep goes on */
    {"power.not_passed_down", ScwScenario, 1, NULL, KDPC_OK, -1, -1, 4},
    /* power.pagable_not_inherited: the FDO over a DO_POWER_PAGABLE PDO without the flag
     * (0xC9/0x23F); off or a warning: the device starts as it is */
    {"power.pagable_not_inherited", ScwScenario, 1, NULL, KDPC_OK, -1, -1, 5},
};
#define NSCENARIOS (sizeof(scenarios) / sizeof(scenarios[0]))

static kdpc_machine *scenario_machine(const scenario *sc)
{
    sw_reset();
    kdpc_config cfg = kt_config(sc->cpus, 17);
    if (sc->tweak != NULL)
        sc->tweak(&cfg);
    kdpc_machine *m = kdpc_machine_create(&cfg);
    assert_non_null(m);
    return m;
}

/* Default: the outcome docs/rules.md gives (this also proves the scenario breaks its rule). */
static void test_scenario_default_outcome(void **state)
{
    const scenario *sc = *state;
    kdpc_machine *m = scenario_machine(sc);
    kdpc_status st = kdpc_machine_run(m, sc->entry, (void *)sc->arg);
    if (is_warning_rule(sc->rule)) {
        assert_int_equal(kdpc_rule_action_of(m, sc->rule), KDPC_RULE_WARN);
        assert_int_equal(st, sc->free_status);
        KT_ASSERT_WARNING(m, sc->rule);
        assert_int_equal(sw_done, 1);
    } else {
        assert_int_equal(kdpc_rule_action_of(m, sc->rule), KDPC_RULE_BUGCHECK);
        const kdpc_violation *bc = kdpc_machine_bugcheck(m);
        assert_non_null(bc);
        assert_string_equal(bc->rule, sc->rule);
        assert_int_equal(st, KDPC_BUGCHECK);
        assert_true(bc->fatal);
        /* docs/rules.md: where Windows has no bug check of its own, code 0 with the rule id */
        if (strcmp(sc->rule, "controller.held") == 0 ||
            strcmp(sc->rule, "io.complete_lock_held") == 0 ||          /* irp-flow */
            strcmp(sc->rule, "io.status_overridden") == 0 ||           /* irp-flow */
            strcmp(sc->rule, "io.queued_before_marked") == 0 ||        /* dispatch */
            strcmp(sc->rule, "io.build_event_set") == 0 ||             /* irp-life */
            strcmp(sc->rule, "io.completion_ex_unsent") == 0 ||        /* irp-life */
            strcmp(sc->rule, "io.completion_ex_device") == 0 ||        /* irp-life */
            strcmp(sc->rule, "pnp.delete_before_lower") == 0 ||        /* pnp */
            strcmp(sc->rule, "removelock.wait_outside_remove") == 0 || /* power */
            strcmp(sc->rule, "removelock.delete_unwaited") == 0 ||     /* power */
            strcmp(sc->rule, "removelock.held_on_return") == 0 ||      /* power */
            strcmp(sc->rule, "removelock.forward_unheld") == 0)        /* power */
            assert_int_equal(bc->code, 0);
        else
            assert_true(bc->code != 0);
        assert_int_equal(sw_done, 0);
    }
    kdpc_machine_destroy(m);
}

static void check_free_kernel_behaviour(const scenario *sc, kdpc_status st)
{
    assert_int_equal(st, sc->free_status);
    if (st == KDPC_OK)
        assert_int_equal(sw_done, 1);
    if (sc->observed >= 0)
        assert_int_equal(sw_observed, sc->observed);
    if (sc->observed2 >= 0)
        assert_int_equal(sw_observed2, sc->observed2);
}

/* Off: nothing recorded for the rule; the run goes on. */
static void test_scenario_rule_off(void **state)
{
    const scenario *sc = *state;
    kdpc_machine *m = scenario_machine(sc);
    assert_int_equal(kdpc_rule_set(m, sc->rule, KDPC_RULE_OFF), KDPC_OK);
    assert_int_equal(kdpc_rule_action_of(m, sc->rule), KDPC_RULE_OFF);
    kdpc_status st = kdpc_machine_run(m, sc->entry, (void *)sc->arg);
    KT_ASSERT_NO_VIOLATION(m, sc->rule);
    check_free_kernel_behaviour(sc, st);
    if (st == KDPC_OK)
        assert_null(kdpc_machine_bugcheck(m));
    if (st == KDPC_DEADLOCK)
        assert_non_null(kdpc_machine_deadlock_report(m));
    kdpc_machine_destroy(m);
}

/* Warn: a warning (fatal false, code 0) is recorded; the run goes on. */
static void test_scenario_rule_warn(void **state)
{
    const scenario *sc = *state;
    kdpc_machine *m = scenario_machine(sc);
    assert_int_equal(kdpc_rule_set(m, sc->rule, KDPC_RULE_WARN), KDPC_OK);
    assert_int_equal(kdpc_rule_action_of(m, sc->rule), KDPC_RULE_WARN);
    kdpc_status st = kdpc_machine_run(m, sc->entry, (void *)sc->arg);
    KT_ASSERT_WARNING(m, sc->rule);
    const kdpc_violation *w = kdpc_machine_find_violation(m, sc->rule);
    assert_string_equal(w->name, "");
    assert_true(w->seed == kdpc_machine_seed(m));
    check_free_kernel_behaviour(sc, st);
    if (st == KDPC_OK)
        assert_null(kdpc_machine_bugcheck(m));
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* Actions and patterns                                                */

static void SlowDpcForBugcheck(PKDPC Dpc, PVOID Context, PVOID Arg1, PVOID Arg2)
{
    (void)Dpc;
    (void)Context;
    (void)Arg1;
    (void)Arg2;
    KeStallExecutionProcessor(60);
    KeStallExecutionProcessor(60);
}

static void SlowDpcForBugcheckEntry(void *ctx)
{
    (void)ctx;
    run_dpc(&sw_dpc_a, SlowDpcForBugcheck);
    sw_done = 1;
}

static void test_bugcheck_action_on_warning_rule_stops_with_code_0(void **state)
{
    (void)state;
    sw_reset();
    kdpc_machine *m = kt_machine(1, 17);
    KDPC_NAME(m, SlowDpcForBugcheck);
    assert_int_equal(kdpc_rule_set(m, "dpc.too_long", KDPC_RULE_BUGCHECK), KDPC_OK);
    assert_int_equal(kdpc_rule_action_of(m, "dpc.too_long"), KDPC_RULE_BUGCHECK);
    kdpc_status st = kdpc_machine_run(m, SlowDpcForBugcheckEntry, NULL);
    /* docs/rules.md: where Windows has no bug check, code 0 with the rule id */
    KT_ASSERT_BUGCHECK(m, st, "dpc.too_long", 0);
    assert_string_equal(kdpc_machine_bugcheck(m)->routine, "SlowDpcForBugcheck");
    assert_int_equal(kdpc_machine_violation_count(m), 1);
    assert_int_equal(sw_done, 0);
    kdpc_machine_destroy(m);
}

static void test_family_pattern_switches_every_rule_of_the_family(void **state)
{
    (void)state;
    kdpc_machine *m = kt_machine(1, 17);
    assert_int_equal(kdpc_rule_set(m, "spinlock.*", KDPC_RULE_OFF), KDPC_OK);
    size_t family = 0;
    for (size_t i = 0; i < NRULES; i++) {
        kdpc_rule_action a = kdpc_rule_action_of(m, all_rules[i]);
        if (strncmp(all_rules[i], "spinlock.", 9) == 0) {
            assert_int_equal(a, KDPC_RULE_OFF);
            family++;
        } else {
            assert_true(a == KDPC_RULE_BUGCHECK || a == KDPC_RULE_WARN);
        }
    }
    assert_int_equal(family, 10);
    assert_int_equal(kdpc_rule_set(m, "spinlock.*", KDPC_RULE_DEFAULT), KDPC_OK);
    assert_int_equal(kdpc_rule_action_of(m, "spinlock.recursive"), KDPC_RULE_BUGCHECK);
    assert_int_equal(kdpc_rule_action_of(m, "spinlock.held_too_long"), KDPC_RULE_WARN);
    kdpc_machine_destroy(m);
}

static void TwoSpinlockRulesEntry(void *ctx)
{
    (void)ctx;
    KeAcquireSpinLockAtDpcLevel(&sw_lock_a);   /* spinlock.dpc_acquire_irql */
    KeReleaseSpinLockFromDpcLevel(&sw_lock_a); /* spinlock.dpc_release_irql */
    KeReleaseSpinLockFromDpcLevel(&sw_lock_b); /* ... and spinlock.not_owned */
    sw_done = 1;
}

static void test_family_off_silences_every_spinlock_rule_in_a_run(void **state)
{
    (void)state;
    sw_reset();
    kdpc_machine *m = kt_machine(1, 17);
    assert_int_equal(kdpc_rule_set(m, "spinlock.*", KDPC_RULE_OFF), KDPC_OK);
    kdpc_status st = kdpc_machine_run(m, TwoSpinlockRulesEntry, NULL);
    assert_int_equal(st, KDPC_OK);
    assert_int_equal(kdpc_machine_violation_count(m), 0);
    assert_int_equal(sw_done, 1);
    kdpc_machine_destroy(m);
}

static void test_star_pattern_warn_records_each_broken_rule(void **state)
{
    (void)state;
    sw_reset();
    kdpc_machine *m = kt_machine(1, 17);
    assert_int_equal(kdpc_rule_set(m, "*", KDPC_RULE_WARN), KDPC_OK);
    for (size_t i = 0; i + NFIXED < NRULES; i++) /* all but the unswitchable */
        assert_int_equal(kdpc_rule_action_of(m, all_rules[i]), KDPC_RULE_WARN);
    kdpc_status st = kdpc_machine_run(m, TwoSpinlockRulesEntry, NULL);
    assert_int_equal(st, KDPC_OK);
    KT_ASSERT_WARNING(m, "spinlock.dpc_acquire_irql");
    KT_ASSERT_WARNING(m, "spinlock.dpc_release_irql");
    KT_ASSERT_WARNING(m, "spinlock.not_owned");
    /* dpc_acquire_irql, dpc_release_irql twice (both releases at PASSIVE), not_owned */
    assert_int_equal(kdpc_machine_violation_count(m), 4);
    assert_null(kdpc_machine_bugcheck(m));
    assert_int_equal(sw_done, 1);
    kdpc_machine_destroy(m);
}

static void test_star_pattern_off_switches_every_rule(void **state)
{
    (void)state;
    sw_reset();
    kdpc_machine *m = kt_machine(1, 17);
    assert_int_equal(kdpc_rule_set(m, "*", KDPC_RULE_OFF), KDPC_OK);
    for (size_t i = 0; i + NFIXED < NRULES; i++)
        assert_int_equal(kdpc_rule_action_of(m, all_rules[i]), KDPC_RULE_OFF);
    kdpc_status st = kdpc_machine_run(m, TwoSpinlockRulesEntry, NULL);
    assert_int_equal(st, KDPC_OK);
    assert_int_equal(kdpc_machine_violation_count(m), 0);
    assert_int_equal(kdpc_rule_set(m, "*", KDPC_RULE_DEFAULT), KDPC_OK);
    for (size_t i = 0; i < NRULES; i++)
        assert_int_equal(kdpc_rule_action_of(m, all_rules[i]),
                         is_warning_rule(all_rules[i]) ? KDPC_RULE_WARN : KDPC_RULE_BUGCHECK);
    kdpc_machine_destroy(m);
}

static void test_switches_are_per_machine(void **state)
{
    (void)state;
    kdpc_machine *a = kt_machine(1, 17);
    kdpc_machine *b = kt_machine(1, 17);
    assert_int_equal(kdpc_rule_set(a, "dpc.watchdog", KDPC_RULE_OFF), KDPC_OK);
    assert_int_equal(kdpc_rule_action_of(a, "dpc.watchdog"), KDPC_RULE_OFF);
    assert_int_equal(kdpc_rule_action_of(b, "dpc.watchdog"), KDPC_RULE_BUGCHECK);
    kdpc_machine_destroy(a);
    kdpc_machine_destroy(b);
}

static void test_unknown_rule_returns_enoent(void **state)
{
    (void)state;
    kdpc_machine *m = kt_machine(1, 17);
    assert_int_equal(kdpc_rule_set(m, "dpc.no_such_rule", KDPC_RULE_OFF), KDPC_ENOENT);
    assert_int_equal(kdpc_rule_set(m, "nosuch.*", KDPC_RULE_OFF), KDPC_ENOENT);
    assert_int_equal(kdpc_rule_set(m, "spinlock", KDPC_RULE_OFF), KDPC_ENOENT);
    assert_int_equal(kdpc_rule_set(m, "", KDPC_RULE_OFF), KDPC_ENOENT);
    /* nothing changed */
    for (size_t i = 0; i < NRULES; i++)
        assert_int_equal(kdpc_rule_action_of(m, all_rules[i]),
                         is_warning_rule(all_rules[i]) ? KDPC_RULE_WARN : KDPC_RULE_BUGCHECK);
    kdpc_machine_destroy(m);
}

static void test_null_machine_or_rule_or_bad_action_returns_einval(void **state)
{
    (void)state;
    kdpc_machine *m = kt_machine(1, 17);
    assert_int_equal(kdpc_rule_set(NULL, "dpc.too_long", KDPC_RULE_OFF), KDPC_EINVAL);
    assert_int_equal(kdpc_rule_set(m, NULL, KDPC_RULE_OFF), KDPC_EINVAL);
    assert_int_equal(kdpc_rule_set(m, "dpc.too_long", (kdpc_rule_action)7), KDPC_EINVAL);
    assert_int_equal(kdpc_rule_action_of(m, "dpc.too_long"), KDPC_RULE_WARN);
    kdpc_machine_destroy(m);
}

static void test_rule_action_of_reports_defaults_and_unknowns(void **state)
{
    (void)state;
    kdpc_machine *m = kt_machine(1, 17);
    assert_int_equal(kdpc_rule_action_of(m, "irql.raise_lower"), KDPC_RULE_BUGCHECK);
    assert_int_equal(kdpc_rule_action_of(m, "isr.too_long"), KDPC_RULE_WARN);
    assert_int_equal(kdpc_rule_action_of(m, "no.such"), KDPC_RULE_DEFAULT);
    assert_int_equal(kdpc_rule_action_of(m, "spinlock.*"), KDPC_RULE_DEFAULT);
    assert_int_equal(kdpc_rule_action_of(m, NULL), KDPC_RULE_DEFAULT);
    assert_int_equal(kdpc_rule_action_of(NULL, "irql.raise_lower"), KDPC_RULE_DEFAULT);
    assert_int_equal(kdpc_rule_set(m, "irql.raise_lower", KDPC_RULE_WARN), KDPC_OK);
    assert_int_equal(kdpc_rule_action_of(m, "irql.raise_lower"), KDPC_RULE_WARN);
    assert_int_equal(kdpc_rule_set(m, "irql.raise_lower", KDPC_RULE_DEFAULT), KDPC_OK);
    assert_int_equal(kdpc_rule_action_of(m, "irql.raise_lower"), KDPC_RULE_BUGCHECK);
    kdpc_machine_destroy(m);
}

static void test_rule_count_and_info_list_every_rule_of_the_table(void **state)
{
    (void)state;
    assert_int_equal(kdpc_rule_count(), NRULES);
    bool seen[NRULES] = {false};
    for (size_t i = 0; i < kdpc_rule_count(); i++) {
        const char *g = NULL;
        const char *id = kdpc_rule_info(i, &g);
        assert_non_null(id);
        assert_non_null(g);
        assert_true(g[0] != '\0');
        size_t k = 0;
        while (k < NRULES && strcmp(all_rules[k], id) != 0)
            k++;
        assert_true(k < NRULES); /* a known id ... */
        assert_false(seen[k]);   /* ... listed once */
        seen[k] = true;
        assert_non_null(kdpc_rule_info(i, NULL));
    }
    for (size_t k = 0; k < NRULES; k++)
        assert_true(seen[k]);
    assert_null(kdpc_rule_info(kdpc_rule_count(), NULL));
}

static void StallInsideEntry(void *ctx)
{
    (void)ctx;
    KeStallExecutionProcessor(60); /* warns */
    (void)kdpc_rule_set(kdpc_current_machine(), "dpc.stall_too_long", KDPC_RULE_OFF);
    KeStallExecutionProcessor(70); /* no longer */
    sw_done = 1;
}

static void test_rule_switched_from_simulated_code_applies_at_once(void **state)
{
    (void)state;
    sw_reset();
    kdpc_machine *m = kt_machine(1, 17);
    kdpc_status st = kdpc_machine_run(m, StallInsideEntry, NULL);
    assert_int_equal(st, KDPC_OK);
    assert_int_equal(kdpc_machine_violation_count(m), 1);
    assert_int_equal(kdpc_machine_find_violation(m, "dpc.stall_too_long")->params[0], 60);
    assert_int_equal(sw_done, 1);
    kdpc_machine_destroy(m);
}

static void BugCheckExEntry(void *ctx)
{
    (void)ctx;
    KeBugCheckEx(0xDEAD, 1, 2, 3, 4);
}

static void test_ke_bugcheck_stops_the_run_whatever_the_switches(void **state)
{
    (void)state;
    kdpc_machine *m = kt_machine(1, 17);
    (void)kdpc_rule_set(m, "ke.bugcheck", KDPC_RULE_OFF);
    assert_int_equal(kdpc_rule_set(m, "*", KDPC_RULE_OFF), KDPC_OK);
    assert_int_equal(kdpc_rule_action_of(m, "ke.bugcheck"), KDPC_RULE_BUGCHECK);
    kdpc_status st = kdpc_machine_run(m, BugCheckExEntry, NULL);
    KT_ASSERT_BUGCHECK(m, st, "ke.bugcheck", 0xDEAD);
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* Halt contract                                                       */

static volatile LONG h_dpc_started, h_flushing, h_b_after, h_b_after_at_bugcheck, h_flush_returned,
    h_entry_done;
static KSPIN_LOCK h_lock;
static KDPC h_dpc;

static void HaltBadDpc(PKDPC Dpc, PVOID Context, PVOID Arg1, PVOID Arg2)
{
    (void)Dpc;
    (void)Context;
    (void)Arg1;
    (void)Arg2;
    h_dpc_started = 1;
    /* wait until the flushing thread is blocked and the other thread has
     * CPU 0 to itself for a while */
    for (int i = 0; i < 100000 && !(h_flushing && h_b_after >= 30); i++)
        KeStallExecutionProcessor(1);
    h_b_after_at_bugcheck = h_b_after;
    KeAcquireSpinLockAtDpcLevel(&h_lock);
    KeAcquireSpinLockAtDpcLevel(&h_lock); /* spinlock.recursive on CPU 1 */
}

static void HaltBusyThread(PVOID ctx)
{
    (void)ctx;
    (void)KeSetSystemAffinityThreadEx(1);
    for (int i = 0; i < 200000; i++) {
        if (h_flushing)
            h_b_after++;
        KeStallExecutionProcessor(1);
    }
}

static void HaltEntry(void *ctx)
{
    (void)ctx;
    HANDLE h;
    (void)KeSetSystemAffinityThreadEx(1);
    KeInitializeSpinLock(&h_lock);
    if (!NT_SUCCESS(
            PsCreateSystemThread(&h, THREAD_ALL_ACCESS, NULL, NULL, NULL, HaltBusyThread, NULL)))
        return;
    KeInitializeDpc(&h_dpc, HaltBadDpc, NULL);
    KeSetTargetProcessorDpc(&h_dpc, 1);
    KeSetImportanceDpc(&h_dpc, HighImportance);
    (void)KeInsertQueueDpc(&h_dpc, NULL, NULL);
    while (!h_dpc_started)
        KeStallExecutionProcessor(1);
    h_flushing = 1;
    KeFlushQueuedDpcs(); /* blocks: CPU 1 is inside HaltBadDpc */
    h_flush_returned = 1;
    (void)ZwClose(h);
    h_entry_done = 1;
}

static void test_bugcheck_on_cpu1_unwinds_every_context_and_halts(void **state)
{
    (void)state;
    h_dpc_started = h_flushing = h_b_after = h_b_after_at_bugcheck = 0;
    h_flush_returned = h_entry_done = 0;
    kdpc_config cfg = kt_config(2, 1234);
    kdpc_machine *m = kdpc_machine_create(&cfg);
    assert_non_null(m);
    KDPC_NAME(m, HaltBadDpc);
    kdpc_status st = kdpc_machine_run(m, HaltEntry, NULL);
    KT_ASSERT_BUGCHECK(m, st, "spinlock.recursive", 0xC4);
    const kdpc_violation *bc = kdpc_machine_bugcheck(m);
    assert_int_equal(bc->cpu, 1);
    assert_true(bc->time_ns > 0);
    assert_true(bc->time_ns <= kdpc_machine_time_ns(m));
    assert_true(bc->seed == cfg.seed);
    assert_true(kdpc_machine_seed(m) == cfg.seed);
    assert_string_equal(bc->routine, "HaltBadDpc");
    assert_int_equal(bc->irql, DISPATCH_LEVEL);
    /* the flushing thread was still blocked; the other thread had run meanwhile */
    assert_true(h_flushing);
    assert_true(h_b_after_at_bugcheck >= 30);
    assert_int_equal(h_flush_returned, 0);
    assert_int_equal(h_entry_done, 0);
    assert_true(kdpc_machine_halted(m));
    /* halted: no further run, no line changes; the report stays readable */
    assert_int_equal(kdpc_machine_run(m, HaltEntry, NULL), KDPC_E_HALTED);
    assert_int_equal(kdpc_line_assert(m, 1), KDPC_E_HALTED);
    assert_ptr_equal(kdpc_machine_bugcheck(m), bc);
    assert_string_equal(bc->rule, "spinlock.recursive");
    assert_int_equal(h_entry_done, 0);
    kdpc_machine_destroy(m);
}

static void test_run_after_a_bugcheck_returns_e_halted(void **state)
{
    (void)state;
    kdpc_machine *m = kt_machine(1, 17);
    assert_false(kdpc_machine_halted(m));
    kdpc_status st = kdpc_machine_run(m, BugCheckExEntry, NULL);
    KT_ASSERT_BUGCHECK(m, st, "ke.bugcheck", 0xDEAD);
    assert_true(kdpc_machine_halted(m));
    assert_int_equal(kdpc_machine_run(m, BugCheckExEntry, NULL), KDPC_E_HALTED);
    assert_int_equal(kdpc_machine_violation_count(m), 1);
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */

int main(void)
{
    static const struct CMUnitTest fixed_tests[] = {
        cmocka_unit_test(test_bugcheck_action_on_warning_rule_stops_with_code_0),
        cmocka_unit_test(test_family_pattern_switches_every_rule_of_the_family),
        cmocka_unit_test(test_family_off_silences_every_spinlock_rule_in_a_run),
        cmocka_unit_test(test_star_pattern_warn_records_each_broken_rule),
        cmocka_unit_test(test_star_pattern_off_switches_every_rule),
        cmocka_unit_test(test_switches_are_per_machine),
        cmocka_unit_test(test_unknown_rule_returns_enoent),
        cmocka_unit_test(test_null_machine_or_rule_or_bad_action_returns_einval),
        cmocka_unit_test(test_rule_action_of_reports_defaults_and_unknowns),
        cmocka_unit_test(test_rule_count_and_info_list_every_rule_of_the_table),
        cmocka_unit_test(test_rule_switched_from_simulated_code_applies_at_once),
        cmocka_unit_test(test_ke_bugcheck_stops_the_run_whatever_the_switches),
        cmocka_unit_test(test_bugcheck_on_cpu1_unwinds_every_context_and_halts),
        cmocka_unit_test(test_run_after_a_bugcheck_returns_e_halted),
    };
    /* every switchable rule (all but the unswitchable ones) has exactly one scenario */
    if (NSCENARIOS != NRULES - NFIXED) {
        fprintf(stderr, "rule_switches: %zu scenarios for %zu rules\n", NSCENARIOS, NRULES);
        return 1;
    }
    for (size_t i = 0; i < NRULES; i++) {
        size_t n = 0;
        for (size_t k = 0; k < NSCENARIOS; k++)
            n += strcmp(scenarios[k].rule, all_rules[i]) == 0;
        bool fixed = false;
        for (size_t k = NRULES - NFIXED; k < NRULES; k++)
            fixed = fixed || strcmp(all_rules[k], all_rules[i]) == 0;
        if (n != (fixed ? 0u : 1u)) {
            fprintf(stderr, "rule_switches: rule %s has %zu scenarios\n", all_rules[i], n);
            return 1;
        }
    }
    /* three tests per scenario, named after its rule, then the fixed tests */
    size_t nfixed = sizeof(fixed_tests) / sizeof(fixed_tests[0]);
    size_t ntests = NSCENARIOS * 3 + nfixed;
    struct CMUnitTest *tests = calloc(ntests, sizeof(*tests));
    char(*names)[96] = calloc(NSCENARIOS * 3, sizeof(*names));
    if (tests == NULL || names == NULL)
        return 1;
    static const struct {
        const char *what;
        CMUnitTestFunction fn;
    } kinds[3] = {
        {"default_outcome", test_scenario_default_outcome},
        {"rule_off_records_nothing_run_goes_on", test_scenario_rule_off},
        {"rule_warn_records_warning_run_goes_on", test_scenario_rule_warn},
    };
    for (size_t i = 0; i < NSCENARIOS; i++) {
        for (size_t k = 0; k < 3; k++) {
            struct CMUnitTest *t = &tests[i * 3 + k];
            snprintf(names[i * 3 + k], sizeof(names[0]), "%s: %s", kinds[k].what,
                     scenarios[i].rule);
            t->name = names[i * 3 + k];
            t->test_func = kinds[k].fn;
            t->initial_state = &scenarios[i];
        }
    }
    for (size_t i = 0; i < nfixed; i++)
        tests[NSCENARIOS * 3 + i] = fixed_tests[i];
    int rc = _cmocka_run_group_tests("rule_switches", tests, ntests, NULL, NULL);
    free(names);
    free(tests);
    return rc;
}
