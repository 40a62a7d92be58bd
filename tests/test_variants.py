"""Every broken variant of the self-test still applies to its reference
(a stale patch would otherwise only show up deep in `make selftest`), and
its header names tests that exist."""
import os
import sys
import tempfile
import unittest

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, os.path.join(ROOT, "selftest"))
sys.path.insert(0, os.path.join(ROOT, "grader"))
import check_grader  # noqa: E402
import rubric  # noqa: E402


class VariantsTest(unittest.TestCase):
    def test_patches_apply_and_name_real_tests(self):
        selftest = os.path.join(ROOT, "selftest")
        for part in sorted(os.listdir(selftest)):
            variants = os.path.join(selftest, part, "variants")
            if not os.path.isdir(variants):
                continue
            titles = {t.title for t in rubric.parse(os.path.join(ROOT, part, "tests", part + ".bats"))}
            for patch in sorted(os.listdir(variants)):
                with self.subTest(part=part, variant=patch), tempfile.TemporaryDirectory() as tmp:
                    check_grader.make_variant(part, os.path.join(variants, patch),
                                              os.path.join(tmp, part))
                    e = check_grader.read_expectations(os.path.join(variants, patch))
                    self.assertTrue(e.breaks, "no Breaks: line")
                    self.assertLessEqual(e.fails - {"*"}, titles)
                    self.assertLessEqual(e.may_fail, titles)
                    self.assertFalse(e.may_fail & e.fails, "a test both must and may fail")
                    self.assertLessEqual({t for t, _ in e.messages} - {"*"}, titles)
                    self.assertTrue(all(e.flags) and all(e.absent), "an empty Expect-flag/absent")
                    if e.only:
                        self.assertLessEqual(set(e.only), titles)
                        self.assertNotIn("*", e.fails, "Only: with Expect-fail: *")
                        self.assertLessEqual(e.fails | e.may_fail, set(e.only),
                                             "an expected failure is not among the Only: tests")
                        self.assertLessEqual({t for t, _ in e.messages} - {"*"}, set(e.only))


if __name__ == "__main__":
    unittest.main()
