; A workload guest for bench/workloads.py: the same Multiboot (version 1)
; kernel runs under Lamina (boot kind multiboot, bench/configs/work*.yaml)
; and straight in QEMU (`-kernel build/guests/work32.bin`, QEMU's own
; multiboot loader), so the two can be timed side by side. An ELF32
; executable written out by hand as in mb32.asm (both loaders take it),
; header flags 0x3, no address fields.
;
; Sizes come from the command line (missing words keep the defaults):
;   compute=N   N million rounds of the compute loop        (default 1000)
;   walk=N      N million accesses of the memory walk        (default 6)
;   mem=N       the walk's buffer in MiB, a power of two     (default 64)
;   paging=0|1  32-bit paging on, 4 KiB pages, from the start (default 1)
;
; The work, each part timed with RDTSC (the TSC delta printed in decimal):
;  compute  a register-only loop (xorshift32 and a multiply-rotate mix):
;           no memory access, no exit;
;  fill     the buffer at 16 MiB written sequentially with a pattern
;           (guest RAM is not assumed to be zero), twice: only the second
;           pass is timed, the first makes the host back every page (QEMU
;           allocates a guest's RAM at its first touch, Lamina zeroed its
;           VM's RAM before the start);
;  memwalk  pseudo-random (xorshift32) dword read-modify-writes anywhere
;           in the buffer: nearly every access is on another 4 KiB page,
;           so the TLB misses and the page walk runs, two-dimensional
;           under Lamina (guest page tables through NPT/EPT).
; With paging=1 the guest identity-maps 0 to the buffer's end with 4 KiB
; pages (page directory at 4 MiB, tables after it) first; then the first,
; untimed, pass of the fill; then the work, one line after each part, so
; the host time between two lines is one part's.
;
; It prints on COM1:
;   WORK start compute=N walk=N mem=N paging=N
;   WORK compute <tsc delta> sum=0x........
;   WORK fill <tsc delta>
;   WORK memwalk <tsc delta> sum=0x........
;   WORK end
; (each delta right-aligned in 16 columns: the lines are the same size in
; every run, and so are the console bytes and the exits they cost), then
; writes 0 to port 0xf4 (QEMU's isa-debug-exit, Lamina's debug_exit);
; on a bad command line "WORK error ..." and 1. The sums depend on every
; round and every access: the work cannot be skipped, and a run under
; Lamina must print the same sums as a direct one.
bits 32
org 0x100000

BASE		equ 0x100000
BOOT_MAGIC	equ 0x2badb002
MB_MAGIC	equ 0x1badb002
MB_FLAGS	equ 0x3			; page-align modules, memory information
I_FLAGS		equ 0
I_MEM_UPPER	equ 8
I_CMDLINE	equ 16
PD_ADDR		equ 0x400000		; page directory, then the page tables
BUF_ADDR	equ 0x1000000		; the walk's buffer: 16 MiB up
MILLION		equ 1000000

%include "mb1elf.inc"

; ---------------------------------------------------------------- main
start:
	cli
	mov esp, stack_top
	cld
	cmp eax, BOOT_MAGIC
	jne bad_boot
	mov eax, [ebx + I_MEM_UPPER]	; KiB from 1 MiB up
	shl eax, 10
	add eax, 0x100000
	mov [ram_top], eax
	test dword [ebx + I_FLAGS], 1 << 2
	jz .args			; no command line: the defaults
	mov eax, [ebx + I_CMDLINE]
	mov [cmdline], eax
.args:	call parse_args
	jc bad_args
	cmp dword [n_paging], 0		; set up before "WORK start": the time
	je .prep			; between two lines is one workload's
	call paging_on
.prep:	call fill			; untimed: every page backed

	mov esi, msg_start
	call puts
	mov esi, key_compute
	mov eax, [n_compute]
	call put_arg
	mov esi, key_walk
	mov eax, [n_walk]
	call put_arg
	mov esi, key_mem
	mov eax, [n_mem]
	call put_arg
	mov esi, key_paging
	mov eax, [n_paging]
	call put_arg
	call newline

	call tsc_start
	call compute
	mov [sum], eax
	mov esi, msg_compute
	call put_delta
	call put_sum

	call tsc_start
	call fill
	mov esi, msg_fill
	call put_delta
	call newline

	call tsc_start
	call memwalk
	mov [sum], eax
	mov esi, msg_memwalk
	call put_delta
	call put_sum

	mov esi, msg_end
	call puts
	xor eax, eax
	jmp finish

bad_boot:
	mov esi, msg_bad_boot
	jmp fail
bad_args:
	mov esi, msg_bad_args
fail:	call puts
	mov eax, 1
finish:	out 0xf4, eax
.halt:	hlt
	jmp .halt

; ---------------------------------------------------------------- work
; EAX: the sum over N million rounds of xorshift32 and a mix; registers
; only.
compute:
	push ebx
	push esi
	mov esi, [n_compute]
	mov eax, 0x2545f491		; xorshift state (never 0)
	xor ebx, ebx			; the sum
	test esi, esi
	jz .out
.outer:	mov ecx, MILLION
.inner:	mov edx, eax
	shl edx, 13
	xor eax, edx
	mov edx, eax
	shr edx, 17
	xor eax, edx
	mov edx, eax
	shl edx, 5
	xor eax, edx
	add ebx, eax
	imul ebx, ebx, 0x01000193
	rol ebx, 7
	dec ecx
	jnz .inner
	dec esi
	jnz .outer
.out:	mov eax, ebx
	pop esi
	pop ebx
	ret

; The buffer: dword i holds i * 0x9e3779b9 (a sequential write).
fill:
	push edi
	mov edi, BUF_ADDR
	mov ecx, [n_mem]
	shl ecx, 18			; MiB to dwords
	xor eax, eax
.l:	mov [edi], eax
	add eax, 0x9e3779b9
	add edi, 4
	dec ecx
	jnz .l
	pop edi
	ret

; EAX: the sum of every dword read by N million read-modify-writes at
; xorshift32-random dword offsets in the buffer.
memwalk:
	push ebx
	push esi
	push edi
	push ebp
	mov ebp, [n_walk]
	mov esi, 0x6c078965		; xorshift state (never 0)
	xor ebx, ebx			; the sum
	mov edi, [n_mem]
	shl edi, 20
	sub edi, 4			; the offset mask: the buffer, dword aligned
	test ebp, ebp
	jz .out
.outer:	mov ecx, MILLION
.inner:	mov edx, esi
	shl edx, 13
	xor esi, edx
	mov edx, esi
	shr edx, 17
	xor esi, edx
	mov edx, esi
	shl edx, 5
	xor esi, edx
	mov edx, esi
	and edx, edi
	mov eax, [BUF_ADDR + edx]
	add ebx, eax
	xor eax, esi
	mov [BUF_ADDR + edx], eax
	dec ecx
	jnz .inner
	dec ebp
	jnz .outer
.out:	mov eax, ebx
	pop ebp
	pop edi
	pop esi
	pop ebx
	ret

; Identity-map 0 to the buffer's end with 4 KiB pages (32-bit paging,
; no PSE, no PAE) and turn paging on.
paging_on:
	mov eax, [n_mem]
	add eax, BUF_ADDR >> 20
	shl eax, 8			; MiB to pages: the PTEs
	mov ecx, eax
	mov edi, PD_ADDR + 0x1000	; the page tables, back to back
	mov eax, 0x3			; present, writable
