#!/usr/bin/env python3
"""Students' `make shell`: build this kit's parts in the sandbox and boot the
course VM with an interactive root shell on the terminal. Your part folders
are in /job/src/PART/ and what was built from them in /job/build/PART/ (both
read-only; /tmp is writable). With --load, every module is insmod'ed first.
Exiting the shell powers the VM off.

With --run SCRIPT (make shell RUN=my-test.sh), no terminal is needed: the VM
runs SCRIPT with bash, as root, in /job/build, after the modules were loaded
if --load is given; its output (and any kernel warning or oops) is printed
here, and the exit status is the script's.

usage: grader/shell.sh [--load] [--run SCRIPT]
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

import build  # noqa: E402
import job as jobdir  # noqa: E402
from parts import discover_parts  # noqa: E402
import vm  # noqa: E402


def build_parts(parts, assets, job):
    """Build every part into job/build/PART; say how each went."""
    for part in parts:
        out = os.path.join(job, "build", part.name)
        status, log = build.build_part(part, part.path, os.path.join(job, "src", part.name),
                                       out, assets["KDIR"])
        made = [f for f in part.conf["outputs"] if os.path.exists(os.path.join(out, f))]
        if status == 0:
            print(f"shell: built {part.name}: {' '.join(made)}", file=sys.stderr)
        else:
            errors = build.error_lines(log, 5)
            print(f"shell: {part.name} did not build:\n  " + "\n  ".join(errors), file=sys.stderr)


def terminal_size():
    try:
        size = os.get_terminal_size(sys.stdin.fileno())
        return size.lines, size.columns
    except OSError:
        return 24, 80


def prepare_job(work, parts, assets, script=None):
    """The job folder (work/job) of a shell, run or debug VM: the parts
    built in the sandbox, and the student's script as run/script."""
    # The sandboxed build runs as a user that must reach its folder below work.
    os.chmod(work, 0o711)
    job = os.path.join(work, "job")
    jobdir.make_interactive(job, script)
    build_parts(parts, assets, job)
    return job


RUN_TIMEOUT = 900   # seconds a --run script may take, boot included
EXIT_LINE = re.compile(r"^exit (\d{1,3})$", re.M)


def write_job_env(job, load, script, mode=None, **extra):
    """job.env of a shell, run (a script) or debug VM."""
    rows, cols = terminal_size()
    jobdir.write_env(job, mode or ("run" if script else "shell"), KMOD_LOAD=int(load),
                     KMOD_ROWS=rows, KMOD_COLS=cols, KMOD_TERM=os.environ.get("TERM", "vt100"),
                     **extra)


def run_script(cmd, stream):
    """Boot with the console on stdout; the script's exit status comes back
    on the results port."""
    try:
        subprocess.run(cmd, stdin=subprocess.DEVNULL, timeout=RUN_TIMEOUT)
    except subprocess.TimeoutExpired:
        print(f"shell: the script did not finish within {RUN_TIMEOUT} s; the VM was stopped",
              file=sys.stderr)
        return 124
    try:
        with open(stream, encoding="utf-8", errors="replace") as f:
            found = EXIT_LINE.findall(f.read())
    except OSError:
        found = []
    if not found:
        print("shell: the VM ended before the script did (a kernel crash? see the lines above)",
              file=sys.stderr)
        return 125
    return int(found[-1])


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    ap.add_argument("--load", action="store_true", help="insmod every built module first")
    ap.add_argument("--run", metavar="SCRIPT", help="run SCRIPT in the VM instead of a shell")
    args = ap.parse_args(argv)
    if args.run and not os.path.isfile(args.run):
        print(f"shell: {args.run}: no such file (RUN= takes a script of yours, e.g. RUN=my-test.sh)",
              file=sys.stderr)
        return 2
    parts = discover_parts()
    assets = vm.read_assets()
    with tempfile.TemporaryDirectory(prefix="kmod-shell-") as work:
        job = prepare_job(work, parts, assets, args.run)
        write_job_env(job, args.load, args.run)
        config = vm.VMConfig.from_assets(assets)
        stream = os.path.join(work, "stream")
        if args.run:
            print(f"shell: booting the course VM to run {args.run}", file=sys.stderr)
            return run_script(config.command(job, stream, mode="run"), stream)
        # The serial console is this terminal; Ctrl-A X leaves qemu at once.
        cmd = config.command(job, stream, mode="shell")
        print("shell: booting the course VM (exit the shell to power it off)", file=sys.stderr)
        return subprocess.run(cmd).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
