# Code under test for each tests/fuzz/fuzz_NAME.c: FUZZ_SRCS_fuzz_NAME.
FUZZ_SRCS_fuzz_bootinfo := kernel/bootinfo.c
FUZZ_SRCS_fuzz_acpi := drivers/acpi_tables.c
FUZZ_SRCS_fuzz_monitor := kernel/monitor/line.c kernel/monitor/dispatch.c \
	kernel/monitor/json.c lib/util.c
FUZZ_SRCS_fuzz_json := kernel/monitor/json.c
FUZZ_SRCS_fuzz_config := kernel/config_check.c kernel/config_check_dev.c lib/crc32.c lib/util.c
FUZZ_SRCS_fuzz_yaml := $(filter-out tools/lamina-cfg/main.c,$(wildcard tools/lamina-cfg/*.c)) kernel/config_check.c kernel/config_check_dev.c lib/crc32.c lib/util.c
FUZZ_CFLAGS_fuzz_yaml := -Itools/lamina-cfg
FUZZ_LDLIBS_fuzz_yaml := -lyaml
FUZZ_SRCS_fuzz_vuart := kernel/vdev/vuart.c
FUZZ_SRCS_fuzz_config += kernel/config_check_boot.c kernel/guest/multiboot.c kernel/guest/linux_boot.c kernel/guest/pvh.c
FUZZ_SRCS_fuzz_yaml += kernel/config_check_boot.c kernel/guest/multiboot.c kernel/guest/linux_boot.c kernel/guest/pvh.c
FUZZ_SRCS_fuzz_multiboot1 := kernel/guest/multiboot.c lib/util.c
FUZZ_SRCS_fuzz_guest_walk := mm/guest_walk.c
FUZZ_SRCS_fuzz_insn := kernel/vdev/insn.c
FUZZ_SRCS_fuzz_args := kernel/monitor/args.c lib/util.c
FUZZ_SRCS_fuzz_json := kernel/monitor/json.c tools/lamina-ctl/reply.c
FUZZ_CFLAGS_fuzz_json := -Itools/lamina-ctl
FUZZ_SRCS_fuzz_ctl_reply := tools/lamina-ctl/reply.c
FUZZ_CFLAGS_fuzz_ctl_reply := -Itools/lamina-ctl
FUZZ_SRCS_fuzz_linux_boot := kernel/guest/linux_boot.c lib/util.c
FUZZ_SRCS_fuzz_vlapic := kernel/vdev/vlapic.c
FUZZ_SRCS_fuzz_vioapic := kernel/vdev/vioapic.c
FUZZ_SRCS_fuzz_vpit := kernel/vdev/vpit.c
FUZZ_SRCS_fuzz_vrtc := kernel/vdev/vrtc.c
FUZZ_SRCS_fuzz_pvh := kernel/guest/pvh.c lib/util.c
