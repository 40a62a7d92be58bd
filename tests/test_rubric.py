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
