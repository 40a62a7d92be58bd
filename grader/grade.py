"""Grade submissions: for each part of each submission, build it in the
sandbox (build.py), check the module's kernel functions (symbols.py), and
run the part's suite in VM rounds (vm.py boots, tap.py reads the stream,
rounds.py judges each round) until every test has its verdict; then write
results.json / junit.xml / report.txt per submission (report.py) and the
class's tables (classbook.py).

The command line is cli.py (grader/run.sh, make check, Gradescope's
run_autograder); docs/architecture.md follows one submission through.
"""
import concurrent.futures
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

import build  # noqa: E402
import classbook  # noqa: E402
import job  # noqa: E402
import leakguard  # noqa: E402
import oops  # noqa: E402
import report  # noqa: E402
import rounds  # noqa: E402
import submission  # noqa: E402
import symbols  # noqa: E402
import tap  # noqa: E402
import vm  # noqa: E402
from parts import GraderError  # noqa: E402


def new_test_result(part, spec, **fields):
    """A test's result, numbered as in its suite (PART.INDEX, like the handouts)."""
    return report.TestResult(part.name, f"{part.number}.{spec.index}", spec.title,
                             spec.points, spec.visibility, **fields)


class PartGrader:
    """Grades one part of one submission: build, then VM rounds."""

    def __init__(self, part, assets, part_src, work, logs_dir, rel_logs):
        self.part = part
        self.assets = assets
        self.part_src = part_src
        self.job = os.path.join(work, "job")
        self.logs = logs_dir
        self.rel_logs = rel_logs
        self.result = report.PartResult(part.name)

    def run(self):
        part = self.part
        results = [new_test_result(part, s) for s in part.tests]
        self.result.tests = results
        if self.part_src is None:
            for r in results:
                r.status, r.output = "not run", (
                    f"the submission has no {part.name}/ folder, so nothing could be tested")
            self.result.notes.append(f"missing folder {part.name}/")
            return self.result
        os.makedirs(self.logs, exist_ok=True)
        self.prepare_job()
        self.build()
        if self.check_symbols(results):
            self.run_rounds(results)
        return self.result

    def prepare_job(self):
        job.make_grading(self.job, self.part)

    def build(self):
        """Build in the sandbox from a copy of the sources; the outputs and
        the log land in the job's build folder. The VM sees both folders
        (/job/src: what was submitted, /job/build: what was built)."""
        out = os.path.join(self.job, "build")
        started = time.monotonic()
        status, text = build.build_part(self.part, self.part_src, os.path.join(self.job, "src"),
                                        out, self.assets["KDIR"])
        log_path = os.path.join(self.logs, "build.log")
        with open(log_path, "w") as f:
            f.write(text)
        self.result.timings["build"] = round(time.monotonic() - started, 2)
        # The guest-side build test reads these (the log, its status, error
        # lines and warning count), written here, after the build.
        build.write_for_guest(out, status, text)
        self.result.logs.append(f"{self.rel_logs}/build.log")
        warnings = build.warning_lines(text)
        if warnings:
            shown = "\n    ".join(warnings[:5])
            self.result.notes.append(
                f"the compiler reported {len(warnings)} warning(s) "
                f"(see {self.rel_logs}/build.log):\n    {shown}")

    def check_symbols(self, results):
        """Before any boot: the module's kernel functions and its source.
        A forbidden function means the part is not run at all."""
        flags = symbols.check_part(os.path.join(self.job, "build"),
                                   os.path.join(self.job, "src"), self.part.conf)
        self.result.flags += flags
        forbidden = [f for f in flags if not f.startswith("review:")]
        for r in results if forbidden else []:
            r.status, r.output = "not run", (
                "not run: the module calls kernel functions that no assignment needs and that "
                "could reach the grader's files or results, so it was not loaded: "
                + "; ".join(forbidden))
        return not forbidden

    def run_rounds(self, results):
        """VM rounds until every test has its verdict (grader/rounds.py
        says what each round proves). A VM whose end was not the guest's
        doing is retried once; a second such end is the grader's error."""
        config = vm.VMConfig.from_assets(self.assets)
        specs = self.part.tests
        remaining = list(range(len(specs)))
        verdicts = {}
        crashes, restarts, dirty_rounds, environment = [], [], [], []
        round_no = 0
        while remaining:
            round_no += 1
            if round_no > 2 * len(specs) + 1:
                raise GraderError("too many VM rounds")
            prefix = f"round{round_no}"
            stream, got = self.boot_round(config, remaining, prefix)
            judged = rounds.judge(specs, remaining, stream, got, self.crash_report, prefix)
            verdicts.update(judged.verdicts)
            self.result.notes += [i for i in judged.info if i not in self.result.notes]
            if judged.tampered:
                self.result.flags.append("results tampered: " + "; ".join(judged.tampered[:5]))
                break
            if judged.environment:
                environment.append(f"{prefix}: {judged.environment}")
                if len(environment) > 1:
                    raise GraderError("the VM failed twice for reasons outside the submission ("
                                      + "; ".join(environment) + "); the part is not graded")
                again = "its unreported tests ran again" if judged.next else \
                    "every test had reported, so the results stand"
                self.result.notes.append(f"{prefix} was ended from outside the grader "
                                         f"({judged.environment}); {again}")
            if judged.review:
                self.result.flags.append("review: " + judged.review)
            if judged.crash:
                crashes.append(judged.crash)
            if judged.restart:
                restarts.append(judged.restart)
                if judged.dirty:
                    dirty_rounds.append((prefix, judged.dirty))
            remaining = judged.next
        self.result.notes += rounds.settle(specs, verdicts, crashes, dirty_rounds, restarts)
        for i, v in verdicts.items():
            r = results[i]
            r.status, r.passed, r.output, r.ms = v.status, v.passed, v.output, v.ms

    def boot_round(self, config, remaining, prefix):
        """One VM running the tests in remaining: (tap.Stream, vm.VMResult)."""
        specs = [self.part.tests[i] for i in remaining]
        job.write_grade_env(self.job, self.part, [s.title for s in specs])
        key, secret_path = job.new_secret(self.job)
        reader = tap.Reader(key, [s.title for s in specs], self.part.conf.get("info_forms", []))
        try:
            got = vm.boot(config, self.job, self.logs, reader, rounds.silence_limit(specs),
                          rounds.total_limit(specs), prefix=prefix, secret_path=secret_path)
        finally:
            if os.path.exists(secret_path):
                os.unlink(secret_path)
        self.result.logs += [f"{self.rel_logs}/{prefix}.console", f"{self.rel_logs}/{prefix}.stream"]
        stream = reader.close()
        self.result.timings[prefix] = {"seconds": round(got.seconds, 2), "end": got.end,
                                       "peak_mb": got.peak_mb, **stream.uptimes}
        if stream.dmesg:
            with open(os.path.join(self.logs, f"{prefix}.dmesg"), "w") as f:
                f.write(stream.dmesg + "\n")
        return stream, got

    def crash_report(self, console):
        """The first oops, BUG, WARNING or hung task in the console, with
        every frame inside the part's modules resolved to FILE:LINE and its
        source line from the .ko's debug information (grader/oops.py), or ""."""
        reports = oops.find_reports(console)
        if not reports:
            return ""
        build, src = os.path.join(self.job, "build"), os.path.join(self.job, "src")
        modules = {os.path.splitext(f)[0]: (os.path.join(build, f), src)
                   for f in self.part.conf.get("outputs", []) if f.endswith(".ko")}
        return oops.summary(reports[0], oops.resolve(reports[0], modules))


def reserve_out_dir(out_root, name):
    """A fresh folder for this submission; earlier results are kept, renamed.
    Returns (folder, the renamed earlier folder or None)."""
    path = os.path.join(out_root, name)
    previous = None
    if os.path.exists(path):
        stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(os.path.getmtime(path)))
        previous, n = f"{path}.previous-{stamp}", 1
        while os.path.exists(previous):
            n += 1
            previous = f"{path}.previous-{stamp}-{n}"
        os.rename(path, previous)
    os.makedirs(path)
    return path, previous


@dataclass
class Run:
    """What every submission of one grader run shares (cli.main makes it)."""
    assets: dict                 # vm.read_assets()
    slots: threading.BoundedSemaphore = field(
        default_factory=lambda: threading.BoundedSemaphore(1))  # VMs at once, over all submissions
    # The distinctive lines of each part's hidden tests and hidden helpers
    # (leakguard.hidden_for_part): nothing of them reaches a report.
    hidden_lines: dict = field(default_factory=dict)
    # With --public: per part, the hidden tests not run, as (count, points).
    hidden_not_run: dict = field(default_factory=dict)


def grade_parts(graders, slots):
    """Grade a submission's parts at the same time, each when one of the
    VM slots is free, the one with the most tests first (the longest; a submission is
    done when its last part is). Returns (part results in part order, the
    grader's own error or "")."""
    def run(grader):
        with slots:
            try:
                return grader.run(), ""
            except (GraderError, OSError, subprocess.SubprocessError) as e:
                return grader.result, f"{grader.part.name}: {e}"
            except Exception as e:  # noqa: BLE001 - one part's bug must not stop the class
                return grader.result, f"{grader.part.name}: internal error {type(e).__name__}: {e}"
    longest_first = sorted(graders, key=lambda g: -len(g.part.tests))
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(graders)) as pool:
        futures = {g.part.name: pool.submit(run, g) for g in longest_first}
        done = [futures[g.part.name].result() for g in graders]
    errors = [e for _, e in done if e]
    return [r for r, _ in done], "; ".join(errors)


class Layout:
    """Where a submission's results go. Normally one folder, OUT/NAME, with
    logs/PART/ for each part; with per_part (make check), one folder per
    part, OUT/PART, holding only that part's results and logs/, so that a
    check of one part leaves another's alone. Log paths in the reports are
    relative to paths_from (where the reader stands; default the folder)."""

    def __init__(self, out_root, name, parts, per_part=False, paths_from=None):
        self.out_root, self.name, self.per_part, self.paths_from = out_root, name, per_part, paths_from
        keys = [p.name for p in parts] if per_part else [name]
        self.folders = {key: reserve_out_dir(out_root, key) for key in keys}

    def folder(self, part_name):
        return self.folders[part_name if self.per_part else self.name][0]

    def logs(self, part_name):
        return (os.path.join(self.folder(part_name), "logs") if self.per_part
                else os.path.join(self.folder(part_name), "logs", part_name))

    def rel_logs(self, part_name):
        return os.path.relpath(self.logs(part_name), self.paths_from or self.folder(part_name))

    def write(self, results, seconds, error):
        """report.txt, results.json, junit.xml and timings.json, and what
        changed since the folder's previous results."""
        groups = ([(r.part, [r]) for r in results] if self.per_part else [(self.name, results)])
        for key, group in groups:
            out_dir, previous = self.folders[key]
            report.write_all(out_dir, key, group, seconds, error)
            if previous:
                # make check keeps no earlier folder: it names the part's last run.
                note_regrade(out_dir, key, previous, group,
                             f"{key} since its last run" if self.per_part else None)


def grade_submission(path, name, out_root, parts, run, per_part=False, paths_from=None):
    """Grade one submission (a folder or an archive) as name into
    out_root/name (out_root/PART with per_part); run: the grader run's Run.
    Returns (name, part results, the grader's own error or "")."""
    start = time.monotonic()
    layout = Layout(out_root, name, parts, per_part, paths_from)
    results, error = [], ""
    with tempfile.TemporaryDirectory(prefix="kmod-grade-") as work:
        # The sandboxed build runs as an unprivileged user that must be
        # able to reach its build folder below this one (but not list it).
        os.chmod(work, 0o711)
        try:
            root = submission.unpack(path, os.path.join(work, "submission"),
                                     [p.name for p in parts])
        except submission.SubmissionError as e:
            root = None
            note = f"the submission could not be unpacked: {e}"
        graders = []
        for part in parts:
            if root is None:
                pr = report.PartResult(part.name, notes=[note])
                pr.tests = [new_test_result(part, s, status="not run", output=note)
                            for s in part.tests]
                results.append(pr)
                continue
            src = os.path.join(root, part.name)
            if not os.path.isdir(src) or os.path.islink(src):
                src = None
            graders.append(PartGrader(part, run.assets, src, os.path.join(work, part.name),
                                      layout.logs(part.name), layout.rel_logs(part.name)))
        if graders:
            results, error = grade_parts(graders, run.slots)
    # Nothing of the hidden tests reaches what students see (every
    # output, of every visibility: hidden tests' become visible once grades
    # are published).
    leakguard.guard(results, {p.name: run.hidden_lines.get(p.name) or leakguard.hidden_for_part(p)
                              for p in parts})
    for r in results:
        r.hidden_not_run = run.hidden_not_run.get(r.part, ())
    layout.write(results, time.monotonic() - start, error)
    return name, results, error


def note_regrade(out_dir, name, previous, results, label=None):
    """A regrade says which tests changed score (also in regrade.txt);
    label replaces "regrade of NAME (previous results: FOLDER)"."""
    changes = classbook.regrade_changes(previous, results)
    if changes is None:
        return
    label = label or f"regrade of {name} (previous results: {os.path.basename(previous)})"
    text = (f"{label}: "
            + (f"{len(changes)} test(s) changed score" if changes else "no score changed"))
    with open(os.path.join(out_dir, "regrade.txt"), "w", encoding="utf-8") as f:
        f.write(text + "\n" + "".join(f"  {c}\n" for c in changes))
    print(text + "".join(f"\n  {c}" for c in changes), file=sys.stderr)


def assemble(kind, dest, parts):
    """A submission made of the repository's own skeletons or reference solutions."""
    for part in parts:
        target = os.path.join(dest, part.name)
        outputs = part.conf.get("outputs", [])
        submission.copy_part_sources(part.path, target, outputs)
        if kind == "reference":
            submission.copy_part_sources(os.path.join(part.path, "solution"), target, outputs)
    return dest
