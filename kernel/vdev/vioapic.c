/*
 * Virtual I/O APIC: an 82093AA (version 0x11, 24 pins) at the address
 * every PC guest expects, routing device interrupt lines to the local
 * APICs of its own VM.
 *
 * Delivery is instant, so the delivery status bit always reads idle. A
 * level-triggered pin sets remote IRR when it delivers and waits for the
 * local APIC's EOI broadcast (vioapic_eoi) before it delivers again.
 * Version 0x11 has no EOI register; Linux clears a stuck remote IRR by
 * switching the pin to edge and back, so going to edge clears it here too
 * (as in KVM and QEMU).
 *
 * No locking here: the caller holds the VM's device lock.
 */
#include <lamina/vioapic.h>
#include <lamina/errno.h>
#include <lamina/lib.h>

#define VER_VALUE (((VIOAPIC_PINS - 1u) << 16) | VIOAPIC_VERSION)
#define ID_SHIFT 24
#define ID_MASK 0xfu            /* the ID register's bits 27:24 */
#define REGSEL_MASK 0xffu
/* Bits 16:0 but delivery status and remote IRR; bits 55:17 are reserved. */
#define RTE_LOW_WRITABLE 0x1afffull
#define RTE_HIGH_WRITABLE 0xff000000ull

BUILD_BUG_ON(VIOAPIC_PINS > 32); /* one bit each in io->lines */
BUILD_BUG_ON(VER_VALUE != 0x00170011);

void vioapic_reset(struct vioapic *io, u32 id)
{
	unsigned int pin;

	memset(io, 0, sizeof(*io));
	io->id = id & ID_MASK;
	for (pin = 0; pin < VIOAPIC_PINS; pin++)
		io->rte[pin] = IOAPIC_RTE_MASKED;
}

static bool line_high(const struct vioapic *io, unsigned int pin)
{
	return io->lines & (1u << pin);
}

/* A level pin delivers while asserted, unmasked and not awaiting an EOI. */
static bool level_ready(const struct vioapic *io, unsigned int pin)
{
	u64 rte = io->rte[pin];

	return (rte & IOAPIC_RTE_LEVEL) && !(rte & IOAPIC_RTE_MASKED) &&
	       !(rte & IOAPIC_RTE_REMOTE_IRR) && line_high(io, pin);
}

/* Hand out pin @pin's message; a level pin then awaits the EOI. */
static void deliver(struct vioapic *io, unsigned int pin,
		    struct vioapic_msg *msg)
{
	u64 rte = io->rte[pin];

	*msg = (struct vioapic_msg){
		.vector = rte & IOAPIC_RTE_VECTOR,
		.mode = (rte >> IOAPIC_RTE_DM_SHIFT) & 7,
		.logical = rte & IOAPIC_RTE_LOGICAL,
		.level = rte & IOAPIC_RTE_LEVEL,
		.dest = rte >> IOAPIC_RTE_DEST_SHIFT,
	};
	if (rte & IOAPIC_RTE_LEVEL)
		io->rte[pin] |= IOAPIC_RTE_REMOTE_IRR;
	io->delivered++;
}

/* The pin whose redirection entry IOREGSEL @reg names, or -1. */
static int rte_pin(u32 reg)
{
	if (reg < IOAPIC_REG_REDTBL ||
	    reg >= IOAPIC_REG_REDTBL + 2 * VIOAPIC_PINS)
		return -1;
	return (int)(reg - IOAPIC_REG_REDTBL) / 2;
}

static u32 window_read(const struct vioapic *io)
{
	int pin = rte_pin(io->regsel);

	if (pin >= 0)
		return (u32)(io->rte[pin] >> (io->regsel & 1 ? 32 : 0));
	switch (io->regsel) {
	case IOAPIC_REG_ID:
	case IOAPIC_REG_ARB: /* the arbitration ID is the APIC ID on reset */
		return io->id << ID_SHIFT;
	case IOAPIC_REG_VER:
		return VER_VALUE;
	default:
		return 0;
	}
}

/* The low half: read-only bits kept; may deliver a level pin now ready. */
static int write_rte_low(struct vioapic *io, unsigned int pin, u32 val,
			 struct vioapic_msg *msg)
{
	u64 rte = (io->rte[pin] & ~RTE_LOW_WRITABLE) | (val & RTE_LOW_WRITABLE);

	if (!(rte & IOAPIC_RTE_LEVEL))
		rte &= ~IOAPIC_RTE_REMOTE_IRR;
	io->rte[pin] = rte;
	if (!level_ready(io, pin))
		return 0;
	deliver(io, pin, msg);
	return 1;
}

static int window_write(struct vioapic *io, u32 val, struct vioapic_msg *msg)
{
	int pin = rte_pin(io->regsel);
	u64 *rte;

	if (pin >= 0 && !(io->regsel & 1))
		return write_rte_low(io, pin, val, msg);
	if (pin >= 0) {
		rte = &io->rte[pin];
		*rte = (*rte & 0xffffffffull) |
		       (((u64)val << 32) & (RTE_HIGH_WRITABLE << 32));
		return 0;
	}
	if (io->regsel == IOAPIC_REG_ID)
		io->id = (val >> ID_SHIFT) & ID_MASK;
	/* VER and ARB are read only; other registers do not exist. */
	return 0;
}

int vioapic_read(struct vioapic *io, u32 offset, unsigned int size, u32 *val)
{
	if (size != 4)
		return -HV_EINVAL;
	switch (offset) {
	case IOAPIC_REGSEL:
		*val = io->regsel;
		return 0;
	case IOAPIC_WIN:
		*val = window_read(io);
		return 0;
	default:
		return -HV_EINVAL;
	}
}

int vioapic_write(struct vioapic *io, u32 offset, unsigned int size, u32 val,
		  struct vioapic_msg *msg)
{
	if (size != 4)
		return -HV_EINVAL;
	switch (offset) {
	case IOAPIC_REGSEL:
		io->regsel = val & REGSEL_MASK;
		return 0;
	case IOAPIC_WIN:
		return window_write(io, val, msg);
	default:
		return -HV_EINVAL;
	}
}

bool vioapic_set_line(struct vioapic *io, unsigned int pin, bool asserted,
		      struct vioapic_msg *msg)
{
	bool was;

	if (pin >= VIOAPIC_PINS)
		return false;
	was = line_high(io, pin);
	io->lines = (io->lines & ~(1u << pin)) | ((u32)asserted << pin);
	if (!asserted || (io->rte[pin] & IOAPIC_RTE_MASKED))
		return false; /* an edge while masked is lost */
	if (io->rte[pin] & IOAPIC_RTE_LEVEL) {
		if (!level_ready(io, pin))
			return false;
	} else if (was) {
		return false; /* edge: only the rising edge counts */
	}
	deliver(io, pin, msg);
	return true;
}

unsigned int vioapic_eoi(struct vioapic *io, u8 vector,
			 struct vioapic_msg *msgs, unsigned int max)
{
	unsigned int pin, n = 0;
	u64 *rte;

	for (pin = 0; pin < VIOAPIC_PINS; pin++) {
		rte = &io->rte[pin];
		if ((*rte & IOAPIC_RTE_VECTOR) != vector ||
		    !(*rte & IOAPIC_RTE_REMOTE_IRR))
			continue;
		*rte &= ~IOAPIC_RTE_REMOTE_IRR;
		/* Still asserted: the device wants service again. */
		if (n < max && level_ready(io, pin))
			deliver(io, pin, &msgs[n++]);
	}
	return n;
}
