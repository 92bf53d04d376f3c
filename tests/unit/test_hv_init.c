/*
 * Unit tests for hv_init() (kernel/hv_init.c), compiled as it is, with fakes
 * for everything it calls: the log, the clock, the command line, cross-CPU
 * calls, the page allocator, the reboot hooks, panic(), and two vendor_ops
 * instances that write down every call they get.
 *
 * hv_init.c keeps static state that only a fresh process resets, so each
 * case runs hv_init() once in a fork()ed child. The child copies what it
 * saw (return code, log, trace of vendor calls, allocator counters, per-CPU
 * state) into a shared mapping; the parent checks it.
 *
 * pick_vendor() runs the real CPUID instruction. The two fakes behave
 * alike, so every case passes on Intel and AMD hosts; the test works out
 * from CPUID which of them must answer and checks that it is the one.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <lamina/errno.h>
/*
 * hv.h declares vmx_ops and svm_ops const. The fakes below are writable so
 * that a case can take an op away before hv_init() looks at it; only this
 * file sees them without const.
 */
#define vmx_ops hv_h_vmx_ops
#define svm_ops hv_h_svm_ops
#include <lamina/hv.h>
#undef vmx_ops
#undef svm_ops
#include <lamina/kernel.h>
#include <lamina/lib.h>
#include <lamina/percpu.h>
#include <lamina/printk.h>
#include <lamina/vm.h>
#include <lamina/x86.h>

#include "../../svm/svm.h"
#include "../../vmx/vmx.h"

#define NR_TEST_CPUS 4
#define POOL_PAGES 64
#define PANIC_EXIT 42
#define BIT(n) (1u << (n))

/* ------------------------------------------------------------ scenarios */

struct scenario {
	const char *fail;          /* hv.fail=, or NULL */
	const char *mismatch;      /* hv.test_mismatch=, or NULL */
	u32 offline;               /* CPUs listed but not online */
	u32 no_answer;             /* CPUs smp_call_on() gets no answer from */
	u32 slow;                  /* CPUs that stop taking calls from... */
	unsigned int slow_from;    /* ...this one on (from 1): see below */
	u32 enable_fail;           /* CPUs where the vendor enable fails */
	int enable_err;
	int support_err;           /* check_support() refuses with this */
	const char *support_why;
	int setup_err;             /* hardware_setup() refuses with this */
	const char *setup_why;
	unsigned int alloc_fails_at; /* this page_alloc() call fails (from 1) */
	int reboot_err;            /* reboot_hook_register() fails with this */
	const char *drop_op;       /* this op is NULL in both fakes */
	bool reboot_after;         /* call the reboot hook after success */
};

struct cpu_seen {
	bool checked, ok, enabled, region, hw_on;
	char field[32];
};

/* What the child saw; lives in a mapping shared with the parent. */
struct outcome {
	int status;            /* the child's exit status */
	int rc;
	bool active;
	char ops_name[8];      /* hv_ops->name, "" when NULL */
	char vendor[8];        /* the fake that answered: "vmx", "svm", "" */
	char off_reason[160];
	struct mm_stats before, after;
	bool hook_is_disable_all;
	unsigned int hooks;
	struct cpu_seen cpu[NR_TEST_CPUS];
	char panic_msg[256];
	char errors[1024];     /* what the fakes found wrong */
	char trace[4096];      /* vendor calls, ", " between them */
	char log[16384];
};

static struct scenario scn;
static struct outcome *out;

static void vappend(char *buf, size_t size, const char *fmt, va_list ap)
{
	size_t len = strnlen(buf, size);

	if (len < size)
		vsnprintf(buf + len, size - len, fmt, ap);
}

static void __printf(3, 4) append(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vappend(buf, size, fmt, ap);
	va_end(ap);
}

static void __printf(1, 2) trace(const char *fmt, ...)
{
	va_list ap;

	if (out->trace[0])
		append(out->trace, sizeof(out->trace), ", ");
	va_start(ap, fmt);
	vappend(out->trace, sizeof(out->trace), fmt, ap);
	va_end(ap);
}

static void __printf(1, 2) fake_error(const char *fmt, ...)
{
	va_list ap;

	append(out->errors, sizeof(out->errors), "%s",
	       out->errors[0] ? "; " : "");
	va_start(ap, fmt);
	vappend(out->errors, sizeof(out->errors), fmt, ap);
	va_end(ap);
}

/* ----------------------------------------------- log, clock, panic, cmdline */

void printk(enum log_level level, const char *fmt, ...)
{
	static const char *const tags[] = { "err", "warn", "info", "debug" };
	va_list ap;

	append(out->log, sizeof(out->log), "[%s] ",
	       level < ARRAY_SIZE(tags) ? tags[level] : "?");
	va_start(ap, fmt);
	vappend(out->log, sizeof(out->log), fmt, ap);
	va_end(ap);
}

/* Every reading is 10 us after the one before. */
u64 uptime_us(void)
{
	static u64 now;

	return now += 10;
}

/* The machine stops: so does the child, with the message left behind. */
void panic(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(out->panic_msg, sizeof(out->panic_msg), fmt, ap);
	va_end(ap);
	_exit(PANIC_EXIT);
}

const char *cmdline_get(const char *key)
{
	if (!strcmp(key, "hv.fail"))
		return scn.fail;
	if (!strcmp(key, "hv.test_mismatch"))
		return scn.mismatch;
	fake_error("cmdline_get(\"%s\"): unexpected key", key);
	return NULL;
}

bool cmdline_u64(const char *key, u64 *val)
{
	const char *v = cmdline_get(key);

	return v && !parse_u64(v, val);
}

/* ------------------------------------------------------------------ CPUs */

struct percpu percpu[MAX_CPUS];
unsigned int nr_cpus_listed;
static unsigned int cur_cpu; /* the CPU the fakes run on */
static bool hw_on[MAX_CPUS]; /* CR4.VMXE / EFER.SVME as the fakes keep it */
static unsigned int calls_to[MAX_CPUS];

/*
 * A slow CPU, as kernel/smp.c has it: a call the CPU does not take within
 * the timeout is withdrawn, never to run, and smp_call_on() says
 * -HV_ETIMEDOUT.
 */
static void setup_cpus(void)
{
	nr_cpus_listed = NR_TEST_CPUS;
	for (unsigned int i = 0; i < NR_TEST_CPUS; i++) {
		percpu[i].self = &percpu[i];
		percpu[i].index = i;
		percpu[i].state = (scn.offline & BIT(i)) ? CPU_OFFLINE
							   : CPU_ONLINE;
	}
}

unsigned int smp_online_count(void)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < nr_cpus_listed; i++)
		n += percpu[i].state == CPU_ONLINE;
	return n;
}

int smp_call_on(unsigned int cpu, void (*fn)(void *), void *arg,
		u64 timeout_ms)
{
	unsigned int caller = cur_cpu;

	if (!timeout_ms)
		fake_error("smp_call_on(%u) without a timeout", cpu);
	if (cpu >= nr_cpus_listed || percpu[cpu].state != CPU_ONLINE)
		return -HV_ENODEV;
	if (scn.no_answer & BIT(cpu))
		return -HV_ETIMEDOUT;
	if (scn.slow & BIT(cpu) && ++calls_to[cpu] >= scn.slow_from)
		return -HV_ETIMEDOUT;
	cur_cpu = cpu;
	fn(arg);
	cur_cpu = caller;
	return 0;
}

/* ------------------------------------------------------- page allocator */

struct fake_alloc {
	void *p;
	u64 npages;
	enum pg_owner owner;
};

static struct fake_alloc allocs[POOL_PAGES];
static unsigned int nr_page_allocs;
static u64 pages_used, pages_owned[PG_NR_OWNERS];

static struct fake_alloc *find_alloc(const void *p)
{
	for (size_t i = 0; i < ARRAY_SIZE(allocs); i++)
		if (allocs[i].p == p)
			return &allocs[i];
	return NULL;
}

void *page_alloc(u64 npages, u64 align, u64 limit, enum pg_owner owner)
{
	struct fake_alloc *a = find_alloc(NULL);

	(void)limit;
	if (!npages || align < PAGE_SIZE || (align & (align - 1)) ||
	    owner >= PG_NR_OWNERS) {
		fake_error("page_alloc(%llu, %llu, owner %d): bad arguments",
			   (unsigned long long)npages,
			   (unsigned long long)align, owner);
		return NULL;
	}
	if (++nr_page_allocs == scn.alloc_fails_at || !a ||
	    pages_used + npages > POOL_PAGES)
		return NULL;
	a->p = aligned_alloc(align, npages * PAGE_SIZE);
	if (!a->p)
		return NULL;
	memset(a->p, 0, npages * PAGE_SIZE);
	a->npages = npages;
	a->owner = owner;
	pages_used += npages;
	pages_owned[owner] += npages;
	return a->p;
}

void page_free(void *p, u64 npages, enum pg_owner owner)
{
	struct fake_alloc *a = p ? find_alloc(p) : NULL;

	if (!a) {
		fake_error("page_free(%p): not allocated", p);
		return;
	}
	if (a->npages != npages || a->owner != owner)
		fake_error("page_free(%p, %llu, owner %d): allocated as %llu, owner %d",
			   p, (unsigned long long)npages, owner,
			   (unsigned long long)a->npages, a->owner);
	free(a->p);
	pages_used -= a->npages;
	pages_owned[a->owner] -= a->npages;
	memset(a, 0, sizeof(*a));
}

