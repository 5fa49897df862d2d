/* SPDX-License-Identifier: MIT */
/*
 * panic.c - the end of the road for a broken kdpc invariant.
 */
#include <stdio.h>
#include <stdlib.h>

#include "base/assert.h"

void kdpc__panic(const char *expr, const char *file, int line)
{
    fprintf(stderr,
            "kdpc internal error: %s failed at %s:%d (this is a kdpc bug, not a bug of "
            "the driver under test; please report it)\n",
            expr, file, line);
    abort();
}
