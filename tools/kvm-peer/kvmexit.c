/*
 * kvmexit: run Lamina's exit-cost guest under Linux KVM, the peer whose
 * exit costs Lamina's are compared with (bench/kvm_peer.py).
 *
 *	kvmexit GUEST.bin
 *
 * GUEST.bin is tests/guests/exitcost32.bin, a flat 32-bit binary. Its
 * header comment is the contract this program implements, the same one
 * Lamina's raw32 loader implements:
 *   - RAM at [0, 2 MiB), the binary loaded and entered at 1 MiB;
 *   - RAM at [4 MiB, 8 MiB) that logs dirty pages (the guest's first
 *     write to each page is the "npf" figure: setup_memory() says what
 *     KVM does there);
 *   - 32-bit flat protected mode, paging off, interrupts off;
 *   - COM1 at 0x3f8 for output (copied to stdout) and its scratch register
 *     at 0x3ff, written and ignored here (the "io" figure: a port exit that
 *     KVM hands to user space);
 *   - port 0xf4: a 32-bit write ends the run, 0 meaning success.
 *
 * The guest times its own exits with RDTSC, so nothing here is on a timed
 * path except the port exit to 0x3ff and KVM itself. Everything else the
 * guest does (CPUID, RDMSR of IA32_MISC_ENABLE, VMMCALL/VMCALL, dirty-page
 * faults) KVM handles in the kernel.
 *
 * Exit status: 0 once the guest wrote 0 to port 0xf4; 1 for anything else
 * (an ioctl that failed, an exit this guest must not cause), with a line
 * on stderr naming it; 2 for a wrong command line.
 *
 * Built with gcc -static (tools/kvm-peer/kvm-peer.mk): the initramfs it
 * runs from has no libc. A one-shot tool: on an error it reports and exits,
 * and the kernel releases the VM with the process.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#define KVM_DEV		"/dev/kvm"
#define KVM_API		12	/* the only stable KVM API there is */

#define LOW_RAM_BASE	0x000000UL
#define LOW_RAM_SIZE	0x200000UL	/* [0, 2 MiB) */
#define DIRTY_RAM_BASE	0x400000UL
#define DIRTY_RAM_SIZE	0x400000UL	/* [4, 8 MiB), dirty-logged */
#define SLOT_LOW	0
#define SLOT_DIRTY	1

#define GUEST_ENTRY	0x100000UL	/* loaded and entered at 1 MiB */

/*
 * Intel without unrestricted guest needs three pages for the real-mode
 * TSS; KVM's documentation suggests just below the BIOS. Our guest never
 * leaves protected mode and AMD ignores the call, but a VMX host that
 * lacks unrestricted guest refuses to run a vCPU before it is set.
 */
#define TSS_ADDR	0xfffbd000UL

#define COM1_DATA	0x3f8
#define COM1_SCRATCH	0x3ff
#define EXIT_PORT	0xf4

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

#define CPUID_MAX_ENTRIES 1024
#define OUTPUT_BUFFER	(64 * 1024)	/* the guest prints < 1 KiB */

/* Flat 4 GiB segments: a GDT the guest never reads, selectors by custom. */
#define SEL_CODE	0x08
#define SEL_DATA	0x10
#define SEG_TYPE_CODE	0xb	/* execute/read, accessed */
#define SEG_TYPE_DATA	0x3	/* read/write, accessed */
#define CR0_PE		(1UL << 0)
#define CR0_ET		(1UL << 4)	/* fixed to 1 since the 486 */
#define RFLAGS_FIXED	(1UL << 1)	/* reads as 1; IF stays clear */

struct vm {
	int kvm;		/* /dev/kvm */
	int fd;			/* the VM */
	int vcpu;
	struct kvm_run *run;	/* the vCPU's shared page(s) */
	uint8_t *low;		/* host view of [0, 2 MiB) */
	uint8_t *dirty;		/* host view of [4 MiB, 8 MiB) */
};

static const char *const exit_names[] = {
	[KVM_EXIT_UNKNOWN] = "UNKNOWN",
	[KVM_EXIT_EXCEPTION] = "EXCEPTION",
	[KVM_EXIT_IO] = "IO",
	[KVM_EXIT_HYPERCALL] = "HYPERCALL",
	[KVM_EXIT_DEBUG] = "DEBUG",
	[KVM_EXIT_HLT] = "HLT",
	[KVM_EXIT_MMIO] = "MMIO",
	[KVM_EXIT_IRQ_WINDOW_OPEN] = "IRQ_WINDOW_OPEN",
	[KVM_EXIT_SHUTDOWN] = "SHUTDOWN",
	[KVM_EXIT_FAIL_ENTRY] = "FAIL_ENTRY",
	[KVM_EXIT_INTR] = "INTR",
	[KVM_EXIT_SET_TPR] = "SET_TPR",
	[KVM_EXIT_TPR_ACCESS] = "TPR_ACCESS",
	[KVM_EXIT_NMI] = "NMI",
	[KVM_EXIT_INTERNAL_ERROR] = "INTERNAL_ERROR",
	[KVM_EXIT_OSI] = "OSI",
	[KVM_EXIT_PAPR_HCALL] = "PAPR_HCALL",
	[KVM_EXIT_WATCHDOG] = "WATCHDOG",
	[KVM_EXIT_EPR] = "EPR",
	[KVM_EXIT_SYSTEM_EVENT] = "SYSTEM_EVENT",
	[KVM_EXIT_IOAPIC_EOI] = "IOAPIC_EOI",
	[KVM_EXIT_HYPERV] = "HYPERV",
	[KVM_EXIT_X86_RDMSR] = "X86_RDMSR",
	[KVM_EXIT_X86_WRMSR] = "X86_WRMSR",
	[KVM_EXIT_DIRTY_RING_FULL] = "DIRTY_RING_FULL",
	[KVM_EXIT_AP_RESET_HOLD] = "AP_RESET_HOLD",
	[KVM_EXIT_X86_BUS_LOCK] = "X86_BUS_LOCK",
};

static void __attribute__((noreturn, format(printf, 1, 2)))
die(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fputs("kvmexit: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static const char *exit_name(uint32_t reason)
{
	if (reason < ARRAY_SIZE(exit_names) && exit_names[reason])
		return exit_names[reason];
	return "not known to this program";
}

/*
 * Every ioctl goes through here so that a failure names the request
 * (the macro passes its spelling) and what it was for.
 */
static int do_ioctl(int fd, unsigned long req, void *arg, const char *name,
		    const char *what)
{
	int ret = ioctl(fd, req, arg);

	if (ret < 0)
		die("%s (%s): %s", name, what, strerror(errno));
	return ret;
}

#define kvm_ioctl(fd, req, arg, what) \
	do_ioctl((fd), (req), (void *)(arg), #req, (what))

static void open_kvm(struct vm *vm)
{
	int api;

	vm->kvm = open(KVM_DEV, O_RDWR | O_CLOEXEC);
	if (vm->kvm < 0)
		die("cannot open %s: %s (kvm-amd or kvm-intel not loaded?)",
		    KVM_DEV, strerror(errno));
	api = kvm_ioctl(vm->kvm, KVM_GET_API_VERSION, 0, "the KVM API");
	if (api != KVM_API)
		die("KVM API version %d, this program speaks %d", api, KVM_API);
	vm->fd = kvm_ioctl(vm->kvm, KVM_CREATE_VM, 0, "a VM");
}

static uint8_t *map_ram(size_t size, const char *what)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (p == MAP_FAILED)
		die("mmap of %zu bytes for %s: %s", size, what,
		    strerror(errno));
	return p;
}

static void add_slot(struct vm *vm, uint32_t slot, uint32_t flags,
		     uint64_t gpa, uint64_t size, void *host, const char *what)
{
	struct kvm_userspace_memory_region region = {
		.slot = slot,
		.flags = flags,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = (uintptr_t)host,
	};

	kvm_ioctl(vm->fd, KVM_SET_USER_MEMORY_REGION, &region, what);
}

/*
 * The second slot logs dirty pages. Its host memory is left untouched, as
 * a VMM's fresh guest RAM is: the guest's read of a page (touch_pages)
 * then gets the host's shared zero page, mapped read-only in the nested
 * page tables, and its first write faults into KVM, which has the host
 * allocate and clear a page, maps it writable and marks it dirty. That
 * is the round trip the guest's "npf" loop times. Were the host pages
 * written here first, KVM would map them writable at the read and mark
 * them dirty then: the first write would take no exit (measured: npf 0).
 */
static void setup_memory(struct vm *vm)
{
	vm->low = map_ram(LOW_RAM_SIZE, "RAM at 0");
	vm->dirty = map_ram(DIRTY_RAM_SIZE, "RAM at 4 MiB");
	add_slot(vm, SLOT_LOW, 0, LOW_RAM_BASE, LOW_RAM_SIZE, vm->low,
		 "RAM [0, 2 MiB)");
	add_slot(vm, SLOT_DIRTY, KVM_MEM_LOG_DIRTY_PAGES, DIRTY_RAM_BASE,
		 DIRTY_RAM_SIZE, vm->dirty, "dirty-logged RAM [4, 8 MiB)");
	kvm_ioctl(vm->fd, KVM_SET_TSS_ADDR, TSS_ADDR, "real-mode TSS");
}

static void load_guest(struct vm *vm, const char *path)
{
	size_t room = LOW_RAM_SIZE - GUEST_ENTRY;
	size_t len = 0;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		die("cannot open guest %s: %s", path, strerror(errno));
	/* One byte more than fits, to tell "too big" from "just fits". */
	while ((n = read(fd, vm->low + GUEST_ENTRY + len, room - len)) > 0) {
		len += n;
		if (len == room) {
			char extra;

			if (read(fd, &extra, 1) > 0)
				die("guest %s is larger than the %zu bytes "
				    "between 1 MiB and 2 MiB", path, room);
			break;
		}
	}
	if (n < 0)
		die("cannot read guest %s: %s", path, strerror(errno));
	if (len == 0)
		die("guest %s is empty", path);
	close(fd);
}

/*
 * The guest picks VMMCALL or VMCALL from the CPUID vendor string, so it
 * must see the host's real one: hand it everything KVM supports. KVM says
 * E2BIG while the array is too small.
 */
static void setup_cpuid(struct vm *vm)
{
	struct kvm_cpuid2 *cpuid;
	uint32_t nent;

	for (nent = 64; ; nent *= 2) {
		if (nent > CPUID_MAX_ENTRIES)
			die("KVM_GET_SUPPORTED_CPUID wants over %d entries",
			    CPUID_MAX_ENTRIES);
		cpuid = calloc(1, sizeof(*cpuid) +
				  nent * sizeof(cpuid->entries[0]));
		if (!cpuid)
			die("out of memory for %u CPUID entries", nent);
		cpuid->nent = nent;
		if (ioctl(vm->kvm, KVM_GET_SUPPORTED_CPUID, cpuid) == 0)
			break;
		if (errno != E2BIG)
			die("KVM_GET_SUPPORTED_CPUID (the host's CPUID): %s",
			    strerror(errno));
		free(cpuid);
	}
	kvm_ioctl(vm->vcpu, KVM_SET_CPUID2, cpuid, "the vCPU's CPUID");
	free(cpuid);
}

static void flat_segment(struct kvm_segment *seg, uint16_t selector,
			 uint8_t type)
{
	*seg = (struct kvm_segment) {
		.base = 0,
		.limit = 0xffffffff,
		.selector = selector,
		.type = type,
		.present = 1,
		.dpl = 0,
		.db = 1,	/* 32-bit code, 32-bit stack */
		.s = 1,		/* code or data, not a system segment */
		.l = 0,
		.g = 1,
	};
}

/*
 * 32-bit flat protected mode with paging off. Only CR0 and the segments
 * change from KVM's reset state: TR and LDTR keep the values KVM gives a
 * new vCPU, which VM entry accepts, and the guest loads no descriptor, so
 * it needs no GDT or IDT in its memory.
 */
static void setup_registers(struct vm *vm)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs = {
		.rip = GUEST_ENTRY,
		.rflags = RFLAGS_FIXED,
	};

	kvm_ioctl(vm->vcpu, KVM_GET_SREGS, &sregs, "reset segment state");
	flat_segment(&sregs.cs, SEL_CODE, SEG_TYPE_CODE);
	flat_segment(&sregs.ds, SEL_DATA, SEG_TYPE_DATA);
	sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
	sregs.cr0 = CR0_PE | CR0_ET;
	sregs.cr4 = 0;
	sregs.efer = 0;
	kvm_ioctl(vm->vcpu, KVM_SET_SREGS, &sregs, "flat protected mode");
	kvm_ioctl(vm->vcpu, KVM_SET_REGS, &regs, "entry at 1 MiB");
}

static void create_vcpu(struct vm *vm)
{
	int size;

	vm->vcpu = kvm_ioctl(vm->fd, KVM_CREATE_VCPU, 0, "vCPU 0");
	size = kvm_ioctl(vm->kvm, KVM_GET_VCPU_MMAP_SIZE, 0,
			 "size of struct kvm_run");
	vm->run = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED,
		       vm->vcpu, 0);
	if (vm->run == MAP_FAILED)
		die("mmap of the vCPU's kvm_run (%d bytes): %s", size,
		    strerror(errno));
	setup_cpuid(vm);
	setup_registers(vm);
}

