"""grader/course.py, the one reader of course.conf: `course.py get KEY`
(the VM scripts' course_value) prints what course.conf says, with one pair
of quotes removed, and stops on a key course.conf does not set unless the
key is asked for as --optional; no reader has defaults of its own."""
import os
import subprocess
import sys
import tempfile
import unittest

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
COURSE = os.path.join(ROOT, "grader", "course.py")


def get(text, *args):
    with tempfile.NamedTemporaryFile("w", suffix=".conf", delete=False) as f:
        f.write(text)
    try:
        return subprocess.run([sys.executable, COURSE, "get", *args], capture_output=True,
                              text=True, env=dict(os.environ, KMOD_COURSE_CONF=f.name))
    finally:
        os.unlink(f.name)


class CourseGetTest(unittest.TestCase):
    def test_a_value_with_its_quotes_removed(self):
        proc = get('# a comment\nCOURSE_NAME="Operating Systems"\n', "COURSE_NAME")
        self.assertEqual((proc.returncode, proc.stdout), (0, "Operating Systems\n"))

    def test_a_missing_key_is_an_error_naming_it(self):
        proc = get("COURSE_KERNEL=6.1\n", "PART3_FLOORS")
        self.assertEqual(proc.returncode, 1)
        self.assertIn("sets no PART3_FLOORS", proc.stderr)

    def test_an_optional_key_may_be_missing(self):
        proc = get("COURSE_KERNEL=6.1\n", "--optional", "COURSE_IMAGE")
        self.assertEqual((proc.returncode, proc.stdout), (0, "\n"))
        self.assertEqual(get("COURSE_IMAGE=x.img\n", "--optional", "COURSE_IMAGE").stdout, "x.img\n")

    def test_every_key_the_checkers_read_is_in_the_course_conf(self):
        sys.path.insert(0, os.path.join(ROOT, "part3_chardev", "tests"))
        import elevator_check  # noqa: E402  (reads course.conf as it is imported)
        self.assertEqual(elevator_check.FLOORS, elevator_check.setting("PART3_FLOORS"))
        with self.assertRaises(elevator_check.CheckFailed):
            os.environ.pop("ELEVATOR_FAST", None)
            elevator_check.fast("floor_ms")


if __name__ == "__main__":
    unittest.main()
