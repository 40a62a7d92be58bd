#!/usr/bin/env bash
# Decide whether the grading VM may use KVM. /dev/kvm being there proves
# little (on some hosts it opens but guests crawl and die), so boot a guest
# that only says it is up, with a short time limit; use KVM only when that
# works, software emulation (tcg) otherwise. The answer is cached per host.
# KMOD_ACCEL=kvm|tcg overrides the probe.
#
# usage: probe-accel.sh VMLINUX INITRAMFS ROOTFS   (prints kvm or tcg)
set -euo pipefail
# shellcheck source=vm/common.sh
source "$(dirname "$0")/common.sh"

PROBE_SECONDS=25
tmp=""

probe() {
	local vmlinux=$1 initramfs=$2 rootfs=$3
	tmp=$(mktemp -d)
	trap 'rm -rf "${tmp:?}"' EXIT
	mkdir -p "$tmp/job"
	cp "$KMOD_ROOT/vm/guest/guest-init.sh" "$tmp/job/"
	echo "KMOD_MODE=probe" >"$tmp/job/job.env"
	timeout -k 2 "$PROBE_SECONDS" qemu-system-x86_64 -nodefaults -no-user-config \
		-machine q35,accel=kvm -cpu host -m 256 -display none -no-reboot \
		-kernel "$vmlinux" -initrd "$initramfs" -append "console=ttyS0 panic=-1 rdinit=/init" \
		-virtfs "local,path=$rootfs,mount_tag=rootfs,security_model=none,readonly=on,multidevs=remap" \
		-virtfs "local,path=$tmp/job,mount_tag=job,security_model=none,readonly=on" \
		-device virtio-serial-pci -chardev "file,id=r,path=$tmp/stream" \
		-device virtserialport,chardev=r,name=kmod.results \
		-serial none >/dev/null 2>&1 || true
	grep -q '^@@done' "$tmp/stream" 2>/dev/null
}

main() {
	[[ $# -eq 3 ]] || die "usage: $0 VMLINUX INITRAMFS ROOTFS"
	case ${KMOD_ACCEL:-} in
	kvm | tcg)
		printf '%s\n' "$KMOD_ACCEL"
		return
		;;
	"") ;;
	*) die "KMOD_ACCEL must be kvm or tcg, not '$KMOD_ACCEL'" ;;
	esac
	local cache
	# (One answer per course environment: VMLINUX is ENV/kernel/vmlinux.)
	cache="$KMOD_CACHE/accel-$(hostname)-$(basename "$(dirname "$(dirname "$1")")")"
	if [[ -s $cache ]]; then
		cat "$cache"
		return
	fi
	local accel=tcg
	if [[ -r /dev/kvm && -w /dev/kvm ]]; then
		log "probing KVM with a ${PROBE_SECONDS} s test boot"
		probe "$@" && accel=kvm
	fi
	printf '%s\n' "$accel" | tee "$cache"
}

main "$@"
