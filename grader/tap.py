"""Read what one grading VM sent on its results port: authenticated records
(grader/guest-lib/records.py) of the guest agent, carrying bats' TAP output,
the agent's events and the kernel log.

The reader is a strict state machine, fed incrementally (linear time,
bounded memory). Whatever does not fit what an honest run produces is
tampering, said in `Stream.tampered`, and the grader then scores the
round's tests 0 and flags the part:

- a line that is not a record of the agent (bad tag, a gap or repeat in
  the sequence numbers, an unescaped control character);
- agent events out of order: boot, bats-start, bats-exit, tainted, done;
- TAP outside the window between bats-start and bats-exit;
- a plan other than the number of tests the grader asked for; a result
  that is not the next one (numbers 1..N in order, each with the title the
  grader asked for in that place, each with a timing); a second result for
  a test; a marker other than @@restart / @@info; an @@info note not in
  the form its part defines;
- a request for a fresh VM (@@restart) that the suite's own setup cannot
  have sent (`restart_is_forged`);
- bats' exit status disagreeing with the results (0 with a failure, or
  non-zero when every test of a complete run passed).
"""
import os
import re
import sys
from dataclasses import dataclass, field

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "guest-lib"))
import records  # noqa: E402

# bats' own stack trace of a failing test: noise next to our messages.
TRACE = re.compile(r"^\s*\(?(from function|in test file) |^\s*`.*' failed( with status \d+)?$")
RESULT = re.compile(r"^(not )?ok (\d{1,6}) (.*) in (\d{1,10})ms(?: # skip(?: (.*))?)?$")
LOOKS_LIKE_RESULT = re.compile(r"^(not )?ok \d")
# Numbers have bounded digits: int() of a huge one is slow or raises.
PLAN = re.compile(r"^1\.\.(\d{1,6})$")
UPTIME = r"(\d{1,10}\.\d{1,10})"
EVENTS = {   # agent event -> (pattern, the event that must come right before it)
    "boot": (re.compile(rf"^boot {UPTIME}$"), None),
    "bats-start": (re.compile(rf"^bats-start {UPTIME}$"), "boot"),
    "bats-exit": (re.compile(rf"^bats-exit (\d{{1,3}}) {UPTIME}$"), "bats-start"),
    "tainted": (re.compile(r"^tainted (\d{1,12})$"), "bats-exit"),
    "done": (re.compile(r"^done$"), "tainted"),
}
MAX_PENDING = 8 * records.MAX_TEXT + 256    # bytes of a line still without "\n"
MAX_OUTPUT_LINES = 400      # lines kept of one test's output
MAX_NOISE_LINES = 200
MAX_KERNEL_LOG_LINES = 5000
MAX_INFO = 10


@dataclass
class TestOutcome:
    title: str
    passed: bool
    output: str = ""
    ms: int = 0
    skipped: bool = False
    lines: list = field(default_factory=list, repr=False)


@dataclass
class Stream:
    outcomes: list = field(default_factory=list)   # TestOutcomes in run order
    finished: bool = False      # the agent said done: bats ran to its end
    kernel_log: list = field(default_factory=list)  # lines of dmesg (data only)
    tainted: int = 0
    noise: str = ""             # anything bats printed outside a test
    restart: str = ""           # why the guest asked for a fresh VM, if it did
    uptimes: dict = field(default_factory=dict)  # guest uptime at boot, bats start/end
    info: list = field(default_factory=list)     # "@@info TEXT" notes: no points, for the report
    bats_status: int = -1
    tampered: list = field(default_factory=list)  # why this stream cannot be trusted

    @property
    def dmesg(self):
        return "\n".join(self.kernel_log)


def restart_is_forged(text, outcomes):
    """Why an @@restart TEXT cannot come from the suite, or "". kmod.bash's
    kmod_teardown writes "'TITLE' ..." into a flag in the VM's /tmp when
    test TITLE leaves the kernel dirty, bats then reports TITLE, and the
    next test's kmod_setup sends the flag's line. So an honest request
    names the test reported last, and never comes before this VM's first
    result (/tmp is a fresh tmpfs in every VM). Honouring any other would
    let a submission have the same tests booted again and again, until the
    grader gave up with an error of its own."""
    if not outcomes:
        return "a request for a fresh VM before any test of this VM had reported"
    last = outcomes[-1].title
    if not text.startswith(f"'{last}' "):
        return (f"a request for a fresh VM that does not name the test reported last "
                f"({last[:80]!r}): {text[:80]!r}")
    return ""


class Reader:
    """Feed it the bytes of the results port as they come; read .stream.

    key: the per-boot secret; titles: the tests the grader asked bats to
    run, in run order; info_forms: regular expressions an @@info note must
    match in full (the part's fixed forms)."""

    def __init__(self, key, titles, info_forms=()):
        self.key, self.titles = key, list(titles)
        self.info_forms = [re.compile(f) for f in info_forms]
        self.stream = Stream()
        self.pending = b""
        self.seq = 0
        self.last_event = None
        self.in_window = False
        self.current = None
        self.noise_lines = []
        self.bytes = 0

    # -- input ------------------------------------------------------------

    def feed(self, data):
        self.bytes += len(data)
        self.pending += data
        *lines, self.pending = self.pending.split(b"\n")
        for line in lines:
            self._line(line)
        if len(self.pending) > MAX_PENDING:
            self._tamper("a line on the results port far longer than any record")
            self.pending = b""

    def close(self):
        """The VM is gone: what is left without a newline was cut off."""
        if self.pending:
            self.pending = b""   # a record cut by the VM's end: not evidence of anything
        self._finish_output()
        self.stream.noise = "".join(line + "\n" for line in self.noise_lines)
        return self.stream

    @property
    def results(self):
        return len(self.stream.outcomes)

    @property
    def started(self):
        return self.last_event is not None

    # -- records ----------------------------------------------------------

    def _tamper(self, why):
        if why not in self.stream.tampered and len(self.stream.tampered) < 20:
            self.stream.tampered.append(why)

    def _line(self, raw):
        try:
            seq, channel, text = records.decode(self.key, raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as e:
            self._tamper(f"{e}" if isinstance(e, ValueError) else "a line that is not UTF-8 text")
            return
        if seq != self.seq:
            self._tamper(f"records out of sequence (expected {self.seq}, got {seq})")
        self.seq = seq + 1
        if channel == "A":
            self._event(text)
        elif channel == "T":
            if self.in_window:
                self._tap(text)
            else:
                self._tamper("bats output outside the time bats ran")
        elif channel == "K":
            if len(self.stream.kernel_log) < MAX_KERNEL_LOG_LINES:
                self.stream.kernel_log.append(text)

    def _event(self, text):
        word = text.split(" ", 1)[0]
        if word not in EVENTS:
            self._tamper(f"an unknown agent event {word!r}")
            return
        pattern, before = EVENTS[word]
        match = pattern.match(text)
        # After @@restart the agent sends the kernel log and taint while
        # bats still runs, then powers off.
        if word == "tainted" and self.stream.restart and self.last_event == "bats-start":
            before = "bats-start"
        if not match or self.last_event != before:
            self._tamper(f"agent event {word!r} malformed or out of order")
            return
        self.last_event = word
        s = self.stream
        if word in ("boot", "bats-start"):
            s.uptimes[word] = float(match.group(1))
            self.in_window = word == "bats-start"
        elif word == "bats-exit":
            s.bats_status, s.uptimes[word] = int(match.group(1)), float(match.group(2))
            self.in_window = False
            self._finish_output()
            self.current = None
            self._check_exit_status()
        elif word == "tainted":
            s.tainted = int(match.group(1))
        elif word == "done":
            s.finished = True

    def _check_exit_status(self):
        s = self.stream
        if s.restart:
            return
        complete = len(s.outcomes) == len(self.titles)
        any_failed = any(not o.passed and not o.skipped for o in s.outcomes)
        if s.bats_status == 0 and any_failed:
            self._tamper("bats exited 0 although a result says a test failed")
        elif s.bats_status != 0 and complete and not any_failed:
            self._tamper(f"bats exited {s.bats_status} although every result says passed")

    # -- TAP --------------------------------------------------------------

    def _tap(self, line):
        s = self.stream
        if line.startswith("@@"):
            self._marker(line[2:])
            return
        plan = PLAN.match(line)
        if plan:
            if self.current is not None or s.outcomes or int(plan.group(1)) != len(self.titles):
                self._tamper(f"a plan of {plan.group(1)} test(s) where the grader asked "
                             f"for {len(self.titles)}")
            return
        if LOOKS_LIKE_RESULT.match(line):
            self._result(line)
            return
        if line.startswith("#") and self.current is not None:
            text = line[2:] if line.startswith("# ") else line[1:]
            if not TRACE.match(text) and len(self.current.lines) < MAX_OUTPUT_LINES:
                self.current.lines.append(text)
            return
        if len(self.noise_lines) < MAX_NOISE_LINES:
            self.noise_lines.append(line)

    def _result(self, line):
        s = self.stream
        match = RESULT.match(line)
        if not match:
            self._tamper(f"a result line without a timing: {line[:80]!r}")
            return
        failed, number, title, ms, skip_reason = match.groups()
        number = int(number)
        skipped = " # skip" in line[match.end(4):]
        if s.restart:
            self._tamper("a result after the guest asked for a fresh VM")
            return
        expected = len(s.outcomes) + 1
        if number != expected or expected > len(self.titles) or title != self.titles[expected - 1]:
            reported = {o.title for o in s.outcomes}
            why = ("a second result for" if title in reported else "an unexpected result")
            self._tamper(f"{why} test {number} {title[:80]!r}")
            return
        self._finish_output()
        self.current = TestOutcome(title=title, passed=not failed and not skipped,
                                   ms=int(ms), skipped=skipped)
        if skipped:
            self.current.output = "the test was skipped: " + (skip_reason or "no reason given")
        s.outcomes.append(self.current)

    def _marker(self, rest):
        word, _, text = rest.partition(" ")
        text = text.strip()
        s = self.stream
        if word == "restart" and text and not s.restart:
            forged = restart_is_forged(text, s.outcomes)
            if forged:
                self._tamper(forged)
                return
            s.restart = text
            self._finish_output()
        elif word == "info" and text:
            if not any(f.fullmatch(text) for f in self.info_forms):
                self._tamper(f"a note not in its part's form: {text[:80]!r}")
            elif text not in s.info:
                if len(s.info) >= MAX_INFO:
                    self._tamper("more notes than a part writes")
                else:
                    s.info.append(text)
        else:
            self._tamper(f"an unknown marker @@{word[:40]}")

    def _finish_output(self):
        o = self.current
        if o is not None and o.lines:
            o.output += "".join(line + "\n" for line in o.lines)
            o.lines = []


def read_all(key, titles, data, info_forms=()):
    """The whole stream at once (tests, tools)."""
    reader = Reader(key, titles, info_forms)
    reader.feed(data)
    return reader.close()
