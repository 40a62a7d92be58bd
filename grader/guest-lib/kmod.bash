# shellcheck shell=bash
# Helpers shared by every grading suite; runs inside the grading VM as root.
# A suite starts with:   load /job/lib/kmod
#
# Conventions:
# - Each test leaves the kernel as it found it: kmod_teardown unloads the
#   part's modules and asks the suite's part_is_clean (if defined) whether
#   anything was left behind. If so, the next test starts in a fresh VM
#   (the host boots one), so one test's mess never costs another test points.
# - Failure messages say what was expected and what happened, in words a
#   student can act on: use fail_because.

#bats_load_library bats-support
#bats_load_library bats-assert

KMOD_BUILD=${KMOD_BUILD:-/job/build} # what the sandboxed build produced
KMOD_SRC=${KMOD_SRC:-/job/src}       # the part's files as submitted
KMOD_DIRTY_FLAG=/tmp/kmod-dirty

# fail_because LINE...: print the lines (the student sees them) and fail.
fail_because() {
	printf '%s\n' "$@" >&2
	return 1
}

# kernel_log_excerpt: the newest few kernel-log lines, each cut short: what a
# failure message may quote of the log (a module's own messages reach what
# students see only this far; the whole log is in the TA's logs).
kernel_log_excerpt() {
	dmesg | tail -n 5 | cut -c 1-160
}

# untrusted COMMAND...: run a student's program (or a tool that runs one,
# such as strace) with only file descriptors 0-2 open, in a session of its
# own: it cannot write into bats' results stream (fd 3) or any other
# descriptor of the suite. Keep its output on files or /dev/null. COMMAND is
# a program, not a shell function.
untrusted() {
	(
		for fd in /proc/self/fd/*; do
			fd=${fd##*/}
			((fd > 2)) && eval "exec $fd>&-"
		done 2>/dev/null
		exec setsid --wait "$@"
	)
}

# --- the suites' Python checkers ------------------------------------------

