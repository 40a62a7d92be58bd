#!/usr/bin/env python3
"""Grading a class in shards gives the gradebook of one run: four part-1
submissions (the reference, the skeleton and two broken variants) are graded
in VMs once as a whole, then as shards 1/2 and 2/2 (given in another order,
from other paths), and grader/merge of the two shard folders must write
grades.csv and summary.txt byte for byte as the whole run did. Then the
merge must refuse a missing shard and a shard given twice, and one shard's
own gradebook must differ from the whole one (so the byte comparison can
fail).

The whole run uses two VMs at a time (--jobs 2); then the two shards run
side by side, one VM each, as two machines would: 8 part-1 gradings in
about the time of 4 (5 to 6 minutes when each ran alone with one VM).

usage: check_shards.py [--out DIR] [--jobs N]
"""
import argparse
import difflib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import check_grader  # noqa: E402  (make_variant: the reference with a variant's patch)

ROOT = os.path.dirname(HERE)
RUN = os.path.join(ROOT, "grader", "run.sh")
MERGE = os.path.join(ROOT, "grader", "merge")
PART = "part1_syscalls"
VARIANTS = ("empty_fails", "exits_255")   # quick, and each loses one test
GRADEBOOK = ("grades.csv", "summary.txt")


def read(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        return None


def variants(dest):
    """The variants as submissions in dest (folders laid out like the kit)."""
    subs = []
    for name in VARIANTS:
        patch = os.path.join(HERE, PART, "variants", name + ".patch")
        check_grader.make_variant(PART, patch, os.path.join(dest, name, PART))
        subs.append(os.path.join(dest, name))
    return subs


def grade(out, jobs, args):
    """Start grader/run.sh; returns the process."""
    cmd = ["bash", RUN, "--parts", "1", "--jobs", str(jobs), "--out", out] + args
    print("check_shards: grader/run.sh " + " ".join(cmd[2:]), file=sys.stderr, flush=True)
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL)


def merge(out, folders):
    proc = subprocess.run([MERGE, out] + folders, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True)
    return proc.returncode, proc.stderr


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=os.path.join(ROOT, "selftest", "out", "shards"))
    ap.add_argument("--jobs", type=int, default=2, help="VMs at a time of the whole run (each shard has one)")
    args = ap.parse_args(argv)
    started = time.monotonic()
    if os.path.exists(args.out):
        shutil.rmtree(args.out)
    os.makedirs(args.out)
    whole, merged = os.path.join(args.out, "whole"), os.path.join(args.out, "merged")
    shards = [os.path.join(args.out, f"shard-{k}") for k in (1, 2)]
    results = []

    def verdict(ok, what, detail=""):
        results.append(ok)
        print(f"{'ok' if ok else 'WRONG':<6} {what}" + (f"\n{detail}" if detail and not ok else ""))

    with tempfile.TemporaryDirectory(prefix="kmod-shards-") as tmp:
        here = variants(os.path.join(tmp, "here"))
        there = variants(os.path.join(tmp, "elsewhere", "copy"))
        codes = [grade(whole, args.jobs, ["--reference", "--skeleton"] + here).wait()]
        side_by_side = [grade(shards[0], 1, ["--shard", "1/2", "--reference", "--skeleton"] + here),
                        grade(shards[1], 1, ["--shard", "2/2", "--skeleton", "--reference"]
                              + there[::-1])]
        codes += [proc.wait() for proc in side_by_side]
    graded_at = time.monotonic()
    print()
    verdict(codes == [0, 0, 0], "the three grading runs exit 0", f"  exit statuses {codes}")
    names = sorted(["reference", "skeleton", *VARIANTS])
    rows = (read(os.path.join(whole, "grades.csv")) or b"").decode().splitlines()[1:]
    verdict(sorted(r.split(",")[0] for r in rows) == names,
            f"the whole run's gradebook has the {len(names)} submissions", "  rows: " + repr(rows))
    try:
        with open(os.path.join(whole, "reference", "results.json"), encoding="utf-8") as f:
            data = json.load(f)
        full = data["score"] == sum(t["max_score"] for t in data["tests"]) > 0
    except (OSError, ValueError, KeyError):
        full = False
    verdict(full, "the reference has full marks (the VMs really graded)")
    shares = []
    for folder in shards:
        try:
            with open(os.path.join(folder, "shard.json"), encoding="utf-8") as f:
                shares.append(json.load(f)["submissions"])
        except (OSError, ValueError, KeyError):
            shares.append([])
    verdict(sorted(shares[0] + shares[1]) == names and all(len(s) == 2 for s in shares),
            "each shard graded 2 of the 4, together all of them", f"  shards: {shares}")

    code, err = merge(merged, shards[::-1])
    verdict(code == 0, "grader/merge of shard 2 and shard 1 succeeds", err.rstrip())
    for name in GRADEBOOK:
        a, b = read(os.path.join(whole, name)), read(os.path.join(merged, name))
        diff = "".join(difflib.unified_diff(
            (a or b"").decode().splitlines(True), (b or b"").decode().splitlines(True),
            f"whole/{name}", f"merged/{name}"))
        verdict(a is not None and a == b, f"merged {name} is byte for byte the whole run's", diff)
    verdict(all(os.path.isfile(os.path.join(merged, n, "results.json")) for n in names),
            "the merged folder holds every submission's results")

    # The check can fail: a dropped shard or a shard given twice is refused,
    # and one shard's own gradebook is not the class's.
    code, err = merge(os.path.join(args.out, "merged-without-2"), shards[:1])
    verdict(code == 2 and "shard(s) 2/2 missing" in err, "a merge without shard 2 is refused",
            f"  exit {code}: {err.rstrip()}")
    code, err = merge(os.path.join(args.out, "merged-twice"), [shards[0], shards[0], shards[1]])
    verdict(code == 2 and "shard 1/2 is given 2 times" in err,
            "a merge with shard 1 given twice is refused", f"  exit {code}: {err.rstrip()}")
    verdict(read(os.path.join(shards[0], "grades.csv")) != read(os.path.join(whole, "grades.csv")),
            "shard 1's own grades.csv differs from the whole run's (the comparison can fail)")

    done = time.monotonic()
    failed = results.count(False)
    print(f"\nshards: {len(results) - failed} passed, {failed} failed "
          f"(grading {graded_at - started:.0f} s, checks {done - graded_at:.1f} s)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
