#!/usr/bin/env bash
# Compile one part of a submission on the host, inside a bubblewrap sandbox:
# no network, no namespace shared with the host, a read-only view of /usr and
# /etc only (not the grader's folders, not other submissions), an
# unprivileged user, limits on time, processes and file size, and a build
# folder that is a size-limited tmpfs: a build cannot fill the host's disk.
#
# usage: sandbox-build.sh SRC_DIR BUILD_PATH TIMEOUT_SECONDS OUTPUTS COMMAND...
#   SRC_DIR     the sources (bound read-only, copied into the tmpfs)
#   BUILD_PATH  where the build happens inside the sandbox (kbuild's M=)
#   OUTPUTS     space-separated names of the files the build should make
#   COMMAND     each a shell command line, run in order in BUILD_PATH
# The build log goes to stdout; a tar of the OUTPUTS that exist goes to
# file descriptor 3, or to $OUTPUT_FD when set (grader/build.py reads both
# with size caps). Exit status: the first failing command's (124 on time-out).
# For a kernel module the command is `make -C KDIR M=BUILD_PATH modules`
# (kbuild itself: the student Makefile's `all:` and any hard-coded `uname -r`
# are never used); KDIR must be below /usr (Debian's /usr/src/linux-headers-*).
set -euo pipefail

NOBODY=65534
FILE_SIZE_LIMIT=$((64 * 1024 * 1024)) # bytes, any single file the build writes
PROCESS_LIMIT=256                     # processes of the build user: no fork bomb
TMPFS_SIZE=$((256 * 1024 * 1024))     # bytes, the whole build folder

# Runs inside the sandbox: copy the sources in, run the commands (without
# fd 3), then send the outputs back over fd 3.
# shellcheck disable=SC2016
INNER='
set -u
build=$1 outputs=$2
shift 2
cp -R /kmod-src/. "$build"/ || exit 1
cd "$build" || exit 1
status=0
for cmd in "$@"; do
	printf "$ %s\n" "$cmd"
	sh -c "$cmd" 3>&- || { s=$?; [ "$status" -ne 0 ] || status=$s; }
done
present=""
for f in $outputs; do
	[ -f "$f" ] && present="$present $f"
done
# shellcheck disable=SC2086
tar -cf - $present >&3 2>/dev/null
exit "$status"
'

main() {
	[[ $# -ge 5 ]] || {
		echo "usage: $0 SRC_DIR BUILD_PATH TIMEOUT_SECONDS OUTPUTS COMMAND..." >&2
		exit 2
	}
	local src=$1 build=$2 limit=$3 outputs=$4
	shift 4
	if [[ -n ${OUTPUT_FD:-} && $OUTPUT_FD != 3 ]]; then
		exec 3>&"$OUTPUT_FD"
		eval "exec $OUTPUT_FD>&-"
	fi
	src=$(realpath "$src")
	local -a drop=()
	if [[ $(id -u) -eq 0 ]]; then
		drop=(setpriv --reuid="$NOBODY" --regid="$NOBODY" --clear-groups --)
	fi
	local -a sandbox=(
		bwrap --unshare-all --die-with-parent --new-session
		--ro-bind /usr /usr --ro-bind /etc /etc
		--symlink usr/bin /bin --symlink usr/sbin /sbin
		--symlink usr/lib /lib --symlink usr/lib64 /lib64
		--proc /proc --dev /dev --tmpfs /tmp
		--ro-bind "$src" /kmod-src
		--size "$TMPFS_SIZE" --perms 0755 --tmpfs "$build"
		--chdir / --setenv HOME "$build" --setenv PATH /usr/bin:/bin
		--
	)
	timeout -k 5 "$limit" "${drop[@]}" prlimit --fsize="$FILE_SIZE_LIMIT" --nproc="$PROCESS_LIMIT" -- \
		"${sandbox[@]}" sh -c "$INNER" sandbox-build "$build" "$outputs" "$@"
}

main "$@"
