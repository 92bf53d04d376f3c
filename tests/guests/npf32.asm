; A raw32 test guest that reads guest-physical memory no slot holds. The
; VM must crash with a nested page fault report naming the address.
bits 32
org 0x100000
	mov esi, msg
	mov dx, 0x3f8
.next:	lodsb
	test al, al
	jz .read
	out dx, al
	jmp .next
.read:	mov eax, [0x40000000]
	hlt
msg:	db "reading outside every slot", 10, 0
