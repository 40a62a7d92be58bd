#!/usr/bin/env bash
# Run a self-test suite written in bats and end with the line every
# self-test of make test ends with, "NAME: N passed, N failed", counted from
# bats' own TAP (plan and results), not by hand. A plan that does not match
# the results (a suite that stopped early) counts the missing tests as
# failed.
#
# usage: bats-count.sh NAME SUITE.bats [BATS-OPTION...]
set -euo pipefail

tap="" # bats' TAP output, kept to count it

main() {
	[[ $# -ge 2 ]] || {
		echo "usage: $0 NAME SUITE.bats [BATS-OPTION...]" >&2
		exit 2
	}
	local name=$1 suite=$2 status=0 planned passed failed
	shift 2
	tap=$(mktemp)
	trap 'rm -f "$tap"' EXIT
	bats --tap "$@" "$suite" | tee "$tap" || status=$?
	planned=$(sed -n -E 's/^1\.\.([0-9]+)$/\1/p' "$tap" | head -n 1)
	passed=$(grep -cE '^ok [0-9]+' "$tap" || true)
	failed=$(grep -cE '^not ok [0-9]+' "$tap" || true)
	if [[ -z $planned ]]; then
		failed=$((failed + 1)) # bats did not even plan: the suite did not load
	elif ((passed + failed < planned)); then
		failed=$((planned - passed))
	fi
	echo "$name: $passed passed, $failed failed"
	[[ $status -eq 0 && $failed -eq 0 ]]
}

main "$@"
