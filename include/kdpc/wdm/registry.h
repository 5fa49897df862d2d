/* SPDX-License-Identifier: MIT */
/*
 * kdpc/wdm/registry.h - the registry as a driver sees it: key handles
 * (ZwOpenKey, ZwCreateKey, ZwQueryValueKey, ZwSetValueKey, ...; close them
 * with ZwClose), the Rtl helpers (RtlQueryRegistryValues,
 * RtlWriteRegistryValue, RtlCheckRegistryKey, ...) and a device's keys
 * (IoOpenDeviceRegistryKey). docs/facts/registry.md has the Windows facts.
 *
 * kdpc's registry is an in-memory tree per machine that a test fills with
 * the native calls of <kdpc/registry.h>. It starts with
 * \Registry\Machine\System\CurrentControlSet\{Services,Control,Enum},
 * \Registry\Machine\Software\Microsoft\Windows NT\CurrentVersion,
 * \Registry\Machine\Hardware\DeviceMap and \Registry\User; kdpc_driver_load
 * makes the driver's service key (its RegistryPath) before DriverEntry runs.
 * Names compare without regard to ASCII case. Every routine here runs at
 * PASSIVE_LEVEL: above it the call is bug check zw.passive_irql
 * (0xC4/0x2001F, the IrqlZwPassive rule); as a warning or off it returns
 * STATUS_INVALID_PARAMETER and does nothing.
 *
 * Access: a kernel-mode caller gets the access it asks for; kdpc then holds
 * each call to what the handle was opened with, as Microsoft documents it
 * (KEY_QUERY_VALUE to read values, KEY_SET_VALUE to set or delete them, ...).
 */
#ifndef KDPC_WDM_REGISTRY_H
#define KDPC_WDM_REGISTRY_H

#include <kdpc/wdm/types.h>
#include <kdpc/wdm/ob.h>
#include <kdpc/wdm/irp.h>

KDPC_BEGIN_DECLS

/* ------------------------------------------------------------------ */
/* Access rights of keys                                               */

#define KEY_QUERY_VALUE        0x0001
#define KEY_SET_VALUE          0x0002
#define KEY_CREATE_SUB_KEY     0x0004
#define KEY_ENUMERATE_SUB_KEYS 0x0008
#define KEY_NOTIFY             0x0010
#define KEY_CREATE_LINK        0x0020
#define KEY_WOW64_64KEY        0x0100
#define KEY_WOW64_32KEY        0x0200
#define KEY_WOW64_RES          0x0300
#define KEY_READ                                                                                   \
    ((STANDARD_RIGHTS_READ | KEY_QUERY_VALUE | KEY_ENUMERATE_SUB_KEYS | KEY_NOTIFY) &              \
     (~SYNCHRONIZE))
#define KEY_WRITE   ((STANDARD_RIGHTS_WRITE | KEY_SET_VALUE | KEY_CREATE_SUB_KEY) & (~SYNCHRONIZE))
#define KEY_EXECUTE ((KEY_READ) & (~SYNCHRONIZE))
#define KEY_ALL_ACCESS                                                                             \
    ((STANDARD_RIGHTS_ALL | KEY_QUERY_VALUE | KEY_SET_VALUE | KEY_CREATE_SUB_KEY |                 \
      KEY_ENUMERATE_SUB_KEYS | KEY_NOTIFY | KEY_CREATE_LINK) &                                     \
     (~SYNCHRONIZE))

/* ------------------------------------------------------------------ */
/* Value types                                                         */

#define REG_NONE                       0
#define REG_SZ                         1
#define REG_EXPAND_SZ                  2
#define REG_BINARY                     3
#define REG_DWORD                      4
#define REG_DWORD_LITTLE_ENDIAN        4
#define REG_DWORD_BIG_ENDIAN           5
#define REG_LINK                       6
#define REG_MULTI_SZ                   7
#define REG_RESOURCE_LIST              8
#define REG_FULL_RESOURCE_DESCRIPTOR   9
#define REG_RESOURCE_REQUIREMENTS_LIST 10
#define REG_QWORD                      11
#define REG_QWORD_LITTLE_ENDIAN        11

/* ZwCreateKey CreateOptions and Disposition */
#define REG_OPTION_RESERVED        0x00000000L
#define REG_OPTION_NON_VOLATILE    0x00000000L
#define REG_OPTION_VOLATILE        0x00000001L
#define REG_OPTION_CREATE_LINK     0x00000002L
#define REG_OPTION_BACKUP_RESTORE  0x00000004L
#define REG_OPTION_OPEN_LINK       0x00000008L
#define REG_OPTION_DONT_VIRTUALIZE 0x00000010L
#define REG_LEGAL_OPTION                                                                           \
    (REG_OPTION_RESERVED | REG_OPTION_NON_VOLATILE | REG_OPTION_VOLATILE |                         \
     REG_OPTION_CREATE_LINK | REG_OPTION_BACKUP_RESTORE | REG_OPTION_OPEN_LINK |                   \
     REG_OPTION_DONT_VIRTUALIZE)
#define REG_CREATED_NEW_KEY     0x00000001L
#define REG_OPENED_EXISTING_KEY 0x00000002L

/* ------------------------------------------------------------------ */
/* Information classes                                                 */

typedef enum _KEY_INFORMATION_CLASS {
    KeyBasicInformation,
    KeyNodeInformation,
    KeyFullInformation,
    KeyNameInformation,
    KeyCachedInformation,
    KeyFlagsInformation,
    KeyVirtualizationInformation,
    KeyHandleTagsInformation,
    KeyTrustInformation,
    KeyLayerInformation,
    MaxKeyInfoClass
} KEY_INFORMATION_CLASS;

/** ZwEnumerateKey / ZwQueryKey, KeyBasicInformation: the name follows, not terminated. */
typedef struct _KEY_BASIC_INFORMATION {
    LARGE_INTEGER LastWriteTime;
    ULONG TitleIndex;
    ULONG NameLength; /* bytes */
    WCHAR Name[1];
} KEY_BASIC_INFORMATION, *PKEY_BASIC_INFORMATION;

/** KeyNodeInformation: the name, then the class at ClassOffset from the start. */
typedef struct _KEY_NODE_INFORMATION {
    LARGE_INTEGER LastWriteTime;
    ULONG TitleIndex;
    ULONG ClassOffset; /* 0xFFFFFFFF when the key has no class */
    ULONG ClassLength;
    ULONG NameLength;
    WCHAR Name[1];
} KEY_NODE_INFORMATION, *PKEY_NODE_INFORMATION;

/** KeyFullInformation: counts and maxima of the key's subkeys and values, then the class. */
typedef struct _KEY_FULL_INFORMATION {
    LARGE_INTEGER LastWriteTime;
    ULONG TitleIndex;
    ULONG ClassOffset;
    ULONG ClassLength;
    ULONG SubKeys;
    ULONG MaxNameLen;  /* bytes of the longest subkey name */
    ULONG MaxClassLen; /* bytes of the longest subkey class */
    ULONG Values;
    ULONG MaxValueNameLen; /* bytes */
    ULONG MaxValueDataLen; /* bytes */
    WCHAR Class[1];
} KEY_FULL_INFORMATION, *PKEY_FULL_INFORMATION;

/** ZwQueryKey, KeyNameInformation: the key's full path ("\REGISTRY\..."), not terminated. */
typedef struct _KEY_NAME_INFORMATION {
    ULONG NameLength;
    WCHAR Name[1];
} KEY_NAME_INFORMATION, *PKEY_NAME_INFORMATION;

typedef enum _KEY_VALUE_INFORMATION_CLASS {
    KeyValueBasicInformation,
    KeyValueFullInformation,
    KeyValuePartialInformation,
    KeyValueFullInformationAlign64,
    KeyValuePartialInformationAlign64,
    KeyValueLayerInformation,
    MaxKeyValueInfoClass
} KEY_VALUE_INFORMATION_CLASS;

typedef struct _KEY_VALUE_BASIC_INFORMATION {
    ULONG TitleIndex;
    ULONG Type;
    ULONG NameLength; /* bytes */
    WCHAR Name[1];
} KEY_VALUE_BASIC_INFORMATION, *PKEY_VALUE_BASIC_INFORMATION;

/** The name follows; the data sits at DataOffset from the start. */
typedef struct _KEY_VALUE_FULL_INFORMATION {
    ULONG TitleIndex;
    ULONG Type;
    ULONG DataOffset;
    ULONG DataLength;
    ULONG NameLength;
    WCHAR Name[1];
} KEY_VALUE_FULL_INFORMATION, *PKEY_VALUE_FULL_INFORMATION;

typedef struct _KEY_VALUE_PARTIAL_INFORMATION {
    ULONG TitleIndex;
    ULONG Type;
    ULONG DataLength;
    UCHAR Data[1];
} KEY_VALUE_PARTIAL_INFORMATION, *PKEY_VALUE_PARTIAL_INFORMATION;

typedef struct _KEY_VALUE_PARTIAL_INFORMATION_ALIGN64 {
    ULONG Type;
    ULONG DataLength;
    UCHAR Data[1];
} KEY_VALUE_PARTIAL_INFORMATION_ALIGN64, *PKEY_VALUE_PARTIAL_INFORMATION_ALIGN64;

/* ------------------------------------------------------------------ */
/* Zw routines                                                         */

KDPC_EXPORT NTSTATUS kdpc_ZwOpenKey(PHANDLE KeyHandle, ACCESS_MASK DesiredAccess,
                                    POBJECT_ATTRIBUTES ObjectAttributes);
