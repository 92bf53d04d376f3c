; A raw64 test guest: 64-bit mode on the identity tables Lamina writes at
; 0x1000 (include/abi/config.h), entered at 0x100000. Reports PASS/FAIL
; lines on its UART and ends through port 0xf4 with the failure count.
bits 64
org 0x100000

UART	equ 0x3f8

start:
	mov rsp, stack_top
	xor ebp, ebp				; failures
	lea rsi, [rel msg_hello]
	call puts

	mov rax, 0x123456789abcdef0		; 64-bit registers work
	shr rax, 32
	cmp eax, 0x12345678
	lea rsi, [rel msg_long]
	call check_eq

	mov rax, cr3				; on the documented tables
	cmp rax, 0x1000
	lea rsi, [rel msg_cr3]
	call check_eq

	mov rdi, 0x3fe00000			; identity map reaches 1 GiB - 2 MiB...
	mov rax, [0x1000]			; ...and the PML4 is readable
	test rax, 1
	setnz al
	cmp al, 1
	lea rsi, [rel msg_pml4]
	call check_eq

	mov eax, 1
	cpuid
	bt ecx, 31
	setc al
	cmp al, 1
	lea rsi, [rel msg_hv]
	call check_eq

	lea rsi, [rel msg_done]
	call puts
	mov eax, ebp
	out 0xf4, eax
	hlt

; ZF set means pass; rsi: what
check_eq:
	push rsi
	jz .pass
	inc ebp
	lea rsi, [rel msg_fail]
	jmp .say
.pass:	lea rsi, [rel msg_pass]
.say:	call puts
	pop rsi
	jmp puts

puts:
	mov dx, UART
.next:	lodsb
	test al, al
	jz .done
	out dx, al
	jmp .next
.done:	ret

msg_hello:	db "hello from a raw64 guest", 10, 0
msg_pass:	db "PASS: ", 0
msg_fail:	db "FAIL: ", 0
msg_long:	db "64-bit arithmetic", 10, 0
msg_cr3:	db "CR3 is 0x1000", 10, 0
msg_pml4:	db "page tables present", 10, 0
msg_hv:		db "cpuid hypervisor bit", 10, 0
msg_done:	db "SUMMARY: done", 10, 0
align 16
		times 128 dq 0
stack_top:
