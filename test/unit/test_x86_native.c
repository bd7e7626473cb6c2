/*
 * The emulator against the host CPU: random 64-bit-mode memory-operand
 * instructions from the page-table-writer set (MOV, ALU, XCHG, XADD,
 * CMPXCHG, CMPXCHG8B, BT*, INC/DEC/NOT/NEG, STOS/MOVS with REP, with 66/67/
 * REX/LOCK prefixes and every ModRM/SIB form except RIP-relative) run once
 * natively (a trampoline loads the register file, calls the instruction,
 * stores the register file) and once through x86_emulate() on a copy of
 * the memory.  Registers, defined status flags and memory must agree.
 * Guest linear addresses are host addresses (buffers below 2 GiB so that
 * 67-prefixed and absolute-disp32 forms reach them).
 */
#define _GNU_SOURCE
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <umbra/x86emu.h>
#include <umbra/x86.h>

#if !defined(__x86_64__)
#error "this differential test runs on an x86-64 host"
#endif

struct hcpu { uint64_t gpr[16]; uint64_t rflags; };
struct hcpu *x86t_ctx;
void *x86t_code;
void x86t_run(void);

#define LD(n) " mov " #n "*8(%rax), "
#define ST(n) ", " #n "*8(%rax)\n"
__asm__(
    ".text\n.globl x86t_run\n.type x86t_run,@function\nx86t_run:\n"
    " push %rbx\n push %rbp\n push %r12\n push %r13\n push %r14\n push %r15\n"
    " mov x86t_ctx(%rip), %rax\n"
    " pushq 16*8(%rax)\n popfq\n"
    LD(1) "%rcx\n" LD(2) "%rdx\n" LD(3) "%rbx\n" LD(5) "%rbp\n" LD(6) "%rsi\n" LD(7) "%rdi\n"
    LD(8) "%r8\n" LD(9) "%r9\n" LD(10) "%r10\n" LD(11) "%r11\n" LD(12) "%r12\n" LD(13) "%r13\n"
    LD(14) "%r14\n" LD(15) "%r15\n" LD(0) "%rax\n"
    " call *x86t_code(%rip)\n"
    " pushfq\n push %rax\n mov x86t_ctx(%rip), %rax\n popq 0(%rax)\n popq 16*8(%rax)\n"
    " mov %rcx" ST(1) " mov %rdx" ST(2) " mov %rbx" ST(3) " mov %rbp" ST(5) " mov %rsi" ST(6)
    " mov %rdi" ST(7) " mov %r8" ST(8) " mov %r9" ST(9) " mov %r10" ST(10) " mov %r11" ST(11)
    " mov %r12" ST(12) " mov %r13" ST(13) " mov %r14" ST(14) " mov %r15" ST(15)
    " cld\n pop %r15\n pop %r14\n pop %r13\n pop %r12\n pop %rbp\n pop %rbx\n ret\n"
    ".size x86t_run, .-x86t_run\n");

#define BUFSZ 0x4000u
static uint8_t *nbuf, *ebuf, *code;

static uint64_t rng = 0x13198a2e03707344ULL;
static uint64_t rnd(void)
{
    rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
    return rng;
}
static unsigned rn(unsigned n) { return (unsigned)(rnd() % n); }

static uint8_t *emu_ptr(uint64_t la, unsigned len)
{
    uint64_t b = (uint64_t)(uintptr_t)nbuf;
    if (la < b || la + len > b + BUFSZ)
        return NULL;
    return ebuf + (la - b);
}
static int rd(struct x86_emu_ctxt *c, uint64_t la, void *d, unsigned n, uint32_t pfec, struct x86_fault *f)
{
    (void)c; (void)pfec;
    uint8_t *p = emu_ptr(la, n);
    if (!p) { f->vector = 0xff; return X86EMU_FAULT; }
    memcpy(d, p, n);
    return X86EMU_OK;
}
static int wr(struct x86_emu_ctxt *c, uint64_t la, const void *s, unsigned n, uint32_t pfec, struct x86_fault *f)
{
    (void)c; (void)pfec;
    uint8_t *p = emu_ptr(la, n);
    if (!p) { f->vector = 0xff; return X86EMU_FAULT; }
    memcpy(p, s, n);
    return X86EMU_OK;
}
static int cx(struct x86_emu_ctxt *c, uint64_t la, void *old, const void *new, unsigned n, uint32_t pfec,
              struct x86_fault *f)
{
    (void)c; (void)pfec;
    uint8_t *p = emu_ptr(la, n);
    if (!p) { f->vector = 0xff; return X86EMU_FAULT; }
    if (!memcmp(p, old, n)) memcpy(p, new, n); else memcpy(old, p, n);
    return X86EMU_OK;
}

