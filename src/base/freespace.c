/* SPDX-License-Identifier: MIT */
/*
 * freespace.c - free ranges of an arena in an AVL tree keyed by offset,
 * first fit with alignment in O(log n) (see freespace.h).
 *
 * Every node caches, per alignment class k (2^(min_shift + k)), fit[k]: the
 * largest length its subtree can hand out at that alignment. The lowest
 * fitting range is then found on one path: go left while the left subtree
 * fits, else take the node if it fits, else go right.
 */
#include <stdint.h>
#include <stdlib.h>

#include "freespace.h" /* same folder: the unit test compiles this file on its own */

struct kdpc__fs_node {
    size_t off, len;
    kdpc__fs_node *l, *r;
    int h;
    size_t fit[]; /* fs->naligns entries */
};

#define SPARE_MAX 256u /* nodes kept for reuse; more go back to the host */

static size_t align_of(const kdpc__freespace *fs, unsigned k)
{
    return (size_t)1 << (fs->min_shift + k);
}

/* The largest length node @n can give at alignment class @k. */
static size_t own_fit(const kdpc__freespace *fs, const kdpc__fs_node *n, unsigned k)
{
    size_t lead = (0 - n->off) & (align_of(fs, k) - 1u); /* bytes up to the first aligned offset */
    return lead >= n->len ? 0 : n->len - lead;
}

static const size_t no_fit[KDPC__FREESPACE_ALIGNS]; /* an empty subtree's maxima */

static int height(const kdpc__fs_node *n)
{
    return n == NULL ? 0 : n->h;
}

static void update(const kdpc__freespace *fs, kdpc__fs_node *n)
{
    int hl = height(n->l), hr = height(n->r);
    n->h = 1 + (hl > hr ? hl : hr);
    const size_t *lf = n->l != NULL ? n->l->fit : no_fit;
    const size_t *rf = n->r != NULL ? n->r->fit : no_fit;
    size_t off = n->off, len = n->len;
    for (unsigned k = 0; k < fs->naligns; k++) {
        size_t lead = (0 - off) & (align_of(fs, k) - 1u);
        size_t f = lead >= len ? 0 : len - lead;
        f = lf[k] > f ? lf[k] : f;
        n->fit[k] = rf[k] > f ? rf[k] : f;
    }
}

static kdpc__fs_node *rotate_right(const kdpc__freespace *fs, kdpc__fs_node *n)
{
    kdpc__fs_node *l = n->l;
    n->l = l->r;
    l->r = n;
    update(fs, n);
    update(fs, l);
    return l;
}

static kdpc__fs_node *rotate_left(const kdpc__freespace *fs, kdpc__fs_node *n)
{
    kdpc__fs_node *r = n->r;
    n->r = r->l;
    r->l = n;
    update(fs, n);
    update(fs, r);
    return r;
}

/* Recomputes @n and restores the AVL balance at it; returns the subtree's new root. */
static kdpc__fs_node *balance(const kdpc__freespace *fs, kdpc__fs_node *n)
{
    int bf = height(n->l) - height(n->r);
    if (bf > 1) {
        if (height(n->l->l) < height(n->l->r))
            n->l = rotate_left(fs, n->l);
        return rotate_right(fs, n);
    }
    if (bf < -1) {
        if (height(n->r->r) < height(n->r->l))
            n->r = rotate_right(fs, n->r);
        return rotate_left(fs, n);
    }
    update(fs, n);
    return n;
}

static kdpc__fs_node *insert(const kdpc__freespace *fs, kdpc__fs_node *n, kdpc__fs_node *x)
{
    if (n == NULL)
        return x;
    if (x->off < n->off)
        n->l = insert(fs, n->l, x);
    else
        n->r = insert(fs, n->r, x);
    return balance(fs, n);
}

static kdpc__fs_node *remove_min(const kdpc__freespace *fs, kdpc__fs_node *n, kdpc__fs_node **min)
{
    if (n->l == NULL) {
        *min = n;
        return n->r;
    }
    n->l = remove_min(fs, n->l, min);
    return balance(fs, n);
}

/* A change to make to a node on the way back up: its new offset and length. */
typedef struct fs_fix {
    kdpc__fs_node *node; /* NULL: none */
    size_t off, len;
} fs_fix;

/* Unlinks the node whose offset is @off (it exists) and hands it to *gone. @fix, when it names a
 * node on the path, gets its new offset and length before that node is recomputed (the order
 * must hold once the unlinked node is gone). */
static kdpc__fs_node *unlink_node(const kdpc__freespace *fs, kdpc__fs_node *n, size_t off,
                                  const fs_fix *fix, kdpc__fs_node **gone)
{
    if (off < n->off) {
        n->l = unlink_node(fs, n->l, off, fix, gone);
    } else if (off > n->off) {
        n->r = unlink_node(fs, n->r, off, fix, gone);
    } else {
        *gone = n;
        if (n->r == NULL)
            return n->l;
        kdpc__fs_node *m;
        kdpc__fs_node *r = remove_min(fs, n->r, &m);
        m->l = n->l;
        m->r = r;
        n = m;
    }
    if (n == fix->node) {
        n->off = fix->off;
        n->len = fix->len;
    }
    return balance(fs, n);
}

/* The node at @off changed its length (or its offset, without passing another node): recompute
 * the cached maxima on its path. Heights do not change. */
static void refresh(const kdpc__freespace *fs, kdpc__fs_node *n, size_t off)
{
    if (off < n->off)
        refresh(fs, n->l, off);
    else if (off > n->off)
        refresh(fs, n->r, off);
    update(fs, n);
}

static kdpc__fs_node *node_get(kdpc__freespace *fs, size_t off, size_t len)
{
    kdpc__fs_node *n = fs->spare;
    if (n != NULL) {
        fs->spare = n->l;
        fs->nspare--;
    } else {
        n = malloc(sizeof(*n) + fs->naligns * sizeof(n->fit[0]));
        if (n == NULL)
            return NULL;
    }
    n->off = off;
    n->len = len;
    n->l = n->r = NULL;
    update(fs, n);
    return n;
}

static void node_put(kdpc__freespace *fs, kdpc__fs_node *n)
{
    if (fs->nspare >= SPARE_MAX) {
        free(n);
        return;
    }
    n->l = fs->spare;
    fs->spare = n;
    fs->nspare++;
}

bool kdpc__freespace_init(kdpc__freespace *fs, unsigned min_shift, unsigned max_shift)
{
    if (max_shift < min_shift || max_shift - min_shift >= KDPC__FREESPACE_ALIGNS ||
        max_shift >= sizeof(size_t) * 8u - 1u)
        return false;
    fs->root = NULL;
    fs->spare = NULL;
    fs->nspare = 0;
    fs->count = 0;
    fs->bytes = 0;
    fs->min_shift = min_shift;
    fs->naligns = max_shift - min_shift + 1u;
    return true;
}

static void free_tree(kdpc__fs_node *n)
{
    while (n != NULL) { /* recursion on the left only: depth stays logarithmic */
        free_tree(n->l);
        kdpc__fs_node *r = n->r;
        free(n);
        n = r;
    }
}

void kdpc__freespace_destroy(kdpc__freespace *fs)
{
    free_tree(fs->root);
    while (fs->spare != NULL) {
        kdpc__fs_node *n = fs->spare;
        fs->spare = n->l;
        free(n);
    }
    fs->root = NULL;
    fs->nspare = fs->count = fs->bytes = 0;
}

/* The nodes around @off: *pred the one with the largest offset < @off, *succ the one with the
 * smallest offset >= @off (NULL when there is none). */
static void neighbours(const kdpc__freespace *fs, size_t off, kdpc__fs_node **pred,
                       kdpc__fs_node **succ)
{
    *pred = *succ = NULL;
    for (kdpc__fs_node *n = fs->root; n != NULL;) {
        if (n->off < off) {
            *pred = n;
            n = n->r;
        } else {
            *succ = n;
            n = n->l;
        }
    }
}

static bool granular(const kdpc__freespace *fs, size_t v)
{
    return (v & (((size_t)1 << fs->min_shift) - 1)) == 0;
}

int kdpc__freespace_add(kdpc__freespace *fs, size_t off, size_t len)
{
    if (!granular(fs, off) || !granular(fs, len) || len == 0)
        return KDPC__FS_BADARG;
    if (off > SIZE_MAX - len)
        return KDPC__FS_OVERLAP;
    size_t end = off + len;
    kdpc__fs_node *p, *s;
    neighbours(fs, off, &p, &s);
    if ((p != NULL && p->off + p->len > off) || (s != NULL && s->off < end))
        return KDPC__FS_OVERLAP;
    bool join_p = p != NULL && p->off + p->len == off;
    bool join_s = s != NULL && s->off == end;
    if (join_p && join_s) {
        /* p and s are neighbours, so one lies below the other: unlink the lower one and let the
         * upper one, on its path, take the three ranges. */
        fs_fix fix = {p, p->off, s->off + s->len - p->off};
        kdpc__fs_node *lower = s;
        if (p->r == NULL) { /* s is not in p's right subtree: it is above p */
            fix.node = s;
            lower = p;
        }
        kdpc__fs_node *gone = NULL;
        fs->root = unlink_node(fs, fs->root, lower->off, &fix, &gone);
        node_put(fs, gone);
        fs->count--;
    } else if (join_p) {
        p->len += len;
        refresh(fs, fs->root, p->off);
    } else if (join_s) {
        s->off = off; /* no other node lies in [off, old offset): the order holds */
        s->len += len;
        refresh(fs, fs->root, off);
    } else {
        kdpc__fs_node *n = node_get(fs, off, len);
        if (n == NULL)
            return KDPC__FS_NOMEM;
        fs->root = insert(fs, fs->root, n);
        fs->count++;
    }
    fs->bytes += len;
    return KDPC__FS_OK;
}

