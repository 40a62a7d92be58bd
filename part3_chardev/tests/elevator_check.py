#!/usr/bin/env python3
"""Checks of the elevator module (part 3) that drive /dev/elevator and watch
/proc/elevator; run inside the grading VM by part3_chardev.bats's public
tests, as root, while the module is loaded (the bats test loads it with the
timings the check needs). The hidden tests' checks are in elevator_hidden.py,
which drives and reads the elevator with the code here.

usage: elevator_check.py COMMAND [ARGS]
  initial               /proc/elevator is exactly the empty, offline building
  offline SEED COUNT    requests made while OFFLINE are listed exactly
  errnos                START, STOP and REQUEST return 0 or EALREADY/EINVAL
  journey               one passenger from floor 1 to 3 (fast timings)
  fresh                 the building is as after insmod (tolerant parse)

Each check prints what it saw and, on failure, what was expected and why,
then exits 1. The building's numbers come from /job/course.conf.
Timing tolerances: docs/measurements.md (part 3).
"""
import errno
import fcntl
import os
import re
import struct
import subprocess
import sys
import time

PROC = "/proc/elevator"
DEV = "/dev/elevator"
BUILD = os.environ.get("KMOD_BUILD", "/job/build")
PRODUCER = os.path.join(BUILD, "producer")
STATES = ("OFFLINE", "IDLE", "LOADING", "UP", "DOWN")
LETTERS = "PLBV"

# Sampling period of /proc/elevator while watching the elevator.
SAMPLE_S = 0.025
# No change at all in /proc/elevator for this long, with work left: stuck.
STUCK_S = 8.0
# A sleep of N ms in the kernel may end up to one jiffy (4 ms at HZ=250)
# early when it starts between two ticks; allow two.
JIFFY_SLACK = 0.010

# The timings the suite loads the module with for its logic tests: the
# suite's FAST, handed over as ELEVATOR_FAST="floor_ms=100 load_ms=50" (one
# place for them; what the module itself says in /sys/module is the
# student's word, not the grader's).
def fast(name):
    """The suite's value of module parameter name (floor_ms, load_ms), in ms."""
    given = dict(item.split("=", 1) for item in os.environ.get("ELEVATOR_FAST", "").split()
                 if "=" in item)
    if not given.get(name, "").isdigit():
        raise CheckFailed(f"the suite gave no {name} (ELEVATOR_FAST={os.environ.get('ELEVATOR_FAST')!r})")
    return int(given[name])


class CheckFailed(Exception):
    pass


# The course's settings, through the course's one reader of course.conf
# (grader/course.py): /job/lib/course.py in the VM (it reads
# /job/course.conf), the kit's grader/ otherwise.
sys.path[1:1] = ["/job/lib", os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                          "..", "..", "grader")]
import course  # noqa: E402

CONF = course.load()


def setting(key):
    """course.conf's value of key, as a whole number."""
    return int(course.value(CONF, key))


FLOORS = setting("PART3_FLOORS")
WEIGHTS = [int(w) for w in course.value(CONF, "PART3_WEIGHTS").split(",")]
WEIGHT = dict(zip(LETTERS, WEIGHTS))


# --------------------------------------------------------------------------
# The ioctls, numbered as <asm-generic/ioctl.h> does.

def _ioc(direction, nr, size):
    return (direction << 30) | (size << 16) | (ord("E") << 8) | nr


IOC_START = _ioc(0, 1, 0)
IOC_REQUEST = _ioc(1, 2, 12)     # _IOW: struct of three __s32
IOC_STOP = _ioc(0, 3, 0)


class Device:
    """An open /dev/elevator; each call returns 0 or the errno."""

    def __init__(self):
        try:
            self.fd = os.open(DEV, os.O_RDWR)
        except OSError as e:
            raise CheckFailed(f"cannot open {DEV}: {e.strerror}") from None

    def close(self):
        os.close(self.fd)

    def call(self, cmd, arg=0):
        try:
            fcntl.ioctl(self.fd, cmd, arg)
            return 0
        except OSError as e:
            return e.errno

    def start(self):
        return self.call(IOC_START)

    def stop(self):
        return self.call(IOC_STOP)

    def request(self, start, dest, kind):
        return self.call(IOC_REQUEST, struct.pack("iii", start, dest, kind))


def errname(code):
    return "0 (success)" if code == 0 else f"{errno.errorcode.get(code, code)}"


def expect_call(what, got, want):
    if got != want:
        raise CheckFailed(f"{what} returned {errname(got)}; expected {errname(want)}")
    print(f"{what}: {errname(got)} as expected")


# --------------------------------------------------------------------------
# /proc/elevator

def read_proc():
    """One read of /proc/elevator, to end of file, with the monotonic times
    before and after it: the module's snapshot lies between them."""
    before = time.monotonic()
    try:
        fd = os.open(PROC, os.O_RDONLY)
    except OSError as e:
        raise CheckFailed(f"cannot open {PROC}: {e.strerror}") from None
    chunks, size = [], 0
    try:
        while True:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
            if size > 1 << 20:
                raise CheckFailed(f"{PROC} never reaches end of file (over 1 MB in one read)")
    finally:
        os.close(fd)
    return b"".join(chunks).decode("ascii", errors="replace"), before, time.monotonic()


class Snapshot:
    """A parsed /proc/elevator. waiting[f] and riders are lists of
    passengers, each a string like "L4"."""

    def __init__(self, state, floor, load, riders, waiting, counts, nr_riders,
                 nr_waiting, serviced, text):
        self.state, self.floor, self.load = state, floor, load
        self.riders, self.waiting, self.counts = riders, waiting, counts
        self.nr_riders, self.nr_waiting, self.serviced = nr_riders, nr_waiting, serviced
        self.text = text
        self.t0 = self.t1 = 0.0

    def total(self):
        return self.nr_riders + self.nr_waiting + self.serviced

    def summary(self):
        waiting = "; ".join(f"{f}: {' '.join(self.waiting[f])}"
                            for f in range(FLOORS, 0, -1) if self.waiting[f])
        return (f"{self.state} at floor {self.floor}, {self.load} lbs, on board "
                f"[{' '.join(self.riders)}], waiting [{waiting}], serviced {self.serviced}")


PASSENGER = re.compile(r"^[PLBV]\d+$")


def _number(value, what, text):
    if not re.fullmatch(r"\d+", value):
        raise CheckFailed(f"{what} is {value!r}, not a number, in:\n{text}")
    return int(value)


def parse(text):
    """Parse /proc/elevator leniently: spacing and the order of the floor
    lines may differ (the exact layout has tests of its own), the content
    may not. Raises CheckFailed with the reason."""
    fields, floors = {}, {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        m = re.match(r"^\[(.)\]\s*Floor\s+(\d+)\s*:\s*(\d+)((?:\s+\S+)*)$", line)
        if m:
            mark, floor, count, rest = m.groups()
            floors[int(floor)] = (mark == "*", int(count), rest.split())
            continue
        m = re.match(r"^([A-Za-z ]+?)\s*:\s*(.*)$", line)
        if not m:
            raise CheckFailed(f"cannot read the line {raw!r} of {PROC}:\n{text}")
        fields[m.group(1).lower()] = m.group(2).strip()
    needed = ["elevator state", "current floor", "current load", "elevator status",
              "number of passengers", "number of passengers waiting",
              "number of passengers serviced"]
    missing = [n for n in needed if n not in fields]
    if missing:
        raise CheckFailed(f"{PROC} has no line for: {', '.join(missing)}. It showed:\n{text}")
    state = fields["elevator state"]
    if state not in STATES:
        raise CheckFailed(f"unknown elevator state {state!r} (expected one of "
                          f"{', '.join(STATES)}) in:\n{text}")
    load = fields["current load"]
    if load.endswith("lbs"):
        load = load[:-3].strip()
    riders = fields["elevator status"].split()
    if sorted(floors) != list(range(1, FLOORS + 1)):
        raise CheckFailed(f"{PROC} lists the floors {sorted(floors)}; expected "
                          f"one line for each of 1..{FLOORS}:\n{text}")
    for p in riders + [p for f in floors.values() for p in f[2]]:
        if not PASSENGER.match(p) or not 1 <= int(p[1:]) <= FLOORS:
            raise CheckFailed(f"{p!r} is not a passenger (type letter {LETTERS} and a "
                              f"floor 1..{FLOORS}) in:\n{text}")
    snap = Snapshot(
        state=state,
        floor=_number(fields["current floor"], "the current floor", text),
        load=_number(load, "the current load", text),
        riders=riders,
        waiting={f: floors[f][2] for f in floors},
        counts={f: floors[f][1] for f in floors},
        nr_riders=_number(fields["number of passengers"], "the number of passengers", text),
        nr_waiting=_number(fields["number of passengers waiting"],
                           "the number of passengers waiting", text),
        serviced=_number(fields["number of passengers serviced"],
                         "the number of passengers serviced", text),
        text=text)
    marked = [f for f in floors if floors[f][0]]
    if marked != [snap.floor]:
        raise CheckFailed(f"the current floor is {snap.floor} but the floors marked [*] are "
                          f"{marked or 'none'}:\n{text}")
    return snap


def snapshot():
    text, before, after = read_proc()
    snap = parse(text)
    snap.t0, snap.t1 = before, after
    return snap


def render(state="OFFLINE", floor=1, riders=(), waiting=None, serviced=0):
    """The exact text of /proc/elevator (the handout's layout)."""
    waiting = waiting or {}
    load = sum(WEIGHT[p[0]] for p in riders)
    lines = [f"Elevator state: {state}", f"Current floor: {floor}",
             f"Current load: {load} lbs",
             "Elevator status:" + "".join(" " + p for p in riders), ""]
    for f in range(FLOORS, 0, -1):
        people = waiting.get(f, [])
        mark = "*" if f == floor else " "
        lines.append(f"[{mark}] Floor {f}: {len(people)}" + "".join(" " + p for p in people))
    nr_waiting = sum(len(v) for v in waiting.values())
    lines += ["", f"Number of passengers: {len(riders)}",
              f"Number of passengers waiting: {nr_waiting}",
              f"Number of passengers serviced: {serviced}"]
    return "\n".join(lines) + "\n"


def compare_exact(got, want, when):
    if got == want:
        print(f"{PROC} {when} is exactly as expected:\n{got}")
        return
    got_lines, want_lines = got.split("\n"), want.split("\n")
    for i in range(max(len(got_lines), len(want_lines))):
        g = got_lines[i] if i < len(got_lines) else "(nothing)"
        w = want_lines[i] if i < len(want_lines) else "(nothing)"
        if g != w:
            break
    hint = ""
    if not got.endswith("\n"):
        hint = " (the text must end with a newline)"
    raise CheckFailed(f"{PROC} {when} differs from the handout's layout at line {i + 1}{hint}:\n"
                      f"  expected: {w!r}\n  got:      {g!r}\n"
                      f"Expected text:\n{want}\nYour module printed:\n{got}")


# --------------------------------------------------------------------------
# Requests and watching

def produce(seed, count, delay_ms=0):
    """Run the producer tool; returns its requests as (start, dest, type)."""
    cmd = [PRODUCER, "-n", str(count), "-s", str(seed), "-d", str(delay_ms)]
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
    out = proc.stdout.decode(errors="replace")
    if proc.returncode != 0:
        raise CheckFailed(f"{' '.join(cmd[1:])}: the producer failed (exit {proc.returncode}):\n"
                          + "\n".join(out.splitlines()[-5:]))
    requests = []
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 4 and parts[0] == "request":
            requests.append(tuple(int(x) for x in parts[1:]))
    if len(requests) != count:
        raise CheckFailed(f"the producer printed {len(requests)} requests, expected {count}")
    return requests


def as_waiting(requests):
    waiting = {}
    for start, dest, kind in requests:
        waiting.setdefault(start, []).append(f"{LETTERS[kind]}{dest}")
    return waiting


def watch(until, limit_s, what, every=SAMPLE_S, on_sample=None):
    """Sample /proc/elevator until until(snap) is true; returns the samples.
    Fails if that takes more than limit_s, or if nothing at all changes
    for STUCK_S while waiting."""
    samples = []
    started = time.monotonic()
    last_change = started
    while True:
        try:
            s = snapshot()
        except CheckFailed as e:
            raise Unreadable(str(e), samples) from None
        if samples and s.text != samples[-1].text:
            last_change = s.t1
        samples.append(s)
        if on_sample:
            on_sample(s)
        if until(s):
            return samples
        now = time.monotonic()
        if now - started > limit_s:
            raise Timeout(f"{what}: not reached after {limit_s:.0f} s. Now: {s.summary()}", samples)
        if now - last_change > STUCK_S:
            raise Timeout(f"{what}: nothing in {PROC} changed for {STUCK_S:.0f} s. "
                          f"Stuck at: {s.summary()}", samples)
        time.sleep(every)


class Timeout(CheckFailed):
    """watch() gave up; .samples holds what it saw."""

    def __init__(self, message, samples):
        super().__init__(message)
        self.samples = samples


class Unreadable(Timeout):
    """watch() met a read of /proc/elevator it could not parse."""


def idle_and_empty(s):
    return s.state == "IDLE" and s.nr_riders == 0 and s.nr_waiting == 0 and not s.riders


# --------------------------------------------------------------------------
# Checks on a fresh module

def check_initial():
    text, _, _ = read_proc()
    compare_exact(text, render(), "right after insmod")


def check_offline(seed, count):
    dev = Device()
    requests = produce(seed, count)
    dev.close()
    text, _, _ = read_proc()
    compare_exact(text, render(waiting=as_waiting(requests)),
                  f"after {count} requests (producer -s {seed}) while OFFLINE")


def check_errnos():
    dev = Device()
    expect_call("REQUEST 1 -> 2 type 0 while OFFLINE", dev.request(1, 2, 0), 0)
    for start, dest, kind, why in [(0, 2, 0, "start floor 0"),
                                   (FLOORS + 1, 1, 0, f"start floor {FLOORS + 1}"),
                                   (1, 0, 0, "destination floor 0"),
                                   (1, FLOORS + 1, 1, f"destination floor {FLOORS + 1}"),
                                   (2, 2, 2, "start == destination"),
                                   (1, 2, 4, "type 4"), (1, 2, -1, "type -1")]:
        expect_call(f"REQUEST {start} -> {dest} type {kind} ({why})",
                    dev.request(start, dest, kind), errno.EINVAL)
    expect_call("STOP while OFFLINE", dev.stop(), errno.EALREADY)
    expect_call("START", dev.start(), 0)
    expect_call("START again while running", dev.start(), errno.EALREADY)
    watch(idle_and_empty, 20, "the passenger 1 -> 2 delivered and the elevator IDLE")
    expect_call("STOP while IDLE", dev.stop(), 0)
    watch(lambda s: s.state == "OFFLINE", 2, "OFFLINE after STOP of an IDLE elevator")
    expect_call("STOP again once OFFLINE", dev.stop(), errno.EALREADY)
    expect_call("START again once OFFLINE", dev.start(), 0)
    dev.close()


def check_fresh():
    s = snapshot()
    problem = None
    if s.state != "OFFLINE" or s.floor != 1:
        problem = f"the state is {s.state} at floor {s.floor}"
    elif s.total() or s.riders or any(s.waiting.values()) or s.load:
        problem = "there are passengers or counts left from before"
    if problem:
        raise CheckFailed(f"after insmod the elevator must be OFFLINE at floor 1, empty, nobody "
                          f"waiting, 0 serviced; {problem}:\n{s.text}")
    print(f"fresh: {s.summary()}")


def check_journey():
    """The handout's example: a started, idle elevator at floor 1 and one
    request 1 -> 3 (type L)."""
    dev = Device()
    expect_call("START", dev.start(), 0)
    watch(lambda s: s.state == "IDLE", 5, "IDLE after START")
    expect_call("REQUEST 1 -> 3 type 1 (L)", dev.request(1, 3, 1), 0)
    samples = watch(lambda s: s.serviced >= 1 and s.state == "IDLE", 20,
                    "the passenger delivered and the elevator IDLE again")
    dev.close()
    # The sequence of distinct (state, floor, on board, serviced) seen.
    seen = []
    for s in samples:
        key = (s.state, s.floor, " ".join(s.riders), s.serviced)
        if not seen or seen[-1] != key:
            seen.append(key)
    shown = "\n".join(f"  {st:8} floor {fl}  on board [{r}]  serviced {sv}"
                      for st, fl, r, sv in seen)
    print(f"seen (sampling every {SAMPLE_S * 1000:.0f} ms):\n{shown}")
    wanted = [("LOADING", 1, "L3", 0), ("UP", 1, "L3", 0), ("UP", 2, "L3", 0),
              ("LOADING", 3, "", 1), ("IDLE", 3, "", 1)]
    position = 0
    for key in seen:
        if position < len(wanted) and key == wanted[position]:
            position += 1
    if position < len(wanted):
        st, fl, r, sv = wanted[position]
        raise CheckFailed(
            "expected, in this order: LOADING at floor 1 with L3 on board (it boards), UP from "
            "floor 1, UP from floor 2, LOADING at floor 3 with nobody on board and 1 serviced "
            "(it got out), IDLE at floor 3. Never seen: "
            f"{st} at floor {fl} with [{r}] on board and {sv} serviced")
    for st, fl, r, sv in seen:
        if st == "DOWN" or (st == "LOADING" and fl == 2) or fl > 3:
            raise CheckFailed(f"unexpected: {st} at floor {fl}; the elevator should go straight "
                              "from floor 1 to 3 without stopping on floor 2")
    final = samples[-1]
    if final.floor != 3 or final.serviced != 1 or final.nr_waiting or final.riders:
        raise CheckFailed(f"at the end: {final.summary()}; expected IDLE at floor 3, 1 serviced")
    print("the journey is right")


def main(argv):
    commands = {
        "initial": check_initial, "errnos": check_errnos, "journey": check_journey,
        "fresh": check_fresh,
    }
    try:
        if argv and argv[0] in commands and len(argv) == 1:
            commands[argv[0]]()
        elif len(argv) == 3 and argv[0] == "offline":
            check_offline(int(argv[1]), int(argv[2]))
        else:
            print(__doc__, file=sys.stderr)
            return 2
    except CheckFailed as e:
        print(f"FAILED: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
