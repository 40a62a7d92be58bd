#!/usr/bin/env bash
# Gradescope runs this once, as root, while it builds the autograder's image
# (an Ubuntu container, no KVM). The grader needs Debian 12's kernel, headers
# and kbuild, so this makes a Debian bookworm tree with debootstrap, installs
# the grader and its packages into it, and builds the grading VM there.
# run_autograder then grades each submission inside that tree (chroot).
#
# Nothing here needs more than Docker's default capabilities: no mount, no
# namespaces (debootstrap's /proc mount may fail; it is not needed).
#
# Environment (for testing it outside Gradescope):
#   KMOD_GS_ROOT    where the Debian tree goes (default /opt/kmod-course-root)
#   KMOD_GS_MIRROR  the Debian mirror (default http://deb.debian.org/debian)
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
[[ -d $HERE/kmod-course ]] || {
	echo "setup.sh: no kmod-course/ next to $0 (unpack the whole autograder zip)" >&2
	exit 1
}
# debootstrap_script (the grader's VM scripts make the VM's tree the same way)
# shellcheck source=vm/common.sh
source "$HERE/kmod-course/vm/common.sh"
ROOT=${KMOD_GS_ROOT:-/opt/kmod-course-root}
MIRROR=${KMOD_GS_MIRROR:-http://deb.debian.org/debian}
SECURITY_MIRROR=${MIRROR%/debian}/debian-security
SUITE=bookworm
GRADER=/opt/kmod-course # the grader's folder inside the tree (root only)

log() {
	printf '[setup %s] %s\n' "$(date +%T)" "$*"
}

die() {
	printf 'setup.sh: %s\n' "$*" >&2
	exit 1
}

# Run a command inside the tree, with a clean environment.
in_tree() {
	chroot "$ROOT" /usr/bin/env -i HOME=/root LANG=C.UTF-8 \
		PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		DEBIAN_FRONTEND=noninteractive "$@"
}

host_tools() {
	command -v debootstrap >/dev/null && command -v gpgv >/dev/null && return 0
	log "installing debootstrap"
	apt-get update -q
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends debootstrap gpgv
}

make_tree() {
	if [[ -x $ROOT/usr/bin/apt-get && -f $ROOT/.kmod-course-tree ]]; then
		log "the Debian tree is already in $ROOT"
		return 0
	fi
	log "making a Debian $SUITE tree in $ROOT (debootstrap)"
	rm -rf "$ROOT"
	mkdir -p "$ROOT"
	# The archive's keys come with the autograder: Ubuntu's keyring may be
	# older than the keys bookworm is signed with.
	debootstrap --variant=minbase --keyring="$HERE/debian-archive-keyring.gpg" \
		"$SUITE" "$ROOT" "$MIRROR" "$(debootstrap_script "$SUITE")" >"$ROOT.debootstrap.log" 2>&1 || {
		tail -n 30 "$ROOT.debootstrap.log" >&2
		die "debootstrap failed (the whole log: $ROOT.debootstrap.log)"
	}
	rm -f "$ROOT.debootstrap.log"
	mkdir -p "$ROOT/usr/share/keyrings"
	cp "$HERE/debian-archive-keyring.gpg" "$ROOT/usr/share/keyrings/debian-archive-keyring.gpg"
	rm -f "$ROOT/etc/apt/sources.list"
	cat >"$ROOT/etc/apt/sources.list.d/debian.sources" <<SOURCES
Types: deb
URIs: $MIRROR
Suites: $SUITE $SUITE-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $SECURITY_MIRROR
Suites: $SUITE-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
	touch "$ROOT/.kmod-course-tree"
}

install_grader() {
	log "installing the grader in $ROOT$GRADER"
	cp /etc/resolv.conf "$ROOT/etc/resolv.conf" 2>/dev/null || true
	rm -rf "$ROOT$GRADER"
	mkdir -p "$ROOT$GRADER"
	cp -R "$HERE/kmod-course/." "$ROOT$GRADER/"
	# Students' builds run as other users inside the tree: the folder of
	# the tests (hidden ones too) and the grader is root's only. (What is
	# inside keeps its modes: the grader copies some of it to the builds.)
	chmod 0700 "$ROOT$GRADER"
	log "installing the grader's Debian packages"
	in_tree bash "$GRADER/scripts/install-deps.sh" --grader-only
}

build_vm() {
	# The VM's root filesystem is made from here, not inside the tree: a
	# debootstrap needs /proc, which the tree has not (no mount allowed).
	log "building the grading VM's root filesystem (debootstrap)"
	KMOD_CACHE=$ROOT/root/.cache/kmod-course KMOD_DEBIAN_MIRROR=$MIRROR \
		KMOD_DEBIAN_KEYRING=$HERE/debian-archive-keyring.gpg \
		bash "$ROOT$GRADER/vm/build-rootfs.sh" >/dev/null
	log "building the grading VM's kernel and initramfs"
	in_tree bash "$GRADER/vm/prepare.sh" | sed 's/^/  /'
	in_tree apt-get clean
}

main() {
	[[ $(id -u) -eq 0 ]] || die "run it as root (Gradescope does)"
	host_tools
	make_tree
	install_grader
	build_vm
	log "ready: run_autograder grades /autograder/submission in $ROOT"
}

main "$@"
