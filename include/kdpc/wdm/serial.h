/* SPDX-License-Identifier: MIT */
/*
 * kdpc/wdm/serial.h - the serial port interface of <ntddser.h>: the
 * IOCTL_SERIAL_* control codes a serial port driver answers, the structures
 * they carry, wait-mask events (SERIAL_EV_*), purge flags (SERIAL_PURGE_*),
 * line control, handshake and flow flags, error and hold reasons, and the
 * capability bits of SERIAL_COMMPROP. Values and layouts are the ones the
 * public documentation of ntddser.h gives (docs/facts/registry.md, "Serial");
 * kdpc adds no routine here: these are the types a driver and its test share.
 */
#ifndef KDPC_WDM_SERIAL_H
#define KDPC_WDM_SERIAL_H

#include <kdpc/wdm/types.h>
#include <kdpc/wdm/devioctl.h>

KDPC_BEGIN_DECLS

/* ------------------------------------------------------------------ */
/* Control codes: device type FILE_DEVICE_SERIAL_PORT, buffered, any access */

#define KDPC_SERIAL_CTL(fn) CTL_CODE(FILE_DEVICE_SERIAL_PORT, fn, METHOD_BUFFERED, FILE_ANY_ACCESS)

#define IOCTL_SERIAL_SET_BAUD_RATE                 KDPC_SERIAL_CTL(1)
#define IOCTL_SERIAL_SET_QUEUE_SIZE                KDPC_SERIAL_CTL(2)
#define IOCTL_SERIAL_SET_LINE_CONTROL              KDPC_SERIAL_CTL(3)
#define IOCTL_SERIAL_SET_BREAK_ON                  KDPC_SERIAL_CTL(4)
#define IOCTL_SERIAL_SET_BREAK_OFF                 KDPC_SERIAL_CTL(5)
#define IOCTL_SERIAL_IMMEDIATE_CHAR                KDPC_SERIAL_CTL(6)
#define IOCTL_SERIAL_SET_TIMEOUTS                  KDPC_SERIAL_CTL(7)
#define IOCTL_SERIAL_GET_TIMEOUTS                  KDPC_SERIAL_CTL(8)
#define IOCTL_SERIAL_SET_DTR                       KDPC_SERIAL_CTL(9)
#define IOCTL_SERIAL_CLR_DTR                       KDPC_SERIAL_CTL(10)
#define IOCTL_SERIAL_RESET_DEVICE                  KDPC_SERIAL_CTL(11)
#define IOCTL_SERIAL_SET_RTS                       KDPC_SERIAL_CTL(12)
#define IOCTL_SERIAL_CLR_RTS                       KDPC_SERIAL_CTL(13)
#define IOCTL_SERIAL_SET_XOFF                      KDPC_SERIAL_CTL(14)
#define IOCTL_SERIAL_SET_XON                       KDPC_SERIAL_CTL(15)
#define IOCTL_SERIAL_GET_WAIT_MASK                 KDPC_SERIAL_CTL(16)
#define IOCTL_SERIAL_SET_WAIT_MASK                 KDPC_SERIAL_CTL(17)
#define IOCTL_SERIAL_WAIT_ON_MASK                  KDPC_SERIAL_CTL(18)
#define IOCTL_SERIAL_PURGE                         KDPC_SERIAL_CTL(19)
#define IOCTL_SERIAL_GET_BAUD_RATE                 KDPC_SERIAL_CTL(20)
#define IOCTL_SERIAL_GET_LINE_CONTROL              KDPC_SERIAL_CTL(21)
#define IOCTL_SERIAL_GET_CHARS                     KDPC_SERIAL_CTL(22)
#define IOCTL_SERIAL_SET_CHARS                     KDPC_SERIAL_CTL(23)
#define IOCTL_SERIAL_GET_HANDFLOW                  KDPC_SERIAL_CTL(24)
#define IOCTL_SERIAL_SET_HANDFLOW                  KDPC_SERIAL_CTL(25)
#define IOCTL_SERIAL_GET_MODEMSTATUS               KDPC_SERIAL_CTL(26)
#define IOCTL_SERIAL_GET_COMMSTATUS                KDPC_SERIAL_CTL(27)
#define IOCTL_SERIAL_XOFF_COUNTER                  KDPC_SERIAL_CTL(28)
#define IOCTL_SERIAL_GET_PROPERTIES                KDPC_SERIAL_CTL(29)
#define IOCTL_SERIAL_GET_DTRRTS                    KDPC_SERIAL_CTL(30)
#define IOCTL_SERIAL_LSRMST_INSERT                 KDPC_SERIAL_CTL(31)
#define IOCTL_SERIAL_CONFIG_SIZE                   KDPC_SERIAL_CTL(32)
#define IOCTL_SERIAL_GET_COMMCONFIG                KDPC_SERIAL_CTL(33)
#define IOCTL_SERIAL_SET_COMMCONFIG                KDPC_SERIAL_CTL(34)
#define IOCTL_SERIAL_GET_STATS                     KDPC_SERIAL_CTL(35)
#define IOCTL_SERIAL_CLEAR_STATS                   KDPC_SERIAL_CTL(36)
#define IOCTL_SERIAL_GET_MODEM_CONTROL             KDPC_SERIAL_CTL(37)
#define IOCTL_SERIAL_SET_MODEM_CONTROL             KDPC_SERIAL_CTL(38)
#define IOCTL_SERIAL_SET_FIFO_CONTROL              KDPC_SERIAL_CTL(39)
#define IOCTL_SERIAL_APPLY_DEFAULT_CONFIGURATION   KDPC_SERIAL_CTL(40)
#define IOCTL_SERIAL_SET_INTERVAL_TIMER_RESOLUTION KDPC_SERIAL_CTL(41)

/* Internal device controls (IRP_MJ_INTERNAL_DEVICE_CONTROL), same numbering space */
#define IOCTL_SERIAL_INTERNAL_DO_WAIT_WAKE     KDPC_SERIAL_CTL(1)
#define IOCTL_SERIAL_INTERNAL_CANCEL_WAIT_WAKE KDPC_SERIAL_CTL(2)
#define IOCTL_SERIAL_INTERNAL_BASIC_SETTINGS   KDPC_SERIAL_CTL(3)
#define IOCTL_SERIAL_INTERNAL_RESTORE_SETTINGS KDPC_SERIAL_CTL(4)

/* ------------------------------------------------------------------ */
/* Structures                                                          */

/** IOCTL_SERIAL_SET_BAUD_RATE / _GET_BAUD_RATE: bits per second. */
typedef struct _SERIAL_BAUD_RATE {
    ULONG BaudRate;
} SERIAL_BAUD_RATE, *PSERIAL_BAUD_RATE;

/** IOCTL_SERIAL_SET_QUEUE_SIZE: the driver's receive and transmit buffer sizes. */
typedef struct _SERIAL_QUEUE_SIZE {
    ULONG InSize;
    ULONG OutSize;
} SERIAL_QUEUE_SIZE, *PSERIAL_QUEUE_SIZE;

/** IOCTL_SERIAL_SET_LINE_CONTROL / _GET_LINE_CONTROL: STOP_BIT*, *_PARITY, data bits (5..8). */
typedef struct _SERIAL_LINE_CONTROL {
    UCHAR StopBits;
    UCHAR Parity;
    UCHAR WordLength;
} SERIAL_LINE_CONTROL, *PSERIAL_LINE_CONTROL;

/** IOCTL_SERIAL_SET_TIMEOUTS / _GET_TIMEOUTS: read and write timeouts in milliseconds. */
typedef struct _SERIAL_TIMEOUTS {
    ULONG ReadIntervalTimeout;
    ULONG ReadTotalTimeoutMultiplier;
    ULONG ReadTotalTimeoutConstant;
    ULONG WriteTotalTimeoutMultiplier;
    ULONG WriteTotalTimeoutConstant;
} SERIAL_TIMEOUTS, *PSERIAL_TIMEOUTS;

/** IOCTL_SERIAL_SET_CHARS / _GET_CHARS: the special characters. */
typedef struct _SERIAL_CHARS {
    UCHAR EofChar;
    UCHAR ErrorChar;
    UCHAR BreakChar;
    UCHAR EventChar;
    UCHAR XonChar;
    UCHAR XoffChar;
} SERIAL_CHARS, *PSERIAL_CHARS;

/** IOCTL_SERIAL_SET_HANDFLOW / _GET_HANDFLOW: handshake (SERIAL_*_HANDSHAKE, ...) and flow
 * (SERIAL_AUTO_*, SERIAL_RTS_*, ...) settings, XON/XOFF limits in bytes. */
typedef struct _SERIAL_HANDFLOW {
    ULONG ControlHandShake;
    ULONG FlowReplace;
    LONG XonLimit;
    LONG XoffLimit;
} SERIAL_HANDFLOW, *PSERIAL_HANDFLOW;

/** IOCTL_SERIAL_GET_COMMSTATUS: SERIAL_ERROR_* since the last query, SERIAL_TX_WAITING_* /
 * SERIAL_RX_WAITING_* hold reasons, queue fill levels. */
typedef struct _SERIAL_STATUS {
    ULONG Errors;
    ULONG HoldReasons;
    ULONG AmountInInQueue;
    ULONG AmountInOutQueue;
    BOOLEAN EofReceived;
    BOOLEAN WaitForImmediate;
} SERIAL_STATUS, *PSERIAL_STATUS;

/** IOCTL_SERIAL_XOFF_COUNTER: send XoffChar, resume after Counter bytes or Timeout ms. */
typedef struct _SERIAL_XOFF_COUNTER {
    ULONG Timeout;
    LONG Counter;
    UCHAR XoffChar;
} SERIAL_XOFF_COUNTER, *PSERIAL_XOFF_COUNTER;

/** IOCTL_SERIAL_GET_PROPERTIES: what the port can do (SERIAL_PCF_*, SERIAL_SP_*, SERIAL_BAUD_*,
 * SERIAL_DATABITS_*, SERIAL_STOPBITS_* | SERIAL_PARITY_*). */
typedef struct _SERIAL_COMMPROP {
    USHORT PacketLength;
    USHORT PacketVersion;
    ULONG ServiceMask;
    ULONG Reserved1;
    ULONG MaxTxQueue;
    ULONG MaxRxQueue;
    ULONG MaxBaud;
    ULONG ProvSubType;
    ULONG ProvCapabilities;
    ULONG SettableParams;
    ULONG SettableBaud;
    USHORT SettableData;
    USHORT SettableStopParity;
    ULONG CurrentTxQueue;
    ULONG CurrentRxQueue;
    ULONG ProvSpec1;
    ULONG ProvSpec2;
    WCHAR ProvChar[1];
} SERIAL_COMMPROP, *PSERIAL_COMMPROP;

/** IOCTL_SERIAL_GET_STATS: performance counters since the last IOCTL_SERIAL_CLEAR_STATS. */
typedef struct _SERIALPERF_STATS {
    ULONG ReceivedCount;
    ULONG TransmittedCount;
    ULONG FrameErrorCount;
    ULONG SerialOverrunErrorCount;
    ULONG BufferOverrunErrorCount;
    ULONG ParityErrorCount;
} SERIALPERF_STATS, *PSERIALPERF_STATS;

/** IOCTL_SERIAL_GET_COMMCONFIG / _SET_COMMCONFIG: provider data follows at ProvOffset. */
typedef struct _SERIALCONFIG {
    ULONG Size;
    USHORT Version;
    ULONG SubType;
    ULONG ProvOffset;
    ULONG ProviderSize;
    WCHAR ProviderData[1];
} SERIALCONFIG, *PSERIALCONFIG;

