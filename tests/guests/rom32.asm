; A raw32 test guest for a read-only region (config flag `readonly`): the
; VM has a 4 KiB ROM at 0x200000 whose image is tests/guests/rom-data.txt
; ("Lamina ROM\n", the rest of the page zero). The guest reads it, prints
; its verdicts and "SUMMARY: done", then writes one byte to the ROM: that
; write must crash the VM with "nested page fault: write at GPA 0x200000".
; Should the write go through or be dropped silently, the guest goes on,
; says FAIL and stops through the debug-exit port with 1.
bits 32
org 0x100000

ROM	equ 0x200000
ROM_SIZE equ 0x1000

start:
	mov esp, stack_top
	xor ebp, ebp				; failures

	; The ROM's first bytes are the image file's.
	mov esi, ROM
	mov edi, rom_text
	mov ecx, rom_text_len
	repe cmpsb				; ZF set: all equal
	mov esi, msg_text
	call report

	; Past the image the page reads zero: the byte right after the text
	; and the ROM's last dword.
	movzx eax, byte [ROM + rom_text_len]
	or eax, [ROM + ROM_SIZE - 4]
	mov esi, msg_zero
	call report

	mov esi, msg_done
	call puts

	; The write: the VM stops here (a nested page fault, a crash).
	mov byte [ROM], 'X'

	; Not reached when Lamina protects the ROM.
	cmp byte [ROM], 'X'
	mov esi, msg_wrote
	je .say
	mov esi, msg_dropped
.say:	test esp, esp				; ZF clear: fail
	call report
	mov eax, 1
	out 0xf4, eax
	hlt

%include "report32.inc"

rom_text:	db "Lamina ROM", 10		; tests/guests/rom-data.txt
rom_text_len	equ $ - rom_text
msg_text:	db "ROM at 0x200000 reads 'Lamina ROM'", 10, 0
msg_zero:	db "ROM past its image reads 0", 10, 0
msg_done:	db "SUMMARY: done", 10, 0
msg_wrote:	db "a write to the ROM changed it and did not stop the VM", 10, 0
msg_dropped:	db "a write to the ROM was dropped and did not stop the VM", 10, 0

align 4
		times 256 dd 0
stack_top:
