"""course.conf: the course parameters (KEY=value lines) that Makefiles,
handouts, skeleton headers and the grader all read. This is the one
reader of it outside make: the grader, the handouts, the VM scripts
(`course.py get KEY`, vm/common.sh course_value) and, shipped into every VM
as /job/lib/course.py next to /job/course.conf, the suites' checkers. No
reader has defaults of its own: every value is course.conf's.

Comments are lines of their own starting with '#' (make would keep a
trailing comment as part of the value). One pair of matching quotes around a
value is removed, as the shell does. KMOD_COURSE_CONF names another file
(the self-test grades a second configuration that way).
"""
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class ConfError(ValueError):
    pass


def path():
    return os.environ.get("KMOD_COURSE_CONF") or os.path.join(ROOT, "course.conf")


def read_conf(text, where="course.conf"):
    conf = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep or not KEY.match(key):
            raise ConfError(f"{where}:{number}: not a KEY=value line: {raw!r}")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        conf[key] = value
    return conf


def load(conf_path=None):
    conf_path = conf_path or path()
    if not os.path.isfile(conf_path):
        return {}
    with open(conf_path, encoding="utf-8") as f:
        return read_conf(f.read(), conf_path)


def value(conf, key, where=None):
    """conf[key], or ConfError naming the file that does not set it."""
    if key not in conf:
        raise ConfError(f"{where or path()} sets no {key} (see the repository's course.conf)")
    return conf[key]


def main(argv):
    """course.py get KEY: print KEY's value (exit status 1 and a message
    when course.conf does not set it); get --optional KEY: "" when it does not
    (a setting whose absence means "none", such as COURSE_IMAGE)."""
    optional = argv[1:2] == ["--optional"]
    if optional:
        argv = argv[:1] + argv[2:]
    if len(argv) != 2 or argv[0] != "get":
        print("usage: course.py get [--optional] KEY", file=sys.stderr)
        return 2
    conf = load()
    if optional and argv[1] not in conf:
        print("")
        return 0
    try:
        print(value(conf, argv[1]))
    except ConfError as e:
        print(f"course.py: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
