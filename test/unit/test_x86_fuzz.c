/*
 * Robustness: random instruction bytes (biased towards the page-table
 * writers), random registers, modes, segment limits, absent and read-only
 * pages and callbacks that refuse (MMIO).  Whatever happens the emulator
 * must keep its contract:
 *   - the result is OK, FAULT or UNHANDLED;
 *   - FAULT and UNHANDLED leave registers and memory exactly as they were
 *     (REP string instructions may leave completed iterations);
 *   - OK advances RIP by the decoded length (wrapping at the CS size) and
 *     changes no RFLAGS bit other than the status flags and RF;
 *   - a fault is #PF/#GP/#SS/#UD with the error code the vector needs;
 *   - nothing is written outside the callbacks (host memory is guarded).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <umbra/x86emu.h>
#include <umbra/x86.h>

#define MEMSZ 0x10000u
static uint8_t mem[MEMSZ], page_np[MEMSZ >> 12], page_ro[MEMSZ >> 12];
static unsigned refuse_writes;   /* 1 in N writes is refused (0: never) */

static uint64_t rng = 0xa4093822299f31d0ULL;
static uint64_t rnd(void)
{
    rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
    return rng;
}
static unsigned rn(unsigned n) { return (unsigned)(rnd() % n); }

static int access(uint64_t la, unsigned len, uint32_t pfec, struct x86_fault *f)
{
    ck_assert_msg(la + len - 1 >= la, "a callback got a wrapping range");
    for (uint64_t p = la >> 12; p <= (la + len - 1) >> 12; p++) {
        uint64_t start = p << 12 > la ? p << 12 : la;
        uint32_t err;
        if (p >= (MEMSZ >> 12) || page_np[p])
            err = pfec & (PFEC_WRITE | PFEC_USER | PFEC_INSN);
        else if ((pfec & PFEC_WRITE) && page_ro[p])
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
    int rc = access(la, n, pfec, f);
    if (!rc)
        memcpy(d, mem + la, n);
    return rc;
}
static int wr(struct x86_emu_ctxt *c, uint64_t la, const void *s, unsigned n, uint32_t pfec, struct x86_fault *f)
{
    (void)c;
    int rc = access(la, n, pfec, f);
    if (rc)
        return rc;
    if (refuse_writes && rn(refuse_writes) == 0)
        return X86EMU_UNHANDLED;
    memcpy(mem + la, s, n);
    return X86EMU_OK;
}
static int cx(struct x86_emu_ctxt *c, uint64_t la, void *old, const void *new, unsigned n, uint32_t pfec,
              struct x86_fault *f)
{
    (void)c;
    int rc = access(la, n, pfec, f);
    if (rc)
        return rc;
    if (refuse_writes && rn(refuse_writes) == 0)
        return X86EMU_UNHANDLED;
    if (!memcmp(mem + la, old, n)) memcpy(mem + la, new, n); else memcpy(old, mem + la, n);
    return X86EMU_OK;
}

static const uint8_t hot[] = { 0x88, 0x89, 0x8a, 0x8b, 0xc6, 0xc7, 0x86, 0x87, 0x00, 0x01, 0x09, 0x21, 0x29,
                               0x31, 0x39, 0x80, 0x81, 0x83, 0xfe, 0xff, 0xf6, 0xf7, 0xa2, 0xa3, 0xaa, 0xab,
                               0xa4, 0xa5, 0x0f };
static const uint8_t hot0f[] = { 0xb0, 0xb1, 0xc7, 0xab, 0xb3, 0xbb, 0xa3, 0xba, 0xc0, 0xc1 };
static const uint8_t pfx[] = { 0x66, 0x67, 0xf0, 0xf2, 0xf3, 0x2e, 0x3e, 0x26, 0x64, 0x65, 0x36 };

static void gen(uint8_t *b, enum x86_cpu_mode m)
{
    unsigned n = 0;
    for (unsigned i = rn(4); i; i--)
        b[n++] = pfx[rn(sizeof(pfx))];
    if (m == X86_MODE_LONG64 && rn(2))
        b[n++] = 0x40 | rn(16);
    if (rn(10) < 8) {
        b[n] = hot[rn(sizeof(hot))];
        if (b[n++] == 0x0f)
            b[n++] = hot0f[rn(sizeof(hot0f))];
    } else {
        b[n++] = (uint8_t)rnd();
    }
    while (n < 16)
        b[n++] = (uint8_t)rnd();
}

static void random_regs(struct x86_regs *r, enum x86_cpu_mode m)
{
    memset(r, 0, sizeof(*r));
    for (int i = 0; i < 16; i++)
        r->gpr[i] = rn(2) ? rn(MEMSZ + 0x100) : rnd() >> rn(64);
    r->gpr[X86_RCX] = rn(3) ? rn(64) : r->gpr[X86_RCX];
    r->rflags = X86_RFLAGS_FIXED | (rnd() & (0x8d5 | X86_RFLAGS_DF | X86_RFLAGS_TF | X86_RFLAGS_IF));
    r->cpl = rn(4) ? 0 : 3;
    bool small = m == X86_MODE_REAL || m == X86_MODE_PROT16;
    for (int s = 0; s < X86_NR_SEGS; s++) {
        r->seg[s].limit = small ? 0xffff : 0xffffffffu;
        r->seg[s].attr = small ? 0x93 : 0xc93;
        if (rn(8) == 0) r->seg[s].limit = rn(MEMSZ);                    /* short limit */
        if (rn(16) == 0 && m != X86_MODE_REAL) r->seg[s].attr = (uint16_t)(0x90 | rn(16)) | (rn(2) ? 0xc00 : 0);
        if (rn(8) == 0) r->seg[s].base = rn(MEMSZ);
    }
    r->seg[X86_SEG_CS].attr = m == X86_MODE_LONG64 ? 0x29b : m == X86_MODE_PROT32 ? 0xc9b : 0x9b;
    r->seg[X86_SEG_CS].limit = small ? 0xffff : 0xffffffffu;
    r->seg[X86_SEG_CS].base = 0;
    r->rip = rn(MEMSZ - 16);
    if (rn(4) == 0)
        r->rip = (r->rip | 0xfff) - rn(8);    /* near a page end */
    if (small)
        r->rip &= 0xffff;
}

static unsigned count[3], vec_seen[32];

START_TEST(fuzz)
{
    static const struct x86_emu_ops ops_cx = { rd, wr, cx, NULL }, ops_plain = { rd, wr, NULL, NULL };
    static uint8_t before_mem[MEMSZ];
    for (unsigned iter = 0; iter < 100000; iter++) {
        enum x86_cpu_mode m = (enum x86_cpu_mode)rn(4);
        struct x86_regs r, before;
        uint8_t b[16];
        for (unsigned k = 0; k < MEMSZ; k += 8) {
            uint64_t v = rnd();
            memcpy(mem + k, &v, 8);
        }
        for (unsigned p = 0; p < (MEMSZ >> 12); p++) {
            page_np[p] = rn(8) == 0;
            page_ro[p] = rn(4) == 0;
        }
        refuse_writes = rn(4) == 0 ? 3 : 0;
        random_regs(&r, m);
        gen(b, m);
        page_np[r.rip >> 12] = 0;
        memcpy(mem + r.rip, b, r.rip + 16 <= MEMSZ ? 16 : MEMSZ - r.rip);
        memcpy(before_mem, mem, MEMSZ);
        before = r;
        struct x86_emu_ctxt c = { .ops = rn(2) ? &ops_cx : &ops_plain, .regs = &r, .mode = m };
        int res = x86_emulate(&c);
        ck_assert(res == X86EMU_OK || res == X86EMU_FAULT || res == X86EMU_UNHANDLED);
        count[res]++;
        bool string = (res != X86EMU_UNHANDLED || c.insn.len) &&
                      (c.insn.op == X86_OP_STOS || c.insn.op == X86_OP_MOVS);
        if (res != X86EMU_OK && !string) {
            ck_assert_msg(!memcmp(&r, &before, sizeof(r)), "iter %u: registers changed on %d", iter, res);
            ck_assert_msg(!memcmp(mem, before_mem, MEMSZ), "iter %u: memory changed on %d", iter, res);
        }
        if (res == X86EMU_FAULT) {
            unsigned v = c.fault.vector;
            ck_assert(v == X86_EXC_PF || v == X86_EXC_GP || v == X86_EXC_SS || v == X86_EXC_UD);
            ck_assert(c.fault.has_error == (v != X86_EXC_UD));
            if (v == X86_EXC_GP || v == X86_EXC_SS)
                ck_assert_uint_eq(c.fault.error_code, 0);
            vec_seen[v]++;
        }
        if (res == X86EMU_OK) {
            uint64_t mask = m == X86_MODE_LONG64 ? ~0ULL : m == X86_MODE_PROT32 ? 0xffffffffu : 0xffff;
            bool rep_left = string && r.rip == before.rip;
            if (!rep_left)
                ck_assert_msg(r.rip == ((before.rip + c.insn.len) & mask), "iter %u: rip", iter);
            ck_assert_msg(((r.rflags ^ before.rflags) & ~(0x8d5ULL | X86_RFLAGS_RF)) == 0, "iter %u: rflags", iter);
            ck_assert(!memcmp(r.seg, before.seg, sizeof(r.seg)) && r.cpl == before.cpl);
        }
    }
    printf("fuzz: %u OK, %u FAULT (#PF %u, #GP %u, #SS %u, #UD %u), %u UNHANDLED\n", count[0], count[1],
           vec_seen[X86_EXC_PF], vec_seen[X86_EXC_GP], vec_seen[X86_EXC_SS], vec_seen[X86_EXC_UD], count[2]);
    ck_assert_uint_gt(count[X86EMU_OK], 10000);
    ck_assert_uint_gt(vec_seen[X86_EXC_PF], 500);
    ck_assert_uint_gt(vec_seen[X86_EXC_GP], 500);
    ck_assert_uint_gt(vec_seen[X86_EXC_SS], 50);
    ck_assert_uint_gt(vec_seen[X86_EXC_UD], 500);
}
END_TEST

int main(void)
{
    const char *seed = getenv("UMBRA_X86_SEED");
    if (seed)
        rng = strtoull(seed, NULL, 0) | 1;
    Suite *s = suite_create("x86_fuzz");
    TCase *tc = tcase_create("fuzz");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, fuzz);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
