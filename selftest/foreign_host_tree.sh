#!/usr/bin/env bash
# Make (once) the foreign host of selftest/foreign_host.bats: a Debian
# trixie tree with its own apt state and its own linux-headers-amd64 (what
# a student's own machine would have: another kernel's headers than the
# course's). Mostly downloads: make test makes it while other checks run.
#
# usage: foreign_host_tree.sh DIR   (DIR/.foreign-ready marks a finished tree)
set -euo pipefail
# shellcheck source=vm/common.sh
source "$(dirname "$0")/../vm/common.sh"

FOREIGN_SUITE=trixie

# Run a command on the foreign host: its tree as the root of a mount
# namespace of its own (pivot_root, not chroot: the kernel refuses user
# namespaces, which bubblewrap needs, to a chrooted process), with /proc,
# /sys and /dev; it all goes away with the command.
on_foreign_host() {
	local host=$1
	shift
	# shellcheck disable=SC2016 # (expanded by the inner bash)
	unshare --mount --pid --fork --kill-child -- bash -c '
		set -e
		host=$1
		shift
		mount --make-rprivate /
		mount --bind "$host" "$host"
		mount -t proc proc "$host/proc"
		mount --rbind /sys "$host/sys"
		mount --rbind /dev "$host/dev"
		cd "$host"
		mkdir -p .old-root
		pivot_root . .old-root
		cd /
		umount -l /.old-root
		exec /usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM=dumb \
			PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
			DEBIAN_FRONTEND=noninteractive "$@"' foreign-host "$host" "$@"
}

make_tree() {
	local host=$1
	rm -rf "$host"
	debootstrap --variant=minbase --keyring=/usr/share/keyrings/debian-archive-keyring.gpg \
		"$FOREIGN_SUITE" "$host" "${KMOD_DEBIAN_MIRROR:-http://deb.debian.org/debian}" \
		"$(debootstrap_script "$FOREIGN_SUITE")"
	cp /etc/resolv.conf "$host/etc/resolv.conf"
	on_foreign_host "$host" apt-get update -q
	# (Its headers pull in its kernel: no initramfs for it, nothing boots it.)
	on_foreign_host "$host" INITRD=No apt-get install -y -q --no-install-recommends linux-headers-amd64
	touch "$host/.foreign-ready"
}

main() {
	local host=${1:?usage: foreign_host_tree.sh DIR}
	if [[ $# -ge 2 ]]; then
		# foreign_host_tree.sh DIR --run COMMAND...: run a command there.
		[[ $2 == --run ]] || die "usage: foreign_host_tree.sh DIR [--run COMMAND...]"
		shift 2
		on_foreign_host "$host" "$@"
		return
	fi
	[[ -f $host/.foreign-ready ]] && return 0
	mkdir -p "$(dirname "$host")"
	make_tree "$host" >"$host.log" 2>&1 || {
		tail -n 20 "$host.log" >&2
		die "the $FOREIGN_SUITE tree could not be made (the whole log: $host.log)"
	}
}

main "$@"
