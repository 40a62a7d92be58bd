"""vm/guest/run-suite.bash against bats itself: on a suite that uses what
the grading suites use (setup, teardown, run, load, skip, fd 3, set -e, a
filter), both print the same TAP, apart from timings and the failure trace
lines, and exit with the same status."""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
RUNNER = os.path.join(ROOT, "vm", "guest", "run-suite.bash")
sys.path.insert(0, os.path.join(ROOT, "grader"))
import tap  # noqa: E402

HELPER = r'''
helper_says() { echo "helper: $*"; }
fails_quietly() { return 3; }
'''

SUITE = r'''#!/usr/bin/env bats
load helper
COUNTER_FILE=$BATS_TMPDIR/counter.$$
TOP=top-level

setup() {
	echo "setup of '$BATS_TEST_DESCRIPTION'"
	[[ $BATS_TEST_DESCRIPTION != "setup fails here" ]]
}

teardown() {
	echo "teardown sees ${SET_BY_TEST:-nothing}"
	[[ $BATS_TEST_DESCRIPTION != "teardown fails here" ]]
}

@test "passes, and its output is not shown" {
	echo "you do not see this"
	[[ $TOP == top-level ]]
}

@test "fails in the middle under set -e" {
	echo "before the failure"
	SET_BY_TEST=yes
	[[ 1 -eq 2 ]]
	echo "never printed"
}

@test "fails on its last command with stderr" {
	echo "to stderr" >&2
	fails_quietly
}

@test "run keeps status, output and lines" {
	run bash -c 'echo one; echo; echo two >&2; exit 7'
	[[ $status -eq 7 ]]
	[[ $output == $'one\n\ntwo' ]]
	[[ ${#lines[@]} -eq 2 && ${lines[1]} == two ]]
	run true
	[[ $status -eq 0 && -z $output ]]
	helper_says "loaded from $BATS_TEST_DIRNAME"
	false
}

@test "writes on fd 3 and passes" {
	echo "@@info a note for the host" >&3
}

@test "setup fails here" {
	echo "the body does not run"
}

@test "teardown fails here" {
	SET_BY_TEST=this-test
	echo "body ran"
}

@test "skipped with a reason" {
	skip "no module loaded"
	false
}

@test "skipped without one" {
	skip
}

@test "a failure inside if and || does not end it" {
	if false; then echo no; fi
	false || true
	! false
	x=$(false) || echo "substitution failed"
	echo "made it"
	exit 4
}

@test 'single-quoted title (with [regex] chars?)' {
	[[ $BATS_TEST_NUMBER -ge 1 ]]
}
'''

TIMING = re.compile(r" in \d+ms")


def normalise(text):
    """TAP without timings or bats' trace lines (the host drops both)."""
    kept = []
    for line in text.splitlines():
        if line.startswith("# ") and tap.TRACE.match(line[2:]):
            continue
        kept.append(TIMING.sub(" in Nms", line))
    return kept


@unittest.skipUnless(shutil.which("bats"), "bats is installed by make deps")
class RunSuiteTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="kmod-run-suite-")
        self.suite = os.path.join(self.tmp, "toy.bats")
        with open(self.suite, "w") as f:
            f.write(SUITE)
        with open(os.path.join(self.tmp, "helper.bash"), "w") as f:
            f.write(HELPER)

    def tearDown(self):
        shutil.rmtree(self.tmp)

    def both(self, *args):
        env = dict(os.environ, TMPDIR=self.tmp)
        runs = []
        for cmd in (["bats", "--tap", "--timing", *args, self.suite],
                    ["bash", RUNNER, *args, self.suite]):
            proc = subprocess.run(cmd, cwd=self.tmp, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True, env=env, timeout=120)
            runs.append(proc)
        return runs

    def test_same_tap_and_status_as_bats(self):
        bats, ours = self.both()
        self.assertEqual(normalise(ours.stdout), normalise(bats.stdout))
        self.assertEqual(ours.returncode, bats.returncode)
        self.assertEqual(ours.returncode, 1)
        # What the comparison covers (so that it cannot pass on two empty runs).
        results = [line for line in ours.stdout.splitlines() if tap.LOOKS_LIKE_RESULT.match(line)]
        self.assertEqual(len(results), 11)
        self.assertTrue(all(tap.RESULT.match(line) for line in results), results)
        self.assertEqual([r.startswith("ok") for r in results],
                         [True, False, False, False, True, False, False, True, True, False, True])
        self.assertIn("# teardown sees yes", ours.stdout)
        self.assertIn("# helper: loaded from " + self.tmp, ours.stdout)
        self.assertIn("ok 8 skipped with a reason in ", ours.stdout)
        self.assertNotIn("you do not see this", ours.stdout)

    def test_a_filter_selects_and_renumbers_as_bats_does(self):
        flt = r"^(skipped with a reason|single-quoted title \(with \[regex\] chars\?\)|passes.*)$"
        bats, ours = self.both("--filter", flt)
        self.assertEqual(normalise(ours.stdout), normalise(bats.stdout))
        self.assertEqual(ours.stdout.splitlines()[0], "1..3")
        self.assertEqual((ours.returncode, bats.returncode), (0, 0))

    def test_the_failed_command_is_named(self):
        _, ours = self.both("--filter", "^fails in the middle")
        self.assertIn("#   `[[ 1 -eq 2 ]]' failed", ours.stdout)
        self.assertRegex(ours.stdout, r"# \(in test file .*toy\.bats, line 24\)")

    def test_a_suite_that_does_not_load_fails_every_test(self):
        with open(self.suite, "w") as f:
            f.write('load no_such_helper\n@test "a" { true; }\n@test "b" { true; }\n')
        bats, ours = self.both()
        self.assertEqual([line.split(" in ")[0] for line in ours.stdout.splitlines()
                          if tap.LOOKS_LIKE_RESULT.match(line)], ["not ok 1 a", "not ok 2 b"])
        self.assertEqual((ours.returncode, bats.returncode), (1, 1))


if __name__ == "__main__":
    unittest.main()
