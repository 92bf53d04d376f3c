/*
 * The decisions of machine-check and NMI handling, with no hardware access:
 * what a #MC's banks mean and what an NMI was. Compiled into Lamina and
 * into tests/unit/test_mce.c.
 */
#include <lamina/lib.h>
#include <lamina/mce.h>

/*
 * One valid bank's verdict. The order of the checks is the order of
 * severity (SDM vol. 3B, 16.3.2.2 and 16.10; Linux's severity table
 * follows the same idea with more cases):
 *  - PCC: the processor context is corrupt, nothing can be resumed.
 *  - UC with OVER: an uncorrected error was lost; what it hit is unknown.
 *  - UC with S and AR (software error recovery, MCG_CAP.SER_P), or UC with
 *    MCG_STATUS.EIPV: the error is tied to the instruction that was
 *    running. In a guest that guest cannot go on (its VM stops); in Lamina,
 *    Lamina cannot (no Lamina code is written to be restarted elsewhere).
 *  - any other UC: the error did not hit the interrupted context (RIPV is
 *    checked by the caller): log, clear, go on.
 *  - no UC: corrected, only logged.
 */
static struct mce_decision bank_verdict(u64 mcg_status, u64 st, bool in_guest)
{
	bool uc = st & MCI_STATUS_UC;
	bool ar = (st & MCI_STATUS_S) && (st & MCI_STATUS_AR);

	if (st & MCI_STATUS_PCC)
		return (struct mce_decision){ MCE_FATAL, -1,
			"processor context corrupt (PCC)" };
	if (uc && (st & MCI_STATUS_OVER))
		return (struct mce_decision){ MCE_FATAL, -1,
			"uncorrected error with overflow: an earlier one was lost" };
	if (uc && (ar || (mcg_status & MCG_STATUS_EIPV)))
		return in_guest ?
			(struct mce_decision){ MCE_STOP_VM, -1,
				"uncorrected error in the guest's own context" } :
			(struct mce_decision){ MCE_FATAL, -1,
				"uncorrected error in Lamina's own context" };
	if (uc)
		return (struct mce_decision){ MCE_RECOVERED, -1,
			"uncorrected, context not corrupt, RIPV set" };
	return (struct mce_decision){ MCE_CORRECTED, -1, "corrected" };
}

struct mce_decision mce_decide(u64 mcg_status, const u64 *status,
			       unsigned int nr_banks, bool in_guest)
{
	struct mce_decision d = { MCE_SPURIOUS, -1, "no bank holds a valid error" };

	for (unsigned int i = 0; i < nr_banks; i++) {
		struct mce_decision b;

		if (!(status[i] & MCI_STATUS_VAL))
			continue;
		b = bank_verdict(mcg_status, status[i], in_guest);
		if (b.verdict > d.verdict) {
			d = b;
			d.bank = (int)i;
		}
	}
	/* Without RIPV there is nowhere to return to, whatever the banks say. */
	if (!(mcg_status & MCG_STATUS_RIPV) && d.verdict != MCE_FATAL) {
		d.verdict = MCE_FATAL;
		d.why = "RIPV clear: the interrupted context cannot be resumed";
	}
	return d;
}

const char *mce_verdict_name(enum mce_verdict v)
{
	static const char *const names[] = {
		[MCE_SPURIOUS] = "spurious", [MCE_CORRECTED] = "corrected",
		[MCE_RECOVERED] = "recovered", [MCE_STOP_VM] = "VM stopped",
		[MCE_FATAL] = "fatal",
	};

	return (unsigned int)v < ARRAY_SIZE(names) ? names[v] : "?";
}

const char *mce_status_words(u64 status, char *buf, size_t size)
{
	static const struct {
		u64 bit;
		const char *name;
	} flags[] = {
		{ MCI_STATUS_VAL, "VAL" },     { MCI_STATUS_OVER, "OVER" },
		{ MCI_STATUS_UC, "UC" },       { MCI_STATUS_EN, "EN" },
		{ MCI_STATUS_MISCV, "MISCV" }, { MCI_STATUS_ADDRV, "ADDRV" },
		{ MCI_STATUS_PCC, "PCC" },     { MCI_STATUS_S, "S" },
		{ MCI_STATUS_AR, "AR" },
	};
	size_t n = 0;

	if (!size)
		return buf;
	for (unsigned int i = 0; i < ARRAY_SIZE(flags); i++) {
		const char *s = flags[i].name;

		if (!(status & flags[i].bit))
			continue;
		if (n && n + 1 < size)
			buf[n++] = ' ';
		while (*s && n + 1 < size)
			buf[n++] = *s++;
	}
	buf[n] = '\0';
	if (!n)
		snprintf(buf, size, "none");
	return buf;
}

enum nmi_kind nmi_classify(bool kick_posted, u8 port61)
{
	/* A board with no port 0x61 reads all ones: no source to name. */
	if (port61 != 0xff && (port61 & PORT61_SERR))
		return NMI_SERR;
	if (port61 != 0xff && (port61 & PORT61_IOCHK))
		return NMI_IOCHK;
	return kick_posted ? NMI_KICK : NMI_UNKNOWN;
}

const char *nmi_kind_name(enum nmi_kind k)
{
	static const char *const names[] = {
		[NMI_KICK] = "kick",
		[NMI_SERR] = "PCI system error (SERR#, port 0x61 bit 7)",
		[NMI_IOCHK] = "I/O channel check (IOCHK#, port 0x61 bit 6)",
		[NMI_UNKNOWN] = "unknown source, no kick posted",
	};

	return (unsigned int)k < ARRAY_SIZE(names) ? names[k] : "?";
}
