#!/usr/bin/env python3
"""Checks of the elevator module (part 3) for part3_chardev.bats's hidden
tests; run inside the grading VM, as root, while the module is loaded (the
bats test loads it with the timings the check needs). They drive
/dev/elevator and read /proc/elevator with elevator_check.py's code. Not in
the starter kit (tests/part.json: hidden_files).

usage: elevator_hidden.py COMMAND [ARGS]
  errnos-more           rejected requests change nothing; ENOTTY; EFAULT
  workload TRACE        heavy seeded workload: record /proc samples in TRACE
  limits|consistent|boarding|moves|delivered TRACE
                        check one property of a recorded workload
  stop                  STOP semantics, then START serves the rest
  realtime              the trip 1 -> 3 at the default timings
  concurrent            producers and readers at once
  midtrip               START a loaded building; return the moment it moves

Each check prints what it saw and, on failure, what was expected and why,
then exits 1. The building's numbers come from /job/course.conf.
Timing tolerances: docs/measurements.md (part 3).
"""
import errno
import os
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from elevator_check import (  # noqa: E402
    FLOORS, IOC_REQUEST, JIFFY_SLACK, PROC, PRODUCER, WEIGHT, CheckFailed, Device,
    Timeout, Unreadable, _ioc, expect_call, fast, idle_and_empty, parse, produce, setting,
    snapshot, watch)

# Real-time check: how late an event may be seen (emulated VM, a sampling
# period, scheduling; measured in docs/measurements.md).
REALTIME_LATE_S = 0.6

# The building's limits and default timings (course.conf, as elevator_check.py reads it).
MAX_PASSENGERS = setting("PART3_MAX_PASSENGERS")
MAX_WEIGHT = setting("PART3_MAX_WEIGHT")
DEFAULT_FLOOR_MS = setting("PART3_FLOOR_MS")
DEFAULT_LOAD_MS = setting("PART3_LOAD_MS")


# --------------------------------------------------------------------------
# The rules every snapshot obeys

def check_snapshot(s):
    """The rules every snapshot obeys; returns the first broken one or None.
    Limits are checked separately (check_limits)."""
    load = sum(WEIGHT[p[0]] for p in s.riders)
    if s.load != load:
        return f"the load is {s.load} lbs but the passengers on board ({' '.join(s.riders)}) weigh {load} lbs"
    if s.nr_riders != len(s.riders):
        return f"'Number of passengers' is {s.nr_riders} but {len(s.riders)} are listed on board"
    for f in range(1, FLOORS + 1):
        if s.counts[f] != len(s.waiting[f]):
            return f"floor {f} says {s.counts[f]} waiting but lists {len(s.waiting[f])}"
        for p in s.waiting[f]:
            if int(p[1:]) == f:
                return f"{p} waits on floor {f}, their own destination"
    listed = sum(len(v) for v in s.waiting.values())
    if s.nr_waiting != listed:
        return f"'Number of passengers waiting' is {s.nr_waiting} but {listed} are listed on the floors"
    if not 1 <= s.floor <= FLOORS:
        return f"the current floor is {s.floor}, outside 1..{FLOORS}"
    if s.state in ("OFFLINE", "IDLE") and s.riders:
        return f"the state is {s.state} with passengers on board"
    return None


def check_limits(s):
    if len(s.riders) > MAX_PASSENGERS or s.nr_riders > MAX_PASSENGERS:
        return f"{max(len(s.riders), s.nr_riders)} passengers on board; at most {MAX_PASSENGERS} may be"
    load = sum(WEIGHT[p[0]] for p in s.riders)
    if max(load, s.load) > MAX_WEIGHT:
        return f"{max(load, s.load)} lbs on board; at most {MAX_WEIGHT} lbs may be"
    return None


# --------------------------------------------------------------------------
# Checks on a fresh module

def check_errnos_more():
    dev = Device()
    for req in [(1, 3, 0), (4, 2, 3), (4, 1, 2)]:
        expect_call(f"REQUEST {req[0]} -> {req[1]} type {req[2]}", dev.request(*req), 0)
    before = snapshot()
    for start, dest, kind in [(0, 3, 1), (-5, 3, 1), (1, -1, 0), (FLOORS + 1, 2, 3),
                              (3, FLOORS + 7, 2), (4, 4, 1), (2, 3, 4), (2, 3, 99),
                              (2, 3, -2147483648)]:
        expect_call(f"REQUEST {start} -> {dest} type {kind}", dev.request(start, dest, kind),
                    errno.EINVAL)
    after = snapshot()
    if after.text != before.text:
        raise CheckFailed("rejected requests changed /proc/elevator: nothing may change when "
                          f"a request is refused.\nBefore:\n{before.text}\nAfter:\n{after.text}")
    print(f"{PROC} unchanged by the rejected requests")
    for cmd, what in [(_ioc(0, 9, 0), "command _IO('E', 9)"),
                      (_ioc(0, 2, 0), "command _IO('E', 2) (REQUEST's number, no argument)"),
                      ((ord("X") << 8) | 1, "command _IO('X', 1)")]:
        expect_call(what, dev.call(cmd), errno.ENOTTY)
    expect_call("REQUEST with the bad pointer 0x10", dev.call(IOC_REQUEST, 0x10), errno.EFAULT)
    after = snapshot()
    if after.text != before.text:
        raise CheckFailed(f"failed ioctls changed /proc/elevator.\nBefore:\n{before.text}\n"
                          f"After:\n{after.text}")
    dev.close()


# --------------------------------------------------------------------------
# The heavy workload: recorded once, checked by several tests

# First the handout's example of the weight limit (four bosses and a visitor
# on floor 1: three bosses board, the fourth waits, the visitor boards) and
# six visitors on floor 2 (one more than fit), then seeded random requests.
WORKLOAD_FIXED = [(1, 3, 2), (1, 4, 2), (1, 5, 2), (1, 2, 2), (1, 3, 3)] + [(2, 4, 3)] * 6
WORKLOAD_SEED = 2024
WORKLOAD_COUNT = 40
WORKLOAD_TOTAL = len(WORKLOAD_FIXED) + WORKLOAD_COUNT


def delivery_bound_s(count, floor_ms, load_ms):
    """Generous bound on serving count passengers: one whole sweep up and
    down, stopping at every floor, per passenger."""
    sweep = 2 * (FLOORS - 1) * floor_ms + 2 * FLOORS * load_ms
    return count * sweep / 1000.0 + 5.0


def write_trace(path, status, samples, floor_ms):
    """One "=== T0 T1" line per sample, then its /proc text with every line
    behind "| " (split on "\n" only): no text the module prints can look
    like a separator."""
    with open(path + ".tmp", "w") as f:
        f.write(f"status {status}\nfloor_ms {floor_ms}\n")
        for s in samples:
            f.write(f"=== {s.t0:.6f} {s.t1:.6f}\n")
            text = s.text[:-1] if s.text.endswith("\n") else s.text
            f.write("".join(f"| {line}\n" for line in text.split("\n")))
    os.rename(path + ".tmp", path)


def read_trace(path):
    with open(path) as f:
        status = f.readline().split(" ", 1)[1].strip()
        floor_ms = int(f.readline().split()[1])
        samples, text, times = [], [], None
        for line in f.read().split("\n"):
            if line.startswith("=== "):
                if times:
                    samples.append((times, "".join(text)))
                times, text = [float(x) for x in line.split()[1:3]], []
            elif line.startswith("| "):
                text.append(line[2:] + "\n")
        if times:
            samples.append((times, "".join(text)))
    parsed = []
    for (t0, t1), body in samples:
        s = parse(body)
        s.t0, s.t1 = t0, t1
        parsed.append(s)
    return status, floor_ms, parsed


def run_workload(path):
    floor_ms, load_ms = fast("floor_ms"), fast("load_ms")
    dev = Device()
    for req in WORKLOAD_FIXED:
        expect_call(f"REQUEST {req[0]} -> {req[1]} type {req[2]}", dev.request(*req), 0)
    requests = WORKLOAD_FIXED + produce(WORKLOAD_SEED, WORKLOAD_COUNT)
    first = snapshot()
    status, samples = "delivered", [first]
    expect_call("START", dev.start(), 0)
    try:
        samples += watch(lambda s: idle_and_empty(s) and s.serviced >= len(requests),
                         delivery_bound_s(len(requests), floor_ms, load_ms),
                         f"all {len(requests)} passengers delivered")
    except Unreadable as e:
        status, samples = "unreadable: " + str(e).replace("\n", " "), samples + e.samples
    except Timeout as e:
        status, samples = str(e).replace("\n", " "), samples + e.samples
    finally:
        dev.close()
    write_trace(path, status, samples, floor_ms)
    print(f"workload: {len(requests)} requests ({len(WORKLOAD_FIXED)} fixed, then producer -s "
          f"{WORKLOAD_SEED}), floor_ms={floor_ms} "
          f"load_ms={load_ms}: {len(samples)} samples over {samples[-1].t1 - samples[0].t0:.1f} s; "
          f"{status}")


def _first_failure(samples, rule, what):
    for i, s in enumerate(samples):
        problem = rule(s)
        if problem:
            raise CheckFailed(f"{what}: {problem}, in sample {i + 1} of {len(samples)} "
                              f"({s.t0 - samples[0].t0:.2f} s after START):\n{s.text}")


def verify_limits(samples, floor_ms):
    _first_failure(samples, check_limits, "over the limits")
    most = max(samples, key=lambda s: (s.load, len(s.riders)))
    print(f"{len(samples)} samples within the limits (heaviest: {most.load} lbs, "
          f"{len(most.riders)} on board)")


def verify_consistent(samples, floor_ms):
    _first_failure(samples, check_snapshot, "an inconsistent snapshot")
    total = WORKLOAD_TOTAL

    def conserved(s):
        if s.total() != total:
            return (f"on board {s.nr_riders} + waiting {s.nr_waiting} + serviced {s.serviced} = "
                    f"{s.total()}, but {total} passengers were requested (one was lost or "
                    "counted twice)")
        return None
    _first_failure(samples, conserved, "passengers not accounted for")
    for a, b in zip(samples, samples[1:]):
        if b.serviced < a.serviced:
            raise CheckFailed(f"'Number of passengers serviced' went down from {a.serviced} "
                              f"to {b.serviced}")
    print(f"{len(samples)} samples consistent; every passenger accounted for in each")


def reach(a, b, floor_ms):
    """Floors the elevator may have been on between snapshots a and b."""
    moves = int((b.t1 - a.t0 + JIFFY_SLACK) * 1000 // floor_ms) + 1
    extra = max(0, (moves - abs(a.floor - b.floor)) // 2)
    low = max(1, min(a.floor, b.floor) - extra)
    high = min(FLOORS, max(a.floor, b.floor) + extra)
    return low, high


def _subsequence(short, long):
    """Indexes in long of short as a subsequence, or None."""
    found, i = [], 0
    for p in short:
        while i < len(long) and long[i] != p:
            i += 1
        if i == len(long):
            return None
        found.append(i)
        i += 1
    return found


def _fits(p, riders):
    load = sum(WEIGHT[q[0]] for q in riders)
    return len(riders) < MAX_PASSENGERS and load + WEIGHT[p[0]] <= MAX_WEIGHT


def verify_boarding(samples, floor_ms):
    for n, (a, b) in enumerate(zip(samples, samples[1:]), start=2):
        low, high = reach(a, b, floor_ms)
        where = (f"between samples {n - 1} and {n} ({b.t1 - a.t0:.2f} s apart; the elevator "
                 f"was on floors {low}..{high}).\nBefore: {a.summary()}\nAfter:  {b.summary()}")
        boarded = []
        for f in range(1, FLOORS + 1):
            kept = _subsequence(b.waiting[f], a.waiting[f])
            if kept is None:
                raise CheckFailed(f"the line on floor {f} changed other than by people leaving "
                                  f"it (no requests were made meanwhile) {where}")
            left_line = [i for i in range(len(a.waiting[f])) if i not in kept]
            gone = [a.waiting[f][i] for i in left_line]
            if gone and not low <= f <= high:
                raise CheckFailed(f"{' '.join(gone)} left the line on floor {f} while the "
                                  f"elevator was elsewhere {where}")
            boarded += gone
            # Arrival order: whoever stayed ahead of someone who boarded
            # must not have fitted (checked when all happened at floor f).
            if gone and low == high == f:
                for i in kept:
                    p = a.waiting[f][i]
                    if i < left_line[-1] and _fits(p, b.riders):
                        raise CheckFailed(f"{p} was ahead in the line on floor {f} and fits, "
                                          f"but someone behind boarded first {where}")
        left, joined = _multiset_minus(a.riders, b.riders), _multiset_minus(b.riders, a.riders)
        for p in left:
            if not low <= int(p[1:]) <= high:
                raise CheckFailed(f"{p} got off the elevator, but not on floor {p[1:]} {where}")
        unexplained = _multiset_minus(joined, boarded)
        if unexplained:
            raise CheckFailed(f"{' '.join(unexplained)} appeared on board without having "
                              f"waited on a floor the elevator was at {where}")
        for p in _multiset_minus(boarded, joined):
            # Boarded and got off again between the two samples.
            if not low <= int(p[1:]) <= high:
                raise CheckFailed(f"{p} left the line and is neither on board nor could "
                                  f"have arrived {where}")
    for n, s in enumerate(samples, start=1):
        if s.state == "LOADING":
            for p in s.waiting[s.floor]:
                if _fits(p, s.riders):
                    raise CheckFailed(
                        f"during a stop (LOADING) at floor {s.floor}, {p} still waits there "
                        f"although they fit: everyone waiting who fits boards at the stop, and "
                        f"{PROC} shows them on board during it (sample {n}):\n{s.text}")
    print(f"{len(samples)} samples: everyone boarded on their own floor in arrival order "
          "(skipping only who did not fit) and got off on their destination")


def _multiset_minus(items, other):
    rest = list(other)
    out = []
    for p in items:
        if p in rest:
            rest.remove(p)
        else:
            out.append(p)
    return out


def verify_moves(samples, floor_ms):
    # (index of the sample before, index of the sample after, floors moved)
    changes = [(i - 1, i, abs(samples[i].floor - samples[i - 1].floor))
               for i in range(1, len(samples)) if samples[i].floor != samples[i - 1].floor]
    for x in range(len(changes)):
        moved = 0
        for y in range(x, len(changes)):
            moved += changes[y][2]
            first, last = samples[changes[x][0]], samples[changes[y][1]]
            window = last.t1 - first.t0
            needed = (moved - 1) * floor_ms / 1000.0 - JIFFY_SLACK * moved
            if window < needed:
                raise CheckFailed(
                    f"the elevator moved {moved} floor(s) (from {first.floor} to {last.floor}) "
                    f"within {window * 1000:.0f} ms; with floor_ms={floor_ms} that takes at "
                    f"least {(moved - 1) * floor_ms} ms: move one floor at a time, each after "
                    f"floor_ms of UP or DOWN.\nBefore:\n{first.text}\nAfter:\n{last.text}")
    total = sum(c[2] for c in changes)
    print(f"{total} floor changes in {len(samples)} samples, none faster than floor_ms={floor_ms}")
    if not changes:
        raise CheckFailed("the elevator never moved")


def verify_delivered(status, samples, floor_ms):
    last = samples[-1]
    if status != "delivered":
        raise CheckFailed(f"not everyone was delivered: {status}")
    took = last.t1 - samples[0].t0
    print(f"all {WORKLOAD_TOTAL} passengers delivered in {took:.1f} s (bound "
          f"{delivery_bound_s(WORKLOAD_TOTAL, floor_ms, fast('load_ms')):.0f} s); "
          f"the elevator is {last.state}")
    print(workload_info(samples, floor_ms))


# The reference solution's numbers for workload_info() (docs/measurements.md).
REFERENCE_PER_MINUTE = 29.3
REFERENCE_MEAN_WAIT_S = 40


def workload_info(samples, floor_ms):
    """Throughput and mean wait of the workload, in the time of the default
    timings (the workload runs floor_ms/PART3_FLOOR_MS times faster). No
    points: for the student, next to the reference's numbers."""
    scale = DEFAULT_FLOOR_MS / floor_ms
    start = samples[0].t1          # START was called right after this read
    done = next((s for s in samples if s.serviced >= WORKLOAD_TOTAL), samples[-1])
    minutes = (done.t1 - start) * scale / 60
    # Everybody was waiting from START on: the mean wait is the area under
    # the number waiting, divided by the number of passengers.
    area = sum(a.nr_waiting * (b.t1 - a.t1) for a, b in zip(samples, samples[1:]))
    wait = area * scale / WORKLOAD_TOTAL
    return (f"informational (no points): the fixed workload of {WORKLOAD_TOTAL} passengers, "
            f"in the time of the default timings: {WORKLOAD_TOTAL / minutes:.1f} passengers "
            f"per minute, mean wait {wait:.0f} s (the reference: {REFERENCE_PER_MINUTE:.1f} "
            f"per minute, {REFERENCE_MEAN_WAIT_S:.0f} s)")


def check_trace(what, path):
    try:
        status, floor_ms, samples = read_trace(path)
    except OSError:
        raise CheckFailed("no workload was recorded (see the first workload test)") from None
    if what == "delivered":
        verify_delivered(status, samples, floor_ms)
        return
    if status.startswith("unreadable") and what == "consistent":
        raise CheckFailed(f"during the workload, {status}")
    if status != "delivered":
        if len(samples) < 20:
            raise CheckFailed(f"the workload stopped after {len(samples)} reads of {PROC}, too "
                              f"few to check this: {status}")
        print(f"(the workload did not finish: {status}; checking the {len(samples)} samples seen)")
    {"limits": verify_limits, "consistent": verify_consistent, "boarding": verify_boarding,
     "moves": verify_moves}[what](samples, floor_ms)


# --------------------------------------------------------------------------
# STOP, real time, concurrency, unloading mid-trip

def check_stop():
    dev = Device()
    requests = [(1, 5, 0), (1, 4, 1), (1, 5, 3), (3, 1, 2), (4, 2, 0), (5, 1, 3)]
    for req in requests:
        expect_call(f"REQUEST {req[0]} -> {req[1]} type {req[2]}", dev.request(*req), 0)
    expect_call("START", dev.start(), 0)
    # Two moves (floors 1 and 2, 2 x floor_ms) to see it in: a reader that
    # the emulated VM holds up for a moment must not miss it.
    watch(lambda s: s.state == "UP" and s.floor in (1, 2) and len(s.riders) == 3, 10,
          "UP from floor 1 or 2 with the three passengers of floor 1 on board")
    expect_call("STOP while moving with passengers", dev.stop(), 0)
    at_stop = snapshot()
    print(f"right after STOP: {at_stop.summary()}")
    expect_call("STOP again while stopping", dev.stop(), errno.EALREADY)
    expect_call("START while stopping", dev.start(), errno.EALREADY)
    on_board = list(at_stop.riders)

    def nobody_boards(s):
        for f in range(1, FLOORS + 1):
            if s.waiting[f] != at_stop.waiting[f]:
                raise CheckFailed(f"after STOP, the line on floor {f} changed from "
                                  f"[{' '.join(at_stop.waiting[f])}] to [{' '.join(s.waiting[f])}]: "
                                  f"nobody may board once STOP was called.\n{s.text}")
        if _multiset_minus(s.riders, on_board):
            raise CheckFailed(f"after STOP, someone boarded: on board [{' '.join(s.riders)}], "
                              f"at STOP [{' '.join(on_board)}]\n{s.text}")
        if s.state == "OFFLINE" and s.riders:
            raise CheckFailed(f"OFFLINE with [{' '.join(s.riders)}] still on board: STOP delivers "
                              f"everyone on board first\n{s.text}")
    samples = watch(lambda s: s.state == "OFFLINE", 20, "OFFLINE after STOP",
                    on_sample=nobody_boards)
    final = samples[-1]
    if final.serviced != at_stop.serviced + len(on_board):
        raise CheckFailed(f"after STOP, {final.serviced - at_stop.serviced} passenger(s) were "
                          f"delivered; the {len(on_board)} on board ({' '.join(on_board)}) must "
                          f"all be delivered before OFFLINE.\n{final.text}")
    print(f"everyone on board delivered, then OFFLINE: {final.summary()}")
    time.sleep(5 * fast("floor_ms") / 1000.0)
    idle = snapshot()
    nobody_boards(idle)
    if idle.state != "OFFLINE" or idle.text != final.text:
        raise CheckFailed(f"once OFFLINE the elevator must stay put; it changed to:\n{idle.text}")
    expect_call("START again", dev.start(), 0)
    watch(lambda s: idle_and_empty(s) and s.serviced == len(requests), 30,
          "everyone still waiting served after START")
    print("after START again everyone was served")
    dev.close()


def check_realtime():
    floor_s, load_s = DEFAULT_FLOOR_MS / 1000.0, DEFAULT_LOAD_MS / 1000.0
    dev = Device()
    expect_call("REQUEST 1 -> 3 type 0 (P)", dev.request(1, 3, 0), 0)
    before = time.monotonic()
    expect_call("START", dev.start(), 0)
    after = time.monotonic()
    events = {}
    wanted = {"floor 2": load_s + floor_s, "floor 3": load_s + 2 * floor_s,
              "serviced": load_s + 2 * floor_s, "IDLE": 2 * load_s + 2 * floor_s}
    previous = [None]

    def note(s):
        prev = previous[0] or s
        for name, hit in [("floor 2", s.floor >= 2), ("floor 3", s.floor >= 3),
                          ("serviced", s.serviced >= 1),
                          ("IDLE", s.state == "IDLE" and s.serviced >= 1)]:
            if hit and name not in events:
                # It happened after the previous read began and before this one ended.
                events[name] = (prev.t0 - after, s.t1 - before)
        previous[0] = s
    watch(lambda s: s.state == "IDLE" and s.serviced >= 1, wanted["IDLE"] + 10,
          "the passenger delivered and the elevator IDLE", every=0.02, on_sample=note)
    dev.close()
    problems = []
    for name, nominal in wanted.items():
        earliest, latest = events[name]
        print(f"{name}: between {earliest:.3f} s and {latest:.3f} s after START "
              f"(expected {nominal:.3f} s)")
        if latest < nominal - JIFFY_SLACK:
            problems.append(f"{name} reached by {latest:.3f} s, before the {nominal:.3f} s it "
                            "must take")
        elif earliest > nominal + REALTIME_LATE_S:
            problems.append(f"{name} reached only after {earliest:.3f} s, expected {nominal:.3f} s "
                            f"(+{REALTIME_LATE_S} s allowed)")
    if problems:
        raise CheckFailed(f"with floor_ms={DEFAULT_FLOOR_MS} and load_ms={DEFAULT_LOAD_MS} (the "
                          "defaults), one request 1 -> 3 on a started elevator: LOADING "
                          f"{load_s:g} s, UP {floor_s:g} s to floor 2, UP {floor_s:g} s to floor 3, "
                          f"LOADING {load_s:g} s, then IDLE:\n  " + "\n  ".join(problems))


def check_concurrent(producers=4, each=40, readers=2):
    dev = Device()
    expect_call("START", dev.start(), 0)
    stop = threading.Event()
    reads, problems = [0] * readers, []

    def reader(n):
        while not stop.is_set():
            try:
                s = snapshot()
                problem = check_snapshot(s)
                if problem:
                    raise CheckFailed(f"{problem}:\n{s.text}")
                reads[n] += 1
            except CheckFailed as e:
                problems.append(f"reader {n + 1}: {e}")
                return
    threads = [threading.Thread(target=reader, args=(n,), daemon=True) for n in range(readers)]
    for t in threads:
        t.start()
    started = time.monotonic()
    procs = [subprocess.Popen([PRODUCER, "-n", str(each), "-s", str(100 + n), "-d", "0"],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
             for n in range(producers)]
    failed = []
    for n, proc in enumerate(procs):
        try:
            out, _ = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            for p in procs:
                p.kill()
            stop.set()
            raise CheckFailed("the producers did not finish within 60 s: an ioctl blocks "
                              "(deadlock?)") from None
        if proc.returncode != 0 or out.decode().count("request ") != each:
            failed.append(f"producer {n + 1}: exit {proc.returncode}: "
                          + " ".join(out.decode(errors="replace").splitlines()[-2:]))
    total = producers * each
    print(f"{producers} producers made {total} requests in {time.monotonic() - started:.1f} s "
          f"while {readers} readers read {PROC}")
    try:
        samples = watch(lambda s: idle_and_empty(s) and s.serviced >= total,
                        delivery_bound_s(total, 10, 5), f"all {total} passengers delivered")
    finally:
        stop.set()
        for t in threads:
            t.join(10)
    dev.close()
    final = samples[-1]
    if failed:
        raise CheckFailed("requests failed:\n" + "\n".join(failed))
    if problems:
        raise CheckFailed(problems[0])
    if final.serviced != total:
        raise CheckFailed(f"{final.serviced} passengers serviced, {total} requested")
    print(f"all {total} delivered; readers read {sum(reads)} consistent snapshots")


def check_midtrip():
    """START a loaded building and return the moment its first move begins
    (a sample in UP or DOWN right after one that was not): the thread has
    then just gone to sleep for floor_ms with passengers on board, so an
    rmmod right now shows whether it notices kthread_stop() at once or only
    when that sleep ends: the same case every run, whatever the phase."""
    dev = Device()
    expect_call("REQUEST 1 -> 5 type 1", dev.request(1, 5, 1), 0)
    expect_call("START", dev.start(), 0)
    dev.close()
    last = [snapshot()]

    def begun(s):
        prev, last[0] = last[0], s
        return s.state in ("UP", "DOWN") and prev.state not in ("UP", "DOWN") and s.riders

    watch(begun, 30, "the first move, with passengers on board", every=0.005)
    s = last[0]
    print(f"a move has just begun: {s.state} from floor {s.floor}, {len(s.riders)} on board, "
          f"{s.nr_waiting} waiting")


def main(argv):
    commands = {
        "errnos-more": check_errnos_more, "stop": check_stop, "realtime": check_realtime,
        "concurrent": check_concurrent, "midtrip": check_midtrip,
    }
    try:
        if argv and argv[0] in commands and len(argv) == 1:
            commands[argv[0]]()
        elif len(argv) == 2 and argv[0] == "workload":
            run_workload(argv[1])
        elif len(argv) == 2 and argv[0] in ("limits", "consistent", "boarding", "moves",
                                            "delivered"):
            check_trace(argv[0], argv[1])
        else:
            print(__doc__, file=sys.stderr)
            return 2
    except CheckFailed as e:
        print(f"FAILED: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
