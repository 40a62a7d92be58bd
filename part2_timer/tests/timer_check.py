#!/usr/bin/env python3
"""Checks of /proc/timer that need exact clocks; run inside the grading VM
by part2_timer.bats's public tests while my_timer is loaded. The hidden
tests' checks are in timer_hidden.py, which reads /proc/timer with the
code here.

usage: timer_check.py first|clock|second

Each check prints what it saw and, on failure, what was expected, then
exits 1. Times are compared in integer nanoseconds (no float rounding).
"""
import os
import re
import sys
import time

PROC = "/proc/timer"
NS = 1_000_000_000
LINE = re.compile(r"^(current|elapsed) time: (\d+)\.(\d+)$")


class CheckFailed(Exception):
    pass


def read_once(bufsize=65536):
    """One read of /proc/timer (open, read to EOF, close), bracketed by the
    realtime clock: the module's timestamp must lie inside [before, after]."""
    before = time.time_ns()
    fd = os.open(PROC, os.O_RDONLY)
    try:
        chunks = []
        while True:
            chunk = os.read(fd, bufsize)
            if not chunk:
                break
            chunks.append(chunk)
            if sum(map(len, chunks)) > 4096:
                raise CheckFailed(f"{PROC} never reaches end of file (more than 4096 bytes "
                                  "in one read): does proc_read advance *ppos and return 0 at the end?")
    finally:
        os.close(fd)
    after = time.time_ns()
    return b"".join(chunks).decode("ascii", errors="replace"), before, after


def padded(secs, frac):
    return f"{secs}.{frac.zfill(9)}"


def parse(text, want_elapsed, how="a read", strict=False):
    """Return (current_ns, elapsed_ns or None), or raise with a precise reason.

    want_elapsed: True (the elapsed line must be there), False (it must
    not), None (either). Only strict checks insist on 9-digit nanoseconds;
    the others read the digits as a number of nanoseconds, so a padding
    mistake costs the format tests' points and nothing else.
    """
    if text == "":
        raise CheckFailed(f"{how} of {PROC} returned no text (0 bytes)")
    if not text.endswith("\n"):
        raise CheckFailed(f"{how} of {PROC} gave {text!r}: every line must end with a newline")
    lines = text[:-1].split("\n")
    if want_elapsed is None:
        want_elapsed = len(lines) == 2
    names = ["current", "elapsed"] if want_elapsed else ["current"]
    if len(lines) != len(names):
        if not want_elapsed and len(lines) == 2 and lines[1].startswith("elapsed"):
            raise CheckFailed(f"the first read after loading printed {text!r}; only the "
                              "'current time:' line is expected (there is no previous read yet)")
        expected = " and ".join(f"'{n} time: SECONDS.NANOSECONDS'" for n in names)
        raise CheckFailed(f"{how} of {PROC} gave {text!r}; expected {len(names)} line(s): {expected}")
    values = []
    for line, name in zip(lines, names):
        match = LINE.match(line)
        if not match or match.group(1) != name or len(match.group(3)) > 9:
            raise CheckFailed(f"{how} of {PROC}: got line {line!r}, expected "
                              f"'{name} time: SECONDS.NANOSECONDS' (e.g. '{name} time: 12.000345678')")
        secs, frac = match.group(2), match.group(3)
        if strict and len(frac) != 9:
            raise CheckFailed(f"{name} time: nanoseconds not zero-padded to 9 digits: got "
                              f"{secs}.{frac}, expected {padded(secs, frac)} (print with %09ld)")
        values.append(int(secs) * NS + int(frac))
    return values[0], (values[1] if want_elapsed else None)


def wait_for_phase(low_ns, high_ns):
    """Wait until the clock's nanoseconds are between low_ns and high_ns."""
    while not low_ns <= time.time_ns() % NS <= high_ns:
        time.sleep(0.005)


def early_in_second():
    """Wait until the clock's nanoseconds are below 0.1 s, so the next read
    prints nanoseconds with leading zeros (an unpadded %ld shows then)."""
    wait_for_phase(10_000_000, 40_000_000)


def fmt(ns):
    sign = "-" if ns < 0 else ""
    ns = abs(ns)
    return f"{sign}{ns // NS}.{ns % NS:09d}"


def check_first():
    early_in_second()
    text, _, _ = read_once()
    parse(text, want_elapsed=False, how="the first read after loading", strict=True)
    print(f"first read: {text!r}")


def check_clock():
    text, before, after = read_once()
    current, _ = parse(text, want_elapsed=None, how="the first read after loading")
    if not before - NS <= current <= after + NS:
        raise CheckFailed(f"current time {fmt(current)} is more than 1 s away from the VM's clock "
                          f"({fmt(before)}): use ktime_get_real_ts64() (seconds since 1970)")
    print(f"current time {fmt(current)}, VM clock {fmt(before)}..{fmt(after)}")


def check_second():
    early_in_second()
    read_once()
    time.sleep(0.03)   # elapsed ~0.03 s: its nanoseconds need leading zeros too
    text, _, _ = read_once()
    parse(text, want_elapsed=True, how="the second read", strict=True)
    print(f"second read: {text!r}")


CHECKS = {name[len("check_"):]: fn for name, fn in globals().items() if name.startswith("check_")}


def run(checks, argv, usage):
    """Run the check argv[1] of checks; usage is printed when there is none."""
    if len(argv) != 2 or argv[1] not in checks:
        print(usage.strip(), file=sys.stderr)
        return 2
    if not os.path.exists(PROC):
        print(f"{PROC} does not exist while my_timer is loaded: create it in the module's init "
              "function with proc_create()", file=sys.stderr)
        return 1
    try:
        checks[argv[1]]()
    except CheckFailed as e:
        print(e, file=sys.stderr)
        return 1
    except OSError as e:
        print(f"reading {PROC} failed: {e}", file=sys.stderr)
        return 1
    return 0


def main(argv):
    return run(CHECKS, argv, __doc__)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
