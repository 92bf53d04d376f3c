; A raw32 guest that ends its VM in the way it is told to, for the
; isolation and lifecycle tests (tests/integration/test_isolation.py,
; test_lifecycle.py): whatever it does, only its own VM may suffer.
;
; The mode comes from one of two places:
;  - entry 0x100000 (the default): the dword at guest-physical MODE_ADDR,
;    written by the monitor (`w VM 0x7000 02000000` is mode 2) before or
;    after `start`. 0, what fresh RAM holds, means "wait": the guest spins
;    there, printing nothing and taking no exits, until the dword changes;
;  - entry 0x100000 + 16 * N: mode N, whatever memory holds. A VM that
;    Lamina recreates from its config (crash: restart) crashes again the
;    same way without anyone writing the mode again.
;
; The modes:
;  1  triple fault: UD2 with no IDT (#UD, #GP, #DF, shutdown)
;  2  a read of GPA NO_SLOT_GPA, which no memory region holds
;  3  a write to GPA ROM_GPA, a readonly region of the config
;  4  a task switch (JMP to a TSS selector of its own GDT): VMX always
;     exits on one and Lamina has no handler for that exit. SVM only
;     exits when the hypervisor asks for it (Lamina does not): there the
;     task switch happens in the guest, which says so and ends through
;     debug-exit with 4
;  5  the vendor's virtualisation instruction (VMXOFF on Intel, VMRUN on
;     AMD, as CPUID leaf 0 tells): Lamina intercepts it and injects #UD,
;     which with no IDT ends in a triple fault
;  6  FLOOD_OUTS one-byte OUTs to NO_PORT, a port with no device, then
;     debug-exit 0
;  7  FLOOD_BYTES bytes of text to its UART, far more than the 4 KiB the
;     VM's console buffer keeps, then debug-exit 0
; Before acting, the guest prints "crash32: mode N: WHAT". A mode that did
; not end the VM prints a FAIL line and ends with debug-exit 1; an unknown
; mode prints a line and ends with debug-exit 2.
;
; The config must give: RAM at 0-1 MiB (MODE_ADDR, the VMRUN operand),
; this image at 1 MiB, a readonly region at ROM_GPA, nothing at
; NO_SLOT_GPA, a UART at 0x3f8 and debug-exit at 0xf4.
bits 32
org 0x100000

MODE_ADDR	equ 0x7000		; the mode dword (entry 0x100000)
ROM_GPA		equ 0x200000		; a readonly region (mode 3)
NO_SLOT_GPA	equ 0x40000000		; no region (mode 2)
NO_PORT		equ 0x80		; no device (mode 6)
VMCB_GPA	equ 0x8000		; VMRUN's operand (never used: intercepted)
FLOOD_OUTS	equ 1000000		; mode 6
FLOOD_BYTES	equ 200 * 1024		; mode 7: whole 64-byte lines
NR_MODES	equ 8			; 1-7, and 0 (wait)
COM1		equ 0x3f8
DEBUG_EXIT	equ 0xf4

CODE_SEL	equ 0x08		; the selectors of the GDT below
DATA_SEL	equ 0x10
TSS_CUR_SEL	equ 0x18		; the task we are in (after LTR)
TSS_NEW_SEL	equ 0x20		; the task mode 4 jumps to

; ------------------------------------------------------------ entry points
; 0x100000 + 16 * N: mode N; 0x100000 itself: the mode from memory. Each
; entry is padded to its 16-byte slot (a negative TIMES, an assembly
; error, says an entry grew too long).
	jmp wait_mode
%macro MODE_ENTRY 1
	times 16 * %1 - ($ - $$) db 0x90
	mov eax, %1
	jmp crash
%endmacro
%assign m 1
%rep NR_MODES - 1
	MODE_ENTRY m
%assign m m + 1
%endrep

; The mode from memory. Wait while the dword is 0, touching no register
; but EFLAGS (tests change EAX with `regs` and read it back), nor the
; UART, and taking no exit.
wait_mode:
	cmp dword [MODE_ADDR], 0
	jne .go
	pause
	jmp wait_mode
.go:	mov eax, [MODE_ADDR]
	jmp crash

; ------------------------------------------------------------ dispatch
; EAX: the mode. Say which, drop the IDT (every exception from here on
; ends in a triple fault), go.
crash:
	mov esp, stack_top
	mov ebx, eax				; the mode stays in EBX
	cmp ebx, NR_MODES
	jae unknown_mode
	test ebx, ebx
	jz wait_mode				; mode 0 from an entry: wait
	mov esi, msg_mode
	call puts
	mov al, bl
	add al, '0'
	mov dx, COM1
	out dx, al
	mov esi, [mode_names + ebx * 4]
	call puts
	lidt [no_idt]
	jmp [mode_code + ebx * 4]

; 1: no IDT, then an invalid opcode: #UD finds no gate (#GP), neither
; does #GP (#DF), nor #DF: shutdown.
triple_fault:
	ud2

; 2: a read where the VM has no memory: a nested page fault.
read_no_slot:
	mov eax, [NO_SLOT_GPA]
	jmp still_alive

; 3: a write to the readonly region: a nested page fault.
write_rom:
	mov dword [ROM_GPA], 0x0badc0de
	jmp still_alive

; 4: our own GDT with two TSS descriptors; LTR makes the first the
; current task, then a far JMP to the second switches tasks. The checks
; done before the VM exit (SDM 3C 26.4.2: DPL, present, not busy, limit
; at least 0x67) all pass, so a VMX CPU exits here with reason 9.
task_switch:
	call fill_tss_descs
	lgdt [gdtr]
	jmp CODE_SEL:.reload
.reload:
	mov ax, DATA_SEL
	mov ds, ax
	mov es, ax
	mov fs, ax
	mov gs, ax
	mov ss, ax
	mov ax, TSS_CUR_SEL
	ltr ax
	jmp TSS_NEW_SEL:0			; the offset is ignored
	jmp still_alive				; not reached either way

; Where the new task starts when the CPU did the switch itself (SVM).
task_ran:
	mov esi, msg_task_ran
	call puts
	mov eax, 4
	out DEBUG_EXIT, eax
	hlt

; 5: the vendor's own instruction, which the hypervisor must intercept.
vm_insn:
	xor eax, eax
	cpuid
	cmp ebx, 'Auth'				; "AuthenticAMD"
	je .svm
	vmxoff					; VMX non-root: always an exit
	jmp still_alive
.svm:	mov eax, VMCB_GPA
	vmrun					; always intercepted
	jmp still_alive

; 6: one exit per OUT, each to a port nobody has.
io_flood:
	mov ecx, FLOOD_OUTS
	mov dx, NO_PORT
	xor eax, eax
.out:	out dx, al
	dec ecx
	jnz .out
	mov esi, msg_io_done
	call puts
	jmp exit_0

; 7: FLOOD_BYTES / 64 lines of 63 characters and a newline.
console_flood:
	mov ecx, FLOOD_BYTES / 64
.line:	mov esi, flood_line
	call puts
	loop .line
	mov esi, msg_flood_done
	call puts
exit_0:
	xor eax, eax
	out DEBUG_EXIT, eax
	hlt

; A crash mode got here: the VM did not end.
still_alive:
	mov esi, msg_alive
	call puts
	mov eax, 1
	out DEBUG_EXIT, eax
	hlt

unknown_mode:
	mov esi, msg_unknown
	call puts
	mov eax, ebx
	call puthex
	mov esi, msg_nl
	call puts
	mov eax, 2
	out DEBUG_EXIT, eax
	hlt

; The TSS descriptors' bases are addresses of this image: put them into
; the GDT at run time (base bits 0-23 at byte 2, 24-31 at byte 7).
fill_tss_descs:
	mov eax, tss_cur
	mov edi, gdt + TSS_CUR_SEL
	call .set
	mov eax, tss_new
	mov edi, gdt + TSS_NEW_SEL
.set:	mov [edi + 2], ax
	shr eax, 16
	mov [edi + 4], al
	mov [edi + 7], ah
	ret
%include "report32.inc"

; ------------------------------------------------------------ data
align 4
mode_code:	dd wait_mode, triple_fault, read_no_slot, write_rom
		dd task_switch, vm_insn, io_flood, console_flood
mode_names:	dd 0, name_1, name_2, name_3, name_4, name_5, name_6, name_7
name_1:		db ": triple fault", 10, 0
name_2:		db ": read outside every slot", 10, 0
name_3:		db ": write to the readonly region", 10, 0
name_4:		db ": task switch", 10, 0
name_5:		db ": VMX/SVM instruction", 10, 0
name_6:		db ": port I/O flood", 10, 0
name_7:		db ": console flood", 10, 0
msg_mode:	db "crash32: mode ", 0
msg_io_done:	db "crash32: 1000000 OUTs to port 0x80 done", 10, 0
msg_flood_done:	db "crash32: console flood done", 10, 0
msg_task_ran:	db "crash32: the task switch ran in the guest (no exit)", 10, 0
msg_alive:	db "FAIL: crash32: the VM is still running", 10, 0
msg_unknown:	db "crash32: unknown mode ", 0
msg_nl:		db 10, 0
flood_line:	db "crash32 console flood: 0123456789abcdefghijklmnopqrstuvwxyz....", 10, 0
.end:
%if .end - flood_line != 65
%error "a flood line must be 64 bytes and its NUL"
%endif

; No IDT at all: every exception is a #GP on the IDT limit, then #DF...
no_idt:		dw 0
		dd 0

; Mode 4's GDT: flat code and data, then the two 32-bit TSSs (available,
; DPL 0, limit 0x67; the base is filled in by fill_tss_descs).
align 8
gdt:		dq 0
		dq 0x00cf9a000000ffff		; 0x08: flat 32-bit code
		dq 0x00cf92000000ffff		; 0x10: flat data
		dq 0x0000890000000067		; 0x18: TSS, the current task
		dq 0x0000890000000067		; 0x20: TSS, the new task
gdtr:		dw 5 * 8 - 1
		dd gdt

; The current task's TSS: the CPU saves the old state here (SVM only).
align 16
tss_cur:	times 104 db 0

; The new task's TSS: flat segments, no paging (CR3 is loaded but unused),
; interrupts off, starting at task_ran on its own stack.
align 16
tss_new:	dd 0				; 0x00 previous task link
		dd task_stack_top, DATA_SEL	; 0x04 ESP0, SS0
		dd 0, 0, 0, 0			; 0x0c ESP1, SS1, ESP2, SS2
		dd 0				; 0x1c CR3
		dd task_ran			; 0x20 EIP
		dd 0x2				; 0x24 EFLAGS
		dd 0, 0, 0, 0			; 0x28 EAX ECX EDX EBX
		dd task_stack_top, 0, 0, 0	; 0x38 ESP EBP ESI EDI
		dd DATA_SEL, CODE_SEL, DATA_SEL	; 0x48 ES CS SS
		dd DATA_SEL, DATA_SEL, DATA_SEL	; 0x54 DS FS GS
		dd 0				; 0x60 LDT
		dw 0, 104			; 0x64 T flag, I/O map base
%if $ - tss_new != 104
%error "a 32-bit TSS is 104 bytes"
%endif

align 4
		times 64 dd 0
task_stack_top:
		times 128 dd 0
stack_top:
