/*
 * Virtual local APIC: the xAPIC register page each vCPU sees (Intel SDM
 * vol. 3, "Advanced Programmable Interrupt Controller"). Linux, and every
 * SMP-capable guest, programs its timer, sends its IPIs and masks
 * interrupts by priority here.
 *
 * What a guest can tell from hardware only if it looks hard:
 *  - Delivery is instant: the delivery status bits (ICR, LVTs) always read
 *    idle, and there are no spurious interrupts.
 *  - The APIC ID is read only, as the SDM allows: the caller routes by it.
 *  - TSC-deadline mode is not offered: LVTT bit 18 is not writable, so
 *    mode 2 reads back as one-shot (CPUID must not advertise it).
 *  - Fixed interrupts that arrive while software-disabled are dropped (as
 *    in KVM); those already in IRR wait there for the APIC to be enabled.
 *  - Illegal vectors are caught when an interrupt is sent or fires, as on
 *    hardware, not when an LVT is written; an illegal ICR is not sent.
 *
 * No locking here: the caller holds its vCPU's interrupt lock.
 */
#include <lamina/vlapic.h>
#include <lamina/errno.h>
#include <lamina/lib.h>

#define LVR_VALUE 0x00060014u     /* version 0x14, max LVT entry 6 (CMCI) */
#define DFR_RESERVED 0x0fffffffu  /* read as ones */
#define DFR_FLAT 0xfu             /* model, bits 31:28 */
#define DFR_CLUSTER 0x0u
#define LDR_MASK 0xff000000u
#define SVR_MASK 0x3ffu           /* vector, enable, focus check disable */
#define ICR_LOW_MASK 0x000ccfffu  /* no delivery status, no reserved bits */
#define ICR_HIGH_MASK 0xff000000u
#define TDCR_MASK 0xbu
#define TPR_MASK 0xffu
#define VEC_MASK 0xffu
#define FIRST_LEGAL_VECTOR 16

/* ESR bits (SDM "Error Handling") */
#define ESR_SEND_ILLEGAL (1u << 5)
#define ESR_RECV_ILLEGAL (1u << 6)

#define TIMER_NONE (~0ull)
#define TIMER_LIMIT (~0ull - 1) /* the latest tick a deadline can name */

/* Writable bits of each LVT (SDM figure "Local Vector Table"). */
static const u32 lvt_writable[VLAPIC_NR_LVT] = {
	[VLAPIC_LVT_TIMER] = 0x300ff,   /* vector, mask, periodic */
	[VLAPIC_LVT_THERMAL] = 0x107ff, /* vector, delivery mode, mask */
	[VLAPIC_LVT_PERF] = 0x107ff,
	[VLAPIC_LVT_LINT0] = 0x1a7ff,   /* + polarity, trigger mode */
	[VLAPIC_LVT_LINT1] = 0x1a7ff,
	[VLAPIC_LVT_ERROR] = 0x100ff,   /* vector, mask */
	[VLAPIC_LVT_CMCI] = 0x107ff,
};

/* ---------------------------------------------------------- vector sets */

static bool vec_test(const u32 *set, unsigned int v)
{
	return set[v >> 5] & (1u << (v & 31));
}

static void vec_assign(u32 *set, unsigned int v, bool on)
{
	set[v >> 5] = (set[v >> 5] & ~(1u << (v & 31))) | ((u32)on << (v & 31));
}

/* The highest vector in @set, or -1. */
static int vec_highest(const u32 *set)
{
	int i;

	for (i = 7; i >= 0; i--)
		if (set[i])
			return i * 32 + 31 - __builtin_clz(set[i]);
	return -1;
}

/* Priority class (bits 7:4) of the highest vector in @set; 0 if none. */
static u32 highest_class(const u32 *set)
{
	int v = vec_highest(set);

	return v < 0 ? 0 : (u32)v & 0xf0;
}

/* ------------------------------------------------------------ priority */

static bool sw_enabled(const struct vlapic *l)
{
	return l->svr & APIC_SVR_ENABLED;
}

/* PPR: the TPR, unless the highest in-service class is above it. */
static u32 ppr(const struct vlapic *l)
{
	u32 isr_class = highest_class(l->isr);

	return (l->tpr & 0xf0) >= isr_class ? l->tpr : isr_class;
}

/* APR, for lowest-priority arbitration (SDM, P6 family rule). */
static u32 apr(const struct vlapic *l)
{
	u32 tpr = l->tpr & 0xf0, irr = highest_class(l->irr);
	u32 isr = highest_class(l->isr);

	if (tpr >= irr && tpr > isr)
		return l->tpr;
	return MAX(tpr, MAX(irr, isr));
}

int vlapic_pending(const struct vlapic *l)
{
	int v = vec_highest(l->irr);

	if (!sw_enabled(l) || v < 0 || ((u32)v & 0xf0) <= (ppr(l) & 0xf0))
		return -1;
	return v;
}

/* Into IRR; TMR tells a later EOI whether the IOAPIC must hear of it. */
static void accept(struct vlapic *l, u8 vector, bool level_trig)
{
	vec_assign(l->irr, vector, true);
	vec_assign(l->tmr, vector, level_trig);
}

/*
 * Log @bit for the next ESR write and raise the error LVT. An illegal
 * vector there is logged too, without a second round. True when an
 * interrupt was raised.
 */
static bool raise_error(struct vlapic *l, u32 bit)
{
	u32 lvt = l->lvt[VLAPIC_LVT_ERROR];
	u8 v = lvt & VEC_MASK;

	l->esr_pending |= bit;
	if (lvt & APIC_LVT_MASKED)
		return false;
	if (v < FIRST_LEGAL_VECTOR) {
		l->esr_pending |= ESR_RECV_ILLEGAL;
		return false;
	}
	accept(l, v, false);
	return true;
}

void vlapic_set_irq(struct vlapic *l, u8 vector, bool level_trig)
{
	if (vector < FIRST_LEGAL_VECTOR) {
		raise_error(l, ESR_RECV_ILLEGAL);
		return;
	}
	if (sw_enabled(l))
		accept(l, vector, level_trig);
}

void vlapic_ack(struct vlapic *l, u8 vector)
{
	/* Only what vlapic_pending() offered: never an empty ISR entry. */
	if (!vec_test(l->irr, vector))
		return;
	vec_assign(l->irr, vector, false);
	vec_assign(l->isr, vector, true);
}

/* --------------------------------------------------------------- timer */

static bool timer_periodic(const struct vlapic *l)
{
	return l->lvt[VLAPIC_LVT_TIMER] & APIC_LVT_TIMER_PERIODIC;
}

/* TDCR bits 3,1,0: 0b111 divides by 1, any other n by 2^(n+1). */
static u32 timer_divide(const struct vlapic *l)
{
	u32 n = (l->timer_dcr & 3) | ((l->timer_dcr >> 1) & 4);

	return 1u << ((n + 1) & 7);
}

static u64 timer_period(const struct vlapic *l)
{
	return (u64)l->timer_initial * timer_divide(l);
}

/* @a + @b, stopping at TIMER_LIMIT so that no deadline wraps to the past. */
static u64 add_sat(u64 a, u64 b)
{
	return a > TIMER_LIMIT - b ? TIMER_LIMIT : a + b;
}

/* TMCCT: initial - elapsed / divide, reloaded each period; 0 once stopped. */
static u32 timer_current(const struct vlapic *l, u64 now)
{
	u64 div = timer_divide(l), period = timer_period(l), left, count;

	if (l->timer_deadline == TIMER_NONE || !period)
		return 0;
	if (now < l->timer_deadline)
		left = l->timer_deadline - now;
	else if (timer_periodic(l))
		left = period - (now - l->timer_deadline) % period;
	else
		return 0; /* one-shot, expired: vlapic_timer_expire is due */
	count = left / div + (left % div != 0);
	return (u32)MIN(count, (u64)l->timer_initial);
}

/* Writing TMICT (re)starts the count; writing 0 stops it. */
static void write_tmict(struct vlapic *l, u32 val, u64 now)
{
	l->timer_initial = val;
	l->timer_start = now;
	l->timer_deadline = val ? add_sat(now, timer_period(l)) : TIMER_NONE;
}

/* A new divider mid-count: the count left goes on at the new rate. */
static void write_tdcr(struct vlapic *l, u32 val, u64 now)
{
	u32 count = timer_current(l, now);

	l->timer_dcr = val & TDCR_MASK;
	if (!count)
		return; /* stopped */
	l->timer_start = now;
	l->timer_deadline = add_sat(now, (u64)count * timer_divide(l));
}

u64 vlapic_timer_deadline(const struct vlapic *l)
{
	return l->timer_deadline;
}

static bool fire_timer(struct vlapic *l)
{
	u32 lvt = l->lvt[VLAPIC_LVT_TIMER];
	u8 v = lvt & VEC_MASK;

	if (lvt & APIC_LVT_MASKED)
		return false;
	if (v < FIRST_LEGAL_VECTOR)
		return raise_error(l, ESR_RECV_ILLEGAL);
	accept(l, v, false);
	l->timer_fired++;
	return true;
}

bool vlapic_timer_expire(struct vlapic *l, u64 now)
{
	u64 period = timer_period(l), late, next = TIMER_NONE;

	if (l->timer_deadline == TIMER_NONE || now < l->timer_deadline)
		return false;
	if (timer_periodic(l) && period) {
		/* Whole missed periods collapse into this one interrupt. */
		late = now - l->timer_deadline;
		late -= late % period;
		l->timer_start = add_sat(l->timer_deadline, late);
		next = add_sat(l->timer_start, period);
		if (next <= now)
			next = TIMER_NONE; /* saturated: the end of time */
	}
	l->timer_deadline = next;
	return fire_timer(l);
}

/* ----------------------------------------------------------- registers */

static bool valid_offset(u32 offset)
{
	return offset < VLAPIC_PAGE && !(offset & 0xf);
}

/* The LVT at @offset, or -1. */
static int lvt_index(u32 offset)
{
	if (offset == APIC_LVT_CMCI)
		return VLAPIC_LVT_CMCI;
	if (offset >= APIC_LVTT && offset <= APIC_LVTERR)
		return (int)(offset - APIC_LVTT) >> 4;
	return -1;
}

/* ISR, TMR or IRR word at @offset, or NULL. */
static const u32 *vec_reg(const struct vlapic *l, u32 offset)
{
	if (offset >= APIC_ISR && offset < APIC_ISR + 0x80)
		return &l->isr[(offset - APIC_ISR) >> 4];
	if (offset >= APIC_TMR && offset < APIC_TMR + 0x80)
		return &l->tmr[(offset - APIC_TMR) >> 4];
	if (offset >= APIC_IRR && offset < APIC_IRR + 0x80)
		return &l->irr[(offset - APIC_IRR) >> 4];
	return NULL;
}

static u32 read_reg(const struct vlapic *l, u32 offset, u64 now)
{
	int lvt = lvt_index(offset);
	const u32 *vec = vec_reg(l, offset);

	if (lvt >= 0)
		return l->lvt[lvt];
	if (vec)
		return *vec;
	switch (offset) {
	case APIC_ID: return (l->id & 0xff) << 24;
	case APIC_LVR: return LVR_VALUE;
	case APIC_TPR: return l->tpr;
	case APIC_APR: return apr(l);
	case APIC_PPR: return ppr(l);
	case APIC_LDR: return l->ldr;
	case APIC_DFR: return l->dfr;
	case APIC_SVR: return l->svr;
	case APIC_ESR: return l->esr;
	case APIC_ICR: return l->icr_low;
	case APIC_ICR2: return l->icr_high;
	case APIC_TMICT: return l->timer_initial;
	case APIC_TMCCT: return timer_current(l, now);
	case APIC_TDCR: return l->timer_dcr;
	default: return 0; /* EOI, RRD, SELF_IPI, reserved */
	}
}

int vlapic_read(struct vlapic *l, u32 offset, u64 now, u32 *val)
{
	if (!valid_offset(offset))
		return -HV_EINVAL;
	*val = read_reg(l, offset, now);
	return 0;
}

/* A software-disabled APIC keeps every LVT masked, whatever is written. */
static void write_lvt(struct vlapic *l, int idx, u32 val)
{
	val &= lvt_writable[idx];
	if (!sw_enabled(l))
		val |= APIC_LVT_MASKED;
	l->lvt[idx] = val;
}

static void write_svr(struct vlapic *l, u32 val)
{
	int i;

	l->svr = val & SVR_MASK;
	if (!sw_enabled(l))
		for (i = 0; i < VLAPIC_NR_LVT; i++)
			l->lvt[i] |= APIC_LVT_MASKED;
}

/* EOI ends the highest in-service vector, whatever value is written. */
static int write_eoi(struct vlapic *l, u8 *eoi_vector)
{
	int v = vec_highest(l->isr);

	if (v < 0)
		return 0;
	vec_assign(l->isr, v, false);
	*eoi_vector = v;
	return vec_test(l->tmr, v) ? VLAPIC_W_EOI : 0;
}

/* Reserved modes (3, 7) and illegal fixed vectors send nothing. */
static int write_icr(struct vlapic *l, u32 val, struct vlapic_ipi *ipi)
{
	u8 mode = (val >> 8) & 7, vector = val & VEC_MASK;

	l->icr_low = val & ICR_LOW_MASK;
	if (mode == 3 || mode == 7)
		return 0;
	if ((mode == VLAPIC_DM_FIXED || mode == VLAPIC_DM_LOWEST) &&
	    vector < FIRST_LEGAL_VECTOR) {
		raise_error(l, ESR_SEND_ILLEGAL);
		return 0;
	}
	*ipi = (struct vlapic_ipi){
		.vector = vector,
		.mode = mode,
		.shorthand = (val >> 18) & 3,
		.logical = val & (1u << 11),
		.level = val & (1u << 14),
		.trigger_level = val & (1u << 15),
		.dest = l->icr_high >> 24,
	};
	return VLAPIC_W_IPI;
}

/* SELF_IPI: a fixed, edge IPI to self; the illegal vector is received. */
static int write_self_ipi(struct vlapic *l, u32 val, struct vlapic_ipi *ipi)
{
	u8 vector = val & VEC_MASK;

	if (vector < FIRST_LEGAL_VECTOR) {
		raise_error(l, ESR_RECV_ILLEGAL);
		return 0;
	}
	*ipi = (struct vlapic_ipi){
		.vector = vector,
		.mode = VLAPIC_DM_FIXED,
		.shorthand = VLAPIC_DEST_SELF,
		.level = true,
	};
	return VLAPIC_W_IPI;
}

static int write_reg(struct vlapic *l, u32 offset, u32 val, u64 now,
		     struct vlapic_ipi *ipi, u8 *eoi_vector)
{
	int lvt = lvt_index(offset);

	if (lvt >= 0) {
		write_lvt(l, lvt, val);
		return 0;
	}
	switch (offset) {
	case APIC_TPR: l->tpr = val & TPR_MASK; return 0;
	case APIC_EOI: return write_eoi(l, eoi_vector);
	case APIC_LDR: l->ldr = val & LDR_MASK; return 0;
	case APIC_DFR: l->dfr = val | DFR_RESERVED; return 0;
	case APIC_SVR: write_svr(l, val); return 0;
	case APIC_ICR: return write_icr(l, val, ipi);
	case APIC_ICR2: l->icr_high = val & ICR_HIGH_MASK; return 0;
	case APIC_TMICT: write_tmict(l, val, now); return 0;
	case APIC_TDCR: write_tdcr(l, val, now); return 0;
	case APIC_SELF_IPI: return write_self_ipi(l, val, ipi);
	case APIC_ESR:
		/* A write shows the errors logged since the previous one. */
		l->esr = l->esr_pending;
		l->esr_pending = 0;
		return 0;
	default: return 0; /* read-only or reserved: ignored */
	}
}

int vlapic_write(struct vlapic *l, u32 offset, u32 val, u64 now,
		 struct vlapic_ipi *ipi, u8 *eoi_vector)
{
	u64 deadline = l->timer_deadline;
	int before, after, ret;

	if (!valid_offset(offset))
		return -HV_EINVAL;
	before = vlapic_pending(l);
	/*
	 * An expiry the caller has not collected yet happened before this
	 * write: a TMICT or TDCR write must not swallow it.
	 */
	vlapic_timer_expire(l, now);
	ret = write_reg(l, offset, val, now, ipi, eoi_vector);
	if (l->timer_deadline != deadline)
		ret |= VLAPIC_W_TIMER;
	/* TPR lowered, EOI, SVR on, a timer or error interrupt: look. */
	after = vlapic_pending(l);
	if (after >= 0 && after != before)
		ret |= VLAPIC_W_IRQ;
	return ret;
}

/* ---------------------------------------------------------- reset, dest */

void vlapic_reset(struct vlapic *l, u32 id)
{
	int i;

	memset(l, 0, sizeof(*l));
	l->id = id;
	l->dfr = ~0u;
	l->svr = 0xff;
	for (i = 0; i < VLAPIC_NR_LVT; i++)
		l->lvt[i] = APIC_LVT_MASKED;
	l->timer_deadline = TIMER_NONE;
}

static bool match_logical(const struct vlapic *l, u8 dest)
{
	u8 ldr = l->ldr >> 24;

	if (dest == 0xff)
		return true; /* broadcast in either model (as KVM) */
	switch (l->dfr >> 28) {
	case DFR_FLAT:
		return ldr & dest;
	case DFR_CLUSTER:
		return (ldr >> 4) == (dest >> 4) && (ldr & dest & 0xf);
	default:
		return false;
	}
}

bool vlapic_match_dest(const struct vlapic *l, const struct vlapic_ipi *ipi,
		       u32 src_id)
{
	u8 dest = ipi->dest & 0xff;

	switch (ipi->shorthand) {
	case VLAPIC_DEST_SELF:
		return l->id == src_id;
	case VLAPIC_DEST_ALL:
		return true;
	case VLAPIC_DEST_ALL_BUT_SELF:
		return l->id != src_id;
	default:
		break;
	}
	if (ipi->logical)
		return match_logical(l, dest);
	return dest == 0xff || dest == (l->id & 0xff);
}
