"""Boot one disposable grading VM for a job folder and collect what it says.

The VM boots the Debian kernel under qemu with our own Debian tree shared
read-only over 9p and the job folder read-only over 9p. The guest streams
its results over a virtio serial port into a file; the serial console goes
into another. A host-side watchdog kills qemu when the guest stays silent
for too long, runs past its total time, or makes qemu use more memory than
a VM's bound; nothing is ever left running.

usage (run_autograder sizes its VMs so): vm.py plan MEMORY_MB CPUS
"""
import os
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

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


class PrepareError(Exception):
    """vm/prepare.sh could not make the course environment or the VM."""


def read_assets():
    """Run vm/prepare.sh (makes and caches the course environment and the
    VM) and read its answers: KDIR, VMLINUX, INITRAMFS, ROOTFS, ACCEL,
    KVER, BUILD_ROOT. Every build of this process from now on runs in that
    environment (grader/sandbox-build.sh reads KMOD_BUILD_ROOT)."""
    proc = subprocess.run(["bash", os.path.join(ROOT, "vm", "prepare.sh")],
                          stdout=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        raise PrepareError("preparing the VM failed (see the messages above)")
    assets = dict(line.split("=", 1) for line in proc.stdout.splitlines() if "=" in line)
    os.environ["KMOD_BUILD_ROOT"] = assets["BUILD_ROOT"]
    return assets


# The results port carries at most this much per boot: past it the VM is
# stopped (a flood can only come from code trying to break the grader; an
# honest run of the biggest part sends about 300 KB, docs/measurements.md).
STREAM_CAP = 4 * 1024 * 1024
# The serial console (kernel messages at WARNING and worse) likewise.
CONSOLE_CAP = 16 * 1024 * 1024
CONSOLE_KEPT = 1024 * 1024   # bytes of the console read back for the report
POLL_SECONDS = 0.1


# How a VM ended (VMResult.end). Only the first six can be the guest's
# doing; OUTSIDE never is (docs/architecture.md, "A VM killed from outside").
ENDED = "ended"        # qemu exited by itself: the guest powered off, or panicked
QEMU_FAULT = "qemu-fault"  # qemu crashed (SIGSEGV, SIGABRT) or quit on an emulation
#                        error: the guest's doing as far as anyone can tell (nobody
#                        else signalled it), but a fault of qemu's own is possible
SILENT = "silent"      # the watchdog stopped it: no result for too long (a hang)
OVERTIME = "overtime"  # the watchdog stopped it: past its total time
FLOOD = "flood"        # stopped: an output ran over its cap
OVERSIZE = "oversize"  # stopped: qemu used more memory than its bound (footprint_mb)
OUTSIDE = "outside"    # killed by a signal the grader did not send (the OOM
#                        killer, a TA's kill), or qemu could not start


@dataclass
class VMResult:
    console: str         # the serial console (kernel messages, panics), its start and end
    exit_code: int       # qemu's exit status (-9 when the watchdog killed it)
    killed_reason: str   # what stopped it, for people, or "" for a guest that powered off
    seconds: float
    over_cap: str = ""   # which output ran over its cap, if one did
    end: str = ENDED     # one of ENDED QEMU_FAULT SILENT OVERTIME FLOOD OVERSIZE OUTSIDE
    peak_mb: int = 0     # qemu's largest resident memory the watchdog saw


# qemu's own memory besides the guest's RAM and TCG's translation cache.
# Measured with a guest that fills both (fresh code until the cache has
# been refilled four times, then memory until the guest's OOM killer
# acts): 107 to 110 MB at 512+256, 384+128 and 256+96 MB; a module that
# fills the guest's memory from the kernel, 634 MB at 384+128, so 122 MB
# (docs/measurements.md, "qemu's memory, worst case"). So a guest cannot
# take qemu past footprint_mb; the watchdog stops one that does all the same.
QEMU_OVERHEAD_MB = 160

# What a grading run keeps besides its VMs: the grader, and one part's
# build at a time per VM slot instead of that slot's VM.
GRADER_RESERVE_MB = 96

# Sizes a grading VM may have, the fastest first: (guest MB, TCG cache MB).
# The smaller one grades the reference in full at about the same speed
# (docs/measurements.md) and fits Gradescope's default 768 MB.
VM_SIZES = ((512, 256), (384, 128))


def _int_env(name, default):
    value = os.environ.get(name, "")
    if not value:
        return default
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"{name} must be a positive whole number, not {value!r}")
    return int(value)


# The qemu command line has one builder, VMConfig.command(); a mode says
# what the VM is for:
#   grade  the grading VM: console to a file, results port to a file
#   shell  make shell: the console is the terminal (Ctrl-A X leaves qemu)
#   run    make shell RUN=: the console on stdout, no terminal needed
#   debug  make debug: as shell or run, with qemu's gdb stub and a control port
#   probe  the KVM probe and make bench's boot times: no console at all
MODES = ("grade", "shell", "run", "debug", "probe")


@dataclass
class VMConfig:
    vmlinux: str
    initramfs: str
    rootfs: str
    accel: str = "tcg"   # "tcg" or "kvm"
    memory_mb: int = 512
    # One vCPU: two-vCPU guests under TCG oversubscribe a 2-core host when
    # graded two at a time (docs/measurements.md: 122 s instead of 34 s).
    cpus: int = 1
    # TCG's translation cache, in MiB (qemu's default is 1 GiB, and it
    # fills as the guest runs new code: with 512 MB of guest, more than a
    # 768 MB container holds; docs/measurements.md "qemu's memory").
    tb_size_mb: int = 256

    @property
    def footprint_mb(self):
        """The most memory this VM's qemu may use: the guest's RAM, TCG's
        cache, qemu's own (QEMU_OVERHEAD_MB)."""
        return footprint_mb(self.memory_mb, self.tb_size_mb if self.accel == "tcg" else 0)

    @classmethod
    def from_assets(cls, assets, accel=None):
        """The course VM of vm/prepare.sh's answers; KMOD_VM_CPUS,
        KMOD_VM_MEMORY_MB and KMOD_VM_TB_MB override the defaults."""
        return cls(assets["VMLINUX"], assets["INITRAMFS"], assets["ROOTFS"],
                   accel=accel or assets.get("ACCEL", "tcg"),
                   memory_mb=_int_env("KMOD_VM_MEMORY_MB", cls.memory_mb),
                   cpus=_int_env("KMOD_VM_CPUS", cls.cpus),
                   tb_size_mb=_int_env("KMOD_VM_TB_MB", cls.tb_size_mb))

    def command(self, job_dir, stream_path, console_path=None, mode="grade",
                gdb_port=None, control_path=None, terminal=True):
        """qemu's argv for a VM of `mode` on job_dir; what the guest writes
        to its results port lands in stream_path, its console in
        console_path (grade mode). A debug VM's console is the terminal, or
        with terminal=False plain stdout (a gdb batch, a RUN= script)."""
        if mode not in MODES:
            raise ValueError(f"no such VM mode {mode!r}")
        return (self._machine() + self._kernel() + self._shares(job_dir)
                + self._results_port(stream_path) + self._console(mode, console_path, terminal)
                + self._debug(gdb_port, control_path)
                + ["-device", "pvpanic-pci", "-action", "panic=exit-failure"])

    def _machine(self):
        accel = f"tcg,tb-size={self.tb_size_mb}" if self.accel == "tcg" else self.accel
        return ["qemu-system-x86_64", "-nodefaults", "-no-user-config",
                "-machine", "q35", "-accel", accel,
                "-cpu", "host" if self.accel == "kvm" else "max",
                "-m", str(self.memory_mb), "-smp", str(self.cpus),
                "-display", "none", "-no-reboot"]

    def _kernel(self):
        return ["-kernel", self.vmlinux, "-initrd", self.initramfs, "-append", KERNEL_CMDLINE]

    def _shares(self, job_dir):
        ro9p = "security_model=none,readonly=on,multidevs=remap"
        return ["-virtfs", f"local,path={self.rootfs},mount_tag=rootfs,{ro9p}",
                "-virtfs", f"local,path={job_dir},mount_tag=job,{ro9p}"]

    @staticmethod
    def _results_port(stream_path):
        return ["-device", "virtio-serial-pci",
                "-chardev", f"file,id=results,path={stream_path}",
                "-device", "virtserialport,chardev=results,name=kmod.results"]

    @staticmethod
    def _console(mode, console_path, terminal):
        if mode == "grade":
            return ["-serial", f"file:{console_path}"]
        if mode == "probe":
            return ["-serial", "none"]
        # On a terminal, the console multiplexed with qemu's monitor:
        # Ctrl-A X leaves qemu at once.
        interactive = mode == "shell" or (mode == "debug" and terminal)
        return ["-serial", "mon:stdio" if interactive else "stdio"]

    @staticmethod
    def _debug(gdb_port, control_path):
        args = []
        if gdb_port is not None:
            args += ["-gdb", f"tcp:127.0.0.1:{gdb_port}"]
        if control_path is not None:
            args += ["-chardev", f"socket,id=control,path={control_path},server=on,wait=off",
                     "-device", "virtserialport,chardev=control,name=kmod.control"]
        return args


