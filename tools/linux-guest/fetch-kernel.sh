#!/bin/sh
# Fetch Debian's stock kernel for the Linux guest, without installing it.
#   tools/linux-guest/fetch-kernel.sh [OUTDIR]      (default: build/linux)
# Writes OUTDIR/bzImage and OUTDIR/version (e.g. 6.1.0-57-amd64).
#
# linux-image-amd64 is only a metapackage; the real kernel is the package it
# depends on, so the version follows whatever the host's apt lists say.
# `apt-get download` needs no root and leaves the host's /boot alone.
# Idempotent: nothing is downloaded or unpacked twice.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-$top/build/linux}
mkdir -p "$out"
out=$(cd "$out" && pwd)

die() {
	echo "fetch-kernel.sh: $*" >&2
	exit 1
}

[ -s "$out/bzImage" ] && [ -s "$out/version" ] && exit 0

command -v apt-cache >/dev/null 2>&1 ||
	die "apt-cache not found: this needs a Debian host"

# "Depends: linux-image-6.1.0-57-amd64" -> linux-image-6.1.0-57-amd64
pkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
	sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*\)$/\1/p' | head -n 1)
[ -n "$pkg" ] || die "apt-cache knows no linux-image-amd64 dependency;" \
	"run 'apt-get update' (as root) and retry"
version=${pkg#linux-image-}

# apt-get download names the file PKG_VERSION_ARCH.deb.
find_deb() {
	for f in "$out/${pkg}"_*.deb; do
		[ -s "$f" ] && echo "$f" && return
	done
	return 0 # none: not an error under set -e
}
deb=$(find_deb)
if [ -z "$deb" ]; then
	echo "fetch-kernel.sh: downloading $pkg" >&2
	(cd "$out" && apt-get download "$pkg") ||
		die "'apt-get download $pkg' failed (no network," \
			"or stale apt lists: try 'apt-get update')"
	deb=$(find_deb)
	[ -n "$deb" ] || die "apt-get download left no ${pkg}_*.deb in $out"
fi

# Only ./boot (vmlinuz, config, System.map): `dpkg-deb -x` of the whole
# package would add 400 MB of modules the initramfs does not use.
if [ ! -s "$out/pkg/boot/vmlinuz-$version" ]; then
	rm -rf "$out/pkg"
	mkdir -p "$out/pkg"
	dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$out/pkg" ./boot ||
		die "cannot unpack ./boot from $deb"
fi
[ -s "$out/pkg/boot/vmlinuz-$version" ] ||
	die "$deb holds no boot/vmlinuz-$version"

# Copy through temporary names so an interrupted run leaves no half file
# that the check at the top would take as done.
cp "$out/pkg/boot/vmlinuz-$version" "$out/bzImage.tmp"
mv "$out/bzImage.tmp" "$out/bzImage"
echo "$version" > "$out/version.tmp"
mv "$out/version.tmp" "$out/version"
echo "fetch-kernel.sh: $out/bzImage is Linux $version" >&2
