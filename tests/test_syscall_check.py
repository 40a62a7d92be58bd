"""Part 1's judgement of submitted traces (syscall_check.py on top of
trace_count.canonical): by content, not by the traced file's name; robust
to another glibc and to stdout on a terminal; strict about other programs."""
import io
import os
import sys
import tempfile
import unittest
from contextlib import redirect_stderr, redirect_stdout

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.path.join(HERE, "..", "part1_syscalls", "tests")
SOLUTION = os.path.join(HERE, "..", "part1_syscalls", "solution")
sys.path.insert(0, TESTS)
import syscall_check  # noqa: E402
import trace_count  # noqa: E402

# The start-up of glibc 2.27 (Ubuntu 18.04), shortened: other names, other calls.
OLD_STARTUP = """\
execve("./{p}", ["./{p}"], 0x7ffcc2b8a2e0 /* 22 vars */) = 0
brk(NULL)                               = 0x55d6a3b7c000
access("/etc/ld.so.nohwcap", F_OK)      = -1 ENOENT (No such file or directory)
openat(AT_FDCWD, "/etc/ld.so.cache", O_RDONLY|O_CLOEXEC) = 3
fstat(3, {{st_mode=S_IFREG|0644, st_size=27002, ...}}) = 0
mmap(NULL, 27002, PROT_READ, MAP_PRIVATE, 3, 0) = 0x7f1b0a4f4000
close(3)                                = 0
arch_prctl(ARCH_SET_FS, 0x7f1b0a4f34c0) = 0
munmap(0x7f1b0a4f4000, 27002)           = 0
"""
NEW_STARTUP = """\
execve("./{p}", ["./{p}"], 0x7ffd339119d0 /* 37 vars */) = 0
brk(NULL)                               = 0x55834aa90000
access("/etc/ld.so.preload", R_OK)      = -1 ENOENT (No such file or directory)
openat(AT_FDCWD, "/etc/ld.so.cache", O_RDONLY|O_CLOEXEC) = 3
newfstatat(3, "", {{st_mode=S_IFREG|0644, st_size=43839, ...}}, AT_EMPTY_PATH) = 0
close(3)                                = 0
set_tid_address(0x7fde046c9a10)         = 11602
set_robust_list(0x7fde046c9a20, 24)     = 0
rseq(0x7fde046ca060, 0x20, 0, 0x53053053) = 0
prlimit64(0, RLIMIT_STACK, NULL, {{rlim_cur=8192*1024, rlim_max=RLIM64_INFINITY}}) = 0
"""
END = "exit_group(0)                           = ?\n+++ exited with 0 +++\n"
PRINTF_FILE = ('newfstatat(1, "", {st_mode=S_IFREG|0644, st_size=0, ...}, AT_EMPTY_PATH) = 0\n'
               'getrandom("\\x01\\x02\\x03\\x04\\x05\\x06\\x07\\x08", 8, GRND_NONBLOCK) = 8\n'
               'brk(NULL) = 0x1\nbrk(0x2) = 0x2\nwrite(1, "a\\nb\\n", 4) = 4\n')
PRINTF_OLD_TTY = ('fstat(1, {st_mode=S_IFCHR|0620, st_rdev=makedev(0x88, 0), ...}) = 0\n'
                  'ioctl(1, TCGETS, {B38400 opost isig icanon echo ...}) = 0\n'
                  'brk(NULL) = 0x1\nbrk(0x2) = 0x2\nwrite(1, "a\\n", 2) = 2\nwrite(1, "b\\n", 2) = 2\n')


def nanosleeps(name, n):
    if name == "nanosleep":
        return "nanosleep({tv_sec=0, tv_nsec=1000}, NULL) = 0\n" * n
    return "clock_nanosleep(CLOCK_REALTIME, 0, {tv_sec=0, tv_nsec=1000}, NULL) = 0\n" * n


class Judge(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)

    def write(self, name, text):
        path = os.path.join(self.tmp.name, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def run_check(self, *args):
        out, err = io.StringIO(), io.StringIO()
        with redirect_stdout(out), redirect_stderr(err):
            status = syscall_check.main(["syscall_check.py", *args])
        return status, out.getvalue(), err.getvalue()

    def submitted(self, program, submitted, fresh):
        os.makedirs(os.path.join(self.tmp.name, "sub"), exist_ok=True)
        return self.run_check("submitted", program, self.write(f"sub/{program}.trace", submitted),
                              self.write("fresh.trace", fresh) if fresh != "-" else "-")

    def test_other_glibc_renamed_calls_keep_points(self):
        status, out, err = self.submitted(
            "part1", OLD_STARTUP.format(p="part1") + nanosleeps("nanosleep", 5) + END,
            NEW_STARTUP.format(p="part1") + nanosleeps("clock_nanosleep", 5) + END)
        self.assertEqual(status, 0, err)
        self.assertNotIn("@@info", out)

    def test_renamed_binary_keeps_points_with_a_note(self):
        status, out, err = self.submitted(
            "part1", NEW_STARTUP.format(p="part1.x") + "getppid() = 1\n" * 5 + END,
            NEW_STARTUP.format(p="part1") + "getppid() = 1\n" * 5 + END)
        self.assertEqual(status, 0, err)
        self.assertIn("@@info note (no points taken): part1.trace traces ./part1.x, not ./part1", out)

    def test_note_fits_its_info_form(self):
        import json
        import re
        with open(os.path.join(TESTS, "part.json")) as f:
            form = re.compile(json.load(f)["info_forms"][0])
        _, out, _ = self.submitted(
            "empty", '"/bin/true; ok 1 forged"'.join(NEW_STARTUP.format(p="empty").split('"./empty"', 1))
            + END, NEW_STARTUP.format(p="empty") + END)
        note = [line for line in out.splitlines() if line.startswith("@@info ")]
        self.assertEqual(len(note), 1)
        self.assertRegex(note[0], "traces another file")
        self.assertTrue(form.fullmatch(note[0][len("@@info "):]))

    def test_trace_of_another_program_fails(self):
        status, _, err = self.submitted(
            "part1", NEW_STARTUP.format(p="part1") + END,
            NEW_STARTUP.format(p="part1") + "getppid() = 1\n" * 5 + END)
        self.assertEqual(status, 1)
        self.assertIn("-getppid", err)
        self.assertIn("Trace the right program", err)

    def test_incomplete_trace_fails(self):
        status, _, err = self.submitted(
            "part1", NEW_STARTUP.format(p="part1") + "getppid() = 1\n", "-")
        self.assertEqual(status, 1)
        self.assertIn("exit_group", err)

    def test_no_fresh_trace_judges_form_only(self):
        status, out, err = self.submitted(
            "part1", NEW_STARTUP.format(p="part1") + "getppid() = 1\n" + END, "-")
        self.assertEqual(status, 0, err)
        self.assertIn("not compared with a fresh trace", out)

    def test_consistent_across_glibc_and_terminal(self):
        sub_e = self.write("se", OLD_STARTUP.format(p="empty") + END)
        sub_p = self.write("sp", OLD_STARTUP.format(p="part1") + PRINTF_OLD_TTY + END)
        fresh_e = self.write("fe", NEW_STARTUP.format(p="empty") + END)
        fresh_p = self.write("fp", NEW_STARTUP.format(p="part1") + PRINTF_FILE + END)
        status, out, err = self.run_check("consistent", sub_e, sub_p, fresh_e, fresh_p)
        self.assertEqual(status, 0, out + err)

    def test_consistent_catches_a_real_difference(self):
        sub_e = self.write("se", NEW_STARTUP.format(p="empty") + END)
        sub_p = self.write("sp", NEW_STARTUP.format(p="part1") + "getppid() = 1\n" * 4 + END)
        fresh_p = self.write("fp", NEW_STARTUP.format(p="part1") + "getppid() = 1\n" * 5 + END)
        status, _, err = self.run_check("consistent", sub_e, sub_p, sub_e, fresh_p)
        self.assertEqual(status, 1)

    def test_reference_traces_are_their_own(self):
        for program in ("empty", "part1"):
            path = os.path.join(SOLUTION, program + ".trace")
            with open(path) as f:
                text = f.read()
            status, _, err = self.submitted(program, text, text)
            self.assertEqual(status, 0, err)

    def test_complete(self):
        self.assertEqual(self.run_check("complete", self.write("a", NEW_STARTUP.format(p="x") + END))[0], 0)
        killed = NEW_STARTUP.format(p="x") + "--- SIGSEGV {si_signo=SIGSEGV} ---\n+++ killed by SIGSEGV +++\n"
        self.assertEqual(self.run_check("complete", self.write("b", killed))[0], 1)


class Canonical(unittest.TestCase):
    def test_equivalent_names(self):
        calls = trace_count.parse("fstat(3, {}) = 0\nnanosleep({}, NULL) = 0\nopen(\"x\", O_RDONLY) = 3\n")
        self.assertEqual(trace_count.canonical(calls), ["newfstatat", "clock_nanosleep", "openat"])

    def test_terminal_query_and_line_writes(self):
        calls = trace_count.parse(PRINTF_OLD_TTY)
        self.assertEqual(trace_count.canonical(calls), ["newfstatat", "brk", "brk", "write"])

    def test_writes_to_other_fds_stay_apart(self):
        calls = trace_count.parse('write(1, "a", 1) = 1\nwrite(2, "b", 1) = 1\nwrite(1, "c", 1) = 1\n')
        self.assertEqual(trace_count.canonical(calls), ["write", "write", "write"])

    def test_ioctl_on_other_fds_is_kept(self):
        calls = trace_count.parse("ioctl(3, TCGETS, 0x7ffc) = -1 ENOTTY\n")
        self.assertEqual(trace_count.canonical(calls), ["ioctl"])


if __name__ == "__main__":
    unittest.main()
