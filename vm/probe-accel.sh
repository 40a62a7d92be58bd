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

# probe VMLINUX INITRAMFS ROOTFS: did a KVM guest reach userspace in time?
# (The course VM's own command line, grader/vm.py, in probe mode.)
probe() {
	timeout -k 5 $((PROBE_SECONDS + 10)) python3 "$KMOD_ROOT/grader/probe.py" \
		--accel kvm --seconds "$PROBE_SECONDS" "$@" >/dev/null 2>&1
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
