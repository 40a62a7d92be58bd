"""What one VM round proves: from the tests the round ran, what the VM sent
(tap.Stream) and how the VM ended (vm.VMResult.end), each test's verdict
and the tests the next round must run.

A part is graded in rounds: one VM runs the tests still to run, in the
suite's order, until the suite ends or the VM does. `judge` reads one round
and says, without touching a file or a VM:

- tampering (the stream is not what the grader's agent writes, or an
  output ran over its cap): every test of the round fails, no next round;
- an end that is not the guest's doing (qemu killed from outside, or a VM
  that never reached the agent's first word, before any student code
  could run): what was reported stands, the rest runs again, and the
  caller decides how often (`PartGrader` retries once, then it is a
  grader error, never failed tests);
- a test that asked for a fresh VM (@@restart): the rest runs in one, and
  the kernel log of the VM it leaves is checked (`dirty_log`);
- a VM that stopped with tests unreported: the first of them is the
  culprit, "timeout" when the watchdog stopped a silent or overlong VM,
  "crashed" when the guest ended it (a panic), or qemu itself failed (then
  also `review`: a TA checks that qemu is not at fault); the rest runs again.

`settle` then applies what a crash means to the whole part: tests marked
after-crash=fail (the "kernel stayed clean" test) fail when any round
crashed or left a dirty log, though a fresh VM passed them.

The watchdog's limits for a round live here too (`silence_limit`,
`total_limit`): they decide which end a hang gets.
"""
import re
from dataclasses import dataclass, field

import vm

BOOT_ALLOWANCE = 90      # seconds from qemu start to the guest's first word
BATS_STARTUP = 20        # seconds bats may take before its first test ends
AFTER_LAST = 60          # seconds from the last result to the agent's "done"
# What the suites' "kernel log is clean" test looks for (kmod.bash
# kernel_log_is_clean), applied on the host to a VM that ended early on a
# test's request: that VM's log counts too.
DIRTY_LOG = re.compile(r"\] (.*BUG:|Oops:|WARNING:|general protection fault|Call Trace:|"
                       r"watchdog: |INFO: task .* blocked for more than|"
                       r"list_(add|del) corruption|kernel BUG at)")
ALLOWED_TAINT = 4096 | 8192      # O (out-of-tree) and E (unsigned module)
CRASH_MARKERS = re.compile(
    r"(BUG:|Oops|WARNING:|Kernel panic|general protection fault|"
    r"watchdog: BUG|INFO: task .* blocked|Call Trace:|RIP:)")
# The ends the watchdog gives a VM that ran too long: the culprit hung.
HUNG = (vm.SILENT, vm.OVERTIME)


@dataclass
class Verdict:
    status: str          # passed failed skipped timeout crashed "not run"
    output: str = ""
    ms: int = 0

    @property
    def passed(self):
        return self.status == "passed"


@dataclass
class Round:
    verdicts: dict = field(default_factory=dict)  # test index -> Verdict
    next: list = field(default_factory=list)      # test indexes the next VM runs
    crash: tuple = None      # (title, console text) of this round's crash or hang
    restart: str = ""        # why a test asked for a fresh VM
    dirty: str = ""          # the log problems of a VM that ended on request
    tampered: list = field(default_factory=list)  # why the stream cannot be trusted
    info: list = field(default_factory=list)      # @@info notes
    environment: str = ""    # why this VM's end was not the guest's doing
    review: str = ""         # what a TA should look at (qemu itself crashed)


