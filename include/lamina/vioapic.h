/*
 * Virtual I/O APIC (82093AA register model): kernel/vdev/vioapic.c.
 *
 * A pure model like vuart.h and vlapic.h: the caller decodes a guest
 * access to the IOAPIC's MMIO page (IOREGSEL at 0x00, IOWIN at 0x10),
 * holds the VM's device lock, and delivers the messages the model hands
 * back to its own VM's local APICs (vlapic_match_dest()).
 */
#ifndef LAMINA_VIOAPIC_H
#define LAMINA_VIOAPIC_H

#include <lamina/types.h>

#define VIOAPIC_BASE_DEFAULT 0xfec00000ull
#define VIOAPIC_PINS 24
#define VIOAPIC_VERSION 0x11

#define IOAPIC_REGSEL 0x00
#define IOAPIC_WIN 0x10
#define IOAPIC_EOIR 0x40   /* version 0x20 only: not offered */

/* Indirect registers (IOREGSEL values) */
#define IOAPIC_REG_ID 0x00
#define IOAPIC_REG_VER 0x01 /* max redirection entry in bits 23:16 */
#define IOAPIC_REG_ARB 0x02
#define IOAPIC_REG_REDTBL 0x10 /* 0x10 + 2 * pin: low, then high half */

/* Redirection entry bits */
#define IOAPIC_RTE_VECTOR 0xffull
#define IOAPIC_RTE_DM_SHIFT 8          /* delivery mode, bits 10:8 */
#define IOAPIC_RTE_LOGICAL (1ull << 11)
#define IOAPIC_RTE_PENDING (1ull << 12) /* delivery status (read only) */
#define IOAPIC_RTE_ACTIVE_LOW (1ull << 13)
#define IOAPIC_RTE_REMOTE_IRR (1ull << 14) /* read only */
#define IOAPIC_RTE_LEVEL (1ull << 15)
#define IOAPIC_RTE_MASKED (1ull << 16)
#define IOAPIC_RTE_DEST_SHIFT 56

/* One interrupt message for the local APICs (like an ICR write). */
struct vioapic_msg {
	u8 vector;
	u8 mode;       /* enum vlapic_dm: fixed, lowest, NMI, INIT, ExtINT(7) */
	bool logical;
	bool level;    /* level-triggered: the target sets TMR, EOI comes back */
	u32 dest;      /* bits 63:56 */
};

struct vioapic {
	u32 id;            /* IOAPIC ID, 0-15: the ID register's bits 27:24 */
	u32 regsel;
	u64 rte[VIOAPIC_PINS];
	u32 lines;         /* bit N: pin N's input is asserted (after polarity) */
	u64 delivered;     /* messages handed out */
};

/* All pins masked, edge, active high; @id the IOAPIC ID. */
void vioapic_reset(struct vioapic *io, u32 id);

/* MMIO: 4-byte accesses at IOREGSEL (0x00) and IOWIN (0x10). Returns 0,
 * or -HV_EINVAL for another offset or size (the caller decides what the
 * guest then sees). A window access to a missing register reads 0 and
 * ignores writes. Writing a redirection entry may unmask a pin whose
 * level-triggered line is asserted: then *@msg is filled and 1 returned. */
int vioapic_read(struct vioapic *io, u32 offset, unsigned int size, u32 *val);
int vioapic_write(struct vioapic *io, u32 offset, unsigned int size, u32 val,
		  struct vioapic_msg *msg);

/*
 * Pin @pin's input goes to @asserted (true: active, whatever the
 * polarity bit says; polarity only matters to a real wire). Returns true
 * and fills *@msg when an interrupt must be delivered: an edge pin on a
 * rising edge, a level pin while asserted with remote IRR clear (which it
 * then sets). A masked pin delivers nothing (an edge while masked is lost
 * as on hardware; a level pin delivers once it is unmasked, see write).
 */
bool vioapic_set_line(struct vioapic *io, unsigned int pin, bool asserted,
		      struct vioapic_msg *msg);
/*
 * A local APIC's EOI of level-triggered @vector: clears remote IRR of
 * each level pin with that vector; a pin still asserted delivers again:
 * returns the number of messages written to @msgs (at most @max).
 */
unsigned int vioapic_eoi(struct vioapic *io, u8 vector,
			 struct vioapic_msg *msgs, unsigned int max);

#endif
