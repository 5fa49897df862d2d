/* SPDX-License-Identifier: MIT */
/*
 * ddiirql.h - the IRQL limits of the I/O manager routines that Microsoft's DDI compliance rules
 * IrqlIoPassive1..5, IrqlIoApcLte and IrqlDispatch name, with each rule's 0xC4 parameter 1.
 *
 * One table (ddiirql.c) says, per routine, which kdpc rule it reports, the IRQL it runs at
 * (at most, or exactly) and its P1; the routines call kdpc__ddi_irql_ok at their start.
 */
#ifndef KDPC_DDIIRQL_INTERNAL_H
#define KDPC_DDIIRQL_INTERNAL_H

#include "verifier/verifier.h"

/* 0xC4 parameter 1 of the DDI compliance IRQL rules of the I/O manager (Microsoft's 0xC4 page). */
#define KDPC_DDI_IRQL_DISPATCH    0x00020003u /* IrqlDispatch: exactly DISPATCH_LEVEL */
#define KDPC_DDI_IRQL_IO_APC_LTE  0x00020009u /* IrqlIoApcLte: IoDeleteDevice <= APC_LEVEL */
#define KDPC_DDI_IRQL_IO_PASSIVE1 0x0002000Au /* IrqlIoPassive1 */
#define KDPC_DDI_IRQL_IO_PASSIVE2 0x0002000Bu /* IrqlIoPassive2 */
#define KDPC_DDI_IRQL_IO_PASSIVE3 0x0002000Cu /* IrqlIoPassive3 */
#define KDPC_DDI_IRQL_IO_PASSIVE4 0x0002000Du /* IrqlIoPassive4 */
#define KDPC_DDI_IRQL_IO_PASSIVE5 0x0002000Eu /* IrqlIoPassive5 */

/* True when @routine (an I/O manager routine of the table, by its Windows name) may run at
 * @irql; else its rule's report (0xC4, P1 its rule's code, P2 @irql, P3 @obj: the object the
 * call acts on, 0 for none; P4 0), which returns as a warning or off: then false. A routine
 * missing from the table is checked as a PASSIVE_LEVEL routine of io.passive_irql (P1
 * 0x2000D). */
bool kdpc__ddi_irql_ok(kdpc_machine *m, unsigned irql, const char *routine, uint64_t obj);

#endif /* KDPC_DDIIRQL_INTERNAL_H */
