"""Boot one disposable grading VM for a job folder and collect what it says.

The VM boots the Debian kernel under qemu with our own Debian tree shared
read-only over 9p and the job folder read-only over 9p. The guest streams
its results over a virtio serial port into a file; the serial console goes
into another. A host-side watchdog kills qemu when the guest stays silent
for too long or runs past its total time; nothing is ever left running.
"""
import os
import signal
import subprocess
import threading
import time
from dataclasses import dataclass

# Kernel command line: every kind of kernel misbehaviour we can detect
# becomes a panic, and a panic ends the VM at once (panic=-1 reboots,
# -no-reboot turns the reboot into an exit; pvpanic reports it as well).
KERNEL_CMDLINE = " ".join([
    "console=ttyS0",
    "loglevel=5",            # WARNING (4) and worse reach the console
    "panic=-1",
    "oops=panic",
    "panic_on_warn=1",
    "softlockup_panic=1",
    "hung_task_panic=1",
    "sysctl.kernel.hung_task_timeout_secs=10",  # D state this long: a deadlock
    "rdinit=/init",
    "tsc=reliable",
    # Full preemption (Debian's kernels build it in, PREEMPT_DYNAMIC): a
    # task can lose the CPU anywhere it holds no lock, as on most desktop
    # kernels. With the default voluntary preemption, a module that forgets
    # its lock hardly ever races in a 1-CPU VM; with this, a reader that a
    # waking kthread preempts mid-read shows the race (part 3's self-test
    # no_mutex).
    "preempt=full",
])


# Set when the grader is interrupted: running VMs are killed, none is started.
STOP = threading.Event()


class Stopped(Exception):
    """The grader was interrupted while this VM ran."""


# The results port carries at most this much per boot: past it the VM is
# stopped (a flood can only come from code trying to break the grader; an
# honest run of the biggest part sends about 300 KB, docs/measurements.md).
STREAM_CAP = 4 * 1024 * 1024
# The serial console (kernel messages at WARNING and worse) likewise.
CONSOLE_CAP = 16 * 1024 * 1024
CONSOLE_KEPT = 1024 * 1024   # bytes of the console read back for the report
POLL_SECONDS = 0.1


@dataclass
class VMResult:
    console: str         # the serial console (kernel messages, panics), its start and end
    exit_code: int       # qemu's exit status (-9 when the watchdog killed it)
    killed_reason: str   # why the watchdog stopped it, or ""
    seconds: float
    over_cap: str = ""   # which output ran over its cap, if one did


@dataclass
class VMConfig:
    vmlinux: str
    initramfs: str
    rootfs: str
    accel: str = "tcg"   # "tcg" or "kvm"
    memory_mb: int = 512
    # One vCPU: two-vCPU guests under TCG oversubscribe a 2-core host when
    # graded two at a time (docs/measurements.md: 122 s instead of 34 s).
    cpus: int = int(os.environ.get("KMOD_VM_CPUS", "1"))

    def command(self, job_dir, stream_path, console_path):
        cpu = "host" if self.accel == "kvm" else "max"
        ro9p = "security_model=none,readonly=on,multidevs=remap"
        return [
            "qemu-system-x86_64", "-nodefaults", "-no-user-config",
            "-machine", f"q35,accel={self.accel}", "-cpu", cpu,
            "-m", str(self.memory_mb), "-smp", str(self.cpus),
            "-display", "none", "-no-reboot",
            "-kernel", self.vmlinux, "-initrd", self.initramfs,
            "-append", KERNEL_CMDLINE,
            "-virtfs", f"local,path={self.rootfs},mount_tag=rootfs,{ro9p}",
            "-virtfs", f"local,path={job_dir},mount_tag=job,{ro9p}",
            "-device", "virtio-serial-pci",
            "-chardev", f"file,id=results,path={stream_path}",
            "-device", "virtserialport,chardev=results,name=kmod.results",
            "-serial", f"file:{console_path}",
            "-device", "pvpanic-pci", "-action", "panic=exit-failure",
        ]


def _read_console(path):
    """The console's first and last CONSOLE_KEPT bytes: where a crash is."""
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            if size <= 2 * CONSOLE_KEPT:
                data = f.read()
            else:
                head = f.read(CONSOLE_KEPT)
                f.seek(size - CONSOLE_KEPT)
                data = head + b"\n[... console cut ...]\n" + f.read(CONSOLE_KEPT)
    except FileNotFoundError:
        return ""
    return data.decode("utf-8", errors="replace")


def _size(path):
    try:
        return os.path.getsize(path)
    except FileNotFoundError:
        return 0


def _stop(proc):
    """Kill qemu and its process group; wait so no zombie or orphan stays."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


class _StreamTail:
    """Hands what qemu appends to the stream file to a reader, once, in
    order, never more than STREAM_CAP in all."""

    def __init__(self, path, reader):
        self.path, self.reader = path, reader
        self.offset, self.file = 0, None

    def pump(self):
        """Read what is new; True if anything was. Raises OverflowError past the cap."""
        if self.file is None:
            try:
                self.file = open(self.path, "rb")
            except FileNotFoundError:
                return False
        room = STREAM_CAP - self.offset
        data = self.file.read(room + 1)
        if not data:
            return False
        if len(data) > room:
            self.reader.feed(data[:room])
            self.offset = STREAM_CAP
            raise OverflowError
        self.offset += len(data)
        self.reader.feed(data)
        return True

    def close(self):
        if self.file is not None:
            self.file.close()


def boot(config, job_dir, out_dir, reader, idle_limit, total_limit, prefix="vm",
         secret_path=None):
    """Boot a VM on job_dir; write PREFIX.stream and PREFIX.console into
    out_dir, and feed what arrives on the results port to reader (its
    feed(bytes) method) as it comes. idle_limit: seconds the guest may stay
    silent on the results port (a test that hangs), or a function of the
    reader that returns those seconds (the limit of the test now running);
    total_limit: seconds for the whole boot. secret_path: the job's
    per-boot secret, removed once the guest has spoken (it read it first)."""
    limit_of = idle_limit if callable(idle_limit) else (lambda _: idle_limit)
    if STOP.is_set():
        raise Stopped()
    stream_path = os.path.join(out_dir, prefix + ".stream")
    console_path = os.path.join(out_dir, prefix + ".console")
    for path in (stream_path, console_path):
        if os.path.exists(path):
            os.unlink(path)
    cmd = config.command(job_dir, stream_path, console_path)
    tail = _StreamTail(stream_path, reader)
    with open(os.path.join(out_dir, prefix + ".qemu.log"), "wb") as qlog:
        start = time.monotonic()
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=qlog,
                                stderr=subprocess.STDOUT,
                                start_new_session=True)
        reason, over = "", ""
        last_change = start
        silence = limit_of(reader)
        try:
            while True:
                running = proc.poll() is None
                try:
                    if tail.pump():
                        last_change = time.monotonic()
                        silence = limit_of(reader)
                        if secret_path and os.path.exists(secret_path):
                            os.unlink(secret_path)
                except OverflowError:
                    over = f"the results port (more than {STREAM_CAP // 2**20} MB)"
                if not over and _size(console_path) > CONSOLE_CAP:
                    over = f"the serial console (more than {CONSOLE_CAP // 2**20} MB)"
                if over:
                    reason = f"the VM wrote too much to {over}"
                    break
                if not running:
                    break
                if STOP.wait(POLL_SECONDS):
                    raise Stopped()
                now = time.monotonic()
                if now - last_change > silence:
                    reason = (f"no result for {silence:.0f} s "
                              "(a test hung or the VM stalled)")
                    break
                if now - start > total_limit:
                    reason = f"ran past its time limit of {total_limit:.0f} s"
                    break
        finally:
            _stop(proc)
            tail.close()
        seconds = time.monotonic() - start
    return VMResult(console=_read_console(console_path), exit_code=proc.returncode,
                    killed_reason=reason, seconds=seconds, over_cap=over)
