"""Unit tests of grader/submission.py: unpacking untrusted submissions."""
import io
import os
import sys
import tarfile
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "grader"))
import submission  # noqa: E402


def make_tar(path, members):
    """members: (name, bytes or None for a dir, or ('symlink', target))."""
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            if data is None:
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            elif isinstance(data, tuple):
                info.type = tarfile.SYMTYPE
                info.linkname = data[1]
                tar.addfile(info)
            else:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))


class SubmissionTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = self.tmp.name

    def tearDown(self):
        self.tmp.cleanup()

    def unpack(self, members):
        path = os.path.join(self.dir, "sub.tar.gz")
        make_tar(path, members)
        return submission.unpack(path, os.path.join(self.dir, "out"), ["part2_timer"])

    def test_single_top_folder_is_looked_into(self):
        root = self.unpack([("alice/part2_timer/my_timer.c", b"int x;\n")])
        self.assertTrue(os.path.isfile(os.path.join(root, "part2_timer", "my_timer.c")))

    def test_parent_paths_are_refused(self):
        with self.assertRaisesRegex(submission.SubmissionError, "outside"):
            self.unpack([("../evil.c", b"x")])

    def test_absolute_paths_are_refused(self):
        with self.assertRaisesRegex(submission.SubmissionError, "outside"):
            self.unpack([("/etc/evil", b"x")])

    def test_symlinks_are_refused(self):
        with self.assertRaisesRegex(submission.SubmissionError, "link"):
            self.unpack([("part2_timer/x", ("symlink", "/etc/shadow"))])

    def test_not_a_tar(self):
        path = os.path.join(self.dir, "junk.tar.gz")
        with open(path, "wb") as f:
            f.write(b"this is not an archive")
        with self.assertRaisesRegex(submission.SubmissionError, "not a readable tar"):
            submission.unpack(path, os.path.join(self.dir, "out"), [])

    def test_names(self):
        self.assertEqual(submission.name_of("/x/alice.tar.gz"), "alice")
        self.assertEqual(submission.name_of("/x/bob/"), "bob")

    def test_part_sources_skip_build_products(self):
        src = os.path.join(self.dir, "p")
        os.makedirs(src)
        for name in ("my_timer.c", "Makefile", "my_timer.ko", "my_timer.o"):
            open(os.path.join(src, name), "w").close()
        submission.copy_part_sources(src, os.path.join(self.dir, "b"))
        self.assertEqual(sorted(os.listdir(os.path.join(self.dir, "b"))), ["Makefile", "my_timer.c"])


if __name__ == "__main__":
    unittest.main()
