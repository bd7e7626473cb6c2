/*
 * Differential test of the emulator's arithmetic against the host CPU: the
 * same operation on the same operands, executed natively with inline
 * assembly, must give the same result and the same status flags (AF is
 * architecturally undefined after AND/OR/XOR and is masked there).  Then the
 * BT family on memory, natively vs. emulated, for the bit-offset addressing
 * (negative and out-of-operand offsets) that the emulator must get right.
 * The asm steps over the red zone before its push/popf.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <umbra/x86emu.h>
#include <umbra/x86.h>
#include "../../src/x86/x86priv.h"

#if !defined(__x86_64__)
#error "this differential test runs on an x86-64 host"
#endif

static uint64_t rng = 0x243f6a8885a308d3ULL;
static uint64_t rnd64(void)
{
    rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
    return rng;
}

/* Operands that hit carries, overflows and sign changes at every width. */
static uint64_t operand(void)
{
    static const uint64_t edge[] = { 0, 1, 2, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff, 0x7fffffff, 0x80000000,
                                     0xffffffff, 0x7fffffffffffffffULL, 0x8000000000000000ULL, ~0ULL, 0x0f, 0x10 };
    uint64_t r = rnd64();
    switch (r % 4) {
    case 0: return edge[(r >> 8) % ARRAY_SIZE(edge)];
    case 1: return edge[(r >> 8) % ARRAY_SIZE(edge)] + ((r >> 16) % 3) - 1;
    default: return rnd64();
    }
}

#define NATIVE2(insn, sfx, type, a, b, fl)                                               \
    do {                                                                                 \
        type x = (type)(a), y = (type)(b);                                               \
        uint64_t f = fl;                                                                 \
        __asm__ volatile("lea -128(%%rsp), %%rsp; push %[f]; popfq; " insn sfx " %[y], %[x]; pushfq; pop %[f]; lea 128(%%rsp), %%rsp"   \
                         : [x] "+r"(x), [f] "+r"(f) : [y] "r"(y) : "cc");                \
        res = (uint64_t)x; flags = f;                                                    \
    } while (0)
#define NATIVE1(insn, sfx, type, a, fl)                                                  \
    do {                                                                                 \
        type x = (type)(a);                                                              \
        uint64_t f = fl;                                                                 \
        __asm__ volatile("lea -128(%%rsp), %%rsp; push %[f]; popfq; " insn sfx " %[x]; pushfq; pop %[f]; lea 128(%%rsp), %%rsp"         \
                         : [x] "+r"(x), [f] "+r"(f) : : "cc");                           \
        res = (uint64_t)x; flags = f;                                                    \
    } while (0)

#define BY_SIZE2(insn, a, b, fl)                                                         \
    switch (size) {                                                                      \
    case 1: NATIVE2(insn, "b", uint8_t, a, b, fl); break;                                \
    case 2: NATIVE2(insn, "w", uint16_t, a, b, fl); break;                               \
    case 4: NATIVE2(insn, "l", uint32_t, a, b, fl); break;                               \
    default: NATIVE2(insn, "q", uint64_t, a, b, fl); break;                              \
    }
#define BY_SIZE1(insn, a, fl)                                                            \
    switch (size) {                                                                      \
    case 1: NATIVE1(insn, "b", uint8_t, a, fl); break;                                   \
    case 2: NATIVE1(insn, "w", uint16_t, a, fl); break;                                  \
    case 4: NATIVE1(insn, "l", uint32_t, a, fl); break;                                  \
    default: NATIVE1(insn, "q", uint64_t, a, fl); break;                                 \
    }

static void native(unsigned op, unsigned size, uint64_t a, uint64_t b, uint64_t fin, uint64_t *r, uint64_t *fo)
{
    uint64_t res = 0, flags = 0;
    switch (op) {
    case ALU_ADD: BY_SIZE2("add", a, b, fin); break;
    case ALU_OR:  BY_SIZE2("or", a, b, fin); break;
    case ALU_ADC: BY_SIZE2("adc", a, b, fin); break;
    case ALU_SBB: BY_SIZE2("sbb", a, b, fin); break;
    case ALU_AND: BY_SIZE2("and", a, b, fin); break;
    case ALU_SUB: BY_SIZE2("sub", a, b, fin); break;
    case ALU_XOR: BY_SIZE2("xor", a, b, fin); break;
    case ALU_CMP: BY_SIZE2("cmp", a, b, fin); res = a; break;
    case ALU_INC: BY_SIZE1("inc", a, fin); break;
    case ALU_DEC: BY_SIZE1("dec", a, fin); break;
    case ALU_NOT: BY_SIZE1("not", a, fin); break;
    case ALU_NEG: BY_SIZE1("neg", a, fin); break;
    }
    *r = res & x86_size_mask(size);
    *fo = flags;
}

