; A raw32 test guest that triple-faults: no IDT, then an invalid opcode.
; The VM must end up crashed, and nothing else disturbed.
bits 32
org 0x100000
	mov esi, msg
	mov dx, 0x3f8
.next:	lodsb
	test al, al
	jz .fault
	out dx, al
	jmp .next
.fault:	lidt [null_idt]
	ud2
null_idt:
	dw 0
	dd 0
msg:	db "about to triple-fault", 10, 0
