#!/usr/bin/env python3
"""Checks of /proc/timer for part2_timer.bats's hidden tests, which need
exact clocks or many reads; run inside the grading VM while my_timer is
loaded. They read and parse /proc/timer with timer_check.py's code. Not in
the starter kit (tests/part.json: hidden_files).

usage: timer_hidden.py elapsed|difference|tiny|concurrent|leak|measure

Each check prints what it saw and, on failure, what was expected, then
exits 1. Times are compared in integer nanoseconds (no float rounding).
measure is not a grading check (bench/measure_timer.bats).
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import timer_check  # noqa: E402
from timer_check import NS, PROC, CheckFailed, fmt, parse, read_once  # noqa: E402

# How far a printed time may fall outside the interval in which the module
# must have read its clock (docs/measurements.md: clock granularity and
# scheduling under emulation; the interval itself absorbs VM slowness).
SLACK_NS = 2_000_000
DIFFERENCE_TOLERANCE_NS = 1_000_000
LEAK_READS = 3000
LEAK_OBJECTS = 1000


def check_elapsed():
    read_once()
    text1, s1, e1 = read_once()
    time.sleep(1.0)
    text2, s2, e2 = read_once()
    parse(text1, want_elapsed=True, how="a read")
    _, elapsed = parse(text2, want_elapsed=True, how="the read after sleeping 1 s")
    low, high = s2 - e1 - SLACK_NS, e2 - s1 + SLACK_NS
    print(f"elapsed printed {fmt(elapsed)}; between the two reads {fmt(s2 - e1)}..{fmt(e2 - s1)} s passed")
    if not low <= elapsed <= high:
        raise CheckFailed(f"after sleeping 1 s between two reads, elapsed time was {fmt(elapsed)}, "
                          f"expected between {fmt(low)} and {fmt(high)}: elapsed must be the time "
                          "since the previous read")


def check_difference():
    time.sleep(0.5)
    text1, _, _ = read_once()
    time.sleep(0.3)
    text2, _, _ = read_once()
    current1, _ = parse(text1, want_elapsed=None, how="the first read after loading")
    current2, elapsed = parse(text2, want_elapsed=True, how="the second read")
    diff = current2 - current1
    print(f"current times {fmt(current1)} and {fmt(current2)}, elapsed printed {fmt(elapsed)}")
    if abs(elapsed - diff) > DIFFERENCE_TOLERANCE_NS:
        raise CheckFailed(f"elapsed time {fmt(elapsed)} is not the difference of the two printed "
                          f"current times ({fmt(current2)} - {fmt(current1)} = {fmt(diff)}): "
                          "measure from the previous read, not from module load")


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


def check_concurrent():
    read_once()
    readers, reads = 4, 150
    children = []
    for _ in range(readers):
        rfd, wfd = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(rfd)
            message = b""
            try:
                for _ in range(reads):
                    text, _, _ = read_once()
                    _, elapsed = parse(text, want_elapsed=True, how="a concurrent read")
                    if elapsed < 0:
                        raise CheckFailed(f"a concurrent read printed a negative elapsed time: {text!r}")
            except (CheckFailed, OSError) as e:
                message = str(e).encode()
            os.write(wfd, message)
            os._exit(1 if message else 0)
        os.close(wfd)
        children.append((pid, rfd))
    failures = []
    for pid, rfd in children:
        message = os.read(rfd, 4096).decode(errors="replace")
        os.close(rfd)
        _, status = os.waitpid(pid, 0)
        if status != 0:
            failures.append(message or f"a reader process died (status {status})")
    if failures:
        raise CheckFailed(f"{len(failures)} of {readers} concurrent readers failed; first: {failures[0]}")
    print(f"{readers} readers x {reads} reads: all well-formed")


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