START_TEST(alu_vs_host)
{
    static const unsigned sizes[] = { 1, 2, 4, 8 };
    unsigned checked = 0;
    for (unsigned op = ALU_ADD; op <= ALU_NEG; op++)
        for (unsigned si = 0; si < 4; si++)
            for (unsigned i = 0; i < 8000; i++) {
                unsigned size = sizes[si];
                uint64_t a = operand(), b = operand();
                uint64_t fin = X86_RFLAGS_FIXED | (rnd64() & X86_STATUS_FLAGS);
                uint64_t want, wflags, fl = fin;
                native(op, size, a, b, fin, &want, &wflags);
                uint64_t got = x86_alu(op, a, b, size, &fl);
                if (op == ALU_CMP)
                    got = a & x86_size_mask(size);
                uint64_t mask = X86_STATUS_FLAGS;
                if (op == ALU_AND || op == ALU_OR || op == ALU_XOR)
                    mask &= ~X86_RFLAGS_AF;   /* undefined */
                ck_assert_msg(got == want, "op %u size %u: %#llx,%#llx -> %#llx, host %#llx", op, size,
                              (unsigned long long)a, (unsigned long long)b, (unsigned long long)got,
                              (unsigned long long)want);
                ck_assert_msg((fl & mask) == (wflags & mask), "op %u size %u: %#llx,%#llx cf_in %llu: flags %#llx, host %#llx",
                              op, size, (unsigned long long)a, (unsigned long long)b,
                              (unsigned long long)(fin & 1), (unsigned long long)(fl & mask),
                              (unsigned long long)(wflags & mask));
                checked++;
            }
    printf("alu vs host: %u operations checked\n", checked);
}
END_TEST

/* ---- BT family through the emulator vs. native, on memory ---- */
static uint8_t gmem[0x3000];
#define GBASE 0x1000u   /* guest linear address of gmem[0] */

static int rd(struct x86_emu_ctxt *c, uint64_t la, void *d, unsigned n, uint32_t pfec, struct x86_fault *f)
{
    (void)c; (void)pfec; (void)f;
    ck_assert(la >= GBASE && la + n <= GBASE + sizeof(gmem));
    memcpy(d, gmem + (la - GBASE), n);
    return X86EMU_OK;
}
static int wr(struct x86_emu_ctxt *c, uint64_t la, const void *s, unsigned n, uint32_t pfec, struct x86_fault *f)
{
    (void)c; (void)pfec; (void)f;
    ck_assert(la >= GBASE && la + n <= GBASE + sizeof(gmem));
    memcpy(gmem + (la - GBASE), s, n);
    return X86EMU_OK;
}

