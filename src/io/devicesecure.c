/* SPDX-License-Identifier: MIT */
/*
 * devicesecure.c - IoCreateDeviceSecure over IoCreateDevice and the
 * SDDL_DEVOBJ_* strings (include/kdpc/wdm/wdmsec.h, docs/facts/registry.md
 * "wdmsec"). The SDDL string is checked against the subset the routine
 * accepts; kdpc has no security model to apply it to.
 */
#include <stdio.h>
#include <string.h>

#include <kdpc/wdm/wdmsec.h>
#include "cm/cm.h"
#include "io/io.h"

#define SDDL(name, text)                                                                           \
    static const uint16_t name##_text[] = text;                                                    \
    const UNICODE_STRING kdpc_##name = {sizeof(name##_text) - sizeof(uint16_t),                    \
                                        sizeof(name##_text), (PWSTR)name##_text}

SDDL(SDDL_DEVOBJ_KERNEL_ONLY, u"D:P");
SDDL(SDDL_DEVOBJ_INF_SUPPLIED, u"D:P");
SDDL(SDDL_DEVOBJ_SYS_ALL, u"D:P(A;;GA;;;SY)");
SDDL(SDDL_DEVOBJ_SYS_ALL_ADM_ALL, u"D:P(A;;GA;;;SY)(A;;GA;;;BA)");
SDDL(SDDL_DEVOBJ_SYS_ALL_ADM_RX, u"D:P(A;;GA;;;SY)(A;;GRGX;;;BA)");
SDDL(SDDL_DEVOBJ_SYS_ALL_ADM_RWX_WORLD_R, u"D:P(A;;GA;;;SY)(A;;GRGWGX;;;BA)(A;;GR;;;WD)");
SDDL(SDDL_DEVOBJ_SYS_ALL_ADM_RWX_WORLD_R_RES_R,
     u"D:P(A;;GA;;;SY)(A;;GRGWGX;;;BA)(A;;GR;;;WD)(A;;GR;;;RC)");
SDDL(SDDL_DEVOBJ_SYS_ALL_ADM_RWX_WORLD_RW_RES_R,
     u"D:P(A;;GA;;;SY)(A;;GRGWGX;;;BA)(A;;GRGW;;;WD)(A;;GR;;;RC)");
SDDL(SDDL_DEVOBJ_SYS_ALL_ADM_RWX_WORLD_RWX_RES_RWX,
     u"D:P(A;;GA;;;SY)(A;;GRGWGX;;;BA)(A;;GRGWGX;;;WD)(A;;GRGWGX;;;RC)");

static bool is_hex(WCHAR c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static bool two_of(const WCHAR *p, const char *const *set)
{
    for (size_t i = 0; set[i] != NULL; i++) {
        if (p[0] == (WCHAR)set[i][0] && p[1] == (WCHAR)set[i][1])
            return true;
    }
    return false;
}

/* Access field [s, e): "0x" hex digits, or two-letter access codes. */
static bool access_ok(const WCHAR *s, const WCHAR *e)
{
    static const char *const codes[] = {"GA", "GR", "GW", "GX", "RC", "SD", "WD", "WO", NULL};
    if (e - s > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        for (const WCHAR *p = s + 2; p < e; p++) {
            if (!is_hex(*p))
                return false;
        }
        return e - s <= 10;
    }
    if (s == e || (e - s) % 2 != 0)
        return false;
    for (const WCHAR *p = s; p < e; p += 2) {
        if (!two_of(p, codes))
            return false;
    }
    return true;
}

/* SID field [s, e): an alias of the device-object subset, or "S-1-n-n...". */
static bool sid_ok(const WCHAR *s, const WCHAR *e)
{
    static const char *const aliases[] = {"SY", "LS", "NS", "BA", "BU", "BG", "AU",
                                          "AN", "IU", "NU", "SU", "WD", "RC", "PU",
                                          "PS", "SO", "CO", "AC", NULL};
    if (e - s == 2)
        return two_of(s, aliases);
    if (e - s < 5 || s[0] != 'S' || s[1] != '-' || s[2] != '1' || s[3] != '-')
        return false;
    bool digit = false;
    for (const WCHAR *p = s + 4; p < e; p++) {
        if (*p >= '0' && *p <= '9')
            digit = true;
        else if (*p == '-' && digit)
            digit = false;
        else
            return false;
    }
    return digit;
}

/* The subset of SDDL IoCreateDeviceSecure takes: "D:P" then "(A;;access;;;SID)" entries. */
static bool sddl_ok(PCUNICODE_STRING u)
{
    if (u == NULL || u->Buffer == NULL || (u->Length % 2u) != 0 || u->Length > u->MaximumLength)
        return false;
    const WCHAR *p = u->Buffer, *end = u->Buffer + u->Length / sizeof(WCHAR);
    if (end - p < 3 || p[0] != 'D' || p[1] != ':' || p[2] != 'P')
        return false;
    p += 3;
    while (p < end) {
        /* "(A;;" */
        if (end - p < 4 || p[0] != '(' || p[1] != 'A' || p[2] != ';' || p[3] != ';')
            return false;
        p += 4;
        const WCHAR *a = p;
        while (p < end && *p != ';')
            p++;
        if (!access_ok(a, p) || end - p < 3 || p[0] != ';' || p[1] != ';' || p[2] != ';')
            return false;
        p += 3;
        const WCHAR *s = p;
        while (p < end && *p != ')')
            p++;
        if (p == end || !sid_ok(s, p))
            return false;
        p++;
    }
    return true;
}

/* The class's Properties key, if there is one. */
static kdpc__cm_key *class_properties(kdpc_machine *m, LPCGUID g)
{
    char path[160];
    snprintf(path, sizeof(path),
             "\\Registry\\Machine\\System\\CurrentControlSet\\Control\\Class\\"
             "{%08x-%04x-%04x-%02x%02x-%02x%02x%02x%02x%02x%02x}\\Properties",
             (unsigned)g->Data1, (unsigned)g->Data2, (unsigned)g->Data3, g->Data4[0], g->Data4[1],
             g->Data4[2], g->Data4[3], g->Data4[4], g->Data4[5], g->Data4[6], g->Data4[7]);
    WCHAR w[160];
    size_t n = strlen(path);
    for (size_t i = 0; i < n; i++)
        w[i] = (WCHAR)(unsigned char)path[i];
    kdpc__cm_key *k;
    return NT_SUCCESS(kdpc__cm_walk(m, NULL, w, n, false, false, false, &k, NULL)) ? k : NULL;
}

/* A REG_DWORD @value of the class's Properties key @k, if there is one. */
static void class_override(const kdpc__cm_key *k, const char *value, ULONG *out)
{
    WCHAR name[32];
    size_t vn = strlen(value);
    for (size_t i = 0; i < vn; i++)
        name[i] = (WCHAR)(unsigned char)value[i];
    const kdpc__cm_value *v = kdpc__cm_value_find(k, name, vn);
    if (v != NULL && v->type == 4 /* REG_DWORD */ && v->size == sizeof(ULONG))
        memcpy(out, v->data, sizeof(ULONG));
}

NTSTATUS kdpc_IoCreateDeviceSecure(PDRIVER_OBJECT DriverObject, ULONG DeviceExtensionSize,
                                   PUNICODE_STRING DeviceName, DEVICE_TYPE DeviceType,
                                   ULONG DeviceCharacteristics, BOOLEAN Exclusive,
                                   PCUNICODE_STRING DefaultSDDLString, LPCGUID DeviceClassGuid,
                                   PDEVICE_OBJECT *DeviceObject)
{
    kdpc__cpu *c;
    kdpc_machine *m = kdpc__ke_ctx("IoCreateDeviceSecure", &c);
    if (m == NULL || !kdpc__io_passive_ok(m, c, "IoCreateDeviceSecure"))
        return STATUS_INVALID_PARAMETER;
    if (DeviceObject == NULL || !sddl_ok(DefaultSDDLString))
        return STATUS_INVALID_PARAMETER;
    bool autoname = (DeviceCharacteristics & FILE_AUTOGENERATED_DEVICE_NAME) != 0;
    if (DeviceName == NULL && !autoname)
        return STATUS_INVALID_PARAMETER;
    const kdpc__cm_key *k = DeviceClassGuid != NULL ? class_properties(m, DeviceClassGuid) : NULL;
    if (k != NULL) {
        ULONG type = DeviceType, chars = DeviceCharacteristics, excl = Exclusive;
        class_override(k, "DeviceType", &type);
        class_override(k, "DeviceCharacteristics", &chars);
        class_override(k, "Exclusive", &excl);
        DeviceType = type;
        DeviceCharacteristics = chars;
        Exclusive = excl != 0;
    }
    if (DeviceName != NULL || !autoname)
        return IoCreateDevice(DriverObject, DeviceExtensionSize, DeviceName, DeviceType,
                              DeviceCharacteristics, Exclusive, DeviceObject);
    /* "\Device\XXXXXXXX": the first number no device has */
    for (ULONG i = 1; i != 0; i++) {
        char a[32];
        WCHAR w[32];
        int n = snprintf(a, sizeof(a), "\\Device\\%08lX", (unsigned long)i);
        for (int j = 0; j < n; j++)
            w[j] = (WCHAR)(unsigned char)a[j];
        UNICODE_STRING name = {(USHORT)(n * 2), (USHORT)sizeof(w), w};
        NTSTATUS st = IoCreateDevice(DriverObject, DeviceExtensionSize, &name, DeviceType,
                                     DeviceCharacteristics, Exclusive, DeviceObject);
        if (st != STATUS_OBJECT_NAME_COLLISION)
            return st;
    }
    return STATUS_INSUFFICIENT_RESOURCES;
}
