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
    wait=SECONDS        how long the test must wait because the assignment
                        says so (a real-time trip, sleeps between reads): the
                        floor no speed-up can cut, which `make bench` adds up
                        (declare what is certain: a floor, not an estimate)

The starter kit's suites keep a hidden test only as the comment
    # hidden @test "TITLE"
under its grade line; it counts for numbering and points but cannot run.

When course.conf sets PARTn_POINTS for the part (from the file name
partn_*.bats), every test's points are scaled so that the part is worth
that many; grader and handouts both read points through here.
"""
import os
import re
from dataclasses import dataclass

import course

GRADE_LINE = re.compile(r"^#\s*grade:\s*(.*)$")
TEST_LINE = re.compile(r'^@test\s+"([^"]+)"\s*\{')
# What the starter kit keeps of a hidden test: its title, as a comment, so
# numbers and points stay those of the whole suite (scripts/release.py).
STUB_LINE = re.compile(r'^#\s*hidden @test\s+"([^"]+)"')
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
    wait: float = 0.0    # seconds of waits the assignment mandates (the bench's floor)
    line: int = 0
    index: int = 0       # 1-based place in the suite: the test's number within its part


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
            test = TEST_LINE.match(line) or STUB_LINE.match(line)
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
    _scale_to_course(tests, path)
    for index, test in enumerate(tests, 1):
        test.index = index
    return tests


def _scale_to_course(tests, path):
    match = re.match(r"^part(\d+)_", os.path.basename(path))
    if not match:
        return
    key = f"PART{match.group(1)}_POINTS"
    wanted = course.load().get(key)
    if not wanted:
        return
    try:
        total = float(wanted)
    except ValueError:
        raise RubricError(f"course.conf: {key}={wanted} is not a number") from None
    have = sum(t.points for t in tests)
    if total <= 0 or have == 0:
        raise RubricError(f"course.conf: {key} must be positive and the suite must have points")
    # In hundredths of a point, rounded so that they add up to the total
    # exactly (largest remainders first; on a tie, the earlier test).
    want = round(total * 100)
    exact = [t.points * want / have for t in tests]
    cents = [int(x) for x in exact]
    by_remainder = sorted(range(len(tests)), key=lambda i: (cents[i] - exact[i], i))
    for i in by_remainder[:want - sum(cents)]:
        cents[i] += 1
    for t, c in zip(tests, cents):
        t.points = c // 100 if c % 100 == 0 else c / 100


def _make_spec(title, fields, where, number):
    if not TITLE_OK.match(title):
        raise RubricError(f"{where}: title has characters the grader cannot filter on: {title!r}")
    try:
        points = int(fields.pop("points"))
        visibility = fields.pop("visibility")
        timeout = int(fields.pop("timeout", DEFAULT_TIMEOUT))
        wait = float(fields.pop("wait", 0))
    except (KeyError, ValueError) as e:
        raise RubricError(f"{where}: needs points=INT visibility=public|hidden ({e})") from None
    after_crash = fields.pop("after-crash", "")
    if visibility not in VISIBILITIES or points < 0 or after_crash not in ("", "fail") \
            or not 0 <= wait < timeout:
        raise RubricError(f"{where}: bad points, visibility, after-crash or wait value")
    if fields:
        raise RubricError(f"{where}: unknown keys {sorted(fields)}")
    return TestSpec(title, points, visibility, timeout, after_crash == "fail", wait,
                    line=number)


def bats_filter(titles):
    """A bats --filter regular expression (POSIX ERE) matching exactly these titles."""
    escaped = [re.sub(r"([\\^$.|?*+()\[\]{}])", r"\\\1", t) for t in titles]
    return "^(" + "|".join(escaped) + ")$"
