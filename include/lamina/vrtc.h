/*
 * Virtual MC146818 CMOS RTC (kernel/vdev/vrtc.c).
 *
 * A pure model with no VM or vCPU in it, like vuart.h: the caller decodes
 * a guest IN or OUT at port 0x70 (index) or 0x71 (data) to an offset 0 or
 * 1, holds the VM's device lock around every call, and passes the time as
 * @now in ticks of a clock of its choosing that runs at @hz ticks per
 * second, told once at vrtc_init() with the wall-clock time at that @now.
 * @now must not go backwards; if it does, the clock stands still until it
 * catches up.
 *
 * The clock is that base time plus whole seconds elapsed. It updates
 * atomically between two accesses, so register A's UIP bit always reads 0
 * and a guest never has to wait for an update to end.
 *
 * Registers (index bit 7, the NMI mask on a PC, is ignored):
 *  0x00-0x09  time and alarm. Seconds, minutes, hours, day of week (1 is
 *             Sunday), day, month, year (two digits) are the clock; the
 *             alarms (0x01, 0x03, 0x05) are plain storage. BCD unless
 *             register B has RTC_DM_BINARY; 12-hour (bit 7 PM) unless it
 *             has RTC_24H.
 *  0x0a (A)   divider and rate: stored, no effect. 0x26 at reset.
 *  0x0b (B)   stored. 0x02 at reset (BCD, 24-hour). While RTC_SET is set
 *             the clock stops: reads see the time when it was set, and
 *             writes to the time registers are only stored; clearing it
 *             starts the clock from those registers at that @now. Outside
 *             RTC_SET a write to a time register sets the clock at once.
 *             Interrupt enables are stored; no interrupt ever fires.
 *  0x0c (C)   interrupt flags: always 0. 0x0d (D): always RTC_VRT.
 *  0x32       century, in the format of the other time registers.
 *  0x0e-0x7f  the rest: 114 bytes (0x32 aside) of CMOS RAM, 0 at reset.
 *
 * Setting the clock: the stored time registers are read in the format
 * register B had before the write that ends RTC_SET (or before the time
 * register write). Out-of-range fields are clamped (seconds and minutes
 * to 59, hours to 23, day to 1-31, month to 1-12); a day past the end of
 * its month runs on into the next; the year is clamped to 1970-9999; the
 * day of week written is ignored (it follows from the date). Leap years
 * follow the Gregorian rule.
 */
#ifndef LAMINA_VRTC_H
#define LAMINA_VRTC_H

#include <lamina/types.h>

#define VRTC_PORT_INDEX 0
#define VRTC_PORT_DATA 1

#define VRTC_REGS 128
#define VRTC_INDEX_MASK 0x7f /* bit 7 of the index is the NMI mask */

/* Register indices (names as in Linux mc146818rtc.h) */
#define RTC_SECONDS 0x00
#define RTC_SECONDS_ALARM 0x01
#define RTC_MINUTES 0x02
#define RTC_MINUTES_ALARM 0x03
#define RTC_HOURS 0x04
#define RTC_HOURS_ALARM 0x05
#define RTC_DAY_OF_WEEK 0x06
#define RTC_DAY_OF_MONTH 0x07
#define RTC_MONTH 0x08
#define RTC_YEAR 0x09
#define RTC_REG_A 0x0a
#define RTC_REG_B 0x0b
#define RTC_REG_C 0x0c
#define RTC_REG_D 0x0d
#define RTC_CENTURY 0x32 /* not the chip's: the PC's, named in the FADT */

#define RTC_UIP 0x80       /* A: update in progress (never set here) */
#define RTC_SET 0x80       /* B: stop the clock to set it */
#define RTC_DM_BINARY 0x04 /* B: binary rather than BCD */
#define RTC_24H 0x02       /* B: 24-hour rather than 12-hour */
#define RTC_VRT 0x80       /* D: valid RAM and time */
#define RTC_PM 0x80        /* hours in 12-hour mode */

#define VRTC_REG_A_RESET 0x26 /* 32.768 kHz time base, 1024 Hz rate */
#define VRTC_REG_B_RESET RTC_24H

/* 2026-01-01 00:00:00 UTC, for a caller that knows no better. */
#define VRTC_EPOCH_DEFAULT 1767225600ull

struct vrtc {
	u8 index;          /* 0-0x7f */
	u8 regs[VRTC_REGS]; /* RAM, A, B; the time registers while RTC_SET */
	u64 base;          /* seconds since 1970-01-01 UTC at @base_now */
	u64 base_now;      /* caller clock when the clock was last set */
	u64 hz;            /* caller clock ticks per second, at least 1 */
};

/*
 * Reset state at @now, the clock set to @epoch seconds since 1970-01-01
 * 00:00:00 UTC (VRTC_EPOCH_DEFAULT when unknown); the caller's clock runs
 * at @hz (0 is taken as 1).
 */
void vrtc_init(struct vrtc *r, u64 epoch, u64 hz, u64 now);

/* A guest IN from @port (VRTC_PORT_DATA; the index port and others read
 * 0xff). */
u8 vrtc_read(struct vrtc *r, unsigned int port, u64 now);

/* A guest OUT to @port (VRTC_PORT_INDEX or _DATA; others are ignored). */
void vrtc_write(struct vrtc *r, unsigned int port, u8 val, u64 now);

/* The clock at @now, in seconds since 1970-01-01 00:00:00 UTC; while
 * RTC_SET is set, the time the registers held when it was set. */
u64 vrtc_time(const struct vrtc *r, u64 now);

#endif
