/*
 * Capability registers recorded from the emulators the tests run on
 * (`caps` at the monitor prints them), shared by the unit tests.
 */
#ifndef LAMINA_TEST_RECORDED_CAPS_H
#define LAMINA_TEST_RECORDED_CAPS_H

#include <lamina/compiler.h>
#include <lamina/hv.h>


/* Bochs 2.7, cpu: model=corei7_skylake_x */
static const struct vmx_caps skylake_x __unused = {
	.basic = 0x00d810000000002bull,
	.pinbased = 0x0000007f00000016ull,
	.procbased = 0xf7f9fffe04006172ull,
	.procbased2 = 0x02177fff00000000ull,
	.exit = 0x007fffff00036dfbull,
	.entry = 0x0000ffff000011fbull,
	.misc = 0x00000000600401e0ull,
	.ept_vpid = 0x00000f0106334141ull,
	.cr0_fixed0 = 0x80000021ull,
	.cr0_fixed1 = 0xffffffffull,
	.cr4_fixed0 = 0x2000ull,
	.cr4_fixed1 = 0x003727ffull,
	.feature_control = 0x5ull,
};

/* Bochs 2.7, cpu: model=corei7_sandy_bridge_2600k */
static const struct vmx_caps sandy_bridge __unused = {
	.basic = 0x00d810000000002bull,
	.pinbased = 0x0000007f00000016ull,
	.procbased = 0xf7f9fffe04006172ull,
	.procbased2 = 0x000000ff00000000ull,
	.exit = 0x007fffff00036dfbull,
	.entry = 0x0000ffff000011fbull,
	.misc = 0x00000000000401e0ull,
	.ept_vpid = 0x00000f0106114141ull,
	.cr0_fixed0 = 0x80000021ull,
	.cr0_fixed1 = 0xffffffffull,
	.cr4_fixed0 = 0x2000ull,
	.cr4_fixed1 = 0x000627ffull,
	.feature_control = 0x5ull,
};

/* QEMU 7.2 TCG, -cpu qemu64,+svm,+npt */
static const struct svm_caps qemu_tcg __unused = {
	.revision = 1, .nr_asids = 0x10, .features = 0x1, .vm_cr = 0,
};

/* Bochs 2.7, cpu: model=ryzen */
static const struct svm_caps bochs_ryzen __unused = {
	.revision = 1, .nr_asids = 0x8000, .features = 0x44f, .vm_cr = 0,
};

/* Not a recording: a count that needs more than 16 bits. */
#endif