/* Templates: opcode bytes (after prefixes), kind, and which flags are defined. */
enum { K_RM, K_RM_IMM8, K_RM_IMMZ, K_STRING };
struct tmpl {
    const char *name;
    uint8_t op[2]; unsigned oplen;
    int reg;              /* fixed ModRM.reg (group), -1 = a register operand */
    unsigned kind;
    bool byte, lockable, bt_reg, writes_reg;
    uint64_t defined;     /* status flags compared */
};
#define ALLF 0x8d5ULL
#define LOGF (ALLF & ~X86_RFLAGS_AF)
#define BTF  (X86_RFLAGS_CF)
static const struct tmpl tmpls[] = {
    { "mov r/m,r", {0x89}, 1, -1, K_RM, false, false, false, false, ALLF },
    { "mov r/m8,r8", {0x88}, 1, -1, K_RM, true, false, false, false, ALLF },
    { "mov r,r/m", {0x8b}, 1, -1, K_RM, false, false, false, true, ALLF },
    { "mov r8,r/m8", {0x8a}, 1, -1, K_RM, true, false, false, true, ALLF },
    { "mov r/m,imm", {0xc7}, 1, 0, K_RM_IMMZ, false, false, false, false, ALLF },
    { "mov r/m8,imm8", {0xc6}, 1, 0, K_RM_IMM8, true, false, false, false, ALLF },
    { "add r/m,r", {0x01}, 1, -1, K_RM, false, true, false, false, ALLF },
    { "or r/m8,r8", {0x08}, 1, -1, K_RM, true, true, false, false, LOGF },
    { "adc r/m,r", {0x11}, 1, -1, K_RM, false, true, false, false, ALLF },
    { "sbb r/m,r", {0x19}, 1, -1, K_RM, false, true, false, false, ALLF },
    { "and r/m,r", {0x21}, 1, -1, K_RM, false, true, false, false, LOGF },
    { "sub r/m,r", {0x29}, 1, -1, K_RM, false, true, false, false, ALLF },
    { "xor r/m,r", {0x31}, 1, -1, K_RM, false, true, false, false, LOGF },
    { "cmp r/m,r", {0x39}, 1, -1, K_RM, false, false, false, false, ALLF },
    { "add r,r/m", {0x03}, 1, -1, K_RM, false, false, false, true, ALLF },
    { "sub r8,r/m8", {0x2a}, 1, -1, K_RM, true, false, false, true, ALLF },
    { "grp1 r/m,imm", {0x81}, 1, 8, K_RM_IMMZ, false, true, false, false, ALLF },
    { "grp1 r/m,imm8s", {0x83}, 1, 8, K_RM_IMM8, false, true, false, false, ALLF },
    { "grp1 r/m8,imm8", {0x80}, 1, 8, K_RM_IMM8, true, true, false, false, ALLF },
    { "xchg r/m,r", {0x87}, 1, -1, K_RM, false, true, false, true, ALLF },
    { "xchg r/m8,r8", {0x86}, 1, -1, K_RM, true, true, false, true, ALLF },
    { "xadd r/m,r", {0x0f, 0xc1}, 2, -1, K_RM, false, true, false, true, ALLF },
    { "cmpxchg r/m,r", {0x0f, 0xb1}, 2, -1, K_RM, false, true, false, true, ALLF },
    { "cmpxchg r/m8,r8", {0x0f, 0xb0}, 2, -1, K_RM, true, true, false, true, ALLF },
    { "cmpxchg8b", {0x0f, 0xc7}, 2, 1, K_RM, false, true, false, false, X86_RFLAGS_ZF },
    { "bt r/m,r", {0x0f, 0xa3}, 2, -1, K_RM, false, false, true, false, BTF },
    { "bts r/m,r", {0x0f, 0xab}, 2, -1, K_RM, false, true, true, false, BTF },
    { "btr r/m,r", {0x0f, 0xb3}, 2, -1, K_RM, false, true, true, false, BTF },
    { "btc r/m,r", {0x0f, 0xbb}, 2, -1, K_RM, false, true, true, false, BTF },
    { "bt* r/m,imm8", {0x0f, 0xba}, 2, 9, K_RM_IMM8, false, true, false, false, BTF },
    { "inc/dec r/m", {0xff}, 1, 10, K_RM, false, true, false, false, ALLF },
    { "inc/dec r/m8", {0xfe}, 1, 10, K_RM, true, true, false, false, ALLF },
    { "not/neg r/m", {0xf7}, 1, 11, K_RM, false, true, false, false, ALLF },
    { "stos", {0xab}, 1, 0, K_STRING, false, false, false, false, ALLF },
    { "stosb", {0xaa}, 1, 0, K_STRING, true, false, false, false, ALLF },
    { "movs", {0xa5}, 1, 0, K_STRING, false, false, false, false, ALLF },
    { "movsb", {0xa4}, 1, 0, K_STRING, true, false, false, false, ALLF },
};

/* Build one instruction and the registers it needs; returns its length. */
static unsigned build(const struct tmpl *t, uint8_t *b, struct hcpu *cpu, bool *adsz32)
{
    unsigned n = 0;
    uint64_t mid = (uint64_t)(uintptr_t)nbuf + BUFSZ / 2;
    for (int i = 0; i < 16; i++)
        cpu->gpr[i] = rnd() >> rn(64);
    cpu->rflags = X86_RFLAGS_FIXED | (rnd() & ALLF);
    bool p66 = !t->byte && rn(4) == 0, p67 = rn(4) == 0, lock = t->lockable && rn(2);
    uint8_t rex = rn(2) ? 0x40 | rn(16) : 0;
    if (t->reg == 1)            /* cmpxchg8b: no REX.W (16B needs alignment), no 66 */
        rex &= ~8, p66 = false;
    if (t->kind == K_STRING) {
        lock = false;
        rex &= 8;
        if (rex) rex |= 0x40;
        if (rn(2)) b[n++] = 0xf3;
    }
    if (lock) b[n++] = 0xf0;
    if (p66) b[n++] = 0x66;
    if (p67) b[n++] = 0x67;
    *adsz32 = p67;
    if (rex) b[n++] = rex;
    memcpy(b + n, t->op, t->oplen);
    n += t->oplen;
    if (t->kind == K_STRING) {
        cpu->gpr[X86_RCX] = rn(24);
        cpu->gpr[X86_RDI] = mid - 0x200 + rn(0x400);
        cpu->gpr[X86_RSI] = mid - 0x200 + rn(0x400);
        if (rn(2)) cpu->rflags |= X86_RFLAGS_DF;
        return n;
    }

    /* ModRM: a memory form (no RIP-relative), base/index not RSP as a value */
    unsigned mod = rn(3), reg, rm = rn(8), base = 0, index = 4, scale = rn(4);
    if (t->reg >= 0 && t->reg < 8) reg = t->reg;
    else if (t->reg == 8) reg = rn(8);
    else if (t->reg == 9) reg = 4 + rn(4);
    else if (t->reg == 10) reg = rn(2);
    else if (t->reg == 11) reg = 2 + rn(2);
    else {
        do reg = rn(8);
        while (!t->byte && reg == 4 && !(rex & 4));   /* not RSP (AH is fine) */
    }
    if (lock && ((t->reg == 8 && reg == 7) || (t->reg == 9 && reg == 4)))
        return 0;                                   /* LOCK CMP / LOCK BT: #UD natively */
    unsigned regx = reg | ((rex & 4) << 1);
    if (t->byte && !(rex) && reg == 4)
        regx = 4;   /* AH: rsp untouched (reads/writes bits 15:8 of rax) */
    if (t->reg < 0 && regx == 4 && (!t->byte || rex))
        return 0;                                   /* RSP / SPL: the host's stack pointer */
    b[n++] = (uint8_t)(mod << 6 | reg << 3 | rm);
    int breg = -1, ireg = -1;
    int64_t disp = 0;
    if (rm == 4) {
        base = rn(8);
        do index = rn(8); while (0);
        unsigned bx = base | ((rex & 1) << 3), ix = index | ((rex & 2) << 2);
        if (bx == 4) return 0;                      /* RSP base */
        b[n++] = (uint8_t)(scale << 6 | index << 3 | base);
        if (base == 5 && mod == 0) { breg = -1; mod = 4; }  /* no base, disp32 */
        else breg = (int)bx;
        ireg = ix == 4 ? -1 : (int)ix;
    } else if (rm == 5 && mod == 0) {
        return 0;                                   /* RIP-relative: skip */
    } else {
        breg = (int)(rm | ((rex & 1) << 3));
    }
    if (ireg >= 0 && ireg == breg) return 0;
    /* registers for the address; the reg operand must not alias them */
    int64_t ival = (int64_t)rn(16) - 8;
    if (mod == 1) disp = (int8_t)rn(256);
    else if (mod == 2) disp = (int64_t)rn(0x400) - 0x200;
    uint64_t target = mid - 0x400 + rn(0x800);
    uint64_t sum = target - disp - (ireg >= 0 ? (uint64_t)ival * (1u << scale) : 0);
    if (mod == 4) {
        disp = (int64_t)sum;
        if (ireg >= 0) { /* keep index: disp absorbs it */ }
    }
    if (breg >= 0) cpu->gpr[breg] = sum;
    if (ireg >= 0) cpu->gpr[ireg] = (uint64_t)ival;
    if (p67 && breg >= 0) cpu->gpr[breg] |= rnd() << 32;   /* 67 must drop the high half */
    if (t->reg < 0 && (regx == (unsigned)breg || regx == (unsigned)ireg) && !(t->byte && !rex && reg >= 4))
        return 0;
    if (t->byte && !rex && reg >= 4 && ((int)(reg - 4) == breg || (int)(reg - 4) == ireg) && t->writes_reg)
        return 0;
    if (t->bt_reg)
        cpu->gpr[regx] = (uint64_t)((int64_t)rn(1024) - 512);
    if (t->reg == 1 || t->writes_reg)   /* implicit/explicit register results must not move the address */
        for (int g = 0; g < 4; g++)
            if (g == breg || g == ireg) return 0;
    if (mod == 1) b[n++] = (uint8_t)disp;
    else if (mod == 2 || mod == 4) { int32_t d = (int32_t)disp; memcpy(b + n, &d, 4); n += 4; }
    if (mod == 4 && (uint64_t)(int64_t)(int32_t)disp != (uint64_t)disp) return 0;
    if (t->kind == K_RM_IMM8) b[n++] = (uint8_t)rnd();
    if (t->kind == K_RM_IMMZ) { unsigned k = (p66 && !(rex & 8)) ? 2 : 4; uint32_t v = (uint32_t)rnd(); memcpy(b + n, &v, k); n += k; }
    return n;
}

