# Code under test for each tests/fuzz/fuzz_NAME.c: FUZZ_SRCS_fuzz_NAME.
FUZZ_SRCS_fuzz_bootinfo := kernel/bootinfo.c
FUZZ_SRCS_fuzz_acpi := drivers/acpi_tables.c
FUZZ_SRCS_fuzz_monitor := kernel/monitor/line.c kernel/monitor/dispatch.c lib/util.c
