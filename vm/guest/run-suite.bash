#!/usr/bin/env bash
# Runs a bats grading suite and prints what `bats --tap --timing` prints for
# it: the plan, "ok N TITLE in Xms" or "not ok N TITLE in Xms" per test,
# then, for a failed test, "# " lines with the failed command and the
# test's output. The guest agent runs the suites with it instead of bats.
#
# Why not bats itself: in the emulated VM, bats 1.8 spends about 0.8 s of
# process creation on every test (a new bats-exec-test shell, temporary
# folders, four `date` calls) plus a debug trap on every command; a part-3
# round is 20 tests. This runner forks once per test and uses bash's own
# clock (docs/measurements.md has the numbers).
#
# It keeps what the suites rely on, with bats' semantics:
# - each test runs in a process of its own with `set -eET`, after the suite
#   file was sourced in it (so top-level code runs once per test, as in
#   bats); setup runs at the start of the test, teardown after it however
#   it ended, and a teardown that fails fails the test;
# - fd 3 is the TAP stream, stdout and stderr go to the test's output,
#   which is printed only when the test fails;
# - run, skip, load, BATS_TEST_FILENAME, BATS_TEST_DIRNAME,
#   BATS_TEST_DESCRIPTION, BATS_TEST_NUMBER, BATS_TMPDIR;
# - --filter REGEX (an ERE) selects tests by title; they are numbered 1..N
#   in file order; the exit status is 1 if a test failed, else 0.
# Not kept (no suite uses them): setup_file, teardown_file, retries, tags,
# --separate-stderr, per-test timeouts (the host's watchdog stops a test
# that runs too long). tests/test_run_suite.py compares it with bats.
#
# usage: run-suite.bash [--filter REGEX] SUITE.bats
set -euo pipefail

# The @test line, as bats' preprocessor matches it.
TEST_LINE='^[[:blank:]]*@test[[:blank:]]+(.*[^[:blank:]])[[:blank:]]+\{(.*)$'

TITLES=()    # the selected tests' titles, in file order
FUNCTIONS=() # and the functions they became

# preprocess SUITE OUT: write SUITE with every "@test TITLE {" line turned
# into a function definition (on the same line, so line numbers stay), and
# select the tests whose title matches FILTER.
preprocess() {
	local line title body n=0
	while IFS= read -r line || [[ -n $line ]]; do
		line=${line//$'\r'/}
		if [[ $line =~ $TEST_LINE ]]; then
			title=${BASH_REMATCH[1]#[\'\"]}
			title=${title%[\'\"]}
			body=${BASH_REMATCH[2]}
			n=$((n + 1))
			printf 'bats_test_%d() { bats_test_begin "%s"; %s\n' "$n" "$title" "$body"
			if [[ -z $FILTER || $title =~ $FILTER ]]; then
				TITLES+=("$title")
				FUNCTIONS+=("bats_test_$n")
			fi
		else
			printf '%s\n' "$line"
		fi
	done <"$1" >"$2"
}

# now_us: microseconds since the epoch, from bash's clock (no process).
now_us() {
	local t=${EPOCHREALTIME/[.,]/}
	printf '%s' "$t"
}

# --- what a test sees (bats' test functions) ---------------------------

setup() { :; }
teardown() { :; }

bats_test_begin() {
	BATS_TEST_DESCRIPTION=$1
	setup
}

# load NAME: source NAME.bash (or NAME), relative to the suite's folder.
load() {
	local file=${1:?usage: load NAME}
	[[ $file == /* ]] || file=$BATS_TEST_DIRNAME/$file
	[[ -f $file.bash ]] && file=$file.bash
	if [[ ! -f $file ]]; then
		printf 'bats: %s does not exist\n' "$file" >&2
		exit 1
	fi
	# shellcheck disable=SC1090
	source "$file"
}

# run COMMAND...: run it without failing the test; its exit status in
# $status, its stdout and stderr in $output, the non-empty lines in $lines.
run() {
	local flags=$-
	[[ ${1:-} == -- ]] && shift
	set +eET
	output=$("$@" 2>&1) && status=0 || status=$?
	# shellcheck disable=SC2034 # for the test
	IFS=$'\n' read -d '' -r -a lines <<<"$output" || true
	[[ $flags == *e* ]] && set -e
	[[ $flags == *E* ]] && set -E
	[[ $flags == *T* ]] && set -T
	return 0
}

# skip [REASON]: end the test here; it counts as skipped.
skip() {
	SKIPPED=${1:-1}
	COMPLETED=1
	exit 0
}

# --- one test, in a process of its own ---------------------------------

# on_error: remember the command that failed (the last one before the
# test's shell exits is the one that ended it).
on_error() {
	FAILED_LINE=$1
	FAILED_COMMAND=$2
}

# finish_test STATUS: run teardown, print the test's TAP lines on fd 3 and
# exit with the test's verdict (0 passed or skipped, 1 failed).
finish_test() {
	local status=$1 teardown_status=0 ms verdict=ok meta=""
	trap - ERR EXIT
	set +eET
	teardown >>"$OUT" 2>&1 || teardown_status=$?
	ms=$((($(now_us) - START_US) / 1000))
	if [[ -z $COMPLETED || $status -ne 0 || $teardown_status -ne 0 ]]; then
		verdict="not ok"
		[[ -n $COMPLETED && $status -eq 0 ]] && FAILED_COMMAND="teardown"
	elif [[ -n $SKIPPED ]]; then
		meta=" # skip"
		[[ $SKIPPED == 1 ]] || meta+=" $SKIPPED"
	fi
	printf '%s %d %s in %dms%s\n' "$verdict" "$BATS_TEST_NUMBER" "$BATS_TEST_DESCRIPTION" "$ms" "$meta" >&3
	if [[ $verdict != ok ]]; then
		[[ -n $FAILED_LINE ]] &&
			printf '# (in test file %s, line %s)\n' "$BATS_TEST_FILENAME" "$FAILED_LINE" >&3
		[[ -n $FAILED_COMMAND ]] && printf "#   \`%s' failed\n" "$FAILED_COMMAND" >&3
		local line
		while IFS= read -r line || [[ -n $line ]]; do
			printf '# %s\n' "$line"
		done <"$OUT" >&3
		exit 1
	fi
	exit 0
}

# run_test N: the Nth selected test (from 1), in this (forked) shell.
run_test() {
	local fn=${FUNCTIONS[$1 - 1]}
	export BATS_TEST_NUMBER=$1
	BATS_TEST_DESCRIPTION=${TITLES[$1 - 1]}
	OUT=$RUN_DIR/$1.out
	COMPLETED="" SKIPPED="" FAILED_LINE="" FAILED_COMMAND=""
	: >"$OUT"
	exec 3>&1 4>&1 </dev/null
	set +u +o pipefail
	set -eET
	trap 'on_error "$LINENO" "$BASH_COMMAND"' ERR
	trap 'finish_test "$?"' EXIT
	START_US=$(now_us)
	# shellcheck disable=SC1090,SC1091
	source "$RUN_DIR/suite.bash" >>"$OUT" 2>&1
	START_US=$(now_us)
	"$fn" >>"$OUT" 2>&1 4>&1
	COMPLETED=1
	finish_test 0
}

# --- the suite ----------------------------------------------------------

main() {
	FILTER=""
	if [[ ${1:-} == --filter ]]; then
		FILTER=${2:?usage: run-suite.bash [--filter REGEX] SUITE.bats}
		shift 2
	fi
	local suite=${1:?usage: run-suite.bash [--filter REGEX] SUITE.bats}
	if [[ ! -f $suite ]]; then
		printf 'run-suite: %s does not exist\n' "$suite" >&2
		exit 1
	fi
	BATS_TEST_FILENAME=$(cd "$(dirname "$suite")" && pwd)/${suite##*/}
	BATS_TEST_DIRNAME=${BATS_TEST_FILENAME%/*}
	export BATS_TEST_FILENAME BATS_TEST_DIRNAME BATS_TMPDIR=${TMPDIR:-/tmp}
	RUN_DIR=$(mktemp -d "$BATS_TMPDIR/run-suite.XXXXXX")
	trap 'rm -rf "$RUN_DIR"' EXIT
	preprocess "$suite" "$RUN_DIR/suite.bash"
	printf '1..%d\n' "${#TITLES[@]}"
	local i status failed=0
	# Not "(run_test) || ...": set -e does nothing in a subshell run there.
	set +e
	for ((i = 1; i <= ${#TITLES[@]}; i++)); do
		(run_test "$i")
		status=$?
		((status == 0)) || failed=1
	done
	set -e
	return "$failed"
}

main "$@"
