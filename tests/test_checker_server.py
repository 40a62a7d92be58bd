"""grader/guest-lib/checker_server.py and kmod.bash's py_check: a check run
in a fork of the round's warm Python does what `python3 SCRIPT ARGS` does
(output, its order, exit status, environment, working folder), each check in
a process of its own; with no server, python3 runs it."""
import os
import re
import subprocess
import tempfile
import textwrap
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
KMOD = os.path.join(HERE, "..", "grader", "guest-lib", "kmod.bash")

CHECK = textwrap.dedent("""\
    import os, sys, threading, time
    what = sys.argv[1]
    if what == "echo":
        print("out", sys.argv[2:], os.getcwd(), os.environ.get("CHECK_VALUE"))
        print("err", file=sys.stderr)
        print("out again")
        sys.exit(int(os.environ.get("CHECK_STATUS", "0")))
    elif what == "message":
        sys.exit("a message from sys.exit")
    elif what == "raise":
        def deeper():
            raise RuntimeError("it broke")
        deeper()
    elif what == "signal":
        print("before the signal", flush=True)
        os.kill(os.getpid(), 9)
    elif what == "stdin":
        print(repr(sys.stdin.read()))
    elif what == "thread":
        def late():
            time.sleep(0.3)
            print("from the thread", flush=True)
        threading.Thread(target=late).start()
        print("main is done", flush=True)
    elif what == "state":
        import state_module
        print(state_module.COUNT)
        state_module.COUNT += 1
        os.environ["LEFT_BEHIND"] = "yes"
    elif what == "env":
        print(os.environ.get("LEFT_BEHIND"), os.environ.get("CHECK_VALUE"))
""")

CASES = {
    "plain": 'CHECK_VALUE="a b" $RUN "$SCRIPT" echo "two words" $\'a\\nnewline\'; echo "status $?"',
    "status": 'CHECK_STATUS=3 $RUN "$SCRIPT" echo || echo "status $?"',
    "captured": 'out=$($RUN "$SCRIPT" echo 2>&1); echo "[$out]"',
    "stdout only": 'out=$($RUN "$SCRIPT" echo 2>/dev/null); echo "[$out]"',
    "quiet": '$RUN "$SCRIPT" echo >/dev/null 2>&1; echo "status $?"',
    "appended": ': >"$TMP/log"; { echo first; $RUN "$SCRIPT" echo; echo last; } >>"$TMP/log" 2>&1; cat "$TMP/log"',
    "truncated": '{ echo first; $RUN "$SCRIPT" echo; echo last; } >"$TMP/log" 2>&1; cat "$TMP/log"',
    "message": '$RUN "$SCRIPT" message 2>&1 || echo "status $?"',
    "raise": '$RUN "$SCRIPT" raise 2>&1 | sed "s/line [0-9]*/line N/" ; echo "status ${PIPESTATUS[0]}"',
    "signal": '$RUN "$SCRIPT" signal 2>&1 || echo "status $?"',
    "stdin": 'echo "for the check" | $RUN "$SCRIPT" stdin; $RUN "$SCRIPT" stdin </dev/null',
    "stdin from a file": 'echo "in a file" >"$TMP/in"; $RUN "$SCRIPT" stdin <"$TMP/in"',
    "thread": '$RUN "$SCRIPT" thread; echo "status $?"',
    "cwd": 'cd "$TMP" && $RUN "$SCRIPT" echo 2>&1',
    "unbuffered": 'PYTHONUNBUFFERED=1 $RUN "$SCRIPT" echo 2>&1 | cat',
    "relative path": ('cd "$TMP" && cp "$SCRIPT" r.py && $RUN r.py raise 2>&1 | sed "s/line [0-9]*/line N/"; '
                      '$RUN ./r.py echo'),
    "does not compile": 'echo "def broken(:" >"$TMP/bad.py"; $RUN "$TMP/bad.py" 2>&1 || echo "status $?"',
    "changed between checks": ('echo "print(1)" >"$TMP/c.py"; $RUN "$TMP/c.py"; '
                               'echo "print(22)" >"$TMP/c.py"; $RUN "$TMP/c.py"'),
    "dataclass in main": ('printf "import dataclasses\\n@dataclasses.dataclass\\nclass A:\\n    x: int = 1\\n'
                          'print(A(), __name__, __file__)\\n" >"$TMP/d.py"; $RUN "$TMP/d.py"'),
    "fresh each time": '$RUN "$SCRIPT" state; $RUN "$SCRIPT" state; CHECK_VALUE=v $RUN "$SCRIPT" env',
}


