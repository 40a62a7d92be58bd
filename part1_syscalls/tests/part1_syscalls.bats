#!/usr/bin/env bats
# Grading suite of part 1 (system calls and strace). Runs as root inside the
# grading VM. The student's programs run as user nobody in a scratch folder,
# under a time limit and limits on processes and file size, so a fork bomb,
# an endless loop or a flood of output fails a test and harms nothing; and
# with only file descriptors 0-2, in a session of their own (untrusted), so
# they cannot write into the results stream.

load /job/lib/kmod

NOBODY=65534
TIME_LIMIT=10                     # seconds a program may run
MAX_PROCESSES=32                  # processes user nobody may have
MAX_OUTPUT=$((16 * 1024 * 1024))  # bytes a program may write to a file
CHECK="py_check $BATS_TEST_DIRNAME/syscall_check.py"
RUN=/tmp/part1-run
# Fresh traces, made once per VM and program and kept for the tests after
# (root's: the programs run as nobody).
TRACES=/tmp/part1-traces

# shellcheck source=/dev/null
source /job/course.conf
N=${PART1_EXTRA_SYSCALLS:?course.conf sets PART1_EXTRA_SYSCALLS}

# (Programs such as pgrep, mkdir or chmod cost about 0.1 s each under
# emulation: setup and teardown run as few as they can.)

# Says "staged" once the test has staged a program (root's file, written
# with builtins; also from the subshell of $(trace_if_possible ...)).
STAGED_FLAG=/tmp/part1-staged

# part_is_clean: no process of user nobody is left (those found are
# killed). Only a test that staged a program can have started one: those
# of earlier tests were killed after them, or the VM was restarted.
part_is_clean() {
	KMOD_LEFTOVER="processes of the student's program"
	local staged=""
	{ read -r staged <"$STAGED_FLAG"; } 2>/dev/null || true
	[[ -z $staged ]] || kill_leftovers
}

setup() {
	kmod_setup
	: >"$STAGED_FLAG"
	[[ ! -e $RUN ]] || rm -rf "$RUN"
	install -d -o "$NOBODY" -g "$NOBODY" "$RUN"
	[[ -d $TRACES ]] || install -d -m 700 "$TRACES"
}

teardown() {
	kmod_teardown
	rm -rf "$RUN"
}

# stage PROGRAM: copy the built program into the scratch folder.
stage() {
	require_file "$1" || return 1
	echo staged >"$STAGED_FLAG"
	install -o "$NOBODY" -g "$NOBODY" -m 755 "$KMOD_BUILD/$1" "$RUN/$1"
}

require_file() {
	[[ -f $KMOD_BUILD/$1 ]] ||
		fail_because "not run: $1 was not built, so it cannot be run (see the build test)."
}

# The limits a student's program runs under, as a command prefix.
LIMITED=(timeout -k 2 "$TIME_LIMIT" prlimit --nproc="$MAX_PROCESSES" --fsize="$MAX_OUTPUT" --)

# why_it_failed STATUS: the words for a program's exit status. Under
# timeout, 124 is the time limit; 129..192 is death by signal STATUS-128
# (139 SIGSEGV, 134 SIGABRT, 137 SIGKILL after the time limit's TERM,
# 153 SIGXFSZ: the file size limit); anything else is the program's own
# exit status (return -1 from main() is 255).
why_it_failed() {
	case $1 in
	124 | 137) echo "did not finish within $TIME_LIMIT s (an endless loop, or waiting for input?)" ;;
	153) echo "wrote more than $MAX_OUTPUT bytes of output and was stopped" ;;
	139) echo "crashed with a segmentation fault (SIGSEGV)" ;;
	134) echo "aborted (SIGABRT)" ;;
	255) echo "exited with status 255, expected 0 (return -1 from main() gives 255)" ;;
	*) if (($1 > 128 && $1 <= 128 + 64)); then
		echo "was killed by signal $(($1 - 128))"
	else
		echo "exited with status $1, expected 0"
	fi ;;
	esac
}

# kill_leftovers: kill every process of user nobody (a fork bomb keeps
# forking while it is being killed, hence the repeats); fails if some are
# still there after that. LEFTOVERS is set if there were any.
kill_leftovers() {
	local i
	LEFTOVERS=""
	for i in 1 2 3 4 5 6 7 8 9 10; do
		pkill -KILL -u "$NOBODY" 2>/dev/null || return 0
		LEFTOVERS=yes
		sleep 0.2
	done
	return 1
}

# run_ok PROGRAM: runs it as nobody; it must exit 0 in time and leave no
# process behind.
run_ok() {
	stage "$1" || return 1
	local status=0 leftovers=""
	(cd "$RUN" && untrusted "${LIMITED[@]}" setpriv --reuid="$NOBODY" --regid="$NOBODY" --clear-groups \
		"./$1" </dev/null >"$RUN/out" 2>"$RUN/err") || status=$?
	kill_leftovers || true
	[[ -z $LEFTOVERS ]] || leftovers="; it also left processes running (it must not fork)"
	((status == 0)) ||
		fail_because "$1 $(why_it_failed "$status")$leftovers" "stderr: $(head -c 300 "$RUN/err")"
	[[ -z $leftovers ]] || fail_because "$1 exited 0 but left processes running: it must not fork"
}

# fresh_trace PROGRAM: strace it as nobody into $TRACES/PROGRAM.trace, with
# stdin from /dev/null and stdout and stderr into a file, as make traces
# does (where stdout goes changes the calls of a program that prints, so
# the student's count is the grader's). A run that ends with
# exit_group() gives a complete trace whatever its exit status (the run
# tests judge that); a time-out or a death by signal does not. Traced once
# per VM: later tests reuse the trace, or the reason there is none.
fresh_trace() {
	local status=0 why="$TRACES/$1.failed"
	if [[ ! -e $TRACES/$1.done ]]; then
		stage "$1" || return 1
		(cd "$RUN" && untrusted "${LIMITED[@]}" strace -u nobody -o "$TRACES/$1.trace" "./$1" </dev/null >"$RUN/$1.out" 2>&1) ||
			status=$?
		kill_leftovers || true
		if ((status != 0)) && ! $CHECK complete "$TRACES/$1.trace" >/dev/null; then
			echo "running $1 under strace: $1 $(why_it_failed "$status")" >"$why"
		fi
		: >"$TRACES/$1.done"
	fi
	[[ ! -e $why ]] || fail_because "$(cat "$why")"
}

# trace_if_possible PROGRAM: the path of a fresh, complete trace of PROGRAM,
# or "-" when there can be none (it did not build, crashed or hung: other
# tests take those points, and a submitted trace is then judged by its form).
trace_if_possible() {
	if fresh_trace "$1" 2>/dev/null; then
		echo "$TRACES/$1.trace"
	else
		echo -
	fi
}

# check_noting ARGS...: $CHECK ARGS, with its notes for the report
# (lines "@@info ...", which must match part.json's info_forms) passed on.
check_noting() {
	local output status=0
	output=$($CHECK "$@" 2>&1) || status=$?
	printf '%s\n' "$output"
	grep '^@@info ' <<<"$output" >&3 || true
	return "$status"
}

# grade: points=10 visibility=public
@test "empty and part1 build without errors" {
	build_succeeded empty part1
}

# grade: points=5 visibility=public timeout=30
@test "empty runs and exits 0" {
	run_ok empty
}

# grade: points=5 visibility=public timeout=30
@test "part1 runs and exits 0" {
	run_ok part1
}

# grade: points=10 visibility=public timeout=30
@test "empty.c makes no system calls of its own" {
	fresh_trace empty
	fresh_trace kmod_reference_empty
	$CHECK empty-is-empty "$TRACES/empty.trace" "$TRACES/kmod_reference_empty.trace"
}

# grade: points=40 visibility=public timeout=30
@test "part1 makes exactly the required number of extra system calls" {
	fresh_trace empty
	fresh_trace part1
	$CHECK extra "$TRACES/empty.trace" "$TRACES/part1.trace" "$N"
}

# grade: points=10 visibility=public timeout=30
@test "empty.trace is a strace of ./empty" {
	check_noting submitted empty "$KMOD_SRC/empty.trace" "$(trace_if_possible empty)"
}

# grade: points=10 visibility=public timeout=30
@test "part1.trace is a strace of ./part1" {
	check_noting submitted part1 "$KMOD_SRC/part1.trace" "$(trace_if_possible part1)"
}

# grade: points=10 visibility=hidden timeout=30
@test "the submitted traces show the same extra calls as fresh ones" {
	[[ -f $KMOD_SRC/empty.trace && -f $KMOD_SRC/part1.trace ]] ||
		fail_because "not run: empty.trace and part1.trace must both be submitted"
	fresh_trace empty
	fresh_trace part1
	$CHECK consistent "$KMOD_SRC/empty.trace" "$KMOD_SRC/part1.trace" \
		"$TRACES/empty.trace" "$TRACES/part1.trace"
}
