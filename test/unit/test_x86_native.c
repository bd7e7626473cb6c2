/*
 * The emulator against the host CPU: random 64-bit-mode memory-operand
 * instructions from the page-table-writer set (MOV, ALU, XCHG, XADD,
 * CMPXCHG, CMPXCHG8B, BT*, INC/DEC/NOT/NEG, STOS/MOVS with REP, with 66/67/
 * REX/LOCK prefixes and every ModRM/SIB form except RIP-relative) run once
 * natively (a trampoline loads the register file, calls the instruction,
 * stores the register file) and once through x86_emulate() on a copy of
 * the memory.  Registers, defined status flags and memory must agree.
 * Guest linear addresses are host addresses (the buffer sits below 64 KiB
 * so that 67-prefixed 16-bit and absolute-disp32 forms reach it).  64-bit
 * code runs in place; 32-bit code in the host's compatibility mode.
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

/*
 * 32-bit code runs in the host's compatibility mode: x86t_run32 switches to
 * a stack in the low page and far-returns to the 32-bit user code segment
 * (0x23 on Linux); the stub (copied to LOW) loads the registers from the
 * context at LOW+0x400, calls the instruction at LOW+0x800, stores the
 * registers and far-returns to 64-bit code (0x33), which jumps back here.
 * Everything the 32-bit side touches is at fixed low addresses.
 */
#define LOW       0x20000u
#define LOW_CTX   (LOW + 0x400)   /* u32 gpr[8], +0x20 eflags, +0x30 call target, +0x38 u64 return */
#define LOW_CODE  (LOW + 0x800)
#define LOW_STACK (LOW + 0x2000)
uint64_t x86t_saved_rsp;
void x86t_run32(void);
extern char x86t_stub32[], x86t_stub32_end[], x86t_back64[];
#define S32(x) #x
__asm__(
    ".text\n.globl x86t_run32\n.type x86t_run32,@function\nx86t_run32:\n"
    " push %rbx\n push %rbp\n push %r12\n push %r13\n push %r14\n push %r15\n"
    " mov %rsp, x86t_saved_rsp(%rip)\n mov $0x22000, %esp\n pushq $0x23\n pushq $0x20000\n lretq\n"
    ".globl x86t_back64\nx86t_back64:\n mov x86t_saved_rsp(%rip), %rsp\n cld\n"
    " pop %r15\n pop %r14\n pop %r13\n pop %r12\n pop %rbp\n pop %rbx\n ret\n"
    ".size x86t_run32, .-x86t_run32\n"
    ".globl x86t_stub32, x86t_stub32_end\n.code32\nx86t_stub32:\n"
    " mov %ss, %ax\n mov %ax, %ds\n mov %ax, %es\n"
    " pushl 0x20420\n popfl\n"
    " mov 0x20404, %ecx\n mov 0x20408, %edx\n mov 0x2040c, %ebx\n mov 0x20414, %ebp\n"
    " mov 0x20418, %esi\n mov 0x2041c, %edi\n mov 0x20400, %eax\n"
    " call *0x20430\n"
    " pushfl\n popl 0x20420\n"
    " mov %eax, 0x20400\n mov %ecx, 0x20404\n mov %edx, 0x20408\n mov %ebx, 0x2040c\n"
    " mov %ebp, 0x20414\n mov %esi, 0x20418\n mov %edi, 0x2041c\n"
    " pushl $0x33\n pushl $(0x20000 + 1f - x86t_stub32)\n lret\n"
    ".code64\n1: jmp *0x20438\n"
    "x86t_stub32_end:\n");

static void run32(struct hcpu *cpu)
{
    uint32_t *ctx = (uint32_t *)(uintptr_t)LOW_CTX;
    for (int i = 0; i < 8; i++)
        ctx[i] = (uint32_t)cpu->gpr[i];
    ctx[8] = (uint32_t)cpu->rflags;
    ctx[12] = LOW_CODE;
    uint64_t back = (uint64_t)(uintptr_t)x86t_back64;
    memcpy((uint8_t *)(uintptr_t)LOW_CTX + 0x38, &back, 8);
    x86t_run32();
    for (int i = 0; i < 8; i++)
        if (i != X86_RSP)
            cpu->gpr[i] = ctx[i];
    cpu->rflags = ctx[8];
}

#define NBUF  0x6000u   /* below 64 KiB, so 16-bit addressing reaches it */
#define NBUF_HIGH 0x30000u
static bool no_a16;
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

/*
 * Build one instruction and the registers it needs; returns its length, 0
 * to skip a combination the host cannot run (RSP as data, LOCK CMP, ...).
 * m32: 32-bit code (no REX; 67 gives 16-bit addressing).
 */
static unsigned build(const struct tmpl *t, uint8_t *b, struct hcpu *cpu, bool m32)
{
    unsigned n = 0;
    uint64_t mid = (uint64_t)(uintptr_t)nbuf + BUFSZ / 2;
    for (int i = 0; i < 16; i++)
        cpu->gpr[i] = rnd() >> rn(64);
    cpu->rflags = X86_RFLAGS_FIXED | (rnd() & ALLF);
    bool p66 = !t->byte && rn(4) == 0, p67 = rn(4) == 0 && !(m32 && no_a16), lock = t->lockable && rn(2);
    uint8_t rex = !m32 && rn(2) ? 0x40 | rn(16) : 0;
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
    if (rex) b[n++] = rex;
    memcpy(b + n, t->op, t->oplen);
    n += t->oplen;
    bool a16 = m32 && p67;
    if (t->kind == K_STRING) {
        uint64_t hi = a16 ? (rnd() << 16) : 0;    /* 16-bit addressing ignores these */
        cpu->gpr[X86_RCX] = hi | rn(24);
        cpu->gpr[X86_RDI] = hi | (mid - 0x200 + rn(0x400));
        cpu->gpr[X86_RSI] = hi | (mid - 0x200 + rn(0x400));
        if (rn(2)) cpu->rflags |= X86_RFLAGS_DF;
        /* Overlapping MOVS: the host here was seen to copy in blocks, not
         * element by element as the manual defines (test_x86_emulate checks
         * the architectural result), so keep source and destination apart. */
        uint64_t d = (cpu->gpr[X86_RDI] - cpu->gpr[X86_RSI]) & 0xffff;
        if (t->op[0] == 0xa4 || t->op[0] == 0xa5)
            if (d < 8 * 24 || 0x10000 - d < 8 * 24)
                cpu->gpr[X86_RSI] ^= 0x400;
        return n;
    }

    /* ModRM.reg */
    unsigned mod = rn(3), reg, rm = rn(8), scale = rn(4);
    if (t->reg >= 0 && t->reg < 8) reg = t->reg;
    else if (t->reg == 8) reg = rn(8);
    else if (t->reg == 9) reg = 4 + rn(4);
    else if (t->reg == 10) reg = rn(2);
    else if (t->reg == 11) reg = 2 + rn(2);
    else reg = rn(8);
    if (lock && ((t->reg == 8 && reg == 7) || (t->reg == 9 && reg == 4)))
        return 0;                                   /* LOCK CMP / LOCK BT: #UD natively */
    unsigned regx = reg | ((rex & 4) << 1);
    if (t->reg < 0 && regx == 4 && (!t->byte || rex))
        return 0;                                   /* RSP / SPL: the host's stack pointer */
    b[n++] = 0;                                     /* ModRM, filled below */
    unsigned at = n - 1;

    /* r/m: a memory form; pick the address registers so the operand lands in nbuf */
    int breg = -1, ireg = -1;
    int64_t disp = 0;
    unsigned dsz = 0;
    uint64_t target = mid - 0x400 + rn(0x800);
    if (a16) {
        static const int8_t b16[8] = { X86_RBX, X86_RBX, X86_RBP, X86_RBP, X86_RSI, X86_RDI, X86_RBP, X86_RBX };
        static const int8_t i16[8] = { X86_RSI, X86_RDI, X86_RSI, X86_RDI, -1, -1, -1, -1 };
        breg = b16[rm];
        ireg = i16[rm];
        dsz = mod == 1 ? 1 : mod == 2 ? 2 : 0;
        if (mod == 0 && rm == 6) { breg = -1; dsz = 2; }
        disp = dsz == 1 ? (int8_t)rn(256) : dsz == 2 ? (int16_t)rn(65536) : 0;
        if (breg < 0) disp = (int64_t)target;
        uint64_t iv = rn(0x10000);
        uint64_t bv = (target - (uint64_t)disp - (ireg >= 0 ? iv : 0)) & 0xffff;
        if (breg >= 0) cpu->gpr[breg] = (rnd() << 16) | bv;      /* high bits ignored */
        if (ireg >= 0) cpu->gpr[ireg] = (rnd() << 16) | iv;
    } else {
        unsigned index = 4, base = 0;
        if (rm == 4) {
            base = rn(8);
            index = rn(8);
            unsigned bx = base | ((rex & 1) << 3), ix = index | ((rex & 2) << 2);
            if (bx == 4) return 0;                  /* RSP base */
            b[n++] = (uint8_t)(scale << 6 | index << 3 | base);
            if (base == 5 && mod == 0) { breg = -1; dsz = 4; }
            else breg = (int)bx;
            ireg = ix == 4 ? -1 : (int)ix;
        } else if (rm == 5 && mod == 0) {
            if (!m32) return 0;                     /* RIP-relative: skip */
            dsz = 4;                                /* 32-bit: absolute disp32 */
        } else {
            breg = (int)(rm | ((rex & 1) << 3));
        }
        if (ireg >= 0 && ireg == breg) return 0;
        if (mod == 1) dsz = 1;
        if (mod == 2) dsz = 4;
        disp = dsz == 1 ? (int8_t)rn(256) : dsz == 4 ? (int64_t)rn(0x400) - 0x200 : 0;
        int64_t ival = (int64_t)rn(16) - 8;
        uint64_t sum = target - (uint64_t)disp - (ireg >= 0 ? (uint64_t)ival * (1u << scale) : 0);
        if (breg < 0) { disp += (int64_t)sum; sum = 0; }
        if (breg >= 0) cpu->gpr[breg] = sum;
        if (ireg >= 0) cpu->gpr[ireg] = (uint64_t)ival;
        if ((p67 || m32) && breg >= 0) cpu->gpr[breg] |= rnd() << 32;   /* 32-bit addressing drops these */
    }
    b[at] = (uint8_t)(mod << 6 | reg << 3 | rm);

    /* the register operand must not alias the address registers when it is written or is BT's offset */
    bool hi8 = t->byte && !rex && reg >= 4;          /* AH..BH live in RAX..RBX */
    unsigned rreg = hi8 ? reg - 4 : regx;
    if (t->reg < 0 && (t->writes_reg || t->bt_reg) && ((int)rreg == breg || (int)rreg == ireg))
        return 0;
    if (t->bt_reg)
        cpu->gpr[regx] = (uint64_t)((int64_t)rn(1024) - 512);
    if (t->reg == 1 || t->writes_reg)   /* implicit RAX/RDX results must not move the address */
        for (int g = 0; g < 4; g++)
            if (g == breg || g == ireg) return 0;
    if (dsz == 1) b[n++] = (uint8_t)disp;
    else if (dsz == 2) { int16_t d = (int16_t)disp; memcpy(b + n, &d, 2); n += 2; }
    else if (dsz == 4) {
        if ((uint64_t)(int64_t)(int32_t)disp != (uint64_t)disp) return 0;
        int32_t d = (int32_t)disp; memcpy(b + n, &d, 4); n += 4;
    }
    if (t->kind == K_RM_IMM8) b[n++] = (uint8_t)rnd();
    if (t->kind == K_RM_IMMZ) { unsigned k = (p66 && !(rex & 8)) ? 2 : 4; uint32_t v = (uint32_t)rnd(); memcpy(b + n, &v, k); n += k; }
    return n;
}

