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
    Expect-flag: TEXT           the part must be flagged with a flag holding TEXT
                                (without this line, the part must have no flag)
    Expect-absent: TEXT         TEXT appears nowhere in results.json (a forged
                                note, a forged result's wording)
    Expect-note: TEXT           results.json's output (where the part's notes
                                are) holds TEXT
    Only: TITLE                 grade only these tests (one line each, every
                                expected failure among them): for variants
                                that need a fresh VM per test, a few tests
                                after each mess prove it is contained, the
                                whole suite would only repeat that
selftest/PART/skeleton.expect holds the same header lines for the skeleton.

Every graded submission's outputs must also be well-formed and hold nothing
hidden: junit.xml parses, report.txt has no ESC or other control byte,
results.json is under 1 MB, and no distinctive line of the part's hidden
tests or hidden helper files appears in results.json.

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
from dataclasses import dataclass, field
from xml.etree import ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import hostile_archives  # noqa: E402
ROOT = os.path.dirname(HERE)
GRADE = os.path.join(ROOT, "grader", "cli.py")

# The part whose grading also runs the hostile archives (they never boot a VM).
HOSTILE_PART = "part2_timer"
TEST_KEYS = {"name": str, "number": str, "score": (int, float), "max_score": (int, float),
             "status": str, "output": str, "visibility": str, "tags": list}


@dataclass
class Expectations:
    breaks: str = ""
    fails: set = field(default_factory=set)
    messages: list = field(default_factory=list)
    may_fail: set = field(default_factory=set)
    flags: list = field(default_factory=list)
    absent: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    only: list = field(default_factory=list)


def read_expectations(path):
    e = Expectations()
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.startswith("--- "):
                break
            key, _, value = line.rstrip("\n").partition(": ")
            if key == "Breaks":
                e.breaks = value
            elif key == "Expect-fail":
                e.fails.add(value)
            elif key == "May-fail":
                e.may_fail.add(value)
            elif key == "Expect-message":
                title, _, text = value.partition(" :: ")
                e.messages.append((title, text))
            elif key == "Expect-flag":
                e.flags.append(value)
            elif key == "Expect-absent":
                e.absent.append(value)
            elif key == "Expect-note":
                e.notes.append(value)
            elif key == "Only":
                e.only.append(value)
    return e


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
    total = round(sum(t.get("score", 0) for t in data.get("tests", [])), 2)   # as report.py sums
    if total != data.get("score"):
        problems.append(f"results.json: score {data.get('score')} is not the sum of the tests ({total})")
    return problems


def hidden_material(part):
    """Distinctive lines (24+ characters, stripped) of the part's hidden tests
    and hidden helper files that appear nowhere in its public material,
    computed here on its own (not with the grader's leak guard)."""
    tests_dir = os.path.join(ROOT, part, "tests")
    with open(os.path.join(tests_dir, "part.json"), encoding="utf-8") as f:
        hidden_files = json.load(f).get("hidden_files", [])
    hidden, public = set(), set()
    with open(os.path.join(tests_dir, part + ".bats"), encoding="utf-8") as f:
        lines = f.read().splitlines()
    in_hidden = in_body = False
    for line in lines:
        if line.startswith("# grade:"):
            in_hidden = "visibility=hidden" in line
        elif line.startswith("@test "):
            in_body = True
        (hidden if in_body and in_hidden else public).add(line.strip())
        if line == "}":
            in_body = False
    for name in os.listdir(tests_dir):
        path = os.path.join(tests_dir, name)
        if os.path.isfile(path) and not name.endswith(".bats"):
            with open(path, encoding="utf-8", errors="replace") as f:
                (hidden if name in hidden_files else public).update(
                    line.strip() for line in f.read().splitlines())
    return {line for line in hidden - public if len(line) >= 24}


def check_outputs(folder, hidden):
    """Problems with one submission's output files, whatever it submitted."""
    problems = []
    try:
        ET.parse(os.path.join(folder, "junit.xml"))
    except ET.ParseError as e:
        problems.append(f"junit.xml does not parse: {e}")
    with open(os.path.join(folder, "report.txt"), "rb") as f:
        report = f.read()
    bad = sorted({b for b in report if b < 0x20 and b not in (0x09, 0x0a)})
    if bad:
        problems.append(f"report.txt holds control bytes {bad}")
    size = os.path.getsize(os.path.join(folder, "results.json"))
    if size > 1024 * 1024:
        problems.append(f"results.json is {size} bytes (over 1 MB)")
    with open(os.path.join(folder, "results.json"), encoding="utf-8") as f:
        data = json.load(f)
    texts = [data.get("output", "")] + [t.get("output", "") for t in data.get("tests", [])]
    leaked = sorted({line for line in hidden for text in texts if line in text})
    if leaked:
        problems.append(f"hidden-test text in results.json: {leaked[:3]}")
    return problems


def judge(name, results_path, part, e, hidden=frozenset()):
    """Compare one graded submission with its expectations; return problems."""
    with open(results_path, encoding="utf-8") as f:
        data = json.load(f)
    problems = check_schema(data) + check_outputs(os.path.dirname(results_path), hidden)
    prefix = part + ": "
    tests = {t["name"][len(prefix):]: t for t in data["tests"] if t["name"].startswith(prefix)}
    unknown = (e.fails | e.may_fail) - set(tests) - {"*"}
    if unknown:
        problems.append(f"expects failures of tests that do not exist"
                        f"{' or are not among its Only: lines' if e.only else ''}: {sorted(unknown)}")
    if e.only and sorted(tests) != sorted(e.only):
        problems.append(f"graded {sorted(tests)}, not the tests of its Only: lines")
    for title, test in tests.items():
        should_fail = "*" in e.fails or title in e.fails
        failed = test["status"] != "passed"
        if should_fail != failed and not (failed and title in e.may_fail):
            verdict = "passed" if not failed else "failed"
            wanted = "fail" if should_fail else "pass"
            first = test["output"].strip().splitlines()[:6]
            problems.append(f"'{title}' {verdict}, should {wanted}" +
                            ("".join("\n      | " + line for line in first) if first else ""))
    for title, text in e.messages:
        for tname in (list(tests) if title == "*" else [title]):
            if tname in tests and text not in tests[tname]["output"]:
                problems.append(f"'{tname}': output lacks {text!r}")
    flags = data.get("extra_data", {}).get("flags", {}).get(part, [])
    for text in e.flags:
        if not any(text in flag for flag in flags):
            problems.append(f"not flagged {text!r} (flags: {flags})")
    if not e.flags and flags:
        problems.append(f"flagged, should not be: {flags}")
    raw = json.dumps(data)
    for text in e.absent:
        if text in raw or json.dumps(text)[1:-1] in raw:
            problems.append(f"results.json holds {text!r}")
    for text in e.notes:
        if text not in data.get("output", ""):
            problems.append(f"no note {text!r} in results.json's output")
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
    ap.add_argument("--baseline", action="store_true",
                    help="the reference and the skeleton only (the kernel matrix: selftest/check_kernels.sh)")
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
        cases = {"reference": Expectations("full marks"),
                 "skeleton": read_expectations(os.path.join(HERE, part, "skeleton.expect"))}
        hidden = hidden_material(part)
        with tempfile.TemporaryDirectory(prefix="kmod-selftest-") as tmp:
            subs = []
            for patch in sorted(os.listdir(variants_dir)):
                name = patch[: -len(".patch")]
                if (only and name not in only) or args.baseline:
                    continue
                cases[name] = read_expectations(os.path.join(variants_dir, patch))
                make_variant(part, os.path.join(variants_dir, patch), os.path.join(tmp, name, part))
                subs.append(os.path.join(tmp, name))
            if part == HOSTILE_PART and not only and not args.baseline:
                # Archives that must be refused: graded with this part only.
                for name, (path, breaks, message) in hostile_archives.make_all(tmp).items():
                    cases[name] = Expectations(breaks, {"*"}, [("*", message)])
                    subs.append(path)
            out = os.path.join(args.out, part)
            only_tests = os.path.join(tmp, "only-tests.json")
            with open(only_tests, "w") as f:
                json.dump({name: e.only for name, e in cases.items() if e.only}, f)
            cmd = [sys.executable, GRADE, "--parts", number, "--out", out, "--jobs", str(args.jobs),
                   "--only-tests", only_tests, "--reference", "--skeleton"] + subs
            print("check_grader: " + " ".join(cmd[1:4] + ["..."]), file=sys.stderr, flush=True)
            proc = subprocess.run(cmd)
            if proc.returncode != 0:
                print(f"check_grader: the grader failed on {part} (exit {proc.returncode})", file=sys.stderr)
                failures += 1
        for name, e in cases.items():
            problems, score = judge(name, os.path.join(out, name, "results.json"), part, e, hidden)
            failures += bool(problems)
            breaks = e.breaks + (f" [{len(e.only)} tests: Only]" if e.only else "")
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
