/*
 * The vendor-neutral vCPU layer: a vCPU pinned to its pCPU, its registers
 * in one form both vendors convert to and from (KVM's kvm_regs and
 * kvm_sregs), requests and kicks from other CPUs (kvm_make_request,
 * kvm_vcpu_kick), the exit actions handlers return, and the shared
 * handlers (CPUID policy, port I/O to virtual devices, MSRs, hypercalls)
 * that vmx/ and svm/ call.
 */
#ifndef LAMINA_VCPU_H
#define LAMINA_VCPU_H

#include <lamina/spinlock.h>
#include <lamina/types.h>
#include <lamina/vlapic.h>

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

/* General registers with RSP, RIP and RFLAGS (KVM_GET_REGS). */
struct vcpu_regs {
	struct guest_gprs g;
	u64 rsp, rip, rflags;
};

/* Segment registers in the order of the VMX guest-state fields. */
enum vcpu_seg_index {
	VSEG_ES, VSEG_CS, VSEG_SS, VSEG_DS, VSEG_FS, VSEG_GS, VSEG_LDTR, VSEG_TR,
	VSEG_COUNT,
};

/*
 * One segment register with its hidden part. @attr is the VMCB's 12-bit
 * form: type, S, DPL, P in bits 7:0, then AVL, L, D/B, G in bits 11:8
 * (descriptor bits 40-47 and 52-55). 0 means unusable (a null selector).
 */
struct vcpu_seg {
	u64 base;
	u32 limit;
	u16 sel;
	u16 attr;
};

#define VSEG_ATTR_CODE16 0x09b /* present, code, read, accessed */
#define VSEG_ATTR_DATA16 0x093 /* present, data, write, accessed */
#define VSEG_ATTR_CODE32 0xc9b
#define VSEG_ATTR_DATA32 0xc93
#define VSEG_ATTR_CODE64 0xa9b /* L=1, D=0 */
#define VSEG_ATTR_TSS32 0x08b  /* busy 32-bit TSS */
#define VSEG_ATTR_L (1u << 9)
#define VSEG_ATTR_DB (1u << 10)

struct vcpu_dtable {
	u64 base;
	u16 limit;
};

/* Segments, descriptor tables and control registers (KVM_GET_SREGS). */
struct vcpu_sregs {
	struct vcpu_seg seg[VSEG_COUNT];
	struct vcpu_dtable gdt, idt;
	u64 cr0, cr2, cr3, cr4, efer;
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

/* Requests another CPU makes of a vCPU (bits of vcpu.requests). */
enum vcpu_request {
	VCPU_REQ_STOP,   /* leave the run loop: the VM is stopping */
	VCPU_REQ_YIELD,  /* boot CPU: the slice is over, serve the monitor */
	VCPU_REQ_PAUSE,  /* save the registers and wait (vm_pause) */
	VCPU_REQ_WAKE,   /* look again: the VM was resumed */
	VCPU_REQ_TLB_FLUSH, /* its second-level tables changed */
	VCPU_REQ_IRQ,    /* irq_pending holds an interrupt to deliver */
};

struct vcpu {
	struct vm *vm;
	unsigned int id;   /* within the VM: CPUID's initial APIC ID */
	unsigned int pcpu; /* the physical CPU it is pinned to */
	struct guest_gprs gprs;
	void *vendor;      /* the VMCB or VMCS page */
	bool launched;     /* VMX: VMLAUNCH done, VMRESUME next */
	bool running;      /* launched and not yet off its pCPU again */
	bool halted;       /* waiting in HLT for an event */
	bool parked;       /* paused: registers saved, waiting for resume */
	bool loaded;       /* vcpu_load and the start state done */
	u64 slice_end;     /* boot CPU, VMX: the TSC when its slice ends */
	int irq_pending;   /* external interrupt to inject (KVM_INTERRUPT), or -1 */
	unsigned long requests; /* enum vcpu_request bits, set from any CPU */
	u64 exits[VCPU_EXIT_KINDS];
	u64 exit_code;     /* raw reason of the last exit, for reports */
	/*
	 * Its registers while it is out of its run loop: the start state
	 * (vcpu_boot.c) before it first runs, then what it left when it
	 * parked or ended. The monitor reads them only then; a change sets
	 * regs_dirty and the vCPU loads them before it runs again.
	 */
	struct vcpu_regs regs;
	struct vcpu_sregs sregs;
	bool regs_dirty;

	/*
	 * The in-kernel interrupt controller of VMs that have one (Linux
	 * VMs: vm->irqchip), kernel/vcpu_irq.c. Other vCPUs and the monitor
	 * deliver into it, so irq_lock guards it and the INIT/SIPI state.
	 */
	struct vlapic lapic;
	spinlock_t irq_lock;
	u64 apic_base;     /* IA32_APIC_BASE as the guest reads it */
	bool init_pending; /* an INIT arrived: reset and wait for a SIPI */
	bool wait_sipi;    /* in wait-for-SIPI (an AP before it is started) */
	int sipi_vector;   /* a STARTUP IPI's vector while wait_sipi, or -1 */
	u64 pat;           /* IA32_PAT as the guest wrote it (no effect) */
};

const char *vcpu_exit_kind_name(enum vcpu_exit_kind k);

/* Ask @v to do @req at its next exit, and make that exit happen soon. */
void vcpu_make_request(struct vcpu *v, enum vcpu_request req);
void vcpu_kick(struct vcpu *v);

/* Vendor run loops test this before each entry: leave when true. */
static inline bool vcpu_has_requests(const struct vcpu *v)
{
	return __atomic_load_n(&v->requests, __ATOMIC_ACQUIRE) != 0;
}

/*
 * General register @idx in the x86 encoding's order (0 RAX, 1 RCX, 2 RDX,
 * 3 RBX, 4 RSP, 5 RBP, 6 RSI, 7 RDI, 8-15 R8-R15), for emulation that
 * decodes instructions; RSP lives apart from @g.
 */
static inline u64 *vcpu_gpr(struct guest_gprs *g, u64 *rsp, unsigned int idx)
{
	u64 *const map[16] = {
		&g->rax, &g->rcx, &g->rdx, &g->rbx, rsp, &g->rbp, &g->rsi,
		&g->rdi, &g->r8, &g->r9, &g->r10, &g->r11, &g->r12, &g->r13,
		&g->r14, &g->r15,
	};

	return map[idx & 15];
}

/* Exception vectors the shared layer injects. */
#define VEC_UD 6
#define VEC_DF 8
#define VEC_GP 13
#define VEC_PF 14

/* Shared exit handling (kernel/vcpu.c). */
void vcpu_cpuid(struct vcpu *v, u32 leaf, u32 subleaf, u32 out[4]);
/*
 * A guest port access of @size bytes (1, 2, 4). For an IN, *@val receives
 * the value. Returns what happens next.
 */
enum exit_action vcpu_pio(struct vcpu *v, u16 port, unsigned int size,
			  bool in, u32 *val);

/* RAX after an IN of @size bytes gave @val: the rest of RAX stays, except
 * that a 32-bit IN clears the upper half, as any 32-bit write does. */
static inline u64 vcpu_pio_in_rax(u64 rax, unsigned int size, u32 val)
{
	u64 mask = size == 4 ? 0xffffffffull : (1ull << (size * 8)) - 1;

	return size == 4 ? val : (rax & ~mask) | (val & mask);
}

/* What the vendor tells the string I/O emulation (INS/OUTS). */
struct vcpu_pio_string {
	u16 port;
	u8 size;          /* 1, 2, 4 */
	bool in;
	bool rep;
};
/*
 * Emulate one INS/OUTS (REP or not) at the vCPU's RIP; @next_rip is where
 * the instruction ends. Reads and writes the registers through the vendor
 * ops; RIP moves on only when the instruction completed (a REP that is not
 * done runs again for the rest of its count). Guest page faults go back to
 * the guest; memory outside the VM stops it.
 */
enum exit_action vcpu_pio_string(struct vcpu *v, const struct vcpu_pio_string *io,
				 u64 next_rip);
/*
 * RDMSR/WRMSR of @msr that exited (for a write, *@val is the value; for a
 * read it receives it). Returns false when the MSR is not allowed: the
 * vendor code then injects #GP. Handled: EFER, IA32_APIC_BASE (irqchip
 * VMs), PAT (kept, no effect), IA32_MISC_ENABLE, reading the TSC and the
 * MTRR capabilities (no MTRRs). The SYSCALL, SYSENTER and FS/GS base MSRs
 * do not exit: the vendors give them to the guest.
 */
bool vcpu_msr(struct vcpu *v, u32 msr, bool write, u64 *val);
/* MOV to CR0 (@cr 0) or CR4 (4) that exited; false: #GP. */
bool vcpu_set_cr(struct vcpu *v, unsigned int cr, u64 val);
/* XSETBV: false (the vendor injects #GP) unless XCR0 and a value the host
 * supports and the architecture allows. */
bool vcpu_xsetbv(struct vcpu *v, u32 index, u64 val);

/*
 * A VMCALL/VMMCALL (include/abi/hypercall.h): *@rax holds the call number
 * and receives the result; the arguments are the vCPU's RBX, RCX, RDX.
 */
enum exit_action vcpu_hypercall(struct vcpu *v, u64 *rax);
/*
 * HLT: the vCPU leaves its run loop and sleeps until an interrupt it can
 * take (its local APIC's, or the monitor's `irq`) or a request. With
 * interrupts off only an INIT can wake it: that is logged.
 */
enum exit_action vcpu_halt(struct vcpu *v, bool intr_on, u64 rip);
/* Stop the VM and say why (debug-exit, crash, unhandled exit). */
enum exit_action vcpu_stop(struct vcpu *v, bool crashed, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * The boot CPU shares its time between the monitor and at most one vCPU:
 * the monitor calls vcpu_bsp_poll() whenever it has nothing to do, which
 * runs that vCPU for one slice (the local APIC timer ends it: its
 * interrupt makes the guest exit and calls vcpu_slice_expired()).
 * Returns whether a vCPU ran.
 */
bool vcpu_bsp_poll(void);
/* Does a vCPU share the boot CPU with the monitor now? */
bool vcpu_bsp_shared(void);
void vcpu_slice_expired(void);
/* vm_start: the vCPU whose pCPU is 0 (at most one) */
void vcpu_bsp_take(struct vcpu *v);

/* kernel/vcpu.c, for vcpu_bsp.c: one step of a vCPU's life on its pCPU. */
enum vcpu_step { VCPU_RAN, VCPU_IDLE, VCPU_ENDED };
int vcpu_enter_first(struct vcpu *v);
enum vcpu_step vcpu_step(struct vcpu *v, enum exit_action (*run)(struct vcpu *));
void vcpu_leave_last(struct vcpu *v);
/* kernel/idle.asm: HLT unless *@requests (NMI-safe, see there) */
void vcpu_idle_wait(const unsigned long *requests);

/* kernel/vcpu_boot.c: the start state of @v for its VM's boot kind. */
int vcpu_boot_state(struct vcpu *v, char *why, size_t len);
/* A STARTUP IPI's state: real mode at @vector << 12 (CS = @vector << 8,
 * IP 0), loaded into the vendor state on the vCPU's pCPU. */
void vcpu_sipi_state(struct vcpu *v, u8 vector);

/*
 * kernel/vcpu_irq.c: the in-kernel local APIC and IOAPIC.
 * vcpu_irq_init at creation; vcpu_irq_sync on the vCPU's pCPU before each
 * run (INIT/SIPI, the timer, injecting the next vector), true while the
 * vCPU waits for a SIPI; vcpu_timer_us: microseconds to its next timer
 * expiry, capped at @max_us (0: no cap), 0 when none is armed.
 */
void vcpu_irq_init(struct vcpu *v);
bool vcpu_irq_sync(struct vcpu *v);
u32 vcpu_timer_us(struct vcpu *v, u32 max_us);
/* The local APIC page: a 4-byte access at @offset. */
enum exit_action vcpu_apic_access(struct vcpu *v, u32 offset, bool write,
				  u32 *val);
/* An edge-triggered fixed interrupt @vector straight to @v's local APIC
 * (the monitor's `irq` on an irqchip VM). */
void vcpu_apic_msi(struct vcpu *v, u8 vector);
/* MOV to/from CR8: the local APIC's TPR bits 7:4 (*@val is the register). */
void vcpu_cr8(struct vcpu *v, bool write, u64 *val);
/* IA32_APIC_BASE; false: #GP */
bool vcpu_apic_base(struct vcpu *v, bool write, u64 *val);

/*
 * kernel/vcpu_mmio.c: a guest access to emulated MMIO at @gpa (an NPF or
 * EPT violation there): the instruction is fetched, decoded, emulated and
 * skipped. Returns false when @gpa is no emulated device's (the caller
 * then treats the fault as before).
 */
bool vcpu_mmio_claims(struct vcpu *v, u64 gpa);
enum exit_action vcpu_mmio(struct vcpu *v, u64 gpa);

/*
 * kernel/vcpu_gva.c: guest-virtual memory as the vCPU sees it, for the
 * emulation of instructions that touch memory.
 */
struct gw_mode;
struct gva_fault {
	int status;        /* enum gw_status; GW_OK: the GPA is not RAM */
	u32 pf_error;
	u64 la;
};
int vcpu_gva_copy(struct vcpu *v, const struct gw_mode *m, u64 la, u8 *buf,
		  unsigned int n, u32 access, struct gva_fault *f);
/* Up to 15 bytes at linear @la (fewer when the next page is unmapped). */
int vcpu_fetch_insn(struct vcpu *v, const struct gw_mode *m, u32 access,
		    u64 la, u8 *bytes, unsigned int *n, struct gva_fault *f);
/* A fault from emulating @what: #PF or #GP to the guest, or stop the VM. */
enum exit_action vcpu_gva_fault(struct vcpu *v, const char *what,
				const struct gva_fault *f);
/* Run once with a timer that ends it after at most @max_us (0: only the
 * guest's own timer), kernel/vcpu.c. */
enum exit_action vcpu_run_timed(struct vcpu *v, u32 max_us);

#endif
