# The Linux guest: Debian's stock kernel and a busybox initramfs.
# Included by the top Makefile (after its default goal, as this file has
# rules), which defines BUILD and PYTHON. See tools/linux-guest/README.md.
LINUX_DIR := $(BUILD)/linux
LINUX_BZIMAGE := $(LINUX_DIR)/bzImage
LINUX_INITRD := $(LINUX_DIR)/initramfs.cpio.gz
LINUX_VMLINUX := $(LINUX_DIR)/vmlinux

.PHONY: linux-guest
linux-guest: $(LINUX_BZIMAGE) $(LINUX_INITRD) $(LINUX_VMLINUX)

# No prerequisites: the kernel is whatever linux-image-amd64 pointed to on
# the first fetch, kept until build/linux is removed. Fetching again on
# every apt update would change the guest under the tests' feet.
$(LINUX_BZIMAGE):
	tools/linux-guest/fetch-kernel.sh $(LINUX_DIR)

# /bin/busybox through wildcard: when it is missing, mkinitramfs.py says
# which package to install; make would only say "no rule".
$(LINUX_INITRD): tools/linux-guest/mkinitramfs.py tools/linux-guest/ipi-test.c \
		$(wildcard /bin/busybox)
	$(PYTHON) tools/linux-guest/mkinitramfs.py $@

$(LINUX_VMLINUX): $(LINUX_BZIMAGE) tools/linux-guest/extract-vmlinux.py
	$(PYTHON) tools/linux-guest/extract-vmlinux.py $< -o $@
