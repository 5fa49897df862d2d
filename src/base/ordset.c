/* SPDX-License-Identifier: MIT */
/*
 * ordset.c - AVL tree with parent links and a node pool (see ordset.h).
 *
 * Balance is restored bottom-up from the point of change and stops at the
 * first subtree whose height did not change: at most one (double) rotation
 * after an insert, O(log n) after a remove. A node with two children is
 * removed by moving its successor node into its place (the nodes move, not
 * their contents), so every other handle stays valid.
 */
#include <stdlib.h>

/* The sibling header by its own name: tests/unit/test_ordset.c compiles this file directly. */
#include "ordset.h"

/* A set that becomes empty gives its chunks back once it holds more nodes than this. */
#define KEEP_WHEN_EMPTY 4096u
#define CHUNK_MIN       32u
#define CHUNK_MAX       1024u

struct kdpc__oschunk {
    struct kdpc__oschunk *next;
    kdpc__osnode nodes[];
};

static int height(const kdpc__osnode *n)
{
    return n != NULL ? n->height : 0;
}

static void fix_height(kdpc__osnode *n)
{
    int l = height(n->left), r = height(n->right);
    n->height = (l > r ? l : r) + 1;
}

static int cmp(uint64_t a1, uint64_t a2, uint64_t b1, uint64_t b2)
{
    if (a1 != b1)
        return a1 < b1 ? -1 : 1;
    if (a2 != b2)
        return a2 < b2 ? -1 : 1;
    return 0;
}

static kdpc__osnode *node_new(kdpc__ordset *s)
{
    if (s->spare == NULL) {
        size_t n = s->held < CHUNK_MIN ? CHUNK_MIN : (s->held > CHUNK_MAX ? CHUNK_MAX : s->held);
        struct kdpc__oschunk *c = malloc(sizeof(*c) + n * sizeof(kdpc__osnode));
        if (c == NULL)
            return NULL;
        c->next = s->chunks;
        s->chunks = c;
        s->held += n;
        for (size_t i = n; i-- > 0;) {
            c->nodes[i].right = s->spare;
            s->spare = &c->nodes[i];
        }
    }
    kdpc__osnode *x = s->spare;
    s->spare = x->right;
    return x;
}

void kdpc__ordset_free(kdpc__ordset *s)
{
    while (s->chunks != NULL) {
        struct kdpc__oschunk *c = s->chunks;
        s->chunks = c->next;
        free(c);
    }
    s->root = s->min = s->max = s->spare = NULL;
    s->count = s->held = 0;
}

/* @parent's link to @old now leads to @new (the root's when @parent is NULL). */
static void replace_child(kdpc__ordset *s, kdpc__osnode *parent, kdpc__osnode *old,
                          kdpc__osnode *new)
{
    if (parent == NULL)
        s->root = new;
    else if (parent->left == old)
        parent->left = new;
    else
        parent->right = new;
    if (new != NULL)
        new->parent = parent;
}

static kdpc__osnode *rotate_left(kdpc__ordset *s, kdpc__osnode *x)
{
    kdpc__osnode *y = x->right;
    kdpc__osnode *p = x->parent;
    x->right = y->left;
    if (y->left != NULL)
        y->left->parent = x;
    y->left = x;
    x->parent = y;
    replace_child(s, p, x, y);
    fix_height(x);
    fix_height(y);
    return y;
}

static kdpc__osnode *rotate_right(kdpc__ordset *s, kdpc__osnode *x)
{
    kdpc__osnode *y = x->left;
    kdpc__osnode *p = x->parent;
    x->left = y->right;
    if (y->right != NULL)
        y->right->parent = x;
    y->right = x;
    x->parent = y;
    replace_child(s, p, x, y);
    fix_height(x);
    fix_height(y);
    return y;
}

/* Restore heights and balance from @n up, until a subtree keeps its height. */
static void rebalance(kdpc__ordset *s, kdpc__osnode *n)
{
    while (n != NULL) {
        int old = n->height;
        int bf = height(n->left) - height(n->right);
        if (bf > 1) {
            if (height(n->left->left) < height(n->left->right))
                (void)rotate_left(s, n->left);
            n = rotate_right(s, n);
        } else if (bf < -1) {
            if (height(n->right->right) < height(n->right->left))
                (void)rotate_right(s, n->right);
            n = rotate_left(s, n);
        } else {
            fix_height(n);
        }
        if (n->height == old)
            break;
        n = n->parent;
    }
}

