#!/usr/bin/env python3
"""Students' `make submit`: check the kit and write submission.tar.gz.

Checks that every part's required files exist and that every part builds
(in the same sandbox the grader uses), leaves out build products and
binaries, keeps the archive small, and writes a MANIFEST (file hashes, git
HEAD if any, time, the latest `make check` summary). Prints what the archive
holds and its sha256, and warns when files owned by the grader were changed.
Non-interactive; exit status 1 when the submission is not ready.

usage: submit.py [--out FILE] [--no-build]
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

import grade  # noqa: E402

MAX_FILE = 1024 * 1024          # bytes: a source file or trace is far smaller
MAX_TOTAL = 5 * 1024 * 1024
PRODUCTS = (".o", ".ko", ".mod", ".mod.c", ".mod.o", ".cmd", ".symvers", ".order", ".a", ".so")


def is_binary(path):
    with open(path, "rb") as f:
        head = f.read(4096)
    return head.startswith(b"\x7fELF") or b"\0" in head


def part_files(part, problems, notes):
    """The files of one part that go into the submission."""
    folder = os.path.join(ROOT, part.name)
    chosen = []
    for name in sorted(os.listdir(folder)):
        path = os.path.join(folder, name)
        if not os.path.isfile(path) or os.path.islink(path) or name.startswith("."):
            continue
        if name.endswith(PRODUCTS) or name in part.conf.get("outputs", []) or is_binary(path):
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
        status, log = grade.build_part(part, part.path, os.path.join(work, "src"), out,
                                       assets["KDIR"])
        missing = [f for f in part.conf["outputs"] if not os.path.exists(os.path.join(out, f))]
        errors = [line for line in log.splitlines() if "error" in line.lower()][:5]
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


def check_summary():
    path = os.path.join(ROOT, ".check", "check", "results.json")
    try:
        with open(path) as f:
            data = json.load(f)
    except (OSError, ValueError):
        return "make check has not been run"
    passed = sum(1 for t in data["tests"] if t["status"] == "passed")
    return f"make check: {passed}/{len(data['tests'])} public tests passed, {data['score']:g} points"


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=os.path.join(ROOT, "submission.tar.gz"))
    ap.add_argument("--no-build", action="store_true", help="skip the build check")
    args = ap.parse_args(argv)
    parts = grade.discover_parts()
    problems, notes, files = [], [], {}
    for part in parts:
        files[part.name] = part_files(part, problems, notes)
    if not args.no_build:
        assets = grade.read_assets()
        for part in parts:
            ok, errors = builds(part, assets)
            if not ok:
                problems.append(f"{part.name} does not build:\n    " + "\n    ".join(errors))
    total = sum(os.path.getsize(os.path.join(ROOT, p, n)) for p, names in files.items() for n in names)
    if total > MAX_TOTAL:
        problems.append(f"the submission is {total // 1024} kB; the limit is {MAX_TOTAL // 1024} kB")
    for note in notes:
        print(f"submit: {note}")
    for rel in changed_grader_files():
        print(f"submit: warning: {rel} belongs to the grader and was changed; the grader uses its own copy")
    if problems:
        print("submit: not ready:\n  " + "\n  ".join(problems), file=sys.stderr)
        return 1
    manifest = [f"kmod-course submission, made {time.strftime('%Y-%m-%d %H:%M:%S %z')}",
                f"git HEAD: {git_head()}", check_summary(), ""]
    with tarfile.open(args.out, "w:gz") as tar:
        for part, names in files.items():
            for name in names:
                path = os.path.join(ROOT, part, name)
                with open(path, "rb") as f:
                    manifest.append(f"{hashlib.sha256(f.read()).hexdigest()}  {part}/{name}")
                tar.add(path, arcname=f"{part}/{name}", recursive=False)
        data = ("\n".join(manifest) + "\n").encode()
        info = tarfile.TarInfo("MANIFEST")
        info.size, info.mtime = len(data), int(time.time())
        tar.addfile(info, io.BytesIO(data))
    with open(args.out, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    print("\n".join(manifest[4:]))
    print(f"submit: wrote {args.out}\nsubmit: sha256 {digest}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