START_TEST(native_vs_emulated)
{
    nbuf = mmap(NULL, BUFSZ, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
    code = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
    ck_assert_ptr_ne(nbuf, MAP_FAILED);
    ck_assert_ptr_ne(code, MAP_FAILED);
    ebuf = malloc(BUFSZ);
    static const struct x86_emu_ops ops_cx = { rd, wr, cx, NULL }, ops_plain = { rd, wr, NULL, NULL };
    unsigned done = 0, per[ARRAY_SIZE(tmpls)] = { 0 };
    for (unsigned iter = 0; done < 60000 && iter < 400000; iter++) {
        unsigned ti = rn(ARRAY_SIZE(tmpls));
        const struct tmpl *t = &tmpls[ti];
        uint8_t b[16];
        struct hcpu in, nat;
        bool a32;
        unsigned len = build(t, b, &in, &a32);
        if (!len)
            continue;
        for (unsigned k = 0; k < BUFSZ; k++)
            nbuf[k] = (uint8_t)rnd();
        /* make compares succeed half of the time */
        if (t->oplen == 2 && (t->op[1] == 0xb1 || t->op[1] == 0xb0 || t->op[1] == 0xc7) && rn(2)) {
            struct x86_insn di;
            struct x86_regs tr = { 0 };
            memcpy(tr.gpr, in.gpr, sizeof(tr.gpr));
            if (x86_decode(b, len, X86_MODE_LONG64, &di) == X86_DECODE_OK && di.mem) {
                uint64_t ea = x86_insn_ea(&di, &tr);
                uint8_t *p = emu_ptr(ea, 8);
                if (p) {
                    p = nbuf + (p - ebuf);
                    if (t->op[1] == 0xc7) {
                        uint32_t lo = (uint32_t)in.gpr[X86_RAX], hi = (uint32_t)in.gpr[X86_RDX];
                        memcpy(p, &lo, 4); memcpy(p + 4, &hi, 4);
                    } else {
                        memcpy(p, &in.gpr[X86_RAX], di.opsize);
                    }
                }
            }
        }
        memcpy(ebuf, nbuf, BUFSZ);
        memcpy(code, b, len);
        code[len] = 0xc3;
        if (getenv("X86T_TRACE")) { for (unsigned k = 0; k < len; k++) fprintf(stderr, "%02x ", b[k]); fprintf(stderr, "| %s\n", t->name); }
        nat = in;
        x86t_ctx = &nat;
        x86t_code = code;
        x86t_run();

        struct x86_regs r = { 0 };
        memcpy(r.gpr, in.gpr, sizeof(r.gpr));
        r.rflags = in.rflags;
        r.rip = (uint64_t)(uintptr_t)code;
        r.seg[X86_SEG_CS].attr = 0x29b;
        struct x86_emu_ctxt c = { .ops = rn(2) ? &ops_cx : &ops_plain, .regs = &r, .mode = X86_MODE_LONG64,
                                  .insn_avail = len };
        memcpy(c.insn_bytes, b, len);
        int res = x86_emulate(&c);
        char hex[64] = "";
        for (unsigned k = 0; k < len; k++)
            sprintf(hex + 3 * k, "%02x ", b[k]);
        ck_assert_msg(res == X86EMU_OK, "%s [%s]: result %d (vector %u)", t->name, hex, res, c.fault.vector);
        if (r.rip != (uint64_t)(uintptr_t)code + len) {
            /* REP that ran to a page end: finish it like the guest would */
            for (int k = 0; k < 8 && res == X86EMU_OK && r.rip == (uint64_t)(uintptr_t)code; k++)
                res = x86_emulate(&c);
        }
        ck_assert_msg(r.rip == (uint64_t)(uintptr_t)code + len, "%s [%s]: rip", t->name, hex);
        for (int g = 0; g < 16; g++)
            ck_assert_msg(r.gpr[g] == nat.gpr[g], "%s [%s]: gpr %d emu %#llx native %#llx", t->name, hex, g,
                          (unsigned long long)r.gpr[g], (unsigned long long)nat.gpr[g]);
        ck_assert_msg((r.rflags & t->defined) == (nat.rflags & t->defined), "%s [%s]: flags emu %#llx native %#llx",
                      t->name, hex, (unsigned long long)r.rflags, (unsigned long long)nat.rflags);
        ck_assert_msg(!memcmp(ebuf, nbuf, BUFSZ), "%s [%s]: memory differs", t->name, hex);
        done++;
        per[ti]++;
    }
    printf("native vs emulated: %u instructions\n", done);
    ck_assert_uint_ge(done, 60000);
    for (unsigned i = 0; i < ARRAY_SIZE(tmpls); i++)
        ck_assert_msg(per[i] > 200, "%s: only %u runs", tmpls[i].name, per[i]);
}
END_TEST

int main(void)
{
    const char *seed = getenv("UMBRA_X86_SEED");
    if (seed)
        rng = strtoull(seed, NULL, 0) | 1;
    Suite *s = suite_create("x86_native");
    TCase *tc = tcase_create("native");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, native_vs_emulated);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
