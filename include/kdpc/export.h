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
#define KDPC_END_DECLS }
#else
#define KDPC_BEGIN_DECLS
#define KDPC_END_DECLS
#endif

#endif /* KDPC_EXPORT_H */
