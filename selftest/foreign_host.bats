#!/usr/bin/env bats
# The starter kit on a host that is not the grader's: a Debian trixie tree
# (selftest/foreign_host_tree.sh: its own apt state, its own newer
# linux-headers-amd64 and gcc) entered as a machine of its own (the root of
# a mount namespace of its own, with /proc, /sys and /dev). The student there
# installs what the kit asks for, imports the course's image (made on this
# host by `make image`), and runs `make check` on part 2's reference
# solution. It must build against the pinned kernel, boot the pinned kernel,
# and give exactly the verdicts this host's `make check` gives.
#
# usage: bats selftest/foreign_host.bats
#   KMOD_FOREIGN_DIR=DIR keeps the tree in DIR and reuses it (faster reruns)

bats_require_minimum_version 1.5.0

FOREIGN_SUITE=trixie # (as selftest/foreign_host_tree.sh makes it)

setup_file() {
	export ROOT_DIR
	ROOT_DIR=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
	export WORK=${KMOD_FOREIGN_DIR:-$BATS_FILE_TMPDIR/foreign}
	export HOST=$WORK/host
	mkdir -p "$WORK"
	export COURSE_ENV
	COURSE_ENV=$(bash "$ROOT_DIR/vm/env.sh" dir)
	bash "$ROOT_DIR/selftest/foreign_host_tree.sh" "$HOST"
	kit_with_reference "$WORK/kit.tar.gz"
	bash "$ROOT_DIR/vm/env.sh" image "$HOST/image.tar.zst" >/dev/null
	# This host's verdicts, graded while the foreign host installs the
	# kit's packages (two VMs at most at once: this one, then the other's).
	rm -rf "$WORK/hostkit"
	mkdir -p "$WORK/hostkit"
	tar -xzf "$WORK/kit.tar.gz" -C "$WORK/hostkit"
	make -C "$WORK/hostkit/starter/part2_timer" check >"$WORK/host-check.txt" 2>&1 &
	local host_check=$!
	# The foreign host's: the kit's own install-deps, the image, make check.
	rm -rf "$HOST/home/student"
	mkdir -p "$HOST/home/student"
	tar -xzf "$WORK/kit.tar.gz" -C "$HOST/home/student"
	bash "$ROOT_DIR/selftest/foreign_host_tree.sh" "$HOST" --run sh -c 'cd /home/student/starter &&
		bash scripts/install-deps.sh &&
		make import-image FILE=/image.tar.zst &&
		make -C part2_timer check' >"$WORK/foreign-check.txt" 2>&1 || true
	wait "$host_check" || true
}

# The released kit with part 2's reference solution in it.
kit_with_reference() {
	local out=$1 tmp
	tmp=$(mktemp -d)
	python3 "$ROOT_DIR/scripts/release.py" --out "$tmp/starter.tar.gz" >/dev/null
	tar -xzf "$tmp/starter.tar.gz" -C "$tmp"
	cp "$ROOT_DIR/part2_timer/solution/"* "$tmp/starter/part2_timer/"
	tar -czf "$out" -C "$tmp" starter
	rm -rf "$tmp"
}

# verdicts FILE: "test-name status score" per test of a make check's results.
verdicts() {
	python3 -c '
import json, sys
for t in json.load(open(sys.argv[1]))["tests"]:
    print(t["name"], t.get("status"), t.get("score"))' "$1"
}

# The kernel release the foreign host's own linux-headers-amd64 points at.
their_kernel() {
	# shellcheck disable=SC2016 # (a dpkg-query format)
	chroot "$HOST" dpkg-query -W -f='${Depends}' linux-headers-amd64 | sed 's/^linux-headers-//; s/[ ,].*//'
}

foreign_results() { echo "$HOST/home/student/starter/.check/part2_timer/results.json"; }
host_results() { echo "$WORK/hostkit/starter/.check/part2_timer/results.json"; }

@test "the foreign host is another Debian release, with its own newer kernel headers" {
	grep -qx "VERSION_CODENAME=$FOREIGN_SUITE" "$HOST/etc/os-release"
	local theirs ours
	theirs=$(their_kernel)
	ours=$(sed -n 's/^KVER=//p' "$COURSE_ENV/env.conf")
	echo "foreign host's linux-headers-amd64: $theirs; the course's kernel: $ours"
	[[ -n $theirs && $theirs != "$ours" ]]
}

@test "make check ran there and the reference passed every public test" {
	cat "$WORK/foreign-check.txt"
	[[ -f $(foreign_results) ]]
	run verdicts "$(foreign_results)"
	[[ $output != *failed* ]]
	[[ $output == *passed* ]]
}

@test "it built against the pinned kernel's headers, not the host's own" {
	local kver log
	kver=$(sed -n 's/^KVER=//p' "$COURSE_ENV/env.conf")
	log=$HOST/home/student/starter/.check/part2_timer/logs/build.log
	grep -q "make -C /usr/src/linux-headers-$kver " "$log"
	# The host's own headers are another release's, and unused.
	run ! grep -q "linux-headers-$(their_kernel)" "$log"
}

@test "it booted the pinned kernel" {
	local kver
	kver=$(sed -n 's/^KVER=//p' "$COURSE_ENV/env.conf")
	grep -aq "Linux version $kver " "$HOST/home/student/starter/.check/part2_timer/logs/round1.dmesg"
}

@test "its verdicts are this host's, test by test" {
	local ours theirs
	# Both must exist and say something: two missing files must not compare equal.
	ours=$(verdicts "$(host_results)")
	theirs=$(verdicts "$(foreign_results)")
	[[ $ours == *passed* ]]
	diff <(echo "$ours") <(echo "$theirs")
}

@test "the environment there is the image's, byte for byte (same sha256)" {
	local sha
	sha=$(cut -d' ' -f1 "$HOST/image.tar.zst.sha256")
	grep -qx "SOURCE=image sha256:$sha" "$HOST/var/cache/kmod-course/env/$(basename "$COURSE_ENV")/env.conf"
}
