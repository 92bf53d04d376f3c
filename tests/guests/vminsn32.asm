; A raw32 test guest: the VMX and SVM instructions raise #UD in a VM.
; Lamina offers neither extension to its guests (CPUID hides both), so
; each one must fault: on an AMD host the VMX ones are #UD because the CPU
; lacks them and the SVM ones because Lamina intercepts them and injects
; #UD; on an Intel host the other way round. Either way: one #UD per
; instruction, and the guest goes on.
;
; The guest has its own GDT and an IDT with a gate for each of the 32
; exception vectors. Before each instruction it stores the address right
; after it in `resume`; whatever exception comes, the handler counts it
; (#UD apart from the others) and returns to `resume`, so each
; instruction is stepped over by its exact length and a wrong exception
; is a FAIL line, not a triple fault.
bits 32
org 0x100000

%include "desc32.inc"

start:
	mov esp, stack_top
	xor ebp, ebp				; failures
	FLAT_SEGMENTS
	call fill_idt
	lidt [idtr]

	; %1: the instruction (one line); %2: its message. Runs it with
	; `resume` pointing just past it, then reports "exactly one #UD and
	; no other exception".
%macro expect_ud 2
	mov dword [resume], %%after
	%1
%%after:
	mov esi, %2
	call check_one_ud
%endmacro

	; VMX (Intel): each one exits to Lamina on an Intel host
	xor eax, eax
	xor ebx, ebx
	expect_ud {vmxon [vmx_ptr]}, msg_vmxon
	expect_ud {vmxoff}, msg_vmxoff
	expect_ud {vmread eax, ebx}, msg_vmread	; field EBX into EAX
	expect_ud {vmwrite ebx, eax}, msg_vmwrite	; EAX into field EBX
	expect_ud {vmptrld [vmx_ptr]}, msg_vmptrld
	expect_ud {vmclear [vmx_ptr]}, msg_vmclear
	expect_ud {vmlaunch}, msg_vmlaunch
	expect_ud {vmresume}, msg_vmresume
	mov eax, 2				; all-context INVEPT
	expect_ud {invept eax, [invept_desc]}, msg_invept

	; SVM (AMD): each one exits to Lamina on an AMD host. The address
	; operand in EAX points at an unused page, in case one ran for real.
	mov eax, vmcb_page
	expect_ud {vmrun}, msg_vmrun		; 0f 01 d8
	expect_ud {vmload}, msg_vmload		; 0f 01 da
	expect_ud {vmsave}, msg_vmsave		; 0f 01 db
	expect_ud {stgi}, msg_stgi		; 0f 01 dc
	expect_ud {clgi}, msg_clgi		; 0f 01 dd
	expect_ud {db 0x0f, 0x01, 0xde}, msg_skinit	; SKINIT (EAX: the SLB); nasm
						; knows it in 64-bit code only
	xor ecx, ecx				; ASID 0 for INVLPGA
	expect_ud {invlpga}, msg_invlpga	; 0f 01 df

	mov esi, msg_done
	call puts
	mov eax, ebp				; 0 when every check passed
	out 0xf4, eax
	hlt					; not reached: the VM has stopped

; ZF set (pass) when exactly one #UD and no other exception came since
; the last call; resets the counts. ESI: the message.
check_one_ud:
	mov eax, [ud_count]
	mov edx, [other_count]
	mov dword [ud_count], 0
	mov dword [other_count], 0
	test edx, edx
	jnz .no
	cmp eax, 1
	jne .no
	jmp report				; ZF set: pass
.no:	mov [fail_ud], eax
	mov [fail_other], edx
	test esp, esp				; ZF clear: fail
	call report
	mov esi, msg_counts			; then what came instead
	call puts
	mov eax, [fail_ud]
	call puthex
	mov esi, msg_other
	call puts
	mov eax, [fail_other]
	call puthex
	mov esi, msg_vector
	call puts
	mov eax, [other_vector]
	call puthex
	mov esi, msg_nl
	jmp puts
; IDT: vector v's gate points at stub v, an interrupt gate in segment 8.
fill_idt:
	xor ecx, ecx
.next:	mov eax, [stubs + ecx * 4]
	SET_GATE ecx
	inc ecx
	cmp ecx, 32
	jb .next
	ret

; The exception stubs: the CPU pushes an error code for vectors 8, 10-14,
; 17, 21, 29 and 30; the others push a zero instead, so that the common
; part sees the same frame: vector, error code, EIP, CS, EFLAGS.
%macro stub 1
stub_%1:
%if %1 != 8 && (%1 < 10 || %1 > 14) && %1 != 17 && %1 != 21 && %1 != 29 && %1 != 30
	push dword 0
%endif
	push dword %1
	jmp exception
%endmacro
%assign v 0
%rep 32
	stub v
%assign v v + 1
%endrep

exception:
	push eax
	mov eax, [esp + 4]			; the vector
	cmp eax, 6
	jne .other
	inc dword [ud_count]
	jmp .back
.other:	inc dword [other_count]
	mov [other_vector], eax
.back:	mov eax, [resume]			; step over the instruction
	mov [esp + 12], eax			; the saved EIP
	pop eax
	add esp, 8				; vector, error code
	iretd

%include "report32.inc"

align 4
stubs:
%assign v 0
%rep 32
	dd stub_ %+ v
%assign v v + 1
%endrep

DESC32_TABLES

resume:		dd 0
ud_count:	dd 0
other_count:	dd 0
other_vector:	dd 0
fail_ud:	dd 0
fail_other:	dd 0
msg_counts:	db "  #UD count ", 0
msg_other:	db ", other exceptions ", 0
msg_vector:	db ", last other vector ", 0
msg_nl:		db 10, 0
align 8
vmx_ptr:	dq vmx_region			; VMXON/VMPTRLD/VMCLEAR: m64 = its address
align 16
invept_desc:	dq 0, 0				; INVEPT descriptor: EPTP, reserved

msg_vmxon:	db "vmxon raises #UD", 10, 0
msg_vmxoff:	db "vmxoff raises #UD", 10, 0
msg_vmread:	db "vmread raises #UD", 10, 0
msg_vmwrite:	db "vmwrite raises #UD", 10, 0
msg_vmptrld:	db "vmptrld raises #UD", 10, 0
msg_vmclear:	db "vmclear raises #UD", 10, 0
msg_vmlaunch:	db "vmlaunch raises #UD", 10, 0
msg_vmresume:	db "vmresume raises #UD", 10, 0
msg_invept:	db "invept raises #UD", 10, 0
msg_vmrun:	db "vmrun raises #UD", 10, 0
msg_vmload:	db "vmload raises #UD", 10, 0
msg_vmsave:	db "vmsave raises #UD", 10, 0
msg_stgi:	db "stgi raises #UD", 10, 0
msg_clgi:	db "clgi raises #UD", 10, 0
msg_skinit:	db "skinit raises #UD", 10, 0
msg_invlpga:	db "invlpga raises #UD", 10, 0
msg_done:	db "SUMMARY: done", 10, 0

align 4
		times 256 dd 0
stack_top:
; Pages the VMX and SVM instructions name: a would-be VMXON region / VMCS
; (its first dword a revision id of 0) and a would-be VMCB.
align 4096
vmx_region:	times 4096 db 0
vmcb_page:	times 4096 db 0
