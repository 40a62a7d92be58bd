#!/usr/bin/env bash
# Students' `make check`: run the public tests of this kit's parts in the
# grading VM and print what failed and why.
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
python3 "$root/grader/grade.py" --public --jobs "$jobs" --out "$out" --name check "$@" "$root" >/dev/null
# The previous check's results are kept by the grader; only the latest matters here.
rm -rf "$out"/check.previous-*
cat "$out/check/report.txt"
