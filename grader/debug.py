#!/usr/bin/env python3
"""Students' `make debug PART=N`: the course VM with qemu's gdb stub, and gdb
with the part's module symbols at the addresses where the kernel put them
(the xv6 `make qemu-gdb` experience, for a loadable module).

It builds the kit's parts in the sandbox and boots the VM with the part's
modules loaded and a root shell on this terminal, as `make shell LOAD=1`
does. Once the modules are in, the VM reports their section addresses
(/sys/module/NAME/sections/) and this script writes .debug/gdbinit: connect
to the stub, add-symbol-file each .ko with those addresses, look for
sources in the part's folder. In a second terminal, `make gdb` starts gdb
with it; then, for example:

    (gdb) break timer_read
    (gdb) continue
                           and in the VM's shell:  cat /proc/timer
    (gdb) bt
    (gdb) info args

With --gdb-batch FILE there is no terminal: gdb runs FILE in batch mode (a
breakpoint, then `vm-go`, then `continue`, ...) while the VM waits before it
runs --run SCRIPT; `vm-go` (defined in .debug/gdbinit) lets it go. The
self-test drives it so.

The control port: this script connects to it (qemu is the server) as soon
as the VM is up and holds the connection until the end, and `vm-go` sends
it SIGUSR1, on which it writes "go". Not a connection per `vm-go`: gdb
has the VM stopped then, so qemu may not have passed the line on when the
short connection closes, and a closed one loses what it had not read.

usage: grader/debug.sh --part N [--run SCRIPT] [--gdb-batch FILE]
"""
import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

from parts import GraderError, discover_parts  # noqa: E402
import shell  # noqa: E402
import vm  # noqa: E402

DEBUG_DIR = os.path.join(ROOT, ".debug")
READY_TIMEOUT = 180      # seconds from qemu's start to the modules' addresses
BATCH_TIMEOUT = 600      # seconds gdb may take in batch mode


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_sections(stream, proc):
    """{module: {section: address}} once the VM has written "ready"."""
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with open(stream, encoding="utf-8", errors="replace") as f:
                lines = f.read().splitlines()
        except FileNotFoundError:
            lines = []
        if "ready" in lines:
            return parse_sections(lines)
        time.sleep(0.2)
    return None


def parse_sections(lines):
    """The "section MODULE NAME 0xADDRESS" lines the VM writes."""
    modules = {}
    for line in lines:
        words = line.split()
        if len(words) == 4 and words[0] == "section" and words[3].startswith("0x"):
            try:
                modules.setdefault(words[1], {})[words[2]] = int(words[3], 16)
            except ValueError:
                continue
    return modules


def gdbinit(port, modules, kos, sources):
    """gdb's commands: connect, each module's symbols at its addresses."""
    lines = ["set pagination off", "set confirm off", f"directory {sources}",
             f"target remote 127.0.0.1:{port}"]
    for name, sections in sorted(modules.items()):
        if name not in kos or ".text" not in sections:
            continue
        extra = " ".join(f"-s {sect} {addr:#x}" for sect, addr in sorted(sections.items())
                         if sect != ".text" and addr)
        lines.append(f"add-symbol-file {kos[name]} {sections['.text']:#x} {extra}".rstrip())
    lines += ["define vm-go",
              f"  shell kill -USR1 {os.getpid()}",
              "end",
              "document vm-go",
              "Let the VM go on (make debug with --gdb-batch: it waits for this).",
              "end"]
    return "\n".join(lines) + "\n"


def hold_control(path):
    """Connect to the VM's control port (a qemu socket chardev, the server)
    and write "go" on it at each SIGUSR1; the connection stays open until
    this process ends, so qemu passes the line on whenever the guest reads."""
    conn = socket.socket(socket.AF_UNIX)
    conn.connect(path)
    signal.signal(signal.SIGUSR1, lambda *_: conn.sendall(b"go\n"))
    return conn


