/* SPDX-License-Identifier: MIT */
/*
 * client.c - the XF-1 requester of client.h: WDM calls only.
 */
#include "client.h"

#define XF_KEY 0x5A

void (*xf_completion_hook)(xf_req *r);

NTSTATUS xf_open(xf_client *c)
{
    UNICODE_STRING name;
    RtlInitUnicodeString(&name, PNPDRV_DOS_NAME);
    return IoGetDeviceObjectPointer(&name, FILE_READ_DATA | FILE_WRITE_DATA, &c->File, &c->Device);
}

void xf_close(xf_client *c)
{
    if (c->File != NULL)
        ObDereferenceObject(c->File);
    c->File = NULL;
    c->Device = NULL;
}

static NTSTATUS CountCompletion(PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID Context)
{
    (void)DeviceObject, (void)Irp;
    xf_req *r = Context;
    InterlockedIncrement(&r->Completions);
    if (xf_completion_hook != NULL)
        xf_completion_hook(r);
    return STATUS_SUCCESS; /* the I/O manager goes on: IOSB, output copy, event */
}

NTSTATUS xf_send(xf_client *c, xf_req *r, ULONG len, ULONG seed)
{
    r->Len = len;
    for (ULONG i = 0; i < len; i++)
        r->In[i] = (UCHAR)(seed * 31u + i * 7u);
    memset(r->Out, 0xEE, sizeof r->Out);
    r->Iosb.Status = (NTSTATUS)0x12345678L;
    r->Iosb.Information = 0;
    r->Completions = 0;
    KeInitializeEvent(&r->Done, NotificationEvent, FALSE);
    PIRP irp = IoBuildDeviceIoControlRequest(IOCTL_PNPDRV_TRANSFORM, c->Device, r->In, len, r->Out,
                                             len, FALSE, &r->Done, &r->Iosb);
    if (irp == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;
    IoGetNextIrpStackLocation(irp)->FileObject = c->File;
    IoSetCompletionRoutine(irp, CountCompletion, r, TRUE, TRUE, TRUE);
    r->Sent = TRUE;
    r->CallStatus = IoCallDriver(c->Device, irp);
    return r->CallStatus;
}

NTSTATUS xf_wait(xf_req *r, ULONG ms)
{
    LARGE_INTEGER t;
    t.QuadPart = -(LONGLONG)ms * 10000;
    NTSTATUS st = KeWaitForSingleObject(&r->Done, Executive, KernelMode, FALSE, ms ? &t : NULL);
    if (st != STATUS_SUCCESS)
        return st;
    /* an error completion that did not pend leaves the IOSB alone (io.md 4.19) */
    return r->CallStatus == STATUS_PENDING ? r->Iosb.Status : r->CallStatus;
}

BOOLEAN xf_data_ok(const xf_req *r)
{
    if (r->Iosb.Status != STATUS_SUCCESS || r->Iosb.Information != r->Len)
        return FALSE;
    for (ULONG i = 0; i < r->Len; i++)
        if (r->Out[i] != (UCHAR)(r->In[i] ^ XF_KEY))
            return FALSE;
    return TRUE;
}

NTSTATUS xf_stats(xf_client *c, PNPDRV_STATS *s)
{
    KEVENT ev;
    IO_STATUS_BLOCK iosb;
    KeInitializeEvent(&ev, NotificationEvent, FALSE);
    memset(s, 0, sizeof *s);
    PIRP irp = IoBuildDeviceIoControlRequest(IOCTL_PNPDRV_GET_STATS, c->Device, NULL, 0, s,
                                             sizeof *s, FALSE, &ev, &iosb);
    if (irp == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;
    IoGetNextIrpStackLocation(irp)->FileObject = c->File;
    NTSTATUS st = IoCallDriver(c->Device, irp);
    if (st == STATUS_PENDING) {
        (void)KeWaitForSingleObject(&ev, Executive, KernelMode, FALSE, NULL);
        st = iosb.Status;
    }
    return st;
}
