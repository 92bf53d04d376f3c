; Application processor start-up. smp.c copies tramp_start..tramp_end to a
; page below 1 MiB, fills in the parameter block at its end, and sends
; INIT-SIPI-SIPI with that page as the vector. The AP starts here in real
; mode at CS = page >> 4, IP = 0.

section .rodata
bits 16
global tramp_start, tramp_end
global tramp_gdt, tramp_gdtr, tramp_pm_ptr, tramp_lm_ptr
global tramp_cr3, tramp_efer, tramp_stack, tramp_cpu, tramp_alive

tramp_start:
	cli
	cld
	mov ax, cs
	mov ds, ax
	xor ebx, ebx
	mov bx, ax
	shl ebx, 4		; EBX = linear address of this page, kept to the end
	mov byte [tramp_alive - tramp_start], 1
	lgdt [tramp_gdtr - tramp_start]
	mov eax, cr0
	or eax, 1		; PE
	mov cr0, eax
	o32 jmp far [tramp_pm_ptr - tramp_start]

bits 32
global tramp_pm
tramp_pm:
	mov ax, 0x10
	mov ds, ax
	mov es, ax
	mov ss, ax
	mov eax, cr4
	or eax, 1 << 5		; PAE
	mov cr4, eax
	mov eax, [ebx + tramp_cr3 - tramp_start]
	mov cr3, eax
	mov ecx, 0xc0000080	; EFER: LME and the features the BSP uses
	rdmsr
	or eax, [ebx + tramp_efer - tramp_start]
	wrmsr
	mov eax, cr0
	or eax, (1 << 31) | (1 << 16)	; PG, WP
	mov cr0, eax
	jmp far [ebx + tramp_lm_ptr - tramp_start]

align 8
tramp_gdt:
	dq 0
	dq 0x00cf9a000000ffff	; 0x08: 32-bit code
	dq 0x00cf92000000ffff	; 0x10: data
	dq 0x00af9a000000ffff	; 0x18: 64-bit code
tramp_gdt_end:
tramp_gdtr:
	dw tramp_gdt_end - tramp_gdt - 1
	dd 0			; base: filled in (page + offset of tramp_gdt)
align 4
tramp_pm_ptr:
	dd 0			; page + offset of tramp_pm
	dw 0x08
align 4
tramp_lm_ptr:
	dd 0			; ap_entry64
	dw 0x18
align 8
tramp_cr3:	dq 0
tramp_efer:	dq 0
tramp_stack:	dq 0
tramp_cpu:	dq 0
tramp_alive:	dq 0
tramp_end:

section .text
bits 64
extern ap_main
global ap_entry64
; In long mode on the trampoline's page tables (the kernel's own): take the
; stack and CPU index from the parameter block and enter C.
ap_entry64:
	mov ebx, ebx
	mov ax, 0x10
	mov ds, ax
	mov es, ax
	mov ss, ax
	mov rsp, [rbx + tramp_stack - tramp_start]
	mov rdi, [rbx + tramp_cpu - tramp_start]
	xor ebp, ebp
	call ap_main
.hang:	cli
	hlt
	jmp .hang
