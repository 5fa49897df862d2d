/* SPDX-License-Identifier: MIT */
/*
 * pool.c - pool memory: ExAllocatePoolWithTag / ExAllocatePool2 /
 * ExFreePool(WithTag), pool tracking by tag, PAGED_CODE, low-resources
 * simulation, and paged pool that is really inaccessible at raised IRQL
 * (docs/facts/io.md section 7; docs/rules.md mem.*).
 *
 * DESIGN
 * Nonpaged pool comes from the host heap. Paged pool comes from one arena
 * of cfg.paged_pool_bytes reserved at machine creation. Its free space is a
 * set of coalesced ranges in offset order (base/freespace.h): an allocation
 * takes the lowest-addressed place that fits (first fit), a free gives the
 * range back and merges it with its neighbours, both O(log n) in the number
 * of free ranges; the offsets depend only on the sequence of calls.
 *
 * Whenever the CPU that runs is at DISPATCH_LEVEL or above, the used part of
 * the arena is inaccessible (as Driver Verifier's Force IRQL Checking trims
 * pageable memory, 7.8); a touch then faults at the touching instruction and
 * becomes mem.paged_touch (0xD1, P1 address, P2 IRQL, P3 0 read / 1 write,
 * P4 instruction pointer, 7.9). The fault handler only notes it (a signal
 * handler may not allocate or lock); the bug check is raised at the next
 * interleaving point of the same context, at the latest when the DPC or ISR
 * returns.
 * Protection is set eagerly when IRQL rises (or a context resumes at
 * DISPATCH_LEVEL or above) and lifted lazily, page by page: a fault while
 * the running CPU is below DISPATCH_LEVEL makes the touched page accessible
 * (with a group of pages around it that grows with every further fault, up
 * to 64 pages, so that a buffer walked in order faults a few times) and
 * notes it in a short list of open page runs; the next rise protects only
 * the pages on the list. So a flip costs what was touched since the last
 * one, not the size of the arena. When the list is full the whole arena is
 * opened (and later protected) at once; so it is between runs, when the host
 * may read paged buffers.
 * kdpc itself reads and writes blocks (zeroing, guard bytes) through the
 * arena's second view, which is never protected, so an allocation or a free
 * changes no protection.
 *
 * Every block has a record (tag, size, owner driver) so that frees are
 * checked (mem.free_active: a queued DPC, set timer or queued work item
 * inside the block) and leaks are counted per tag.
 *
 * Sizes are checked before any rounding: a request above POOL_MAX_BYTES
 * fails (NULL, or the exception ExAllocatePool2 raises with
 * POOL_FLAG_RAISE_ON_FAILURE) instead of wrapping to a tiny block.
 *
 * Overruns: every block is followed by at least one guard byte (up to the
 * next 16-byte boundary, so a block never shares its last 16 bytes with its
 * neighbour) filled with GUARD_BYTE. ExFreePool checks them, as Driver
 * Verifier's special pool checks the pattern behind a block when it is
 * freed: a changed byte is bug check 0xC1 SPECIAL_POOL_DETECTED_MEMORY_
 * CORRUPTION (P1 the block, P2 the first changed address, P4 0x24).
 * Divergence: special pool can put each block against a guard page and catch
 * the touch itself (0xCD); kdpc checks at the free, for paged and nonpaged
 * pool alike (a write of GUARD_BYTE itself goes unseen). The check is
 * mem.overrun (special pool); with special pool off, mem.overrun_tracked
 * (pool tracking, 0xC4/0x51); with both off the guard bytes are still
 * written (a few bytes) but never read.
 *
 * Bad frees (mem.bad_free, Verifier's automatic checks): a pointer that is
 * not a live block is 0xC4/0x13 when it is one of the last FREED_RING blocks
 * freed (a double free), 0x13E inside a live block, else 0x10 (NULL too); a
 * wrong tag 0xC4/0x16. With the rule off or a warning the kernel's own bug
 * check follows, as on Windows without Verifier: 0xC2 BAD_POOL_CALLER 0x07,
 * 0x46 or 0x0A, which no switch softens.
 *
 * Pool tracking: every block records the driver whose code allocated it;
 * a driver that unloads still owning blocks is mem.leak (0xC4/0x62).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kdpc/driver.h>
#include "base/freespace.h"
#include "ke/ke.h"

typedef struct blk {
    uintptr_t user;
    size_t size;
    ULONG tag;
    bool paged;
    void *base;   /* nonpaged: malloc'd pointer */
    bool watched; /* nonpaged on watched pages of its own (cfg.watch_nonpaged_pool, ke/watch.c) */
    const void *owner; /* the driver whose code allocated it (kdpc__ke_current_driver), or NULL */
    struct blk *next, *prev;
} blk;

/* A run of pages made accessible since the arena was last protected. */
typedef struct page_run {
    size_t first, n;
} page_run;

#define OPEN_RUNS      128u /* open runs noted; one more opens the whole arena */
#define OPEN_SHIFT_MAX 6u   /* a fault opens at most 2^6 pages */

#define FREED_RING 1024u /* recently freed blocks remembered for double-free reports */
#define GONE_RING  16u   /* unloaded drivers remembered for mem.alloc_unloaded */

typedef struct kdpc__pool {
    size_t want_size;      /* bytes of paged pool the config asks for (reserved at the first use) */
    bool run_faults;       /* this run enabled the fault handlers for the arena */
    kdpc__ptrmap blocks;   /* user address -> blk */
    kdpc__ptrmap freed;    /* recently freed address -> 1 + its index in freed_ring */
    uintptr_t *freed_ring; /* FREED_RING entries, allocated at the first free */
    unsigned freed_next;
    blk *all;
    unsigned char *arena;
    unsigned char *system_view; /* the same pages, never protected (locked MDLs), or NULL */
    size_t arena_size;
    size_t arena_hi;      /* end of the highest block ever handed out (page rounded) */
    kdpc__freespace free; /* the arena's free ranges */
    /* Below arena_hi: every page is accessible (all_open), or only the pages of open[]. Written
     * by the fault handler too (async-signal-safe: plain stores, no allocation). */
    bool all_open;
    unsigned nopen;
    unsigned faults; /* faults that opened pages since the arena was last protected */
    page_run open[OPEN_RUNS];
    int fault_slot;
    struct {
        volatile sig_atomic_t pending;
        uintptr_t addr, ip;
        bool write;
        KIRQL irql;
    } fault; /* written by the SIGSEGV handler, reported at the next point */
    kdpc__rng fault_rng;
    const void *gone[GONE_RING]; /* drivers unloaded lately (mem.alloc_unloaded), or NULL */
    unsigned gone_next;
    const void **lookasides; /* live lookaside lists (lookaside.misuse), unordered */
    size_t nlookasides, lookaside_cap;
} kdpc__pool;

static kdpc__pool *pool_of(const kdpc_machine *m)
{
    return (kdpc__pool *)kdpc__ke_of(m)->pool;
}

/* ------------------------------------------------------------------ */
/* Protection                                                          */

/* Makes every page below arena_hi inaccessible: the open runs only, or the whole used arena
 * when it is all open. A run the host refused to protect stays on the list. */
static void protect_all(kdpc__pool *p)
{
    p->faults = 0;
    if (p->all_open) {
        if (kdpc__pages_protect(p->arena, p->arena_hi, false) == 0) {
            p->all_open = false;
            p->nopen = 0;
        }
        return;
    }
    unsigned kept = 0;
    for (unsigned i = 0; i < p->nopen; i++) {
        page_run r = p->open[i];
        if (kdpc__pages_protect(p->arena + r.first * PAGE_SIZE, r.n * PAGE_SIZE, false) != 0)
            p->open[kept++] = r;
    }
    p->nopen = kept;
}

/* Makes the whole used arena accessible (between runs, or when the list of open runs is full). */
static void open_all(kdpc__pool *p)
{
    if (p->all_open)
        return;
    if (kdpc__pages_protect(p->arena, p->arena_hi, true) == 0) {
        p->all_open = true;
        p->nopen = 0;
        p->faults = 0;
    }
}

/* Makes @n pages from page @first accessible and notes them. Async-signal-safe (the fault
 * handler calls it). */
static void open_pages(kdpc__pool *p, size_t first, size_t n)
{
    if (p->all_open) { /* not expected (a protected page while all is open): just open it */
        (void)kdpc__pages_protect(p->arena + first * PAGE_SIZE, n * PAGE_SIZE, true);
        return;
    }
    if (p->nopen == OPEN_RUNS) {
        open_all(p);
        return;
    }
    if (kdpc__pages_protect(p->arena + first * PAGE_SIZE, n * PAGE_SIZE, true) != 0) {
        open_all(p);
        return;
    }
    page_run *last = p->nopen > 0 ? &p->open[p->nopen - 1u] : NULL;
    if (last != NULL && first <= last->first + last->n && first + n >= last->first) {
        size_t end = last->first + last->n; /* touching or overlapping: one run */
        if (first < last->first)
            last->first = first;
        if (first + n > end)
            end = first + n;
        last->n = end - last->first;
    } else {
        p->open[p->nopen++] = (page_run){first, n};
    }
}

/* A touch of @page at PASSIVE_LEVEL faulted: open it and, the more faults since the last
 * protection, the more of the pages around it (the aligned group of 1, 4, 16, then 64 pages), so
 * that a buffer walked in order costs a few faults, not one per page. A lone touch between two
 * raises still opens (and the raise protects) a single page. */
static void open_after_fault(kdpc__pool *p, size_t page)
{
    unsigned shift = p->faults < OPEN_SHIFT_MAX / 2u ? 2u * p->faults : OPEN_SHIFT_MAX;
    p->faults++;
    size_t first = page & ~(((size_t)1 << shift) - 1u);
    size_t end = first + ((size_t)1 << shift);
    if (end > p->arena_hi / PAGE_SIZE)
        end = p->arena_hi / PAGE_SIZE;
    open_pages(p, first, end - first);
}

void kdpc__pool_irql(kdpc_machine *m, const kdpc__cpu *c)
{
    kdpc__pool *p = pool_of(m);
    if (p != NULL && c->irql >= DISPATCH_LEVEL && (p->nopen != 0 || p->all_open))
        protect_all(p);
}

static void resumed_hook(kdpc_machine *m)
{
    kdpc__thread *t = kdpc__self();
    if (t != NULL && t->cpu != NULL)
        kdpc__pool_irql(m, t->cpu);
}

/*
 * Runs inside the SIGSEGV handler: only async-signal-safe work. A touch at
 * raised IRQL is noted (address, access, instruction, IRQL) and reported by
 * kdpc__pool_report_fault at the next interleaving point of the same
 * context; the page is made accessible so the access completes.
 */
static bool on_fault(void *ctx, uintptr_t addr, bool write, uintptr_t ip)
{
    kdpc_machine *m = ctx;
    kdpc__pool *p = pool_of(m);
    kdpc__thread *t = kdpc__self();
    if (t != NULL && t->m == m && t->cpu != NULL && t->cpu->irql >= DISPATCH_LEVEL &&
        !p->fault.pending) {
        p->fault.addr = addr;
        p->fault.write = write;
        p->fault.ip = ip;
        p->fault.irql = t->cpu->irql;
        p->fault.pending = 1;
        kdpc__ke_of(m)->fault_pending = 1;
    }
    size_t off = addr - (uintptr_t)p->arena;
    if (off < p->arena_hi)
        open_after_fault(p, off / PAGE_SIZE);
    else if (off < p->arena_size) /* never protected by kdpc: open it, note nothing */
        (void)kdpc__pages_protect(p->arena + (off & ~(size_t)(PAGE_SIZE - 1)), PAGE_SIZE, true);
    return true;
}

void kdpc__pool_report_fault(kdpc_machine *m)
{
    kdpc__pool *p = pool_of(m);
    kdpc__ke_of(m)->fault_pending = 0;
    if (p == NULL || !p->fault.pending)
        return;
    p->fault.pending = 0;
    kdpc__violation(m, KDPC_R_MEM_PAGED_TOUCH, 0xD1, p->fault.addr, p->fault.irql,
                    p->fault.write ? 1u : 0u, p->fault.ip, NULL,
                    "paged pool at %#lx %s at IRQL %u (instruction %#lx): pageable memory may "
                    "only be touched below DISPATCH_LEVEL",
                    (unsigned long)p->fault.addr, p->fault.write ? "written" : "read",
                    (unsigned)p->fault.irql, (unsigned long)p->fault.ip);
    /* As a warning the run goes on: protect the arena again, so the next stray
     * touch is caught too (the noted one has completed by now). */
    kdpc__thread *t = kdpc__self();
    if (t != NULL && t->cpu != NULL && t->cpu->irql >= DISPATCH_LEVEL)
        protect_all(p);
}

void kdpc__pool_run_begin(kdpc_machine *m)
{
    kdpc__pool *p = pool_of(m);
    if (p != NULL && p->arena != NULL) {
        kdpc__fault_enable();
        p->run_faults = true;
    }
}

void kdpc__pool_run_end(kdpc_machine *m)
{
    kdpc__pool *p = pool_of(m);
    if (p == NULL || p->arena == NULL)
        return;
    open_all(p); /* host code may read paged buffers between runs */
    if (p->run_faults)
        kdpc__fault_disable();
    p->run_faults = false;
}

/* ------------------------------------------------------------------ */
/* Arena                                                               */

#define ALIGN      16u
#define GUARD_BYTE 0xB7u
/* Divergence: the largest block kdpc hands out (16 GiB, the largest paged pool a config may ask
 * for); Windows fails larger requests when the pool runs out. Far below SIZE_MAX, so no rounding
 * can wrap. */
#define POOL_MAX_BYTES ((size_t)1 << 34)

static size_t round_up(size_t n, size_t a)
{
    return (n + a - 1) & ~(a - 1);
}

/* Bytes a block of @size takes: itself and at least one guard byte, 16-byte rounded. */
static size_t span_of(size_t size)
{
    return round_up(size + 1u, ALIGN);
}

/*
 * io.md 7.1: a block of PAGE_SIZE or more starts on a page; a smaller one
 * never crosses a page boundary. Aligning a small block to the power of two
 * at or above its size gives the second.
 */
static size_t block_align(size_t size)
{
    if (size >= PAGE_SIZE)
        return PAGE_SIZE;
    size_t a = ALIGN;
    while (a < size)
        a <<= 1;
    return a;
}

/* The arena is reserved at the first paged allocation, not at machine creation: most machines
 * never use paged pool, and a reservation (a shared memory object and two views of it) costs more
 * than the rest of a machine. False when the host refuses it. */
static bool arena_reserve(kdpc_machine *m, kdpc__pool *p)
{
    if (p->arena != NULL)
        return true;
    if (p->want_size == 0)
        return false;
    void *view = NULL;
    p->arena = kdpc__pages_reserve_aliased(p->want_size, &view);
    if (p->arena == NULL)
        return false;
    p->system_view = view;
    p->arena_size = p->want_size;
    p->want_size = 0;
    p->all_open = true; /* reserved readable and writable */
    if (kdpc__freespace_init(&p->free, 4, 12))
        (void)kdpc__freespace_add(&p->free, 0, p->arena_size);
    p->fault_slot = kdpc__fault_region_add((uintptr_t)p->arena, (uintptr_t)p->arena + p->arena_size,
                                           on_fault, m);
    if (kdpc__self() != NULL && !p->run_faults) { /* inside a run: as kdpc__pool_run_begin */
        kdpc__fault_enable();
        p->run_faults = true;
    }
    return true;
}

static void *arena_alloc(kdpc__pool *p, size_t size)
{
    size_t need = span_of(size);
    size_t off;
    if (kdpc__freespace_take(&p->free, need, block_align(need), &off) != KDPC__FS_OK)
        return NULL;
    size_t hi = round_up(off + need, PAGE_SIZE);
    if (hi > p->arena_hi) {
        /* Pages below arena_hi are tracked; the new ones were never protected. Unless the whole
         * arena is open, protect them now, as the rest is. */
        if (!p->all_open &&
            kdpc__pages_protect(p->arena + p->arena_hi, hi - p->arena_hi, false) != 0)
            open_all(p);
        p->arena_hi = hi;
    }
    return p->arena + off;
}

static void arena_free(kdpc__pool *p, void *ptr, size_t size)
{
    size_t off = (size_t)((unsigned char *)ptr - p->arena);
    /* Out of host memory, the range is lost, never handed out twice. */
    (void)kdpc__freespace_add(&p->free, off, span_of(size));
}

/*
 * kdpc's own reads and writes of a paged block (zeroing, guard bytes) go
 * through the second view, which is never protected. Without one (the host
 * gave none), the pages of [@a, @a + @n) are opened for the access and
 * protected again after it, unless the whole arena is open.
 */
static unsigned char *inner_begin(kdpc__pool *p, unsigned char *a, size_t n)
{
    if (p->system_view != NULL)
        return p->system_view + (a - p->arena);
    if (!p->all_open) {
        size_t lo = (size_t)(a - p->arena) & ~(size_t)(PAGE_SIZE - 1);
        size_t hi = round_up((size_t)(a - p->arena) + n, PAGE_SIZE);
        (void)kdpc__pages_protect(p->arena + lo, hi - lo, true);
    }
    return a;
}

static void inner_end(kdpc__pool *p, unsigned char *a, size_t n)
{
    if (p->system_view != NULL || p->all_open)
        return;
    size_t lo = (size_t)(a - p->arena) & ~(size_t)(PAGE_SIZE - 1);
    size_t hi = round_up((size_t)(a - p->arena) + n, PAGE_SIZE);
    (void)kdpc__pages_protect(p->arena + lo, hi - lo, false);
}

int kdpc__pool_init(kdpc_machine *m)
{
    kdpc__pool *p = calloc(1, sizeof(*p));
    if (p == NULL)
        return -1;
    p->fault_slot = -1;
    kdpc__rng_seed(&p->fault_rng, m->cfg.seed ^ 0x6c6f777265737263ull);
    p->want_size = round_up(m->cfg.paged_pool_bytes, PAGE_SIZE); /* arena_reserve */
    kdpc__ke_of(m)->pool = p;
    m->hooks.resumed = resumed_hook;
    return 0;
}

void kdpc__pool_free_all(kdpc_machine *m)
{
    kdpc__pool *p = pool_of(m);
    if (p == NULL)
        return;
    size_t leaks = 0, bytes = 0;
    while (p->all != NULL) {
        blk *b = p->all;
        p->all = b->next;
        leaks++;
        bytes += b->size;
        if (b->watched)
            kdpc__watch_region_free(m, (void *)b->user);
        else if (!b->paged)
            free(b->base);
        free(b);
    }
    if (leaks > 0 && m->cfg.log != NULL)
        fprintf(m->cfg.log, "KDPC POOL LEAK: %zu allocation(s), %zu byte(s) never freed\n", leaks,
                bytes);
    kdpc__ptrmap_free(&p->blocks);
    kdpc__ptrmap_free(&p->freed);
    kdpc__freespace_destroy(&p->free);
    if (p->fault_slot >= 0)
        kdpc__fault_region_remove(p->fault_slot);
    kdpc__pages_release(p->arena, p->arena_size);
    kdpc__pages_release(p->system_view, p->arena_size);
    free(p->freed_ring);
    free((void *)p->lookasides);
    free(p);
    kdpc__ke_of(m)->pool = NULL;
}

