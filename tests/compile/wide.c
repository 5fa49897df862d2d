/* SPDX-License-Identifier: MIT */
/*
 * L"..." literals as WCHAR strings (docs/driver-code.md section 2): compiled as C and as C++
 * with -Wpedantic -Wconversion -Werror by tests/compile (kdpc.compile.wide_literals_c,
 * kdpc.compile.wide_literals_cxx): no cast and no warning is needed in either language.
 */
#include <wdm.h>

#ifdef __cplusplus
extern "C" {
#endif
ULONG kdpc_compile_wide(void);
#ifdef __cplusplus
}
#endif

static const WCHAR g_device[] = L"\\Device\\Wide";
static WCHAR g_buffer[] = L"abc";

ULONG kdpc_compile_wide(void)
{
    PCWSTR name = L"\\DosDevices\\Wide";
    PWCHAR buffer = g_buffer;
    PWSTR writable = g_buffer;
    const WCHAR *device = g_device;
    WCHAR c = L'x';
    buffer[0] = c;
    writable[1] = L'\0';
    return (ULONG)(name[0] + device[1] + sizeof(L"ab") / sizeof(WCHAR));
}
