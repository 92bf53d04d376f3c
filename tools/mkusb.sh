#!/bin/sh
# Make a bootable image (BIOS + UEFI; CD or USB stick) of Lamina whose EFI
# system partition also holds lamina.efi, the loader that boots Lamina
# without GRUB (docs/efi-loader.md).
#   tools/mkusb.sh OUTPUT ELF [COMMAND LINE] [CONFIG]
# CONFIG as for tools/mkiso.sh: a YAML file (its images become modules) or
# a built blob (.bin). The EFI system partition gets
#   \EFI\BOOT\BOOTX64.EFI   GRUB (the firmware's default boot)
#   \EFI\lamina\lamina.efi  lamina.efi
#   \lamina\                lamina.elf, config.bin, the guest images, boot.txt
# BIOS boot is tools/mkiso.sh's GRUB, unchanged (its files stay in the ISO
# file system under /boot).
# Environment:
#   MKUSB_DEFAULT=lamina    BOOTX64.EFI is lamina.efi instead of GRUB (GRUB
#                           moves to \EFI\grub\grubx64.efi): tests boot
#                           lamina.efi this way without a boot menu.
#   MKUSB_BOOTTXT=FILE      use FILE as \lamina\boot.txt (tests: broken ones)
#   LAMINA_EFI=FILE         the loader (default build/lamina.efi)
set -eu
out=$1
elf=$2
cmdline=${3:-}
config=${4:-}
top=$(cd "$(dirname "$0")/.." && pwd)
cfgtool=$top/build/lamina-cfg
efi=${LAMINA_EFI:-$top/build/lamina.efi}
default=${MKUSB_DEFAULT:-grub}
for tool in mformat mcopy xorriso grub-mkstandalone; do
	command -v $tool >/dev/null || {
		echo "mkusb.sh: $tool missing: apt-get install -y mtools xorriso grub-efi-amd64-bin" >&2
		exit 1; }
done
[ -f "$efi" ] || { echo "mkusb.sh: $efi missing: make build/lamina.efi" >&2; exit 1; }
case $default in grub|lamina) ;; *)
	echo "mkusb.sh: MKUSB_DEFAULT must be grub or lamina" >&2; exit 1 ;;
esac
dir=$(mktemp -d "${TMPDIR:-/tmp}/lamina-usb.XXXXXX")
trap 'rm -rf "$dir"' EXIT

# 1. mkiso.sh's hybrid image: GRUB for BIOS (and its ISO file system).
"$top/tools/mkiso.sh" "$dir/base.iso" "$elf" "$cmdline" "$config"

# 2. The EFI system partition's files.
esp=$dir/esp
mkdir -p "$esp/EFI/BOOT" "$esp/EFI/lamina" "$esp/lamina"
cp "$elf" "$esp/lamina/lamina.elf"
cp "$efi" "$esp/EFI/lamina/lamina.efi"
{
	echo "# Written by tools/mkusb.sh: what lamina.efi loads (docs/efi-loader.md)."
	printf 'kernel \\lamina\\lamina.elf\n'
	printf 'cmdline %s\n' "$cmdline"
} > "$dir/boot.txt"
modules=
addmod() { # SOURCE FILE NAME: \lamina\FILE, the module NAME, for both loaders
	cp "$1" "$esp/lamina/$2"
	printf 'module \\lamina\\%s %s\n' "$2" "$3" >> "$dir/boot.txt"
	modules="$modules
	module2 /lamina/$2 $3"
}
case "$config" in
"") ;;
*.bin) addmod "$config" config.bin config ;;
*)
	"$cfgtool" "$config" -o "$dir/config.bin"
	addmod "$dir/config.bin" config.bin config
	"$cfgtool" --modules "$config" > "$dir/images"
	while read -r name path; do
		addmod "$path" "$name" "$name"
	done < "$dir/images" ;;
esac
cp "${MKUSB_BOOTTXT:-$dir/boot.txt}" "$esp/lamina/boot.txt"

# 3. GRUB for UEFI with its grub.cfg inside. It finds its partition by the
# FAT serial number chosen here, not by a file name that a disk of the
# same machine might also have (nor the ISO file system's UUID).
serial=$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')
uuid=$(echo "$serial" | sed 's/^\(....\)/\1-/')
{
	echo "search --no-floppy --fs-uuid --set=root $uuid"
	awk -v cmdline="$cmdline" -v modules="$modules" \
		'{ gsub(/@CMDLINE@/, cmdline); gsub(/@MODULES@/, modules);
		   gsub(/\/boot\/lamina.elf/, "/lamina/lamina.elf"); print }' \
		"$top/boot/grub.cfg"
} > "$dir/grub.cfg"
grub=$esp/EFI/BOOT/BOOTX64.EFI
if [ "$default" = lamina ]; then
	mkdir -p "$esp/EFI/grub"
	grub=$esp/EFI/grub/grubx64.efi
	cp "$efi" "$esp/EFI/BOOT/BOOTX64.EFI"
fi
grub-mkstandalone -O x86_64-efi -o "$grub" \
	--install-modules="multiboot2 normal serial terminal all_video search search_fs_file fat part_gpt part_msdos configfile" \
	--modules="search search_fs_file fat part_gpt part_msdos" \
	--locales= --fonts= --themes= "boot/grub/grub.cfg=$dir/grub.cfg" \
	> "$dir/log" 2>&1 || { cat "$dir/log" >&2; exit 1; }

# 4. The partition as a FAT image: its files plus 1 MiB, at least 4 MiB.
kib=$(du -sk "$esp" | cut -f1)
kib=$(( (kib + kib / 16 + 1024 + 1023) / 1024 * 1024 ))
[ $kib -ge 4096 ] || kib=4096
truncate -s ${kib}K "$dir/efi.img"
mformat -i "$dir/efi.img" -v LAMINA -N "$serial" ::
mcopy -s -i "$dir/efi.img" "$esp/EFI" "$esp/lamina" ::/

# 5. mkiso.sh's image again, with this partition in place of GRUB's own
# (the options are those grub-mkrescue used, less the Mac HFS+ parts).
iso=$dir/iso
xorriso -osirrox on -indev "$dir/base.iso" -extract / "$iso" > "$dir/log" 2>&1 ||
	{ cat "$dir/log" >&2; exit 1; }
chmod -R u+w "$iso"
rm -rf "$iso/System" "$iso/mach_kernel" "$iso/boot.catalog"
cp "$dir/efi.img" "$iso/efi.img"
# The same date keeps the volume UUID by which BIOS GRUB finds /boot/grub.
date=$(xorriso -indev "$dir/base.iso" -report_el_torito as_mkisofs 2>/dev/null |
	sed -n "s/^--modification-date='\([0-9]*\)'.*/\1/p")
mkdir -p "$(dirname "$out")"
if ! xorriso -as mkisofs -o "$out" -V ISOIMAGE ${date:+--modification-date=$date} -r \
	--grub2-mbr /usr/lib/grub/i386-pc/boot_hybrid.img \
	-b boot/grub/i386-pc/eltorito.img -no-emul-boot -boot-load-size 4 \
	-boot-info-table --grub2-boot-info \
	--efi-boot efi.img -efi-boot-part --efi-boot-image \
	--protective-msdos-label "$iso" > "$dir/log" 2>&1; then
	cat "$dir/log" >&2
	exit 1
fi
