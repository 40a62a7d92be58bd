#!/usr/bin/env bats
# The student workflow, end to end, from the released starter kit:
#  1. unpack dist/starter.tar.gz into a fresh folder;
#  2. `make check` there: the skeletons fail their public tests, with the
#     messages a student needs;
#  3. put the reference solutions in: one part's make check from its folder,
#     a script run in the VM (make shell RUN=), make debug, make submit of
#     every part, of one part (PART=2) and of the ready parts, and the TA's
#     grader on the one-part tarball.
# (Grading such a tarball, full marks, is checked by check_gradescope.sh,
# through the Gradescope autograder: the same grader in its Debian tree.)
#
# The tests run in file order on one kit, each step after the one before;
# a step runs once (`step`), the tests after it read what it left.
#
# usage: bash selftest/bats-count.sh starter-kit selftest/starter.bats

bats_require_minimum_version 1.5.0

setup_file() {
	export ROOT_DIR WORK="$BATS_FILE_TMPDIR" KIT="$BATS_FILE_TMPDIR/starter"
	ROOT_DIR=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
	python3 "$ROOT_DIR/scripts/release.py" --out "$WORK/starter.tar.gz" >/dev/null
	tar -xzf "$WORK/starter.tar.gz" -C "$WORK"
}

# step NAME FUNCTION: run FUNCTION once, its output in $WORK/NAME.txt and its
# exit status in $WORK/NAME.status (a later test of the same step only reads them).
step() {
	[[ -f $WORK/$1.status ]] && return 0
	local status=0
	"$2" >"$WORK/$1.txt" 2>&1 </dev/null || status=$?
	echo "$status" >"$WORK/$1.status"
}

# has NAME TEXT: step NAME's output (or the file NAME) holds TEXT.
has() {
	local file=$WORK/$1.txt
	[[ $1 == /* ]] && file=$1
	grep -qF -- "$2" "$file" || {
		echo "'$2' is not in $file:" >&2
		tail -n 40 "$file" >&2 2>/dev/null
		return 1
	}
}

status_of() {
	cat "$WORK/$1.status"
}

skeleton_check() {
	make -C "$KIT" check
	cp "$KIT/.check/part3_chardev/report.txt" "$WORK/part3-report.txt" 2>/dev/null || true
}

# A part1 that prints (the variant prints_with_printf, which the grader
# gives full marks): make count, on a terminal as a student runs it.
printing_count() {
	python3 - "$ROOT_DIR" "$WORK/printf" <<'EOF'
import sys
sys.path.insert(0, sys.argv[1] + "/selftest")
import check_grader
check_grader.make_variant("part1_syscalls",
                          sys.argv[1] + "/selftest/part1_syscalls/variants/prints_with_printf.patch", sys.argv[2])
EOF
	cp "$WORK/printf/part1.c" "$KIT/part1_syscalls/part1.c"
	script -qec "make -C '$KIT/part1_syscalls' count" /dev/null
}

# The reference solutions put in; then one part checked from its folder.
reference_part_check() {
	local part
	for part in "$ROOT_DIR"/part*_*/; do
		part=$(basename "$part")
		if [[ -d $ROOT_DIR/$part/solution && -d $KIT/$part ]]; then
			cp "$ROOT_DIR/$part/solution/"* "$KIT/$part/"
		fi
	done
	make -C "$KIT/part2_timer" check
}

# A script of the student's, run in the VM without a terminal.
shell_run() {
	printf '%s\n' 'cat /proc/timer' 'ls /job/src/part2_timer/my_timer.c' 'exit 3' >"$KIT/probe.sh"
	local status=0
	make -s -C "$KIT" shell LOAD=1 RUN=probe.sh || status=$?
	rm "$KIT/probe.sh"
	return "$status"
}

# make debug: gdb, driven in batch mode, stops in the module's read
# function when the VM reads /proc/timer, and prints its arguments.
# gdb starts 10 s late on purpose (a gdb wrapper first on PATH): the VM is
# then surely waiting for "go" before gdb connects, the case in which a
# wait that does not hold the control port open lets the script run early.
debug_batch() {
	printf '%s\n' 'cat /proc/timer >/dev/null' >"$KIT/read.sh"
	printf '%s\n' 'break timer_read' 'vm-go' 'continue' 'bt 1' 'info args' 'kill' >"$KIT/read.gdb"
	mkdir -p "$WORK/slow-gdb"
	printf '#!/bin/sh\nsleep 10\nexec %s "$@"\n' "$(command -v gdb)" >"$WORK/slow-gdb/gdb"
	chmod +x "$WORK/slow-gdb/gdb"
	local status=0
	(cd "$KIT" && PATH="$WORK/slow-gdb:$PATH" bash grader/debug.sh --part 2 --run read.sh \
		--gdb-batch read.gdb) || status=$?
	rm "$KIT/read.sh" "$KIT/read.gdb"
	return "$status"
}

submit_all() {
	echo "# a student's edit" >>"$KIT/part2_timer/tests/timer_check.py"
	make -C "$KIT" submit
}

submit_part2() {
	make -C "$KIT/part2_timer" submit
	tar -xOzf "$KIT/submission-part2.tar.gz" MANIFEST >"$WORK/manifest2.txt" 2>/dev/null || true
}

# Parts not ready are named, the ready ones submitted.
submit_ready() {
	rm "$KIT/part1_syscalls/empty.trace"
	make -C "$KIT" submit
}

submit_part1() {
	make -C "$KIT" submit PART=1
}

# The TA's grader takes the one-part tarball (Gradescope's part-2
# autograder takes it too: check_gradescope.sh).
ta_grader() {
	bash "$ROOT_DIR/grader/run.sh" --parts 2 --jobs 1 --out "$WORK/ta" "$KIT/submission-part2.tar.gz"
}

@test "the kit holds no file only hidden tests use" {
	run python3 - "$ROOT_DIR" "$KIT" <<'EOF'
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
	[[ $status -eq 0 && -z $output ]] || {
		echo "shipped: $output" >&2
		return 1
	}
}

@test "make check explains the part 2 skeleton's failure" {
	step check skeleton_check
	has check "/proc/timer does not exist after insmod"
}

@test "make check explains the part 1 skeleton's failure" {
	step check skeleton_check
	has check "part1 makes 0 more system calls than empty, expected exactly 5"
}

@test "make check gives the part 2 skeleton its public baseline" {
	step check skeleton_check
	has check "part2_timer: 30/"
}

@test "make check explains the part 3 skeleton's failure" {
	step check skeleton_check
	has check "no /dev/elevator after insmod"
}

@test "make check gives the part 3 skeleton its public baseline" {
	step check skeleton_check
	has check "part3_chardev: 15/"
}

@test "make check says the hidden tests did not run" {
	step check skeleton_check
	has check "Only the public tests ran: "
}

@test "make check says, per part, which hidden tests and points it left out" {
	step check skeleton_check
	has check "of the public tests; not run: "
}

@test "make count on a terminal counts a printing part1 as the grader does" {
	step count printing_count
	has count "OK: part1 makes 5 more system calls than empty"
}

@test "a part's check compares with that part's last run" {
	step check2 reference_part_check
	has check2 "part2_timer since its last run: "
}

@test "a part's check reports that part only" {
	step check2 reference_part_check
	run ! grep -q part3_chardev "$WORK/check2.txt"
}

@test "a part's check leaves another part's results as they were" {
	step check2 reference_part_check
	cmp "$WORK/part3-report.txt" "$KIT/.check/part3_chardev/report.txt"
}

@test "the log path a part's check prints works from the part's folder" {
	step check2 reference_part_check
	local log
	log=$(sed -n 's/^  logs: \([^,]*\).*/\1/p' "$WORK/check2.txt" | head -n 1)
	[[ -n $log && -f $KIT/part2_timer/$log ]] || {
		echo "the path printed: '${log}'" >&2
		return 1
	}
}

@test "make shell RUN= runs the script with the modules loaded" {
	step run shell_run
	has run "current time: "
}

@test "the script sees the part's files in /job/src/PART/" {
	step run shell_run
	has run "/job/src/part2_timer/my_timer.c"
}

@test "make shell RUN= exits with the script's status" {
	step run shell_run
	# (make itself exits 2 and names the recipe's status: "Error 3")
	has run "shell] Error 3"
}

@test "make debug: gdb stops at a breakpoint in the module" {
	step debug debug_batch
	has debug "Breakpoint 1, timer_read ("
}

@test "make debug: gdb prints the read's arguments (count = N)" {
	step debug debug_batch
	grep -qE '^count = [0-9]+' "$WORK/debug.txt"
}

@test "make debug: gdb knows the module's source file" {
	step debug debug_batch
	has debug "my_timer.c:"
}

@test "make submit writes a submission" {
	step submit submit_all
	[[ $(status_of submit) -eq 0 ]]
	has submit "submit: sha256"
}

@test "make submit warns about a changed grader file" {
	step submit submit_all
	has submit "part2_timer/tests/timer_check.py belongs to the grader"
}

@test "make submit PART=2 packs part 2 alone" {
	step submit2 submit_part2
	local members
	members=$(tar -tzf "$KIT/submission-part2.tar.gz" | sort | tr '\n' ' ')
	[[ $members =~ ^MANIFEST\ (part2_timer/[^\ ]+\ )+$ ]] || {
		echo "members: $members" >&2
		return 1
	}
}

@test "its MANIFEST has that part's make check" {
	step submit2 submit_part2
	has "$WORK/manifest2.txt" "part2_timer: make check "
}

@test "make submit submits the ready parts and names the others" {
	step submit-ready submit_ready
	has submit-ready "left out (not ready): part1_syscalls"
}

@test "make submit PART=1 of a part that is not ready fails and writes nothing" {
	step submit1 submit_part1
	[[ $(status_of submit1) -ne 0 && ! -e $KIT/submission-part1.tar.gz ]]
}

@test "the TA's grader gives the one-part submission part 2's full marks" {
	step ta ta_grader
	has "$WORK/ta/grades.csv" ",100,"
}
