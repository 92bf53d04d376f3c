#!/bin/sh
# Install the Debian packages that building and testing Lamina needs.
#
# Silent, and exit 0, when all are installed (it runs before every `make
# run` and `make test`, so the check is one dpkg-query call). Otherwise it
# installs the missing ones with apt-get: as root directly, else through
# `sudo -n` when that needs no password; failing both, it prints the
# command to run and exits 1.
set -eu

PACKAGES="gcc make nasm binutils grub-pc-bin grub-efi-amd64-bin grub-common
xorriso mtools qemu-system-x86 ovmf bochs bochs-sdl bochsbios vgabios
libcmocka-dev libyaml-dev clang libclang-rt-14-dev python3-pytest python3-pexpect
python3-pytest-timeout python3-pytest-xdist git busybox-static libc6-dev gnuplot-nox gnu-efi"

# shellcheck disable=SC2086 # $PACKAGES is split into words on purpose
missing_packages() {
	# Installed packages print "ii"; unknown ones print nothing (and an
	# error on stderr, which is expected here).
	installed=" $(dpkg-query -W -f='${db:Status-Abbrev} ${Package}\n' \
		$PACKAGES 2>/dev/null | awk '$1 == "ii" { print $2 }' |
		tr '\n' ' ') " || true
	for p in $PACKAGES; do
		case "$installed" in
		*" $p "*) ;;
		*) printf '%s ' "$p" ;;
		esac
	done
}

missing=$(missing_packages)
[ -z "$missing" ] && exit 0

echo "tools/deps.sh: missing Debian packages: $missing" >&2
if [ "$(id -u)" = 0 ]; then
	sudo=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
	sudo="sudo -n"
else
	echo "tools/deps.sh: install them with:" >&2
	echo "  sudo apt-get install -y $missing" >&2
	exit 1
fi

export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q >&2
# shellcheck disable=SC2086 # word splitting of the package list is wanted
$sudo apt-get install -y -q --no-install-recommends $missing >&2

still=$(missing_packages)
if [ -n "$still" ]; then
	echo "tools/deps.sh: still missing after apt-get: $still" >&2
	exit 1
fi
echo "tools/deps.sh: installed $missing" >&2
