#!/usr/bin/env bash
# `make gradescope`, then what Gradescope does with the zip, here:
#  1. unpack it in AUTOGRADER/source, run setup.sh as root with only Docker's
#     default capabilities (no mount, so no /proc in the Debian tree it
#     makes; no KVM here either), importing the course environment from an
#     image this machine's `make image` wrote (the route that keeps one
#     environment for a term: the grades are those of the same bits);
#  2. put a submission in AUTOGRADER/submission and run run_autograder the
#     same way, for four uploads:
#     - the reference solutions put in the starter kit, packed by its
#       `make submit`: full marks (the starter-kit self-test leaves the
#       grading of that tarball to this one);
#     - part 2 alone, packed by the kit's `make submit PART=2`, to a part-2
#       autograder: part 2's full marks;
#     - part 2 uploaded as loose files (my_timer.c, Makefile) to a part-2
#       autograder, with a Makefile that looks for the hidden tests and the
#       grader while it builds: full marks, and it found nothing;
#     - a file that is not a tar archive: every test failed with the reason;
#  3. nothing is left running.
#
# usage: check_gradescope.sh [--dir DIR]   (keep everything in DIR, reuse it)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
# Docker's default capability set (what a Gradescope container has).
DOCKER_CAPS=-all,+chown,+dac_override,+fsetid,+fowner,+mknod,+net_raw,+setgid,+setuid
DOCKER_CAPS+=,+setfcap,+setpcap,+net_bind_service,+sys_chroot,+kill,+audit_write
# A line of part 2's hidden tests that a build must not be able to read.
# shellcheck disable=SC2016
HIDDEN_LINE='$HIDDEN tiny'
failures=0
checks=0

work=""
keep=0
if [[ ${1:-} == --dir ]]; then
	work=$(realpath -m "${2:?--dir DIR}")
	keep=1
	mkdir -p "$work"
else
	work=$(mktemp -d /tmp/kmod-gradescope.XXXXXX)
fi
ag=$work/autograder
tree=$work/tree

cleanup() {
	[[ $keep -eq 1 ]] || rm -rf "$work"
}
trap cleanup EXIT

check() { # check DESCRIPTION COMMAND...: the command must succeed
	local what=$1
	shift
	checks=$((checks + 1))
	if "$@"; then
		echo "ok     $what"
	else
		echo "WRONG  $what"
		failures=$((failures + 1))
	fi
}

as_gradescope() {
	setpriv --bounding-set "$DOCKER_CAPS" --inh-caps -all -- \
		env AUTOGRADER_DIR="$ag" KMOD_GS_ROOT="$tree" "$@"
}

# score FILE: "SCORE/MAX failed=N" from a results.json
score() {
	python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
most = sum(t["max_score"] for t in r["tests"])
failed = [t for t in r["tests"] if t["status"] != "passed"]
score = r["score"]
print(f"{score:g}/{most:g} failed={len(failed)}")' "$1"
}

# grade NAME CONF: run_autograder on what is in $ag/submission with the
# parts of gradescope.conf CONF; results in $work/NAME.json, output in NAME.log.
grade() {
	local name=$1 conf=$2
	cp "$conf" "$ag/source/gradescope.conf"
	rm -rf "$ag/results"
	as_gradescope bash "$ag/run_autograder" >"$work/$name.log" 2>&1 || {
		tail -n 20 "$work/$name.log"
		return 1
	}
	cp "$ag/results/results.json" "$work/$name.json"
}

setup() {
	as_gradescope env KMOD_GS_IMAGE="$work/course-env.tar.zst" \
		bash "$ag/source/setup.sh" >"$work/setup.log" 2>&1 || {
		tail -n 30 "$work/setup.log"
		return 1
	}
}

upload() { # upload FILE...: what the student uploads, nothing else
	rm -rf "$ag/submission"
	mkdir -p "$ag/submission"
	cp "$@" "$ag/submission/"
}

reference_tarball() { # the reference solutions, packed by the kit's make submit
	local kit=$work/starter part
	rm -rf "$kit"
	python3 "$root/scripts/release.py" --out "$work/starter.tar.gz" >/dev/null
	tar -xzf "$work/starter.tar.gz" -C "$work"
	for part in "$kit"/part*_*/; do
		part=$(basename "$part")
		cp "$root/$part/solution/"* "$kit/$part/"
	done
	make -C "$kit" submit >"$work/submit.log" 2>&1 || {
		cat "$work/submit.log"
		return 1
	}
	cp "$kit/submission.tar.gz" "$work/submission.tar.gz"
	make -C "$kit" submit PART=2 >>"$work/submit.log" 2>&1 || {
		cat "$work/submit.log"
		return 1
	}
	cp "$kit/submission-part2.tar.gz" "$work/submission-part2.tar.gz"
}

left_running() { # anything still running in the tree (qemu, a build), or as a build user
	local proc uid found=1 root
	for proc in /proc/[0-9]*; do
		root=$(readlink "$proc/root" 2>/dev/null) || continue
		if [[ $root == "$tree" || $root == "$tree"/* ]]; then
			ps -o pid=,user=,args= -p "${proc#/proc/}" && found=0
		fi
	done
	for ((uid = 61000; uid < 61064; uid++)); do
		pgrep -a -u "$uid" && found=0
	done
	return "$found"
}

nothing_left_running() {
	! left_running
}

main() {
	python3 "$root/scripts/gradescope.py" --out "$work/autograder.zip"
	python3 "$root/scripts/gradescope.py" --parts 2 --out "$work/autograder-part2.zip" >/dev/null
	rm -rf "$ag"
	mkdir -p "$ag/source" "$ag/submission"
	(cd "$ag/source" && unzip -q "$work/autograder.zip")
	cp "$ag/source/run_autograder" "$ag/run_autograder"
	cp "$ag/source/gradescope.conf" "$work/all-parts.conf"
	unzip -p "$work/autograder-part2.zip" gradescope.conf >"$work/part2.conf"

	check "make image writes the course environment and its sha256" \
		bash "$root/vm/env.sh" image "$work/course-env.tar.zst"
	local started=$SECONDS
	check "setup.sh imports the image and builds the tree and the VM with Docker's capabilities" setup
	echo "       (setup.sh: $((SECONDS - started)) s)"
	check "the tree has no /proc (the container could not mount it)" \
		test ! -e "$tree/proc/self"
	check "the tree grades with the imported image's kernel" \
		grep -qx "SOURCE=image sha256:$(cut -d' ' -f1 "$work/course-env.tar.zst.sha256")" \
		"$tree/var/cache/kmod-course/env/$(basename "$(bash "$root/vm/env.sh" dir)")/env.conf"

	check "the starter kit's make submit packs the reference solutions" reference_tarball
	upload "$work/submission.tar.gz"
	started=$SECONDS
	check "run_autograder grades make submit's tarball of the reference" grade reference "$work/all-parts.conf"
	echo "       (run_autograder, 3 parts: $((SECONDS - started)) s)"
	check "the reference gets full marks on Gradescope" \
		grep -qx '300/300 failed=0' <(score "$work/reference.json" 2>&1)

	# Part 2 in its week: the kit's make submit PART=2, to the part-2 autograder.
	upload "$work/submission-part2.tar.gz"
	check "run_autograder grades make submit PART=2's tarball" grade part2-tarball "$work/part2.conf"
	check "which gets part 2's full marks" grep -qx '100/100 failed=0' <(score "$work/part2-tarball.json" 2>&1)

	# Part 2 as loose files, with a Makefile that snoops while kbuild reads it.
	cp "$root/part2_timer/solution/my_timer.c" "$work/my_timer.c"
	# shellcheck disable=SC2016
	{
		cat "$root/part2_timer/Makefile"
		echo '$(info SNOOP tests: $(shell cat /opt/kmod-course/part2_timer/tests/part2_timer.bats ../tests/part2_timer.bats 2>&1 | head -c 2000))'
		echo '$(info SNOOP found: $(shell find / -name "*.bats" -not -path "/proc/*" 2>/dev/null | head -n 20))'
	} >"$work/Makefile"
	upload "$work/my_timer.c" "$work/Makefile"
	check "run_autograder grades part 2 uploaded as loose files" grade loose "$work/part2.conf"
	check "loose files get part 2's full marks" grep -qx '100/100 failed=0' <(score "$work/loose.json" 2>&1)
	local build_log=$tree/tmp/gradescope/out/submission/logs/part2_timer/build.log
	check "the build ran the snooping Makefile" grep -q 'SNOOP tests:' "$build_log"
	check "the build could not read the hidden tests" bash -c "! grep -qF '$HIDDEN_LINE' '$build_log'"
	check "the build could not see the grader's files (outside its root)" \
		grep -q "/opt/kmod-course/part2_timer/tests/part2_timer.bats: No such file" "$build_log"

	echo "this is not a tar archive" >"$work/garbage.tar.gz"
	upload "$work/garbage.tar.gz"
	check "run_autograder grades an upload that is not a tar archive" grade garbage "$work/all-parts.conf"
	check "which fails every test and says why" grep -q 'is not a readable tar archive' "$work/garbage.json"
	check "and scores 0" grep -qx '0/300 failed=[1-9][0-9]*' <(score "$work/garbage.json" 2>&1)

	check "nothing is left running" nothing_left_running
	echo "gradescope: $((checks - failures)) passed, $failures failed"
	((failures == 0))
}

main "$@"
