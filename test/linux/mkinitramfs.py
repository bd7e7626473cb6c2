#!/usr/bin/env python3
"""mkinitramfs.py OUT.cpio.gz BUSYBOX INIT

Write a gzip'd cpio (newc) initramfs holding a static busybox as /bin/busybox,
INIT as /init, the directories /init needs and /dev/console (so the kernel can
open the console before devtmpfs is mounted).  Deterministic: every entry has
uid/gid 0 and mtime 0, and the gzip header carries no time, so equal inputs give
equal bytes.  (Debian's cpio is not a build dependency; newc is simple.)
"""
import gzip
import io
import stat
import sys


def entry(out, ino, name, mode, data=b"", rdev=(0, 0), nlink=1):
    name_b = name.encode() + b"\0"
    hdr = "070701" + "".join("%08X" % v for v in (
        ino, mode, 0, 0, nlink, 0, len(data), 0, 0, rdev[0], rdev[1], len(name_b), 0))
    out.write(hdr.encode() + name_b)
    out.write(b"\0" * (-(110 + len(name_b)) % 4))
    out.write(data)
    out.write(b"\0" * (-len(data) % 4))


def main():
    if len(sys.argv) != 4:
        sys.exit("usage: mkinitramfs.py OUT.cpio.gz BUSYBOX INIT")
    out_path, busybox, init = sys.argv[1:]
    with open(busybox, "rb") as f:
        bb = f.read()
    with open(init, "rb") as f:
        init_data = f.read()
    buf = io.BytesIO()
    ino = 1
    for d in ("bin", "sbin", "usr", "usr/bin", "usr/sbin", "dev", "proc", "sys", "tmp"):
        entry(buf, ino, d, stat.S_IFDIR | 0o755, nlink=2)
        ino += 1
    entry(buf, ino, "dev/console", stat.S_IFCHR | 0o600, rdev=(5, 1)); ino += 1
    entry(buf, ino, "bin/busybox", stat.S_IFREG | 0o755, bb); ino += 1
    entry(buf, ino, "bin/sh", stat.S_IFLNK | 0o777, b"busybox"); ino += 1
    entry(buf, ino, "init", stat.S_IFREG | 0o755, init_data); ino += 1
    entry(buf, 0, "TRAILER!!!", 0)
    data = buf.getvalue()
    data += b"\0" * (-len(data) % 512)
    with open(out_path, "wb") as f:
        with gzip.GzipFile(fileobj=f, mode="wb", mtime=0, filename="") as gz:
            gz.write(data)


if __name__ == "__main__":
    main()
