; Exit cost, measured by the guest (the method of kvm-unit-tests' vmexit
; test): RDTSC around N exits of one kind. Under QEMU -icount shift=0 and
; under Bochs the TSC advances once per executed instruction, guest and
; hypervisor alike (PLATFORM.md), so each figure is an exact instruction
; count. Prints "EXITCOST KIND TOTAL" lines for N = 1000 (a loop of the
; same shape with no exit first, "loop"), for CPUID, a port write and the
; HC_VERSION hypercall, and stops through port 0xf4.
bits 32
org 0x100000

N	equ 1000

start:
	mov esp, stack_top
	xor eax, eax			; VMMCALL on AMD, VMCALL on Intel
	cpuid
	cmp ebx, 'Auth'
	sete [amd]
	mov esi, name_loop
	mov ebx, loop_nop
	call measure
	mov esi, name_cpuid
	mov ebx, loop_cpuid
	call measure
	mov esi, name_io
	mov ebx, loop_io
	call measure
	mov esi, name_hcall
	mov ebx, loop_hcall
	call measure
	xor eax, eax
	out 0xf4, eax
	hlt

; ebx: the loop to time, esi: its name
measure:
	push esi
	rdtsc
	mov [t0], eax
	mov [t0 + 4], edx
	call ebx
	rdtsc
	sub eax, [t0]
	sbb edx, [t0 + 4]
	mov [delta], eax
	mov esi, msg_head
	call puts
	pop esi
	call puts
	mov eax, [delta]
	call putdec
	mov al, 10
	call putc
	ret

loop_nop:
	mov edi, N
.l:	xor eax, eax
	nop
	dec edi
	jnz .l
	ret

loop_cpuid:
	mov edi, N
.l:	xor eax, eax
	cpuid
	dec edi
	jnz .l
	ret

loop_io:
	mov edi, N
.l:	xor eax, eax
	out 0x80, al
	dec edi
	jnz .l
	ret

; HC_VERSION (include/abi/hypercall.h); the same shape on both vendors
loop_hcall:
	mov edi, N
	cmp byte [amd], 0
	je .intel
.l:	xor eax, eax
	vmmcall
	dec edi
	jnz .l
	ret
.intel:	xor eax, eax
	vmcall
	dec edi
	jnz .intel
	ret

putc:
	push edx
	mov dx, 0x3f8
	out dx, al
	pop edx
	ret

; eax: the number to print in decimal
putdec:
	mov ecx, 10
	lea edi, [numbuf + 11]
	mov byte [edi], 0
.next:	xor edx, edx
	div ecx
	add dl, '0'
	dec edi
	mov [edi], dl
	test eax, eax
	jnz .next
	mov esi, edi
	jmp puts

%include "report32.inc"

msg_head:	db "EXITCOST ", 0
name_loop:	db "loop ", 0
name_cpuid:	db "cpuid ", 0
name_io:	db "io ", 0
name_hcall:	db "hypercall ", 0
amd:		db 0
align 8
t0:		dq 0
delta:		dd 0
numbuf:		times 12 db 0
		times 64 dd 0
stack_top:
