#!/usr/bin/env bash
# Build (once, then cached) the VM's root filesystem: a minimal Debian tree
# made by debootstrap with the tools the grading suites use inside the VM.
# The VM mounts it read-only over 9p; it is never the host's own /, so code
# under test sees only this tree and its own job folder.
set -euo pipefail
# shellcheck source=vm/common.sh
source "$(dirname "$0")/common.sh"

SUITE=bookworm
PACKAGES=bats,bats-assert,bats-support,bats-file,strace,kmod,python3-minimal,busybox,procps,psmisc
# Folders the initramfs mounts something on (the tree itself is read-only).
MOUNT_POINTS=(job results tmp run var/tmp root dev proc sys)
# Bump when the recipe changes, so cached trees are rebuilt.
RECIPE="1 $SUITE $PACKAGES ${MOUNT_POINTS[*]}"

tmp=""

# The Debian mirror apt already uses on this machine (or KMOD_DEBIAN_MIRROR).
apt_mirror() {
	if [[ -n ${KMOD_DEBIAN_MIRROR:-} ]]; then
		printf '%s\n' "$KMOD_DEBIAN_MIRROR"
		return
	fi
	local uri
	uri=$(grep -rhoE '^(URIs:|deb)[[:space:]]+[a-z]+://[^[:space:]]+/debian/?' \
		/etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null | head -n 1 | awk '{print $2}')
	printf '%s\n' "${uri:-http://deb.debian.org/debian}"
}

main() {
	local dest stamp
	dest=$(rootfs_dir)
	stamp=$dest/.kmod-course-rootfs
	if [[ -f $stamp && $(cat "$stamp") == "$RECIPE" ]]; then
		printf '%s\n' "$dest"
		return
	fi
	log "building the VM root filesystem with debootstrap (about a minute)"
	mkdir -p "$KMOD_CACHE"
	tmp=$(mktemp -d "$KMOD_CACHE/.rootfs.XXXXXX")
	trap 'rm -rf "${tmp:?}"' EXIT
	# On another distribution (gradescope/setup.sh runs this on Ubuntu),
	# Debian's keys come from KMOD_DEBIAN_KEYRING.
	local -a options=(--variant=minbase --include="$PACKAGES")
	[[ -z ${KMOD_DEBIAN_KEYRING:-} ]] || options+=(--keyring="$KMOD_DEBIAN_KEYRING")
	debootstrap "${options[@]}" "$SUITE" "$tmp/root" "$(apt_mirror)" "$(debootstrap_script "$SUITE")" \
		>"$tmp/debootstrap.log" 2>&1 || {
		tail -n 20 "$tmp/debootstrap.log" >&2
		die "debootstrap failed"
	}
	local dir
	for dir in "${MOUNT_POINTS[@]}"; do
		mkdir -p "$tmp/root/$dir"
	done
	rm -rf "$tmp/root/var/cache/apt/archives/"*.deb "$tmp/root/var/lib/apt/lists/"*
	printf 'kmod-grader\n' >"$tmp/root/etc/hostname"
	printf '%s\n' "$RECIPE" >"$tmp/root/.kmod-course-rootfs"
	rm -rf "$dest"
	mv "$tmp/root" "$dest"
	printf '%s\n' "$dest"
}

main "$@"
