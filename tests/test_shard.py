"""grader/shard.py: which submissions `--shard K/N` grades (a partition,
whatever the order they are given in), and the merge of shard folders
(written with the real writers: report.write_all, classbook.write_class,
shard.write_manifest; no VM) into the gradebook one run writes, byte for
byte; the merge's refusals."""
import contextlib
import io
import json
import os
import random
import shutil
import sys
import tempfile
import types
import unittest
from unittest import mock

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, os.path.join(ROOT, "grader"))
import classbook  # noqa: E402
import cli  # noqa: E402
import grade  # noqa: E402
import report  # noqa: E402
import shard  # noqa: E402
import submission  # noqa: E402
import vm  # noqa: E402

PARTS = [types.SimpleNamespace(name=name, path=os.path.join(ROOT, name))
         for name in ("part1_syscalls", "part2_timer")]
NAMES = ["alice", "Bob", "bob", "carol", "dave", "émile", "erin", "frank-2", "frank_10",
         "grace", "heidi", "ivan", "judy", "mallory", "x.tar"]


def fake_results(name):
    """Part results that vary with the name: passes, failures, crashes,
    timeouts, flags (hard and soft), a grader error; ties in how often a
    test failed, so the summary's order is exercised."""
    seed = sum(map(ord, name))
    parts = []
    for p, part in enumerate(PARTS, 1):
        tests = []
        for i in range(1, 5):
            kind = (seed + p * 3 + i * (seed % 3)) % 9
            status = ["passed", "failed", "passed", "passed", "crashed", "passed", "timeout",
                      "passed", "failed"][kind]
            tests.append(report.TestResult(part.name, f"{p}.{i}", f"test {i} of {part.name}",
                                           5 * i, "public" if i < 3 else "hidden",
                                           passed=status == "passed", status=status,
                                           output=f"{name}: {status}"))
        flags = []
        if seed % 4 == 0:
            flags.append("review: uses kernel functions outside the allowlist: a, b")
        if seed % 7 == p:
            flags.append("results tampered: two results for test 3")
        parts.append(report.PartResult(part.name, tests=tests, flags=flags,
                                       timings={"build": seed % 3}))
    return parts, ("part2_timer: internal error" if seed % 11 == 0 else "")


def write_submission(out_root, name, seconds):
    folder = os.path.join(out_root, name)
    os.makedirs(folder)
    parts, error = fake_results(name)
    report.write_all(folder, name, parts, seconds, error)


def opts(**changes):
    base = shard.options(PARTS, False, None, "6.1.0-57-amd64")
    base.update(changes)
    return base


def read(path):
    with open(path, "rb") as f:
        return f.read()


class ParseTest(unittest.TestCase):
    def test_good(self):
        self.assertEqual(shard.parse("1/1"), (1, 1))
        self.assertEqual(shard.parse("3/4"), (3, 4))
        self.assertEqual(shard.parse("12/12"), (12, 12))

    def test_bad(self):
        for text in ("0/1", "2/1", "1/0", "0/0", "a/b", "1", "", "1/2/3", "-1/2", "1/-2",
                     "1.0/2", None):
            with self.assertRaises(shard.ShardError, msg=text):
                shard.parse(text)

    def test_cli_error_is_one_line_and_exit_2(self):
        for text in ("3/2", "0/4", "x"):
            err = io.StringIO()
            with contextlib.redirect_stderr(err), self.assertRaises(SystemExit) as caught:
                cli.parse_args(["--shard", text, "some-submission"])
            self.assertEqual(caught.exception.code, 2)
            lines = err.getvalue().splitlines()
            self.assertEqual(len(lines), 1, lines)
            self.assertIn("--shard takes K/N with 1 <= K <= N", lines[0])

    def test_cli_good(self):
        self.assertEqual(cli.parse_args(["--shard", "2/3", "s"]).shard, (2, 3))
        self.assertIsNone(cli.parse_args(["s"]).shard)


class SelectTest(unittest.TestCase):
    def test_partition_for_every_n_and_any_order(self):
        rng = random.Random(7)
        lists = [[], ["only"], NAMES, [f"student{i:03d}" for i in range(101)]]
        for names in lists:
            for n in range(1, 9):
                shards = [shard.select(names, k, n) for k in range(1, n + 1)]
                flat = [name for s in shards for name in s]
                self.assertEqual(sorted(flat), sorted(names), (len(names), n))
                self.assertEqual(len(flat), len(set(flat)))
                sizes = [len(s) for s in shards]
                self.assertLessEqual(max(sizes) - min(sizes), 1, sizes)
                for _ in range(5):
                    shuffled = names[:]
                    rng.shuffle(shuffled)
                    self.assertEqual([shard.select(shuffled, k, n) for k in range(1, n + 1)],
                                     shards)

    def test_the_rule(self):
        # Code point order (no locale): uppercase before lowercase, é last.
        self.assertEqual(shard.select(["b", "a", "C", "é", "d"], 1, 2), ["C", "b", "é"])
        self.assertEqual(shard.select(["b", "a", "C", "é", "d"], 2, 2), ["a", "d"])

    def test_names_not_paths_decide(self):
        here = ["/srv/hw/alice.tar.gz", "/srv/hw/bob", "/srv/hw/carol.tgz"]
        there = ["carol.tgz", "/home/ta/copy/bob/", "../alice.tar.gz"]
        for k in (1, 2):
            self.assertEqual(shard.select([submission.name_of(p) for p in here], k, 2),
                             shard.select([submission.name_of(p) for p in there], k, 2))

    def test_same_name_twice(self):
        with self.assertRaises(shard.ShardError):
            shard.select(["a", "a"], 1, 1)


class MergeTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="test-shard-")
        self.root = self.tmp.name
        self.whole = os.path.join(self.root, "whole")
        os.makedirs(self.whole)
        for name in NAMES:
            write_submission(self.whole, name, 100)
        classbook.write_class(self.whole, PARTS)

    def tearDown(self):
        self.tmp.cleanup()

    def make_shards(self, n, names=NAMES, options=None, tag=""):
        """The folders of `--shard K/N` for every K, as cli.main leaves them;
        the submissions given in another order, with other elapsed times."""
        folders = []
        given = list(reversed(names))
        for k in range(1, n + 1):
            folder = os.path.join(self.root, f"shard{tag}-{k}-of-{n}")
            os.makedirs(folder)
            for name in shard.select(given, k, n):
                write_submission(folder, name, 7 * k)
            classbook.write_class(folder, PARTS)
            shard.write_manifest(folder, k, n, given, options or opts())
            folders.append(folder)
        return folders

    def merge(self, out, folders):
        err = io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            code = shard.main([out] + folders)
        return code, err.getvalue()

    def assert_refused(self, folders, *texts):
        out = os.path.join(self.root, "merged-refused")
        code, err = self.merge(out, folders)
        self.assertEqual(code, 2, err)
        for text in texts:
            self.assertIn(text, err)
        self.assertTrue(all(line.startswith("merge: ") for line in err.splitlines()), err)
        self.assertFalse(os.path.exists(out), "a refused merge leaves no folder")
        return err

    def test_merge_is_the_unsharded_gradebook(self):
        for n in (1, 2, 3, 4, 15, 20):
            with self.subTest(n=n):
                folders = self.make_shards(n)
                out = os.path.join(self.root, f"merged-{n}")
                random.Random(n).shuffle(folders)
                code, err = self.merge(out, folders)
                self.assertEqual(code, 0, err)
                for name in ("grades.csv", "summary.txt"):
                    self.assertEqual(read(os.path.join(out, name)),
                                     read(os.path.join(self.whole, name)), (n, name))
                for name in NAMES:
                    # The shard's own files, copied (its elapsed times, not the whole run's).
                    self.assertEqual(read(os.path.join(out, name, "results.json")),
                                     read(os.path.join(next(f for f in folders if os.path.isdir(
                                         os.path.join(f, name))), name, "results.json")))
                self.assertFalse(os.path.exists(os.path.join(out, shard.MANIFEST)))

    def test_a_shard_alone_is_not_the_gradebook(self):
        # The comparison the merge test makes can fail: one shard's own
        # gradebook is a different file.
        folders = self.make_shards(2)
        self.assertNotEqual(read(os.path.join(folders[0], "grades.csv")),
                            read(os.path.join(self.whole, "grades.csv")))

    def test_merged_folder_is_a_normal_output_folder(self):
        folders = self.make_shards(3)
        out = os.path.join(self.root, "merged")
        self.assertEqual(self.merge(out, folders)[0], 0)
        self.assertEqual(list(classbook.load_class(out)), sorted(NAMES))
        # A later regrade of one submission there rewrites it the same way.
        before = read(os.path.join(out, "grades.csv"))
        classbook.write_class(out, PARTS)
        self.assertEqual(read(os.path.join(out, "grades.csv")), before)

    def test_missing_shard(self):
        folders = self.make_shards(3)
        err = self.assert_refused([folders[0], folders[2]], "shard(s) 2/3 missing",
                                  f"{len(shard.select(NAMES, 2, 3))} of {len(NAMES)}")
        self.assertIn(shard.select(NAMES, 2, 3)[0], err)

    def test_missing_empty_shard(self):
        folders = self.make_shards(4, names=["a", "b", "c"])
        self.assertEqual(shard.select(["a", "b", "c"], 4, 4), [])
        self.assert_refused(folders[:3], "shard(s) 4/4 missing", "0 of 3")
        self.assertEqual(self.merge(os.path.join(self.root, "m"), folders)[0], 0)

    def test_duplicated_shard(self):
        folders = self.make_shards(2)
        self.assert_refused([folders[0], folders[1], folders[0]], "shard 1/2 is given 2 times",
                            "would be in two shards")
        copy = os.path.join(self.root, "copy-of-shard-1")
        shutil.copytree(folders[0], copy)
        self.assert_refused(folders + [copy], "shard 1/2 is given 2 times",
                            shard.select(NAMES, 1, 2)[0])

    def test_different_options(self):
        first = self.make_shards(2)
        for key, value, word in (("parts", ["part1_syscalls"], "different the parts"),
                                 ("public", True, "different --public"),
                                 ("only_tests", "abc", "different the --only-tests file"),
                                 ("kernel", "6.1.0-99-amd64", "kernel release"),
                                 ("grader", "0" * 64, "the grader's files")):
            with self.subTest(key=key):
                other = self.make_shards(2, options=opts(**{key: value}), tag=key)
                self.assert_refused([first[0], other[1]], word)

    def test_options_are_stable_and_see_public(self):
        self.assertEqual(opts(), opts())
        self.assertNotEqual(shard.options(PARTS, True, None, "k"),
                            shard.options(PARTS, False, None, "k"))
        self.assertNotEqual(shard.options(PARTS, False, {"a": {"t"}}, "k"),
                            shard.options(PARTS, False, None, "k"))
        self.assertNotEqual(shard.options(PARTS[:1], False, None, "k")["suites"],
                            shard.options(PARTS, False, None, "k")["suites"])

    def test_different_lists_or_n(self):
        first = self.make_shards(2)
        fewer = self.make_shards(2, names=NAMES[:-1], tag="fewer")
        self.assert_refused([first[0], fewer[1]], "were given different submissions",
                            f"only in {first[0]}: {NAMES[-1]}")
        three = self.make_shards(3, tag="three")
        self.assert_refused([first[0], three[1], three[2]], "the same N")

    def test_not_a_shard_folder(self):
        folders = self.make_shards(2)
        os.unlink(os.path.join(folders[1], shard.MANIFEST))
        self.assert_refused(folders, f"{folders[1]}: no shard.json")
        self.assert_refused([folders[0], os.path.join(self.root, "nowhere")], "no such folder")

    def test_missing_results(self):
        folders = self.make_shards(2)
        name = shard.select(NAMES, 2, 2)[0]
        os.unlink(os.path.join(folders[1], name, "results.json"))
        self.assert_refused(folders, f"no readable results for {name}")

    def test_out_must_be_new_or_empty(self):
        folders = self.make_shards(2)
        err = io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            self.assertEqual(shard.main([self.whole] + folders), 2)
        self.assertIn("not an empty folder", err.getvalue())
        for inside in (folders[0], os.path.join(folders[0], "in")):
            err = io.StringIO()
            with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
                self.assertEqual(shard.main([inside] + folders), 2)
            self.assertIn("must not hold one another", err.getvalue())
        empty = os.path.join(self.root, "empty")
        os.makedirs(empty)
        self.assertEqual(self.merge(empty, folders)[0], 0)

    def test_earlier_results_come_along_and_strays_stay(self):
        folders = self.make_shards(2)
        name = shard.select(NAMES, 1, 2)[0]
        earlier = f"{name}.previous-20240101-120000"
        write_submission(folders[0], earlier, 5)
        write_submission(folders[0], "stray", 5)   # from an earlier run into this folder
        out = os.path.join(self.root, "merged")
        code, err = self.merge(out, folders)
        self.assertEqual(code, 0, err)
        self.assertTrue(os.path.isdir(os.path.join(out, earlier)))
        self.assertFalse(os.path.exists(os.path.join(out, "stray")))
        self.assertIn("left out 1 folder(s)", err)
        self.assertEqual(read(os.path.join(out, "grades.csv")),
                         read(os.path.join(self.whole, "grades.csv")))

    def test_stale_manifest_is_cleared(self):
        folders = self.make_shards(2)
        shard.clear_manifest(folders[0])
        shard.clear_manifest(folders[0])
        self.assertFalse(os.path.exists(os.path.join(folders[0], shard.MANIFEST)))


class MainTest(unittest.TestCase):
    """cli.main with --shard, the VM replaced by fake results (same as
    MergeTest's): the CLI path writes shard.json last, and its shards merge
    into the gradebook of cli.main without --shard."""

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="test-shard-main-")
        self.root = self.tmp.name
        patches = [mock.patch.object(vm, "read_assets", return_value={"KVER": "6.1-test"}),
                   mock.patch.object(grade, "grade_submission", side_effect=self.fake_grade)]
        for p in patches:
            p.start()
            self.addCleanup(p.stop)
        self.graded = []

    def tearDown(self):
        self.tmp.cleanup()

    def fake_grade(self, path, name, out_root, parts, assets, per_part=False, paths_from=None):
        self.graded.append(name)
        out_dir, _ = grade.reserve_out_dir(out_root, name)
        results, error = fake_results(name)
        report.write_all(out_dir, name, results, len(self.graded), error)
        return name, results, error

    def main(self, *args):
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            return cli.main(["--parts", "1,2", "--jobs", "2"] + list(args))

    def test_shards_from_the_cli_merge_into_one_run(self):
        paths = [f"/srv/hw/{name}.tar.gz" for name in NAMES]
        whole = os.path.join(self.root, "whole")
        # (exit 1: a fake grader error, as cli.main reports one)
        self.assertEqual(self.main("--out", whole, "--skeleton", *paths), 1)
        self.assertFalse(os.path.exists(os.path.join(whole, shard.MANIFEST)))
        folders = []
        for k in (1, 2, 3):
            folder = os.path.join(self.root, f"shard-{k}")
            given = [f"/elsewhere/{k}/{name}.tgz" for name in reversed(NAMES)]
            self.graded = []
            share = shard.select(NAMES + ["skeleton"], k, 3)
            self.assertEqual(self.main("--shard", f"{k}/3", "--out", folder, *given,
                                       "--skeleton"), int(any(fake_results(n)[1] for n in share)))
            self.assertEqual(sorted(self.graded), share)
            folders.append(folder)
        merged = os.path.join(self.root, "merged")
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            self.assertEqual(shard.main([merged] + folders), 0)
        for name in ("grades.csv", "summary.txt"):
            self.assertEqual(read(os.path.join(merged, name)), read(os.path.join(whole, name)))
        # Another --parts is another grading: refused.
        other = os.path.join(self.root, "part1-only")
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            cli.main(["--parts", "1", "--shard", "3/3", "--out", other, "--skeleton", *paths])
            self.assertEqual(shard.main([os.path.join(self.root, "m2"), folders[0], folders[1],
                                         other]), 2)

    def test_empty_shard_still_records(self):
        folder = os.path.join(self.root, "empty")
        self.assertEqual(self.main("--shard", "4/4", "--out", folder, "/a/x", "/a/y"), 0)
        self.assertEqual(self.graded, [])
        with open(os.path.join(folder, shard.MANIFEST), encoding="utf-8") as f:
            data = json.load(f)
        self.assertEqual((data["shard"], data["of"], data["total"], data["submissions"]),
                         (4, 4, 2, []))
        self.assertEqual(read(os.path.join(folder, "grades.csv")).count(b"\n"), 1)

    def test_interrupted_shard_leaves_no_record(self):
        folder = os.path.join(self.root, "shard")
        self.assertEqual(self.main("--shard", "1/2", "--out", folder, "/a/x", "/a/y"), 0)
        self.assertTrue(os.path.isfile(os.path.join(folder, shard.MANIFEST)))
        with mock.patch.object(grade, "grade_submission", side_effect=KeyboardInterrupt):
            self.assertEqual(self.main("--shard", "1/2", "--out", folder, "/a/x", "/a/y"), 130)
        self.assertFalse(os.path.exists(os.path.join(folder, shard.MANIFEST)))


if __name__ == "__main__":
    unittest.main()
