"""Which kernel symbols a student module imports, checked before it runs.

Student kernel code runs in ring 0 in the grading VM. Everything a module
can call or read in the kernel, apart from inline assembly and raw
pointers, goes through the symbols insmod resolves: the undefined symbols
of the .ko's symbol table. Before the VM boots, the grader lists them
(this module parses the ELF itself; no nm or readelf needed) and compares
them with the part's allowlist (`"symbols": {"allow": [...]}` in
part.json, plus an instructor's `"extra_allow"`):

  - a name on the DENY list below (file and path APIs, other tasks' file
    tables and memory, kprobes, power off, memory permissions, devices such
    as the results port...) is a "forbidden kernel function": no
    assignment needs it, and it lets kernel code reach the results stream,
    the tests, other processes or the machine. The DENY list wins over any
    allowlist.
  - any other name outside the allowlist is flagged for review.

What does not show up as a symbol (reading current->comm, a parent task,
the VM's hostname, inline assembly...) is looked for in the sources
(scan_sources), and also flagged for review.

Command line, for instructors:
  python3 grader/symbols.py FILE.ko...                  undefined symbols
  python3 grader/symbols.py --part part2_timer [--src DIR] FILE.ko...
                                                        verdict (exit 1 if flagged)
"""
import argparse
import bisect
import json
import os
import re
import stat
import struct
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

ELF_CAP = 64 * 1024 * 1024      # bytes of a .ko read at most
SOURCE_CAP = 2 * 1024 * 1024    # bytes of one source file scanned at most
SOURCE_FILES_CAP = 200          # source files scanned at most

SHT_SYMTAB, SHT_STRTAB = 2, 3
SHN_UNDEF = 0
ET_REL = 1


class SymbolError(ValueError):
    """The file is not an ELF64 little-endian relocatable object we can read."""


# ---------------------------------------------------------------------------
# ELF

def _read_capped(path, cap):
    """The bytes of a regular file, refusing more than cap (no FIFO, no device)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as e:
        raise SymbolError(f"cannot open: {e.strerror}") from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise SymbolError("not a regular file")
        chunks, size = [], 0
        while size <= cap:
            chunk = os.read(fd, min(1 << 20, cap + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as e:
        raise SymbolError(f"cannot read: {e.strerror}") from None
    finally:
        os.close(fd)
    if size > cap:
        raise SymbolError(f"larger than {cap // (1024 * 1024)} MB")
    return b"".join(chunks)


def _parse_undefined(data):
    if len(data) < 64:
        raise SymbolError("too short for an ELF header")
    if data[:4] != b"\x7fELF":
        raise SymbolError("not an ELF file")
    if data[4] != 2:
        raise SymbolError("not a 64-bit ELF file")
    if data[5] != 1:
        raise SymbolError("not a little-endian ELF file")
    (e_type, _machine, _version, _entry, _phoff, e_shoff, _flags, _ehsize,
     _phentsize, _phnum, e_shentsize, e_shnum, _shstrndx) = struct.unpack_from(
        "<HHIQQQIHHHHHH", data, 16)
    if e_type != ET_REL:
        raise SymbolError(f"not a relocatable object (ELF type {e_type})")
    if e_shoff == 0:
        raise SymbolError("no section headers")
    if e_shentsize != 64:
        raise SymbolError(f"unexpected section header size {e_shentsize}")

    def section(index):
        off = e_shoff + 64 * index
        if off + 64 > len(data):
            raise SymbolError("section headers run past the end of the file")
        # name, type, flags, addr, offset, size, link, info, addralign, entsize
        return struct.unpack_from("<IIQQQQIIQQ", data, off)

    count = e_shnum
    if count == 0:                       # extended numbering: count in section 0
        count = section(0)[5]
    if count > (len(data) - min(e_shoff, len(data))) // 64:
        raise SymbolError("section headers run past the end of the file")

    def contents(sh, what):
        offset, size = sh[4], sh[5]
        if offset > len(data) or size > len(data) - offset:
            raise SymbolError(f"{what} runs past the end of the file")
        return memoryview(data)[offset:offset + size]

    symtabs = [sh for sh in (section(i) for i in range(count)) if sh[1] == SHT_SYMTAB]
    if not symtabs:
        raise SymbolError("no symbol table")
    names = set()
    for sh in symtabs:
        if sh[9] != 24 or sh[5] % 24:
            raise SymbolError("malformed symbol table")
        if sh[6] >= count:
            raise SymbolError("symbol table names no valid string table")
        strsh = section(sh[6])
        if strsh[1] != SHT_STRTAB:
            raise SymbolError("symbol table names no valid string table")
        strtab = bytes(contents(strsh, "string table"))
        for st_name, st_info, _other, st_shndx, _value, _size in struct.iter_unpack(
                "<IBBHQQ", contents(sh, "symbol table")):
            # Any binding: the kernel's loader resolves every undefined
            # symbol, LOCAL ones too (a Makefile can rebind them after the link).
            if st_shndx != SHN_UNDEF or st_name == 0:
                continue
            if st_name >= len(strtab):
                raise SymbolError("symbol name outside the string table")
            end = strtab.find(b"\0", st_name)
            if end < 0:
                raise SymbolError("unterminated symbol name")
            if end > st_name:
                names.add(strtab[st_name:end].decode("utf-8", "backslashreplace"))
    # The symbol versions modpost wrote (64-byte entries: crc, then the
    # name): what the module was linked against, whatever its symbol table
    # says now.
    if _shstrndx < count:
        shstr = bytes(contents(section(_shstrndx), "section names"))
        for i in range(count):
            sh = section(i)
            end = shstr.find(b"\0", sh[0])
            if sh[0] < len(shstr) and shstr[sh[0]:end] == b"__versions":
                body = bytes(contents(sh, "__versions"))
                for off in range(0, len(body) - 63, 64):
                    name = body[off + 8:off + 64].split(b"\0", 1)[0]
                    if name:
                        names.add(name.decode("utf-8", "backslashreplace"))
    return names


def undefined_symbols(path):
    """The names a relocatable ELF64 little-endian object (.ko or .o) needs
    from outside: symbols with st_shndx == SHN_UNDEF (any binding), and the
    names in its __versions section.
    Raises SymbolError for anything else (truncated, other class, garbage)."""
    data = _read_capped(path, ELF_CAP)
    try:
        return _parse_undefined(data)
    except struct.error as e:            # every read is bounds-checked; belt and braces
        raise SymbolError(f"malformed ELF ({e})") from None


# ---------------------------------------------------------------------------
# What no module of this course may import

DENY_EXACT = frozenset("""
    filp_open filp_close file_open_root file_open_name dentry_open kernel_file_open
    d_path file_path iterate_dir do_sys_open do_sys_openat2
    fd_install iterate_fd get_files_struct put_files_struct
    find_vpid find_pid_ns find_get_pid pid_task get_pid_task init_task
    get_task_mm mm_access access_process_vm kthread_use_mm kthread_unuse_mm
    vm_mmap vm_munmap
    kernel_power_off kernel_halt kernel_restart emergency_restart handle_sysrq pm_power_off
    group_send_sig_info
    native_write_cr0 native_write_cr4 sys_call_table
    __symbol_get __symbol_put symbol_get symbol_put
    open_exec user_path_at_empty open_with_fake_path try_lookup_one_len
    lookup_positive_unlocked __filemap_get_folio read_cache_page read_cache_folio
    do_splice_direct generic_file_read_iter get_task_pid __task_pid_nr_ns
    prepare_kernel_cred commit_creds override_creds register_die_notifier stop_machine
    kernel_sigaction sock_create_kern __request_module
""".split())

DENY_FAMILIES = [
    # files and paths
    r"_*kernel_(read|write)",          # kernel_read, kernel_write, __kernel_write
    r"_*kernel_read_file.*",           # kernel_read_file, kernel_read_file_from_path...
    r"kern_path.*",
    r"_*vfs_.*",
    r"lookup_one.*",
    r"ksys_.*",
    r"__(x64|ia32|se|do)_sys_.*",
    r"do_sys_open.*",
    r"filp_open.*",
    r"file_open_.*",
    # file tables
    r"fget.*",
    r"_*fdget.*",
    r"task_lookup_.*fd.*",             # task_lookup_fd_rcu, task_lookup_next_fd_rcu
    r"files_lookup_fd.*",
    r"_*close_fd.*",
    r"_*receive_fd.*",
    # other tasks and their memory
    r"find_task_by_.*",
    r"find_get_task_by_.*",
    r"get_user_pages.*",
    r"pin_user_pages.*",
    r"call_usermodehelper.*",
    # kernel internals, probes, tracing
    r"kallsyms_.*",
    r"(un)?register_k(ret)?probes?",
    r".*ftrace.*",
    # the machine
    r"kernel_(power_off|halt|restart).*",
    r"orderly_.*",
    r"machine_.*",
    r"(native_)?(rd|wr)msr.*",
    r"native_(read|write)_msr.*",
    # signals to other tasks
    r"kill_pid.*",
    r"kill_pgrp.*",
    r"send_sig.*",
    r"force_sig.*",
    # memory permissions
    r"set_memory_.*",
    r"text_poke.*",
    # devices, among them the results port
    r"_*(un)?register_virtio_.*",
    r"_*virtio_.*",
    r"_*tty_.*",
    r"_*hvc_.*",
]
_DENY_RE = re.compile("(?:" + "|".join(DENY_FAMILIES) + r")\Z")


def is_denied(name):
    """True if no module of this course may import name."""
    return name in DENY_EXACT or _DENY_RE.match(name) is not None


def check_modules(ko_paths, allow):
    """(forbidden, review): sorted (symbol, ko basename) pairs on the DENY
    list, and the sorted symbols neither denied nor in allow. Raises
    SymbolError for a file that is not a readable module."""
    imports = {os.path.basename(p): undefined_symbols(p) for p in ko_paths}
    return _verdict(imports, allow)


def _verdict(imports, allow):
    allow = set(allow)
    forbidden, review = set(), set()
    for ko, names in imports.items():
        for name in names:
            if is_denied(name):
                forbidden.add((name, ko))
            elif name not in allow:
                review.add(name)
    return sorted(forbidden), sorted(review)


# ---------------------------------------------------------------------------
# The sources: what does not show up as a symbol

CURRENT_COMM = "(code that behaves differently depending on who reads it)"
WHO = "(code that behaves differently depending on who runs it)"
MACHINE = "(code that reaches past the kernel's interfaces)"

# (regex, reason): {0} in a reason is the text found, blanks removed; a
# reason may also be a function of the match, giving None for no hit.
SOURCE_RULES = [
    (r"\bcurrent\s*->\s*comm\b", "reads current->comm " + CURRENT_COMM),
    (r"(?:\b(\w+)\s*)?(?:->|\.)\s*comm\b",
     lambda m: None if m.group(1) == "current" else "reads a task's name ({0}) " + CURRENT_COMM),
    (r"\b(?:__)?get_task_comm\b", "calls {0} (the name of a task) " + CURRENT_COMM),
    (r"->\s*(?:real_parent|parent)\b", "reads {0} (a task's parent: who started the reader) " + WHO),
    (r"\breal_parent\b", "names real_parent (a task's parent) " + WHO),
    (r"(?:->|\.)\s*tasks\b", "walks the task list ({0}: every process) " + WHO),
    (r"\bcurrent\s*->\s*(?:fs|mm|cred|real_cred|nsproxy)\b",
     "reads {0} (the reader's files, memory or credentials) " + WHO),
    (r"##", "pastes tokens with ## (names the scan cannot see) " + MACHINE),
    (r"->\s*(?:arg_start|arg_end|env_start|env_end)\b",
     "reads a process's command line or environment (mm{0}) " + WHO),
    (r"\butsname\s*\(", "calls utsname() (the VM's hostname) " + WHO),
    (r"\binit_uts_ns\b", "uses init_uts_ns (the VM's hostname) " + WHO),
    (r"(?:->|\.)\s*nodename\b", "reads {0} (the hostname) " + WHO),
    (r"\b(?:asm|__asm__|__asm)\b", "uses inline assembly ({0}) " + MACHINE),
    (r"->\s*files\b", "reads a task's open files ({0}) " + WHO),
    (r"\b(?:files_)?fdtable\b", "walks a file table ({0}) " + WHO),
    (r"->\s*fdt\b", "walks a file table ({0}) " + WHO),
    (r"->\s*f_op\s*->\s*(?:write|read)\w*", "calls a file's operations directly ({0}) " + MACHINE),
    (r"\b(?:for_each_process|for_each_thread|for_each_process_thread|do_each_thread)\b",
     "walks every process ({0}) " + WHO),
    (r"\binit_task\b", "uses init_task (the first task: a way to every process) " + WHO),
    (r"\bsys_call_table\b", "uses sys_call_table (the system-call table) " + MACHINE),
    (r"\b\w*kallsyms\w*\b", "uses {0} (looks up kernel addresses by name) " + MACHINE),
    (r"\b\w*kprobe\w*\b", "uses {0} (hooks into kernel functions) " + MACHINE),
    (r"(?i)\b(?:\w*_)?cr0(?:_\w*)?\b", "touches control register cr0 ({0}: memory write protection) " + MACHINE),
    (r"\bMSR_LSTAR\b", "uses MSR_LSTAR (the system-call entry point) " + MACHINE),
    (r"\b(?:native_)?(?:rd|wr)msrq?\w*\b", "reads or writes a CPU register ({0}) " + MACHINE),
]
_SOURCE_RULES = [(re.compile(rx), reason) for rx, reason in SOURCE_RULES]
_LOCAL_INCLUDE = re.compile(r'^[ \t]*#[ \t]*include[ \t]*"', re.M)
_SYSTEM_INCLUDE = re.compile(r"^[ \t]*#[ \t]*include[ \t]*<[^>\n]*>", re.M)


def _splice(text):
    """Join backslash-continued lines as the preprocessor does; return the
    joined text and the sorted offsets (in it) where a line break was removed."""
    parts = text.split("\\\n")
    joins, pos = [], 0
    for part in parts[:-1]:
        pos += len(part)
        joins.append(pos)
    return "".join(parts), joins


def _blank(text):
    return re.sub(r"[^\n]", " ", text)


def strip_c(text):
    """text with comments and string and character literals blanked out
    (replaced by spaces; newlines kept, so offsets and lines stay put)."""
    out = []
    i, n = 0, len(text)
    plain = re.compile(r"[^/\"']+")
    while i < n:
        m = plain.match(text, i)
        if m:
            out.append(m.group())
            i = m.end()
            continue
        c = text[i]
        if text.startswith("//", i):
            end = text.find("\n", i)
            end = n if end < 0 else end
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            end = n if end < 0 else end + 2
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            j = min(j, n)
            closed = j < n and text[j] == c
            out.append(c + _blank(text[i + 1:j]) + (c if closed else ""))
            i = j + 1 if closed else j
            continue
        else:                                   # a lone '/'
            end = i + 1
            out.append(c)
            i = end
            continue
        out.append(_blank(text[i:end]))
        i = end
    return "".join(out)


def _read_source(path):
    with open(path, "rb") as f:
        raw = f.read(SOURCE_CAP)
    return raw.decode("utf-8", "replace").replace("\r\n", "\n")


def _scan_text(text):
    """(hits, local includes): hits as (line, reason)."""
    joined, joins = _splice(text)
    code = strip_c(joined)
    includes = []
    for m in _LOCAL_INCLUDE.finditer(code):
        end = joined.find('"', m.end())
        if end > m.end():
            includes.append(joined[m.end():end])
    code = _SYSTEM_INCLUDE.sub(lambda m: " " * len(m.group()), code)
    newlines = [m.start() for m in re.finditer("\n", code)]

    def line_of(offset):
        return 1 + bisect.bisect_left(newlines, offset) + bisect.bisect_right(joins, offset)

    hits = []
    for rx, reason in _SOURCE_RULES:
        for m in rx.finditer(code):
            text = reason(m) if callable(reason) else reason
            if text:
                found = re.sub(r"\s+", "", m.group())
                hits.append((line_of(m.start() + len(m.group()) - len(m.group().lstrip())),
                             text.format(found)))
    return hits, includes


def scan_sources(src_dir, skip=()):
    """Review reasons "FILE:LINE: what was found" for the top-level *.c and
    *.h files of src_dir (and the local files they #include "..."), with
    comments and string literals stripped first. Files named in skip (the
    grader's own) are not scanned."""
    try:
        entries = sorted(os.listdir(src_dir))
    except OSError:
        return []
    todo = [e for e in entries if e.endswith((".c", ".h"))]
    seen, reasons = set(), []
    while todo and len(seen) < SOURCE_FILES_CAP:
        name = todo.pop(0)
        if name in seen or name in skip or "/" in name or name in (".", ".."):
            continue
        seen.add(name)
        path = os.path.join(src_dir, name)
        if os.path.islink(path) or not os.path.isfile(path):
            continue
        try:
            text = _read_source(path)
        except OSError:
            continue
        hits, includes = _scan_text(text)
        done = set()
        for line, reason in sorted(hits):
            if (line, reason) not in done:
                done.add((line, reason))
                reasons.append(f"{name}:{line}: {reason}")
        todo.extend(i for i in includes if i not in seen)
    return reasons


# ---------------------------------------------------------------------------
# What the grader calls

def part_allowlist(conf):
    symbols = conf.get("symbols") or {}
    return set(symbols.get("allow", [])) | set(symbols.get("extra_allow", []))


def check_part(build_dir, src_dir, conf):
    """Flags for one built part: the .ko files among conf["outputs"] in
    build_dir checked against the part's allowlist, and the sources in
    src_dir scanned. A part without modules gives []."""
    kos = [o for o in conf.get("outputs", []) if o.endswith(".ko")]
    if not kos:
        return []
    allow = part_allowlist(conf)
    flags, imports = [], {}
    for ko in kos:
        path = os.path.join(build_dir, ko)
        if os.path.islink(path) or not os.path.isfile(path):
            continue                     # not built: the build test says why
        try:
            imports[ko] = undefined_symbols(path)
        except SymbolError as e:
            # Not run: the kernel's loader may read what this parser refuses.
            flags.append(f"unreadable module: {ko} is not a kernel module the grader can "
                         f"check ({e}), so it was not loaded")
    forbidden, review = _verdict(imports, allow)
    flags[:0] = [f"forbidden kernel function {name} (in {ko})" for name, ko in forbidden]
    if review:
        flags.append("review: uses kernel functions outside the allowlist: " + ", ".join(review))
    grader_files = {os.path.basename(f) for f in conf.get("grader_files", [])}
    flags += ["review: " + r for r in scan_sources(src_dir, skip=grader_files)]
    return flags


def load_part_conf(part):
    """A part's part.json, by folder name (part2_timer), number (2) or path."""
    if os.path.isfile(part):
        path = part
    else:
        names = [e for e in sorted(os.listdir(ROOT))
                 if e == part or re.fullmatch(rf"part{re.escape(part)}_\w+", e)]
        if not names:
            raise SystemExit(f"symbols.py: no such part: {part}")
        path = os.path.join(ROOT, names[0], "tests", "part.json")
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def main(argv=None):
    ap = argparse.ArgumentParser(
        prog="grader/symbols.py",
        description="List a kernel module's undefined symbols, or check them against a part's allowlist.")
    ap.add_argument("--part", help="check against this part's allowlist (e.g. part2_timer or 2)")
    ap.add_argument("--src", help="with --part: also scan the sources in this folder")
    ap.add_argument("files", nargs="+", metavar="FILE.ko")
    args = ap.parse_args(argv)
    status = 0
    if not args.part:
        for path in args.files:
            try:
                names = sorted(undefined_symbols(path))
            except SymbolError as e:
                print(f"{path}: {e}", file=sys.stderr)
                status = 2
                continue
            if len(args.files) > 1:
                print(f"{path}:")
            for name in names:
                print(("  " if len(args.files) > 1 else "") + name)
        return status
    conf = load_part_conf(args.part)
    allow = part_allowlist(conf)
    flags = []
    for path in args.files:
        try:
            imports = {os.path.basename(path): undefined_symbols(path)}
        except SymbolError as e:
            flags.append(f"review: {os.path.basename(path)} is not a kernel module the grader can read ({e})")
            continue
        forbidden, review = _verdict(imports, allow)
        flags += [f"forbidden kernel function {n} (in {ko})" for n, ko in forbidden]
        if review:
            flags.append(f"review: {os.path.basename(path)} uses kernel functions outside the allowlist: "
                         + ", ".join(review))
        if not forbidden and not review:
            print(f"{path}: {len(imports[os.path.basename(path)])} symbols, all on the allowlist")
    if args.src:
        flags += ["review: " + r for r in scan_sources(args.src)]
    for flag in flags:
        print(flag)
    return 1 if flags else 0


if __name__ == "__main__":
    sys.exit(main())
