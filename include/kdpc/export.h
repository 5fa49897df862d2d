/* SPDX-License-Identifier: MIT */
/*
 * export.h - symbol visibility for the kdpc library.
 *
 * The library is built with hidden visibility; only declarations marked
 * KDPC_EXPORT leave libkdpc.so. A static build needs nothing special.
 */
#ifndef KDPC_EXPORT_H
#define KDPC_EXPORT_H

#if defined(__GNUC__) || defined(__clang__)
#define KDPC_EXPORT __attribute__((visibility("default")))
#else
#define KDPC_EXPORT
#endif

#ifdef __cplusplus
#define KDPC_BEGIN_DECLS extern "C" {
#define KDPC_END_DECLS   }
#else
#define KDPC_BEGIN_DECLS
#define KDPC_END_DECLS
#endif

/* _Noreturn / [[noreturn]], static assertions and anonymous members, for C11 and C++. */
#ifdef __cplusplus
#define KDPC_NORETURN              [[noreturn]]
#define KDPC_STATIC_ASSERT(e, msg) static_assert(e, msg)
#else
#define KDPC_NORETURN              _Noreturn
#define KDPC_STATIC_ASSERT(e, msg) _Static_assert(e, msg)
#endif
#if defined(__GNUC__) || defined(__clang__)
#define KDPC_EXTENSION __extension__
#else
#define KDPC_EXTENSION
#endif

#endif /* KDPC_EXPORT_H */
