"""Build one part of a submission in the sandbox (grader/sandbox-build.sh)
and bring back only the files the part is expected to produce.

Everything the sandbox sends is read with a cap: the build log (stdout) and
the tar of outputs (fd 3). A build that prints gigabytes or makes huge files
fills neither the host's disk nor its memory; it just fails.
"""
import io
import os
import shlex
import subprocess
import tarfile
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
LOG_CAP = 1024 * 1024            # bytes of build log kept
OUTPUT_CAP = 256 * 1024 * 1024   # bytes of outputs accepted


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
