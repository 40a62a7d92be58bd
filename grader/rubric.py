"""Read a part's grading suite: the bats file is the one place where every
test's title, points and visibility are declared.

Each @test is preceded by one metadata line:

    # grade: points=10 visibility=public
    @test "rmmod removes /proc/timer" {

Optional keys on that line:
    timeout=SECONDS     how long the test may run before the watchdog stops
                        the VM and reports it as hung (default 60)
    after-crash=fail    the test also fails when the kernel crashed earlier
                        in the part (for the "kernel stayed clean" test, which
                        a fresh VM would otherwise pass)
"""
import re
from dataclasses import dataclass

GRADE_LINE = re.compile(r"^#\s*grade:\s*(.*)$")
TEST_LINE = re.compile(r'^@test\s+"([^"]+)"\s*\{')
TITLE_OK = re.compile(r"^[A-Za-z0-9 /._:,()'<>=+-]+$")
VISIBILITIES = ("public", "hidden")
DEFAULT_TIMEOUT = 60


class RubricError(Exception):
    pass


@dataclass
class TestSpec:
    title: str
    points: int
    visibility: str
    timeout: int = DEFAULT_TIMEOUT
    fails_after_crash: bool = False
    line: int = 0


def _parse_fields(text, where):
    fields = {}
    for item in text.split():
        key, sep, value = item.partition("=")
        if not sep:
            raise RubricError(f"{where}: '{item}' is not key=value")
        fields[key] = value
    return fields


def parse(path):
    """Return the TestSpecs of a bats file, in file order."""
    tests, pending = [], None
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            line = line.rstrip("\n")
            where = f"{path}:{number}"
            grade = GRADE_LINE.match(line)
            if grade:
                pending = (_parse_fields(grade.group(1), where), number)
                continue
            test = TEST_LINE.match(line)
            if not test:
                continue
            if pending is None or pending[1] != number - 1:
                raise RubricError(f"{where}: @test has no '# grade:' line right above it")
            tests.append(_make_spec(test.group(1), pending[0], where, number))
            pending = None
    titles = [t.title for t in tests]
    dupes = {t for t in titles if titles.count(t) > 1}
    if dupes:
        raise RubricError(f"{path}: duplicate test titles: {sorted(dupes)}")
    if not tests:
        raise RubricError(f"{path}: no tests")
    return tests


def _make_spec(title, fields, where, number):
    if not TITLE_OK.match(title):
        raise RubricError(f"{where}: title has characters the grader cannot filter on: {title!r}")
    try:
        points = int(fields.pop("points"))
        visibility = fields.pop("visibility")
        timeout = int(fields.pop("timeout", DEFAULT_TIMEOUT))
    except (KeyError, ValueError) as e:
        raise RubricError(f"{where}: needs points=INT visibility=public|hidden ({e})") from None
    after_crash = fields.pop("after-crash", "")
    if visibility not in VISIBILITIES or points < 0 or after_crash not in ("", "fail"):
        raise RubricError(f"{where}: bad points, visibility or after-crash value")
    if fields:
        raise RubricError(f"{where}: unknown keys {sorted(fields)}")
    return TestSpec(title, points, visibility, timeout, after_crash == "fail", number)


def bats_filter(titles):
    """A bats --filter regular expression (POSIX ERE) matching exactly these titles."""
    escaped = [re.sub(r"([\\^$.|?*+()\[\]{}])", r"\\\1", t) for t in titles]
    return "^(" + "|".join(escaped) + ")$"