/** IOCTL_SERIAL_INTERNAL_BASIC_SETTINGS / _RESTORE_SETTINGS. */
typedef struct _SERIAL_BASIC_SETTINGS {
    SERIAL_TIMEOUTS Timeouts;
    SERIAL_HANDFLOW HandFlow;
    ULONG RxFifo;
    ULONG TxFifo;
} SERIAL_BASIC_SETTINGS, *PSERIAL_BASIC_SETTINGS;

/* ------------------------------------------------------------------ */
/* Line control values                                                 */

#define STOP_BIT_1    0
#define STOP_BITS_1_5 1
#define STOP_BITS_2   2

#define NO_PARITY    0
#define ODD_PARITY   1
#define EVEN_PARITY  2
#define MARK_PARITY  3
#define SPACE_PARITY 4

/* ------------------------------------------------------------------ */
/* Wait-mask events and purge flags                                    */

#define SERIAL_EV_RXCHAR   0x0001 /* a character arrived */
#define SERIAL_EV_RXFLAG   0x0002 /* the EventChar arrived */
#define SERIAL_EV_TXEMPTY  0x0004 /* the last character was sent */
#define SERIAL_EV_CTS      0x0008 /* CTS changed */
#define SERIAL_EV_DSR      0x0010 /* DSR changed */
#define SERIAL_EV_RLSD     0x0020 /* carrier detect changed */
#define SERIAL_EV_BREAK    0x0040 /* a break was received */
#define SERIAL_EV_ERR      0x0080 /* a line-status error */
#define SERIAL_EV_RING     0x0100 /* ring indicator */
#define SERIAL_EV_PERR     0x0200 /* printer error */
#define SERIAL_EV_RX80FULL 0x0400 /* the receive buffer is 80% full */
#define SERIAL_EV_EVENT1   0x0800 /* provider-specific */
#define SERIAL_EV_EVENT2   0x1000 /* provider-specific */

#define SERIAL_PURGE_TXABORT 0x00000001 /* cancel the pending writes */
#define SERIAL_PURGE_RXABORT 0x00000002 /* cancel the pending reads */
#define SERIAL_PURGE_TXCLEAR 0x00000004 /* empty the transmit buffer */
#define SERIAL_PURGE_RXCLEAR 0x00000008 /* empty the receive buffer */

/* IOCTL_SERIAL_LSRMST_INSERT escape sequence codes */
#define SERIAL_LSRMST_ESCAPE     ((UCHAR)0x00)
#define SERIAL_LSRMST_LSR_DATA   ((UCHAR)0x01)
#define SERIAL_LSRMST_LSR_NODATA ((UCHAR)0x02)
#define SERIAL_LSRMST_MST        ((UCHAR)0x03)

/* ------------------------------------------------------------------ */
/* SERIAL_HANDFLOW.ControlHandShake                                    */

#define SERIAL_DTR_MASK          ((ULONG)0x03)
#define SERIAL_DTR_CONTROL       ((ULONG)0x01)
#define SERIAL_DTR_HANDSHAKE     ((ULONG)0x02)
#define SERIAL_CTS_HANDSHAKE     ((ULONG)0x08)
#define SERIAL_DSR_HANDSHAKE     ((ULONG)0x10)
#define SERIAL_DCD_HANDSHAKE     ((ULONG)0x20)
#define SERIAL_OUT_HANDSHAKEMASK ((ULONG)0x38)
#define SERIAL_DSR_SENSITIVITY   ((ULONG)0x40)
#define SERIAL_ERROR_ABORT       ((ULONG)0x80000000)
#define SERIAL_CONTROL_INVALID   ((ULONG)0x7fffff84)

/* SERIAL_HANDFLOW.FlowReplace */
#define SERIAL_AUTO_TRANSMIT   ((ULONG)0x01)
#define SERIAL_AUTO_RECEIVE    ((ULONG)0x02)
#define SERIAL_ERROR_CHAR      ((ULONG)0x04)
#define SERIAL_NULL_STRIPPING  ((ULONG)0x08)
#define SERIAL_BREAK_CHAR      ((ULONG)0x10)
#define SERIAL_RTS_MASK        ((ULONG)0xc0)
#define SERIAL_RTS_CONTROL     ((ULONG)0x40)
#define SERIAL_RTS_HANDSHAKE   ((ULONG)0x80)
#define SERIAL_TRANSMIT_TOGGLE ((ULONG)0xc0)
#define SERIAL_XOFF_CONTINUE   ((ULONG)0x80000000)
#define SERIAL_FLOW_INVALID    ((ULONG)0x7fffff20)

/* SERIAL_STATUS.Errors */
#define SERIAL_ERROR_BREAK        ((ULONG)0x00000001)
#define SERIAL_ERROR_FRAMING      ((ULONG)0x00000002)
#define SERIAL_ERROR_OVERRUN      ((ULONG)0x00000004)
#define SERIAL_ERROR_QUEUEOVERRUN ((ULONG)0x00000008)
#define SERIAL_ERROR_PARITY       ((ULONG)0x00000010)

/* SERIAL_STATUS.HoldReasons */
#define SERIAL_TX_WAITING_FOR_CTS   ((ULONG)0x00000001)
#define SERIAL_TX_WAITING_FOR_DSR   ((ULONG)0x00000002)
#define SERIAL_TX_WAITING_FOR_DCD   ((ULONG)0x00000004)
#define SERIAL_TX_WAITING_FOR_XON   ((ULONG)0x00000008)
#define SERIAL_TX_WAITING_XOFF_SENT ((ULONG)0x00000010)
#define SERIAL_TX_WAITING_ON_BREAK  ((ULONG)0x00000020)
#define SERIAL_RX_WAITING_FOR_DSR   ((ULONG)0x00000040)

/* IOCTL_SERIAL_GET_DTRRTS */
#define SERIAL_DTR_STATE ((ULONG)0x00000001)
#define SERIAL_RTS_STATE ((ULONG)0x00000002)
/* IOCTL_SERIAL_GET_MODEMSTATUS: the modem status register bits */
#define SERIAL_CTS_STATE ((ULONG)0x00000010)
#define SERIAL_DSR_STATE ((ULONG)0x00000020)
#define SERIAL_RI_STATE  ((ULONG)0x00000040)
#define SERIAL_DCD_STATE ((ULONG)0x00000080)

/* IOCTL_SERIAL_GET_MODEM_CONTROL / _SET_MODEM_CONTROL: modem control register bits */
#define SERIAL_IOC_MCR_DTR  ((ULONG)0x00000001)
#define SERIAL_IOC_MCR_RTS  ((ULONG)0x00000002)
#define SERIAL_IOC_MCR_OUT1 ((ULONG)0x00000004)
#define SERIAL_IOC_MCR_OUT2 ((ULONG)0x00000008)
#define SERIAL_IOC_MCR_LOOP ((ULONG)0x00000010)

/* IOCTL_SERIAL_SET_FIFO_CONTROL: FIFO control register bits */
#define SERIAL_IOC_FCR_FIFO_ENABLE           ((ULONG)0x00000001)
#define SERIAL_IOC_FCR_RCVR_RESET            ((ULONG)0x00000002)
#define SERIAL_IOC_FCR_XMIT_RESET            ((ULONG)0x00000004)
#define SERIAL_IOC_FCR_DMA_MODE              ((ULONG)0x00000008)
#define SERIAL_IOC_FCR_RES1                  ((ULONG)0x00000010)
#define SERIAL_IOC_FCR_RES2                  ((ULONG)0x00000020)
#define SERIAL_IOC_FCR_RCVR_TRIGGER_LSB      ((ULONG)0x00000040)
#define SERIAL_IOC_FCR_RCVR_TRIGGER_MSB      ((ULONG)0x00000080)
#define SERIAL_IOC_FCR_RCVR_TRIGGER_01_BYTE  ((ULONG)0x00000000)
#define SERIAL_IOC_FCR_RCVR_TRIGGER_04_BYTES ((ULONG)0x00000040)
#define SERIAL_IOC_FCR_RCVR_TRIGGER_08_BYTES ((ULONG)0x00000080)
#define SERIAL_IOC_FCR_RCVR_TRIGGER_14_BYTES ((ULONG)0x000000c0)

/* ------------------------------------------------------------------ */
/* SERIAL_COMMPROP                                                     */

#define SERIAL_SP_SERIALCOMM ((ULONG)0x00000001) /* ServiceMask */

/* ProvSubType */
#define SERIAL_SP_UNSPECIFIED ((ULONG)0x00000000)
#define SERIAL_SP_RS232       ((ULONG)0x00000001)
#define SERIAL_SP_PARALLEL    ((ULONG)0x00000002)
#define SERIAL_SP_RS422       ((ULONG)0x00000003)
#define SERIAL_SP_RS423       ((ULONG)0x00000004)
#define SERIAL_SP_RS449       ((ULONG)0x00000005)
#define SERIAL_SP_MODEM       ((ULONG)0x00000006)
#define SERIAL_SP_FAX         ((ULONG)0x00000021)
#define SERIAL_SP_SCANNER     ((ULONG)0x00000022)
#define SERIAL_SP_BRIDGE      ((ULONG)0x00000100)
#define SERIAL_SP_LAT         ((ULONG)0x00000101)
#define SERIAL_SP_TELNET      ((ULONG)0x00000102)
#define SERIAL_SP_X25         ((ULONG)0x00000103)

/* ProvCapabilities */
#define SERIAL_PCF_DTRDSR        ((ULONG)0x0001)
#define SERIAL_PCF_RTSCTS        ((ULONG)0x0002)
#define SERIAL_PCF_CD            ((ULONG)0x0004)
#define SERIAL_PCF_PARITY_CHECK  ((ULONG)0x0008)
#define SERIAL_PCF_XONXOFF       ((ULONG)0x0010)
#define SERIAL_PCF_SETXCHAR      ((ULONG)0x0020)
#define SERIAL_PCF_TOTALTIMEOUTS ((ULONG)0x0040)
#define SERIAL_PCF_INTTIMEOUTS   ((ULONG)0x0080)
#define SERIAL_PCF_SPECIALCHARS  ((ULONG)0x0100)
#define SERIAL_PCF_16BITMODE     ((ULONG)0x0200)

/* SettableParams */
#define SERIAL_SP_PARITY         ((ULONG)0x0001)
#define SERIAL_SP_BAUD           ((ULONG)0x0002)
#define SERIAL_SP_DATABITS       ((ULONG)0x0004)
#define SERIAL_SP_STOPBITS       ((ULONG)0x0008)
#define SERIAL_SP_HANDSHAKING    ((ULONG)0x0010)
#define SERIAL_SP_PARITY_CHECK   ((ULONG)0x0020)
#define SERIAL_SP_CARRIER_DETECT ((ULONG)0x0040)

/* SettableBaud / MaxBaud */
#define SERIAL_BAUD_075    ((ULONG)0x00000001)
#define SERIAL_BAUD_110    ((ULONG)0x00000002)
#define SERIAL_BAUD_134_5  ((ULONG)0x00000004)
#define SERIAL_BAUD_150    ((ULONG)0x00000008)
#define SERIAL_BAUD_300    ((ULONG)0x00000010)
#define SERIAL_BAUD_600    ((ULONG)0x00000020)
#define SERIAL_BAUD_1200   ((ULONG)0x00000040)
#define SERIAL_BAUD_1800   ((ULONG)0x00000080)
#define SERIAL_BAUD_2400   ((ULONG)0x00000100)
#define SERIAL_BAUD_4800   ((ULONG)0x00000200)
#define SERIAL_BAUD_7200   ((ULONG)0x00000400)
#define SERIAL_BAUD_9600   ((ULONG)0x00000800)
#define SERIAL_BAUD_14400  ((ULONG)0x00001000)
#define SERIAL_BAUD_19200  ((ULONG)0x00002000)
#define SERIAL_BAUD_38400  ((ULONG)0x00004000)
#define SERIAL_BAUD_56K    ((ULONG)0x00008000)
#define SERIAL_BAUD_128K   ((ULONG)0x00010000)
#define SERIAL_BAUD_115200 ((ULONG)0x00020000)
#define SERIAL_BAUD_57600  ((ULONG)0x00040000)
#define SERIAL_BAUD_USER   ((ULONG)0x10000000)

/* SettableData */
#define SERIAL_DATABITS_5   ((USHORT)0x0001)
#define SERIAL_DATABITS_6   ((USHORT)0x0002)
#define SERIAL_DATABITS_7   ((USHORT)0x0004)
#define SERIAL_DATABITS_8   ((USHORT)0x0008)
#define SERIAL_DATABITS_16  ((USHORT)0x0010)
#define SERIAL_DATABITS_16X ((USHORT)0x0020)

/* SettableStopParity */
#define SERIAL_STOPBITS_10  ((USHORT)0x0001)
#define SERIAL_STOPBITS_15  ((USHORT)0x0002)
#define SERIAL_STOPBITS_20  ((USHORT)0x0004)
#define SERIAL_PARITY_NONE  ((USHORT)0x0100)
#define SERIAL_PARITY_ODD   ((USHORT)0x0200)
#define SERIAL_PARITY_EVEN  ((USHORT)0x0400)
#define SERIAL_PARITY_MARK  ((USHORT)0x0800)
#define SERIAL_PARITY_SPACE ((USHORT)0x1000)

KDPC_END_DECLS

#endif /* KDPC_WDM_SERIAL_H */

/*
 * The device interface classes of <ntddser.h>: as with the WDK header, declarations unless
 * <initguid.h> was included before, which makes them (weak) definitions; the guards let a file
 * declare them, then define them (include <initguid.h> and this file again), but never define
 * them twice. Values: docs/facts/registry.md 7.3.
 */
#include <kdpc/wdm/guid.h>

#ifdef INITGUID
#ifndef KDPC_WDM_SERIAL_GUIDS_DEFINED_
#define KDPC_WDM_SERIAL_GUIDS_DEFINED_
#define KDPC_WDM_SERIAL_GUIDS_DECLARED_
#define KDPC_WDM_SERIAL_GUIDS_EMIT_
#endif
#elif !defined(KDPC_WDM_SERIAL_GUIDS_DECLARED_)
#define KDPC_WDM_SERIAL_GUIDS_DECLARED_
#define KDPC_WDM_SERIAL_GUIDS_EMIT_
#endif

#ifdef KDPC_WDM_SERIAL_GUIDS_EMIT_
#undef KDPC_WDM_SERIAL_GUIDS_EMIT_
/* A COM port (the interface a serial port driver registers for its PDO) */
DEFINE_GUID(GUID_DEVINTERFACE_COMPORT, 0x86E0D1E0L, 0x8089, 0x11D0, 0x9C, 0xE4, 0x08, 0x00, 0x3E,
            0x30, 0x1F, 0x73);
/* A serial enumerator (serenum) bus */
DEFINE_GUID(GUID_DEVINTERFACE_SERENUM_BUS_ENUMERATOR, 0x4D36E978L, 0xE325, 0x11CE, 0xBF, 0xC1, 0x08,
            0x00, 0x2B, 0xE1, 0x03, 0x18);
#endif

/* The older names of the same GUIDs */
#ifndef GUID_CLASS_COMPORT
#define GUID_CLASS_COMPORT          GUID_DEVINTERFACE_COMPORT
#define GUID_SERENUM_BUS_ENUMERATOR GUID_DEVINTERFACE_SERENUM_BUS_ENUMERATOR
#endif
