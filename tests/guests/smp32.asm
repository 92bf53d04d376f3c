; A raw32 test guest with two vCPUs (tests/configs/guest-smp32.yaml: cpus
; [1, 2]). Both start here at the same time, in the same raw32 state.
; Each finds its vCPU index in CPUID leaf 1, EBX bits 31:24 (Lamina gives
; vCPU n the initial APIC id n) and takes the stack of that index. Both
; add 1 to a shared counter with LOCK XADD 100000 times. vCPU 1 then
; stores its index in `vcpu1_index`, sets `done` and spins (PAUSE) for
; ever. vCPU 0 waits for `done` (giving up after 10^9 polls), checks the
; counter (200000 if every LOCK XADD was atomic), the two indexes, prints
; the verdicts (it alone prints) and writes 0 to the debug-exit port,
; which stops the whole VM, vCPU 1 included.
;
; A vCPU whose index is neither 0 nor 1 prints a FAIL line with it and
; stops the VM through the debug-exit port with 0xbad (the first such
; vCPU only).
bits 32
org 0x100000

ADDS	equ 100000				; per vCPU
WAIT_POLLS equ 1000000000
STACK_SIZE equ 4096

start:
	mov eax, 1				; EBX 31:24: the initial APIC id
	cpuid
	shr ebx, 24
	mov esi, ebx				; ESI: the vCPU index
	and ebx, 1				; its stack (any index gets one)
	shl ebx, 12
	mov esp, stacks_top
	sub esp, ebx
	xor ebp, ebp				; failures
	cmp esi, 0
	je vcpu0
	cmp esi, 1
	je vcpu1
	jmp bad_index

; vCPU 1: its adds, then the index and the done flag, then nothing.
vcpu1:
	call add_many
	mov [vcpu1_index], esi
	mov dword [done], 1			; after the index (x86 keeps
						; the order of stores)
.spin:	pause
	jmp .spin

; vCPU 0: its adds, the wait, the verdicts.
vcpu0:
	mov [vcpu0_index], esi
	call add_many

	; Wait for vCPU 1, a bounded number of polls. No PAUSE here: under
	; QEMU's TCG each PAUSE leaves the translated code, which would make
	; 10^9 polls last minutes instead of seconds.
	mov ecx, WAIT_POLLS
.wait:	cmp dword [done], 0
	jne .done
	dec ecx
	jnz .wait
.done:
	; 1. vCPU 1 finished its adds and said so.
	cmp dword [done], 1
	mov esi, msg_done_flag
	call report

	; 2. This vCPU read index 0 from CPUID (it would not be here
	; otherwise; the line says what it saw).
	cmp dword [vcpu0_index], 0
	mov esi, msg_index0
	call report

	; 3. vCPU 1 wrote index 1.
	cmp dword [vcpu1_index], 1
	mov esi, msg_index1
	call report

	; 4. 2 x 100000 atomic increments.
	cmp dword [counter], 2 * ADDS
	mov esi, msg_counter
	call report

	mov esi, msg_summary
	call puts
	mov eax, ebp				; 0 when every check passed
	out 0xf4, eax				; stops both vCPUs
	hlt					; not reached: the VM has stopped

; add_many: ADDS times LOCK XADD 1 into the shared counter (on this
; vCPU's stack: a CALL and a RET each vCPU makes on its own).
add_many:
	mov ecx, ADDS
.next:	mov eax, 1
	lock xadd [counter], eax
	dec ecx
	jnz .next
	ret

; An index that is neither 0 nor 1: the first vCPU here says so and ends
; the VM; any other spins.
bad_index:
	lock bts dword [bad_lock], 0
	jc .spin
	mov [vcpu_bad], esi
	mov esi, msg_fail			; "FAIL: " (report32.inc)
	call puts
	mov esi, msg_bad_index
	call puts
	mov eax, [vcpu_bad]
	call puthex
	mov esi, msg_nl
	call puts
	mov eax, 0xbad
	out 0xf4, eax
.spin:	pause
	jmp .spin
%include "report32.inc"

msg_done_flag:	db "vCPU 1 set done after its adds", 10, 0
msg_index0:	db "vCPU 0 has index 0 in CPUID.1:EBX[31:24]", 10, 0
msg_index1:	db "vCPU 1 wrote index 1", 10, 0
msg_counter:	db "counter is 200000 after 2 x 100000 lock xadd", 10, 0
msg_bad_index:	db "a vCPU has an index other than 0 and 1: ", 0
msg_nl:		db 10, 0
msg_summary:	db "SUMMARY: done", 10, 0

align 4
counter:	dd 0
done:		dd 0
vcpu0_index:	dd 0xffffffff
vcpu1_index:	dd 0xffffffff
bad_lock:	dd 0
vcpu_bad:	dd 0
align 16
stacks:		times 2 * STACK_SIZE db 0	; vCPU 1's, then vCPU 0's
stacks_top:
