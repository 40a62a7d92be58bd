"""Hostile and broken submission archives, made on the fly for the grader's
self-test: each must be refused with a reason a student can act on, cost
only that submission its points, and leave the host untouched.

make_all(folder) writes them and returns {name: (path, breaks, message)}:
every test of the part must fail, and each failure must contain message.
"""
import io
import os
import tarfile

ESCAPE_TARGETS = ["/tmp/kmod-selftest-escape.c"]


def _add(tar, name, data=b"", kind=tarfile.REGTYPE, link=""):
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = link
    if kind == tarfile.REGTYPE:
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    else:
        if kind in (tarfile.CHRTYPE, tarfile.BLKTYPE):
            info.devmajor, info.devminor = 1, 3
        tar.addfile(info)


def _archive(folder, name, members):
    path = os.path.join(folder, name + ".tar.gz")
    with tarfile.open(path, "w:gz") as tar:
        for member in members:
            _add(tar, *member)
    return path


class _Zeros(io.RawIOBase):
    """n zero bytes, without holding them in memory."""

    def __init__(self, n):
        self.left = n

    def readable(self):
        return True

    def readinto(self, buf):
        n = min(len(buf), self.left)
        buf[:n] = bytes(n)
        self.left -= n
        return n


def _big_archive(folder, name, files, size):
    path = os.path.join(folder, name + ".tar.gz")
    with tarfile.open(path, "w:gz", compresslevel=1) as tar:
        for i in range(files):
            info = tarfile.TarInfo(f"part2_timer/junk{i}.bin")
            info.size = size
            tar.addfile(info, _Zeros(size))
    return path


def make_all(folder):
    source = b"int x;\n"
    cases = {
        "dotdot": (_archive(folder, "dotdot", [("part2_timer/my_timer.c", source),
                                               ("../kmod-selftest-escape.c", source)]),
                   "a ../ path in the archive", "outside its own folder"),
        "absolute": (_archive(folder, "absolute", [("part2_timer/my_timer.c", source),
                                                   (ESCAPE_TARGETS[0], source)]),
                     "an absolute path in the archive", "outside its own folder"),
        "symlink": (_archive(folder, "symlink", [("part2_timer/my_timer.c", b"", tarfile.SYMTYPE,
                                                  "/etc/shadow")]),
                    "my_timer.c is a symlink to /etc/shadow", "link or special file"),
        "hardlink": (_archive(folder, "hardlink", [("part2_timer/my_timer.c", b"", tarfile.LNKTYPE,
                                                    "/etc/passwd")]),
                     "a hard link to /etc/passwd", "link or special file"),
        "device": (_archive(folder, "device", [("part2_timer/null", b"", tarfile.CHRTYPE)]),
                   "a character device file", "link or special file"),
        "too_many_files": (_archive(folder, "too_many_files",
                                    [(f"part2_timer/f{i}.c", source) for i in range(2500)]),
                           "2500 files", "more than 2000 files"),
        "too_big": (_big_archive(folder, "too_big", 6, 9 * 1024 * 1024),
                    "54 MB of zeros (about 50 kB compressed)", "unpacks to more than"),
        "huge_file": (_big_archive(folder, "huge_file", 1, 12 * 1024 * 1024),
                      "one 12 MB file", "the limit per file"),
    }
    junk = os.path.join(folder, "not_a_tar.tar.gz")
    with open(junk, "wb") as f:
        f.write(b"this is not an archive\n" * 100)
    cases["not_a_tar"] = (junk, "not an archive at all", "not a readable tar archive")
    only_part1 = os.path.join(folder, "missing_part", "part1_syscalls")
    os.makedirs(only_part1)
    with open(os.path.join(only_part1, "empty.c"), "w") as f:
        f.write("int main(void) { return 0; }\n")
    cases["missing_part"] = (os.path.dirname(only_part1), "no part2_timer/ folder",
                             "has no part2_timer/ folder")
    return cases


def escaped():
    """Files an archive tried to write outside its folder that now exist."""
    return [p for p in ESCAPE_TARGETS if os.path.exists(p)]
