#!/usr/bin/env bash
# Compile one part of a submission, sandboxed, as an unprivileged user with
# limits on time, processes and file size, and a build folder of bounded
# size: a build cannot fill the disk, fork-bomb the grader or read the
# grader's files. Two routes, chosen by KMOD_BUILD_SANDBOX:
#
#   bwrap      (default) a bubblewrap sandbox: no network, no namespace shared
#              with the host, a read-only view of the build root's /usr and
#              /etc only (not the grader's folders, not other submissions),
#              the build folder a size-limited tmpfs.
#   container  for a disposable container that allows no namespaces (Docker's
#              default seccomp profile, as on Gradescope): a build user of its
#              own (a uid no other process has, so the process limit and the
#              final kill of all its processes touch nothing else), the build
#              folder watched for size, chroot into the build root (the
#              grader's folders are outside it). One submission per
#              container: the network stays usable. Needs root.
#
# KMOD_BUILD_ROOT (required) is the tree the build sees as /: the course
# environment's (vm/env.sh), so the compiler and kbuild are the course's and
# never the host's. "/" builds with the host's own (the unit tests do).
#
# usage: sandbox-build.sh SRC_DIR BUILD_PATH TIMEOUT_SECONDS OUTPUTS COMMAND...
#   SRC_DIR     the sources (read-only to the build, copied into BUILD_PATH)
#   BUILD_PATH  where the build happens (kbuild's M=)
#   OUTPUTS     space-separated names of the files the build should make
#   COMMAND     each a shell command line, run in order in BUILD_PATH
# The build log goes to stdout; a tar of the OUTPUTS that exist goes to
# file descriptor 3, or to $OUTPUT_FD when set (grader/build.py reads both
# with size caps). Exit status: the first failing command's (124 on time-out).
# For a kernel module the command is `make -C KDIR M=BUILD_PATH modules`
# (kbuild itself: the student Makefile's `all:` and any hard-coded `uname -r`
# are never used); KDIR is a path inside the build root, below /usr
# (Debian's /usr/src/linux-headers-*).
set -euo pipefail

NOBODY=65534
FILE_SIZE_LIMIT=$((64 * 1024 * 1024)) # bytes, any single file the build writes
PROCESS_LIMIT=256                     # processes of the build user: no fork bomb
FOLDER_LIMIT=$((256 * 1024 * 1024))   # bytes, the whole build folder
# The container route's build users: uids no account and no other process
# has, one per build running at the same time (claimed with a lock).
FIRST_BUILD_UID=61000
BUILD_UIDS=64
LOCK_DIR=/run/kmod-course-build
BUILD_ROOT="" # set by main from KMOD_BUILD_ROOT

# Runs as the build user: copy the sources in, run the commands (without
# fd 3), then send the outputs back over fd 3.
# shellcheck disable=SC2016
INNER='
set -u
src=$1 build=$2 outputs=$3
shift 3
cp -R "$src"/. "$build"/ || exit 1
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

die() {
	printf 'sandbox-build: %s\n' "$*" >&2
	exit 2
}

# The limits, as a command prefix (both routes).
LIMITS=(prlimit --fsize="$FILE_SIZE_LIMIT" --nproc="$PROCESS_LIMIT" --)

bwrap_build() {
	local src=$1 build=$2 limit=$3 outputs=$4
	shift 4
	local -a drop=()
	if [[ $(id -u) -eq 0 ]]; then
		drop=(setpriv --reuid="$NOBODY" --regid="$NOBODY" --clear-groups --)
		"${drop[@]}" test -x "$BUILD_ROOT/usr/bin" ||
			die "the build user (nobody) cannot enter $BUILD_ROOT: keep the course environment where every user can read it (KMOD_CACHE)"
	fi
	local -a sandbox=(
		bwrap --unshare-all --die-with-parent --new-session
		--ro-bind "$BUILD_ROOT/usr" /usr --ro-bind "$BUILD_ROOT/etc" /etc
		--symlink usr/bin /bin --symlink usr/sbin /sbin
		--symlink usr/lib /lib --symlink usr/lib64 /lib64
		--proc /proc --dev /dev --tmpfs /tmp
		--ro-bind "$src" /kmod-src
		--size "$FOLDER_LIMIT" --perms 0755 --tmpfs "$build"
		--chdir / --setenv HOME "$build" --setenv PATH /usr/bin:/bin
		--
	)
	timeout -k 5 "$limit" "${drop[@]}" "${LIMITS[@]}" \
		"${sandbox[@]}" sh -c "$INNER" sandbox-build /kmod-src "$build" "$outputs" "$@"
}

# --- container route ---------------------------------------------------

build_uid=""
lock_fd=""
watcher=""
wake_fd=""

# Claim a build uid nobody else is using (the lock is held until exit).
claim_build_uid() {
	local uid
	mkdir -p "$LOCK_DIR"
	chmod 0700 "$LOCK_DIR"
	for ((uid = FIRST_BUILD_UID; uid < FIRST_BUILD_UID + BUILD_UIDS; uid++)); do
		exec {lock_fd}>"$LOCK_DIR/$uid.lock"
		if flock -n "$lock_fd"; then
			build_uid=$uid
			return 0
		fi
		exec {lock_fd}>&-
	done
	die "all $BUILD_UIDS build users are busy"
}

as_build_user() {
	setpriv --reuid="$build_uid" --regid="$build_uid" --clear-groups -- "$@"
}

