/* SPDX-License-Identifier: MIT */
/*
 * kdpc/wdm/guid.h - GUID, DEFINE_GUID and GUID comparison, as <guiddef.h> gives them to drivers.
 *
 * Driver code includes <kdpc/wdm.h> (or <wdm.h>, <initguid.h>, <wdmguid.h> through the compat
 * folder), never this file directly. Everything here is usable at any IRQL and outside a
 * simulated machine.
 */
#ifndef KDPC_WDM_GUID_H
#define KDPC_WDM_GUID_H

#include <kdpc/wdm/types.h>

KDPC_BEGIN_DECLS

#ifndef GUID_DEFINED
#define GUID_DEFINED
/** A 128-bit identifier: device interface classes, bus interfaces, WMI blocks. */
typedef struct _GUID {
    ULONG Data1;
    USHORT Data2;
    USHORT Data3;
    UCHAR Data4[8];
} GUID;
#endif

KDPC_STATIC_ASSERT(sizeof(GUID) == 16, "GUID is 16 bytes");

/** Pointer to a GUID; LPCGUID to a constant one. */
typedef GUID *LPGUID;
typedef const GUID *LPCGUID;
/** An interface identifier is a GUID. */
typedef GUID IID;
typedef IID *LPIID;
typedef GUID CLSID;
typedef CLSID *LPCLSID;
/** The way a GUID is passed: by constant pointer in C, by constant reference in C++. */
#ifdef __cplusplus
#define REFGUID const GUID &
#define REFIID  const IID &
#else
#define REFGUID const GUID *
#define REFIID  const IID *
#endif

/**
 * IsEqualGUID - TRUE (nonzero) when the two GUIDs have the same 16 bytes. C: both arguments are
 * pointers (const GUID *); C++: references. IRQL: any.
 */
#ifdef __cplusplus
#define IsEqualGUID(rguid1, rguid2) (!memcmp(&(rguid1), &(rguid2), sizeof(GUID)))
#else
#define IsEqualGUID(rguid1, rguid2) (!memcmp((rguid1), (rguid2), sizeof(GUID)))
#endif
/** InlineIsEqualGUID - IsEqualGUID. IRQL: any. */
#define InlineIsEqualGUID(rguid1, rguid2) IsEqualGUID(rguid1, rguid2)
/** IsEqualIID - IsEqualGUID for interface identifiers. IRQL: any. */
#define IsEqualIID(riid1, riid2) IsEqualGUID(riid1, riid2)

KDPC_END_DECLS

#endif /* KDPC_WDM_GUID_H */

/*
 * DEFINE_GUID - outside the include guard, as in <guiddef.h>: <initguid.h> defines INITGUID and
 * includes this file again, which switches DEFINE_GUID from declaring to defining.
 *
 * Without INITGUID, DEFINE_GUID(name, l, w1, w2, b1, ..., b8) declares `extern const GUID name`
 * (C linkage); with INITGUID it defines it with the value {l-w1-w2-b1b2-b3...b8}. The definition
 * is weak, as Windows' is "selectany": every file that defines the same GUID may do so, the
 * linker keeps one. A GUID that no file defines (no <initguid.h> before its DEFINE_GUID
 * anywhere) is an undefined symbol at link time, as on Windows.
 */
#ifdef DEFINE_GUID
#undef DEFINE_GUID
#endif
#ifdef __cplusplus
#define KDPC_GUID_LINKAGE_ extern "C"
#else
#define KDPC_GUID_LINKAGE_ extern
#endif
#ifdef INITGUID
#if defined(__GNUC__) || defined(__clang__)
#define KDPC_GUID_SELECTANY_ __attribute__((weak))
#else
#define KDPC_GUID_SELECTANY_
#endif
#ifdef __cplusplus
#define DEFINE_GUID(name, l, w1, w2, b1, b2, b3, b4, b5, b6, b7, b8)                               \
    extern "C" const GUID name KDPC_GUID_SELECTANY_ = {l, w1, w2, {b1, b2, b3, b4, b5, b6, b7, b8}}
#else
#define DEFINE_GUID(name, l, w1, w2, b1, b2, b3, b4, b5, b6, b7, b8)                               \
    const GUID name KDPC_GUID_SELECTANY_ = {l, w1, w2, {b1, b2, b3, b4, b5, b6, b7, b8}}
#endif
#else
#define DEFINE_GUID(name, l, w1, w2, b1, b2, b3, b4, b5, b6, b7, b8)                               \
    KDPC_GUID_LINKAGE_ const GUID name
#endif
