/*
 * VMs and vCPUs (KVM's struct kvm and struct kvm_vcpu). A VM is created
 * from its validated config record: memslots with their backing, the
 * second-level tables, the images loaded. Running comes later.
 */
#ifndef LAMINA_VM_H
#define LAMINA_VM_H

#include <abi/config.h>
#include <lamina/list.h>
#include <lamina/memslot.h>
#include <lamina/objcache.h>
#include <lamina/stage2.h>

#include <lamina/fw_cfg.h>
#include <lamina/hv.h>
#include <lamina/spinlock.h>
#include <lamina/vcpu.h>
#include <lamina/vioapic.h>
#include <lamina/vpit.h>
#include <lamina/vrtc.h>
#include <lamina/vuart.h>

enum vm_state {
	VM_CREATED, /* memory built, not running */
	VM_RUNNING,
	VM_PAUSED,
	VM_STOPPED,
	VM_CRASHED,
};

/* What the VM's guest sees besides memory (kernel/vcpu_pio.c). */
struct vm_devices {
	spinlock_t lock;         /* vCPUs and the monitor use them at once */
	struct vuart uart;       /* its console; output kept for `console` */
	struct fw_cfg fw_cfg;
	char line[120];          /* guest output echoed to the log by lines */
	unsigned int line_len;
	u64 io_unclaimed;        /* port accesses nothing answered */
	u16 io_unclaimed_last;   /* the last such port, for `stats` */
	struct vioapic ioapic;   /* with vm->irqchip: the PC's chips too */
	struct vpit pit;         /* ports 0x40-0x43 and 0x61 (no IRQ 0) */
	struct vrtc rtc;         /* ports 0x70-0x71 (no IRQ 8) */
	const struct cfg_device *uart_cfg; /* its first UART (its IOAPIC pin is
					    * the irq; the DSDT's COM1), or NULL */
	bool uart_line;          /* its IRQ line as last told to the IOAPIC */
};

/* What `dump` shows of a VM's last crash; survives `reset` and restarts. */
struct vm_crash {
	bool valid;
	unsigned int vcpu;         /* the vCPU whose exit crashed the VM */
	unsigned int count;        /* crashes since the VM was first created */
	u64 at_us;                 /* uptime then */
	char reason[96];
	struct vcpu_regs regs;     /* that vCPU's registers at the crash */
	struct vcpu_sregs sregs;
};

struct vm {
	struct list_head link; /* in vm_list */
	unsigned int id;
	char name[CFG_NAME_MAX + 1];
	enum vm_state state;
	const void *blob;          /* the validated config (read-only) */
	const struct cfg_vm *cfg;  /* this VM's record in it */
	u64 cpus;                  /* pCPUs it owns */
	struct memslots slots;
	struct s2_table s2;
	u64 ram_bytes;             /* guest RAM allocated for it */
	unsigned int nr_vcpus;     /* one per pCPU it owns, once started */
	struct vcpu *vcpus[CFG_MAX_CPUS];
	unsigned int vcpus_running; /* threads still on their pCPUs */
	unsigned int vcpus_leaving; /* the same, less those in their last steps */
	bool stopping;             /* the first stop wins the reason */
	unsigned int crash_vcpu;   /* who crashed it (with stopping) */
	unsigned int restarts;     /* by the crash policy, carried by reset */
	bool restart_pending;      /* crashed with budget left: the monitor acts */
	struct vm_crash crash;
	u32 exit_status;           /* debug-exit value, once stopped by it */
	char stop_reason[96];
	struct vm_devices dev;
	/*
	 * An in-kernel local APIC per vCPU and an IOAPIC (Linux VMs); else
	 * interrupts come only from the monitor's `irq`.
	 */
	bool irqchip;
	u64 ipi_sent;              /* IPIs its vCPUs delivered to each other */
	u64 ipi_unmatched;         /* IPIs that named no vCPU of this VM */
	u64 ipi_dropped;           /* NMI/SMI IPIs and other modes not offered */
};

extern struct objcache vcpu_cache;
extern struct list_head vm_list;
extern spinlock_t vm_list_lock;

/* kernel/vm.c */
int vm_create(const void *blob, const struct cfg_vm *cfg, struct vm **out);
void vm_destroy(struct vm *vm);
void vm_destroy_all(void);
struct vm *vm_find(const char *name_or_id);
const char *vm_state_name(enum vm_state state);

/* kernel/vm_mem.c */
int vm_mem_create(struct vm *vm);
void vm_mem_destroy(struct vm *vm);
int vm_write_gpa(struct vm *vm, u64 gpa, const void *data, u64 len);
struct gw_mode;
/* For guest_walk(): its entry reader over the VM's RAM (@ctx: the VM),
 * and the paging mode a vCPU's control registers select. */