# Kill every process of the build user: what the build left running in the
# background. kill -1 reaches all of the caller's uid but the caller (its
# status says nothing: it is 0 whenever any process exists); a second and
# third pass catch a child forked while the first went by.
kill_build_user() {
	local pass
	for pass in 1 2 3; do
		as_build_user sh -c 'kill -KILL -1' 2>/dev/null || true
		[[ $pass -eq 3 ]] || sleep 0.05
	done
}

# Stop the build when its folder grows past FOLDER_LIMIT (and say so in
# the log and in the file full_mark). Looks every 0.2 s until a line comes
# on wake_fd; it sleeps in `read -t`, so stopping it leaves no child behind.
watch_folder_size() {
	local build=$1 full_mark=$2 wake_fd=$3 used
	while ! read -r -t 0.2 -u "$wake_fd" _; do
		used=$(du -s -B1 "$build" 2>/dev/null | cut -f1) || continue
		if [[ ${used:-0} -gt $FOLDER_LIMIT ]]; then
			printf '\nThe build folder grew past %d MB; the build was stopped.\n' \
				$((FOLDER_LIMIT / 1024 / 1024))
			: >"$full_mark"
			kill_build_user
			return
		fi
	done
}

stop_watcher() {
	if [[ -n $watcher ]]; then
		echo stop >&"$wake_fd"
		wait "$watcher" 2>/dev/null || true
		watcher=""
		exec {wake_fd}>&-
	fi
}

container_cleanup() {
	stop_watcher
	if [[ -n $build_uid ]]; then
		kill_build_user
	fi
}

container_build() {
	local src=$1 build=$2 limit=$3 outputs=$4
	shift 4
	[[ $(id -u) -eq 0 ]] || die "the container route runs as root (it builds as a user of its own)"
	claim_build_uid
	trap container_cleanup EXIT
	kill_build_user
	# The build folder and a copy of the sources, where the chrooted build
	# sees them (the same paths when the build root is /).
	local root=${BUILD_ROOT%/} inner_src=$src
	local host_build=$root$build
	if [[ -n $root ]]; then
		inner_src=/tmp/kmod-src.$build_uid
		rm -rf "${root:?}$inner_src"
		mkdir -p "$root/tmp"
		cp -R "$src" "$root$inner_src"
		chmod -R a+rX,go-w "$root$inner_src"
	fi
	rm -rf "$host_build"
	mkdir -p "$(dirname "$host_build")"
	mkdir -m 0700 "$host_build"
	chown "$build_uid:$build_uid" "$host_build"
	local full_mark=$LOCK_DIR/$build_uid.full wake=$LOCK_DIR/$build_uid.wake
	rm -f "$full_mark" "$wake"
	mkfifo "$wake" # (no -m: it needs /proc, which the Gradescope tree has not)
	exec {wake_fd}<>"$wake" # read-write: opening does not wait for a writer
	rm -f "$wake"
	watch_folder_size "$host_build" "$full_mark" "$wake_fd" &
	watcher=$!
	local status=0 log_fd
	# (The braces keep bash's "Killed" notice out of the build log.)
	exec {log_fd}>&2
	{
		timeout -k 5 "$limit" chroot "$BUILD_ROOT" \
			setpriv --reuid="$build_uid" --regid="$build_uid" --clear-groups -- \
			"${LIMITS[@]}" env -i HOME="$build" PATH=/usr/bin:/bin LANG=C.UTF-8 \
			sh -c "$INNER" sandbox-build "$inner_src" "$build" "$outputs" "$@" \
			2>&"$log_fd" {lock_fd}>&- {log_fd}>&- {wake_fd}>&- || status=$?
	} 2>/dev/null
	exec {log_fd}>&-
	container_cleanup
	build_uid=""
	# A full folder is a failed build, not a time-out.
	if [[ -e $full_mark ]]; then
		status=1
		rm -f "$full_mark"
	fi
	# Leave the folder empty and the grader's, as the tmpfs of the bwrap
	# route leaves it: only the outputs sent over fd 3 come back. Nothing
	# of the build stays in the build root.
	rm -rf "$host_build"
	[[ -z $root ]] || rm -rf "${root:?}$inner_src"
	mkdir -p "$build"
	chmod 0755 "$build"
	return "$status"
}

main() {
	[[ $# -ge 5 ]] || {
		echo "usage: $0 SRC_DIR BUILD_PATH TIMEOUT_SECONDS OUTPUTS COMMAND..." >&2
		exit 2
	}
	local src=$1
	shift
	if [[ -n ${OUTPUT_FD:-} && $OUTPUT_FD != 3 ]]; then
		exec 3>&"$OUTPUT_FD"
		eval "exec $OUTPUT_FD>&-"
	fi
	src=$(realpath "$src")
	[[ -n ${KMOD_BUILD_ROOT:-} ]] || die "KMOD_BUILD_ROOT is not set (the course environment's tree, from vm/prepare.sh)"
	BUILD_ROOT=$(realpath "$KMOD_BUILD_ROOT")
	[[ -d $BUILD_ROOT/usr && -d $BUILD_ROOT/etc ]] || die "KMOD_BUILD_ROOT=$KMOD_BUILD_ROOT is not a system tree (no usr/ and etc/)"
	case ${KMOD_BUILD_SANDBOX:-bwrap} in
	bwrap) bwrap_build "$src" "$@" ;;
	container) container_build "$src" "$@" ;;
	*) die "KMOD_BUILD_SANDBOX is bwrap or container, not ${KMOD_BUILD_SANDBOX}" ;;
	esac
}

main "$@"
