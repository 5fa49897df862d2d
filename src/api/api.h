/* SPDX-License-Identifier: MIT */
/*
 * api.h - what the native API's files share: the guard around a native call
 * that uses a machine (machine_api.c).
 */
#ifndef KDPC_API_API_H
#define KDPC_API_API_H

#include <stdbool.h>
#include <kdpc/status.h>

typedef struct kdpc_machine kdpc_machine;

/* A native call that drives or reads @m begins: KDPC_OK, then kdpc__api_end when done. First
 * ends a run a jump left (kdpc__abandoned_run). KDPC_EBUSY from simulated code, during another
 * such call or a destroy; KDPC_E_HALTED after a bug check, deadlock or timeout unless
 * @halted_too (a reset, a report or an export of a halted machine is fine). While one is in
 * progress, kdpc_machine_destroy on another host thread waits for kdpc__api_end. */
kdpc_status kdpc__api_begin(kdpc_machine *m, bool halted_too);
void kdpc__api_end(kdpc_machine *m);

#endif /* KDPC_API_API_H */
