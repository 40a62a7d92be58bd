"""Unit tests of grader/rubric.py: the bats metadata parser."""
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "grader"))
import rubric  # noqa: E402


def parse_text(text):
    with tempfile.NamedTemporaryFile("w", suffix=".bats", delete=False) as f:
        f.write(text)
    try:
        return rubric.parse(f.name)
    finally:
        os.unlink(f.name)


class ScaleToCourseTest(unittest.TestCase):
    """course.conf's PARTn_POINTS: the part is worth exactly that many."""

    def scaled(self, points, total):
        with tempfile.TemporaryDirectory() as tmp:
            conf = os.path.join(tmp, "course.conf")
            with open(conf, "w") as f:
                f.write(f"PART7_POINTS={total}\n")
            bats = os.path.join(tmp, "part7_x.bats")
            with open(bats, "w") as f:
                for i, p in enumerate(points):
                    f.write(f'# grade: points={p} visibility=public\n@test "t{i}" {{\n}}\n')
            old = os.environ.get("KMOD_COURSE_CONF")
            os.environ["KMOD_COURSE_CONF"] = conf
            try:
                return [t.points for t in rubric.parse(bats)]
            finally:
                if old is None:
                    del os.environ["KMOD_COURSE_CONF"]
                else:
                    os.environ["KMOD_COURSE_CONF"] = old

    def test_whole_points_stay_whole(self):
        self.assertEqual(self.scaled([10, 5, 5], 40), [20, 10, 10])
        self.assertIsInstance(self.scaled([10, 5, 5], 40)[0], int)

    def test_hundredths_add_up_to_the_total_exactly(self):
        # 105 raw points in a 100-point part: each rounded alone gives 99.96.
        got = self.scaled([10] * 8 + [5] * 5, 100)
        self.assertEqual(round(sum(got), 2), 100)
        self.assertEqual(sum(round(p * 100) for p in got), 10000)
        self.assertTrue(all(abs(p - r * 100 / 105) < 0.01 for p, r in zip(got, [10] * 8 + [5] * 5)))
        # Thirds: the earlier tests get the extra hundredth.
        self.assertEqual(self.scaled([1, 1, 1], 10), [3.34, 3.33, 3.33])


class RubricTest(unittest.TestCase):
    def test_reads_points_visibility_and_options(self):
        tests = parse_text('# grade: points=5 visibility=hidden timeout=90 after-crash=fail\n'
                           '@test "a title" {\n  true\n}\n'
                           '# grade: points=10 visibility=public\n@test "another" {\n}\n')
        self.assertEqual([(t.title, t.points, t.visibility, t.timeout, t.fails_after_crash)
                          for t in tests],
                         [("a title", 5, "hidden", 90, True),
                          ("another", 10, "public", rubric.DEFAULT_TIMEOUT, False)])

    def test_a_mandated_wait_is_read_and_must_fit_the_timeout(self):
        tests = parse_text('# grade: points=5 visibility=hidden timeout=90 wait=6.5\n'
                           '@test "a title" {\n}\n'
                           '# grade: points=5 visibility=public\n@test "another" {\n}\n')
        self.assertEqual([(t.wait, t.line) for t in tests], [(6.5, 2), (0.0, 5)])
        for wait in ("-1", "90", "soon"):
            with self.assertRaises(rubric.RubricError, msg=wait):
                parse_text(f'# grade: points=5 visibility=public timeout=90 wait={wait}\n'
                           '@test "x" {\n}\n')

    def test_a_test_without_grade_line_is_an_error(self):
        with self.assertRaisesRegex(rubric.RubricError, "no '# grade:' line"):
            parse_text('@test "x" {\n}\n')

    def test_grade_line_must_be_right_above(self):
        with self.assertRaises(rubric.RubricError):
            parse_text('# grade: points=1 visibility=public\n\n@test "x" {\n}\n')

    def test_bad_values_are_errors(self):
        for line in ("points=x visibility=public", "points=1 visibility=secret",
                     "points=1", "points=1 visibility=public colour=red"):
            with self.subTest(line=line), self.assertRaises(rubric.RubricError):
                parse_text(f'# grade: {line}\n@test "x" {{\n}}\n')

    def test_duplicate_titles_are_errors(self):
        text = '# grade: points=1 visibility=public\n@test "x" {\n}\n' * 2
        with self.assertRaisesRegex(rubric.RubricError, "duplicate"):
            parse_text(text)

    def test_filter_matches_exactly_the_titles(self):
        import re
        titles = ["reads (dd bs=1) give the whole text", "a.b", "plain"]
        pattern = re.compile(rubric.bats_filter(titles[:2]))
        self.assertTrue(all(pattern.search(t) for t in titles[:2]))
        self.assertFalse(pattern.search("plain"))
        self.assertFalse(pattern.search("aXb"))

    def test_the_real_suites_parse(self):
        root = os.path.join(os.path.dirname(__file__), "..")
        for entry in os.listdir(root):
            bats = os.path.join(root, entry, "tests", entry + ".bats")
            if os.path.isfile(bats):
                with self.subTest(suite=entry):
                    tests = rubric.parse(bats)
                    self.assertGreater(sum(t.points for t in tests), 0)


if __name__ == "__main__":
    unittest.main()
