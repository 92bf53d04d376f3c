; A raw32 test guest for string port I/O (INS/OUTS), which Lamina
; emulates: REP, DF = 1, a segment override on OUTS, a count of 0. Reads
; come from port 0x80, where nothing is (each byte reads 0xff), and from
; the fw_cfg data port (0x511). Two lines go out through REP OUTSB, not
; through the PASS/FAIL routine; the test looks for them in the console
; log:
;   "strio: printed by rep outsb"
;   "strio: printed by rep fs outsb"
; and a "FAIL: ..." line shows up if an OUTSB reads the wrong bytes.
bits 32
org 0x100000

%include "desc32.inc"

UART	equ 0x3f8
NOBODY	equ 0x80				; an unowned port: reads 0xff
FW_CFG_SEL equ 0x510
FW_CFG_DATA equ 0x511
FS_BASE	equ 0x10000				; the base of the FS segment
FS_OFF	equ 0x2000				; where its string is, FS-relative

start:
	mov esp, stack_top
	xor ebp, ebp				; failures
	cld
	FLAT_SEGMENTS

	; 1. REP OUTSB of a whole line to the UART: it is printed (the test
	; checks the console log), ESI ends past it, ECX at 0.
	mov esi, line_rep
	mov ecx, line_rep_len
	mov dx, UART
	rep outsb
	test ecx, ecx
	jnz .bad1
	cmp esi, line_rep + line_rep_len
.bad1:	mov esi, msg_outsb
	call report

	; 2. REP INSB of 8 bytes from port 0x80 into a zeroed buffer: 8
	; bytes of 0xff, the guard byte after them untouched, ECX 0, EDI + 8.
	call clear_buf
	mov edi, buf
	mov ecx, 8
	mov dx, NOBODY
	rep insb
	mov [saved_ecx], ecx
	mov [saved_edi], edi
	cmp dword [buf], 0xffffffff
	jne .bad2
	cmp dword [buf + 4], 0xffffffff
	jne .bad2
	cmp byte [buf + 8], 0
.bad2:	mov esi, msg_insb
	call report
	cmp dword [saved_ecx], 0
	jne .bad3
	cmp dword [saved_edi], buf + 8
.bad3:	mov esi, msg_insb_regs
	call report

	; 3. INSW and INSD (no REP): a word of 0xffff and a dword of
	; 0xffffffff, EDI moved by 2 and by 4, nothing written past them.
	call clear_buf
	mov edi, buf
	mov dx, NOBODY
	insw
	cmp edi, buf + 2
	jne .bad4
	cmp word [buf], 0xffff
	jne .bad4
	cmp word [buf + 2], 0
.bad4:	mov esi, msg_insw
	call report
	call clear_buf
	mov edi, buf
	mov dx, NOBODY
	insd
	cmp edi, buf + 4
	jne .bad5
	cmp dword [buf], 0xffffffff
	jne .bad5
	cmp dword [buf + 4], 0
.bad5:	mov esi, msg_insd
	call report

	; 4. DF = 1: REP INSB of 4 bytes stores at EDI, EDI - 1, EDI - 2,
	; EDI - 3 and leaves EDI 4 lower; the bytes on either side stay 0.
	call clear_buf
	mov edi, buf + 7
	mov ecx, 4
	mov dx, NOBODY
	std
	rep insb
	cld
	cmp edi, buf + 3
	jne .bad6
	test ecx, ecx
	jne .bad6
	cmp byte [buf + 3], 0			; below the four
	jne .bad6
	cmp dword [buf + 4], 0xffffffff		; buf+4 .. buf+7
	jne .bad6
	cmp byte [buf + 8], 0			; above them
.bad6:	mov esi, msg_std
	call report

	; 5. A segment override: FS has base 0x10000 (GDT entry 0x18). Its
	; line sits at linear FS_BASE + FS_OFF; linear FS_OFF (where an
	; OUTSB ignoring the override would read) holds a FAIL line instead.
	mov esi, line_fs
	mov edi, FS_BASE + FS_OFF
	mov ecx, line_fs_len
	rep movsb
	mov esi, line_nofs
	mov edi, FS_OFF
	mov ecx, line_fs_len			; the same length: one line
	rep movsb
	mov ax, 0x18
	mov fs, ax
	mov esi, FS_OFF
	mov ecx, line_fs_len
	mov dx, UART
	rep fs outsb
	test ecx, ecx
	jnz .bad7
	cmp esi, FS_OFF + line_fs_len
.bad7:	mov esi, msg_fs
	call report

	; 6. REP OUTSB with ECX = 0 does nothing: ECX stays 0, ESI stays, and
	; nothing is printed (a stray byte from line_zero would start the
	; next line, which is then no longer a "PASS: " line).
	mov esi, line_zero
	xor ecx, ecx
	mov dx, UART
	rep outsb
	test ecx, ecx
	jnz .bad8
	cmp esi, line_zero
.bad8:	mov esi, msg_zero
	call report

	; 7. REP INSB from the fw_cfg data port after selecting item 0
	; (the signature): "QEMU".
	mov dx, FW_CFG_SEL
	xor eax, eax
	out dx, ax
	call clear_buf
	mov edi, buf
	mov ecx, 4
	mov dx, FW_CFG_DATA
	rep insb
	cmp dword [buf], 'QEMU'
	jne .bad9
	cmp edi, buf + 4
.bad9:	mov esi, msg_fwcfg
	call report

	mov esi, msg_done
	call puts
	mov eax, ebp				; 0 when every check passed
	out 0xf4, eax
	hlt					; not reached: the VM has stopped

; clear_buf: the 16-byte buffer to 0 (clobbers EAX, ECX, EDI)
clear_buf:
	mov edi, buf
	mov ecx, 4
	xor eax, eax
	rep stosd
	ret

%include "report32.inc"

align 8
gdt:	dq 0
	dq 0x00cf9a000000ffff			; 0x08: flat 32-bit code
	dq 0x00cf92000000ffff			; 0x10: flat data
	dq 0x00cf92010000ffff			; 0x18: data, base 0x10000
gdtr:	dw 4 * 8 - 1
	dd gdt

line_rep:	db "strio: printed by rep outsb", 10
line_rep_len	equ $ - line_rep
line_fs:	db "strio: printed by rep fs outsb", 10
line_fs_len	equ $ - line_fs
line_nofs:	db "FAIL: rep fs outsb ignored FS"	; as long as line_fs
		times line_fs_len - 1 - ($ - line_nofs) db ' '
		db 10
line_zero:	db "FAIL: rep outsb with ECX 0 wrote", 10, 0

msg_outsb:	db "rep outsb leaves ECX 0 and ESI past the line", 10, 0
msg_insb:	db "rep insb of 8 bytes from port 0x80 reads 0xff", 10, 0
msg_insb_regs:	db "rep insb leaves ECX 0 and EDI + 8", 10, 0
msg_insw:	db "insw from port 0x80 reads 0xffff, EDI + 2", 10, 0
msg_insd:	db "insd from port 0x80 reads 0xffffffff, EDI + 4", 10, 0
msg_std:	db "rep insb with DF=1 fills downwards, EDI - 4", 10, 0
msg_fs:		db "rep fs outsb reads through the FS base", 10, 0
msg_zero:	db "rep outsb with ECX 0 does nothing", 10, 0
msg_fwcfg:	db "rep insb from fw_cfg item 0 reads 'QEMU'", 10, 0
msg_done:	db "SUMMARY: done", 10, 0

align 4
saved_ecx:	dd 0
saved_edi:	dd 0
buf:		times 16 db 0
		times 256 dd 0
stack_top:
