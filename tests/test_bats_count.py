"""selftest/bats-count.sh: a bats self-test's closing line counts what bats
ran (its TAP plan and results): a failing test, a suite whose setup fails,
and one that does not load are counted as failures, never as passes."""
import os
import subprocess
import tempfile
import unittest

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
COUNT = os.path.join(ROOT, "selftest", "bats-count.sh")


def run(text):
    with tempfile.TemporaryDirectory() as tmp:
        suite = os.path.join(tmp, "suite.bats")
        with open(suite, "w") as f:
            f.write(text)
        proc = subprocess.run(["bash", COUNT, "demo", suite], capture_output=True, text=True)
        return proc.returncode, proc.stdout.strip().splitlines()[-1]


class BatsCountTest(unittest.TestCase):
    def test_all_passing(self):
        self.assertEqual(run('@test "a" { true; }\n@test "b" { true; }\n'),
                         (0, "demo: 2 passed, 0 failed"))

    def test_a_failure_is_counted_and_fails(self):
        self.assertEqual(run('@test "a" { true; }\n@test "b" { false; }\n'),
                         (1, "demo: 1 passed, 1 failed"))

    def test_a_failing_setup_file_fails_every_test(self):
        status, line = run('setup_file() { false; }\n@test "a" { true; }\n@test "b" { true; }\n')
        self.assertEqual(status, 1)
        self.assertRegex(line, r"^demo: 0 passed, [12] failed$")

    def test_a_suite_that_does_not_load_is_a_failure(self):
        self.assertEqual(run('@test "a" {\n'), (1, "demo: 0 passed, 1 failed"))


if __name__ == "__main__":
    unittest.main()
