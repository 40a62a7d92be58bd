"""Unit tests of grader/leakguard.py: hidden-test text never reaches what
students see, public text stays, and the guard fails closed."""
import json
import os
import shutil
import sys
import tempfile
import types
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "grader"))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
import leakguard  # noqa: E402
import release  # noqa: E402  (the starter kit's own stub cutting)
import report  # noqa: E402
import rubric  # noqa: E402

PART = "part2_timer"
# A hidden test added to a copy of the real part-2 suite, and a hidden
# helper file: their distinctive lines are what must never be shown.
SECRET_TEST = '''
# grade: points=5 visibility=hidden
@test "a secret check of the second read" {
	load_module "$MOD"
	[[ $(wc -l </proc/timer) -le 2 ]] || fail_because "secret: more than two lines after the second read"
	python3 "$BATS_TEST_DIRNAME/secret_helper.py" --compare-against-the-wall-clock
}
'''
SECRET_BODY_LINE = ('[[ $(wc -l </proc/timer) -le 2 ]] || fail_because '
                    '"secret: more than two lines after the second read"')
SECRET_FILE = '''#!/usr/bin/env python3
"""A hidden helper of the grading suite (the students never see it)."""
import os
# ================================================================
EXPECTED_SKEW_NS = 123_456_789   # the secret tolerance of the hidden test
def compare_with_wall_clock(printed_ns, before_ns, after_ns):
    return before_ns - EXPECTED_SKEW_NS <= printed_ns <= after_ns + EXPECTED_SKEW_NS
x = 1
'''
SECRET_LINE = "def compare_with_wall_clock(printed_ns, before_ns, after_ns):"


def make_part(root, secret_test=True, secret_file=True, hidden_files=("secret_helper.py",),
              stubs=False):
    """A copy of the real part2_timer/tests (with whatever helper files it has
    now) plus the secret test and helper; returns a parts.Part-like object."""
    part_dir = os.path.join(root, PART)
    tests_dir = os.path.join(part_dir, "tests")
    shutil.copytree(os.path.join(ROOT, PART, "tests"), tests_dir,
                    ignore=shutil.ignore_patterns("__pycache__"))
    bats = os.path.join(tests_dir, PART + ".bats")
    with open(bats, encoding="utf-8") as f:
        text = f.read()
    if secret_test:
        text += SECRET_TEST
    if stubs:
        text = release.public_suite(text)
    with open(bats, "w", encoding="utf-8") as f:
        f.write(text)
    if secret_file:
        with open(os.path.join(tests_dir, "secret_helper.py"), "w", encoding="utf-8") as f:
            f.write(SECRET_FILE)
    conf = {"modules": ["my_timer"], "hidden_files": list(hidden_files)}
    with open(os.path.join(tests_dir, "part.json"), "w", encoding="utf-8") as f:
        json.dump(conf, f)
    # With --public, cli.py keeps only the public tests in part.tests.
    public = [t for t in rubric.parse(bats) if t.visibility == "public"]
    return types.SimpleNamespace(name=PART, path=part_dir, bats=bats, tests=public, conf=conf)


def result(outputs, notes=()):
    """A PartResult with one test per (visibility, output)."""
    tests = [report.TestResult(PART, f"2.{i}", f"test {i}", 5, vis, output=out)
             for i, (vis, out) in enumerate(outputs, 1)]
    return report.PartResult(PART, tests=tests, notes=list(notes))


class HiddenLinesTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.part = make_part(self.tmp.name)
        self.lines = leakguard.hidden_for_part(self.part)

    def tearDown(self):
        self.tmp.cleanup()

    def test_distinctive_hidden_lines(self):
        self.assertIsInstance(self.lines, set)
        self.assertIn(leakguard.normalize(leakguard.code_of(SECRET_BODY_LINE)), self.lines)
        self.assertIn(leakguard.normalize(SECRET_LINE), self.lines)
        # Its message is what students are meant to read: not hidden.
        self.assertEqual(leakguard.redact("secret: more than two lines after the second read",
                                          self.lines)[1], 0)
        self.assertIn(leakguard.normalize(leakguard.code_of(
            'python3 "$BATS_TEST_DIRNAME/secret_helper.py" --compare-against-the-wall-clock')),
            self.lines)

    def test_public_short_and_plain_lines_are_left_out(self):
        for line in self.lines:
            self.assertGreaterEqual(len(line), leakguard.MIN_LINE)
            self.assertEqual(line, leakguard.normalize(line))
        for plain in ("x = 1", "# " + "=" * 64, 'load_module "$MOD"'):
            self.assertNotIn(leakguard.normalize(plain), self.lines)
        # Titles are public (the starter kit's stubs show them).
        self.assertFalse(any("@test" in line for line in self.lines))
        with open(os.path.join(self.part.path, "tests", "timer_check.py"), encoding="utf-8") as f:
            public = "\n".join(" ".join(line.split()) for line in f)
        with open(self.part.bats, encoding="utf-8") as f:
            suite = f.read()
        public_suite = "\n".join(" ".join(line.split()) for line in release.public_suite(suite).splitlines())
        for line in self.lines:
            self.assertNotIn(line, public)
            self.assertNotIn(line, public_suite)

    def test_lines_also_in_public_material_are_left_out(self):
        with open(os.path.join(self.part.path, "tests", "secret_helper.py"), "a",
                  encoding="utf-8") as f:
            f.write('LINE = re.compile(r"^(current|elapsed) time: (\\d+)\\.(\\d+)$")\n')
            f.write('        fail_because "not run: $1.ko was not built, so it cannot be tested '
                    '(see the build test)."\n')
        lines = leakguard.hidden_for_part(self.part)
        self.assertIn(leakguard.normalize(SECRET_LINE), lines)
        self.assertFalse(any(line.startswith("LINE = re.compile") for line in lines))
        self.assertFalse(any("cannot be tested" in line for line in lines))

    def test_public_tests_only_in_part_tests(self):
        # part.tests holds only the public tests (--public): the hidden ones
        # are read from the bats file all the same.
        self.assertTrue(all(t.visibility == "public" for t in self.part.tests))
        self.assertIn(leakguard.normalize(leakguard.code_of(SECRET_BODY_LINE)), self.lines)

    def test_starter_kit_stubs_give_an_empty_set(self):
        with tempfile.TemporaryDirectory() as tmp:
            kit = make_part(tmp, secret_file=False, hidden_files=("secret_helper.py", "timer_hidden.py"),
                            stubs=True)
            for name in ("timer_hidden.py", "elevator_hidden.py"):
                path = os.path.join(kit.path, "tests", name)
                if os.path.exists(path):
                    os.remove(path)
            self.assertEqual(leakguard.hidden_for_part(kit), set())


class RedactTest(unittest.TestCase):
    LINES = {leakguard.normalize(SECRET_BODY_LINE), leakguard.normalize(SECRET_LINE)}

    def test_kernel_log_line_embedding_a_hidden_line(self):
        text = ("insmod my_timer.ko failed: File exists\nKernel log:\n"
                f"[   12.345678] my_timer: {SECRET_LINE}\n"
                "[   12.345679] my_timer: current time: 1700000000.123456789\n")
        out, hits = leakguard.redact(text, self.LINES)
        self.assertEqual(hits, 1)
        self.assertEqual(out.splitlines(), [
            "insmod my_timer.ko failed: File exists", "Kernel log:", leakguard.REDACTED,
            "[   12.345679] my_timer: current time: 1700000000.123456789"])

    def test_case_punctuation_and_zero_width_characters_do_not_hide_it(self):
        for mangled in (SECRET_LINE.upper(), SECRET_LINE.replace("_", "\u200b_"),
                        SECRET_LINE.replace(", ", ";"), SECRET_LINE.replace("a", "\uff41")):
            out, hits = leakguard.redact(f"[ 1.0] x: {mangled}", self.LINES)
            self.assertEqual(hits, 1, mangled)

    def test_spacing_tabs_and_escapes_do_not_hide_it(self):
        mangled = SECRET_LINE.replace(" ", " \t  ").replace("(", "\x1b[1m(\x1b[0m")
        out, hits = leakguard.redact(f"a\n\t[ 1.0] x:    {mangled}   \r\nb", self.LINES)
        self.assertEqual((out, hits), (f"a\n{leakguard.REDACTED}\nb", 1))

    def test_public_text_is_kept(self):
        text = ("built my_timer.ko (0 compiler warning(s))\n"
                "def compare_with_wall_clock(printed_ns):\n"       # not the whole hidden line
                "secret: more than two lines after the second read\n")   # the message, not the code
        self.assertEqual(leakguard.redact(text, self.LINES), (text, 0))
        self.assertEqual(leakguard.redact(text, set()), (text, 0))
        self.assertEqual(leakguard.redact(None, self.LINES), ("", 0))

    def test_every_place_in_a_line_is_found(self):
        # The index probes the text every few characters: a hidden line must
        # be found whatever its offset.
        for pad in range(40):
            line = "p" * pad + SECRET_LINE + "s" * (pad % 7)
            self.assertEqual(leakguard.redact(line, self.LINES)[1], 1, pad)
            self.assertEqual(leakguard.redact(line.replace("after_ns", "after_xs"),
                                              self.LINES)[1], 0, pad)

    def test_short_lines_given_directly(self):
        self.assertEqual(leakguard.redact("xx abc yy\nabd", {"abc"}), (f"{leakguard.REDACTED}\nabd", 1))


class GuardTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.part = make_part(self.tmp.name)

    def tearDown(self):
        self.tmp.cleanup()

    def hidden(self, part=None):
        return {PART: leakguard.hidden_for_part(part or self.part)}

    def test_leak_in_a_public_output_or_a_note_is_redacted_and_flagged(self):
        r = result([("public", f"Kernel log:\n[   3.1] my_timer: {SECRET_BODY_LINE}\nok"),
                    ("hidden", "fine"),
                    ("public", "nothing to see")],
                   notes=[f"the compiler reported 1 warning(s):\n    my_timer.c:3: {SECRET_LINE}"])
        leakguard.guard([r], self.hidden())
        self.assertEqual(r.tests[0].output, f"Kernel log:\n{leakguard.REDACTED}\nok")
        self.assertEqual(r.tests[1].output, "fine")
        self.assertEqual(r.notes, [f"the compiler reported 1 warning(s):\n{leakguard.REDACTED}"])
        self.assertEqual(r.flags, ["hidden-test text in visible output: 2 line(s) redacted"])
        self.assertFalse(report.is_soft(r.flags[0]))

    def test_flags_quoting_hidden_text_are_redacted(self):
        r = result([("public", "ok")])
        r.flags = [f"review: my_timer.c:3: {SECRET_LINE}", "forbidden kernel function filp_open"]
        leakguard.guard([r], self.hidden())
        self.assertEqual(r.flags, ["review: " + leakguard.FLAG_REDACTED,
                                   "forbidden kernel function filp_open",
                                   "hidden-test text in visible output: 1 line(s) redacted"])

    def test_a_hidden_test_quoting_itself_is_a_soft_flag(self):
        r = result([("hidden", f"  File \"/job/tests/secret_helper.py\", line 6\n    {SECRET_LINE}\n")])
        leakguard.guard([r], self.hidden())
        self.assertNotIn(SECRET_LINE, r.tests[0].output)
        self.assertEqual(len(r.flags), 1)
        self.assertTrue(r.flags[0].startswith("review: hidden-test text in visible output: 1 line(s)"))

    def test_nothing_to_redact_no_flag(self):
        r = result([("public", "ok"), ("hidden", "current time: 1.000000001")], notes=["n"])
        leakguard.guard([r], self.hidden())
        self.assertEqual(([t.output for t in r.tests], r.notes, r.flags),
                         (["ok", "current time: 1.000000001"], ["n"], []))

    def assert_withheld(self, r):
        self.assertTrue(all(t.output == leakguard.WITHHELD for t in r.tests))
        self.assertEqual(r.notes, [leakguard.WITHHELD])
        self.assertEqual(len(r.flags), 1)
        self.assertTrue(r.flags[0].startswith("hidden-test text could not be checked ("))
        self.assertFalse(report.is_soft(r.flags[0]))

    def test_fails_closed_on_a_missing_hidden_file(self):
        os.remove(os.path.join(self.part.path, "tests", "secret_helper.py"))
        hidden = self.hidden()
        self.assertIsInstance(hidden[PART], leakguard.Unavailable)
        self.assertIn("secret_helper.py", hidden[PART].reason)
        r = result([("public", f"[1.0] x: {SECRET_LINE}"), ("hidden", "anything")], notes=["a note"])
        leakguard.guard([r], hidden)
        self.assert_withheld(r)
        self.assertIn("secret_helper.py", r.flags[0])

    def test_fails_closed_on_a_suite_it_cannot_read(self):
        with open(self.part.bats, "a", encoding="utf-8") as f:
            f.write('\n# grade: points=1 visibility=hidden\n@test "never closed" {\n\ttrue\n')
        r = result([("public", "ok")], notes=["a note"])
        leakguard.guard([r], self.hidden())
        self.assert_withheld(r)
        self.part.bats = os.path.join(self.part.path, "tests", "no-such.bats")
        r = result([("public", "ok")], notes=["a note"])
        leakguard.guard([r], self.hidden())
        self.assert_withheld(r)

    def test_fails_closed_without_an_entry(self):
        r = result([("public", "ok")], notes=["a note"])
        leakguard.guard([r], {})
        self.assert_withheld(r)

    def test_flags_survive_the_reports(self):
        r = result([("public", f"[1.0] x: {SECRET_LINE}")])
        r.flags.append("review: uses kernel functions outside the allowlist: a, b")
        leakguard.guard([r], self.hidden())
        data = json.loads(report.results_json([r], 1.0, ""))
        self.assertEqual(data["extra_data"]["flags"][PART], r.flags)
        self.assertNotIn(SECRET_LINE, json.dumps(data))
        self.assertTrue(data["output"].startswith("FLAGGED FOR REVIEW BY STAFF: "))


if __name__ == "__main__":
    unittest.main()
