; A raw32 guest that watches its own memory, for the isolation and
; lifecycle tests (tests/integration/test_isolation.py, test_lifecycle.py):
; it fills DATA_SIZE bytes of its RAM with a pattern, takes their checksum,
; then recomputes it for ever. Another VM crashing beside it, Lamina
; pausing and resuming it, must change nothing in its memory nor stop it.
;
; Every REPORT_EVERY rounds it prints "cksum: round R ok". A checksum that
; differs from the first one prints "FAIL: checksum changed at round R"
; (and the two values) and ends the VM with debug-exit 1. The rounds take
; no exits at all: the VM's only exits are those lines' bytes.
;
; The checksum is 32-bit FNV-1a over the data as dwords, which sees any
; changed, lost or swapped dword. The pattern: dword i holds
; SEED + i * STRIDE (STRIDE odd: no two of the 2^20 dwords are equal).
;
; The config must give: this image at 1 MiB, RAM at DATA..DATA+DATA_SIZE,
; a UART at 0x3f8 and debug-exit at 0xf4.
bits 32
org 0x100000

DATA		equ 0x400000
DATA_SIZE	equ 0x400000			; 4 MiB
REPORT_EVERY	equ 16				; a power of two
SEED		equ 0x5eed1234
STRIDE		equ 0x9e3779b1			; 2^32 / golden ratio, odd
FNV_BASIS	equ 0x811c9dc5
FNV_PRIME	equ 0x01000193
COM1		equ 0x3f8
DEBUG_EXIT	equ 0xf4

start:
	mov esp, stack_top

	; The pattern.
	mov edi, DATA
	mov eax, SEED
.fill:	mov [edi], eax
	add eax, STRIDE
	add edi, 4
	cmp edi, DATA + DATA_SIZE
	jb .fill

	; The reference checksum, announced once.
	call checksum
	mov [reference], eax
	mov esi, msg_start
	call puts
	mov eax, [reference]
	call puthex
	mov esi, msg_nl
	call puts

	; Round after round: EBX counts them.
	xor ebx, ebx
.round:	inc ebx
	call checksum
	cmp eax, [reference]
	jne .changed
	test ebx, REPORT_EVERY - 1
	jnz .round
	mov esi, msg_round
	call puts
	mov eax, ebx
	call putdec
	mov esi, msg_ok
	call puts
	jmp .round

.changed:
	mov [found], eax
	mov esi, msg_changed
	call puts
	mov eax, ebx
	call putdec
	mov esi, msg_values
	call puts
	mov eax, [found]
	call puthex
	mov esi, msg_not
	call puts
	mov eax, [reference]
	call puthex
	mov esi, msg_close
	call puts
	mov eax, 1
	out DEBUG_EXIT, eax
	hlt

; checksum: EAX = FNV-1a of the data, dword by dword (clobbers ESI).
checksum:
	mov eax, FNV_BASIS
	mov esi, DATA
.next:	xor eax, [esi]
	imul eax, eax, FNV_PRIME
	add esi, 4
	cmp esi, DATA + DATA_SIZE
	jb .next
	ret

; putdec: EAX in decimal on COM1 (clobbers EAX, ECX, EDX, EDI).
putdec:
	mov edi, digits_end
	mov ecx, 10
.div:	xor edx, edx
	div ecx
	add dl, '0'
	dec edi
	mov [edi], dl
	test eax, eax
	jnz .div
	mov dx, COM1
.put:	mov al, [edi]
	out dx, al
	inc edi
	cmp edi, digits_end
	jb .put
	ret
%include "report32.inc"

msg_start:	db "cksum: 4 MiB at 0x400000, checksum ", 0
msg_round:	db "cksum: round ", 0
msg_ok:		db " ok", 10, 0
msg_changed:	db "FAIL: checksum changed at round ", 0
msg_values:	db " (", 0
msg_not:	db " instead of ", 0
msg_close:	db ")", 10, 0
msg_nl:		db 10, 0
align 4
reference:	dd 0
found:		dd 0
digits:		times 10 db 0			; 2^32 - 1 has 10 digits
digits_end:
align 4
		times 128 dd 0
stack_top:
