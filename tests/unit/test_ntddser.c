/* SPDX-License-Identifier: MIT */
/*
 * test_ntddser.c - the values and layouts of <ntddser.h> (kdpc/wdm/serial.h,
 * docs/facts/registry.md "Serial"): control codes as the documented numbers,
 * event and purge bits, structure sizes and offsets of the x64 layout.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <ntddser.h>

static void test_control_codes(void **state)
{
    (void)state;
    /* CTL_CODE(FILE_DEVICE_SERIAL_PORT = 0x1B, function, METHOD_BUFFERED, FILE_ANY_ACCESS) */
    assert_int_equal(IOCTL_SERIAL_SET_BAUD_RATE, 0x001B0004);
    assert_int_equal(IOCTL_SERIAL_SET_QUEUE_SIZE, 0x001B0008);
    assert_int_equal(IOCTL_SERIAL_SET_LINE_CONTROL, 0x001B000C);
    assert_int_equal(IOCTL_SERIAL_SET_TIMEOUTS, 0x001B001C);
    assert_int_equal(IOCTL_SERIAL_GET_TIMEOUTS, 0x001B0020);
    assert_int_equal(IOCTL_SERIAL_SET_DTR, 0x001B0024);
    assert_int_equal(IOCTL_SERIAL_CLR_RTS, 0x001B0034);
    assert_int_equal(IOCTL_SERIAL_GET_WAIT_MASK, 0x001B0040);
    assert_int_equal(IOCTL_SERIAL_SET_WAIT_MASK, 0x001B0044);
    assert_int_equal(IOCTL_SERIAL_WAIT_ON_MASK, 0x001B0048);
    assert_int_equal(IOCTL_SERIAL_PURGE, 0x001B004C);
    assert_int_equal(IOCTL_SERIAL_GET_BAUD_RATE, 0x001B0050);
    assert_int_equal(IOCTL_SERIAL_GET_HANDFLOW, 0x001B0060);
    assert_int_equal(IOCTL_SERIAL_SET_HANDFLOW, 0x001B0064);
    assert_int_equal(IOCTL_SERIAL_GET_MODEMSTATUS, 0x001B0068);
    assert_int_equal(IOCTL_SERIAL_GET_COMMSTATUS, 0x001B006C);
    assert_int_equal(IOCTL_SERIAL_GET_PROPERTIES, 0x001B0074);
    assert_int_equal(IOCTL_SERIAL_GET_DTRRTS, 0x001B0078);
    assert_int_equal(IOCTL_SERIAL_LSRMST_INSERT, 0x001B007C);
    assert_int_equal(IOCTL_SERIAL_CONFIG_SIZE, 0x001B0080);
    assert_int_equal(IOCTL_SERIAL_GET_STATS, 0x001B008C);
    assert_int_equal(IOCTL_SERIAL_CLEAR_STATS, 0x001B0090);
    assert_int_equal(IOCTL_SERIAL_GET_MODEM_CONTROL, 0x001B0094);
    assert_int_equal(IOCTL_SERIAL_SET_MODEM_CONTROL, 0x001B0098);
    assert_int_equal(IOCTL_SERIAL_SET_FIFO_CONTROL, 0x001B009C);
    assert_int_equal(IOCTL_SERIAL_APPLY_DEFAULT_CONFIGURATION, 0x001B00A0);
    assert_int_equal(IOCTL_SERIAL_SET_INTERVAL_TIMER_RESOLUTION, 0x001B00A4);
    assert_int_equal(IOCTL_SERIAL_INTERNAL_DO_WAIT_WAKE, 0x001B0004);
    assert_int_equal(IOCTL_SERIAL_INTERNAL_RESTORE_SETTINGS, 0x001B0010);
    /* they are usable as switch labels */
    switch ((ULONG)IOCTL_SERIAL_PURGE) {
    case IOCTL_SERIAL_PURGE:
        break;
    default:
        fail();
    }
}

static void test_flags(void **state)
{
    (void)state;
    assert_int_equal(SERIAL_EV_RXCHAR | SERIAL_EV_RXFLAG | SERIAL_EV_TXEMPTY | SERIAL_EV_CTS |
                         SERIAL_EV_DSR | SERIAL_EV_RLSD | SERIAL_EV_BREAK | SERIAL_EV_ERR |
                         SERIAL_EV_RING | SERIAL_EV_PERR | SERIAL_EV_RX80FULL | SERIAL_EV_EVENT1 |
                         SERIAL_EV_EVENT2,
                     0x1FFF);
    assert_int_equal(SERIAL_PURGE_TXABORT, 1);
    assert_int_equal(SERIAL_PURGE_RXABORT, 2);
    assert_int_equal(SERIAL_PURGE_TXCLEAR, 4);
    assert_int_equal(SERIAL_PURGE_RXCLEAR, 8);
    assert_int_equal(STOP_BITS_2, 2);
    assert_int_equal(SPACE_PARITY, 4);
    assert_int_equal(SERIAL_CTS_HANDSHAKE, 0x08);
    assert_int_equal(SERIAL_RTS_HANDSHAKE, 0x80);
    assert_int_equal(SERIAL_ERROR_PARITY, 0x10);
    assert_int_equal(SERIAL_BAUD_115200, 0x20000);
    assert_int_equal(SERIAL_PARITY_SPACE, 0x1000);
    assert_int_equal(SERIAL_DCD_STATE, 0x80);
    assert_int_equal(SERIAL_LSRMST_MST, 3);
}

static void test_layouts(void **state)
{
    (void)state;
    assert_int_equal(sizeof(SERIAL_BAUD_RATE), 4);
    assert_int_equal(sizeof(SERIAL_LINE_CONTROL), 3);
    assert_int_equal(sizeof(SERIAL_TIMEOUTS), 20);
    assert_int_equal(sizeof(SERIAL_CHARS), 6);
    assert_int_equal(sizeof(SERIAL_HANDFLOW), 16);
    assert_int_equal(sizeof(SERIAL_QUEUE_SIZE), 8);
    assert_int_equal(sizeof(SERIAL_STATUS), 20);
    assert_int_equal(offsetof(SERIAL_STATUS, EofReceived), 16);
    assert_int_equal(sizeof(SERIAL_XOFF_COUNTER), 12);
    assert_int_equal(sizeof(SERIALPERF_STATS), 24);
    assert_int_equal(offsetof(SERIAL_COMMPROP, ServiceMask), 4);
    assert_int_equal(offsetof(SERIAL_COMMPROP, SettableData), 40);
    assert_int_equal(offsetof(SERIAL_COMMPROP, ProvChar), 60);
    assert_int_equal(sizeof(SERIAL_BASIC_SETTINGS), 44);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_control_codes),
        cmocka_unit_test(test_flags),
        cmocka_unit_test(test_layouts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
