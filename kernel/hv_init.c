/*
 * hv_init(): the bare-metal counterpart of KVM's kvm_init(). Each step is
 * timed and logged; a failing step unwinds every step before it, in
 * reverse, on every CPU, and the page allocator's counters must end where
 * they started. "hv.fail=STEP" makes a step fail on purpose.
 */
#define pr_fmt(fmt) "hv: " fmt

#include <lamina/errno.h>
#include <lamina/hv.h>
#include <lamina/kernel.h>
#include <lamina/lib.h>
#include <lamina/panic.h>
#include <lamina/percpu.h>
#include <lamina/printk.h>
#include <lamina/vm.h>
#include <lamina/x86.h>

#define CALL_TIMEOUT_MS 1000

enum hv_step {
	STEP_ARCH,
	STEP_SETUP,
	STEP_COMPAT,
	STEP_ENABLE,
	STEP_VCPU_CACHE,
	STEP_CONFIG,
	STEP_REBOOT,
	NR_STEPS,
};

static const char *const step_names[NR_STEPS] = {
	[STEP_ARCH] = "arch_init",
	[STEP_SETUP] = "hardware_setup",
	[STEP_COMPAT] = "compat_check",
	[STEP_ENABLE] = "hardware_enable",
	[STEP_VCPU_CACHE] = "vcpu_cache",
	[STEP_CONFIG] = "config",
	[STEP_REBOOT] = "reboot_notifier",
};

/* Step 5 sets these up (KVM's kvm_vcpu_cache, vm_list and kvm_lock). */
struct objcache vcpu_cache;
struct list_head vm_list = LIST_HEAD_INIT(vm_list);
spinlock_t vm_list_lock = SPINLOCK_INIT;

const struct vendor_ops *hv_ops;
struct hv_cpu hv_cpus[MAX_CPUS];
struct hv_caps hv_boot_caps;
static const struct vendor_ops *chosen;   /* passed arch_init */
static const struct vendor_ops *detected; /* by CPUID, even when refused */
static bool active;
static char off_reason[160];
static u64 step_us[NR_STEPS];

unsigned int hv_nr_steps(void)
{
	return NR_STEPS;
}

const char *hv_step_name(unsigned int i)
{
	return i < NR_STEPS ? step_names[i] : "?";
}

bool hv_active(void)
{
	return active;
}

const char *hv_off_reason(void)
{
	return off_reason;
}

/* --------------------------------------------------------- 1: arch_init */

struct op_desc {
	const char *name;
	size_t offset;
	bool required;
};

static const struct op_desc op_descs[] = {
#define VENDOR_OP(kind, ret, name, args) \
	{ #name, offsetof(struct vendor_ops, name), kind },
#define REQUIRED true
#define OPTIONAL false
#include <lamina/vendor-ops.h>
#undef REQUIRED
#undef OPTIONAL
#undef VENDOR_OP
};

/* KVM's kvm_ops_update(): a required op missing is a build mistake. */
static void check_ops(const struct vendor_ops *ops)
{
	for (size_t i = 0; i < ARRAY_SIZE(op_descs); i++) {
		const void *fn;

		memcpy(&fn, (const u8 *)ops + op_descs[i].offset, sizeof(fn));
		if (op_descs[i].required && !fn)
			panic("%s: required vendor op '%s' is missing", ops->name,
			      op_descs[i].name);
	}
}

static const struct vendor_ops *pick_vendor(void)
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
	snprintf(off_reason, sizeof(off_reason),
		 "CPU vendor '%s' has neither Intel VMX nor AMD SVM", id);
	return NULL;
}

static int arch_init(void)
{
	const struct vendor_ops *ops = pick_vendor();
	int err;

	if (!ops)
		return -HV_ENODEV;
	detected = ops;
	check_ops(ops);
	err = ops->check_support(off_reason, sizeof(off_reason));
	if (err)
		return err;
	chosen = hv_ops = ops;
	pr_info("%s\n", ops->long_name);
	return 0;
}

static void arch_exit(void)
{
	chosen = hv_ops = NULL;
}

