"""Unit tests of grader/sanitize.py, and of what grader/report.py and
grader/classbook.py make of hostile text and of flags: every output stays
well-formed and bounded, and flags reach the TA everywhere."""
import csv
import json
import os
import sys
import tempfile
import types
import unittest
from xml.etree import ElementTree as ET

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "grader"))
import classbook  # noqa: E402
import report  # noqa: E402
import sanitize  # noqa: E402

# Every code point that must not survive clean() as itself.
UNSAFE = ([c for c in range(0x20) if c not in (0x09, 0x0a)] + list(range(0x7f, 0xa0))
          + [0x2028, 0x2029, 0xd800, 0xdbff, 0xdc00, 0xdfff, 0xfffe, 0xffff, 0x202e, 0x2066])
ALL_BYTES = "".join(map(chr, range(256)))
ESCAPES = ("\x1b[31mred\x1b[0m \x1b[2J\x1b[H \x1b]0;owned\x07 \x1b]8;;http://x\x1b\\link"
           "\x1b]8;;\x1b\\ \x1bc \x9b31m \r\rover\rwrite \u2028\u2029 \ud800 \ufffe\n")


def xml_ok(ch):
    c = ord(ch)
    return (c in (0x9, 0xa, 0xd) or 0x20 <= c <= 0xd7ff or 0xe000 <= c <= 0xfffd
            or 0x10000 <= c <= 0x10ffff)


class CleanTest(unittest.TestCase):
    def test_escape_convention(self):
        self.assertEqual(sanitize.clean("a\x1b[31mb"), "a\\x1b[31mb")
        self.assertEqual(sanitize.clean("\x1b]0;t\x07"), "\\x1b]0;t\\x07")
        self.assertEqual(sanitize.clean("x\r\n"), "x\\r\n")
        self.assertEqual(sanitize.clean("\x00\x7f\x85\x9b"), "\\x00\\x7f\\x85\\x9b")
        self.assertEqual(sanitize.clean("\u2028\u2029\ud800\ufffe\uffff"),
                         "\\u2028\\u2029\\ud800\\ufffe\\uffff")
        self.assertEqual(sanitize.clean("tab\tand\nnewline kept, é and 😀 too"),
                         "tab\tand\nnewline kept, é and 😀 too")

    def test_nothing_unsafe_survives(self):
        text = "".join(map(chr, UNSAFE)) + ALL_BYTES + ESCAPES
        out = sanitize.clean(text)
        for c in UNSAFE:
            self.assertNotIn(chr(c), out)
        self.assertTrue(all(xml_ok(ch) and ch != "\r" for ch in out))
        self.assertEqual(sanitize.clean(out), out, "clean() is idempotent")

    def test_junk_values(self):
        self.assertEqual(sanitize.clean(None), "")
        self.assertEqual(sanitize.clean(b"\xff\x1bok"), "\\xff\\x1bok")
        self.assertEqual(sanitize.clean(42), "42")

    def test_strip(self):
        self.assertEqual(sanitize.strip("a\x1b[1;31mb\x1b]0;t\x07c\x1b]x\x1b\\d\x00e\r"), "abcde")


class CapTest(unittest.TestCase):
    def test_short_text_unchanged(self):
        self.assertEqual(sanitize.cap("abc\n", 10), "abc\n")

    def test_cut_at_a_line_boundary_with_a_note(self):
        text = "".join(f"line {i}\n" for i in range(1000))
        out = sanitize.cap(text, 4096)
        self.assertLessEqual(len(out), 4096)
        head, last = out.rsplit("\n", 1)
        self.assertTrue(text.startswith(head + "\n"))
        cut = len(text) - len(head) - 1
        self.assertEqual(last, f"[... {cut} more character(s) in {text[len(head) + 1:].count(chr(10))}"
                               " line(s) cut by the grader]")

    def test_clip_cleans_only_what_is_shown(self):
        text = ("\x1b[31m" + "y" * 70 + "\n") * 100000
        out = sanitize.clip(text, 4096)
        self.assertLessEqual(len(out), 4096)
        self.assertTrue(out.startswith("\\x1b[31m" + "y" * 70 + "\n"))
        shown = out.count("\n")
        self.assertTrue(out.endswith(f"[... {len(text) - 76 * shown} more character(s) in "
                                     f"{100000 - shown} line(s) cut by the grader]"))
        self.assertEqual(sanitize.clip("\x1b" * 5000, 400),
                         "\\x1b" * 80 + "\n[... 4920 more character(s) in 1 line(s) cut by the grader]")
        self.assertEqual(sanitize.clip("a\rb", 100), "a\\rb")

    def test_one_long_line(self):
        out = sanitize.cap("x" * 100000, 4096)
        self.assertLessEqual(len(out), 4096)
        self.assertIn("cut by the grader", out)
        self.assertLessEqual(len(sanitize.cap("x" * 100, 50)), 50)


def hostile_parts():
    big = (ALL_BYTES + ESCAPES) * 400            # about 100 000 characters
    tests = [report.TestResult("part2_timer", f"2.{i}", f"test \x1b[31m{i}\x1b[0m", 1,
                               "hidden" if i % 2 else "public", passed=i % 3 == 0,
                               status="crashed" if i % 5 == 0 else "failed", output=big)
             for i in range(50)]
    notes = [f"note {i} \x1b[2J\u2028" + "n" * 3000 for i in range(10000)]
    flags = [f"forbidden kernel function f{i}\x1b[31m\n(in my_timer.ko)" for i in range(30)]
    flags += ["review: uses kernel functions outside the allowlist: a, b", None, 7, b"\x1b"]
    return [report.PartResult("part2_timer", tests=tests, notes=notes, flags=flags),
            report.PartResult("part3_chardev", tests=[
                report.TestResult("part3_chardev", "3.1", "t", 5, "public", output="😀" * 100000)],
                notes=[ESCAPES], flags="results tampered: two results for test 5")]


class HostileReportTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.out = os.path.join(cls.tmp.name, "sub\x1b[31m")
        os.makedirs(cls.out)
        report.write_all(cls.out, "sub\x1b[31m\u2028", hostile_parts(), 12.5,
                         grader_error="boom \x1b[2J" + "e" * 10000)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def read(self, name):
        with open(os.path.join(self.out, name), "rb") as f:
            return f.read()

    def test_results_json_is_bounded_and_valid(self):
        raw = self.read("results.json")
        self.assertLess(len(raw), report.RESULTS_JSON_LIMIT)
        data = json.loads(raw)
        self.assertEqual(len(data["tests"]), 51)
        self.assertLessEqual(len(data["output"]), report.OUTPUT_CAP)
        for t in data["tests"]:
            self.assertLessEqual(len(t["output"]), report.TEST_OUTPUT_CAP + 20)
            self.assertNotIn("\x1b", t["output"] + t["name"])
            self.assertEqual(set(t["extra_data"]), {"status", "part"})
        self.assertNotIn("\x1b", data["output"])
        self.assertIn("more note(s) left out", data["output"])

    def test_results_json_flags(self):
        data = json.loads(self.read("results.json"))
        flags = data["extra_data"]["flags"]
        self.assertEqual(len(flags["part2_timer"]), report.FLAGS_SHOWN + 1)
        self.assertTrue(all(isinstance(f, str) and "\n" not in f and "\x1b" not in f
                            for f in flags["part2_timer"]))
        self.assertIn("more flag(s) left out", flags["part2_timer"][-1])
        self.assertEqual(flags["part3_chardev"], ["results tampered: two results for test 5"])
        self.assertTrue(data["output"].startswith(
            "FLAGGED FOR REVIEW BY STAFF: part2_timer: forbidden kernel function f0\\x1b[31m "
            "(in my_timer.ko). "))
        self.assertIn("part3_chardev: results tampered: two results for test 5.", data["output"])

    def test_report_txt_has_no_escape(self):
        raw = self.read("report.txt")
        text = raw.decode("utf-8")
        self.assertNotIn("\x1b", text)
        self.assertNotIn("\r", text)
        self.assertIn("  FLAGGED: results tampered: two results for test 5\n", text)
        self.assertIn("  FLAGGED: forbidden kernel function f0\\x1b[31m (in my_timer.ko)\n", text)
        self.assertLess(len(raw), 2_000_000)

    def test_junit_parses_and_carries_flags(self):
        root = ET.fromstring(self.read("junit.xml"))
        suites = {s.get("name"): s for s in root.iter("testsuite")}
        props = [p.get("value") for p in suites["part3_chardev"].iter("property")]
        self.assertEqual(props, ["results tampered: two results for test 5"])
        self.assertEqual(suites["part2_timer"][0].tag, "properties")
        self.assertEqual(len(list(suites["part2_timer"].iter("property"))), report.FLAGS_SHOWN + 1)


class FlagsTest(unittest.TestCase):
    """One hard-flagged, one soft-flagged, one crashed, one clean submission,
    through report.py into classbook's grades.csv and summary.txt."""

    def grade(self, out_root, name, flags=(), status="passed", error=""):
        t = report.TestResult("part2_timer", "2.1", "builds", 10, "public",
                              passed=status == "passed", status=status, output="ok")
        folder = os.path.join(out_root, name)
        os.makedirs(folder)
        report.write_all(folder, name, [report.PartResult("part2_timer", tests=[t],
                                                          flags=list(flags))], 1.0, error)

    def test_flags_reach_gradebook_and_summary(self):
        with tempfile.TemporaryDirectory() as root:
            self.grade(root, "alice", ["forbidden kernel function filp_open (in my_timer.ko)",
                                       "review: my_timer.c:42: reads current->comm"],
                       status="crashed")
            self.grade(root, "bob", ["review: uses kernel functions outside the allowlist: a, b"])
            self.grade(root, "carol", status="crashed")
            self.grade(root, "dave")
            self.grade(root, "erin", ["results tampered: two results for test 5"], error="oops")
            graded = classbook.load_class(root)
            parts = [types.SimpleNamespace(name="part2_timer")]
            classbook.write_gradebook(os.path.join(root, "grades.csv"), graded, parts)
            classbook.write_summary(os.path.join(root, "summary.txt"), graded, parts)
            with open(os.path.join(root, "grades.csv"), newline="") as f:
                status = {row["submission"]: row["status"] for row in csv.DictReader(f)}
            with open(os.path.join(root, "summary.txt")) as f:
                summary = f.read()
            with open(os.path.join(root, "alice", "report.txt")) as f:
                self.assertIn("  FLAGGED: review: my_timer.c:42: reads current->comm\n", f.read())
        self.assertEqual(status, {
            "alice": "flagged: forbidden kernel function filp_open (in my_timer.ko) (+1 more)",
            "bob": "review: uses kernel functions outside the allowlist: a, b",
            "carol": "graded (crashed)",
            "dave": "graded",
            "erin": "grader error"})
        section = summary.split("flagged submissions:\n", 1)[1]
        for text in ("alice", "FLAGGED  part2_timer: forbidden kernel function filp_open",
                     "review  part2_timer: review: my_timer.c:42: reads current->comm",
                     "bob", "erin", "results tampered"):
            self.assertIn(text, section)
        self.assertNotIn("dave", section)
        self.assertNotIn("carol", section)
        self.assertIn("carol: graded (crashed)", summary)

    def test_no_flags_says_none(self):
        with tempfile.TemporaryDirectory() as root:
            self.grade(root, "dave")
            graded = classbook.load_class(root)
            classbook.write_summary(os.path.join(root, "summary.txt"), graded, [])
            with open(os.path.join(root, "summary.txt")) as f:
                self.assertTrue(f.read().endswith("flagged submissions:\n  none\n"))
            with open(os.path.join(root, "dave", "results.json")) as f:
                data = json.load(f)
        self.assertEqual(data["extra_data"]["flags"], {"part2_timer": []})
        self.assertFalse(data["output"].startswith("FLAGGED"))

    def test_junk_flags_in_results_json_do_not_crash(self):
        for junk in (None, "x", 5, [1, None, {"a": 1}], {"p": "review: only"}, {"p": 7},
                     {"p": [None]}):
            data = {"extra_data": {"flags": junk}, "tests": []}
            self.assertIsInstance(classbook.status_of(data), str)
        self.assertEqual(classbook.status_of({"extra_data": {"flags": {"p": "review: only"}}}),
                         "review: only")

    def test_progress_mentions_flags(self):
        class Sink(list):
            def isatty(self):
                return False

            def write(self, text):
                self.append(text)

            def flush(self):
                pass
        sink = Sink()
        progress = classbook.Progress(2, stream=sink)
        part = report.PartResult("part2_timer", flags=["results tampered: x"])
        progress.finished("alice\x1b[2J", [part], "")
        self.assertIn("[flagged: 1 flag(s)]", sink[-1])
        self.assertNotIn("\x1b", sink[-1])
        progress.finished("bob", [report.PartResult("part2_timer", flags=5),
                                  report.PartResult("part3_chardev", flags=["review: x"])], "")
        self.assertIn("[flagged: 2 flag(s)]", sink[-1])
        progress.finished("carol", [report.PartResult("part2_timer", flags="review: x")], "")
        self.assertIn("[review: 1 flag(s)]", sink[-1])


if __name__ == "__main__":
    unittest.main()
