#!/usr/bin/env python3
"""Checks of /proc/timer for part2_timer.bats's hidden tests, which need
exact clocks or many reads; run inside the grading VM while my_timer is
loaded. They read and parse /proc/timer with timer_check.py's code. Not in
the starter kit (tests/part.json: hidden_files).

usage: timer_hidden.py elapsed|difference|tiny|concurrent|leak|measure|measure_races

Each check prints what it saw and, on failure, what was expected, then
exits 1. Times are compared in integer nanoseconds (no float rounding).
measure and measure_races are not grading checks (bench/).
"""
import collections
import errno
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import timer_check  # noqa: E402
from timer_check import (NS, PROC, CheckFailed, early_in_second, fmt, parse,  # noqa: E402
                         read_once, wait_for_phase)

# How far a printed time may fall outside the interval in which the module
# must have read its clock (docs/measurements.md: clock granularity and
# scheduling under emulation; the interval itself absorbs VM slowness).
SLACK_NS = 2_000_000
DIFFERENCE_TOLERANCE_NS = 1_000_000
LEAK_READS = 3000
RACE_SECONDS = 0.5
RACE_STALLS = 20
NEGATIVE = re.compile(r"^elapsed time: -[0-9]+\.[0-9]+$", re.M)
LEAK_OBJECTS = 1000


def second_of(ns):
    return ns // NS


def timed_reads():
    """A baseline read, then three reads with gaps of 0.4 s and 0.3 s, the
    first of them placed 0.72..0.78 s into a second. So the first gap ends
    in the next second at a smaller nanosecond count (an elapsed time that
    needs a borrow from the seconds, and not one of 0.5 s, where a wrong
    borrow happens to give the right answer), the second gap stays within
    one second (no borrow), and a module that measures from the first read
    or from loading is off by the gaps before. Every run covers each case:
    if the VM was too slow to land the reads where planned (judged by the
    checker's own clock around each read), the sequence is made again.

    Returns [(text, before, after)] for the baseline and the three reads."""
    for _ in range(4):
        reads = [read_once()]
        wait_for_phase(720_000_000, 780_000_000)
        reads.append(read_once())
        time.sleep(0.4)
        reads.append(read_once())
        time.sleep(0.3)
        reads.append(read_once())
        (_, s1, e1), (_, s2, e2), (_, s3, _) = reads[1:]
        if all(second_of(s) == second_of(e) for _, s, e in reads[1:]) \
                and second_of(s2) == second_of(e1) + 1 and s1 % NS > e2 % NS \
                and second_of(s3) == second_of(e2):
            return reads
    raise CheckFailed("the grading VM was too slow to place its reads within the second "
                      "(a problem of the grader, not of your module): ask for a regrade")


def check_elapsed():
    reads = timed_reads()
    parse(reads[0][0], want_elapsed=None, how="the first read after loading")
    for i in range(1, len(reads)):
        _, s_prev, e_prev = reads[i - 1]
        text, s, e = reads[i]
        _, elapsed = parse(text, want_elapsed=True, how=f"read {i + 1} after loading")
        low, high = s - e_prev - SLACK_NS, e - s_prev + SLACK_NS
        print(f"read {i + 1}: elapsed printed {fmt(elapsed)}; since the previous read "
              f"{fmt(s - e_prev)}..{fmt(e - s_prev)} s passed")
        if not low <= elapsed <= high:
            raise CheckFailed(f"read {i + 1} after loading printed elapsed time {fmt(elapsed)}, but "
                              f"between {fmt(s - e_prev)} and {fmt(e - s_prev)} s had passed since "
                              f"the previous read (reads {fmt(s_prev)} and {fmt(s)} on the VM's "
                              "clock): elapsed must be the time since the previous read, for every "
                              "read (also when the nanoseconds of the later time are smaller)")


def check_difference():
    reads = timed_reads()
    previous, _ = parse(reads[0][0], want_elapsed=None, how="the first read after loading")
    for i in range(1, len(reads)):
        current, elapsed = parse(reads[i][0], want_elapsed=True, how=f"read {i + 1} after loading")
        diff = current - previous
        print(f"read {i + 1}: current {fmt(current)}, previous {fmt(previous)}, "
              f"elapsed printed {fmt(elapsed)}")
        if abs(elapsed - diff) > DIFFERENCE_TOLERANCE_NS:
            raise CheckFailed(f"read {i + 1} after loading printed elapsed time {fmt(elapsed)}, "
                              "which is not the difference of its current time and the previous "
                              f"read's ({fmt(current)} - {fmt(previous)} = {fmt(diff)}): measure "
                              "from the previous read (not from loading or the first read), and "
                              "when the nanoseconds go below zero, borrow one second "
                              "(or use timespec64_sub())")
        previous = current


def read_in_pieces(size):
    text, _, _ = read_once(bufsize=size)
    return text


def check_tiny():
    read_once()
    for size in (1, 7):
        text = read_in_pieces(size)
        how = f"reading with {size}-byte reads (like dd if={PROC} bs={size})"
        if text == "":
            raise CheckFailed(f"{how} gave nothing (0 bytes): proc_read must not return 0 when the "
                              "user's buffer is smaller than the text; copy what fits and advance *ppos")
        parse(text, want_elapsed=True, how=how)
        print(f"{size}-byte reads: {text!r}")
    text, _, _ = read_once()
    _, elapsed = parse(text, want_elapsed=True, how="a normal read after the small-buffer reads")
    if elapsed > 10 * NS:
        raise CheckFailed(f"after small-buffer reads, a normal read printed elapsed {fmt(elapsed)}: "
                          "one read (one open, many small read calls) must count once")


def race_tool():
    """timer-race, built with the course's tools (tests/part.json "tools")."""
    return os.path.join(os.environ.get("KMOD_BUILD", "/job/build"), "timer-race")


def unescape(text):
    return re.sub(r"\\x([0-9a-f]{2})", lambda m: chr(int(m.group(1), 16)), text)


def racing_reads(seconds, stalls):
    """Texts read by timer-race: STALLS reads stopped inside the module's
    copy_to_user() while another read runs, then SECONDS of two threads,
    one preempting the other."""
    done = subprocess.run([race_tool(), str(seconds), str(stalls)], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, errors="replace",
                          timeout=seconds + 60)
    if done.returncode != 0:
        raise CheckFailed(f"the grader's timer-race tool failed: {done.stderr.strip()[:300]}")
    texts = []
    for line in done.stdout.splitlines():
        who, _, rest = line.partition(" ")
        if who == "reads":
            continue
        if rest.startswith("error "):
            errno_value = int(rest.split()[1])
            hint = (": copy_to_user() must not be called while holding a spinlock (it may "
                    "have to wait for the reader's page; use a mutex, or copy after unlocking)"
                    if errno_value == errno.EFAULT else "")
            raise CheckFailed(f"while another process was reading {PROC} too, a read failed: "
                              f"{os.strerror(errno_value)} (errno {errno_value}){hint}")
        texts.append(unescape(rest))
    return texts


def chains_exactly():
    """Whether, read after read with nothing in between, elapsed is exactly
    the current time minus the previous read's: then "measured from the
    same previous read" can be judged to the nanosecond. (A module that is
    wrong here loses the elapsed tests' points, not these.)"""
    early_in_second()
    reads = [parse(read_once()[0], want_elapsed=None) for _ in range(3)]
    return all(elapsed is not None and current - elapsed == reads[i - 1][0]
               for i, (current, elapsed) in enumerate(reads) if i > 0)


def race_findings(texts, exact):
    """What reads that raced each other show, as (kind, message) pairs:
    a negative elapsed time, the same text twice (a shared buffer), two
    reads measured from the same read (a shared timestamp without a lock;
    judged only if exact: see chains_exactly)."""
    findings, seen, measured_from = [], set(), {}
    for text in texts:
        negative = ("negative", f"a read racing another reader printed a negative elapsed "
                    f"time: {text!r}. Take the time and update the previous read's time under "
                    "one lock, so that reads are ordered")
        if NEGATIVE.search(text):
            findings.append(negative)
            continue
        current, elapsed = parse(text, want_elapsed=True, how="a read racing another reader")
        if elapsed < 0:
            findings.append(negative)
        if text in seen:
            findings.append(("same-text", f"two reads racing each other got the very same text "
                             f"{text!r}: readers share one buffer, and one reader overwrote it "
                             "while the other was still copying it out. Give each open file its "
                             "own text (file->private_data, or seq_file)"))
        seen.add(text)
        start = current - elapsed
        if exact and start in measured_from:
            findings.append(("same-start", f"two reads racing each other were both measured "
                             f"from the same previous read (at {fmt(start)}): "
                             f"{measured_from[start]!r} and {text!r}. One read used the previous "
                             "read's time while another was replacing it: read and update it "
                             "under a lock"))
        measured_from[start] = text
    return findings


def check_concurrent():
    read_once()
    exact = chains_exactly()
    texts = racing_reads(RACE_SECONDS, RACE_STALLS)
    findings = race_findings(texts, exact)
    if findings:
        # The finding that names the cause best: a shared buffer, then a
        # shared timestamp, then a negative time (what either can cause).
        order = ["same-text", "same-start", "negative"]
        raise CheckFailed(min(findings, key=lambda f: order.index(f[0]))[1])
    print(f"{len(texts)} reads, {RACE_STALLS} of them stopped in the middle while another read "
          "ran, the others by two readers preempting each other: all well-formed, no text twice"
          + (", each measured from a different read" if exact else ""))


def check_measure_races():
    """Not a grading check: what the race check finds (bench/detection.py)."""
    read_once()
    exact = chains_exactly()
    texts = racing_reads(RACE_SECONDS, RACE_STALLS)
    try:
        findings = race_findings(texts, exact)
    except CheckFailed as e:
        findings = [("malformed", str(e))]
    kinds = collections.Counter(kind for kind, _ in findings)
    try:
        stalled = len(race_findings(texts[:2 * RACE_STALLS], exact))
    except CheckFailed:
        stalled = -1
    print(f"MEASURE reads={len(texts)} exact={int(exact)} stall-findings={stalled} "
          + " ".join(f"{k}={kinds[k]}" for k in ("malformed", "negative", "same-text", "same-start"))
          + (f" first={findings[0][1][:200]!r}" if findings else ""))


def slab_objects():
    total = 0
    with open("/proc/slabinfo") as f:
        for line in f:
            fields = line.split()
            if len(fields) > 2 and fields[1].isdigit():
                total += int(fields[1])
    return total


def check_leak():
    for _ in range(200):
        read_once()
    before = slab_objects()
    for _ in range(LEAK_READS):
        read_once()
    grown = slab_objects() - before
    print(f"slab objects in use grew by {grown} over {LEAK_READS} reads")
    if grown > LEAK_OBJECTS:
        raise CheckFailed(f"kernel memory in use grew by {grown} objects over {LEAK_READS} reads of "
                          f"{PROC} (a correct module: about 0): something allocated on every read "
                          "(kmalloc) is never freed (kfree)")


def check_measure():
    """Not a grading check: the numbers behind SLACK_NS (bench/bench.py)."""
    read_once()
    worst_outside, widths, overs = 0, [], []
    for sleep_s in (0.1, 0.5, 1.0, 2.0) * 3:
        _, s1, e1 = read_once()
        time.sleep(sleep_s)
        text, s2, e2 = read_once()
        _, elapsed = parse(text, want_elapsed=True)
        low, high = s2 - e1, e2 - s1
        worst_outside = max(worst_outside, low - elapsed, elapsed - high)
        widths.append(high - low)
        overs.append(elapsed - int(sleep_s * NS))
    print(f"MEASURE pairs={len(widths)} elapsed_minus_sleep_ms="
          f"{min(overs) / 1e6:.2f}..{max(overs) / 1e6:.2f} bracket_width_ms="
          f"{min(widths) / 1e6:.2f}..{max(widths) / 1e6:.2f} "
          f"worst_outside_bracket_ms={worst_outside / 1e6:.3f}")


CHECKS = {name[len("check_"):]: fn for name, fn in globals().items() if name.startswith("check_")}


def main(argv):
    return timer_check.run(CHECKS, argv, __doc__)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
