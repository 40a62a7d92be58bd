"""Unit tests of grader/tap.py: parsing what the guest streams back."""
import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "grader"))
import tap  # noqa: E402

STREAM = """@@boot 3.54
@@bats-start 3.60
1..3
ok 1 builds in 653ms
not ok 2 first read prints 'current time: S.N' in 1442ms
# (in test file /job/tests/p.bats, line 45)
#   `$CHECK first' failed
# nanoseconds not zero-padded
ok 3 skipped one # skip no module in 10ms
@@info throughput: 12 passengers per minute
@@bats-exit 1 57.65
@@dmesg-begin
[    0.1] hello
@@dmesg-end
@@tainted 12288
@@done
"""


class TapTest(unittest.TestCase):
    def test_outcomes_messages_and_markers(self):
        s = tap.parse(STREAM)
        self.assertEqual([(o.title, o.passed) for o in s.outcomes],
                         [("builds", True), ("first read prints 'current time: S.N'", False),
                          ("skipped one", False)])
        self.assertEqual(s.outcomes[1].output, "nanoseconds not zero-padded\n")
        self.assertEqual(s.outcomes[1].ms, 1442)
        self.assertTrue(s.outcomes[2].skipped)
        self.assertTrue(s.finished)
        self.assertEqual(s.tainted, 12288)
        self.assertEqual(s.dmesg, "[    0.1] hello")
        self.assertEqual(s.uptimes, {"boot": 3.54, "bats-start": 3.60, "bats-exit": 57.65})
        self.assertEqual(s.info, ["throughput: 12 passengers per minute"])

    def test_a_cut_stream_is_not_finished(self):
        s = tap.parse(STREAM.split("ok 3")[0])
        self.assertFalse(s.finished)
        self.assertEqual(len(s.outcomes), 2)

    def test_restart_request(self):
        s = tap.parse("@@boot 1.0\nok 1 a in 5ms\n@@restart the previous test left /proc/timer behind\n")
        self.assertEqual(s.restart, "the previous test left /proc/timer behind")
        self.assertFalse(s.finished)


if __name__ == "__main__":
    unittest.main()
