/* SPDX-License-Identifier: MIT */
/*
 * assert.h - kdpc's own invariants. A failed KDPC_ASSERT is a defect of
 * kdpc, never of the driver under test (driver bugs are bug checks), so it
 * prints where and aborts. Checked when the library is built with
 * KDPC_DEBUG (the dev presets); otherwise the expression is not evaluated.
 */
#ifndef KDPC_BASE_ASSERT_H
#define KDPC_BASE_ASSERT_H

#include <kdpc/export.h>

KDPC_NORETURN void kdpc__panic(const char *expr, const char *file, int line);

#if defined(KDPC_DEBUG) && KDPC_DEBUG
#define KDPC_ASSERT(x) ((x) ? (void)0 : kdpc__panic(#x, __FILE__, __LINE__))
#else
#define KDPC_ASSERT(x) ((void)sizeof(x))
#endif

#endif /* KDPC_BASE_ASSERT_H */
