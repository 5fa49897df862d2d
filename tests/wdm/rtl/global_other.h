/* SPDX-License-Identifier: MIT */
/* global_other.h - what global_other.c (test_rtl_unicode's second translation unit) gives. */
#ifndef KT_GLOBAL_OTHER_H
#define KT_GLOBAL_OTHER_H

#include <wdm.h>

/* The address of GlobalName as global_other.c sees it. */
const UNICODE_STRING *kt_global_name_other(void);

#endif
