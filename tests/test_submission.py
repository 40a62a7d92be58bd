"""Unit tests of grader/submission.py: unpacking untrusted submissions, the
one rule of a submission's layout, and what a build product is."""
import fnmatch
import io
import os
import sys
import tarfile
import tempfile
import unittest
from unittest import mock

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
        os.makedirs(os.path.join(src, "sub"))
        for name in ("my_timer.c", "Makefile", "my_timer.ko", "my_timer.o", "my_timer.mod.c",
                     "libx.a", "empty", ".part1-extra-syscalls", "sub/other.c"):
            with open(os.path.join(src, name), "w") as f:
                f.write("text\n")
        with open(os.path.join(src, "a.out.trace"), "wb") as f:
            f.write(b"\x7fELF\x02\x01")
        with open(os.path.join(src, "data.bin"), "wb") as f:
            f.write(b"abc\0def")
        os.symlink("my_timer.c", os.path.join(src, "link.c"))
        submission.copy_part_sources(src, os.path.join(self.dir, "b"), ["empty"])
        self.assertEqual(sorted(os.listdir(os.path.join(self.dir, "b"))),
                         [".part1-extra-syscalls", "Makefile", "my_timer.c"])

    def test_build_products(self):
        def product(name, data=b"int x;\n", outputs=()):
            path = os.path.join(self.dir, name)
            with open(path, "wb") as f:
                f.write(data)
            return submission.is_build_product(path, outputs)
        self.assertFalse(product("my_timer.c"))
        self.assertFalse(product("Makefile"))
        for suffix in submission.PRODUCT_SUFFIXES + (".mod.o",):
            self.assertTrue(product("x" + suffix), suffix)
        self.assertTrue(product("part1", outputs=["empty", "part1"]))
        self.assertTrue(product("prog", b"\x7fELF\x02\x01\x01"))
        self.assertTrue(product("notes.txt", b"a" * 4000 + b"\0"))
        self.assertFalse(product("notes.txt", b"a" * 4096 + b"\0"))

    def test_the_kit_gitignore_lists_every_build_product(self):
        """kit/gitignore (the students' .gitignore) ignores what
        is_build_product leaves out, by the same suffixes."""
        with open(os.path.join(os.path.dirname(__file__), "..", "kit", "gitignore")) as f:
            patterns = [line.strip() for line in f
                        if line.strip() and not line.startswith(("#", "/"))]
        for suffix in submission.PRODUCT_SUFFIXES:
            self.assertTrue(any(fnmatch.fnmatchcase("x" + suffix, p) for p in patterns),
                            f"kit/gitignore has no pattern for *{suffix}")


class LayoutTest(unittest.TestCase):
    """submission.unpack's one rule of a submission's layout (what a student
    uploads to Gradescope arrives there whole: tests/test_run_autograder.py)."""

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.upload = os.path.join(self.tmp.name, "upload")
        self.dest = os.path.join(self.tmp.name, "out")
        os.makedirs(self.upload)

    def tearDown(self):
        self.tmp.cleanup()

    def put(self, *paths):
        for rel in paths:
            path = os.path.join(self.upload, rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w") as f:
                f.write(rel + "\n")

    def unpack(self, parts=("part1_syscalls", "part2_timer")):
        """(the root, relative to dest; the files below it)"""
        root = submission.unpack(self.upload, self.dest, list(parts))
        files = sorted(os.path.relpath(os.path.join(d, f), root)
                       for d, _, names in os.walk(root) for f in names)
        return os.path.relpath(root, self.dest), files

    def test_one_archive_in_a_folder_is_unpacked(self):
        make_tar(os.path.join(self.upload, "submission.tar.gz"),
                 [("part2_timer/my_timer.c", b"int x;\n"), ("MANIFEST", b"m\n")])
        self.put(".git/config")
        self.assertEqual(self.unpack(), (".", ["MANIFEST", "part2_timer/my_timer.c"]))

    def test_an_archive_beside_part_folders_is_just_a_file(self):
        make_tar(os.path.join(self.upload, "old.tar"), [("x", b"x")])
        self.put("part2_timer/my_timer.c")
        self.assertEqual(self.unpack(), (".", ["old.tar", "part2_timer/my_timer.c"]))

    def test_part_folders_are_copied(self):
        self.put("part2_timer/my_timer.c", "part2_timer/Makefile", "README.md")
        self.assertEqual(self.unpack(), (".", ["README.md", "part2_timer/Makefile",
                                               "part2_timer/my_timer.c"]))

    def test_a_single_top_folder_is_looked_into(self):
        self.put("project/part2_timer/my_timer.c")
        self.assertEqual(self.unpack(), ("project", ["part2_timer/my_timer.c"]))

    def test_loose_files_become_the_one_graded_part(self):
        self.put("my_timer.c", "Makefile", ".part-stamp")
        self.assertEqual(self.unpack(["part2_timer"]),
                         (".", ["part2_timer/.part-stamp", "part2_timer/Makefile",
                                "part2_timer/my_timer.c"]))

    def test_loose_files_in_a_top_folder_become_the_one_graded_part(self):
        self.put("project/my_timer.c", "project/Makefile")
        self.assertEqual(self.unpack(["part2_timer"]),
                         ("project", ["part2_timer/Makefile", "part2_timer/my_timer.c"]))

    def test_loose_files_stay_loose_when_two_parts_are_graded(self):
        self.put("my_timer.c", "Makefile")
        root, files = self.unpack()
        self.assertEqual(files, ["Makefile", "my_timer.c"])
        self.assertFalse(os.path.isdir(os.path.join(self.dest, root, "part2_timer")))

    def test_another_part_s_folder_is_not_taken_for_loose_files(self):
        self.put("part1_syscalls/part1.c", "notes.txt")
        self.assertEqual(self.unpack(["part2_timer"]),
                         (".", ["notes.txt", "part1_syscalls/part1.c"]))

    def test_a_git_folder_is_left_out_and_not_counted(self):
        self.put(*[f".git/objects/{n:02x}" for n in range(10)], "part2_timer/my_timer.c",
                 "part2_timer/.hidden", "sub/.github/workflow.yml")
        with mock.patch.object(submission, "MAX_FILES", 3):
            self.assertEqual(self.unpack(), (".", ["part2_timer/.hidden",
                                                   "part2_timer/my_timer.c"]))
            self.put(*[f"part2_timer/f{n}.c" for n in range(3)])
            with self.assertRaisesRegex(submission.SubmissionError, "larger than"):
                submission.unpack(self.upload, self.dest + "2", ["part2_timer"])

    def test_links_are_refused(self):
        self.put("part2_timer/my_timer.c")
        os.symlink("/etc/shadow", os.path.join(self.upload, "part2_timer", "x"))
        with self.assertRaisesRegex(submission.SubmissionError, "link"):
            self.unpack()

    def test_an_empty_upload_gives_an_empty_submission(self):
        self.assertEqual(self.unpack(), (".", []))
        self.assertEqual(os.listdir(self.dest), [])


if __name__ == "__main__":
    unittest.main()
