; A raw32 test guest for the hypercall ABI (include/abi/hypercall.h):
; version, console write, VM id, an unknown call, then stop with code 0x42.
; VMMCALL on AMD, VMCALL on Intel, picked from CPUID leaf 0.
bits 32
org 0x100000

HC_VERSION equ 0
HC_CONSOLE_WRITE equ 1
HC_VM_ID equ 2
HC_STOP equ 3

start:
	mov esp, stack_top
	xor eax, eax
	cpuid
	cmp ebx, 'Auth'
	sete [amd]

	mov eax, HC_VERSION
	call hcall
	cmp eax, 0x10000
	mov esi, msg_version
	call report

	mov eax, HC_CONSOLE_WRITE
	mov ebx, msg_console
	mov ecx, msg_console_end - msg_console
	call hcall
	cmp eax, msg_console_end - msg_console
	mov esi, msg_write
	call report

	mov eax, HC_VM_ID
	call hcall
	cmp eax, 1
	mov esi, msg_id
	call report

	mov eax, 99				; no such call
	call hcall
	cmp eax, -38
	mov esi, msg_unknown
	call report

	mov eax, HC_CONSOLE_WRITE		; a buffer outside the VM's memory
	mov ebx, 0x40000000
	mov ecx, 16
	call hcall
	cmp eax, -22
	mov esi, msg_badbuf
	call report

	mov eax, HC_STOP
	mov ebx, 0x42
	call hcall
	hlt					; not reached

hcall:
	cmp byte [amd], 0
	je .intel
	vmmcall
	ret
.intel:	vmcall
	ret

%include "report32.inc"

amd:		db 0
msg_version:	db "hypercall version 1.0", 10, 0
msg_write:	db "hypercall console write", 10, 0
msg_id:		db "hypercall vm id", 10, 0
msg_unknown:	db "unknown hypercall gives -ENOSYS", 10, 0
msg_badbuf:	db "bad console buffer gives -EINVAL", 10, 0
msg_console:	db "written by hypercall", 10
msg_console_end:
align 4
		times 64 dd 0
stack_top:
