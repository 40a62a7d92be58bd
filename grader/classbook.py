"""Per-class outputs of a grading run: the score table, grades.csv,
summary.txt, the live progress line, and what a regrade changed.

A submission's status (grades.csv, the table) says, first that applies:
  grader error                         the grader itself failed
  flagged: FIRST HARD FLAG (+N more)   a part has a hard flag (N: its other flags)
  review: FIRST SOFT FLAG (+N more)    only soft flags ("review: ..."), as worded
  graded (crashed) / graded (timeout)  a test crashed the VM or hung
  graded
"""
import csv
import json
import os
import re
import sys
import time
from collections import Counter

import sanitize

SHOWN_FAILURES = 10
# What grade.reserve_out_dir renames earlier results to: NAME.previous-STAMP[-N]
# (a submission may itself be called "x.previous-final").
EARLIER = re.compile(r"\.previous-\d{8}-\d{6}(-\d+)?$")
STATUS_FLAG_CAP = 200     # characters of the flag quoted in a status
TABLE_STATUS_CAP = 70     # characters of a status in the printed table
SOFT_FLAG = "review:"     # as report.SOFT_FLAG


def load_class(out_root):
    """Every submission graded into out_root (earlier, renamed results are
    left out): {name: results.json data}."""
    graded = {}
    for name in sorted(os.listdir(out_root)):
        path = os.path.join(out_root, name, "results.json")
        if EARLIER.search(name) or not os.path.isfile(path):
            continue
        try:
            with open(path, encoding="utf-8") as f:
                graded[name] = json.load(f)
        except ValueError:
            continue
    return graded


def _dict(value):
    return value if isinstance(value, dict) else {}


def _as_list(value):
    """A list of flags, whatever junk stands for it (None: none)."""
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return [v for v in value if v is not None]
    return [value]


def flags_of(data):
    """[(part, flag)] from results.json's extra_data.flags, in part order;
    whatever is not a part name with a list of strings is made one."""
    flags = _dict(_dict(data).get("extra_data")).get("flags")
    return [(sanitize.one_line(part, 100), sanitize.one_line(f, 1024))
            for part, items in _dict(flags).items() for f in _as_list(items)]


def crash_status(data):
    """'grader error', 'graded (crashed)', 'graded (timeout)' or 'graded'
    (what happened to the run, leaving flags aside)."""
    if _dict(_dict(data).get("extra_data")).get("grader_error"):
        return "grader error"
    tests = _dict(data).get("tests")
    statuses = {_dict(_dict(t).get("extra_data")).get("status")
                for t in (tests if isinstance(tests, list) else [])}
    for word in ("crashed", "timeout"):
        if word in statuses:
            return f"graded ({word})"
    return "graded"


def status_of(data):
    """The status column: see the module's docstring."""
    status = crash_status(data)
    if status == "grader error":
        return status
    flags = [f for _, f in flags_of(data)]
    hard = [f for f in flags if not f.startswith(SOFT_FLAG)]
    if flags:
        first = hard[0] if hard else flags[0]
        if len(first) > STATUS_FLAG_CAP:
            first = first[:STATUS_FLAG_CAP - 3] + "..."
        more = f" (+{len(flags) - 1} more)" if len(flags) > 1 else ""
        return f"flagged: {first}{more}" if hard else f"{first}{more}"
    return status


def part_scores(data, parts):
    scores = data.get("extra_data", {}).get("parts", {})
    return [scores.get(p.name) for p in parts]


def print_table(graded, parts, stream=None):
    stream = sys.stdout if stream is None else stream   # (at call time: redirected counts)
    header = ["submission"] + [p.name for p in parts] + ["total", "status"]
    table = [header]
    for name, data in graded.items():
        cells = [f"{s[0]:g}/{s[1]:g}" if s else "-" for s in part_scores(data, parts)]
        most = sum(t["max_score"] for t in data["tests"])
        status = status_of(data)
        if len(status) > TABLE_STATUS_CAP:
            status = status[:TABLE_STATUS_CAP - 3] + "..."
        table.append([sanitize.one_line(name, 100)] + cells
                     + [f"{data['score']:g}/{most:g}", status])
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for row in table:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip(), file=stream)


def write_class(out_root, parts):
    """grades.csv and summary.txt of out_root, over every submission graded
    into it (load_class): the one place both are written, by a grading run
    (grade.py) and by the merge of shards (shard.py), so that merged shards
    and one unsharded run write the same bytes. Neither file holds a time,
    a host or a job count. parts: anything with a .name, in part order.
    Returns the submissions read, {name: results.json data}."""
    graded = load_class(out_root)
    write_gradebook(os.path.join(out_root, "grades.csv"), graded, parts)
    write_summary(os.path.join(out_root, "summary.txt"), graded, parts)
    return graded


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
    trouble = [(name, crash_status(data)) for name, data in graded.items()
               if crash_status(data) != "graded"]
    lines += ["", "submissions that crashed, hung or broke the grader:"]
    lines += ([f"  {sanitize.one_line(name, 100)}: {status}" for name, status in trouble]
              or ["  none"])
    lines += ["", "flagged submissions:"]
    flagged = 0
    for name, data in graded.items():
        flags = flags_of(data)
        if not flags:
            continue
        flagged += 1
        lines.append(f"  {sanitize.one_line(name, 100)}: {status_of(data)}")
        for part, flag in flags:
            word = "review" if flag.startswith(SOFT_FLAG) else "FLAGGED"
            lines.append(f"    {word}  {part}: {flag}")
    if not flagged:
        lines.append("  none")
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

    def __init__(self, total, stream=None):
        self.total, self.done, self.failures, self.flagged = total, 0, 0, 0
        self.start = time.monotonic()
        self.stream = sys.stderr if stream is None else stream
        self.tty = self.stream.isatty()

    def finished(self, name, results, error):
        self.done += 1
        if error or any(not t.passed for r in results for t in r.tests if t.status in ("crashed", "timeout")):
            self.failures += 1
        elapsed = time.monotonic() - self.start
        eta = elapsed / self.done * (self.total - self.done)
        flags = [f for r in results for f in _as_list(getattr(r, "flags", None))]
        hard = [f for f in flags if not (isinstance(f, str) and f.startswith(SOFT_FLAG))]
        if flags:
            self.flagged += 1
        summary = ", ".join(f"{r.part} {r.score:g}/{r.max_score:g}" for r in results)
        line = sanitize.one_line(
            f"[{self.done}/{self.total}] {name}: {summary}"
            + (f" (grader error: {error})" if error else "")
            + (f" [flagged: {len(flags)} flag(s)]" if hard else
               f" [review: {len(flags)} flag(s)]" if flags else ""), 1000)
        if self.tty:
            self.stream.write("\r\033[K" + line + "\n")
            self.stream.write(f"{self.done}/{self.total} done, {self.failures} crashed/errored, "
                              f"{self.flagged} flagged, "
                              f"ETA {int(eta) // 60}:{int(eta) % 60:02d}")
            if self.done == self.total:
                self.stream.write("\n")
        else:
            self.stream.write(line + "\n")
        self.stream.flush()
