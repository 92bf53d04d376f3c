; Interrupt and exception entry stubs. Every vector pushes a zero error code
; where the CPU does not push one, then its number, and jumps to the common
; path that saves the registers as a struct regs (include/lamina/regs.h)
; and calls interrupt_dispatch(struct regs *).

extern interrupt_dispatch

section .text
%macro STUB 1
isr_%1:
%if !(%1 == 8 || (%1 >= 10 && %1 <= 14) || %1 == 17 || %1 == 21 || %1 == 29 || %1 == 30)
	push 0
%endif
	push %1
	jmp isr_common
%endmacro

%assign i 0
%rep 256
	STUB i
%assign i i + 1
%endrep

isr_common:
	push rax
	push rbx
	push rcx
	push rdx
	push rsi
	push rdi
	push rbp
	push r8
	push r9
	push r10
	push r11
	push r12
	push r13
	push r14
	push r15
	mov rdi, rsp
	; Link the frame into the backtrace: the faulting RIP and RBP.
	push qword [rsp + 17 * 8]	; regs->rip
	push rbp
	mov rbp, rsp
	cld
	call interrupt_dispatch
	add rsp, 16
	pop r15
	pop r14
	pop r13
	pop r12
	pop r11
	pop r10
	pop r9
	pop r8
	pop rbp
	pop rdi
	pop rsi
	pop rdx
	pop rcx
	pop rbx
	pop rax
	add rsp, 16		; vector and error code
	iretq

; nmi_unblock(): an IRETQ to the next instruction, on the current stack
; and segments, with interrupts still off. A VM exit caused by an NMI
; leaves NMIs blocked as if one had been delivered (SDM 27.1), and only
; an IRET unblocks them: without one, a later NMI (vcpu_kick's) would
; wait until some interrupt handler happens to return, which on a CPU
; idling in HLT with interrupts off to the guest may be never.
global nmi_unblock
nmi_unblock:
	mov rax, rsp		; as it was at entry: the return address on top
	mov ecx, ss
	push rcx
	push rax
	pushfq
	mov ecx, cs
	push rcx
	lea rax, [rel .done]
	push rax
	iretq
.done:	ret

section .rodata
global isr_table
isr_table:
%assign i 0
%rep 256
	dq isr_ %+ i
%assign i i + 1
%endrep

section .text
; void regs_capture(struct regs *r): the caller's registers, RIP = the
; return address, so panic() can print a frame without an exception.
global regs_capture
regs_capture:
	mov [rdi + 0 * 8], r15
	mov [rdi + 1 * 8], r14
	mov [rdi + 2 * 8], r13
	mov [rdi + 3 * 8], r12
	mov [rdi + 4 * 8], r11
	mov [rdi + 5 * 8], r10
	mov [rdi + 6 * 8], r9
	mov [rdi + 7 * 8], r8
	mov [rdi + 8 * 8], rbp
	mov [rdi + 9 * 8], rdi
	mov [rdi + 10 * 8], rsi
	mov [rdi + 11 * 8], rdx
	mov [rdi + 12 * 8], rcx
	mov [rdi + 13 * 8], rbx
	mov [rdi + 14 * 8], rax
	mov qword [rdi + 15 * 8], 0	; vector
	mov qword [rdi + 16 * 8], 0	; error
	mov rax, [rsp]
	mov [rdi + 17 * 8], rax		; rip
	mov ax, cs
	movzx eax, ax
	mov [rdi + 18 * 8], rax
	pushfq
	pop rax
	mov [rdi + 19 * 8], rax
	lea rax, [rsp + 8]
	mov [rdi + 20 * 8], rax
	mov ax, ss
	movzx eax, ax
	mov [rdi + 21 * 8], rax
	mov rax, [rdi + 14 * 8]
	ret
