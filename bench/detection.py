#!/usr/bin/env python3
"""How reliably part 2's race check ("concurrent readers all get
well-formed text") catches modules whose readers share state without a
lock: the check's measure_races mode, run RUNS times in one VM (a fresh
load each time) against the reference and each racy variant. Prints a
markdown table for docs/measurements.md.

usage: detection.py [--runs 20] [--variants NAME,...]
"""
import argparse
import os
import re
import sys
import tempfile
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "grader"))
sys.path.insert(0, os.path.join(ROOT, "selftest"))
sys.path.insert(0, HERE)

import bench  # noqa: E402
import check_grader  # noqa: E402
import grade  # noqa: E402

PART = "part2_timer"
VARIANTS = ["shares_text_buffer", "lockless_timestamp"]


def source(name, dest):
    """The part folder of the reference, or of variant NAME."""
    if name == "reference":
        grade.assemble("reference", dest, [grade.discover_parts([2])[0]])
        return os.path.join(dest, PART)
    patch = os.path.join(ROOT, "selftest", PART, "variants", name + ".patch")
    folder = os.path.join(dest, PART)
    check_grader.make_variant(PART, patch, folder)
    return folder


def caught(line):
    """Whether one MEASURE line is a run the grading check would fail."""
    counts = dict(re.findall(r"(\w[\w-]*)=(\d+)", line))
    return any(int(counts.get(k, 0)) for k in ("malformed", "negative", "same-text", "same-start"))


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--variants", default=",".join(["reference"] + VARIANTS))
    args = ap.parse_args(argv)
    assets = grade.read_assets()
    names = [n for n in args.variants.split(",") if n]
    results = {}
    with tempfile.TemporaryDirectory(prefix="kmod-detection-") as tmp:
        os.chmod(tmp, 0o711)
        part = bench.measurement_part(2, "measure the race check", 60 * args.runs + 60)
        bats = os.path.join(tmp, "measure_races.bats")
        with open(os.path.join(HERE, "measure_races.bats")) as f:
            text = f.read()
        with open(bats, "w") as f:
            f.write(text.replace("${RACE_RUNS:-20}", str(args.runs)))

        def one(name):
            base = os.path.join(tmp, name)
            src = source(name, os.path.join(base, "src"))
            results[name] = bench.measure_one(assets, base, part, src, bats)

        for i in range(0, len(names), 2):   # two VMs at a time: one per core
            threads = [threading.Thread(target=one, args=(n,)) for n in names[i:i + 2]]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
    print("| module | runs caught | reads per run | findings (first run) |\n|---|---|---|---|")
    for name in names:
        lines = results.get(name, [])
        reads = [int(m.group(1)) for m in (re.search(r"reads=(\d+)", x) for x in lines) if m]
        print(f"| {name} | {sum(map(caught, lines))} of {len(lines)} | "
              f"{min(reads, default=0)}..{max(reads, default=0)} | "
              f"{lines[0][len('MEASURE '):] if lines else '-'} |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
