; A raw32 test guest that reads guest-physical memory no slot holds. The
; VM must crash with a nested page fault report naming the address.
bits 32
org 0x100000
	mov esp, 0x100000		; the top of the VM's first megabyte
	mov esi, msg
	call puts
	mov eax, [0x40000000]
	hlt
%include "report32.inc"

msg:	db "reading outside every slot", 10, 0
