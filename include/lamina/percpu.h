/*
 * Per-CPU data. Each CPU's GS base points at its struct percpu, so
 * this_cpu() is one load. Index 0 is the boot CPU.
 */
#ifndef LAMINA_PERCPU_H
#define LAMINA_PERCPU_H

#include <lamina/compiler.h>

#define MAX_CPUS 64
#define STACK_SIZE (16 * 1024)
#define IST_STACK_SIZE 4096

enum cpu_state {
	CPU_ABSENT,   /* not listed by firmware */
	CPU_STARTING, /* INIT-SIPI-SIPI sent */
	CPU_ONLINE,
	CPU_OFFLINE,  /* listed, but did not come up; see .why */
};

/* A cross-CPU call's life: the caller claims the slot, posts, and either
 * the target takes it (RUNNING, then IDLE) or the caller withdraws it. */
enum call_state { CALL_IDLE, CALL_CLAIMED, CALL_POSTED, CALL_RUNNING };

enum { GDT_NULL, GDT_CODE, GDT_DATA, GDT_TSS, GDT_TSS_HI, GDT_ENTRIES };
#define SEL_CODE (GDT_CODE * 8)
#define SEL_DATA (GDT_DATA * 8)
#define SEL_TSS (GDT_TSS * 8)

struct tss {
	u32 reserved0;
	u64 rsp[3];
	u64 reserved1;
	u64 ist[7];
	u64 reserved2;
	u16 reserved3;
	u16 iomap_base;
} __packed;

/* IST slots (1-based in the IDT gate). */
#define IST_DF 1
#define IST_NMI 2
#define IST_MC 3

struct percpu {
	struct percpu *self; /* must stay first: this_cpu() reads %gs:0 */
	unsigned int index;
	u32 apic_id;
	volatile int state; /* enum cpu_state */
	const char *why;    /* reason for CPU_OFFLINE */
	u64 stack_lo, stack_hi;
	u64 online_tsc;
	/* Set by the stop NMI just before the halt (panic, reboot). */
	bool stopped;
	bool stopped_virt_off; /* and what the CPU said of virtualisation */
	/* Inside an NMI or #MC handler (nested: depth); printk then only
	 * tries its lock (printk_exception_enter()). */
	unsigned int exception_depth;
	/* smp_call_on(): a function this CPU is asked to run (enum call_state) */
	int call_state;
	void (*call_fn)(void *arg);
	void *call_arg;
	u64 gdt[GDT_ENTRIES] __aligned(16);
	struct tss tss __aligned(16);
};

extern struct percpu percpu[MAX_CPUS];
extern unsigned int nr_cpus_listed; /* CPUs the firmware described */

static inline struct percpu *this_cpu(void)
{
	struct percpu *p;

	__asm__ __volatile__("mov %%gs:0, %0" : "=r"(p));
	return p;
}

/* Load the GDT and TSS of @pc on this CPU and point GS at it. */
void percpu_load(struct percpu *pc);

#endif
