/* SPDX-License-Identifier: MIT */
/*
 * test_intsafe_unsigned_char.c - test_intsafe.c again, built with
 * -funsigned-char (tests/CMakeLists.txt): the RtlXxxToChar routines check the
 * range of an unsigned CHAR, 0..255, when the compiler's char is unsigned
 * (docs/facts/status.md 2.4). Every other case must hold unchanged.
 */
#include <limits.h>

#if CHAR_MIN != 0
#error "test_intsafe_unsigned_char.c must be built with -funsigned-char"
#endif

#include "test_intsafe.c"
