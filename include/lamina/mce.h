/*
 * Machine checks (#MC, vector 18) and NMIs that Lamina did not send: the
 * two ways the hardware reports trouble. kernel/mce.c drives the MSRs and
 * port 0x61; kernel/mce_decode.c holds the decisions, pure and
 * unit-tested (tests/unit/test_mce.c). docs/machine-checks.md says what
 * the log lines mean.
 */
#ifndef LAMINA_MCE_H
#define LAMINA_MCE_H

#include <lamina/types.h>

struct regs;
struct vcpu;

#define VEC_MC 18 /* the machine-check exception */
#define CR4_MCE (1ull << 6)

/*
 * CR4.MCE as it must be in force while a guest runs: the host's. A machine
 * check in guest mode with the guest's CR4.MCE clear would shut the CPU
 * down before any intercept (Intel SDM vol. 3C, 26.8 and 27.8; QEMU does
 * the same on SVM), so both vendors keep the host's bit in the guest's
 * hardware CR4 (VMX hides it behind the CR4 read shadow; SVM has none,
 * and the guest sees it set, as under KVM).
 */
static inline u64 mce_guest_cr4_bits(void)
{
	u64 cr4;

	__asm__ __volatile__("mov %%cr4, %0" : "=r"(cr4));
	return cr4 & CR4_MCE;
}

/* IA32_MCG_CAP (Intel SDM vol. 3B, 16.3.1.1; AMD APM vol. 2, 9.3.1) */
#define MCG_CAP_COUNT 0xffull
#define MCG_CAP_CTL_P (1ull << 8)
#define MCG_CAP_SER_P (1ull << 24)
/* IA32_MCG_STATUS */
#define MCG_STATUS_RIPV (1ull << 0) /* the interrupted RIP may be resumed */
#define MCG_STATUS_EIPV (1ull << 1) /* the interrupted RIP caused it */
#define MCG_STATUS_MCIP (1ull << 2) /* a #MC is being handled */
/* IA32_MCi_STATUS */
#define MCI_STATUS_VAL (1ull << 63)
#define MCI_STATUS_OVER (1ull << 62)
#define MCI_STATUS_UC (1ull << 61)
#define MCI_STATUS_EN (1ull << 60)
#define MCI_STATUS_MISCV (1ull << 59)
#define MCI_STATUS_ADDRV (1ull << 58)
#define MCI_STATUS_PCC (1ull << 57)
#define MCI_STATUS_S (1ull << 56)  /* with MCG_CAP.SER_P: signalled by #MC */
#define MCI_STATUS_AR (1ull << 55) /* with S: action required */

/* Banks Lamina looks at; MCG_CAP may claim up to 255. */
#define MCE_MAX_BANKS 64

enum mce_verdict {
	MCE_SPURIOUS,  /* a #MC with no valid bank: count it, go on */
	MCE_CORRECTED, /* corrected errors only: log, clear, go on */
	MCE_RECOVERED, /* uncorrected, but the context may go on */
	MCE_STOP_VM,   /* action required in a guest's context: stop that VM */
	MCE_FATAL,     /* Lamina cannot go on: panic with the report */
};

struct mce_decision {
	enum mce_verdict verdict;
	int bank;        /* the bank that decided it; -1 when none did */
	const char *why; /* in words, for the log and the panic */
};

/*
 * What a #MC means, from IA32_MCG_STATUS and the banks' MCi_STATUS
 * (@status[0..@nr_banks)). @in_guest: it interrupted a guest (an exit), not
 * Lamina's own code.
 */
struct mce_decision mce_decide(u64 mcg_status, const u64 *status,
			       unsigned int nr_banks, bool in_guest);
const char *mce_verdict_name(enum mce_verdict v);

/* @status's flags in words ("VAL UC EN ADDRV"); returns @buf. */
const char *mce_status_words(u64 status, char *buf, size_t size);

/* Port 0x61, read: the platform's NMI sources (SERR# and IOCHK#). */
#define PORT61_SERR (1u << 7)
#define PORT61_IOCHK (1u << 6)
/* written: a 1 clears and disables the source, a 0 enables it again */
#define PORT61_CLEAR_SERR (1u << 2)
#define PORT61_CLEAR_IOCHK (1u << 3)

enum nmi_kind {
	NMI_KICK,    /* posted by Lamina (nmi_kick_send) */
	NMI_SERR,    /* the board: a PCI system error (SERR#) */
	NMI_IOCHK,   /* the board: an I/O channel check (IOCHK#) */
	NMI_UNKNOWN, /* neither: a watchdog, a BMC, a button, an emulator */
};

/* An NMI that is no stop request: @kick_posted says a kick was posted to
 * this CPU since its last NMI (or just before it); @port61 is what port
 * 0x61 read (0xff: no such port). */
enum nmi_kind nmi_classify(bool kick_posted, u8 port61);
const char *nmi_kind_name(enum nmi_kind k);

/* kernel/mce.c */

/* On every CPU once its IDT is loaded: log and clear what the banks kept
 * from before the reset, enable the banks, set CR4.MCE. */
void mce_cpu_init(void);
/* The #MC handler (Lamina's IDT): returns only when it may go on. */
void mce_handle_host(const struct regs *r);
/* A #MC that caused a VM exit (SVM exception 18 intercept, VMX exception
 * exit or exit reason 41): the same report; returns enum exit_action. */
int mce_handle_guest(struct vcpu *v, u64 guest_rip);

/* Post a kick NMI to @cpu: the handler there then knows it for one. */
void nmi_kick_send(unsigned int cpu);
/* An NMI that is not a stop request (Lamina's IDT, or a VMX NMI exit):
 * a kick, or reported as unexpected (rate-limited) and counted. */
enum nmi_kind nmi_handle(bool in_guest);

struct mce_counts {
	u64 mce_corrected, mce_recovered, mce_vm_stops, mce_spurious;
	u64 nmi_kicks, nmi_unknown, nmi_serr, nmi_iochk;
};
void mce_counts(struct mce_counts *c);
/* One line for the monitor's `stats`; returns its length. */
int mce_stats_line(char *buf, size_t size);

#endif
