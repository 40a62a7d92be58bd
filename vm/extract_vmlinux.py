#!/usr/bin/env python3
"""Unpack the ELF vmlinux hidden inside a compressed bzImage.

qemu can boot an ELF vmlinux through its PVH entry point, which skips the
in-guest decompressor: under software emulation that halves boot time.
Debian's 6.1 kernels are compressed with xz, its 6.12 kernels with zstd
(decoded by the zstd program: Python 3.11 has no zstd module); gzip is tried
too.

usage: extract_vmlinux.py BZIMAGE OUTPUT
"""
import gzip
import lzma
import subprocess
import sys
import zlib

ELF_MAGIC = b"\x7fELF"


def try_xz(blob):
    return lzma.LZMADecompressor(format=lzma.FORMAT_XZ).decompress(blob)


def try_gzip(blob):
    return zlib.decompressobj(wbits=16 + zlib.MAX_WBITS).decompress(blob)


def try_zstd(blob):
    # The stream is followed by the rest of the bzImage, which zstd calls an
    # error after it has written the whole kernel: its status is not used.
    proc = subprocess.run(["zstd", "-dcq"], input=blob, stdout=subprocess.PIPE,
                          stderr=subprocess.DEVNULL, check=False)
    return proc.stdout


DECODERS = [(b"\xfd7zXZ\x00", try_xz), (b"\x1f\x8b\x08", try_gzip),
            (b"\x28\xb5\x2f\xfd", try_zstd)]


def extract(image):
    for magic, decode in DECODERS:
        start = image.find(magic)
        while start != -1:
            try:
                data = decode(image[start:])
            except (lzma.LZMAError, zlib.error, EOFError, gzip.BadGzipFile):
                data = b""
            if data.startswith(ELF_MAGIC):
                return data
            start = image.find(magic, start + 1)
    return None


def main(argv):
    if len(argv) != 3:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    with open(argv[1], "rb") as f:
        image = f.read()
    vmlinux = extract(image)
    if vmlinux is None:
        print(f"extract_vmlinux: no ELF kernel found in {argv[1]}", file=sys.stderr)
        return 1
    with open(argv[2], "wb") as f:
        f.write(vmlinux)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
