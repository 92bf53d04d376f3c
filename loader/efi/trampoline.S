/*
 * The hand-off to a multiboot2 kernel: from the firmware's long mode to
 * 32-bit protected mode with paging off. main.c copies tramp_start..
 * tramp_end to a page below 4 GiB that the firmware identity maps, builds
 * a GDT there, and calls the copy (System V ABI):
 *
 *     tramp(entry, mbi, gdtr)
 *
 * Paging can only be turned off from compatibility mode, so we first far
 * return into a 32-bit code segment of our own GDT; the code keeps running
 * at the same addresses because they are identity mapped.
 */
#define GDT_CODE32 0x08
#define GDT_DATA32 0x10
#define MSR_EFER 0xc0000080
#define MB2_BOOTLOADER_MAGIC 0x36d76289

	.text
	.globl tramp_start
	.globl tramp_end
	.code64
tramp_start:
	cli
	/* CR4.PCIDE set makes clearing CR0.PG fault; drop it while in long mode. */
	mov %cr4, %rax
	and $~(1 << 17), %rax
	mov %rax, %cr4
	lgdt (%rdx)
	mov %rsi, %rbx		/* EBX: the boot information (below 4 GiB) */
	mov %rdi, %rbp		/* the entry survives in EBP */
	lea compat32(%rip), %rax
	pushq $GDT_CODE32
	push %rax
	lretq

	.code32
compat32:
	mov $GDT_DATA32, %eax
	mov %eax, %ds
	mov %eax, %es
	mov %eax, %fs
	mov %eax, %gs
	mov %eax, %ss
	mov %cr0, %eax
	and $0x7fffffff, %eax	/* PG off: the CPU leaves long mode */
	mov %eax, %cr0
	mov $MSR_EFER, %ecx
	rdmsr
	and $~(1 << 8), %eax	/* LME off, so nothing returns to long mode */
	wrmsr
	mov %cr4, %eax
	and $~((1 << 5) | (1 << 7)), %eax	/* PAE, PGE: as after reset */
	mov %eax, %cr4
	xor %ecx, %ecx
	mov %ecx, %cr3
	mov $MB2_BOOTLOADER_MAGIC, %eax
	jmp *%ebp
tramp_end:

	.section .note.GNU-stack, "", @progbits
