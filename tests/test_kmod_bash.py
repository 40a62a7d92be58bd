"""grader/guest-lib/kmod.bash's run_bounded, the builtin timeout(1) that
bounds every insmod and rmmod in the VM: output, exit status and the time
limit as timeout(1) and $(...) give them."""
import os
import subprocess
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
KMOD = os.path.join(HERE, "..", "grader", "guest-lib", "kmod.bash")


def bash(script):
    """(stdout, seconds) of script run by bash with kmod.bash sourced, as a
    suite's test runs it (errexit and an ERR trap on)."""
    started = time.monotonic()
    got = subprocess.run(["bash", "-c", 'source "$0"; set -eET; trap "echo ERR-TRAP" ERR; ' + script, KMOD],
                         capture_output=True, text=True, timeout=60)
    return got.stdout, time.monotonic() - started


class RunBoundedTest(unittest.TestCase):
    def test_output_and_status(self):
        out, _ = bash('run_bounded got 5 sh -c "echo one; echo two >&2; printf \'\\n\\n\'; exit 3" '
                      '|| echo "status $?"; printf "[%s]\\n" "$got"')
        self.assertEqual(out, "status 3\n[one\ntwo]\n")

    def test_success_and_the_callers_local(self):
        out, _ = bash('f() { local out; run_bounded out 5 echo hi; echo "status $? [$out]"; }; f; '
                      'echo "outside [${out-unset}]"')
        self.assertEqual(out, "status 0 [hi]\noutside [unset]\n")

    def test_nul_bytes_are_dropped(self):
        out, _ = bash('run_bounded got 5 printf "a\\0b\\0c"; printf "[%s]\\n" "$got"')
        self.assertEqual(out, "[abc]\n")

    def test_the_wait_lasts_as_long_as_the_command(self):
        out, seconds = bash('run_bounded got 20 sleep 0.3; echo "status $?"')
        self.assertEqual(out, "status 0\n")
        self.assertLess(seconds, 5)

    def test_out_of_time_it_is_killed(self):
        out, seconds = bash('run_bounded got 1 sh -c "echo started; exec sleep 30" || echo "status $?"; '
                            'printf "[%s]\\n" "$got"')
        self.assertEqual(out, "status 124\n[started\n(no answer within 1 s: killed)]\n")
        self.assertLess(seconds, 10)

    def test_a_missing_program(self):
        out, _ = bash('run_bounded got 5 no-such-program-here || echo "status $?"')
        self.assertEqual(out, "status 127\n")


if __name__ == "__main__":
    unittest.main()
