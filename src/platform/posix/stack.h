/* SPDX-License-Identifier: MIT */
/*
 * posix/stack.h - stacks for fibers: KDPC_STACK_GUARD bytes of inaccessible
 * guard pages under the usable part, from a process-wide cache. Private to
 * src/platform/posix.
 */
#ifndef KDPC_PLATFORM_POSIX_STACK_H
#define KDPC_PLATFORM_POSIX_STACK_H

#include <stdbool.h>
#include <stddef.h>

size_t kdpc__page_size(void);
/* A mapping of @total bytes whose first KDPC_STACK_GUARD are inaccessible and whose rest reads
 * as zeroes; NULL when the host refuses. */
void *kdpc__stack_get(size_t total);
/* Give a stack back; @ran: a fiber ran on it (else only its first frame was written). */
void kdpc__stack_put(void *map, size_t total, bool ran);

#endif /* KDPC_PLATFORM_POSIX_STACK_H */
