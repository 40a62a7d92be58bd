#!/usr/bin/env bash
# Students' `make check`: run the public tests of this kit's parts in the
# grading VM and print what failed and why. Each part's results and logs
# are kept in .check/PART/ (a check of one part leaves the others' alone);
# the paths printed are relative to where make was run.
#
# usage: grader/check.sh [--parts LIST]
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
out=$root/.check
bash "$root/scripts/install-deps.sh"
# Two VMs at once where there are two cores (the setting the timing
# tolerances were measured in, docs/measurements.md), else one.
jobs=1
(($(nproc) >= 2)) && jobs=2
status=0
reports=$(python3 "$root/grader/cli.py" --public --per-part --paths-from "$PWD" --jobs "$jobs" \
	--out "$out" --name check "$@" "$root") || status=$?
# The grader keeps a part's previous results; here only the latest matter
# (what changed since the last run was printed above).
rm -rf "$out"/*.previous-*
if [[ -z $reports ]]; then
	((status != 0)) || status=1
	exit "$status"
fi
while IFS= read -r report; do
	cat "$report"
	printf '  results: %s\n\n' "$(realpath --relative-to="$PWD" "$(dirname "$report")")"
done <<<"$reports"
exit "$status"
