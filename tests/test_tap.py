"""Unit tests of grader/tap.py and grader/guest-lib/records.py: the records
the guest agent writes and the host's strict reading of them."""
import hmac
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "grader"))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "grader", "guest-lib"))
import records  # noqa: E402
import tap  # noqa: E402

KEY = bytes(range(32))
TITLES = ["builds", "first read prints 'current time: S.N'", "skipped one"]
NOTE = r"throughput: \d+ passengers per minute"


def stream(*items, key=KEY, start=0):
    """Records of (channel, text) pairs, as the agent would write them."""
    return b"".join(records.encode(key, start + i, ch, records.escape(text))
                    for i, (ch, text) in enumerate(items))


GOOD = [("A", "boot 3.54"), ("A", "bats-start 3.60"), ("T", "1..3"),
        ("T", "ok 1 builds in 653ms"),
        ("T", "not ok 2 first read prints 'current time: S.N' in 1442ms"),
        ("T", "# (in test file /job/tests/p.bats, line 45)"),
        ("T", "#   `$CHECK first' failed"),
        ("T", "# nanoseconds not zero-padded"),
        ("T", "@@info throughput: 12 passengers per minute"),
        ("T", "ok 3 skipped one in 10ms # skip no module"),
        ("A", "bats-exit 1 57.65"), ("K", "[    0.1] hello"),
        ("A", "tainted 12288"), ("A", "done")]


def read(data, titles=TITLES):
    return tap.read_all(KEY, titles, data, [NOTE])


def with_items(replace=None, insert=None):
    items = list(GOOD)
    for index, item in (replace or {}).items():
        items[index] = item
    for index, item in sorted((insert or {}).items(), reverse=True):
        items.insert(index, item)
    return stream(*items)


class RecordTest(unittest.TestCase):
    def test_hmac_matches_the_standard_library(self):
        for key in (b"", b"k", KEY, b"x" * 100):
            for message in (b"", b"0 T ok 1 a in 3ms", bytes(range(256)) * 3):
                self.assertEqual(records.hmac_sha256(key, message),
                                 hmac.new(key, message, "sha256").hexdigest())

    def test_escape_leaves_no_line_break_or_control(self):
        text = "a\rb\x0bc\x0cd\x1ce\x1df\x1eg\u2028h\u2029i\x85j\x1b[2Jk\x00\x7f\tl"
        escaped = records.escape(text)
        self.assertEqual(escaped.splitlines(), [escaped])
        self.assertNotRegex(escaped, "[\x00-\x08\x0a-\x1f\x7f-\x9f]")
        self.assertIn("\t", escaped)
        self.assertIn("\\x0d", escaped)

    def test_decode_refuses_bad_tags_and_unescaped_text(self):
        line = records.encode(KEY, 4, "T", "ok 1 a in 1ms").decode().rstrip("\n")
        self.assertEqual(records.decode(KEY, line), (4, "T", "ok 1 a in 1ms"))
        with self.assertRaises(ValueError):
            records.decode(b"other key", line)
        with self.assertRaises(ValueError):
            records.decode(KEY, line.replace("ok 1", "ok 2"))
        with self.assertRaises(ValueError):
            records.decode(KEY, "ok 1 a in 1ms")


