; svm_enter(u64 vmcb_pa, struct guest_gprs *g, u64 host_pa): one VMRUN.
;
; VMRUN switches RAX, RSP, RIP and RFLAGS (from the VMCB) and the host
; state; every other general register is the guest's in between, so this
; loads them from *g before and stores them back after. VMRUN leaves FS,
; GS, TR, LDTR (with their hidden bases) and the SYSCALL MSRs alone: VMLOAD
; and VMSAVE switch those, the host's kept at host_pa (saved once by
; svm_vcpu_load). GIF stays 0 while the guest's GS is loaded, so no host
; handler runs on it. Host IF=1 around VMRUN: a physical interrupt makes
; the guest exit and is taken by Lamina's own handler at STGI
; (PLATFORM.md).

%include "guest_gprs.inc"

section .text
bits 64
global svm_enter, svm_save_host
svm_enter:
	HOST_SAVE
	push rdx			; the host save area, for after the exit
	push rsi			; the gprs pointer
	mov rax, rdi
	GPRS_LOAD_COMMON rsi
	mov rdi, [rsi + GPR_RDI]
	mov r15, [rsi + GPR_R15]
	mov rsi, [rsi + GPR_RSI]
	clgi
	sti
	vmload				; the guest's FS GS TR LDTR (RAX: the VMCB)
	vmrun
	vmsave				; RAX is the VMCB again after the exit
	push rsi			; the guest's
	mov rsi, [rsp + 8]
	GPRS_STORE_COMMON rsi
	mov [rsi + GPR_RDI], rdi
	mov [rsi + GPR_R15], r15
	pop rax
	mov [rsi + GPR_RSI], rax
	mov rax, [rsp + 8]
	vmload				; the host's back
	stgi				; a pending interrupt is taken here
	cli
	add rsp, 16
	HOST_RESTORE
	ret

; svm_save_host(u64 host_pa): VMSAVE this CPU's own state there.
svm_save_host:
	mov rax, rdi
	vmsave
	ret
