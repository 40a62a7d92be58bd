"""Unit tests of grader/oops.py: kernel reports found in a log, their
frames placed in the student's sources, and the summary a student reads.

The logs are written here in the formats of Debian's 6.1 and 6.12 kernels.
The module is a small C file compiled with `gcc -g -O1 -c`: a relocatable
ELF with DWARF, as a .ko is, needing no kernel headers. The offsets in the
fabricated oopses come from that object's own line table as readelf prints
it, so the tests do not take addr2line's word for what they check.
"""
import os
import random
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import textwrap
import time
import unittest
from unittest import mock

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, os.path.join(ROOT, "grader"))
import oops  # noqa: E402

GCC = shutil.which("gcc")
ADDR2LINE = shutil.which("addr2line")
READELF = shutil.which("readelf")
LD = shutil.which("ld")
HAVE_TOOLS = bool(GCC and ADDR2LINE and READELF and LD)
TOOLS_MISSING = ("needs gcc, and addr2line, readelf and ld (binutils) on the host; missing: "
                 + ", ".join(n for n, p in [("gcc", GCC), ("addr2line", ADDR2LINE),
                                             ("readelf", READELF), ("ld", LD)] if not p))


def stamped(text, start=41.253211):
    """text (dedented) with a printk timestamp before each line."""
    lines = textwrap.dedent(text).strip("\n").split("\n")
    return "\n".join(f"[{start + i * 0.000411:12.6f}] {line}" for i, line in enumerate(lines)) + "\n"


OOPS_61 = stamped("""
    BUG: kernel NULL pointer dereference, address: 0000000000000000
    #PF: supervisor write access in kernel mode
    #PF: error_code(0x0002) - not-present page
    PGD 0 P4D 0
    Oops: 0002 [#1] PREEMPT SMP NOPTI
    CPU: 0 PID: 187 Comm: cat Tainted: G           OE      6.1.0-57-amd64 #1  Debian 6.1.158-1
    Hardware name: QEMU Standard PC (i440FX + PIIX, 1996), BIOS 1.16.2-debian-1.16.2-1 04/01/2014
    RIP: 0010:timer_read+0x1c/0x60 [my_timer]
    Code: 00 00 0f 1f 44 00 00 48 89 f8 48 8b 15 00 00 00 00 <c7> 04 25 00 00 00 00 00 00 00 00
    RSP: 0018:ffffa5a0c03bfe28 EFLAGS: 00010246
    RAX: 0000000000000000 RBX: ffff8e5c41a3b300 RCX: 0000000000000000
    RDX: 0000000000000000 RSI: 00007f3e8d1fe000 RDI: ffff8e5c41a3b300
    CR2: 0000000000000000 CR3: 0000000001b6e000 CR4: 00000000000006f0
    Call Trace:
     <TASK>
     proc_reg_read+0x53/0xa0
     vfs_read+0xa7/0x300
     ? do_sys_openat2+0x9b/0x160
     ksys_read+0x6b/0xf0
     do_syscall_64+0x58/0xc0
     ? exit_to_user_mode_prepare+0x40/0x1e0
     entry_SYSCALL_64_after_hwframe+0x64/0xce
    RIP: 0033:0x7f3e8d31d19d
    Code: 31 c0 e9 c6 fe ff ff 50 48 8d 3d a6 55 0a 00 e8 39 fe 01 00 66 0f 1f 84 00 00 00 00 00
    RSP: 002b:00007ffc5a3f4f38 EFLAGS: 00000246 ORIG_RAX: 0000000000000000
     </TASK>
    Modules linked in: my_timer(OE) 9p netfs virtio_console 9pnet_virtio virtio_pci
    CR2: 0000000000000000
    ---[ end trace 0000000000000000 ]---
    RIP: 0010:timer_read+0x1c/0x60 [my_timer]
    Kernel panic - not syncing: Fatal exception
""")

OOPS_612 = stamped("""
    BUG: kernel NULL pointer dereference, address: 0000000000000008
    #PF: supervisor read access in kernel mode
    #PF: error_code(0x0000) - not-present page
    PGD 0 P4D 0
    Oops: Oops: 0000 [#1] PREEMPT SMP NOPTI
    CPU: 1 UID: 0 PID: 201 Comm: cat Tainted: G           OE      6.12.118+deb12-amd64 #1  Debian 6.12.118-1~bpo12+1
    Tainted: [O]=OOT_MODULE, [E]=UNSIGNED_MODULE
    Hardware name: QEMU Standard PC (i440FX + PIIX, 1996), BIOS 1.16.2-debian-1.16.2-1 04/01/2014
    RIP: 0010:timer_read+0x2a/0x90 [my_timer 3f1c2a9e0b7d4c55aa01]
    Code: 48 89 e5 41 54 53 48 8b 47 08 <48> 8b 50 08 48 85 d2 74 1c 48 89 fb
    RSP: 0018:ffffb0b5c0247e20 EFLAGS: 00010282
    Call Trace:
     <TASK>
     ? __die_body.cold+0x19/0x27
     ? page_fault_oops+0x15a/0x2d0
     ? exc_page_fault+0x7e/0x180
     ? asm_exc_page_fault+0x26/0x30
     ? timer_read+0x2a/0x90 [my_timer 3f1c2a9e0b7d4c55aa01]
     proc_reg_read+0x56/0xa0
     vfs_read+0xb2/0x360
     ksys_read+0x6d/0xf0
     do_syscall_64+0x82/0x190
     entry_SYSCALL_64_after_hwframe+0x76/0x7e
    RIP: 0033:0x7f6a2c11a21d
     </TASK>
    Modules linked in: my_timer(OE) 9p netfs
    CR2: 0000000000000008
    ---[ end trace 0000000000000000 ]---
""")

WARNING_61 = stamped("""
    ------------[ cut here ]------------
    WARNING: CPU: 1 PID: 456 at /job/build/my_timer.c:57 timer_write+0x12/0x30 [my_timer]
    Modules linked in: my_timer(OE) 9p netfs
    CPU: 1 PID: 456 Comm: sh Tainted: G           OE      6.1.0-57-amd64 #1  Debian 6.1.158-1
    Hardware name: QEMU Standard PC (i440FX + PIIX, 1996), BIOS 1.16.2-debian-1.16.2-1 04/01/2014
    RIP: 0010:timer_write+0x12/0x30 [my_timer]
    RSP: 0018:ffffa5a0c03bfe10 EFLAGS: 00010202
    Call Trace:
     <TASK>
     proc_reg_write+0x5a/0xa0
     vfs_write+0xcb/0x3f0
     ksys_write+0x6b/0xf0
     do_syscall_64+0x58/0xc0
     entry_SYSCALL_64_after_hwframe+0x64/0xce
     </TASK>
    ---[ end trace 0000000000000000 ]---
""", start=30.1)

HUNG_61 = stamped("""
    INFO: task cat:456 blocked for more than 120 seconds.
          Tainted: G           OE      6.1.0-57-amd64 #1 Debian 6.1.158-1
    "echo 0 > /proc/sys/kernel/hung_task_timeout_secs" disables this message.
    task:cat             state:D stack:0     pid:456   ppid:1      flags:0x00004000
    Call Trace:
     <TASK>
     __schedule+0x34d/0x9e0
     schedule+0x5a/0xd0
     schedule_preempt_disabled+0x11/0x20
     __mutex_lock.constprop.0+0x3a3/0x6c0
     timer_read+0x2d/0x90 [my_timer]
     proc_reg_read+0x53/0xa0
     vfs_read+0xa7/0x300
     ksys_read+0x6b/0xf0
     do_syscall_64+0x58/0xc0
     entry_SYSCALL_64_after_hwframe+0x64/0xce
    RIP: 0033:0x7f3e8d31d19d
     </TASK>
    INFO: lockdep is turned off.
""", start=123.4)

GPF_61 = stamped("""
    general protection fault, probably for non-canonical address 0xdead000000000122: 0000 [#1] PREEMPT SMP NOPTI
    CPU: 0 PID: 99 Comm: rmmod Tainted: G           OE      6.1.0-57-amd64 #1  Debian 6.1.158-1
    RIP: 0010:timer_exit+0x21/0x40 [my_timer]
    Call Trace:
     <TASK>
     __do_sys_delete_module+0x1d4/0x300
     do_syscall_64+0x58/0xc0
     </TASK>
    ---[ end trace 0000000000000000 ]---
""", start=50.0)

GPF_612 = stamped("""
    Oops: general protection fault, probably for non-canonical address 0xdead000000000122: 0000 [#1] PREEMPT SMP NOPTI
    CPU: 0 UID: 0 PID: 99 Comm: rmmod Tainted: G           OE      6.12.118+deb12-amd64 #1
    RIP: 0010:timer_exit+0x21/0x40 [my_timer]
    Call Trace:
     <TASK>
     ? die_addr+0x36/0x90
     ? exc_general_protection+0x1c5/0x410
     ? asm_exc_general_protection+0x26/0x30
     ? timer_exit+0x21/0x40 [my_timer]
     __do_sys_delete_module+0x1d4/0x300
     </TASK>
""", start=50.0)

KERNEL_BUG_612 = stamped("""
    ------------[ cut here ]------------
    kernel BUG at /job/build/my_timer.c:88!
    Oops: invalid opcode: 0000 [#1] PREEMPT SMP NOPTI
    CPU: 0 UID: 0 PID: 77 Comm: insmod Tainted: G           OE      6.12.118+deb12-amd64 #1
    RIP: 0010:my_timer_init+0x2f/0x60 [my_timer]
    Call Trace:
     <TASK>
     do_one_initcall+0x5b/0x310
     do_init_module+0x60/0x240
     </TASK>
    ---[ end trace 0000000000000000 ]---
""", start=60.0)


class FindReportsTest(unittest.TestCase):
    def only(self, text):
        reports = oops.find_reports(text)
        self.assertEqual(len(reports), 1, [r.headline for r in reports])
        return reports[0]

    def test_61_null_dereference(self):
        r = self.only(OOPS_61)
        self.assertEqual(r.kind, "NULL pointer dereference")
        self.assertEqual(r.headline, "BUG: kernel NULL pointer dereference, address: 0000000000000000")
        self.assertEqual(r.first_lines, [
            "BUG: kernel NULL pointer dereference, address: 0000000000000000",
            "#PF: supervisor write access in kernel mode",
            "#PF: error_code(0x0002) - not-present page",
            "PGD 0 P4D 0",
            "Oops: 0002 [#1] PREEMPT SMP NOPTI"])
        self.assertEqual(r.rip, oops.Frame("timer_read", 0x1c, 0x60, "my_timer", False))
        self.assertEqual([(f.function, f.questionable) for f in r.frames], [
            ("proc_reg_read", False), ("vfs_read", False), ("do_sys_openat2", True),
            ("ksys_read", False), ("do_syscall_64", False), ("exit_to_user_mode_prepare", True),
            ("entry_SYSCALL_64_after_hwframe", False)])
        self.assertEqual(r.frames[0], oops.Frame("proc_reg_read", 0x53, 0xa0, None, False))
        self.assertIsNone(r.where)

    def test_612_null_dereference(self):
        r = self.only(OOPS_612)       # "Oops: Oops: 0000" belongs to the BUG line's report
        self.assertEqual(r.kind, "NULL pointer dereference")
        self.assertEqual(r.first_lines[4], "Oops: Oops: 0000 [#1] PREEMPT SMP NOPTI")
        self.assertEqual(r.rip, oops.Frame("timer_read", 0x2a, 0x90, "my_timer", False))
        self.assertEqual(r.frames[4], oops.Frame("timer_read", 0x2a, 0x90, "my_timer", True))
        self.assertEqual(r.frames[5].function, "proc_reg_read")
        self.assertEqual(len(r.frames), 10)

    def test_warning_with_file_and_line(self):
        r = self.only(WARNING_61)
        self.assertEqual(r.kind, "WARNING")
        self.assertEqual(r.headline, "WARNING: CPU: 1 PID: 456 at /job/build/my_timer.c:57 "
                                     "timer_write+0x12/0x30 [my_timer]")
        self.assertEqual(r.where, ("/job/build/my_timer.c", 57))
        self.assertEqual(r.rip, oops.Frame("timer_write", 0x12, 0x30, "my_timer", False))
        self.assertEqual([f.function for f in r.frames],
                         ["proc_reg_write", "vfs_write", "ksys_write", "do_syscall_64",
                          "entry_SYSCALL_64_after_hwframe"])

    def test_hung_task(self):
        r = self.only(HUNG_61)
        self.assertEqual(r.kind, "hung task")
        self.assertIsNone(r.rip)      # only a user-space RIP: 0033 in the trace
        self.assertEqual(r.frames[4], oops.Frame("timer_read", 0x2d, 0x90, "my_timer", False))
        self.assertEqual(r.frames[3].function, "__mutex_lock.constprop.0")
        self.assertEqual(len(r.frames), 10)
        self.assertEqual(r.first_lines[3][:9], "task:cat ")

    def test_general_protection_fault(self):
        for text in (GPF_61, GPF_612):
            r = self.only(text)
            self.assertEqual(r.kind, "general protection fault")
            self.assertEqual(r.rip, oops.Frame("timer_exit", 0x21, 0x40, "my_timer", False))
        self.assertEqual(self.only(GPF_612).frames[3],
                         oops.Frame("timer_exit", 0x21, 0x40, "my_timer", True))

    def test_kernel_bug_and_its_invalid_opcode_are_one_report(self):
        r = self.only(KERNEL_BUG_612)
        self.assertEqual(r.kind, "kernel BUG")
        self.assertEqual(r.where, ("/job/build/my_timer.c", 88))
        self.assertEqual(r.first_lines[1], "Oops: invalid opcode: 0000 [#1] PREEMPT SMP NOPTI")

    def test_lone_invalid_opcode_and_other_bugs(self):
        kinds = [r.kind for r in oops.find_reports(
            "[1.0] Oops: invalid opcode: 0000 [#1] PREEMPT SMP NOPTI\n"
            "[1.1] ---[ end trace 0000000000000000 ]---\n"
            "[2.0] BUG: unable to handle page fault for address: ffffc90000a2b000\n"
            "[2.1] ---[ end trace 0000000000000000 ]---\n"
            "[3.0] BUG: scheduling while atomic: cat/123/0x00000002\n"
            "[4.0] watchdog: BUG: soft lockup - CPU#0 stuck for 22s! [cat:123]\n"
            "[5.0] INFO: task my prog:77 blocked for more than 241 seconds.\n")]
        self.assertEqual(kinds, ["invalid opcode", "page fault", "scheduling while atomic",
                                 "soft lockup", "hung task"])

    def test_two_reports_interleaved_with_other_output(self):
        warning = WARNING_61.split("\n")
        at = next(i for i, line in enumerate(warning) if "Call Trace:" in line)
        # Unstamped lines (user space on the console) inside a stamped report.
        warning[at + 2:at + 2] = ["# BUG: this is user space talking", " ? fake_frame+0x1/0x2 [my_timer]"]
        log = "ok 1 - timer loads\n" + "\n".join(warning) + "ok 2 - read\n" + OOPS_61 + "not ok 3 - write\n"
        reports = oops.find_reports(log)
        self.assertEqual([r.kind for r in reports], ["WARNING", "NULL pointer dereference"])
        self.assertNotIn("fake_frame", [f.function for f in reports[0].frames])
        self.assertEqual(len(reports[0].frames), 5)
        self.assertEqual(reports[1].rip.offset, 0x1c)

    def test_no_timestamps_and_syslog_prefix(self):
        plain = re.sub(r"(?m)^\[[ \d.]+\] ", "", OOPS_61)
        self.assertEqual(self.only(plain).rip.function, "timer_read")
        journal = re.sub(r"(?m)^", "Dec  2 14:01:07 vm kernel: ", OOPS_61)
        r = self.only(journal)
        self.assertEqual(r.headline[:4], "BUG:")
        self.assertEqual(len(r.frames), 7)

    def test_caps(self):
        trace = "".join(f"[9.{i:06d}]  fn_{i}+0x1/0x10\n" for i in range(100))
        one = "[9.0] BUG: kernel NULL pointer dereference, address: 0\n[9.0] Call Trace:\n" + trace
        r = self.only(one)
        self.assertEqual(len(r.frames), oops.MAX_FRAMES)
        self.assertEqual(r.frames[-1].function, f"fn_{oops.MAX_FRAMES - 1}")
        self.assertEqual(len(oops.find_reports(OOPS_61 * 20)), oops.MAX_REPORTS)

    def test_hostile_lines(self):
        log = ("[1.0] BUG: kernel NULL pointer dereference\x1b[2J\x07 \\xff\\xfe" + "A" * 1_000_000 + "\n"
               + "[1.0] \x00\x01\x02\x9b \u2028" * 1000 + "\n"
               + "[1.1] RIP: 0010:evil+0x" + "f" * 40 + "/0x10 [my_timer]\n"
               + "[1.2] RIP: 0010:\u202eevil+0x1/0x10 [my_timer]\n"
               + "[1.3] Call Trace:\n"
               + "[1.4]  real_one+0x1/0x2 [my_timer" + "x" * 2_000_000 + "]\n"
               + "[1.5]  ok_frame+0x10/0x20 [my_timer]\n")
        r = self.only(log)
        self.assertTrue(r.headline.startswith("BUG: kernel NULL pointer dereference \\xff\\xfeAAA"))
        self.assertLessEqual(len(r.headline), oops.LINE_CAP)
        self.assertEqual(len(r.first_lines), 5)
        self.assertFalse(any(re.search("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u202e]", line)
                             for line in r.first_lines))
        self.assertIsNone(r.rip)
        self.assertEqual(r.frames, [oops.Frame("ok_frame", 0x10, 0x20, "my_timer", False)])
        self.assertEqual(oops.find_reports(b"[1.0] WARNING: CPU: 0 PID: 1 at x.c:3 f+0x1/0x2\xff\n")[0].kind,
                         "WARNING")
        self.assertEqual(oops.find_reports(None), [])

    def test_bounded_time(self):
        noise = "[5.000000] random: crng init done\n" * 200_000 + "\n" * 100_000 + "x" * 5_000_000 + "\n"
        started = time.monotonic()
        self.assertEqual(oops.find_reports(noise + OOPS_61)[0].rip.function, "timer_read")
        self.assertLess(time.monotonic() - started, 20)


def write(path, text):
    """Write text to path, making its folder."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


MODULE_H = """\
/* my_timer.h */
static inline void poke(int *p)
{
	p[1] = 7;	/* POKE_LINE */
}
"""

OUTSIDE_H = """\
/* fake_list.h: stands for a kernel header, outside the student's folder */
static inline void kernel_store(int *p)
{
	p[2] = 9;	/* SECRET_MARKER */
}
"""

# The \x1b in RETURN_LINE's comment checks that control characters in a
# source line are not passed on.
MODULE_C = """\
/* my_timer.c: a stand-in for a student's module */
#include "my_timer.h"
#include "fake_list.h"

int helper(int x);
int counter;

__attribute__((noinline)) int my_timer_read(int *p)
{
	int a = helper(1);	/* CALL_LINE */
	*p = a;	/* STORE_LINE */
	return a + helper(2);	/* RETURN_LINE \x1b[31m */
}

__attribute__((noinline)) void my_timer_poke(int *p)
{
	poke(p);	/* POKE_CALL */
}

__attribute__((noinline)) void my_timer_list(int *p)
{
	kernel_store(p);	/* LIST_CALL */
}

__attribute__((section(".init.text"))) int my_timer_init(void)
{
	counter = helper(3);	/* INIT_LINE */
	return counter;
}
#line 900 "{outside}/secret.c"
__attribute__((noinline)) int my_timer_abs(int *p)
{
	return p[3];
}
#line 930 "../outside/secret.c"
__attribute__((noinline)) int my_timer_dotdot(int *p)
{
	return p[4];
}
#line 960 "linked.c"
__attribute__((noinline)) int my_timer_link(int *p)
{
	return p[5];
}
"""


def line_of(text, marker):
    """The 1-based number of the line of text that contains marker."""
    return next(i for i, line in enumerate(text.split("\n"), 1) if marker in line)


def line_table(ko):
    """{(file basename, line): first address} from readelf's decoded line table."""
    out = subprocess.run([READELF, "--debug-dump=decodedline", ko], capture_output=True,
                         text=True, check=True).stdout
    table = {}
    for m in re.finditer(r"(?m)^(\S+)\s+(\d+)\s+(0x[0-9a-f]+|0)\b", out):
        table.setdefault((m.group(1), int(m.group(2))), int(m.group(3), 16))
    return table


def function_symbols(ko):
    """{function: (value, size)} from readelf's symbol table."""
    out = subprocess.run([READELF, "-sW", ko], capture_output=True, text=True, check=True).stdout
    return {m.group(3): (int(m.group(1), 16), int(m.group(2)))
            for m in re.finditer(r"(?m)^\s*\d+: ([0-9a-f]+)\s+(\d+) FUNC .* (\S+)$", out)}


def rip_report(function, offset, size, kind="NULL pointer dereference", frames=()):
    """A Report whose RIP is function+offset/size [my_timer]."""
    return oops.Report(kind, "BUG: kernel NULL pointer dereference, address: 0000000000000000",
                       ["BUG: kernel NULL pointer dereference, address: 0000000000000000"],
                       rip=oops.Frame(function, offset, size, "my_timer", False), frames=list(frames))


@unittest.skipUnless(HAVE_TOOLS, TOOLS_MISSING)
class ResolveTest(unittest.TestCase):
    """resolve() and summary() on a real object with DWARF."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="oops-test-")
        cls.src = os.path.join(cls.tmp, "src")
        build, outside = os.path.join(cls.tmp, "build"), os.path.join(cls.tmp, "outside")
        cls.outside = outside
        code = MODULE_C.replace("{outside}", outside)
        for folder in (cls.src, build):
            write(os.path.join(folder, "my_timer.c"), code)
            write(os.path.join(folder, "my_timer.h"), MODULE_H)
        write(os.path.join(outside, "fake_list.h"), OUTSIDE_H)
        write(os.path.join(outside, "secret.c"),
              "".join(f"SECRET_MARKER line {i}\n" for i in range(1, 1000)))
        os.symlink(os.path.join(outside, "secret.c"), os.path.join(cls.src, "linked.c"))
        # Built in another folder than the sources, as the sandbox does: the
        # DWARF names build/my_timer.c, found in src by its name.
        cls.ko = os.path.join(build, "my_timer.ko")
        subprocess.run([GCC, "-g", "-O1", "-fno-pie", "-fno-stack-protector", "-I", outside, "-c",
                        os.path.join(build, "my_timer.c"), "-o", cls.ko], check=True, cwd=build)
        cls.code = code
        cls.lines = line_table(cls.ko)
        cls.syms = function_symbols(cls.ko)
        cls.modules = {"my_timer": (cls.ko, cls.src)}

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp)

    def offset(self, function, file, marker):
        """function's offset of the first instruction of marker's line in file."""
        text = MODULE_H if file == "my_timer.h" else OUTSIDE_H if file == "fake_list.h" else self.code
        return self.lines[(file, line_of(text, marker))] - self.syms[function][0]

    def rip(self, function, file="my_timer.c", marker=None, frames=()):
        """resolve() of a report whose RIP is at marker's line of function."""
        off = self.offset(function, file, marker) if marker else 0
        return oops.resolve(rip_report(function, off, self.syms[function][1], frames=frames),
                            self.modules)

    def test_rip_resolves_to_file_line_and_source(self):
        [loc] = self.rip("my_timer_read", marker="STORE_LINE")
        self.assertEqual((loc.file, loc.line), ("my_timer.c", line_of(self.code, "STORE_LINE")))
        self.assertEqual(loc.source, "*p = a; /* STORE_LINE */")
        self.assertIsNone(loc.reason)
        self.assertTrue(loc.is_rip)

    def test_control_characters_in_source_are_stripped(self):
        [loc] = self.rip("my_timer_read", marker="RETURN_LINE")
        self.assertEqual(loc.line, line_of(self.code, "RETURN_LINE"))
        self.assertEqual(loc.source, "return a + helper(2); /* RETURN_LINE  */")

    def test_return_address_is_looked_up_one_byte_back(self):
        # A trace frame whose return address is the first byte of STORE_LINE
        # was called from the line before it.
        store = self.offset("my_timer_read", "my_timer.c", "STORE_LINE")
        self.assertGreater(store, self.offset("my_timer_read", "my_timer.c", "CALL_LINE"))
        size = self.syms["my_timer_read"][1]
        frame = oops.Frame("my_timer_read", store, size, "my_timer", False)
        report = oops.Report("hung task", "INFO: task cat:1 blocked for more than 120 seconds.",
                             [], frames=[oops.Frame("schedule", 0x5a, 0xd0, None, False), frame])
        [loc] = oops.resolve(report, self.modules)
        self.assertFalse(loc.is_rip)
        self.assertEqual(loc.line, line_of(self.code, "CALL_LINE"))

    def test_init_text_section(self):
        off = self.offset("my_timer_init", "my_timer.c", "INIT_LINE")
        self.assertGreater(off, 0)
        [loc] = oops.resolve(rip_report("my_timer_init", off, self.syms["my_timer_init"][1]),
                             self.modules)
        self.assertEqual(loc.line, line_of(self.code, "INIT_LINE"))
        self.assertEqual(loc.source, "counter = helper(3); /* INIT_LINE */")

    def test_inlined_student_function(self):
        [loc] = self.rip("my_timer_poke", "my_timer.h", "POKE_LINE")
        self.assertEqual((loc.file, loc.line, loc.function, loc.inlined),
                         ("my_timer.h", line_of(MODULE_H, "POKE_LINE"), "poke", True))
        self.assertTrue(oops.summary(rip_report("my_timer_poke", 0, 8), [loc]).startswith(
            f"NULL pointer dereference in poke (inlined in my_timer_poke) at my_timer.h:{loc.line}: "
            "`p[1] = 7; /* POKE_LINE */`"))

    def test_inlined_header_outside_the_sources_gives_the_callers_line(self):
        [loc] = self.rip("my_timer_list", "fake_list.h", "SECRET_MARKER")
        self.assertEqual((loc.file, loc.line), ("my_timer.c", line_of(self.code, "LIST_CALL")))
        self.assertEqual(loc.function, "my_timer_list")
        self.assertFalse(loc.inlined)

    def test_dwarf_paths_outside_the_sources_are_not_read(self):
        real_read = oops._read_lines
        read = []

        def recording(path):
            read.append(path)
            return real_read(path)

        with mock.patch.object(oops, "_read_lines", recording):
            for function in ("my_timer_abs", "my_timer_dotdot", "my_timer_link", "my_timer_list"):
                with self.subTest(function=function):
                    [loc] = self.rip(function)
                    self.assertNotIn("SECRET", repr(loc))
                    if function != "my_timer_list":
                        self.assertIsNone(loc.file)
                        self.assertIn("outside your sources", loc.reason)
        self.assertTrue(read)
        root = os.path.realpath(self.src) + os.sep
        self.assertEqual([p for p in read if not p.startswith(root)], [])

    def test_summary_of_a_resolved_oops(self):
        store = self.offset("my_timer_read", "my_timer.c", "STORE_LINE")
        size = self.syms["my_timer_read"][1]
        text = OOPS_61.replace("timer_read+0x1c/0x60", f"my_timer_read+0x{store:x}/0x{size:x}")
        report = oops.find_reports(text)[0]
        report.frames[1:1] = [
            oops.Frame("my_timer_read", store, size, "my_timer", True),    # the RIP again: one row
            oops.Frame("my_timer_poke", 1, 8, "my_timer", False)]          # called from POKE_LINE
        line, poke = line_of(self.code, "STORE_LINE"), line_of(MODULE_H, "POKE_LINE")
        self.assertEqual(oops.summary(report, oops.resolve(report, self.modules)).split("\n"), [
            f"NULL pointer dereference in my_timer_read at my_timer.c:{line}: `*p = a; /* STORE_LINE */`",
            "  kernel said: BUG: kernel NULL pointer dereference, address: 0000000000000000",
            "               #PF: supervisor write access in kernel mode",
            "               #PF: error_code(0x0002) - not-present page",
            "               PGD 0 P4D 0",
            "               Oops: 0002 [#1] PREEMPT SMP NOPTI",
            "  in your module:",
            f"    my_timer_read                    my_timer.c:{line}  *p = a; /* STORE_LINE */",
            f"    poke (inlined in my_timer_poke)  my_timer.h:{poke}  p[1] = 7; /* POKE_LINE */"])

    def test_first_line_prefers_a_frame_the_kernel_was_sure_of(self):
        store = self.offset("my_timer_read", "my_timer.c", "STORE_LINE")
        report = oops.Report("hung task", "INFO: task cat:1 blocked for more than 120 seconds.", [], frames=[
            oops.Frame("my_timer_poke", 1, 8, "my_timer", True),
            oops.Frame("my_timer_read", store, self.syms["my_timer_read"][1], "my_timer", False)])
        locations = oops.resolve(report, self.modules)
        self.assertEqual([loc.file for loc in locations], ["my_timer.h", "my_timer.c"])
        self.assertEqual(oops.summary(report, locations).split("\n")[0],
                         f"hung task in my_timer_read at my_timer.c:{line_of(self.code, 'CALL_LINE')}: "
                         "`int a = helper(1); /* CALL_LINE */`")

    def test_no_addr2line(self):
        with mock.patch.object(oops, "find_addr2line", return_value=None):
            [loc] = self.rip("my_timer_read", marker="STORE_LINE")
        self.assertIsNone(loc.file)
        self.assertEqual(loc.reason, "addr2line is not installed (binutils)")
        [loc] = oops.resolve(rip_report("my_timer_read", 0x15, 0x2b), self.modules,
                             addr2line=[os.path.join(self.tmp, "no-such-addr2line")])
        self.assertEqual(loc.reason, "cannot run addr2line (FileNotFoundError)")
        self.assertEqual(oops.summary(rip_report("my_timer_read", 0x15, 0x2b), [loc]).split("\n")[0],
                         "NULL pointer dereference in my_timer_read+0x15 [my_timer]")

    def test_static_functions_of_the_same_name_told_apart_by_size(self):
        # A module of two files, each with its own static dup(): the size the
        # kernel printed says which one.
        objects = []
        for name, body in (("part_a", "return p[0];"), ("part_b", "p[1] = p[2] * 3; return p[3] + p[4];")):
            write(os.path.join(self.src, name + ".c"),
                  f"__attribute__((noinline, used)) static int dup(int *p)\n{{\n\t{body}\n}}\n"
                  f"int {name}(int *p) {{ return dup(p); }}\n")
            objects.append(os.path.join(self.tmp, name + ".o"))
            subprocess.run([GCC, "-g", "-O1", "-c", os.path.join(self.src, name + ".c"), "-o", objects[-1]],
                           check=True)
        both = os.path.join(self.tmp, "both.ko")
        subprocess.run([LD, "-r", "-o", both] + objects, check=True)
        size_b = function_symbols(objects[1])["dup"][1]
        self.assertNotEqual(size_b, function_symbols(objects[0])["dup"][1])
        [loc] = oops.resolve(rip_report("dup", 0, size_b), {"my_timer": (both, self.src)})
        self.assertEqual((loc.file, loc.line), ("part_b.c", 3))

    def test_unknown_function_and_missing_debug_info(self):
        [loc] = oops.resolve(rip_report("not_there", 1, 2), self.modules)
        self.assertEqual(loc.reason, "not_there is not a function of the module")
        stripped = os.path.join(self.tmp, "stripped.ko")
        subprocess.run([GCC, "-O1", "-I", self.outside, "-c", os.path.join(self.src, "my_timer.c"),
                        "-o", stripped], check=True)
        [loc] = oops.resolve(rip_report("my_timer_read", 0x15, 0x2b), {"my_timer": (stripped, self.src)})
        self.assertIn("no line information", loc.reason)

    def test_slow_or_chatty_addr2line_is_cut_short(self):
        slow, chatty = os.path.join(self.tmp, "slow"), os.path.join(self.tmp, "chatty")
        runs = os.path.join(self.tmp, "slow-runs")
        write(slow, f"#!/bin/sh\necho run >> '{runs}'\nexec sleep 30\n")
        write(chatty, "#!/bin/sh\nexec yes AAAAAAAA\n")
        os.chmod(slow, 0o755)
        os.chmod(chatty, 0o755)
        report = rip_report("my_timer_read", 0x15, 0x2b,
                            frames=[oops.Frame("my_timer_read", 0x9, 0x2b, "my_timer", False)])
        started = time.monotonic()
        with mock.patch.object(oops, "ADDR2LINE_TIMEOUT", 0.5):
            locs = oops.resolve(report, self.modules, addr2line=[slow])
        self.assertLess(time.monotonic() - started, 5)
        with open(runs) as f:
            self.assertEqual(f.read(), "run\n")        # the second frame is not tried again
        self.assertEqual([loc.reason for loc in locs], ["addr2line took too long on this module"] * 2)
        [loc, _] = oops.resolve(report, self.modules, addr2line=[chatty])
        self.assertIn("no line information", loc.reason)

    def test_mangled_modules_never_raise(self):
        with open(self.ko, "rb") as f:
            good = f.read()
        rng = random.Random(1234)
        path = os.path.join(self.tmp, "mangled.ko")
        report = rip_report("my_timer_read", 0x15, 0x2b)
        reasons = set()
        for i in range(150):
            # A third cut short; byte changes in the headers (odd i) or anywhere.
            data = bytearray(good[:rng.randrange(1, len(good))] if i % 3 == 0 else good)
            span = min(len(data), 0x200) if i % 2 else len(data)
            for _ in range(rng.randrange(1, 20)):
                data[rng.randrange(span)] = rng.randrange(256)
            if i % 5 == 0 and len(data) >= 0x30:          # section headers anywhere
                struct.pack_into("<Q", data, 0x28, rng.choice([0, len(data) - 10, 2**63, 2**64 - 1]))
            with open(path, "wb") as f:
                f.write(data)
            [loc] = oops.resolve(report, {"my_timer": (path, self.src)}, addr2line=["/bin/true"])
            self.assertTrue(loc.reason or loc.file)
            reasons.add(loc.reason)
        self.assertGreater(len(reasons), 2)

    def test_course_environment_addr2line(self):
        roots = [r for r in oops._env_roots() if os.path.isfile(os.path.join(r, "usr/bin/addr2line"))]
        if not roots:
            self.skipTest("no course environment with addr2line has been made on this host")
        with mock.patch.object(oops.shutil, "which", return_value=None):
            tool = oops.find_addr2line()
            [loc] = self.rip("my_timer_read", marker="STORE_LINE")
        self.assertEqual(tool[-1], os.path.join(roots[0], "usr", "bin", "addr2line"))
        self.assertEqual(loc.line, line_of(self.code, "STORE_LINE"))


class ResolveWithoutToolsTest(unittest.TestCase):
    """resolve() and summary() where no compiler is needed."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="oops-test-")
        self.addCleanup(shutil.rmtree, self.tmp)
        self.src = os.path.join(self.tmp, "src")
        write(os.path.join(self.src, "my_timer.c"),
              "".join(f"// line {i}\n" for i in range(1, 57)) + "\tWARN_ON(count < 0);\n")

    def test_warning_falls_back_on_the_kernels_file_and_line(self):
        report = oops.find_reports(WARNING_61)[0]
        ko = os.path.join(self.tmp, "missing.ko")
        [loc] = oops.resolve(report, {"my_timer": (ko, self.src)})
        self.assertEqual((loc.file, loc.line, loc.source), ("my_timer.c", 57, "WARN_ON(count < 0);"))
        self.assertEqual(oops.summary(report, [loc]).split("\n")[0],
                         "WARNING in timer_write at my_timer.c:57: `WARN_ON(count < 0);`")

    def test_frames_outside_the_modules_are_left_out(self):
        report = oops.find_reports(HUNG_61)[0]
        self.assertEqual(oops.resolve(report, {"other": ("x.ko", self.src)}), [])
        [loc] = oops.resolve(report, {"my-timer": (os.path.join(self.tmp, "no.ko"), self.src)})
        self.assertEqual(loc.frame.function, "timer_read")
        self.assertIn("cannot read the module", loc.reason)
        text = oops.summary(report, [loc])
        self.assertTrue(text.startswith("hung task in timer_read+0x2d [my_timer]\n"
                                        "  kernel said: INFO: task cat:456 blocked for more than 120 seconds.\n"))
        self.assertNotIn("proc_reg_read", text)

    def test_summary_without_student_frames_is_the_headline(self):
        report = oops.find_reports("[1.0] BUG: scheduling while atomic: cat/123/0x00000002\n")[0]
        self.assertEqual(oops.summary(report, oops.resolve(report, {})),
                         "BUG: scheduling while atomic: cat/123/0x00000002\n"
                         "  kernel said: BUG: scheduling while atomic: cat/123/0x00000002")
        vmlinux = oops.find_reports(OOPS_61.replace(" [my_timer]", ""))[0]
        self.assertEqual(oops.summary(vmlinux, []).split("\n")[0],
                         "NULL pointer dereference in timer_read+0x1c")

    def test_hostile_module_files_and_arguments(self):
        report = oops.find_reports(OOPS_61)[0]
        fifo = os.path.join(self.tmp, "fifo.ko")
        os.mkfifo(fifo)
        garbage = os.path.join(self.tmp, "garbage.ko")
        with open(garbage, "wb") as f:
            f.write(b"\x7fELF\x02\x01\x01" + b"\xff" * 200)
        huge_shnum = os.path.join(self.tmp, "huge.ko")
        with open(huge_shnum, "wb") as f:
            header = bytearray(64)
            header[:6] = b"\x7fELF\x02\x01"
            struct.pack_into("<Q", header, 0x28, 64)                   # e_shoff
            struct.pack_into("<HHH", header, 0x3a, 64, 0xffff, 0)      # 65535 headers, none there
            f.write(header)
        for ko in (fifo, garbage, huge_shnum, self.tmp, "\0bad"):
            with self.subTest(ko=ko):
                [loc] = oops.resolve(report, {"my_timer": (ko, self.src)}, addr2line=["/bin/true"])
                self.assertIsNone(loc.file)
                self.assertTrue(loc.reason)
        for modules in (None, {"my_timer": None}, {"my_timer": ("a",)}, [("my_timer", 3)]):
            with self.subTest(modules=modules):
                self.assertEqual(oops.resolve(report, modules), [])

    def test_source_paths_stay_in_the_folder(self):
        outside = os.path.join(self.tmp, "outside.c")
        write(outside, "secret\n")
        os.symlink(outside, os.path.join(self.src, "link.c"))
        self.assertEqual(oops._source_path(self.src, "/build/sandbox/x/my_timer.c")[0], "my_timer.c")
        self.assertEqual(oops._source_path(self.src, "./my_timer.c")[0], "my_timer.c")
        for path in (outside, "../outside.c", "/job/src/../../outside.c", "sub/../my_timer.c",
                     "link.c", "??", "",
                     "my_timer.c\0", "/etc/passwd"):
            with self.subTest(path=path):
                self.assertIsNone(oops._source_path(self.src, path))


if __name__ == "__main__":
    unittest.main()
