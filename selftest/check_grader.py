#!/usr/bin/env python3
"""Prove the grader right: grade the reference solutions (full marks), the
skeletons (their baseline) and every deliberately broken variant, and check
that each loses exactly the tests its patch header names.

Variants live in selftest/PART/variants/NAME.patch: a patch against the
reference part folder (skeleton files + solution/), preceded by header lines
    Breaks: what the variant gets wrong (for people)
    Expect-fail: TITLE          one line per test that must fail ("*": all)
    Expect-message: TITLE :: TEXT   the failure output must contain TEXT ("*": every test)
    May-fail: TITLE             a test that may fail too, or not: for a race,
                                which of the tests reading concurrently
                                catches it depends on timing
selftest/PART/skeleton.expect holds the same header lines for the skeleton.

With part 2 it also grades the hostile archives of hostile_archives.py
(../ and absolute paths, links, devices, junk, size and file-count limits, a
missing part): every test must fail with the archive's reason.

Also checks: results.json follows the Gradescope schema, no qemu is left
running, and the host kernel loaded no module while grading.

usage: check_grader.py [--parts 2] [--jobs N] [--out DIR] [--only NAME,...]
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import hostile_archives  # noqa: E402
ROOT = os.path.dirname(HERE)
GRADE = os.path.join(ROOT, "grader", "grade.py")

# The part whose grading also runs the hostile archives (they never boot a VM).
HOSTILE_PART = "part2_timer"
TEST_KEYS = {"name": str, "number": str, "score": (int, float), "max_score": (int, float),
             "status": str, "output": str, "visibility": str, "tags": list}


def read_expectations(path):
    breaks, fails, messages, may_fail = "", set(), [], set()
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.startswith("--- "):
                break
            key, _, value = line.rstrip("\n").partition(": ")
            if key == "Breaks":
                breaks = value
            elif key == "Expect-fail":
                fails.add(value)
            elif key == "May-fail":
                may_fail.add(value)
            elif key == "Expect-message":
                title, _, text = value.partition(" :: ")
                messages.append((title, text))
    return breaks, fails, messages, may_fail


def make_variant(part, patch, dest):
    """The reference part folder with the variant's patch applied."""
    src = os.path.join(ROOT, part)
    os.makedirs(dest)
    for folder in (src, os.path.join(src, "solution")):
        for name in os.listdir(folder):
            if os.path.isfile(os.path.join(folder, name)):
                shutil.copy(os.path.join(folder, name), dest)
    with open(patch, "rb") as f:
        subprocess.run(["patch", "--quiet", "--remove-empty-files", "-p1", "-d", dest], stdin=f, check=True)


def check_schema(data):
    problems = []
    for key, kind in (("score", (int, float)), ("execution_time", (int, float)),
                      ("output", str), ("tests", list)):
        if not isinstance(data.get(key), kind):
            problems.append(f"results.json: top-level '{key}' missing or of the wrong type")
    for test in data.get("tests", []):
        for key, kind in TEST_KEYS.items():
            if not isinstance(test.get(key), kind):
                problems.append(f"results.json: test {test.get('name')!r}: '{key}' missing or wrong")
        if test.get("status") not in ("passed", "failed"):
            problems.append(f"results.json: test {test.get('name')!r}: bad status")
        if test.get("visibility") not in ("visible", "hidden", "after_due_date", "after_published"):
            problems.append(f"results.json: test {test.get('name')!r}: bad visibility")
    total = sum(t.get("score", 0) for t in data.get("tests", []))
    if total != data.get("score"):
        problems.append(f"results.json: score {data.get('score')} is not the sum of the tests ({total})")
    return problems


def judge(name, results_path, part, expect_fail, messages, may_fail=frozenset()):
    """Compare one graded submission with its expectations; return problems."""
    with open(results_path, encoding="utf-8") as f:
        data = json.load(f)
    problems = check_schema(data)
    prefix = part + ": "
    tests = {t["name"][len(prefix):]: t for t in data["tests"] if t["name"].startswith(prefix)}
    unknown = (expect_fail | may_fail) - set(tests) - {"*"}
    if unknown:
        problems.append(f"expects failures of tests that do not exist: {sorted(unknown)}")
    for title, test in tests.items():
        should_fail = "*" in expect_fail or title in expect_fail
        failed = test["status"] != "passed"
        if should_fail != failed and not (failed and title in may_fail):
            verdict = "passed" if not failed else "failed"
            wanted = "fail" if should_fail else "pass"
            first = test["output"].strip().splitlines()[:6]
            problems.append(f"'{title}' {verdict}, should {wanted}" +
                            ("".join("\n      | " + line for line in first) if first else ""))
    for title, text in messages:
        for name in (list(tests) if title == "*" else [title]):
            if name in tests and text not in tests[name]["output"]:
                problems.append(f"'{name}': output lacks {text!r}")
    score = data["score"]
    most = sum(t["max_score"] for t in data["tests"])
    return problems, f"{score}/{most}"


def qemu_processes():
    out = subprocess.run(["pgrep", "-a", "qemu-system"], stdout=subprocess.PIPE, text=True)
    return out.stdout.strip()


def host_modules():
    """Modules the host kernel has loaded (none to see where it has no
    module support: then it certainly loaded none)."""
    try:
        with open("/proc/modules") as f:
            return {line.split()[0] for line in f}
    except FileNotFoundError:
        return set()


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--parts", default="", help="part numbers, e.g. 2 (default: every part with self-tests)")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--out", default=os.path.join(ROOT, "selftest", "out"))
    ap.add_argument("--only", default="", help="variant names to run (reference and skeleton always run)")
    args = ap.parse_args(argv)
    wanted = {int(p) for p in args.parts.split(",") if p.strip()}
    only = {v for v in args.only.split(",") if v}
    parts = sorted(d for d in os.listdir(HERE) if os.path.isdir(os.path.join(HERE, d))
                   and d.startswith("part") and (not wanted or int(d[4:].split("_")[0]) in wanted))
    if not parts:
        print("check_grader: no parts with self-tests selected", file=sys.stderr)
        return 2
    if os.path.exists(args.out):
        shutil.rmtree(args.out)
    modules_before = host_modules()
    failures, rows = 0, []
    for part in parts:
        number = part[4:].split("_")[0]
        variants_dir = os.path.join(HERE, part, "variants")
        cases = {"reference": ("full marks", set(), [], set()),
                 "skeleton": read_expectations(os.path.join(HERE, part, "skeleton.expect"))}
        with tempfile.TemporaryDirectory(prefix="kmod-selftest-") as tmp:
            subs = []
            for patch in sorted(os.listdir(variants_dir)):
                name = patch[: -len(".patch")]
                if only and name not in only:
                    continue
                cases[name] = read_expectations(os.path.join(variants_dir, patch))
                make_variant(part, os.path.join(variants_dir, patch), os.path.join(tmp, name, part))
                subs.append(os.path.join(tmp, name))
            if part == HOSTILE_PART and not only:
                # Archives that must be refused: graded with this part only.
                for name, (path, breaks, message) in hostile_archives.make_all(tmp).items():
                    cases[name] = (breaks, {"*"}, [("*", message)], set())
                    subs.append(path)
            out = os.path.join(args.out, part)
            cmd = [sys.executable, GRADE, "--parts", number, "--out", out, "--jobs", str(args.jobs),
                   "--reference", "--skeleton"] + subs
            print("check_grader: " + " ".join(cmd[1:4] + ["..."]), file=sys.stderr, flush=True)
            proc = subprocess.run(cmd)
            if proc.returncode != 0:
                print(f"check_grader: the grader failed on {part} (exit {proc.returncode})", file=sys.stderr)
                failures += 1
        for name, (breaks, expect_fail, messages, may_fail) in cases.items():
            problems, score = judge(name, os.path.join(out, name, "results.json"), part,
                                    expect_fail, messages, may_fail)
            failures += bool(problems)
            rows.append((part, name, score, "ok" if not problems else "WRONG", breaks, problems))
    for path in hostile_archives.escaped():
        print(f"WRONG  a hostile archive wrote outside its folder: {path}")
        failures += 1
    leftover = qemu_processes()
    loaded = host_modules() - modules_before
    print()
    for part, name, score, verdict, breaks, problems in rows:
        print(f"{verdict:<6} {part:<13} {name:<22} {score:>8}  {breaks}")
        for p in problems:
            print(f"         - {p}")
    if leftover:
        print(f"WRONG  qemu processes left running:\n{leftover}")
        failures += 1
    if loaded:
        print(f"WRONG  the host kernel loaded modules while grading: {sorted(loaded)}")
        failures += 1
    checks = len(rows) + 2
    print(f"\ngrader-selftest: {checks - failures} passed, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
