; A raw32 test guest: flat 32-bit protected mode, paging off, entered at
; 0x100000 (the boot kind raw32 in docs/config.md). It reports PASS/FAIL
; lines on its UART at 0x3f8 and ends through the debug-exit port 0xf4
; with the number of failures (0 = all passed).
bits 32
org 0x100000

UART	equ 0x3f8
DEBUG_EXIT equ 0xf4

start:
	mov esp, stack_top
	xor ebp, ebp			; failures

	mov esi, msg_hello
	call puts

	mov eax, 1			; CPUID: the hypervisor bit is set...
	cpuid
	test ecx, 1 << 31
	mov esi, msg_hv_bit
	call report_nz
	mov eax, 1			; ...and neither VMX nor SVM is offered
	cpuid
	and ecx, 1 << 5
	mov esi, msg_no_vmx
	call report
	mov eax, 0x80000001
	cpuid
	and ecx, 1 << 2
	mov esi, msg_no_svm
	call report
	mov eax, 0x40000000		; the signature leaf
	cpuid
	cmp ebx, 'Lami'
	sete al
	movzx eax, al
	test eax, eax
	mov esi, msg_sig
	call report_nz

	mov dx, 0x80			; a port nobody owns reads all ones
	in al, dx
	cmp al, 0xff
	sete al
	movzx eax, al
	test eax, eax
	mov esi, msg_float
	call report_nz

	mov dword [pattern], 0x5a5aa5a5	; RAM is RAM
	cmp dword [pattern], 0x5a5aa5a5
	sete al
	movzx eax, al
	test eax, eax
	mov esi, msg_ram
	call report_nz

	mov esi, msg_done
	call puts
	mov eax, ebp
	out DEBUG_EXIT, eax
	hlt				; not reached: the VM has stopped

%include "report32.inc"

msg_hello:	db "hello from a raw32 guest", 10, 0
msg_hv_bit:	db "cpuid hypervisor bit", 10, 0
msg_no_vmx:	db "cpuid hides VMX", 10, 0
msg_no_svm:	db "cpuid hides SVM", 10, 0
msg_sig:	db "cpuid 0x40000000 signature", 10, 0
msg_float:	db "unowned port reads 0xff", 10, 0
msg_ram:	db "RAM read back", 10, 0
msg_done:	db "SUMMARY: done", 10, 0

align 4
pattern:	dd 0
		times 256 dd 0
stack_top:
