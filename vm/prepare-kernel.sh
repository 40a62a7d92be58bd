#!/usr/bin/env bash
# Fetch the Debian kernel image that matches the installed headers and unpack
# what the VM needs into the cache: an ELF vmlinux (booted through PVH, which
# skips the slow in-guest decompression) and the kernel's module tree (the
# initramfs takes its virtio and 9p drivers from it) under DIR/lib/modules. The host's /boot is never
# touched: the package is downloaded and unpacked, not installed.
set -euo pipefail
# shellcheck source=vm/common.sh
source "$(dirname "$0")/common.sh"

tmp=""

main() {
	local kver dir
	kver=$(kernel_release)
	dir=$(kernel_dir)
	if [[ -s $dir/vmlinux && -d $dir/lib/modules/$kver ]]; then
		printf '%s\n' "$dir"
		return
	fi
	log "fetching linux-image-$kver"
	mkdir -p "$KMOD_CACHE/kernel"
	tmp=$(mktemp -d "$KMOD_CACHE/kernel/.tmp.XXXXXX")
	trap 'rm -rf "${tmp:?}"' EXIT
	(cd "$tmp" && apt-get download -q "linux-image-$kver-unsigned" >/dev/null 2>&1) ||
		(cd "$tmp" && apt-get download -q "linux-image-$kver" >/dev/null) ||
		die "cannot download linux-image-$kver"
	dpkg-deb -x "$tmp"/linux-image-*.deb "$tmp/x"
	depmod -b "$tmp/x" "$kver"
	mkdir -p "$tmp/out"
	python3 "$KMOD_ROOT/vm/extract_vmlinux.py" "$tmp/x/boot/vmlinuz-$kver" "$tmp/out/vmlinux"
	cp "$tmp/x/boot/config-$kver" "$tmp/out/config"
	mkdir -p "$tmp/out/lib/modules"
	mv "$tmp/x/lib/modules/$kver" "$tmp/out/lib/modules/"
	rm -rf "$dir"
	mv "$tmp/out" "$dir"
	printf '%s\n' "$dir"
}

main "$@"
