#!/usr/bin/env python3
"""What bench/container.sh measured: one submission graded in a cgroup.
Prints a row per part (VM seconds, rounds, how they ended, qemu's peak
memory) and the totals; exit status 1 when the grader failed, a VM was
killed from outside, the wall time passed the limit, or (without
--graded-only: the reference) the grade is not full marks.

usage: container_report.py RESULTS_DIR SECONDS LIMIT GRADER_STATUS PEAK_BYTES MEMORY_MB [--graded-only]
"""
import json
import os
import sys


def main(argv):
    graded_only = argv[6:] == ["--graded-only"]
    results, seconds, limit, status, peak, memory_mb = argv[:6]
    seconds, limit, status = float(seconds), float(limit), int(status)
    if not os.path.isfile(os.path.join(results, "results.json")):
        print(f"container: the grader wrote no results (exit status {status}): NOT graded")
        return 1
    with open(os.path.join(results, "results.json")) as f:
        data = json.load(f)
    with open(os.path.join(results, "timings.json")) as f:
        timings = json.load(f)
    most = sum(t["max_score"] for t in data["tests"])
    print(f"{'part':<16} {'VM s':>7} {'rounds':>6}  {'qemu MB':>7}  ends")
    vm_seconds, ends = 0.0, []
    for part, t in sorted(timings.items()):
        if not isinstance(t, dict):
            continue
        rounds = [v for k, v in t.items() if k.startswith("round")]
        s = sum(r.get("seconds", 0) for r in rounds)
        vm_seconds += s
        ends += [r.get("end", "?") for r in rounds]
        qemu = max((r.get("peak_mb", 0) for r in rounds), default=0)
        print(f"{part:<16} {s:7.1f} {len(rounds):>6}  {qemu:>7}  "
              + " ".join(r.get("end", "?") for r in rounds))
    peak_mb = int(peak) / 2**20
    print(f"wall {seconds:.1f} s (limit {limit:.0f}), VM-seconds {vm_seconds:.1f}, "
          f"score {data['score']:g}/{most:g}, peak memory {peak_mb:.0f} of {memory_mb} MB, "
          f"grader exit status {status}")
    error = data.get("extra_data", {}).get("grader_error", "")
    if error:
        print(f"grader error: {error}")
    ok = (status == 0 and not error and seconds <= limit and "outside" not in ends
          and (graded_only or data["score"] == most))
    done = "graded within the limit" if graded_only else "graded in full within the limit"
    print("container: " + (done if ok else "NOT graded as it should be"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