def judge(specs, remaining, stream, got, locate=lambda console: "", name="this round"):
    """The Round that a VM running specs[i] for i in remaining (in order)
    proves, given its tap.Stream and vm.VMResult. locate(console) says
    where in the student's code a crash happened ("" when unknown); name
    is the round's, for the students' messages (round2)."""
    out = Round(info=list(stream.info))
    if "boot" not in stream.uptimes:
        # The agent's first record: before it, only the course's own code ran.
        out.environment = "the VM never started the grader's agent" + _why(got)
        out.next = list(remaining)
        return out
    tampered = list(stream.tampered)
    if got.end == vm.FLOOD:
        tampered.append(f"the VM wrote too much to {got.over_cap}; it was stopped")
    if tampered:
        out.tampered = tampered
        for i in remaining:
            out.verdicts[i] = Verdict("failed", tampered_text(tampered[0], name))
        return out
    by_title = {o.title: o for o in stream.outcomes}
    for i in remaining:
        o = by_title.get(specs[i].title)
        if o is not None:
            status = "passed" if o.passed else ("skipped" if o.skipped else "failed")
            out.verdicts[i] = Verdict(status, o.output, o.ms)
    unreported = [i for i in remaining if i not in out.verdicts]
    if got.end == vm.OUTSIDE:
        out.environment = got.killed_reason
        out.next = unreported
        return out
    if got.end == vm.QEMU_FAULT:
        title = specs[unreported[0]].title if unreported else "after the last test"
        out.review = (f"qemu itself failed in {name} ({got.killed_reason}) during '{title}': "
                      "charged as a crash of the submission; check that qemu is not at fault")
    if not unreported:
        if not stream.finished:
            out.crash = ("after the last test", _located(got, locate))
        return out
    if stream.finished:
        # bats ended normally but never ran these: a suite error.
        for i in unreported:
            out.verdicts[i] = Verdict("not run", ("bats did not run this test:\n"
                                                  + stream.noise).strip())
        return out
    if stream.restart:
        out.restart, out.dirty, out.next = stream.restart, dirty_log(stream), unreported
        return out
    culprit, out.next = unreported[0], unreported[1:]
    text, where = crash_text(got), locate(got.console)
    if got.end in HUNG:
        how = (f"this test did not finish within {specs[culprit].timeout} s "
               "(it hung, or the kernel deadlocked)" if got.end == vm.SILENT else
               f"the VM {got.killed_reason} while this test ran (the tests before it "
               "took most of that time, or this one never ended)")
        output = (f"{how}; the VM was stopped and restarted for the remaining tests.\n"
                  + (f"The kernel reported:\n{where}\n" if where else "")
                  + f"Last console lines:\n{text}")
        out.verdicts[culprit] = Verdict("timeout", output)
    elif got.end == vm.QEMU_FAULT:
        output = (f"the emulator running the VM failed while this test ran ({got.killed_reason}); "
                  "as far as the grader can tell this test caused it, and the course staff "
                  "will review it. The VM was restarted for the remaining tests.\n"
                  + (f"The kernel reported:\n{where}\n" if where else "")
                  + f"Console:\n{text}")
        out.verdicts[culprit] = Verdict("crashed", output)
    elif got.end == vm.OVERSIZE:
        output = (f"the VM was stopped while this test ran: {got.killed_reason}; it was "
                  f"restarted for the remaining tests.\nConsole:\n{text}")
        out.verdicts[culprit] = Verdict("crashed", output)
    else:
        output = ((f"the kernel crashed while this test ran:\n{where}\nThe VM was "
                   if where else "the kernel crashed while this test ran; the VM was ")
                  + f"restarted for the remaining tests.\nConsole:\n{text}")
        out.verdicts[culprit] = Verdict("crashed", output)
    out.crash = (specs[culprit].title, f"{where}\nConsole:\n{text}" if where else text)
    return out


def settle(specs, verdicts, crashes, dirty_rounds, restarts):
    """After the last round: fail the after-crash=fail tests that passed in
    a part whose kernel did not stay clean (crashes: (title, text) per
    crash; dirty_rounds: (round, why) per VM that ended on request with a
    dirty log). Changes verdicts (index -> Verdict); returns the part's notes."""
    why = ""
    if crashes:
        title, text = crashes[0]
        why = f"the kernel crashed or hung during '{title}', so it did not stay clean:\n{text}"
    elif dirty_rounds:
        prefix, text = dirty_rounds[0]
        why = (f"the kernel log of the VM that ran the tests before a restart "
               f"({prefix}) shows problems:\n{text}")
    for i, spec in enumerate(specs):
        v = verdicts.get(i)
        if why and spec.fails_after_crash and v is not None and v.passed:
            verdicts[i] = Verdict("failed", why, v.ms)
    notes = []
    if restarts:
        notes.append(f"{len(restarts)} test(s) left the kernel dirty, so the next test ran in a "
                     f"fresh VM; first: {restarts[0]}")
    if crashes:
        notes.append(f"the VM crashed or hung {len(crashes)} time(s); see the round*.console logs")
    return notes


def silence_limit(specs):
    """The watchdog's idle limit for a round running specs (in order), as a
    function of the round's tap.Reader: the boot allowance until the agent
    speaks, then the timeout of the test now running."""
    def limit(reader):
        if not reader.started:
            return BOOT_ALLOWANCE
        done = reader.results
        if done >= len(specs):
            return AFTER_LAST
        return specs[done].timeout + (BATS_STARTUP if done == 0 else 5)
    return limit


def total_limit(specs):
    """Seconds a round running specs may take in all."""
    return BOOT_ALLOWANCE + AFTER_LAST + sum(s.timeout + 5 for s in specs)


def tampered_text(reason, name):
    return (f"results tampered: what the VM sent in {name} is not what the "
            f"grader's own agent writes ({reason}), so no test of that round "
            "counts. The course staff will review this submission.")


def dirty_log(stream):
    """Why a VM that ended on a test's request did not stay clean, or ""."""
    bad = [line for line in stream.kernel_log if DIRTY_LOG.search(line)][:20]
    if stream.tainted & ~ALLOWED_TAINT:
        bad.append(f"the kernel is tainted ({stream.tainted})")
    return "\n".join(bad)


def console_excerpt(console, lines=30):
    """The console from just before its first crash marker, or its end."""
    rows = console.splitlines()
    for i, row in enumerate(rows):
        if CRASH_MARKERS.search(row):
            return "\n".join(rows[max(0, i - 3): i + lines])
    return "\n".join(rows[-lines:])


def crash_text(got):
    text = console_excerpt(got.console)
    if got.killed_reason:
        text = f"(watchdog: {got.killed_reason})\n{text}"
    return text


def _located(got, locate):
    text, where = crash_text(got), locate(got.console)
    return f"{where}\nConsole:\n{text}" if where else text


def _why(got):
    return f" ({got.killed_reason})" if got.killed_reason else ""