def module_files(part, build):
    """{module name: path of its .ko} among the part's outputs."""
    return {os.path.splitext(f)[0]: os.path.join(build, f)
            for f in part.conf["outputs"] if f.endswith(".ko")}


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--part", type=int, help="the part to debug, e.g. 2")
    ap.add_argument("--run", metavar="SCRIPT", help="run SCRIPT in the VM instead of a shell")
    ap.add_argument("--gdb-batch", metavar="FILE", help="run gdb here in batch mode on FILE")
    args = ap.parse_args(argv)
    if args.part is None:
        ap.error("which part? make debug PART=2")
    if args.gdb_batch and not shutil.which("gdb"):
        print("debug: gdb is not installed: bash scripts/install-deps.sh --debug", file=sys.stderr)
        return 2
    for path in (args.run, args.gdb_batch):
        if path and not os.path.isfile(path):
            print(f"debug: {path}: no such file", file=sys.stderr)
            return 2
    try:
        (part,) = discover_parts([args.part])
    except GraderError as e:
        print(f"debug: {e}", file=sys.stderr)
        return 2
    assets = vm.read_assets()
    with tempfile.TemporaryDirectory(prefix="kmod-debug-") as work:
        job = shell.prepare_job(work, [part], assets, args.run)
        shell.write_job_env(job, True, args.run, mode="debug", KMOD_WAIT=int(bool(args.gdb_batch)))
        # gdb reads the modules from here (the job folder goes with the VM).
        os.makedirs(DEBUG_DIR, exist_ok=True)
        kos = {}
        for name, ko in module_files(part, os.path.join(job, "build", part.name)).items():
            if os.path.isfile(ko):
                kos[name] = os.path.join(DEBUG_DIR, os.path.basename(ko))
                shutil.copy(ko, kos[name])
        if not kos:
            print(f"debug: {part.name} built no module to debug (see the build errors above)",
                  file=sys.stderr)
            return 1
        config = vm.VMConfig.from_assets(assets)
        stream, control, port = os.path.join(work, "stream"), os.path.join(work, "control"), free_port()
        batch = bool(args.gdb_batch)
        cmd = config.command(job, stream, mode="debug", gdb_port=port, control_path=control,
                             terminal=not (batch or args.run))
        print(f"debug: booting the course VM with gdb's stub on 127.0.0.1:{port}", file=sys.stderr)
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL if batch or args.run else None)
        try:
            return debug_session(proc, stream, port, kos, part, control, args)
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait()


def debug_session(proc, stream, port, kos, part, control, args):
    modules = wait_for_sections(stream, proc)
    if modules is None:
        print("debug: the VM did not report its modules (did insmod fail? see above)",
              file=sys.stderr)
        return 1
    init = os.path.join(DEBUG_DIR, "gdbinit")
    with open(init, "w") as f:
        f.write(gdbinit(port, modules, kos, part.path))
    loaded = ", ".join(f"{m} (.text {s['.text']:#x})" for m, s in modules.items() if ".text" in s)
    print(f"debug: loaded {loaded or 'nothing'}; gdb's commands are in {os.path.relpath(init)}",
          file=sys.stderr)
    if args.gdb_batch:
        try:
            held = hold_control(control)
        except OSError as e:
            print(f"debug: cannot reach the VM's control port: {e}", file=sys.stderr)
            return 1
        try:
            gdb = subprocess.run(["gdb", "-q", "-batch", "-nx", "-x", init, "-x", args.gdb_batch],
                                 stdin=subprocess.DEVNULL, timeout=BATCH_TIMEOUT)
        except subprocess.TimeoutExpired:
            print(f"debug: gdb did not finish within {BATCH_TIMEOUT} s", file=sys.stderr)
            return 124
        finally:
            held.close()
        return gdb.returncode
    print("debug: in a second terminal, in this folder: make gdb", file=sys.stderr)
    return proc.wait()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
