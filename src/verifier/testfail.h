/* SPDX-License-Identifier: MIT */
/*
 * testfail.h - test checks that fail inside simulated code (kdpc_test_fail)
 * and the report of exit() called from simulated code.
 */
#ifndef KDPC_TESTFAIL_INTERNAL_H
#define KDPC_TESTFAIL_INTERNAL_H

#include <kdpc/machine.h>

/* Register, once per process, the atexit handler that reports exit() called from simulated
 * code. Called by kdpc_machine_create. */
void kdpc__exit_watch_install(void);

/* Forget the kdpc_test_stop of @m (kdpc_machine_destroy, before the machine is freed). */
void kdpc__test_stop_forget(const kdpc_machine *m);

#endif /* KDPC_TESTFAIL_INTERNAL_H */