kdpc__osnode *kdpc__ordset_insert(kdpc__ordset *s, uint64_t k1, uint64_t k2, void *val)
{
    kdpc__osnode *x = node_new(s);
    if (x == NULL)
        return NULL;
    x->left = x->right = NULL;
    x->k1 = k1;
    x->k2 = k2;
    x->val = val;
    x->aux = 0;
    x->height = 1;
    kdpc__osnode *p = NULL;
    kdpc__osnode **link = &s->root;
    bool leftmost = true, rightmost = true;
    if (s->max != NULL && cmp(k1, k2, s->max->k1, s->max->k2) >= 0) {
        p = s->max; /* at or after the last: no search */
        link = &p->right;
        leftmost = false;
    } else if (s->min != NULL && cmp(k1, k2, s->min->k1, s->min->k2) < 0) {
        p = s->min; /* before the first */
        link = &p->left;
        rightmost = false;
    } else {
        while (*link != NULL) {
            p = *link;
            if (cmp(k1, k2, p->k1, p->k2) < 0) {
                link = &p->left;
                rightmost = false;
            } else {
                link = &p->right; /* equal keys: after the ones already there */
                leftmost = false;
            }
        }
    }
    *link = x;
    x->parent = p;
    if (leftmost)
        s->min = x;
    if (rightmost)
        s->max = x;
    s->count++;
    rebalance(s, p);
    return x;
}

static kdpc__osnode *prev(const kdpc__osnode *n)
{
    if (n->left != NULL) {
        n = n->left;
        while (n->right != NULL)
            n = n->right;
        return (kdpc__osnode *)n;
    }
    while (n->parent != NULL && n->parent->left == n)
        n = n->parent;
    return n->parent;
}

kdpc__osnode *kdpc__ordset_next(const kdpc__osnode *n)
{
    if (n->right != NULL) {
        n = n->right;
        while (n->left != NULL)
            n = n->left;
        return (kdpc__osnode *)n;
    }
    while (n->parent != NULL && n->parent->right == n)
        n = n->parent;
    return n->parent;
}

void kdpc__ordset_remove(kdpc__ordset *s, kdpc__osnode *z)
{
    if (s->min == z)
        s->min = kdpc__ordset_next(z);
    if (s->max == z)
        s->max = prev(z);
    kdpc__osnode *fix;
    if (z->left == NULL || z->right == NULL) {
        fix = z->parent;
        replace_child(s, z->parent, z, z->left != NULL ? z->left : z->right);
    } else {
        /* The successor y (no left child) takes z's place. */
        kdpc__osnode *y = z->right;
        while (y->left != NULL)
            y = y->left;
        if (y->parent == z) {
            fix = y;
        } else {
            fix = y->parent;
            fix->left = y->right;
            if (y->right != NULL)
                y->right->parent = fix;
            y->right = z->right;
            y->right->parent = y;
        }
        y->left = z->left;
        y->left->parent = y;
        y->height = z->height;
        replace_child(s, z->parent, z, y);
    }
    rebalance(s, fix);
    s->count--;
    z->right = s->spare;
    s->spare = z;
    if (s->count == 0 && s->held > KEEP_WHEN_EMPTY)
        kdpc__ordset_free(s);
}

kdpc__osnode *kdpc__ordset_lower_bound(const kdpc__ordset *s, uint64_t k1, uint64_t k2)
{
    kdpc__osnode *best = NULL;
    kdpc__osnode *n = s->root;
    while (n != NULL) {
        if (cmp(n->k1, n->k2, k1, k2) >= 0) {
            best = n;
            n = n->left;
        } else {
            n = n->right;
        }
    }
    return best;
}

/* Height of the subtree at @n when every invariant below it holds, else -1. */
static int check_subtree(const kdpc__osnode *n, const kdpc__osnode *parent, size_t *count)
{
    if (n == NULL)
        return 0;
    if (n->parent != parent)
        return -1;
    if (n->left != NULL && cmp(n->left->k1, n->left->k2, n->k1, n->k2) > 0)
        return -1;
    if (n->right != NULL && cmp(n->right->k1, n->right->k2, n->k1, n->k2) < 0)
        return -1;
    int l = check_subtree(n->left, n, count);
    int r = check_subtree(n->right, n, count);
    if (l < 0 || r < 0 || l - r > 1 || r - l > 1)
        return -1;
    int h = (l > r ? l : r) + 1;
    if (n->height != h)
        return -1;
    (*count)++;
    return h;
}

bool kdpc__ordset_valid(const kdpc__ordset *s)
{
    size_t count = 0;
    if (check_subtree(s->root, NULL, &count) < 0 || count != s->count)
        return false;
    const kdpc__osnode *m = s->root;
    while (m != NULL && m->left != NULL)
        m = m->left;
    if (m != s->min)
        return false;
    const kdpc__osnode *x = s->root;
    while (x != NULL && x->right != NULL)
        x = x->right;
    if (x != s->max)
        return false;
    /* In-order: keys never decrease (the local checks above do not see across subtrees). */
    size_t seen = 0;
    for (const kdpc__osnode *n = s->min; n != NULL; n = kdpc__ordset_next(n)) {
        const kdpc__osnode *nx = kdpc__ordset_next(n);
        if (nx != NULL && cmp(n->k1, n->k2, nx->k1, nx->k2) > 0)
            return false;
        if (++seen > count)
            return false;
    }
    return seen == count;
}
