"""Write one submission's results: results.json (Gradescope autograder
schema), junit.xml and report.txt (for people).

Every text that goes into them passes through sanitize.clip() (student
code decides what build logs, /proc text and kernel log lines say): no
control character arrives, and each text has a cap. results.json stays
under RESULTS_JSON_LIMIT bytes whatever the inputs.

A part's flags (PartResult.flags) tell the TA what needs a look: a flag
starting with "review:" is soft (graded normally, a TA should look), any
other is hard (the score cannot be trusted as it is). They appear in every
output: results.json (extra_data.flags and the start of `output`),
report.txt (FLAGGED: lines), junit.xml (<properties>), and through
grader/classbook.py in grades.csv and summary.txt.
"""
import copy
import json
import os
from dataclasses import dataclass, field
from xml.etree import ElementTree as ET

import sanitize

# Our visibility -> Gradescope's: hidden tests show up once grades are published.
GRADESCOPE_VISIBILITY = {"public": "visible", "hidden": "after_published"}

TEST_OUTPUT_CAP = 4096        # characters of one test's output
NOTE_CAP = 1024               # characters of one note
NOTES_SHOWN = 20              # notes shown per part (then how many were left out)
FLAG_CAP = 512                # characters of one flag
FLAGS_SHOWN = 20              # flags kept per part (then one flag counting the rest)
TITLE_CAP = 300               # test titles, part and submission names, log paths
OUTPUT_CAP = 65536            # results.json's top-level output
GRADER_ERROR_CAP = 4096
RESULTS_JSON_LIMIT = 1_000_000  # bytes: results.json always stays below this
SOFT_FLAG = "review:"         # a flag starting with this is soft
FLAGGED_BANNER = "FLAGGED FOR REVIEW BY STAFF: "


@dataclass
class TestResult:
    part: str            # e.g. part2_timer
    number: str          # e.g. 2.4
    title: str
    max_score: int
    visibility: str      # public or hidden
    passed: bool = False
    status: str = "failed"   # passed, failed, crashed, timeout, not run
    output: str = ""
    ms: int = 0

    @property
    def score(self):
        return self.max_score if self.passed else 0


@dataclass
class PartResult:
    part: str
    tests: list = field(default_factory=list)
    notes: list = field(default_factory=list)    # shown above the tests
    logs: list = field(default_factory=list)     # paths relative to the output folder
    timings: dict = field(default_factory=dict)  # seconds: build, each VM round
    flags: list = field(default_factory=list)    # for the TA: "review: ..." soft, others hard
    hidden_not_run: tuple = ()                   # --public: (hidden tests, their points)

    @property
    def score(self):
        return round(sum(t.score for t in self.tests), 2)

    @property
    def max_score(self):
        return round(sum(t.max_score for t in self.tests), 2)


def is_soft(flag):
    """A flag that only asks a TA to look ("review: ..."); others are hard."""
    return isinstance(flag, str) and flag.startswith(SOFT_FLAG)


def flag_list(flags):
    """A part's flags as a list of one-line, capped strings, whatever junk
    was put there (None, a lone string, non-strings); at most FLAGS_SHOWN,
    then one flag saying how many more there were (soft if they all were)."""
    if flags is None:
        return []
    if isinstance(flags, (str, bytes)):
        flags = [flags]
    try:
        items = list(flags)
    except TypeError:
        items = [flags]
    out = [sanitize.one_line(f, FLAG_CAP) for f in items if f is not None]
    out = [f if f else "flag without text" for f in out]
    if len(out) > FLAGS_SHOWN:
        rest = out[FLAGS_SHOWN:]
        word = SOFT_FLAG + " " if all(is_soft(f) for f in rest) else ""
        out = out[:FLAGS_SHOWN] + [f"{word}{len(rest)} more flag(s) left out"]
    return out


def _notes(notes):
    """A part's notes, cleaned and capped, at most NOTES_SHOWN of them."""
    if notes is None:
        return []
    if isinstance(notes, (str, bytes)):
        notes = [notes]
    try:
        items = list(notes)
    except TypeError:
        items = [notes]
    shown = [sanitize.clip(n, NOTE_CAP).rstrip("\n") for n in items[:NOTES_SHOWN]]
    if len(items) > NOTES_SHOWN:
        shown.append(f"{len(items) - NOTES_SHOWN} more note(s) left out")
    return shown


