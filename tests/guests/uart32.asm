; A raw32 test guest for the VM's virtual 16550A UART at 0x3f8: the
; scratch register, the divisor latch behind LCR.DLAB, LSR and IIR at
; rest, FIFO mode, loopback (MCR bit 4: what is sent is received, the
; modem outputs show up as modem status inputs) and a receive FIFO
; overrun.
;
; While DLAB is set or loopback is on, the guest cannot print (bytes to
; 0x3f8 go to the divisor latch or back into its own receiver), so it
; notes each verdict in a table (`note`) and prints the table (`flush`)
; once the UART is back to normal. Nothing sent in loopback may reach the
; console: the test accepts no console line but the PASS lines and the
; summary, so a stray byte would spoil the next line.
bits 32
org 0x100000

COM	equ 0x3f8
RBR	equ COM + 0				; read, DLAB 0
THR	equ COM + 0				; write, DLAB 0
DLL	equ COM + 0				; DLAB 1
IER	equ COM + 1				; DLAB 0
DLM	equ COM + 1				; DLAB 1
IIR	equ COM + 2				; read
FCR	equ COM + 2				; write
LCR	equ COM + 3
MCR	equ COM + 4
LSR	equ COM + 5
MSR	equ COM + 6
SCR	equ COM + 7

LCR_8N1	equ 0x03
LCR_DLAB equ 0x80
MCR_DTR	equ 0x01
MCR_RTS	equ 0x02
MCR_OUT1 equ 0x04
MCR_OUT2 equ 0x08
MCR_LOOP equ 0x10
LSR_DR	equ 0x01
LSR_OE	equ 0x02
LSR_THRE equ 0x20
LSR_TEMT equ 0x40

; outb PORT, VALUE and inb PORT (into AL), through DX
%macro outb 2
	mov dx, %1
	mov al, %2
	out dx, al
%endmacro
%macro inb 1
	mov dx, %1
	in al, dx
%endmacro

start:
	mov esp, stack_top
	xor ebp, ebp				; failures

	; 1. The scratch register holds what was written to it.
	outb SCR, 0xa5
	inb SCR
	cmp al, 0xa5
	jne .bad_scr
	outb SCR, 0x5a
	inb SCR
	cmp al, 0x5a
.bad_scr:
	mov esi, msg_scr
	call note

	; 2. DLAB set: 0x3f8/0x3f9 are the divisor latch (LSB, MSB). Write
	; 0x010c, read it back and LCR too.
	outb LCR, LCR_DLAB | LCR_8N1
	outb DLL, 0x0c
	outb DLM, 0x01
	inb DLL
	cmp al, 0x0c
	jne .bad_dl
	inb DLM
	cmp al, 0x01
	jne .bad_dl
	inb LCR
	cmp al, LCR_DLAB | LCR_8N1
.bad_dl:
	mov esi, msg_dlab
	call note

	; 3. DLAB clear again: LCR reads 0x03, and 0x3f9 is IER (0), not
	; the divisor's MSB (1).
	outb LCR, LCR_8N1
	inb LCR
	cmp al, LCR_8N1
	jne .bad_dlab_off
	inb IER
	cmp al, 0
.bad_dlab_off:
	mov esi, msg_dlab_off
	call note

	; 4. The divisor 0x000c (9600 baud): MSB 0 reads back, LSB kept.
	outb LCR, LCR_DLAB | LCR_8N1
	outb DLM, 0x00
	inb DLM
	mov bl, al
	inb DLL
	mov bh, al
	outb LCR, LCR_8N1
	cmp bx, 0x0c00				; BH = DLL, BL = DLM
	mov esi, msg_div
	call note
	call flush				; DLAB clear: printing works

	; 5. LSR at rest: THRE and TEMT set, DR clear (nothing received).
	inb LSR
	and al, LSR_TEMT | LSR_THRE | LSR_DR
	cmp al, LSR_TEMT | LSR_THRE
	mov esi, msg_lsr
	call report

	; 6. IIR with IER 0: 0x01, no interrupt pending, FIFO off.
	inb IIR
	cmp al, 0x01
	mov esi, msg_iir
	call report

	; 7. FCR = 0x01 turns the FIFOs on: IIR bits 7:6 read 11 (and bit 0
	; still says no interrupt).
	outb FCR, 0x01
	inb IIR
	and al, 0xc1
	cmp al, 0xc1
	mov esi, msg_fifo
	call report

	; From here on loopback: verdicts are noted, printed at the end.
	outb MCR, MCR_LOOP
	call drain				; should there be anything

	; 8. A byte sent in loopback is received: DR set, RBR returns it,
	; then DR clear.
	outb THR, 0x42
	inb LSR
	test al, LSR_DR
	mov esi, msg_lb_dr
	call note_nz
	inb RBR
	cmp al, 0x42
	mov esi, msg_lb_rbr
	call note
	inb LSR
	test al, LSR_DR
	mov esi, msg_lb_empty
	call note

	; 9. Loopback wires the modem outputs to the modem status inputs,
	; MSR bits 7:4: DCD <- OUT2, RI <- OUT1, DSR <- DTR, CTS <- RTS.
	outb MCR, MCR_LOOP | MCR_OUT2 | MCR_OUT1 | MCR_RTS | MCR_DTR
	inb MSR
	and al, 0xf0
	cmp al, 0xf0
	mov esi, msg_msr_all
	call note
	outb MCR, MCR_LOOP | MCR_DTR
	inb MSR
	and al, 0xf0
	cmp al, 0x20				; DSR
	mov esi, msg_msr_dtr
	call note
	outb MCR, MCR_LOOP | MCR_RTS
	inb MSR
	and al, 0xf0
	cmp al, 0x10				; CTS
	jne .bad_msr
	outb MCR, MCR_LOOP | MCR_OUT1
	inb MSR
	and al, 0xf0
	cmp al, 0x40				; RI
	jne .bad_msr
	outb MCR, MCR_LOOP | MCR_OUT2
	inb MSR
	and al, 0xf0
	cmp al, 0x80				; DCD
