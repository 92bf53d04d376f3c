; A raw32 guest with paging on for string I/O that runs into an unmapped
; page: Lamina must do the elements before the page, then raise #PF in the
; guest (CR2, error code) with RCX/RSI/RDI where the CPU would leave them,
; so the REP instruction can be resumed. 32-bit paging with one 4 MiB page
; (PSE) maps 0-4 MiB; 4-8 MiB is not mapped.
bits 32
org 0x100000

%include "desc32.inc"

EDGE	equ 0x400000			; the first unmapped byte
NOWHERE	equ 0x80			; a port with no device

start:
	mov esp, stack_top
	xor ebp, ebp
	FLAT_SEGMENTS
	mov eax, pf_handler
	SET_GATE 14
	lidt [idtr]
	mov eax, page_dir			; paging on
	mov cr3, eax
	mov eax, cr4
	or eax, 0x10				; PSE: 4 MiB pages
	mov cr4, eax
	mov eax, cr0
	or eax, 0x80000000
	mov cr0, eax

	; OUTS: 3 bytes before the edge go out, the 4th read faults.
	mov esi, EDGE - 3
	mov ecx, 6
	mov dx, NOWHERE
	mov dword [resume], .outs_done
	cld
	rep outsb
.outs_done:
	mov [left_ecx], ecx
	mov [left_ptr], esi
	mov eax, 0				; read, not present, supervisor
	call check_pf
	cmp dword [left_ecx], 3
	mov esi, msg_outs_ecx
	call report
	cmp dword [left_ptr], EDGE
	mov esi, msg_outs_esi
	call report

	; INS: 1 byte lands before the edge, the 2nd write faults.
	mov byte [EDGE - 1], 0
	mov edi, EDGE - 1
	mov ecx, 2
	mov dx, NOWHERE
	mov dword [resume], .ins_done
	rep insb
.ins_done:
	mov [left_ecx], ecx
	mov [left_ptr], edi
	mov eax, 2				; write, not present, supervisor
	call check_pf
	cmp dword [left_ecx], 1
	mov esi, msg_ins_ecx
	call report
	cmp dword [left_ptr], EDGE
	mov esi, msg_ins_edi
	call report
	cmp byte [EDGE - 1], 0xff		; no device: the byte read 0xff
	mov esi, msg_ins_byte
	call report

	mov esi, msg_done
	call puts
	mov eax, ebp
	out 0xf4, eax
	hlt

; Checks one #PF was taken with CR2 = EDGE and error code EAX.
check_pf:
	push eax
	cmp dword [pf_count], 1
	mov esi, msg_pf
	call report
	cmp dword [pf_cr2], EDGE
	mov esi, msg_cr2
	call report
	pop eax
	cmp [pf_error], eax
	mov esi, msg_err
	call report
	mov dword [pf_count], 0
	ret

; #PF: note CR2 and the error code, continue after the faulting REP.
pf_handler:
	push eax
	mov eax, cr2
	mov [pf_cr2], eax
	mov eax, [esp + 4]			; the error code
	mov [pf_error], eax
	inc dword [pf_count]
	mov eax, [resume]
	mov [esp + 8], eax			; the return EIP
	pop eax
	add esp, 4				; drop the error code
	iretd

%include "report32.inc"

DESC32_TABLES
pf_count:	dd 0
pf_cr2:		dd 0
pf_error:	dd 0
left_ecx:	dd 0
left_ptr:	dd 0
resume:		dd 0
msg_pf:		db "string I/O into an unmapped page raises #PF", 10, 0
msg_cr2:	db "#PF CR2 is the first unmapped byte", 10, 0
msg_err:	db "#PF error code says read/write, not present", 10, 0
msg_outs_ecx:	db "OUTS: ECX counts the 3 bytes done", 10, 0
msg_outs_esi:	db "OUTS: ESI stops at the unmapped page", 10, 0
msg_ins_ecx:	db "INS: ECX counts the byte done", 10, 0
msg_ins_edi:	db "INS: EDI stops at the unmapped page", 10, 0
msg_ins_byte:	db "INS: the byte before the page was written", 10, 0
msg_done:	db "SUMMARY: done", 10, 0
align 4
		times 128 dd 0
stack_top:
align 4096
page_dir:	dd 0x00000083			; 0-4 MiB: present, writable, 4 MiB
		times 1023 dd 0
