/* SPDX-License-Identifier: MIT */
/*
 * posix/sanitizer.h - which sanitizers and tools the platform code is built
 * for (ASan, TSan, valgrind's client requests), so that fibers and stacks can
 * tell them what they do. Private to src/platform/posix.
 */
#ifndef KDPC_PLATFORM_POSIX_SANITIZER_H
#define KDPC_PLATFORM_POSIX_SANITIZER_H

#if defined(__SANITIZE_ADDRESS__)
#define KDPC_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define KDPC_ASAN 1
#endif
#endif
#if defined(__SANITIZE_THREAD__)
#define KDPC_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define KDPC_TSAN 1
#endif
#endif
#if defined(KDPC_ASAN)
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif
#if defined(KDPC_TSAN)
#include <sanitizer/tsan_interface.h>
#endif
#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>) && __has_include(<valgrind/memcheck.h>)
#include <valgrind/memcheck.h>
#include <valgrind/valgrind.h>
#define KDPC_VALGRIND 1
#endif
#endif

#endif /* KDPC_PLATFORM_POSIX_SANITIZER_H */
