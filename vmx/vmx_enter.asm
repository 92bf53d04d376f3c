; int vmx_enter(struct guest_gprs *g, int launched): one VM entry.
;
; VMX switches no general register: they are loaded from *g before
; VMLAUNCH/VMRESUME and stored back at vmx_exit_point, the host RIP in the
; VMCS; the host RSP field is written here, just before the entry. Returns
; 0 after a VM exit, 1 when the entry instruction failed (the VMCS holds
; the VM-instruction error).

%include "guest_gprs.inc"

VMCS_HOST_RSP	equ 0x6c14

section .text
bits 64
global vmx_enter, vmx_exit_point
vmx_enter:
	HOST_SAVE
	push rdi			; the gprs pointer, for after the exit
	mov eax, VMCS_HOST_RSP
	vmwrite rax, rsp
	mov r15d, esi			; launched?
	GPRS_LOAD_COMMON rdi
	mov rsi, [rdi + GPR_RSI]
	mov rax, [rdi + GPR_RAX]
	test r15d, r15d
	mov r15, [rdi + GPR_R15]
	mov rdi, [rdi + GPR_RDI]
	jnz .resume
	vmlaunch
	jmp .failed
.resume:
	vmresume
.failed:				; the entry did not happen
	pop rdi
	mov eax, 1
	jmp enter_out

vmx_exit_point:
	push rdi			; the guest's
	mov rdi, [rsp + 8]
	GPRS_STORE_COMMON rdi
	mov [rdi + GPR_RSI], rsi
	mov [rdi + GPR_R15], r15
	mov [rdi + GPR_RAX], rax
	pop rax
	mov [rdi + GPR_RDI], rax
	pop rdi
	xor eax, eax
enter_out:
	HOST_RESTORE
	ret
