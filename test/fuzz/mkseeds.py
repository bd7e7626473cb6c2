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


def checksum_at(b, at, n=None):
    """Make b[0:n] sum to 0 by choosing b[at] (b: bytearray)."""
    n = len(b) if n is None else n
    b[at] = 0
    b[at] = -sum(b[:n]) & 0xff


def ivrs(blocks, ivinfo=40 << 8):
    """An IVRS table (header, IVinfo, blocks), length and checksum right."""
    b = bytearray(b"IVRS" + struct.pack("<IBB", 0, 2, 0) + b"UMBRA " + b"FUZZIVRS" +
                  struct.pack("<I4sI", 1, b"UMBR", 1) + struct.pack("<IQ", ivinfo, 0))
    for blk in blocks:
        b += blk
    b[4:8] = struct.pack("<I", len(b))
    checksum_at(b, 9)
    return bytes(b)


def ivhd(btype, devid, base, entries, flags=0xb0):
    hdr = struct.pack("<HHQHHI", devid, 0x40, base, 0, 0, 0)
    if btype != 0x10:
        hdr += struct.pack("<QQ", 0x246577efa2254afa, 0)
    body = hdr + b"".join(entries)
    return struct.pack("<BBH", btype, flags, 4 + len(body)) + body


def ivmd(btype, devid, start, length, flags=0x07):
    return struct.pack("<BBHHHQQQ", btype, flags, 32, devid, 0, 0, start, length)


def dev4(t, devid, data=0):
    return struct.pack("<BHB", t, devid, data)


def dev8(t, devid, data=0, extra=0, ext2=0):
    return struct.pack("<BHBBHB", t, devid, data, extra, ext2, 0)


def seeds_ivrs():
    # "fix" byte 0: the target rewrites signature, length and checksum (already right here).
    q = ivrs([ivhd(0x10, 0x0020, 0xfed80000, [dev4(0x02, 0x0000), dev4(0x02, 0x0008), dev4(0x02, 0x0010),
                                              dev4(0x02, 0x00f8), dev4(0x02, 0x00fa)])])
    put("ivrs", "qemu-q35", b"\0" + q)
    real = ivrs([ivhd(0x11, 0x0002, 0xfd200000, [dev4(0x03, 0x0008), dev4(0x04, 0x00fe),
                                                 dev8(0x43, 0x0100, 0, 0x00, 0xa4), dev4(0x04, 0x01ff),
                                                 dev8(0x42, 0x0200, 0, 0x10, 0x02),
                                                 dev8(0x48, 0x0000, 0xd7, 0x21, 0x00a0),
                                                 dev8(0x48, 0x0000, 0x00, 0x02, 0x00a5)]),
                 ivhd(0x40, 0x0002, 0xfd200000, [dev4(0x01, 0x0000), dev4(0x00, 0),
                                                 bytes([0xf0]) + struct.pack("<H", 0x00a0) + b"\0" +
                                                 b"AMDI0020" + b"PNP0A08\0" + bytes([2, 2]) + b"01"]),  # UID format 2, length 2
                 ivmd(0x20, 0x0000, 0x9d000000, 0x100000),
                 ivmd(0x21, 0x00a0, 0x9e000000, 0x2000)])
    put("ivrs", "real-11-40-same-base", b"\0" + real)
    two = ivrs([ivhd(0x10, 0x0002, 0xfd200000, [dev4(0x03, 0x0000), dev4(0x04, 0x7fff)]),
                ivhd(0x10, 0x8002, 0xfd280000, [dev4(0x03, 0x8000), dev4(0x04, 0xffff)]),
                ivmd(0x22, 0x0010, 0x9f000000, 0x1000)])
    put("ivrs", "two-iommus", b"\0" + two)
    put("ivrs", "unknown-block-skipped", b"\0" + ivrs([bytes([0x30, 0, 8, 0, 1, 2, 3, 4]),
                                                        ivhd(0x10, 0x0010, 0xfeb80000, [dev4(0x01, 0)])]))
    put("ivrs", "bad-checksum", b"\x04" + q[:9] + bytes([(q[9] + 1) & 0xff]) + q[10:])