def _safe_test(t, output_cap):
    safe = copy.copy(t)
    safe.part = sanitize.one_line(t.part, TITLE_CAP)
    safe.number = sanitize.one_line(t.number, TITLE_CAP)
    safe.title = sanitize.one_line(t.title, TITLE_CAP)
    safe.status = sanitize.one_line(t.status, TITLE_CAP) or "failed"
    safe.output = sanitize.clip(t.output, output_cap)
    if t.visibility not in GRADESCOPE_VISIBILITY:
        safe.visibility = "hidden"
    return safe


def safe_parts(parts, output_cap=TEST_OUTPUT_CAP):
    """Copies of the PartResults with every text cleaned and capped, and
    flags and notes made lists of strings (the originals are not changed)."""
    out = []
    for p in parts:
        safe = copy.copy(p)
        safe.part = sanitize.one_line(p.part, TITLE_CAP)
        safe.tests = [_safe_test(t, output_cap) for t in (p.tests or [])]
        safe.notes = _notes(p.notes)
        safe.logs = [sanitize.one_line(x, TITLE_CAP) for x in (p.logs or [])]
        safe.flags = flag_list(getattr(p, "flags", None))
        out.append(safe)
    return out


def flagged_banner(parts):
    """The line that starts results.json's output when a part is flagged
    (parts already made safe), or ""."""
    # Hard flags first: what makes the score untrustworthy leads.
    said = [f"{p.part}: {f.rstrip('.')}" for p in parts for f in p.flags if not f.startswith("review:")]
    said += [f"{p.part}: {f.rstrip('.')}" for p in parts for f in p.flags if f.startswith("review:")]
    return FLAGGED_BANNER + ". ".join(said) + "." if said else ""


def write_all(out_dir, name, parts, seconds, grader_error=""):
    timings = {p.part: p.timings for p in parts}
    timings["total"] = round(seconds, 2)
    with open(os.path.join(out_dir, "timings.json"), "w", encoding="utf-8") as f:
        json.dump(timings, f, indent=2)
        f.write("\n")
    write_results_json(os.path.join(out_dir, "results.json"), parts, seconds, grader_error)
    write_junit(os.path.join(out_dir, "junit.xml"), name, parts)
    with open(os.path.join(out_dir, "report.txt"), "w", encoding="utf-8") as f:
        f.write(text_report(name, parts, seconds, grader_error))


def summary_line(parts):
    return ", ".join(f"{p.part} {p.score:g}/{p.max_score:g}" for p in parts)


def results_data(parts, seconds, grader_error, output_cap=TEST_OUTPUT_CAP, top_cap=OUTPUT_CAP):
    """results.json's content (parts as given: made safe here)."""
    parts = safe_parts(parts, output_cap)
    grader_error = sanitize.clip(grader_error, GRADER_ERROR_CAP)
    tests = []
    for part in parts:
        for t in part.tests:
            tests.append({
                "name": f"{t.part}: {t.title}",
                "number": t.number,
                "score": t.score,
                "max_score": t.max_score,
                "status": "passed" if t.passed else "failed",
                "output": t.output if t.passed else f"[{t.status}] {t.output}",
                "visibility": GRADESCOPE_VISIBILITY[t.visibility],
                "tags": [t.part, t.visibility],
                "extra_data": {"status": t.status, "part": t.part},
            })
    output = summary_line(parts)
    notes = [f"{p.part}: {n}" for p in parts for n in p.notes]
    if notes:
        output += "\n" + "\n".join(notes)
    if grader_error:
        output = f"The grader failed: {grader_error}\n{output}"
    banner = flagged_banner(parts)
    if banner:
        output = f"{banner}\n\n{output}"
    return {
        "score": round(sum(p.score for p in parts), 2),
        "execution_time": round(seconds),
        "output": sanitize.cap(output, top_cap),
        "output_format": "text",
        "visibility": "visible",
        "tests": tests,
        "extra_data": {"grader_error": grader_error,
                       "parts": {p.part: [p.score, p.max_score] for p in parts},
                       "flags": {p.part: p.flags for p in parts}},
    }


def results_json(parts, seconds, grader_error):
    """results.json's text, below RESULTS_JSON_LIMIT bytes: when the capped
    texts still add up to more (many tests, text that JSON escapes into
    several bytes per character), the caps shrink until it fits."""
    output_cap, top_cap = TEST_OUTPUT_CAP, OUTPUT_CAP
    while True:
        data = results_data(parts, seconds, grader_error, output_cap, top_cap)
        text = json.dumps(data, indent=2) + "\n"
        if len(text.encode("utf-8")) < RESULTS_JSON_LIMIT or output_cap == 0:
            return text
        output_cap = output_cap // 4 if output_cap > 256 else 0
        top_cap = max(top_cap // 4, 4096)


def write_results_json(path, parts, seconds, grader_error):
    text = results_json(parts, seconds, grader_error)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def write_junit(path, name, parts):
    parts = safe_parts(parts)
    suites = ET.Element("testsuites", name=sanitize.one_line(name, TITLE_CAP))
    for part in parts:
        failures = sum(1 for t in part.tests if not t.passed)
        suite = ET.SubElement(suites, "testsuite", name=part.part,
                              tests=str(len(part.tests)), failures=str(failures),
                              time=f"{sum(t.ms for t in part.tests) / 1000:.3f}")
        if part.flags:
            props = ET.SubElement(suite, "properties")
            for flag in part.flags:
                ET.SubElement(props, "property", name="flag", value=flag)
        for t in part.tests:
            case = ET.SubElement(suite, "testcase", classname=part.part,
                                 name=f"{t.number} {t.title}", time=f"{t.ms / 1000:.3f}")
            if not t.passed:
                first = (t.output.strip().splitlines() or [t.status])[0]
                failure = ET.SubElement(case, "failure", type=t.status,
                                        message=f"[{t.status}] {first}")
                failure.text = t.output
            elif t.output:
                ET.SubElement(case, "system-out").text = t.output
    ET.indent(suites)
    ET.ElementTree(suites).write(path, encoding="utf-8", xml_declaration=True)


def _indent(text, prefix="        "):
    return "".join(prefix + line + "\n" for line in text.rstrip().splitlines())


def text_report(name, parts, seconds, grader_error):
    parts = safe_parts(parts)
    name = sanitize.one_line(name, TITLE_CAP)
    grader_error = sanitize.clip(grader_error, GRADER_ERROR_CAP)
    total = round(sum(p.score for p in parts), 2)
    most = round(sum(p.max_score for p in parts), 2)
    not_run = [p.hidden_not_run for p in parts if p.hidden_not_run]
    lines = [f"kmod-course grading report for {name}: {total:g}/{most:g} points "
             + ("of the public tests " if not_run else "") + f"({seconds:.0f} s)"]
    if not_run:
        lines.append(f"Only the public tests ran: {sum(n for n, _ in not_run)} hidden test(s), worth "
                     f"{sum(p for _, p in not_run):g} points, are not run here; the grade runs them too.")
    lines.append("")
    if grader_error:
        lines += [f"THE GRADER FAILED: {grader_error}", ""]
    for part in parts:
        headline = f"{part.part}: {part.score:g}/{part.max_score:g}"
        if part.hidden_not_run:
            count, points = part.hidden_not_run
            headline += (f" of the public tests; not run: {count} hidden test(s) worth "
                         f"{points:g} points")
        lines.append(headline)
        lines += [f"  FLAGGED: {f}" for f in part.flags]
        lines += [f"  note: {n}" for n in part.notes]
        for t in part.tests:
            verdict = "PASS" if t.passed else t.status.upper()
            lines.append(f"  {verdict:<8} {t.score:>4g}/{t.max_score:<4g} {t.number:<5} {t.title}"
                         + ("  (hidden)" if t.visibility == "hidden" else ""))
            if not t.passed and t.output.strip():
                lines.append(_indent(t.output).rstrip("\n"))
        if part.logs:
            lines.append("  logs: " + ", ".join(part.logs))
        lines.append("")
    return "\n".join(lines)
