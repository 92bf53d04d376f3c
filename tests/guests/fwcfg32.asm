; A raw32 test guest for QEMU's fw_cfg interface as Lamina offers it, the
; legacy I/O one: a 16-bit write to port 0x510 selects an item, byte
; reads from port 0x511 return its bytes in order, and 0 past its end;
; selecting again starts over. The items:
;   0x0000 signature  "QEMU"
;   0x0001 id         u32 1 (the traditional interface, no DMA)
;   0x0003 RAM size   u64, the sum of the VM's RAM regions: 17 MiB in
;                     tests/configs/guest-fwcfg32.yaml
;   0x0005 CPU count  u16 1
;   0x0019 file dir   big-endian u32 count 0: no files
; An item nobody defines (0x1234) reads 0.
bits 32
org 0x100000

FW_CFG_SEL equ 0x510
FW_CFG_DATA equ 0x511
RAM_BYTES equ 17 * 1024 * 1024			; the config's two regions

start:
	mov esp, stack_top
	xor ebp, ebp				; failures

	; 1. Item 0: "QEMU".
	mov ax, 0x0000
	call select
	mov ecx, 4
	call read_bytes
	cmp dword [buf], 'QEMU'
	mov esi, msg_sig
	call report

	; 2. Past its end (4 bytes), item 0 reads 0: the next 8 bytes.
	mov ecx, 8
	call read_bytes
	mov eax, [buf]
	or eax, [buf + 4]
	mov esi, msg_past
	call report

	; 3. Selecting again starts over: "QEMU" once more (after reading
	; only part of another item in between).
	mov ax, 0x0001
	call select
	mov ecx, 1
	call read_bytes
	mov ax, 0x0000
	call select
	mov ecx, 4
	call read_bytes
	cmp dword [buf], 'QEMU'
	mov esi, msg_again
	call report

	; 4. Item 1, the interface id: u32 1.
	mov ax, 0x0001
	call select
	mov ecx, 4
	call read_bytes
	cmp dword [buf], 1
	mov esi, msg_id
	call report

	; 5. Item 3, the RAM size: u64 17 MiB, little-endian.
	mov ax, 0x0003
	call select
	mov ecx, 8
	call read_bytes
	cmp dword [buf], RAM_BYTES
	jne .bad_ram
	cmp dword [buf + 4], 0
.bad_ram:
	mov esi, msg_ram
	call report

	; 6. Item 5, the CPU count: u16 1 (and 0 after it).
	mov ax, 0x0005
	call select
	mov ecx, 4
	call read_bytes
	cmp dword [buf], 1
	mov esi, msg_cpus
	call report

	; 7. Item 0x19, the file directory: a big-endian count of 0.
	mov ax, 0x0019
	call select
	mov ecx, 4
	call read_bytes
	cmp dword [buf], 0
	mov esi, msg_files
	call report

	; 8. An unknown item, 0x1234: reads 0.
	mov ax, 0x1234
	call select
	mov ecx, 8
	call read_bytes
	mov eax, [buf]
	or eax, [buf + 4]
	mov esi, msg_unknown
	call report

	mov esi, msg_done
	call puts
	mov eax, ebp				; 0 when every check passed
	out 0xf4, eax
	hlt					; not reached: the VM has stopped

; select: item AX, by a 16-bit write to the selector port
select:
	mov dx, FW_CFG_SEL
	out dx, ax
	ret

; read_bytes: ECX (at most 16) bytes from the data port into buf, one IN
; each; buf is filled with 0xaa first so that bytes never written show.
read_bytes:
	mov edi, buf
	mov dword [edi], 0xaaaaaaaa
	mov dword [edi + 4], 0xaaaaaaaa
	mov dword [edi + 8], 0xaaaaaaaa
	mov dword [edi + 12], 0xaaaaaaaa
	mov dx, FW_CFG_DATA
.next:	in al, dx
	mov [edi], al
	inc edi
	dec ecx
	jnz .next
	ret

%include "report32.inc"

msg_sig:	db "fw_cfg item 0x0000 reads 'QEMU'", 10, 0
msg_past:	db "fw_cfg reads 0 past an item's end", 10, 0
msg_again:	db "fw_cfg selecting again starts over", 10, 0
msg_id:		db "fw_cfg item 0x0001 (id) is 1", 10, 0
msg_ram:	db "fw_cfg item 0x0003 (RAM size) is 17 MiB", 10, 0
msg_cpus:	db "fw_cfg item 0x0005 (CPU count) is 1", 10, 0
msg_files:	db "fw_cfg item 0x0019 (file count) is 0", 10, 0
msg_unknown:	db "fw_cfg unknown item 0x1234 reads 0", 10, 0
msg_done:	db "SUMMARY: done", 10, 0

align 4
buf:		times 16 db 0
		times 256 dd 0
stack_top:
