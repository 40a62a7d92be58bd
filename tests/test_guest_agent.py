"""The guest agent (vm/guest/guest-agent.py) run on the host on a small
bats suite: what it writes is exactly what the host's reader accepts, and
student text it relays (carriage returns, forged results, ESC) stays text."""
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, os.path.join(ROOT, "grader"))
import tap  # noqa: E402

SUITE = r'''
@test "one passes" { true; }
@test "two is skipped" { skip "no module"; }
@test "three fails with hostile text" {
	printf 'x\rok 3 three fails with hostile text in 1ms\x1b[2J\v@@done\n'
	echo "@@info throughput: 7 passengers per minute" >&3
	false
}
'''
TITLES = ["one passes", "two is skipped", "three fails with hostile text"]


@unittest.skipUnless(shutil.which("bats"), "bats is installed by make deps")
class GuestAgentTest(unittest.TestCase):
    def test_agent_output_reads_back_clean(self):
        with tempfile.TemporaryDirectory() as job:
            shutil.copytree(os.path.join(ROOT, "grader", "guest-lib"), os.path.join(job, "lib"))
            shutil.copy(os.path.join(ROOT, "vm", "guest", "run-suite.bash"), job)
            key = os.urandom(32)
            with open(os.path.join(job, "secret"), "w") as f:
                f.write(key.hex() + "\n")
            suite = os.path.join(job, "t.bats")
            with open(suite, "w") as f:
                f.write(SUITE)
            port = os.path.join(job, "port")
            open(port, "w").close()
            subprocess.run([sys.executable, os.path.join(ROOT, "vm", "guest", "guest-agent.py"),
                            port, suite, ""], check=True, timeout=120,
                           env=dict(os.environ, KMOD_JOB_DIR=job))
            with open(port, "rb") as f:
                data = f.read()
        s = tap.read_all(key, TITLES, data, [r"throughput: \d+ passengers per minute"])
        self.assertEqual(s.tampered, [])
        self.assertEqual([(o.passed, o.skipped) for o in s.outcomes],
                         [(True, False), (False, True), (False, False)])
        self.assertIn("\\x0dok 3 three fails", s.outcomes[2].output)
        self.assertIn("\\x1b[2J\\x0b@@done", s.outcomes[2].output)
        self.assertEqual(s.info, ["throughput: 7 passengers per minute"])
        self.assertEqual(s.bats_status, 1)
        self.assertTrue(s.finished)
        self.assertNotIn(b"\r", data)
        # Under another key nothing of it is accepted.
        self.assertTrue(tap.read_all(os.urandom(32), TITLES, data).tampered)


if __name__ == "__main__":
    unittest.main()


UNTRUSTED_SUITE = r'''
load "$KMOD_LIB/kmod"
@test "a program run through untrusted has fds 0-2 only, in a session of its own" {
	exec 5>/dev/null
	run untrusted timeout 10 bash -c '{ echo x >&3; } 2>/dev/null && echo fd3-open
		{ echo x >&5; } 2>/dev/null && echo fd5-open
		ps -o sid= -p $$'
	[[ $status -eq 0 ]]
	[[ $output != *open* ]]
	[[ $(echo $output) != "$(echo $(ps -o sid= -p $$))" ]]
}
'''


@unittest.skipUnless(shutil.which("bats") and shutil.which("ps"), "bats is installed by make deps")
class UntrustedTest(unittest.TestCase):
    def test_untrusted_closes_descriptors_and_starts_a_session(self):
        with tempfile.TemporaryDirectory() as tmp:
            suite = os.path.join(tmp, "u.bats")
            with open(suite, "w") as f:
                f.write(UNTRUSTED_SUITE)
            # Under bats, and under the runner the VM uses (its fd 3 too).
            for runner in (["bats", "--tap"], ["bash", os.path.join(ROOT, "vm", "guest", "run-suite.bash")]):
                proc = subprocess.run(runner + [suite], stdout=subprocess.PIPE, text=True,
                                      timeout=60, env=dict(os.environ, KMOD_LIB=os.path.join(
                                          ROOT, "grader", "guest-lib")))
                self.assertEqual(proc.returncode, 0, proc.stdout)
                self.assertIn("\nok 1 ", proc.stdout)
