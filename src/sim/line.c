/* SPDX-License-Identifier: MIT */
/*
 * line.c - interrupt lines: asserted levels and latched edges, which CPU
 * may take them, and at which DIRQL.
 *
 * Line state is written by any host thread (kdpc_line_assert may come from
 * outside the machine), so it lives under m->mu. lines_active counts the
 * connected lines that have something to deliver: the baton holder reads it
 * without the mutex at every interleaving point and only then looks closer,
 * at the active lines only (line_bits), and line_cpus tells the scheduler
 * which CPUs an active line may go to.
 */
#include "sim/sim.h"

/* A level line being served (taken, its ISRs not returned yet) goes to no other CPU: the
 * interrupt controller holds it until the end of interrupt, as an I/O APIC does. */
static bool active(const kdpc__line *l)
{
    return l->connected && (l->level ? l->asserted && !l->in_service : l->edge);
}

/* m->line_cpus: the union of the active lines' CPU masks (O(active lines)). */
static void recompute_cpus(kdpc_machine *m)
{
    uint64_t cpus = 0;
    for (unsigned w = 0; w < KDPC_MAX_LINES / 64; w++) {
        for (uint64_t bits = m->line_bits[w]; bits != 0; bits &= bits - 1) {
            unsigned i = w * 64u + (unsigned)__builtin_ctzll(bits);
            cpus |= m->lines[i].mask;
        }
    }
    atomic_store_explicit(&m->line_cpus, cpus, memory_order_release);
}

static void update(kdpc_machine *m, kdpc__line *l, bool before)
{
    bool after = active(l);
    unsigned i = (unsigned)(l - m->lines);
    if (after)
        m->line_bits[i / 64u] |= 1ull << (i % 64u);
    else
        m->line_bits[i / 64u] &= ~(1ull << (i % 64u));
    recompute_cpus(m);
    if (before && !after)
        atomic_fetch_sub(&m->lines_active, 1);
    else if (!before && after)
        atomic_fetch_add(&m->lines_active, 1);
}

void kdpc__line_config(kdpc_machine *m, unsigned line, bool connected, bool level, uint8_t irql,
                       uint64_t mask)
{
    kdpc__mutex_lock(&m->mu);
    kdpc__line *l = &m->lines[line];
    bool before = active(l);
    l->connected = connected;
    l->level = level;
    l->irql = irql;
    l->mask = mask;
    update(m, l, before);
    kdpc__mutex_unlock(&m->mu);
}

void kdpc__line_set(kdpc_machine *m, unsigned line, bool assert)
{
    kdpc__mutex_lock(&m->mu);
    kdpc__line *l = &m->lines[line];
    bool before = active(l);
    if (assert) {
        /* An unconnected line does not know its mode yet: remember both. */
        if (!l->connected || l->level)
            l->asserted = true;
        if (!l->connected || !l->level)
            l->edge = true;
    } else {
        l->asserted = false;
        l->edge = false;
    }
    update(m, l, before);
    kdpc__mutex_unlock(&m->mu);
}

bool kdpc__line_deliverable(kdpc_machine *m, const kdpc__cpu *c, unsigned *line)
{
    bool found = false;
    uint8_t best = 0;
    kdpc__mutex_lock(&m->mu);
    for (unsigned w = 0; w < KDPC_MAX_LINES / 64; w++) {
        for (uint64_t bits = m->line_bits[w]; bits != 0; bits &= bits - 1) {
            unsigned i = w * 64u + (unsigned)__builtin_ctzll(bits);
            const kdpc__line *l = &m->lines[i];
            if (!((l->mask >> c->index) & 1u) || c->irql >= l->irql)
                continue;
            /* The highest DIRQL wins; among equals the lowest line. */
            if (!found || l->irql > best) {
                found = true;
                best = l->irql;
                *line = i;
            }
        }
    }
    kdpc__mutex_unlock(&m->mu);
    return found;
}

void kdpc__line_take(kdpc_machine *m, unsigned line)
{
    kdpc__mutex_lock(&m->mu);
    kdpc__line *l = &m->lines[line];
    bool before = active(l);
    if (!l->level)
        l->edge = false;
    else
        l->in_service = true;
    update(m, l, before);
    kdpc__mutex_unlock(&m->mu);
}

void kdpc__line_eoi(kdpc_machine *m, unsigned line)
{
    kdpc__mutex_lock(&m->mu);
    kdpc__line *l = &m->lines[line];
    bool before = active(l);
    l->in_service = false;
    update(m, l, before);
    kdpc__mutex_unlock(&m->mu);
}

bool kdpc__line_asserted(kdpc_machine *m, unsigned line)
{
    kdpc__mutex_lock(&m->mu);
    bool r = m->lines[line].asserted;
    kdpc__mutex_unlock(&m->mu);
    return r;
}

bool kdpc__line_pending(kdpc_machine *m, unsigned line)
{
    kdpc__mutex_lock(&m->mu);
    bool r = m->lines[line].asserted || m->lines[line].edge;
    kdpc__mutex_unlock(&m->mu);
    return r;
}
