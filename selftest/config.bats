#!/usr/bin/env bats
# One course.conf drives handouts, builds and grader: with a second
# configuration (part 1 asks for 3 extra system calls instead of 5 and is
# worth 50 points instead of 100), the handout says 3 and shows the scaled
# rubric, the reference built with it gets full marks (50), the skeleton
# keeps its baseline (15 of 50) and is told that 3 were expected.
#
# usage: bash selftest/bats-count.sh configuration selftest/config.bats

bats_require_minimum_version 1.5.0

N=3

setup_file() {
	export ROOT_DIR WORK="$BATS_FILE_TMPDIR"
	ROOT_DIR=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
	sed -e "s/^PART1_EXTRA_SYSCALLS=.*/PART1_EXTRA_SYSCALLS=$N/" -e "s/^PART1_POINTS=.*/PART1_POINTS=50/" \
		"$ROOT_DIR/course.conf" >"$WORK/course.conf"
	export KMOD_COURSE_CONF=$WORK/course.conf
	python3 - "$ROOT_DIR" >"$WORK/handout.md" <<'PY'
import sys
sys.path.insert(0, sys.argv[1] + "/scripts")
import handouts
text, _ = handouts.prepare(sys.argv[1] + "/assignments/part1_syscalls.md", handouts.load_conf())
print(text)
PY
	# The reference with this configuration, and its traces: our own
	# trusted program, traced on the host only to make the traces a
	# student would hand in.
	local ref=$WORK/reference/part1_syscalls
	mkdir -p "$ref" "$WORK/skeleton"
	cp "$ROOT_DIR/part1_syscalls/Makefile" "$ROOT_DIR/part1_syscalls/empty.c" \
		"$ROOT_DIR/part1_syscalls/solution/part1.c" "$ref/"
	(
		cd "$ref" || exit 1
		cc -O0 -o empty empty.c
		cc -O0 -DEXTRA_SYSCALLS="$N" -o part1 part1.c
		strace -o empty.trace ./empty
		strace -o part1.trace ./part1
		rm -f empty part1
	)
	cp -r "$ROOT_DIR/part1_syscalls" "$WORK/skeleton/"
	rm -rf "$WORK/skeleton/part1_syscalls/solution"
	# (The grade is judged by the tests below; its exit status is 0 when grading ran.)
	python3 "$ROOT_DIR/grader/cli.py" --parts 1 --jobs 2 --out "$WORK/graded" \
		"$WORK/reference" "$WORK/skeleton" >"$WORK/grade.txt" 2>&1
}

# has FILE TEXT: FILE holds TEXT, or the test fails saying so.
has() {
	grep -qF -- "$2" "$1" || {
		echo "'$2' is not in $1:" >&2
		head -n 40 "$1" >&2
		return 1
	}
}

@test "the handout asks for 3 extra system calls" {
	has "$WORK/handout.md" "exactly $N more system calls"
}

@test "the handout's rubric adds up to the part's 50 points" {
	has "$WORK/handout.md" "| **Total** | **50** |"
}

@test "the handout's rubric shows the scaled points (40 -> 20)" {
	has "$WORK/handout.md" "| 20 |"
}

@test "the reference built for 3 extra calls gets full marks (50)" {
	has "$WORK/graded/grades.csv" "reference,50,50,graded"
}

@test "the skeleton keeps its baseline (15 of 50)" {
	has "$WORK/graded/grades.csv" "skeleton,15,15,graded"
}

@test "the skeleton is told that 3 were expected" {
	has "$WORK/graded/skeleton/report.txt" "expected exactly $N"
}
