/*
 * Guest-virtual memory as a vCPU sees it, for emulating instructions that
 * touch memory (INS/OUTS, MMIO to emulated devices): copies through the
 * guest's own page tables, the instruction bytes at its RIP, and what a
 * fault during emulation becomes.
 */
#define pr_fmt(fmt) "vm: " fmt

#include <lamina/errno.h>
#include <lamina/guest_walk.h>
#include <lamina/hv.h>
#include <lamina/insn.h>
#include <lamina/kernel.h>
#include <lamina/lib.h>
#include <lamina/vm.h>

int vcpu_gva_copy(struct vcpu *v, const struct gw_mode *m, u64 la, u8 *buf,
		  unsigned int n, u32 access, struct gva_fault *f)
{
	while (n) {
		unsigned int chunk = MIN(n, PAGE_SIZE - (unsigned int)(la & 0xfff));
		struct gw_result r;
		int err;

		guest_walk(m, la, access, vm_read_pte, v->vm, &r);
		*f = (struct gva_fault){ r.status, r.pf_error, la };
		if (r.status != GW_OK)
			return -HV_EFAULT;
		err = access & GW_WRITE ? vm_write_gpa(v->vm, r.gpa, buf, chunk) :
					  vm_read_gpa(v->vm, r.gpa, buf, chunk);
		if (err)
			return err;
		la += chunk;
		buf += chunk;
		n -= chunk;
	}
	return 0;
}

/*
 * Up to INSN_MAX_LEN bytes, fewer when the next page is not mapped (the
 * decoder then says whether they suffice).
 */
int vcpu_fetch_insn(struct vcpu *v, const struct gw_mode *m, u32 access,
		    u64 la, u8 *bytes, unsigned int *n, struct gva_fault *f)
{
	unsigned int first = MIN(INSN_MAX_LEN, PAGE_SIZE - (unsigned int)(la & 0xfff));
	struct gva_fault ignored;
	int err = vcpu_gva_copy(v, m, la, bytes, first, access | GW_FETCH, f);

	*n = first;
	if (!err && first < INSN_MAX_LEN &&
	    !vcpu_gva_copy(v, m, la + first, bytes + first, INSN_MAX_LEN - first,
			   access | GW_FETCH, &ignored))
		*n = INSN_MAX_LEN;
	return err;
}

/*
 * A fault of the guest's own making goes back to it, as the CPU would
 * raise it: #PF for its page tables, #GP for a non-canonical address. A
 * table or a target outside its RAM has no such answer: the VM stops.
 */
enum exit_action vcpu_gva_fault(struct vcpu *v, const char *what,
				const struct gva_fault *f)
{
	if (f->status == GW_PAGE_FAULT) {
		hv_ops->inject_exception(v, VEC_PF, true, f->pf_error, f->la);
		return EXIT_RESUME;
	}
	if (f->status == GW_NONCANONICAL) {
		hv_ops->inject_exception(v, VEC_GP, true, 0, 0);
		return EXIT_RESUME;
	}
	return vcpu_stop(v, true, "%s: linear address 0x%llx: %s", what,
			 (unsigned long long)f->la,
			 f->status == GW_TABLE_UNREADABLE ?
			 "its page tables lie outside its RAM" :
			 "not in its (writable) RAM");
}
