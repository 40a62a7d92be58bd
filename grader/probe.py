#!/usr/bin/env python3
"""Boot the course VM on a job that only says it reached userspace
(job.make_probe): vm/probe-accel.sh asks it whether KVM works here, make
bench how long a boot takes. The VM is the grading VM (vm.VMConfig, probe
mode: no console), so what it measures is what grading gets.

usage: probe.py [--accel kvm|tcg] [--seconds N] VMLINUX INITRAMFS ROOTFS
Prints the guest's uptime when userspace started; exit status 0 when the
boot got there, 1 when it did not.
"""
import argparse
import os
import re
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import job  # noqa: E402
import vm  # noqa: E402

BOOT_LINE = re.compile(rb"^@@boot (\d+\.\d+)$", re.M)
DONE_LINE = re.compile(rb"^@@done$", re.M)


class ProbeReader:
    """What a probe job sends: two plain lines, @@boot UPTIME and @@done."""

    def __init__(self):
        self.data = b""

    def feed(self, data):
        self.data += data[:4096 - len(self.data)]

    def uptime(self):
        """The guest's uptime at userspace, or None if it never said done."""
        boot = BOOT_LINE.search(self.data)
        return float(boot.group(1)) if boot and DONE_LINE.search(self.data) else None


def boot_once(config, work, seconds, prefix="probe"):
    """One probe boot in work (a folder of its own): (uptime or None, vm.VMResult)."""
    folder = os.path.join(work, prefix + "-job")
    if not os.path.isdir(folder):
        job.make_probe(folder)
    reader = ProbeReader()
    got = vm.boot(config, folder, work, reader, seconds, seconds, prefix=prefix, mode="probe")
    return reader.uptime(), got


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--accel", choices=("kvm", "tcg"), default="tcg")
    ap.add_argument("--seconds", type=int, default=120, help="time limit of the boot")
    ap.add_argument("vmlinux")
    ap.add_argument("initramfs")
    ap.add_argument("rootfs")
    args = ap.parse_args(argv)
    config = vm.VMConfig(args.vmlinux, args.initramfs, args.rootfs, accel=args.accel)
    with tempfile.TemporaryDirectory(prefix="kmod-probe-") as work:
        uptime, _ = boot_once(config, work, args.seconds)
    if uptime is None:
        return 1
    print(f"{uptime:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