def footprint_mb(guest_mb, cache_mb):
    return guest_mb + cache_mb + QEMU_OVERHEAD_MB


def plan(memory_mb, cpus):
    """(VM slots, guest MB, cache MB) for a machine or container with
    memory_mb of memory and cpus CPUs: the largest VM size of which at
    least one fits beside the grader, then one VM per CPU, as many as the
    memory holds. ValueError when not even the smallest VM fits."""
    budget = memory_mb - GRADER_RESERVE_MB
    for guest, cache in VM_SIZES:
        slots = min(cpus, budget // footprint_mb(guest, cache))
        if slots >= 1:
            return slots, guest, cache
    need = GRADER_RESERVE_MB + min(footprint_mb(g, c) for g, c in VM_SIZES)
    raise ValueError(f"grading needs at least {need} MB of memory (one VM and the grader); "
                     f"this has {memory_mb} MB")


def _rss_mb(pid):
    """A process's resident memory in MB (0 once it is gone)."""
    try:
        with open(f"/proc/{pid}/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 2**20
    except (OSError, ValueError, IndexError):
        return 0


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
         secret_path=None, mode="grade"):
    """Boot a VM on job_dir; write PREFIX.stream and PREFIX.console into
    out_dir, and feed what arrives on the results port to reader (its
    feed(bytes) method) as it comes. idle_limit: seconds the guest may stay
    silent on the results port (a test that hangs), or a function of the
    reader that returns those seconds (the limit of the test now running);
    total_limit: seconds for the whole boot. secret_path: the job's
    per-boot secret, removed once the guest has spoken (it read it first).
    mode: "grade", or "probe" (no console)."""
    limit_of = idle_limit if callable(idle_limit) else (lambda _: idle_limit)
    if STOP.is_set():
        raise Stopped()
    stream_path = os.path.join(out_dir, prefix + ".stream")
    console_path = os.path.join(out_dir, prefix + ".console")
    for path in (stream_path, console_path):
        if os.path.exists(path):
            os.unlink(path)
    cmd = config.command(job_dir, stream_path, console_path, mode=mode)
    tail = _StreamTail(stream_path, reader)
    qlog_path = os.path.join(out_dir, prefix + ".qemu.log")
    with open(qlog_path, "wb") as qlog:
        start = time.monotonic()
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=qlog,
                                stderr=subprocess.STDOUT,
                                start_new_session=True)
        reason, over, end = "", "", ENDED
        last_change, peak = start, 0
        bound = config.footprint_mb
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
                    reason, end = f"the VM wrote too much to {over}", FLOOD
                    break
                if not running:
                    reason, end = _ended_by_itself(proc.returncode, qlog_path)
                    break
                peak = max(peak, _rss_mb(proc.pid))
                if peak > bound:
                    reason, end = (f"qemu used {peak} MB, more than the {bound} MB a VM may "
                                   f"({config.memory_mb} MB of guest memory, the translation "
                                   f"cache, qemu's own)"), OVERSIZE
                    break
                if STOP.wait(POLL_SECONDS):
                    raise Stopped()
                now = time.monotonic()
                if now - last_change > silence:
                    reason, end = (f"no result for {silence:.0f} s "
                                   "(a test hung or the VM stalled)"), SILENT
                    break
                if now - start > total_limit:
                    reason, end = f"ran past its time limit of {total_limit:.0f} s", OVERTIME
                    break
        finally:
            _stop(proc)
            tail.close()
        seconds = time.monotonic() - start
    return VMResult(console=_read_console(console_path), exit_code=proc.returncode,
                    killed_reason=reason, seconds=seconds, over_cap=over, end=end,
                    peak_mb=peak)


# Signals that only come from outside qemu: the kernel's OOM killer
# (SIGKILL), a TA's kill, timeout or Ctrl-C. The guest cannot send qemu a
# signal; what it may do is crash qemu itself (a device emulation bug:
# SIGSEGV, SIGABRT from an assertion), and that is never called "outside".
OUTSIDE_SIGNALS = (signal.SIGKILL, signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT)


def _ended_by_itself(status, qlog_path):
    """(reason, end) for a qemu that exited before the watchdog stopped it
    (the grader sends no signal before then). OUTSIDE only when something
    outside the VM stopped it: death by one of OUTSIDE_SIGNALS, or qemu's
    own "terminating on signal" (its handler of SIGTERM, SIGINT, SIGHUP,
    which exits 0). Anything else the guest may have caused: the guest
    powering off (0), pvpanic's exit-failure (1) (ENDED), qemu crashing or
    exiting on an emulation error (QEMU_FAULT). Those end the round as the
    guest's doing; a
    qemu that could not start at all never reaches the agent's first
    record, which rounds.judge calls an environment failure anyway."""
    error = _qemu_error(qlog_path)
    if status < 0:
        sig = -status
        name = signal.Signals(sig).name if sig in signal.valid_signals() else str(sig)
        if sig in OUTSIDE_SIGNALS:
            why = " (the kernel's OOM killer sends SIGKILL)" if sig == signal.SIGKILL else ""
            return (f"qemu was killed by {name} from outside the grader{why}; "
                    "not the guest's doing", OUTSIDE)
        return f"qemu itself crashed ({name}){': ' + error if error else ''}", QEMU_FAULT
    if QEMU_SIGNAL_EXIT.match(error):
        return f"qemu was stopped from outside the grader: {error}", OUTSIDE
    if status not in (0, 1) or error:
        return f"qemu exited with status {status}: {error or 'no message'}", QEMU_FAULT
    return "", ENDED


# qemu's own words when its handler of SIGTERM, SIGINT or SIGHUP made it exit.
QEMU_SIGNAL_EXIT = re.compile(r"terminating on signal \d+( from pid \d+( \([^()]*\))?)?$")


def _qemu_error(qlog_path):
    """qemu's own error message (qemu-system-x86_64: ...), or ""."""
    try:
        with open(qlog_path, encoding="utf-8", errors="replace") as f:
            lines = f.read(64 * 1024).splitlines()
    except OSError:
        return ""
    prefix = "qemu-system-x86_64:"
    errors = [line[len(prefix):].strip() for line in lines
              if line.startswith(prefix) and not line.startswith(prefix + " warning:")]
    return errors[0] if errors else ""


def main(argv):
    if len(argv) != 3 or argv[0] != "plan" or not all(a.isdigit() for a in argv[1:]):
        print("usage: vm.py plan MEMORY_MB CPUS", file=sys.stderr)
        return 2
    try:
        print(*plan(int(argv[1]), int(argv[2])))
    except ValueError as e:
        print(f"vm.py: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
