"""Per-class outputs of a grading run: the score table, grades.csv,
summary.txt, the live progress line, and what a regrade changed."""
import csv
import json
import os
import sys
import time
from collections import Counter

SHOWN_FAILURES = 10


def load_class(out_root):
    """Every submission graded into out_root (earlier, renamed results are
    left out): {name: results.json data}."""
    graded = {}
    for name in sorted(os.listdir(out_root)):
        path = os.path.join(out_root, name, "results.json")
        if ".previous-" in name or not os.path.isfile(path):
            continue
        try:
            with open(path, encoding="utf-8") as f:
                graded[name] = json.load(f)
        except ValueError:
            continue
    return graded


def status_of(data):
    if data.get("extra_data", {}).get("grader_error"):
        return "grader error"
    statuses = {t.get("extra_data", {}).get("status") for t in data.get("tests", [])}
    for word in ("crashed", "timeout"):
        if word in statuses:
            return f"graded ({word})"
    return "graded"


def part_scores(data, parts):
    scores = data.get("extra_data", {}).get("parts", {})
    return [scores.get(p.name) for p in parts]


def print_table(graded, parts, stream=sys.stdout):
    header = ["submission"] + [p.name for p in parts] + ["total", "status"]
    table = [header]
    for name, data in graded.items():
        cells = [f"{s[0]:g}/{s[1]:g}" if s else "-" for s in part_scores(data, parts)]
        most = sum(t["max_score"] for t in data["tests"])
        table.append([name] + cells + [f"{data['score']:g}/{most:g}", status_of(data)])
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for row in table:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip(), file=stream)


def write_gradebook(path, graded, parts):
    with open(path, "w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["submission"] + [p.name for p in parts] + ["total", "status"])
        for name, data in graded.items():
            out.writerow([name] + [f"{s[0]:g}" if s else 0 for s in part_scores(data, parts)]
                         + [f"{data['score']:g}", status_of(data)])


def write_summary(path, graded, parts):
    """Score distribution, the most often failed tests, and the submissions
    that crashed, hung or broke the grader."""
    lines = [f"{len(graded)} submission(s) graded", ""]
    buckets = Counter()
    for data in graded.values():
        most = sum(t["max_score"] for t in data["tests"]) or 1
        buckets[min(int(100 * data["score"] // most) // 10 * 10, 90)] += 1
    lines.append("score distribution (percent of the maximum):")
    for low in range(0, 100, 10):
        high = 100 if low == 90 else low + 9
        lines.append(f"  {low:>3}-{high:<3} {'#' * buckets[low]} {buckets[low] or ''}".rstrip())
    failed = Counter()
    for data in graded.values():
        for t in data["tests"]:
            if t["status"] != "passed":
                failed[(t["number"], t["name"])] += 1
    lines += ["", "tests failed most often:"]
    for (number, title), count in failed.most_common(SHOWN_FAILURES):
        lines.append(f"  {count:>4}  {number:<5} {title}")
    if not failed:
        lines.append("  none")
    trouble = [(name, status_of(data)) for name, data in graded.items() if status_of(data) != "graded"]
    lines += ["", "submissions that crashed, hung or broke the grader:"]
    lines += [f"  {name}: {status}" for name, status in trouble] or ["  none"]
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")


def regrade_changes(previous_dir, results):
    """Which tests changed score since the previous grading of this submission."""
    try:
        with open(os.path.join(previous_dir, "results.json"), encoding="utf-8") as f:
            before = {t["name"]: t["score"] for t in json.load(f)["tests"]}
    except (OSError, ValueError, KeyError):
        return None
    changes = []
    for r in results:
        for t in r.tests:
            name = f"{t.part}: {t.title}"
            if name in before and before[name] != t.score:
                changes.append(f"{t.number} {t.title}: {before[name]:g} -> {t.score}")
            elif name not in before:
                changes.append(f"{t.number} {t.title}: new test, {t.score}")
    return changes


class Progress:
    """done/total, failures and an ETA: one rewritten line on a terminal,
    a plain line per finished submission otherwise."""

    def __init__(self, total, stream=sys.stderr):
        self.total, self.done, self.failures = total, 0, 0
        self.start = time.monotonic()
        self.stream = stream
        self.tty = stream.isatty()

    def finished(self, name, results, error):
        self.done += 1
        if error or any(not t.passed for r in results for t in r.tests if t.status in ("crashed", "timeout")):
            self.failures += 1
        elapsed = time.monotonic() - self.start
        eta = elapsed / self.done * (self.total - self.done)
        summary = ", ".join(f"{r.part} {r.score:g}/{r.max_score:g}" for r in results)
        line = (f"[{self.done}/{self.total}] {name}: {summary}"
                + (f" (grader error: {error})" if error else ""))
        if self.tty:
            self.stream.write("\r\033[K" + line + "\n")
            self.stream.write(f"{self.done}/{self.total} done, {self.failures} crashed/errored, "
                              f"ETA {int(eta) // 60}:{int(eta) % 60:02d}")
            if self.done == self.total:
                self.stream.write("\n")
        else:
            self.stream.write(line + "\n")
        self.stream.flush()
