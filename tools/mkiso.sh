#!/bin/sh
# Make a bootable hybrid image (BIOS + UEFI, CD or USB stick) of Lamina.
#   tools/mkiso.sh OUTPUT.iso ELF [COMMAND LINE] [CONFIG]
# CONFIG is a YAML file (compiled with build/lamina-cfg; its images become
# modules named as the config names them) or an already built blob (.bin,
# used as it is: the tests boot broken blobs this way). GRUB passes the
# blob as the multiboot2 module "config".
set -eu
out=$1
elf=$2
cmdline=${3:-}
config=${4:-}
top=$(cd "$(dirname "$0")/.." && pwd)
cfgtool=$top/build/lamina-cfg
dir=$(mktemp -d "${TMPDIR:-/tmp}/lamina-iso.XXXXXX")
trap 'rm -rf "$dir"' EXIT
root=$dir/root # the image's files; the log stays outside it
mkdir -p "$root/boot/grub" "$root/boot/modules"
cp "$elf" "$root/boot/lamina.elf"
modules=
case "$config" in
"") ;;
*.bin)
	cp "$config" "$root/boot/config.bin"
	modules="module2 /boot/config.bin config" ;;
*)
	"$cfgtool" "$config" -o "$root/boot/config.bin"
	modules="module2 /boot/config.bin config"
	"$cfgtool" --modules "$config" > "$dir/images"
	while read -r name path; do
		cp "$path" "$root/boot/modules/$name"
		modules="$modules
	module2 /boot/modules/$name $name"
	done < "$dir/images" ;;
esac
awk -v cmdline="$cmdline" -v modules="$modules" \
	'{ gsub(/@CMDLINE@/, cmdline); gsub(/@MODULES@/, modules); print }' \
	"$top/boot/grub.cfg" > "$root/boot/grub/grub.cfg"
mkdir -p "$(dirname "$out")"
if ! grub-mkrescue -o "$out" "$root" \
	--install-modules="multiboot2 normal serial terminal all_video" \
	--locales= --fonts= --themes= > "$dir/log" 2>&1; then
	cat "$dir/log" >&2
	exit 1
fi
