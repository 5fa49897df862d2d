/* SPDX-License-Identifier: MIT */
/*
 * system.c - MmQuerySystemSize: kdpc's simulated machine counts as a large
 * system (it has no memory size of its own).
 */
#include "mm/mm.h"

MM_SYSTEMSIZE kdpc_MmQuerySystemSize(void)
{
    return MmLargeSystem;
}
