#!/usr/bin/python3
"""The grading VM's only writer to the results port (copied into every job
folder; started by guest-init.sh as root).

It runs the job's bats suite (with /job/run-suite.bash, which prints what
`bats --tap --timing` prints, faster) and relays, as authenticated records
(/job/lib/records.py): its own events on channel A, every line the suite prints
on channel T, and the kernel log on channel K. Each relayed line is cut at
"\\n" only and has its control characters escaped, so no text a student's
code produced (a build log, /proc output, a kernel message) can end a
record or look like one. The host trusts nothing else on the port.

usage: guest-agent.py PORT SUITE [FILTER]
"""
import os
import subprocess
import sys
import threading

# The job folder (tests/test_guest_agent.py runs the agent on the host).
JOB = os.environ.get("KMOD_JOB_DIR", "/job")
sys.path.insert(0, os.path.join(JOB, "lib"))
import records  # noqa: E402

SECRET = os.path.join(JOB, "secret")
MAX_LINE = 64 * 1024        # bytes buffered without a newline before a cut
DRAIN_SECONDS = 2           # after bats exits: what its pipe still holds
KERNEL_LOG_LINES = 4000     # the newest ones, if the log holds more


def uptime():
    with open("/proc/uptime") as f:
        return f.read().split()[0]


class Port:
    """The results port, written one authenticated record at a time."""

    def __init__(self, path, key):
        self.fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
        self.key, self.seq = key, 0
        self.lock = threading.Lock()
        self.closed = set()      # channels that send nothing more

    def send(self, channel, text):
        with self.lock:
            if channel in self.closed:
                return
            record = records.encode(self.key, self.seq, channel, records.escape(text))
            self.seq += 1
            view = memoryview(record)
            while view:
                view = view[os.write(self.fd, view):]

    def close_channel(self, channel):
        with self.lock:
            self.closed.add(channel)


def power_off():
    """A test asked for a fresh VM (kmod_setup: an earlier test left the
    kernel dirty): its request is on the port, so end this VM now (only in
    the VM: tests run the agent on the host with KMOD_JOB_DIR set)."""
    if JOB != "/job":
        return
    os.sync()
    with open("/proc/sysrq-trigger", "w") as f:
        f.write("o")


def relay_lines(fd, port, channel):
    """Send every line read from fd until EOF as records; a line longer
    than MAX_LINE is cut."""
    pending = b""
    while True:
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        pending += chunk
        *lines, pending = pending.split(b"\n")
        for line in lines:
            port.send(channel, line.decode("utf-8", "backslashreplace"))
            if line.startswith(b"@@restart "):
                # This VM's kernel log still counts: send it before the end.
                send_kernel_log(port)
                power_off()
        while len(pending) > MAX_LINE:
            port.send(channel, pending[:MAX_LINE].decode("utf-8", "backslashreplace"))
            pending = pending[MAX_LINE:]
    if pending:
        port.send(channel, pending.decode("utf-8", "backslashreplace"))


def run_suite(port, suite, flt):
    cmd = (["bash", os.path.join(JOB, "run-suite.bash")] + (["--filter", flt] if flt else [])
           + [suite])
    read_end, write_end = os.pipe()
    port.send("A", f"bats-start {uptime()}")
    proc = subprocess.Popen(cmd, cwd="/tmp", stdin=subprocess.DEVNULL, stdout=write_end,
                            stderr=write_end, close_fds=True)
    os.close(write_end)
    # Until bats exits, every line it prints; then only what its pipe still
    # holds (a process it left behind may keep the pipe open forever).
    reader = threading.Thread(target=relay_lines, args=(read_end, port, "T"), daemon=True)
    reader.start()
    status = proc.wait()
    reader.join(DRAIN_SECONDS)
    port.close_channel("T")
    port.send("A", f"bats-exit {status} {uptime()}")


def send_kernel_log(port):
    out = subprocess.run(["dmesg"], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT).stdout
    for line in out.split(b"\n")[-KERNEL_LOG_LINES:]:
        if line:
            port.send("K", line.decode("utf-8", "backslashreplace"))
    with open("/proc/sys/kernel/tainted") as f:
        port.send("A", f"tainted {f.read().strip()}")


def main(argv):
    if len(argv) not in (3, 4):
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    with open(SECRET) as f:
        key = bytes.fromhex(f.read().strip())
    port = Port(argv[1], key)
    port.send("A", f"boot {uptime()}")
    run_suite(port, argv[2], argv[3] if len(argv) == 4 else "")
    send_kernel_log(port)
    port.send("A", "done")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
