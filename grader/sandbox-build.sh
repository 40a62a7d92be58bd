#!/usr/bin/env bash
# Compile one part of a submission on the host, inside a bubblewrap sandbox:
# no network, no other namespaces shared, a read-only view of /usr and /etc
# only (not the grader's folders, not other submissions), the build folder
# the only writable place, an unprivileged user, and a time limit.
#
# usage: sandbox-build.sh BUILD_DIR TIMEOUT_SECONDS COMMAND [ARG...]
# Runs COMMAND in BUILD_DIR. For a kernel module the grader passes
# `make -C KDIR M=BUILD_DIR modules` (kbuild itself, so the student Makefile's
# `all:` target and any hard-coded `uname -r` are never used: only its obj-m
# lines are read); KDIR must be below /usr (Debian's /usr/src/linux-headers-*).
# Output goes to stdout/stderr; the exit status is COMMAND's (124 on time-out).
set -euo pipefail

NOBODY=65534
FILE_SIZE_LIMIT=$((64 * 1024 * 1024)) # bytes, any single file the build writes
PROCESS_LIMIT=256                     # processes of the build user, so no fork bomb

main() {
	[[ $# -ge 3 ]] || {
		echo "usage: $0 BUILD_DIR TIMEOUT_SECONDS COMMAND [ARG...]" >&2
		exit 2
	}
	local build limit
	build=$(realpath "$1")
	limit=$2
	shift 2
	local -a drop=()
	if [[ $(id -u) -eq 0 ]]; then
		chown -R "$NOBODY:$NOBODY" "$build"
		drop=(setpriv --reuid="$NOBODY" --regid="$NOBODY" --clear-groups --)
	fi
	local -a sandbox=(
		bwrap --unshare-all --die-with-parent --new-session
		--ro-bind /usr /usr --ro-bind /etc /etc
		--symlink usr/bin /bin --symlink usr/sbin /sbin
		--symlink usr/lib /lib --symlink usr/lib64 /lib64
		--proc /proc --dev /dev --tmpfs /tmp
		--bind "$build" "$build" --chdir "$build"
		--setenv HOME "$build" --setenv PATH /usr/bin:/bin
		--
	)
	timeout -k 5 "$limit" "${drop[@]}" prlimit --fsize="$FILE_SIZE_LIMIT" --nproc="$PROCESS_LIMIT" -- \
		"${sandbox[@]}" "$@"
}

main "$@"
