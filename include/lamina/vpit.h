/*
 * Virtual 8254 PIT and the PC's port 0x61 (kernel/vdev/vpit.c).
 *
 * A pure model with no VM or vCPU in it, like vuart.h: the caller decodes
 * a guest IN or OUT at ports 0x40-0x43 to an offset 0-3 (or at 0x61),
 * holds the VM's device lock around every call, and passes the time as
 * @now in ticks of a clock of its choosing (the TSC, say) that runs at @hz
 * ticks per second, told once at vpit_init(). The counters count at
 * VPIT_FREQ; the model turns @now into PIT ticks exactly (floor of
 * elapsed * VPIT_FREQ / hz, without 128-bit arithmetic), so nothing drifts
 * or overflows over any uptime. @now must not go backwards; if it does,
 * the counters stand still until it catches up.
 *
 * The model delivers no interrupts: nobody wires IRQ 0. vpit_out() shows
 * any channel's OUT pin for a caller that does one day.
 *
 * What it does not model (no driver in use depends on it):
 *  - BCD counting: the BCD bit of a control word is stored (the read-back
 *    status shows it) but counting is always binary.
 *  - Load delay: a count takes effect when its last byte is written, not
 *    at the next CLK edge, and a new count in modes 2 and 3 restarts the
 *    period at once rather than at the end of the current one. In mode 0
 *    the counter keeps counting while only the low byte of a lo/hi count
 *    has been written.
 *  - Modes 1 and 5 (hardware-triggered) behave as modes 0 and 4, except
 *    that a rising gate restarts their count; modes 6 and 7 are 2 and 3,
 *    as on the chip. A low gate pauses counting in every mode (and holds
 *    OUT high in modes 2 and 3); a rising gate restarts modes 1, 2, 3, 5.
 *  - Mode 3 with an odd count: the counter steps by two from the count
 *    and OUT is high for (count + 1) / 2 ticks of each period, low for the
 *    rest; the chip's odd-count sequence differs by one tick.
 *  - A mode 2 or 3 count of 1 (illegal on the chip) gives OUT stuck low
 *    (mode 2) or high (mode 3).
 *  - Port 0x61 bit 4 (refresh) toggles on every read rather than every
 *    15 us: delay loops that wait for it to change end at once. Bits 7:6
 *    (parity and channel check) always read 0.
 *
 * Power-on state (as QEMU and a BIOS leave it): every channel in mode 3,
 * lo/hi access, count 0x10000 and counting; the gate of channel 2 (port
 * 0x61 bit 0) low; port 0x61 0.
 */
#ifndef LAMINA_VPIT_H
#define LAMINA_VPIT_H

#include <lamina/types.h>

#define VPIT_FREQ 1193182u /* counter ticks per second */
#define VPIT_CHANNELS 3
/* Largest clock rate accepted; a higher @hz is taken as this. 8.8 THz. */
#define VPIT_HZ_MAX (1ull << 43)

/* Port offsets from 0x40 */
#define VPIT_PORT_CH0 0
#define VPIT_PORT_CH1 1
#define VPIT_PORT_CH2 2
#define VPIT_PORT_CTRL 3 /* write-only: reads 0xff */

/* Control word fields (port 0x43) */
#define VPIT_CW_SC_SHIFT 6     /* channel select; 3: read-back command */
#define VPIT_CW_RW_SHIFT 4     /* access: 0 latch, 1 lo, 2 hi, 3 lo then hi */
#define VPIT_CW_MODE_SHIFT 1
#define VPIT_CW_BCD 0x01
#define VPIT_RW_LATCH 0
#define VPIT_RW_LO 1
#define VPIT_RW_HI 2
#define VPIT_RW_WORD 3
/* Read-back command (0xc0-0xff): bits 3:1 select channels 2, 1, 0. */
#define VPIT_RB_NO_COUNT 0x20  /* clear: latch the count */
#define VPIT_RB_NO_STATUS 0x10 /* clear: latch the status */
/* Read-back status byte: OUT, null count, then control word bits 5:0. */
#define VPIT_ST_OUT 0x80
#define VPIT_ST_NULL 0x40 /* a control word came and no count since */

/* Port 0x61: NMI status and control */
#define VPIT_61_GATE2 0x01   /* gate of channel 2 */
#define VPIT_61_SPKR 0x02    /* speaker data enable: stored only */
#define VPIT_61_RW 0x0f      /* bits 3:0 read back as written */
#define VPIT_61_REFRESH 0x10 /* toggles on every read */
#define VPIT_61_OUT2 0x20    /* channel 2 OUT */

struct vpit_channel {
	u32 count;     /* reload value, 1-0x10000 (a written 0 is 0x10000) */
	u64 ticks;     /* PIT ticks counted since the count was loaded... */
	u64 stamp;     /* ...as of this PIT time (ticks since vpit_init) */
	u8 ctrl;       /* control word bits 5:0: access, mode, BCD */
	u8 write_lo;   /* low byte of a lo/hi count being written */
	bool write_hi; /* write flip-flop: next count byte is the high one */
	bool read_hi;  /* read flip-flop: next live read is the high byte */
	u16 latch;     /* latched count... */
	u8 latch_rw;   /* ...bytes still to read: 0 none, VPIT_RW_LO/HI/WORD */
	u8 status;     /* latched read-back status... */
	bool status_latched; /* ...read before any count byte */
	bool loaded;   /* a count was written since the control word */
	bool gate;     /* always true for channels 0 and 1 */
};

struct vpit {
	struct vpit_channel ch[VPIT_CHANNELS];
	u64 hz;        /* caller clock ticks per second, 1-VPIT_HZ_MAX */
	u64 base;      /* caller clock at vpit_init: PIT time 0 */
	u8 port61;     /* bits 3:0 as written */
	bool refresh;  /* port 0x61 bit 4 */
};

/* Power-on state at @now; the caller's clock runs at @hz (0 is taken as
 * 1, above VPIT_HZ_MAX as VPIT_HZ_MAX). */
void vpit_init(struct vpit *p, u64 hz, u64 now);

/*
 * A guest IN from port offset @port (0-3; others read 0xff). Channels give
 * a pending read-back status first, then a latched count, else the live
 * count; both follow the channel's access mode, lo/hi toggling the read
 * flip-flop (a latched count always starts at its low byte).
 */
u8 vpit_read(struct vpit *p, unsigned int port, u64 now);

/* A guest OUT to port offset @port (0-3; others are ignored). */
void vpit_write(struct vpit *p, unsigned int port, u8 val, u64 now);

/* A guest IN and OUT at port 0x61. */
u8 vpit_port61_read(struct vpit *p, u64 now);
void vpit_port61_write(struct vpit *p, u8 val, u64 now);

/* Channel @ch's OUT pin at @now (false for @ch >= VPIT_CHANNELS). */
bool vpit_out(const struct vpit *p, unsigned int ch, u64 now);

#endif
