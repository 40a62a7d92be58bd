#!/usr/bin/env bash
# Gradescope runs this once, as root, while it builds the autograder's image
# (an Ubuntu container, no KVM). It makes the course environment (vm/env.sh:
# the pinned Debian tree with the kernel, headers and compiler every grade
# uses) with the same code every other route uses: imported from the course's
# image when course.conf names one (COURSE_IMAGE, shipped in the zip or a
# URL), made with debootstrap otherwise. The grader's own tree is a copy of
# that environment plus qemu and the grader; run_autograder grades each
# submission inside it (chroot), and each build chroots once more, into the
# environment itself.
#
# Nothing here needs more than Docker's default capabilities: no mount, no
# namespaces (debootstrap's /proc mount may fail; it is not needed).
#
# Environment (for testing it outside Gradescope):
#   KMOD_GS_ROOT    where the grader's tree goes (default /opt/kmod-course-root)
#   KMOD_GS_MIRROR  the Debian mirror (default http://deb.debian.org/debian)
#   KMOD_GS_IMAGE   a course environment image to import first (make image)
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
GRADER=/opt/kmod-course # the grader's folder inside the tree (root only)
CACHE=/var/cache/kmod-course # the course environment, inside the tree (vm/common.sh's default for root)

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
	command -v debootstrap >/dev/null && command -v zstd >/dev/null && return 0
	log "installing debootstrap and zstd"
	apt-get update -q
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends debootstrap zstd
}

# vm/env.sh, as the grader in the tree will find it, but run from here
# (a debootstrap needs /proc, which the tree has not).
course_env() {
	KMOD_CACHE=$ROOT.cache KMOD_DEBIAN_MIRROR=$MIRROR \
		KMOD_DEBIAN_KEYRING=$HERE/debian-archive-keyring.gpg \
		bash "$HERE/kmod-course/vm/env.sh" "$@"
}

make_tree() {
	if [[ -x $ROOT/usr/bin/apt-get && -f $ROOT/.kmod-course-tree ]]; then
		log "the grader's tree is already in $ROOT"
		return 0
	fi
	if [[ -n ${KMOD_GS_IMAGE:-} ]]; then
		log "importing the course environment $KMOD_GS_IMAGE"
		course_env import "$KMOD_GS_IMAGE" >/dev/null
	fi
	local env
	env=$(course_env dir) || die "the course environment could not be made"
	log "the course environment:"
	course_env show | sed 's/^/  /'
	log "making the grader's tree in $ROOT (a copy of the environment's)"
	rm -rf "$ROOT"
	mkdir -p "$ROOT"
	cp -a "$env/root/." "$ROOT/"
	mkdir -p "$ROOT$(dirname "$CACHE")"
	rm -rf "$ROOT$CACHE"
	mv "$ROOT.cache" "$ROOT$CACHE"
	touch "$ROOT/.kmod-course-tree"
}

install_grader() {
	log "installing the grader in $ROOT$GRADER"
	cp /etc/resolv.conf "$ROOT/etc/resolv.conf" 2>/dev/null || true
	rm -rf "$ROOT$GRADER"
	mkdir -p "$ROOT$GRADER"
	cp -R "$HERE/kmod-course/." "$ROOT$GRADER/"
	# Nothing of the grader is inside the course environment, the only
	# tree a build sees; the folder is root's only all the same.
	chmod 0700 "$ROOT$GRADER"
	log "installing the grader's Debian packages"
	in_tree bash "$GRADER/scripts/install-deps.sh" --grader-only
}

build_vm() {
	log "building the grading VM's initramfs"
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
