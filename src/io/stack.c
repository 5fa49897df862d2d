/* SPDX-License-Identifier: MIT */
/*
 * stack.c - device stacks: IoAttachDeviceToDeviceStack, IoDetachDevice.
 *
 * Objects: a device that is not a live device object is the access
 * fault Windows takes (io.invalid_object: 0x50 / 0x1E, validate.c); a
 * detach from a device with nothing attached is Verifier's 0xC9/0x202
 * ("detach called twice", P4 = the device). Off or a warning: nothing done.
 */
#include "io/io.h"
#include "verifier/ddiirql.h"

PDEVICE_OBJECT kdpc_IoAttachDeviceToDeviceStack(PDEVICE_OBJECT SourceDevice,
                                                PDEVICE_OBJECT TargetDevice)
{
    kdpc__cpu *c;
    kdpc_machine *m = kdpc__ke_ctx("IoAttachDeviceToDeviceStack", &c);
    kdpc_routine_ptr fn = KDPC_RP(kdpc_IoAttachDeviceToDeviceStack);
    if (m == NULL ||
        !kdpc__io_need(m, "IoAttachDeviceToDeviceStack", fn, SourceDevice, KDPC_IOK_DEVICE) ||
        !kdpc__io_need(m, "IoAttachDeviceToDeviceStack", fn, TargetDevice, KDPC_IOK_DEVICE))
        return NULL;
    PDEVICE_OBJECT top = TargetDevice;
    while (top->AttachedDevice != NULL) {
        if (!kdpc__io_need(m, "IoAttachDeviceToDeviceStack", fn, top->AttachedDevice,
                           KDPC_IOK_DEVICE))
            return NULL; /* an AttachedDevice the driver overwrote */
        top = top->AttachedDevice;
    }
    if (top == SourceDevice)
        return NULL; /* already on this stack */
    top->AttachedDevice = SourceDevice;
    SourceDevice->StackSize = (CCHAR)(top->StackSize + 1);
    SourceDevice->AlignmentRequirement = top->AlignmentRequirement;
    kdpc__ke_point(m);
    return top;
}

void kdpc_IoDetachDevice(PDEVICE_OBJECT TargetDevice)
{
    kdpc__cpu *c;
    kdpc_machine *m = kdpc__ke_ctx("IoDetachDevice", &c);
    if (m == NULL || !kdpc__io_need(m, "IoDetachDevice", KDPC_RP(kdpc_IoDetachDevice), TargetDevice,
                                    KDPC_IOK_DEVICE))
        return;
    (void)kdpc__ddi_irql_ok(m, c->irql, "IoDetachDevice", (uintptr_t)TargetDevice); /* goes on */
    if (TargetDevice->AttachedDevice == NULL) {
        kdpc__violation(m, KDPC_R_IO_INVALID_OBJECT, 0xC9, 0x202,
                        (uintptr_t)__builtin_return_address(0), 0, (uintptr_t)TargetDevice, NULL,
                        "IoDetachDevice(%p): nothing is attached to this device (detached twice?)",
                        (void *)TargetDevice);
        return;
    }
    kdpc__io_pnp_on_detach(m, TargetDevice, (uintptr_t)__builtin_return_address(0)); /* goes on */
    TargetDevice->AttachedDevice = NULL;
    kdpc__io_device_detached(m, kdpc__io_devrec(m, TargetDevice)); /* a deleted one goes now */
}
