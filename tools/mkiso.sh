#!/bin/sh
# Make a bootable hybrid image (BIOS + UEFI, CD or USB stick) of Lamina.
#   tools/mkiso.sh OUTPUT.iso ELF [KERNEL COMMAND LINE]
# The tests use the command line to boot with test options.
set -eu
out=$1
elf=$2
cmdline=${3:-}
dir=$(mktemp -d "${TMPDIR:-/tmp}/lamina-iso.XXXXXX")
trap 'rm -rf "$dir"' EXIT
root=$dir/root # the image's files; the log stays outside it
mkdir -p "$root/boot/grub"
cp "$elf" "$root/boot/lamina.elf"
sed "s|@CMDLINE@|$cmdline|" "$(dirname "$0")/../boot/grub.cfg" > "$root/boot/grub/grub.cfg"
mkdir -p "$(dirname "$out")"
if ! grub-mkrescue -o "$out" "$root" \
	--install-modules="multiboot2 normal serial terminal" \
	--locales= --fonts= --themes= > "$dir/log" 2>&1; then
	cat "$dir/log" >&2
	exit 1
fi
