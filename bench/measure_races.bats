#!/usr/bin/env bats
# Not a grading suite: bench/detection.py runs it in the VM to count what
# part 2's race check finds in RACE_RUNS runs of it, each on a fresh load.
load /job/lib/kmod

@test "measure the race check" {
	local i
	for ((i = 1; i <= ${RACE_RUNS:-20}; i++)); do
		load_module my_timer
		python3 "$BATS_TEST_DIRNAME/timer_hidden.py" measure_races >&3
		unload_module my_timer
	done
}
