/* SPDX-License-Identifier: MIT */
/*
 * wdm_main.c - install test: driver-style code that includes <wdm.h> as on
 * Windows, resolved by kdpc::wdm to the installed <kdpc/wdm.h>.
 */
#include <wdm.h>
#include <kdpc/version.h>

#include <stdio.h>

int main(void)
{
    printf("kdpc %s: sizeof(KSPIN_LOCK) = %u\n", kdpc_version(), (unsigned)sizeof(KSPIN_LOCK));
    if (sizeof(KSPIN_LOCK) != 8) {
        fprintf(stderr, "sizeof(KSPIN_LOCK) must be 8, as on x64 Windows\n");
        return 1;
    }
    return 0;
}
