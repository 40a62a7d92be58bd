"""Point a kernel oops, BUG, WARNING or hung task at the student's source line.

When a graded test ends in a kernel report, the student should see which
line of their module did it, not a page of hex:

    reports = find_reports(console_text)          # the reports in a kernel log
    locations = resolve(reports[0], {"my_timer": ("build/my_timer.ko", "src/part2_timer")})
    print(summary(reports[0], locations))

    NULL pointer dereference in my_timer_read at my_timer.c:57: `*p = 0;`
      kernel said: BUG: kernel NULL pointer dereference, address: 0000000000000000
                   #PF: supervisor write access in kernel mode
      in your module:
        my_timer_read  my_timer.c:57  *p = 0;

find_reports() parses the x86_64 formats of Linux 5.15 to 6.12 (printk
timestamps, `Call Trace:` with or without <TASK>, `? ` frames, `[module]`
and `[module buildid]` suffixes, `Oops: Oops:`, hung-task traces).
resolve() looks each frame of the student's modules up in the .ko's symbol
table (read here; the function's section, .text or .init.text or another,
and its offset in it) and asks addr2line for the file and line, which are
then read from the student's source folder only.

Everything here is hostile input: student kernel code prints what it likes
and ships the .ko. Work is bounded (reports, frames, lines, bytes, time),
addr2line gets a fixed argv without a shell, a clean environment and a
timeout, no file outside the source folder is read, resolve() never raises,
and every text returned has its control characters stripped.
"""
import glob
import os
import re
import selectors
import shutil
import struct
import subprocess
import time
from dataclasses import dataclass, field
from typing import NamedTuple, Optional

import sanitize
import symbols

MAX_REPORTS = 5            # reports kept from one log
MAX_FRAMES = 16            # call-trace frames kept from one report
MAX_REPORT_LINES = 400     # lines of one report looked at
FIRST_LINES = 5            # lines of a report quoted to the student
LINE_CAP = 160             # characters of a quoted report line
MATCH_CAP = 512            # characters of a log line the patterns look at
SOURCE_LINE_CAP = 120      # characters of a quoted source line
FUNCTION_CAP = 120         # characters of a function name addr2line gives
ADDR2LINE_TIMEOUT = 10     # seconds for one addr2line run
RESOLVE_BUDGET = 30        # seconds of addr2line for one resolve()
OUTPUT_CAP = 64 * 1024     # bytes of addr2line output read
INLINE_CAP = 8             # inlined-function levels kept for one address
SYMBOL_CAP = 200_000       # symbol-table entries looked at in one .ko
PATH_PARTS_CAP = 8         # trailing components of a DWARF path tried
STT_FUNC = 2
SHN_LORESERVE = 0xff00
_ENV = {"PATH": "/usr/bin:/bin", "LC_ALL": "C"}


class Frame(NamedTuple):
    """One `func+0xOFF/0xSIZE [module]` of a trace or RIP line."""
    function: str
    offset: int
    size: int
    module: Optional[str]
    questionable: bool      # the kernel printed it with `? ` (a stale address on the stack)


@dataclass
class Report:
    """One oops, BUG, WARNING or hung task found in a log."""
    kind: str                       # "NULL pointer dereference", "WARNING", "hung task"...
    headline: str                   # its first line, without the timestamp
    first_lines: list               # its first lines (at most FIRST_LINES), headline first
    rip: Optional[Frame] = None     # the kernel-mode `RIP: 0010:` frame
    frames: list = field(default_factory=list)   # the Call Trace, innermost first
    where: Optional[tuple] = None   # (path, line) the kernel printed itself (WARNING, kernel BUG at)


@dataclass
class Location:
    """Where one frame of the student's module is in their sources."""
    frame: Frame
    is_rip: bool
    file: Optional[str] = None      # relative to the source folder, e.g. "my_timer.c"
    line: Optional[int] = None
    source: Optional[str] = None    # the text of that line, stripped
    function: Optional[str] = None  # the function the line table names there
    inlined: bool = False           # that function was inlined into frame.function
    reason: Optional[str] = None    # why file and line are missing


class _Unresolved(Exception):
    """A frame cannot be placed; the message says why, for the student."""


class _Timeout(_Unresolved):
    """addr2line ran out of time."""


# ---------------------------------------------------------------------------
# Parsing a log

_PREFIX = re.compile(
    r"(?:\w{3} [ \d]\d \d\d:\d\d:\d\d \S+ kernel: )?(?:<\d>)?"
    r"(\[\s*\d+\.\d+\](?:\[\s*[TC]\d+\])? ?)?", re.A)
_SYM = r"([A-Za-z_.$][\w.$]*)\+0x([0-9a-f]{1,16})/0x([0-9a-f]{1,16})(?: \[([\w-]+)(?: [0-9a-f]+)?\])?"
_FRAME = re.compile(r"\s*(\? )?" + _SYM + r"\s*\Z", re.A)
# RIP's empty group stands for _FRAME's `? `: both give _frame() five groups.
_RIP = re.compile(r"\s*RIP: 0010:()" + _SYM + r"\s*\Z", re.A)
_WHERE = re.compile(r"(?:WARNING: CPU: \d+ PID: \d+|kernel BUG) at ([^\s:]+):(\d{1,7})\b", re.A)
# (pattern, kind), tried in order; the kind None takes it from the message.
_STARTS = [(re.compile(p, re.A), kind) for p, kind in [
    (r"BUG: (?:kernel NULL pointer dereference|unable to handle kernel NULL pointer)",
     "NULL pointer dereference"),
    (r"BUG: unable to handle (?:page fault|kernel paging request)", "page fault"),
    (r"kernel BUG at ", "kernel BUG"),
    (r"(?:Oops: )?general protection fault", "general protection fault"),
    (r"INFO: task .{1,64}? blocked for more than \d+ seconds", "hung task"),
    (r"WARNING: (?:CPU: \d+ PID: \d+ |possible |suspicious |inconsistent |bad unlock |held lock |"
     r"lock held |Nested lock )", "WARNING"),
    (r"(?:watchdog: )?BUG: soft lockup", "soft lockup"),
    (r"BUG: ", None),
]]
# Lines that follow a BUG line in the same report, and start one only alone.
_CONTINUATION = re.compile(r"(?:Oops: )*(invalid opcode: )?[0-9a-f]{4} \[#\d+\]")
_BUG_KIND_END = re.compile(r"[,:!\[(]| - | at | in | for ")


def _clean(text, cap):
    """text as one safe line: control characters and ANSI sequences gone,
    tabs made spaces, at most cap characters."""
    return sanitize.strip(text[:4 * cap]).replace("\t", " ").replace("\n", " ")[:cap]


def _lines(text):
    """The lines of text, each cut to MATCH_CAP characters (no copy of a huge line)."""
    pos, size = 0, len(text)
    while pos < size:
        end = text.find("\n", pos)
        end = size if end < 0 else end
        yield text[pos:min(end, pos + MATCH_CAP)].rstrip("\r")
        pos = end + 1


def _split_prefix(line):
    """(had a printk timestamp, the message without syslog prefix and timestamp)."""
    m = _PREFIX.match(line)
    return m.group(1) is not None, line[m.end():]


def _frame(m):
    """A Frame from a _FRAME or _RIP match."""
    questionable, function, offset, size, module = m.groups()
    return Frame(function, int(offset, 16), int(size, 16), module, bool(questionable))


def _bug_kind(message):
    """The kind of a generic `BUG: what, details` line: `what`."""
    rest = message[len("BUG: "):]
    return _BUG_KIND_END.split(rest, 1)[0].strip()[:60] or "BUG"


def _start(message, may_continue):
    """The kind of report message starts, or None. A continuation line
    (`Oops: 0002 [#1]`, `invalid opcode: 0000 [#1]`) starts one only when
    no report is open (may_continue False)."""
    for pattern, kind in _STARTS:
        if pattern.match(message):
            return kind or _bug_kind(message)
    if not may_continue:
        m = _CONTINUATION.match(message)
        if m:
            return "invalid opcode" if m.group(1) else "Oops"
    return None


class _Draft:
    """A report being read: the Report and where its reading is."""

    def __init__(self, kind, message, stamped):
        headline = _clean(message, LINE_CAP)
        where = _WHERE.match(message)
        self.report = Report(kind, headline, [headline],
                             where=(where.group(1), int(where.group(2))) if where else None)
        self.stamped = stamped
        self.seen = 1
        self.in_trace = False
        self.done = False

    def take(self, message):
        """Read one more line of the report."""
        rep = self.report
        self.seen += 1
        stripped = message.strip()
        if self.seen > MAX_REPORT_LINES or stripped.startswith("---[ end trace"):
            self.done = True
            return
        if len(rep.first_lines) < FIRST_LINES:
            rep.first_lines.append(_clean(message, LINE_CAP))
        if self.in_trace:
            if stripped == "</TASK>" or stripped.startswith("Modules linked in:"):
                self.done = True
            elif len(rep.frames) < MAX_FRAMES:
                m = _FRAME.match(message)
                if m:
                    rep.frames.append(_frame(m))
        elif stripped == "Call Trace:":
            self.in_trace = True
        elif rep.rip is None:
            m = _RIP.match(message)
            if m:
                rep.rip = _frame(m)


def find_reports(text):
    """The kernel reports in text (a kernel log or serial console, str or
    bytes), in order, at most MAX_REPORTS: a list of Report.

    A report starts at an oops, BUG, WARNING, general protection fault,
    `kernel BUG at` or hung-task line and ends at `---[ end trace`, at the
    end of its Call Trace, or at the next report. When its first line has a
    printk timestamp, lines without one (other output on the console) are
    not part of it."""
    drafts, current = [], None
    for line in _lines(sanitize.as_text(text)):
        stamped, message = _split_prefix(line)
        is_open = current is not None and not current.done
        if is_open and current.stamped and not stamped:
            continue
        kind = _start(message, is_open)
        if kind:
            if len(drafts) == MAX_REPORTS:
                break
            current = _Draft(kind, message, stamped)
            drafts.append(current)
        elif is_open:
            current.take(message)
    return [d.report for d in drafts]


# ---------------------------------------------------------------------------
# The .ko: which section a function is in, and where

def _cstr(table, offset):
    """The NUL-terminated name at offset of a string table (at most 512 bytes)."""
    if offset >= len(table):
        return b""
    end = table.find(b"\0", offset, offset + 512)
    return table[offset:end if end >= 0 else offset + 512]


def _elf_functions(path, names):
    """{name: [(section name, value, size)]} for the defined function
    symbols of the ELF64 little-endian object at path whose names are in
    names. Raises _Unresolved for anything unreadable."""
    try:
        data = symbols._read_capped(path, symbols.ELF_CAP)
    except symbols.SymbolError as e:
        raise _Unresolved(f"cannot read the module ({e})") from None
    if data[:6] != b"\x7fELF\x02\x01":
        raise _Unresolved("the module is not an ELF64 little-endian file")
    try:
        return _functions_in(data, {n.encode() for n in names})
    except (struct.error, IndexError) as e:
        raise _Unresolved(f"the module is malformed ({e})") from None


def _functions_in(data, wanted):
    """_elf_functions on the bytes of an ELF64 little-endian file."""
    (e_shoff,) = struct.unpack_from("<Q", data, 0x28)
    e_shentsize, e_shnum, e_shstrndx = struct.unpack_from("<HHH", data, 0x3a)
    if e_shentsize != 64 or e_shnum == 0 or e_shoff + 64 * e_shnum > len(data):
        raise _Unresolved("the module has no readable section headers")
    heads = [struct.unpack_from("<IIQQQQIIQQ", data, e_shoff + 64 * i) for i in range(e_shnum)]

    def body(head):
        offset, size = head[4], head[5]
        if offset + size > len(data):
            raise _Unresolved("a section of the module runs past its end")
        return data[offset:offset + size]

    shstr = body(heads[e_shstrndx]) if e_shstrndx < e_shnum else b""
    found, budget = {}, SYMBOL_CAP
    for head in heads:
        if head[1] != symbols.SHT_SYMTAB or head[9] != 24 or head[6] >= e_shnum:
            continue
        strtab, table = body(heads[head[6]]), body(head)
        count = min(len(table) // 24, budget)
        budget -= count
        for st_name, st_info, _other, shndx, value, size in struct.iter_unpack(
                "<IBBHQQ", table[:24 * count]):
            if st_info & 0xf != STT_FUNC or not 0 < shndx < min(e_shnum, SHN_LORESERVE):
                continue
            name = _cstr(strtab, st_name)
            if name in wanted:
                section = _cstr(shstr, heads[shndx][0]).decode("utf-8", "surrogateescape")
                found.setdefault(name.decode(), []).append((section, value, size))
    return found


# ---------------------------------------------------------------------------
# addr2line

def _env_roots():
    """The root trees of the course environments already made (never makes
    one): KMOD_CACHE/env/*/root, with vm/common.sh's default KMOD_CACHE."""
    cache = os.environ.get("KMOD_CACHE")
    if not cache:
        if os.geteuid() == 0:
            cache = "/var/cache/kmod-course"
        else:
            base = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
            cache = os.path.join(base, "kmod-course")
    return sorted(glob.glob(os.path.join(glob.escape(cache), "env", "*", "root")))


def find_addr2line():
    """The argv that runs addr2line: the host's, else a course environment's
    (through that tree's own loader and libraries), else None."""
    host = shutil.which("addr2line")
    if host:
        return [host]
    for root in _env_roots():
        libs = os.path.join(root, "usr", "lib", "x86_64-linux-gnu")
        tool, loader = os.path.join(root, "usr", "bin", "addr2line"), os.path.join(libs, "ld-linux-x86-64.so.2")
        if os.path.isfile(tool) and os.path.isfile(loader):
            return [loader, "--library-path", libs, tool]
    return None


def _run(argv, timeout):
    """The first OUTPUT_CAP bytes addr2line writes, run from argv with no
    shell, no stdin and a clean environment, killed after timeout seconds
    (raises _Timeout) or once it wrote OUTPUT_CAP bytes."""
    try:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, env=_ENV, close_fds=True)
    except (OSError, ValueError) as e:
        raise _Unresolved(f"cannot run addr2line ({type(e).__name__})") from None
    deadline, out = time.monotonic() + timeout, bytearray()
    try:
        with selectors.DefaultSelector() as sel:
            sel.register(proc.stdout, selectors.EVENT_READ)
            while len(out) < OUTPUT_CAP:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise _Timeout("addr2line took too long on this module")
                if sel.select(left):
                    chunk = os.read(proc.stdout.fileno(), 65536)
                    if not chunk:
                        break
                    out += chunk
        if len(out) < OUTPUT_CAP:
            proc.wait(max(0.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        raise _Timeout("addr2line took too long on this module") from None
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
    return bytes(out[:OUTPUT_CAP])


def _parse_addr2line(out):
    """[(function, path, line)] from `addr2line -f -i` output for one
    address, innermost inlined function first (line 0 when unknown)."""
    lines = out.decode("utf-8", "backslashreplace").split("\n")
    chain = []
    for func, loc in zip(lines[0::2], lines[1::2]):
        if len(chain) == INLINE_CAP:
            break
        path, _, num = loc.split(" (discriminator", 1)[0].rpartition(":")
        chain.append((func.strip(), path, int(num) if re.fullmatch(r"[0-9]{1,7}", num) else 0))
    return chain


# ---------------------------------------------------------------------------
# The student's sources

def _source_path(src_dir, dwarf_path):
    """(name relative to src_dir, real path) of the regular file inside
    src_dir that dwarf_path names, matched by its longest trailing part that
    exists there (a DWARF path may be absolute or from a build sandbox), or
    None. Paths with `..`, and files whose real path leaves src_dir (through
    a symlink), are refused."""
    if not dwarf_path or dwarf_path == "??" or "\0" in dwarf_path or len(dwarf_path) > 4096:
        return None
    parts = [p for p in dwarf_path.replace("\\", "/").split("/") if p not in ("", ".")]
    if not parts or ".." in parts:
        return None
    root = os.path.realpath(src_dir)
    for k in range(min(len(parts), PATH_PARTS_CAP), 0, -1):
        real = os.path.realpath(os.path.join(root, *parts[-k:]))
        if real.startswith(root + os.sep) and os.path.isfile(real):
            return "/".join(parts[-k:]), real
    return None


def _read_lines(real):
    """The lines of a source file (at most symbols.SOURCE_CAP bytes of it)."""
    try:
        data = symbols._read_capped(real, symbols.SOURCE_CAP)
    except symbols.SymbolError:
        return []
    return data.decode("utf-8", "replace").split("\n")


# ---------------------------------------------------------------------------
# Resolving frames

class _Resolver:
    """Places the frames of one report, with what it read cached."""

    def __init__(self, tool, names):
        self.tool = tool
        self.names = names                  # function names wanted per .ko
        self.deadline = time.monotonic() + RESOLVE_BUDGET
        self.functions, self.bad, self.runs, self.sources = {}, {}, {}, {}

    def symbol(self, ko, frame):
        """(section, value) of frame's function in ko, preferring the symbol
        of the size the kernel printed."""
        if ko not in self.functions:
            self.functions[ko] = _elf_functions(ko, self.names[ko])
        candidates = self.functions[ko].get(frame.function)
        if not candidates:
            raise _Unresolved(f"{frame.function} is not a function of the module")
        section, value, _size = next((c for c in candidates if c[2] == frame.size), candidates[0])
        if not section:
            raise _Unresolved(f"{frame.function} is in an unnamed section")
        return section, value

    def addr2line(self, ko, section, address):
        """The inline chain addr2line gives for address in section of ko."""
        key = (ko, section, address)
        if key not in self.runs:
            if self.tool is None:
                raise _Unresolved("addr2line is not installed (binutils)")
            if ko in self.bad:
                raise _Unresolved(self.bad[ko])
            left = min(ADDR2LINE_TIMEOUT, self.deadline - time.monotonic())
            if left <= 0:
                raise _Unresolved("addr2line took too long")
            argv = self.tool + ["-f", "-i", "-e", ko, "-j", section, f"0x{address:x}"]
            try:
                self.runs[key] = _parse_addr2line(_run(argv, left))
            except _Timeout as e:
                self.bad[ko] = str(e)
                raise
        return self.runs[key]

    def source(self, src_dir, dwarf_path, line):
        """(relative name, source text or None) of dwarf_path:line in
        src_dir, or None when the file is not the student's."""
        found = _source_path(src_dir, dwarf_path)
        if found is None:
            return None
        rel, real = found
        if real not in self.sources:
            self.sources[real] = _read_lines(real)
        lines = self.sources[real]
        text = _clean(lines[line - 1].strip(), SOURCE_LINE_CAP) if 0 < line <= len(lines) else None
        return _clean(rel, LINE_CAP), text

    def locate(self, frame, is_rip, ko, src_dir):
        """The Location of one frame; raises _Unresolved."""
        section, value = self.symbol(ko, frame)
        # A return address points after its call: offset - 1 is the call's line.
        address = value + (frame.offset if is_rip else max(frame.offset - 1, 0))
        chain = self.addr2line(ko, section, address)
        known = [c for c in chain if c[2] > 0 and c[1] != "??"]
        if not known:
            raise _Unresolved("no line information in the module (built without -g?)")
        for depth, (func, path, line) in enumerate(known):
            placed = self.source(src_dir, path, line)
            if placed:
                return Location(frame, is_rip, placed[0], line, placed[1],
                                _clean(func, FUNCTION_CAP), depth < len(known) - 1)
        outside = _clean(os.path.basename(known[0][1]), LINE_CAP)
        raise _Unresolved(f"the line is outside your sources ({outside}:{known[0][2]})")


def _module_table(modules):
    """{kernel module name: (ko path, source folder)}; names compared as the
    kernel prints them ('-' becomes '_')."""
    table = {}
    for name, value in dict(modules).items():
        ko, src = value
        table[str(name).replace("-", "_")] = (os.fspath(ko), os.fspath(src))
    return table


def _student_frames(report, table):
    """[(frame, is_rip, ko, source folder)] for the RIP and then the trace
    frames that are in the student's modules."""
    pairs = ([(report.rip, True)] if report.rip else []) + [(f, False) for f in report.frames]
    out = []
    for frame, is_rip in pairs[:MAX_FRAMES + 1]:
        module = (frame.module or "").replace("-", "_")
        if module in table:
            out.append((frame, is_rip) + table[module])
    return out


def _kernel_where(report, location, src_dir, resolver):
    """Fill an unresolved RIP location from the file:line the kernel printed
    itself (WARNING ... at FILE:LINE, kernel BUG at FILE:LINE)."""
    if not (location.is_rip and location.reason and report.where):
        return
    path, line = report.where
    placed = resolver.source(src_dir, path, line)
    if placed:
        location.file, location.line, location.source = placed[0], line, placed[1]
        location.function, location.reason = location.frame.function, None


def resolve(report, modules, addr2line=None):
    """Where the report's frames in the student's modules are in their
    sources: a list of Location, the RIP first, then the Call Trace frames
    innermost first; frames outside the modules are left out.

    modules maps a module name to (path of its .ko, folder of its sources).
    addr2line is the argv to run it (default: find_addr2line()). A frame that
    cannot be placed gets a Location with a reason instead of file and line.
    Never raises."""
    try:
        table = _module_table(modules)
        wanted = _student_frames(report, table)
    except Exception:  # noqa: BLE001 - a malformed argument must not stop grading
        return []
    names = {}
    for frame, _is_rip, ko, _src in wanted:
        names.setdefault(ko, set()).add(frame.function)
    try:
        tool = find_addr2line() if addr2line is None else list(addr2line)
    except Exception:  # noqa: BLE001
        tool = None
    resolver = _Resolver(tool, names)
    locations = []
    for frame, is_rip, ko, src in wanted:
        try:
            try:
                location = resolver.locate(frame, is_rip, ko, src)
            except _Unresolved as e:
                location = Location(frame, is_rip, reason=_clean(str(e), LINE_CAP))
            _kernel_where(report, location, src, resolver)
        except Exception as e:  # noqa: BLE001 - a crafted .ko must not stop grading
            location = Location(frame, is_rip, reason=f"could not be resolved ({type(e).__name__})")
        locations.append(location)
    return locations


# ---------------------------------------------------------------------------
# What the student reads

def _function_name(location):
    """The function a location is in, saying so when it was inlined."""
    frame = location.frame
    if location.inlined and location.function:
        return f"{location.function} (inlined in {frame.function})"
    return frame.function


def _culprit(locations):
    """The placed location the report is about: the first one the kernel
    was sure of (no `?`), else the first placed one, else None."""
    placed = [loc for loc in locations if loc.file]
    sure = [loc for loc in placed if not loc.frame.questionable]
    return (sure or placed or [None])[0]


def _first_line(report, locations):
    """`KIND in FUNC at FILE:LINE: `SOURCE``, else `KIND in FUNC+0xOFF
    [module]`, else the headline."""
    best = _culprit(locations)
    if best:
        text = f"{report.kind} in {_function_name(best)} at {best.file}:{best.line}"
        return text + (f": `{best.source}`" if best.source else "")
    frame = locations[0].frame if locations else report.rip
    if frame:
        module = f" [{frame.module}]" if frame.module else ""
        return f"{report.kind} in {frame.function}+0x{frame.offset:x}{module}"
    return report.headline


def _rows(locations):
    """One line per distinct frame of the student's modules, innermost first."""
    seen, cells = set(), []
    for loc in locations:
        key = (loc.frame.function, loc.frame.offset, loc.frame.module)
        if key in seen:
            continue
        seen.add(key)
        name = ("? " if loc.frame.questionable else "") + _function_name(loc)
        if loc.file:
            cells.append((name, f"{loc.file}:{loc.line}", loc.source or ""))
        else:
            cells.append((f"{name}+0x{loc.frame.offset:x}", f"({loc.reason})", ""))
    width = min(40, max((len(c[0]) for c in cells), default=0))
    return [f"{a:<{width}}  {b}  {c}".rstrip() for a, b, c in cells]


def summary(report, locations):
    """The text a student sees for one report: a first line saying what
    happened where, the kernel's first lines, and the frames in their
    modules (from resolve())."""
    said = report.first_lines or [report.headline]
    out = [_first_line(report, locations), "  kernel said: " + said[0]]
    out += ["               " + line for line in said[1:FIRST_LINES]]
    rows = _rows(locations)
    if rows:
        out.append("  in your module:")
        out += ["    " + row for row in rows]
    return "\n".join(out)
