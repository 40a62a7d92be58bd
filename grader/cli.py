#!/usr/bin/env python3
"""The grader's command line (grader/run.sh; make check and Gradescope's
run_autograder call it too): which parts and submissions, how many VMs at
once, where the results go; then grade.grade_submission for each
submission and classbook's tables for the class.

Exit status: 0 when every submission was graded (whatever its score), 1
when the grader itself failed on one (its results say "grader error"), 2
for a usage or set-up error, 130 when interrupted.
"""
import argparse
import concurrent.futures
import copy
import json
import os
import signal
import sys
import tempfile
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import classbook  # noqa: E402
import grade  # noqa: E402
import leakguard  # noqa: E402
import rubric  # noqa: E402
import shard  # noqa: E402
import submission  # noqa: E402
import vm  # noqa: E402
from parts import GraderError, discover_parts  # noqa: E402


def raise_interrupt(_signum, _frame):
    raise KeyboardInterrupt


def parse_args(argv):
    ap = argparse.ArgumentParser(prog="grader/run.sh", description="kmod-course grader: grade submissions in disposable VMs")
    ap.add_argument("submissions", nargs="*", metavar="SUBMISSION",
                    help="a folder laid out like the starter kit, or a .tar.gz of one")
    ap.add_argument("--parts", default="", help="comma-separated part numbers (default: all)")
    ap.add_argument("--out", default=os.path.join(os.getcwd(), "results"),
                    help="output folder (default: ./results)")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                    help="VMs at once (parts of submissions, each in its own VM)")
    ap.add_argument("--reference", action="store_true", help="grade the reference solutions")
    ap.add_argument("--skeleton", action="store_true", help="grade the skeletons")
    ap.add_argument("--public", action="store_true",
                    help="run only the public tests (what students' `make check` runs)")
    ap.add_argument("--name", help="the name to grade a single SUBMISSION under")
    ap.add_argument("--per-part", action="store_true",
                    help="(make check) one SUBMISSION: each part's results in OUT/PART, "
                         "their report.txt paths printed")
    ap.add_argument("--paths-from", metavar="DIR",
                    help="write log paths in the reports relative to DIR (where the reader stands)")
    ap.add_argument("--shard", metavar="K/N",
                    help="grade only shard K of N of the submissions given (every N-th by "
                         "name; merge the N output folders with grader/merge): "
                         "docs/class-grading.md")
    ap.add_argument("--only-tests", metavar="FILE",
                    help="for the grader's self-test: a JSON object from submission names to "
                         "the titles of the tests to run for them (the others are left out)")
    args = ap.parse_args(argv)
    if args.name and (len(args.submissions) != 1 or args.reference or args.skeleton):
        ap.error("--name goes with exactly one SUBMISSION")
    if args.per_part and (len(args.submissions) + args.reference + args.skeleton != 1 or args.shard):
        ap.error("--per-part grades exactly one submission (no --shard)")
    if not (args.submissions or args.reference or args.skeleton):
        ap.error("name at least one SUBMISSION, or --reference / --skeleton")
    try:
        args.parts = [int(p) for p in args.parts.split(",") if p.strip()]
    except ValueError:
        ap.error("--parts takes numbers, e.g. --parts 2 or --parts 1,2")
    if args.jobs < 1:
        ap.error("--jobs must be at least 1")
    if args.shard is not None:
        try:
            args.shard = shard.parse(args.shard)
        except shard.ShardError as e:
            print(f"grader: {e}", file=sys.stderr)
            sys.exit(2)
    return args


def read_only_tests(path, parts):
    """--only-tests FILE: {submission name: [test title, ...]}; every title
    must be a test of the parts graded."""
    if not path:
        return {}
    try:
        with open(path, encoding="utf-8") as f:
            wanted = json.load(f)
    except (OSError, ValueError) as e:
        raise GraderError(f"--only-tests {path}: {e}") from None
    titles = {t.title for p in parts for t in p.tests}
    for name, chosen in wanted.items():
        unknown = sorted(set(chosen) - titles)
        if unknown:
            raise GraderError(f"--only-tests {path}: {name}: no such test: {unknown[0]!r}")
    return {name: set(chosen) for name, chosen in wanted.items()}


def cut_tests(parts, titles):
    """The parts with only the tests named in titles (all when None), in the
    suite's order; the suite's size stays, so the VM runs them by filter."""
    if not titles:
        return parts
    cut = []
    for part in parts:
        part = copy.copy(part)
        part.tests = [t for t in part.tests if t.title in titles]
        cut.append(part)
    return cut


def main(argv):
    args = parse_args(argv)
    try:
        parts = discover_parts(args.parts)
    except (GraderError, rubric.RubricError) as e:
        print(f"grader: {e}", file=sys.stderr)
        return 2
    hidden_not_run = {}
    if args.public:
        for part in parts:
            hidden = [t for t in part.tests if t.visibility == "hidden"]
            if hidden:
                hidden_not_run[part.name] = (len(hidden), sum(t.points for t in hidden))
            part.tests = [t for t in part.tests if t.visibility == "public"]
    try:
        assets = vm.read_assets()
    except vm.PrepareError as e:
        print(f"grader: {e}", file=sys.stderr)
        return 2
    try:
        only_tests = read_only_tests(args.only_tests, parts)
    except GraderError as e:
        print(f"grader: {e}", file=sys.stderr)
        return 2
    # What the merge compares between shards, as the run starts.
    shard_options = (shard.options(parts, args.public, only_tests, assets.get("KVER"))
                     if args.shard else None)
    run = grade.Run(assets, threading.BoundedSemaphore(args.jobs),
                    {p.name: leakguard.hidden_for_part(p) for p in parts}, hidden_not_run)
    out_root = os.path.abspath(args.out)
    os.makedirs(out_root, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="kmod-own-") as own:
        jobs = []
        for kind in ("reference", "skeleton"):
            if getattr(args, kind):
                jobs.append((grade.assemble(kind, os.path.join(own, kind), parts), kind))
        names = {name for _, name in jobs}
        for path in args.submissions:
            name = args.name or submission.name_of(path)
            if name in names:
                print(f"grader: two submissions are named {name}", file=sys.stderr)
                return 2
            names.add(name)
            jobs.append((path, name))
        all_names = [name for _, name in jobs]
        shard.clear_manifest(out_root)
        if args.shard:
            mine = set(shard.select(all_names, *args.shard))
            jobs = [job for job in jobs if job[1] in mine]
            print(f"grader: shard {args.shard[0]}/{args.shard[1]}: {len(jobs)} of "
                  f"{len(all_names)} submission(s)", file=sys.stderr)
        lock = threading.Lock()
        progress = classbook.Progress(len(jobs))

        def one(job):
            row = grade.grade_submission(job[0], job[1], out_root,
                                         cut_tests(parts, only_tests.get(job[1])), run,
                                   args.per_part, args.paths_from and os.path.abspath(args.paths_from))
            with lock:
                progress.finished(*row)
            return row
        # Ctrl-C or SIGTERM: stop every VM, let each thread clean up its
        # temporary folders, and leave nothing running.
        signal.signal(signal.SIGTERM, raise_interrupt)
        pool = concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs)
        try:
            rows = list(pool.map(one, jobs))
        except (KeyboardInterrupt, vm.Stopped):
            vm.STOP.set()
            pool.shutdown(wait=True, cancel_futures=True)
            print("grader: interrupted; no VM is left running", file=sys.stderr)
            return 130
        pool.shutdown()
    if args.per_part:
        # make check prints these; no gradebook for one student's parts.
        for _, results, _ in rows:
            for r in results:
                print(os.path.join(out_root, r.part, "report.txt"))
        return 1 if any(error for _, _, error in rows) else 0
    # grades.csv and summary.txt cover every submission in the folder (a
    # regrade of one keeps the others' rows); the table shows this run's.
    graded = classbook.write_class(out_root, parts)
    if args.shard:
        # Last: a shard folder without shard.json is an unfinished run.
        shard.write_manifest(out_root, *args.shard, all_names, shard_options)
    classbook.print_table({name: graded[name] for name, _, _ in rows if name in graded}, parts)
    return 1 if any(error for _, _, error in rows) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
