"""The job folder: everything the host hands one VM, and the one writer of it.

The VM mounts the folder read-only at /job; its PID 1 is vm/guest/guest-init.sh,
which reads job.env (KEY=value lines, shell-quoted here, sourced there) and
does what KMOD_MODE says:

  grade   guest-agent.py runs tests/KMOD_BATS (only the tests KMOD_FILTER
          names, when set) and streams authenticated records to the results
          port with the key in secret (one per boot; vm.boot removes it once
          the guest has spoken). The folder holds guest-agent.py,
          run-suite.bash, tests/ (root's only: hidden tests), lib/ (the
          suites' helpers and course.py, the course.conf reader),
          course.conf, src/ (what was submitted) and
          build/ (what the sandbox built, its log and exit status).
  shell   an interactive root shell; run: the student's run/script.
  debug   as shell or run, with the modules' section addresses sent first.
          shell, run and debug jobs hold build/PART/ and src/PART/ per
          part, lib/ and course.conf.
  probe   two plain lines on the results port: the boot reached userspace.

A key the guest does not know is a mistake here, so every mode's keys are
listed (ENV_KEYS) and write_env refuses others.
"""
import os
import secrets
import shlex
import shutil

import course
import rubric

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
GUEST = os.path.join(ROOT, "vm", "guest")

ENV_KEYS = {
    "grade": {"KMOD_BATS", "KMOD_PART", "KMOD_BUILD", "KMOD_SRC", "KMOD_FILTER"},
    "shell": {"KMOD_LOAD", "KMOD_ROWS", "KMOD_COLS", "KMOD_TERM"},
    "run": {"KMOD_LOAD", "KMOD_ROWS", "KMOD_COLS", "KMOD_TERM"},
    "debug": {"KMOD_LOAD", "KMOD_ROWS", "KMOD_COLS", "KMOD_TERM", "KMOD_WAIT"},
    "probe": set(),
}


def write_env(job, mode, **values):
    """job/job.env for a VM of mode (vm.MODES) with these KMOD_* values."""
    unknown = set(values) - ENV_KEYS[mode]
    if unknown:
        raise ValueError(f"job.env of a {mode} VM has no key {sorted(unknown)[0]}")
    rows = {"KMOD_MODE": mode, **values}
    with open(os.path.join(job, "job.env"), "w") as f:
        f.write("".join(f"{key}={shlex.quote(str(value))}\n" for key, value in rows.items()))


def _new_folder(job, lib=True):
    """guest-init.sh and, for a VM that runs the course's code, lib/ (the
    suites' helpers and course.py, the one course.conf reader) and
    course.conf."""
    os.makedirs(job)
    shutil.copy(os.path.join(GUEST, "guest-init.sh"), job)
    if not lib:
        return
    shutil.copytree(os.path.join(HERE, "guest-lib"), os.path.join(job, "lib"))
    shutil.copy(os.path.join(HERE, "course.py"), os.path.join(job, "lib"))
    if os.path.isfile(course.path()):
        shutil.copy(course.path(), os.path.join(job, "course.conf"))


def make_grading(job, part):
    """A grading job for part, without its build (build.build_part fills src/ and build/)."""
    _new_folder(job)
    for name in ("guest-agent.py", "run-suite.bash"):
        shutil.copy(os.path.join(GUEST, name), job)
    tests = os.path.join(job, "tests")
    shutil.copytree(os.path.join(part.path, "tests"), tests)
    # The hidden tests are root's: the build, as another user, may know
    # where its folder is (the container route has no private view).
    os.chmod(tests, 0o700)


def write_grade_env(job, part, titles):
    """job.env of a grading round that runs the tests titled `titles`
    (the whole suite, or a bats filter naming just those)."""
    values = dict(KMOD_BATS=f"{part.name}.bats", KMOD_PART=part.name,
                  KMOD_BUILD="/job/build", KMOD_SRC="/job/src")
    if len(titles) != part.suite_size:
        values["KMOD_FILTER"] = rubric.bats_filter(titles)
    write_env(job, "grade", **values)


def new_secret(job):
    """A fresh key for one boot, in a file only root can read (the guest
    agent reads it first; vm.boot removes it once the guest speaks).
    Returns (key, path)."""
    key = secrets.token_bytes(32)
    path = os.path.join(job, "secret")
    if os.path.exists(path):
        os.unlink(path)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o400)
    with os.fdopen(fd, "w") as f:
        f.write(key.hex() + "\n")
    return key, path


def make_interactive(job, script=None):
    """The job of a shell, run or debug VM, without its builds (the caller
    builds each part into build/PART); the student's script as run/script."""
    _new_folder(job)
    if script:
        os.makedirs(os.path.join(job, "run"))
        shutil.copy(script, os.path.join(job, "run", "script"))


def make_probe(job):
    """A job that only says the VM reached userspace."""
    _new_folder(job, lib=False)
    write_env(job, "probe")