def without_kill_report(text):
    return "".join(line for line in text.splitlines(True)
                   if not re.search(r"line \d+: +\d+ Killed ", line))


class CheckerServerTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.script = os.path.join(self.tmp.name, "check.py")
        with open(self.script, "w") as f:
            f.write(CHECK)
        with open(os.path.join(self.tmp.name, "state_module.py"), "w") as f:
            f.write("COUNT = 0\n")
        self.server_dir = os.path.join(self.tmp.name, "server")

    def tearDown(self):
        self.stop_server()
        self.tmp.cleanup()

    def server_pid(self):
        try:
            with open(os.path.join(self.server_dir, "pid")) as f:
                return int(f.read())
        except OSError:
            return None

    def stop_server(self):
        pid = self.server_pid()
        if pid:
            try:
                os.kill(pid, 9)
            except ProcessLookupError:
                pass

    def bash(self, script, run):
        env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
        env.update(PY_CHECK_DIR=self.server_dir, SCRIPT=self.script, TMP=self.tmp.name, RUN=run)
        proc = subprocess.run(["bash", "-c", f'set -eu; source "{KMOD}"; {script}'],
                              env=env, capture_output=True, text=True, timeout=60)
        # The one difference: bash reports a child of its own that a signal
        # killed ("... Killed   COMMAND"), and a fork of the server is not one.
        return proc.returncode, without_kill_report(proc.stdout), without_kill_report(proc.stderr)

    def assert_same(self, name):
        expected = self.bash(CASES[name], "python3")
        got = self.bash(CASES[name], "py_check")
        self.assertEqual(got, expected, name)

    def test_a_check_through_the_server_is_python3_itself(self):
        for name in CASES:
            with self.subTest(name):
                self.assert_same(name)

    def test_one_server_serves_the_round(self):
        self.bash('py_check "$SCRIPT" echo', "")
        first = self.server_pid()
        self.assertIsNotNone(first)
        self.assertEqual(os.stat(self.server_dir).st_mode & 0o777, 0o700)
        self.bash('py_check "$SCRIPT" echo', "")
        self.assertEqual(self.server_pid(), first)
        # Nothing is left beside the FIFO and the pid file.
        self.assertEqual(sorted(os.listdir(self.server_dir)), ["pid", "pycache", "requests"])

    def test_without_a_server_python3_runs_the_check(self):
        self.bash('py_check "$SCRIPT" echo', "")
        self.stop_server()
        for name in ("plain", "status", "signal", "fresh each time"):
            with self.subTest(name):
                self.assert_same(name)

    def test_an_answer_in_two_parts_is_read_whole(self):
        # The writer pauses past the reader's 1 s time-out in the middle of
        # the line, as a busy VM may between the server's bytes.
        _, out, _ = self.bash('exec {fd}< <(printf 4; sleep 1.5; printf "2\\n"); '
                              'py_check_answer "$fd" $$; echo "[$reply]"', "")
        self.assertEqual(out, "[42]\n")
        # With a limit, a writer that never ends its line is given up on.
        started = time.monotonic()
        _, out, _ = self.bash('exec {fd}< <(printf rea; exec sleep 30); '
                              'py_check_answer "$fd" $$ 2; echo "[$reply]"; kill $! 2>/dev/null', "")
        self.assertEqual(out, "[rea]\n")
        self.assertLess(time.monotonic() - started, 10)

    def test_a_check_the_server_took_never_runs_twice(self):
        # The server goes away while the check runs: the check has run (it
        # wrote its mark), so python3 must not run it again.
        mark = os.path.join(self.tmp.name, "runs")
        with open(self.script, "a") as f:
            f.write(textwrap.dedent(f"""\
                if what == "die":
                    with open({mark!r}, "a") as m:
                        m.write("ran\\n")
                    os.kill(os.getppid(), 9)
                    time.sleep(2)
            """))
        got = subprocess.run(["bash", "-c", f'source "{KMOD}"; py_check "$SCRIPT" die; echo "status $?"'],
                             env=dict(os.environ, PY_CHECK_DIR=self.server_dir, SCRIPT=self.script),
                             capture_output=True, text=True, timeout=60)
        self.assertEqual(got.stdout, "status 1\n")
        self.assertIn("checker server went away during the check", got.stderr)
        with open(mark) as m:
            self.assertEqual(m.read(), "ran\n")

    def test_a_test_that_never_asks_starts_no_server(self):
        self.bash("true", "")
        self.assertFalse(os.path.exists(self.server_dir))


if __name__ == "__main__":
    unittest.main()
