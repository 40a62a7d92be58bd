"""Turn a submission (a folder or a .tar.gz laid out like the student
starter kit) into a private folder of plain files, refusing anything that
could reach outside it or exhaust the host.

The one place that decides a submission's layout (unpack: Gradescope's
run_autograder hands over the upload whole) and what a build product is
(is_build_product: the grader's builds and `make submit` leave them out;
kit/gitignore lists the same suffixes for git, tests/test_submission.py
holds it to PRODUCT_SUFFIXES)."""
import os
import shutil
import stat
import tarfile

from parts import PART_DIR

MB = 1024 * 1024
MAX_FILES = 2000
MAX_BYTES = 50 * MB        # unpacked, all files together
MAX_FILE_BYTES = 10 * MB   # any single file
ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar")
# Names that are build products, whatever the part (".o" covers ".mod.o").
PRODUCT_SUFFIXES = (".o", ".ko", ".mod", ".mod.c", ".cmd", ".symvers", ".order", ".a", ".so")
LIMITS = f"the limits: {MAX_FILES} files, {MAX_BYTES // MB} MB in all, {MAX_FILE_BYTES // MB} MB per file"


class SubmissionError(Exception):
    """The submission cannot be graded; the message is for the student."""


def name_of(path):
    base = os.path.basename(os.path.normpath(path))
    for suffix in ARCHIVE_SUFFIXES:
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
    """Copy regular files and folders only; links and special files are
    refused. Hidden folders (.git, .github: a repository's own) are left
    out, and do not count against the limits; hidden files are kept."""
    count, total = 0, 0
    for root, dirs, files in os.walk(src):
        rel = os.path.relpath(root, src)
        os.makedirs(os.path.join(dest, rel), exist_ok=True)
        for name in dirs + files:
            st = os.lstat(os.path.join(root, name))
            if stat.S_ISLNK(st.st_mode) or not (stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode)):
                raise SubmissionError(f"{os.path.join(rel, name)} is a link or special file, which is not accepted")
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in files:
            count += 1
            size = os.path.getsize(os.path.join(root, name))
            total += size
            if count > MAX_FILES or total > MAX_BYTES or size > MAX_FILE_BYTES:
                raise SubmissionError(f"the submission is larger than {LIMITS}")
            shutil.copyfile(os.path.join(root, name), os.path.join(dest, rel, name))


def _visible(folder):
    """The entries of folder that are not hidden."""
    return sorted(e for e in os.listdir(folder) if not e.startswith("."))


def _has_part(entries, part_dirs):
    """Whether entries name a part's folder: a graded one, or any other
    (partN_name), so another part's files are never taken for loose ones."""
    return any(e in part_dirs or PART_DIR.match(e) for e in entries)


def unpack(path, dest, part_dirs):
    """Unpack/copy the submission into dest and return its root: the folder
    that holds the part folders. part_dirs: the graded parts' folder names.

    The one rule of what a submission may look like (a file or folder from
    the grader's command line, or what a student uploaded to Gradescope):
    - an archive (ARCHIVE_SUFFIXES), or a folder whose visible entries hold
      exactly one archive and no part folder: that archive is unpacked;
    - any other folder is copied (hidden folders such as .git left out);
    - a single top folder, not a part folder, is looked into;
    - then, if no part folder is there, exactly one part is graded and the
      visible entries are not a single folder, they are that part's own
      files uploaded loose: they are moved into a folder of its name.
    A part folder: one of part_dirs, or any partN_name (parts.PART_DIR)."""
    if os.path.isdir(path):
        entries = _visible(path)
        archives = [e for e in entries if e.endswith(ARCHIVE_SUFFIXES)
                    and os.path.isfile(os.path.join(path, e))]
        if len(archives) == 1 and not _has_part(entries, part_dirs):
            _unpack_tar(os.path.join(path, archives[0]), dest)
        else:
            _copy_tree(path, dest)
    elif os.path.isfile(path):
        _unpack_tar(path, dest)
    else:
        raise SubmissionError(f"{path} does not exist")
    root = dest
    entries = _visible(root)
    if not _has_part(entries, part_dirs) and len(entries) == 1 \
            and os.path.isdir(os.path.join(root, entries[0])):
        root = os.path.join(root, entries[0])
        entries = _visible(root)
    single_folder = len(entries) == 1 and os.path.isdir(os.path.join(root, entries[0]))
    if len(part_dirs) == 1 and entries and not single_folder and not _has_part(entries, part_dirs):
        # Hidden files go along: a part folder may hold one (part 1's does).
        moved = sorted(os.listdir(root))
        os.mkdir(os.path.join(root, part_dirs[0]))
        for name in moved:
            os.rename(os.path.join(root, name), os.path.join(root, part_dirs[0], name))
    return root


def is_binary(path):
    """ELF, or a NUL byte in the first 4 KB: a compiled file, not a source."""
    with open(path, "rb") as f:
        head = f.read(4096)
    return head.startswith(b"\x7fELF") or b"\0" in head


def is_build_product(path, outputs=()):
    """Whether the file at path is a build product, never a source: a name
    with one of PRODUCT_SUFFIXES, one of the part's declared outputs
    (part.json "outputs"), or a binary."""
    name = os.path.basename(path)
    return name.endswith(PRODUCT_SUFFIXES) or name in outputs or is_binary(path)


def copy_part_sources(part_src, build_dir, outputs=()):
    """Copy the top-level regular files of a part folder (sources, headers,
    Makefile/Kbuild), never links or build products (is_build_product;
    outputs: the part's part.json "outputs"), into build_dir."""
    os.makedirs(build_dir, exist_ok=True)
    for name in sorted(os.listdir(part_src)):
        path = os.path.join(part_src, name)
        if os.path.isfile(path) and not os.path.islink(path) and not is_build_product(path, outputs):
            shutil.copyfile(path, os.path.join(build_dir, name))
