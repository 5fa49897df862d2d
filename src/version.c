/* SPDX-License-Identifier: MIT */
/*
 * version.c - run-time version of the library (see <kdpc/version.h>).
 *
 * The values are those of the headers this file was compiled with, which are
 * by construction the library's own, so a program can compare them with the
 * KDPC_VERSION* macros it was compiled against.
 */
#include <kdpc/version.h>

const char *kdpc_version(void)
{
    return KDPC_VERSION_STRING;
}

unsigned kdpc_version_number(void)
{
    return (unsigned)KDPC_VERSION;
}