/*
 * io.md 7.4: pages of paged pool locked through an MDL and mapped to system
 * space may be touched at DISPATCH_LEVEL. The system address of such a range
 * is its place in the arena's second view, which is never protected; the
 * pageable address itself stays protected, so a stray touch through it is
 * still caught.
 */
void *kdpc__pool_system_va(kdpc_machine *m, void *va)
{
    kdpc__pool *p = pool_of(m);
    if (p == NULL || p->system_view == NULL)
        return va;
    unsigned char *a = va;
    if (a < p->arena || a >= p->arena + p->arena_size)
        return va;
    return p->system_view + (a - p->arena);
}

bool kdpc__pool_fail(kdpc_machine *m)
{
    kdpc__pool *p = pool_of(m);
    unsigned permille = kdpc__ver_low_resources_permille(m);
    return p != NULL && permille != 0 && kdpc__rng_below(&p->fault_rng, 1000) < permille;
}

/* ------------------------------------------------------------------ */
/* Allocation                                                          */

/* Every paged pool type is odd (PagedPool, PagedPoolCacheAligned and their session twins), every
 * nonpaged one even; the POOL_* flags a POOL_TYPE may carry (pool.h) are even too, so bit 0 alone
 * tells. */
static bool is_paged(POOL_TYPE t)
{
    return ((unsigned)t & 1u) != 0;
}

static bool wants_zero(POOL_TYPE t)
{
    return ((unsigned)t & POOL_ZERO_ALLOCATION) != 0;
}

/* A POOL_NX_OPTIN driver's NonPagedPool (pool.h). */
POOL_TYPE kdpc_ExDefaultNonPagedPoolType = NonPagedPoolExecute;

void kdpc_ExInitializeDriverRuntime(ULONG RuntimeFlags)
{
    if ((RuntimeFlags & DrvRtPoolNxOptIn) != 0)
        kdpc_ExDefaultNonPagedPoolType = NonPagedPoolNx;
}

/* Pool tracking's 0xC4/0x61: code of a driver that has unloaded (a thread it left running)
 * allocates @b. P2/P3 the paged/nonpaged bytes that driver's code holds, P4 its blocks, @b
 * included. As a warning or off the block is handed out. */
static void check_unloaded_owner(kdpc_machine *m, kdpc__pool *p, const blk *b)
{
    unsigned i = 0;
    while (i < GONE_RING && p->gone[i] != b->owner)
        i++;
    if (i == GONE_RING)
        return;
    size_t n = 0, paged = 0, nonpaged = 0; /* @b is on p->all already: a bug check frees it */
    for (const blk *o = p->all; o != NULL; o = o->next) {
        if (o->owner == b->owner) {
            n++;
            *(o->paged ? &paged : &nonpaged) += o->size;
        }
    }
    kdpc__violation(m, KDPC_R_MEM_ALLOC_UNLOADED, 0xC4, 0x61, paged, nonpaged, n, NULL,
                    "pool allocated (%zu bytes, tag %#lx) by code of a driver that has unloaded",
                    b->size, (unsigned long)b->tag);
}

/* @kernel: the kernel allocates it for the driver (kdpc__pool_kernel_alloc): no owner. */
static PVOID allocate(kdpc_machine *m, kdpc__cpu *c, bool paged, SIZE_T bytes, ULONG tag, bool zero,
                      bool kernel)
{
    kdpc__pool *p = pool_of(m);
    if (paged && c->irql > APC_LEVEL)
        kdpc__violation(m, KDPC_R_MEM_PAGED_ALLOC, 0xC4, 0x01, c->irql, 1, bytes, NULL,
                        "paged pool allocated at IRQL %u (paged pool needs IRQL <= APC_LEVEL)",
                        (unsigned)c->irql);
    if (!paged && c->irql > DISPATCH_LEVEL) /* as a warning or off: allocated anyway */
        kdpc__violation(m, KDPC_R_MEM_POOL_IRQL, 0xC4, 0x02, c->irql, 0, bytes, NULL,
                        "nonpaged pool allocated at IRQL %u (pool needs IRQL <= DISPATCH_LEVEL)",
                        (unsigned)c->irql);
    if (bytes == 0) /* Verifier's automatic check; a free kernel hands out a block: so does kdpc */
        kdpc__violation(m, KDPC_R_MEM_ZERO_ALLOC, 0xC4, 0x00, c->irql, paged ? 1u : 0u, 0, NULL,
                        "pool allocation of zero bytes (tag %#lx)", (unsigned long)tag);
    if (bytes > POOL_MAX_BYTES || kdpc__pool_fail(m))
        return NULL;
    blk *b = calloc(1, sizeof(*b));
    if (b == NULL)
        return NULL;
    void *ptr;
    if (paged && arena_reserve(m, p)) {
        ptr = arena_alloc(p, bytes);
        if (ptr != NULL) {
            size_t span = span_of(bytes);
            unsigned char *in = inner_begin(p, ptr, span);
            if (zero)
                memset(in, 0, bytes);
            memset(in + bytes, GUARD_BYTE, span - bytes);
            inner_end(p, ptr, span);
        }
        b->paged = true;
    } else if (m->cfg.watch_nonpaged_pool) {
        size_t need = span_of(bytes);
        char what[96];
        snprintf(what, sizeof(what), "a nonpaged pool block (tag %#lx, %zu bytes)",
                 (unsigned long)tag, (size_t)bytes);
        ptr = kdpc__watch_region(m, need, what); /* fresh pages: already zero */
        b->watched = ptr != NULL;
        if (ptr != NULL)
            memset((unsigned char *)ptr + bytes, GUARD_BYTE, need - bytes);
    } else {
        size_t need = span_of(bytes);
        size_t align = block_align(need);
        b->base = aligned_alloc(align, round_up(need, align));
        ptr = b->base;
        if (ptr != NULL) {
            if (zero)
                memset(ptr, 0, bytes);
            memset((unsigned char *)ptr + bytes, GUARD_BYTE, need - bytes);
        }
    }
    if (ptr == NULL || !kdpc__ptrmap_put(&p->blocks, (uintptr_t)ptr, b)) {
        if (ptr != NULL && b->paged)
            arena_free(p, ptr, bytes);
        if (b->watched)
            kdpc__watch_region_free(m, ptr);
        free(b->base);
        free(b);
        return NULL;
    }
    if (p->freed.live != 0)
        (void)kdpc__ptrmap_del(&p->freed, (uintptr_t)ptr); /* in use again: freeing it is fine */
    b->user = (uintptr_t)ptr;
    b->size = bytes;
    b->tag = tag;
    b->owner = kernel ? NULL : kdpc__ke_current_driver(m, c);
    b->next = p->all;
    if (p->all != NULL)
        p->all->prev = b;
    p->all = b;
    if (b->owner != NULL)
        check_unloaded_owner(m, p, b);
    return ptr;
}

/* Quota goes to the current process, which a DPC routine runs in no particular one of: Driver
 * Verifier's 0xC4/0x10B; as a warning or off, allocated anyway. */
static void quota_check(kdpc_machine *m, kdpc__cpu *c, const char *what)
{
    if (kdpc__kecpu_of(c)->dpc_active)
        kdpc__violation(m, KDPC_R_MEM_POOL_IRQL, 0xC4, 0x10B, 0, 0, 0, NULL,
                        "%s in a DPC routine: quota charged to no particular process", what);
}

/* ExAllocatePoolWithTag for the driver (@kernel false) or for the kernel on its behalf. */
static PVOID allocate_with_tag(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag, bool kernel)
{
    kdpc__cpu *c;
    kdpc_machine *m = kdpc__ke_ctx("ExAllocatePoolWithTag", &c);
    if (m == NULL)
        return NULL;
    PVOID r = allocate(m, c, is_paged(PoolType), NumberOfBytes, Tag, wants_zero(PoolType), kernel);
    if (r == NULL && ((unsigned)PoolType & POOL_RAISE_IF_ALLOCATION_FAILURE) != 0)
        kdpc__ex_raise_status(STATUS_INSUFFICIENT_RESOURCES); /* the kernel's raise */
    kdpc__ke_point(m);
    return r;
}

PVOID kdpc_ExAllocatePoolWithTag(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag)
{
    return allocate_with_tag(PoolType, NumberOfBytes, Tag, false);
}

PVOID kdpc_ExAllocatePoolWithQuotaTag(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag)
{
    kdpc__cpu *c;
    kdpc_machine *m = kdpc__ke_ctx("ExAllocatePoolWithQuotaTag", &c);
    if (m == NULL)
        return NULL;
    quota_check(m, c, "ExAllocatePoolWithQuotaTag");
    /* no quota limit in kdpc: it fails only as ExAllocatePoolWithTag does */
    PVOID r = allocate(m, c, is_paged(PoolType), NumberOfBytes, Tag, wants_zero(PoolType), false);
    /* irql.ex_apc (IrqlExApcLte2), after mem.paged_alloc's and in a DPC mem.pool_irql's 0x10B.
     * Divergence: the rule says <= APC_LEVEL, but the routine's page allows nonpaged pool at
     * DISPATCH_LEVEL (paged pool at <= APC_LEVEL): only what the page forbids is reported. */
    if (!kdpc__kecpu_of(c)->dpc_active &&
        (c->irql > DISPATCH_LEVEL || (is_paged(PoolType) && c->irql > APC_LEVEL)))
        (void)kdpc__ke_irql_ex_apc_ok(false, r, "ExAllocatePoolWithQuotaTag"); /* goes on */
    if (r == NULL && ((unsigned)PoolType & POOL_QUOTA_FAIL_INSTEAD_OF_RAISE) == 0)
        kdpc__ex_raise_status(STATUS_INSUFFICIENT_RESOURCES); /* the kernel's raise */
    kdpc__ke_point(m);
    return r;
}

#define POOL2_REQUIRED_KNOWN 0x1ffull

/* POOL_FLAG_RAISE_ON_FAILURE: ExAllocatePool2 raises STATUS_INSUFFICIENT_RESOURCES instead of
 * returning NULL. Driver code has no exception handler in kdpc: the exception is unhandled, bug
 * check 0x1E KMODE_EXCEPTION_NOT_HANDLED (P1 the status). */
static void raise_failure(kdpc_machine *m, SIZE_T bytes, ULONG tag)
{
    kdpc__bugcheck_rule(
        m, KDPC_R_KE_BUGCHECK, 0x1E, (uint64_t)(uint32_t)STATUS_INSUFFICIENT_RESOURCES, 0, 0, 0,
        "ExAllocatePool2(%zu bytes, tag %#lx) with POOL_FLAG_RAISE_ON_FAILURE failed: "
        "STATUS_INSUFFICIENT_RESOURCES raised and not handled",
        (size_t)bytes, (unsigned long)tag);
}

PVOID kdpc_ExAllocatePool2(POOL_FLAGS Flags, SIZE_T NumberOfBytes, ULONG Tag)
{
    kdpc__cpu *c;
    kdpc_machine *m = kdpc__ke_ctx("ExAllocatePool2", &c);
    if (m == NULL)
        return NULL;
    ULONG64 required = Flags & 0xffffffffull;
    ULONG64 types = Flags & (POOL_FLAG_NON_PAGED | POOL_FLAG_NON_PAGED_EXECUTE | POOL_FLAG_PAGED);
    bool raise = (Flags & POOL_FLAG_RAISE_ON_FAILURE) != 0;
    if ((Flags & POOL_FLAG_USE_QUOTA) != 0)
        quota_check(m, c, "ExAllocatePool2 with POOL_FLAG_USE_QUOTA");
    PVOID r = NULL;
    if (Tag != 0 && (required & ~POOL2_REQUIRED_KNOWN) == 0 && types != 0 &&
        (types & (types - 1)) == 0)
        r = allocate(m, c, types == POOL_FLAG_PAGED, NumberOfBytes, Tag,
                     (Flags & POOL_FLAG_UNINITIALIZED) == 0, false);
    if (r == NULL && raise)
        raise_failure(m, NumberOfBytes, Tag);
    kdpc__ke_point(m);
    return r;
}

/*
 * Pool the kernel allocates for a driver, which the driver frees (an Rtl string buffer, a
 * registry value, a device interface name, MmAllocatePagesForMdl's MDL): the checks of
 * ExAllocatePoolWithTag, but the block has no owner. Windows' pool tracking counts what the
 * driver's own code allocates (its calls are the ones Verifier hooks), so mem.leak and
 * mem.alloc_unloaded never count these; a block never freed is still logged at destroy.
 */
PVOID kdpc__pool_kernel_alloc(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag)
{
    return allocate_with_tag(PoolType, NumberOfBytes, Tag, true);
}

PVOID kdpc_ExAllocatePoolZero(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag)
{
    kdpc__cpu *c;
    kdpc_machine *m = kdpc__ke_ctx("ExAllocatePoolZero", &c);
    if (m == NULL)
        return NULL;
    PVOID r = allocate(m, c, is_paged(PoolType), NumberOfBytes, Tag, true, false);
    kdpc__ke_point(m);
    return r;
}

/* ------------------------------------------------------------------ */
/* Free                                                                */

typedef struct span {
    uintptr_t lo, hi;
} span;

/* A queued DPC, set timer or queued work item inside the block: mem.free_active. When the rule
 * lets the run go on, kdpc takes the object out of its queue first, so nothing points into freed
 * memory (Divergence: Windows would go on with a corrupted queue). The address index
 * (ke/liveindex.c) answers in O(log n + k); DPCs are reported first, then timers, then work
 * items, each kind in queue order (an I/O work item allocated in this block carries its
 * WORK_QUEUE_ITEM first). A timer leaves its queue even when it was re-initialised while set. */
static void check_lookasides(kdpc_machine *m, kdpc__pool *p, const blk *b);

static void check_active(kdpc_machine *m, blk *b)
{
    span s = {b->user, b->user + (b->size == 0 ? 1 : b->size)};
    PKDPC d;
    while ((d = kdpc__ke_live_first_in(m, KDPC_LIVE_DPC, s.lo, s.hi)) != NULL) {
        kdpc__violation(m, KDPC_R_MEM_FREE_ACTIVE, 0xC7, 1, (uintptr_t)d, s.lo, s.hi,
                        KDPC_RP(d->DeferredRoutine),
                        "pool block %#lx freed while it holds DPC %p, still queued",
                        (unsigned long)s.lo, (void *)d);
        (void)kdpc_KeRemoveQueueDpc(d);
    }
    PKTIMER t;
    while ((t = kdpc__ke_live_first_in(m, KDPC_LIVE_TIMER, s.lo, s.hi)) != NULL) {
        /* Microsoft's 0x15: P2 the timer, P3 the pool type, P4 the pool address being freed */
        kdpc__violation(m, KDPC_R_MEM_FREE_ACTIVE, 0xC4, 0x15, (uintptr_t)t, b->paged ? 1u : 0u,
                        s.lo, NULL, "pool block %#lx freed while it holds timer %p, still set",
                        (unsigned long)s.lo, (void *)t);
        (void)kdpc__ke_timer_drop(m, t);
    }
    PWORK_QUEUE_ITEM w;
    while ((w = kdpc__ke_live_first_in(m, KDPC_LIVE_WORK, s.lo, s.hi)) != NULL) {
        kdpc__violation(m, KDPC_R_MEM_FREE_ACTIVE, 0xE4, 0, (uintptr_t)w, s.lo, s.hi, NULL,
                        "pool block %#lx freed while it holds work item %p, still queued",
                        (unsigned long)s.lo, (void *)w);
        kdpc__ke_unqueue_work(m, w);
    }
}

/* The live block @P lies inside (not at its start), or NULL. Only a bad free asks: O(blocks). */
static const blk *block_around(const kdpc__pool *p, uintptr_t P)
{
    for (const blk *b = p->all; b != NULL; b = b->next)
        if (P > b->user && P < b->user + (b->size == 0 ? 1 : b->size))
            return b;
    return NULL;
}

/*
 * A free of something that is not a live block (mem.bad_free). With the rule on, Driver
 * Verifier's automatic check: 0xC4/0x13 for a block freed before (P3 the address), 0x13E for an
 * address inside a block (P2 the address, P3 the block), 0x10 for anything else, NULL included
 * (P2 the address). Off or a warning, what Windows does without Verifier: 0xC2 BAD_POOL_CALLER
 * 0x07 (P4 the address) or 0x46 (P2 the address), which no switch softens: the run cannot go on
 * with a pool it knows to be misused.
 */
static KDPC_NORETURN void bad_free(kdpc_machine *m, kdpc__pool *p, PVOID P)
{
    uintptr_t a = (uintptr_t)P;
    bool twice = a != 0 && kdpc__ptrmap_get(&p->freed, a) != NULL;
    const blk *in = twice || a == 0 ? NULL : block_around(p, a);
    if (twice)
        kdpc__violation(m, KDPC_R_MEM_BAD_FREE, 0xC4, 0x13, 0, a, 0, NULL,
                        "ExFreePool(%p): the block was already freed (double free)", P);
    else if (in != NULL)
        kdpc__violation(m, KDPC_R_MEM_BAD_FREE, 0xC4, 0x13E, a, in->user, 0, NULL,
                        "ExFreePool(%p): not the start of its pool block, which is at %#lx", P,
                        (unsigned long)in->user);
    else
        kdpc__violation(m, KDPC_R_MEM_BAD_FREE, 0xC4, 0x10, a, 0, 0, NULL, "ExFreePool(%p): %s", P,
                        a == 0 ? "a NULL pointer is no pool block"
                               : "no allocation returned this address");
    if (twice)
        kdpc__bugcheck_forced(m, 0xC2, 0x07, 0, 0, a,
                              "ExFreePool(%p): the block was already freed (BAD_POOL_CALLER 0x07, "
                              "double free)",
                              P);
    kdpc__bugcheck_forced(
        m, 0xC2, 0x46, a, 0, 0,
        "ExFreePool(%p): not the start of an allocated pool block (BAD_POOL_CALLER "
        "0x46, invalid pool address)",
        P);
}

/* ExFreePoolWithTag with another tag than the block's (mem.bad_free): Verifier's 0xC4/0x16 (P3
 * the block); off or a warning, the kernel's 0xC2/0x0A (P2 the block, P3 its tag, P4 the tag
 * given), which no switch softens. */
static KDPC_NORETURN void bad_tag(kdpc_machine *m, PVOID P, ULONG have, ULONG given)
{
    kdpc__violation(m, KDPC_R_MEM_BAD_FREE, 0xC4, 0x16, 0, (uintptr_t)P, 0, NULL,
                    "ExFreePoolWithTag(%p) with tag %#lx; it was allocated with %#lx", P,
                    (unsigned long)given, (unsigned long)have);
    kdpc__bugcheck_forced(m, 0xC2, 0xA, (uintptr_t)P, have, given,
                          "ExFreePoolWithTag(%p) with tag %#lx; it was allocated with %#lx", P,
                          (unsigned long)given, (unsigned long)have);
}

/*
 * The guard bytes behind the block: a changed one is an overrun. Special pool (mem.overrun) reports
 * it as 0xC1/0x24 (P1 the block, P2 the first changed byte); with special pool off, pool tracking
 * (mem.overrun_tracked) as 0xC4/0x51 (P2 the block, P3 the byte, P4 its size). With both off the
 * bytes are not read (a free kernel does not see the overrun at the free either).
 */
static void check_guard(kdpc_machine *m, kdpc__pool *p, const blk *b)
{
    bool special = kdpc__rule_on(m, KDPC_R_MEM_OVERRUN);
    if (!special && !kdpc__rule_on(m, KDPC_R_MEM_OVERRUN_TRACKED))
        return;
    unsigned char *g = (unsigned char *)b->user + b->size;
    size_t n = span_of(b->size) - b->size;
    const unsigned char *in = b->paged ? inner_begin(p, g, n) : g;
    uintptr_t bad = 0;
    for (size_t i = 0; i < n && bad == 0; i++) {
        if (in[i] != GUARD_BYTE)
            bad = (uintptr_t)&g[i]; /* reported at the driver's address */
    }
    if (b->paged)
        inner_end(p, g, n);
    if (bad == 0)
        return;
    if (special)
        kdpc__violation(m, KDPC_R_MEM_OVERRUN, 0xC1, b->user, bad, 0, 0x24, NULL,
                        "ExFreePool(%#lx): the %zu-byte %s pool block was written past its end, "
                        "at %#lx (byte %zu after the end) (special pool)",
                        (unsigned long)b->user, b->size, b->paged ? "paged" : "nonpaged",
                        (unsigned long)bad, (size_t)(bad - (b->user + b->size)));
    else
        kdpc__violation(m, KDPC_R_MEM_OVERRUN_TRACKED, 0xC4, 0x51, b->user, bad, b->size, NULL,
                        "ExFreePool(%#lx): the %zu-byte %s pool block was written past its end, "
                        "at %#lx (byte %zu after the end) (pool tracking)",
                        (unsigned long)b->user, b->size, b->paged ? "paged" : "nonpaged",
                        (unsigned long)bad, (size_t)(bad - (b->user + b->size)));
}

/* Remember @P as freed, for a double free's report; the oldest of FREED_RING is forgotten. */
static void note_freed(kdpc__pool *p, uintptr_t P)
{
    if (p->freed_ring == NULL) {
        p->freed_ring = calloc(FREED_RING, sizeof(*p->freed_ring));
        if (p->freed_ring == NULL)
            return; /* out of host memory: a double free is reported as a bad free */
    }
    unsigned i = p->freed_next;
    uintptr_t old = p->freed_ring[i];
    if (old != 0 && kdpc__ptrmap_get(&p->freed, old) == (void *)(uintptr_t)(i + 1u))
        (void)kdpc__ptrmap_del(&p->freed, old);
    p->freed_ring[i] = P;
    (void)kdpc__ptrmap_put(&p->freed, P, (void *)(uintptr_t)(i + 1u));
    p->freed_next = (i + 1u) % FREED_RING;
}

void kdpc_ExFreePoolWithTag(PVOID P, ULONG Tag)
{
    kdpc__cpu *c;
    kdpc_machine *m = kdpc__ke_ctx("ExFreePool", &c);
    if (m == NULL)
        return;
    kdpc__pool *p = pool_of(m);
    blk *b = P == NULL ? NULL : kdpc__ptrmap_get(&p->blocks, (uintptr_t)P);
    if (b == NULL)
        bad_free(m, p, P);
    if (b->paged ? c->irql > APC_LEVEL : c->irql > DISPATCH_LEVEL) /* warning/off: freed anyway */
        kdpc__violation(m, KDPC_R_MEM_POOL_IRQL, 0xC4, b->paged ? 0x11u : 0x12u, c->irql,
                        b->paged ? 1u : 0u, (uintptr_t)P, NULL,
                        "ExFreePool(%p) at IRQL %u: %s pool is freed at IRQL <= %s", P,
                        (unsigned)c->irql, b->paged ? "paged" : "nonpaged",
                        b->paged ? "APC_LEVEL" : "DISPATCH_LEVEL");
    if (Tag != 0 && Tag != b->tag)
        bad_tag(m, P, b->tag, Tag);
    check_guard(m, p, b);
    check_active(m, b);
    check_lookasides(m, p, b);
    kdpc__trace_forget(m, (const void *)b->user, b->size); /* trace numbers, names of its objects */
    kdpc__lock_forget_range(m, b->user, b->user + b->size); /* spin locks that lived in it */
    if (kdpc__ke_of(m)->pool_freed != NULL) /* remove locks that lived in it (pnp) */
        kdpc__ke_of(m)->pool_freed(m, (const void *)b->user, b->size);
    (void)kdpc__ptrmap_del(&p->blocks, (uintptr_t)P);
    if (b->prev != NULL)
        b->prev->next = b->next;
    else
        p->all = b->next;
    if (b->next != NULL)
        b->next->prev = b->prev;
    if (b->paged) {
        arena_free(p, P, b->size);
    } else if (b->watched) {
        kdpc__watch_region_free(m, P);
    } else {
        free(b->base);
    }
    free(b);
    note_freed(p, (uintptr_t)P);
    kdpc__ke_point(m);
}

/* ------------------------------------------------------------------ */
/* Verifier's pool tracking: lookaside lists, leaks at unload          */

bool kdpc__pool_lookaside_add(kdpc_machine *m, const void *l)
{
    kdpc__pool *p = pool_of(m);
    for (size_t i = 0; i < p->nlookasides; i++)
        if (p->lookasides[i] == l)
            return false;
    if (p->nlookasides == p->lookaside_cap) {
        size_t cap = p->lookaside_cap == 0 ? 8 : 2 * p->lookaside_cap;
        const void **n = realloc((void *)p->lookasides, cap * sizeof(*n));
        if (n == NULL)
            return true; /* out of host memory: this list goes unchecked */
        p->lookasides = n;
        p->lookaside_cap = cap;
    }
    p->lookasides[p->nlookasides++] = l;
    return true;
}

bool kdpc__pool_lookaside_del(kdpc_machine *m, const void *l)
{
    kdpc__pool *p = pool_of(m);
    for (size_t i = 0; i < p->nlookasides; i++) {
        if (p->lookasides[i] == l) {
            p->lookasides[i] = p->lookasides[--p->nlookasides];
            return true;
        }
    }
    return false;
}

/* A lookaside list still initialised inside the block being freed: 0xC4/0xCC (Miscellaneous
 * checks; P2 the list, P3 the block, P4 its size). Off or a warning, the list is forgotten. */
static void check_lookasides(kdpc_machine *m, kdpc__pool *p, const blk *b)
{
    for (size_t i = 0; i < p->nlookasides;) {
        uintptr_t l = (uintptr_t)p->lookasides[i];
        if (l < b->user || l >= b->user + b->size) {
            i++;
            continue;
        }
        kdpc__violation(m, KDPC_R_LOOKASIDE_MISUSE, 0xC4, 0xCC, l, b->user, b->size, NULL,
                        "pool block %#lx freed while it holds lookaside list %#lx, never deleted",
                        (unsigned long)b->user, (unsigned long)l);
        p->lookasides[i] = p->lookasides[--p->nlookasides];
    }
}

void kdpc__pool_driver_gone(kdpc_machine *m, const void *drv, const UNICODE_STRING *name,
                            bool report)
{
    kdpc__pool *p = pool_of(m);
    if (p == NULL || drv == NULL)
        return;
    size_t n = 0, paged = 0, nonpaged = 0;
    for (blk *b = p->all; b != NULL; b = b->next) {
        if (b->owner != drv)
            continue;
        n++;
        if (b->paged)
            paged += b->size;
        else
            nonpaged += b->size;
        b->owner = NULL; /* the driver object goes: its leaks are the machine's now */
    }
    for (unsigned i = 0; i < GONE_RING; i++) /* a record at this address is a new driver now */
        if (p->gone[i] == drv)
            p->gone[i] = NULL;
    if (report) { /* remembered: a thread it left running may still allocate */
        p->gone[p->gone_next] = drv;
        p->gone_next = (p->gone_next + 1u) % GONE_RING;
    }
    if (n == 0 || !report)
        return;
    char who[64] = "";
    size_t len = name != NULL && name->Buffer != NULL ? name->Length / sizeof(WCHAR) : 0;
    for (size_t i = 0; i < len && i + 1 < sizeof(who); i++) /* ASCII is enough for a report */
        who[i] = name->Buffer[i] < 0x80 ? (char)name->Buffer[i] : '?';
    kdpc__violation(m, KDPC_R_MEM_LEAK, 0xC4, 0x62, (uintptr_t)name, 0, n, NULL,
                    "driver %s unloaded without freeing %zu pool block(s): %zu byte(s) of paged "
                    "and %zu of nonpaged pool",
                    who, n, paged, nonpaged);
}

bool kdpc__pool_is_paged(kdpc_machine *m, const void *va, size_t len)
{
    kdpc__pool *p = pool_of(m);
    const unsigned char *a = va;
    return p != NULL && p->arena != NULL && a < p->arena + p->arena_size &&
           a + (len == 0 ? 1 : len) > p->arena;
}

/* Kernel objects the kernel touches at DISPATCH_LEVEL must not be pageable (Miscellaneous
 * checks): reported when they are used, not when the driver merely initialises them. */
void kdpc__pool_paged_object(kdpc_machine *m, const void *obj, size_t size, uint32_t p1,
                             const char *routine, const char *kind)
{
    if (!kdpc__pool_is_paged(m, obj, size))
        return;
    kdpc__violation(m, KDPC_R_MEM_PAGED_OBJECT, 0xC4, p1, (uintptr_t)obj, 0, 0, NULL,
                    "%s: %s %p lies in paged pool; the kernel uses it at DISPATCH_LEVEL, so it "
                    "must be nonpaged",
                    routine, kind, obj);
}

kdpc_status kdpc_pool_outstanding(const kdpc_machine *m, ULONG tag, size_t *count, size_t *bytes)
{
    if (m == NULL || m->ke == NULL)
        return KDPC_EINVAL;
    size_t n = 0, sz = 0;
    for (const blk *b = pool_of(m)->all; b != NULL; b = b->next) {
        if (tag == 0 || b->tag == tag) {
            n++;
            sz += b->size;
        }
    }
    if (count != NULL)
        *count = n;
    if (bytes != NULL)
        *bytes = sz;
    return KDPC_OK;
}

/*
 * PAGED_CODE() above APC_LEVEL (mem.paged_code, Force IRQL checking). PagedCode is a Static Driver
 * Verifier rule with no run-time code; on Windows the mistake shows when the pageable code is not
 * resident, and Force IRQL checking makes that every time: the instruction fetch faults at raised
 * IRQL, bug check 0xD1 DRIVER_IRQL_NOT_LESS_OR_EQUAL with P1 the code address, P2 the IRQL, P3 8
 * (execute) and P4 the same address. kdpc reports that, with the address PAGED_CODE returns to
 * (inside the pageable routine).
 */
void kdpc_paged_code(const char *File, int Line)
{
    kdpc__cpu *c;
    kdpc_machine *m = kdpc__ke_ctx("PAGED_CODE", &c);
    if (m == NULL || c->irql <= APC_LEVEL)
        return;
#if defined(__GNUC__) || defined(__clang__)
    uintptr_t at = (uintptr_t)__builtin_return_address(0);
#else
    uintptr_t at = 0;
#endif
    kdpc__violation(m, KDPC_R_MEM_PAGED_CODE, 0xD1, at, c->irql, 8, at, NULL,
                    "PAGED_CODE() reached at IRQL %u (%s:%d): pageable code runs only at IRQL "
                    "<= APC_LEVEL",
                    (unsigned)c->irql, File, Line);
}
