# lamina.efi, the UEFI loader that boots Lamina without GRUB (loader/efi/).
# Built with Debian's gnu-efi as its documentation describes: objects
# compiled -fpic for the firmware's ABI, linked as a shared object with
# crt0-efi-x86_64.o and elf_x86_64_efi.lds, then copied into a PE32+
# image by objcopy. Included from the top Makefile (BUILD is set there).

EFI_INC := /usr/include/efi
EFI_LIB := /usr/lib
EFI_CRT0 := $(EFI_LIB)/crt0-efi-x86_64.o
EFI_LDS := $(EFI_LIB)/elf_x86_64_efi.lds

EFI_CFLAGS := -std=gnu11 -O2 -g -Wall -Wextra -Werror -Iinclude \
	-I$(EFI_INC) -I$(EFI_INC)/x86_64 -DEFI_FUNCTION_WRAPPER \
	-ffreestanding -fpic -fshort-wchar -mno-red-zone -mgeneral-regs-only \
	-fno-stack-protector -fno-strict-aliasing -fno-asynchronous-unwind-tables \
	-Wno-unused-parameter
EFI_LDFLAGS := -nostdlib -znocombreloc -T $(EFI_LDS) -shared -Bsymbolic \
	-L$(EFI_LIB) $(EFI_CRT0)

EFI_SRCS := $(wildcard loader/efi/*.c)
EFI_OBJS := $(EFI_SRCS:%.c=$(BUILD)/efi/%.o) $(BUILD)/efi/loader/efi/trampoline.o

# Without gnu-efi the target fails with the line that installs it.
$(BUILD)/efi/.gnu-efi:
	@test -f $(EFI_CRT0) -a -f $(EFI_LDS) -a -f $(EFI_INC)/efi.h || \
		{ echo "gnu-efi missing: apt-get install -y gnu-efi" >&2; exit 1; }
	@mkdir -p $(dir $@) && touch $@

$(BUILD)/efi/%.o: %.c $(wildcard loader/efi/*.h) include/lamina/errno.h \
		| $(BUILD)/efi/.gnu-efi
	@mkdir -p $(dir $@)
	$(CC) $(EFI_CFLAGS) -c $< -o $@

$(BUILD)/efi/loader/efi/trampoline.o: loader/efi/trampoline.S | $(BUILD)/efi/.gnu-efi
	@mkdir -p $(dir $@)
	$(CC) -c $< -o $@

$(BUILD)/efi/lamina-efi.so: $(EFI_OBJS)
	$(LD) $(EFI_LDFLAGS) $(EFI_OBJS) -o $@ -lefi -lgnuefi

$(BUILD)/lamina.efi: $(BUILD)/efi/lamina-efi.so
	objcopy -j .text -j .sdata -j .data -j .dynamic -j .dynsym -j .rel \
		-j .rela -j .rel.* -j .rela.* -j .reloc \
		--target=efi-app-x86_64 --subsystem=10 $< $@

# The image with both loaders on its EFI system partition (tools/mkusb.sh),
# for the same CONFIG and CMDLINE as $(BUILD)/lamina.iso.
$(BUILD)/lamina-usb-efi.img: $(BUILD)/lamina-stripped.elf $(BUILD)/lamina.efi \
		boot/grub.cfg tools/mkusb.sh tools/mkiso.sh $(BUILD)/lamina-cfg \
		$(CONFIG) $(GUESTS) $(LINUX_BZIMAGE) $(LINUX_INITRD) $(LINUX_VMLINUX)
	tools/mkusb.sh $@ $(BUILD)/lamina-stripped.elf "$(CMDLINE)" "$(CONFIG)"

efi: $(BUILD)/lamina.efi
usb-efi: $(BUILD)/lamina-usb-efi.img
	@echo "$<: write it to a USB stick as docs/efi-loader.md describes"
.PHONY: efi usb-efi
