/* SPDX-License-Identifier: MIT */
/*
 * client.h - a requester of the XF-1 driver, as another kernel component
 * would be one: IoGetDeviceObjectPointer on the \DosDevices name, IOCTL
 * IRPs built with IoBuildDeviceIoControlRequest against that file object,
 * a completion routine that counts how many times each request completed.
 * Simulated code, PASSIVE_LEVEL.
 */
#ifndef PNPDRV_CLIENT_H
#define PNPDRV_CLIENT_H

#include "pnpdrv.h"

typedef struct xf_client {
    PFILE_OBJECT File;
    PDEVICE_OBJECT Device;
} xf_client;

/* One TRANSFORM request, its buffers and what became of it. */
typedef struct xf_req {
    UCHAR In[PNPDRV_MAX_DATA];
    UCHAR Out[PNPDRV_MAX_DATA];
    ULONG Len;
    IO_STATUS_BLOCK Iosb;
    KEVENT Done;
    volatile LONG Completions; /* times the IRP completed (must end at 1) */
    NTSTATUS CallStatus;       /* what IoCallDriver returned */
    BOOLEAN Sent;
} xf_req;

/* Called (when set) from each request's completion routine, at its IRQL (<= DISPATCH_LEVEL). */
extern void (*xf_completion_hook)(xf_req *r);

NTSTATUS xf_open(xf_client *c);
void xf_close(xf_client *c);
/* Fill @r with @len bytes derived from @seed and send it; returns IoCallDriver's status. */
NTSTATUS xf_send(xf_client *c, xf_req *r, ULONG len, ULONG seed);
/* Wait for @r (with a virtual timeout of @ms; 0: none); the final status, STATUS_TIMEOUT. */
NTSTATUS xf_wait(xf_req *r, ULONG ms);
/* @r completed with success and the right bytes. */
BOOLEAN xf_data_ok(const xf_req *r);
/* IOCTL_PNPDRV_GET_STATS. */
NTSTATUS xf_stats(xf_client *c, PNPDRV_STATS *s);

#endif /* PNPDRV_CLIENT_H */
