; Exit cost, measured by the guest (the method of kvm-unit-tests' vmexit
; test): RDTSC around N exits of one kind, and around the same loop with
; the exit taken out. Under QEMU -icount shift=0 and under Bochs the TSC
; advances once per executed instruction, guest and hypervisor alike
; (PLATFORM.md), so (exits - base) / N is the exact number of instructions
; per exit round trip.
;
; The same flat binary runs under Lamina (raw32, tests/configs/
; guest-exitcost32.yaml) and under Linux KVM (tools/kvm-peer/kvmexit.c):
; 32-bit flat protected mode, paging off, loaded and entered at 1 MiB.
; What it needs of its hypervisor, the same on both:
;   RAM at [0, 2 MiB); RAM at [4 MiB, 8 MiB) that logs dirty pages;
;   COM1 at 0x3f8 (output only; its scratch register 0x3ff is written);
;   an exit port at 0xf4 (a 32-bit write of 0 ends the run).
;
; Output, one line per kind, N = 1000:
;   EXITCOST <kind> <tsc delta with exits> <tsc delta of the base loop>
; kinds: cpuid (leaf 0), io (OUT to the UART's scratch register),
; msr (RDMSR of IA32_MISC_ENABLE), hypercall (VMMCALL or VMCALL, EAX = 0),
; npf (first write to each of N dirty-logged pages; its base is the second
; write to the same pages). Then "EXITCOST end".
bits 32
org 0x100000

N	equ 1000
DIRTY	equ 0x400000		; N pages of it are written
MSR_MISC_ENABLE equ 0x1a0	; read by Lamina and KVM alike, no side effect

start:
	mov esp, stack_top
	xor eax, eax			; VMMCALL on AMD, VMCALL on Intel
	cpuid
	cmp ebx, 'Auth'
	sete [amd]

	mov ebx, loop_nop		; every exit loop has this loop's shape
	call time_it
	mov [base], eax

	mov esi, name_cpuid
	mov ebx, loop_cpuid
	call measure
	mov esi, name_io
	mov ebx, loop_io
	call measure
	mov esi, name_msr
	mov ebx, loop_msr
	call measure
	mov esi, name_hcall
	mov ebx, loop_hcall
	call measure

	call touch_pages		; mapped (read) on both before timing
	mov ebx, loop_write
	call time_it			; first writes: one dirty-log fault each
	mov [delta], eax
	mov ebx, loop_write
	call time_it			; second writes: no exit
	mov [base], eax
	mov esi, name_npf
	call report_line

	mov esi, msg_end
	call puts
	xor eax, eax
	out 0xf4, eax
	hlt

; ebx: the loop to time. Returns the TSC delta's low half in eax.
time_it:
	rdtsc
	mov [t0], eax
	mov [t0 + 4], edx
	call ebx
	rdtsc
	sub eax, [t0]
	ret

; ebx: the loop to time, esi: its name; [base] is subtracted by the reader
measure:
	push esi
	call time_it
	mov [delta], eax
	pop esi
	; fall through

; "EXITCOST <name><delta> <base>\n"; esi: the name with its space
report_line:
	push esi
	mov esi, msg_head
	call puts
	pop esi
	call puts
	mov eax, [delta]
	call putdec
	mov al, ' '
	call putc
	mov eax, [base]
	call putdec
	mov al, 10
	jmp putc

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
	mov dx, 0x3ff
.l:	xor eax, eax
	out dx, al
	dec edi
	jnz .l
	ret

loop_msr:
	mov edi, N
.l:	mov ecx, MSR_MISC_ENABLE
	rdmsr
	dec edi
	jnz .l
	ret

; HC_VERSION under Lamina (include/abi/hypercall.h), an unknown hypercall
; under KVM; the same shape on both vendors
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

; One write to each of N pages, 4 instructions a page as the others.
loop_write:
	mov edi, N
	mov ecx, DIRTY
.l:	mov [ecx], edi
	add ecx, 4096
	dec edi
	jnz .l
	ret

touch_pages:
	mov edi, N
	mov ecx, DIRTY
.l:	mov eax, [ecx]
	add ecx, 4096
	dec edi
	jnz .l
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
msg_end:	db "EXITCOST end", 10, 0
name_cpuid:	db "cpuid ", 0
name_io:	db "io ", 0
name_msr:	db "msr ", 0
name_hcall:	db "hypercall ", 0
name_npf:	db "npf ", 0
amd:		db 0
align 8
t0:		dq 0
delta:		dd 0
base:		dd 0
numbuf:		times 12 db 0
		times 64 dd 0
stack_top:
