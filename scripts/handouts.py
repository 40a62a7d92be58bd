#!/usr/bin/env python3
"""Build the student handouts: assignments/NAME.md -> handouts/NAME.html and
handouts/NAME.pdf.

Each source is pandoc markdown. Before pandoc sees it:

  {{KEY}}                       is replaced by KEY's value in course.conf (an
                                unknown KEY is an error naming file and line);
  <!-- RUBRIC:partN_name -->    (a line of its own) is replaced by the rubric
                                table of partN_name/tests/partN_name.bats, read
                                with grader/rubric.py: every test with its
                                number, title, points and visibility (hidden
                                tests too: students see what is tested, not
                                how), and the total. A part without a grading
                                suite yet gets a sentence saying so.

The title is the source's YAML `title:` if it has one, otherwise its first
level-1 heading (which then moves from the body to the title block).
COURSE_NAME and COURSE_TERM in course.conf, when set, are shown above it.
HTML and PDF (pandoc + weasyprint) use the same stylesheet,
assignments/handout.css, embedded in the HTML.

usage: handouts.py [--out DIR] [--only NAME]

The repository keeps the rendered handouts in handouts/ (a fresh clone shows
them; make release ships them) with SOURCES.sha256, the digest of what each
was rendered from: stale() says which no longer match their sources, and
tests/test_handouts.py fails while any does (run make handouts).

The pure functions (read_conf, fill_template, rubric_table, fill_rubrics,
find_title) need neither pandoc nor weasyprint; tests/test_handouts.py
tests them.
"""
import argparse
import hashlib
import html
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "grader"))
import course  # noqa: E402
import rubric  # noqa: E402
import vm  # noqa: E402

ASSIGNMENTS = os.path.join(ROOT, "assignments")
CSS = os.path.join(ASSIGNMENTS, "handout.css")

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
RUBRIC_LINE = re.compile(r"^[ \t]*<!--[ \t]*RUBRIC:[ \t]*(\S+?)[ \t]*-->[ \t]*$")
PART_NAME = re.compile(r"^part(\d+)_\w+$")
FENCE = re.compile(r"^[ \t]{0,3}(`{3,}|~{3,})")
# Characters that mean something in a pandoc markdown table cell; escaped
# with a backslash (pandoc accepts a backslash before any ASCII punctuation).
MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]<>#|~^$@&])")


# weasyprint warnings about pandoc's built-in highlighting CSS, not ours
KNOWN_NOISE = re.compile(r"Ignored `(-\w+-)?user-select: none`")


class HandoutError(Exception):
    pass


# --- course.conf -------------------------------------------------------------

def read_conf(text, where="course.conf"):
    """KEY=value lines of course.conf as a dict (grader/course.py reads them)."""
    try:
        return course.read_conf(text, where)
    except course.ConfError as e:
        raise HandoutError(str(e)) from None


def load_conf(path=None):
    path = path or course.path()
    if not os.path.isfile(path):
        return {}
    with open(path, encoding="utf-8") as f:
        return read_conf(f.read(), path)


# --- {{KEY}} placeholders ------------------------------------------------------

def fill_template(text, conf, where="<text>"):
    """Replace every {{KEY}} with conf[KEY]. An unknown KEY raises
    HandoutError naming where:line and the keys that do exist."""
    out = []
    for number, line in enumerate(text.splitlines(keepends=True), 1):
        def value(match, number=number):
            key = match.group(1)
            if key not in conf:
                known = ", ".join(sorted(conf)) or "none"
                raise HandoutError(f"{where}:{number}: unknown course.conf key {{{{{key}}}}} "
                                   f"(known keys: {known})")
            return conf[key]
        out.append(PLACEHOLDER.sub(value, line))
    return "".join(out)


# --- rubric tables -------------------------------------------------------------

def escape_markdown(text):
    return MARKDOWN_SPECIAL.sub(r"\\\1", text)


def part_number(part_name):
    match = PART_NAME.match(part_name)
    if not match:
        raise HandoutError(f"{part_name!r} is not a part name like part2_timer")
    return int(match.group(1))


def rubric_table(part_name, specs, number=None):
    """A pandoc pipe table of a part's tests (rubric.TestSpec list): number
    (part.test, as the grader numbers them), title, points, visibility, then
    a total row."""
    if number is None:
        number = part_number(part_name)
    # pandoc sizes the columns of a wide pipe table by the dashes of this
    # line: about 7% / 62% / 10% / 20%
    rows = ["| # | Test | Points | Visibility |",
            "|:----|:" + "-" * 43 + "|-------:|:" + "-" * 13 + "|"]
    for index, spec in enumerate(specs, 1):
        rows.append(f"| {number}.{index} | {escape_markdown(spec.title)} | "
                    f"{spec.points:g} | {spec.visibility} |")
    total = round(sum(s.points for s in specs), 2)
    split = []
    for visibility in rubric.VISIBILITIES:
        points = round(sum(s.points for s in specs if s.visibility == visibility), 2)
        if points:
            split.append(f"{points:g} {visibility}")
    rows.append(f"| | **Total** | **{total:g}** | {', '.join(split)} |")
    return "\n".join(rows) + "\n"


def no_rubric_text(part_name):
    return (f"*The rubric of this part ({escape_markdown(part_name)}) is not "
            f"published yet.*\n")


def suite_path(part_name, root=ROOT):
    return os.path.join(root, part_name, "tests", part_name + ".bats")


def fill_rubrics(text, load_specs, where="<text>"):
    """Replace each <!-- RUBRIC:partN_name --> line. load_specs(part_name)
    returns the part's TestSpecs, or None when it has no grading suite."""
    out = []
    for number, line in enumerate(text.splitlines(keepends=True), 1):
        match = RUBRIC_LINE.match(line.rstrip("\r\n"))
        if not match:
            if re.search(r"<!--\s*RUBRIC", line):
                raise HandoutError(f"{where}:{number}: a RUBRIC placeholder must be a line "
                                   f"of its own: <!-- RUBRIC:partN_name -->")
            out.append(line)
            continue
        name = match.group(1)
        try:
            part = part_number(name)
        except HandoutError as e:
            raise HandoutError(f"{where}:{number}: {e}") from None
        specs = load_specs(name)
        block = rubric_table(name, specs, part) if specs else no_rubric_text(name)
        # in a div of class "rubric" (for the stylesheet), with blank lines
        # around it so that it is a block of its own
        out.append(f"\n::: {{.rubric}}\n{block}:::\n\n")
    return "".join(out)


def suite_specs(part_name, root=ROOT):
    path = suite_path(part_name, root)
    if not os.path.isfile(path):
        return None
    try:
        return rubric.parse(path)
    except rubric.RubricError as e:
        raise HandoutError(f"grading suite of {part_name}: {e}") from None


# --- title -----------------------------------------------------------------------

def yaml_blocks(lines):
    """(start, end) line indexes of pandoc YAML metadata blocks: '---' at the
    top or after a blank line, up to '---' or '...'."""
    blocks, i = [], 0
    while i < len(lines):
        if lines[i].rstrip() == "---" and (i == 0 or not lines[i - 1].strip()) \
                and i + 1 < len(lines) and lines[i + 1].strip():
            for j in range(i + 1, len(lines)):
                if lines[j].rstrip() in ("---", "..."):
                    blocks.append((i, j))
                    i = j
                    break
        i += 1
    return blocks


def has_yaml_title(text):
    lines = text.splitlines(keepends=True)
    return any(re.match(r"^title\s*:", line)
               for start, end in yaml_blocks(lines) for line in lines[start + 1:end])


def find_title(text):
    """(title, text): title is None when the YAML metadata has one (pandoc
    uses it); otherwise the first level-1 heading, removed from the text;
    otherwise None with the text unchanged."""
    if has_yaml_title(text):
        return None, text
    lines = text.splitlines(keepends=True)
    blocks = yaml_blocks(lines)
    in_yaml = set()
    for start, end in blocks:
        in_yaml.update(range(start, end + 1))
    fence = None
    for i, line in enumerate(lines):
        if i in in_yaml:
            continue
        match = FENCE.match(line)
        if fence:
            if match and match.group(1)[0] == fence[0] and len(match.group(1)) >= len(fence):
                fence = None
            continue
        if match:
            fence = match.group(1)
            continue
        atx = re.match(r"^#[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*(?:\{[^}]*\})?[ \t]*$", line.rstrip("\r\n"))
        if atx and atx.group(1):
            return atx.group(1), "".join(lines[:i] + lines[i + 1:])
        if line.strip() and i + 1 < len(lines) and re.match(r"^=+[ \t]*$", lines[i + 1]) \
                and (i == 0 or not lines[i - 1].strip()):
            return line.strip(), "".join(lines[:i] + lines[i + 2:])
    return None, text


