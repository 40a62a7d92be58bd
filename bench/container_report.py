#!/usr/bin/env python3
"""What bench/container.sh measured: one reference submission graded in a
cgroup. Prints a row per part (VM seconds, rounds, how they ended) and the
totals; exit status 1 when the grade is not full marks, the grader failed,
or the wall time passed the limit.

usage: container_report.py RESULTS_DIR SECONDS LIMIT GRADER_STATUS PEAK_BYTES MEMORY_MB
"""
import json
import os
import sys


def main(argv):
    results, seconds, limit, status, peak, memory_mb = argv
    seconds, limit, status = float(seconds), float(limit), int(status)
    if not os.path.isfile(os.path.join(results, "results.json")):
        print(f"container: the grader wrote no results (exit status {status}): NOT graded")
        return 1
    with open(os.path.join(results, "results.json")) as f:
        data = json.load(f)
    with open(os.path.join(results, "timings.json")) as f:
        timings = json.load(f)
    most = sum(t["max_score"] for t in data["tests"])
    print(f"{'part':<16} {'VM s':>7} {'rounds':>6}")
    vm_seconds = 0.0
    for part, t in sorted(timings.items()):
        if not isinstance(t, dict):
            continue
        rounds = [v for k, v in t.items() if k.startswith("round")]
        s = sum(r.get("seconds", 0) for r in rounds)
        vm_seconds += s
        print(f"{part:<16} {s:7.1f} {len(rounds):>6}")
    peak_mb = int(peak) / 2**20
    print(f"wall {seconds:.1f} s (limit {limit:.0f}), VM-seconds {vm_seconds:.1f}, "
          f"score {data['score']:g}/{most:g}, peak memory {peak_mb:.0f} of {memory_mb} MB, "
          f"grader exit status {status}")
    error = data.get("extra_data", {}).get("grader_error", "")
    if error:
        print(f"grader error: {error}")
    ok = status == 0 and not error and data["score"] == most and seconds <= limit
    print("container: " + ("graded in full within the limit" if ok else "NOT graded as it should be"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
