#!/usr/bin/env bats
# Grading suite of part 3 (the elevator: a kernel thread behind /dev/elevator
# and /proc/elevator). Runs as root inside the grading VM. Every test declares
# its points and visibility on the "# grade:" line right above it (read by
# grader/rubric.py); its failure message says what to fix.
#
# The logic is tested with fast timings (module parameters floor_ms and
# load_ms), the real timing once with the defaults. The heavy-workload tests
# share one recorded run of the elevator (see heavy_workload below).

load /job/lib/kmod

MOD=elevator
CHECK="py_check $BATS_TEST_DIRNAME/elevator_check.py"
HIDDEN="py_check $BATS_TEST_DIRNAME/elevator_hidden.py"
CTL="$KMOD_BUILD/elevator-ctl"
PRODUCER="$KMOD_BUILD/producer"
# The timings of the logic tests, handed to the checkers too (elevator_check.py fast()).
FAST=(floor_ms=100 load_ms=50)
export ELEVATOR_FAST="${FAST[*]}"
# rmmod mid-trip: the move it interrupts takes MIDTRIP_FLOOR_MS, and rmmod
# must end within RMMOD_PROMPT_MS. A thread that notices kthread_stop() at
# once needs 0.3 s on an idle machine and 1.0 s in a busy half-CPU container;
# one that sleeps the move out needs the whole move, 6 s. (Below the 10 s
# hung-task limit, so a thread in msleep() fails this test, not the VM.)
# Measured: docs/measurements.md (part 3).
MIDTRIP_FLOOR_MS=6000
RMMOD_PROMPT_MS=3000
# Where the heavy workload's samples of /proc/elevator are kept (tmpfs: a
# fresh VM records them anew).
TRACE=/tmp/elevator-workload.trace

# The module's thread as found after the last load: "PID NAME" (see
# module_thread).
THREAD_FILE=/tmp/elevator-thread

# module_thread: "PID NAME" of the task that runs the module's code (a frame
# of elevator.ko on its kernel stack), within 2 s of insmod: the thread is
# known by what it runs, not by the name it was given.
module_thread() {
	local i found pid name=""
	for ((i = 0; i < 20; i++)); do
		found=$(grep -l "\[$MOD\]" /proc/[0-9]*/stack 2>/dev/null || true)
		found=${found%%$'\n'*}
		if [[ -n $found ]]; then
			pid=${found#/proc/}
			pid=${pid%/stack}
			{ read -r name <"/proc/$pid/comm"; } 2>/dev/null || true
			echo "$pid $name"
			return 0
		fi
		sleep 0.1
	done
	return 1
}

# The longest sleep of the thread after the last load, in ms (see
# longest_sleep_ms).
SLEEP_FILE=/tmp/elevator-sleep-ms

# longest_sleep_ms: the loaded module's floor_ms or load_ms, whichever is
# longer (at least the default move, at most 8 s): how long its thread may
# sleep before it next runs.
longest_sleep_ms() {
	local name value longest=2000
	for name in floor_ms load_ms; do
		{ read -r value <"/sys/module/$MOD/parameters/$name"; } 2>/dev/null || continue
		if [[ $value =~ ^[0-9]+$ ]] && ((value > longest)); then
			longest=$value
		fi
	done
	echo $((longest < 8000 ? longest : 8000))
}

# load_elevator ARGS...: load_module, and remember the module's thread, so
# that a thread that outlives rmmod is found whatever its name, and how long
# that thread may sleep.
load_elevator() {
	load_module "$MOD" "$@" || return 1
	module_thread >"$THREAD_FILE" || rm -f "$THREAD_FILE"
	longest_sleep_ms >"$SLEEP_FILE"
}

# elevator_thread_running: a task named "elevator" exists, or the module's
# thread remembered at the last load still does.
elevator_thread_running() {
	local comm name pid recorded
	# read, not $(cat ...): a fork per process costs seconds under emulation.
	for comm in /proc/[0-9]*/comm; do
		{ read -r name <"$comm"; } 2>/dev/null || continue
		[[ $name == elevator ]] && return 0
	done
	[[ -s $THREAD_FILE ]] || return 1
	read -r pid recorded <"$THREAD_FILE"
	{ read -r name <"/proc/$pid/comm"; } 2>/dev/null && [[ $name == "$recorded" ]]
}

part_is_clean() {
	KMOD_LEFTOVER="/proc/elevator, /dev/elevator or the elevator thread"
	[[ ! -e /proc/elevator && ! -e /dev/elevator ]] && ! elevator_thread_running
}

# entries_are_gone WHEN: /dev/elevator, /proc/elevator and the thread are
# gone. (Each check returns at once: errexit does not stop a function called
# with ||.)
entries_are_gone() {
	if [[ -e /proc/elevator ]]; then
		fail_because "/proc/elevator still exists $1: call proc_remove() in the exit function"
		return 1
	fi
	if [[ -e /dev/elevator ]]; then
		fail_because "/dev/elevator still exists $1: call device_destroy() and class_destroy() in the exit function"
		return 1
	fi
	if elevator_thread_running; then
		# A thread that outlives its module runs freed code when it next
		# wakes (within its longest sleep): wait for that, and half a
		# second more, so that the crash, if any, lands in this test and
		# not in a later one.
		local ms=2000
		[[ -s $SLEEP_FILE ]] && read -r ms <"$SLEEP_FILE"
		ms=$((ms + 500))
		sleep "$((ms / 1000)).$(printf '%03d' $((ms % 1000)))"
		fail_because "the elevator thread still runs $1: stop it with kthread_stop() in the exit function"
		return 1
	fi
}

# kmalloc_objects: objects in use in all kmalloc caches (passengers among them).
kmalloc_objects() {
	awk '$1 ~ /^kmalloc-/ { sum += $2 } END { print sum + 0 }' /proc/slabinfo
}

# heavy_workload: record the heavy workload once per VM, into $TRACE.
heavy_workload() {
	[[ -s $TRACE ]] && return 0
	load_module "$MOD" "${FAST[@]}" || return 1
	$HIDDEN workload "$TRACE"
	unload_module "$MOD"
}

setup() {
	kmod_setup
}

teardown() {
	kmod_teardown "$MOD"
}

# grade: points=5 visibility=public
@test "elevator.ko and the tools build without errors" {
	build_succeeded "$MOD.ko" elevator-ctl producer
}

# grade: points=5 visibility=public
@test "insmod loads elevator with and without floor_ms and load_ms, rmmod unloads it" {
	load_module "$MOD"
	unload_module "$MOD"
	load_module "$MOD" floor_ms=300 load_ms=70
	local name want got
	for name in floor_ms load_ms; do
		want=300
		[[ $name == load_ms ]] && want=70
		got=$(cat "/sys/module/$MOD/parameters/$name" 2>/dev/null) ||
			fail_because "/sys/module/$MOD/parameters/$name cannot be read: declare it with module_param($name, uint, 0444)"
		[[ $got == "$want" ]] ||
			fail_because "insmod ... $name=$want, but /sys/module/$MOD/parameters/$name says '$got'"
	done
	unload_module "$MOD"
}

# grade: points=5 visibility=public
@test "insmod creates /dev/elevator (mode 0666), /proc/elevator (mode 0444) and the elevator thread" {
	load_module "$MOD"
	[[ -e /dev/elevator ]] ||
		fail_because "no /dev/elevator after insmod: create it with alloc_chrdev_region(), cdev_add(), class_create() and device_create()"
	[[ -c /dev/elevator ]] || fail_because "/dev/elevator is not a character device"
	local mode
	mode=$(stat -c %a /dev/elevator)
	[[ $mode == 666 ]] ||
		fail_because "/dev/elevator has mode $mode, expected 666: set *mode = 0666 in the class's devnode callback"
	[[ -e /proc/elevator ]] ||
		fail_because "no /proc/elevator after insmod: create it with proc_create() in the init function"
	mode=$(stat -c %a /proc/elevator)
	[[ $mode == 444 ]] || fail_because "/proc/elevator has mode $mode, expected 444"
	run setpriv --reuid=65534 --regid=65534 --clear-groups cat /proc/elevator
	[[ $status -eq 0 ]] || fail_because "an ordinary user cannot read /proc/elevator: $output"
	local thread name
	thread=$(module_thread) ||
		fail_because "no kernel thread runs the module's code after insmod: start the thread with kthread_run(fn, NULL, \"elevator\") in the init function"
	name=${thread#* }
	if [[ $name != elevator ]]; then
		[[ $name =~ ^[A-Za-z0-9_.:-]{1,15}$ ]] || name="another name"
		echo "@@info note (no points taken): the elevator's thread is named $name, not elevator (kthread_run(fn, NULL, \"elevator\") in the handout)" >&3
	fi
}

# grade: points=5 visibility=public
@test "right after insmod /proc/elevator shows exactly the empty building, OFFLINE at floor 1" {
	load_module "$MOD"
	$CHECK initial
}

# grade: points=5 visibility=public
@test "requests made while OFFLINE are listed exactly, on their floors in arrival order" {
	load_module "$MOD"
	$CHECK offline 7 30
}

# grade: points=5 visibility=public
@test "START, STOP and REQUEST return 0, EALREADY or EINVAL as the handout says" {
	load_module "$MOD" "${FAST[@]}"
	$CHECK errnos
}

# grade: points=5 visibility=public timeout=90 wait=1
@test "one passenger from floor 1 to 3: LOADING, UP, UP, LOADING, then IDLE with 1 serviced" {
	load_module "$MOD" floor_ms=300 load_ms=200
	$CHECK journey
}

# grade: points=5 visibility=public
@test "rmmod removes /dev/elevator, /proc/elevator and the thread, and each insmod starts afresh (3 times)" {
	local i
	for i in 1 2 3; do
		load_elevator "${FAST[@]}" || fail_because "load number $i failed"
		$CHECK fresh || fail_because "(after load number $i)"
		if [[ -e /dev/elevator ]]; then
			"$CTL" request 1 2 B >/dev/null 2>&1 || true
		fi
		unload_module "$MOD" || fail_because "unload number $i failed"
		entries_are_gone "after unload number $i" || return 1
	done
}

# grade: points=5 visibility=hidden
@test "a refused request changes nothing, unknown commands fail with ENOTTY, bad pointers with EFAULT" {
	load_module "$MOD" "${FAST[@]}"
	$HIDDEN errnos-more
}

# grade: points=5 visibility=hidden timeout=150
@test "heavy workload: never more passengers or weight on board than the limits" {
	heavy_workload
	$HIDDEN limits "$TRACE"
}

# grade: points=5 visibility=hidden timeout=150
@test "heavy workload: every read is consistent (load, counts and lists agree) and nobody is lost" {
	heavy_workload
	$HIDDEN consistent "$TRACE"
}

# grade: points=5 visibility=hidden timeout=150
@test "heavy workload: passengers board on their floor in arrival order and get off at their destination" {
	heavy_workload
	$HIDDEN boarding "$TRACE"
}

# grade: points=5 visibility=hidden timeout=150
@test "heavy workload: the elevator moves one floor at a time, each taking floor_ms" {
	heavy_workload
	$HIDDEN moves "$TRACE"
}

# grade: points=5 visibility=hidden timeout=150
@test "heavy workload: everyone is delivered in time, then the elevator is IDLE" {
	heavy_workload
	run $HIDDEN delivered "$TRACE"
	printf '%s\n' "$output"
	# Throughput and mean wait, for the report (no points).
	local info
	info=$(grep '^informational' <<<"$output" || true)
	[[ -z $info ]] || echo "@@info $info" >&3
	[[ $status -eq 0 ]]
}

# grade: points=5 visibility=hidden timeout=90 wait=1.6
@test "STOP: nobody boards, everyone on board is delivered, then OFFLINE, and START serves the rest" {
	load_module "$MOD" floor_ms=300 load_ms=100
	$HIDDEN stop
}

# grade: points=5 visibility=hidden timeout=90 wait=6
@test "at the default floor_ms and load_ms, the trip from floor 1 to 3 takes the real time" {
	load_module "$MOD"
	$HIDDEN realtime
}

# grade: points=5 visibility=hidden timeout=120
@test "concurrent producers and readers: no deadlock, no lost passenger, every read consistent" {
	load_module "$MOD" floor_ms=10 load_ms=5
	$HIDDEN concurrent
}

# grade: points=5 visibility=hidden timeout=90 wait=1.1
@test "rmmod mid-trip is prompt, stops the thread, removes both entries and frees every passenger" {
	local before after took started
	before=$(kmalloc_objects)
	load_elevator floor_ms=$MIDTRIP_FLOOR_MS load_ms=100
	"$PRODUCER" -n 2000 -s 11 >/dev/null ||
		fail_because "the producer could not add 2000 waiting passengers"
	$HIDDEN midtrip
	started=$(date +%s%N)
	unload_module "$MOD"
	took=$((($(date +%s%N) - started) / 1000000))
	echo "rmmod took $took ms with the elevator moving (floor_ms=$MIDTRIP_FLOOR_MS)"
	entries_are_gone "after rmmod" || return 1
	((took < RMMOD_PROMPT_MS)) ||
		fail_because "rmmod took $took ms in the middle of a $MIDTRIP_FLOOR_MS ms move: the thread must notice kthread_stop() at once, also while it sleeps for floor_ms (see the handout: sleeping)"
	sleep 1
	after=$(kmalloc_objects)
	echo "kmalloc objects in use: $before before insmod, $after after rmmod"
	((after - before < 1000)) ||
		fail_because "$((after - before)) more kmalloc objects in use after rmmod than before insmod, with 2001 passengers left in the module: kfree() every passenger, waiting or on board, in the exit function"
}

# grade: points=5 visibility=hidden
@test "rmmod fails while /dev/elevator is open and works once it is closed" {
	load_elevator "${FAST[@]}"
	[[ -e /dev/elevator ]] || fail_because "no /dev/elevator to open"
	local fd
	exec {fd}</dev/elevator
	run timeout 20 rmmod "$MOD"
	if [[ $status -eq 0 ]]; then
		exec {fd}<&-
		fail_because "rmmod succeeded while /dev/elevator was open: set .owner = THIS_MODULE in the file_operations, so that an open device holds the module"
		return 1
	fi
	echo "rmmod while open: $output"
	is_loaded "$MOD" || fail_because "the module is gone although rmmod failed"
	[[ -e /proc/elevator ]] || fail_because "/proc/elevator disappeared although rmmod failed"
	exec {fd}<&-
	unload_module "$MOD"
	entries_are_gone "after rmmod"
}

# grade: points=5 visibility=public after-crash=fail
@test "the kernel log shows no oops, BUG, WARNING or flood, and no taint but O and E" {
	require_built "$MOD"
	kernel_log_is_clean
}