static void setup(void)
{
    if (nbuf)
        return;
    nbuf = mmap((void *)(uintptr_t)NBUF, BUFSZ, PROT_READ | PROT_WRITE,
                MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (nbuf != (void *)(uintptr_t)NBUF) {
        /* vm.mmap_min_addr above 0x6000 (65536 on many distributions): the
         * buffer goes above 64 KiB and 67-prefixed 32-bit code (16-bit
         * addressing) is left to test_x86_emulate's table. */
        nbuf = mmap((void *)(uintptr_t)NBUF_HIGH, BUFSZ, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
        ck_assert_ptr_eq(nbuf, (void *)(uintptr_t)NBUF_HIGH);
        no_a16 = true;
        printf("native: buffer above 64 KiB, 16-bit addressing not run natively\n");
    }
    uint8_t *low = mmap((void *)(uintptr_t)LOW, 0x2000, PROT_READ | PROT_WRITE | PROT_EXEC,
                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    ck_assert_ptr_eq(low, (void *)(uintptr_t)LOW);
    memcpy(low, x86t_stub32, x86t_stub32_end - x86t_stub32);
    code = (uint8_t *)(uintptr_t)LOW_CODE;
    ebuf = malloc(BUFSZ);
}

static void differential(bool m32, unsigned want)
{
    static const struct x86_emu_ops ops_cx = { rd, wr, cx, NULL }, ops_plain = { rd, wr, NULL, NULL };
    enum x86_cpu_mode mode = m32 ? X86_MODE_PROT32 : X86_MODE_LONG64;
    uint64_t cmpmask = m32 ? 0xffffffffu : ~0ULL;
    unsigned done = 0, per[ARRAY_SIZE(tmpls)] = { 0 };
    setup();
    for (unsigned iter = 0; done < want && iter < 20 * want; iter++) {
        unsigned ti = rn(ARRAY_SIZE(tmpls));
        const struct tmpl *t = &tmpls[ti];
        uint8_t b[16];
        struct hcpu in, nat;
        unsigned len = build(t, b, &in, m32);
        if (!len)
            continue;
        for (unsigned k = 0; k < BUFSZ; k++)
            nbuf[k] = (uint8_t)rnd();
        /* make compares succeed half of the time */
        if (t->oplen == 2 && (t->op[1] == 0xb1 || t->op[1] == 0xb0 || t->op[1] == 0xc7) && rn(2)) {
            struct x86_insn di;
            struct x86_regs tr = { 0 };
            memcpy(tr.gpr, in.gpr, sizeof(tr.gpr));
            if (x86_decode(b, len, mode, &di) == X86_DECODE_OK && di.mem) {
                uint8_t *p = emu_ptr(x86_insn_ea(&di, &tr), 8);
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
        if (getenv("X86T_TRACE")) {
            for (unsigned k = 0; k < len; k++) fprintf(stderr, "%02x ", b[k]);
            fprintf(stderr, "| %s%s\n", t->name, m32 ? " (32)" : "");
        }
        nat = in;
        if (m32) {
            run32(&nat);
        } else {
            x86t_ctx = &nat;
            x86t_code = code;
            x86t_run();
        }

        struct x86_regs r = { 0 };
        memcpy(r.gpr, in.gpr, sizeof(r.gpr));
        r.rflags = in.rflags;
        r.rip = (uint64_t)(uintptr_t)code;
        for (int sg = 0; sg < X86_NR_SEGS; sg++) {
            r.seg[sg].limit = 0xffffffffu;
            r.seg[sg].attr = 0xc93;
        }
        r.seg[X86_SEG_CS].attr = m32 ? 0xc9b : 0x29b;
        struct x86_emu_ctxt c = { .ops = rn(2) ? &ops_cx : &ops_plain, .regs = &r, .mode = mode,
                                  .insn_avail = len };
        memcpy(c.insn_bytes, b, len);
        int res = x86_emulate(&c);
        char hex[64] = "";
        for (unsigned k = 0; k < len; k++)
            sprintf(hex + 3 * k, "%02x ", b[k]);
        const char *mn = m32 ? "32" : "64";
        ck_assert_msg(res == X86EMU_OK, "%s %s [%s]: result %d (vector %u)", mn, t->name, hex, res, c.fault.vector);
        /* a REP that ran to a page end: finish it as the re-executing guest would */
        for (int k = 0; k < 8 && res == X86EMU_OK && r.rip == (uint64_t)(uintptr_t)code; k++)
            res = x86_emulate(&c);
        ck_assert_msg(r.rip == (uint64_t)(uintptr_t)code + len, "%s %s [%s]: rip", mn, t->name, hex);
        for (int g = 0; g < (m32 ? 8 : 16); g++)
            if (g != X86_RSP)
                ck_assert_msg((r.gpr[g] & cmpmask) == (nat.gpr[g] & cmpmask),
                              "%s %s [%s]: gpr %d emu %#llx native %#llx", mn, t->name, hex, g,
                              (unsigned long long)r.gpr[g], (unsigned long long)nat.gpr[g]);
        ck_assert_msg((r.rflags & t->defined) == (nat.rflags & t->defined), "%s %s [%s]: flags emu %#llx native %#llx",
                      mn, t->name, hex, (unsigned long long)r.rflags, (unsigned long long)nat.rflags);
        if (memcmp(ebuf, nbuf, BUFSZ)) {
            unsigned k = 0;
            while (ebuf[k] == nbuf[k]) k++;
            if (getenv("X86T_TRACE"))
                for (unsigned j = k - 3; j < k + 24 && j < BUFSZ; j++)
                    fprintf(stderr, "%#x: emu %02x native %02x\n", (unsigned)(uintptr_t)nbuf + j, ebuf[j], nbuf[j]);
            ck_abort_msg("%s %s [%s]: memory differs at %#x (rcx %#llx rsi %#llx rdi %#llx fl %#llx)", mn, t->name,
                         hex, (unsigned)(uintptr_t)nbuf + k, (unsigned long long)in.gpr[X86_RCX], (unsigned long long)in.gpr[X86_RSI],
                         (unsigned long long)in.gpr[X86_RDI], (unsigned long long)in.rflags);
        }
        done++;
        per[ti]++;
    }
    printf("native vs emulated (%s-bit): %u instructions\n", m32 ? "32" : "64", done);
    ck_assert_uint_ge(done, want);
    for (unsigned i = 0; i < ARRAY_SIZE(tmpls); i++)
        ck_assert_msg(per[i] > want / ARRAY_SIZE(tmpls) / 4, "%s: only %u runs", tmpls[i].name, per[i]);
}

START_TEST(native64) { differential(false, 40000); }
END_TEST
START_TEST(native32) { differential(true, 40000); }
END_TEST

int main(void)
{
    const char *seed = getenv("UMBRA_X86_SEED");
    if (seed)
        rng = strtoull(seed, NULL, 0) | 1;
    Suite *s = suite_create("x86_native");
    TCase *tc = tcase_create("native");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, native64);
    tcase_add_test(tc, native32);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