/*
 * What the compatibility check learnt, and nothing else: a CPU that could
 * not be turned off keeps its region and its enabled mark.
 */
static void compat_forget(struct hv_cpu *hc)
{
	memset(&hc->caps, 0, sizeof(hc->caps));
	hc->compat_checked = hc->compat_ok = false;
	hc->compat_field = NULL;
}

/* ---------------------------------------------------- 2: hardware_setup */

static int hardware_setup(void)
{
	int err;

	chosen->read_caps(&hv_boot_caps);
	err = chosen->hardware_setup(&hv_boot_caps, off_reason,
				     sizeof(off_reason));
	if (err)
		return err;
	hv_cpus[0].caps = hv_boot_caps;
	hv_cpus[0].compat_checked = hv_cpus[0].compat_ok = true;
	return 0;
}

static void hardware_unsetup(void)
{
	if (chosen->hardware_unsetup)
		chosen->hardware_unsetup();
	memset(&hv_boot_caps, 0, sizeof(hv_boot_caps));
	compat_forget(&hv_cpus[0]);
}

/* ------------------------------------------------------ 3: compat_check */

static void read_caps_here(void *arg)
{
	chosen->read_caps(arg);
}

/* hv.test_mismatch=CPU: change what that CPU read, not how it is checked. */
static void maybe_perturb(unsigned int cpu, struct hv_caps *caps)
{
	u64 which, v;
	size_t off = chosen->caps_fields[0].offset;

	if (!cmdline_u64("hv.test_mismatch", &which) || which != cpu)
		return;
	memcpy(&v, (u8 *)caps + off, sizeof(v));
	v ^= 1;
	memcpy((u8 *)caps + off, &v, sizeof(v));
	pr_warn("hv.test_mismatch: changed cpu %u's '%s' reading\n", cpu,
		chosen->caps_fields[0].name);
}

static void check_cpu(unsigned int cpu)
{
	struct hv_cpu *hc = &hv_cpus[cpu];
	const struct caps_field *diff;
	u64 a = 0, b = 0;

	hc->compat_checked = true;
	if (smp_call_on(cpu, read_caps_here, &hc->caps, CALL_TIMEOUT_MS)) {
		hc->compat_field = "(no answer)";
		pr_warn("cpu %u did not answer the compatibility check: left out\n",
			cpu);
		return;
	}
	maybe_perturb(cpu, &hc->caps);
	diff = hv_caps_diff(&hv_boot_caps, &hc->caps, chosen->caps_fields,
			    chosen->nr_caps_fields);
	if (!diff) {
		hc->compat_ok = true;
		return;
	}
	hc->compat_field = diff->name;
	memcpy(&a, (u8 *)&hv_boot_caps + diff->offset, sizeof(a));
	memcpy(&b, (u8 *)&hc->caps + diff->offset, sizeof(b));
	pr_warn("cpu %u: '%s' is 0x%llx, boot CPU's is 0x%llx: left out\n", cpu,
		diff->name, (unsigned long long)b, (unsigned long long)a);
}

static int compat_check(void)
{
	unsigned int ok = 1;

	for (unsigned int cpu = 1; cpu < nr_cpus_listed; cpu++) {
		if (READ_ONCE(percpu[cpu].state) != CPU_ONLINE)
			continue;
		check_cpu(cpu);
		ok += hv_cpus[cpu].compat_ok;
	}
	pr_info("%u of %u online CPUs passed the compatibility check\n", ok,
		smp_online_count());
	return 0;
}

static void compat_clear(void)
{
	for (unsigned int cpu = 1; cpu < MAX_CPUS; cpu++)
		compat_forget(&hv_cpus[cpu]);
}

/* --------------------------------------------------- 4: hardware_enable */

struct enable_call {
	struct hv_cpu *hc;
	int err;
};

static void enable_here(void *arg)
{
	struct enable_call *c = arg;

	c->err = chosen->hardware_enable(c->hc);
}

static void disable_here(void *arg)
{
	chosen->hardware_disable(arg);
}

static bool virt_on_here_result;
static void virt_on_here(void *arg)
{
	(void)arg;
	virt_on_here_result = detected->cpu_virt_on();
}

/* What CPU @cpu itself says (CR4.VMXE / EFER.SVME); false if it cannot be asked. */
bool hv_cpu_virt_on(unsigned int cpu)
{
	if (!detected)
		return false;
	virt_on_here_result = false;
	if (smp_call_on(cpu, virt_on_here, NULL, CALL_TIMEOUT_MS))
		return false;
	return virt_on_here_result;
}

static void disable_cpu(unsigned int cpu)
{
	struct hv_cpu *hc = &hv_cpus[cpu];

	if (!hc->enabled)
		return;
	/*
	 * A CPU that does not answer may still run with virtualisation on:
	 * its region stays allocated and it stays marked enabled (a later
	 * attempt, e.g. at reboot, tries again), and the counters show it.
	 */
	if (smp_call_on(cpu, disable_here, hc, CALL_TIMEOUT_MS)) {
		pr_err("cpu %u did not answer: %s may still be on there\n", cpu,
		       chosen->long_name);
		return;
	}
	hc->enabled = false;
	page_free(hc->region, 1, PG_OWNER_VIRT);
	hc->region = NULL;
	pr_info("cpu %u: %s off (%s)\n", cpu, chosen->long_name,
		hv_cpu_virt_on(cpu) ? "STILL ON" : "the CPU confirms");
}

static void disable_all(void)
{
	for (unsigned int cpu = nr_cpus_listed; cpu-- > 0;)
		disable_cpu(cpu);
}

static int enable_cpu(unsigned int cpu, bool fail)
{
	struct hv_cpu *hc = &hv_cpus[cpu];
	struct enable_call call = { hc, 0 };
	int err;

	hc->region = page_alloc(1, PAGE_SIZE, 0, PG_OWNER_VIRT);
	if (!hc->region) {
		pr_err("cpu %u: no free page for its %s region\n", cpu,
		       chosen->long_name);
		return -HV_ENOMEM;
	}
	err = fail ? -HV_ECANCELED :
		     smp_call_on(cpu, enable_here, &call, CALL_TIMEOUT_MS);
	if (!err)
		err = call.err;
	if (err) {
		page_free(hc->region, 1, PG_OWNER_VIRT);
		hc->region = NULL;
		pr_err("cpu %u: %s enable failed (%d)%s\n", cpu,
		       chosen->long_name, err, fail ? " (hv.fail)" : "");
		return err;
	}
	hc->enabled = true;
	return 0;
}

/*
 * hv.fail=hardware_enable fails the last CPU, after the others are on (and
 * hv.fail=config fails after every VM is created), so the step's own
 * roll-back runs too.
 */
static int hardware_enable(bool inject)
{
	unsigned int last = 0, n = 0;
	int err;

	for (unsigned int cpu = 0; cpu < nr_cpus_listed; cpu++)
		if (hv_cpus[cpu].compat_ok)
			last = cpu;
	for (unsigned int cpu = 0; cpu < nr_cpus_listed; cpu++) {
		if (!hv_cpus[cpu].compat_ok)
			continue;
		err = enable_cpu(cpu, inject && cpu == last);
		if (err) {
			disable_all();
			return err;
		}
		n++;
	}
	pr_info("%s enabled on %u CPUs\n", chosen->long_name, n);
	return 0;
}

/* -------------------------------------------------------- 5: vcpu_cache */

static int vcpu_cache_init(void)
{
	int err = objcache_init(&vcpu_cache, "vcpu", sizeof(struct vcpu), 64);

	if (err)
		return err;
	list_init(&vm_list);
	return 0;
}

static void vcpu_cache_exit(void)
{
	objcache_destroy(&vcpu_cache);
}

/* --------------------------------------------------- 6: reboot_notifier */

void hv_disable_all(void)
{
	if (!active)
		return;
	pr_info("turning virtualisation off on every CPU before reboot\n");
	disable_all();
	active = false;
}

