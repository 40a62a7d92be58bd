#!/usr/bin/env bash
# Make sure everything a grading VM needs is built and cached, then print
# where it is, one KEY=VALUE a line (read by grader/grade.py):
#   VMLINUX INITRAMFS ROOTFS KDIR KVER ACCEL
set -euo pipefail
# shellcheck source=vm/common.sh
source "$(dirname "$0")/common.sh"

main() {
	local kver kdir initramfs rootfs accel
	kver=$(kernel_release)
	kdir=$(bash "$KMOD_ROOT/vm/prepare-kernel.sh")
	initramfs=$(bash "$KMOD_ROOT/vm/build-initramfs.sh")
	rootfs=$(bash "$KMOD_ROOT/vm/build-rootfs.sh")
	accel=$(bash "$KMOD_ROOT/vm/probe-accel.sh" "$kdir/vmlinux" "$initramfs" "$rootfs")
	[[ -d $(kbuild_dir) ]] || die "no kernel headers at $(kbuild_dir) (run scripts/install-deps.sh)"
	printf 'VMLINUX=%s\nINITRAMFS=%s\nROOTFS=%s\nKDIR=%s\nKVER=%s\nACCEL=%s\n' \
		"$kdir/vmlinux" "$initramfs" "$rootfs" "$(kbuild_dir)" "$kver" "$accel"
}

main "$@"
