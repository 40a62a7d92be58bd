"""Keep hidden-test material out of what students see.

Student kernel code can read anything the VM sees, the hidden tests
included, and print it to the kernel log or /proc; a checker's traceback
can quote its own source. Everything a test prints reaches results.json,
and hidden tests' outputs too are shown to students once grades are
published. So before the reports are written:

    hidden = {p.name: leakguard.hidden_for_part(p) for p in parts}
    leakguard.guard(results, hidden)

hidden_lines() collects the distinctive lines of a part's hidden material:
the bodies of its hidden @tests and every line of the files its part.json
names in "hidden_files" (a missing one is an error, except in the starter
kit, whose suites keep hidden tests only as stubs and which has none of
those files: nothing hidden runs there). A line is distinctive when,
normalized (ANSI sequences and control characters removed, NFKC, case
folded, only letters and digits kept: so changing case, spacing,
punctuation or slipping in zero-width characters does not hide a line), it
has at least MIN_LINE characters, at least MIN_LETTERS letters,
and does not occur anywhere in the public material (the rest of the bats
file, with every test's @test line: titles are public; the part's other
tests/ files; grader/guest-lib/).

redact() replaces every line of a text whose normalized form contains a
distinctive hidden line (a kernel log line carries a prefix such as
"[   12.345] my_timer: ") by REDACTED. guard() does so for every test output
and note of every part (a flag that quotes one becomes FLAG_REDACTED), and
flags the part:
    "hidden-test text in visible output: N line(s) redacted"   (hard) when
        a public test's output or a note had some;
    "review: hidden-test text in visible output: N line(s) redacted (only
        in hidden tests' own output, ...)"                     (soft) when
        only hidden tests' outputs had some (a hidden test quoting itself:
        bats' "`$HIDDEN x' failed with status 2", a checker's traceback).
It fails closed: a part whose hidden lines could not be computed has its
test outputs and notes withheld (WITHHELD), and is flagged
"hidden-test text could not be checked (REASON): outputs and notes withheld".
"""
import os
import re
import sys
import unicodedata

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import rubric  # noqa: E402
import sanitize  # noqa: E402

GUEST_LIB = os.path.join(HERE, "guest-lib")
MIN_LINE = 16          # letters and digits of a distinctive line, normalized
MIN_LETTERS = 6        # letters in it (a row of digits is not evidence of anything)
MAX_FILE = 8 << 20     # bytes read of one file of tests/ or guest-lib/
REDACTED = "[redacted: text of a hidden test]"
FLAG_REDACTED = "a flag quoted text of a hidden test: redacted"
WITHHELD = ("[withheld: the grader could not check this output for text of the hidden "
            "tests; a TA will look at it]")
_WINDOW = 8            # characters of the index keys (see _Matcher)
SOFT = "review: "      # a soft flag (report.SOFT_FLAG)


class LeakGuardError(Exception):
    """The hidden lines of a part cannot be computed."""


class Unavailable:
    """What hidden_for_part() returns when the hidden lines cannot be
    computed: guard() then withholds that part's outputs."""

    def __init__(self, reason):
        self.reason = reason

    def __repr__(self):
        return f"Unavailable({self.reason!r})"


def normalize(line):
    """A line as compared: no ANSI sequences or control characters, NFKC,
    case folded, letters and digits only."""
    text = unicodedata.normalize("NFKC", sanitize.strip(line)).casefold()
    return "".join(c for c in text if c.isalnum())


def _distinctive(line):
    return len(line) >= MIN_LINE and sum(c.isalpha() for c in line) >= MIN_LETTERS


def _read_lines(path):
    """A file's lines (text, undecodable bytes replaced); raises OSError."""
    with open(path, "rb") as f:
        data = f.read(MAX_FILE)
    return data.decode("utf-8", errors="replace").split("\n")


def _inside(base, rel):
    path = os.path.normpath(os.path.join(base, rel))
    if os.path.isabs(rel) or not path.startswith(os.path.normpath(base) + os.sep):
        raise LeakGuardError(f"hidden file {rel!r} is not inside {base}")
    return path


def _files_under(folder):
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(files):
            yield os.path.join(root, name)


def _bodies(bats_lines, tests, where):
    """({line index (0-based) of each hidden test's body}: from the line
    after its @test line to the line before its closing "}" at column 0,
    whether any hidden test has a body). A starter-kit stub
    (# hidden @test "TITLE") has none."""
    hidden, any_body = set(), False
    for t in tests:
        if getattr(t, "visibility", None) != "hidden":
            continue
        at = int(getattr(t, "line", 0) or 0) - 1
        if not 0 <= at < len(bats_lines):
            raise LeakGuardError(f"{where}: hidden test {t.title!r} at line {at + 1}: no such line")
        head = bats_lines[at]
        if rubric.STUB_LINE.match(head):
            continue
        if not rubric.TEST_LINE.match(head):
            raise LeakGuardError(f"{where}:{at + 1}: expected the @test line of {t.title!r}")
        end = at + 1
        while end < len(bats_lines) and not bats_lines[end].startswith("}"):
            end += 1
        if end == len(bats_lines):
            raise LeakGuardError(f"{where}:{at + 1}: the body of {t.title!r} never ends")
        hidden.update(range(at + 1, end))
        any_body = True
    return hidden, any_body


def hidden_lines(part_dir, bats_path, tests, hidden_files):
    """The distinctive normalized lines of a part's hidden material (see the
    module's docstring). tests: rubric.TestSpecs of bats_path; hidden_files:
    names relative to part_dir/tests. Raises LeakGuardError or OSError when
    they cannot be computed."""
    tests_dir = os.path.join(part_dir, "tests")
    bats_lines = _read_lines(bats_path)
    body, runnable = _bodies(bats_lines, tests, bats_path)
    secret, public = [], []
    for i, line in enumerate(bats_lines):
        (secret if i in body else public).append(line)
    if isinstance(hidden_files, str) or not isinstance(hidden_files, (list, tuple)):
        raise LeakGuardError(f"hidden_files must be a list of names, not {hidden_files!r}")
    hidden_paths = set()
    for rel in hidden_files:
        if not isinstance(rel, str) or not rel:
            raise LeakGuardError(f"hidden_files: {rel!r} is not a file name")
        path = _inside(tests_dir, rel)
        if not runnable and not os.path.lexists(path):
            # The starter kit: hidden tests only as stubs, their files left
            # out (scripts/release.py). Nothing hidden runs, nothing can leak.
            continue
        secret += _read_lines(path)      # a missing hidden file raises: fail closed
        hidden_paths.add(os.path.realpath(path))
    if not any(normalize(s) for s in secret):
        return set()
    bats_real = os.path.realpath(bats_path)
    for folder in (tests_dir, GUEST_LIB):
        if not os.path.isdir(folder):
            continue
        for path in _files_under(folder):
            real = os.path.realpath(path)
            if real in hidden_paths or real == bats_real:
                continue
            try:
                public += _read_lines(path)
            except OSError:
                continue      # unreadable public material: then it is not public
    everything_public = "\n".join(normalize(line) for line in public)
    return {line for line in (normalize(code_of(s)) for s in secret)
            if _distinctive(line) and line not in everything_public}


# A string literal on one line (Python or shell, either quote).
_LITERAL = re.compile(r'"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\'')


def code_of(line):
    """A hidden line without the contents of its string literals: those are
    the checks' messages, which students are meant to read (a failure says
    "elapsed must be the time since the previous read"); what is hidden is
    the code around them."""
    return _LITERAL.sub('""', line)


def hidden_for_part(part):
    """The distinctive hidden lines of a parts.Part (.path, .bats, .conf;
    the hidden tests are read from the bats file itself, as .tests may hold
    only the public ones), or an Unavailable when they cannot be computed.
    Never raises."""
    try:
        tests = rubric.parse(part.bats)
        conf = getattr(part, "conf", None) or {}
        files = conf.get("hidden_files", []) if isinstance(conf, dict) else None
        if files is None:
            raise LeakGuardError("part.json is not an object")
        return hidden_lines(part.path, part.bats, tests, files)
    except Exception as e:  # noqa: BLE001 - any failure means: withhold
        return Unavailable(f"{type(e).__name__}: {e}")


class _Matcher:
    """Finds whether a normalized line contains one of many hidden lines,
    without trying each one at each place.

    Every hidden line has at least m characters (m = the shortest). Take
    W = min(_WINDOW, m) and S = m - W + 1. If hidden line h occurs in text
    L at position p, one of the positions q = 0, S, 2S, ... lies in
    [p, p + S), and L[q:q+W] is h's window at offset q - p < S, entirely
    inside h. So each hidden line is indexed by its windows at offsets
    0..S-1, the text is probed only every S characters, and a probe's
    candidates are verified with startswith."""

    def __init__(self, lines):
        lines = {line for line in lines if line}
        self.empty = not lines
        if self.empty:
            return
        shortest = min(map(len, lines))
        self.width = min(_WINDOW, shortest)
        self.step = shortest - self.width + 1
        self.shortest = shortest
        index = {}
        for h in lines:
            for off in range(min(self.step, len(h) - self.width + 1)):
                index.setdefault(h[off:off + self.width], []).append((h, off))
        self.index = index

    def found(self, text):
        if self.empty or len(text) < self.shortest:
            return False
        index, width, step = self.index, self.width, self.step
        for q in range(0, len(text) - width + 1, step):
            for h, off in index.get(text[q:q + width], ()):
                start = q - off
                if start >= 0 and text.startswith(h, start):
                    return True
        return False


_matchers = {}


def _matcher(lines):
    if isinstance(lines, _Matcher):
        return lines
    key = frozenset(lines)
    if key not in _matchers:
        if len(_matchers) > 16:
            _matchers.clear()
        _matchers[key] = _Matcher(key)
    return _matchers[key]


def redact(text, lines):
    """(text with every line that contains a hidden line replaced by
    REDACTED, how many lines were replaced). lines: normalized hidden lines
    (from hidden_lines())."""
    text = sanitize.as_text(text)
    matcher = _matcher(lines)
    if matcher.empty or len(text) < matcher.shortest:
        return text, 0
    rows = text.split("\n")
    hits = 0
    for i, row in enumerate(rows):
        if len(row) >= matcher.shortest and matcher.found(normalize(row)):
            rows[i] = REDACTED
            hits += 1
    return ("\n".join(rows), hits) if hits else (text, 0)


def _withhold(result, reason):
    for t in result.tests or []:
        t.output = WITHHELD
    result.notes = [WITHHELD] if result.notes else []
    _flag(result, "hidden-test text could not be checked "
                  f"({sanitize.one_line(reason, 300)}): outputs and notes withheld")


def _flag(result, text):
    flags = getattr(result, "flags", None)
    if not isinstance(flags, list):
        flags = [] if flags is None else ([flags] if isinstance(flags, str) else list(flags))
        result.flags = flags
    flags.append(text)


def guard(part_results, hidden_by_part):
    """Redact hidden-test text from every test output and note of each
    report.PartResult (of every visibility), in place, and flag the parts
    where something was redacted. hidden_by_part: {part name: the set from
    hidden_for_part(), or an Unavailable}; a part that is missing, or whose
    entry is not a set, has its outputs and notes withheld (fail closed)."""
    hidden_by_part = hidden_by_part if isinstance(hidden_by_part, dict) else {}
    for result in part_results:
        lines = hidden_by_part.get(result.part)
        if not isinstance(lines, (set, frozenset)):
            reason = (lines.reason if isinstance(lines, Unavailable)
                      else "no hidden lines given for this part")
            _withhold(result, reason)
            continue
        if not lines:
            continue
        try:
            matcher = _matcher(lines)
            hits = own = 0    # own: in hidden tests' outputs
            for t in result.tests or []:
                t.output, n = redact(t.output, matcher)
                hits += n
                own += n if getattr(t, "visibility", None) == "hidden" else 0
            notes = result.notes if isinstance(result.notes, list) else list(result.notes or [])
            for i, note in enumerate(notes):
                notes[i], n = redact(note, matcher)
                hits += n
            result.notes = notes
            flags = getattr(result, "flags", None)
            if isinstance(flags, list):     # a flag may quote student text too
                for i, flag in enumerate(flags):
                    if isinstance(flag, str) and redact(flag, matcher)[1]:
                        flags[i] = (SOFT if flag.startswith(SOFT.strip()) else "") + FLAG_REDACTED
                        hits += 1
        except Exception as e:  # noqa: BLE001 - never let outputs through unchecked
            _withhold(result, f"{type(e).__name__}: {e}")
            continue
        if hits and own == hits:
            # Only where a hidden test quotes itself (bats' "`$HIDDEN x' failed
            # with status 2", a checker's traceback): no sign of misconduct.
            _flag(result, f"{SOFT}hidden-test text in visible output: {hits} line(s) redacted "
                          "(only in hidden tests' own output, e.g. a checker's traceback)")
        elif hits:
            _flag(result, f"hidden-test text in visible output: {hits} line(s) redacted")
