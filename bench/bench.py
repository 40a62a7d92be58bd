#!/usr/bin/env python3
"""Benchmark of the grading pipeline on this machine: VM boot time, module
build time in the sandbox, the wall time to grade one full submission (every
part) and where it goes, and submissions per hour with --jobs 2. Prints a markdown table;
docs/measurements.md records the numbers.

usage: bench.py [--boots N] [--builds N]
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "grader"))

import build  # noqa: E402
import grade  # noqa: E402
from parts import discover_parts  # noqa: E402
import probe  # noqa: E402
import vm  # noqa: E402


def summary(values):
    if not values:
        return "-"
    return (f"median {statistics.median(values):.1f} s "
            f"(min {min(values):.1f}, max {max(values):.1f}, n={len(values)})")


def bench_boots(assets, count, tmp):
    """Boot a probe job: qemu start to guest userspace, and to qemu exit."""
    config = vm.VMConfig.from_assets(assets)
    to_userspace, whole = [], []
    for i in range(count):
        uptime, got = probe.boot_once(config, tmp, 120, prefix=f"boot{i}")
        if uptime is not None:
            to_userspace.append(uptime)
            whole.append(got.seconds)
    return to_userspace, whole


def bench_builds(assets, count, tmp):
    times = []
    part = discover_parts([2])[0]
    for i in range(count):
        reference = grade.assemble("reference", os.path.join(tmp, f"ref{i}"), [part])
        start = time.monotonic()
        status, _ = build.build_part(part, os.path.join(reference, part.name),
                                     os.path.join(tmp, f"src{i}"), os.path.join(tmp, f"out{i}"),
                                     assets["KDIR"])
        if status == 0:
            times.append(time.monotonic() - start)
    return times


def bench_grading(tmp, jobs, copies):
    """Grade `copies` reference submissions (every part) with --jobs `jobs`;
    return the wall seconds and each submission's timings.json."""
    parts = discover_parts()
    subs = []
    for i in range(copies):
        sub = os.path.join(tmp, f"grading{jobs}x{copies}", f"ref{i}")
        grade.assemble("reference", sub, parts)
        subs.append(sub)
    out = os.path.join(tmp, f"out{jobs}x{copies}")
    start = time.monotonic()
    subprocess.run([sys.executable, os.path.join(ROOT, "grader", "cli.py"),
                    "--jobs", str(jobs), "--out", out] + subs,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    wall = time.monotonic() - start
    timings, scores = [], []
    for i in range(copies):
        with open(os.path.join(out, f"ref{i}", "timings.json")) as f:
            timings.append(json.load(f))
        with open(os.path.join(out, f"ref{i}", "results.json")) as f:
            scores.append(json.load(f)["score"])
    return wall, timings, scores


def where_time_goes(timings):
    """Per part: sandboxed build, VM boot to userspace, bats in the VM, the
    VM's whole time, and its floor: the boot and the waits the assignment
    mandates (the tests' wait= in the rubric), which no speed-up can cut.
    The last row adds them up over the submission."""
    rows, vm_total, floor_total = [], 0.0, 0.0
    waits = {p.name: sum(t.wait for t in p.tests) for p in discover_parts()}
    for part, t in sorted(timings.items()):
        if part == "total":
            continue
        rounds = [v for k, v in t.items() if k.startswith("round")]
        boot = sum(r.get("boot", 0) for r in rounds)
        bats = sum(r.get("bats-exit", 0) - r.get("bats-start", 0) for r in rounds)
        wall = sum(r.get("seconds", 0) for r in rounds)
        floor = boot + waits.get(part, 0)
        vm_total, floor_total = vm_total + wall, floor_total + floor
        rows.append((f"  {part}: build / boot / bats in the VM / VM-seconds / floor",
                     f"{t.get('build', 0):.1f} / {boot:.1f} / {bats:.1f} / {wall:.1f} / "
                     f"{floor:.1f} s ({len(rounds)} VM boot(s); floor: boot + "
                     f"{waits.get(part, 0):g} s of mandated waits)"))
    rows.append(("  VM-seconds of that submission, every part (goal: under 90) / its floor",
                 f"{vm_total:.1f} / {floor_total:.1f} s"))
    return rows


class Measurement(grade.PartGrader):
    """Runs a bench/measure_*.bats file instead of the part's grading suite."""

    bats = ""

    def prepare_job(self):
        super().prepare_job()
        shutil.copy(os.path.join(ROOT, "bench", self.bats),
                    os.path.join(self.job, "tests", self.part.name + ".bats"))


def measure_lines(stream_path):
    """The MEASURE lines a measurement printed to fd 3, from the records of
    its results stream ("TAG SEQ CHANNEL TEXT", grader/guest-lib/records.py)."""
    lines = []
    with open(stream_path, errors="replace") as f:
        for record in f:
            fields = record.rstrip("\n").split(" ", 3)
            if len(fields) == 4 and fields[2] == "T" and fields[3].startswith("MEASURE"):
                lines.append(fields[3])
    return lines


def measure_one(assets, base, part, src_part, bats):
    """Run bench/BATS against the part folder SRC_PART in one VM; return
    its MEASURE lines."""
    work = os.path.join(base, "work")
    os.makedirs(work)
    os.chmod(base, 0o711)
    os.chmod(work, 0o711)
    m = Measurement(part, assets, src_part, work, os.path.join(base, "logs"), "logs")
    m.bats = bats
    m.run()
    return measure_lines(os.path.join(base, "logs", "round1.stream"))


def measurement_part(number, title, timeout):
    """Part NUMBER with its suite cut to one test (the measurement's)."""
    part = discover_parts([number])[0]
    part.tests = part.tests[:1]
    part.tests[0].title = title
    part.tests[0].timeout = timeout
    return part


def measure(assets, tmp, parallel, number, bats, title, timeout=600):
    """Run bench/BATS (one test, TITLE) against part NUMBER's reference in
    `parallel` VMs at once (load makes the VM noisy); returns the MEASURE
    lines they printed."""
    part = measurement_part(number, title, timeout)
    lines = []

    def one(i):
        base = os.path.join(tmp, f"measure{number}-{i}")
        src = os.path.join(base, "src")
        grade.assemble("reference", src, [part])
        lines.extend(measure_one(assets, base, part, os.path.join(src, part.name), bats))

    threads = [threading.Thread(target=one, args=(i,)) for i in range(parallel)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return lines


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--boots", type=int, default=3)
    ap.add_argument("--builds", type=int, default=3)
    args = ap.parse_args(argv)
    assets = vm.read_assets()
    rows = [("accelerator", assets["ACCEL"]), ("cores", str(os.cpu_count()))]
    with tempfile.TemporaryDirectory(prefix="kmod-bench-") as tmp:
        os.chmod(tmp, 0o711)   # the sandboxed build runs as an unprivileged user
        userspace, whole = bench_boots(assets, args.boots, tmp)
        rows.append(("VM boot: qemu start to guest userspace (guest uptime)", summary(userspace)))
        rows.append(("VM boot + power-off, wall", summary(whole)))
        rows.append(("part 2 module build in the sandbox", summary(bench_builds(assets, args.builds, tmp))))
        wall, timings, scores = bench_grading(tmp, 1, 1)
        rows.append(("one full submission (every part, reference), --jobs 1, wall",
                     f"{wall:.1f} s, score {scores[0]:g}"))
        rows += where_time_goes(timings[0])
        wall, timings, scores = bench_grading(tmp, 2, 4)
        rows.append(("four full submissions, --jobs 2, wall",
                     f"{wall:.1f} s, scores {[round(x) for x in scores]}; "
                     f"{4 * 3600 / wall:.0f} submissions per hour"))
        for line in measure(assets, tmp, 2, 2, "measure_timer.bats",
                            "measure /proc/timer elapsed against the clock"):
            rows.append(("/proc/timer elapsed vs clock, 2 VMs at once", line[len("MEASURE "):]))
        for line in measure(assets, tmp, 2, 3, "measure_elevator.bats",
                            "measure the elevator's timing"):
            rows.append(("elevator (reference), 2 VMs at once", line[len("MEASURE "):]))
    print("| what | measured |\n|---|---|")
    for what, value in rows:
        print(f"| {what} | {value} |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
