/* Services the rest of the hypervisor uses: boot information, memory,
 * time, command line. */
#ifndef LAMINA_KERNEL_H
#define LAMINA_KERNEL_H

#include <lamina/bootinfo.h>
#include <lamina/acpi.h>
#include <lamina/palloc.h>

extern const char lamina_version[], lamina_git[];
extern struct bootinfo bootinfo;
extern struct acpi_info acpi;
extern bool acpi_usable;

/* Linker symbols (linker.ld). */
extern char __image_start[], __image_end[];
extern char __text_start[], __text_end[];
extern char __rodata_start[], __rodata_end[];
extern char __data_start[], __bss_start[], __bss_end[];

/* kernel/cmdline.c: "key=value" or "key" words of the boot command line. */
const char *cmdline_find(const char *line, const char *key, size_t *vlen);
const char *cmdline_get(const char *key);
bool cmdline_u64(const char *key, u64 *val);

/* kernel/testhooks.c: failures on purpose, for the tests */
void testhook_fault(void);
bool testhook_ghost_cpu(u32 *apic_id);

/* mm/mm.c */
void mm_init(void);
void *page_alloc(u64 npages, u64 align, u64 limit, enum pg_owner owner);
void page_free(void *p, u64 npages, enum pg_owner owner);
struct mm_stats {
	u64 usable;   /* bytes of usable RAM in the memory map */
	u64 free;     /* bytes free in the allocator */
	u64 image;    /* Lamina's image (text, data, bss) */
	u64 bootdata; /* multiboot2 information and modules */
	u64 bitmap;   /* the frame bitmap */
	u64 owned[PG_NR_OWNERS];
};
void mm_stats(struct mm_stats *st);
/* Readable as plain memory (identity mapped RAM or ACPI data)? */
bool phys_mapped(u64 phys, u64 len);

/* mm/paging.c */
void paging_init(u64 top);
void paging_load(void);
u64 paging_cr3(void);
extern u64 efer_features; /* EFER bits every CPU sets (NXE when present) */
/* Low-memory page (below 2 MiB, mapped with 4 KiB pages) executable or not. */
void paging_set_exec(u64 addr, bool exec);

/* drivers/acpi.c */
void acpi_init(void);

/* drivers/time.c */
extern u64 tsc_khz;
void time_init(void);
u64 uptime_us(void);
void udelay(u64 us);
const char *time_source(void);

/* drivers/reset.c */
void __noreturn machine_reboot(void);
/* ACPI S5 (soft off); halts when the machine has none. */
void __noreturn machine_poweroff(void);
/* Functions machine_reboot() and machine_poweroff() call first, newest
 * first. */
int reboot_hook_register(void (*fn)(void));
void reboot_hook_unregister(void (*fn)(void));

/* kernel/idt.c */
void idt_init(void);
void idt_load(void);

/* kernel/smp.c */
void smp_init(void);
/* NMI every other CPU into a halt (panic, reboot). */
void smp_stop_others(void);
bool smp_stop_requested(void);
/* isr.asm: unblock NMIs (an IRET) after a VM exit an NMI caused. */
void nmi_unblock(void);
/* The stop NMI's end on each CPU: record, then halt for good. */
void __noreturn smp_stopped_here(bool virt_off);
/* Wait for the other online CPUs to stop; how many did, and how many of
 * them said virtualisation was off. */
unsigned int smp_wait_stopped(u64 timeout_us, unsigned int *virt_off);
unsigned int smp_online_count(void);
/*
 * Run @fn(@arg) on CPU @cpu (directly when it is this one) and wait for it
 * to finish. 0; -HV_ENODEV (not online); -HV_EBUSY (a call is pending
 * there); -HV_ETIMEDOUT (the CPU did not take the call within @timeout_ms:
 * it was withdrawn and will not run). A call taken but not finished in
 * time panics: a Lamina function hangs on that CPU.
 */
int smp_call_on(unsigned int cpu, void (*fn)(void *), void *arg, u64 timeout_ms);
/*
 * Hand @fn(@arg) to another CPU and return at once (a vCPU's run loop).
 * The CPU takes no other call until @fn returns.
 */
int smp_post(unsigned int cpu, void (*fn)(void *), void *arg);

/* kernel/monitor/monitor.c */
void __noreturn monitor_run(void);

#endif
