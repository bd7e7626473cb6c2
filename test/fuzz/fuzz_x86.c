/*
 * libFuzzer target: the x86 decoder and emulator (src/x86), with the
 * contract test/unit/test_x86_fuzz.c checks on random bytes, now driven by
 * coverage.  Input: [mode][cpl, callbacks, refusals][rflags u16][page
 * absent u16][page read-only u16][rip u16][8-byte memory seed][16 GPRs,
 * u32 each, from the input][segment limits/bases u16 x 6][instruction
 * bytes...] (short inputs are zero-padded).  The 64 KiB guest memory is
 * filled from the seed, the instruction bytes are placed at RIP.
 *   - the result is OK, FAULT or UNHANDLED;
 *   - FAULT and UNHANDLED leave registers and memory as they were (REP
 *     string instructions may leave completed iterations);
 *   - OK advances RIP by the decoded length (wrapping at the CS size) and
 *     changes no RFLAGS bit but the status flags and RF, no segment, no CPL;
 *   - a fault is #PF/#GP/#SS/#UD, with an error code exactly when the vector
 *     has one (0 for #GP/#SS);
 *   - callbacks never get a wrapping range, memory outside 64 KiB faults.
 */
#include <umbra/x86emu.h>
#include <umbra/x86.h>
#include <stdlib.h>
#include <string.h>

#define MEMSZ 0x10000u
static uint8_t mem[MEMSZ], before_mem[MEMSZ];
static uint16_t page_np, page_ro;
static unsigned refuse, nwrites;

static int access_(uint64_t la, unsigned len, uint32_t pfec, struct x86_fault *f)
{
    if (la + len - 1 < la)
        abort();                               /* a callback got a wrapping range */
    for (uint64_t p = la >> 12; p <= (la + len - 1) >> 12; p++) {
        uint64_t start = p << 12 > la ? p << 12 : la;
        uint32_t err;
        if (p >= (MEMSZ >> 12) || (page_np >> p & 1))
            err = pfec & (PFEC_WRITE | PFEC_USER | PFEC_INSN);
        else if ((pfec & PFEC_WRITE) && (page_ro >> p & 1))
            err = PFEC_PRESENT | (pfec & (PFEC_WRITE | PFEC_USER));
        else
            continue;
        *f = (struct x86_fault){ X86_EXC_PF, true, err, start };
        return X86EMU_FAULT;
    }
    return X86EMU_OK;
}
static int rd(struct x86_emu_ctxt *c, uint64_t la, void *d, unsigned n, uint32_t pfec, struct x86_fault *f)
{
    (void)c;
    int rc = access_(la, n, pfec, f);
    if (!rc)
        memcpy(d, mem + la, n);
    return rc;
}
static bool refused(void) { return refuse && ++nwrites % refuse == 0; }
static int wr(struct x86_emu_ctxt *c, uint64_t la, const void *s, unsigned n, uint32_t pfec, struct x86_fault *f)
{
    (void)c;
    int rc = access_(la, n, pfec, f);
    if (rc)
        return rc;
    if (refused())
        return X86EMU_UNHANDLED;
    memcpy(mem + la, s, n);
    return X86EMU_OK;
}
static int cx(struct x86_emu_ctxt *c, uint64_t la, void *old, const void *new, unsigned n, uint32_t pfec,
              struct x86_fault *f)
{
    (void)c;
    int rc = access_(la, n, pfec, f);
    if (rc)
        return rc;
    if (refused())
        return X86EMU_UNHANDLED;
    if (!memcmp(mem + la, old, n)) memcpy(mem + la, new, n); else memcpy(old, mem + la, n);
    return X86EMU_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct x86_emu_ops ops_cx = { rd, wr, cx, NULL }, ops_plain = { rd, wr, NULL, NULL };
    uint8_t in[160] = { 0 };
    memcpy(in, data, size < sizeof(in) ? size : sizeof(in));
    const uint8_t *insn = size > 110 ? data + 110 : in + 110;
    size_t ilen = size > 110 ? size - 110 : 0;
    enum x86_cpu_mode m = (enum x86_cpu_mode)(in[0] & 3);
    bool small = m == X86_MODE_REAL || m == X86_MODE_PROT16;
    struct x86_regs r, before;
    memset(&r, 0, sizeof(r));
    uint16_t fl, rip;
    memcpy(&fl, in + 2, 2);
    memcpy(&page_np, in + 4, 2);
    memcpy(&page_ro, in + 6, 2);
    memcpy(&rip, in + 8, 2);
    uint64_t seed;
    memcpy(&seed, in + 10, 8);
    seed |= 1;
    for (unsigned k = 0; k < MEMSZ; k += 8) {
        seed ^= seed << 13; seed ^= seed >> 7; seed ^= seed << 17;
        memcpy(mem + k, &seed, 8);
    }
    for (int i = 0; i < 16; i++) {
        uint32_t v;
        memcpy(&v, in + 18 + 4 * i, 4);
        r.gpr[i] = (in[1] & 0x80) ? (uint64_t)(int32_t)v : v;
    }
    r.rflags = X86_RFLAGS_FIXED | (fl & (0x8d5 | X86_RFLAGS_DF | X86_RFLAGS_TF | X86_RFLAGS_IF));
    r.cpl = (in[1] & 1) ? 3 : 0;
    for (int s = 0; s < X86_NR_SEGS; s++) {
        uint16_t t;
        memcpy(&t, in + 82 + 2 * (s % 6), 2);
        r.seg[s].limit = small ? 0xffff : 0xffffffffu;
        r.seg[s].attr = small ? 0x93 : 0xc93;
        if (t & 1) r.seg[s].limit = t;                            /* a short limit */
        if (t & 2) r.seg[s].base = (uint64_t)(t & 0xfff0);
        if ((t & 0xc) == 0xc && m != X86_MODE_REAL) r.seg[s].attr = (uint16_t)(0x90 | (t >> 12)) | ((t & 0x10) ? 0xc00 : 0);
    }
    r.seg[X86_SEG_CS].attr = m == X86_MODE_LONG64 ? 0x29b : m == X86_MODE_PROT32 ? 0xc9b : 0x9b;
    r.seg[X86_SEG_CS].limit = small ? 0xffff : 0xffffffffu;
    r.seg[X86_SEG_CS].base = 0;
    r.rip = rip % (MEMSZ - 16);
    page_np &= (uint16_t)~(1u << (r.rip >> 12));
    memcpy(mem + r.rip, insn, ilen < 16 ? ilen : 16);
    if (ilen < 16)
        memset(mem + r.rip + ilen, 0x90, 16 - ilen);
    refuse = (in[1] >> 2) & 3;
    nwrites = 0;
    memcpy(before_mem, mem, MEMSZ);
    before = r;
    struct x86_emu_ctxt c = { .ops = (in[1] & 2) ? &ops_cx : &ops_plain, .regs = &r, .mode = m };
    int res = x86_emulate(&c);
    if (res != X86EMU_OK && res != X86EMU_FAULT && res != X86EMU_UNHANDLED)
        abort();
    bool string = (res != X86EMU_UNHANDLED || c.insn.len) && (c.insn.op == X86_OP_STOS || c.insn.op == X86_OP_MOVS);
    if (res != X86EMU_OK && !string && (memcmp(&r, &before, sizeof(r)) || memcmp(mem, before_mem, MEMSZ)))
        abort();                               /* a failed instruction changed state */
    if (res == X86EMU_FAULT) {
        unsigned v = c.fault.vector;
        if (v != X86_EXC_PF && v != X86_EXC_GP && v != X86_EXC_SS && v != X86_EXC_UD)
            abort();
        if (c.fault.has_error != (v != X86_EXC_UD) || ((v == X86_EXC_GP || v == X86_EXC_SS) && c.fault.error_code))
            abort();
    }
    if (res == X86EMU_OK) {
        uint64_t mask = m == X86_MODE_LONG64 ? ~0ULL : m == X86_MODE_PROT32 ? 0xffffffffu : 0xffff;
        bool rep_left = string && r.rip == before.rip;
        if (!rep_left && r.rip != ((before.rip + c.insn.len) & mask))
            abort();
        if (((r.rflags ^ before.rflags) & ~(0x8d5ULL | X86_RFLAGS_RF)) != 0)
            abort();
        if (memcmp(r.seg, before.seg, sizeof(r.seg)) || r.cpl != before.cpl)
            abort();
    }
    return 0;
}
