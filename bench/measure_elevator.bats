#!/usr/bin/env bats
# Not a grading suite: bench/bench.py runs it in the VM with the reference
# elevator to measure what part 3's tolerances rest on: how late /proc shows
# the events of the real-time trip, the workload's duration, throughput and
# mean wait, and rmmod mid-trip (time and kmalloc objects).
load /job/lib/kmod

HIDDEN="python3 $BATS_TEST_DIRNAME/elevator_hidden.py"

kmalloc_objects() {
	awk '$1 ~ /^kmalloc-/ { sum += $2 } END { print sum + 0 }' /proc/slabinfo
}

@test "measure the elevator's timing" {
	local before started took
	for _ in 1 2 3; do
		load_module elevator
		$HIDDEN realtime | sed -n 's/^\(floor\|serviced\|IDLE\)/MEASURE realtime: \1/p' >&3
		unload_module elevator
	done
	load_module elevator floor_ms=100 load_ms=50
	$HIDDEN workload /tmp/workload.trace | sed 's/^/MEASURE /' >&3
	$HIDDEN delivered /tmp/workload.trace | sed 's/^/MEASURE /' >&3
	unload_module elevator
	for _ in 1 2 3; do
		before=$(kmalloc_objects)
		load_module elevator
		$HIDDEN midtrip >/dev/null
		"$KMOD_BUILD/producer" -n 2000 -s 11 >/dev/null
		started=$(date +%s%N)
		unload_module elevator
		took=$((($(date +%s%N) - started) / 1000000))
		sleep 1
		echo "MEASURE rmmod mid-trip: $took ms; kmalloc objects $((
			$(kmalloc_objects) - before)) more than before insmod" >&3
	done
}
