/* Unit tests for the QEMU fw_cfg device model (kernel/vdev/fw_cfg.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <lamina/fw_cfg.h>
#include <lamina/lib.h>

#define CPUS 0x0102         /* distinct bytes show the byte order */
#define RAM 0x1122334455667788ull
#define PAST_END 16         /* zero bytes read after each item */

/* An item as a guest reads it: exact bytes, then zeroes. */
struct item {
	const char *name;
	u16 key;
	u8 bytes[8];
	unsigned int len;
};

static const struct item items[] = {
	{ "signature", FW_CFG_SIGNATURE, { 'Q', 'E', 'M', 'U' }, 4 },
	{ "id: traditional, no DMA", FW_CFG_ID, { 1, 0, 0, 0 }, 4 },
	{ "ram size", FW_CFG_RAM_SIZE,
	  { 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11 }, 8 },
	{ "cpus", FW_CFG_NB_CPUS, { 0x02, 0x01 }, 2 },
	{ "max cpus", FW_CFG_MAX_CPUS, { 0x02, 0x01 }, 2 },
	{ "file dir: no files", FW_CFG_FILE_DIR, { 0, 0, 0, 0 }, 4 },
	/* Keys we do not serve read as empty. */
	{ "uuid", 0x02, { 0 }, 0 },
	{ "nographic", 0x04, { 0 }, 0 },
	{ "kernel cmdline", 0x15, { 0 }, 0 },
	{ "first file slot", 0x20, { 0 }, 0 },
	{ "largest plain key", 0x3fff, { 0 }, 0 },
	/* The write channel bit does not change what reads see. */
	{ "signature, write channel", FW_CFG_WRITE_CHANNEL | FW_CFG_SIGNATURE,
	  { 'Q', 'E', 'M', 'U' }, 4 },
	{ "cpus, write channel", FW_CFG_WRITE_CHANNEL | FW_CFG_NB_CPUS,
	  { 0x02, 0x01 }, 2 },
	/* Architecture-local keys (x86: ACPI, e820...): none. */
	{ "arch signature", FW_CFG_ARCH_LOCAL | FW_CFG_SIGNATURE, { 0 }, 0 },
	{ "arch 0x8000", 0x8000, { 0 }, 0 },
	{ "arch 0x8003", 0x8003, { 0 }, 0 },
	{ "invalid", 0xffff, { 0 }, 0 },
};

static const struct item *item_for(u16 key)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(items); i++)
		if (items[i].key == key)
			return &items[i];
	fail_msg("no item %#x in the table", key);
	return NULL;
}

static void read_item(struct fw_cfg *f, const struct item *it)
{
	unsigned int i;
	u8 b;

	for (i = 0; i < it->len + PAST_END; i++) {
		b = fw_cfg_read(f);
		if (b != (i < it->len ? it->bytes[i] : 0))
			fail_msg("%s: byte %u is %#x", it->name, i, b);
	}
	assert_true(f->offset <= it->len);
}

static void test_items(void **state)
{
	struct fw_cfg f;
	unsigned int i;

	(void)state;
	fw_cfg_init(&f, CPUS, RAM);
	for (i = 0; i < ARRAY_SIZE(items); i++) {
		fw_cfg_select(&f, items[i].key);
		assert_int_equal(f.selector, items[i].key);
		read_item(&f, &items[i]);
	}
}

/* Reset selects the signature, as QEMU's reset does. */
static void test_init_selects_signature(void **state)
{
	struct fw_cfg f;

	(void)state;
	memset(&f, 0xa5, sizeof(f));
	fw_cfg_init(&f, 1, 64 << 20);
	assert_int_equal(f.selector, FW_CFG_SIGNATURE);
	assert_int_equal(f.offset, 0);
	read_item(&f, item_for(FW_CFG_SIGNATURE));
}

/* Reselecting, even the same key, starts the item over. */
static void test_reselect(void **state)
{
	struct fw_cfg f;

	(void)state;
	fw_cfg_init(&f, CPUS, RAM);
	fw_cfg_select(&f, FW_CFG_RAM_SIZE);
	assert_int_equal(fw_cfg_read(&f), 0x88);
	assert_int_equal(fw_cfg_read(&f), 0x77);
	fw_cfg_select(&f, FW_CFG_RAM_SIZE);
	assert_int_equal(f.offset, 0);
	assert_int_equal(fw_cfg_read(&f), 0x88);

	/* Halfway through one item, switch to another and back. */
	fw_cfg_select(&f, FW_CFG_SIGNATURE);
	assert_int_equal(fw_cfg_read(&f), 'Q');
	fw_cfg_select(&f, FW_CFG_NB_CPUS);
	read_item(&f, item_for(FW_CFG_NB_CPUS));
	fw_cfg_select(&f, FW_CFG_SIGNATURE);
	read_item(&f, item_for(FW_CFG_SIGNATURE));

	/* After running off the end, reselecting reads it all again. */
	fw_cfg_select(&f, FW_CFG_ID);
	read_item(&f, item_for(FW_CFG_ID));
	fw_cfg_select(&f, FW_CFG_ID);
	read_item(&f, item_for(FW_CFG_ID));
}

/* Past the end, however long the guest keeps reading, the offset stays. */
static void test_past_end_offset_stays(void **state)
{
	struct fw_cfg f;
	unsigned int i;

	(void)state;
	fw_cfg_init(&f, CPUS, RAM);
	fw_cfg_select(&f, FW_CFG_NB_CPUS);
	for (i = 0; i < 100000; i++)
		fw_cfg_read(&f);
	assert_int_equal(f.offset, 2);
	assert_int_equal(fw_cfg_read(&f), 0);
	fw_cfg_select(&f, 0x1234);
	for (i = 0; i < 10; i++)
		assert_int_equal(fw_cfg_read(&f), 0);
	assert_int_equal(f.offset, 0);
}

/* The values follow what fw_cfg_init was given, at their edges too. */
static void test_values(void **state)
{
	static const struct {
		u16 cpus;
		u64 ram;
	} cases[] = {
		{ 0, 0 }, { 1, 1ull << 20 }, { 255, 0xffffffffull },
		{ 0xffff, ~0ull },
	};
	struct fw_cfg f;
	unsigned int i, b;
	u64 ram;
	u16 cpus, max;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		fw_cfg_init(&f, cases[i].cpus, cases[i].ram);
		fw_cfg_select(&f, FW_CFG_RAM_SIZE);
		for (ram = 0, b = 0; b < 8; b++)
			ram |= (u64)fw_cfg_read(&f) << (8 * b);
		fw_cfg_select(&f, FW_CFG_NB_CPUS);
		cpus = fw_cfg_read(&f);
		cpus |= fw_cfg_read(&f) << 8;
		fw_cfg_select(&f, FW_CFG_MAX_CPUS);
		max = fw_cfg_read(&f);
		max |= fw_cfg_read(&f) << 8;
		assert_int_equal(ram, cases[i].ram);
		assert_int_equal(cpus, cases[i].cpus);
		assert_int_equal(max, cases[i].cpus);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_items),
		cmocka_unit_test(test_init_selects_signature),
		cmocka_unit_test(test_reselect),
		cmocka_unit_test(test_past_end_offset_stays),
		cmocka_unit_test(test_values),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
