/* SPDX-License-Identifier: MIT */
/*
 * io.h - internal state of the I/O manager: driver and device objects.
 */
#ifndef KDPC_IO_H
#define KDPC_IO_H

#include "ke/ke.h"

typedef struct kdpc__devrec kdpc__devrec;

typedef struct kdpc__drvrec {
    DRIVER_OBJECT obj;
    DRIVER_EXTENSION ext;
    UNICODE_STRING registry_path;
    kdpc_machine *m;
    struct kdpc__drvrec *next;
    WCHAR names[]; /* DriverName, then RegistryPath */
} kdpc__drvrec;

struct kdpc__devrec {
    DEVICE_OBJECT obj;
    /* StartIo state (startio.c) */
    bool deferred_startio, noncancelable;
    unsigned startio_depth;
    bool next_requested; /* IoStartNextPacket deferred while StartIo runs */
    bool next_cancelable, next_bykey;
    ULONG next_key;
    uint64_t flow_startio_cpus; /* irp-flow (callcheck.c): CPUs inside its StartIo now */
    size_t ext_size;
    kdpc__devrec *next; /* every device of the machine */
    WCHAR *name;
    unsigned char *wext; /* the extension on watched pages of its own (cfg.watch_device_extensions),
                            else NULL: it is ext[] */
    /* area pnp (pnpcheck.c): registered with WMI (IoWMIRegistrationControl), not deregistered */
    bool wmi_registered;
    /* IoDeleteDevice'd with a device still attached above it: freed when that one detaches, as
     * Windows keeps a deleted device object while something is attached to it (device.c) */
    bool delete_pending;
    _Alignas(16) unsigned char ext[];
};

/* Bytes of the device record itself (its extension included unless it is watched apart). */
static inline size_t kdpc__io_devrec_bytes(const kdpc__devrec *d)
{
    return sizeof(*d) + (d->wext != NULL ? 0 : d->ext_size);
}

typedef struct kdpc__iolink {
    struct kdpc__iolink *next, *prev;
} kdpc__iolink;

typedef struct kdpc__iomem {
    kdpc__iolink link;
    _Alignas(16) unsigned char data[];
} kdpc__iomem;

#define KDPC_IO_NOTES 12u /* notes kept per IRP for its history in reports */

/* Bookkeeping in front of every IRP kdpc allocates (irp.c). */
typedef struct kdpc__irprec {
    uint32_t magic;
    kdpc_machine *m;
    struct kdpc__irprec *next, *prev;
    PDEVICE_OBJECT device; /* last IoCallDriver target */
    bool dispatched, completed, queued, started, lost_reported;
    bool thread_irp;    /* built for a waiting thread: freed at completion */
    bool sysbuf_owned;  /* SystemBuffer allocated by the builder */
    bool mdl_owned;     /* MdlAddress allocated by the builder */
    ULONG user_out_len; /* caller's output buffer length (buffered copy-back never exceeds it) */
    bool pio_flushed;   /* KeFlushIoBuffers(its MDL, read, not DMA) was called */
    bool dma_used;      /* its MDL went through DMA */
    uint32_t serial;    /* unique per machine and request: tells a reused address, or the
                           IRP after IoReuseIrp, from this request */
    uint64_t pending_marks; /* bit L-1: location L passed completion marked pending (L <= 64) */
    /* Index by MDL (irp.c, KeFlushIoBuffers): the MdlAddress kdpc last saw in the IRP, the
     * other IRPs indexed under it, and the flush count at that moment. */
    PMDL mdl_key;
    struct kdpc__irprec *mdl_next, *mdl_prev;
    uint64_t flush_seen;
    /* History for reports (kdpc__io_irp_note): the last KDPC_IO_NOTES notes, note k at
     * k % KDPC_IO_NOTES, formatted only when a report prints them (kdpc__io_irp_history) */
    struct kdpc__irpnote {
        const char *fmt; /* a string literal */
        uintptr_t arg[2];
    } notes[KDPC_IO_NOTES];
    uint32_t nnotes; /* notes since the request began */
    /* area pnp (pnpcheck.c): the lowest stack location a dispatch routine got the IRP at (0:
     * none yet); a PnP IRP's status was once other than STATUS_NOT_SUPPORTED (answered) */
    CHAR low_loc;
    bool pnp_answered;
    /* irp-life (irplife.c): where the IRP came from; out: IoCallDriver sent it and no
     * IoCompleteRequest has handed it back yet; event_was_set: its UserEvent was signaled when
     * its maker sent it; ex_failed: the last IoSetCompletionRoutineEx on it failed */
    uint8_t origin; /* kdpc__irp_origin */
    bool out;
    bool event_was_set;
    bool ex_failed;
    /* irp-flow (callcheck.c): location and device of the dispatch routine running on it (0,
     * NULL: none); the status and location of its last IoCompleteRequest since it was last sent
     * (done_valid) */
    int flow_disp_loc;
    PDEVICE_OBJECT flow_disp_dev;
    struct kdpc__thread *flow_disp_thread; /* where that routine runs: thread, CPU context */
    uint32_t flow_disp_isr, flow_disp_no_switch;
    bool flow_below;           /* that routine sent it on and the driver below still has it */
    uint32_t flow_completions; /* IoCompleteRequest calls on it so far */
    bool flow_done_valid;
    int flow_done_loc;
    NTSTATUS flow_done_status;
    bool flow_cancelled; /* IoCancelIrp was called on it, at flow_cancel_ns */
    uint64_t flow_cancel_ns;
    struct kdpc__thread *flow_issuer; /* sent by this thread with UserIosb or UserEvent on its
                                         stack [flow_stack_lo, flow_stack_hi) */
    uintptr_t flow_stack_lo, flow_stack_hi;
    IRP irp; /* stack locations follow */
} kdpc__irprec;

