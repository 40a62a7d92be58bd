"""make check's results (grader/cli.py --public --per-part --paths-from):
each part in a folder of its own, log paths that work from where the
student stands, a comparison with that part's last run only, and a report
that says which hidden tests it did not run."""
import contextlib
import io
import os
import sys
import tempfile
import unittest
from types import SimpleNamespace

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, os.path.join(ROOT, "grader"))
import grade  # noqa: E402
import report  # noqa: E402

PARTS = [SimpleNamespace(name="part2_timer"), SimpleNamespace(name="part3_chardev")]


def result(part, passed, hidden=()):
    tests = [report.TestResult(part, f"{part[4]}.1", "builds", 10, "public", passed=passed,
                               status="passed" if passed else "failed", output="no")]
    return report.PartResult(part, tests=tests, logs=[], hidden_not_run=hidden)


class LayoutTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.out = os.path.join(self.tmp.name, "kit", ".check")
        self.part_dir = os.path.join(self.tmp.name, "kit", "part2_timer")
        os.makedirs(self.part_dir)

    def tearDown(self):
        self.tmp.cleanup()

    def layout(self, parts=PARTS):
        return grade.Layout(self.out, "check", parts, per_part=True, paths_from=self.part_dir)

    def test_each_part_has_its_own_folder_and_logs(self):
        layout = self.layout()
        self.assertEqual(layout.folder("part3_chardev"), os.path.join(self.out, "part3_chardev"))
        self.assertEqual(layout.logs("part2_timer"), os.path.join(self.out, "part2_timer", "logs"))
        self.assertEqual(layout.rel_logs("part2_timer"), "../.check/part2_timer/logs")

    def test_the_usual_layout_is_one_folder_with_logs_per_part(self):
        layout = grade.Layout(self.out, "alice", PARTS)
        self.assertEqual(layout.logs("part2_timer"), os.path.join(self.out, "alice", "logs", "part2_timer"))
        self.assertEqual(layout.rel_logs("part2_timer"), "logs/part2_timer")

    def test_a_check_of_one_part_leaves_the_other_alone_and_compares_with_its_own_run(self):
        self.layout().write([result("part2_timer", False), result("part3_chardev", False)], 1, "")
        with open(os.path.join(self.out, "part3_chardev", "report.txt")) as f:
            part3 = f.read()
        stderr = io.StringIO()
        with contextlib.redirect_stderr(stderr):
            self.layout(PARTS[:1]).write([result("part2_timer", True)], 1, "")
        with open(os.path.join(self.out, "part3_chardev", "report.txt")) as f:
            self.assertEqual(f.read(), part3)
        with open(os.path.join(self.out, "part2_timer", "report.txt")) as f:
            self.assertNotIn("part3", f.read())
        self.assertIn("part2_timer since its last run: 1 test(s) changed score", stderr.getvalue())
        self.assertNotIn("part3", stderr.getvalue())


class HiddenNotRunTest(unittest.TestCase):
    def test_the_report_says_what_hidden_tests_did_not_run(self):
        text = report.text_report("check", [result("part2_timer", True, (6, 35))], 1, "")
        self.assertIn("10/10 points of the public tests", text)
        self.assertIn("Only the public tests ran: 6 hidden test(s), worth 35 points, are not run here", text)
        self.assertIn("part2_timer: 10/10 of the public tests; not run: 6 hidden test(s) worth 35 points", text)

    def test_a_full_grade_says_nothing_of_the_kind(self):
        text = report.text_report("alice", [result("part2_timer", True)], 1, "")
        self.assertNotIn("public tests", text)
        self.assertIn("part2_timer: 10/10\n", text)


if __name__ == "__main__":
    unittest.main()
