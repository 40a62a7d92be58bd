#!/usr/bin/env python3
"""How reliably part 2's hidden checks catch what they are for, run after
run: the elapsed and difference checks and the race check (its
measure_races mode, which also counts what it found), each on a fresh load,
RUNS times in one VM per module, against the reference and the variants
whose bugs depend on the phase of the clock or on interleavings. Prints a
markdown table for docs/measurements.md.

usage: detection.py [--runs 20] [--modules NAME,...]
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
from parts import discover_parts  # noqa: E402
import vm  # noqa: E402

PART = "part2_timer"
MODULES = ["reference", "measures_from_first_read", "negates_borrowed_ns",
           "shares_text_buffer", "lockless_timestamp"]
FINDINGS = ("malformed", "negative", "same-text", "same-start")


def source(name, dest):
    """The part folder of the reference, or of variant NAME."""
    if name == "reference":
        grade.assemble("reference", dest, [discover_parts([2])[0]])
        return os.path.join(dest, PART)
    folder = os.path.join(dest, PART)
    check_grader.make_variant(PART, os.path.join(ROOT, "selftest", PART, "variants", name + ".patch"),
                              folder)
    return folder


def failed(line):
    """Whether one MEASURE line is a run its grading check would fail."""
    fields = dict(re.findall(r"([\w-]+)=(\S+)", line))
    if fields.get("check") == "concurrent":
        return any(int(fields.get(k, "0")) for k in FINDINGS)
    return fields.get("result") == "fail"


def table(names, results):
    rows = ["| module | elapsed failed | difference failed | race check failed | "
            "race findings per run (stalled reads / all) |", "|---|---|---|---|---|"]
    for name in names:
        lines = results.get(name, [])
        cells = []
        for check in ("elapsed", "difference", "concurrent"):
            mine = [x for x in lines if f"check={check} " in x + " "]
            cells.append(f"{sum(map(failed, mine))} of {len(mine)}")
        races = [dict(re.findall(r"([\w-]+)=(\S+)", x)) for x in lines if "check=concurrent" in x]
        found = [sum(int(r.get(k, "0")) for k in FINDINGS) for r in races]
        stalled = [int(r.get("stall-findings", "0")) for r in races]
        cells.append(f"{min(stalled, default=0)}..{max(stalled, default=0)} / "
                     f"{min(found, default=0)}..{max(found, default=0)}")
        rows.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--modules", default=",".join(MODULES))
    args = ap.parse_args(argv)
    assets = vm.read_assets()
    names = [n for n in args.modules.split(",") if n]
    results = {}
    with tempfile.TemporaryDirectory(prefix="kmod-detection-") as tmp:
        os.chmod(tmp, 0o711)
        part = bench.measurement_part(2, "measure the checks", 60 * args.runs + 60)
        bats = os.path.join(tmp, "measure_checks.bats")
        with open(os.path.join(HERE, "measure_checks.bats")) as f:
            text = f.read()
        with open(bats, "w") as f:
            f.write(text.replace("${RUNS:-20}", str(args.runs)))

        def one(name):
            base = os.path.join(tmp, name)
            results[name] = bench.measure_one(assets, base, part, source(name, os.path.join(base, "src")),
                                              bats)

        for i in range(0, len(names), 2):   # two VMs at a time: one per core
            threads = [threading.Thread(target=one, args=(n,)) for n in names[i:i + 2]]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
    print(table(names, results))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