class ReaderTest(unittest.TestCase):
    def test_an_honest_stream(self):
        s = read(stream(*GOOD))
        self.assertEqual(s.tampered, [])
        self.assertEqual([(o.title, o.passed, o.skipped) for o in s.outcomes],
                         [("builds", True, False), (TITLES[1], False, False),
                          ("skipped one", False, True)])
        self.assertEqual(s.outcomes[1].output, "nanoseconds not zero-padded\n")
        self.assertEqual(s.outcomes[1].ms, 1442)
        self.assertTrue(s.finished)
        self.assertEqual(s.tainted, 12288)
        self.assertEqual(s.dmesg, "[    0.1] hello")
        self.assertEqual(s.uptimes, {"boot": 3.54, "bats-start": 3.60, "bats-exit": 57.65})
        self.assertEqual(s.info, ["throughput: 12 passengers per minute"])
        self.assertEqual(s.bats_status, 1)

    def test_fed_byte_by_byte_is_the_same(self):
        reader = tap.Reader(KEY, TITLES, [NOTE])
        for byte in stream(*GOOD):
            reader.feed(bytes([byte]))
        s = reader.close()
        self.assertEqual(s.tampered, [])
        self.assertEqual(len(s.outcomes), 3)

    def test_a_cut_stream_is_not_finished_and_not_tampered(self):
        data = stream(*GOOD[:5])
        s = read(data + data[-1:0] + b"0123")   # and half a record
        self.assertFalse(s.finished)
        self.assertEqual(len(s.outcomes), 2)
        self.assertEqual(s.tampered, [])

    def test_restart_request(self):
        s = read(stream(*GOOD[:4], ("T", "@@restart 'builds' left /proc/timer behind")))
        self.assertEqual(s.restart, "'builds' left /proc/timer behind")
        self.assertEqual(s.tampered, [])

    def test_a_restart_the_suite_cannot_have_sent_is_tampering(self):
        # Before this VM's first result (its /tmp, where the flag is, is fresh).
        s = read(stream(*GOOD[:3], ("T", "@@restart 'builds' left /proc/timer behind")))
        self.assertEqual(s.restart, "")
        self.assertIn("before any test of this VM had reported", s.tampered[0])
        # Not naming the test reported last (here "builds"), or naming it
        # only as the start of a longer title.
        for text in ("the previous test left /proc/timer behind",
                     "'first read prints 'current time: S.N'' left /proc/timer behind",
                     "'builds and more' left /proc/timer behind"):
            s = read(stream(*GOOD[:4], ("T", f"@@restart {text}")))
            self.assertEqual(s.restart, "", text)
            self.assertIn("does not name the test reported last ('builds')", s.tampered[0], text)

    def test_text_injection_stays_text(self):
        # A build log or kernel message with a carriage return and a forged
        # result: relayed inside a comment line, escaped.
        forged = "# error: x\rok 2 first read prints 'current time: S.N' in 1ms\r@@dmesg-end"
        s = read(with_items(insert={8: ("T", forged)}))
        self.assertEqual(s.tampered, [])
        self.assertFalse(s.outcomes[1].passed)
        self.assertIn("\\x0dok 2", s.outcomes[1].output)
        s = read(with_items(insert={12: ("K", "x\rok 2 first\r@@done")}))
        self.assertEqual(s.tampered, [])
        self.assertFalse(s.outcomes[1].passed)

    def test_raw_lines_are_tampering(self):
        for raw in (b"ok 2 first read prints 'current time: S.N' in 1ms\n", b"@@done\n",
                    b"\xff\xfe\n", b"0" * 32 + b" 5 T ok 2 x in 1ms\n"):
            items = stream(*GOOD[:4])
            s = read(items + raw + stream(*GOOD[4:], start=4))
            self.assertTrue(s.tampered, raw)

    def test_a_forged_record_under_another_key(self):
        data = stream(*GOOD[:4]) + stream(("T", "ok 2 x in 1ms"), key=b"guess", start=4)
        self.assertTrue(read(data + stream(*GOOD[4:], start=5)).tampered)

    def test_sequence_gap_or_repeat(self):
        data = stream(*GOOD[:4]) + stream(*GOOD[4:], start=5)
        self.assertIn("out of sequence", read(data).tampered[0])
        data = stream(*GOOD[:4]) + stream(*GOOD[3:], start=3)
        self.assertTrue(read(data).tampered)

    def test_a_second_result_for_a_test(self):
        s = read(with_items(insert={4: ("T", "ok 2 first read prints 'current time: S.N' in 3ms")}))
        self.assertTrue(any("second result" in t for t in s.tampered), s.tampered)

    def test_results_out_of_order_unknown_or_without_timing(self):
        bad = ["ok 3 skipped one in 1ms", "ok 2 some other title in 1ms", "ok 2 builds in 1ms",
               "ok 2 first read prints 'current time: S.N'", "ok 9 x in 1ms"]
        for line in bad:
            s = read(with_items(insert={4: ("T", line)}))
            self.assertTrue(s.tampered, line)

    def test_bad_plan(self):
        self.assertTrue(read(with_items(replace={2: ("T", "1..5")})).tampered)
        self.assertTrue(read(with_items(insert={5: ("T", "1..3")})).tampered)

    def test_markers_and_notes(self):
        self.assertTrue(read(with_items(insert={4: ("T", "@@done")})).tampered)
        self.assertTrue(read(with_items(insert={4: ("T", "@@info you get full marks")})).tampered)

    def test_tap_outside_the_bats_window(self):
        self.assertTrue(read(with_items(insert={11: ("T", "# late")})).tampered)
        self.assertTrue(read(with_items(insert={1: ("T", "1..3")})).tampered)

    def test_events_out_of_order_or_unknown(self):
        self.assertTrue(read(with_items(insert={3: ("A", "done")})).tampered)
        self.assertTrue(read(with_items(insert={3: ("A", "bats-start 4.0")})).tampered)
        self.assertTrue(read(with_items(insert={3: ("A", "score 100")})).tampered)

    def test_exit_status_must_agree(self):
        all_pass = [("A", "boot 1.0"), ("A", "bats-start 1.1"), ("T", "1..1"),
                    ("T", "ok 1 builds in 5ms")]
        s = tap.read_all(KEY, ["builds"], stream(*all_pass, ("A", "bats-exit 1 2.0")))
        self.assertTrue(s.tampered)
        s = tap.read_all(KEY, ["builds"], stream(*all_pass, ("A", "bats-exit 0 2.0")))
        self.assertEqual(s.tampered, [])
        s = read(with_items(replace={10: ("A", "bats-exit 0 57.65")}))
        self.assertTrue(s.tampered)

    def test_an_endless_line_is_tampering_and_bounded(self):
        reader = tap.Reader(KEY, TITLES)
        for _ in range(100):
            reader.feed(b"x" * 65536)
        self.assertTrue(reader.close().tampered)
        self.assertLess(len(reader.pending), tap.MAX_PENDING + 65536)

    def test_linear_time_on_a_big_stream(self):
        # One test's output of 200 000 comment lines: kept bounded, read fast.
        items = GOOD[:5] + [("T", "# " + "y" * 100)] * 200000 + GOOD[5:]
        data = stream(*items)
        start = time.monotonic()
        s = read(data)
        seconds = time.monotonic() - start
        self.assertEqual(s.tampered, [])
        self.assertLessEqual(s.outcomes[1].output.count("\n"), tap.MAX_OUTPUT_LINES)
        self.assertLess(seconds, 20, "reading 200 000 records must be linear")


if __name__ == "__main__":
    unittest.main()
