; A raw32 guest for `irq VM VECTOR` (KVM_INTERRUPT). Phase 1: with
; interrupts on it halts; each `irq VM 0x40` wakes it through its IDT
; gate. Phase 2: with interrupts off it waits for the monitor to set the
; byte at FLAG (`w VM 0x7000 01`) after an `irq VM 0x41`: that interrupt
; must not arrive while IF=0, and must arrive right after STI.
bits 32
org 0x100000

%include "desc32.inc"

FLAG	equ 0x7000

start:
	mov esp, stack_top
	xor ebp, ebp
	FLAT_SEGMENTS
	mov eax, irq_handler
	SET_GATE 0x40
	mov eax, irq_handler
	SET_GATE 0x41
	lidt [idtr]

	mov esi, msg_ready
	call puts
	sti
.wait:	hlt				; woken by each interrupt
	cmp dword [irq_count], 2
	jb .wait
	cmp byte [last_vector], 0x40
	mov esi, msg_two
	call report

	cli
	mov esi, msg_masked
	call puts
.spin:	cmp byte [FLAG], 1		; the monitor: irq 0x41, then this
	jne .spin
	cmp dword [irq_count], 2	; nothing while IF=0
	mov esi, msg_held
	call report
	sti				; the window opens after the next one
	nop
	nop
	cmp dword [irq_count], 3
	mov esi, msg_after_sti
	call report
	cmp byte [last_vector], 0x41
	mov esi, msg_vector
	call report

	mov esi, msg_done
	call puts
	mov eax, ebp
	out 0xf4, eax
	hlt

; Vectors 0x40 and 0x41: count, remember which (from the gate's stub).
irq_handler:
	push eax
	inc dword [irq_count]
	mov eax, [irq_count]
	cmp eax, 3
	sete al
	add al, 0x40			; the 3rd is 0x41, the first two 0x40
	mov [last_vector], al
	pop eax
	iretd

%include "report32.inc"

DESC32_TABLES
irq_count:	dd 0
last_vector:	db 0
msg_ready:	db "irq: ready, halted with interrupts on", 10, 0
msg_masked:	db "irq: interrupts off, waiting for the flag", 10, 0
msg_two:	db "two interrupts woke the halted vCPU", 10, 0
msg_held:	db "no interrupt while IF=0", 10, 0
msg_after_sti:	db "the held interrupt arrived after STI", 10, 0
msg_vector:	db "it was the vector queued", 10, 0
msg_done:	db "SUMMARY: done", 10, 0
align 4
		times 128 dd 0
stack_top:
