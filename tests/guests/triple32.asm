; A raw32 test guest that triple-faults: no IDT, then an invalid opcode.
; The VM must end up crashed, and nothing else disturbed.
bits 32
org 0x100000
	mov esp, 0x100000		; the top of the VM's first megabyte
	mov esi, msg
	call puts
	lidt [null_idt]
	ud2
null_idt:
	dw 0
	dd 0
%include "report32.inc"

msg:	db "about to triple-fault", 10, 0
