"""grader/sandbox-build.sh on hostile builds, by both routes: bwrap (a TA's
machine) and container (the Gradescope autograder, where no namespaces are
allowed). Each build must end with a clear status and leave nothing behind.
The container route needs root (it builds as users of its own)."""
import os
import shutil
import subprocess
import tarfile
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "..", "grader", "sandbox-build.sh")
BUILD_UIDS = range(61000, 61064)
HELLO = "#include <stdio.h>\nint main(void) { puts(\"hi\"); return 0; }\n"


def processes_of(uids):
    """Live processes (not zombies waiting for their parent) whose real uid
    is in uids, as 'pid state'."""
    found = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                with open(f"/proc/{pid}/status") as f:
                    fields = dict(line.split(":", 1) for line in f if ":" in line)
                uid, state = int(fields["Uid"].split()[0]), fields["State"].split()[0]
            except (OSError, KeyError, ValueError):
                continue
            if uid in uids and state not in ("Z", "X"):
                found.append(f"{pid} {state}")
    return found


class SandboxRoute:
    route = None

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="kmod-sandbox-test-")
        os.chmod(self.tmp, 0o711)
        self.src = os.path.join(self.tmp, "src")
        os.makedirs(self.src)
        os.chmod(self.src, 0o755)
        with open(os.path.join(self.src, "hello.c"), "w") as f:
            f.write(HELLO)
        self.build = os.path.join(self.tmp, "build")
        os.makedirs(self.build)
        # What a build must not read: the grader's own folder.
        self.secret = os.path.join(self.tmp, "grader")
        os.makedirs(self.secret, mode=0o700)
        with open(os.path.join(self.secret, "hidden.bats"), "w") as f:
            f.write("the hidden tests\n")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def run_build(self, *commands, timeout=20, outputs="hello"):
        out = os.path.join(self.tmp, "out.tar")
        env = dict(os.environ, KMOD_BUILD_SANDBOX=self.route, KMOD_BUILD_ROOT="/")
        with open(out, "wb") as tar:
            proc = subprocess.run(["bash", SCRIPT, self.src, self.build, str(timeout), outputs,
                                   *commands], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  pass_fds=(tar.fileno(),),
                                  env=dict(env, OUTPUT_FD=str(tar.fileno())), timeout=120)
        names = []
        if os.path.getsize(out):
            with tarfile.open(out) as archive:
                names = archive.getnames()
        return proc.returncode, proc.stdout.decode(errors="replace"), names

    def test_builds_and_sends_back_the_outputs(self):
        status, log, names = self.run_build("cc -o hello hello.c")
        self.assertEqual((status, names), (0, ["hello"]), log)
        self.assertEqual(os.listdir(self.build), [], "the build folder is left empty")

    def test_a_failing_command_fails_the_build(self):
        status, log, names = self.run_build("cc -o hello nosuchfile.c")
        self.assertNotEqual(status, 0)
        self.assertIn("nosuchfile.c", log)
        self.assertEqual(names, [])

    def test_a_build_that_never_ends_is_stopped_in_time(self):
        started = time.monotonic()
        status, log, _ = self.run_build("trap '' TERM; while :; do :; done", timeout=3)
        self.assertIn(status, (124, 137), log)
        self.assertLess(time.monotonic() - started, 15)

    def test_a_build_that_fills_the_disk_fails_without_filling_it(self):
        status, log, _ = self.run_build(
            "i=0; while head -c 60000000 /dev/zero > f$i; do i=$((i+1)); done; exit 1",
            timeout=60)
        self.assertNotEqual(status, 0, log)
        self.assertNotIn(status, (124, 137), "a full folder is not a time-out: " + log)

    def test_a_fork_bomb_ends_with_its_build(self):
        started = time.monotonic()
        self.run_build("b() { b | b & }; b; sleep 1", timeout=5)
        self.assertLess(time.monotonic() - started, 20)
        # Nothing of it outlives the build: the next build can fork.
        status, log, names = self.run_build("cc -o hello hello.c")
        self.assertEqual((status, names), (0, ["hello"]), log)

    def test_the_grader_folder_is_closed_to_the_build(self):
        status, log, _ = self.run_build(f"cat {self.secret}/hidden.bats", "ls ..")
        self.assertNotIn("the hidden tests", log)
        self.assertNotEqual(status, 0, log)


@unittest.skipUnless(shutil.which("bwrap"), "bubblewrap is not installed")
class BwrapRouteTest(SandboxRoute, unittest.TestCase):
    route = "bwrap"


@unittest.skipUnless(os.geteuid() == 0, "the container route needs root")
class ContainerRouteTest(SandboxRoute, unittest.TestCase):
    route = "container"

    def test_nothing_of_the_build_users_is_left_running(self):
        status, log, _ = self.run_build("setsid sleep 300 >/dev/null 2>&1 &",
                                        "nohup sleep 300 >/dev/null 2>&1 &")
        self.assertEqual(status, 0, log)
        self.assertEqual(processes_of(BUILD_UIDS), [])

    def test_builds_at_the_same_time_get_users_of_their_own(self):
        first = subprocess.Popen(["bash", SCRIPT, self.src, self.build, "20", "hello", "sleep 2"],
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                 env=dict(os.environ, KMOD_BUILD_SANDBOX="container", KMOD_BUILD_ROOT="/"))
        other_build = os.path.join(self.tmp, "build2")
        os.makedirs(other_build)
        try:
            time.sleep(0.5)
            proc = subprocess.run(["bash", SCRIPT, self.src, other_build, "20", "hello", "id -u"],
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  env=dict(os.environ, KMOD_BUILD_SANDBOX="container", KMOD_BUILD_ROOT="/"))
        finally:
            first_log = first.communicate(timeout=30)[0].decode()
        uid = proc.stdout.decode().split("$ id -u\n")[1].split()[0]
        self.assertEqual(first.returncode, 0, first_log)
        self.assertNotEqual(uid, "61000", "the second build got the first one's user")
        self.assertIn(int(uid), BUILD_UIDS)

    def test_an_unknown_route_is_refused(self):
        proc = subprocess.run(["bash", SCRIPT, self.src, self.build, "5", "hello", "true"],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              env=dict(os.environ, KMOD_BUILD_SANDBOX="docker", KMOD_BUILD_ROOT="/"))
        self.assertEqual(proc.returncode, 2)
        self.assertIn("bwrap or container", proc.stdout.decode())


if __name__ == "__main__":
    unittest.main()
