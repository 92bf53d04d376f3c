# Lamina: build, run and test. `make help` lists the targets.

BUILD := build
CC := gcc
NASM := nasm
HOSTCC := gcc
FUZZCC := clang
PYTHON := /usr/bin/python3

VERSION := 0.1.0
GIT_REV := $(shell git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
GIT_DIRTY := $(shell git diff --quiet HEAD 2>/dev/null || echo -dirty)

# ---------------------------------------------------------------- hypervisor
KCFLAGS := -std=gnu11 -O2 -g -Wall -Wextra -Werror -Iinclude \
	-ffreestanding -fno-pic -fno-pie -mno-red-zone -mgeneral-regs-only \
	-fno-stack-protector -fno-asynchronous-unwind-tables \
	-fno-omit-frame-pointer -mno-omit-leaf-frame-pointer \
	-fno-strict-aliasing -fno-tree-loop-distribute-patterns -mcmodel=small -MMD -MP
KLDFLAGS := -nostdlib -static -no-pie -Wl,-T,linker.ld \
	-Wl,-z,max-page-size=0x1000 -Wl,-z,noexecstack -Wl,--build-id=none
NASMFLAGS := -f elf64 -g -F dwarf -Iinclude/asm/

KSRCS := $(wildcard boot/*.c kernel/*.c kernel/monitor/*.c kernel/vdev/*.c \
	kernel/guest/*.c mm/*.c drivers/*.c \
	lib/*.c vmx/*.c svm/*.c)
KASMS := $(wildcard boot/*.asm kernel/*.asm svm/*.asm vmx/*.asm)
KOBJS := $(KSRCS:%.c=$(BUILD)/k/%.o) $(KASMS:%.asm=$(BUILD)/k/%.asm.o)
# Test guests: flat binaries that VMs load (tests/guests).
GUESTS := $(patsubst tests/guests/%.asm,$(BUILD)/guests/%.bin,$(wildcard tests/guests/*.asm))

.PHONY: all guests iso usb run run-uefi run-bochs test test-unit test-integration \
	fuzz fuzz-build unit-build deps clean help bench test-slow

all: $(BUILD)/lamina.elf $(BUILD)/lamina-stripped.elf $(BUILD)/lamina-cfg \
	$(BUILD)/lamina-ctl $(GUESTS)

# The screen's font, generated from GRUB's into build/gen (tools/mkfont.py).
GRUB_FONT ?= /usr/share/grub/ascii.pf2
FONT_C := $(BUILD)/gen/font8x16.c
KOBJS += $(BUILD)/k/gen/font8x16.o
$(FONT_C): tools/mkfont.py $(wildcard $(GRUB_FONT))
	@mkdir -p $(dir $@)
	$(PYTHON) tools/mkfont.py $(GRUB_FONT) $@
$(BUILD)/k/gen/%.o: $(BUILD)/gen/%.c
	@mkdir -p $(dir $@)
	$(CC) $(KCFLAGS) -c $< -o $@

# The Linux guest (Debian's kernel, a busybox initramfs): `make linux-guest`.
include tools/linux-guest/linux.mk
# Linux KVM running the exit-cost guest: the peer bench/kvm_peer.py measures.
include tools/kvm-peer/kvm-peer.mk

$(BUILD)/k/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(KCFLAGS) -c $< -o $@

$(BUILD)/k/%.asm.o: %.asm
	@mkdir -p $(dir $@)
	$(NASM) $(NASMFLAGS) -MD $(@:.o=.d) $< -o $@

# kernel/version.c alone carries the revision; it rebuilds when that changes.
$(BUILD)/k/kernel/version.o: KCFLAGS += -DLAMINA_VERSION='"$(VERSION)"' \
	-DLAMINA_GIT='"$(GIT_REV)$(GIT_DIRTY)"'
$(BUILD)/k/kernel/version.o: $(BUILD)/version.stamp
$(BUILD)/version.stamp: FORCE
	@mkdir -p $(dir $@)
	@echo "$(VERSION) $(GIT_REV)$(GIT_DIRTY)" | cmp -s - $@ || \
		echo "$(VERSION) $(GIT_REV)$(GIT_DIRTY)" > $@
FORCE:

$(BUILD)/lamina.elf: $(KOBJS) linker.ld
	$(CC) $(KLDFLAGS) $(KOBJS) -o $@

# What goes into the image: no debug information.
$(BUILD)/lamina-stripped.elf: $(BUILD)/lamina.elf
	objcopy --strip-debug $< $@

# ---------------------------------------------------------------- host tools
# lamina-cfg shares the blob validator and CRC with the hypervisor.
LAMINA_CFG_SRCS := $(wildcard tools/lamina-cfg/*.c) kernel/config_check.c \
	kernel/config_check_dev.c kernel/config_check_boot.c \
	kernel/guest/multiboot.c kernel/guest/linux_boot.c kernel/guest/pvh.c \
	lib/crc32.c lib/util.c
TOOLCFLAGS := -std=gnu11 -O2 -g -Wall -Wextra -Werror -Iinclude -Itools/lamina-cfg

$(BUILD)/lamina-cfg: $(LAMINA_CFG_SRCS) $(wildcard tools/lamina-cfg/*.h) \
		$(wildcard include/abi/*.h include/lamina/*.h kernel/*.h)
	@mkdir -p $(dir $@)
	$(HOSTCC) $(TOOLCFLAGS) $(LAMINA_CFG_SRCS) -o $@ -lyaml

# lamina-ctl runs one monitor command in JSON mode (docs/monitor.md).
LAMINA_CTL_SRCS := $(wildcard tools/lamina-ctl/*.c)

$(BUILD)/lamina-ctl: $(LAMINA_CTL_SRCS) $(wildcard tools/lamina-ctl/*.h) \
		include/lamina/monitor.h
	@mkdir -p $(dir $@)
	$(HOSTCC) -std=gnu11 -O2 -g -Wall -Wextra -Werror -Iinclude \
		$(LAMINA_CTL_SRCS) -o $@

# ---------------------------------------------------------------- test guests
$(BUILD)/guests/%.bin: tests/guests/%.asm $(wildcard tests/guests/*.inc)
	@mkdir -p $(dir $@)
	$(NASM) -f bin -I tests/guests/ $< -o $@

guests: $(GUESTS)

# ---------------------------------------------------------------- images
# The default image embeds the demo config; CONFIG=FILE.yaml picks another.
CONFIG ?= configs/demo.yaml
$(BUILD)/lamina.iso: $(BUILD)/lamina-stripped.elf boot/grub.cfg tools/mkiso.sh \
		$(BUILD)/lamina-cfg $(CONFIG) $(GUESTS) $(LINUX_BZIMAGE) $(LINUX_INITRD) $(LINUX_VMLINUX) FORCE
	@command -v grub-mkrescue >/dev/null || { echo "grub-mkrescue missing: run tools/deps.sh"; exit 1; }
	tools/mkiso.sh $@ $(BUILD)/lamina-stripped.elf "$(CMDLINE)" "$(CONFIG)"

iso: $(BUILD)/lamina.iso

# The ISO is a hybrid image: the same file boots from CD, disk or USB stick.
usb: $(BUILD)/lamina.iso
	cp $< $(BUILD)/lamina-usb.img
	@echo "build/lamina-usb.img: write it to a USB stick as README.md describes"

# lamina.efi, the loader that boots Lamina from the EFI partition without
# GRUB, and the image that holds both (docs/efi-loader.md).
include loader/efi/efi.mk

# ---------------------------------------------------------------- running
run: deps $(BUILD)/lamina.iso
	$(PYTHON) tools/emu.py run qemu-linux

run-uefi: deps $(BUILD)/lamina.iso
	$(PYTHON) tools/emu.py run qemu-uefi-demo

run-bochs: deps $(BUILD)/lamina.iso
	$(PYTHON) tools/emu.py run bochs-vmx-4

deps:
	@tools/deps.sh

# ---------------------------------------------------------------- unit tests
.SECONDEXPANSION:
HOSTCFLAGS := -std=gnu11 -O1 -g -Wall -Wextra -Werror -Iinclude \
	-fsanitize=address,undefined -fno-sanitize-recover=all \
	-fno-omit-frame-pointer
include tests/unit/sources.mk
UNIT_TESTS := $(patsubst tests/unit/%.c,%,$(wildcard tests/unit/test_*.c))
UNIT_BINS := $(UNIT_TESTS:%=$(BUILD)/tests/%)

$(BUILD)/tests/%: tests/unit/%.c $$(UNIT_SRCS_$$*) $(wildcard include/lamina/*.h \
		include/abi/*.h tests/unit/*.h kernel/*.h) tests/unit/sources.mk
	@mkdir -p $(dir $@)
	$(HOSTCC) $(HOSTCFLAGS) $(UNIT_CFLAGS_$*) $< $(UNIT_SRCS_$*) -o $@ -lcmocka $(UNIT_LDLIBS_$*)

unit-build: $(UNIT_BINS)

# A unit test that runs past UNIT_TIMEOUT seconds has hung: it fails.
UNIT_TIMEOUT ?= 300
test-unit: deps $(UNIT_BINS)
	@fail=0; for t in $(UNIT_BINS); do echo "== $$t"; \
		ASAN_OPTIONS=detect_leaks=1 timeout $(UNIT_TIMEOUT) $$t || fail=1; done; \
	if [ $$fail = 0 ]; then echo "unit tests: all passed"; \
	else echo "unit tests: FAILED"; exit 1; fi

# ---------------------------------------------------------------- fuzzing
FUZZCFLAGS := -std=gnu11 -O1 -g -Iinclude -fsanitize=fuzzer,address,undefined
include tests/fuzz/sources.mk
FUZZ_TARGETS := $(patsubst tests/fuzz/%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BINS := $(FUZZ_TARGETS:%=$(BUILD)/fuzz/%)
FUZZ_SECONDS ?= 60

$(BUILD)/fuzz/%: tests/fuzz/%.c $$(FUZZ_SRCS_$$*) $(wildcard include/lamina/*.h \
		include/abi/*.h kernel/*.h tools/lamina-cfg/*.h) tests/fuzz/sources.mk
	@mkdir -p $(dir $@)
	$(FUZZCC) $(FUZZCFLAGS) $(FUZZ_CFLAGS_$*) $< $(FUZZ_SRCS_$*) -o $@ $(FUZZ_LDLIBS_$*)

fuzz-build: $(FUZZ_BINS)

# Each target runs for FUZZ_SECONDS from its seed corpus (tests/fuzz/corpus/NAME);
# one input that takes over 10 s is a hang and fails it. libFuzzer picks a
# random seed unless FUZZ_SEED is given. make test gives one,
# so that its short pass takes the same first steps on every machine: a CI
# failure can be replayed, and a fresh random search is `make fuzz`.
fuzz: deps $(FUZZ_BINS)
	@for f in $(FUZZ_TARGETS); do echo "== fuzz $$f ($(FUZZ_SECONDS) s)"; \
		mkdir -p $(BUILD)/fuzz/corpus-$$f; \
		$(BUILD)/fuzz/$$f -max_total_time=$(FUZZ_SECONDS) -timeout=10 -print_final_stats=0 \
			$(if $(FUZZ_SEED),-seed=$(FUZZ_SEED)) -artifact_prefix=$(BUILD)/fuzz/$$f- \
			$(BUILD)/fuzz/corpus-$$f tests/fuzz/corpus/$$f 2>$(BUILD)/fuzz/$$f.log \
		|| { tail -40 $(BUILD)/fuzz/$$f.log; for a in $(BUILD)/fuzz/$$f-*; do \
			echo "== $$a, base64 (to replay it elsewhere):"; \
			head -c 4096 $$a | base64; done; exit 1; }; \
		tail -1 $(BUILD)/fuzz/$$f.log; done

# ---------------------------------------------------------------- all tests
PYTEST_ARGS ?= -n 2
test-integration: deps $(BUILD)/lamina.iso $(GUESTS) $(BUILD)/lamina-ctl $(BUILD)/lamina.efi linux-guest \
		kvm-peer
	$(PYTHON) -m pytest tests/integration $(PYTEST_ARGS) -m "not slow"

# What takes minutes of emulated time: the Linux guest under Bochs (VMX).
test-slow: deps $(BUILD)/lamina.iso $(GUESTS) linux-guest kvm-peer
	$(PYTHON) -m pytest tests/integration $(PYTEST_ARGS) -m slow

# Unit tests, a short fuzz pass over every parser, then the emulator suites.
# pytest's summary is the last line.
test: deps
	$(MAKE) --no-print-directory test-unit
	$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=$(or $(TEST_FUZZ_SECONDS),10) \
		FUZZ_SEED=$(or $(FUZZ_SEED),1)
	$(MAKE) --no-print-directory test-integration

# Host micro-benchmarks of pure code, then boots in the emulators.
$(BUILD)/bench/memslot_lookup: bench/memslot_lookup.c mm/memslot.c include/lamina/memslot.h
	@mkdir -p $(dir $@)
	$(HOSTCC) -std=gnu11 -O2 -Wall -Wextra -Iinclude bench/memslot_lookup.c mm/memslot.c -o $@

$(BUILD)/bench/stage2_build: bench/stage2_build.c mm/stage2.c include/lamina/stage2.h
	@mkdir -p $(dir $@)
	$(HOSTCC) -std=gnu11 -O2 -Wall -Wextra -Iinclude bench/stage2_build.c mm/stage2.c -o $@

# Every program saves build/bench/NAME.{json,txt}; report.py gathers them
# into build/bench/report.{txt,json} and the exit-cost plot, and copies
# both to docs/perf/ (bench/README.md).
bench: deps $(BUILD)/lamina.iso $(BUILD)/lamina-ctl $(BUILD)/lamina.efi $(GUESTS) $(BUILD)/bench/memslot_lookup \
		$(BUILD)/bench/stage2_build linux-guest kvm-peer
	rm -f $(BUILD)/bench/*.json # the report holds this run's results only
	$(PYTHON) bench/host_micro.py
	$(PYTHON) bench/exit_cost.py
	$(PYTHON) bench/kvm_peer.py
	$(PYTHON) bench/guest_runs.py && $(PYTHON) bench/vm_footprint.py
	$(PYTHON) bench/lifecycle.py $(LIFECYCLE_ARGS)
	$(PYTHON) bench/run.py $(BENCH_ARGS)
	$(PYTHON) bench/monitor_rtt.py && $(PYTHON) bench/idle_cpu.py
	$(PYTHON) bench/linux_boot.py && $(PYTHON) bench/linux_boot.py --pvh
	$(PYTHON) bench/workloads.py
	$(PYTHON) bench/efi_boot.py
	$(PYTHON) bench/report.py --copy-docs

clean:
	rm -rf $(BUILD)

help:
	@echo "make            build build/lamina.elf"
	@echo "make iso|usb    build the hybrid BIOS/UEFI image"
	@echo "make run        boot it in QEMU (serial console here; Ctrl-A X quits)"
	@echo "make run-uefi   the same under OVMF (UEFI)"
	@echo "make run-bochs  boot it in Bochs with an Intel VMX CPU, 2 CPUs"
	@echo "make test       unit tests, fuzz pass, emulator tests"
	@echo "make test-unit | test-integration | fuzz | bench"
	@echo "make test-slow  the Linux guest under Bochs (VMX): minutes"
	@echo "make linux-guest  fetch Debian's kernel, make the busybox initramfs"

-include $(KOBJS:.o=.d)
