# The KVM peer: Linux KVM, in the emulator, running Lamina's exit-cost
# guest (bench/kvm_peer.py). Included by the top Makefile after
# tools/linux-guest/linux.mk, whose LINUX_DIR and LINUX_BZIMAGE it uses;
# the top Makefile defines BUILD, HOSTCC and PYTHON and has the rule for
# $(BUILD)/guests/%.bin. See tools/kvm-peer/README.md.
KVM_PEER_DIR := $(BUILD)/kvm-peer
KVM_PEER_EXIT := $(KVM_PEER_DIR)/kvmexit
KVM_PEER_INITRD := $(KVM_PEER_DIR)/initramfs.cpio.gz
KVM_PEER_GUEST := $(BUILD)/guests/exitcost32.bin

.PHONY: kvm-peer
kvm-peer: $(KVM_PEER_EXIT) $(KVM_PEER_INITRD) $(LINUX_BZIMAGE)

# Static: the initramfs has no libc. gcc prints the bare name when it has
# no static libc.a, and the link would only say "cannot find -lc".
$(KVM_PEER_EXIT): tools/kvm-peer/kvmexit.c
	@mkdir -p $(dir $@)
	@test "$$($(HOSTCC) -print-file-name=libc.a)" != libc.a || \
		{ echo "kvm-peer: no static libc.a: apt-get install libc6-dev" >&2; \
		exit 1; }
	$(HOSTCC) -std=gnu11 -static -O2 -Wall -Wextra -Werror $< -o $@

# The modules come out of the kernel's .deb, which fetch-kernel.sh keeps
# beside the bzImage; /bin/busybox through wildcard as in linux.mk.
$(KVM_PEER_INITRD): tools/kvm-peer/mkinitramfs.py \
		tools/linux-guest/mkinitramfs.py $(KVM_PEER_EXIT) \
		$(KVM_PEER_GUEST) $(LINUX_BZIMAGE) $(wildcard /bin/busybox)
	$(PYTHON) tools/kvm-peer/mkinitramfs.py $@ --kvmexit $(KVM_PEER_EXIT) \
		--guest $(KVM_PEER_GUEST) --linux-dir $(LINUX_DIR)