def course_banner(conf):
    """HTML shown above the title: COURSE_NAME and COURSE_TERM, when set."""
    parts = [conf[k] for k in ("COURSE_NAME", "COURSE_TERM") if conf.get(k)]
    if not parts:
        return ""
    return '<p class="course">' + " · ".join(html.escape(p) for p in parts) + "</p>\n"


# --- facts of the grading VM, for {{GRADING_*}} placeholders -------------------------

def grading_facts():
    """What the handouts state about the grading VM, read from where the
    grader keeps it (grader/vm.py, grader/guest-lib/kmod.bash), so that a
    handout cannot say one thing while the grader does another."""
    flags = vm.KERNEL_CMDLINE.split()
    hung = next(f.split("=", 1)[1] for f in flags if f.startswith("sysctl.kernel.hung_task_timeout_secs="))
    shown = [f for f in flags if f.split("=", 1)[0] in
             ("oops", "panic_on_warn", "softlockup_panic", "hung_task_panic", "preempt")]
    with open(os.path.join(ROOT, "grader", "guest-lib", "kmod.bash"), encoding="utf-8") as f:
        flood = re.search(r"KMOD_LOG_FLOOD:-(\d+)", f.read()).group(1)
    return {
        "GRADING_KERNEL_FLAGS": " ".join(shown + [f"hung_task_timeout_secs={hung}"]),
        "GRADING_HUNG_TASK_SECS": hung,
        "GRADING_VM_CPUS": str(vm.VMConfig.cpus),
        "GRADING_LOG_FLOOD": flood,
    }


# --- one handout -------------------------------------------------------------------

def prepare(source, conf, load_specs=suite_specs):
    """Filled markdown and extra pandoc arguments for one source."""
    with open(source, encoding="utf-8") as f:
        text = f.read()
    where = shown(source)
    text = fill_template(text, {**grading_facts(), **conf}, where)
    text = fill_rubrics(text, load_specs, where)
    title, text = find_title(text)
    args = []
    if title is not None:
        # a YAML block rather than --metadata, so that pandoc reads the title
        # as markdown (`code` in a heading stays code); JSON is valid YAML
        text = f"---\ntitle: {json.dumps(title, ensure_ascii=False)}\n---\n\n" + text
    elif not has_yaml_title(text):
        args += ["--metadata", "pagetitle=" + os.path.splitext(os.path.basename(source))[0]]
    if conf.get("COURSE_NAME"):
        args += ["--title-prefix", conf["COURSE_NAME"]]
    return text, args


def pandoc_version():
    out = subprocess.run(["pandoc", "--version"], capture_output=True, text=True,
                         check=True).stdout
    match = re.search(r"pandoc(?:\.exe)? (\d+)\.(\d+)", out)
    return (int(match.group(1)), int(match.group(2))) if match else (0, 0)


def run_pandoc(args):
    proc = subprocess.run(["pandoc"] + args, capture_output=True, text=True)
    if proc.returncode != 0:
        raise HandoutError("pandoc " + " ".join(args) + " failed:\n" + proc.stderr.strip())
    for line in proc.stderr.splitlines():
        # pandoc's own highlighting CSS has properties weasyprint does not know
        if not KNOWN_NOISE.search(line):
            print("handouts: pandoc: " + line, file=sys.stderr)


def build(source, out_dir, conf, tmp, embed_flags):
    name = os.path.splitext(os.path.basename(source))[0]
    text, meta_args = prepare(source, conf)
    filled = os.path.join(tmp, name + ".md")
    with open(filled, "w", encoding="utf-8") as f:
        f.write(text)
    common = ["--from", "markdown", "--standalone", "--css", CSS,
              "--resource-path", os.pathsep.join([ASSIGNMENTS, ROOT]), *meta_args]
    banner = course_banner(conf)
    if banner:
        banner_file = os.path.join(tmp, name + ".banner.html")
        with open(banner_file, "w", encoding="utf-8") as f:
            f.write(banner)
        common += ["--include-before-body", banner_file]
    outputs = []
    for ext, extra in (("html", embed_flags + ["--to", "html5"]),
                       ("pdf", ["--to", "html5", "--pdf-engine", "weasyprint"])):
        final = os.path.join(out_dir, f"{name}.{ext}")
        partial = os.path.join(tmp, f"{name}.{ext}")
        run_pandoc([filled, *common, *extra, "--output", partial])
        shutil.move(partial, final)
        outputs.append(final)
    return outputs


def shown(path):
    """path relative to the current folder when it is under it, else absolute."""
    rel = os.path.relpath(path)
    return os.path.abspath(path) if rel.startswith("..") else rel


# --- the rendered handouts, kept in the repository ----------------------------------

STAMP = "SOURCES.sha256"


def input_digest(source, conf):
    """The sha256 of everything a handout is rendered from: the filled
    markdown (course.conf, the rubric, the grading facts), pandoc's
    arguments, the course banner and the stylesheet."""
    text, args = prepare(source, conf)
    with open(CSS, encoding="utf-8") as f:
        css = f.read()
    data = json.dumps([text, args, course_banner(conf), css], ensure_ascii=False)
    return hashlib.sha256(data.encode()).hexdigest()


def read_stamp(out_dir):
    try:
        with open(os.path.join(out_dir, STAMP), encoding="utf-8") as f:
            return dict(reversed(line.rstrip("\n").split("  ", 1)) for line in f if "  " in line)
    except OSError:
        return {}


def write_stamp(out_dir, digests):
    """Record what each handout was rendered from (merged with the others')."""
    stamp = {**read_stamp(out_dir), **digests}
    with open(os.path.join(out_dir, STAMP), "w", encoding="utf-8") as f:
        f.write("".join(f"{stamp[name]}  {name}\n" for name in sorted(stamp)))


def stale(out_dir, conf=None):
    """The handouts in out_dir not rendered (HTML and PDF) from the current
    sources: [] when every one is current. Needs neither pandoc nor
    weasyprint."""
    conf = load_conf() if conf is None else conf
    stamp = read_stamp(out_dir)
    out = []
    for source in sources():
        name = os.path.splitext(os.path.basename(source))[0]
        rendered = all(os.path.isfile(os.path.join(out_dir, f"{name}.{ext}")) for ext in ("html", "pdf"))
        if not rendered or stamp.get(name) != input_digest(source, conf):
            out.append(name)
    return out


def check_tools():
    missing = [tool for tool in ("pandoc", "weasyprint") if not shutil.which(tool)]
    if missing:
        raise HandoutError(f"{' and '.join(missing)} not found; install them with "
                           f"'bash scripts/install-deps.sh --docs' (Debian packages "
                           f"pandoc weasyprint)")


def sources(only=None):
    names = sorted(f for f in os.listdir(ASSIGNMENTS) if f.endswith(".md"))
    if only:
        wanted = only if only.endswith(".md") else only + ".md"
        if wanted not in names:
            raise HandoutError(f"--only {only}: no assignments/{wanted} "
                               f"(there are: {', '.join(n[:-3] for n in names) or 'none'})")
        names = [wanted]
    if not names:
        raise HandoutError("no assignments/*.md to build")
    return [os.path.join(ASSIGNMENTS, n) for n in names]


def main(argv=None):
    ap = argparse.ArgumentParser(description="Build HTML and PDF handouts from assignments/*.md.")
    ap.add_argument("--out", default=os.path.join(ROOT, "handouts"),
                    help="output folder (default: handouts/ in the repository)")
    ap.add_argument("--only", metavar="NAME", help="build only assignments/NAME.md")
    args = ap.parse_args(argv)
    try:
        check_tools()
        conf = load_conf()
        todo = sources(args.only)
        # fill every source first, so that a bad placeholder anywhere stops
        # the run before any pandoc time is spent
        for source in todo:
            prepare(source, conf)
        os.makedirs(args.out, exist_ok=True)
        embed = (["--embed-resources"] if pandoc_version() >= (2, 19)
                 else ["--self-contained"])
        with tempfile.TemporaryDirectory(prefix="handouts.") as tmp:
            for source in todo:
                for path in build(source, args.out, conf, tmp, embed):
                    print(f"handouts: wrote {shown(path)}")
        write_stamp(args.out, {os.path.splitext(os.path.basename(s))[0]: input_digest(s, conf)
                               for s in todo})
    except HandoutError as e:
        print(f"handouts: error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
