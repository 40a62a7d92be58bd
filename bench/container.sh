#!/usr/bin/env bash
# Grade the reference submission inside the container a course actually
# gets: a cgroup with CPU_PERCENT of one CPU and MEMORY_MB of memory
# (Gradescope's default: 50 and 768), with as many VMs at a time as
# gradescope/run_autograder gives that container (its vm_slots, run here). Prints the wall time, the score, the cgroup's peak memory
# and how each VM ended; fails when the submission is not graded in full
# within LIMIT seconds (Gradescope's default limit: 600).
#
# With --variant PATCH (a patch to part 2's reference, bench/variants/),
# that one part is graded instead, and must be graded: a grader error or a
# VM killed from outside fails, lost points do not.
#
# usage: container.sh [--cpu PERCENT] [--memory MB] [--limit SECONDS] [--out DIR] [--variant PATCH]
# Needs root and a cgroup filesystem (v1 or v2) this process may write.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cpu_percent=50
memory_mb=768
limit=600
out=""
variant=""
group=kmod-container-$$
made=()

die() {
	printf 'container.sh: %s\n' "$*" >&2
	exit 2
}

# own_cgroup [CONTROLLER]: this process's cgroup folder (v2), or its
# folder in CONTROLLER's hierarchy (v1), found by run_autograder's own rule
# (its cgroup_file).
own_cgroup() {
	local procs
	procs=$(bash -c 'source "$1" && cgroup_file "$2" cgroup.procs cgroup.procs' own_cgroup \
		"$root/gradescope/run_autograder" "${1:-memory}") || die "no ${1:-} cgroup of this process"
	dirname "$procs"
}

make_group() {
	local quota=$((cpu_percent * 1000)) bytes=$((memory_mb * 1024 * 1024)) dir
	if [[ -f /sys/fs/cgroup/cgroup.controllers ]]; then
		dir=$(own_cgroup)/$group
		mkdir "$dir" && made+=("$dir")
		echo "$quota 100000" >"$dir/cpu.max"
		echo "$bytes" >"$dir/memory.max"
		echo 0 >"$dir/memory.swap.max" 2>/dev/null || true
		echo $$ >"$dir/cgroup.procs"
		peak_file=$dir/memory.peak
		return
	fi
	dir=$(own_cgroup cpu)/$group
	mkdir "$dir" && made+=("$dir")
	echo 100000 >"$dir/cpu.cfs_period_us"
	echo "$quota" >"$dir/cpu.cfs_quota_us"
	echo $$ >"$dir/cgroup.procs"
	dir=$(own_cgroup memory)/$group
	mkdir "$dir" && made+=("$dir")
	echo "$bytes" >"$dir/memory.limit_in_bytes"
	echo $$ >"$dir/cgroup.procs"
	peak_file=$dir/memory.max_usage_in_bytes
}

cleanup() {
	local dir parent
	for dir in "${made[@]}"; do
		# Back to the parent group, so that the folder can go.
		parent=$(dirname "$dir")
		echo $$ >"$parent/cgroup.procs" 2>/dev/null || true
		rmdir "$dir" 2>/dev/null || true
	done
	[[ -n $out_given ]] || rm -rf "$out"
}

main() {
	while [[ $# -gt 0 ]]; do
		case $1 in
		--cpu) cpu_percent=${2:?} && shift 2 ;;
		--memory) memory_mb=${2:?} && shift 2 ;;
		--limit) limit=${2:?} && shift 2 ;;
		--out) out=${2:?} && shift 2 ;;
		--variant) variant=$(realpath "${2:?}") && shift 2 ;;
		*) die "usage: $0 [--cpu PERCENT] [--memory MB] [--limit SECONDS] [--out DIR] [--variant PATCH]" ;;
		esac
	done
	[[ $(id -u) -eq 0 ]] || die "run it as root (it makes a cgroup)"
	out_given=$out
	[[ -n $out ]] || out=$(mktemp -d /tmp/kmod-container.XXXXXX)
	mkdir -p "$out"
	trap cleanup EXIT
	# Prepared outside the limits: Gradescope's image has it made already.
	bash "$root/scripts/install-deps.sh"
	python3 -c "import sys; sys.path.insert(0, '$root/grader'); import vm; vm.read_assets()" >/dev/null
	make_group
	local start status=0 seconds plan slots guest cache name=reference
	local -a what=(--reference)
	if [[ -n $variant ]]; then
		python3 -c 'import sys; sys.path.insert(0, sys.argv[1]); import check_grader
check_grader.make_variant("part2_timer", sys.argv[2], sys.argv[3])' \
			"$root/selftest" "$variant" "$out/src/part2_timer"
		name=variant what=(--parts 2 --name variant "$out/src")
	fi
	# run_autograder's own plan for this container (its vm_plan, run here).
	plan=$(bash -c 'source "$1" && GRADER=$2 && grader_python() { python3 "$@"; } && vm_plan' \
		vm_plan "$root/gradescope/run_autograder" "$root") || die "no VM fits this container"
	read -r slots guest cache <<<"$plan"
	echo "container.sh: ${cpu_percent}% of a CPU, ${memory_mb} MB: $slots VM(s) at a time, $guest MB + $cache MB each"
	start=$(date +%s.%N)
	KMOD_VM_MEMORY_MB=$guest KMOD_VM_TB_MB=$cache python3 "$root/grader/cli.py" "${what[@]}" \
		--jobs "$slots" --out "$out" >"$out/grade.log" 2>&1 || status=$?
	seconds=$(echo "$(date +%s.%N) - $start" | bc)
	python3 "$root/bench/container_report.py" "$out/$name" "$seconds" "$limit" "$status" \
		"$(cat "$peak_file")" "$memory_mb" ${variant:+--graded-only}
}

main "$@"
