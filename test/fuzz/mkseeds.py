#!/usr/bin/env python3
"""Write the seed corpora of the fuzz targets (test/fuzz/corpus/TARGET/).

Run from anywhere: python3 test/fuzz/mkseeds.py.  Deterministic; the files it
writes are committed, so the seeds are in the repository and reviewable here.
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def put(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


MB1_MAGIC = 0x1BADB002


def mb1_header(flags, extra=b""):
    return struct.pack("<III", MB1_MAGIC, flags, (-(MB1_MAGIC + flags)) & 0xffffffff) + extra


def elf32(segments, entry, etype=2):
    """segments: list of (paddr, vaddr, data, memsz); data placed page-aligned in the file."""
    phoff, phnum = 52, len(segments)
    body = bytearray(0x1000)
    out_ph = []
    for paddr, vaddr, data, memsz in segments:
        off = len(body) if data else 0
        if isinstance(data, int):           # the file's first `data` bytes (ELF headers)
            out_ph.append(struct.pack("<8I", 1, 0, vaddr, paddr, data, memsz, 4, 0x1000))
            continue
        if data:
            body += data
            body += b"\0" * (-len(body) % 0x1000)
        out_ph.append(struct.pack("<8I", 1, off, vaddr, paddr, len(data), memsz, 5, 0x1000))
    eh = b"\x7fELF" + bytes([1, 1, 1]) + b"\0" * 9
    eh += struct.pack("<HHIIIIIHHHHHH", etype, 3, 1, entry, phoff, 0, 0, 52, 32, phnum, 40, 0, 0)
    body[0:52] = eh
    body[52:52 + 32 * phnum] = b"".join(out_ph)
    return bytes(body)


def seeds_mb1():
    text = mb1_header(3) + b"\xfa\xf4\xeb\xfd" + b"\x90" * 64
    # ld -Ttext=0x100000: headers at 0xff000, text, bss with filesz 0.
    put("mb1", "ld-ttext.elf", elf32([(0xff000, 0xff000, 0xb4, 0xb4),
                                     (0x100000, 0x100000, text, len(text)),
                                     (0x102000, 0x102000, b"", 0x2000)], 0x10000c))
    # A higher-half kernel: vaddr != paddr, entry translated.
    put("mb1", "higher-half.elf", elf32([(0x100000, 0xc0100000, text, 0x3000)], 0xc010000c))
    put("mb1", "dyn.elf", elf32([(0x200000, 0x200000, text, len(text))], 0x20000c, etype=3))
    # The a.out kludge: header at offset 0, loaded at 1 MiB, bss to 0x104000.
    hdr = mb1_header(0x10003, struct.pack("<5I", 0x100000, 0x100000, 0, 0x104000, 0x100020))
    put("mb1", "aout.bin", hdr + b"\0" * (0x20 - len(hdr)) + b"\xfa\xf4" + b"\x90" * 200)
    hdr = mb1_header(0x10003, struct.pack("<5I", 0x101000, 0x100000, 0x102000, 0, 0x101020))
    put("mb1", "aout-offset.bin", b"\0" * 0x1000 + hdr + b"\xf4" * 64)


def bzimage(version=0x20f, reloc=1, cmdline_size=2047, init_size=0x400000, pref=0x1000000, body=0x2000):
    setup_sects = 1
    img = bytearray((setup_sects + 1) * 512 + body)
    img[0x1f1] = setup_sects
    struct.pack_into("<I", img, 0x1f4, body // 16)
    struct.pack_into("<H", img, 0x1fe, 0xaa55)
    img[0x200] = 0xeb
    img[0x201] = 0x66                       # the jump skips the header: it ends at 0x268
    img[0x202:0x206] = b"HdrS"
    struct.pack_into("<H", img, 0x206, version)
    img[0x211] = 0x01                       # LOADED_HIGH
    struct.pack_into("<I", img, 0x214, 0x100000)
    struct.pack_into("<I", img, 0x22c, 0x37ffffff)
    struct.pack_into("<I", img, 0x230, 0x200000)
    img[0x234] = reloc
    struct.pack_into("<I", img, 0x238, cmdline_size)
    struct.pack_into("<Q", img, 0x258, pref)
    struct.pack_into("<I", img, 0x260, init_size)
    return bytes(img)


def seeds_linux():
    def put_lx(name, initrd, clen, img):
        put("linux", name, struct.pack("<IH", initrd, clen) + img)
    put_lx("reloc-initrd", 0x10000, 40, bzimage())
    put_lx("cmdline-at-limit", 0, 2047, bzimage())
    put_lx("cmdline-over-limit", 0, 2048, bzimage())
    put_lx("not-relocatable", 0x1000, 10, bzimage(reloc=0))
    put_lx("proto-2.06", 0x2000, 0, bzimage(version=0x206))
    put_lx("big-initrd", 0x80000000, 0, bzimage(init_size=0x1000000))
    put_lx("initrd-1m", 0x000fffff, 0, bzimage())


def tag(t, payload):
    b = struct.pack("<II", t, 8 + len(payload)) + payload
    return b + b"\0" * (-len(b) % 8)


def mb2_block(tags):
    body = b"".join(tags) + tag(0, b"")
    return struct.pack("<II", 8 + len(body), 0) + body


QEMU_E820 = [(0, 0x9fc00, 1), (0x9fc00, 0x400, 2), (0xf0000, 0x10000, 2),
             (0x100000, 0x7ee0000, 1), (0x7fe0000, 0x20000, 2), (0xfffc0000, 0x40000, 2)]


def seeds_mb2():
    mmap = struct.pack("<II", 24, 0) + b"".join(struct.pack("<QQII", b, l, t, 0) for b, l, t in QEMU_E820)
    put("mb2", "grub-bios", mb2_block([
        tag(1, b"paging=shadow console=com1\0"), tag(2, b"GRUB 2.06\0"),
        tag(3, struct.pack("<II", 0x200000, 0x20a000) + b"/boot/g.elf x\0"),
        tag(3, struct.pack("<II", 0x300000, 0x300100) + b"initrd\0"),
        tag(4, struct.pack("<II", 639, 129920)), tag(6, mmap), tag(21, struct.pack("<I", 0x7c00000))]))
    efi = b"".join(struct.pack("<IIQQQQ", t, 0, b, 0, n, 0xf) for t, b, n in
                   [(7, 0, 0x9f), (0, 0x9f000, 1), (3, 0x100000, 0x700), (7, 0x800000, 0x7000), (9, 0x7f00000, 0x10)])
    put("mb2", "grub-efi", mb2_block([tag(1, b"\0"), tag(17, struct.pack("<II", 48, 1) + efi)]))
    put("mb2", "unsorted-merge", mb2_block([tag(6, struct.pack("<II", 24, 0) + b"".join(
        struct.pack("<QQII", b, l, t, 0) for b, l, t in
        [(0x200000, 0x100000, 1), (0, 0x100000, 1), (0x100000, 0x100000, 1), (0x300000, 0, 1)]))]))


def seeds_opts():
    for i, s in enumerate([b"", b"/boot/umbra.elf paging=shadow", b"console=e9 shadow_pool=512K gdb=com2 gdb_wait",
                           b"paging=npt console=none", b"shadow_pool=4G", b"bogus=1", b"gdb_wait=1",
                           b"shadow_pool=18446744073709551615K", b"console=com1 " * 300]):
        put("opts", "opts%d" % i, s)


def rsp(p):
    return b"$" + p + b"#" + b"%02x" % (sum(p) & 0xff)


def seeds_rsp():
    put("rsp", "handshake", b"+" + rsp(b"qSupported:multiprocess+;swbreak+") + rsp(b"QStartNoAckMode") +
        rsp(b"?") + rsp(b"g"))
    put("rsp", "memory", rsp(b"m100000,40") + rsp(b"M100000,4:deadbeef") + rsp(b"X100000,0:"))
    put("rsp", "breakpoints", rsp(b"Z0,100000,1") + rsp(b"vCont?") + rsp(b"vCont;s:1") + rsp(b"z0,100000,1") +
        rsp(b"c") + b"\x03")
    put("rsp", "xfer-monitor", rsp(b"qXfer:features:read:target.xml:0,fff") +
        rsp(b"qRcmd," + b"walk 0x100000".hex().encode()) + rsp(b"qRcmd," + b"stats".hex().encode()))


def x86(mode, insn, flags=0x02, rip=0x1000, gpr=None, segs=0):
    """The fuzz_x86.c input layout: 110 bytes of state, then the instruction."""
    gpr = gpr or [0x2000 + 0x100 * i for i in range(16)]
    b = bytes([mode, flags]) + struct.pack("<HHHH", 0x0202, 0x0100, 0x0040, rip) + struct.pack("<Q", 0x1234567)
    b += b"".join(struct.pack("<I", g & 0xffffffff) for g in gpr) + struct.pack("<6H", *([segs] * 6))
    return b + b"\0" * (110 - len(b)) + insn


def seeds_x86():
    put("x86", "pae-pte-mov", x86(2, bytes.fromhex("8901")))                  # mov [ecx], eax
    put("x86", "pae-pte-cmpxchg8b", x86(2, bytes.fromhex("f00fc70e")))        # lock cmpxchg8b [esi]
    put("x86", "long-xchg", x86(3, bytes.fromhex("488707")))                  # xchg [rdi], rax
    put("x86", "long-rep-stos", x86(3, bytes.fromhex("f348ab")))             # rep stosq
    put("x86", "prot32-lock-or", x86(2, bytes.fromhex("f0830b01"), flags=0x03))  # lock or [ebx], 1
    put("x86", "real-movs", x86(0, bytes.fromhex("f3a5")))                   # rep movsw
    put("x86", "prot16-bts", x86(1, bytes.fromhex("0fab07"), segs=0x0fff))   # bts [bx], ax
    put("x86", "ro-page-fault", x86(2, bytes.fromhex("c70500500000efbeadde")))  # mov [0x5000], imm32


if __name__ == "__main__":
    seeds_x86()
    seeds_mb1()
    seeds_linux()
    seeds_mb2()
    seeds_opts()
    seeds_rsp()
