/* SPDX-License-Identifier: MIT */
/*
 * A tiny driver for tests/compile: clean as it stands; with KDPC_CHECK_UNMODELLED_ROUTINE it
 * calls a WDM routine kdpc does not declare (KeSaveFloatingPointState), with
 * KDPC_CHECK_UNMODELLED_TYPE it names a WDM type kdpc does not declare (KFLOATING_SAVE). The
 * ctests check that those fail to compile naming the routine or type, and that the clean driver
 * needs -fshort-wchar.
 */
#include <ntddk.h>

DRIVER_INITIALIZE DriverEntry;

static const WCHAR g_name[] = L"\\Device\\CompileCheck";
static PCWSTR g_pname = g_name;

_Use_decl_annotations_ NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject,
                                            PUNICODE_STRING RegistryPath)
{
    UNREFERENCED_PARAMETER(DriverObject);
    UNREFERENCED_PARAMETER(RegistryPath);
#ifdef KDPC_CHECK_UNMODELLED_ROUTINE
    if (!NT_SUCCESS(KeSaveFloatingPointState(NULL)))
        return STATUS_UNSUCCESSFUL;
#endif
#ifdef KDPC_CHECK_UNMODELLED_TYPE
    KFLOATING_SAVE save;
    RtlZeroMemory(&save, sizeof(save));
#endif
    return g_pname[0] == L'\\' ? STATUS_SUCCESS : STATUS_UNSUCCESSFUL;
}
