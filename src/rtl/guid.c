/* SPDX-License-Identifier: MIT */
/*
 * guid.c - RtlStringFromGUID and RtlGUIDFromString: a GUID as the
 * registry-format text "{XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX}"
 * (docs/facts/rtl.md section 8).
 */
#include "rtl/rtl.h"

#define GUID_CHARS 38u

/* Groups of the text: hex digits per field, in Data1, Data2, Data3, Data4[0..1], Data4[2..7]. */
static const unsigned char dashes[] = {9, 14, 19, 24};

NTSTATUS kdpc_RtlStringFromGUID(const GUID *Guid, PUNICODE_STRING GuidString)
{
    kdpc__rtl_passive("RtlStringFromGUID");
    if (kdpc__rtl_null(Guid, "RtlStringFromGUID", "Guid") ||
        kdpc__rtl_null(GuidString, "RtlStringFromGUID", "GuidString"))
        return STATUS_INVALID_PARAMETER;
    PWSTR b = kdpc__pool_kernel_alloc(PagedPool, (GUID_CHARS + 1) * sizeof(WCHAR), KDPC_RTL_TAG);
    if (b == NULL)
        return STATUS_NO_MEMORY;
    unsigned char bytes[16];
    for (int i = 0; i < 4; i++)
        bytes[i] = (unsigned char)(Guid->Data1 >> (24 - 8 * i));
    bytes[4] = (unsigned char)(Guid->Data2 >> 8);
    bytes[5] = (unsigned char)Guid->Data2;
    bytes[6] = (unsigned char)(Guid->Data3 >> 8);
    bytes[7] = (unsigned char)Guid->Data3;
    for (int i = 0; i < 8; i++)
        bytes[8 + i] = Guid->Data4[i];
    const char *hex = "0123456789ABCDEF";
    size_t k = 0, d = 0;
    b[k++] = '{';
    for (size_t i = 0; i < 16; i++) {
        if (d < sizeof(dashes) && k == dashes[d]) {
            b[k++] = '-';
            d++;
        }
        b[k++] = (WCHAR)hex[bytes[i] >> 4];
        b[k++] = (WCHAR)hex[bytes[i] & 15u];
    }
    b[k++] = '}';
    b[k] = UNICODE_NULL;
    GuidString->Buffer = b;
    GuidString->Length = (USHORT)(GUID_CHARS * sizeof(WCHAR));
    GuidString->MaximumLength = (USHORT)((GUID_CHARS + 1) * sizeof(WCHAR));
    return STATUS_SUCCESS;
}

static int hexval(WCHAR c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

NTSTATUS kdpc_RtlGUIDFromString(PCUNICODE_STRING GuidString, GUID *Guid)
{
    kdpc__rtl_passive("RtlGUIDFromString");
    if (kdpc__rtl_null(GuidString, "RtlGUIDFromString", "GuidString") ||
        kdpc__rtl_null(Guid, "RtlGUIDFromString", "Guid"))
        return STATUS_INVALID_PARAMETER;
    if (GuidString->Length != GUID_CHARS * sizeof(WCHAR) || GuidString->Buffer == NULL)
        return STATUS_INVALID_PARAMETER;
    const WCHAR *s = GuidString->Buffer;
    if (s[0] != '{' || s[GUID_CHARS - 1] != '}')
        return STATUS_INVALID_PARAMETER;
    unsigned char bytes[16];
    size_t k = 1, d = 0;
    for (size_t i = 0; i < 16; i++) {
        if (d < sizeof(dashes) && k == dashes[d]) {
            if (s[k] != '-')
                return STATUS_INVALID_PARAMETER;
            k++;
            d++;
        }
        int hi = hexval(s[k]), lo = hexval(s[k + 1]);
        if (hi < 0 || lo < 0)
            return STATUS_INVALID_PARAMETER;
        bytes[i] = (unsigned char)(hi << 4 | lo);
        k += 2;
    }
    Guid->Data1 = (ULONG)bytes[0] << 24 | (ULONG)bytes[1] << 16 | (ULONG)bytes[2] << 8 | bytes[3];
    Guid->Data2 = (USHORT)(bytes[4] << 8 | bytes[5]);
    Guid->Data3 = (USHORT)(bytes[6] << 8 | bytes[7]);
    for (int i = 0; i < 8; i++)
        Guid->Data4[i] = bytes[8 + i];
    return STATUS_SUCCESS;
}
