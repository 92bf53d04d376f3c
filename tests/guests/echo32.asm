; A raw32 guest for `console VM`: it echoes what it receives on its UART
; in upper case, prints a burst of 6000 bytes for 'f' (more than the 4 KiB
; the VM's console buffer keeps), and stops for 'q' (debug-exit 0).
bits 32
org 0x100000

COM1	equ 0x3f8
LSR	equ COM1 + 5

start:
	mov esp, stack_top
	mov esi, msg_ready
	call puts
.poll:	mov dx, LSR
	in al, dx
	test al, 1			; data ready?
	jz .poll
	mov dx, COM1
	in al, dx
	cmp al, 'q'
	je .quit
	cmp al, 'f'
	je .flood
	cmp al, 'a'			; lower case to upper case
	jb .echo
	cmp al, 'z'
	ja .echo
	sub al, 'a' - 'A'
.echo:	out dx, al
	jmp .poll

.flood:	mov ecx, 6000 / 60
.line:	mov esi, msg_flood		; 59 characters and a newline
	call puts
	loop .line
	jmp .poll

.quit:	mov esi, msg_bye
	call puts
	xor eax, eax
	out 0xf4, eax
	hlt

%include "report32.inc"

msg_ready:	db "echo ready: type, 'f' floods, 'q' quits", 10, 0
msg_bye:	db "echo: bye", 10, 0
msg_flood:	db "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVW", 10, 0
align 4
		times 64 dd 0
stack_top:
