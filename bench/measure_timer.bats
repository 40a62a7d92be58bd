#!/usr/bin/env bats
# Not a grading suite: bench/bench.py runs it in the VM to measure how the
# reference's elapsed times sit against the real time between reads.
load /job/lib/kmod

@test "measure /proc/timer elapsed against the clock" {
	load_module my_timer
	python3 "$BATS_TEST_DIRNAME/timer_hidden.py" measure >&3
	unload_module my_timer
}
