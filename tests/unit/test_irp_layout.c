/* SPDX-License-Identifier: MIT */
/*
 * test_irp_layout.c - the IRP surface drivers compile against
 * (docs/facts/dma.md "IRP surface"; include/kdpc/wdm/irp.h, irpparams.h,
 * io.h): IO_STACK_LOCATION.Parameters with wdm.h's x64 layout (offsets of
 * every member), FILE_OBJECT's members and FO_* flags, DEVICE_CAPABILITIES,
 * INTERFACE, DEVICE_RELATIONS, the PnP query enums, and DO_* flags that are
 * unsigned (Flags &= ~DO_X compiles under -Wsign-conversion).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "kdpc_test.h"

#define X64               (sizeof(void *) == 8)
#define OFF(type, member) ((unsigned long)offsetof(type, member))
#define P(member)         OFF(IO_STACK_LOCATION, Parameters.member)

static void test_stack_location_x64_layout(void **state)
{
    (void)state;
    if (!X64)
        skip();
    assert_int_equal(OFF(IO_STACK_LOCATION, MajorFunction), 0);
    assert_int_equal(OFF(IO_STACK_LOCATION, Control), 3);
    assert_int_equal(OFF(IO_STACK_LOCATION, Parameters), 8);
    assert_int_equal(sizeof(((IO_STACK_LOCATION *)0)->Parameters), 32);
    assert_int_equal(OFF(IO_STACK_LOCATION, DeviceObject), 0x28);
    assert_int_equal(OFF(IO_STACK_LOCATION, FileObject), 0x30);
    assert_int_equal(OFF(IO_STACK_LOCATION, CompletionRoutine), 0x38);
    assert_int_equal(OFF(IO_STACK_LOCATION, Context), 0x40);
    assert_int_equal(sizeof(IO_STACK_LOCATION), 0x48);
}

static void test_parameters_members_x64_offsets(void **state)
{
    (void)state;
    if (!X64)
        skip();
    const unsigned long base = OFF(IO_STACK_LOCATION, Parameters);
    static const struct {
        const char *name;
        unsigned long off, want;
    } t[] = {
        {"Create.SecurityContext", P(Create.SecurityContext), 0x00},
        {"Create.Options", P(Create.Options), 0x08},
        {"Create.FileAttributes", P(Create.FileAttributes), 0x10},
        {"Create.ShareAccess", P(Create.ShareAccess), 0x12},
        {"Create.EaLength", P(Create.EaLength), 0x18},
        {"Read.Length", P(Read.Length), 0x00},
        {"Read.Key", P(Read.Key), 0x08},
        {"Read.Flags", P(Read.Flags), 0x0C},
        {"Read.ByteOffset", P(Read.ByteOffset), 0x10},
        {"Write.Key", P(Write.Key), 0x08},
        {"Write.ByteOffset", P(Write.ByteOffset), 0x10},
        {"QueryFile.Length", P(QueryFile.Length), 0x00},
        {"QueryFile.FileInformationClass", P(QueryFile.FileInformationClass), 0x08},
        {"SetFile.FileInformationClass", P(SetFile.FileInformationClass), 0x08},
        {"SetFile.FileObject", P(SetFile.FileObject), 0x10},
        {"SetFile.ReplaceIfExists", P(SetFile.ReplaceIfExists), 0x18},
        {"SetFile.AdvanceOnly", P(SetFile.AdvanceOnly), 0x19},
        {"SetFile.ClusterCount", P(SetFile.ClusterCount), 0x18},
        {"SetFile.DeleteHandle", P(SetFile.DeleteHandle), 0x18},
        {"QueryVolume.FsInformationClass", P(QueryVolume.FsInformationClass), 0x08},
        {"DeviceIoControl.OutputBufferLength", P(DeviceIoControl.OutputBufferLength), 0x00},
        {"DeviceIoControl.InputBufferLength", P(DeviceIoControl.InputBufferLength), 0x08},
        {"DeviceIoControl.IoControlCode", P(DeviceIoControl.IoControlCode), 0x10},
        {"DeviceIoControl.Type3InputBuffer", P(DeviceIoControl.Type3InputBuffer), 0x18},
        {"Scsi.Srb", P(Scsi.Srb), 0x00},
        {"QueryDeviceRelations.Type", P(QueryDeviceRelations.Type), 0x00},
        {"QueryInterface.InterfaceType", P(QueryInterface.InterfaceType), 0x00},
        {"QueryInterface.Size", P(QueryInterface.Size), 0x08},
        {"QueryInterface.Version", P(QueryInterface.Version), 0x0A},
        {"QueryInterface.Interface", P(QueryInterface.Interface), 0x10},
        {"QueryInterface.InterfaceSpecificData", P(QueryInterface.InterfaceSpecificData), 0x18},
        {"DeviceCapabilities.Capabilities", P(DeviceCapabilities.Capabilities), 0x00},
        {"FilterResourceRequirements.IoResourceRequirementList",
         P(FilterResourceRequirements.IoResourceRequirementList), 0x00},
        {"ReadWriteConfig.WhichSpace", P(ReadWriteConfig.WhichSpace), 0x00},
        {"ReadWriteConfig.Buffer", P(ReadWriteConfig.Buffer), 0x08},
        {"ReadWriteConfig.Offset", P(ReadWriteConfig.Offset), 0x10},
        {"ReadWriteConfig.Length", P(ReadWriteConfig.Length), 0x18},
        {"SetLock.Lock", P(SetLock.Lock), 0x00},
        {"QueryId.IdType", P(QueryId.IdType), 0x00},
        {"QueryDeviceText.DeviceTextType", P(QueryDeviceText.DeviceTextType), 0x00},
        {"QueryDeviceText.LocaleId", P(QueryDeviceText.LocaleId), 0x08},
        {"UsageNotification.InPath", P(UsageNotification.InPath), 0x00},
        {"UsageNotification.Type", P(UsageNotification.Type), 0x08},
        {"WaitWake.PowerState", P(WaitWake.PowerState), 0x00},
        {"PowerSequence.PowerSequence", P(PowerSequence.PowerSequence), 0x00},
        {"Power.SystemContext", P(Power.SystemContext), 0x00},
        {"Power.SystemPowerStateContext", P(Power.SystemPowerStateContext), 0x00},
        {"Power.Type", P(Power.Type), 0x08},
        {"Power.State", P(Power.State), 0x10},
        {"Power.ShutdownType", P(Power.ShutdownType), 0x18},
        {"StartDevice.AllocatedResources", P(StartDevice.AllocatedResources), 0x00},
        {"StartDevice.AllocatedResourcesTranslated", P(StartDevice.AllocatedResourcesTranslated),
         0x08},
        {"WMI.ProviderId", P(WMI.ProviderId), 0x00},
        {"WMI.DataPath", P(WMI.DataPath), 0x08},
        {"WMI.BufferSize", P(WMI.BufferSize), 0x10},
        {"WMI.Buffer", P(WMI.Buffer), 0x18},
        {"Others.Argument1", P(Others.Argument1), 0x00},
        {"Others.Argument4", P(Others.Argument4), 0x18},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        if (t[i].off - base != t[i].want)
            fail_msg("Parameters.%s at 0x%lx, wdm.h has 0x%lx", t[i].name, t[i].off - base,
                     t[i].want);
    }
}

static void test_file_object_members_and_flags(void **state)
{
    (void)state;
    if (X64) {
        assert_int_equal(OFF(FILE_OBJECT, DeviceObject), 0x08);
        assert_int_equal(OFF(FILE_OBJECT, Vpb), 0x10);
        assert_int_equal(OFF(FILE_OBJECT, FsContext), 0x18);
        assert_int_equal(OFF(FILE_OBJECT, FsContext2), 0x20);
        assert_int_equal(OFF(FILE_OBJECT, SectionObjectPointer), 0x28);
        assert_int_equal(OFF(FILE_OBJECT, PrivateCacheMap), 0x30);
        assert_int_equal(OFF(FILE_OBJECT, FinalStatus), 0x38);
        assert_int_equal(OFF(FILE_OBJECT, RelatedFileObject), 0x40);
        assert_int_equal(OFF(FILE_OBJECT, LockOperation), 0x48);
        assert_int_equal(OFF(FILE_OBJECT, SharedDelete), 0x4F);
        assert_int_equal(OFF(FILE_OBJECT, Flags), 0x50);
        assert_int_equal(OFF(FILE_OBJECT, FileName), 0x58);
        assert_int_equal(OFF(FILE_OBJECT, CurrentByteOffset), 0x68);
        assert_int_equal(OFF(FILE_OBJECT, Waiters), 0x70);
        assert_int_equal(OFF(FILE_OBJECT, Busy), 0x74);
        assert_int_equal(OFF(FILE_OBJECT, LastLock), 0x78);
        assert_int_equal(OFF(FILE_OBJECT, Lock), 0x80);
    }
    /* the members after Lock, in wdm.h's order */
    assert_true(OFF(FILE_OBJECT, Event) > OFF(FILE_OBJECT, Lock));
    assert_true(OFF(FILE_OBJECT, CompletionContext) > OFF(FILE_OBJECT, Event));
    assert_true(OFF(FILE_OBJECT, IrpListLock) > OFF(FILE_OBJECT, CompletionContext));
    assert_true(OFF(FILE_OBJECT, IrpList) > OFF(FILE_OBJECT, IrpListLock));
    assert_true(OFF(FILE_OBJECT, FileObjectExtension) > OFF(FILE_OBJECT, IrpList));
    static const struct {
        ULONG v, want;
    } fo[] = {
        {FO_FILE_OPEN, 0x1},
        {FO_SYNCHRONOUS_IO, 0x2},
        {FO_ALERTABLE_IO, 0x4},
        {FO_NO_INTERMEDIATE_BUFFERING, 0x8},
        {FO_WRITE_THROUGH, 0x10},
        {FO_SEQUENTIAL_ONLY, 0x20},
        {FO_CACHE_SUPPORTED, 0x40},
        {FO_NAMED_PIPE, 0x80},
        {FO_STREAM_FILE, 0x100},
        {FO_MAILSLOT, 0x200},
        {FO_GENERATE_AUDIT_ON_CLOSE, 0x400},
        {FO_QUEUE_IRP_TO_THREAD, 0x400},
        {FO_DIRECT_DEVICE_OPEN, 0x800},
        {FO_FILE_MODIFIED, 0x1000},
        {FO_FILE_SIZE_CHANGED, 0x2000},
        {FO_CLEANUP_COMPLETE, 0x4000},
        {FO_TEMPORARY_FILE, 0x8000},
        {FO_DELETE_ON_CLOSE, 0x10000},
        {FO_OPENED_CASE_SENSITIVE, 0x20000},
        {FO_HANDLE_CREATED, 0x40000},
        {FO_FILE_FAST_IO_READ, 0x80000},
        {FO_RANDOM_ACCESS, 0x100000},
        {FO_FILE_OPEN_CANCELLED, 0x200000},
        {FO_VOLUME_OPEN, 0x400000},
        {FO_REMOTE_ORIGIN, 0x1000000},
        {FO_DISALLOW_EXCLUSIVE, 0x2000000},
        {FO_SKIP_COMPLETION_PORT, 0x2000000},
        {FO_SKIP_SET_EVENT, 0x4000000},
        {FO_SKIP_SET_FAST_IO, 0x8000000},
        {FO_INDIRECT_WAIT_OBJECT, 0x10000000},
        {FO_SECTION_MINSTORE_TREATMENT, 0x20000000},
    };
    for (size_t i = 0; i < sizeof fo / sizeof fo[0]; i++)
        assert_int_equal(fo[i].v, fo[i].want);
}

static void test_do_flags_are_unsigned_with_wdm_values(void **state)
{
    (void)state;
    ULONG flags = 0xFFFFFFFFu;
    flags &= ~DO_DEVICE_INITIALIZING; /* compiles without a cast: -Wsign-conversion is on */
    flags &= ~(DO_BUFFERED_IO | DO_DIRECT_IO);
    assert_int_equal(flags, 0xFFFFFF6Bu);
    assert_true(DO_BUFFERED_IO - DO_BUFFERED_IO - 1u > 0u); /* unsigned arithmetic */
    static const struct {
        ULONG v, want;
    } t[] = {
        {DO_VERIFY_VOLUME, 0x2},
        {DO_BUFFERED_IO, 0x4},
        {DO_EXCLUSIVE, 0x8},
        {DO_DIRECT_IO, 0x10},
        {DO_MAP_IO_BUFFER, 0x20},
        {DO_DEVICE_HAS_NAME, 0x40},
        {DO_DEVICE_INITIALIZING, 0x80},
        {DO_SYSTEM_BOOT_PARTITION, 0x100},
        {DO_LONG_TERM_REQUESTS, 0x200},
        {DO_NEVER_LAST_DEVICE, 0x400},
        {DO_SHUTDOWN_REGISTERED, 0x800},
        {DO_BUS_ENUMERATED_DEVICE, 0x1000},
        {DO_POWER_PAGABLE, 0x2000},
        {DO_POWER_INRUSH, 0x4000},
        {DO_LOW_PRIORITY_FILESYSTEM, 0x10000},
        {DO_SUPPORTS_PERSISTENT_ACLS, 0x20000},
        {DO_SUPPORTS_TRANSACTIONS, 0x40000},
        {DO_FORCE_NEITHER_IO, 0x80000},
        {DO_VOLUME_DEVICE_OBJECT, 0x100000},
        {DO_SYSTEM_SYSTEM_PARTITION, 0x200000},
        {DO_SYSTEM_CRITICAL_PARTITION, 0x400000},
        {DO_DISALLOW_EXECUTE, 0x800000},
        {DO_DEVICE_TO_BE_RESET, 0x4000000},
        {DO_DEVICE_IRP_REQUIRES_EXTENSION, 0x8000000},
        {DO_DAX_VOLUME, 0x10000000},
        {DO_BOOT_CRITICAL, 0x20000000},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        assert_int_equal(t[i].v, t[i].want);
}

static void test_every_major_function_code(void **state)
{
    (void)state;
    static const struct {
        int v, want;
    } t[] = {
        {IRP_MJ_CREATE, 0x00},
        {IRP_MJ_CREATE_NAMED_PIPE, 0x01},
        {IRP_MJ_CLOSE, 0x02},
        {IRP_MJ_READ, 0x03},
        {IRP_MJ_WRITE, 0x04},
        {IRP_MJ_QUERY_INFORMATION, 0x05},
        {IRP_MJ_SET_INFORMATION, 0x06},
        {IRP_MJ_QUERY_EA, 0x07},
        {IRP_MJ_SET_EA, 0x08},
        {IRP_MJ_FLUSH_BUFFERS, 0x09},
        {IRP_MJ_QUERY_VOLUME_INFORMATION, 0x0a},
        {IRP_MJ_SET_VOLUME_INFORMATION, 0x0b},
        {IRP_MJ_DIRECTORY_CONTROL, 0x0c},
        {IRP_MJ_FILE_SYSTEM_CONTROL, 0x0d},
        {IRP_MJ_DEVICE_CONTROL, 0x0e},
        {IRP_MJ_INTERNAL_DEVICE_CONTROL, 0x0f},
        {IRP_MJ_SCSI, 0x0f},
        {IRP_MJ_SHUTDOWN, 0x10},
        {IRP_MJ_LOCK_CONTROL, 0x11},
        {IRP_MJ_CLEANUP, 0x12},
        {IRP_MJ_CREATE_MAILSLOT, 0x13},
        {IRP_MJ_QUERY_SECURITY, 0x14},
        {IRP_MJ_SET_SECURITY, 0x15},
        {IRP_MJ_POWER, 0x16},
        {IRP_MJ_SYSTEM_CONTROL, 0x17},
        {IRP_MJ_DEVICE_CHANGE, 0x18},
        {IRP_MJ_QUERY_QUOTA, 0x19},
        {IRP_MJ_SET_QUOTA, 0x1a},
        {IRP_MJ_PNP, 0x1b},
        {IRP_MJ_PNP_POWER, 0x1b},
        {IRP_MJ_MAXIMUM_FUNCTION, 0x1b},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        assert_int_equal(t[i].v, t[i].want);
}

static void test_pnp_query_types(void **state)
{
    (void)state;
    assert_int_equal(BusRelations, 0);
    assert_int_equal(EjectionRelations, 1);
    assert_int_equal(PowerRelations, 2);
    assert_int_equal(RemovalRelations, 3);
    assert_int_equal(TargetDeviceRelation, 4);
    assert_int_equal(SingleBusRelations, 5);
    assert_int_equal(TransportRelations, 6);
    assert_int_equal(BusQueryDeviceID, 0);
    assert_int_equal(BusQueryHardwareIDs, 1);
    assert_int_equal(BusQueryCompatibleIDs, 2);
    assert_int_equal(BusQueryInstanceID, 3);
    assert_int_equal(BusQueryDeviceSerialNumber, 4);
    assert_int_equal(BusQueryContainerID, 5);
    assert_int_equal(DeviceTextDescription, 0);
    assert_int_equal(DeviceTextLocationInformation, 1);
    assert_int_equal(DeviceUsageTypeUndefined, 0);
    assert_int_equal(DeviceUsageTypePaging, 1);
    assert_int_equal(DeviceUsageTypeHibernation, 2);
    assert_int_equal(DeviceUsageTypeDumpFile, 3);
    assert_int_equal(DeviceUsageTypeBoot, 4);
    assert_int_equal(DeviceUsageTypePostDisplay, 5);
    assert_int_equal(DeviceUsageTypeGuestAssigned, 6);
    assert_int_equal(FileBasicInformation, 4);
    assert_int_equal(FileStandardInformation, 5);
    assert_int_equal(FilePositionInformation, 14);
    assert_int_equal(FileEndOfFileInformation, 20);
    assert_int_equal(FileFsDeviceInformation, 4);
    assert_int_equal(OFF(FILE_BASIC_INFORMATION, FileAttributes), 32);
    assert_int_equal(sizeof(FILE_BASIC_INFORMATION), 40);
    assert_int_equal(OFF(FILE_STANDARD_INFORMATION, NumberOfLinks), 16);
    assert_int_equal(OFF(FILE_STANDARD_INFORMATION, Directory), 21);
    assert_int_equal(sizeof(FILE_STANDARD_INFORMATION), 24);
    assert_int_equal(sizeof(FILE_POSITION_INFORMATION), 8);
    assert_int_equal(sizeof(FILE_END_OF_FILE_INFORMATION), 8);
    assert_int_equal(sizeof(FILE_ALLOCATION_INFORMATION), 8);
    if (X64) {
        assert_int_equal(sizeof(INTERFACE), 0x20);
        assert_int_equal(OFF(DEVICE_RELATIONS, Objects), 8);
    }
    assert_int_equal(OFF(DEVICE_CAPABILITIES, Address), 8);
    assert_int_equal(OFF(DEVICE_CAPABILITIES, UINumber), 0x0C);
    assert_int_equal(OFF(DEVICE_CAPABILITIES, DeviceState), 0x10);
    assert_int_equal(OFF(DEVICE_CAPABILITIES, SystemWake), 0x2C);
    assert_int_equal(OFF(DEVICE_CAPABILITIES, DeviceWake), 0x30);
    assert_int_equal(OFF(DEVICE_CAPABILITIES, D3Latency), 0x3C);
    assert_int_equal(sizeof(DEVICE_CAPABILITIES), 0x40);
    assert_int_equal(sizeof(SYSTEM_POWER_STATE_CONTEXT), 4);
    /* the bit fields a PnP handler sets */
    DEVICE_CAPABILITIES caps;
    memset(&caps, 0, sizeof caps);
    caps.SurpriseRemovalOK = 1;
    caps.Removable = 1;
    ULONG word;
    memcpy(&word, (const UCHAR *)&caps + 4, sizeof word);
    assert_int_equal(word, (1u << 9) | (1u << 4));
    SYSTEM_POWER_STATE_CONTEXT spc;
    spc.ContextAsUlong = 0;
    spc.TargetSystemState = PowerSystemHibernate;
    assert_int_equal(spc.ContextAsUlong, (ULONG)PowerSystemHibernate << 8);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stack_location_x64_layout),
        cmocka_unit_test(test_parameters_members_x64_offsets),
        cmocka_unit_test(test_file_object_members_and_flags),
        cmocka_unit_test(test_do_flags_are_unsigned_with_wdm_values),
        cmocka_unit_test(test_every_major_function_code),
        cmocka_unit_test(test_pnp_query_types),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
