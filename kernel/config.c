/*
 * The configuration step of hv_init(): find the blob GRUB loaded as the
 * module "config", validate it against this machine, and create the VMs it
 * describes. A broken blob creates nothing: every problem is logged and
 * the monitor says why there are no VMs.
 */
#define pr_fmt(fmt) "config: " fmt

#include <lamina/config.h>
#include <lamina/errno.h>
#include <lamina/hv.h>
#include <lamina/kernel.h>
#include <lamina/lib.h>
#include <lamina/percpu.h>
#include <lamina/printk.h>
#include <lamina/vm.h>

static char status[96];

const char *config_status(void)
{
	return status;
}

static void report(void *ctx, const char *problem)
{
	(void)ctx;
	pr_err("%s\n", problem);
}

/* pCPUs a VM may own: online, compatible, virtualisation on. */
static u64 usable_cpus(void)
{
	u64 set = 0;

	for (unsigned int i = 0; i < nr_cpus_listed && i < CFG_MAX_CPUS; i++)
		if (hv_cpus[i].enabled)
			set |= 1ull << i;
	return set;
}

static unsigned int check_blob(const void *blob, size_t len)
{
	static struct cfg_module mods[BOOTINFO_MAX_MODULES];
	struct cfg_env env = {
		.cpus_present = usable_cpus(),
		.caps_known = true,
		.real16_ok = hv_ops->vendor == HV_VENDOR_AMD ||
			     hv_boot_caps.f.unrestricted,
		.modules_known = true,
		.modules = mods,
		.nr_modules = bootinfo.nr_modules,
	};

	for (unsigned int i = 0; i < bootinfo.nr_modules; i++) {
		mods[i].name = bootinfo.modules[i].name;
		mods[i].size = bootinfo.modules[i].end - bootinfo.modules[i].start;
		/* The bytes too: the validator checks multiboot kernels. */
		mods[i].data = (const void *)(uintptr_t)bootinfo.modules[i].start;
	}
	return cfg_validate(blob, len, &env, report, NULL);
}

/* Validated at boot; read-only from then on (STYLE.md). */
static const void *loaded_blob;

static const struct boot_module *find_blob(void)
{
	for (unsigned int i = 0; i < bootinfo.nr_modules; i++)
		if (!strcmp(bootinfo.modules[i].name, CFG_MODULE_NAME))
			return &bootinfo.modules[i];
	return NULL;
}

static void apply_globals(const struct cfg_header *h)
{
	if (!cmdline_get("loglevel"))
		log_set_console_level((enum log_level)h->log_level);
	if (h->monitor_cpu != 0)
		pr_warn("monitor_cpu %u: the monitor runs on the boot CPU (0) in this version\n",
			h->monitor_cpu);
}

/*
 * @fail_after (hv.fail=config): create every VM, then fail, so that the
 * step's own roll-back destroys them.
 */
int config_load(bool fail_after)
{
	const struct boot_module *m = find_blob();
	const void *blob;
	unsigned int problems;
	int err = 0;

	if (!m) {
		snprintf(status, sizeof(status), "no '%s' module: no VMs", CFG_MODULE_NAME);
		pr_info("%s\n", status);
		return fail_after ? -HV_ECANCELED : 0;
	}
	blob = (const void *)(uintptr_t)m->start;
	problems = check_blob(blob, m->end - m->start);
	if (problems) {
		snprintf(status, sizeof(status),
			 "the config was rejected: %u problems (see `log`)", problems);
		pr_err("%s; no VM created\n", status);
		return fail_after ? -HV_ECANCELED : 0;
	}
	apply_globals(cfg_hdr(blob));
	loaded_blob = blob;
	for (u32 i = 0; i < cfg_hdr(blob)->nr_vms && !err; i++) {
		struct vm *vm;

		err = vm_create(blob, cfg_vm_at(blob, i), &vm);
	}
	if (!err && fail_after)
		err = -HV_ECANCELED;
	if (err) {
		vm_destroy_all();
		loaded_blob = NULL;
		return err;
	}
	status[0] = '\0';
	pr_info("%u VMs created from the config (%llu bytes, ABI %u.%u)\n",
		cfg_hdr(blob)->nr_vms, (unsigned long long)(m->end - m->start),
		cfg_hdr(blob)->abi_major, cfg_hdr(blob)->abi_minor);
	return 0;
}

/* After hv_init(): start the VMs marked autostart. */
void config_autostart(void)
{
	struct list_head *pos;
	char why[96];

	list_for_each(pos, &vm_list) {
		struct vm *vm = container_of(pos, struct vm, link);

		if (!(vm->cfg->flags & CFG_VM_AUTOSTART))
			continue;
		if (vm_start(vm, why, sizeof(why)))
			pr_err("vm '%s' not started: %s\n", vm->name, why);
		else
			pr_info("vm '%s' started (autostart)\n", vm->name);
	}
}

/* The validated blob VMs come from, or NULL (`create` needs it). */
const void *config_blob(void)
{
	return loaded_blob;
}

void config_unload(void)
{
	loaded_blob = NULL;
	vm_destroy_all();
	status[0] = '\0';
}