int vm_read_pte(void *ctx, u64 gpa, unsigned int size, u64 *val);
void vcpu_walk_mode(const struct vcpu_sregs *s, struct gw_mode *m);
int vm_mem_add_ram(struct vm *vm, u16 id, u64 gpa, u64 size, u32 flags,
		   const char *image);
int vm_mem_del(struct vm *vm, u16 id);
int vm_mem_log_dirty(struct vm *vm, u16 id, bool on);
int vm_read_gpa(struct vm *vm, u64 gpa, void *buf, u64 len);
struct boot_module;
/* The multiboot2 module GRUB loaded under @name, or NULL. */
const struct boot_module *vm_module_find(const char *name);

/* Zero @len bytes of guest memory at @gpa (all RAM, or an error). */
int vm_zero_gpa(struct vm *vm, u64 gpa, u64 len);

/* kernel/guest/linux_load.c: how a loaded Linux kernel starts. */
struct linux_entry {
	bool pvh;       /* PVH (32-bit, EBX) or 64-bit boot protocol (RSI) */
	u64 rip;
	u64 boot_data;  /* the start info or the zero page */
};
/* A Linux VM's kernel (bzImage or vmlinux), initrd and boot data into
 * its memory. */
int linux_vm_load(struct vm *vm, struct linux_entry *e, char *why, size_t len);

/* kernel/vcpu.c: start a VM's vCPUs on their pCPUs; free them once stopped */
int vm_start(struct vm *vm, char *why, size_t len);
void vm_vcpus_free(struct vm *vm);

/* kernel/monitor/cmd_console.c: the VM whose console the monitor shows */
extern struct vm *console_attached;

/*
 * kernel/vm_ctl.c: what the monitor does to VMs (KVM's ioctls on a VM fd).
 * All on the monitor's CPU. Each fills @why when it refuses.
 */
/* Fill @why from @fmt with the one string @a; returns @err. */
int vm_refuse(char *why, size_t len, int err, const char *fmt, const char *a);
int vm_create_named(const char *name, struct vm **out, char *why, size_t len);
int vm_destroy_any(struct vm *vm, char *why, size_t len);
int vm_pause(struct vm *vm, u64 *took_us, char *why, size_t len);
int vm_resume(struct vm *vm, char *why, size_t len);
/* KVM_INTERRUPT: external interrupt @vector for vCPU @vcpu of @vm. */
int vm_irq(struct vm *vm, unsigned int vcpu, u8 vector, char *why, size_t len);
/* Destroy and create again (same name, new id); started again if @start. */
int vm_reset(struct vm *vm, bool start, struct vm **out, char *why, size_t len);
/*
 * Memslot changes (KVM_SET_USER_MEMORY_REGION): a running VM is paused
 * around them; its vCPUs flush their TLBs before they run again.
 * vm_slot_add with @flags MEMSLOT_READONLY/LOG_DIRTY; vm_slot_flags turns
 * dirty logging on or off. vm_dirty_log reads and clears a slot's log
 * into @bitmap (DIRTY_BITMAP_WORDS words), returning the dirty page count.
 */
int vm_slot_add(struct vm *vm, u16 id, u64 gpa, u64 size, u32 flags,
		char *why, size_t len);
int vm_slot_del(struct vm *vm, u16 id, char *why, size_t len);
int vm_slot_flags(struct vm *vm, u16 id, bool log_dirty, char *why, size_t len);
s64 vm_dirty_log(struct vm *vm, u16 id, u64 *bitmap, u64 words, char *why,
		 size_t len);
/* The monitor's idle work: restarts the crash policy asked for. */
void vm_housekeeping(void);
/* From the vCPU layer, when the last vCPU of @vm has left its pCPU. */
void vm_vcpus_ended(struct vm *vm);
/* A vCPU's registers as `regs` and `dump` print them. */
void vcpu_print_state(const struct vcpu_regs *r, const struct vcpu_sregs *s,
		      hv_print_fn pr, void *ctx);

/* kernel/vcpu_pio.c */
void vm_devices_init(struct vm *vm);
/* Tell the IOAPIC the UART's IRQ line as it is now (irqchip VMs). */
void vm_uart_irq_sync(struct vm *vm);

/* kernel/vcpu_irq.c: IOAPIC pin @pin of @vm goes to @level; the IOAPIC
 * page's accesses. */
void vm_irq_line(struct vm *vm, unsigned int pin, bool level);
int vm_ioapic_access(struct vm *vm, u32 offset, unsigned int size, bool write,
		     u32 *val);
/* Guest console output that bypasses the UART's registers (hypercalls). */
void vm_console_write(struct vm *vm, const char *s, u64 n);

/* kernel/config.c: the config step of hv_init() */
int config_load(bool fail_after);
void config_unload(void);
void config_autostart(void);
const void *config_blob(void);
/* Why there are no VMs, when there are none ("" otherwise). */
const char *config_status(void);

#endif
