"""course.conf: the course parameters (KEY=value lines) that Makefiles,
handouts, skeleton headers and the grader all read.

Comments are lines of their own starting with '#' (make would keep a
trailing comment as part of the value). One pair of matching quotes around a
value is removed, as the shell does. KMOD_COURSE_CONF names another file
(the self-test grades a second configuration that way).
"""
import os
import re

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
