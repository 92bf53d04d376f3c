/*
 * The vendor operations, each listed once (KVM's kvm-x86-ops.h). Include
 * with VENDOR_OP(kind, ret, name, args) defined; kind is REQUIRED or
 * OPTIONAL. A REQUIRED op left NULL stops the boot with its name.
 */
/* Is the hardware there and allowed on? Fills @why when not. */
VENDOR_OP(REQUIRED, int, check_support, (char *why, size_t len))
/* Read this CPU's capability MSRs / CPUID leaves. */
VENDOR_OP(REQUIRED, void, read_caps, (struct hv_caps *caps))
/* Decode the caps and compute control values; fills @why on refusal. */
VENDOR_OP(REQUIRED, int, hardware_setup, (struct hv_caps *caps, char *why, size_t len))
VENDOR_OP(OPTIONAL, void, hardware_unsetup, (void))
/* Turn virtualisation on / off on this CPU (VMXON / EFER.SVME). */
VENDOR_OP(REQUIRED, int, hardware_enable, (struct hv_cpu *hc))
VENDOR_OP(REQUIRED, void, hardware_disable, (struct hv_cpu *hc))
/* What the CPU itself says: CR4.VMXE or EFER.SVME. */
VENDOR_OP(REQUIRED, bool, cpu_virt_on, (void))
/* Print the caps and the optional features Lamina will use. */
VENDOR_OP(REQUIRED, void, print_caps, (const struct hv_caps *caps, hv_print_fn pr, void *ctx))
/* A vCPU's vendor state (VMCB or VMCS), set up for its VM's boot kind. */
VENDOR_OP(OPTIONAL, int, vcpu_create, (struct vcpu *v))
VENDOR_OP(OPTIONAL, void, vcpu_destroy, (struct vcpu *v))
/*
 * On the vCPU's pCPU, before its first run (VMX: make the VMCS current and
 * fill its controls and host state) and after its last (VMX: VMCLEAR).
 */
VENDOR_OP(OPTIONAL, int, vcpu_load, (struct vcpu *v))
VENDOR_OP(OPTIONAL, void, vcpu_put, (struct vcpu *v))
/* Registers in the vendor-neutral form; on the vCPU's pCPU, loaded. */
VENDOR_OP(OPTIONAL, void, get_regs, (struct vcpu *v, struct vcpu_regs *r))
VENDOR_OP(OPTIONAL, void, set_regs, (struct vcpu *v, const struct vcpu_regs *r))
VENDOR_OP(OPTIONAL, void, get_sregs, (struct vcpu *v, struct vcpu_sregs *s))
VENDOR_OP(OPTIONAL, void, set_sregs, (struct vcpu *v, const struct vcpu_sregs *s))
/*
 * An external interrupt @vector for the guest: true when it is injected at
 * the next entry (the guest has interrupts on, no STI/MOV SS shadow, no
 * event already on its way); otherwise the vendor arms an interrupt-window
 * exit, whose handler returns EXIT_TO_MONITOR so the shared layer tries
 * again, and false. @window_only: just say whether the window is open.
 */
VENDOR_OP(OPTIONAL, bool, inject_irq, (struct vcpu *v, int vector))
/* On the vCPU's pCPU: drop the TLB entries its second-level tables made. */
VENDOR_OP(OPTIONAL, void, flush_tlb, (struct vcpu *v))
/*
 * Deliver exception @vector to the guest at its next entry, with
 * @error_code when @has_error; for #PF (14) the guest's CR2 becomes @cr2.
 * On the vCPU's pCPU, between exits.
 */
VENDOR_OP(OPTIONAL, void, inject_exception, (struct vcpu *v, u8 vector, bool has_error, u32 error_code, u64 cr2))
/*
 * Boot CPU only: end the next run after @us of guest time with the CPU's
 * own timer (VMX preemption timer); false when there is none, and the
 * local APIC timer serves.
 */
VENDOR_OP(OPTIONAL, bool, set_slice, (struct vcpu *v, u32 us))
/*
 * Run the vCPU on this CPU until a handler says anything but resume, or a
 * request is pending (then EXIT_TO_MONITOR).
 */
VENDOR_OP(OPTIONAL, enum exit_action, vcpu_run, (struct vcpu *v))
