"""Class-scale grading across machines: which submissions shard K of N
grades, the record a finished shard leaves in its output folder
(shard.json), and the merge of the shards' folders into one (grader/merge).

The rule (the only place it is written): the submissions are named as the
gradebook names them (submission.name_of, or --reference / --skeleton),
sorted by code point (Python's str order: no locale, no file system, no
command-line order), and shard K takes every N-th name starting at the K-th
(names[K-1::N]). Round robin over sorted names rather than a hash of each
name because it is balanced by construction (shard sizes differ by at most
one, also for a class of 10 on 4 machines, where a hash often leaves one
machine idle and one with double work); what a hash would buy, a
submission keeping its shard when others are added, does not matter: every
shard is given the same full list, and the merge checks that it was.

shard.json records the shard (K, N), the full sorted list, this shard's
names and the options that decide the grades (parts, --public,
--only-tests, the kernel release, course.conf, the grading suites and the
grader's own files, as digests), so the merge can tell a missing shard, a
shard given twice, shards over different lists and shards graded
differently apart. It is written last, once the shard's gradebook is
written: a folder without one is an unfinished (or unsharded) run.
"""
import hashlib
import json
import os
import re
import shutil
import socket
import sys
import time
import types

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

import classbook  # noqa: E402
import course  # noqa: E402

MANIFEST = "shard.json"
RULE = "sorted-names-round-robin"
FORMAT = 1
SHOWN_NAMES = 5          # names quoted in one error line
SPEC = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")
# What the merge compares, in the order its error names them.
OPTION_WORDS = {
    "parts": "the parts (--parts)",
    "public": "--public",
    "only_tests": "the --only-tests file",
    "kernel": "the VM's kernel release",
    "course_conf": "course.conf",
    "suites": "the grading suites (PART/tests/)",
    "grader": "the grader's files (grader/, vm/guest/)",
}


class ShardError(Exception):
    """Bad --shard input, or shards that cannot be merged; one line each."""


def parse(text):
    """'K/N' -> (K, N) with 1 <= K <= N."""
    match = SPEC.match(text or "")
    k, n = (int(match.group(1)), int(match.group(2))) if match else (0, 0)
    if not match or not 1 <= k <= n:
        raise ShardError(f"--shard takes K/N with 1 <= K <= N, e.g. --shard 2/4 "
                         f"(got {text!r})")
    return k, n


def order(names):
    """The submissions in the order shards are cut from."""
    return sorted(names)


def select(names, k, n):
    """The names shard k of n grades (see the module's docstring)."""
    if len(set(names)) != len(names):
        raise ShardError("two submissions have the same name")
    return order(names)[k - 1::n]


def _digest_files(paths):
    """One digest over files (path relative to the repository, then bytes);
    folders are walked, compiled Python, hidden files and editor backups
    (NAME~) left out."""
    digest = hashlib.sha256()
    files = []
    for path in paths:
        if os.path.isdir(path):
            for top, dirs, names in os.walk(path):
                dirs[:] = sorted(d for d in dirs if d != "__pycache__")
                files += [os.path.join(top, name) for name in names
                          if not name.endswith((".pyc", "~")) and not name.startswith(".")]
        elif os.path.isfile(path):
            files.append(path)
    for path in sorted(files):
        digest.update(os.path.relpath(path, ROOT).encode() + b"\0")
        with open(path, "rb") as f:
            digest.update(hashlib.sha256(f.read()).digest())
    return digest.hexdigest()


def options(parts, public, only_tests, kernel):
    """What decides the grades, beside the submissions: equal on every
    shard, or the merge refuses. parts: parts.Part (name, path)."""
    chosen = None
    if only_tests:
        chosen = hashlib.sha256(json.dumps({name: sorted(titles) for name, titles
                                            in only_tests.items()}, sort_keys=True)
                                .encode()).hexdigest()
    conf = course.path()
    return {
        "parts": [p.name for p in parts],
        "public": bool(public),
        "only_tests": chosen,
        "kernel": kernel or "",
        "course_conf": _digest_files([conf]) if os.path.isfile(conf) else "",
        "suites": _digest_files([os.path.join(p.path, "tests") for p in parts]),
        "grader": _digest_files([HERE, os.path.join(ROOT, "vm", "guest")]),
    }


def clear_manifest(out_root):
    """A run into a folder makes its old shard.json untrue: removed first."""
    try:
        os.unlink(os.path.join(out_root, MANIFEST))
    except FileNotFoundError:
        pass


def write_manifest(out_root, k, n, names, opts):
    """Written by a finished `--shard K/N` run, after its gradebook."""
    everyone = order(names)
    data = {
        "format": FORMAT,
        "rule": RULE,
        "shard": k,
        "of": n,
        "total": len(everyone),
        "submissions": select(everyone, k, n),
        "all": everyone,
        "options": opts,
        # For people only (the merge does not compare them).
        "host": socket.gethostname(),
        "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    path = os.path.join(out_root, MANIFEST)
    with open(path + ".tmp", "w", encoding="utf-8") as f:
        json.dump(data, f, indent=2, ensure_ascii=False)
        f.write("\n")
    os.replace(path + ".tmp", path)
    return data


def _names(names):
    shown = ", ".join(names[:SHOWN_NAMES])
    more = len(names) - SHOWN_NAMES
    return shown + (f" and {more} more" if more > 0 else "")


def read_manifest(folder):
    path = os.path.join(folder, MANIFEST)
    if not os.path.isdir(folder):
        raise ShardError(f"{folder}: no such folder")
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except FileNotFoundError:
        raise ShardError(f"{folder}: no {MANIFEST}, so not the output folder of a finished "
                         "`grader/run.sh --shard K/N` run (an interrupted shard leaves none: "
                         "run it again)") from None
    except (OSError, ValueError) as e:
        raise ShardError(f"{path}: unreadable ({e})") from None
    keys = {"format": int, "rule": str, "shard": int, "of": int, "total": int,
            "submissions": list, "all": list, "options": dict}
    bad = [key for key, kind in keys.items() if not isinstance(data.get(key), kind)]
    if bad or data["format"] != FORMAT or data["rule"] != RULE:
        raise ShardError(f"{path}: not a shard record this grader writes "
                         f"(format {FORMAT}, rule {RULE})")
    return data


def check(folders):
    """The shards' records, in shard order, if they make one complete run;
    else ShardError with every problem found, one per line."""
    problems, shards = [], []
    for folder in folders:
        try:
            shards.append((folder, read_manifest(folder)))
        except ShardError as e:
            problems.append(str(e))
    if problems:
        raise ShardError("\n".join(problems))
    first_folder, first = shards[0]
    n = first["of"]
    for folder, data in shards[1:]:
        if data["of"] != n:
            problems.append(f"{first_folder} is shard {first['shard']}/{n} but {folder} "
                            f"is shard {data['shard']}/{data['of']}: every shard must be "
                            "cut from the same N")
        if data["all"] != first["all"]:
            only_here = sorted(set(data["all"]) - set(first["all"]))
            only_there = sorted(set(first["all"]) - set(data["all"]))
            problems.append(f"{first_folder} and {folder} were given different submissions "
                            f"({data['total']} and {first['total']}"
                            + (f"; only in {folder}: {_names(only_here)}" if only_here else "")
                            + (f"; only in {first_folder}: {_names(only_there)}"
                               if only_there else "") + ")")
        for key, word in OPTION_WORDS.items():
            if data["options"].get(key) != first["options"].get(key):
                problems.append(f"{first_folder} and {folder} were graded with different "
                                f"{word}: {first['options'].get(key)!r} and "
                                f"{data['options'].get(key)!r}")
    for folder, data in shards:
        if data["all"] != order(data["all"]) or len(set(data["all"])) != len(data["all"]) \
                or data["total"] != len(data["all"]) or not 1 <= data["shard"] <= data["of"] \
                or data["submissions"] != select(data["all"], data["shard"], data["of"]):
            problems.append(f"{folder}/{MANIFEST}: its submissions are not those of shard "
                            f"{data['shard']}/{data['of']} of its list (edited by hand?)")
    if problems:
        raise ShardError("\n".join(problems))
    by_number = {}
    for folder, data in shards:
        by_number.setdefault(data["shard"], []).append(folder)
    for number, where in sorted(by_number.items()):
        if len(where) > 1:
            twice = select(first["all"], number, n)
            problems.append(f"shard {number}/{n} is given {len(where)} times ({', '.join(where)}): "
                            f"its {len(twice)} submission(s) would be in two shards"
                            + (f" ({_names(twice)})" if twice else ""))
    missing = [k for k in range(1, n + 1) if k not in by_number]
    if missing:
        lost = sorted(name for k in missing for name in select(first["all"], k, n))
        problems.append(f"shard(s) {', '.join(f'{k}/{n}' for k in missing)} missing: "
                        f"{len(lost)} of {first['total']} submission(s) not graded "
                        + (f"({_names(lost)})" if lost else "(those shards were empty, "
                           "but the merge needs their folders to know they ran)"))
    for folder, data in shards:
        for name in data["submissions"]:
            path = os.path.join(folder, name, "results.json")
            try:
                with open(path, encoding="utf-8") as f:
                    json.load(f)
            except (OSError, ValueError) as e:
                problems.append(f"{folder}: no readable results for {name} ({e})")
    if problems:
        raise ShardError("\n".join(problems))
    return sorted(shards, key=lambda s: s[1]["shard"])


def _folders_of(folder, name):
    """NAME itself and its earlier, renamed results (NAME.previous-STAMP)."""
    found = [name]
    for entry in sorted(os.listdir(folder)):
        match = classbook.EARLIER.search(entry)
        if match and entry[:match.start()] == name:
            found.append(entry)
    return found


def merge(out_root, folders, stream=None):
    """Copy every shard's submissions into out_root (new or empty) and write
    its gradebook with classbook's writers, as one run over them all would.
    Returns (graded, parts)."""
    stream = sys.stderr if stream is None else stream
    out_root = os.path.abspath(out_root)
    for folder in folders:
        inside = os.path.commonpath([out_root, os.path.abspath(folder)])
        if inside in (out_root, os.path.abspath(folder)):
            raise ShardError(f"the merged folder {out_root} and a shard's folder ({folder}) "
                             "must not hold one another")
    if os.path.exists(out_root) and (not os.path.isdir(out_root) or os.listdir(out_root)):
        raise ShardError(f"{out_root} already exists and is not an empty folder: "
                         "merge into a new one")
    shards = check(folders)
    created = not os.path.exists(out_root)
    os.makedirs(out_root, exist_ok=True)
    try:
        for folder, data in shards:
            share = set(data["submissions"])
            extra = sorted(e for e in os.listdir(folder)
                           if os.path.isfile(os.path.join(folder, e, "results.json"))
                           and not classbook.EARLIER.search(e) and e not in share)
            if extra:
                print(f"merge: {folder}: left out {len(extra)} folder(s) not of shard "
                      f"{data['shard']}/{data['of']} (from an earlier run?): {_names(extra)}",
                      file=stream)
            for name in data["submissions"]:
                for entry in _folders_of(folder, name):
                    shutil.copytree(os.path.join(folder, entry), os.path.join(out_root, entry),
                                    symlinks=True)
        parts = [types.SimpleNamespace(name=p) for p in shards[0][1]["options"]["parts"]]
        graded = classbook.write_class(out_root, parts)
    except BaseException:
        if created:
            shutil.rmtree(out_root, ignore_errors=True)
        raise
    # (a submission named like earlier results, NAME.previous-STAMP, is
    # left out of any gradebook, as classbook.load_class does)
    want = [name for name in shards[0][1]["all"] if not classbook.EARLIER.search(name)]
    if list(graded) != want:
        raise ShardError(f"{out_root}: the merged gradebook has {len(graded)} submission(s), "
                         f"not the {len(want)} of the shards' list")
    return graded, parts


USAGE = """usage: grader/merge OUT SHARD_DIR...

Merges the output folders of `grader/run.sh --shard K/N ...` (every K from 1
to N, each once, graded with the same options over the same submissions)
into the new folder OUT: the submissions' folders are copied, and OUT's
grades.csv and summary.txt are those one unsharded run would write.
See docs/class-grading.md."""


def main(argv):
    if any(a in ("-h", "--help") for a in argv):
        print(USAGE)
        return 0
    if len(argv) < 2 or any(a.startswith("-") for a in argv):
        print(USAGE, file=sys.stderr)
        return 2
    out_root, folders = argv[0], argv[1:]
    try:
        graded, parts = merge(out_root, folders)
    except ShardError as e:
        for line in str(e).splitlines():
            print(f"merge: {line}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"merge: {e}", file=sys.stderr)
        return 1
    classbook.print_table(graded, parts)
    print(f"merge: {len(folders)} shard(s), {len(graded)} submission(s) into "
          f"{os.path.abspath(out_root)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
