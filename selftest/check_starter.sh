#!/usr/bin/env bash
# The student workflow, end to end, from the released starter kit:
#  1. unpack dist/starter.tar.gz into a fresh folder;
#  2. `make check` there: the skeletons fail their public tests, with the
#     messages a student needs;
#  3. put the reference solutions in, `make submit`.
# (Grading such a tarball, full marks, is checked by check_gradescope.sh,
# through the Gradescope autograder: the same grader in its Debian tree.)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0

expect() { # expect FILE TEXT: FILE must contain TEXT
	if grep -qF -- "$2" "$1"; then
		echo "ok     $3"
	else
		echo "WRONG  $3: '$2' not in $1"
		failures=$((failures + 1))
	fi
}

python3 "$root/scripts/release.py" --out "$work/starter.tar.gz"
tar -xzf "$work/starter.tar.gz" -C "$work"
kit=$work/starter

# The helpers only hidden tests run (tests/part.json: hidden_files) stay out.
shipped_hidden=$(python3 - "$root" "$kit" <<'EOF'
import json, os, sys
root, kit = sys.argv[1:]
for part in sorted(os.listdir(root)):
    conf = os.path.join(root, part, "tests", "part.json")
    if os.path.isfile(conf):
        with open(conf) as f:
            for name in json.load(f).get("hidden_files", []):
                if os.path.lexists(os.path.join(kit, part, "tests", name)):
                    print(f"{part}/tests/{name}")
EOF
)
if [[ -z $shipped_hidden ]]; then
	echo "ok     the kit holds no file only hidden tests use"
else
	echo "WRONG  the kit holds files only hidden tests use: ${shipped_hidden//$'
'/ }"
	failures=$((failures + 1))
fi

make -C "$kit" check >"$work/check.txt" 2>&1 || true
expect "$work/check.txt" "/proc/timer does not exist after insmod" "make check explains the part 2 skeleton's failure"
expect "$work/check.txt" "part1 makes 0 more system calls than empty, expected exactly 5" "make check explains the part 1 skeleton's failure"
expect "$work/check.txt" "part2_timer: 30/" "make check gives the part 2 skeleton its public baseline"
expect "$work/check.txt" "no /dev/elevator after insmod" "make check explains the part 3 skeleton's failure"
expect "$work/check.txt" "part3_chardev: 15/" "make check gives the part 3 skeleton its public baseline"

# A part1 that prints (the variant prints_with_printf, which the grader gives
# full marks): make count, on a terminal as a student runs it, counts what
# the grader counts.
python3 - "$root" "$work/printf" <<'EOF'
import sys
sys.path.insert(0, sys.argv[1] + "/selftest")
import check_grader
check_grader.make_variant("part1_syscalls",
                          sys.argv[1] + "/selftest/part1_syscalls/variants/prints_with_printf.patch", sys.argv[2])
EOF
cp "$work/printf/part1.c" "$kit/part1_syscalls/part1.c"
script -qec "make -C '$kit/part1_syscalls' count" /dev/null >"$work/count.txt" 2>&1 || true
expect "$work/count.txt" "OK: part1 makes 5 more system calls than empty" "make count on a terminal counts a printing part1 as the grader does"

for part in "$root"/part*_*/; do
	part=$(basename "$part")
	[[ -d $root/$part/solution && -d $kit/$part ]] && cp "$root/$part/solution/"* "$kit/$part/"
done
echo "# a student's edit" >>"$kit/part2_timer/tests/timer_check.py"
make -C "$kit" submit >"$work/submit.txt" 2>&1 || { cat "$work/submit.txt"; failures=$((failures + 1)); }
expect "$work/submit.txt" "submit: sha256" "make submit writes a submission"
expect "$work/submit.txt" "part2_timer/tests/timer_check.py belongs to the grader" "make submit warns about a changed grader file"

checks=9
echo "starter-kit: $((checks - failures)) passed, $failures failed"
((failures == 0))
