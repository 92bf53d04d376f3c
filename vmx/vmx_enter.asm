; int vmx_enter(struct guest_gprs *g, int launched): one VM entry.
;
; VMX switches no general register: they are loaded from *g before
; VMLAUNCH/VMRESUME and stored back at vmx_exit_point, the host RIP in the
; VMCS; the host RSP field is written here, just before the entry. Returns
; 0 after a VM exit, 1 when the entry instruction failed (the VMCS holds
; the VM-instruction error). Layout of struct guest_gprs: vcpu.h.

VMCS_HOST_RSP	equ 0x6c14

section .text
bits 64
global vmx_enter, vmx_exit_point
vmx_enter:
	push rbx
	push rbp
	push r12
	push r13
	push r14
	push r15
	push rdi			; the gprs pointer, for after the exit
	mov eax, VMCS_HOST_RSP
	vmwrite rax, rsp
	mov r15d, esi			; launched?
	mov rbx, [rdi + 0 * 8]
	mov rcx, [rdi + 1 * 8]
	mov rdx, [rdi + 2 * 8]
	mov rsi, [rdi + 3 * 8]
	mov rbp, [rdi + 5 * 8]
	mov r8,  [rdi + 6 * 8]
	mov r9,  [rdi + 7 * 8]
	mov r10, [rdi + 8 * 8]
	mov r11, [rdi + 9 * 8]
	mov r12, [rdi + 10 * 8]
	mov r13, [rdi + 11 * 8]
	mov r14, [rdi + 12 * 8]
	mov rax, [rdi + 14 * 8]
	test r15d, r15d
	mov r15, [rdi + 13 * 8]
	mov rdi, [rdi + 4 * 8]
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
	mov [rdi + 0 * 8], rbx
	mov [rdi + 1 * 8], rcx
	mov [rdi + 2 * 8], rdx
	mov [rdi + 3 * 8], rsi
	mov [rdi + 5 * 8], rbp
	mov [rdi + 6 * 8], r8
	mov [rdi + 7 * 8], r9
	mov [rdi + 8 * 8], r10
	mov [rdi + 9 * 8], r11
	mov [rdi + 10 * 8], r12
	mov [rdi + 11 * 8], r13
	mov [rdi + 12 * 8], r14
	mov [rdi + 13 * 8], r15
	mov [rdi + 14 * 8], rax
	pop rax
	mov [rdi + 4 * 8], rax
	pop rdi
	xor eax, eax
enter_out:
	pop r15
	pop r14
	pop r13
	pop r12
	pop rbp
	pop rbx
	ret
