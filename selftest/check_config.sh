#!/usr/bin/env bash
# One course.conf drives handouts, builds and grader: with a second
# configuration (part 1 asks for 3 extra system calls instead of 5 and is
# worth 50 points instead of 100), the handout says 3 and shows the scaled
# rubric, the reference built with it gets full marks (50), the skeleton
# keeps its baseline (15 of 50) and is told that 3 were expected.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
N=3

expect() { # expect FILE TEXT WHAT
	if grep -qF -- "$2" "$1"; then
		echo "ok     $3"
	else
		echo "WRONG  $3: '$2' not in $1"
		failures=$((failures + 1))
	fi
}

sed -e "s/^PART1_EXTRA_SYSCALLS=.*/PART1_EXTRA_SYSCALLS=$N/" -e "s/^PART1_POINTS=.*/PART1_POINTS=50/" \
	"$root/course.conf" >"$work/course.conf"
export KMOD_COURSE_CONF=$work/course.conf

python3 - "$root" >"$work/handout.md" <<'PY'
import sys
sys.path.insert(0, sys.argv[1] + "/scripts")
import handouts
text, _ = handouts.prepare(sys.argv[1] + "/assignments/part1_syscalls.md", handouts.load_conf())
print(text)
PY
expect "$work/handout.md" "exactly $N more system calls" "the handout asks for $N extra system calls"
expect "$work/handout.md" "| **Total** | **50** |" "the handout's rubric adds up to the part's 50 points"
expect "$work/handout.md" "| 20 |" "the handout's rubric shows the scaled points (40 -> 20)"

# The reference with this configuration, and its traces: our own trusted
# program, traced on the host only to make the traces a student would hand in.
ref=$work/reference/part1_syscalls
mkdir -p "$ref"
cp "$root/part1_syscalls/Makefile" "$root/part1_syscalls/empty.c" "$root/part1_syscalls/solution/part1.c" "$ref/"
(
	cd "$ref"
	cc -O0 -o empty empty.c
	cc -O0 -DEXTRA_SYSCALLS="$N" -o part1 part1.c
	strace -o empty.trace ./empty
	strace -o part1.trace ./part1
	rm -f empty part1
)
mkdir -p "$work/skeleton"
cp -r "$root/part1_syscalls" "$work/skeleton/"
rm -rf "$work/skeleton/part1_syscalls/solution"

python3 "$root/grader/cli.py" --parts 1 --jobs 2 --out "$work/graded" \
	"$work/reference" "$work/skeleton" >"$work/grade.txt" 2>&1
expect "$work/graded/grades.csv" "reference,50,50,graded" "the reference built for $N extra calls gets full marks (50)"
expect "$work/graded/grades.csv" "skeleton,15,15,graded" "the skeleton keeps its baseline (15 of 50)"
expect "$work/graded/skeleton/report.txt" "expected exactly $N" "the skeleton is told that $N were expected"

checks=6
echo "configuration: $((checks - failures)) passed, $failures failed"
((failures == 0))