.bad_msr:
	mov esi, msg_msr_each
	call note

	; 10. 17 bytes ('A'..'Q') into the 16-byte receive FIFO, LSR not
	; read in between: an overrun. The next LSR read shows OE (and
	; DR); that read clears OE; the FIFO holds 'A'..'P'.
	outb MCR, MCR_LOOP
	call drain
	mov bl, 'A'
.send:	outb THR, bl
	inc bl
	cmp bl, 'A' + 17
	jb .send
	inb LSR
	and al, LSR_OE | LSR_DR
	cmp al, LSR_OE | LSR_DR
	mov esi, msg_oe
	call note
	inb LSR
	test al, LSR_OE
	mov esi, msg_oe_clear
	call note
	call drain				; ECX: bytes, got: the bytes
	cmp ecx, 16
	jne .bad_fifo
	mov esi, got
	mov edi, fifo_expect
	mov ecx, 16
	repe cmpsb
.bad_fifo:
	mov esi, msg_fifo16
	call note

	; Out of loopback: print what was noted.
	outb MCR, MCR_RTS | MCR_DTR		; 0x03
	call flush

	; 11. Nothing was received from outside meanwhile: DR clear.
	inb LSR
	test al, LSR_DR
	mov esi, msg_after
	call report

	mov esi, msg_done
	call puts
	mov eax, ebp				; 0 when every check passed
	out 0xf4, eax
	hlt					; not reached: the VM has stopped

; drain: read RBR while LSR.DR is set, at most 32 times, the bytes into
; `got`; ECX = how many (clobbers EAX, EDX, EDI).
drain:
	xor ecx, ecx
	mov edi, got
.next:	inb LSR
	test al, LSR_DR
	jz .done
	inb RBR
	mov [edi + ecx], al
	inc ecx
	cmp ecx, 32
	jb .next
.done:	ret

; note: ZF set means pass; note_nz: ZF clear means pass. Either keeps the
; verdict and the message at ESI for `flush` (clobbers EAX, ECX).
note_nz:
	setnz al
	jmp note_keep
note:
	setz al
note_keep:
	movzx eax, al
	mov ecx, [nnotes]
	mov [notes + ecx * 8], esi
	mov [notes + ecx * 8 + 4], eax
	inc dword [nnotes]
	ret

; flush: print the noted verdicts in order, as report does, and forget them.
flush:
	push ebx
	xor ebx, ebx
.next:	cmp ebx, [nnotes]
	jae .done
	mov esi, [notes + ebx * 8]
	cmp dword [notes + ebx * 8 + 4], 1	; ZF set: passed
	call report
	inc ebx
	jmp .next
.done:	mov dword [nnotes], 0
	pop ebx
	ret

%include "report32.inc"

fifo_expect:	db "ABCDEFGHIJKLMNOP"
msg_scr:	db "uart scratch register holds 0xa5 and 0x5a", 10, 0
msg_dlab:	db "uart DLAB set: divisor latch 0x010c and LCR 0x83 read back", 10, 0
msg_dlab_off:	db "uart DLAB clear: LCR 0x03, 0x3f9 is IER (0) again", 10, 0
msg_div:	db "uart divisor latch 0x000c reads back", 10, 0
msg_lsr:	db "uart LSR: THRE and TEMT set, DR clear", 10, 0
msg_iir:	db "uart IIR 0x01 with IER 0", 10, 0
msg_fifo:	db "uart IIR bits 7:6 set after FCR=0x01", 10, 0
msg_lb_dr:	db "uart loopback: DR set after a byte is sent", 10, 0
msg_lb_rbr:	db "uart loopback: RBR returns the byte sent", 10, 0
msg_lb_empty:	db "uart loopback: DR clear once it is read", 10, 0
msg_msr_all:	db "uart loopback: MCR 0x1f gives MSR bits 7:4 = 0xf", 10, 0
msg_msr_dtr:	db "uart loopback: MCR 0x11 gives DSR alone (0x20)", 10, 0
msg_msr_each:	db "uart loopback: RTS, OUT1, OUT2 give CTS, RI, DCD", 10, 0
msg_oe:		db "uart loopback: 17 bytes set OE in LSR", 10, 0
msg_oe_clear:	db "uart LSR read clears OE", 10, 0
msg_fifo16:	db "uart receive FIFO keeps the first 16 bytes in order", 10, 0
msg_after:	db "uart out of loopback: DR clear", 10, 0
msg_done:	db "SUMMARY: done", 10, 0

align 4
nnotes:		dd 0
notes:		times 32 dq 0			; message, verdict (1 = pass)
got:		times 32 db 0
		times 256 dd 0
stack_top:
