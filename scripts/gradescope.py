#!/usr/bin/env python3
"""`make gradescope`: the Gradescope autograder, dist/gradescope/autograder.zip.

Gradescope unpacks the zip in /autograder/source, runs setup.sh once to build
its image and run_autograder for every submission (gradescope/). The zip holds
the grader, the VM scripts, every part's tests/ whole (the hidden tests and
the helpers only they run, "hidden_files" in part.json, too) and
course.conf, under kmod-course/; never the reference solutions or the
self-tests. It also carries Debian's archive keyring, which setup.sh checks
the Debian packages with, and the course environment's image when
course.conf's COURSE_IMAGE names a file in the course folder (`make image`):
then every Gradescope grade uses exactly those bits.

usage: gradescope.py [--parts 2,3] [--out FILE]
"""
import argparse
import os
import re
import sys
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "grader"))
import course  # noqa: E402
from parts import GraderError, discover_parts  # noqa: E402

KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg"
FOLDERS = ["grader", "vm"]
FILES = ["scripts/install-deps.sh", "course.conf"]
SKIP = re.compile(r"(^|/)(__pycache__|solution|\.check)(/|$)|\.(o|ko|pyc|mod|cmd)$")


def tree(rel):
    """The files below ROOT/rel that the grader needs, as paths relative to ROOT."""
    for folder, dirs, files in os.walk(os.path.join(ROOT, rel)):
        dirs[:] = sorted(d for d in dirs if not SKIP.search(d))
        for name in sorted(files):
            path = os.path.relpath(os.path.join(folder, name), ROOT)
            if not SKIP.search(path):
                yield path


def add(archive, source, name, compress=zipfile.ZIP_DEFLATED):
    """Add a file keeping its mode (scripts stay executable)."""
    info = zipfile.ZipInfo.from_file(source, name)
    info.compress_type = compress
    with open(source, "rb") as f:
        archive.writestr(info, f.read())


def course_image():
    """The image file course.conf's COURSE_IMAGE names in the course folder
    (and its .sha256), as paths relative to ROOT; none for a URL or none."""
    image = course.load().get("COURSE_IMAGE", "")
    if not image or "://" in image:
        return []
    path = os.path.relpath(os.path.join(ROOT, image), ROOT)
    if path.startswith("..") or not os.path.isfile(os.path.join(ROOT, path)):
        sys.exit(f"gradescope.py: course.conf's COURSE_IMAGE={image} is not a file in the course folder "
                 "(make image writes one)")
    return [path] + [path + ".sha256"] * os.path.isfile(os.path.join(ROOT, path + ".sha256"))


def build(parts, out):
    if not os.path.isfile(KEYRING):
        sys.exit(f"gradescope.py: {KEYRING} is missing (apt-get install debian-archive-keyring)")
    numbers = ",".join(str(p.number) for p in parts)
    conf = (f"# Written by `make gradescope`: the parts this autograder grades.\n"
            f"PARTS={numbers}\n")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with zipfile.ZipFile(out + ".tmp", "w") as archive:
        for script in ("setup.sh", "run_autograder"):
            add(archive, os.path.join(ROOT, "gradescope", script), script)
        add(archive, KEYRING, "debian-archive-keyring.gpg")
        archive.writestr("gradescope.conf", conf)
        paths = [p for rel in FOLDERS + [p.name for p in parts] for p in tree(rel)] + FILES
        for path in paths:
            add(archive, os.path.join(ROOT, path), f"kmod-course/{path}")
        for path in course_image():
            add(archive, os.path.join(ROOT, path), f"kmod-course/{path}", zipfile.ZIP_STORED)
    os.replace(out + ".tmp", out)
    return numbers


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--parts", default="", help="comma-separated part numbers (default: all)")
    ap.add_argument("--out", default=os.path.join(ROOT, "dist", "gradescope", "autograder.zip"))
    args = ap.parse_args(argv)
    try:
        wanted = [int(p) for p in args.parts.split(",") if p.strip()]
        parts = discover_parts(wanted)
    except ValueError:
        ap.error("--parts takes numbers, e.g. --parts 2 or --parts 1,2")
    except GraderError as e:
        ap.error(str(e))
    numbers = build(parts, args.out)
    size = os.path.getsize(args.out) / 1024
    shown = os.path.relpath(args.out)
    if shown.startswith(".."):
        shown = args.out
    print(f"{shown}: the autograder for part(s) {numbers} ({size:.0f} KB). "
          "Upload it on Gradescope (Configure Autograder, Ubuntu base image); see docs/gradescope.md")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