KMOD_LIB=${BASH_SOURCE[0]%/*}        # this folder (/job/lib)
PY_CHECK_DIR=${PY_CHECK_DIR:-/run/kmod-checker}

# py_check SCRIPT ARGS...: what `python3 SCRIPT ARGS...` does (the same
# output on the same stdout and stderr, the same exit status), run in a fork
# of the round's checker server (checker_server.py beside this file), which
# the round's first check starts. A check then costs a fork instead of an
# interpreter start. Without a server, python3 runs the script itself;
# never after the server took the check (it may have run, side effects and
# all: a second run would be judged on what the first left).
py_check() {
	local reply=run-here
	if py_check_server; then
		py_check_ask "$@"
		[[ $reply =~ ^[0-9]+$ ]] && return "$reply"
		if [[ $reply != run-here ]]; then
			echo "the grader's checker server went away during the check ($1)" >&2
			return 1
		fi
	fi
	python3 "$@"
}

# py_check_server: the checker server runs (started now if it never ran).
py_check_server() {
	local pid ready reply=""
	if { read -r pid <"$PY_CHECK_DIR/pid"; } 2>/dev/null && kill -0 "$pid" 2>/dev/null; then
		return 0
	fi
	# One per round: a server that went away is not started again.
	[[ -e $PY_CHECK_DIR ]] && return 1
	# A pipe of this shell's own, which the server opens through /proc to
	# say it is ready.
	py_check_pipe
	ready=/proc/$BASHPID/fd/$PY_CHECK_PIPE # (expanded here: in "cmd &", in the child)
	python3 "$KMOD_LIB/checker_server.py" "$PY_CHECK_DIR" "$ready" </dev/null >/dev/null 2>&1 &
	local server=$!
	ready=$PY_CHECK_PIPE
	py_check_answer "$ready" "$server" 30
	exec {ready}<&-
	[[ $reply == ready ]]
}

# py_check_pipe: open a pipe both ways on a new fd, its number in
# $PY_CHECK_PIPE (read and write ends on one fd: it never reads as
# end-of-file). The process substitution forks once and runs no program;
# bash hands over its pipe's read end, reopened here through /proc for
# both ends.
py_check_pipe() {
	local end
	exec {end}< <(:)
	exec {PY_CHECK_PIPE}<>"/proc/$BASHPID/fd/$end"
	exec {end}<&-
}

# py_check_ask SCRIPT ARGS...: have the server run the check with this
# shell's stdin, stdout and stderr; its answer in the caller's $reply (an exit
# status, or "run-here" if the server did not take it; anything else if the
# server went away after the request). Builtins only.
# The server opens copies of fds 0-2 made first: a redirection such as
# ">&$fd" on a builtin moves fd 1 itself while the builtin runs.
py_check_ask() {
	local id=$BASHPID-$RANDOM$RANDOM pid answer name names=() in out err
	reply=run-here
	{ read -r pid <"$PY_CHECK_DIR/pid"; } 2>/dev/null || return 0
	printf '%s\0' "$PWD" "$@" >"$PY_CHECK_DIR/$id.req"
	compgen -e >"$PY_CHECK_DIR/$id.env"
	mapfile -t names <"$PY_CHECK_DIR/$id.env"
	for name in "${names[@]}"; do
		if [[ -v $name ]]; then
			printf '%s=%s\0' "$name" "${!name}"
		fi
	done >"$PY_CHECK_DIR/$id.env"
	py_check_pipe
	answer=$PY_CHECK_PIPE
	exec {in}<&0 {out}>&1 {err}>&2
	# Read-write: the open never waits, even for a server that is gone.
	printf '%s %s %s %s %s %s\n' "$id" "$BASHPID" "$in" "$out" "$err" "$answer" \
		1<>"$PY_CHECK_DIR/requests"
	py_check_answer "$answer" "$pid"
	# A server that went away before it took the request (it removes the
	# request's files first) has not run the check.
	if [[ ! $reply =~ ^[0-9]+$ && -e $PY_CHECK_DIR/$id.req ]]; then
		reply=run-here
	fi
	exec {answer}<&- {in}<&- {out}>&- {err}>&-
	return 0
}

# py_check_answer FD PID [SECONDS]: the line the server PID writes on FD,
# into the caller's $reply (what arrived of it if PID went away first, or
# SECONDS went by; no limit without SECONDS). bash reads a pipe a byte at a
# time, and a read that times out keeps what it had read: a line may come
# in parts, each kept.
py_check_answer() {
	local part="" waited=0
	reply=""
	while :; do
		if read -t 1 -r -u "$1" part; then
			reply+=$part
			return 0
		fi
		reply+=$part
		part=""
		kill -0 "$2" 2>/dev/null || return 0
		waited=$((waited + 1))
		[[ -z ${3:-} ]] || ((waited < $3)) || return 0
	done
}

# run_bounded VAR SECONDS COMMAND...: timeout(1) with builtins only: run the
# program COMMAND for at most SECONDS, its stdout and stderr into VAR
# (trailing newlines dropped, as $(...) drops them); returns its exit
# status, or 124 when it ran out of time and was killed. COMMAND writes into
# a pipe that reads as end-of-file the moment it exits, so the read waits as
# long as the command and no longer; one that runs out of time is killed,
# and VAR ends with a line that says so. (An exec of timeout(1) costs about
# 0.1 s under emulation, and every insmod and rmmod is bounded.) As with
# timeout(1), a command stuck in the kernel cannot be ended. Unlike it, the
# wait also lasts while a child of COMMAND keeps its output open, and starts
# anew after each NUL byte of output (insmod and rmmod start no children and
# print text).
run_bounded() {
	local -n kmod_output=$1
	local kmod_seconds=$2 kmod_fd kmod_pid kmod_chunk="" kmod_read=0 kmod_status=0
	shift 2
	kmod_output=""
	exec {kmod_fd}< <(exec "$@" 2>&1)
	kmod_pid=$!
	# Read to end-of-file (read -d '' stops at each NUL byte: those are dropped).
	while :; do
		IFS= read -r -d '' -t "$kmod_seconds" -u "$kmod_fd" kmod_chunk || {
			kmod_read=$?
			break
		}
		kmod_output+=$kmod_chunk
	done
	kmod_output+=$kmod_chunk
	exec {kmod_fd}<&-
	while [[ $kmod_output == *$'\n' ]]; do
		kmod_output=${kmod_output%$'\n'}
	done
	if ((kmod_read > 128)); then
		kill -KILL "$kmod_pid" 2>/dev/null || true
		wait "$kmod_pid" 2>/dev/null || true
		kmod_output+="${kmod_output:+$'\n'}(no answer within $kmod_seconds s: killed)"
		return 124
	fi
	wait "$kmod_pid" || kmod_status=$?
	return "$kmod_status"
}

# is_loaded MODULE: MODULE is in /proc/modules (read with builtins: a grep
# costs about 0.1 s under emulation, and every load and unload asks).
is_loaded() {
	local name rest
	while read -r name rest; do
		[[ $name == "$1" ]] && return 0
	done </proc/modules
	return 1
}

# kmod_setup: call from setup(). Restarts in a fresh VM when an earlier test
# left the kernel dirty.
kmod_setup() {
	if [[ -e $KMOD_DIRTY_FLAG ]]; then
		# fd 3 is bats' own output, which the guest agent relays to the
		# host; once it has sent this line, the agent powers the VM off.
		echo "@@restart $(head -n 1 "$KMOD_DIRTY_FLAG")" >&3
		sleep 10
		sync
		echo o >/proc/sysrq-trigger
		sleep 60
	fi
}

# kmod_teardown [MODULE...]: call from teardown(). The flag's line starts
# with the test's title in quotes: the host takes a restart for the suite's
# only if it names the test reported last (grader/tap.py: restart_is_forged).
kmod_teardown() {
	local mod out
	for mod in "$@"; do
		if is_loaded "$mod" && ! run_bounded out 20 rmmod "$mod"; then
			echo "'$BATS_TEST_DESCRIPTION' could not unload $mod" >"$KMOD_DIRTY_FLAG"
		fi
	done
	if declare -F part_is_clean >/dev/null && ! part_is_clean; then
		echo "'$BATS_TEST_DESCRIPTION' left ${KMOD_LEFTOVER:-something} behind" >"$KMOD_DIRTY_FLAG"
	fi
	return 0
}

# require_built MODULE: fail (test not run) unless MODULE.ko was built.
require_built() {
	[[ -f $KMOD_BUILD/$1.ko ]] ||
		fail_because "not run: $1.ko was not built, so it cannot be tested (see the build test)."
}

# build_succeeded FILE...: the check of a part's build test: the build
# exited 0 and produced every FILE (e.g. my_timer.ko). Prints the compiler's
# errors otherwise. The host read the build log (grader/build.py:
# write_for_guest): build.status, build.warnings (a count) and build.errors
# (its error lines) are beside the outputs.
build_succeeded() {
	local status file missing=()
	status=$(cat "$KMOD_BUILD/build.status" 2>/dev/null || echo missing)
	for file in "$@"; do
		[[ -f $KMOD_BUILD/$file ]] || missing+=("$file")
	done
	if [[ $status == 0 && ${#missing[@]} -eq 0 ]]; then
		echo "built $* ($(cat "$KMOD_BUILD/build.warnings" 2>/dev/null || echo 0) compiler warning(s))"
		return 0
	fi
	if [[ $status == 0 ]]; then
		local hint=""
		[[ ${missing[0]} == *.ko ]] && hint=" (does the Makefile say obj-m += ${missing[0]%.ko}.o?)"
		fail_because "the build finished but produced no ${missing[*]}$hint"
		return 1
	fi
	local errors
	errors=$(cat "$KMOD_BUILD/build.errors" 2>/dev/null || true)
	fail_because "${missing[*]:-the build} failed (exit status $status). The compiler said:" \
		"${errors:-(no error lines found; see the build log)}"
}

# load_module MODULE [PARAM=VALUE...]: insmod, with dmesg on failure.
load_module() {
	local mod=$1
	shift
	require_built "$mod" || return 1
	local out
	if ! run_bounded out 30 insmod "$KMOD_BUILD/$mod.ko" "$@"; then
		fail_because "insmod $mod.ko failed: $out" \
			"Kernel log (newest lines):" "$(kernel_log_excerpt)"
		return 1
	fi
	is_loaded "$mod" ||
		fail_because "insmod $mod.ko returned success but $mod is not in /proc/modules"
}

# unload_module MODULE: rmmod, with dmesg on failure.
unload_module() {
	local out
	if ! run_bounded out 20 rmmod "$1"; then
		fail_because "rmmod $1 failed: $out" "Kernel log (newest lines):" "$(kernel_log_excerpt)"
		return 1
	fi
	! is_loaded "$1" || fail_because "rmmod $1 returned success but $1 is still loaded"
}

# More kernel log messages than this since boot is a flood (booting
# and a whole part-2 run write about 400; a well-behaved module a few per load).
KMOD_LOG_FLOOD=${KMOD_LOG_FLOOD:-5000}

# kernel_log_records: how many messages the kernel has logged since boot
# (kernel_log_records.py beside this file).
kernel_log_records() {
	py_check "$KMOD_LIB/kernel_log_records.py"
}

# kernel_log_is_clean: no oops, BUG, WARNING or lockup in dmesg, no flood,
# and no taint flag other than O (out-of-tree module) and E (unsigned module).
kernel_log_is_clean() {
	local bad tainted records
	bad=$(dmesg | grep -E '\] (.*BUG:|Oops:|WARNING:|general protection fault|Call Trace:|watchdog: |INFO: task .* blocked for more than|list_(add|del) corruption|kernel BUG at)' | head -n 20)
	records=$(kernel_log_records)
	if ((records > KMOD_LOG_FLOOD)); then
		bad+=$'\n'"the kernel log was flooded: $records messages since the VM booted (a whole part-2 run writes about 400): log only what helps"
	fi
	tainted=$(cat /proc/sys/kernel/tainted)
	# 4096 = O (out-of-tree), 8192 = E (unsigned): every student module sets them.
	if ((tainted & ~(4096 | 8192))); then
		bad+=$'\n'"the kernel is tainted ($tainted): see https://docs.kernel.org/admin-guide/tainted-kernels.html"
	fi
	[[ -z $bad ]] || fail_because "the kernel log shows problems:" "$bad"
}