KDPC_EXPORT NTSTATUS kdpc_ZwCreateKey(PHANDLE KeyHandle, ACCESS_MASK DesiredAccess,
                                      POBJECT_ATTRIBUTES ObjectAttributes, ULONG TitleIndex,
                                      PUNICODE_STRING Class, ULONG CreateOptions,
                                      PULONG Disposition);
KDPC_EXPORT NTSTATUS kdpc_ZwQueryValueKey(HANDLE KeyHandle, PUNICODE_STRING ValueName,
                                          KEY_VALUE_INFORMATION_CLASS KeyValueInformationClass,
                                          PVOID KeyValueInformation, ULONG Length,
                                          PULONG ResultLength);
KDPC_EXPORT NTSTATUS kdpc_ZwEnumerateValueKey(HANDLE KeyHandle, ULONG Index,
                                              KEY_VALUE_INFORMATION_CLASS KeyValueInformationClass,
                                              PVOID KeyValueInformation, ULONG Length,
                                              PULONG ResultLength);
KDPC_EXPORT NTSTATUS kdpc_ZwSetValueKey(HANDLE KeyHandle, PUNICODE_STRING ValueName,
                                        ULONG TitleIndex, ULONG Type, PVOID Data, ULONG DataSize);
KDPC_EXPORT NTSTATUS kdpc_ZwDeleteValueKey(HANDLE KeyHandle, PUNICODE_STRING ValueName);
KDPC_EXPORT NTSTATUS kdpc_ZwEnumerateKey(HANDLE KeyHandle, ULONG Index,
                                         KEY_INFORMATION_CLASS KeyInformationClass,
                                         PVOID KeyInformation, ULONG Length, PULONG ResultLength);
KDPC_EXPORT NTSTATUS kdpc_ZwQueryKey(HANDLE KeyHandle, KEY_INFORMATION_CLASS KeyInformationClass,
                                     PVOID KeyInformation, ULONG Length, PULONG ResultLength);
KDPC_EXPORT NTSTATUS kdpc_ZwDeleteKey(HANDLE KeyHandle);
KDPC_EXPORT NTSTATUS kdpc_ZwFlushKey(HANDLE KeyHandle);

/**
 * ZwOpenKey - open the key ObjectAttributes names: ObjectName is a full
 * path ("\Registry\Machine\...") or, with RootDirectory a key handle, a
 * path below that key (empty: the key itself). *KeyHandle is a kernel
 * handle granted DesiredAccess (GENERIC_READ/WRITE/EXECUTE/ALL and
 * MAXIMUM_ALLOWED map to KEY_READ/WRITE/EXECUTE/ALL_ACCESS).
 * IRQL: PASSIVE_LEVEL.
 * Return: STATUS_SUCCESS; STATUS_OBJECT_NAME_NOT_FOUND (no such key, or a
 * path outside \Registry); STATUS_OBJECT_NAME_INVALID (an empty component or
 * trailing '\'); STATUS_OBJECT_PATH_SYNTAX_BAD (a full path not starting
 * with '\', a relative one that does); STATUS_INVALID_HANDLE (RootDirectory
 * is no open handle); STATUS_OBJECT_TYPE_MISMATCH (RootDirectory is no key);
 * STATUS_KEY_DELETED; STATUS_INVALID_PARAMETER (a NULL pointer or a bad
 * OBJECT_ATTRIBUTES Length); STATUS_INSUFFICIENT_RESOURCES. *KeyHandle is set
 * only on success.
 * Divergence: a NULL pointer is STATUS_INVALID_PARAMETER where Windows would
 * fault; the Zw*Key routines below do the same.
 * Bugchecks: zw.passive_irql above PASSIVE_LEVEL.
 */
static inline NTSTATUS ZwOpenKey(PHANDLE KeyHandle, ACCESS_MASK DesiredAccess,
                                 POBJECT_ATTRIBUTES ObjectAttributes)
{
    return kdpc_ZwOpenKey(KeyHandle, DesiredAccess, ObjectAttributes);
}

/**
 * ZwCreateKey - open the key ObjectAttributes names (as ZwOpenKey), making
 * it when it does not exist; its parent must exist (one level is created).
 * Class (may be NULL) is kept as the key's class; TitleIndex is ignored, as
 * on Windows. CreateOptions: REG_OPTION_NON_VOLATILE or REG_OPTION_VOLATILE
 * (a volatile key's subkeys must be volatile too); REG_OPTION_OPEN_LINK and
 * REG_OPTION_DONT_VIRTUALIZE change nothing here. *Disposition (may be NULL)
 * gets REG_CREATED_NEW_KEY or REG_OPENED_EXISTING_KEY.
 * IRQL: PASSIVE_LEVEL.
 * Return: as ZwOpenKey (STATUS_OBJECT_NAME_NOT_FOUND: the parent is missing);
 * STATUS_CHILD_MUST_BE_VOLATILE; STATUS_INVALID_PARAMETER (options outside
 * REG_LEGAL_OPTION, REG_OPTION_CREATE_LINK, REG_OPTION_BACKUP_RESTORE).
 * Divergence: symbolic-link keys (REG_OPTION_CREATE_LINK) and backup/restore
 * opens are not modelled: STATUS_INVALID_PARAMETER.
 * Bugchecks: zw.passive_irql above PASSIVE_LEVEL.
 */
static inline NTSTATUS ZwCreateKey(PHANDLE KeyHandle, ACCESS_MASK DesiredAccess,
                                   POBJECT_ATTRIBUTES ObjectAttributes, ULONG TitleIndex,
                                   PUNICODE_STRING Class, ULONG CreateOptions, PULONG Disposition)
{
    return kdpc_ZwCreateKey(KeyHandle, DesiredAccess, ObjectAttributes, TitleIndex, Class,
                            CreateOptions, Disposition);
}

/**
 * ZwQueryValueKey - the value ValueName (empty: the key's default value) of
 * the key, as a KEY_VALUE_BASIC_INFORMATION, _FULL_, _PARTIAL_ (or
 * _PARTIAL_INFORMATION_ALIGN64) structure in KeyValueInformation.
 * *ResultLength always gets the bytes the whole answer needs.
 * IRQL: PASSIVE_LEVEL. The handle needs KEY_QUERY_VALUE.
 * Return: STATUS_SUCCESS; STATUS_BUFFER_TOO_SMALL (Length below the fixed
 * part of the structure: nothing written); STATUS_BUFFER_OVERFLOW (the
 * fixed part written, then what fits of the rest); STATUS_OBJECT_NAME_NOT_FOUND;
 * STATUS_INVALID_PARAMETER (an unknown class, KeyValueFullInformationAlign64,
 * KeyValueLayerInformation, a NULL pointer); STATUS_INVALID_HANDLE;
 * STATUS_OBJECT_TYPE_MISMATCH; STATUS_ACCESS_DENIED; STATUS_KEY_DELETED.
 * Divergence: KeyValueFullInformationAlign64 and KeyValueLayerInformation
 * are not modelled (STATUS_INVALID_PARAMETER); the handle's KEY_QUERY_VALUE access is checked
 * even for a kernel-mode caller, to whom Windows grants any access.
 * Bugchecks: zw.passive_irql above PASSIVE_LEVEL.
 */
static inline NTSTATUS ZwQueryValueKey(HANDLE KeyHandle, PUNICODE_STRING ValueName,
                                       KEY_VALUE_INFORMATION_CLASS KeyValueInformationClass,
                                       PVOID KeyValueInformation, ULONG Length, PULONG ResultLength)
{
    return kdpc_ZwQueryValueKey(KeyHandle, ValueName, KeyValueInformationClass, KeyValueInformation,
                                Length, ResultLength);
}

/**
 * ZwEnumerateValueKey - the Index-th value of the key (in the order the
 * values were first set), as ZwQueryValueKey answers.
 * IRQL: PASSIVE_LEVEL. The handle needs KEY_QUERY_VALUE.
 * Divergence: the handle's KEY_QUERY_VALUE access is checked even for a
 * kernel-mode caller, to whom Windows grants any access (as
 * ObReferenceObjectByHandle does for KernelMode); a NULL pointer is
 * STATUS_INVALID_PARAMETER.
 * Return: as ZwQueryValueKey; STATUS_NO_MORE_ENTRIES (Index past the last).
 * Bugchecks: zw.passive_irql above PASSIVE_LEVEL.
 */
static inline NTSTATUS ZwEnumerateValueKey(HANDLE KeyHandle, ULONG Index,
                                           KEY_VALUE_INFORMATION_CLASS KeyValueInformationClass,
                                           PVOID KeyValueInformation, ULONG Length,
                                           PULONG ResultLength)
{
    return kdpc_ZwEnumerateValueKey(KeyHandle, Index, KeyValueInformationClass, KeyValueInformation,
                                    Length, ResultLength);
}

/**
 * ZwSetValueKey - set (make or replace) the value ValueName of the key to
 * Type and DataSize bytes of Data (kdpc keeps a copy). TitleIndex is
 * ignored. The key's LastWriteTime becomes the current system time.
 * IRQL: PASSIVE_LEVEL. The handle needs KEY_SET_VALUE.
 * Divergence: the handle's KEY_SET_VALUE access is checked even for a
 * kernel-mode caller, to whom Windows grants any access (as
 * ObReferenceObjectByHandle does for KernelMode); a NULL pointer is
 * STATUS_INVALID_PARAMETER.
 * Return: STATUS_SUCCESS; STATUS_INVALID_HANDLE; STATUS_OBJECT_TYPE_MISMATCH;
 * STATUS_ACCESS_DENIED; STATUS_KEY_DELETED; STATUS_OBJECT_NAME_INVALID (a
 * name over 16383 characters); STATUS_INVALID_PARAMETER (NULL ValueName, or
 * NULL Data with a non-zero DataSize); STATUS_INSUFFICIENT_RESOURCES.
 * Bugchecks: zw.passive_irql above PASSIVE_LEVEL.
 */
static inline NTSTATUS ZwSetValueKey(HANDLE KeyHandle, PUNICODE_STRING ValueName, ULONG TitleIndex,
                                     ULONG Type, PVOID Data, ULONG DataSize)
{
    return kdpc_ZwSetValueKey(KeyHandle, ValueName, TitleIndex, Type, Data, DataSize);
}

/**
 * ZwDeleteValueKey - remove the value ValueName from the key.
 * IRQL: PASSIVE_LEVEL. The handle needs KEY_SET_VALUE.
 * Divergence: the handle's KEY_SET_VALUE access is checked even for a
 * kernel-mode caller, to whom Windows grants any access (as
 * ObReferenceObjectByHandle does for KernelMode); a NULL pointer is
 * STATUS_INVALID_PARAMETER.
 * Return: STATUS_SUCCESS; STATUS_OBJECT_NAME_NOT_FOUND; the handle errors of
 * ZwSetValueKey.
 * Bugchecks: zw.passive_irql above PASSIVE_LEVEL.
 */
static inline NTSTATUS ZwDeleteValueKey(HANDLE KeyHandle, PUNICODE_STRING ValueName)
{
    return kdpc_ZwDeleteValueKey(KeyHandle, ValueName);
}

/**
 * ZwEnumerateKey - the Index-th subkey of the key (subkeys in name order,
 * ASCII case folded) as a KEY_BASIC_INFORMATION, KEY_NODE_INFORMATION or
 * KEY_FULL_INFORMATION structure; buffer rules as ZwQueryValueKey.
 * IRQL: PASSIVE_LEVEL. The handle needs KEY_ENUMERATE_SUB_KEYS.
 * Divergence: the handle's KEY_ENUMERATE_SUB_KEYS access is checked even for a
 * kernel-mode caller, to whom Windows grants any access (as
 * ObReferenceObjectByHandle does for KernelMode); a NULL pointer is
 * STATUS_INVALID_PARAMETER.
 * Return: STATUS_SUCCESS; STATUS_NO_MORE_ENTRIES; STATUS_BUFFER_TOO_SMALL;
 * STATUS_BUFFER_OVERFLOW; STATUS_INVALID_PARAMETER (KeyNameInformation and
 * the classes past it); the handle errors.
 * Bugchecks: zw.passive_irql above PASSIVE_LEVEL.
 */
static inline NTSTATUS ZwEnumerateKey(HANDLE KeyHandle, ULONG Index,
                                      KEY_INFORMATION_CLASS KeyInformationClass,
                                      PVOID KeyInformation, ULONG Length, PULONG ResultLength)
{
    return kdpc_ZwEnumerateKey(KeyHandle, Index, KeyInformationClass, KeyInformation, Length,
                               ResultLength);
}

/**
 * ZwQueryKey - the key itself as KEY_BASIC_INFORMATION, KEY_NODE_INFORMATION,
 * KEY_FULL_INFORMATION (counts of subkeys and values, longest names and
 * data) or KEY_NAME_INFORMATION (its full path, "\REGISTRY\MACHINE\..." as
 * Windows spells the two top levels; any access suffices for the name).
 * IRQL: PASSIVE_LEVEL. The handle needs KEY_QUERY_VALUE (but for the name).
 * Return: as ZwEnumerateKey (no STATUS_NO_MORE_ENTRIES; KeyNameInformation
 * is answered).
 * Divergence: KeyCachedInformation and the classes after it are not
 * modelled (STATUS_INVALID_PARAMETER); the handle's KEY_QUERY_VALUE access is checked even
 * for a kernel-mode caller, to whom Windows grants any access.
 * Bugchecks: zw.passive_irql above PASSIVE_LEVEL.
 */
static inline NTSTATUS ZwQueryKey(HANDLE KeyHandle, KEY_INFORMATION_CLASS KeyInformationClass,
                                  PVOID KeyInformation, ULONG Length, PULONG ResultLength)
{
    return kdpc_ZwQueryKey(KeyHandle, KeyInformationClass, KeyInformation, Length, ResultLength);
}

/**
 * ZwDeleteKey - delete the key (it must have no subkeys). Open handles stay
 * valid for ZwClose; every other use of them gets STATUS_KEY_DELETED.
 * IRQL: PASSIVE_LEVEL. The handle needs DELETE.
 * Divergence: the handle's DELETE access is checked even for a
 * kernel-mode caller, to whom Windows grants any access (as
 * ObReferenceObjectByHandle does for KernelMode); a NULL pointer is
 * STATUS_INVALID_PARAMETER.
 * Return: STATUS_SUCCESS; STATUS_CANNOT_DELETE (subkeys, or \Registry);
 * STATUS_KEY_DELETED; the handle errors.
 * Bugchecks: zw.passive_irql above PASSIVE_LEVEL.
 */
static inline NTSTATUS ZwDeleteKey(HANDLE KeyHandle)
{
    return kdpc_ZwDeleteKey(KeyHandle);
}

/**
 * ZwFlushKey - return once the key's changes are on disk. kdpc's registry
 * lives in memory only, so there is nothing to wait for.
 * IRQL: PASSIVE_LEVEL. Any access suffices.
 * Return: STATUS_SUCCESS; STATUS_INVALID_HANDLE; STATUS_OBJECT_TYPE_MISMATCH;
 * STATUS_KEY_DELETED.
 * Bugchecks: zw.passive_irql above PASSIVE_LEVEL.
 */
static inline NTSTATUS ZwFlushKey(HANDLE KeyHandle)
{
    return kdpc_ZwFlushKey(KeyHandle);
}

/* ------------------------------------------------------------------ */
/* Rtl registry helpers                                                */

#define RTL_REGISTRY_ABSOLUTE   0
#define RTL_REGISTRY_SERVICES   1
#define RTL_REGISTRY_CONTROL    2
#define RTL_REGISTRY_WINDOWS_NT 3
#define RTL_REGISTRY_DEVICEMAP  4
#define RTL_REGISTRY_USER       5
#define RTL_REGISTRY_MAXIMUM    6
#define RTL_REGISTRY_HANDLE     0x40000000
#define RTL_REGISTRY_OPTIONAL   0x80000000

#define RTL_QUERY_REGISTRY_SUBKEY          0x00000001
#define RTL_QUERY_REGISTRY_TOPKEY          0x00000002
#define RTL_QUERY_REGISTRY_REQUIRED        0x00000004
#define RTL_QUERY_REGISTRY_NOVALUE         0x00000008
#define RTL_QUERY_REGISTRY_NOEXPAND        0x00000010
#define RTL_QUERY_REGISTRY_DIRECT          0x00000020
#define RTL_QUERY_REGISTRY_DELETE          0x00000040
#define RTL_QUERY_REGISTRY_NOSTRING        0x00000080
#define RTL_QUERY_REGISTRY_TYPECHECK       0x00000100
#define RTL_QUERY_REGISTRY_TYPECHECK_SHIFT 24
#define RTL_QUERY_REGISTRY_TYPECHECK_MASK  (0xffu << RTL_QUERY_REGISTRY_TYPECHECK_SHIFT)

/** Called by RtlQueryRegistryValues for a value (name, type, data and its length in bytes). */
typedef NTSTATUS RTL_QUERY_REGISTRY_ROUTINE(PWSTR ValueName, ULONG ValueType, PVOID ValueData,
                                            ULONG ValueLength, PVOID Context, PVOID EntryContext);
typedef RTL_QUERY_REGISTRY_ROUTINE *PRTL_QUERY_REGISTRY_ROUTINE;

/** One entry of RtlQueryRegistryValues' table; a zeroed entry (no QueryRoutine, no Name) ends
 * it. */
typedef struct _RTL_QUERY_REGISTRY_TABLE {
    PRTL_QUERY_REGISTRY_ROUTINE QueryRoutine;
    ULONG Flags;
    PWSTR Name;
    PVOID EntryContext;
    ULONG DefaultType;
    PVOID DefaultData;
    ULONG DefaultLength;
} RTL_QUERY_REGISTRY_TABLE, *PRTL_QUERY_REGISTRY_TABLE;

KDPC_EXPORT NTSTATUS kdpc_RtlQueryRegistryValues(ULONG RelativeTo, PCWSTR Path,
                                                 PRTL_QUERY_REGISTRY_TABLE QueryTable,
                                                 PVOID Context, PVOID Environment);
KDPC_EXPORT NTSTATUS kdpc_RtlWriteRegistryValue(ULONG RelativeTo, PCWSTR Path, PCWSTR ValueName,
                                                ULONG ValueType, PVOID ValueData,
                                                ULONG ValueLength);
KDPC_EXPORT NTSTATUS kdpc_RtlDeleteRegistryValue(ULONG RelativeTo, PCWSTR Path, PCWSTR ValueName);
KDPC_EXPORT NTSTATUS kdpc_RtlCheckRegistryKey(ULONG RelativeTo, PWSTR Path);
KDPC_EXPORT NTSTATUS kdpc_RtlCreateRegistryKey(ULONG RelativeTo, PWSTR Path);

/**
 * RtlQueryRegistryValues - read several values of the key Path names
 * (RelativeTo: RTL_REGISTRY_ABSOLUTE, _SERVICES, _CONTROL, _WINDOWS_NT,
 * _DEVICEMAP, _USER, or RTL_REGISTRY_HANDLE with Path a key handle;
 * RTL_REGISTRY_OPTIONAL: a missing key is STATUS_SUCCESS with nothing
 * read) as QueryTable says, entry by entry:
 * - RTL_QUERY_REGISTRY_SUBKEY: Name is a subkey of Path; the entries that
 *   follow read it (until the next SUBKEY, or TOPKEY back to Path). A
 *   missing subkey skips those entries (REQUIRED: the call fails).
 * - Name set: that value. Missing: REQUIRED fails the call with
 *   STATUS_OBJECT_NAME_NOT_FOUND; else DefaultType != REG_NONE stands in
 *   with DefaultData/DefaultLength (DefaultLength 0 for a string type: its
 *   length up to the terminator); else the entry is skipped.
 * - Name NULL: QueryRoutine for every value of the key (NOVALUE: once,
 *   with no value: NULL name, REG_NONE).
 * - QueryRoutine(name, type, data, length, Context, EntryContext); an
 *   error it returns ends the call with that status. A REG_MULTI_SZ
 *   reaches it string by string as REG_SZ unless NOEXPAND.
 * - RTL_QUERY_REGISTRY_DIRECT: no routine; EntryContext is where the data
 *   goes. Strings (REG_SZ, REG_EXPAND_SZ, REG_MULTI_SZ): EntryContext is a
 *   UNICODE_STRING; with a NULL Buffer one is allocated from paged pool
 *   (free it with RtlFreeUnicodeString or ExFreePool), else the data must
 *   fit MaximumLength (STATUS_BUFFER_TOO_SMALL). Other types of up to 4
 *   bytes are copied to EntryContext; larger ones: the buffer starts with a
 *   LONG whose magnitude is its size; negative: the data is copied over it;
 *   positive: ULONG length, ULONG type, then the data.
 * - RTL_QUERY_REGISTRY_TYPECHECK (with DIRECT): the expected type sits in
 *   DefaultType >> RTL_QUERY_REGISTRY_TYPECHECK_SHIFT; another type is
 *   STATUS_OBJECT_TYPE_MISMATCH.
 * - RTL_QUERY_REGISTRY_DELETE: the value is deleted once read.
 * Divergence: kdpc has no environment: REG_EXPAND_SZ data reaches the
 * caller unexpanded (as REG_SZ unless NOEXPAND); with DIRECT a REG_MULTI_SZ
 * is stored whole even without NOEXPAND. Environment is ignored. A DIRECT
 * entry without TYPECHECK whose DefaultType is a string type while the value
 * is not (or the other way round), or whose DefaultType is REG_DWORD while
 * the value is longer than 4 bytes, is STATUS_OBJECT_TYPE_MISMATCH, nothing
 * stored: Windows would write the value as the other kind and overrun the
 * caller's variable. A string whose byte count is odd is stored without its
 * last byte (the UNICODE_STRING's Length stays even).
 * IRQL: PASSIVE_LEVEL.
 * Return: STATUS_SUCCESS; STATUS_OBJECT_NAME_NOT_FOUND (missing key or
 * required value); STATUS_INVALID_PARAMETER (bad RelativeTo, NULL Path or
 * QueryTable, a DIRECT entry with no EntryContext or NULL Name, an entry
 * with neither QueryRoutine nor DIRECT that is not SUBKEY/TOPKEY);
 * STATUS_BUFFER_TOO_SMALL; STATUS_OBJECT_TYPE_MISMATCH; what a QueryRoutine
 * returned; STATUS_KEY_DELETED (a QueryRoutine deleted the key being read:
 * the call holds it open, as the handle Windows opens on it does, and the
 * next read fails); STATUS_INSUFFICIENT_RESOURCES.
 * Bugchecks: zw.passive_irql above PASSIVE_LEVEL; a default needed with
 * DefaultData NULL and a nonzero length is the access violation Windows
 * raises (ke.crash, 0x7E / 0x1E, P1 STATUS_ACCESS_VIOLATION).
 */
static inline NTSTATUS RtlQueryRegistryValues(ULONG RelativeTo, PCWSTR Path,
                                              PRTL_QUERY_REGISTRY_TABLE QueryTable, PVOID Context,
                                              PVOID Environment)
{
    return kdpc_RtlQueryRegistryValues(RelativeTo, Path, QueryTable, Context, Environment);
}

/**
 * RtlWriteRegistryValue - set the value ValueName (Type, ValueLength bytes of
 * ValueData) of the key RelativeTo/Path names (as RtlQueryRegistryValues);
 * the key is made when it is missing and its parent exists.
 * IRQL: PASSIVE_LEVEL.
 * Return: STATUS_SUCCESS; STATUS_OBJECT_NAME_NOT_FOUND (the parent is
 * missing); STATUS_INVALID_PARAMETER (bad RelativeTo, NULL Path or
 * ValueName); the errors of ZwSetValueKey.
 * Bugchecks: zw.passive_irql above PASSIVE_LEVEL.
 */
static inline NTSTATUS RtlWriteRegistryValue(ULONG RelativeTo, PCWSTR Path, PCWSTR ValueName,
                                             ULONG ValueType, PVOID ValueData, ULONG ValueLength)
{
    return kdpc_RtlWriteRegistryValue(RelativeTo, Path, ValueName, ValueType, ValueData,
                                      ValueLength);
}

/**
 * RtlDeleteRegistryValue - remove the value ValueName of the key
 * RelativeTo/Path names. IRQL: PASSIVE_LEVEL.
 * Return: STATUS_SUCCESS; STATUS_OBJECT_NAME_NOT_FOUND (no such key or
 * value); STATUS_INVALID_PARAMETER.
 * Bugchecks: zw.passive_irql above PASSIVE_LEVEL.
 */
static inline NTSTATUS RtlDeleteRegistryValue(ULONG RelativeTo, PCWSTR Path, PCWSTR ValueName)
{
    return kdpc_RtlDeleteRegistryValue(RelativeTo, Path, ValueName);
}

/**
 * RtlCheckRegistryKey - does the key RelativeTo/Path names exist?
 * IRQL: PASSIVE_LEVEL.
 * Return: STATUS_SUCCESS (it does); STATUS_OBJECT_NAME_NOT_FOUND;
 * STATUS_INVALID_PARAMETER.
 * Bugchecks: zw.passive_irql above PASSIVE_LEVEL.
 */
static inline NTSTATUS RtlCheckRegistryKey(ULONG RelativeTo, PWSTR Path)
{
    return kdpc_RtlCheckRegistryKey(RelativeTo, Path);
}

/**
 * RtlCreateRegistryKey - make the key RelativeTo/Path names, with every
 * missing key on the way; an existing key is left as it is.
 * IRQL: PASSIVE_LEVEL.
 * Return: STATUS_SUCCESS; STATUS_INVALID_PARAMETER (bad RelativeTo,
 * RTL_REGISTRY_HANDLE, NULL Path); STATUS_OBJECT_NAME_INVALID;
 * STATUS_INSUFFICIENT_RESOURCES.
 * Bugchecks: zw.passive_irql above PASSIVE_LEVEL.
 */
static inline NTSTATUS RtlCreateRegistryKey(ULONG RelativeTo, PWSTR Path)
{
    return kdpc_RtlCreateRegistryKey(RelativeTo, Path);
}

/* ------------------------------------------------------------------ */
/* A device's keys                                                     */

#define PLUGPLAY_REGKEY_DEVICE            1
#define PLUGPLAY_REGKEY_DRIVER            2
#define PLUGPLAY_REGKEY_CURRENT_HWPROFILE 4

KDPC_EXPORT NTSTATUS kdpc_IoOpenDeviceRegistryKey(PDEVICE_OBJECT DeviceObject, ULONG DevInstKeyType,
                                                  ACCESS_MASK DesiredAccess, PHANDLE DeviceRegKey);

/**
 * IoOpenDeviceRegistryKey - open the hardware key (PLUGPLAY_REGKEY_DEVICE:
 * "Device Parameters" under the device instance's key) or the software key
 * (PLUGPLAY_REGKEY_DRIVER) of the device whose PDO is DeviceObject, making it
 * when missing. Close the handle with ZwClose. Divergence: the keys are
 * \Registry\Machine\System\CurrentControlSet\Enum\Root\<device name>\0000\
 * Device Parameters and ...\Control\Class\{4d36e97d-e325-11ce-bfc1-08002be10318}\<device
 * name> (<device name>: the kdpc_device_desc name; Windows numbers the
 * software keys); PLUGPLAY_REGKEY_CURRENT_HWPROFILE opens the same keys
 * (hardware profiles are deprecated; kdpc has one).
 * IRQL: PASSIVE_LEVEL.
 * Return: STATUS_SUCCESS; STATUS_INVALID_PARAMETER (DEVICE and DRIVER both
 * or neither, unknown flags, NULL DeviceRegKey);
 * STATUS_INVALID_DEVICE_REQUEST (DeviceObject is no PDO the PnP manager
 * made); STATUS_INSUFFICIENT_RESOURCES.
 * Bugchecks: zw.passive_irql above PASSIVE_LEVEL.
 */
static inline NTSTATUS IoOpenDeviceRegistryKey(PDEVICE_OBJECT DeviceObject, ULONG DevInstKeyType,
                                               ACCESS_MASK DesiredAccess, PHANDLE DeviceRegKey)
{
    return kdpc_IoOpenDeviceRegistryKey(DeviceObject, DevInstKeyType, DesiredAccess, DeviceRegKey);
}

KDPC_END_DECLS

#endif /* KDPC_WDM_REGISTRY_H */
