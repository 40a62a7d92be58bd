#!/usr/bin/env python3
"""kmod-course grader: build each submission's parts in a sandbox on the
host, run each part's bats suite inside a disposable VM, and write
results.json / junit.xml / report.txt per submission plus a score table.

Called by grader/run.sh, which installs dependencies and prepares the VM
first; see docs/architecture.md.
"""
import argparse
import atexit
import concurrent.futures
import copy
import hashlib
import json
import os
import re
import secrets
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

import build as buildbox  # noqa: E402
import classbook  # noqa: E402
import course  # noqa: E402
import leakguard  # noqa: E402
import oops  # noqa: E402
import report  # noqa: E402
import rubric  # noqa: E402
import shard  # noqa: E402
import submission  # noqa: E402
import symbols  # noqa: E402
import tap  # noqa: E402
import vm  # noqa: E402

BOOT_ALLOWANCE = 90      # seconds from qemu start to the guest's first word
BATS_STARTUP = 20        # seconds bats may take before its first test ends
# What the suites' "kernel log is clean" test looks for (kmod.bash
# kernel_log_is_clean), applied on the host to a VM that ended early on a
# test's request: that VM's log counts too.
DIRTY_LOG = re.compile(r"\] (.*BUG:|Oops:|WARNING:|general protection fault|Call Trace:|"
                       r"watchdog: |INFO: task .* blocked for more than|"
                       r"list_(add|del) corruption|kernel BUG at)")
ALLOWED_TAINT = 4096 | 8192      # O (out-of-tree) and E (unsigned module)
CRASH_MARKERS = re.compile(
    r"(BUG:|Oops|WARNING:|Kernel panic|general protection fault|"
    r"watchdog: BUG|INFO: task .* blocked|Call Trace:|RIP:)")


class GraderError(Exception):
    """The grader itself failed (not the submission)."""


@dataclass
class Part:
    name: str            # part2_timer
    number: int          # 2
    path: str            # folder in this repository
    bats: str            # its grading suite
    tests: list          # rubric.TestSpecs
    conf: dict           # tests/part.json
    build_timeout: int
    suite_size: int = 0  # tests in the bats file (more than `tests` with --public)


def build_commands(conf, kdir, build_dir):
    """part.json's "build" commands with {KDIR}, {BUILD} and course.conf
    values filled in; a kernel-module part defaults to kbuild."""
    commands = conf.get("build") or [["make", "-C", "{KDIR}", "M={BUILD}", "modules"]]
    values = dict(course.load(), KDIR=kdir, BUILD=build_dir)
    return [[arg.format(**values) for arg in cmd] for cmd in commands]


def discover_parts(wanted=None):
    parts = []
    for entry in sorted(os.listdir(ROOT)):
        match = re.match(r"^part(\d+)_\w+$", entry)
        conf_path = os.path.join(ROOT, entry, "tests", "part.json")
        if not match or not os.path.isfile(conf_path):
            continue
        number = int(match.group(1))
        if wanted and number not in wanted:
            continue
        with open(conf_path) as f:
            conf = json.load(f)
        bats = os.path.join(ROOT, entry, "tests", entry + ".bats")
        tests = rubric.parse(bats)
        parts.append(Part(entry, number, os.path.join(ROOT, entry), bats,
                          tests, conf, conf.get("build_timeout", 120), len(tests)))
    if wanted and {p.number for p in parts} != set(wanted):
        missing = sorted(set(wanted) - {p.number for p in parts})
        raise GraderError(f"no such part(s): {missing}")
    return parts


def read_assets():
    """Run vm/prepare.sh (makes and caches the course environment and the
    VM) and read its answers. Every build of this process from now on runs
    in that environment (grader/sandbox-build.sh reads KMOD_BUILD_ROOT)."""
    proc = subprocess.run(["bash", os.path.join(ROOT, "vm", "prepare.sh")],
                          stdout=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        raise GraderError("preparing the VM failed (see the messages above)")
    assets = dict(line.split("=", 1) for line in proc.stdout.splitlines() if "=" in line)
    os.environ["KMOD_BUILD_ROOT"] = assets["BUILD_ROOT"]
    return assets


def console_excerpt(console, lines=30):
    rows = console.splitlines()
    for i, row in enumerate(rows):
        if CRASH_MARKERS.search(row):
            return "\n".join(rows[max(0, i - 3): i + lines])
    return "\n".join(rows[-lines:])


def build_part(part, part_src, src, out, kdir):
    """Copy a part's sources from part_src to src (with the grader's own
    files, which win over a student file of the same name) and build them in
    the sandbox; the expected outputs land in out. Then the part's tools
    (part.json "tools": programs the tests run, such as part 3's
    elevator-ctl) are built from the course's files alone, in a sandbox of
    their own, so nothing the student submits (a Makefile that rewrites
    files in the build folder, a header that shadows one the tools include)
    can change them. Returns (status, log)."""
    submission.copy_part_sources(part_src, src)
    for rel in part.conf.get("grader_files", []):
        shutil.copy(os.path.join(part.path, rel), src)
    # The course's values, for a Makefile that reads them (part 3's does:
    # -include $(src)/course.conf).
    if os.path.isfile(course.path()):
        shutil.copy(course.path(), os.path.join(src, "course.conf"))
    os.makedirs(out, exist_ok=True)
    status, log = buildbox.run(src, out, out, build_commands(part.conf, kdir, out),
                               part.conf["outputs"], part.build_timeout)
    tools = part.conf.get("tools")
    if not tools:
        return status, log
    tstatus, tlog = build_tools(part, kdir, out)
    log += "\n# The course's tools, built from the course's files only:\n" + tlog
    return status or tstatus, log


# The course's tools are the same for every submission: built once per
# grader run for each content (files, commands, kernel tree), then copied.
_TOOLS_BUILT = {}
_TOOLS_LOCK = threading.Lock()


def build_tools(part, kdir, out):
    """Build part.json "tools" from the course's files alone, in a sandbox of
    their own (or reuse this run's build of the very same files); copy the
    outputs into out. Returns (status, log)."""
    tools = part.conf["tools"]
    digest = hashlib.sha256(json.dumps([tools, kdir]).encode())
    for path in [os.path.join(part.path, rel) for rel in tools["files"]] + [course.path()]:
        if os.path.isfile(path):
            with open(path, "rb") as f:
                digest.update(f.read())
    key = digest.hexdigest()
    with _TOOLS_LOCK:
        built = _TOOLS_BUILT.get(key)
        if built is None:
            built = _build_tools_now(part, tools, kdir)
            _TOOLS_BUILT[key] = built
    status, tlog, made = built
    os.makedirs(out, exist_ok=True)
    for name in tools["outputs"]:
        if os.path.exists(os.path.join(made, name)):
            shutil.copy2(os.path.join(made, name), os.path.join(out, name))
    return status, tlog


def _build_tools_now(part, tools, kdir):
    made = tempfile.mkdtemp(prefix="kmod-tools-")
    atexit.register(shutil.rmtree, made, True)
    os.chmod(made, 0o755)
    with tempfile.TemporaryDirectory(prefix="tools-") as tmp:
        tsrc, tbuild = os.path.join(tmp, "src"), os.path.join(tmp, "build")
        os.makedirs(tsrc)
        os.makedirs(tbuild)
        for path in (tmp, tsrc, tbuild):
            os.chmod(path, 0o755)   # the sandbox's build user copies and builds here
        for rel in tools["files"]:
            shutil.copy(os.path.join(part.path, rel), tsrc)
        status, tlog = buildbox.run(tsrc, tbuild, made, build_commands(tools, kdir, tbuild),
                                    tools["outputs"], part.build_timeout)
    return status, tlog, made


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

    def tampered(self, results, remaining, prefix, reasons):
        """What the VM sent in this round cannot be trusted: every test of the
        round scores 0, and the part is flagged for the TA."""
        self.result.flags.append("results tampered: " + "; ".join(reasons[:5]))
        for i in remaining:
            r = results[i]
            r.passed, r.status = False, "failed"
            r.output = (f"results tampered: what the VM sent in {prefix} is not what the "
                        f"grader's own agent writes ({reasons[0]}), so no test of that round "
                        "counts. The course staff will review this submission.")

    def prepare_job(self):
        os.makedirs(self.job)
        for name in ("guest-init.sh", "guest-agent.py", "run-suite.bash"):
            shutil.copy(os.path.join(ROOT, "vm", "guest", name), self.job)
        tests = os.path.join(self.job, "tests")
        shutil.copytree(os.path.join(self.part.path, "tests"), tests)
        # The hidden tests are root's: the build, as another user, may know
        # where its folder is (the container route has no private view).
        os.chmod(tests, 0o700)
        shutil.copytree(os.path.join(HERE, "guest-lib"), os.path.join(self.job, "lib"))
        if os.path.isfile(course.path()):
            shutil.copy(course.path(), os.path.join(self.job, "course.conf"))

    def build(self):
        """Build in the sandbox from a copy of the sources; the outputs and
        the log land in the job's build folder. The VM sees both folders
        (/job/src: what was submitted, /job/build: what was built)."""
        build = os.path.join(self.job, "build")
        started = time.monotonic()
        status, text = build_part(self.part, self.part_src, os.path.join(self.job, "src"),
                                  build, self.assets["KDIR"])
        log_path = os.path.join(self.logs, "build.log")
        with open(log_path, "w") as f:
            f.write(text)
        self.result.timings["build"] = round(time.monotonic() - started, 2)
        # The guest-side build test reads these two files.
        with open(os.path.join(build, "build.log"), "w") as f:
            f.write(text)
        with open(os.path.join(build, "build.status"), "w") as f:
            f.write(f"{status}\n")
        self.result.logs.append(f"{self.rel_logs}/build.log")
        warnings = [line for line in text.splitlines() if "warning:" in line]
        if warnings:
            shown = "\n    ".join(warnings[:5])
            self.result.notes.append(
                f"the compiler reported {len(warnings)} warning(s) "
                f"(see {self.rel_logs}/build.log):\n    {shown}")

    def write_job_env(self, remaining):
        lines = ["KMOD_MODE=grade", f"KMOD_BATS={self.part.name}.bats",
                 f"KMOD_PART={self.part.name}", "KMOD_BUILD=/job/build", "KMOD_SRC=/job/src"]
        if len(remaining) != self.part.suite_size:
            flt = rubric.bats_filter([self.part.tests[i].title for i in remaining])
            lines.append("KMOD_FILTER=" + shlex.quote(flt))
        with open(os.path.join(self.job, "job.env"), "w") as f:
            f.write("\n".join(lines) + "\n")

    def silence_limit(self, remaining):
        specs = [self.part.tests[i] for i in remaining]

        def limit(reader):
            if not reader.started:
                return BOOT_ALLOWANCE
            done = reader.results
            if done >= len(specs):
                return 60
            return specs[done].timeout + (BATS_STARTUP if done == 0 else 5)
        return limit

    def new_secret(self):
        """A fresh key for one boot, in a file only root can read (the guest
        agent reads it first; vm.boot removes it once the guest speaks)."""
        key = secrets.token_bytes(32)
        path = os.path.join(self.job, "secret")
        if os.path.exists(path):
            os.unlink(path)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o400)
        with os.fdopen(fd, "w") as f:
            f.write(key.hex() + "\n")
        return key, path

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
        config = vm.VMConfig(self.assets["VMLINUX"], self.assets["INITRAMFS"],
                             self.assets["ROOTFS"], accel=self.assets.get("ACCEL", "tcg"))
        remaining = list(range(len(self.part.tests)))
        crashes = []      # (title, excerpt)
        restarts = []     # why a test's mess needed a fresh VM
        dirty_rounds = []  # (round, why): a VM that ended early with a dirty kernel log
        round_no = 0
        while remaining:
            round_no += 1
            if round_no > 2 * len(self.part.tests) + 1:
                raise GraderError("too many VM rounds")
            self.write_job_env(remaining)
            total = BOOT_ALLOWANCE + 60 + sum(self.part.tests[i].timeout + 5 for i in remaining)
            prefix = f"round{round_no}"
            key, secret_path = self.new_secret()
            reader = tap.Reader(key, [self.part.tests[i].title for i in remaining],
                                self.part.conf.get("info_forms", []))
            got = vm.boot(config, self.job, self.logs, reader, self.silence_limit(remaining),
                          total, prefix=prefix, secret_path=secret_path)
            if os.path.exists(secret_path):
                os.unlink(secret_path)
            self.result.logs += [f"{self.rel_logs}/{prefix}.console", f"{self.rel_logs}/{prefix}.stream"]
            stream = reader.close()
            self.result.timings[prefix] = {"seconds": round(got.seconds, 2), **stream.uptimes}
            if stream.dmesg:
                with open(os.path.join(self.logs, f"{prefix}.dmesg"), "w") as f:
                    f.write(stream.dmesg + "\n")
            if got.over_cap:
                stream.tampered.append(f"the VM wrote too much to {got.over_cap}; it was stopped")
            if stream.tampered:
                self.tampered(results, remaining, prefix, stream.tampered)
                break
            self.result.notes += [i for i in stream.info if i not in self.result.notes]
            by_title = {o.title: o for o in stream.outcomes}
            reported = [i for i in remaining if self.part.tests[i].title in by_title]
            for i in reported:
                outcome = by_title[self.part.tests[i].title]
                r = results[i]
                r.passed, r.output, r.ms = outcome.passed, outcome.output, outcome.ms
                r.status = "passed" if outcome.passed else ("skipped" if outcome.skipped else "failed")
            unreported = [i for i in remaining if i not in reported]
            if not unreported:
                if not stream.finished:
                    crashes.append(("after the last test", self.located(got, self.crash_text(got))))
                break
            if stream.finished:
                # bats ended normally but never ran these: a suite error.
                for i in unreported:
                    results[i].status = "not run"
                    results[i].output = ("bats did not run this test:\n" + stream.noise).strip()
                break
            if stream.restart:
                # A test left something behind; the rest runs in a fresh VM.
                restarts.append(stream.restart)
                dirty = self.dirty_log(stream)
                if dirty:
                    dirty_rounds.append((prefix, dirty))
                remaining = unreported
                continue
            culprit = unreported[0]
            r = results[culprit]
            text = self.crash_text(got)
            where = self.crash_report(got.console)
            if got.killed_reason.startswith("no result"):
                r.status = "timeout"
                r.output = (f"this test did not finish within {self.part.tests[culprit].timeout} s "
                            f"(it hung, or the kernel deadlocked); the VM was stopped and "
                            f"restarted for the remaining tests.\n"
                            + (f"The kernel reported:\n{where}\n" if where else "")
                            + f"Last console lines:\n{text}")
            else:
                r.status = "crashed"
                r.output = ((f"the kernel crashed while this test ran:\n{where}\nThe VM was "
                             if where else "the kernel crashed while this test ran; the VM was ")
                            + f"restarted for the remaining tests.\nConsole:\n{text}")
            crashes.append((self.part.tests[culprit].title, self.located(got, text, where)))
            remaining = unreported[1:]
        if restarts:
            self.result.notes.append(
                f"{len(restarts)} test(s) left the kernel dirty, so the next test ran in a "
                f"fresh VM; first: {restarts[0]}")
        why_dirty = ""
        if crashes:
            first_title, first_text = crashes[0]
            why_dirty = (f"the kernel crashed or hung during '{first_title}', "
                         f"so it did not stay clean:\n{first_text}")
        elif dirty_rounds:
            first_round, first_text = dirty_rounds[0]
            why_dirty = (f"the kernel log of the VM that ran the tests before a restart "
                         f"({first_round}) shows problems:\n{first_text}")
        for spec, r in zip(self.part.tests, results):
            if why_dirty and spec.fails_after_crash and r.passed:
                r.passed, r.status, r.output = False, "failed", why_dirty
        if crashes:
            self.result.notes.append(
                f"the VM crashed or hung {len(crashes)} time(s); see the round*.console logs")

    @staticmethod
    def dirty_log(stream):
        """Why a VM that ended on a test's request did not stay clean, or ""."""
        bad = [line for line in stream.kernel_log if DIRTY_LOG.search(line)][:20]
        if stream.tainted & ~ALLOWED_TAINT:
            bad.append(f"the kernel is tainted ({stream.tainted})")
        return "\n".join(bad)

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

    def located(self, got, text, where=None):
        """A crash's console excerpt, after where in the student's code it
        happened when that is known."""
        where = self.crash_report(got.console) if where is None else where
        return f"{where}\nConsole:\n{text}" if where else text

    @staticmethod
    def crash_text(got):
        text = console_excerpt(got.console)
        if got.killed_reason:
            text = f"(watchdog: {got.killed_reason})\n{text}"
        return text


def raise_interrupt(_signum, _frame):
    raise KeyboardInterrupt


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


# The distinctive lines of each part's hidden tests and hidden helpers
# (leakguard.hidden_for_part), computed once per run by main().
HIDDEN_LINES = {}

# With --public: per part, the hidden tests not run, as (count, points)
# (main() fills it before it leaves them out).
HIDDEN_NOT_RUN = {}

# At most this many parts are graded at once, over all submissions (each in
# its own VMs); main() sets it from --jobs.
VM_SLOTS = threading.BoundedSemaphore(1)


def grade_parts(graders):
    """Grade a submission's parts at the same time, each when a VM slot is
    free, the one with the most tests first (the longest; a submission is
    done when its last part is). Returns (part results in part order, the
    grader's own error or "")."""
    def run(grader):
        with VM_SLOTS:
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


def grade_submission(path, name, out_root, parts, assets, per_part=False, paths_from=None):
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
            graders.append(PartGrader(part, assets, src, os.path.join(work, part.name),
                                      layout.logs(part.name), layout.rel_logs(part.name)))
        if graders:
            results, error = grade_parts(graders)
    # Nothing of the hidden tests reaches what students see (every
    # output, of every visibility: hidden tests' become visible once grades
    # are published).
    leakguard.guard(results, {p.name: HIDDEN_LINES.get(p.name) or leakguard.hidden_for_part(p)
                              for p in parts})
    for r in results:
        r.hidden_not_run = HIDDEN_NOT_RUN.get(r.part, ())
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
        submission.copy_part_sources(part.path, target)
        if kind == "reference":
            submission.copy_part_sources(os.path.join(part.path, "solution"), target)
    return dest


def parse_args(argv):
    ap = argparse.ArgumentParser(prog="grader/run.sh", description=__doc__.splitlines()[0])
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
    if args.public:
        for part in parts:
            hidden = [t for t in part.tests if t.visibility == "hidden"]
            if hidden:
                HIDDEN_NOT_RUN[part.name] = (len(hidden), sum(t.points for t in hidden))
            part.tests = [t for t in part.tests if t.visibility == "public"]
    try:
        assets = read_assets()
    except GraderError as e:
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
    HIDDEN_LINES.update({p.name: leakguard.hidden_for_part(p) for p in parts})
    out_root = os.path.abspath(args.out)
    os.makedirs(out_root, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="kmod-own-") as own:
        jobs = []
        for kind in ("reference", "skeleton"):
            if getattr(args, kind):
                jobs.append((assemble(kind, os.path.join(own, kind), parts), kind))
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
        global VM_SLOTS
        VM_SLOTS = threading.BoundedSemaphore(args.jobs)

        def one(job):
            row = grade_submission(job[0], job[1], out_root,
                                   cut_tests(parts, only_tests.get(job[1])), assets,
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
