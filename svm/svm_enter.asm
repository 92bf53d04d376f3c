; svm_enter(u64 vmcb_pa, struct guest_gprs *g): one VMRUN.
;
; VMRUN switches RAX, RSP, RIP and RFLAGS (from the VMCB) and the host
; state; every other general register is the guest's in between, so this
; loads them from *g before and stores them back after. The guest runs
; with GIF=0 around it and host IF=1, so a physical interrupt makes the
; guest exit and is taken by Lamina's own handler at STGI (PLATFORM.md).
; Layout of struct guest_gprs: include/lamina/vcpu.h.

section .text
bits 64
global svm_enter
svm_enter:
	push rbx
	push rbp
	push r12
	push r13
	push r14
	push r15
	push rsi			; the gprs pointer, for after the exit
	mov rax, rdi
	mov rbx, [rsi + 0 * 8]
	mov rcx, [rsi + 1 * 8]
	mov rdx, [rsi + 2 * 8]
	mov rdi, [rsi + 4 * 8]
	mov rbp, [rsi + 5 * 8]
	mov r8,  [rsi + 6 * 8]
	mov r9,  [rsi + 7 * 8]
	mov r10, [rsi + 8 * 8]
	mov r11, [rsi + 9 * 8]
	mov r12, [rsi + 10 * 8]
	mov r13, [rsi + 11 * 8]
	mov r14, [rsi + 12 * 8]
	mov r15, [rsi + 13 * 8]
	mov rsi, [rsi + 3 * 8]
	clgi
	sti
	vmrun			; the VMCB address in RAX
	push rsi			; the guest's
	mov rsi, [rsp + 8]
	mov [rsi + 0 * 8], rbx
	mov [rsi + 1 * 8], rcx
	mov [rsi + 2 * 8], rdx
	mov [rsi + 4 * 8], rdi
	mov [rsi + 5 * 8], rbp
	mov [rsi + 6 * 8], r8
	mov [rsi + 7 * 8], r9
	mov [rsi + 8 * 8], r10
	mov [rsi + 9 * 8], r11
	mov [rsi + 10 * 8], r12
	mov [rsi + 11 * 8], r13
	mov [rsi + 12 * 8], r14
	mov [rsi + 13 * 8], r15
	pop rax
	mov [rsi + 3 * 8], rax
	stgi				; a pending interrupt is taken here
	cli
	pop rsi
	pop r15
	pop r14
	pop r13
	pop r12
	pop rbp
	pop rbx
	ret
