#!/usr/bin/env bash
# Make sure the course environment (vm/env.sh) and the grading VM's
# initramfs are made and cached, then print where everything is, one
# KEY=VALUE a line (read by grader/vm.py read_assets):
#   ENV         the course environment's folder
#   BUILD_ROOT  the tree builds run in (grader/sandbox-build.sh's root)
#   ROOTFS      the VM's root filesystem (the same tree)
#   VMLINUX INITRAMFS  what the VM boots
#   KVER        the kernel release; KDIR its kbuild tree, as a path inside BUILD_ROOT
#   ACCEL       kvm or tcg
set -euo pipefail
# shellcheck source=vm/common.sh
source "$(dirname "$0")/common.sh"

main() {
	local env kver initramfs accel
	env=$(bash "$KMOD_ROOT/vm/env.sh" dir)
	kver=$(sed -n 's/^KVER=//p' "$env/env.conf")
	initramfs=$(bash "$KMOD_ROOT/vm/build-initramfs.sh" "$env")
	accel=$(bash "$KMOD_ROOT/vm/probe-accel.sh" "$env/kernel/vmlinux" "$initramfs" "$env/root")
	[[ -d $env/root/usr/src/linux-headers-$kver ]] || die "the course environment $env has no headers for $kver"
	printf 'ENV=%s\nBUILD_ROOT=%s\nROOTFS=%s\nVMLINUX=%s\nINITRAMFS=%s\nKVER=%s\nKDIR=%s\nACCEL=%s\n' \
		"$env" "$env/root" "$env/root" "$env/kernel/vmlinux" "$initramfs" "$kver" \
		"/usr/src/linux-headers-$kver" "$accel"
}

main "$@"
