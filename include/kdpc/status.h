/* SPDX-License-Identifier: MIT */
/*
 * kdpc/status.h - results of native kdpc calls.
 *
 * 0 is success; positive values are run outcomes (the call worked, the
 * simulated machine did not); negative values are errors of the call itself.
 */
#ifndef KDPC_STATUS_H
#define KDPC_STATUS_H

#include <kdpc/export.h>

KDPC_BEGIN_DECLS

/** X-map of every status: name, value, text. */
#define KDPC_STATUS_MAP(XX)                                                                        \
    XX(KDPC_OK, 0, "success")                                                                      \
    XX(KDPC_BUGCHECK, 1, "a bug check stopped the run")                                            \
    XX(KDPC_DEADLOCK, 2, "every CPU is spinning or blocked: deadlock")                             \
    XX(KDPC_TIMEOUT, 3, "the run reached its step or virtual time limit")                          \
    XX(KDPC_EINVAL, -22, "invalid argument")                                                       \
    XX(KDPC_ENOMEM, -12, "out of host memory")                                                     \
    XX(KDPC_EBUSY, -16, "the machine is running; call not allowed from here")                      \
    XX(KDPC_ENOENT, -2, "no such rule, line or object")                                            \
    XX(KDPC_EIO, -5, "the device reported an I/O error (an injected fault)")                       \
    XX(KDPC_EEXIST, -17, "overlaps a range or line already in use")                                \
    XX(KDPC_E_HALTED, -200,                                                                        \
       "the machine halted (bug check or deadlock); only reports and "                             \
       "destroy are allowed")                                                                      \
    XX(KDPC_ESYSTEM, -201, "the host refused a resource (thread, mutex)")                          \
    XX(KDPC_EOUTPUT, -202, "an output file could not be created or written (errno says why)")

/** Result of a native call. */
typedef enum kdpc_status {
#define KDPC_STATUS_ENUM_(name, value, text) name = value,
    KDPC_STATUS_MAP(KDPC_STATUS_ENUM_)
#undef KDPC_STATUS_ENUM_
} kdpc_status;

/**
 * kdpc_strerror() - text for a status.
 * @status: any value, known or not.
 * Thread: any. Return: a static string, never NULL.
 */
KDPC_EXPORT const char *kdpc_strerror(kdpc_status status);

KDPC_END_DECLS

#endif /* KDPC_STATUS_H */
