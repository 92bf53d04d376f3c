; svm_enter(u64 vmcb_pa, struct guest_gprs *g): one VMRUN.
;
; VMRUN switches RAX, RSP, RIP and RFLAGS (from the VMCB) and the host
; state; every other general register is the guest's in between, so this
; loads them from *g before and stores them back after. The guest runs
; with GIF=0 around it and host IF=1, so a physical interrupt makes the
; guest exit and is taken by Lamina's own handler at STGI (PLATFORM.md).

%include "guest_gprs.inc"

section .text
bits 64
global svm_enter
svm_enter:
	HOST_SAVE
	push rsi			; the gprs pointer, for after the exit
	mov rax, rdi
	GPRS_LOAD_COMMON rsi
	mov rdi, [rsi + GPR_RDI]
	mov r15, [rsi + GPR_R15]
	mov rsi, [rsi + GPR_RSI]
	clgi
	sti
	vmrun				; the VMCB address in RAX
	push rsi			; the guest's
	mov rsi, [rsp + 8]
	GPRS_STORE_COMMON rsi
	mov [rsi + GPR_RDI], rdi
	mov [rsi + GPR_R15], r15
	pop rax
	mov [rsi + GPR_RSI], rax
	stgi				; a pending interrupt is taken here
	cli
	pop rsi
	HOST_RESTORE
	ret
