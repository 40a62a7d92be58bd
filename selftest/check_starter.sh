#!/usr/bin/env bash
# The student workflow, end to end, from the released starter kit:
#  1. unpack dist/starter.tar.gz into a fresh folder;
#  2. `make check` there: the skeletons fail their public tests, with the
#     messages a student needs;
#  3. put the reference solutions in: one part's make check from its folder,
#     a script run in the VM (make shell RUN=), make submit of every part,
#     of one part (PART=2) and of the ready parts, and the TA's grader on
#     the one-part tarball.
# (Grading such a tarball, full marks, is checked by check_gradescope.sh,
# through the Gradescope autograder: the same grader in its Debian tree.)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
checks=0

check_ok() { # check_ok TITLE COMMAND...: COMMAND must succeed
	local title=$1
	shift
	checks=$((checks + 1))
	if "$@"; then
		echo "ok     $title"
	else
		echo "WRONG  $title"
		failures=$((failures + 1))
	fi
}

expect() { # expect FILE TEXT: FILE must contain TEXT
	checks=$((checks + 1))
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
checks=$((checks + 1))
if [[ -z $shipped_hidden ]]; then
	echo "ok     the kit holds no file only hidden tests use"
else
	echo "WRONG  the kit holds files only hidden tests use: ${shipped_hidden//$'
'/ }"
	failures=$((failures + 1))
fi

make -C "$kit" check >"$work/check.txt" 2>&1 || true
cp "$kit/.check/part3_chardev/report.txt" "$work/part3-report.txt" 2>/dev/null || true
expect "$work/check.txt" "/proc/timer does not exist after insmod" "make check explains the part 2 skeleton's failure"
expect "$work/check.txt" "part1 makes 0 more system calls than empty, expected exactly 5" "make check explains the part 1 skeleton's failure"
expect "$work/check.txt" "part2_timer: 30/" "make check gives the part 2 skeleton its public baseline"
expect "$work/check.txt" "no /dev/elevator after insmod" "make check explains the part 3 skeleton's failure"
expect "$work/check.txt" "part3_chardev: 15/" "make check gives the part 3 skeleton its public baseline"
expect "$work/check.txt" "Only the public tests ran: " "make check says the hidden tests did not run"
expect "$work/check.txt" "of the public tests; not run: " "make check says, per part, which hidden tests and points it left out"

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

# One part, checked from its folder: the other parts' results stay, the
# paths printed work from there, the comparison is with that part's last run.
make -C "$kit/part2_timer" check >"$work/check2.txt" 2>&1 || true
expect "$work/check2.txt" "part2_timer since its last run: " "a part's check compares with that part's last run"
check_ok "a part's check reports that part only" bash -c "! grep -q part3_chardev '$work/check2.txt'"
check_ok "a part's check leaves another part's results as they were" \
	cmp -s "$work/part3-report.txt" "$kit/.check/part3_chardev/report.txt"
log=$(sed -n 's/^  logs: \([^,]*\).*/\1/p' "$work/check2.txt" | head -n 1)
check_ok "the log path a part's check prints works from the part's folder (${log:-none})" \
	test -n "$log" -a -f "$kit/part2_timer/$log"

# A script of the student's, run in the VM without a terminal.
printf '%s\n' 'cat /proc/timer' 'ls /job/src/part2_timer/my_timer.c' 'exit 3' >"$kit/probe.sh"
status=0
make -s -C "$kit" shell LOAD=1 RUN=probe.sh </dev/null >"$work/run.txt" 2>&1 || status=$?
expect "$work/run.txt" "current time: " "make shell RUN= runs the script with the modules loaded"
expect "$work/run.txt" "/job/src/part2_timer/my_timer.c" "the script sees the part's files in /job/src/PART/"
# (make itself exits 2 and names the recipe's status: "Error 3")
check_ok "make shell RUN= exits with the script's status" grep -q "shell\] Error 3" "$work/run.txt"
rm "$kit/probe.sh"

# make debug: gdb, driven in batch mode, stops in the module's read function
# when the VM reads /proc/timer, and prints the function's arguments.
printf '%s\n' 'cat /proc/timer >/dev/null' >"$kit/read.sh"
printf '%s\n' 'break timer_read' 'vm-go' 'continue' 'bt 1' 'info args' 'kill' >"$kit/read.gdb"
(cd "$kit" && bash grader/debug.sh --part 2 --run read.sh --gdb-batch read.gdb) </dev/null >"$work/debug.txt" 2>&1 || true
expect "$work/debug.txt" "Breakpoint 1, timer_read (" "make debug: gdb stops at a breakpoint in the module"
check_ok "make debug: gdb prints the read's arguments (count = N)" \
	grep -qE '^count = [0-9]+' "$work/debug.txt"
expect "$work/debug.txt" "my_timer.c:" "make debug: gdb knows the module's source file"
rm "$kit/read.sh" "$kit/read.gdb"

echo "# a student's edit" >>"$kit/part2_timer/tests/timer_check.py"
make -C "$kit" submit >"$work/submit.txt" 2>&1 || { cat "$work/submit.txt"; failures=$((failures + 1)); }
expect "$work/submit.txt" "submit: sha256" "make submit writes a submission"
expect "$work/submit.txt" "part2_timer/tests/timer_check.py belongs to the grader" "make submit warns about a changed grader file"

# One part, in its week: make submit PART=2 from the part's folder.
make -C "$kit/part2_timer" submit >"$work/submit2.txt" 2>&1 || cat "$work/submit2.txt"
members=$(tar -tzf "$kit/submission-part2.tar.gz" 2>/dev/null | sort | tr '\n' ' ')
check_ok "make submit PART=2 packs part 2 alone ($members)" \
	bash -c "[[ '$members' =~ ^MANIFEST\ (part2_timer/[^\ ]+\ )+\$ ]]"
tar -xOzf "$kit/submission-part2.tar.gz" MANIFEST >"$work/manifest2.txt" 2>/dev/null || true
expect "$work/manifest2.txt" "part2_timer: make check " "its MANIFEST has that part's make check"
# Parts not ready are named, the ready ones submitted.
rm "$kit/part1_syscalls/empty.trace"
make -C "$kit" submit >"$work/submit-ready.txt" 2>&1 || true
expect "$work/submit-ready.txt" "left out (not ready): part1_syscalls" "make submit submits the ready parts and names the others"
status=0
make -C "$kit" submit PART=1 >"$work/submit1.txt" 2>&1 || status=$?
check_ok "make submit PART=1 of a part that is not ready fails and writes nothing" \
	test "$status" -ne 0 -a ! -e "$kit/submission-part1.tar.gz"
# The TA's grader takes the one-part tarball (Gradescope's part-2
# autograder takes it too: check_gradescope.sh).
bash "$root/grader/run.sh" --parts 2 --jobs 1 --out "$work/ta" "$kit/submission-part2.tar.gz" >"$work/ta.txt" 2>&1 || true
expect "$work/ta/grades.csv" ",100," "the TA's grader gives the one-part submission part 2's full marks"

echo "starter-kit: $((checks - failures)) passed, $failures failed"
((failures == 0))