/* Who made an IRP (kdpc__irprec.origin; irplife.c). */
typedef enum kdpc__irp_origin {
    KDPC_IRP_FROM_SYSTEM = 0, /* the I/O or PnP manager (a request it sends a driver) */
    KDPC_IRP_FROM_ALLOCATE,   /* IoAllocateIrp */
    KDPC_IRP_FROM_DEVCTL,     /* IoBuildDeviceIoControlRequest */
    KDPC_IRP_FROM_SYNC_FSD,   /* IoBuildSynchronousFsdRequest */
    KDPC_IRP_FROM_ASYNC_FSD   /* IoBuildAsynchronousFsdRequest */
} kdpc__irp_origin;

/* Kinds of I/O manager objects kdpc knows by address (validate.c). */
typedef enum kdpc__iokind {
    KDPC_IOK_NONE = 0,
    KDPC_IOK_IRP,
    KDPC_IOK_DEVICE,
    KDPC_IOK_DRIVER,
    KDPC_IOK_WORKITEM,
    KDPC_IOK_MDL,
    KDPC_IOK_CONTROLLER,
    KDPC_IOK_ADAPTER,
    KDPC_IOK_ERRLOG,
    KDPC_IOK_CSQ
} kdpc__iokind;

#define KDPC_IO_RETIRED 256u /* freed objects remembered for double-free reports */
#define KDPC_IO_GONE    16u  /* IRPs freed while their dispatch routine ran */
#define KDPC_IO_FLUSHES 64u  /* last KeFlushIoBuffers calls, for MdlAddress kdpc did not see set */

/* area pnp: device objects of a PnP stack pnpcheck.c follows */
#define KDPC_IO_PNP_STACK 32u

/* What io tells the PnP layer above it (io never calls pnp: pnp sets these at init). */
typedef struct kdpc__io_pnp_hooks {
    /* the last file object open on @dev's stack was closed (file.c) */
    void (*last_close)(kdpc_machine *m, PDEVICE_OBJECT dev);
    /* memory [@lo, @lo + @bytes) goes away: drop the remove locks tracked inside it */
    void (*forget_range)(kdpc_machine *m, const void *lo, size_t bytes);
    /* a driver was loaded: start the plugged devices that name it */
    void (*driver_loaded)(kdpc_machine *m, PDRIVER_OBJECT driver, const char *name);
    /* kdpc_driver_unload(@driver): remove the device stacks it has devices in, before
     * DriverUnload runs; STATUS_SUCCESS or why it cannot */
    NTSTATUS (*driver_unloading)(kdpc_machine *m, PDRIVER_OBJECT driver);
    void (*free)(kdpc_machine *m); /* kdpc__io_free, first */
    /* area power: IoDeleteDevice(@dev) will free its extension [@ext, @ext + @bytes) (a report
     * from here leaves the device whole) */
    void (*device_deleting)(kdpc_machine *m, PDEVICE_OBJECT dev, const void *ext, size_t bytes);
    /* area power: dispatch routine @fn of @dev returns, its IRP @irp completed past it (@irp is
     * an address only: it may be freed) */
    void (*dispatch_done)(kdpc_machine *m, PDEVICE_OBJECT dev, PIRP irp, PDRIVER_DISPATCH fn);
    /* area power: IoCallDriver(@dev, @irp), before the next location becomes current */
    void (*forwarding)(kdpc_machine *m, PIRP irp, PDEVICE_OBJECT dev);
} kdpc__io_pnp_hooks;

/* dispatch (dispatchcheck.c): one dispatch routine running, from IoCallDriver's call to its
 * return; kdpc__io.dframes holds them (used: in use). */
typedef struct kdpc__dispframe {
    bool used;
    bool forwarded;        /* the routine sent the IRP on (IoCallDriver) and got lower_status */
    bool completed;        /* the completion walk went past this location: completed_status */
    bool completed_marked; /* ... and found it marked pending */
    KIRQL irql;            /* at the call */
    int loc;               /* the IRP's location for the routine */
    uint32_t serial;       /* the IRP record's */
    unsigned cpu, held;    /* CPU at the call, spin locks it held then */
    uint32_t isr_depth, no_switch; /* that CPU's context then: a nested ISR or DPC is not it */
    LONG apc;                      /* critical + guarded regions of the thread at the call */
    NTSTATUS lower_status, completed_status;
    kdpc__thread *thread;
    PIRP irp;
    PDEVICE_OBJECT dev;
    PDRIVER_DISPATCH routine;
    uint64_t seq; /* order of calls: the innermost frame of a thread has the highest */
    /* area dispatch (queuedcheck.c): the IRP's Tail.Overlay.ListEntry links at the call */
    LIST_ENTRY links_at_call;
} kdpc__dispframe;
#define KDPC_IO_DFRAMES 64u /* dispatch routines running at once, all threads (more: unchecked) */

typedef struct kdpc__io {
    kdpc__drvrec *drivers;
    kdpc__devrec *devices;
    kdpc__iolink mem;                     /* list of I/O manager allocations (work items) */
    kdpc__irprec *irps;                   /* every IRP allocated and not freed */
    kdpc__ptrmap irp_map;                 /* IRP address -> its record */
    struct adapter *adapters;             /* DMA adapters (dma.c) */
    struct kdpc__controller *controllers; /* controller objects (controller.c) */
    KSPIN_LOCK cancel_lock;               /* the system-wide cancel spin lock (4.20) */
    struct kdpc__errlog *errlog;          /* written error log entries */
    size_t nerrlog, caperrlog;
    /* Object registry (validate.c): every live object but IRPs, address -> kdpc__iokind; the
     * KDPC_IO_RETIRED objects freed last, address -> ring index + 1. */
    kdpc__ptrmap objs, retired;
    uintptr_t retired_addr[KDPC_IO_RETIRED];
    uint8_t retired_kind[KDPC_IO_RETIRED];
    unsigned retired_next;
    uint32_t irp_serial;
    struct {
        uint32_t serial;
        uint64_t marks;
    } gone[KDPC_IO_GONE];
    unsigned gone_next;
    /* KeFlushIoBuffers (irp.c): MDL address -> first IRP record indexed under it; the calls so
     * far; the last KDPC_IO_FLUSHES of them, at call number % KDPC_IO_FLUSHES */
    kdpc__ptrmap mdl_irps;
    uint64_t flushes;
    struct {
        PMDL mdl;
        bool read, dma;
    } flush_ring[KDPC_IO_FLUSHES];
    void *pnp; /* the PnP manager's state (src/pnp/pnp.h), created on first use */
    kdpc__io_pnp_hooks pnp_hooks; /* set by the PnP layer (kdpc__pnp_init); NULL members: none */
    struct kdpc__symlink *links;  /* symbolic links (symlink.c) */
    struct kdpc__filerec *files;  /* file objects not yet closed (file.c) */
    /* dispatch (dispatchcheck.c): dispatch routines running now */
    kdpc__dispframe dframes[KDPC_IO_DFRAMES];
    uint64_t dframe_seq;
    unsigned dframes_used, dframes_top; /* frames in use; 1 + the highest index ever used */
    /* area pnp (pnpcheck.c): the IRP_MJ_PNP IRP the PnP manager has outstanding (NULL: none),
     * its minor code, its PDO and the device objects above it when sent (bottom up), set by the
     * PnP layer around the send; the lowest of them the IRP reached (0 the PDO, i + 1
     * pnp_stack[i]) */
    PIRP pnp_irp;
    UCHAR pnp_minor;
    PDEVICE_OBJECT pnp_pdo;
    PDEVICE_OBJECT pnp_stack[KDPC_IO_PNP_STACK];
    unsigned pnp_nstack, pnp_low;
} kdpc__io;

static inline kdpc__io *kdpc__io_of(const kdpc_machine *m)
{
    return (kdpc__io *)kdpc__ke_of(m)->io;
}

/* The last file object open on @dev's stack was closed: tell the PnP layer (its hook). */
static inline void kdpc__io_last_close(kdpc_machine *m, PDEVICE_OBJECT dev)
{
    kdpc__io *io = kdpc__io_of(m);
    if (io->pnp_hooks.last_close != NULL)
        io->pnp_hooks.last_close(m, dev);
}

int kdpc__io_init(kdpc_machine *m);
void kdpc__io_free(kdpc_machine *m);
/* Free a device record without checks (driver teardown). */
void kdpc__io_device_free(kdpc_machine *m, kdpc__devrec *d);
/* IoDetachDevice took the device above @d off it: a deletion it was waiting for ends (device.c) */
void kdpc__io_device_detached(kdpc_machine *m, kdpc__devrec *d);
kdpc__devrec *kdpc__io_devrec(kdpc_machine *m, PDEVICE_OBJECT dev);
bool kdpc__io_in_device(const kdpc__devrec *d, const void *addr);
/* "\Device\Name of \Driver\name" (or "an unnamed device of ...") for reports. */
const char *kdpc__io_device_label(const kdpc__devrec *d, char *buf, size_t n);
/* Zeroed allocation owned by the I/O manager, freed at destroy if the driver does not. */
void *kdpc__io_alloc(kdpc_machine *m, size_t size);
void kdpc__io_free_mem(kdpc_machine *m, void *p);
/* The device an I/O work item's WORK_QUEUE_ITEM belongs to, and the IO_WORKITEM in *what; NULL
 * for an executive work item. */
PDEVICE_OBJECT kdpc__io_work_device(PWORK_QUEUE_ITEM item, void **what);
/* ke's devqueue_inserted hook (startio.c): the irp-queue event of a driver's KeInsertDeviceQueue. */
void kdpc__io_devqueue_inserted(kdpc_machine *m, const void *queue, const void *entry);
void kdpc__io_mem_init(kdpc__io *io);
kdpc__irprec *kdpc__io_irprec(PIRP irp); /* NULL for an IRP kdpc did not allocate */
/*
 * kdpc__io_irp_note(irp, "literal format", up to two arguments): a step of the IRP's history for
 * reports. It is on the path of every IoCallDriver and IoCompleteRequest, so it only stores the
 * format and the arguments (each as a uintptr_t: integers and pointers); kdpc__io_irp_history
 * formats them when a report prints them. Conversions: %p %s %d %u %x %ld %lu %lx (with '#'),
 * %%. The format is checked as printf's at compile time (the call in `if (0)` never runs).
 */
#define kdpc__io_irp_note(irp, ...)                                                                \
    do {                                                                                           \
        if (0)                                                                                     \
            kdpc__io_irp_note_check(__VA_ARGS__);                                                  \
        kdpc__io_irp_note_((irp), KDPC__IO_NOTE_ARGS(__VA_ARGS__, 0, 0, 0));                       \
    } while (0)
#define KDPC__IO_NOTE_ARGS(fmt, a, b, ...) "" fmt, (uintptr_t)(a), (uintptr_t)(b)
void kdpc__io_irp_note_(PIRP irp, const char *fmt, uintptr_t a, uintptr_t b);
static inline void kdpc__io_irp_note_check(const char *fmt, ...)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;
static inline void kdpc__io_irp_note_check(const char *fmt, ...)
{
    (void)fmt;
}
/* The history of @r ("-" when empty; "... > " first when older notes were dropped) in @buf of
 * @n bytes, cut at the front to fit; returns @buf. */
const char *kdpc__io_irp_history(const kdpc__irprec *r, char *buf, size_t n);
PIRP kdpc__io_new_irp(kdpc_machine *m, CCHAR stack);
/* Irp->MdlAddress = mdl, kept in KeFlushIoBuffers' index (irp.c); every place kdpc sets
 * MdlAddress goes through it. */
void kdpc__io_irp_set_mdl(kdpc_machine *m, PIRP irp, PMDL mdl);
void kdpc__io_irps_free(kdpc_machine *m);
void kdpc__io_irps_at_quiescence(kdpc_machine *m);
void kdpc__io_errlog_free(kdpc_machine *m);
/* At IoCompleteRequest: DMA grants and controllers still held for the IRP (dma.c,
 * controller.c). *used is set when the IRP went through DMA. */
void kdpc__io_dma_completion(kdpc_machine *m, PIRP irp, bool *used);
/* Run an AdapterControl / ControllerControl routine for @dev's current IRP at
 * DISPATCH_LEVEL (controller.c). */
IO_ALLOCATION_ACTION kdpc__io_call_control(PDRIVER_CONTROL routine, PDEVICE_OBJECT dev, PVOID base,
                                           PVOID ctx);
void kdpc__io_controller_completion(kdpc_machine *m, PIRP irp);
void kdpc__io_dma_free(kdpc_machine *m);
/* At IoDeleteDevice of @dev: adapters IoGetDmaAdapter gave for it and never put back
 * (dma.adapter_not_put; dma.c). */
void kdpc__io_dma_device_deleted(kdpc_machine *m, const DEVICE_OBJECT *dev);
/* Gives the device layer's DMA engine its view of the DMA map (kdpc__dev_hooks.dma_host,
 * .dma_unmapped; at kdpc__io_init). */
void kdpc__io_dma_init(kdpc_machine *m);
void kdpc__io_controllers_free(kdpc_machine *m);
void kdpc__io_mem_free_all(kdpc__io *io);

/* Object names (symlink.c): the longest name in the object namespace kdpc handles, in WCHARs. */
#define KDPC_IO_NAME_MAX 1024u
/* Resolve @name (@len WCHARs) through symbolic links ("\DosDevices\", "\GLOBAL??\" as "\??\")
 * to a named device: *dev, and in @rest (KDPC_IO_NAME_MAX WCHARs) / *rest_len what followed the
 * device's name ("" or "\..."). Return: STATUS_SUCCESS, STATUS_OBJECT_NAME_INVALID,
 * STATUS_OBJECT_NAME_NOT_FOUND. */
NTSTATUS kdpc__io_resolve(kdpc_machine *m, const WCHAR *name, size_t len, kdpc__devrec **dev,
                          WCHAR *rest, size_t *rest_len);
void kdpc__io_links_free(kdpc_machine *m);
/* Open files (file.c). */
/* File objects open (not yet closed) on the device stack @dev belongs to: for PnP, which
 * sends IRP_MN_REMOVE_DEVICE after a surprise removal only when it is 0. */
size_t kdpc__io_open_count(kdpc_machine *m, PDEVICE_OBJECT dev);
/* symlink.c: false, after reporting io.passive_irql, unless the caller runs at PASSIVE_LEVEL
 * (IoCreateSymbolicLink, IoDeleteSymbolicLink, IoGetDeviceObjectPointer). */
bool kdpc__io_passive_ok(kdpc_machine *m, const kdpc__cpu *c, const char *routine);
/* symlink.c: IoCreateSymbolicLink / IoDeleteSymbolicLink without their IRQL check, for the
 * kernel's own links (a device interface's, IoSetDeviceInterfaceState): the driver's call is
 * checked once, by the routine it called. */
NTSTATUS kdpc__io_symlink_create(kdpc_machine *m, PUNICODE_STRING SymbolicLinkName,
                                 PUNICODE_STRING DeviceName);
NTSTATUS kdpc__io_symlink_delete(kdpc_machine *m, PUNICODE_STRING SymbolicLinkName);
/* The calling simulated thread when it runs at PASSIVE_LEVEL on a CPU and is no idle context:
 * where the native calls that send IRPs or wait may run. NULL otherwise (the host, an idle
 * context, a raised IRQL). */
static inline kdpc__thread *kdpc__io_passive_thread(void)
{
    kdpc__thread *t = kdpc__self();
    return t != NULL && t->cpu != NULL && !t->idle && t->cpu->irql == PASSIVE_LEVEL ? t : NULL;
}
/* @d is being freed: files opened on it get no more IRPs. */
void kdpc__io_files_device_gone(kdpc_machine *m, kdpc__devrec *d);
void kdpc__io_files_free(kdpc_machine *m);

/* What a teardown takes away: one driver, one device, or the whole machine. */
typedef struct kdpc__scope {
    kdpc__drvrec *driver;
    kdpc__devrec *device;
    bool all;
} kdpc__scope;

/* The driver whose code the CPU @c runs from now on is @driver (its DRIVER_OBJECT, which is
 * kdpc's record of it): IoCallDriver around a dispatch routine, so that the pool it allocates,
 * the DPCs it initialises and the threads it creates are its own driver's, not its caller's
 * (mem.leak). Returns the one before, to be given back the same way (driver.c). */
void *kdpc__io_enter_driver(kdpc__cpu *c, void *driver);

/* A queued DPC, a set timer or a queued work item that the teardown of @scope would leave
 * behind is unload.pending (0xCE); @what names the teardown in the report. */
void kdpc__io_check_pending(kdpc_machine *m, const kdpc__scope *scope, const char *what);
/* Take queued DPCs, set timers and queued work items inside [@p, @p + @bytes) out of their
 * queues: the memory is about to be freed (pending.c). */
void kdpc__io_unqueue_inside(kdpc_machine *m, const void *p, size_t bytes);

/* irp-life checks (irplife.c): the life of IRPs a driver makes itself. Each reports its rule
 * and returns whether the call goes on (false: leave the IRP alone, as the rule's warning says). */
/* The name of an origin, for reports ("IoAllocateIrp"). */
const char *kdpc__io_origin_name(uint8_t origin);
/* IoReuseIrp(@r's IRP): io.reuse_not_allocated, io.reuse_in_use. */
bool kdpc__io_life_reuse(kdpc_machine *m, kdpc__irprec *r, uintptr_t caller);
/* IoCallDriver(@dev, @r's IRP), before the next location is made current:
 * io.local_no_completion, io.completion_ex_unchecked; notes the UserEvent's state at its
 * maker's send. */
void kdpc__io_life_call(kdpc_machine *m, kdpc__irprec *r, PDEVICE_OBJECT dev);
/* IoCompleteRequest(@r's IRP), once it is known live and not completed: the IRP is back from
 * the lower driver; io.completion_ex_unsent (completionex.c). */
void kdpc__io_life_complete(kdpc_machine *m, kdpc__irprec *r);
/* The driver's completion routine behind @routine with @context: the one given to
 * IoSetCompletionRoutineEx when @routine is the routine it set in its place (completionex.c). */
PIO_COMPLETION_ROUTINE kdpc__io_ex_driver_routine(PIO_COMPLETION_ROUTINE routine, PVOID context);
/* The I/O manager is about to signal the UserEvent of @r's IRP: io.build_event_set. */
void kdpc__io_life_event(kdpc_machine *m, kdpc__irprec *r);
/* IoBuild*: a buffer of @len bytes at @buf the builder must read or lock (@code 0x08 with
 * @what = the major function, 0x09 with @what = the control code): io.build_bad_buffer. */
bool kdpc__io_life_buffer_ok(kdpc_machine *m, const char *routine, PDEVICE_OBJECT dev,
                             uint32_t code, ULONG what, const void *buf, ULONG len);

/* dispatch checks (dispatchcheck.c): what dispatch, completion and cancel routines return and
 * leave behind. Each reports its rules and goes on as a free kernel would. */
/* IoCallDriver is about to call @d for @irp at location @loc: NULL when not tracked. */
kdpc__dispframe *kdpc__io_dispatch_enter(kdpc_machine *m, PDEVICE_OBJECT dev, PIRP irp,
                                         PDRIVER_DISPATCH d, int loc);
/* ... and @f's routine returned @st: dpc.lock_held, io.irql_changed, io.apc_disable_changed,
 * io.bad_status, io.pending_not_marked, io.cancelled_pending, io.irp_unfinished,
 * io.status_mismatch; frees @f. */
void kdpc__io_dispatch_exit(kdpc_machine *m, kdpc__dispframe *f, NTSTATUS st);
/* IoCompleteRequest(@irp) by a driver: io.complete_owned_below. */
void kdpc__io_dispatch_complete(kdpc_machine *m, PIRP irp);
/* The completion walk of @irp reaches its current location. */
void kdpc__io_dispatch_passing(kdpc_machine *m, PIRP irp);
/* Call a completion routine: io.irql_changed, io.apc_disable_changed,
 * io.completion_not_pending, io.completion_event_pending, io.completion_no_signal. */
NTSTATUS kdpc__io_call_completion(kdpc_machine *m, PIO_COMPLETION_ROUTINE routine,
                                  PDEVICE_OBJECT dev, PIRP irp, PVOID context);
/* Call a cancel routine (the cancel spin lock held): dpc.lock_held for the other locks. */
void kdpc__io_call_cancel(kdpc_machine *m, PDRIVER_CANCEL routine, PDEVICE_OBJECT dev, PIRP irp);
/* The dispatch routine running in the caller's context (thread and CPU context), or NULL. */
kdpc__dispframe *kdpc__io_dispatch_current(kdpc_machine *m);
/* queuedcheck.c: ke's irp_queued hook (io.queued_before_marked), set by kdpc__io_init. */
void kdpc__io_irp_queued(kdpc_machine *m, const void *lock, const void *entry);
/* Whether location @loc of the IRP whose record had @serial was marked pending (irp.c). */
bool kdpc__io_marked_pending(kdpc_machine *m, PIRP irp, uint32_t serial, int loc);

/* irp-flow checks (callcheck.c): IoCallDriver, IoCompleteRequest, StartIo, forwarding. Each
 * reports its rules and goes on as a free kernel would. @caller: the driver's return address. */
/* IoCallDriver(@dev, @irp) on @c, both valid, before the next location is made current (@r:
 * kdpc__io_irprec(@irp), looked up once by IoCallDriver / IoCompleteRequest for this and the
 * pnp and power checks below):
 * io.call_irql, io.call_cancelable, io.stack_short, io.forward_irql, io.forward_apc_irql,
 * io.bad_stack_copy, io.copy_without_completion, io.skipped_device. */
void kdpc__io_flow_call(kdpc_machine *m, const kdpc__cpu *c, PDEVICE_OBJECT dev, PIRP irp,
                        kdpc__irprec *r, uintptr_t caller);
/* What kdpc__io_flow_enter saved, for kdpc__io_flow_leave. */
typedef struct kdpc__io_flow {
    int loc;
    PDEVICE_OBJECT dev;
    struct kdpc__thread *thread;
    uint32_t isr, no_switch;
    bool below;
    uint32_t completions; /* flow_completions when it was sent */
    bool event_signaled;  /* the issuer's UserEvent was signaled when it sent the IRP */
} kdpc__io_flow;
/* Around the dispatch routine of @r's IRP at location @loc of @dev, and after it returned @st
 * (the IRP, whose record had @serial, may be gone by then): io.signaled_event. */
kdpc__io_flow kdpc__io_flow_enter(kdpc_machine *m, kdpc__irprec *r, PDEVICE_OBJECT dev, int loc);
void kdpc__io_flow_leave(kdpc_machine *m, PIRP irp, uint32_t serial, const kdpc__io_flow *f,
                         NTSTATUS st, uintptr_t caller, PDEVICE_OBJECT dev);
/* IoCompleteRequest(@irp) on @c, the IRP live and not completed: io.complete_irql,
 * io.complete_lock_held, io.complete_unsent, io.status_overridden. */
void kdpc__io_flow_complete(kdpc_machine *m, const kdpc__cpu *c, PIRP irp, kdpc__irprec *r,
                            uintptr_t caller);
/* IoStartNextPacket(ByKey) of @dev (@d) on @c: io.complete_lock_held, io.startio_recursion. */
void kdpc__io_flow_start_next(kdpc_machine *m, const kdpc__cpu *c, PDEVICE_OBJECT dev,
                              kdpc__devrec *d, const char *name);
/* IoCancelIrp(@irp) set Irp->Cancel; the machine has nothing left to run (irp.c): cancelled
 * IRPs not completed in time are io.cancel_not_completed. */
void kdpc__io_flow_cancel(kdpc_machine *m, PIRP irp);
/* The completion of @irp (@r, NULL: not kdpc's) is about to write UserIosb and signal UserEvent:
 * false, after io.iosb_unwound, when they lie on the stack of a thread that has ended. */
bool kdpc__io_flow_finish(kdpc_machine *m, PIRP irp, kdpc__irprec *r);
void kdpc__io_flow_quiescent(kdpc_machine *m);
/* StartIo of @d starts on this CPU (returns whether it was inside already), and returns. */
bool kdpc__io_flow_startio_enter(kdpc__devrec *d);
void kdpc__io_flow_startio_leave(kdpc__devrec *d, bool was);

/* Every IRP not completed and where it sits, for deadlock and timeout reports (alive.c). */
void kdpc__io_describe_alive(kdpc_machine *m, FILE *f);

/*
 * Object validation (validate.c). A pointer a driver hands the I/O manager is
 * looked up in the registries first and read only when it names a live object
 * of the kind wanted whose Type and Size fields still hold what kdpc set.
 */
bool kdpc__io_register(kdpc_machine *m, const void *p, kdpc__iokind kind); /* false: no memory */
void kdpc__io_unregister(kdpc_machine *m, const void *p); /* and remember it freed */
void kdpc__io_retire(kdpc_machine *m, const void *p, kdpc__iokind kind);
kdpc__iokind kdpc__io_live_kind(kdpc_machine *m, const void *p);
/* ObReferenceObject / ObDereferenceObject of a file object (file.c, called by src/ob): one
 * reference more or less of an open (not closing) file object; the last one sends the close
 * (from a system worker thread when above PASSIVE_LEVEL). False when @object is no such file
 * object (or, for the dereference, holds no reference). */
bool kdpc__io_file_ref(kdpc_machine *m, void *object);
bool kdpc__io_file_deref(kdpc_machine *m, void *object);
kdpc__iokind kdpc__io_retired_kind(kdpc_machine *m, const void *p);
/* A live object of @kind (IRPs, devices, drivers, controllers: Type and Size checked too). */
bool kdpc__io_valid(kdpc_machine *m, const void *p, kdpc__iokind kind);
/* io.invalid_object with @code and P1..P4; returns when the rule is off or a warning. */
void kdpc__io_invalid(kdpc_machine *m, const char *routine, const void *p, kdpc__iokind want,
                      uint32_t code, uint64_t p1, uint64_t p2, uint64_t p3, uint64_t p4);
/* io.invalid_object as the fault Windows would take reading @p inside @routine (@fn): 0xA at
 * or above DISPATCH_LEVEL, 0x1E for NULL or an impossible address, else 0x50 (validate.c). */
void kdpc__io_invalid_access(kdpc_machine *m, const char *routine, kdpc_routine_ptr fn,
                             const void *p, kdpc__iokind want);
/* Validate @p as @kind for @routine; on failure report the fault as above and return false. */
bool kdpc__io_need(kdpc_machine *m, const char *routine, kdpc_routine_ptr fn, const void *p,
                   kdpc__iokind kind);
/* Caller-initialised objects (cancel-safe queues, work items) inside memory that goes away. */
void kdpc__io_forget_range(kdpc_machine *m, const void *lo, size_t bytes);
void kdpc__io_registry_free(kdpc__io *io);

/* area pnp (pnpcheck.c): Verifier's checks of PnP, power and WMI IRPs and of device objects in
 * a PnP stack. @caller: the driver's return address for P2. */
/* IoCallDriver(@dev, @irp), before the next location becomes current: pnp.irp_init,
 * pnp.system_irp (first send), pnp.irp_status (forwarding); notes the location reached. */
void kdpc__io_pnp_on_call(kdpc_machine *m, PIRP irp, kdpc__irprec *r, PDEVICE_OBJECT dev,
                          uintptr_t caller);
/* IoCompleteRequest(@irp) at its current location: pnp.irp_status, pnp.not_passed_down,
 * wmi.not_forwarded. */
void kdpc__io_pnp_on_complete(kdpc_machine *m, PIRP irp, kdpc__irprec *r, uintptr_t caller);
/* IoDetachDevice(@target) / IoDeleteDevice(@dev) of a live device: pnp.surprise_remove_delete,
 * pnp.delete_before_lower, wmi.registered. */
void kdpc__io_pnp_on_detach(kdpc_machine *m, PDEVICE_OBJECT target, uintptr_t caller);
void kdpc__io_pnp_on_delete(kdpc_machine *m, PDEVICE_OBJECT dev, uintptr_t caller);
/* The device object @dev is attached to (the next lower one), or NULL. */
PDEVICE_OBJECT kdpc__io_lower_device(kdpc_machine *m, PDEVICE_OBJECT dev);
/* An IRP_MJ_SYSTEM_CONTROL minor code that is a WMI request (wmi.c, pnpcheck.c). */
static inline bool kdpc__io_wmi_minor(UCHAR minor)
{
    return minor <= IRP_MN_EXECUTE_METHOD || minor == IRP_MN_REGINFO_EX;
}

/* area power (powercheck.c): Verifier's checks of power IRPs. IoCallDriver(@dev, @irp) forwarding
 * one (before the next location becomes current): power.irp_status; IoCompleteRequest(@irp) at
 * its current location: power.not_passed_down. @caller: the driver's return address for P2. */
void kdpc__io_power_on_call(kdpc_machine *m, PIRP irp, kdpc__irprec *r, PDEVICE_OBJECT dev,
                            uintptr_t caller);
void kdpc__io_power_on_complete(kdpc_machine *m, PIRP irp, kdpc__irprec *r, uintptr_t caller);

#endif /* KDPC_IO_H */