def mpc_proc(apic_id, flags=1, ver=0x14):
    return struct.pack("<BBBBII8x", 0, apic_id, ver, flags, 0x00000663, 0x0781abfd)


def mpc_bus(bus, name):
    return struct.pack("<BB6s", 1, bus, name)


def mpc_ioapic(apic_id, addr=0xfec00000):
    return struct.pack("<BBBBI", 2, apic_id, 0x11, 1, addr)


def mpc_irq(t, src_bus, src_irq, dst_apic, dst_pin):
    return struct.pack("<BBHBBBB", t, 0, 0, src_bus, src_irq, dst_apic, dst_pin)


def mptable(entries, ext=b"", at=0x10, pad=0x40):
    """Memory from 0xF0000: the floating pointer at 0, the table at `at`; checksums right."""
    f = bytearray(b"_MP_" + struct.pack("<IBBBB4x", 0xf0000 + at, 1, 4, 0, 0))
    checksum_at(f, 10)
    body = b"".join(entries)
    t = bytearray(b"PCMP" + struct.pack("<HBB8s12sIHHIHBB", 44 + len(body), 4, 0, b"UMBRA   ", b"FUZZ MPTABLE",
                                         0, 0, len(entries), 0xfee00000, len(ext), (-sum(ext)) & 0xff, 0) + body)
    checksum_at(t, 7)
    m = bytearray(f) + b"\0" * (at - 16) + t + ext + b"\0" * pad
    return bytes(m)


def seeds_mptable():
    # "fix" byte 0x00: the target makes both checksums right and keeps the first listed CPU.
    std = [mpc_bus(0, b"ISA   "), mpc_ioapic(4), mpc_irq(3, 0, 0, 4, 2), mpc_irq(3, 0, 1, 4, 1),
           mpc_irq(4, 0, 0, 0xff, 0)]
    put("mptable", "qemu-4cpu", b"\0" + mptable([mpc_proc(0, 3), mpc_proc(1), mpc_proc(2), mpc_proc(3)] + std))
    put("mptable", "one-cpu", b"\0" + mptable([mpc_proc(0, 3)] + std))
    # Keep the third CPU (fix bits 2-7 = 2), a disabled CPU among them, entries interleaved.
    put("mptable", "interleaved-keep-third", b"\x08" + mptable([mpc_bus(0, b"PCI   "), mpc_proc(6, 3),
                                                                  mpc_ioapic(8), mpc_proc(2, 0), mpc_proc(4),
                                                                  mpc_irq(3, 0, 9, 8, 9), mpc_proc(5)]))
    ext = (struct.pack("<BBBBQQ", 128, 20, 0, 0, 0xc0000000, 0x3ec00000) +
           struct.pack("<BBBBI", 129, 8, 0, 1, 0) + struct.pack("<BBBBI", 130, 8, 0, 0, 0))
    put("mptable", "extended-table", b"\0" + mptable([mpc_proc(0, 3), mpc_proc(1)] + std, ext=ext))
    put("mptable", "duplicate-ids", b"\x04" + mptable([mpc_proc(1, 3), mpc_proc(0), mpc_proc(1), mpc_proc(0, 0)] + std))
    put("mptable", "table-high", b"\0" + mptable([mpc_proc(0, 3), mpc_proc(1)] + std, at=0xf000, pad=0))
    put("mptable", "default-config", b"\0" + bytes(mptable([mpc_proc(0, 3)] + std))[:11] + b"\x05" +
        bytes(mptable([mpc_proc(0, 3)] + std))[12:])


if __name__ == "__main__":
    seeds_x86()
    seeds_mb1()
    seeds_linux()
    seeds_mb2()
    seeds_opts()
    seeds_rsp()
    seeds_ivrs()
    seeds_mptable()
