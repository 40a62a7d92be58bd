"""elevator-watch (part 3's public checker) on canned reads of
/proc/elevator: a correct trip passes; each rule it states catches its
break."""
import os
import sys
import unittest
from unittest import mock

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "part3_chardev", "tests"))
import elevator_check as ec  # noqa: E402
import elevator_watch  # noqa: E402

FLOOR_MS = 100


class FakeDevice:
    def start(self):
        return 0

    def request(self, start, dest, kind):
        return 0

    def close(self):
        pass


def reads(*steps):
    """Snapshots for (seconds, render arguments) steps."""
    out = []
    for t, kwargs in steps:
        s = ec.parse(ec.render(**kwargs))
        s.t0, s.t1 = t, t + 0.001
        out.append(s)
    return out


def trip(*changes):
    """One passenger P3 from floor 1 to 3, with the given moments of the
    floor changes; then delivered and IDLE."""
    t1, t2 = changes
    return reads(
        (0.0, {}),                                                # OFFLINE, before the producer
        (0.1, {"state": "LOADING", "riders": ["P3"]}),
        (0.2, {"state": "UP", "riders": ["P3"]}),
        (t1 - 0.01, {"state": "UP", "riders": ["P3"]}),
        (t1, {"state": "UP", "floor": 2, "riders": ["P3"]}),
        (t2, {"state": "LOADING", "floor": 3, "serviced": 1}),
        (t2 + 0.1, {"state": "IDLE", "floor": 3, "serviced": 1}),
    )


def run(samples, count=1):
    count -= len(elevator_watch.GROUP)   # watch() adds the handout's group
    feed = iter(samples)
    with mock.patch.object(ec, "snapshot", lambda: next(feed)), \
            mock.patch.object(ec, "produce", lambda seed, n: None), \
            mock.patch.object(ec, "Device", FakeDevice), \
            mock.patch.object(elevator_watch, "parameter", lambda name: FLOOR_MS), \
            mock.patch.object(elevator_watch.time, "sleep", lambda s: None):
        return elevator_watch.watch(count, 1, 60)


class Watch(unittest.TestCase):
    def test_correct_trip(self):
        reads_seen, _ = run(trip(0.35, 0.46))
        self.assertEqual(reads_seen, 6)

    def test_too_fast_move(self):
        with self.assertRaisesRegex(elevator_watch.Broken, "floor_ms = 100 ms"):
            run(trip(0.35, 0.40))

    def test_floor_jump(self):
        samples = trip(0.35, 0.46)
        samples[4] = reads((0.35, {"state": "UP", "floor": 3, "riders": ["P3"]}))[0]
        with self.assertRaisesRegex(elevator_watch.Broken, "from 1 to 3"):
            run(samples)

    def test_overweight(self):
        samples = reads((0.0, {}), (0.1, {"state": "LOADING", "riders": ["B2"] * 4}))
        with self.assertRaisesRegex(elevator_watch.Broken, "800 lbs on board"):
            run(samples, count=4)

    def test_lost_passenger(self):
        samples = reads((0.0, {}), (0.1, {"state": "LOADING", "riders": ["P3"]}),
                        (0.2, {"state": "UP"}))
        with self.assertRaisesRegex(elevator_watch.Broken, "passengers were requested"):
            run(samples)

    def test_wrong_load(self):
        samples = reads((0.0, {}), (0.1, {"state": "LOADING", "riders": ["P3"]}))
        samples[1].load = 300
        with self.assertRaisesRegex(elevator_watch.Broken, "the load is 300"):
            run(samples)

    def test_must_start_offline(self):
        with self.assertRaisesRegex(elevator_watch.Broken, "OFFLINE and empty"):
            run(reads((0.0, {"state": "IDLE"})))


if __name__ == "__main__":
    unittest.main()
