"""Unit tests of part1_syscalls/tests/trace_count.py (strace output parser).

Every fixture below is real strace 6.1 output captured on Debian 12
(glibc 2.36, x86-64); some are cut to the lines that matter.
"""

import io
import os
import sys
import unittest
from contextlib import redirect_stderr, redirect_stdout
from tempfile import TemporaryDirectory

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "part1_syscalls", "tests"))

import trace_count  # noqa: E402
from trace_count import Call  # noqa: E402

# `strace -o empty.trace ./empty`, int main(void) { return 0; }: 30 calls.
EMPTY = r"""execve("./empty", ["./empty"], 0x7ffe4a329900 /* 37 vars */) = 0
brk(NULL)                               = 0x55f08c883000
mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f88be729000
access("/etc/ld.so.preload", R_OK)      = -1 ENOENT (No such file or directory)
openat(AT_FDCWD, "/etc/ld.so.cache", O_RDONLY|O_CLOEXEC) = 3
newfstatat(3, "", {st_mode=S_IFREG|0644, st_size=43839, ...}, AT_EMPTY_PATH) = 0
mmap(NULL, 43839, PROT_READ, MAP_PRIVATE, 3, 0) = 0x7f88be71e000
close(3)                                = 0
openat(AT_FDCWD, "/lib/x86_64-linux-gnu/libc.so.6", O_RDONLY|O_CLOEXEC) = 3
read(3, "\177ELF\2\1\1\3\0\0\0\0\0\0\0\0\3\0>\0\1\0\0\0\20t\2\0\0\0\0\0"..., 832) = 832
pread64(3, "\6\0\0\0\4\0\0\0@\0\0\0\0\0\0\0@\0\0\0\0\0\0\0@\0\0\0\0\0\0\0"..., 784, 64) = 784
newfstatat(3, "", {st_mode=S_IFREG|0755, st_size=1926232, ...}, AT_EMPTY_PATH) = 0
pread64(3, "\6\0\0\0\4\0\0\0@\0\0\0\0\0\0\0@\0\0\0\0\0\0\0@\0\0\0\0\0\0\0"..., 784, 64) = 784
mmap(NULL, 1974096, PROT_READ, MAP_PRIVATE|MAP_DENYWRITE, 3, 0) = 0x7f88be53c000
mmap(0x7f88be562000, 1400832, PROT_READ|PROT_EXEC, MAP_PRIVATE|MAP_FIXED|MAP_DENYWRITE, 3, 0x26000) = 0x7f88be562000
mmap(0x7f88be6b8000, 339968, PROT_READ, MAP_PRIVATE|MAP_FIXED|MAP_DENYWRITE, 3, 0x17c000) = 0x7f88be6b8000
mmap(0x7f88be70b000, 24576, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_FIXED|MAP_DENYWRITE, 3, 0x1cf000) = 0x7f88be70b000
mmap(0x7f88be711000, 53072, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_FIXED|MAP_ANONYMOUS, -1, 0) = 0x7f88be711000
close(3)                                = 0
mmap(NULL, 12288, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f88be539000
arch_prctl(ARCH_SET_FS, 0x7f88be539740) = 0
set_tid_address(0x7f88be539a10)         = 20634
set_robust_list(0x7f88be539a20, 24)     = 0
rseq(0x7f88be53a060, 0x20, 0, 0x53053053) = 0
mprotect(0x7f88be70b000, 16384, PROT_READ) = 0
mprotect(0x55f068259000, 4096, PROT_READ) = 0
mprotect(0x7f88be764000, 8192, PROT_READ) = 0
prlimit64(0, RLIMIT_STACK, NULL, {rlim_cur=8192*1024, rlim_max=RLIM64_INFINITY}) = 0
munmap(0x7f88be71e000, 43839)           = 0
exit_group(0)                           = ?
+++ exited with 0 +++
"""

# The end of `strace -o empty.trace ./empty`, another run.
EMPTY_TAIL = r"""mprotect(0x7ff466d95000, 8192, PROT_READ) = 0
prlimit64(0, RLIMIT_STACK, NULL, {rlim_cur=8192*1024, rlim_max=RLIM64_INFINITY}) = 0
munmap(0x7ff466d4f000, 43839)           = 0
exit_group(0)                           = ?
+++ exited with 0 +++
"""

# The end of the same, with `strace -f -tt -T`: pids, times and durations.
EMPTY_TAIL_F_TT_T = r"""8966  22:57:34.154908 mprotect(0x7f3bd90f2000, 8192, PROT_READ) = 0 <0.000009>
8966  22:57:34.154946 prlimit64(0, RLIMIT_STACK, NULL, {rlim_cur=8192*1024, rlim_max=RLIM64_INFINITY}) = 0 <0.000425>
8966  22:57:34.155704 munmap(0x7f3bd90ac000, 43839) = 0 <0.000020>
8966  22:57:34.156336 exit_group(0)     = ?
8966  22:57:34.157296 +++ exited with 0 +++
"""

# The end of `strace -o part1.trace ./part1`, the reference solution (N=5).
PART1_TAIL = r"""mprotect(0x7ff466d95000, 8192, PROT_READ) = 0
prlimit64(0, RLIMIT_STACK, NULL, {rlim_cur=8192*1024, rlim_max=RLIM64_INFINITY}) = 0
munmap(0x7ff466d4f000, 43839)           = 0
getppid()                               = 8958
getppid()                               = 8958
getppid()                               = 8958
getppid()                               = 8958
getppid()                               = 8958
exit_group(0)                           = ?
+++ exited with 0 +++
"""

# `strace -f -o forky.trace ./forky` (fork, child getppid and _exit(3),
# parent waitpid, raise(SIGUSR1) into a handler), from munmap on: two
# unfinished/resumed pairs interleaved across pids, exits and signals.
FORK_F = r"""22130 munmap(0x7fefdb5c1000, 43839)     = 0
22130 rt_sigaction(SIGUSR1, {sa_handler=0x555b8e8e2189, sa_mask=[USR1], sa_flags=SA_RESTORER|SA_RESTART, sa_restorer=0x7fefdb41b050}, {sa_handler=SIG_DFL, sa_mask=[], sa_flags=0}, 8) = 0
22130 clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, child_tidptr=0x7fefdb3dca10) = 22131
22131 set_robust_list(0x7fefdb3dca20, 24 <unfinished ...>
22130 wait4(22131,  <unfinished ...>
22131 <... set_robust_list resumed>)    = 0
22131 getppid()                         = 22130
22131 exit_group(3)                     = ?
22131 +++ exited with 3 +++
22130 <... wait4 resumed>NULL, 0, NULL) = 22131
22130 --- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_EXITED, si_pid=22131, si_uid=0, si_status=3, si_utime=0, si_stime=0} ---
22130 gettid()                          = 22130
22130 getpid()                          = 22130
22130 tgkill(22130, 22130, SIGUSR1)     = 0
22130 --- SIGUSR1 {si_signo=SIGUSR1, si_code=SI_TKILL, si_pid=22130, si_uid=0} ---
22130 rt_sigreturn({mask=[]})           = 0
22130 exit_group(0)                     = ?
22130 +++ exited with 0 +++
"""
FORK_F_NAMES = [
    "munmap", "rt_sigaction", "clone", "set_robust_list", "wait4",
    "getppid", "exit_group", "gettid", "getpid", "tgkill", "rt_sigreturn",
    "exit_group",
]

# The same program, `strace -f ./forky` on the terminal: "[pid N]" only
# while there are two processes, and strace's notice cuts the wait4 line.
FORK_STDERR = r"""clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, child_tidptr=0x7f1c59280a10) = 22764
wait4(22764, strace: Process 22764 attached
 <unfinished ...>
[pid 22764] set_robust_list(0x7f1c59280a20, 24) = 0
[pid 22764] getppid()                   = 22763
[pid 22764] exit_group(3)               = ?
[pid 22764] +++ exited with 3 +++
<... wait4 resumed>NULL, 0, NULL)       = 22764
--- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_EXITED, si_pid=22764, si_uid=0, si_status=3, si_utime=0, si_stime=0} ---
gettid()                                = 22763
getpid()                                = 22763
tgkill(22763, 22763, SIGUSR1)           = 0
--- SIGUSR1 {si_signo=SIGUSR1, si_code=SI_TKILL, si_pid=22763, si_uid=0} ---
rt_sigreturn({mask=[]})                 = 0
exit_group(0)                           = ?
+++ exited with 0 +++
"""

# `strace -f` of a program whose second thread sits in pause() when main
# returns: that call resumes only to be cut off ("= ?").
THREADS_F = r"""22957 clock_nanosleep(CLOCK_REALTIME, 0, {tv_sec=0, tv_nsec=20000000},  <unfinished ...>
22958 rseq(0x7f7636241fe0, 0x20, 0, 0x53053053) = 0
22958 set_robust_list(0x7f76362419a0, 24) = 0
22958 rt_sigprocmask(SIG_SETMASK, [], NULL, 8) = 0
22958 pause( <unfinished ...>
22957 <... clock_nanosleep resumed>NULL) = 0
22957 exit_group(0)                     = ?
22958 <... pause resumed>)              = ?
22958 +++ exited with 0 +++
22957 +++ exited with 0 +++
"""

# `strace -o k.trace sh -c 'kill $$'`, the end.
KILLED = r"""rt_sigaction(SIGTERM, {sa_handler=SIG_DFL, sa_mask=~[RTMIN RT_1], sa_flags=SA_RESTORER, sa_restorer=0x7f7eec7da050}, NULL, 8) = 0
kill(22946, SIGTERM)                    = 0
--- SIGTERM {si_signo=SIGTERM, si_code=SI_USER, si_pid=22946, si_uid=0} ---
+++ killed by SIGTERM +++
"""

# The first two and last two calls of ./empty under various options.
TIMESTAMPED = {
    "-t": r"""22:57:15 execve("./empty", ["./empty"], 0x7ffc97b7b808 /* 37 vars */) = 0
22:57:15 brk(NULL)                      = 0x55e2fbc0c000
22:57:15 munmap(0x7f9aab146000, 43839)  = 0
22:57:15 exit_group(0)                  = ?
22:57:15 +++ exited with 0 +++
""",
    "-ttt": r"""1795301835.813967 execve("./empty", ["./empty"], 0x7ffe76fd79d8 /* 37 vars */) = 0
1795301835.816759 brk(NULL)             = 0x55dbcf4f5000
1795301835.817763 munmap(0x7fc30030c000, 43839) = 0
1795301835.817809 exit_group(0)         = ?
1795301835.817871 +++ exited with 0 +++
""",
    "-r": r"""     0.000000 execve("./empty", ["./empty"], 0x7ffd750eb698 /* 37 vars */) = 0
     0.001003 brk(NULL)                 = 0x55f106a12000
     0.000043 munmap(0x7fecc46f2000, 43839) = 0
     0.000048 exit_group(0)             = ?
     0.000067 +++ exited with 0 +++
""",
    "-f -r": r"""9702       0.000000 execve("./empty", ["./empty"], 0x7ffcc406d260 /* 37 vars */) = 0
9702       0.000245 brk(NULL)           = 0x55d766766000
9702       0.000030 munmap(0x7f11a062a000, 43839) = 0
9702       0.000041 exit_group(0)       = ?
9702       0.000072 +++ exited with 0 +++
""",
    "-f -tt -T": r"""8538  22:57:15.779887 execve("./empty", ["./empty"], 0x7ffdf47487c8 /* 37 vars */) = 0 <0.000150>
8538  22:57:15.780147 brk(NULL)         = 0x558b78132000 <0.000009>
8538  22:57:15.785817 munmap(0x7ff6f4555000, 43839) = 0 <0.000013>
8538  22:57:15.785853 exit_group(0)     = ?
8538  22:57:15.785924 +++ exited with 0 +++
""",
    "-i -n": r"""[  59] [00007f4defd72ad7] execve("./empty", ["./empty"], 0x7ffca656d3d0 /* 37 vars */) = 0
[  12] [00007f2e59c2cc47] brk(NULL)     = 0x5597b0658000
[  11] [00007f2e59c2dce7] munmap(0x7f2e59bf8000, 43839) = 0
[ 231] [00007f2e59aea409] exit_group(0) = ?
[ 231] [????????????????] +++ exited with 0 +++
""",
    "--decode-pids=comm -f": r"""8573<strace> execve("./empty", ["./empty"], 0x7ffd2f46b3c0 /* 37 vars */) = 0
8573<empty> brk(NULL)                   = 0x55c87ab96000
8573<empty> munmap(0x7f353ff8f000, 43839) = 0
8573<empty> exit_group(0)               = ?
8573<empty> +++ exited with 0 +++
""",
    "-k": r"""execve("./empty", ["./empty"], 0x7fff301abdd8 /* 37 vars */) = 0
 > /usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2(_dl_catch_error+0x26f0) [0x1ab70]
brk(NULL)                               = 0x55f2cc288000
 > /usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2(_dl_catch_error+0x77c7) [0x1fc47]
munmap(0x7f6ac2e16000, 43839)           = 0
 > /usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2(_dl_catch_error+0x8867) [0x20ce7]
exit_group(0)                           = ?
+++ exited with 0 +++
 > /usr/lib/x86_64-linux-gnu/libc.so.6(_exit+0x29) [0xd4409]
""",
}
TIMESTAMPED_NAMES = ["execve", "brk", "munmap", "exit_group"]


class PlainTrace(unittest.TestCase):
    def test_count(self):
        self.assertEqual(trace_count.count(EMPTY), 30)

    def test_names(self):
        n = trace_count.names(EMPTY)
        self.assertEqual(n[:3], ["execve", "brk", "mmap"])
        self.assertEqual(n[-3:], ["prlimit64", "munmap", "exit_group"])
        self.assertEqual(n.count("mmap"), 8)

    def test_fields(self):
        calls = trace_count.parse(EMPTY)
        self.assertEqual(calls[0], Call(
            None, "execve",
            '"./empty", ["./empty"], 0x7ffe4a329900 /* 37 vars */', "0"))
        self.assertEqual(calls[3].ret,
                         "-1 ENOENT (No such file or directory)")
        self.assertEqual(calls[1].ret, "0x55f08c883000")
        # strings with escapes and "..." do not confuse the parser
        self.assertEqual(calls[9].name, "read")
        self.assertEqual(calls[9].ret, "832")
        self.assertTrue(calls[9].args.endswith('"..., 832'))

    def test_exit_group_counts_exit_line_does_not(self):
        calls = trace_count.parse(EMPTY)
        self.assertEqual(calls[-1], Call(None, "exit_group", "0", "?"))

    def test_string_looking_like_a_call_end(self):
        text = 'write(1, "f(x) = \\"1\\" (\\n", 13)        = 13\n' \
               "+++ exited with 0 +++\n"
        self.assertEqual(trace_count.parse(text), [
            Call(None, "write", r'1, "f(x) = \"1\" (\n", 13', "13")])

    def test_empty_input(self):
        self.assertEqual(trace_count.parse(""), [])
        self.assertEqual(trace_count.count("\n\n"), 0)

    def test_crlf(self):
        self.assertEqual(trace_count.count(EMPTY.replace("\n", "\r\n")), 30)


class FollowForks(unittest.TestCase):
    def test_unfinished_resumed_count_once(self):
        self.assertEqual(trace_count.count(FORK_F), 12)
        self.assertEqual(trace_count.names(FORK_F), FORK_F_NAMES)

    def test_pairs_are_joined(self):
        calls = trace_count.parse(FORK_F)
        self.assertEqual(calls[3], Call(22131, "set_robust_list",
                                        "0x7fefdb3dca20, 24", "0"))
        self.assertEqual(calls[4], Call(22130, "wait4",
                                        "22131, NULL, 0, NULL", "22131"))

    def test_pids(self):
        pids = [c.pid for c in trace_count.parse(FORK_F)]
        self.assertEqual(pids.count(22131), 3)
        self.assertEqual(pids.count(22130), 9)

    def test_terminal_output(self):
        calls = trace_count.parse(FORK_STDERR)
        self.assertEqual([c.name for c in calls], [
            "clone", "wait4", "set_robust_list", "getppid", "exit_group",
            "gettid", "getpid", "tgkill", "rt_sigreturn", "exit_group"])
        self.assertEqual(calls[1], Call(None, "wait4",
                                        "22764, NULL, 0, NULL", "22764"))
        self.assertEqual(calls[3].pid, 22764)

    def test_call_cut_off_by_exit(self):
        calls = trace_count.parse(THREADS_F)
        self.assertEqual([c.name for c in calls], [
            "clock_nanosleep", "rseq", "set_robust_list", "rt_sigprocmask",
            "pause", "exit_group"])
        self.assertEqual(calls[0].args, "CLOCK_REALTIME, 0, "
                         "{tv_sec=0, tv_nsec=20000000}, NULL")
        self.assertEqual(calls[4], Call(22958, "pause", "", "?"))

    def test_never_resumed(self):
        text = "\n".join(THREADS_F.splitlines()[:6]) + "\n"
        calls = trace_count.parse(text)
        self.assertEqual(len(calls), 5)
        self.assertEqual(calls[4], Call(22958, "pause", "", None))

    def test_orphan_resumed(self):
        text = "\n".join(FORK_F.splitlines()[5:]) + "\n"
        self.assertEqual(trace_count.names(text)[:2],
                         ["set_robust_list", "getppid"])
        self.assertEqual(trace_count.count(text), 9)   # wait4 orphan too


class NotCalls(unittest.TestCase):
    def test_signals_and_exits(self):
        for text in (FORK_F, FORK_STDERR, KILLED, EMPTY):
            for name in trace_count.names(text):
                self.assertNotIn(name, ("SIGCHLD", "SIGUSR1", "SIGTERM",
                                        "exited", "killed"))
        self.assertEqual(trace_count.names(KILLED), ["rt_sigaction", "kill"])

    def test_strace_notices(self):
        text = ("strace: Process 22764 attached\n"
                "[ Process PID=1234 runs in 32 bit mode. ]\n"
                "strace: Process 1234 detached\n"
                " <unfinished ...>\n"
                + EMPTY_TAIL)
        self.assertEqual(trace_count.count(text), 4)


class Timestamps(unittest.TestCase):
    def test_all_formats(self):
        for option, text in TIMESTAMPED.items():
            with self.subTest(option=option):
                self.assertEqual(trace_count.names(text), TIMESTAMPED_NAMES)
                calls = trace_count.parse(text)
                self.assertEqual([c.ret for c in calls][2:], ["0", "?"])

    def test_pid_not_mistaken_for_time(self):
        calls = trace_count.parse(TIMESTAMPED["-f -tt -T"])
        self.assertEqual({c.pid for c in calls}, {8538})
        self.assertEqual(calls[0].ret, "0")       # the <0.000150> is gone
        calls = trace_count.parse(TIMESTAMPED["-r"])
        self.assertEqual({c.pid for c in calls}, {None})
        calls = trace_count.parse(TIMESTAMPED["-f -r"])
        self.assertEqual({c.pid for c in calls}, {9702})
        calls = trace_count.parse(TIMESTAMPED["-ttt"])
        self.assertEqual({c.pid for c in calls}, {None})
        calls = trace_count.parse(TIMESTAMPED["--decode-pids=comm -f"])
        self.assertEqual({c.pid for c in calls}, {8573})


class Normalize(unittest.TestCase):
    def test_addresses_and_pids(self):
        a = trace_count.parse(FORK_F)
        b = trace_count.parse(FORK_STDERR)
        self.assertEqual(trace_count.normalize(a[4]),
                         "wait4(PID, NULL, 0, NULL) = PID")
        self.assertEqual(trace_count.normalize(a[4]),
                         trace_count.normalize(b[1]))
        self.assertEqual(trace_count.normalize(a[9]),
                         "tgkill(PID, PID, SIGUSR1) = 0")
        self.assertEqual(trace_count.normalize(a[0]),
                         "munmap(0x?, 43839) = 0")

    def test_keeps_fds_and_errors(self):
        calls = trace_count.parse(EMPTY)
        self.assertEqual(trace_count.normalize(calls[0]),
                         'execve("./empty", ["./empty"], 0x? /* N vars */)'
                         " = 0")
        self.assertEqual(trace_count.normalize(calls[1]), "brk(NULL) = 0x?")
        self.assertEqual(trace_count.normalize(calls[4]),
                         'openat(AT_FDCWD, "/etc/ld.so.cache", '
                         "O_RDONLY|O_CLOEXEC) = 3")
        self.assertEqual(trace_count.normalize(calls[21]),
                         "set_tid_address(0x?) = PID")
        self.assertIn("= -1 ENOENT", trace_count.normalize(calls[3]))
        self.assertEqual(trace_count.normalize(calls[-1]),
                         "exit_group(0) = ?")

    def test_two_runs_normalize_alike(self):
        a = [trace_count.normalize(c)
             for c in trace_count.parse(EMPTY_TAIL)]
        b = [trace_count.normalize(c)
             for c in trace_count.parse(EMPTY_TAIL_F_TT_T)]
        self.assertEqual(a, b)


class Sequences(unittest.TestCase):
    def test_same(self):
        self.assertEqual(trace_count.same_sequence(EMPTY_TAIL,
                                                   EMPTY_TAIL_F_TT_T),
                         (True, None))
        self.assertEqual(trace_count.same_sequence(EMPTY, EMPTY),
                         (True, None))

    def test_different(self):
        self.assertEqual(trace_count.same_sequence(EMPTY_TAIL, PART1_TAIL),
                         (False, 3))
        self.assertEqual(trace_count.same_sequence(PART1_TAIL, EMPTY_TAIL),
                         (False, 3))

    def test_prefix(self):
        shorter = "\n".join(EMPTY.splitlines()[:10])
        self.assertEqual(trace_count.same_sequence(shorter, EMPTY),
                         (False, 10))


