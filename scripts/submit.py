#!/usr/bin/env python3
"""Students' `make submit`: check the kit and write submission.tar.gz.

Parts are due in different weeks: with --parts (make submit PART=2) only
those parts go in, and each must be ready; without it, every part that is
ready goes in and the others are named. Ready: the part's required files
exist and it builds (in the same sandbox the grader uses). Build products
and binaries are left out (grader/submission.py: is_build_product), the
archive is kept small, and a MANIFEST holds file hashes, the parts, git
HEAD if any, the time, and each part's latest `make check` summary. Prints what the archive holds and its sha256, and warns
when files owned by the grader were changed. Non-interactive; exit status 1
when nothing (or not every part asked for) is ready.

usage: submit.py [--parts LIST] [--out FILE] [--no-build]
"""
import argparse
import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "grader"))

import build  # noqa: E402
from parts import GraderError, discover_parts  # noqa: E402
from submission import is_build_product  # noqa: E402
import vm  # noqa: E402

MAX_FILE = 1024 * 1024          # bytes: a source file or trace is far smaller
MAX_TOTAL = 5 * 1024 * 1024


def part_files(part, problems, notes):
    """The files of one part that go into the submission."""
    folder = os.path.join(ROOT, part.name)
    chosen = []
    for name in sorted(os.listdir(folder)):
        path = os.path.join(folder, name)
        if not os.path.isfile(path) or os.path.islink(path) or name.startswith("."):
            continue
        if is_build_product(path, part.conf.get("outputs", [])):
            notes.append(f"left out {part.name}/{name} (a build product or binary)")
            continue
        if os.path.getsize(path) > MAX_FILE:
            problems.append(f"{part.name}/{name} is larger than {MAX_FILE // 1024} kB")
            continue
        chosen.append(name)
    for name in part.conf.get("submit_files", []):
        if name not in chosen:
            problems.append(f"{part.name}/{name} is missing (the handout says how to make it)")
    return chosen


def builds(part, assets):
    with tempfile.TemporaryDirectory(prefix="kmod-submit-") as work:
        os.chmod(work, 0o711)
        out = os.path.join(work, "out")
        status, log = build.build_part(part, part.path, os.path.join(work, "src"), out,
                                       assets["KDIR"])
        missing = [f for f in part.conf["outputs"] if not os.path.exists(os.path.join(out, f))]
        errors = build.error_lines(log, 5)
        return status == 0 and not missing, errors


def changed_grader_files():
    path = os.path.join(ROOT, "kit.sha256")
    if not os.path.isfile(path):
        return []
    changed = []
    with open(path) as f:
        for line in f:
            digest, rel = line.rstrip("\n").split("  ", 1)
            try:
                with open(os.path.join(ROOT, rel), "rb") as g:
                    if hashlib.sha256(g.read()).hexdigest() != digest:
                        changed.append(rel)
            except FileNotFoundError:
                changed.append(rel + " (deleted)")
    return changed


def git_head():
    try:
        out = subprocess.run(["git", "-C", ROOT, "rev-parse", "HEAD"], capture_output=True, text=True)
        return out.stdout.strip() if out.returncode == 0 else "none"
    except OSError:
        return "none"


def check_summary(part, names):
    """The part's latest `make check` (.check/PART/results.json), and
    whether a submitted file changed after it."""
    path = os.path.join(ROOT, ".check", part.name, "results.json")
    try:
        with open(path) as f:
            data = json.load(f)
        checked = os.path.getmtime(path)
    except (OSError, ValueError):
        return f"{part.name}: make check has not been run"
    tests = data.get("tests", [])
    passed = sum(1 for t in tests if t.get("status") == "passed")
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(checked))
    text = (f"{part.name}: make check {when}: {passed}/{len(tests)} public tests passed, "
            f"{data.get('score', 0):g} points")
    newer = [n for n in names if os.path.getmtime(os.path.join(part.path, n)) > checked]
    if newer:
        text += f" (before the latest change to {', '.join(newer)})"
    return text


