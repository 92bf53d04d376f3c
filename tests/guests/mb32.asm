; A Multiboot (version 1) test guest: an ELF32 executable written out by
; hand (ELF header, one PT_LOAD program header at 1 MiB, the multiboot
; header with flags 0x3), assembled with `nasm -f bin`. Lamina loads it as
; boot kind multiboot (tests/configs/guest-multiboot.yaml) and starts it in
; 32-bit protected mode with EAX = 0x2BADB002 and EBX = the information at
; 0x8000. It checks what that config promises, one PASS/FAIL line each:
; the magic, the information's flags, mem_lower/mem_upper, the memory map,
; the command line, the module (tests/guests/mb-module.txt), the loader
; name, and that the bss the loader had to zero is zero.
bits 32
org 0x100000

BASE		equ 0x100000
BOOT_MAGIC	equ 0x2badb002
MB_MAGIC	equ 0x1badb002
MB_FLAGS	equ 0x3			; page-align modules, memory information
INFO_GPA	equ 0x8000

; The information structure (Multiboot 0.6.96), by offset.
I_FLAGS		equ 0
I_MEM_LOWER	equ 4
I_MEM_UPPER	equ 8
I_CMDLINE	equ 16
I_MODS_COUNT	equ 20
I_MODS_ADDR	equ 24
I_MMAP_LENGTH	equ 44
I_MMAP_ADDR	equ 48
I_LOADER_NAME	equ 64
; mem, cmdline, mods, mmap, boot_loader_name
WANT_FLAGS	equ (1 << 0) | (1 << 2) | (1 << 3) | (1 << 6) | (1 << 9)

%include "mb1elf.inc"

; ---------------------------------------------------------------- checks
start:
	mov esp, stack_top
	mov [boot_eax], eax
	mov [boot_ebx], ebx
	xor ebp, ebp			; failures

	cmp dword [boot_eax], BOOT_MAGIC
	mov esi, msg_magic
	call report
	cmp dword [boot_ebx], INFO_GPA
	mov esi, msg_ebx
	call report
	cmp dword [boot_ebx], INFO_GPA	; (report leaves no flags)
	jne done			; nothing to read the rest from
	mov ebx, INFO_GPA

	mov eax, [ebx + I_FLAGS]
	and eax, WANT_FLAGS
	cmp eax, WANT_FLAGS
	mov esi, msg_flags
	call report
	cmp dword [ebx + I_MEM_LOWER], 640
	mov esi, msg_lower
	call report
	cmp dword [ebx + I_MEM_UPPER], 15 * 1024
	mov esi, msg_upper
	call report
	call check_mmap
	mov esi, want_cmdline
	mov edi, [ebx + I_CMDLINE]
	mov ecx, want_cmdline_len
	repe cmpsb
	mov esi, msg_cmdline
	call report
	call check_module
	mov esi, want_loader
	mov edi, [ebx + I_LOADER_NAME]
	mov ecx, want_loader_len
	repe cmpsb
	mov esi, msg_loader
	call report
	mov edi, bss_check		; the loader zeroed p_memsz - p_filesz
	mov ecx, bss_check_len / 4
	xor eax, eax
	repe scasd
	mov esi, msg_bss
	call report

done:	mov esi, msg_done
	call puts
	xor eax, eax
	out 0xf4, eax
	hlt

; The memory map: two RAM entries, 0-640 KiB and 1-16 MiB, 24 bytes each.
check_mmap:
	cmp dword [ebx + I_MMAP_LENGTH], 2 * 24
	mov esi, msg_mmap_len
	call report
	mov edi, [ebx + I_MMAP_ADDR]
	mov esi, want_mmap0
	mov ecx, 24
	repe cmpsb
	mov esi, msg_mmap0
	call report
	mov edi, [ebx + I_MMAP_ADDR]
	add edi, 24
	mov esi, want_mmap1
	mov ecx, 24
	repe cmpsb
	mov esi, msg_mmap1
	jmp report

; One module: page-aligned after the kernel, named, with the text inside.
; One module: page-aligned after the kernel, named, with the text inside.
check_module:
	cmp dword [ebx + I_MODS_COUNT], 1
	mov esi, msg_mods
	call report
	cmp dword [ebx + I_MODS_COUNT], 1
	jne .out
	mov edx, [ebx + I_MODS_ADDR]
	mov eax, [edx]			; mod_start
	xor ecx, ecx
	test eax, 0xfff			; ECX: 1 if not page-aligned...
	setnz cl
	cmp eax, mem_end		; ...plus 1 if inside the kernel
	adc ecx, 0
	test ecx, ecx
	mov esi, msg_mod_place
	call report
	call module_size
	mov esi, msg_mod_size
	call report
	call module_size
	jnz .out
	mov edx, [ebx + I_MODS_ADDR]
	mov edi, [edx]
	mov esi, want_line
	mov ecx, want_line_len
	repe cmpsb
	mov esi, msg_mod_text
	call report
	mov edx, [ebx + I_MODS_ADDR]
	mov edi, [edx + 8]
	mov esi, want_mod_name
	mov ecx, want_mod_name_len
	repe cmpsb
	mov esi, msg_mod_name
	call report
.out:	ret

; ZF set when mod_end - mod_start covers the expected first line.
module_size:
	mov edx, [ebx + I_MODS_ADDR]
	mov eax, [edx + 4]
	sub eax, [edx]
	cmp eax, want_line_len
	setb al
	test al, al
	ret

%include "report32.inc"

want_cmdline:	db "mb32 check=1 text=hello", 0
want_cmdline_len equ $ - want_cmdline
want_loader:	db "Lamina", 0
want_loader_len	equ $ - want_loader
want_mod_name:	db "mb-module.txt", 0
want_mod_name_len equ $ - want_mod_name
want_line:	db "Lamina multiboot module, line 1", 10
want_line_len	equ $ - want_line
; size (20), base, length, type (1: RAM)
want_mmap0:	dd 20
		dq 0, 640 * 1024
		dd 1
want_mmap1:	dd 20
		dq 0x100000, 15 * 1024 * 1024
		dd 1

msg_magic:	db "eax holds the multiboot magic 0x2badb002", 10, 0
msg_ebx:	db "ebx points at the information at 0x8000", 10, 0
msg_flags:	db "info flags: mem, cmdline, mods, mmap, loader name", 10, 0
msg_lower:	db "mem_lower is 640 KiB", 10, 0
msg_upper:	db "mem_upper is 15360 KiB", 10, 0
msg_mmap_len:	db "mmap_length is two entries", 10, 0
msg_mmap0:	db "mmap entry 0: RAM 0-640K", 10, 0
msg_mmap1:	db "mmap entry 1: RAM 1M-16M", 10, 0
msg_cmdline:	db "cmdline is the config's", 10, 0
msg_mods:	db "one module", 10, 0
msg_mod_place:	db "module page-aligned after the kernel", 10, 0
msg_mod_size:	db "module holds at least its first line", 10, 0
msg_mod_text:	db "module's first line is mb-module.txt's", 10, 0
msg_mod_name:	db "module string is mb-module.txt", 10, 0
msg_loader:	db "boot loader name is Lamina", 10, 0
msg_bss:	db "bss is zero", 10, 0
msg_done:	db "SUMMARY: done", 10, 0

boot_eax:	dd 0
boot_ebx:	dd 0

align 16
file_end:
; ---------------------------------------------------------------- bss
; Past the end of the file: p_memsz covers it, the loader zeroes it.
bss_check	equ file_end
bss_check_len	equ 256
stack_top	equ file_end + bss_check_len + 4096
mem_end		equ stack_top