class SideBySide(unittest.TestCase):
    def test_extra_calls_marked_plus(self):
        a = trace_count.names(EMPTY_TAIL)
        b = trace_count.names(PART1_TAIL)
        rows = trace_count.align(a, b)
        self.assertEqual([r[0] for r in rows], list("   +++++ "))
        self.assertEqual([r for r in rows if r[0] == "+"],
                         [("+", None, "getppid")] * 5)
        text = trace_count.side_by_side(a, b)
        lines = text.splitlines()
        self.assertEqual(len(lines), 9)
        self.assertEqual(lines[0].split(), ["mprotect", "mprotect"])
        self.assertTrue(lines[3].startswith("+ "))
        self.assertEqual(lines[3].split(), ["+", "getppid"])
        self.assertEqual(lines[8].split(), ["exit_group", "exit_group"])
        # the B column starts at the same place on every line
        starts = {line.rindex(" ") for line in lines}
        self.assertEqual(len(starts), 1)

    def test_missing_calls_marked_minus(self):
        a = trace_count.names(PART1_TAIL)
        b = trace_count.names(EMPTY_TAIL)
        lines = trace_count.side_by_side(a, b).splitlines()
        self.assertEqual([line[0] for line in lines], list("   ----- "))
        self.assertEqual(lines[4].split(), ["-", "getppid"])

    def test_replaced_and_titles(self):
        text = trace_count.side_by_side(["a", "b", "c"], ["a", "x", "c"],
                                        "A", "B")
        lines = text.splitlines()
        self.assertEqual(lines[0].split(), ["A", "B"])
        self.assertEqual(sorted(line[0] for line in lines[1:]),
                         [" ", " ", "+", "-"])

    def test_identical(self):
        n = trace_count.names(EMPTY)
        text = trace_count.side_by_side(n, n)
        self.assertEqual(len(text.splitlines()), 30)
        self.assertNotIn("+", [line[0] for line in text.splitlines()])

    def test_huge_input_falls_back(self):
        a = ["getpid", "getppid"] * 2500
        b = ["getppid", "getpid"] * 2500
        rows = trace_count.align(a, b)
        self.assertEqual(sum(1 for r in rows if r[0] != "+"), len(a))
        self.assertEqual(sum(1 for r in rows if r[0] != "-"), len(b))


class CommandLine(unittest.TestCase):
    def run_main(self, *args):
        out, err = io.StringIO(), io.StringIO()
        with redirect_stdout(out), redirect_stderr(err):
            status = trace_count.main(list(args))
        return status, out.getvalue(), err.getvalue()

    def test_count_and_diff(self):
        with TemporaryDirectory() as tmp:
            empty = os.path.join(tmp, "empty.trace")
            part1 = os.path.join(tmp, "part1.trace")
            with open(empty, "w") as f:
                f.write(EMPTY_TAIL)
            with open(part1, "w") as f:
                f.write(PART1_TAIL)
            status, out, _ = self.run_main("count", empty, part1)
            self.assertEqual(status, 0)
            self.assertEqual(out, "%s: 4\n%s: 9\n" % (empty, part1))

            status, out, _ = self.run_main("diff", empty, part1)
            self.assertEqual(status, 0)
            self.assertEqual(out.count("\n+ "), 5)
            self.assertIn("5 only in %s (+)" % part1, out)

            status, out, _ = self.run_main("names", part1)
            self.assertEqual(out.splitlines()[3:8], ["getppid"] * 5)

            status, out, err = self.run_main(
                "count", os.path.join(tmp, "missing.trace"), empty)
            self.assertEqual(status, 1)
            self.assertEqual(out, "%s: 4\n" % empty)
            self.assertIn("missing.trace", err)

    def test_usage(self):
        self.assertEqual(self.run_main()[0], 2)
        self.assertEqual(self.run_main("diff", "only-one")[0], 2)
        self.assertEqual(self.run_main("frobnicate", "x")[0], 2)
        self.assertEqual(self.run_main("--help")[0], 0)


if __name__ == "__main__":
    unittest.main()
