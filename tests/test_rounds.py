"""PartGrader.run_rounds with a fake VM that sends authenticated records:
how rounds, restarts, tampering and a dirty kernel log become scores."""
import os
import shutil
import sys
import tempfile
import unittest
from unittest import mock

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, os.path.join(ROOT, "grader"))
sys.path.insert(0, os.path.join(ROOT, "grader", "guest-lib"))
import grade  # noqa: E402
import records  # noqa: E402
import vm  # noqa: E402

PART = grade.discover_parts([2])[0]
LOG_TEST = "the kernel log shows no oops, BUG, WARNING or flood, and no taint but O and E"


def start(titles):
    return [("A", "boot 1.0"), ("A", "bats-start 2.0"), ("T", f"1..{len(titles)}")]


def passing(titles, first=1):
    return [("T", f"ok {i} {t} in 5ms") for i, t in enumerate(titles, first)]


def finish(status=0, tainted=12288):
    return [("A", f"bats-exit {status} 30.0"), ("A", f"tainted {tainted}"), ("A", "done")]


def grade_rounds(*rounds):
    """Scores of part 2 when each VM round sends what rounds[i](titles) says."""
    script = iter(rounds)

    def boot(config, job, logs, reader, limit, total, prefix, secret_path):
        with open(secret_path) as f:
            key = bytes.fromhex(f.read().strip())
        items = next(script)(reader.titles)
        reader.feed(b"".join(records.encode(key, i, ch, records.escape(text))
                             for i, (ch, text) in enumerate(items)))
        return vm.VMResult(console="", exit_code=0, killed_reason="", seconds=1.0)

    work = tempfile.mkdtemp()
    try:
        g = grade.PartGrader(PART, {"VMLINUX": "", "INITRAMFS": "", "ROOTFS": ""}, None,
                             work, os.path.join(work, "logs"), "logs/part2_timer")
        os.makedirs(g.job)
        os.makedirs(g.logs)
        results = [grade.new_test_result(PART, s) for s in PART.tests]
        g.result.tests = results
        with mock.patch.object(vm, "boot", boot):
            g.run_rounds(results)
        return g.result
    finally:
        shutil.rmtree(work)


class RoundsTest(unittest.TestCase):
    def test_one_honest_round(self):
        r = grade_rounds(lambda ts: start(ts) + passing(ts) + finish())
        self.assertEqual((r.score, r.flags), (r.max_score, []))

    def restart_round(self, tainted, log_line):
        def first(ts):
            return (start(ts) + passing(ts[:12])
                    + [("T", "@@restart 'rmmod removes /proc/timer' left /proc/timer behind"),
                       ("K", log_line), ("A", f"tainted {tainted}")])
        return grade_rounds(first, lambda ts: start(ts) + passing(ts) + finish())

    def test_a_restart_with_a_clean_log(self):
        r = self.restart_round(12288, "[    3.1] my_timer: created /proc/timer")
        self.assertEqual((r.score, r.flags), (r.max_score, []))

    def test_a_restart_does_not_launder_a_dirty_log(self):
        for tainted, line in ((12289, "[    3.1] fine"), (12288, "[    3.1] WARNING: at x")):
            r = self.restart_round(tainted, line)
            log = next(t for t in r.tests if t.title == LOG_TEST)
            self.assertFalse(log.passed, (tainted, line))
            self.assertIn("before a restart", log.output)
            self.assertEqual(r.score, r.max_score - log.max_score)

    def test_tampering_zeroes_the_round_and_flags(self):
        r = grade_rounds(lambda ts: start(ts) + [("T", f"ok 1 {ts[0]} in 1ms")]
                         + passing(ts) + finish())
        self.assertEqual(r.score, 0)
        self.assertTrue(r.flags[0].startswith("results tampered"))

    def test_a_huge_number_is_tampering_not_a_crash(self):
        r = grade_rounds(lambda ts: start(ts) + [("A", "bats-exit " + "9" * 5000 + " 3.0")])
        self.assertEqual(r.score, 0)
        self.assertTrue(r.flags[0].startswith("results tampered"))


if __name__ == "__main__":
    unittest.main()
