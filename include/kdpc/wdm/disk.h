/* SPDX-License-Identifier: MIT */
/*
 * kdpc/wdm/disk.h - the part of <ntdddisk.h> a disk driver answers first: the
 * geometry and length controls (IOCTL_DISK_GET_DRIVE_GEOMETRY, _EX,
 * IOCTL_DISK_GET_LENGTH_INFO), IOCTL_DISK_VERIFY and IOCTL_DISK_CHECK_VERIFY,
 * the structures they carry and the MEDIA_TYPE values. Codes and layouts are
 * the ones Microsoft's ntdddisk pages document (docs/facts/io.md
 * section 11); kdpc adds no routine here: these are the types a disk driver and
 * the program that opens it share. The partition, layout, SMART and cache
 * controls are not declared (docs/wdm-absent.in).
 */
#ifndef KDPC_WDM_DISK_H
#define KDPC_WDM_DISK_H

#include <kdpc/wdm/types.h>
#include <kdpc/wdm/devioctl.h>

KDPC_BEGIN_DECLS

/* ------------------------------------------------------------------ */
/* Control codes: device type FILE_DEVICE_DISK, buffered                */

/** The device type every IOCTL_DISK_* code carries. */
#define IOCTL_DISK_BASE FILE_DEVICE_DISK

/** Out: DISK_GEOMETRY (MBR-style media). Information = sizeof(DISK_GEOMETRY). */
#define IOCTL_DISK_GET_DRIVE_GEOMETRY                                                              \
    CTL_CODE(IOCTL_DISK_BASE, 0x0000, METHOD_BUFFERED, FILE_ANY_ACCESS)
/** In: VERIFY_INFORMATION, the extent to check; no output (Information = 0). */
#define IOCTL_DISK_VERIFY CTL_CODE(IOCTL_DISK_BASE, 0x0005, METHOD_BUFFERED, FILE_ANY_ACCESS)
/** Out: GET_LENGTH_INFORMATION, the disk's (or partition's) size in bytes. Read access. */
#define IOCTL_DISK_GET_LENGTH_INFO                                                                 \
    CTL_CODE(IOCTL_DISK_BASE, 0x0017, METHOD_BUFFERED, FILE_READ_ACCESS)
/** Out: DISK_GEOMETRY_EX, at least the geometry and the size (MBR and GPT media). */
#define IOCTL_DISK_GET_DRIVE_GEOMETRY_EX                                                           \
    CTL_CODE(IOCTL_DISK_BASE, 0x0028, METHOD_BUFFERED, FILE_ANY_ACCESS)
/** Has the media changed? (Replaced by IOCTL_STORAGE_CHECK_VERIFY; same meaning.) */
#define IOCTL_DISK_CHECK_VERIFY CTL_CODE(IOCTL_DISK_BASE, 0x0200, METHOD_BUFFERED, FILE_READ_ACCESS)

/* ------------------------------------------------------------------ */
/* Structures                                                          */

/** DISK_GEOMETRY.MediaType: floppy formats by size and sector size, other removable media,
 * fixed disks. */
typedef enum _MEDIA_TYPE {
    Unknown = 0,         /* format not known */
    F5_1Pt2_512 = 1,     /* 5.25", 1.2 MB, 512-byte sectors */
    F3_1Pt44_512 = 2,    /* 3.5", 1.44 MB */
    F3_2Pt88_512 = 3,    /* 3.5", 2.88 MB */
    F3_20Pt8_512 = 4,    /* 3.5", 20.8 MB */
    F3_720_512 = 5,      /* 3.5", 720 KB */
    F5_360_512 = 6,      /* 5.25", 360 KB */
    F5_320_512 = 7,      /* 5.25", 320 KB */
    F5_320_1024 = 8,     /* 5.25", 320 KB, 1024-byte sectors */
    F5_180_512 = 9,      /* 5.25", 180 KB */
    F5_160_512 = 10,     /* 5.25", 160 KB */
    RemovableMedia = 11, /* removable, not a floppy */
    FixedMedia = 12,     /* a fixed hard disk */
    F3_120M_512 = 13,    /* 3.5", 120 MB */
    F3_640_512 = 14,     /* 3.5", 640 KB */
    F5_640_512 = 15,     /* 5.25", 640 KB */
    F5_720_512 = 16,     /* 5.25", 720 KB */
    F3_1Pt2_512 = 17,    /* 3.5", 1.2 MB */
    F3_1Pt23_1024 = 18,  /* 3.5", 1.23 MB, 1024-byte sectors */
    F5_1Pt23_1024 = 19,  /* 5.25", 1.23 MB, 1024-byte sectors */
    F3_128Mb_512 = 20,   /* 3.5", 128 MB */
    F3_230Mb_512 = 21,   /* 3.5", 230 MB */
    F8_256_128 = 22,     /* 8", 256 KB, 128-byte sectors */
    F3_200Mb_512 = 23,   /* 3.5", 200 MB */
    F3_240M_512 = 24,    /* 3.5", 240 MB */
    F3_32M_512 = 25      /* 3.5", 32 MB */
} MEDIA_TYPE,
    *PMEDIA_TYPE;

/** IOCTL_DISK_GET_DRIVE_GEOMETRY: the media as cylinders x tracks x sectors x bytes
 * (24 bytes on x64). A disk without a CHS layout reports a made-up one; its exact size is
 * IOCTL_DISK_GET_LENGTH_INFO's. */
typedef struct _DISK_GEOMETRY {
    LARGE_INTEGER Cylinders;
    MEDIA_TYPE MediaType;
    ULONG TracksPerCylinder;
    ULONG SectorsPerTrack;
    ULONG BytesPerSector;
} DISK_GEOMETRY, *PDISK_GEOMETRY;

/** IOCTL_DISK_GET_DRIVE_GEOMETRY_EX: the geometry, the size in bytes, then (variable, not
 * declared here) partition and detection information starting at Data. */
typedef struct _DISK_GEOMETRY_EX {
    DISK_GEOMETRY Geometry;
    LARGE_INTEGER DiskSize;
    UCHAR Data[1];
} DISK_GEOMETRY_EX, *PDISK_GEOMETRY_EX;

/** IOCTL_DISK_GET_LENGTH_INFO: the length in bytes of the disk, partition or volume. */
typedef struct _GET_LENGTH_INFORMATION {
    LARGE_INTEGER Length;
} GET_LENGTH_INFORMATION, *PGET_LENGTH_INFORMATION;

/** IOCTL_DISK_VERIFY: the extent to verify, a byte offset and a length in bytes. */
typedef struct _VERIFY_INFORMATION {
    LARGE_INTEGER StartingOffset;
    ULONG Length;
} VERIFY_INFORMATION, *PVERIFY_INFORMATION;

KDPC_END_DECLS

#endif /* KDPC_WDM_DISK_H */
