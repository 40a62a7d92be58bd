"""grader/build.py's reading of a build log (error lines, warnings), the one
place: what the host writes for the grading suite's build test, and the
messages build_succeeded (grader/guest-lib/kmod.bash) makes of it."""
import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "grader"))
import build  # noqa: E402

KMOD_BASH = os.path.join(HERE, "..", "grader", "guest-lib", "kmod.bash")

LOG = """make -C /lib/modules/6.1/build M=/build modules
  CC [M]  /build/my_timer.o
/build/my_timer.c:12:5: warning: unused variable 'x' [-Wunused-variable]
/build/my_timer.c:20:9: error: 'jiffie' undeclared (first use in this function)
/build/my_timer.c:21:1: warning: control reaches end of non-void function
a line with an error in words only, and a carriage\rreturn: error: kept whole
make[2]: *** [scripts/Makefile.build:250: /build/my_timer.o] Error 1
make: *** No rule to make target 'modules'.  Stop.
ld: my_timer.o: undefined reference to `foo'
The build was stopped after 60 s."""


class BuildLogTest(unittest.TestCase):
    def test_error_lines(self):
        self.assertEqual(build.error_lines(LOG), [
            "/build/my_timer.c:20:9: error: 'jiffie' undeclared (first use in this function)",
            "a line with an error in words only, and a carriage\rreturn: error: kept whole",
            "make[2]: *** [scripts/Makefile.build:250: /build/my_timer.o] Error 1",
            "make: *** No rule to make target 'modules'.  Stop.",
            "ld: my_timer.o: undefined reference to `foo'",
            "The build was stopped after 60 s."])
        self.assertEqual(len(build.error_lines(LOG, 2)), 2)
        self.assertEqual(build.error_lines("x error: y\n" * 40), ["x error: y"] * 15)
        # "error" alone (a file name, a word) is not an error line.
        self.assertEqual(build.error_lines("CC error_handling.o\nno errors here\n"), [])

    def test_warning_lines(self):
        self.assertEqual(build.warning_lines(LOG), [
            "/build/my_timer.c:12:5: warning: unused variable 'x' [-Wunused-variable]",
            "/build/my_timer.c:21:1: warning: control reaches end of non-void function"])
        self.assertEqual(build.warning_lines("all good\n"), [])


class BuildSucceededTest(unittest.TestCase):
    """The host writes build.errors and build.warnings beside build.log
    (build.write_for_guest); build_succeeded prints them."""

    def check(self, status, log, made=()):
        with tempfile.TemporaryDirectory() as out:
            build.write_for_guest(out, status, log)
            for name in made:
                open(os.path.join(out, name), "w").close()
            proc = subprocess.run(
                ["bash", "-c", f'source "{KMOD_BASH}"; build_succeeded my_timer.ko'],
                env=dict(os.environ, KMOD_BUILD=out), capture_output=True)
            with open(os.path.join(out, "build.log"), newline="") as f:
                self.assertEqual(f.read(), log)
            with open(os.path.join(out, "build.status")) as f:
                self.assertEqual(f.read(), f"{status}\n")
            # (Bytes, decoded as they are: text=True would turn \r into \n.)
            return proc.returncode, proc.stdout.decode(), proc.stderr.decode()

    def test_a_build_that_worked_counts_its_warnings(self):
        self.assertEqual(self.check(0, LOG, ["my_timer.ko"]),
                         (0, "built my_timer.ko (2 compiler warning(s))\n", ""))
        self.assertEqual(self.check(0, "", ["my_timer.ko"]),
                         (0, "built my_timer.ko (0 compiler warning(s))\n", ""))

    def test_a_failed_build_quotes_its_error_lines(self):
        status, out, err = self.check(2, LOG)
        self.assertEqual((status, out), (1, ""))
        self.assertEqual(err, "my_timer.ko failed (exit status 2). The compiler said:\n"
                         + "\n".join(build.error_lines(LOG)) + "\n")

    def test_a_failed_build_without_error_lines_says_so(self):
        self.assertEqual(self.check(2, "make: nothing useful\n"),
                         (1, "", "my_timer.ko failed (exit status 2). The compiler said:\n"
                                 "(no error lines found; see the build log)\n"))

    def test_nul_bytes_do_not_reach_bash(self):
        status, _, err = self.check(2, "x.c:1: error: bad\0byte\n")
        self.assertEqual((status, err), (1, "my_timer.ko failed (exit status 2). The compiler said:\n"
                                            "x.c:1: error: badbyte\n"))


if __name__ == "__main__":
    unittest.main()
