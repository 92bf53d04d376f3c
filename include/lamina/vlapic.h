/*
 * Virtual local APIC (xAPIC register model): kernel/vdev/vlapic.c.
 *
 * A pure model with no VM or vCPU in it, like vuart.h. The caller decodes
 * a guest access to the APIC page into a register offset, holds whatever
 * lock guards the vCPU's interrupt state, and passes the time as @now in
 * APIC bus ticks (Lamina makes one tick one TSC cycle). The model never
 * delivers anything itself: an ICR write is handed back as a struct
 * vlapic_ipi for the caller to check and deliver to vCPUs of the same VM
 * only, which is where isolation is enforced.
 *
 * Registers are 32 bits at 16-byte aligned offsets (Intel SDM vol. 3
 * table 11-1); only 4-byte accesses at offset % 16 == 0 are valid.
 */
#ifndef LAMINA_VLAPIC_H
#define LAMINA_VLAPIC_H

#include <lamina/types.h>

#define VLAPIC_BASE_DEFAULT 0xfee00000ull
#define VLAPIC_PAGE 0x1000u

/* Register offsets */
#define APIC_ID 0x20
#define APIC_LVR 0x30     /* version: 0x14, max LVT entry in bits 23:16 */
#define APIC_TPR 0x80
#define APIC_APR 0x90
#define APIC_PPR 0xa0
#define APIC_EOI 0xb0
#define APIC_RRD 0xc0
#define APIC_LDR 0xd0
#define APIC_DFR 0xe0
#define APIC_SVR 0xf0
#define APIC_ISR 0x100    /* 8 registers, 0x100-0x170 */
#define APIC_TMR 0x180
#define APIC_IRR 0x200
#define APIC_ESR 0x280
#define APIC_LVT_CMCI 0x2f0
#define APIC_ICR 0x300    /* low half; writing it sends */
#define APIC_ICR2 0x310   /* high half: destination in bits 31:24 */
#define APIC_LVTT 0x320   /* timer */
#define APIC_LVTTHMR 0x330
#define APIC_LVTPC 0x340
#define APIC_LVT0 0x350   /* LINT0 */
#define APIC_LVT1 0x360   /* LINT1 */
#define APIC_LVTERR 0x370
#define APIC_TMICT 0x380  /* timer initial count */
#define APIC_TMCCT 0x390  /* timer current count (read only) */
#define APIC_TDCR 0x3e0   /* timer divide configuration */
#define APIC_SELF_IPI 0x3f0 /* x2APIC only */

#define APIC_SVR_ENABLED (1u << 8)
#define APIC_LVT_MASKED (1u << 16)
#define APIC_LVT_PENDING (1u << 12) /* delivery status */
#define APIC_LVT_TIMER_PERIODIC (1u << 17)
#define APIC_LVT_TIMER_TSCDEADLINE (2u << 17)

/* ICR delivery modes (bits 10:8) */
enum vlapic_dm {
	VLAPIC_DM_FIXED = 0,
	VLAPIC_DM_LOWEST = 1,
	VLAPIC_DM_SMI = 2,
	VLAPIC_DM_NMI = 4,
	VLAPIC_DM_INIT = 5,
	VLAPIC_DM_STARTUP = 6,
};

/* ICR destination shorthand (bits 19:18) */
enum vlapic_shorthand {
	VLAPIC_DEST_FIELD = 0,
	VLAPIC_DEST_SELF = 1,
	VLAPIC_DEST_ALL = 2,       /* including self */
	VLAPIC_DEST_ALL_BUT_SELF = 3,
};

/* An ICR write, decoded. The caller finds the targets with
 * vlapic_match_dest() over its own VM's vCPUs and nowhere else. */
struct vlapic_ipi {
	u8 vector;
	u8 mode;        /* enum vlapic_dm */
	u8 shorthand;   /* enum vlapic_shorthand */
	bool logical;   /* destination mode: logical (1) or physical (0) */
	bool level;     /* level bit (bit 14): INIT de-assert has it clear */
	bool trigger_level; /* trigger mode (bit 15) */
	u32 dest;       /* ICR2 bits 31:24 (xAPIC) */
};

struct vlapic {
	u32 id;            /* APIC ID (bits 31:24 of APIC_ID hold it) */
	u32 tpr, ldr, dfr, svr, esr, esr_pending, icr_low, icr_high;
	u32 lvt[7];        /* timer, thermal, perf, LINT0, LINT1, error, CMCI */
	u32 irr[8], isr[8], tmr[8];
	u32 timer_initial; /* TMICT */
	u32 timer_dcr;     /* TDCR as written */
	u64 timer_start;   /* bus tick when the count was (re)loaded */
	u64 timer_deadline; /* bus tick of the next expiry, or ~0ull */
	u64 timer_fired;   /* expiries that raised an interrupt */
};

/* Index into vlapic.lvt[] */
enum vlapic_lvt {
	VLAPIC_LVT_TIMER, VLAPIC_LVT_THERMAL, VLAPIC_LVT_PERF,
	VLAPIC_LVT_LINT0, VLAPIC_LVT_LINT1, VLAPIC_LVT_ERROR, VLAPIC_LVT_CMCI,
	VLAPIC_NR_LVT,
};

/* What a write asks of the caller (bits of vlapic_write's result). */
#define VLAPIC_W_IPI (1u << 0)   /* *@ipi holds an ICR write to deliver */
#define VLAPIC_W_EOI (1u << 1)   /* an EOI ended level-triggered *@eoi_vector: tell the IOAPIC */
#define VLAPIC_W_TIMER (1u << 2) /* the timer deadline changed */
#define VLAPIC_W_IRQ (1u << 3)   /* an interrupt may now be deliverable (TPR lowered, EOI, APIC enabled, timer or error interrupt) */

/* Power-on/INIT state (SDM 10.4.7.1): everything masked, software
 * disabled (SVR 0xff), @id as its APIC ID. */
void vlapic_reset(struct vlapic *l, u32 id);

/*
 * A 4-byte read at @offset (0-0xff0) of the APIC page. Returns 0, or
 * -HV_EINVAL for an offset that is no register (or not 16-byte aligned);
 * reads of reserved or write-only registers give 0 and succeed, as on
 * hardware. TMCCT is computed from @now.
 */
int vlapic_read(struct vlapic *l, u32 offset, u64 now, u32 *val);
/*
 * A 4-byte write. Returns VLAPIC_W_* bits (0 when nothing follows), or
 * -HV_EINVAL for an invalid offset. A timer expiry due by @now is raised
 * first (vlapic_timer_expire), so that no write can swallow it. An ICR
 * low write fills *@ipi and returns VLAPIC_W_IPI (a self IPI with
 * shorthand SELF or the x2APIC SELF_IPI register is the caller's too: the
 * model does not deliver).
 * An EOI sets *@eoi_vector to the vector it ended (the highest in ISR),
 * and returns VLAPIC_W_EOI too when TMR marks that vector level-triggered.
 * Writes to read-only registers are ignored; an illegal vector (< 16) in
 * a fixed-mode LVT or ICR sets the ESR as hardware does: when the LVT
 * fires, or when the ICR is written (and then nothing is sent).
 */
int vlapic_write(struct vlapic *l, u32 offset, u32 val, u64 now,
		 struct vlapic_ipi *ipi, u8 *eoi_vector);

/* Accept a fixed interrupt: IRR (and TMR for @level_trig). Vectors below
 * 16 are illegal: ESR "received illegal vector", nothing pending. */
void vlapic_set_irq(struct vlapic *l, u8 vector, bool level_trig);
/* The vector to inject next: the highest in IRR whose priority class is
 * above PPR; -1 when none (or the APIC is software-disabled). */
int vlapic_pending(const struct vlapic *l);
/* The guest took @vector (injected): IRR -> ISR. */
void vlapic_ack(struct vlapic *l, u8 vector);

/* Timer: the bus tick of the next expiry, ~0ull when none is armed. */
u64 vlapic_timer_deadline(const struct vlapic *l);
/*
 * At @now: if the timer expired, raise its LVT vector (unless masked),
 * re-arm a periodic timer from its previous deadline (skipping whole
 * missed periods), and return true when an interrupt became pending.
 */
bool vlapic_timer_expire(struct vlapic *l, u64 now);

/*
 * Does @l (the target) accept @ipi sent by the APIC whose ID is @src_id?
 * Physical: ID match, 0xff broadcast. Logical: flat (DFR 0xf...) when
 * (LDR >> 24) & dest; cluster (DFR 0x0...) when the high nibbles match
 * and the low nibbles share a bit. Shorthands: self, all, all but self.
 */
bool vlapic_match_dest(const struct vlapic *l, const struct vlapic_ipi *ipi,
		       u32 src_id);

#endif
