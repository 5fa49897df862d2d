/* SPDX-License-Identifier: MIT */
/*
 * main.c - install test: a program using the native API of an installed
 * kdpc. It must compile against the installed headers, link against the
 * installed library, and find the header and library versions equal.
 */
#include <kdpc/kdpc.h>
#include <kdpc/driver.h>
#include <kdpc/version.h>

#include <stdio.h>
#include <string.h>

int main(void)
{
    const char *version = kdpc_version();

    printf("kdpc library %s (headers %s)\n", version, KDPC_VERSION_STRING);
    if (strcmp(version, KDPC_VERSION_STRING) != 0) {
        fprintf(stderr, "library/header version mismatch\n");
        return 1;
    }
    if (kdpc_version_number() != (unsigned)KDPC_VERSION) {
        fprintf(stderr, "kdpc_version_number() = %#x, KDPC_VERSION = %#x\n", kdpc_version_number(),
                (unsigned)KDPC_VERSION);
        return 1;
    }
#ifdef KDPC_EXPECTED_VERSION
    if (strcmp(version, KDPC_EXPECTED_VERSION) != 0) {
        fprintf(stderr, "found kdpc %s, expected %s\n", version, KDPC_EXPECTED_VERSION);
        return 1;
    }
#endif
    return 0;
}
