/*
 * The vendor-neutral vCPU layer: a vCPU pinned to its pCPU, its general
 * registers, the exit actions handlers return, and the shared handlers
 * (CPUID policy, port I/O to virtual devices) that vmx/ and svm/ call.
 */
#ifndef LAMINA_VCPU_H
#define LAMINA_VCPU_H

#include <lamina/types.h>

struct vm;

/* What a handler decides: go on, hand the VM to the monitor, or stop it. */
enum exit_action {
	EXIT_RESUME,
	EXIT_TO_MONITOR,
	EXIT_STOP_VM,
};

/* Registers the CPU does not switch on VM entry and exit (SVM keeps RAX
 * in the VMCB; VMX switches none of them). */
struct guest_gprs {
	u64 rbx, rcx, rdx, rsi, rdi, rbp;
	u64 r8, r9, r10, r11, r12, r13, r14, r15;
	u64 rax;
};

#define VCPU_EXIT_KINDS 8
enum vcpu_exit_kind {
	VEXIT_CPUID,
	VEXIT_IO,
	VEXIT_HLT,
	VEXIT_MSR,
	VEXIT_NPF,
	VEXIT_HYPERCALL,
	VEXIT_SHUTDOWN,
	VEXIT_OTHER,
};

struct vcpu {
	struct vm *vm;
	unsigned int id;   /* within the VM */
	unsigned int pcpu; /* the physical CPU it is pinned to */
	struct guest_gprs gprs;
	void *vendor;      /* the VMCB or VMCS page */
	bool launched;     /* VMX: VMLAUNCH done, VMRESUME next */
	u64 exits[VCPU_EXIT_KINDS];
	u64 exit_code;     /* raw reason of the last exit, for reports */
};

const char *vcpu_exit_kind_name(enum vcpu_exit_kind k);

/* Shared exit handling (kernel/vcpu.c). */
void vcpu_cpuid(struct vcpu *v, u32 leaf, u32 subleaf, u32 out[4]);
/*
 * A guest port access of @size bytes (1, 2, 4). For an IN, *@val receives
 * the value. Returns what happens next.
 */
enum exit_action vcpu_pio(struct vcpu *v, u16 port, unsigned int size,
			  bool in, u32 *val);
/*
 * RDMSR/WRMSR of @msr (for a write, *@val is the value; for a read it
 * receives it). Returns false when the MSR is not allowed: the vendor code
 * then injects #GP. Allowed: reading the TSC, IA32_MISC_ENABLE and the
 * MTRR capabilities (no MTRRs); nothing can be written yet.
 */
bool vcpu_msr(struct vcpu *v, u32 msr, bool write, u64 *val);

/*
 * A VMCALL/VMMCALL (include/abi/hypercall.h): *@rax holds the call number
 * and receives the result; the arguments are the vCPU's RBX, RCX, RDX.
 */
enum exit_action vcpu_hypercall(struct vcpu *v, u64 *rax);
/* Stop the VM and say why (debug-exit, crash, unhandled exit). */
enum exit_action vcpu_stop(struct vcpu *v, bool crashed, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
