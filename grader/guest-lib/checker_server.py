#!/usr/bin/python3
"""One warm Python per VM round for the suites' checker scripts.

In the emulated VM a fresh `python3 CHECKER.py` costs 0.4-0.8 s before the
checker's first line runs (the interpreter, site, re, subprocess, ...); a
fork of an interpreter that has all that loaded costs about 30 ms
(docs/measurements.md). A part-3 round runs about 20 checks. So the first
check of a round starts this server (grader/guest-lib/kmod.bash: py_check),
and every check then runs in a fork of it, exactly as `python3 SCRIPT ARGS`
would: the same stdout and stderr (the client's own files, opened through
/proc), the same buffering, working folder, environment and arguments, and
the same exit status. Each check is a process of its own, so nothing one
check does is seen by the next.

usage: checker_server.py DIR READY
  DIR    the server's folder (made here, root's only); DIR/requests is the
         FIFO clients write to, DIR/pid says which process serves
  READY  a path the server writes "ready" to once it serves (the client's
         pipe, as /proc/PID/fd/N)

A request is one line on DIR/requests, "ID PID IN OUT ERR REPLY": PID is
the client's process, IN, OUT and ERR its copies of its fds 0-2, which
become the check's, and REPLY its fd for the answer. Beside it the client
wrote DIR/ID.req (its working folder, the script and its arguments, each
ending in a NUL)
and DIR/ID.env (its exported variables, NAME=VALUE, each ending in a NUL).
The answer, once the check's process has ended, is one line on REPLY: the
exit status (128+N for a signal N, as the shell says it), or "run-here"
when the server cannot run the check (the client then runs python3 itself;
never after a numberless or missing answer to a request the server took).
Only root reaches DIR and other processes' /proc/PID/fd: the part-1
programs, which run as nobody, can neither ask nor answer.
"""
import builtins
import io
import os
import runpy
import select
import signal
import stat
import sys
import traceback
import types

# What the checkers import (loaded once, here; a module the VM's Python
# lacks is simply not preloaded).
PRELOAD = ("collections", "errno", "fcntl", "functools", "hashlib", "re", "stat", "struct",
           "subprocess", "threading", "time")
for _name in PRELOAD:
    try:
        __import__(_name)
    except ImportError:
        pass

import threading  # noqa: E402  (preloaded above; named here for the exit)


def read_fields(path):
    """The NUL-terminated fields of a file the client wrote."""
    with open(path, "rb") as f:
        data = f.read()
    return [field.decode("utf-8", "surrogateescape") for field in data.split(b"\0")[:-1]]


def client_fd(pid, fd, flags):
    """The client's file descriptor fd, opened anew."""
    return os.open(f"/proc/{pid}/fd/{fd}", flags | os.O_CLOEXEC)


def client_stdio(pid, fd, reading):
    """The client's stdin (reading) or stdout or stderr, opened anew for
    the check. Pipes, terminals and /dev/null are shared as they are. A regular file is
    shared only as an output in append mode (as the test's output is): the
    new opening then writes where the client's next write goes. Otherwise
    the client's offset could not follow the check's reads or writes:
    ValueError (the client runs the check itself)."""
    # Without waiting (a pipe's other end may be gone), then blocking again
    # (on this opening only: the client's is untouched).
    new = client_fd(pid, fd, os.O_NONBLOCK | (os.O_RDONLY if reading else os.O_WRONLY | os.O_APPEND))
    os.set_blocking(new, True)
    if stat.S_ISREG(os.fstat(new).st_mode):
        with open(f"/proc/{pid}/fdinfo/{fd}") as f:
            flags = next(int(line.split()[1], 8) for line in f if line.startswith("flags:"))
        if reading or not flags & os.O_APPEND:
            os.close(new)
            raise ValueError(f"fd {fd} is a file of the client's own offset")
    return new


def answer(pid, fd, text):
    """Write the answer line on the client's REPLY pipe (never blocking:
    a client that is gone gets nothing)."""
    try:
        out = client_fd(pid, fd, os.O_WRONLY | os.O_NONBLOCK)
    except OSError:
        return
    try:
        os.write(out, f"{text}\n".encode())
    except OSError:
        pass
    finally:
        os.close(out)


def python_streams():
    """sys.stdin, sys.stdout and sys.stderr as a fresh python3 makes them
    on fds 0-2 (stdout block-buffered unless a terminal; stderr line by
    line, with backslash escapes for what it cannot encode; both written
    through with PYTHONUNBUFFERED)."""
    encoding, errors = sys.stdout.encoding, sys.stdout.errors
    unbuffered = bool(os.environ.get("PYTHONUNBUFFERED"))

    def stream(fd, mode, **kw):
        raw = io.open(fd, mode, closefd=False, buffering=0 if unbuffered and fd else -1)
        return io.TextIOWrapper(raw, encoding=encoding, write_through=unbuffered and fd > 0, **kw)

    sys.stdin = stream(0, "rb", errors=errors)
    sys.stdout = stream(1, "wb", errors=errors, line_buffering=os.isatty(1))
    sys.stderr = stream(2, "wb", errors="backslashreplace", line_buffering=True)


def exit_code(e):
    """What python3 exits with for SystemExit(e.code)."""
    if e.code is None:
        return 0
    if isinstance(e.code, int):
        return e.code & 0xFF
    print(e.code, file=sys.stderr)
    return 1


def print_uncaught(script, e):
    """The traceback python3 prints, without this server's frames (none at
    all for a script that does not compile, as python3 prints it)."""
    tb = e.__traceback__
    while tb is not None and os.path.abspath(tb.tb_frame.f_code.co_filename) != script:
        tb = tb.tb_next
    traceback.print_exception(type(e), e, tb)


def run_main(argv, code):
    """Run code, compiled from the script argv[0], as python3 runs a script:
    in a fresh module __main__ (runpy's way when code is None)."""
    if code is None:
        runpy.run_path(argv[0], run_name="__main__")
        return
    main = types.ModuleType("__main__")
    main.__file__, main.__builtins__ = code.co_filename, builtins
    sys.modules["__main__"] = main
    exec(code, main.__dict__)


def run_check(cwd, argv, env, fds, code=None):
    """In the forked child: become `python3 argv...` and never return
    (code: the script compiled by the server, or None)."""
    status = 1
    try:
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
            os.close(fd)
        os.chdir(cwd)
        os.environ.clear()
        os.environ.update(env)
        python_streams()
        script = os.path.abspath(argv[0])
        sys.argv = list(argv)
        sys.path[0] = os.path.dirname(script)
        try:
            run_main(argv, code)
            status = 0
        except SystemExit as e:
            status = exit_code(e)
        except BaseException as e:  # what python3 reports and exits 1 for
            print_uncaught(script, e)
            status = 1
        threading._shutdown()   # python3 waits for the check's own threads
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                status = status or 120   # as python3 does when stdout cannot be flushed
    except BaseException:
        traceback.print_exc()    # the server's own fault, on the check's stderr
        status = 1
    finally:
        os._exit(status)


class Server:
    def __init__(self, folder):
        self.folder = folder
        self.children = {}   # pid -> (client pid, reply fd)
        self.compiled = {}   # (script, mtime, size) -> its code
        os.mkdir(folder, 0o700)
        # The checkers' imported modules keep their bytecode here (their own
        # folder is read-only in the VM): compiled once per round, not per check.
        sys.pycache_prefix = os.path.join(folder, "pycache")
        os.mkdir(sys.pycache_prefix, 0o700)
        self.fifo_path = os.path.join(folder, "requests")
        os.mkfifo(self.fifo_path, 0o600)
        # Read and write: the FIFO never reads as end-of-file between clients.
        self.fifo = os.open(self.fifo_path, os.O_RDWR | os.O_CLOEXEC)
        self.wake_r, self.wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        signal.set_wakeup_fd(self.wake_w)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        with open(os.path.join(folder, "pid"), "w") as f:
            f.write(f"{os.getpid()}\n")

    def serve(self):
        pending = b""
        while True:
            try:
                ready, _, _ = select.select([self.fifo, self.wake_r], [], [])
            except InterruptedError:
                continue
            if self.wake_r in ready:
                while True:
                    try:
                        if not os.read(self.wake_r, 512):
                            break
                    except BlockingIOError:
                        break
                self.reap()
            if self.fifo in ready:
                pending += os.read(self.fifo, 65536)
                *lines, pending = pending.split(b"\n")
                for line in lines:
                    self.request(line.decode("ascii", "replace"))

    def code_of(self, cwd, script):
        """The script compiled (compiling has no side effects: the server
        does it once per content and its forks share the code), or None
        when it does not compile (the fork then fails as python3 does)."""
        path = os.path.abspath(os.path.join(cwd, script))   # python3's __file__
        try:
            st = os.stat(path)
            key = (path, st.st_mtime_ns, st.st_size)
            if key not in self.compiled:
                with open(path, "rb") as f:
                    self.compiled[key] = compile(f.read(), path, "exec", dont_inherit=True)
            return self.compiled[key]
        except (OSError, SyntaxError, ValueError):
            return None

    def request(self, line):
        fields = line.split()
        if len(fields) != 6 or not all(f.replace("-", "").isdigit() for f in fields):
            return
        rid, pid, *stdio, reply = fields
        files = [os.path.join(self.folder, f"{rid}.{kind}") for kind in ("req", "env")]
        fds = []
        try:
            cwd, *argv = read_fields(files[0])
            env = dict(item.split("=", 1) for item in read_fields(files[1]) if "=" in item)
            if not argv:
                raise ValueError("no script")
            for target, fd in enumerate(stdio):
                fds.append(client_stdio(pid, fd, reading=target == 0))
        except (OSError, ValueError):
            for fd in fds:
                os.close(fd)
            answer(pid, reply, "run-here")
            return
        finally:
            for path in files:
                try:
                    os.unlink(path)
                except OSError:
                    pass
        code = self.code_of(cwd, argv[0])   # here, so that later forks find it compiled
        child = os.fork()
        if child == 0:
            signal.set_wakeup_fd(-1)
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            for fd in (self.fifo, self.wake_r, self.wake_w):
                os.close(fd)
            run_check(cwd, argv, env, fds, code)
        for fd in fds:
            os.close(fd)
        self.children[child] = (pid, reply)

    def reap(self):
        while self.children:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            client = self.children.pop(pid, None)
            if client is None:
                continue
            code = os.waitstatus_to_exitcode(status)
            answer(*client, str(code if code >= 0 else 128 - code))


def main(argv):
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    os.closerange(3, os.sysconf("SC_OPEN_MAX"))
    try:
        os.setsid()   # out of the test's session: it outlives the test
    except PermissionError:
        pass          # (already a session leader)
    server = Server(argv[0])
    try:
        with open(argv[1], "w") as ready:
            ready.write("ready\n")
    except OSError:
        return 1
    server.serve()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
