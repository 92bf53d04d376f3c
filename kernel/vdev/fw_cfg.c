/*
 * QEMU fw_cfg, the legacy I/O port interface: existing test kernels
 * (kvm-unit-tests' x86 library among them) ask it how many CPUs and how
 * much RAM they have, so Lamina answers the few items they read, the way
 * QEMU does, rather than have each guest learn a new interface.
 *
 * Only the traditional byte-wide data port: FW_CFG_ID says no DMA, and the
 * file directory is empty, so firmware that looks for named files (ACPI
 * tables, boot order) finds none. Data port writes are not modelled: QEMU
 * ignores them too for read-only items, which all of ours are.
 */
#include <lamina/fw_cfg.h>
#include <lamina/lib.h>

/* The longest item we serve. */
#define ITEM_MAX 8

void fw_cfg_init(struct fw_cfg *f, u16 nr_cpus, u64 ram_bytes)
{
	f->nr_cpus = nr_cpus;
	f->ram_bytes = ram_bytes;
	fw_cfg_select(f, FW_CFG_SIGNATURE);
}

void fw_cfg_select(struct fw_cfg *f, u16 selector)
{
	f->selector = selector;
	f->offset = 0;
}

static u32 put_le(u8 *buf, u64 v, u32 len)
{
	u32 i;

	for (i = 0; i < len; i++)
		buf[i] = (u8)(v >> (8 * i));
	return len;
}

static u32 put_be(u8 *buf, u64 v, u32 len)
{
	u32 i;

	for (i = 0; i < len; i++)
		buf[i] = (u8)(v >> (8 * (len - 1 - i)));
	return len;
}

/*
 * The selected item's bytes into @buf; returns its length, 0 for an item we
 * do not have. The write-channel bit does not change what reads see (QEMU
 * masks it off); architecture-local items (ACPI, e820 on x86) we have none.
 */
static u32 item(const struct fw_cfg *f, u8 *buf)
{
	if (f->selector & FW_CFG_ARCH_LOCAL)
		return 0;
	switch (f->selector & FW_CFG_ENTRY_MASK) {
	case FW_CFG_SIGNATURE:
		memcpy(buf, "QEMU", 4);
		return 4;
	case FW_CFG_ID:
		return put_le(buf, FW_CFG_VERSION, 4);
	case FW_CFG_RAM_SIZE:
		return put_le(buf, f->ram_bytes, 8);
	case FW_CFG_NB_CPUS:
	case FW_CFG_MAX_CPUS: /* no hotplug: the maximum is what there is */
		return put_le(buf, f->nr_cpus, 2);
	case FW_CFG_FILE_DIR:
		return put_be(buf, 0, 4); /* count; no entries follow */
	default:
		return 0;
	}
}

u8 fw_cfg_read(struct fw_cfg *f)
{
	u8 buf[ITEM_MAX];
	u32 len = item(f, buf);

	/* Past the end the offset stays put, so it can never wrap. */
	if (f->offset >= len)
		return 0;
	return buf[f->offset++];
}