static int reboot_notifier_init(void)
{
	return reboot_hook_register(hv_disable_all);
}


/*
 * From panic() and the stop NMI: this CPU is about to halt for good. No
 * locks, no freeing, no printing: only the CPU state.
 */
bool hv_emergency_disable(void)
{
	struct hv_cpu *hc;

	if (!detected || !rdmsr(MSR_GS_BASE))
		return true;
	hc = &hv_cpus[this_cpu()->index];
	if (chosen && hc->enabled && chosen->cpu_virt_on())
		chosen->hardware_disable(hc);
	return !detected->cpu_virt_on();
}

/* ---------------------------------------------------------- the sequence */

static bool fail_requested(enum hv_step step)
{
	const char *want = cmdline_get("hv.fail");

	return want && !strcmp(want, step_names[step]);
}

#define RUN_STEP(step, call)                                                 \
	({                                                                   \
		u64 t0 = uptime_us();                                        \
		int r = (step) != STEP_ENABLE && (step) != STEP_CONFIG &&   \
				fail_requested(step) ?                       \
				-HV_ECANCELED : (call);                      \
		step_us[step] = uptime_us() - t0;                            \
		if (r)                                                       \
			pr_err("step %d/%d '%s' failed (%d)%s\n", (step) + 1,   \
			       NR_STEPS, step_names[step], r,                \
			       fail_requested(step) ? " on purpose (hv.fail)" : ""); \
		else                                                         \
			pr_info("step %d/%d '%s' done in %llu us\n", (step) + 1, \
				NR_STEPS, step_names[step],                  \
				(unsigned long long)step_us[step]);          \
		r;                                                           \
	})

static void check_counters(const struct mm_stats *before)
{
	struct mm_stats now;
	bool same;

	mm_stats(&now);
	same = now.free == before->free &&
	       !memcmp(now.owned, before->owned, sizeof(now.owned));
	if (same)
		pr_info("unwound: allocator counters are back to their values before hv_init (%llu KiB free)\n",
			(unsigned long long)(now.free >> 10));
	else
		pr_err("unwound, but the allocator has %lld KiB less free than before hv_init\n",
		       (long long)(before->free - now.free) >> 10);
}

int hv_init(void)
{
	struct mm_stats before;
	u64 start = uptime_us();
	int err;

	mm_stats(&before);
	off_reason[0] = '\0';
	err = RUN_STEP(STEP_ARCH, arch_init());
	if (err)
		goto err_arch_init;
	err = RUN_STEP(STEP_SETUP, hardware_setup());
	if (err)
		goto err_hardware_setup;
	err = RUN_STEP(STEP_COMPAT, compat_check());
	if (err)
		goto err_compat_check;
	err = RUN_STEP(STEP_ENABLE, hardware_enable(fail_requested(STEP_ENABLE)));
	if (err)
		goto err_hardware_enable;
	err = RUN_STEP(STEP_VCPU_CACHE, vcpu_cache_init());
	if (err)
		goto err_vcpu_cache;
	err = RUN_STEP(STEP_CONFIG, config_load(fail_requested(STEP_CONFIG)));
	if (err)
		goto err_config;
	err = RUN_STEP(STEP_REBOOT, reboot_notifier_init());
	if (err)
		goto err_reboot_notifier;
	active = true;
	pr_info("virtualisation on (%s) in %llu us\n", chosen->long_name,
		(unsigned long long)(uptime_us() - start));
	return 0;

err_reboot_notifier:
	config_unload();
err_config:
	vcpu_cache_exit();
err_vcpu_cache:
	disable_all();
err_hardware_enable:
	compat_clear();
err_compat_check:
	hardware_unsetup();
err_hardware_setup:
	arch_exit();
err_arch_init:
	if (!off_reason[0] || err == -HV_ECANCELED)
		snprintf(off_reason, sizeof(off_reason),
			 "hv_init failed (%d)%s", err,
			 err == -HV_ECANCELED ? ": made to fail by hv.fail" : "");
	pr_err("virtualisation off: %s\n", off_reason);
	check_counters(&before);
	return err;
}