/* The value of a port write, whatever its size (1, 2 or 4 bytes). */
static uint32_t io_value(const uint8_t *data, uint8_t size)
{
	uint32_t v = 0;

	memcpy(&v, data, size <= sizeof(v) ? size : sizeof(v));
	return v;
}

/*
 * A port exit: true once the guest has ended the run. String I/O would
 * come with count > 1: each item sits in the data area.
 */
static bool handle_io(struct vm *vm)
{
	const struct kvm_run *run = vm->run;
	const uint8_t *data = (const uint8_t *)run + run->io.data_offset;
	uint32_t i, value;

	if (run->io.direction != KVM_EXIT_IO_OUT)
		die("guest read port %#x (%u bytes): this guest only writes",
		    run->io.port, run->io.size);
	switch (run->io.port) {
	case COM1_DATA:
		for (i = 0; i < run->io.count; i++)
			putchar(data[i * run->io.size]);
		return false;
	case COM1_SCRATCH:
		/* The "io" figure: a round trip to user space, nothing more. */
		return false;
	case EXIT_PORT:
		if (run->io.size != 4)
			die("guest wrote %u bytes to the exit port %#x; the "
			    "contract is a 32-bit write", run->io.size,
			    EXIT_PORT);
		value = io_value(data, run->io.size);
		if (value != 0)
			die("guest ended with status %u at port %#x", value,
			    EXIT_PORT);
		return true;
	default:
		die("guest wrote %#x to port %#x, which has no device here",
		    io_value(data, run->io.size), run->io.port);
	}
}

static void report_fatal_exit(struct vm *vm)
{
	const struct kvm_run *run = vm->run;
	uint32_t reason = run->exit_reason;
	struct kvm_regs regs;
	uint32_t i;

	fflush(stdout);
	fprintf(stderr, "kvmexit: unexpected exit KVM_EXIT_%s (%u)",
		exit_name(reason), reason);
	switch (reason) {
	case KVM_EXIT_HLT:
		fprintf(stderr, ": the guest halted before writing to port "
			"%#x", EXIT_PORT);
		break;
	case KVM_EXIT_SHUTDOWN:
		fprintf(stderr, ": triple fault");
		break;
	case KVM_EXIT_FAIL_ENTRY:
		fprintf(stderr, ": hardware entry failure reason %#llx",
			(unsigned long long)
			run->fail_entry.hardware_entry_failure_reason);
		break;
	case KVM_EXIT_INTERNAL_ERROR:
		fprintf(stderr, ": suberror %u, data", run->internal.suberror);
		for (i = 0; i < run->internal.ndata &&
			    i < ARRAY_SIZE(run->internal.data); i++)
			fprintf(stderr, " %#llx",
				(unsigned long long)run->internal.data[i]);
		break;
	case KVM_EXIT_MMIO:
		fprintf(stderr, ": %s of %u bytes at %#llx (no memory there)",
			run->mmio.is_write ? "write" : "read", run->mmio.len,
			(unsigned long long)run->mmio.phys_addr);
		break;
	}
	if (ioctl(vm->vcpu, KVM_GET_REGS, &regs) == 0)
		fprintf(stderr, "; rip %#llx", (unsigned long long)regs.rip);
	fputc('\n', stderr);
	exit(1);
}

static void run_guest(struct vm *vm)
{
	for (;;) {
		if (ioctl(vm->vcpu, KVM_RUN, 0) < 0) {
			/* A signal for this process: just go back in. */
			if (errno == EINTR || errno == EAGAIN)
				continue;
			die("KVM_RUN (running the guest): %s", strerror(errno));
		}
		switch (vm->run->exit_reason) {
		case KVM_EXIT_IO:
			if (handle_io(vm))
				return;
			break;
		case KVM_EXIT_INTR:
			/* A signal arrived while in the guest: go back in. */
			break;
		default:
			report_fatal_exit(vm);
		}
	}
}

int main(int argc, char **argv)
{
	struct vm vm;

	if (argc != 2) {
		fprintf(stderr, "usage: kvmexit GUEST.bin\n");
		return 2;
	}
	/*
	 * Hold the guest's output until it is done: writing to the console
	 * while it runs would have the serial driver's interrupts land in
	 * the loop the guest times next. die() flushes what there is.
	 */
	if (setvbuf(stdout, NULL, _IOFBF, OUTPUT_BUFFER) != 0)
		die("cannot buffer standard output");
	open_kvm(&vm);
	setup_memory(&vm);
	load_guest(&vm, argv[1]);
	create_vcpu(&vm);
	run_guest(&vm);
	fflush(stdout);
	return 0;
}
