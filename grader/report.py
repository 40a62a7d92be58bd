"""Write one submission's results: results.json (Gradescope autograder
schema), junit.xml and report.txt (for people)."""
import json
import os
from dataclasses import dataclass, field
from xml.etree import ElementTree as ET

# Our visibility -> Gradescope's: hidden tests show up once grades are published.
GRADESCOPE_VISIBILITY = {"public": "visible", "hidden": "after_published"}


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

    @property
    def score(self):
        return round(sum(t.score for t in self.tests), 2)

    @property
    def max_score(self):
        return round(sum(t.max_score for t in self.tests), 2)


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


def write_results_json(path, parts, seconds, grader_error):
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
    data = {
        "score": round(sum(p.score for p in parts), 2),
        "execution_time": round(seconds),
        "output": output,
        "output_format": "text",
        "visibility": "visible",
        "tests": tests,
        "extra_data": {"grader_error": grader_error,
                       "parts": {p.part: [p.score, p.max_score] for p in parts}},
    }
    with open(path, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=2)
        f.write("\n")


def write_junit(path, name, parts):
    suites = ET.Element("testsuites", name=name)
    for part in parts:
        failures = sum(1 for t in part.tests if not t.passed)
        suite = ET.SubElement(suites, "testsuite", name=part.part,
                              tests=str(len(part.tests)), failures=str(failures),
                              time=f"{sum(t.ms for t in part.tests) / 1000:.3f}")
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
    total = round(sum(p.score for p in parts), 2)
    most = round(sum(p.max_score for p in parts), 2)
    lines = [f"kmod-course grading report for {name}: {total:g}/{most:g} points "
             f"({seconds:.0f} s)", ""]
    if grader_error:
        lines += [f"THE GRADER FAILED: {grader_error}", ""]
    for part in parts:
        lines.append(f"{part.part}: {part.score:g}/{part.max_score:g}")
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