int kdpc__freespace_take(kdpc__freespace *fs, size_t len, size_t align, size_t *off)
{
    if (len == 0 || !granular(fs, len) || align == 0 || (align & (align - 1)) != 0 ||
        align > align_of(fs, fs->naligns - 1u))
        return KDPC__FS_BADARG;
    unsigned k = 0;
    while (align_of(fs, k) < align)
        k++;
    if (fs->root == NULL || fs->root->fit[k] < len)
        return KDPC__FS_FULL;
    kdpc__fs_node *n = fs->root;
    for (;;) {
        if (n->l != NULL && n->l->fit[k] >= len)
            n = n->l;
        else if (own_fit(fs, n, k) >= len)
            break;
        else
            n = n->r; /* its subtree holds the fit: the maxima say so */
    }
    size_t a = align_of(fs, k);
    size_t x = n->off + ((a - (n->off & (a - 1))) & (a - 1));
    size_t pre = x - n->off;
    size_t post = n->off + n->len - (x + len);
    if (pre != 0 && post != 0) {
        kdpc__fs_node *t = node_get(fs, x + len, post);
        if (t == NULL)
            return KDPC__FS_NOMEM;
        n->len = pre; /* t goes right after n: n and its ancestors are on t's path */
        fs->root = insert(fs, fs->root, t);
        fs->count++;
    } else if (pre != 0) {
        n->len = pre;
        refresh(fs, fs->root, n->off);
    } else if (post != 0) {
        n->off = x + len; /* still inside its own old range: the order holds */
        n->len = post;
        refresh(fs, fs->root, n->off);
    } else {
        static const fs_fix none = {NULL, 0, 0};
        kdpc__fs_node *gone = NULL;
        fs->root = unlink_node(fs, fs->root, n->off, &none, &gone);
        node_put(fs, gone);
        fs->count--;
    }
    fs->bytes -= len;
    *off = x;
    return KDPC__FS_OK;
}

bool kdpc__freespace_next(const kdpc__freespace *fs, size_t from, size_t *off, size_t *len)
{
    kdpc__fs_node *p, *n;
    neighbours(fs, from, &p, &n);
    if (n == NULL)
        return false;
    *off = n->off;
    *len = n->len;
    return true;
}

typedef struct check_state {
    const kdpc__freespace *fs;
    bool any;
    size_t last_end;
    size_t count, bytes;
} check_state;

static bool check_node(check_state *cs, const kdpc__fs_node *n)
{
    if (n == NULL)
        return true;
    const kdpc__freespace *fs = cs->fs;
    if (!check_node(cs, n->l))
        return false;
    if (n->len == 0 || !granular(fs, n->off) || !granular(fs, n->len) || n->off > SIZE_MAX - n->len)
        return false;
    if (cs->any && n->off <= cs->last_end) /* overlapping or touching: not coalesced */
        return false;
    cs->any = true;
    cs->last_end = n->off + n->len;
    cs->count++;
    cs->bytes += n->len;
    int hl = height(n->l), hr = height(n->r);
    if (n->h != 1 + (hl > hr ? hl : hr) || hl - hr > 1 || hr - hl > 1)
        return false;
    for (unsigned k = 0; k < fs->naligns; k++) {
        size_t f = own_fit(fs, n, k);
        if (n->l != NULL && n->l->fit[k] > f)
            f = n->l->fit[k];
        if (n->r != NULL && n->r->fit[k] > f)
            f = n->r->fit[k];
        if (n->fit[k] != f)
            return false;
    }
    return check_node(cs, n->r);
}

bool kdpc__freespace_check(const kdpc__freespace *fs)
{
    check_state cs = {fs, false, 0, 0, 0};
    return check_node(&cs, fs->root) && cs.count == fs->count && cs.bytes == fs->bytes;
}