START_TEST(bt_vs_host)
{
    static const struct x86_emu_ops ops = { rd, wr, NULL, NULL };
    static uint8_t host[0x1000] __attribute__((aligned(16)));
    unsigned checked = 0;
    for (unsigned i = 0; i < 20000; i++) {
        unsigned kind = rnd64() % 4;             /* bt bts btr btc */
        unsigned size = (rnd64() % 2) ? 4 : 8;
        int64_t off = (int64_t)(rnd64() % 4096) - 2048;   /* bits, either side of the operand */
        uint64_t fin = X86_RFLAGS_FIXED | (rnd64() & X86_RFLAGS_CF);
        for (unsigned k = 0; k < sizeof(host); k++)
            host[k] = (uint8_t)rnd64();
        uint8_t *mid = host + 0x800;
        memcpy(gmem + 0x1000 - 0x800, host, sizeof(host));   /* same bytes, guest mid at GBASE+0x1000 */
        uint64_t f = fin;
        /* native */
        if (size == 8) {
            int64_t o = off;
            switch (kind) {
            case 0: __asm__ volatile("lea -128(%%rsp), %%rsp; push %[f]; popfq; btq %[o], (%[m]); pushfq; pop %[f]; lea 128(%%rsp), %%rsp" : [f] "+r"(f) : [o] "r"(o), [m] "r"(mid) : "cc", "memory"); break;
            case 1: __asm__ volatile("lea -128(%%rsp), %%rsp; push %[f]; popfq; btsq %[o], (%[m]); pushfq; pop %[f]; lea 128(%%rsp), %%rsp" : [f] "+r"(f) : [o] "r"(o), [m] "r"(mid) : "cc", "memory"); break;
            case 2: __asm__ volatile("lea -128(%%rsp), %%rsp; push %[f]; popfq; btrq %[o], (%[m]); pushfq; pop %[f]; lea 128(%%rsp), %%rsp" : [f] "+r"(f) : [o] "r"(o), [m] "r"(mid) : "cc", "memory"); break;
            case 3: __asm__ volatile("lea -128(%%rsp), %%rsp; push %[f]; popfq; btcq %[o], (%[m]); pushfq; pop %[f]; lea 128(%%rsp), %%rsp" : [f] "+r"(f) : [o] "r"(o), [m] "r"(mid) : "cc", "memory"); break;
            }
        } else {
            int32_t o = (int32_t)off;
            switch (kind) {
            case 0: __asm__ volatile("lea -128(%%rsp), %%rsp; push %[f]; popfq; btl %[o], (%[m]); pushfq; pop %[f]; lea 128(%%rsp), %%rsp" : [f] "+r"(f) : [o] "r"(o), [m] "r"(mid) : "cc", "memory"); break;
            case 1: __asm__ volatile("lea -128(%%rsp), %%rsp; push %[f]; popfq; btsl %[o], (%[m]); pushfq; pop %[f]; lea 128(%%rsp), %%rsp" : [f] "+r"(f) : [o] "r"(o), [m] "r"(mid) : "cc", "memory"); break;
            case 2: __asm__ volatile("lea -128(%%rsp), %%rsp; push %[f]; popfq; btrl %[o], (%[m]); pushfq; pop %[f]; lea 128(%%rsp), %%rsp" : [f] "+r"(f) : [o] "r"(o), [m] "r"(mid) : "cc", "memory"); break;
            case 3: __asm__ volatile("lea -128(%%rsp), %%rsp; push %[f]; popfq; btcl %[o], (%[m]); pushfq; pop %[f]; lea 128(%%rsp), %%rsp" : [f] "+r"(f) : [o] "r"(o), [m] "r"(mid) : "cc", "memory"); break;
            }
        }
        /* emulated: 0F A3/AB/B3/BB /r with [rbx], offset in rax */
        static const uint8_t opc[4] = { 0xa3, 0xab, 0xb3, 0xbb };
        struct x86_regs r;
        memset(&r, 0, sizeof(r));
        r.rflags = fin;
        r.rip = 0x100;
        r.gpr[X86_RBX] = GBASE + 0x1000;
        r.gpr[X86_RAX] = (uint64_t)off;
        struct x86_emu_ctxt c = { .ops = &ops, .regs = &r, .mode = X86_MODE_LONG64, .insn_avail = 4,
                                  .insn_bytes = { size == 8 ? 0x48 : 0x40, 0x0f, opc[kind], 0x03 } };
        ck_assert_int_eq(x86_emulate(&c), X86EMU_OK);
        ck_assert_msg((r.rflags & X86_RFLAGS_CF) == (f & X86_RFLAGS_CF), "kind %u size %u off %lld: CF", kind,
                      size, (long long)off);
        ck_assert_msg(!memcmp(gmem + 0x1000 - 0x800, host, sizeof(host)), "kind %u size %u off %lld: memory",
                      kind, size, (long long)off);
        checked++;
    }
    printf("bt vs host: %u operations checked\n", checked);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("x86_alu");
    TCase *tc = tcase_create("alu");
    tcase_add_test(tc, alu_vs_host);
    tcase_add_test(tc, bt_vs_host);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