.pte:	mov [edi], eax
	add eax, 0x1000
	add edi, 4
	dec ecx
	jnz .pte
	mov edi, PD_ADDR		; the directory: 1024 entries
	mov ecx, 1024
	xor eax, eax
	rep stosd
	mov eax, [n_mem]
	add eax, BUF_ADDR >> 20
	add eax, 3
	shr eax, 2			; MiB to page tables
	mov ecx, eax
	mov edi, PD_ADDR
	mov eax, PD_ADDR + 0x1000 + 0x3
.pde:	mov [edi], eax
	add eax, 0x1000
	add edi, 4
	dec ecx
	jnz .pde
	mov eax, PD_ADDR
	mov cr3, eax
	mov eax, cr0
	or eax, 0x80000000
	mov cr0, eax
	jmp .on
.on:	ret

; ---------------------------------------------------------------- timing
tsc_start:
	rdtsc
	mov [t0], eax
	mov [t0 + 4], edx
	ret

; "WORK <name> <TSC now - t0>" (ESI: "WORK <name> ")
put_delta:
	rdtsc
	sub eax, [t0]
	sbb edx, [t0 + 4]
	push edx
	push eax
	call puts
	pop eax
	pop edx
	mov byte [dec_pad], 16
	jmp putdec64.go

; " sum=0x........\n" of [sum]
put_sum:
	mov esi, msg_sum
	call puts
	mov eax, [sum]
	call puthex
newline:
	mov al, 10
putc:	mov dx, 0x3f8
	out dx, al
	ret

; " key=value": ESI the key with its '=', EAX the value
put_arg:
	push eax
	mov al, ' '
	call putc
	call puts
	pop eax
	xor edx, edx
	; fall through

; EDX:EAX in decimal; from putdec64.go, right-aligned in [dec_pad]
; columns (put_delta: fixed-size lines, so the same console bytes and the
; same exits whatever the times)
putdec64:
	mov byte [dec_pad], 0
.go:	push ebx
	push esi
	push edi
	mov edi, dec_end
	mov ebx, 10
.digit:	mov ecx, eax			; EDX:EAX / 10, the high half first
	mov eax, edx
	xor edx, edx
	div ebx
	mov esi, eax
	mov eax, ecx
	div ebx
	add dl, '0'
	dec edi
	mov [edi], dl
	mov edx, esi
	mov ecx, eax
	or ecx, edx
	jnz .digit
	movzx ecx, byte [dec_pad]
	neg ecx
	add ecx, dec_end		; where the padded number starts
.pad:	cmp edi, ecx
	jbe .print
	dec edi
	mov byte [edi], ' '
	jmp .pad
.print:	mov esi, edi
	call puts
	pop edi
	pop esi
	pop ebx
	ret

; ---------------------------------------------------------------- command line
; Read the sizes from [cmdline] (none: the defaults); CF set when one is
; out of range: mem not a power of two from 1 to 1024, or the buffer past
; the RAM the loader reported.
parse_args:
	mov esi, key_compute
	mov edi, n_compute
	call arg
	mov esi, key_walk
	mov edi, n_walk
	call arg
	mov esi, key_mem
	mov edi, n_mem
	call arg
	mov esi, key_paging
	mov edi, n_paging
	call arg
	mov eax, [n_mem]
	test eax, eax
	jz .bad
	cmp eax, 1024
	ja .bad
	lea ecx, [eax - 1]
	test eax, ecx
	jnz .bad
	shl eax, 20
	add eax, BUF_ADDR
	cmp eax, [ram_top]
	ja .bad
	clc
	ret
.bad:	stc
	ret

; The number after the word ESI ("key=") in the command line into [EDI],
; when the word is there (at the start or after a space).
arg:
	mov edx, [cmdline]
	test edx, edx
	jz .out
	mov bl, ' '			; the character before EDX
.scan:	cmp byte [edx], 0
	je .out
	cmp bl, ' '
	jne .next
	xor ecx, ecx
.cmp:	mov al, [esi + ecx]
	test al, al
	jz .found
	cmp al, [edx + ecx]
	jne .next
	inc ecx
	jmp .cmp
.found:	add edx, ecx
	xor eax, eax
.dig:	movzx ecx, byte [edx]
	sub ecx, '0'
	cmp ecx, 9
	ja .store
	imul eax, eax, 10
	add eax, ecx
	inc edx
	jmp .dig
.store:	mov [edi], eax
	ret
.next:	mov bl, [edx]
	inc edx
	jmp .scan
.out:	ret

%include "report32.inc"

key_compute:	db "compute=", 0
key_walk:	db "walk=", 0
key_mem:	db "mem=", 0
key_paging:	db "paging=", 0
msg_start:	db "WORK start", 0
msg_compute:	db "WORK compute ", 0
msg_fill:	db "WORK fill ", 0
msg_memwalk:	db "WORK memwalk ", 0
msg_sum:	db " sum=", 0
msg_end:	db "WORK end", 10, 0
msg_bad_boot:	db "WORK error: not started by a multiboot loader", 10, 0
msg_bad_args:	db "WORK error: bad command line (mem: a power of two, "
		db "1-1024, the buffer at 16 MiB inside RAM)", 10, 0

align 4
n_compute:	dd 1000
n_walk:		dd 6
n_mem:		dd 64
n_paging:	dd 1
cmdline:	dd 0
ram_top:	dd 0
sum:		dd 0
t0:		dd 0, 0
dec_pad:	db 0
dec_buf:	times 20 db 0
dec_end:	db 0

align 16
file_end:
stack_top	equ file_end + 4096
mem_end		equ stack_top
