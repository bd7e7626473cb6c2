/*
 * The SVM-side helpers: x86_decode_sys() on intercepted instructions (which
 * CR and GPR a MOV CR names, LMSW's source, INVLPG's linear address,
 * INVLPGA's operands, the length for a zero nRIP) and x86_finish_sys()
 * (register/memory results, RIP advance), with their faults.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <umbra/x86emu.h>
#include <umbra/x86.h>

#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

static uint8_t mem[0x20000];
static int absent_page = -1;

static int rd(struct x86_emu_ctxt *c, uint64_t la, void *d, unsigned n, uint32_t pfec, struct x86_fault *f)
{
    (void)c;
    if (la + n > sizeof(mem) || (absent_page >= 0 && (la >> 12) <= (unsigned)absent_page &&
                                 ((la + n - 1) >> 12) >= (unsigned)absent_page)) {
        *f = (struct x86_fault){ X86_EXC_PF, true, pfec & (PFEC_WRITE | PFEC_USER | PFEC_INSN), la };
        return X86EMU_FAULT;
    }
    memcpy(d, mem + la, n);
    return X86EMU_OK;
}
static int wr(struct x86_emu_ctxt *c, uint64_t la, const void *s, unsigned n, uint32_t pfec, struct x86_fault *f)
{
    (void)c; (void)pfec; (void)f;
    memcpy(mem + la, s, n);
    return X86EMU_OK;
}
static const struct x86_emu_ops ops = { rd, wr, NULL, NULL };

#define P32 X86_MODE_PROT32
#define L64 X86_MODE_LONG64
#define R16 X86_MODE_REAL

struct scase {
    const char *name;
    enum x86_cpu_mode mode;
    const char *hex;
    int res;
    unsigned vec;
    int op;
    unsigned len, cr, gpr;
    bool mem;
    uint64_t value, la;
    uint32_t asid;
    uint8_t cpl;
    uint64_t finish_value;       /* passed to x86_finish_sys */
    int xreg; uint64_t xregval;  /* register expected after finish (-1: none) */
    uint64_t xmem_la; unsigned xmem_len; uint64_t xmem;   /* memory expected after finish */
};

/* registers: gpr[i] = 0x1000*(i+1) + 0x11111111_00000000 for odd i; ds base 0x100 (32-bit) */
static void regs(struct x86_regs *r, enum x86_cpu_mode m)
{
    memset(r, 0, sizeof(*r));
    for (int i = 0; i < 16; i++)
        r->gpr[i] = 0x1000ULL * (i + 1) + ((i & 1) ? 0x1111111100000000ULL : 0);
    r->rip = 0x100;
    r->rflags = X86_RFLAGS_FIXED | X86_RFLAGS_RF;
    for (int s = 0; s < X86_NR_SEGS; s++) {
        r->seg[s].limit = m == R16 ? 0xffff : 0xffffffffu;
        r->seg[s].attr = m == R16 ? 0x93 : 0xc93;
    }
    r->seg[X86_SEG_CS].attr = m == L64 ? 0x29b : m == P32 ? 0xc9b : 0x9b;
    if (m != L64)
        r->seg[X86_SEG_DS].base = 0x100;
    r->seg[X86_SEG_FS].base = 0x10000;
}

static const struct scase cases[] = {
    { "mov cr3,eax", P32, "0f22d8", X86EMU_OK, 0, X86_OP_MOV_TO_CR, 3, 3, 0, false, 0x1000, .xreg = -1 },
    { "mov cr0,ecx (32 bits)", P32, "0f22c1", X86EMU_OK, 0, X86_OP_MOV_TO_CR, 3, 0, 1, false, 0x2000, .xreg = -1 },
    { "mov cr4,rcx 64", L64, "0f22e1", X86EMU_OK, 0, X86_OP_MOV_TO_CR, 3, 4, 1, false, 0x1111111100002000ULL, .xreg = -1 },
    { "mov cr3,r9 (rex.b)", L64, "410f22d9", X86EMU_OK, 0, X86_OP_MOV_TO_CR, 4, 3, 9, false, 0x111111110000a000ULL, .xreg = -1 },
    { "mov cr8,rax (rex.r)", L64, "440f22c0", X86EMU_OK, 0, X86_OP_MOV_TO_CR, 4, 8, 0, false, 0x1000, .xreg = -1 },
    { "mov cr3 ignores mod bits", P32, "0f2218", X86EMU_OK, 0, X86_OP_MOV_TO_CR, 3, 3, 0, false, 0x1000, .xreg = -1 },
    { "mov edx,cr3 -> finish writes edx", P32, "0f20da", X86EMU_OK, 0, X86_OP_MOV_FROM_CR, 3, 3, 2, false,
      .finish_value = 0xabc000, .xreg = 2, .xregval = 0xabc000 },
    { "mov rdi,cr0 64", L64, "0f20c7", X86EMU_OK, 0, X86_OP_MOV_FROM_CR, 3, 0, 7, false,
      .finish_value = 0x80050033, .xreg = 7, .xregval = 0x80050033 },
    { "mov ebx,cr2 32 zero-extends", P32, "0f20d3", X86EMU_OK, 0, X86_OP_MOV_FROM_CR, 3, 2, 3, false,
      .finish_value = 0xffffffffdeadbeefULL, .xreg = 3, .xregval = 0xdeadbeef },
    { "mov cr3 at cpl3 -> #GP", P32, "0f22d8", X86EMU_FAULT, X86_EXC_GP, .cpl = 3 },
    { "mov cr5 -> #UD", P32, "0f22e8", X86EMU_FAULT, X86_EXC_UD },
    { "lock mov cr0 -> #UD", P32, "f00f22c0", X86EMU_FAULT, X86_EXC_UD },
    { "mov dr7,eax", P32, "0f23f8", X86EMU_OK, 0, X86_OP_MOV_TO_DR, 3, 7, 0, false, 0x1000, .xreg = -1 },
    { "clts", P32, "0f06", X86EMU_OK, 0, X86_OP_CLTS, 2, .xreg = -1 },
    { "lmsw ax", P32, "0f01f0", X86EMU_OK, 0, X86_OP_LMSW, 3, 0, 0, false, 0x1000, .xreg = -1 },
    { "lmsw cx (16 bits)", L64, "0f01f1", X86EMU_OK, 0, X86_OP_LMSW, 3, 0, 1, false, 0x2000, .xreg = -1 },
    { "lmsw [ebx] reads memory (ds base)", P32, "0f0133", X86EMU_OK, 0, X86_OP_LMSW, 3, 0, 0, true, 0x0031,
      0x4100, .xreg = -1 },
    { "smsw eax (32)", P32, "0f01e0", X86EMU_OK, 0, X86_OP_SMSW, 3, .finish_value = 0x80000011, .xreg = 0,
      .xregval = 0x80000011 },
    { "smsw ax (66)", P32, "660f01e0", X86EMU_OK, 0, X86_OP_SMSW, 4, .finish_value = 0x80000011, .xreg = 0,
      .xregval = 0x0011 },
    { "smsw [ebx+8]", P32, "0f016308", X86EMU_OK, 0, X86_OP_SMSW, 4, 0, 0, true, 0, 0x4108,
      .finish_value = 0x8005003b, .xreg = -1, .xmem_la = 0x4108, .xmem_len = 4, .xmem = 0x003b },
    { "invlpg [eax]", P32, "0f0138", X86EMU_OK, 0, X86_OP_INVLPG, 3, 0, 0, true, 0, 0x1100, .xreg = -1 },
    { "invlpg [ebx+ecx*4+0x10]", P32, "0f017c8b10", X86EMU_OK, 0, X86_OP_INVLPG, 5, 0, 0, true, 0,
      0x100 + 0x4000 + 0x2000 * 4 + 0x10, .xreg = -1 },
    { "invlpg [rbx] 64 (no ds base)", L64, "0f013b", X86EMU_OK, 0, X86_OP_INVLPG, 3, 0, 0, true, 0,
      0x1111111100004000ULL, .xreg = -1 },
    { "invlpg fs:[rax] 64", L64, "640f0138", X86EMU_OK, 0, X86_OP_INVLPG, 4, 0, 0, true, 0, 0x11000, .xreg = -1 },
    { "invlpg [rip+0x20]", L64, "0f013d20000000", X86EMU_OK, 0, X86_OP_INVLPG, 7, 0, 0, true, 0,
      0x100 + 7 + 0x20, .xreg = -1 },
    { "invlpg [bx+si] real", R16, "0f0138", X86EMU_OK, 0, X86_OP_INVLPG, 3, 0, 0, true, 0, 0x100 + 0x4000 + 0x7000,
      .xreg = -1 },
    { "invlpg cpl3 -> #GP", P32, "0f0138", X86EMU_FAULT, X86_EXC_GP, .cpl = 3 },
    { "invlpga 32", P32, "0f01df", X86EMU_OK, 0, X86_OP_INVLPGA, 3, 0, 0, false, 0, 0x1000, 0x2000, .xreg = -1 },
    { "invlpga 64", L64, "0f01df", X86EMU_OK, 0, X86_OP_INVLPGA, 3, 0, 0, false, 0, 0x1000, 0x2000, .xreg = -1 },
    { "invlpga 64 with 67: eax", L64, "670f01df", X86EMU_OK, 0, X86_OP_INVLPGA, 4, 0, 0, false, 0, 0x1000,
      0x2000, .xreg = -1 },
    { "cpuid len", P32, "0fa2", X86EMU_OK, 0, X86_OP_CPUID, 2, .xreg = -1 },
    { "hlt len", P32, "f4", X86EMU_OK, 0, X86_OP_HLT, 1, .xreg = -1 },
    { "vmmcall len", L64, "0f01d9", X86EMU_OK, 0, X86_OP_VMMCALL, 3, .xreg = -1 },
    { "rdmsr len", P32, "0f32", X86EMU_OK, 0, X86_OP_RDMSR, 2, .xreg = -1 },
    { "wrmsr len", P32, "0f30", X86EMU_OK, 0, X86_OP_WRMSR, 2, .xreg = -1 },
    { "out imm8 len", P32, "e6f4", X86EMU_OK, 0, X86_OP_OUT, 2, .xreg = -1 },
    { "rep insd len", P32, "f36d", X86EMU_OK, 0, X86_OP_INS, 2, .xreg = -1 },
    { "int 0x80 len", P32, "cd80", X86EMU_OK, 0, X86_OP_INT, 2, .xreg = -1 },
    { "iretq len", L64, "48cf", X86EMU_OK, 0, X86_OP_IRET, 2, .xreg = -1 },
    { "int3 len", L64, "cc", X86EMU_OK, 0, X86_OP_INT3, 1, .xreg = -1 },
    { "pause len", P32, "f390", X86EMU_OK, 0, X86_OP_PAUSE, 2, .xreg = -1 },
    { "vex unhandled", L64, "c5f877", X86EMU_UNHANDLED },
    { "fetch fault", P32, "", X86EMU_FAULT, X86_EXC_PF },
};

static void parse_hex(const char *s, uint8_t *out)
{
    while (*s) {
        unsigned v;
        sscanf(s, "%2x", &v);
        *out++ = (uint8_t)v;
        s += 2;
    }
}

START_TEST(table)
{
    const struct scase *t = &cases[_i];
    struct x86_regs r, before;
    regs(&r, t->mode);
    r.cpl = t->cpl;
    memset(mem, 0, sizeof(mem));
    absent_page = -1;
    uint64_t cs_la = r.rip;
    parse_hex(t->hex, mem + cs_la);
    if (!*t->hex)
        absent_page = 0;
    /* LMSW memory source */
    mem[0x4100] = 0x31;
    before = r;
    struct x86_emu_ctxt c = { .ops = &ops, .regs = &r, .mode = t->mode };
    struct x86_sysop op;
    int res = x86_decode_sys(&c, &op);
    ck_assert_msg(res == t->res, "%s: result %d, want %d", t->name, res, t->res);
    ck_assert_msg(!memcmp(&r, &before, sizeof(r)), "%s: decode changed registers", t->name);
    if (res == X86EMU_FAULT) {
        ck_assert_msg(c.fault.vector == t->vec, "%s: vector %u", t->name, c.fault.vector);
        return;
    }
    if (res != X86EMU_OK)
        return;
    ck_assert_msg(op.op == t->op, "%s: op %u, want %d", t->name, op.op, t->op);
    ck_assert_msg(op.len == t->len, "%s: len %u, want %u", t->name, op.len, t->len);
    if (t->op == X86_OP_MOV_TO_CR || t->op == X86_OP_MOV_FROM_CR || t->op == X86_OP_MOV_TO_DR) {
        ck_assert_msg(op.cr == t->cr, "%s: cr %u, want %u", t->name, op.cr, t->cr);
        ck_assert_msg(op.gpr == t->gpr, "%s: gpr %u, want %u", t->name, op.gpr, t->gpr);
    }
    ck_assert_msg(op.mem == t->mem, "%s: mem %d", t->name, op.mem);
    if (t->op == X86_OP_MOV_TO_CR || t->op == X86_OP_MOV_TO_DR || t->op == X86_OP_LMSW)
        ck_assert_msg(op.value == t->value, "%s: value %#llx, want %#llx", t->name,
                      (unsigned long long)op.value, (unsigned long long)t->value);
    if (t->op == X86_OP_INVLPG || t->op == X86_OP_INVLPGA || t->mem)
        ck_assert_msg(op.la == t->la, "%s: la %#llx, want %#llx", t->name, (unsigned long long)op.la,
                      (unsigned long long)t->la);
    if (t->op == X86_OP_INVLPGA)
        ck_assert_msg(op.asid == t->asid, "%s: asid %#x", t->name, op.asid);

    ck_assert_int_eq(x86_finish_sys(&c, &op, t->finish_value), X86EMU_OK);
    ck_assert_msg(r.rip == before.rip + t->len, "%s: rip %#llx", t->name, (unsigned long long)r.rip);
    ck_assert(!(r.rflags & X86_RFLAGS_RF));
    for (int g = 0; g < 16; g++) {
        uint64_t want = g == t->xreg ? t->xregval : before.gpr[g];
        ck_assert_msg(r.gpr[g] == want, "%s: gpr %d = %#llx, want %#llx", t->name, g,
                      (unsigned long long)r.gpr[g], (unsigned long long)want);
    }
    if (t->xmem_len) {
        uint64_t v = 0;
        memcpy(&v, mem + t->xmem_la, t->xmem_len);
        ck_assert_msg(v == t->xmem, "%s: mem %#llx", t->name, (unsigned long long)v);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("x86_sys");
    TCase *tc = tcase_create("sys");
    tcase_add_loop_test(tc, table, 0, ARRAY_SIZE(cases));
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
