#!/usr/bin/env bats
# Grading suite of part 2 (/proc/timer). Runs as root inside the grading VM.
# Every test declares its points and visibility on the "# grade:" line right
# above it (read by grader/rubric.py); its failure message says what to fix.

load /job/lib/kmod

MOD=my_timer
CHECK="py_check $BATS_TEST_DIRNAME/timer_check.py"
HIDDEN="py_check $BATS_TEST_DIRNAME/timer_hidden.py"

part_is_clean() {
	KMOD_LEFTOVER=/proc/timer
	[[ ! -e /proc/timer ]]
}

setup() {
	kmod_setup
}

teardown() {
	kmod_teardown "$MOD"
}

# grade: points=10 visibility=public
@test "my_timer.ko builds without errors" {
	build_succeeded "$MOD.ko"
}

# grade: points=10 visibility=public
@test "insmod loads my_timer and rmmod unloads it" {
	load_module "$MOD"
	unload_module "$MOD"
}

# grade: points=5 visibility=public
@test "/proc/timer exists after insmod and every user can read it" {
	load_module "$MOD"
	[[ -e /proc/timer ]] || fail_because "/proc/timer does not exist after insmod: create it with proc_create() in the init function"
	run setpriv --reuid=65534 --regid=65534 --clear-groups cat /proc/timer
	[[ $status -eq 0 ]] || fail_because "an ordinary user cannot read /proc/timer ($output): create it with mode 0444 (or 0644)"
}

# grade: points=10 visibility=public
@test "first read prints exactly 'current time: SECONDS.NANOSECONDS'" {
	load_module "$MOD"
	$CHECK first
}

# grade: points=5 visibility=public
@test "current time matches the VM's clock within 1 s" {
	load_module "$MOD"
	$CHECK clock
}

# grade: points=10 visibility=public
@test "second read adds 'elapsed time: SECONDS.NANOSECONDS'" {
	load_module "$MOD"
	$CHECK second
}

# grade: points=10 visibility=hidden wait=0.7
@test "elapsed time matches the real time between two reads" {
	load_module "$MOD"
	$HIDDEN elapsed
}

# grade: points=5 visibility=hidden wait=0.7
@test "elapsed time is the difference of the two printed current times" {
	load_module "$MOD"
	$HIDDEN difference
}

# grade: points=10 visibility=hidden
@test "reads through tiny buffers (dd bs=1) give the whole text" {
	load_module "$MOD"
	$HIDDEN tiny
}

# grade: points=5 visibility=hidden timeout=120
@test "concurrent readers each get their own text, in order" {
	load_module "$MOD"
	$HIDDEN concurrent
}

# grade: points=5 visibility=hidden timeout=180
@test "reading /proc/timer does not leak kernel memory" {
	load_module "$MOD"
	$HIDDEN leak
}

# grade: points=5 visibility=public
@test "rmmod removes /proc/timer" {
	load_module "$MOD"
	[[ -e /proc/timer ]] || fail_because "/proc/timer was never created, so its removal cannot be checked"
	unload_module "$MOD"
	[[ ! -e /proc/timer ]] || fail_because "/proc/timer still exists after rmmod: call proc_remove() in the exit function"
}

# grade: points=5 visibility=public
@test "loads and unloads 3 times in a row" {
	local i
	for i in 1 2 3; do
		load_module "$MOD" || fail_because "load number $i failed"
		if [[ -e /proc/timer ]]; then
			cat /proc/timer >/dev/null || fail_because "reading /proc/timer after load number $i failed"
		fi
		unload_module "$MOD" || fail_because "unload number $i failed"
		[[ ! -e /proc/timer ]] || fail_because "/proc/timer still exists after unload number $i"
	done
}

# grade: points=5 visibility=public after-crash=fail
@test "the kernel log shows no oops, BUG, WARNING or flood, and no taint but O and E" {
	require_built "$MOD"
	kernel_log_is_clean
}
