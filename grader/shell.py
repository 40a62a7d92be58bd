#!/usr/bin/env python3
"""Students' `make shell`: build this kit's parts in the sandbox and boot the
course VM with an interactive root shell on the terminal. The modules and
programs are in /job/build/PART/ (with --load, every module is insmod'ed
first). Exiting the shell powers the VM off.

usage: grader/shell.sh [--load]
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

import grade  # noqa: E402
import vm  # noqa: E402


def build_parts(parts, assets, job):
    """Build every part into job/build/PART; say how each went."""
    for part in parts:
        out = os.path.join(job, "build", part.name)
        status, log = grade.build_part(part, part.path, os.path.join(job, "src", part.name),
                                       out, assets["KDIR"])
        made = [f for f in part.conf["outputs"] if os.path.exists(os.path.join(out, f))]
        if status == 0:
            print(f"shell: built {part.name}: {' '.join(made)}", file=sys.stderr)
        else:
            errors = [line for line in log.splitlines() if "error" in line.lower()][:5]
            print(f"shell: {part.name} did not build:\n  " + "\n  ".join(errors), file=sys.stderr)


def terminal_size():
    try:
        size = os.get_terminal_size(sys.stdin.fileno())
        return size.lines, size.columns
    except OSError:
        return 24, 80


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--load", action="store_true", help="insmod every built module first")
    args = ap.parse_args(argv)
    parts = grade.discover_parts()
    assets = grade.read_assets()
    with tempfile.TemporaryDirectory(prefix="kmod-shell-") as work:
        os.chmod(work, 0o711)
        job = os.path.join(work, "job")
        os.makedirs(job)
        shutil.copy(os.path.join(ROOT, "vm", "guest", "guest-init.sh"), job)
        build_parts(parts, assets, job)
        rows, cols = terminal_size()
        with open(os.path.join(job, "job.env"), "w") as f:
            f.write(f"KMOD_MODE=shell\nKMOD_LOAD={int(args.load)}\n"
                    f"KMOD_ROWS={rows}\nKMOD_COLS={cols}\n"
                    f"KMOD_TERM={os.environ.get('TERM', 'vt100')}\n")
        config = vm.VMConfig(assets["VMLINUX"], assets["INITRAMFS"], assets["ROOTFS"],
                             accel=assets["ACCEL"])
        cmd = config.command(job, os.path.join(work, "stream"), "CONSOLE")
        # The serial console is this terminal; Ctrl-A X leaves qemu at once.
        cmd[cmd.index("file:CONSOLE")] = "mon:stdio"
        print("shell: booting the course VM (exit the shell to power it off)", file=sys.stderr)
        return subprocess.run(cmd).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
