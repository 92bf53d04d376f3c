; A real16 test guest: the VM starts in 16-bit real mode like a PC after
; the BIOS, at entry 0x7c00 (docs/config.md, boot kind real16). The start
; state Lamina promises: CR0.PE = PG = 0; CS = (entry & 0xf0000) >> 4 = 0,
; IP = entry & 0xffff = 0x7c00; DS = ES = SS = FS = GS = 0 (base 0, limit
; 0xffff); SP = 0; FLAGS = 0x2. The guest checks that state, a far jump
; into another code segment, segment arithmetic, the stack and CPUID, and
; prints one PASS/FAIL line per check on its UART at 0x3f8 (report16
; below: report32.inc's routine for 16-bit code), then "SUMMARY: done",
; and stops through the debug-exit port 0xf4 with the number of failures.
;
; Memory (tests/configs/guest-real16.yaml): [0, 0x7000) RAM, [0x7000,
; 0x10000) this image (its first 0xc00 bytes padding so that the code
; starts at 0x7c00) and the stack (SS:SP = 0:0, so the first push lands
; at 0xfffe), [0x10000, 0xa0000) RAM.
bits 16
org 0x7000

ENTRY	equ 0x7c00

	times ENTRY - 0x7000 db 0		; the region starts at 0x7000

start:
	; The entry state, saved before anything changes it, through CS
	; (DS is under test). Should CS not be 0, these stores miss their
	; variables, whose initial values (0xffff) then fail the checks.
	mov [cs:entry_sp], sp
	mov [cs:entry_ds], ds
	mov [cs:entry_es], es
	mov [cs:entry_ss], ss
	mov [cs:entry_fs], fs
	mov [cs:entry_gs], gs
	mov [cs:entry_cs], cs
	pushf					; FLAGS (the first push: 0:0xfffe)
	pop word [cs:entry_flags]
	call .here				; IP: what CALL pushes
.here:	pop word [cs:entry_ip_here]

	xor ax, ax				; from now on: DS = ES = 0
	mov ds, ax
	mov es, ax
	cld
	xor ebp, ebp				; failures

	; 1. Real mode: SMSW gives CR0's low 16 bits; PE (bit 0) is clear.
	smsw ax
	test ax, 1
	mov si, msg_pe
	call report16

	; 2. CS = 0 and IP = 0x7c00 at the first instruction: the CALL
	; above pushed the offset of .here.
	cmp word [entry_cs], 0
	jne .bad_csip
	cmp word [entry_ip_here], start.here
.bad_csip:
	mov si, msg_csip
	call report16

	; 3. DS ES SS FS GS all 0, SP 0, FLAGS 0x0002.
	mov ax, [entry_ds]
	or ax, [entry_es]
	or ax, [entry_ss]
	or ax, [entry_fs]
	or ax, [entry_gs]
	or ax, [entry_sp]
	jnz .bad_regs
	cmp word [entry_flags], 0x0002
.bad_regs:
	mov si, msg_regs
	call report16

	; 4. A far jump to another code segment: CS = 0x07c0 runs the same
	; bytes at offsets 0x7c00 lower (only relative jumps in there), then
	; a far jump back to CS = 0.
	jmp 0x07c0:(seg7c0 - 0x7c00)
back_to_0:
	cmp word [cs_seen], 0x07c0
	jne .bad_far
	mov ax, cs
	cmp ax, 0
.bad_far:
	mov si, msg_far
	call report16

	; 5. Segment arithmetic: a dword written through DS = 0x1000 at
	; offset 0x10 is at linear 0x10010 = segment * 16 + offset. Real
	; mode's 64 KiB limit keeps DS = 0 from reaching it, so read it back
	; through two other pairs naming the same linear address: 0x1001:0
	; and 0x0fff:0x20.
	mov ax, 0x1000
	mov ds, ax
	mov dword [0x10], 0xc0de1234
	xor ax, ax
	mov ds, ax
	mov ax, 0x1001
	mov fs, ax
	mov ax, 0x0fff
	mov es, ax
	cmp dword [fs:0], 0xc0de1234
	jne .bad_seg
	cmp dword [es:0x20], 0xc0de1234
.bad_seg:
	mov ax, 0
	mov es, ax
	mov fs, ax
	mov si, msg_seg
	call report16

	; 6. The stack: PUSH/POP in order, CALL/RET return where they should.
	mov sp, 0xfff0				; below the entry pushes
	push word 0x1111
	push dword 0x22223333
	push word 0x4444
	cmp sp, 0xfff0 - 8
	jne .bad_stack
	pop ax
	cmp ax, 0x4444
	jne .bad_stack
	pop eax
	cmp eax, 0x22223333
	jne .bad_stack
	pop ax
	cmp ax, 0x1111
	jne .bad_stack
	mov bx, 0
	call add_five				; BX += 5 and back here
	call add_five
	cmp bx, 10
	jne .bad_stack
	cmp sp, 0xfff0
.bad_stack:
	mov si, msg_stack
	call report16

	; 7. CPUID is there: EFLAGS.ID (bit 21) can be flipped.
	pushfd
	pop eax
	mov ecx, eax
	xor eax, 1 << 21
	push eax
	popfd
	pushfd
	pop eax
	push ecx				; the old EFLAGS back
	popfd
	xor eax, ecx
	test eax, 1 << 21			; ZF clear: ID flipped
	mov si, msg_id
	call report16_nz

	; 8. CPUID leaf 0x40000000 in real mode: "LaminaHV    ".
	mov eax, 0x40000000
	cpuid
	cmp ebx, 'Lami'
	jne .bad_sig
	cmp ecx, 'naHV'
	jne .bad_sig
	cmp edx, '    '
.bad_sig:
	mov si, msg_sig
	call report16

	mov si, msg_done
	call puts16
	mov eax, ebp				; 0 when every check passed
	out 0xf4, eax
	hlt					; not reached: the VM has stopped

add_five:
	add bx, 5
	ret

; Runs with CS = 0x07c0: its offsets are its linear addresses - 0x7c00.
; DS is still 0, so data labels are used as they are.
seg7c0:
	mov ax, cs
	mov [cs_seen], ax
	jmp 0x0000:back_to_0

; report16: ZF set means pass; report16_nz: ZF clear means pass. Either
; prints "PASS: " or "FAIL: " and then the string at SI (DS = 0); a
; failure counts in EBP. The 16-bit twin of report32.inc.
report16_nz:
	jnz report16_pass
	jmp report16_fail
report16:
	jz report16_pass
report16_fail:
	inc ebp
	push si
	mov si, msg_fail16
	jmp report16_say
report16_pass:
	push si
	mov si, msg_pass16
report16_say:
	call puts16
	pop si
	; fall through to puts16

; puts16: the NUL-terminated string at DS:SI to COM1 (clobbers AL, DX, SI)
puts16:
	mov dx, 0x3f8
.next:	lodsb
	test al, al
	jz .done
	out dx, al
	jmp .next
.done:	ret

msg_pass16:	db "PASS: ", 0
msg_fail16:	db "FAIL: ", 0
msg_pe:		db "real mode: CR0.PE clear (smsw)", 10, 0
msg_csip:	db "entry at CS 0x0000 IP 0x7c00", 10, 0
msg_regs:	db "entry DS ES SS FS GS 0, SP 0, FLAGS 0x0002", 10, 0
msg_far:	db "far jump to CS 0x07c0 and back to CS 0", 10, 0
msg_seg:	db "0x1000:0x0010 is linear 0x10010", 10, 0
msg_stack:	db "push/pop and call/ret on SS:SP", 10, 0
msg_id:		db "EFLAGS.ID flips: CPUID available", 10, 0
msg_sig:	db "cpuid 0x40000000 signature 'LaminaHV    '", 10, 0
msg_done:	db "SUMMARY: done", 10, 0

align 2
entry_cs:	dw 0xffff
entry_ip_here:	dw 0
entry_ds:	dw 0xffff
entry_es:	dw 0xffff
entry_ss:	dw 0xffff
entry_fs:	dw 0xffff
entry_gs:	dw 0xffff
entry_sp:	dw 0xffff
entry_flags:	dw 0
cs_seen:	dw 0
