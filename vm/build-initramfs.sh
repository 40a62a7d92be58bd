#!/usr/bin/env bash
# Build (once, then cached) the initramfs of the grading VM from a course
# environment: its static busybox, its kernel's virtio/9p/pvpanic drivers in
# load order (from modules.dep, uncompressed: busybox's insmod loads plain
# .ko files), and vm/guest/initramfs-init.
#
# usage: build-initramfs.sh ENV_DIR   (prints the initramfs's path)
set -euo pipefail
# shellcheck source=vm/common.sh
source "$(dirname "$0")/common.sh"

tmp=""

# Copy one module into the initramfs, uncompressed; print its file name.
add_module() {
	local from=$1 to=$2 name
	name=$(basename "$from")
	case $name in
	*.ko.xz) xz -dc "$from" >"$to/${name%.xz}" && name=${name%.xz} ;;
	*.ko.zst) zstd -q -dc "$from" >"$to/${name%.zst}" && name=${name%.zst} ;;
	*.ko.gz) gzip -dc "$from" >"$to/${name%.gz}" && name=${name%.gz} ;;
	*) cp "$from" "$to/$name" ;;
	esac
	printf '%s\n' "$name"
}

main() {
	local env=${1:?usage: build-initramfs.sh ENV_DIR} kver modules out
	kver=$(sed -n 's/^KVER=//p' "$env/env.conf")
	modules=$env/root/lib/modules/$kver
	mkdir -p "$KMOD_CACHE/initramfs"
	out=$KMOD_CACHE/initramfs/$(basename "$env")-$kver.cpio.gz
	if [[ -s $out && $out -nt $KMOD_ROOT/vm/guest/initramfs-init && $out -nt $0 &&
		$out -nt $env/env.conf ]]; then
		printf '%s\n' "$out"
		return
	fi
	tmp=$(mktemp -d)
	trap 'rm -rf "${tmp:?}"' EXIT
	mkdir -p "$tmp"/{bin,dev,proc,sys,newroot,lib/modules}
	cp "$env/root/bin/busybox" "$tmp/bin/busybox"
	install -m 755 "$KMOD_ROOT/vm/guest/initramfs-init" "$tmp/init"
	local path
	: >"$tmp/modules.load"
	# (A pipe, not process substitution: in the Gradescope tree there is no
	# /proc, so no /dev/fd.)
	vm_driver_files "$modules/modules.dep" | while read -r path; do
		add_module "$modules/$path" "$tmp/lib/modules" >>"$tmp/modules.load"
	done
	[[ -s $tmp/modules.load ]] || die "no drivers found for the initramfs in $modules"
	(cd "$tmp" && find . -print0 | cpio --null -o -H newc --quiet | gzip -1) >"$out.tmp"
	mv "$out.tmp" "$out"
	printf '%s\n' "$out"
}

main "$@"
