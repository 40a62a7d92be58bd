#!/usr/bin/env bats
# Not a grading suite: bench/detection.py runs it in the VM to see, run after
# run, whether part 2's elapsed, difference and race checks pass, each on a
# fresh load (RUNS is set by detection.py).
load /job/lib/kmod

HIDDEN="python3 $BATS_TEST_DIRNAME/timer_hidden.py"

@test "measure the checks" {
	local i check result
	for ((i = 1; i <= ${RUNS:-20}; i++)); do
		for check in elapsed difference; do
			load_module my_timer
			if $HIDDEN "$check" >/dev/null 2>&1; then result=pass; else result=fail; fi
			echo "MEASURE run=$i check=$check result=$result" >&3
			unload_module my_timer
		done
		load_module my_timer
		echo "MEASURE run=$i check=concurrent $($HIDDEN measure_races | sed 's/^MEASURE //')" >&3
		unload_module my_timer
	done
}
