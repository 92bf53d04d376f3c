; Lamina's entry from a multiboot2 loader, and the switch to long mode.
;
; GRUB enters _start in 32-bit protected mode, paging off, with
; EAX = 0x36d76289 and EBX = the physical address of the boot information.
; We identity-map the first 4 GiB with 2 MiB pages (enough to reach the
; image, the boot information, ACPI tables and the local APIC), enter long
; mode and call kmain(magic, mbi). mm/paging.c replaces these tables.

MB2_MAGIC	equ 0xe85250d6
MB2_ARCH_I386	equ 0

section .multiboot
align 8
mb2_header:
	dd MB2_MAGIC
	dd MB2_ARCH_I386
	dd mb2_header_end - mb2_header
	dd -(MB2_MAGIC + MB2_ARCH_I386 + (mb2_header_end - mb2_header))
	; module alignment tag: modules start on page boundaries
	align 8
	dw 6, 0
	dd 8
	; framebuffer tag, optional (flags bit 0): a direct RGB mode, 1024x768
	; at 32 bits per pixel if the loader can, for the screen console
	; (drivers/fbcon.c). A loader without video boots us all the same.
	align 8
	dw 5, 1
	dd 20
	dd 1024, 768, 32
	; end tag
	align 8
	dw 0, 0
	dd 8
mb2_header_end:

section .bss
align 4096
early_pml4:	resb 4096
early_pdpt:	resb 4096
early_pd:	resb 4096 * 4
align 16
boot_stack:	resb 16384
global boot_stack_top
boot_stack_top:

section .data
global boot_tsc
boot_tsc:	dq 0

align 16
early_gdt:
	dq 0
	dq 0x00af9a000000ffff	; 0x08: 64-bit code
	dq 0x00cf92000000ffff	; 0x10: data
early_gdt_end:
early_gdt_ptr:
	dw early_gdt_end - early_gdt - 1
	dq early_gdt

section .text.boot
bits 32
global _start
_start:
	cli
	cld
	mov esp, boot_stack_top
	mov edi, eax		; kmain's first argument: the loader's magic
	mov esi, ebx		; second: the boot information
	rdtsc			; uptime starts here
	mov [boot_tsc], eax
	mov [boot_tsc + 4], edx

	call check_long_mode
	call build_early_tables

	mov eax, early_pml4
	mov cr3, eax
	mov eax, cr4
	or eax, 1 << 5		; PAE
	mov cr4, eax
	mov ecx, 0xc0000080	; EFER
	rdmsr
	or eax, 1 << 8		; LME
	wrmsr
	mov eax, cr0
	or eax, (1 << 31) | (1 << 16) | 1	; PG, WP, PE
	mov cr0, eax
	lgdt [early_gdt_ptr]
	jmp 0x08:long_entry

; No long mode: say so on COM1 and stop (nothing else can be done).
check_long_mode:
	mov eax, 0x80000000
	cpuid
	cmp eax, 0x80000001
	jb .no
	mov eax, 0x80000001
	cpuid
	test edx, 1 << 29
	jz .no
	ret
.no:
	mov esi, no_lm_msg
.next:
	lodsb
	test al, al
	jz .stop
	mov dx, 0x3f8
	out dx, al
	jmp .next
.stop:
	cli
	hlt
	jmp .stop

build_early_tables:
	mov eax, early_pdpt
	or eax, 3
	mov [early_pml4], eax
	xor ecx, ecx
.pdpt:	mov eax, ecx
	shl eax, 12
	add eax, early_pd
	or eax, 3
	mov [early_pdpt + ecx * 8], eax
	inc ecx
	cmp ecx, 4
	jb .pdpt
	xor ecx, ecx		; 2048 entries of 2 MiB: 0-4 GiB
.pd:	mov eax, ecx
	shl eax, 21
	or eax, 0x83		; present, writable, 2 MiB
	mov [early_pd + ecx * 8], eax
	mov eax, ecx
	shr eax, 11		; bits 32+ of the address
	mov [early_pd + ecx * 8 + 4], eax
	inc ecx
	cmp ecx, 2048
	jb .pd
	ret

no_lm_msg: db "Lamina: this CPU has no long mode (x86-64); stopped.", 13, 10, 0

bits 64
extern kmain
long_entry:
	mov ax, 0x10
	mov ds, ax
	mov es, ax
	mov ss, ax
	xor eax, eax
	mov fs, ax
	mov gs, ax
	mov rsp, boot_stack_top
	xor ebp, ebp
	mov edi, edi		; zero-extend: upper halves are undefined
	mov esi, esi
	call kmain
.hang:	cli
	hlt
	jmp .hang
