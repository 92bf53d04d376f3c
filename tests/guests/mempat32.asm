; A raw32 test guest: all of the VM's RAM is there and is its own. The VM
; has 17 MiB in two regions, [0, 1M) and [1M, 17M), the guest's image at
; the start of the second one. The guest writes a pattern that depends on
; the address (addr ^ 0x5a5aa5a5) into every dword it does not occupy
; itself: all of region 0 and region 1 from the end of its image and stack
; on. Only once everything is written does it read everything back, so a
; page mapped twice (two GPAs on one host page), a page not backed, or a
; page that drops writes shows as a mismatch. One PASS line per region; a
; failure also prints the first address that did not match.
;
; Nothing is mapped from 17 MiB on: the guest never touches it (a read
; there would crash the VM with a nested page fault).
bits 32
org 0x100000

PATTERN	equ 0x5a5aa5a5
R0_START equ 0
R0_END	equ 0x100000
R1_END	equ 0x1100000				; 17 MiB: the end of RAM

start:
	mov esp, stack_top
	xor ebp, ebp				; failures

	; Write both regions, then verify both.
	mov edi, R0_START
	mov ecx, R0_END
	call fill
	mov edi, r1_start
	mov ecx, R1_END
	call fill

	mov esi, R0_START
	mov ecx, R0_END
	call verify
	mov esi, msg_r0
	call report_mismatch

	mov esi, r1_start
	mov ecx, R1_END
	call verify
	mov esi, msg_r1
	call report_mismatch

	mov esi, msg_done
	call puts
	mov eax, ebp				; 0 when every check passed
	out 0xf4, eax
	hlt					; not reached: the VM has stopped

; fill: every dword from EDI up to ECX (exclusive) gets addr ^ PATTERN.
fill:
.next:	mov eax, edi
	xor eax, PATTERN
	mov [edi], eax
	add edi, 4
	cmp edi, ecx
	jb .next
	ret

; verify: compare every dword from ESI up to ECX (exclusive) with
; addr ^ PATTERN. Returns EAX = 0 if all match, otherwise EAX = 1 and
; EDX = the first address that differs.
verify:
.next:	mov eax, esi
	xor eax, PATTERN
	cmp [esi], eax
	jne .bad
	add esi, 4
	cmp esi, ecx
	jb .next
	xor eax, eax
	ret
.bad:	mov edx, esi
	mov eax, 1
	ret

; report_mismatch: the verdict for one region from verify's result (EAX,
; EDX), message at ESI; on a mismatch also the address and what it held.
report_mismatch:
	mov [bad_addr], edx
	test eax, eax				; ZF set: all matched
	jnz .fail
	jmp report
.fail:	call report
	mov esi, msg_first
	call puts
	mov eax, [bad_addr]
	call puthex
	mov esi, msg_held
	call puts
	mov eax, [bad_addr]
	mov eax, [eax]
	call puthex
	mov esi, msg_nl
	jmp puts
%include "report32.inc"

msg_r0:		db "region 0 [0, 0x100000) holds its address pattern", 10, 0
msg_r1:		db "region 1 [image end, 0x1100000) holds its address pattern", 10, 0
msg_first:	db "  first mismatch at ", 0
msg_held:	db ", which holds ", 0
msg_nl:		db 10, 0
msg_done:	db "SUMMARY: done", 10, 0

align 4
bad_addr:	dd 0
		times 256 dd 0
stack_top:
align 4096
r1_start:					; the rest of region 1 is the pattern's
