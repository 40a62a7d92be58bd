"""The student starter kit (scripts/release.py) holds what students need and
nothing they must not see: no reference solutions, no hidden tests, no
self-test variants."""
import os
import re
import sys
import tarfile
import tempfile
import unittest

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, os.path.join(ROOT, "scripts"))
sys.path.insert(0, os.path.join(ROOT, "grader"))
import release  # noqa: E402
import rubric  # noqa: E402


def graded_parts():
    return [e for e in sorted(os.listdir(ROOT))
            if os.path.isfile(os.path.join(ROOT, e, "tests", "part.json"))]


class ReleaseTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        path = release.build(os.path.join(cls.tmp.name, "starter.tar.gz"))
        with tarfile.open(path) as tar:
            cls.names = tar.getnames()
            cls.texts = {m.name: tar.extractfile(m).read().decode("utf-8", "replace")
                         for m in tar.getmembers() if m.isfile()}

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_no_solutions_selftests_or_instructor_files(self):
        for name in self.names:
            self.assertNotRegex(name, r"/solution/|/selftest/|^starter/(tests|bench|docs|\.ci)/", name)

    def test_no_hidden_test_in_any_suite(self):
        for part in graded_parts():
            suite = os.path.join(ROOT, part, "tests", part + ".bats")
            shipped = self.texts[f"starter/{part}/tests/{part}.bats"]
            for spec in rubric.parse(suite):
                runnable = re.search(rf'^@test "{re.escape(spec.title)}"', shipped, re.M)
                self.assertEqual(bool(runnable), spec.visibility == "public", spec.title)

    def test_shipped_suites_number_and_score_like_the_full_ones(self):
        for part in graded_parts():
            path = os.path.join(self.tmp.name, part + ".bats")
            with open(path, "w") as f:
                f.write(self.texts[f"starter/{part}/tests/{part}.bats"])
            full = rubric.parse(os.path.join(ROOT, part, "tests", part + ".bats"))
            shipped = rubric.parse(path)
            self.assertEqual([(t.title, t.points, t.visibility, t.index) for t in shipped],
                             [(t.title, t.points, t.visibility, t.index) for t in full])

    def test_hidden_checks_are_not_shipped(self):
        for part in graded_parts():
            shipped = self.texts[f"starter/{part}/tests/{part}.bats"]
            self.assertNotIn("$CHECK elapsed", shipped)

    def test_what_students_need_is_there(self):
        for needed in ["starter/Makefile", "starter/README.md", "starter/course.conf",
                       "starter/kit.sha256", "starter/grader/check.sh", "starter/grader/shell.sh",
                       "starter/scripts/submit.py", "starter/vm/prepare.sh",
                       "starter/part2_timer/my_timer.c", "starter/part1_syscalls/part1.c"]:
            self.assertIn(needed, self.names)

    def test_skeleton_not_reference(self):
        skeleton = self.texts["starter/part2_timer/my_timer.c"]
        self.assertIn("TODO", skeleton)
        self.assertNotRegex(skeleton, re.compile(r"simple_read_from_buffer\(ubuf"))


if __name__ == "__main__":
    unittest.main()
