"""Turn a submission (a folder or a .tar.gz laid out like the student
starter kit) into a private folder of plain files, refusing anything that
could reach outside it or exhaust the host."""
import os
import shutil
import stat
import tarfile

MB = 1024 * 1024
MAX_FILES = 2000
MAX_BYTES = 50 * MB        # unpacked, all files together
MAX_FILE_BYTES = 10 * MB   # any single file
LIMITS = f"the limits: {MAX_FILES} files, {MAX_BYTES // MB} MB in all, {MAX_FILE_BYTES // MB} MB per file"


class SubmissionError(Exception):
    """The submission cannot be graded; the message is for the student."""


def name_of(path):
    base = os.path.basename(os.path.normpath(path))
    for suffix in (".tar.gz", ".tgz", ".tar"):
        if base.endswith(suffix):
            return base[: -len(suffix)]
    return base


def _check_member(member):
    name = member.name
    parts = name.split("/")
    if name.startswith("/") or ".." in parts:
        raise SubmissionError(f"the archive holds a path outside its own folder: {name}")
    if not (member.isfile() or member.isdir()):
        raise SubmissionError(f"the archive holds a link or special file, which is not accepted: {name}")
    if member.size > MAX_FILE_BYTES:
        raise SubmissionError(f"{name} is {member.size // MB} MB, over the limit per file ({LIMITS})")


def _unpack_tar(path, dest):
    try:
        archive = tarfile.open(path, "r:*")
    except (tarfile.TarError, OSError):
        raise SubmissionError(f"{os.path.basename(path)} is not a readable tar archive "
                              "(make it with `make submit`, or tar czf)") from None
    with archive:
        count, total = 0, 0
        for member in archive:
            count += 1
            total += max(member.size, 0)
            if count > MAX_FILES:
                raise SubmissionError(f"the archive holds more than {MAX_FILES} files ({LIMITS})")
            if total > MAX_BYTES:
                raise SubmissionError(f"the archive unpacks to more than {MAX_BYTES // MB} MB ({LIMITS})")
            _check_member(member)
            target = os.path.join(dest, member.name)
            if member.isdir():
                os.makedirs(target, exist_ok=True)
                continue
            os.makedirs(os.path.dirname(target), exist_ok=True)
            source = archive.extractfile(member)
            with source, open(target, "wb") as out:
                shutil.copyfileobj(source, out)
            os.chmod(target, 0o644)


def _copy_tree(src, dest):
    """Copy regular files and folders only; links and special files are refused."""
    count, total = 0, 0
    for root, dirs, files in os.walk(src):
        rel = os.path.relpath(root, src)
        os.makedirs(os.path.join(dest, rel), exist_ok=True)
        for name in dirs + files:
            st = os.lstat(os.path.join(root, name))
            if stat.S_ISLNK(st.st_mode) or not (stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode)):
                raise SubmissionError(f"{os.path.join(rel, name)} is a link or special file, which is not accepted")
        for name in files:
            count += 1
            size = os.path.getsize(os.path.join(root, name))
            total += size
            if count > MAX_FILES or total > MAX_BYTES or size > MAX_FILE_BYTES:
                raise SubmissionError(f"the submission is larger than {LIMITS}")
            shutil.copyfile(os.path.join(root, name), os.path.join(dest, rel, name))


def unpack(path, dest, part_dirs):
    """Unpack/copy the submission into dest and return its root: the folder
    that holds the part folders (a single top folder is looked into)."""
    if os.path.isdir(path):
        _copy_tree(path, dest)
    elif os.path.isfile(path):
        _unpack_tar(path, dest)
    else:
        raise SubmissionError(f"{path} does not exist")
    root = dest
    entries = [e for e in os.listdir(root) if not e.startswith(".")]
    if not any(p in entries for p in part_dirs) and len(entries) == 1 \
            and os.path.isdir(os.path.join(root, entries[0])):
        root = os.path.join(root, entries[0])
    return root


def copy_part_sources(part_src, build_dir):
    """Copy the top-level regular files of a part folder (sources, headers,
    Makefile/Kbuild), never build products, into build_dir."""
    os.makedirs(build_dir, exist_ok=True)
    skipped = (".o", ".ko", ".mod", ".mod.c", ".cmd", ".symvers", ".order")
    for name in sorted(os.listdir(part_src)):
        path = os.path.join(part_src, name)
        if os.path.isfile(path) and not os.path.islink(path) and not name.endswith(skipped):
            shutil.copyfile(path, os.path.join(build_dir, name))
