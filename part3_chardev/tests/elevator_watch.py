#!/usr/bin/env python3
"""elevator-watch: run a workload through your elevator and check, read
after read of /proc/elevator, the rules the handout states.

usage: elevator-watch [--count N] [--seed S] [--timeout SECONDS]

The module must be loaded and OFFLINE (e.g. insmod elevator.ko floor_ms=100
load_ms=50). elevator-watch requests the handout's boarding example (four
bosses and a visitor on floor 1), adds N random passengers with the
producer (the same generator the grader uses, seed S), STARTs the elevator and reads
/proc/elevator every 25 ms until everybody has been delivered and the
elevator is IDLE. Every read must show:

  - the handout's format (the grader's own parser reads it);
  - at most PART3_MAX_PASSENGERS passengers and PART3_MAX_WEIGHT lbs on board;
  - a consistent building: the load is the weight of those listed on board,
    every count agrees with its list, nobody waits on their own floor;
  - nobody lost: on board + waiting + serviced = the passengers requested;

and from one read to the next:

  - the floor changes by at most one, and no faster than floor_ms allows
    (read from /sys/module/elevator/parameters/);
  - the serviced count never goes down.

It stops at the first broken rule, prints the two reads involved and exits
1; otherwise it prints a summary and exits 0. The hidden tests check these
rules and more (boarding order, who gets off where, delivery times, STOP,
concurrency, unloading), so passing here is necessary, not sufficient.

In the course VM (make shell) it is /job/build/part3_chardev/elevator-watch;
on your own machine, python3 tests/elevator_watch.py next to the built tools.
"""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import elevator_check as ec  # noqa: E402

PASSENGER_LIMIT = ec.setting("PART3_MAX_PASSENGERS")
WEIGHT_LIMIT = ec.setting("PART3_MAX_WEIGHT")
PARAMETERS = "/sys/module/elevator/parameters"
# The handout's boarding example, first in line on floor 1: four bosses
# (type 2) and a visitor (type 3); with the default weights not every boss
# fits, so the weight limit is tested in every run.
GROUP = [(3, 2)] * 4 + [(2, 3)]


class Broken(Exception):
    pass


def parameter(name):
    try:
        with open(os.path.join(PARAMETERS, name)) as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        raise Broken(f"cannot read {PARAMETERS}/{name}: is the module loaded, with "
                     f"{name} as a module parameter (module_param, 0444)?") from None


def one_read(s, requested):
    """The rules of a single read; the first one broken, or None."""
    weight = sum(ec.WEIGHT[p[0]] for p in s.riders)
    if len(s.riders) > PASSENGER_LIMIT or s.nr_riders > PASSENGER_LIMIT:
        return f"{max(len(s.riders), s.nr_riders)} passengers on board: at most {PASSENGER_LIMIT}"
    if max(weight, s.load) > WEIGHT_LIMIT:
        return f"{max(weight, s.load)} lbs on board: at most {WEIGHT_LIMIT} lbs"
    if s.load != weight:
        return f"the load is {s.load} lbs, but those on board ({' '.join(s.riders)}) weigh {weight} lbs"
    if s.nr_riders != len(s.riders):
        return f"'Number of passengers' is {s.nr_riders}, but {len(s.riders)} are listed on board"
    for f in range(1, ec.FLOORS + 1):
        if s.counts[f] != len(s.waiting[f]):
            return f"floor {f} counts {s.counts[f]} waiting, but lists {len(s.waiting[f])}"
        if any(int(p[1:]) == f for p in s.waiting[f]):
            return f"someone waits on floor {f}, their own destination"
    listed = sum(len(v) for v in s.waiting.values())
    if s.nr_waiting != listed:
        return f"'Number of passengers waiting' is {s.nr_waiting}, but {listed} are listed"
    if s.total() != requested:
        return (f"{s.nr_riders} on board + {s.nr_waiting} waiting + {s.serviced} serviced = "
                f"{s.total()}, but {requested} passengers were requested")
    return None


class Moves:
    """The rules between reads: one floor at a time, each move floor_ms long."""

    def __init__(self, floor_ms):
        self.floor_ms = floor_ms
        self.arrived = None      # the earliest the floor last changed (monotonic)

    def step(self, a, b):
        if b.serviced < a.serviced:
            return f"the serviced count went down, from {a.serviced} to {b.serviced}"
        if a.floor == b.floor:
            return None
        if abs(b.floor - a.floor) > 1:
            return f"the floor changed from {a.floor} to {b.floor} between two reads 25 ms apart"
        # The floor changed after read a began and before read b ended.
        if self.arrived is not None:
            longest = b.t1 - self.arrived
            if longest + ec.JIFFY_SLACK < self.floor_ms / 1000:
                return (f"the floor changed from {a.floor} to {b.floor} at most {longest * 1000:.0f} ms "
                        f"after the previous change: a move takes floor_ms = {self.floor_ms} ms")
        self.arrived = a.t0
        return None


def watch(count, seed, timeout):
    s = ec.snapshot()
    if s.state != "OFFLINE" or s.total():
        raise Broken(f"start from a freshly loaded, OFFLINE and empty elevator; it is: {s.summary()}")
    moves = Moves(parameter("floor_ms"))
    dev = ec.Device()
    for dest, kind in GROUP:
        got = dev.request(1, dest, kind)
        if got:
            raise Broken(f"REQUEST 1 -> {dest} type {kind} failed: {ec.errname(got)}, expected 0")
    ec.produce(seed, count)
    got = dev.start()
    if got:
        raise Broken(f"START failed: {ec.errname(got)}, expected 0")
    dev.close()
    count += len(GROUP)
    reads, started, prev = 0, time.monotonic(), s
    while True:
        try:
            s = ec.snapshot()
        except ec.CheckFailed as e:
            raise Broken(f"a read of {ec.PROC} could not be parsed: {e}") from None
        reads += 1
        broken = one_read(s, count) or moves.step(prev, s)
        if broken:
            raise Broken(f"{broken}.\nThe read before:\n{prev.text}\nThis read:\n{s.text}")
        if s.serviced == count and s.state == "IDLE":
            return reads, time.monotonic() - started
        if time.monotonic() - started > timeout:
            raise Broken(f"not everybody was delivered within {timeout:.0f} s: {s.summary()}")
        prev = s
        time.sleep(ec.SAMPLE_S)


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=30)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=300)
    args = ap.parse_args(argv)
    try:
        reads, took = watch(args.count, args.seed, args.timeout)
    except (Broken, ec.CheckFailed) as e:
        print(f"elevator-watch: BROKEN: {e}", file=sys.stderr)
        return 1
    print(f"elevator-watch: OK: {args.count} passengers delivered in {took:.1f} s; "
          f"{reads} reads of {ec.PROC}, every one within the limits and consistent, "
          "one floor at a time")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
