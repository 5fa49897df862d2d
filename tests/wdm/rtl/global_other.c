/* SPDX-License-Identifier: MIT */
/*
 * global_other.c - the second translation unit of test_rtl_unicode (driver code: <wdm.h> only):
 * it declares the same DECLARE_GLOBAL_CONST_UNICODE_STRING as the test, as two files of a driver
 * including one header would, and the two must link into one string.
 */
#include <wdm.h>

#include "global_other.h"

DECLARE_GLOBAL_CONST_UNICODE_STRING(GlobalName, L"\\Device\\Global");

const UNICODE_STRING *kt_global_name_other(void)
{
    return &GlobalName;
}
