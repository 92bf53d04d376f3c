; A raw32 test guest for the MSR policy: allowed reads return values,
; everything else raises #GP, which this guest catches with its own IDT
; (and GDT, which interrupt delivery needs) and steps over.
bits 32
org 0x100000

%include "desc32.inc"

start:
	mov esp, stack_top
	FLAT_SEGMENTS
	mov eax, gp_handler
	SET_GATE 13
	lidt [idtr]

	mov ecx, 0x10				; IA32_TSC: allowed, moves
	rdmsr
	mov esi, msg_tsc
	call expect_no_gp
	mov ecx, 0x1a0				; IA32_MISC_ENABLE: allowed
	rdmsr
	mov esi, msg_misc
	call expect_no_gp
	mov ecx, 0x179				; IA32_MCG_CAP: no machine checks, denied
	rdmsr
	mov esi, msg_mcg
	call expect_gp
	mov ecx, 0x10				; writing the TSC: denied
	xor eax, eax
	xor edx, edx
	wrmsr
	mov esi, msg_wtsc
	call expect_gp

	mov esi, msg_done
	call puts
	xor eax, eax
	out 0xf4, eax
	hlt

; #GP: count it and step over the 2-byte RDMSR/WRMSR
gp_handler:
	add esp, 4				; the error code
	add dword [esp], 2
	inc dword [gp_count]
	iretd

expect_gp:
	cmp dword [gp_count], 1
	jmp gp_checked
expect_no_gp:
	cmp dword [gp_count], 0
gp_checked:
	mov dword [gp_count], 0
	jmp report

%include "report32.inc"

DESC32_TABLES
gp_count:	dd 0
msg_tsc:	db "rdmsr IA32_TSC allowed", 10, 0
msg_misc:	db "rdmsr IA32_MISC_ENABLE allowed", 10, 0
msg_mcg:	db "rdmsr IA32_MCG_CAP raises #GP", 10, 0
msg_wtsc:	db "wrmsr IA32_TSC raises #GP", 10, 0
msg_done:	db "SUMMARY: done", 10, 0
align 4
		times 128 dd 0
stack_top:
