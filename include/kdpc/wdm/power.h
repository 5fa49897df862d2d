/* SPDX-License-Identifier: MIT */
/*
 * kdpc/wdm/power.h - IRP_MJ_POWER as far as a WDM driver's usual power
 * boilerplate needs it: system and device power states, the power minor
 * codes, PoStartNextPowerIrp, PoCallDriver, PoSetPowerState and
 * PoRequestPowerIrp (docs/facts/pnp.md section 3).
 *
 * What kdpc models: every device starts in D0 (and the system in S0); the
 * native kdpc_power_set_system() (kdpc/driver.h) sends the system
 * IRP_MN_QUERY_POWER / IRP_MN_SET_POWER IRPs of a sleep (S0 -> S1..S4) and a
 * wake (-> S0) to every started device stack. Wait/wake (IRP_MN_WAIT_WAKE),
 * power sequences, idle detection and the shutdown IRPs are not modelled and
 * not declared.
 */
#ifndef KDPC_WDM_POWER_H
#define KDPC_WDM_POWER_H

#include <kdpc/wdm/types.h>
#include <kdpc/wdm/io.h>

KDPC_BEGIN_DECLS

/** System power states (S0 = PowerSystemWorking ... S5 = PowerSystemShutdown). */
typedef enum _SYSTEM_POWER_STATE {
    PowerSystemUnspecified = 0,
    PowerSystemWorking = 1,
    PowerSystemSleeping1 = 2,
    PowerSystemSleeping2 = 3,
    PowerSystemSleeping3 = 4,
    PowerSystemHibernate = 5,
    PowerSystemShutdown = 6,
    PowerSystemMaximum = 7
} SYSTEM_POWER_STATE,
    *PSYSTEM_POWER_STATE;

/** Device power states (D0 = fully on ... D3 = off). */
typedef enum _DEVICE_POWER_STATE {
    PowerDeviceUnspecified = 0,
    PowerDeviceD0 = 1,
    PowerDeviceD1 = 2,
    PowerDeviceD2 = 3,
    PowerDeviceD3 = 4,
    PowerDeviceMaximum = 5
} DEVICE_POWER_STATE,
    *PDEVICE_POWER_STATE;

/** Which of POWER_STATE's members a power IRP or call carries. */
typedef enum _POWER_STATE_TYPE {
    SystemPowerState = 0,
    DevicePowerState = 1
} POWER_STATE_TYPE,
    *PPOWER_STATE_TYPE;

/** A system or a device power state. */
typedef union _POWER_STATE {
    SYSTEM_POWER_STATE SystemState;
    DEVICE_POWER_STATE DeviceState;
} POWER_STATE, *PPOWER_STATE;

/** Why the system changes state (IO_STACK_LOCATION Parameters.Power.ShutdownType). */
typedef enum _POWER_ACTION {
    PowerActionNone = 0,
    PowerActionReserved = 1,
    PowerActionSleep = 2,
    PowerActionHibernate = 3,
    PowerActionShutdown = 4,
    PowerActionShutdownReset = 5,
    PowerActionShutdownOff = 6,
    PowerActionWarmEject = 7,
    PowerActionDisplayOff = 8
} POWER_ACTION,
    *PPOWER_ACTION;

/* IRP_MJ_POWER minor functions (IRP_MN_WAIT_WAKE and IRP_MN_POWER_SEQUENCE are not modelled:
 * PoRequestPowerIrp refuses them). */
#define IRP_MN_WAIT_WAKE      0x00
#define IRP_MN_POWER_SEQUENCE 0x01
#define IRP_MN_SET_POWER      0x02
#define IRP_MN_QUERY_POWER    0x03

struct _IO_STATUS_BLOCK; /* kdpc/wdm/irp.h */

/**
 * REQUEST_POWER_COMPLETE - the callback of PoRequestPowerIrp: called once the
 * requested IRP is completed by the whole stack, at the completer's IRQL
 * (<= DISPATCH_LEVEL), with the device object given to PoRequestPowerIrp, the
 * minor function, the requested state, the context and the IRP's final
 * IO_STATUS_BLOCK. The power manager frees the IRP after it returns.
 */
typedef void REQUEST_POWER_COMPLETE(PDEVICE_OBJECT DeviceObject, UCHAR MinorFunction,
                                    POWER_STATE PowerState, PVOID Context,
                                    struct _IO_STATUS_BLOCK *IoStatus);
typedef REQUEST_POWER_COMPLETE *PREQUEST_POWER_COMPLETE;

KDPC_EXPORT void kdpc_PoStartNextPowerIrp(PIRP Irp);
KDPC_EXPORT NTSTATUS kdpc_PoCallDriver(PDEVICE_OBJECT DeviceObject, PIRP Irp);
KDPC_EXPORT POWER_STATE kdpc_PoSetPowerState(PDEVICE_OBJECT DeviceObject, POWER_STATE_TYPE Type,
                                             POWER_STATE State);
KDPC_EXPORT NTSTATUS kdpc_PoRequestPowerIrp(PDEVICE_OBJECT DeviceObject, UCHAR MinorFunction,
                                            POWER_STATE PowerState,
                                            PREQUEST_POWER_COMPLETE CompletionFunction,
                                            PVOID Context, PIRP *Irp);

/**
 * PoStartNextPowerIrp - tell the power manager the driver is ready for the
 * next power IRP. Since Windows Vista the call is not required and does
 * nothing; kdpc does the same. IRQL: <= DISPATCH_LEVEL.
 */
static inline void PoStartNextPowerIrp(PIRP Irp)
{
    kdpc_PoStartNextPowerIrp(Irp);
}
/**
 * PoCallDriver - pass a power IRP to @DeviceObject's driver; since Windows
 * Vista it is the same as IoCallDriver (same checks, same return).
 * IRQL: <= DISPATCH_LEVEL.
 */
static inline NTSTATUS PoCallDriver(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    return kdpc_PoCallDriver(DeviceObject, Irp);
}
/**
 * PoSetPowerState - tell the power manager @DeviceObject is now in device
 * power state @State (Type DevicePowerState). Return: the previous device
 * power state (D0 for a device never set). Drivers pass DevicePowerState;
 * Divergence: for SystemPowerState kdpc records nothing and returns @State.
 * IRQL: <= APC_LEVEL (<= DISPATCH_LEVEL when setting D0).
 * Bugchecks: io.invalid_object (0x50 / 0x1E) when @DeviceObject is not a live device object.
 */
static inline POWER_STATE PoSetPowerState(PDEVICE_OBJECT DeviceObject, POWER_STATE_TYPE Type,
                                          POWER_STATE State)
{
    return kdpc_PoSetPowerState(DeviceObject, Type, State);
}
/**
 * PoRequestPowerIrp - allocate an IRP_MJ_POWER IRP with @MinorFunction
 * (IRP_MN_SET_POWER or IRP_MN_QUERY_POWER) for the device power state
 * @PowerState.DeviceState and send it to the top of the device stack that
 * holds @DeviceObject (usually the PDO). When the stack completes it,
 * @CompletionFunction (may be NULL) is called and the IRP freed.
 * @Irp (may be NULL) receives the IRP. IRQL: <= DISPATCH_LEVEL.
 * Return: STATUS_PENDING (the IRP was sent; the result comes through the
 * callback); STATUS_INVALID_PARAMETER_2 (another minor function: wait/wake
 * and power sequences are not modelled, or a device state outside D0..D3);
 * STATUS_INSUFFICIENT_RESOURCES.
 * Bugchecks: io.invalid_object (0x50 / 0x1E) when @DeviceObject is not a live device object.
 */
static inline NTSTATUS PoRequestPowerIrp(PDEVICE_OBJECT DeviceObject, UCHAR MinorFunction,
                                         POWER_STATE PowerState,
                                         PREQUEST_POWER_COMPLETE CompletionFunction, PVOID Context,
                                         PIRP *Irp)
{
    return kdpc_PoRequestPowerIrp(DeviceObject, MinorFunction, PowerState, CompletionFunction,
                                  Context, Irp);
}

KDPC_END_DECLS

#endif /* KDPC_WDM_POWER_H */