def parse_parts(text):
    try:
        return [int(p) for p in text.split(",") if p.strip()]
    except ValueError:
        raise SystemExit(f"submit: PART takes part numbers, e.g. PART=2 or PART=1,2 (not {text!r})")


def ready_parts(parts, build):
    """Per part: its files, or None and the reasons it is not ready."""
    assets = vm.read_assets() if build else None
    chosen, notes = {}, []
    for part in parts:
        problems = []
        names = part_files(part, problems, notes)
        if build and not problems:
            ok, errors = builds(part, assets)
            if not ok:
                problems.append(f"{part.name} does not build:\n      " + "\n      ".join(errors))
        chosen[part.name] = (part, names, problems)
    return chosen, notes


def write_archive(out, chosen):
    """The tarball of the ready parts with its MANIFEST; returns the
    MANIFEST's lines."""
    manifest = [f"kmod-course submission, made {time.strftime('%Y-%m-%d %H:%M:%S %z')}",
                f"git HEAD: {git_head()}", "parts: " + " ".join(chosen)]
    manifest += [check_summary(part, names) for part, names in chosen.values()] + [""]
    with tarfile.open(out, "w:gz") as tar:
        body = []
        for part, names in chosen.values():
            for name in names:
                path = os.path.join(part.path, name)
                with open(path, "rb") as f:
                    body.append(f"{hashlib.sha256(f.read()).hexdigest()}  {part.name}/{name}")
                tar.add(path, arcname=f"{part.name}/{name}", recursive=False)
        manifest += body
        data = ("\n".join(manifest) + "\n").encode()
        info = tarfile.TarInfo("MANIFEST")
        info.size, info.mtime = len(data), int(time.time())
        tar.addfile(info, io.BytesIO(data))
    return manifest


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--parts", default="",
                    help="the parts to submit, e.g. 2 or 1,2 (default: every part that is ready)")
    ap.add_argument("--out", help="the archive (default: submission.tar.gz, or "
                                  "submission-partN.tar.gz for one part)")
    ap.add_argument("--no-build", action="store_true", help="skip the build check")
    args = ap.parse_args(argv)
    wanted = parse_parts(args.parts)
    try:
        parts = discover_parts(wanted)
    except GraderError as e:
        print(f"submit: {e}", file=sys.stderr)
        return 2
    chosen, notes = ready_parts(parts, not args.no_build)
    for note in notes:
        print(f"submit: {note}")
    for rel in changed_grader_files():
        print(f"submit: warning: {rel} belongs to the grader and was changed; the grader uses its own copy")
    not_ready = {n: problems for n, (_, _, problems) in chosen.items() if problems}
    for name, problems in not_ready.items():
        print(f"submit: {name} is not ready:\n    " + "\n    ".join(problems), file=sys.stderr)
    ready = {n: (p, names) for n, (p, names, problems) in chosen.items() if not problems}
    if not ready or (wanted and not_ready):
        print("submit: nothing written" + (" (fix the part above, or submit another: make submit PART=N)"
                                           if wanted else ""), file=sys.stderr)
        return 1
    total = sum(os.path.getsize(os.path.join(p.path, n)) for p, names in ready.values() for n in names)
    if total > MAX_TOTAL:
        print(f"submit: the submission is {total // 1024} kB; the limit is {MAX_TOTAL // 1024} kB",
              file=sys.stderr)
        return 1
    out = args.out or os.path.join(ROOT, "submission.tar.gz" if not wanted else
                                   "submission-" + "-".join(f"part{n}" for n in wanted) + ".tar.gz")
    manifest = write_archive(out, ready)
    with open(out, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    print("\n".join(manifest[2:]))
    if not_ready:
        print(f"submit: left out (not ready): {', '.join(not_ready)}")
    print(f"submit: wrote {out}\nsubmit: sha256 {digest}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
