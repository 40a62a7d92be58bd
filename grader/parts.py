"""The course's parts: each partN_NAME/ folder with a tests/part.json, its
grading suite tests/partN_NAME.bats and the rubric read from it.

part.json says how the grader builds and checks the part; it is validated
here, so a typo in a key or a wrong type stops the grader with the file and
the key named, before any submission is touched:

  outputs        files the build must make (["my_timer.ko"]): the only ones
                 the sandbox hands back; a .ko among them is a module
  build          commands, each a list of words; {KDIR}, {BUILD} and any
                 course.conf key are filled in (default: kbuild's modules)
  build_timeout  seconds the build may take (default 120)
  tools          {"files", "build", "outputs"}: programs the tests run,
                 built from the course's files alone (part 3's elevator-ctl)
  grader_files   course files copied over the student's before the build
  submit_files   what `make submit` packs
  hidden_files   helpers of hidden tests, left out of the starter kit
  info_forms     regular expressions: the only @@info notes the part sends
  symbols        {"allow": [...]}: the kernel functions its modules may call
"""
import json
import os
import re
from dataclasses import dataclass

import rubric

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PART_DIR = re.compile(r"^part(\d+)_\w+$")
DEFAULT_BUILD_TIMEOUT = 120


class GraderError(Exception):
    """The grader itself failed (not the submission)."""


@dataclass
class Part:
    name: str            # part2_timer
    number: int          # 2
    path: str            # folder in this repository
    bats: str            # its grading suite
    tests: list          # rubric.TestSpecs
    conf: dict           # tests/part.json, validated
    build_timeout: int
    suite_size: int = 0  # tests in the bats file (more than `tests` with --public)


def _words(value):
    return isinstance(value, list) and all(isinstance(w, str) for w in value)


def _commands(value):
    return isinstance(value, list) and bool(value) and all(_words(c) and c for c in value)


def _seconds(value):
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _patterns(value):
    if not _words(value):
        return False
    try:
        for pattern in value:
            re.compile(pattern)
    except re.error:
        return False
    return True


def _tools(value):
    return (isinstance(value, dict) and set(value) == {"files", "build", "outputs"}
            and _words(value["files"]) and _commands(value["build"]) and _words(value["outputs"]))


def _symbols(value):
    return isinstance(value, dict) and set(value) <= {"allow"} and _words(value.get("allow", []))


# key -> (what it must be, for the message; its check)
SCHEMA = {
    "outputs": ("a list of file names", lambda v: _words(v) and bool(v)),
    "build": ("a list of commands, each a list of words", _commands),
    "build_timeout": ("a whole number of seconds", _seconds),
    "tools": ('{"files": [...], "build": [[...]], "outputs": [...]}', _tools),
    "grader_files": ("a list of file names", _words),
    "submit_files": ("a list of file names", _words),
    "hidden_files": ("a list of file names", _words),
    "info_forms": ("a list of regular expressions", _patterns),
    "symbols": ('{"allow": [function names]}', _symbols),
}
REQUIRED = ("outputs",)


def validate(conf, where="part.json"):
    """conf (part.json's content) if every key is known and well-formed;
    GraderError naming the first that is not."""
    if not isinstance(conf, dict):
        raise GraderError(f"{where}: not a JSON object")
    for key in REQUIRED:
        if key not in conf:
            raise GraderError(f"{where}: {key!r} is missing")
    for key, value in conf.items():
        if key not in SCHEMA:
            raise GraderError(f"{where}: unknown key {key!r} (known: {', '.join(sorted(SCHEMA))})")
        what, ok = SCHEMA[key]
        if not ok(value):
            raise GraderError(f"{where}: {key!r} must be {what}")
    return conf


def read_conf(path):
    try:
        with open(path, encoding="utf-8") as f:
            conf = json.load(f)
    except (OSError, ValueError) as e:
        raise GraderError(f"{path}: {e}") from None
    return validate(conf, os.path.relpath(path, ROOT))


def discover_parts(wanted=None, root=ROOT):
    """The parts in root (all, or the numbers in wanted), in number order."""
    parts = []
    for entry in sorted(os.listdir(root)):
        match = PART_DIR.match(entry)
        conf_path = os.path.join(root, entry, "tests", "part.json")
        if not match or not os.path.isfile(conf_path):
            continue
        number = int(match.group(1))
        if wanted and number not in wanted:
            continue
        conf = read_conf(conf_path)
        bats = os.path.join(root, entry, "tests", entry + ".bats")
        tests = rubric.parse(bats)
        parts.append(Part(entry, number, os.path.join(root, entry), bats, tests, conf,
                          conf.get("build_timeout", DEFAULT_BUILD_TIMEOUT), len(tests)))
    parts.sort(key=lambda p: p.number)
    if wanted and {p.number for p in parts} != set(wanted):
        missing = sorted(set(wanted) - {p.number for p in parts})
        raise GraderError(f"no such part(s): {missing}")
    return parts
