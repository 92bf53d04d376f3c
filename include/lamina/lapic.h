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

/* 255 is the xAPIC broadcast: higher IDs need x2APIC's 32-bit ones. */
#define LAPIC_XAPIC_MAX_ID 254

/* x2apic= on the command line. */
enum x2apic_opt { X2APIC_OPT_DEFAULT, X2APIC_OPT_ON, X2APIC_OPT_OFF };

/*
 * Whether Lamina runs every local APIC in x2APIC mode: when the firmware
 * handed the boot CPU over in it (only a reset leaves it), else when the
 * CPU has x2APIC (@cpu_has: CPUID.1:ECX[21]) and either x2apic=on asks or
 * an APIC ID in the MADT (@max_apic_id) is beyond xAPIC's reach, unless
 * x2apic=off says no.
 */
static inline bool lapic_want_x2apic(bool fw_x2apic, bool cpu_has,
				     enum x2apic_opt opt, u32 max_apic_id)
{
	if (fw_x2apic)
		return true;
	if (!cpu_has || opt == X2APIC_OPT_OFF)
		return false;
	return opt == X2APIC_OPT_ON || max_apic_id > LAPIC_XAPIC_MAX_ID;
}

/* Remap the legacy PICs away from the exception vectors and mask them. */
void pic_disable(void);

/*
 * Enable this CPU's local APIC. The first call (the boot CPU, after ACPI)
 * chooses xAPIC or x2APIC mode for every CPU (lapic_want_x2apic(), with
 * x2apic= and the MADT); later calls (the APs) put theirs in that mode.
 * -HV_ENODEV: this CPU cannot run in that mode (leave it offline).
 */
int lapic_init(void);
/* This CPU's APIC ID: 8 bits in xAPIC mode, 32 in x2APIC mode. */
u32 lapic_id(void);
bool lapic_x2apic(void);
/* Can an IPI reach APIC ID @id in the mode chosen? */
bool lapic_can_address(u32 id);
void lapic_eoi(void);
/* Send an IPI; false if the APIC never accepted it, or @dest_apic_id is
 * beyond the mode's reach (a shorthand in @icr_low ignores it). */
bool lapic_send_ipi(u32 dest_apic_id, u32 icr_low);

/*
 * The timer, one-shot: @vector fires once after @us microseconds (the
 * first use calibrates the timer against the TSC for 1 ms).
 */
void lapic_timer_oneshot(u8 vector, u32 us);
/* Calibrate the timer now if not yet; false when it does not count. */
bool lapic_timer_usable(void);
void lapic_timer_stop(void);

#endif
