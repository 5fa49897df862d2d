/* SPDX-License-Identifier: MIT */
/*
 * stack.c - device stacks: IoAttachDeviceToDeviceStack, IoDetachDevice.
 */
#include "io/io.h"

PDEVICE_OBJECT kdpc_IoAttachDeviceToDeviceStack(PDEVICE_OBJECT SourceDevice,
                                                PDEVICE_OBJECT TargetDevice)
{
    kdpc__cpu *c;
    kdpc_machine *m = kdpc__ke_ctx("IoAttachDeviceToDeviceStack", &c);
    if (m == NULL || SourceDevice == NULL || TargetDevice == NULL)
        return NULL;
    PDEVICE_OBJECT top = TargetDevice;
    while (top->AttachedDevice != NULL)
        top = top->AttachedDevice;
    top->AttachedDevice = SourceDevice;
    SourceDevice->StackSize = (CCHAR)(top->StackSize + 1);
    SourceDevice->AlignmentRequirement = top->AlignmentRequirement;
    kdpc__ke_point(m);
    return top;
}

void kdpc_IoDetachDevice(PDEVICE_OBJECT TargetDevice)
{
    if (TargetDevice != NULL)
        TargetDevice->AttachedDevice = NULL;
}
