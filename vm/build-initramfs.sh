#!/usr/bin/env bash
# Build (once, then cached) the initramfs of the grading VM: busybox, the
# kernel's virtio/9p/pvpanic drivers in load order, and vm/guest/initramfs-init.
set -euo pipefail
# shellcheck source=vm/common.sh
source "$(dirname "$0")/common.sh"

# Drivers the initramfs loads; modprobe resolves their dependencies.
DRIVERS=(virtio_pci virtio_console 9pnet_virtio 9p pvpanic_pci)

tmp=""

main() {
	local kver kdir out
	kver=$(kernel_release)
	kdir=$(bash "$KMOD_ROOT/vm/prepare-kernel.sh")
	out=$kdir/initramfs.cpio.gz
	if [[ -s $out && $out -nt $KMOD_ROOT/vm/guest/initramfs-init && $out -nt $0 ]]; then
		printf '%s\n' "$out"
		return
	fi
	tmp=$(mktemp -d)
	trap 'rm -rf "${tmp:?}"' EXIT
	mkdir -p "$tmp"/{bin,dev,proc,sys,newroot,lib/modules}
	cp /bin/busybox "$tmp/bin/busybox"
	install -m 755 "$KMOD_ROOT/vm/guest/initramfs-init" "$tmp/init"

	local drv path
	: >"$tmp/modules.load"
	for drv in "${DRIVERS[@]}"; do
		modprobe -d "$kdir" -S "$kver" --show-depends "$drv" |
			sed -n "s|^insmod $kdir/lib/modules/$kver/||p" | sed 's/ *$//'
	done | awk '!seen[$0]++' | while read -r path; do
		cp "$kdir/lib/modules/$kver/$path" "$tmp/lib/modules/"
		basename "$path" >>"$tmp/modules.load"
	done
	[[ -s $tmp/modules.load ]] || die "no drivers found for the initramfs"
	(cd "$tmp" && find . -print0 | cpio --null -o -H newc --quiet | gzip -1) >"$out.tmp"
	mv "$out.tmp" "$out"
	printf '%s\n' "$out"
}

main "$@"
