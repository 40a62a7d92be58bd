#!/usr/bin/env python3
"""`make release`: the student starter kit, dist/starter.tar.gz.

It holds the skeletons, Makefiles, tools, the public tests, the VM runner
and the grader (so `make check`, `make shell` and `make submit` work), the
handouts, and a student README. It never holds reference solutions, hidden
tests (neither their bodies in the suites nor the helpers only they run, a
part's "hidden_files" in tests/part.json) or the grader's self-tests.
kit.sha256 lists the files the grader owns, so `make submit` can warn when a
student changed one.

usage: release.py [--out FILE]
"""
import argparse
import hashlib
import io
import json
import os
import re
import sys
import tarfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
import handouts  # noqa: E402
TOP = "starter"
# Whole folders copied as they are (the VM runner and the grader).
FOLDERS = ["grader", "vm"]
FILES = {"kit/Makefile": "Makefile", "kit/README.md": "README.md", "kit/gitignore": ".gitignore",
         "course.conf": "course.conf", "scripts/install-deps.sh": "scripts/install-deps.sh",
         "scripts/submit.py": "scripts/submit.py"}
SKIP = re.compile(r"(^|/)(__pycache__|solution|\.check)(/|$)|\.(o|ko|pyc)$")
GRADE_LINE = re.compile(r"^#\s*grade:.*\bvisibility=hidden\b")


def public_suite(text):
    """The bats file with each hidden test cut down to its grade line and a
    '# hidden @test "TITLE"' comment (a hidden test runs from its '# grade:'
    line to the '}' that closes it at the start of a line): students see what
    is tested and for how many points, numbered as in the handouts, not how."""
    out, skipping = [], False
    for line in text.splitlines(keepends=True):
        if GRADE_LINE.match(line):
            skipping = True
            out.append(line)
            continue
        if not skipping:
            out.append(line)
        elif line.startswith("@test"):
            out.append("# hidden " + line.split("{")[0].rstrip() + "\n")
        elif line.rstrip("\n") == "}":
            skipping = False
    return "".join(out)


def hidden_files(part):
    """The files of PART's tests/ that only hidden tests use ("hidden_files"
    in tests/part.json), as paths relative to ROOT: never in the kit."""
    with open(os.path.join(ROOT, part, "tests", "part.json"), encoding="utf-8") as f:
        names = json.load(f).get("hidden_files", [])
    hidden = {f"{part}/tests/{name}" for name in names}
    for rel in sorted(hidden):
        if not os.path.isfile(os.path.join(ROOT, rel)):
            # A renamed helper must not ship under its new name unnoticed.
            sys.exit(f"release.py: {rel} is listed in hidden_files but does not exist")
    return hidden


def part_files(part):
    """(path in the repository, path in the kit, replacement text or None)."""
    base = os.path.join(ROOT, part)
    hidden = hidden_files(part)
    for folder, dirs, files in os.walk(base):
        dirs[:] = sorted(d for d in dirs if not SKIP.search(d))
        for name in sorted(files):
            path = os.path.join(folder, name)
            rel = os.path.relpath(path, ROOT)
            if SKIP.search(rel) or rel in hidden:
                continue
            if rel.endswith(".bats"):
                with open(path, encoding="utf-8") as f:
                    yield path, rel, public_suite(f.read())
            else:
                yield path, rel, None


def kit_entries():
    for src, dest in FILES.items():
        yield os.path.join(ROOT, src), dest, None
    for folder in FOLDERS:
        for base, dirs, files in os.walk(os.path.join(ROOT, folder)):
            dirs[:] = sorted(d for d in dirs if not SKIP.search(d))
            for name in sorted(files):
                path = os.path.join(base, name)
                if not SKIP.search(name):
                    yield path, os.path.relpath(path, ROOT), None
    for entry in sorted(os.listdir(ROOT)):
        if re.match(r"^part\d+_\w+$", entry) and os.path.isfile(os.path.join(ROOT, entry, "tests", "part.json")):
            yield from part_files(entry)
    folder = os.path.join(ROOT, "handouts")
    for name in sorted(os.listdir(folder)):
        if name.endswith((".pdf", ".html")):
            yield os.path.join(folder, name), f"handouts/{name}", None


def grader_owned(rel):
    """Files students must not change: the tests, tools and the grader."""
    return ("/tests/" in rel or rel.startswith(("grader/", "vm/", "scripts/"))
            or rel.endswith("_uapi.h") or "/tools/" in rel)


def build(out):
    os.makedirs(os.path.dirname(out) or ".", exist_ok=True)
    hashes = []
    with tarfile.open(out, "w:gz") as tar:
        for path, rel, text in kit_entries():
            if text is not None:
                data = text.encode()
            else:
                with open(path, "rb") as f:
                    data = f.read()
            info = tarfile.TarInfo(f"{TOP}/{rel}")
            info.size = len(data)
            info.mode = 0o755 if os.access(path, os.X_OK) else 0o644
            tar.addfile(info, io.BytesIO(data))
            if grader_owned(rel):
                hashes.append(f"{hashlib.sha256(data).hexdigest()}  {rel}\n")
        data = "".join(hashes).encode()
        info = tarfile.TarInfo(f"{TOP}/kit.sha256")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return out


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=os.path.join(ROOT, "dist", "starter.tar.gz"))
    args = ap.parse_args(argv)
    # The kit ships the rendered handouts (every {{KEY}} filled), never
    # their sources; make release renders them first.
    old = handouts.stale(os.path.join(ROOT, "handouts"))
    if old:
        print(f"release: handouts/ is not rendered from the current assignments/ and course.conf "
              f"({', '.join(old)}): run make handouts (make release does)", file=sys.stderr)
        return 1
    path = build(args.out)
    with tarfile.open(path) as tar:
        count = len(tar.getnames())
    print(f"release: wrote {path} ({count} files)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
