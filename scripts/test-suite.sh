#!/usr/bin/env bash
# make test: every section of the test suite, in order, each one a make
# target of its own (make lint, make unit, ...), timed; then a table of the
# sections' times and counts, and the totals as the closing line,
# "N passed, N failed". Stops after the first section that fails (the table
# still says which ran).
#
# The kernels and foreign-host steps need downloads (another kernel's
# environment, a trixie tree): they are made while the shards and starter
# sections grade part 1 submissions and skeletons, whose verdicts do not
# depend on timing.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
# Each section's output and row, outside selftest/out (which the grader's
# self-test makes anew).
logs=${KMOD_TEST_LOGS:-$(mktemp -d /tmp/kmod-test-suite.XXXXXX)}
rows=()
passed=0
failed=0
started=$(date +%s)

# counts LOG: "PASSED FAILED" from a section's output, or "" when it counts nothing.
counts() {
	local line ran bad
	line=$(grep -oE '[0-9]+ passed, [0-9]+ failed' "$1" | tail -n 1 || true)
	if [[ -n $line ]]; then
		awk '{print $1, $3}' <<<"$line"
		return
	fi
	# Python's unittest: "Ran N tests", then "OK" or "FAILED (failures=F, errors=E)".
	ran=$(sed -n -E 's/^Ran ([0-9]+) tests? in .*/\1/p' "$1" | tail -n 1)
	[[ -n $ran ]] || return 0
	bad=$(grep -E '^FAILED \(' "$1" | tail -n 1 | grep -oE '[0-9]+' | paste -sd+ | bc || true)
	echo "$((ran - ${bad:-0})) ${bad:-0}"
}

# section NAME [--quiet]: make NAME, its output shown (with --quiet only
# kept, for sections run side by side) in $logs/NAME.log; a row of the
# table; its status.
section() {
	local name=$1 start status=0 seconds count
	start=$(date +%s)
	if [[ ${2:-} == --quiet ]]; then
		make -C "$root" --no-print-directory "$name" >"$logs/$name.log" 2>&1 || status=$?
	else
		make -C "$root" --no-print-directory "$name" 2>&1 | tee "$logs/$name.log" || status=$?
	fi
	seconds=$(($(date +%s) - start))
	count=$(counts "$logs/$name.log")
	printf '%s\t%s\t%s\t%s\n' "$name" "$seconds" "$status" "$count" >"$logs/$name.row"
	return "$status"
}

add_row() {
	local name=$1 seconds=0 status=1 count="" p f
	if [[ -f $logs/$1.row ]]; then
		IFS=$'\t' read -r name seconds status count <"$logs/$1.row"
	fi
	read -r p f <<<"${count:-}"
	# A section that failed without counting a failure is one failure.
	[[ $status -eq 0 || ${f:-0} -gt 0 ]] || f=1
	passed=$((passed + ${p:-0}))
	failed=$((failed + ${f:-0}))
	[[ -n $count ]] || count="-"
	rows+=("$(printf '  %-20s %5d s  %-8s %s' "$name" "$seconds" \
		"$([[ $status -eq 0 ]] && echo ok || echo "FAILED")" \
		"$([[ $count == - ]] && echo "" || echo "${p:-0} passed, ${f:-0} failed")")")
	[[ $status -eq 0 ]]
}

summary() {
	local total=$(($(date +%s) - started))
	echo
	echo "make test: time per section (the middle three side by side)"
	printf '%s\n' "${rows[@]}"
	printf '  %-20s %5d s (%d min %d s); output of each section in %s\n' "in all" "$total" \
		$((total / 60)) $((total % 60)) "$logs"
	echo "$passed passed, $failed failed"
}

run_all() {
	local name
	for name in lint unit selftest; do
		section "$name" || true
		add_row "$name" || return 1
	done
	# Side by side: the shards, then the starter kit; the downloads.
	(section shards --quiet && section starter --quiet) &
	local graders=$!
	section test-downloads --quiet || true
	wait "$graders" || true
	for name in shards starter test-downloads; do
		[[ -f $logs/$name.log ]] && cat "$logs/$name.log"
	done
	local status=0
	for name in shards starter test-downloads; do
		add_row "$name" || status=1
	done
	[[ $status -eq 0 ]] || return 1
	for name in config gradescope-check kernels foreign-host; do
		section "$name" || true
		add_row "$name" || return 1
	done
}

main() {
	mkdir -p "$logs"
	local status=0
	run_all || status=1
	summary
	[[ $status -eq 0 && $failed -eq 0 ]]
}

main "$@"
