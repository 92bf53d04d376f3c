; A raw32 test guest that halts with interrupts off: it prints "halting
; with interrupts off", then CLI; HLT. Nothing can wake that vCPU, so
; Lamina logs "vm 'halt' vCPU 0: HLT with interrupts off at rip 0x..."
; and leaves the VM running, its vCPU waiting. Should the HLT return
; (Lamina resuming the guest after it), the guest says FAIL and stops
; through the debug-exit port with 1.
bits 32
org 0x100000

start:
	mov esp, stack_top
	xor ebp, ebp				; failures
	mov esi, msg_halting
	call puts
	cli
	hlt					; waits for ever
	test esp, esp				; ZF clear: fail
	mov esi, msg_woke
	call report
	mov eax, 1
	out 0xf4, eax
	hlt

%include "report32.inc"

msg_halting:	db "halting with interrupts off", 10, 0
msg_woke:	db "HLT with interrupts off returned", 10, 0

align 4
		times 256 dd 0
stack_top:
