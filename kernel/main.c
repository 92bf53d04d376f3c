/*
 * kmain: the boot CPU's path from the loader to the monitor. The order is
 * written here, not left to link order.
 */
#define pr_fmt(fmt) "boot: " fmt

#include <lamina/errno.h>
#include <lamina/fbcon.h>
#include <lamina/hv.h>
#include <lamina/kernel.h>
#include <lamina/lib.h>
#include <lamina/mce.h>
#include <lamina/panic.h>
#include <lamina/percpu.h>
#include <lamina/printk.h>
#include <lamina/uart.h>
#include <lamina/vm.h>
#include <lamina/x86.h>

#define MBI_MAX_SIZE (1u << 20) /* more than any loader writes */

struct bootinfo bootinfo;
static u8 bsp_ist_stacks[3][IST_STACK_SIZE] __aligned(16);
extern char boot_stack_top[];

static void bsp_percpu_init(void)
{
	struct percpu *pc = &percpu[0];

	pc->index = 0;
	pc->state = CPU_ONLINE;
	pc->stack_hi = (u64)(uintptr_t)boot_stack_top;
	pc->stack_lo = pc->stack_hi - STACK_SIZE;
	for (int i = 0; i < 3; i++)
		pc->tss.ist[i] = (u64)(uintptr_t)bsp_ist_stacks[i] +
				 IST_STACK_SIZE;
	percpu_load(pc);
	idt_init();
	idt_load();
	mce_cpu_init();
}

static void parse_bootinfo(u32 magic, u64 mbi)
{
	u32 size;

	if (magic != MB2_BOOTLOADER_MAGIC)
		panic("not started by a multiboot2 loader (magic 0x%x)", magic);
	if (!phys_mapped(mbi, 8))
		panic("boot information at 0x%llx is out of reach",
		      (unsigned long long)mbi);
	size = *(const u32 *)(uintptr_t)mbi;
	if (mb2_parse((const void *)(uintptr_t)mbi,
		      MIN(size, MBI_MAX_SIZE), &bootinfo))
		panic("malformed multiboot2 information: %s", bootinfo.error);
	if (bootinfo.warning[0])
		pr_warn("%s\n", bootinfo.warning);
	pr_info("loader '%s', %s, command line '%s', %u memory ranges%s, %u modules, boot information at 0x%llx\n",
		bootinfo.loader[0] ? bootinfo.loader : "unknown",
		bootinfo.efi ? "UEFI" : "BIOS", bootinfo.cmdline,
		bootinfo.nr_mmap, bootinfo.mmap_from_efi ? " (EFI map)" : "",
		bootinfo.nr_modules, (unsigned long long)bootinfo.mbi_addr);
}

static void apply_cmdline(void)
{
	u64 level;

	if (cmdline_u64("loglevel", &level) && level <= LOG_DEBUG)
		log_set_console_level((enum log_level)level);
	console_from_cmdline();
}

void __noreturn kmain(u32 magic, u64 mbi);
void __noreturn kmain(u32 magic, u64 mbi)
{
	uart_init(COM1_PORT, 115200);
	console_printf("\r\nLamina %s (git %s) x86-64 microhypervisor\r\n",
		       lamina_version, lamina_git);
	bsp_percpu_init();
	parse_bootinfo(magic, mbi);
	fbcon_init(); /* draws what the serial line showed so far */
	apply_cmdline();
	acpi_init();
	console_from_spcr();
	time_init();
	mm_init();
	smp_init();
	if (!hv_init()) /* on failure the monitor still runs and says why */
		config_autostart();
	testhook_fault();
	pr_info("ready in %llu us\n", (unsigned long long)uptime_us());
	monitor_run();
}
