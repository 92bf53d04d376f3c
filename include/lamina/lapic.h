#ifndef LAMINA_LAPIC_H
#define LAMINA_LAPIC_H

#include <lamina/types.h>

#define VEC_WAKE 0xf0  /* wakes an idle CPU to look at its mailbox */
#define VEC_SLICE 0xf1 /* the boot CPU's vCPU has had its time slice */

#define ICR_FIXED 0u
#define ICR_INIT (5u << 8)
#define ICR_STARTUP (6u << 8)
#define ICR_NMI (4u << 8)
#define ICR_LEVEL_ASSERT (1u << 14)
#define ICR_LEVEL_TRIGGER (1u << 15)
#define ICR_ALL_BUT_SELF (3u << 18)

/* Remap the legacy PICs away from the exception vectors and mask them. */
void pic_disable(void);

/* Enable this CPU's local APIC (xAPIC, or x2APIC if firmware chose it). */
void lapic_init(void);
u32 lapic_id(void);
bool lapic_x2apic(void);
void lapic_eoi(void);
/* Send an IPI; false if the APIC never accepted it. */
bool lapic_send_ipi(u32 dest_apic_id, u32 icr_low);

/*
 * The timer, one-shot: @vector fires once after @us microseconds (the
 * first use calibrates the timer against the TSC for 1 ms).
 */
void lapic_timer_oneshot(u8 vector, u32 us);
void lapic_timer_stop(void);

#endif
