"""Build one part of a submission in the sandbox (grader/sandbox-build.sh)
and bring back only the files the part is expected to produce; build the
course's own tools for it from the course's files alone.

Everything the sandbox sends is read with a cap: the build log (stdout) and
the tar of outputs (fd 3). A build that prints gigabytes or makes huge files
fills neither the host's disk nor its memory; it just fails.

What a build log says is read here too, the one place: its error lines
(ERROR_LINE) and its warnings, for the grading suite's build test (files
beside build.log, write_for_guest), make submit and make shell.
"""
import atexit
import hashlib
import io
import json
import os
import re
import shlex
import shutil
import subprocess
import tarfile
import tempfile
import threading

import course
import submission

HERE = os.path.dirname(os.path.abspath(__file__))
LOG_CAP = 1024 * 1024            # bytes of build log kept
OUTPUT_CAP = 256 * 1024 * 1024   # bytes of outputs accepted
# A line of a build log that says why the build failed: the compiler's and
# the linker's errors, make's, and the sandbox's "stopped after N s".
ERROR_LINE = re.compile(r"error:|Error [0-9]|No rule to make|stopped after|undefined reference")


def _lines(log):
    # Lines end at \n only, as grep reads them (not at \r, \v or U+2028).
    return log.split("\n")


def error_lines(log, limit=15):
    """The first `limit` lines of a build log that say why it failed."""
    return [line for line in _lines(log) if ERROR_LINE.search(line)][:limit]


def warning_lines(log):
    """The compiler's warnings in a build log, one line each."""
    return [line for line in _lines(log) if "warning:" in line]


def write_for_guest(out, status, log):
    """What the grading suite's build test (build_succeeded in
    grader/guest-lib/kmod.bash) reads, beside the outputs in out:
    build.log, build.status, build.errors (its error lines, one per line)
    and build.warnings (how many)."""
    # (Without NUL bytes, which bash's $(cat) would warn about.)
    errors = [line.replace("\0", "") for line in error_lines(log)]
    files = {"build.log": log, "build.status": f"{status}\n",
             "build.errors": "".join(line + "\n" for line in errors),
             "build.warnings": f"{len(warning_lines(log))}\n"}
    for name, text in files.items():
        with open(os.path.join(out, name), "w", encoding="utf-8") as f:
            f.write(text)


class _CappedReader(threading.Thread):
    """Drain a pipe, keeping the first `cap` bytes."""

    def __init__(self, fd, cap):
        super().__init__(daemon=True)
        self.fd, self.cap = fd, cap
        self.data, self.overflow = bytearray(), False

    def run(self):
        with os.fdopen(self.fd, "rb", buffering=0) as pipe:
            while True:
                chunk = pipe.read(65536)
                if not chunk:
                    return
                room = self.cap - len(self.data)
                if len(chunk) > room:
                    self.overflow = True
                self.data += chunk[:max(room, 0)]


def run(src_dir, build_path, out_dir, commands, outputs, timeout):
    """Build src_dir at build_path in the sandbox; put the outputs that were
    made into out_dir. Returns (exit status, log text)."""
    read_log, write_log = os.pipe()
    read_out, write_out = os.pipe()
    cmd = (["bash", os.path.join(HERE, "sandbox-build.sh"), src_dir, build_path, str(timeout),
            " ".join(outputs)] + [shlex.join(c) for c in commands])
    # sandbox-build.sh moves the outputs pipe to its fd 3.
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=write_log,
                            stderr=subprocess.STDOUT, pass_fds=(write_out,),
                            env=dict(os.environ, OUTPUT_FD=str(write_out)))
    os.close(write_log)
    os.close(write_out)
    log, tar = _CappedReader(read_log, LOG_CAP), _CappedReader(read_out, OUTPUT_CAP)
    log.start()
    tar.start()
    status = proc.wait()
    log.join()
    tar.join()
    text = log.data.decode("utf-8", errors="replace")
    if log.overflow:
        text += f"\n[the build printed more than {LOG_CAP} bytes; the rest was dropped]\n"
    if status in (124, 137):
        text += f"\nThe build was stopped after {timeout} s.\n"
    if tar.overflow:
        text += f"\nThe build's outputs are larger than {OUTPUT_CAP} bytes; none were kept.\n"
        status = status or 1
    else:
        _extract(bytes(tar.data), out_dir, outputs)
    return status, text


def _extract(data, out_dir, outputs):
    """Unpack only regular files named in outputs, flat into out_dir."""
    if not data:
        return
    try:
        archive = tarfile.open(fileobj=io.BytesIO(data), mode="r:")
    except tarfile.TarError:
        return
    with archive:
        for member in archive:
            if member.isfile() and member.name in outputs:
                source = archive.extractfile(member)
                target = os.path.join(out_dir, member.name)
                with source, open(target, "wb") as f:
                    f.write(source.read())
                os.chmod(target, 0o755)


def build_commands(conf, kdir, build_dir):
    """part.json's "build" commands with {KDIR}, {BUILD} and course.conf
    values filled in; a kernel-module part defaults to kbuild."""
    commands = conf.get("build") or [["make", "-C", "{KDIR}", "M={BUILD}", "modules"]]
    values = dict(course.load(), KDIR=kdir, BUILD=build_dir)
    return [[arg.format(**values) for arg in cmd] for cmd in commands]


def build_part(part, part_src, src, out, kdir):
    """Copy a part's sources from part_src to src (with the grader's own
    files, which win over a student file of the same name) and build them in
    the sandbox; the expected outputs land in out. Then the part's tools
    (part.json "tools": programs the tests run, such as part 3's
    elevator-ctl) are built from the course's files alone, in a sandbox of
    their own, so nothing the student submits (a Makefile that rewrites
    files in the build folder, a header that shadows one the tools include)
    can change them. Returns (status, log)."""
    submission.copy_part_sources(part_src, src, part.conf.get("outputs", []))
    for rel in part.conf.get("grader_files", []):
        shutil.copy(os.path.join(part.path, rel), src)
    # The course's values, for a Makefile that reads them (part 3's does:
    # -include $(src)/course.conf).
    if os.path.isfile(course.path()):
        shutil.copy(course.path(), os.path.join(src, "course.conf"))
    os.makedirs(out, exist_ok=True)
    status, log = run(src, out, out, build_commands(part.conf, kdir, out),
                               part.conf["outputs"], part.build_timeout)
    tools = part.conf.get("tools")
    if not tools:
        return status, log
    tstatus, tlog = build_tools(part, kdir, out)
    log += "\n# The course's tools, built from the course's files only:\n" + tlog
    return status or tstatus, log


# The course's tools are the same for every submission: built once per
# grader run for each content (files, commands, kernel tree), then copied.
_TOOLS_BUILT = {}
_TOOLS_LOCK = threading.Lock()


def build_tools(part, kdir, out):
    """Build part.json "tools" from the course's files alone, in a sandbox of
    their own (or reuse this run's build of the very same files); copy the
    outputs into out. Returns (status, log)."""
    tools = part.conf["tools"]
    digest = hashlib.sha256(json.dumps([tools, kdir]).encode())
    for path in [os.path.join(part.path, rel) for rel in tools["files"]] + [course.path()]:
        if os.path.isfile(path):
            with open(path, "rb") as f:
                digest.update(f.read())
    key = digest.hexdigest()
    with _TOOLS_LOCK:
        built = _TOOLS_BUILT.get(key)
        if built is None:
            built = _build_tools_now(part, tools, kdir)
            _TOOLS_BUILT[key] = built
    status, tlog, made = built
    os.makedirs(out, exist_ok=True)
    for name in tools["outputs"]:
        if os.path.exists(os.path.join(made, name)):
            shutil.copy2(os.path.join(made, name), os.path.join(out, name))
    return status, tlog


def _build_tools_now(part, tools, kdir):
    made = tempfile.mkdtemp(prefix="kmod-tools-")
    atexit.register(shutil.rmtree, made, True)
    os.chmod(made, 0o755)
    with tempfile.TemporaryDirectory(prefix="tools-") as tmp:
        tsrc, tbuild = os.path.join(tmp, "src"), os.path.join(tmp, "build")
        os.makedirs(tsrc)
        os.makedirs(tbuild)
        for path in (tmp, tsrc, tbuild):
            os.chmod(path, 0o755)   # the sandbox's build user copies and builds here
        for rel in tools["files"]:
            shutil.copy(os.path.join(part.path, rel), tsrc)
        status, tlog = run(tsrc, tbuild, made, build_commands(tools, kdir, tbuild),
                                    tools["outputs"], part.build_timeout)
    return status, tlog, made
