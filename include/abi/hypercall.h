/*
 * The hypercall ABI: what a guest asks Lamina with VMCALL (Intel) or
 * VMMCALL (AMD). The call number is in RAX, arguments in RBX, RCX, RDX;
 * the result comes back in RAX (negative: -HV_E* error code). A guest
 * picks the instruction from CPUID leaf 0's vendor. Shared by Lamina and
 * test guests; compiles freestanding and hosted.
 *
 * Versioning as for the config blob: the major number changes with any
 * change of meaning, the minor when calls are added.
 */
#ifndef LAMINA_ABI_HYPERCALL_H
#define LAMINA_ABI_HYPERCALL_H

#define HC_ABI_MAJOR 1
#define HC_ABI_MINOR 0

/* RAX = (major << 16) | minor */
#define HC_VERSION 0
/* Write RCX bytes (at most HC_CONSOLE_MAX) at guest-physical RBX to the
 * VM's console. RAX = bytes written. */
#define HC_CONSOLE_WRITE 1
#define HC_CONSOLE_MAX 4096
/* RAX = the VM's id (as `vms` shows it) */
#define HC_VM_ID 2
/* Stop this VM with exit code RBX (as the debug-exit port would). */
#define HC_STOP 3

#endif