void mm_stats(struct mm_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->usable = POOL_PAGES * PAGE_SIZE;
	st->free = (POOL_PAGES - pages_used) * PAGE_SIZE;
	for (int i = 0; i < PG_NR_OWNERS; i++)
		st->owned[i] = pages_owned[i] * PAGE_SIZE;
}

/* ---------------------------------------------------------- reboot hooks */

static void (*reboot_hook)(void);

int reboot_hook_register(void (*fn)(void))
{
	if (scn.reboot_err)
		return scn.reboot_err;
	if (reboot_hook)
		fake_error("reboot_hook_register: a hook is there already");
	reboot_hook = fn;
	return 0;
}

void reboot_hook_unregister(void (*fn)(void))
{
	if (reboot_hook != fn)
		fake_error("reboot_hook_unregister: not registered");
	reboot_hook = NULL;
}

/* --------------------------------------------------------------- config */

/* A page stands for the VMs the config step creates. */
#define CONFIG_PAGES 1
static void *config_vms;

int config_load(bool fail_after)
{
	trace("config load%s", fail_after ? " (hv.fail)" : "");
	config_vms = page_alloc(1, PAGE_SIZE, 0, PG_OWNER_VM);
	if (!config_vms)
		return -HV_ENOMEM;
	if (!fail_after)
		return 0;
	config_unload(); /* the step's own roll-back */
	return -HV_ECANCELED;
}

void config_unload(void)
{
	trace("config unload");
	if (!config_vms)
		fake_error("config_unload: nothing loaded");
	page_free(config_vms, 1, PG_OWNER_VM);
	config_vms = NULL;
}

/* ----------------------------------------------------------- vendor ops */

/*
 * What every CPU reads, through either fake: the Bochs 2.7 Skylake-X
 * capability MSRs (the SVM fields share their first bytes).
 */
#include "recorded_caps.h"

#define boot_record skylake_x

/* The instance whose check_support() ran; hv_init.c calls only it after. */
static const char *answered = "";

static void check_hc(const char *op, const struct hv_cpu *hc)
{
	if (hc != &hv_cpus[cur_cpu])
		fake_error("%s on cpu %u got hv_cpus[%td]", op, cur_cpu,
			   hc - hv_cpus);
	if (!hc->region)
		fake_error("%s on cpu %u without a region", op, cur_cpu);
}

static int fake_check_support(const char *vendor, char *why, size_t len)
{
	answered = vendor;
	trace("check_support");
	if (scn.support_err)
		snprintf(why, len, "%s", scn.support_why);
	return scn.support_err;
}

static int fake_vmx_check_support(char *why, size_t len)
{
	return fake_check_support("vmx", why, len);
}

static int fake_svm_check_support(char *why, size_t len)
{
	return fake_check_support("svm", why, len);
}

static void fake_read_caps(struct hv_caps *caps)
{
	trace("read_caps cpu %u", cur_cpu);
	memset(caps, 0, sizeof(*caps));
	caps->raw.vmx = boot_record;
}

static int fake_hardware_setup(struct hv_caps *caps, char *why, size_t len)
{
	trace("hardware_setup");
	if (caps != &hv_boot_caps)
		fake_error("hardware_setup: not given hv_boot_caps");
	if (scn.setup_err)
		snprintf(why, len, "%s", scn.setup_why);
	return scn.setup_err;
}

static void fake_hardware_unsetup(void)
{
	trace("hardware_unsetup");
}

static int fake_hardware_enable(struct hv_cpu *hc)
{
	trace("enable cpu %u", cur_cpu);
	check_hc("enable", hc);
	if (hw_on[cur_cpu])
		fake_error("enable: cpu %u was on already", cur_cpu);
	if (scn.enable_fail & BIT(cur_cpu))
		return scn.enable_err;
	hw_on[cur_cpu] = true;
	return 0;
}

static void fake_hardware_disable(struct hv_cpu *hc)
{
	trace("disable cpu %u", cur_cpu);
	check_hc("disable", hc);
	if (!hw_on[cur_cpu])
		fake_error("disable: cpu %u was not on", cur_cpu);
	hw_on[cur_cpu] = false;
}

static bool fake_cpu_virt_on(void)
{
	trace("virt_on cpu %u", cur_cpu);
	return hw_on[cur_cpu];
}

static void fake_print_caps(const struct hv_caps *caps, hv_print_fn pr,
			    void *ctx)
{
	(void)caps;
	(void)pr;
	(void)ctx;
	trace("print_caps");
}

/* The two instances differ only in names and caps fields. */
#define FAKE_OPS(v, vendor_id, long)                            \
	{                                                       \
		.name = #v,                                     \
		.long_name = long,                              \
		.vendor = vendor_id,                            \
		.caps_fields = v##_caps_fields,                 \
		.nr_caps_fields = ARRAY_SIZE(v##_caps_fields),  \
		.check_support = fake_##v##_check_support,      \
		.read_caps = fake_read_caps,                    \
		.hardware_setup = fake_hardware_setup,          \
		.hardware_unsetup = fake_hardware_unsetup,      \
		.hardware_enable = fake_hardware_enable,        \
		.hardware_disable = fake_hardware_disable,      \
		.cpu_virt_on = fake_cpu_virt_on,                \
		.print_caps = fake_print_caps,                  \
	}

struct vendor_ops vmx_ops = FAKE_OPS(vmx, HV_VENDOR_INTEL, "Intel VMX (fake)");
struct vendor_ops svm_ops = FAKE_OPS(svm, HV_VENDOR_AMD, "AMD SVM (fake)");

/* Every op, from the same list hv_init.c checks. */
static const struct {
	const char *name;
	size_t offset;
	bool required;
} all_ops[] = {
#define REQUIRED true
#define OPTIONAL false
#define VENDOR_OP(kind, ret, name, args) \
	{ #name, offsetof(struct vendor_ops, name), kind },
#include <lamina/vendor-ops.h>
#undef VENDOR_OP
#undef OPTIONAL
#undef REQUIRED
};

static void drop_op(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(all_ops); i++) {
		if (strcmp(all_ops[i].name, name))
			continue;
		memset((u8 *)&vmx_ops + all_ops[i].offset, 0, sizeof(void *));
		memset((u8 *)&svm_ops + all_ops[i].offset, 0, sizeof(void *));
		return;
	}
	fake_error("drop_op: no op '%s'", name);
}

/* ---------------------------------------------------------- the child */

static void record(void)
{
	out->active = hv_active();
	snprintf(out->off_reason, sizeof(out->off_reason), "%s",
		 hv_off_reason());
	snprintf(out->ops_name, sizeof(out->ops_name), "%s",
		 hv_ops ? hv_ops->name : "");
	snprintf(out->vendor, sizeof(out->vendor), "%s", answered);
	mm_stats(&out->after);
	out->hooks = !!reboot_hook;
	out->hook_is_disable_all = reboot_hook == hv_disable_all;
	for (unsigned int i = 0; i < NR_TEST_CPUS; i++) {
		const struct hv_cpu *hc = &hv_cpus[i];
		struct cpu_seen *c = &out->cpu[i];

		c->checked = hc->compat_checked;
		c->ok = hc->compat_ok;
		c->enabled = hc->enabled;
		c->region = hc->region;
		c->hw_on = hw_on[i];
		snprintf(c->field, sizeof(c->field), "%s",
			 hc->compat_field ? hc->compat_field : "");
	}
}

static void __noreturn child(void)
{
	/* cmocka's handlers would carry on with the next test in here. */
	signal(SIGSEGV, SIG_DFL);
	signal(SIGBUS, SIG_DFL);
	signal(SIGILL, SIG_DFL);
	signal(SIGFPE, SIG_DFL);
	signal(SIGABRT, SIG_DFL);
	setup_cpus();
	if (scn.drop_op)
		drop_op(scn.drop_op);
	mm_stats(&out->before);
	out->rc = hv_init();
	if (!out->rc && scn.reboot_after && reboot_hook)
		reboot_hook();
	record();
	_exit(0);
}

/* ---------------------------------------------------------- the parent */

static const char *const step_names[] = {
	"arch_init", "hardware_setup", "compat_check", "hardware_enable",
	"vcpu_cache", "config", "reboot_notifier",
};
#define NR_STEPS ARRAY_SIZE(step_names)

/* The fake pick_vendor() must pick on this host, or NULL. */
static const struct vendor_ops *host_ops(void)
{
	struct cpuid_regs r = cpuid(0, 0);
	char id[13];

	memcpy(id, &r.ebx, 4);
	memcpy(id + 4, &r.edx, 4);
	memcpy(id + 8, &r.ecx, 4);
	id[12] = '\0';
	if (!strcmp(id, "GenuineIntel"))
		return &vmx_ops;
	if (!strcmp(id, "AuthenticAMD") || !strcmp(id, "HygonGenuine"))
		return &svm_ops;
	return NULL;
}

/* The case a table-driven test is at; "" again once its loop is done. */
static const char *case_name = "";

static void show(const struct outcome *o)
{
	print_message("--- case: %s\n--- log:\n%s--- trace: %s\n--- fakes: %s\n--- panic: %s\n",
		      case_name, o->log, o->trace, o->errors, o->panic_msg);
	fflush(stdout);
}

static const struct outcome *run(const struct scenario *s)
{
	int status;
	pid_t pid;

	if (!host_ops())
		skip(); /* pick_vendor() refuses this CPU: nothing to test */
	memset(out, 0, sizeof(*out));
	scn = *s;
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	assert_true(pid >= 0);
	if (!pid)
		child();
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (!WIFEXITED(status)) {
		show(out);
		fail_msg("the child died of signal %d", WTERMSIG(status));
	}
	out->status = WEXITSTATUS(status);
	return out;
}

static void __printf(3, 4) expect_log(const struct outcome *o, bool present,
				      const char *fmt, ...)
{
	char want[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(want, sizeof(want), fmt, ap);
	va_end(ap);
	if (!!strstr(o->log, want) == present)
		return;
	show(o);
	fail_msg("the log %s \"%s\"", present ? "lacks" : "has", want);
}

static void expect_trace(const struct outcome *o, const char *want)
{
	if (!strcmp(o->trace, want))
		return;
	show(o);
	fail_msg("trace:\n  got  \"%s\"\n  want \"%s\"", o->trace, want);
}

/* hv_init() returned @rc, the fakes saw nothing wrong, the right one answered. */
static void expect_returned(const struct outcome *o, int rc)
{
	if (o->status) {
		show(o);
		fail_msg("the child exited with status %d (a sanitizer report above?)",
			 o->status);
	}
	if (o->rc != rc || o->errors[0]) {
		show(o);
		fail_msg("hv_init returned %d (want %d), fakes: %s", o->rc, rc,
			 o->errors[0] ? o->errors : "ok");
	}
	if (o->vendor[0])
		assert_string_equal(o->vendor, host_ops()->name);
}

/* Steps 1..@n done, in order, each in 10 us of the fake clock. */
static void expect_steps_done(const struct outcome *o, size_t n)
{
	for (size_t i = 0; i < n; i++)
		expect_log(o, true, "[info] hv: step %zu/%zu '%s' done in 10 us\n",
			   i + 1, NR_STEPS, step_names[i]);
}

static void expect_steps_not_run(const struct outcome *o, size_t from)
{
	for (size_t i = from; i < NR_STEPS; i++)
		expect_log(o, false, "step %zu/%zu", i + 1, NR_STEPS);
}

/* Everything hv_init() did is undone. */
static void expect_unwound(const struct outcome *o)
{
	assert_false(o->active);
	assert_string_equal(o->ops_name, "");
	assert_int_equal(o->hooks, 0);
	assert_int_equal(o->after.free, o->before.free);
	assert_memory_equal(o->after.owned, o->before.owned,
			    sizeof(o->after.owned));
	expect_log(o, true, "unwound: allocator counters are back to their values before hv_init");
	expect_log(o, true, "[err] hv: virtualisation off: %s\n", o->off_reason);
	expect_log(o, false, "STILL ON");
	for (unsigned int i = 0; i < NR_TEST_CPUS; i++) {
		const struct cpu_seen *c = &o->cpu[i];

		assert_false(c->checked || c->ok || c->enabled || c->region);
		assert_false(c->hw_on);
		assert_string_equal(c->field, "");
	}
}

/* CPUs in @mask are on, with a region; the others are off. */
static void expect_enabled(const struct outcome *o, u32 mask)
{
	for (unsigned int i = 0; i < NR_TEST_CPUS; i++) {
		bool on = mask & BIT(i);

		assert_int_equal(o->cpu[i].enabled, on);
		assert_int_equal(o->cpu[i].region, on);
		assert_int_equal(o->cpu[i].hw_on, on);
	}
	assert_int_equal(o->before.free - o->after.free,
			 (__builtin_popcount(mask) + CONFIG_PAGES) * PAGE_SIZE);
	assert_int_equal(o->after.owned[PG_OWNER_VIRT] -
			 o->before.owned[PG_OWNER_VIRT],
			 __builtin_popcount(mask) * PAGE_SIZE);
}

/* hv_init() succeeded with @mask on. */
static void expect_active(const struct outcome *o, u32 mask)
{
	const struct vendor_ops *ops = host_ops();

	expect_returned(o, 0);
	assert_true(o->active);
	assert_string_equal(o->off_reason, "");
	assert_string_equal(o->ops_name, ops->name);
	assert_true(o->hook_is_disable_all);
	expect_steps_done(o, NR_STEPS);
	expect_log(o, true, "[info] hv: %s\n", ops->long_name);
	expect_log(o, true, "[info] hv: %s enabled on %d CPUs\n",
		   ops->long_name, __builtin_popcount(mask));
	expect_log(o, true, "[info] hv: virtualisation on (%s) in ",
		   ops->long_name);
	expect_log(o, false, "[err]");
	expect_enabled(o, mask);
}

/* ------------------------------------------------------- expected traces */

#define TR_ARCH "check_support"
#define TR_SETUP TR_ARCH ", read_caps cpu 0, hardware_setup"
#define TR_COMPAT TR_SETUP ", read_caps cpu 1, read_caps cpu 2, read_caps cpu 3"
#define ON(n) ", enable cpu " #n
#define OFF(n) ", disable cpu " #n ", virt_on cpu " #n
#define TR_ALL_ON TR_COMPAT ON(0) ON(1) ON(2) ON(3)
#define TR_LOADED TR_ALL_ON ", config load"
#define UNSETUP ", hardware_unsetup"

/* ------------------------------------------------------------ the cases */

static void test_step_names(void **state)
{
	(void)state;
	assert_int_equal(hv_nr_steps(), NR_STEPS);
	for (unsigned int i = 0; i < NR_STEPS; i++)
		assert_string_equal(hv_step_name(i), step_names[i]);
	assert_string_equal(hv_step_name(NR_STEPS), "?");
}

static void test_success(void **state)
{
	const struct outcome *o = run(&(struct scenario){ 0 });

	(void)state;
	expect_active(o, 0xf);
	expect_trace(o, TR_LOADED);
	expect_log(o, true, "[info] hv: 4 of 4 online CPUs passed the compatibility check\n");
	for (unsigned int i = 0; i < NR_TEST_CPUS; i++) {
		assert_true(o->cpu[i].checked && o->cpu[i].ok);
		assert_string_equal(o->cpu[i].field, "");
	}
}

/* The reboot hook hv_init() registers turns every CPU off, last first. */
static void test_reboot_hook_disables_all(void **state)
{
	const struct outcome *o = run(&(struct scenario){ .reboot_after = true });

	(void)state;
	expect_returned(o, 0);
	expect_trace(o, TR_LOADED OFF(3) OFF(2) OFF(1) OFF(0));
	assert_false(o->active);
	expect_log(o, true, "[info] hv: turning virtualisation off on every CPU before reboot\n");
	for (unsigned int i = 0; i < NR_TEST_CPUS; i++)
		expect_log(o, true, "[info] hv: cpu %u: %s off (the CPU confirms)\n",
			   i, host_ops()->long_name);
	/* The VMs stay (the machine resets next); every region is freed. */
	assert_int_equal(o->before.free - o->after.free,
			 CONFIG_PAGES * PAGE_SIZE);
	assert_int_equal(o->after.owned[PG_OWNER_VIRT],
			 o->before.owned[PG_OWNER_VIRT]);
}

/* hv_init() fails at @step; everything before it is undone, in reverse. */
struct fail_case {
	const char *what;
	struct scenario s;
	int rc;
	size_t step;          /* the failing one, from 0 */
	const char *trace;
	const char *reason;   /* hv_off_reason() */
	const char *cpu_line; /* a line the log must have; %s: the vendor */
};

#define ALL_OFF OFF(3) OFF(2) OFF(1) OFF(0)
#define HV_FAIL(n, step, trace, line) \
	{ "hv.fail=" step, { .fail = step }, -HV_ECANCELED, n, trace, \
	  "hv_init failed (-125): made to fail by hv.fail", line }

static const struct fail_case hv_fail_cases[] = {
	HV_FAIL(0, "arch_init", "", NULL),
	HV_FAIL(1, "hardware_setup", TR_ARCH, NULL),
	HV_FAIL(2, "compat_check", TR_SETUP UNSETUP, NULL),
	/* The last CPU fails, after the others are on. */
	HV_FAIL(3, "hardware_enable",
		TR_COMPAT ON(0) ON(1) ON(2) OFF(2) OFF(1) OFF(0) UNSETUP,
		"[err] hv: cpu 3: %s enable failed (-125) (hv.fail)\n"),
	HV_FAIL(4, "vcpu_cache", TR_ALL_ON ALL_OFF UNSETUP, NULL),
	/* Every VM is created, then the step fails and destroys them. */
	HV_FAIL(5, "config", TR_ALL_ON ", config load (hv.fail), config unload"
		ALL_OFF UNSETUP, NULL),
	HV_FAIL(6, "reboot_notifier", TR_LOADED ", config unload" ALL_OFF
		UNSETUP, NULL),
};

/* A step that fails for real: the same unwinding, no "hv.fail" said. */
static const struct fail_case real_fail_cases[] = {
	{ "the vendor refuses", { .support_err = -HV_ENODEV,
	  .support_why = "fake: VMX/SVM disabled by the firmware" },
	  -HV_ENODEV, 0, TR_ARCH, "fake: VMX/SVM disabled by the firmware",
	  NULL },
	/* What failed is not undone: no hardware_unsetup. */
	{ "hardware_setup refuses", { .setup_err = -HV_EOPNOTSUPP,
	  .setup_why = "fake: no EPT" },
	  -HV_EOPNOTSUPP, 1, TR_SETUP, "fake: no EPT", NULL },
	/* CPUs 1 and 0 are rolled back. */
	{ "the enable fails on CPU 2", { .enable_fail = BIT(2),
	  .enable_err = -HV_EIO }, -HV_EIO, 3,
	  TR_COMPAT ON(0) ON(1) ON(2) OFF(1) OFF(0) UNSETUP,
	  "hv_init failed (-5)", "[err] hv: cpu 2: %s enable failed (-5)\n" },
	{ "no page for CPU 2's region", { .alloc_fails_at = 3 },
	  -HV_ENOMEM, 3, TR_COMPAT ON(0) ON(1) OFF(1) OFF(0) UNSETUP,
	  "hv_init failed (-12)", NULL },
	/* CPU 2 answers the check, then not the enable call in time. */
	{ "the enable call to CPU 2 times out", { .slow = BIT(2),
	  .slow_from = 2 }, -HV_ETIMEDOUT, 3,
	  TR_COMPAT ON(0) ON(1) OFF(1) OFF(0) UNSETUP,
	  "hv_init failed (-110)", "[err] hv: cpu 2: %s enable failed (-110)\n" },
	{ "the reboot hook is refused", { .reboot_err = -HV_ENOMEM },
	  -HV_ENOMEM, 6, TR_LOADED ", config unload" ALL_OFF UNSETUP,
	  "hv_init failed (-12)", NULL },
	/* hv.fail=hardware_enable with CPU 3 left out: CPU 2 is the last. */
	{ "hv.fail=hardware_enable hv.test_mismatch=3",
	  { .fail = "hardware_enable", .mismatch = "3" }, -HV_ECANCELED, 3,
	  TR_COMPAT ON(0) ON(1) OFF(1) OFF(0) UNSETUP,
	  "hv_init failed (-125): made to fail by hv.fail",
	  "[err] hv: cpu 2: %s enable failed (-125) (hv.fail)\n" },
};

static void check_failure(const struct fail_case *c)
{
	const struct outcome *o;

	case_name = c->what;
	o = run(&c->s);
	expect_returned(o, c->rc);
	expect_trace(o, c->trace);
	expect_steps_done(o, c->step);
	expect_log(o, true, "[err] hv: step %zu/%zu '%s' failed (%d)%s\n",
		   c->step + 1, NR_STEPS, step_names[c->step], c->rc,
		   c->s.fail ? " on purpose (hv.fail)" : "");
	expect_steps_not_run(o, c->step + 1);
	if (!c->s.fail)
		expect_log(o, false, "hv.fail");
	if (c->cpu_line)
		expect_log(o, true, c->cpu_line, host_ops()->long_name);
	expect_unwound(o);
	assert_string_equal(o->off_reason, c->reason);
}

static void test_fail_each_step(void **state)
{
	(void)state;
	assert_int_equal(ARRAY_SIZE(hv_fail_cases), NR_STEPS);
	for (size_t i = 0; i < ARRAY_SIZE(hv_fail_cases); i++) {
		assert_int_equal(hv_fail_cases[i].step, i);
		check_failure(&hv_fail_cases[i]);
	}
	case_name = "";
}

static void test_real_failures(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(real_fail_cases); i++)
		check_failure(&real_fail_cases[i]);
	case_name = "";
}

/* hv.test_mismatch=2: CPU 2 reads different caps and is left out. */
static void test_mismatch_leaves_cpu_out(void **state)
{
	const struct outcome *o = run(&(struct scenario){ .mismatch = "2" });
	const char *first;

	(void)state;
	expect_active(o, BIT(0) | BIT(1) | BIT(3));
	expect_trace(o, TR_COMPAT ON(0) ON(1) ON(3) ", config load");
	first = host_ops()->caps_fields[0].name;
	assert_true(o->cpu[2].checked);
	assert_false(o->cpu[2].ok);
	assert_string_equal(o->cpu[2].field, first);
	for (unsigned int i = 0; i < NR_TEST_CPUS; i++)
		if (i != 2)
			assert_string_equal(o->cpu[i].field, "");
	expect_log(o, true, "[warn] hv: hv.test_mismatch: changed cpu 2's '%s' reading\n",
		   first);
	expect_log(o, true, "[warn] hv: cpu 2: '%s' is 0x%llx, boot CPU's is 0x%llx: left out\n",
		   first, (unsigned long long)boot_record.basic ^ 1,
		   (unsigned long long)boot_record.basic);
	expect_log(o, true, "[info] hv: 3 of 4 online CPUs passed the compatibility check\n");
}

/* A CPU that does not answer the check is left out, not waited for. */
static void test_cpu_without_answer(void **state)
{
	const struct outcome *o = run(&(struct scenario){ .no_answer = BIT(1) });

	(void)state;
	expect_active(o, BIT(0) | BIT(2) | BIT(3));
	expect_trace(o, TR_SETUP ", read_caps cpu 2, read_caps cpu 3"
		     ON(0) ON(2) ON(3) ", config load");
	assert_true(o->cpu[1].checked);
	assert_string_equal(o->cpu[1].field, "(no answer)");
	expect_log(o, true, "[warn] hv: cpu 1 did not answer the compatibility check: left out\n");
}

/* A CPU listed but offline is neither checked nor enabled. */
static void test_offline_cpu_skipped(void **state)
{
	const struct outcome *o = run(&(struct scenario){ .offline = BIT(3) });

	(void)state;
	expect_active(o, BIT(0) | BIT(1) | BIT(2));
	expect_trace(o, TR_SETUP ", read_caps cpu 1, read_caps cpu 2"
		     ON(0) ON(1) ON(2) ", config load");
	assert_false(o->cpu[3].checked);
	expect_log(o, true, "[info] hv: 3 of 3 online CPUs passed the compatibility check\n");
}

/*
 * CPU 1 does not take the disable call: its region stays allocated and it
 * stays marked enabled (virtualisation may still be on there), the log
 * says so and does not claim the CPU confirmed anything, and the counters
 * show the page that could not be given back.
 */
static void test_disable_times_out(void **state)
{
	const struct outcome *o;
	const char *name;

	(void)state;
	/* CPU 1's calls: 1 read_caps, 2 enable, 3 disable. */
	o = run(&(struct scenario){ .fail = "vcpu_cache", .slow = BIT(1),
				    .slow_from = 3 });
	name = host_ops()->long_name;
	expect_returned(o, -HV_ECANCELED);
	expect_trace(o, TR_ALL_ON OFF(3) OFF(2) ", disable cpu 0, virt_on cpu 0"
		     UNSETUP);
	expect_log(o, true, "[err] hv: cpu 1 did not answer: %s may still be on there\n", name);
	expect_log(o, false, "cpu 1: %s off", name);
	assert_true(o->cpu[1].enabled && o->cpu[1].region);
	assert_int_equal(o->before.free - o->after.free, 4096);
	expect_log(o, true, "less free than before hv_init");
}

/*
 * Each op taken away in turn, with hv.fail=compat_check so that the
 * unwinding runs: a required one panics with its name before any vendor
 * call; the optional one is skipped.
 */
static void check_drop_op(const char *op, bool required)
{
	const struct outcome *o;
	char want[128];

	case_name = op;
	o = run(&(struct scenario){ .drop_op = op, .fail = "compat_check" });
	if (!required) {
		/* hv_init() calls no optional op but hardware_unsetup. */
		expect_returned(o, -HV_ECANCELED);
		expect_trace(o, strcmp(op, "hardware_unsetup") ?
				TR_SETUP UNSETUP : TR_SETUP);
		expect_unwound(o);
		return;
	}
	snprintf(want, sizeof(want), "%s: required vendor op '%s' is missing",
		 host_ops()->name, op);
	if (o->status != PANIC_EXIT) {
		show(o);
		fail_msg("without %s: exit status %d, no panic", op, o->status);
	}
	assert_string_equal(o->panic_msg, want);
	expect_trace(o, "");
}

static void test_missing_op(void **state)
{
	unsigned int nr_required = 0;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(all_ops); i++) {
		check_drop_op(all_ops[i].name, all_ops[i].required);
		nr_required += all_ops[i].required;
	}
	case_name = "";
	assert_true(nr_required > 0 && nr_required < ARRAY_SIZE(all_ops));
}

static int group_setup(void **state)
{
	(void)state;
	out = mmap(NULL, sizeof(*out), PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	return out == MAP_FAILED ? -1 : 0;
}

static int group_teardown(void **state)
{
	(void)state;
	return munmap(out, sizeof(*out));
}

/* A loop cut short by a failed assertion: say which case it was at. */
static int teardown(void **state)
{
	(void)state;
	if (case_name[0])
		print_message("(failed at case: %s)\n", case_name);
	case_name = "";
	return 0;
}

#define T(fn) cmocka_unit_test_teardown(fn, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_step_names),
		T(test_success),
		T(test_reboot_hook_disables_all),
		T(test_fail_each_step),
		T(test_real_failures),
		T(test_disable_times_out),
		T(test_mismatch_leaves_cpu_out),
		T(test_cpu_without_answer),
		T(test_offline_cpu_skipped),
		T(test_missing_op),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
