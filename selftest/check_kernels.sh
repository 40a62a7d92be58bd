#!/usr/bin/env bash
# The kernel matrix: the course can choose another kernel series than its
# default (course.conf COURSE_KERNEL). For each series given, a course.conf
# that differs from the course's only in COURSE_KERNEL, its environment made
# (vm/env.sh), and the reference solutions (full marks) and the skeletons
# (their baseline) of every part graded on it. The variant self-tests run on
# the default kernel only (make selftest).
#
# usage: check_kernels.sh [--jobs N] SERIES...   e.g. check_kernels.sh 6.12
#        check_kernels.sh --prepare SERIES...     only make the environments
#                                                 (downloads: make test does it early)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
jobs=$(nproc)
prepare=0
while [[ ${1:-} == --* ]]; do
	case $1 in
	--jobs)
		jobs=${2:?--jobs N}
		shift 2
		;;
	--prepare)
		prepare=1
		shift
		;;
	*) break ;;
	esac
done
[[ $# -ge 1 ]] || {
	echo "usage: check_kernels.sh [--jobs N | --prepare] SERIES..." >&2
	exit 2
}

# course_conf SERIES: the course's course.conf with another COURSE_KERNEL.
course_conf() {
	local out=$1 series=$2
	mkdir -p "$out"
	sed "s/^COURSE_KERNEL=.*/COURSE_KERNEL=$series/" "$root/course.conf" >"$out/course.conf"
	grep -qx "COURSE_KERNEL=$series" "$out/course.conf" || {
		echo "check_kernels: course.conf has no COURSE_KERNEL line" >&2
		exit 2
	}
}

if [[ $prepare -eq 1 ]]; then
	for series in "$@"; do
		course_conf "$root/selftest/out-kernel-$series" "$series"
		KMOD_COURSE_CONF=$root/selftest/out-kernel-$series/course.conf bash "$root/vm/env.sh" dir >/dev/null
	done
	exit 0
fi

failures=0
for series in "$@"; do
	out=$root/selftest/out-kernel-$series
	rm -rf "$out"
	course_conf "$out" "$series"
	started=$SECONDS
	export KMOD_COURSE_CONF=$out/course.conf
	env_dir=$(bash "$root/vm/env.sh" dir)
	echo "kernel $series: $(sed -n 's/^KVER=//p' "$env_dir/env.conf") (environment ready in $((SECONDS - started)) s)"
	started=$SECONDS
	python3 "$root/selftest/check_grader.py" --baseline --jobs "$jobs" --out "$out/grades" || failures=$((failures + 1))
	echo "kernel $series: references and skeletons graded in $((SECONDS - started)) s"
	unset KMOD_COURSE_CONF
done
((failures == 0))
