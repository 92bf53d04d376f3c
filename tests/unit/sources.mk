# Code under test for each tests/unit/test_NAME.c: UNIT_SRCS_test_NAME.
UNIT_SRCS_test_bootinfo := kernel/bootinfo.c
UNIT_SRCS_test_acpi := drivers/acpi_tables.c drivers/acpi_spcr.c drivers/acpi_aml.c
UNIT_SRCS_test_palloc := mm/palloc.c
UNIT_SRCS_test_line := kernel/monitor/line.c
UNIT_SRCS_test_dispatch := kernel/monitor/dispatch.c kernel/monitor/json.c \
	lib/util.c
# The monitor's JSON writer and lamina-ctl's reader, checked against each other.
UNIT_SRCS_test_json := kernel/monitor/json.c tools/lamina-ctl/reply.c
UNIT_CFLAGS_test_json := -Itools/lamina-ctl
UNIT_SRCS_test_format := lib/format.c lib/util.c
# Our vsnprintf must not replace the C library's inside the test program.
UNIT_CFLAGS_test_format := -Dvsnprintf=hv_vsnprintf -Dsnprintf=hv_snprintf
UNIT_SRCS_test_vmx_caps := vmx/vmx_caps.c svm/svm_caps.c kernel/hv_caps.c
# The real hv_init(); its fakes live in the test. The caps tables name the
# fake vendors' fields.
UNIT_SRCS_test_hv_init := kernel/hv_init.c kernel/hv_caps.c \
	mm/objcache.c lib/util.c vmx/vmx_caps.c svm/svm_caps.c
UNIT_SRCS_test_memslot := mm/memslot.c
UNIT_SRCS_test_stage2 := mm/stage2.c mm/dirty_log.c mm/memslot.c
UNIT_SRCS_test_config := kernel/config_check.c kernel/config_check_dev.c \
	lib/crc32.c lib/util.c
UNIT_SRCS_test_vuart := kernel/vdev/vuart.c
UNIT_SRCS_test_fw_cfg := kernel/vdev/fw_cfg.c
UNIT_SRCS_test_config += kernel/config_check_boot.c kernel/guest/multiboot.c kernel/guest/linux_boot.c kernel/guest/pvh.c
UNIT_SRCS_test_multiboot1 := kernel/guest/multiboot.c lib/util.c
UNIT_SRCS_test_guest_walk := mm/guest_walk.c
UNIT_SRCS_test_insn := kernel/vdev/insn.c
UNIT_SRCS_test_svm_check := svm/svm_check.c
UNIT_SRCS_test_args := kernel/monitor/args.c lib/util.c
UNIT_SRCS_test_linux_boot := kernel/guest/linux_boot.c lib/util.c
# acpi_build() output is read back by the host ACPI parser.
UNIT_SRCS_test_acpi_build := kernel/guest/acpi_build.c drivers/acpi_tables.c \
	drivers/acpi_spcr.c drivers/acpi_aml.c
UNIT_SRCS_test_vlapic := kernel/vdev/vlapic.c
UNIT_SRCS_test_vioapic := kernel/vdev/vioapic.c
UNIT_SRCS_test_vpit := kernel/vdev/vpit.c
UNIT_SRCS_test_vrtc := kernel/vdev/vrtc.c
UNIT_SRCS_test_pvh := kernel/guest/pvh.c lib/util.c
# lamina.efi's pure parts; the boot information it builds is read back by
# Lamina's own parser.
UNIT_SRCS_test_efi_manifest := loader/efi/manifest.c loader/efi/kimage.c \
	loader/efi/mb2info.c kernel/bootinfo.c
UNIT_CFLAGS_test_efi_manifest := -Iloader/efi
# console= parser; the test supplies the bootinfo cmdline_get() reads.
UNIT_SRCS_test_console_arg := kernel/cmdline.c lib/util.c
# The screen: fbcon draws into memory; the test supplies cmdline_get() and
# printk(). The font is generated (Makefile, tools/mkfont.py).
UNIT_SRCS_test_fbcon := drivers/fbcon.c kernel/bootinfo.c $(FONT_C)
UNIT_SRCS_test_mce := kernel/mce_decode.c
# The TSC calibration's arithmetic and policy; the test supplies what its
# hardware paths (never called there) link against.
UNIT_SRCS_test_time := drivers/time.c
