/*
 * Emulator tests, table driven: instruction bytes at CS:RIP + mode +
 * registers + memory -> expected registers, memory, RFLAGS, RIP, fault and
 * the exact write callbacks made.  Guest memory is a flat 1 MiB linear
 * space with per-page present/writable bits, so #PF (and page-crossing
 * behaviour) come from the callbacks as they would from the shadow MMU.
 * Every case runs twice: with a cmpxchg callback and without (read+write
 * fallback); both must give the same result.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <umbra/x86emu.h>
#include <umbra/x86.h>

/* the case table names only the fields each case needs */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#define MEMSZ 0x100000u
#define CODE  0x1000u
static uint8_t mem[MEMSZ];
static uint8_t page_np[MEMSZ >> 12], page_ro[MEMSZ >> 12];
static struct { char kind; uint64_t la; unsigned len; } calls[256];
static unsigned ncalls, nwrites, nfetch_bytes;

static int check_pages(uint64_t la, unsigned len, uint32_t pfec, struct x86_fault *f)
{
    for (uint64_t p = la >> 12; p <= (la + len - 1) >> 12; p++) {
        uint64_t start = p << 12 > la ? p << 12 : la;
        uint32_t err = 0;
        if (p >= (MEMSZ >> 12) || page_np[p])
            err = pfec & (PFEC_WRITE | PFEC_USER | PFEC_INSN);
        else if ((pfec & PFEC_WRITE) && page_ro[p])
            err = PFEC_PRESENT | (pfec & (PFEC_WRITE | PFEC_USER));
        else
            continue;
        *f = (struct x86_fault){ .vector = X86_EXC_PF, .has_error = true, .error_code = err, .cr2 = start };
        return X86EMU_FAULT;
    }
    return X86EMU_OK;
}

static int cb_read(struct x86_emu_ctxt *c, uint64_t la, void *dst, unsigned len, uint32_t pfec,
                   struct x86_fault *f)
{
    (void)c;
    if (ncalls < 256) calls[ncalls++] = (typeof(calls[0])){ pfec & PFEC_INSN ? 'f' : 'r', la, len };
    int rc = check_pages(la, len, pfec, f);
    if (rc)
        return rc;
    if (pfec & PFEC_INSN)
        nfetch_bytes += len;
    memcpy(dst, mem + la, len);
    return X86EMU_OK;
}

/* Both pages are checked before either is written: a faulting crossing write writes nothing. */
static int cb_write(struct x86_emu_ctxt *c, uint64_t la, const void *src, unsigned len, uint32_t pfec,
                    struct x86_fault *f)
{
    (void)c;
    if (ncalls < 256) calls[ncalls++] = (typeof(calls[0])){ 'w', la, len };
    int rc = check_pages(la, len, pfec, f);
    if (rc)
        return rc;
    nwrites++;
    memcpy(mem + la, src, len);
    return X86EMU_OK;
}

static unsigned ncmpxchg;
static int cb_cmpxchg(struct x86_emu_ctxt *c, uint64_t la, void *old, const void *new, unsigned len,
                      uint32_t pfec, struct x86_fault *f)
{
    (void)c;
    if (ncalls < 256) calls[ncalls++] = (typeof(calls[0])){ 'x', la, len };
    int rc = check_pages(la, len, pfec, f);
    if (rc)
        return rc;
    ncmpxchg++;
    if (!memcmp(mem + la, old, len)) {
        nwrites++;
        memcpy(mem + la, new, len);
    } else {
        memcpy(old, mem + la, len);
    }
    return X86EMU_OK;
}

static int cb_unhandled(struct x86_emu_ctxt *c, uint64_t la, const void *src, unsigned len, uint32_t pfec,
                        struct x86_fault *f)
{
    (void)c; (void)la; (void)src; (void)len; (void)pfec; (void)f;
    return X86EMU_UNHANDLED;
}

static const struct x86_emu_ops ops_x = { cb_read, cb_write, cb_cmpxchg, NULL };
static const struct x86_emu_ops ops_plain = { cb_read, cb_write, NULL, NULL };

/* ---- register files ---- */
static void flat(struct x86_regs *r, enum x86_cpu_mode m)
{
    memset(r, 0, sizeof(*r));
    r->rflags = X86_RFLAGS_FIXED;
    r->rip = CODE;
    for (int s = 0; s < X86_NR_SEGS; s++) {
        r->seg[s].limit = 0xffffffffu;
        r->seg[s].attr = 0xc93;    /* data RW, S, P, D/B, G */
    }
    r->seg[X86_SEG_CS].attr = m == X86_MODE_LONG64 ? 0x29b : m == X86_MODE_PROT32 ? 0xc9b : 0x09b;
    if (m == X86_MODE_REAL || m == X86_MODE_PROT16) {
        for (int s = 0; s < X86_NR_SEGS; s++) {
            r->seg[s].limit = 0xffff;
            r->seg[s].attr = s == X86_SEG_CS ? 0x9b : 0x93;
        }
    }
    if (m == X86_MODE_REAL) {
        r->seg[X86_SEG_DS].base = 0x10000;  r->seg[X86_SEG_DS].sel = 0x1000;
        r->seg[X86_SEG_ES].base = 0x30000;  r->seg[X86_SEG_ES].sel = 0x3000;
        r->seg[X86_SEG_SS].base = 0x20000;  r->seg[X86_SEG_SS].sel = 0x2000;
    }
}

/* special segment setups */
static void ds_limit_fff(struct x86_regs *r) { r->seg[X86_SEG_DS].limit = 0xfff; r->seg[X86_SEG_SS].limit = 0xfff; }
static void ds_readonly(struct x86_regs *r) { r->seg[X86_SEG_DS].attr = 0xc91; }
static void ds_null(struct x86_regs *r) { r->seg[X86_SEG_DS].attr = 0; }
static void ds_code(struct x86_regs *r) { r->seg[X86_SEG_DS].attr = 0xc9b; }   /* readable code */
static void ds_expdown(struct x86_regs *r) { r->seg[X86_SEG_DS].attr = 0xc97; r->seg[X86_SEG_DS].limit = 0x2fff; }
static void ds_base(struct x86_regs *r) { r->seg[X86_SEG_DS].base = 0x10000; }
static void fs_base(struct x86_regs *r) { r->seg[X86_SEG_FS].base = 0x40000; r->seg[X86_SEG_ES].base = 0x50000; r->seg[X86_SEG_DS].base = 0x60000; }
static void es_limit(struct x86_regs *r) { r->seg[X86_SEG_ES].limit = 0x2007; }
static void cs_limit(struct x86_regs *r) { r->seg[X86_SEG_CS].limit = 0x1001; }
static void ds_limit_real(struct x86_regs *r) { r->seg[X86_SEG_DS].limit = 0xffff; }

#define G(r) ((r) + 1)
enum { RAX = G(X86_RAX), RCX = G(X86_RCX), RDX = G(X86_RDX), RBX = G(X86_RBX), RSP = G(X86_RSP),
       RBP = G(X86_RBP), RSI = G(X86_RSI), RDI = G(X86_RDI), R8 = G(X86_R8), R9 = G(X86_R9),
       R12 = G(X86_R12), R15 = G(X86_R15) };
#define CF X86_RFLAGS_CF
#define PF X86_RFLAGS_PF
#define AF X86_RFLAGS_AF
#define ZF X86_RFLAGS_ZF
#define SF X86_RFLAGS_SF
#define OF X86_RFLAGS_OF
#define DF X86_RFLAGS_DF
#define ST (CF | PF | AF | ZF | SF | OF)

struct kv { unsigned r; uint64_t v; };
struct mv { uint64_t la; unsigned size; uint64_t v; };

struct ecase {
    const char *name;
    enum x86_cpu_mode mode;
    const char *hex;
    struct kv in[5];          /* registers before (G(reg), value) */
    struct mv m[3];           /* memory before */
    struct kv out[5];         /* registers that must change to these values (others unchanged) */
    struct mv xm[4];          /* memory after */
    uint64_t flags, xflags, fmask;   /* RFLAGS in; expected (RFLAGS & fmask) == xflags when fmask */
    int res;
    unsigned vec, err;        /* fault */
    uint64_t cr2;
    bool norip;               /* RIP must not move (REP partial) */
    int nw;                   /* expected write+cmpxchg successes + 1 (0 = don't check) */
    uint64_t np, np2, ro;     /* not-present / read-only pages (linear) */
    void (*setup)(struct x86_regs *);
    uint8_t cpl;
    uint64_t wla; unsigned wlen;   /* expected last_write_la/len when wlen */
};

#define P32 X86_MODE_PROT32
#define L64 X86_MODE_LONG64
#define R16 X86_MODE_REAL
#define P16 X86_MODE_PROT16
#define FLT X86EMU_FAULT
#define UNH X86EMU_UNHANDLED

static const struct ecase cases[] = {
    /* ---- MOV stores, all widths and addressing forms ---- */
    { "mov [ebx],eax", P32, "8903", { {RAX, 0x12345067}, {RBX, 0x2000} }, {{0}}, {{0}},
      { {0x2000, 4, 0x12345067}, {0x2004, 4, 0} }, .nw = 2, .wla = 0x2000, .wlen = 4 },
    { "mov [ebx],ax", P32, "668903", { {RAX, 0xaaaabbbb}, {RBX, 0x2000} }, { {0x2000, 4, 0x11111111} }, {{0}},
      { {0x2000, 4, 0x1111bbbb} }, .nw = 2 },
    { "mov [ebx],al", P32, "8803", { {RAX, 0x1234}, {RBX, 0x2001} }, {{0}}, {{0}}, { {0x2000, 4, 0x3400} } },
    { "mov [ebx],ah (no rex)", P32, "8823", { {RAX, 0x1234}, {RBX, 0x2000} }, {{0}}, {{0}}, { {0x2000, 1, 0x12} } },
    { "mov [rbx],spl (rex)", L64, "408823", { {RSP, 0x77}, {RBX, 0x2000} }, {{0}}, {{0}}, { {0x2000, 1, 0x77} } },
    { "mov [rbx],rax", L64, "488903", { {RAX, 0x8000000000000063ULL}, {RBX, 0x2ff8} }, {{0}}, {{0}},
      { {0x2ff8, 8, 0x8000000000000063ULL} }, .nw = 2, .wla = 0x2ff8, .wlen = 8 },
    { "mov [r9+rcx*8],r8", L64, "4d8904c9", { {R8, 0xdeadbeefcafef00dULL}, {R9, 0x2000}, {RCX, 3} },
      {{0}}, {{0}}, { {0x2018, 8, 0xdeadbeefcafef00dULL} } },
    { "mov dword [ebx],imm32", P32, "c70367800000", { {RBX, 0x3000} }, {{0}}, {{0}}, { {0x3000, 4, 0x8067} } },
    { "mov qword [rbx],imm32 sign-extends", L64, "48c703ffffff80", { {RBX, 0x3000} }, {{0}}, {{0}},
      { {0x3000, 8, 0xffffffff80ffffffULL} } },
    { "mov word [ebx],imm16", P32, "66c7033412", { {RBX, 0x3000} }, { {0x3000, 4, 0xffffffff} }, {{0}},
      { {0x3000, 4, 0xffff1234} } },
    { "mov byte [ebx],imm8", P32, "c60399", { {RBX, 0x3000} }, {{0}}, {{0}}, { {0x3000, 2, 0x99} } },
    { "mov [disp32],eax", P32, "890504300000", { {RAX, 7} }, {{0}}, {{0}}, { {0x3004, 4, 7} } },
    { "mov [ebp+8],eax uses ss", P32, "894508", { {RAX, 7}, {RBP, 0x3000} }, {{0}}, {{0}}, { {0x3008, 4, 7} } },
    { "mov [ecx*4+0x3000],eax (sib no base)", P32, "89048d00300000", { {RAX, 9}, {RCX, 2} }, {{0}}, {{0}},
      { {0x3008, 4, 9} } },
    { "mov [ebx+esi*2+0x10],edx", P32, "89547310", { {RDX, 5}, {RBX, 0x3000}, {RSI, 8} }, {{0}}, {{0}},
      { {0x3020, 4, 5} } },
    { "mov [rip+disp],rax", L64, "48890500100000", { {RAX, 0x42} }, {{0}}, {{0}}, { {0x1000 + 7 + 0x1000, 8, 0x42} } },
    { "mov [eip+disp] (67)", L64, "67890500100000", { {RAX, 0x42} }, {{0}}, {{0}}, { {0x1000 + 7 + 0x1000, 4, 0x42} } },
    { "67: [ebx] drops high rbx", L64, "67488903", { {RAX, 1}, {RBX, 0x7700000000003000ULL} }, {{0}}, {{0}},
      { {0x3000, 8, 1} } },
    { "fs: base in 64-bit", L64, "64890300", { {RAX, 3}, {RBX, 0x10} }, {{0}}, {{0}}, { {0x40010, 4, 3} },
      .setup = fs_base },
    { "es: ignored in 64-bit", L64, "26890300", { {RAX, 3}, {RBX, 0x10} }, {{0}}, {{0}}, { {0x10, 4, 3} },
      .setup = fs_base },
    { "ds base applies in 32-bit", P32, "8903", { {RAX, 3}, {RBX, 0x10} }, {{0}}, {{0}}, { {0x10010, 4, 3} },
      .setup = ds_base },
    { "32-bit linear wraps at 4G", P32, "8903", { {RAX, 3}, {RBX, 0xffff0010} }, {{0}}, {{0}}, { {0x10, 4, 3} },
      .setup = ds_base },
    { "moffs32 store", P32, "a300300000", { {RAX, 0x1234567} }, {{0}}, {{0}}, { {0x3000, 4, 0x1234567} } },
    { "moffs64 store", L64, "48a30030000000000000", { {RAX, 0x1234567} }, {{0}}, {{0}}, { {0x3000, 8, 0x1234567} } },
    { "moffs8 store", P32, "a200300000", { {RAX, 0x1234567} }, {{0}}, {{0}}, { {0x3000, 4, 0x67} } },
    { "mov eax,[ebx] (read)", P32, "8b03", { {RBX, 0x3000} }, { {0x3000, 4, 0xfeedf00d} }, { {RAX, 0xfeedf00d} },
      {{0}}, .nw = 1 },
    { "mov eax,[ebx] zero-extends in 64", L64, "8b03", { {RAX, ~0ULL}, {RBX, 0x3000} }, { {0x3000, 4, 5} },
      { {RAX, 5} }, {{0}} },
    { "mov al,[ebx] keeps the rest", P32, "8a03", { {RAX, 0x11223344}, {RBX, 0x3000} }, { {0x3000, 1, 0x99} },
      { {RAX, 0x11223399} }, {{0}} },
    { "mov eax,moffs", P32, "a100300000", {{0}}, { {0x3000, 4, 0xabcd} }, { {RAX, 0xabcd} }, {{0}} },
    { "mov reg,reg (no memory)", P32, "89c3", { {RAX, 0x55} }, {{0}}, { {RBX, 0x55} }, {{0}}, .nw = 1 },

    /* ---- 16-bit forms ---- */
    { "real: mov [bx],ax (ds base)", R16, "8907", { {RAX, 0x1234}, {RBX, 0x100} }, {{0}}, {{0}},
      { {0x10100, 2, 0x1234} } },
    { "real: mov [bp+si+4],ax (ss base)", R16, "894204", { {RAX, 0x1234}, {RBP, 0x100}, {RSI, 0x10} }, {{0}}, {{0}},
      { {0x20114, 2, 0x1234} } },
    { "real: 66 mov [bx],eax", R16, "668907", { {RAX, 0x12345678}, {RBX, 0x100} }, {{0}}, {{0}},
      { {0x10100, 4, 0x12345678} } },
    { "real: [bx+si] wraps at 64K", R16, "8900", { {RAX, 0x4321}, {RBX, 0xfff0}, {RSI, 0x20} }, {{0}}, {{0}},
      { {0x10010, 2, 0x4321} } },
    { "real: word at 0xffff exceeds limit -> #GP", R16, "8907", { {RAX, 1}, {RBX, 0xffff} }, {{0}}, {{0}}, {{0}},
      .res = FLT, .vec = X86_EXC_GP, .err = 0, .nw = 1, .setup = ds_limit_real },
    { "real: ip wraps at 64K", R16, "8907", { {RAX, 1}, {RBX, 0x100} }, {{0}}, {{0}}, { {0x10100, 2, 1} } },
    { "prot32 67: [bx+di+disp16]", P32, "67894110", { {RAX, 6}, {RBX, 0x3000}, {RDI, 0x10} }, {{0}}, {{0}},
      { {0x3020, 4, 6} } },
    { "prot16: mov [bx],ax", P16, "8907", { {RAX, 0x77}, {RBX, 0x3000} }, {{0}}, {{0}}, { {0x3000, 2, 0x77} } },

    /* ---- ALU read-modify-write with flags ---- */
    { "add [ebx],eax carry+zero", P32, "0103", { {RAX, 1}, {RBX, 0x3000} }, { {0x3000, 4, 0xffffffff} }, {{0}},
      { {0x3000, 4, 0} }, 0, CF | ZF | PF | AF, ST },
    { "add [ebx],eax overflow", P32, "0103", { {RAX, 1}, {RBX, 0x3000} }, { {0x3000, 4, 0x7fffffff} }, {{0}},
      { {0x3000, 4, 0x80000000} }, 0, OF | SF | AF | PF, ST },
    { "adc [ebx],eax with CF", P32, "1103", { {RAX, 1}, {RBX, 0x3000} }, { {0x3000, 4, 5} }, {{0}},
      { {0x3000, 4, 7} }, CF, 0, ST },
    { "sub [ebx],eax borrow", P32, "2903", { {RAX, 2}, {RBX, 0x3000} }, { {0x3000, 4, 1} }, {{0}},
      { {0x3000, 4, 0xffffffff} }, 0, CF | SF | PF | AF, ST },
    { "sbb byte [ebx],1 with CF", P32, "801b01", { {RBX, 0x3000} }, { {0x3000, 1, 0x80} }, {{0}},
      { {0x3000, 1, 0x7e} }, CF, OF | AF | PF, ST },
    { "lock or [ebx],eax sets bits", P32, "f00903", { {RAX, 0x60}, {RBX, 0x3000} }, { {0x3000, 4, 0x1007} }, {{0}},
      { {0x3000, 4, 0x1067} }, CF | OF | AF, 0, ST },
    { "lock and [ebx],imm32 clears", P32, "f08123fdffffff", { {RBX, 0x3000} }, { {0x3000, 4, 0x1067} }, {{0}},
      { {0x3000, 4, 0x1065} }, 0, PF, ST },
    { "and byte [ebx],0 -> ZF PF", P32, "802300", { {RBX, 0x3000} }, { {0x3000, 1, 0x67} }, {{0}},
      { {0x3000, 1, 0} }, 0, ZF | PF, ST },
    { "xor [ebx],eax", P32, "3103", { {RAX, 0xff}, {RBX, 0x3000} }, { {0x3000, 4, 0xf0} }, {{0}},
      { {0x3000, 4, 0x0f} }, 0, PF, ST },
    { "or imm8 sign-extended (83)", P32, "830b80", { {RBX, 0x3000} }, { {0x3000, 4, 1} }, {{0}},
      { {0x3000, 4, 0xffffff81} }, 0, SF | PF, ST },
    { "lock sub qword imm8", L64, "f048832b01", { {RBX, 0x3000} }, { {0x3000, 8, 0} }, {{0}},
      { {0x3000, 8, ~0ULL} }, 0, CF | SF | PF | AF, ST },
    { "lock add word", P32, "f0660103", { {RAX, 0x8000}, {RBX, 0x3000} }, { {0x3000, 4, 0x12348000} }, {{0}},
      { {0x3000, 4, 0x12340000} }, 0, CF | OF | ZF | PF, ST },
    { "cmp [ebx],eax writes nothing", P32, "3903", { {RAX, 5}, {RBX, 0x3000} }, { {0x3000, 4, 5} }, {{0}},
      { {0x3000, 4, 5} }, 0, ZF | PF, ST, .nw = 1 },
    { "cmp on read-only page is fine", P32, "3903", { {RAX, 6}, {RBX, 0x3000} }, { {0x3000, 4, 5} }, {{0}},
      {{0}}, 0, CF | SF | PF | AF, ST, .ro = 0x3000, .nw = 1 },
    { "add eax,[ebx] (reg dest)", P32, "0303", { {RAX, 1}, {RBX, 0x3000} }, { {0x3000, 4, 2} }, { {RAX, 3} },
      {{0}}, 0, PF, ST, .nw = 1 },
    { "add al,imm8 (no memory)", P32, "0401", { {RAX, 0xff} }, {{0}}, { {RAX, 0} }, {{0}}, 0, CF | ZF | PF | AF, ST },
    { "64: add [rbx],eax zero-extends nothing in memory", L64, "0103", { {RAX, 1}, {RBX, 0x3000} },
      { {0x3000, 8, 0xffffffffffffffffULL} }, {{0}}, { {0x3000, 8, 0xffffffff00000000ULL} } },

    /* ---- XCHG, XADD, INC/DEC/NOT/NEG ---- */
    { "xchg [ebx],eax", P32, "8703", { {RAX, 0x2067}, {RBX, 0x3000} }, { {0x3000, 4, 0x1067} },
      { {RAX, 0x1067} }, { {0x3000, 4, 0x2067} }, .nw = 2 },
    { "xchg byte [ebx],cl", P32, "860b", { {RCX, 0x1ff}, {RBX, 0x3000} }, { {0x3000, 2, 0x1234} },
      { {RCX, 0x134} }, { {0x3000, 2, 0x12ff} } },
    { "xchg [rbx],rax 64", L64, "488703", { {RAX, 1}, {RBX, 0x3000} }, { {0x3000, 8, 0x8000000000000000ULL} },
      { {RAX, 0x8000000000000000ULL} }, { {0x3000, 8, 1} } },
    { "lock xadd [ebx],eax", P32, "f00fc103", { {RAX, 1}, {RBX, 0x3000} }, { {0x3000, 4, 0x7fffffff} },
      { {RAX, 0x7fffffff} }, { {0x3000, 4, 0x80000000} }, 0, OF | SF | AF | PF, ST },
    { "inc dword keeps CF", P32, "ff03", { {RBX, 0x3000} }, { {0x3000, 4, 0xffffffff} }, {{0}},
      { {0x3000, 4, 0} }, CF, CF | ZF | PF | AF, ST },
    { "lock dec byte", P32, "f0fe0b", { {RBX, 0x3000} }, { {0x3000, 1, 0} }, {{0}}, { {0x3000, 1, 0xff} },
      0, SF | PF | AF, ST },
    { "not dword: flags untouched", P32, "f713", { {RBX, 0x3000} }, { {0x3000, 4, 0x0f0f0f0f} }, {{0}},
      { {0x3000, 4, 0xf0f0f0f0} }, CF | ZF, CF | ZF, ST },
    { "neg dword", P32, "f71b", { {RBX, 0x3000} }, { {0x3000, 4, 1} }, {{0}}, { {0x3000, 4, 0xffffffff} },
      0, CF | SF | PF | AF, ST },
    { "neg 0 clears CF", P32, "f71b", { {RBX, 0x3000} }, { {0x3000, 4, 0} }, {{0}}, { {0x3000, 4, 0} },
      CF, ZF | PF, ST },

    /* ---- CMPXCHG / 8B / 16B ---- */
    { "cmpxchg success", P32, "0fb10b", { {RAX, 0x1067}, {RCX, 0x2067}, {RBX, 0x3000} }, { {0x3000, 4, 0x1067} },
      {{0}}, { {0x3000, 4, 0x2067} }, 0, ZF | PF, ST, .nw = 2 },
    { "cmpxchg failure loads eax", P32, "f00fb10b", { {RAX, 0x1000}, {RCX, 0x2067}, {RBX, 0x3000} },
      { {0x3000, 4, 0x1067} }, { {RAX, 0x1067} }, { {0x3000, 4, 0x1067} }, 0, CF | SF | AF | PF, ST, .nw = 1 },
    { "cmpxchg byte", P32, "0fb00b", { {RAX, 0x67}, {RCX, 0x65}, {RBX, 0x3000} }, { {0x3000, 2, 0x1067} },
      {{0}}, { {0x3000, 2, 0x1065} }, 0, ZF | PF, ST },
    { "cmpxchg 64 failure zero-extends nothing (64-bit op)", L64, "f0480fb10b",
      { {RAX, 5}, {RCX, 6}, {RBX, 0x3000} }, { {0x3000, 8, 0x100000007ULL} }, { {RAX, 0x100000007ULL} },
      {{0}}, 0, 0, ZF },
    { "cmpxchg 32 in 64 failure zero-extends rax", L64, "0fb10b", { {RAX, 0xffffffff00000005ULL}, {RCX, 6},
      {RBX, 0x3000} }, { {0x3000, 4, 7} }, { {RAX, 7} }, {{0}}, 0, 0, ZF },
    { "cmpxchg8b success (PAE pte)", P32, "f00fc70e", { {RAX, 0x1067}, {RDX, 0x80000000}, {RBX, 0x5067},
      {RCX, 0x1}, {RSI, 0x3ff8} }, { {0x3ff8, 8, 0x8000000000001067ULL} }, {{0}},
      { {0x3ff8, 8, 0x0000000100005067ULL} }, 0, ZF, ZF, .nw = 2, .wla = 0x3ff8, .wlen = 8 },
    { "cmpxchg8b failure loads edx:eax", P32, "0fc70e", { {RAX, 1}, {RDX, 2}, {RBX, 3}, {RCX, 4}, {RSI, 0x3000} },
      { {0x3000, 8, 0x123456789abcdef0ULL} }, { {RAX, 0x9abcdef0}, {RDX, 0x12345678} },
      { {0x3000, 8, 0x123456789abcdef0ULL} }, ZF, 0, ZF, .nw = 1 },
    { "cmpxchg8b flags other than ZF kept", P32, "0fc70e", { {RAX, 1}, {RSI, 0x3000} }, { {0x3000, 8, 1} }, {{0}},
      {{0}}, CF | SF, CF | SF | ZF, CF | SF | ZF },
    { "cmpxchg8b crossing a page", P32, "0fc70e", { {RAX, 0}, {RDX, 0}, {RBX, 0xaaaa}, {RCX, 0xbbbb}, {RSI, 0x3ffc} },
      {{0}}, {{0}}, { {0x3ffc, 4, 0xaaaa}, {0x4000, 4, 0xbbbb} }, .nw = 2, .wla = 0x3ffc, .wlen = 8 },
    { "cmpxchg16b success", L64, "f0480fc70e", { {RAX, 1}, {RDX, 2}, {RBX, 3}, {RCX, 4}, {RSI, 0x3010} },
      { {0x3010, 8, 1}, {0x3018, 8, 2} }, {{0}}, { {0x3010, 8, 3}, {0x3018, 8, 4} }, 0, ZF, ZF },
    { "cmpxchg16b failure", L64, "480fc70e", { {RAX, 1}, {RDX, 9}, {RSI, 0x3010} },
      { {0x3010, 8, 1}, {0x3018, 8, 2} }, { {RAX, 1}, {RDX, 2} }, { {0x3010, 8, 1}, {0x3018, 8, 2} }, ZF, 0, ZF },
    { "cmpxchg16b misaligned -> #GP", L64, "480fc70e", { {RSI, 0x3008} }, {{0}}, {{0}}, {{0}},
      .res = FLT, .vec = X86_EXC_GP, .nw = 1 },

    /* ---- BT family ---- */
    { "bts [ebx],eax bit 35 -> next dword", P32, "0fab03", { {RAX, 35}, {RBX, 0x3000} }, {{0}}, {{0}},
      { {0x3000, 4, 0}, {0x3004, 4, 8} }, 0, 0, CF, .wla = 0x3004, .wlen = 4 },
    { "bts negative offset -> previous dword", P32, "0fab03", { {RAX, (uint32_t)-1}, {RBX, 0x3004} }, {{0}}, {{0}},
      { {0x3000, 4, 0x80000000} }, CF, 0, CF },
    { "lock btr [ebx],eax clears, CF=old", P32, "f00fb303", { {RAX, 1}, {RBX, 0x3000} }, { {0x3000, 4, 3} }, {{0}},
      { {0x3000, 4, 1} }, 0, CF, CF },
    { "btc imm", P32, "0fba3b00", { {RBX, 0x3000} }, { {0x3000, 4, 1} }, {{0}}, { {0x3000, 4, 0} }, 0, CF, CF },
    { "bts imm modulo width", P32, "0fba2b21", { {RBX, 0x3000} }, {{0}}, {{0}}, { {0x3000, 4, 2} } },
    { "lock bts imm 64-bit (NX bit)", L64, "f0480fba2b3f", { {RBX, 0x3000} }, { {0x3000, 8, 0x1067} }, {{0}},
      { {0x3000, 8, 0x8000000000001067ULL} }, CF, 0, CF },
    { "bt reads only", P32, "0fa303", { {RAX, 0}, {RBX, 0x3000} }, { {0x3000, 4, 1} }, {{0}}, {{0}},
      0, CF, CF, .nw = 1 },
    { "bts 16-bit reg offset", P32, "660fab03", { {RAX, 0xffff}, {RBX, 0x3002} }, {{0}}, {{0}},
      { {0x3000, 2, 0x8000} } },
    { "bts reg,reg", P32, "0fabc3", { {RAX, 33}, {RBX, 0} }, {{0}}, { {RBX, 2} }, {{0}} },

    /* ---- STOS / MOVS ---- */
    { "stosd", P32, "ab", { {RAX, 0x1067}, {RDI, 0x3000} }, {{0}}, { {RDI, 0x3004} }, { {0x3000, 4, 0x1067} } },
    { "stosb DF=1", P32, "aa", { {RAX, 0x11}, {RDI, 0x3001} }, {{0}}, { {RDI, 0x3000} }, { {0x3000, 2, 0x1100} },
      DF },
    { "rep stosd 4", P32, "f3ab", { {RAX, 0xa}, {RCX, 4}, {RDI, 0x3000} }, {{0}}, { {RCX, 0}, {RDI, 0x3010} },
      { {0x3000, 8, 0x0000000a0000000aULL}, {0x3008, 8, 0x0000000a0000000aULL}, {0x3010, 4, 0} }, .nw = 2,
      .wla = 0x3000, .wlen = 16 },
    { "rep stosd count 0: nothing", P32, "f3ab", { {RAX, 0xa}, {RDI, 0x3000} }, {{0}}, {{0}}, { {0x3000, 4, 0} },
      .nw = 1 },
    { "rep stosq whole page: chunked", L64, "f348ab", { {RAX, 0}, {RCX, 512}, {RDI, 0x3000} },
      { {0x3000, 8, 0x1067}, {0x3ff8, 8, 0x2067} }, { {RCX, 0}, {RDI, 0x4000} },
      { {0x3000, 8, 0}, {0x3ff8, 8, 0} }, .nw = 1 + 4096 / X86EMU_CHUNK },
    { "rep stosq crossing a page: stops at page end", L64, "f348ab", { {RAX, 5}, {RCX, 4}, {RDI, 0x3ff0} }, {{0}},
      { {RCX, 2}, {RDI, 0x4000} }, { {0x3ff0, 8, 5}, {0x3ff8, 8, 5}, {0x4000, 8, 0} }, .norip = true, .nw = 2 },
    { "rep stosd DF=1 stops at page start", P32, "f3ab", { {RAX, 1}, {RCX, 3}, {RDI, 0x4004} }, {{0}},
      { {RCX, 1}, {RDI, 0x3ffc} }, { {0x4000, 8, 0x100000001ULL}, {0x3ffc, 4, 0} }, DF, .norip = true },
    { "rep stosd fault on first: nothing", P32, "f3ab", { {RAX, 1}, {RCX, 3}, {RDI, 0x3000} }, {{0}}, {{0}},
      { {0x3000, 4, 0} }, .res = FLT, .vec = X86_EXC_PF, .err = PFEC_WRITE | PFEC_PRESENT, .cr2 = 0x3000,
      .ro = 0x3000 },
    { "rep stosw 16-bit: cx/di, es base", R16, "f3ab", { {RAX, 0x55aa}, {RCX, 0x10002}, {RDI, 0x10} }, {{0}},
      { {RCX, 0x10000}, {RDI, 0x14} }, { {0x30010, 4, 0x55aa55aa} } },
    { "rep stosd 67 in 64: ecx zero-extends", L64, "67f3ab", { {RAX, 1}, {RCX, 0xff00000000000001ULL},
      {RDI, 0xff00000000003000ULL} }, {{0}}, { {RCX, 0}, {RDI, 0x3004} }, { {0x3000, 4, 1} } },
    { "stos beyond es limit -> #GP", P32, "f3ab", { {RCX, 4}, {RDI, 0x2000} }, {{0}}, { {RCX, 2}, {RDI, 0x2008} },
      { {0x2000, 4, 0} }, .res = FLT, .vec = X86_EXC_GP, .setup = es_limit },
    { "movsd", P32, "a5", { {RSI, 0x2000}, {RDI, 0x3000} }, { {0x2000, 4, 0xcafe} }, { {RSI, 0x2004}, {RDI, 0x3004} },
      { {0x3000, 4, 0xcafe} } },
    { "rep movsq page copy", L64, "f348a5", { {RSI, 0x2000}, {RDI, 0x3000}, {RCX, 512} },
      { {0x2000, 8, 0x1067}, {0x2ff8, 8, 0x9067} }, { {RSI, 0x3000}, {RDI, 0x4000}, {RCX, 0} },
      { {0x3000, 8, 0x1067}, {0x3ff8, 8, 0x9067} } },
    { "rep movsb overlap propagates", P32, "f3a4", { {RSI, 0x3000}, {RDI, 0x3001}, {RCX, 4} },
      { {0x3000, 1, 0x5a} }, { {RSI, 0x3004}, {RDI, 0x3005}, {RCX, 0} }, { {0x3000, 4, 0x5a5a5a5a}, {0x3004, 1, 0x5a} } },
    { "movs fs: source override", L64, "64a5", { {RSI, 0x10}, {RDI, 0x3000} }, { {0x40010, 4, 0x77} },
      { {RSI, 0x14}, {RDI, 0x3004} }, { {0x3000, 4, 0x77} }, .setup = fs_base },
    { "movs source fault (read)", P32, "a5", { {RSI, 0x5000}, {RDI, 0x3000} }, {{0}}, {{0}}, {{0}},
      .res = FLT, .vec = X86_EXC_PF, .err = 0, .cr2 = 0x5000, .np = 0x5000 },

    /* ---- faults ---- */
    { "write to read-only page -> #PF W|P", P32, "8903", { {RBX, 0x3000} }, {{0}}, {{0}}, {{0}},
      .res = FLT, .vec = X86_EXC_PF, .err = PFEC_WRITE | PFEC_PRESENT, .cr2 = 0x3000, .ro = 0x3000 },
    { "write to not-present page -> #PF W", P32, "8903", { {RBX, 0x3010} }, {{0}}, {{0}}, {{0}},
      .res = FLT, .vec = X86_EXC_PF, .err = PFEC_WRITE, .cr2 = 0x3010, .np = 0x3000 },
    { "user write -> #PF U|W|P", P32, "8903", { {RBX, 0x3000} }, {{0}}, {{0}}, {{0}},
      .res = FLT, .vec = X86_EXC_PF, .err = PFEC_WRITE | PFEC_PRESENT | PFEC_USER, .cr2 = 0x3000, .ro = 0x3000,
      .cpl = 3 },
    { "RMW on read-only page faults as a write", P32, "f00903", { {RBX, 0x3000} }, {{0}}, {{0}}, {{0}},
      .res = FLT, .vec = X86_EXC_PF, .err = PFEC_WRITE | PFEC_PRESENT, .cr2 = 0x3000, .ro = 0x3000 },
    { "crossing write: one callback", P32, "8903", { {RAX, 0xaabbccdd}, {RBX, 0x3ffe} }, {{0}}, {{0}},
      { {0x3ffe, 2, 0xccdd}, {0x4000, 2, 0xaabb} }, .nw = 2, .wla = 0x3ffe, .wlen = 4 },
    { "crossing write into absent page writes nothing", P32, "8903", { {RAX, 0xaabbccdd}, {RBX, 0x3ffe} },
      { {0x3ffc, 4, 0x11111111} }, {{0}}, { {0x3ffc, 4, 0x11111111} },
      .res = FLT, .vec = X86_EXC_PF, .err = PFEC_WRITE, .cr2 = 0x4000, .np = 0x4000, .nw = 1 },
    { "seg limit -> #GP(0)", P32, "8903", { {RBX, 0xffe} }, {{0}}, {{0}}, {{0}},
      .res = FLT, .vec = X86_EXC_GP, .err = 0, .setup = ds_limit_fff, .nw = 1 },
    { "seg limit exact fit ok", P32, "8903", { {RAX, 1}, {RBX, 0xffc} }, {{0}}, {{0}}, { {0xffc, 4, 1} },
      .setup = ds_limit_fff },
    { "ss limit -> #SS(0)", P32, "894500", { {RBP, 0xffd} }, {{0}}, {{0}}, {{0}},
      .res = FLT, .vec = X86_EXC_SS, .err = 0, .setup = ds_limit_fff },
    { "read-only data segment -> #GP", P32, "8903", { {RBX, 0x3000} }, {{0}}, {{0}}, {{0}},
      .res = FLT, .vec = X86_EXC_GP, .setup = ds_readonly },
    { "read from read-only data segment ok", P32, "8b03", { {RBX, 0x3000} }, { {0x3000, 4, 9} }, { {RAX, 9} },
      {{0}}, .setup = ds_readonly },
    { "null ds -> #GP", P32, "8903", { {RBX, 0x3000} }, {{0}}, {{0}}, {{0}},
      .res = FLT, .vec = X86_EXC_GP, .setup = ds_null },
    { "write through code segment -> #GP", P32, "8903", { {RBX, 0x3000} }, {{0}}, {{0}}, {{0}},
      .res = FLT, .vec = X86_EXC_GP, .setup = ds_code },
    { "expand-down: above limit ok", P32, "8903", { {RAX, 2}, {RBX, 0x3000} }, {{0}}, {{0}}, { {0x3000, 4, 2} },
      .setup = ds_expdown },
    { "expand-down: at/below limit #GP", P32, "8903", { {RBX, 0x2ffe} }, {{0}}, {{0}}, {{0}},
      .res = FLT, .vec = X86_EXC_GP, .setup = ds_expdown },
    { "64: non-canonical -> #GP", L64, "488903", { {RBX, 0x0000800000000000ULL} }, {{0}}, {{0}}, {{0}},
      .res = FLT, .vec = X86_EXC_GP },
    { "64: non-canonical via rbp -> #SS", L64, "48894500", { {RBP, 0x0000800000000000ULL} }, {{0}}, {{0}}, {{0}},
      .res = FLT, .vec = X86_EXC_SS },
    { "64: crossing into non-canonical -> #GP", L64, "488903", { {RBX, 0x00007ffffffffffcULL} }, {{0}}, {{0}},
      {{0}}, .res = FLT, .vec = X86_EXC_GP },
    { "lock mov -> #UD", P32, "f08903", { {RBX, 0x3000} }, {{0}}, {{0}}, {{0}}, .res = FLT, .vec = X86_EXC_UD, .nw = 1 },
    { "lock on register dest -> #UD", P32, "f001c3", {{0}}, {{0}}, {{0}}, {{0}}, .res = FLT, .vec = X86_EXC_UD },
    { "cmpxchg8b reg -> #UD", P32, "0fc7c8", {{0}}, {{0}}, {{0}}, {{0}}, .res = FLT, .vec = X86_EXC_UD },
    { "16 bytes -> #GP", P32, "66666666666666666666666666668903", { {RBX, 0x3000} }, {{0}}, {{0}}, {{0}},
      .res = FLT, .vec = X86_EXC_GP },
    { "15 bytes fine", P32, "666666666666666666666666668903", { {RAX, 0x1234}, {RBX, 0x3000} }, {{0}}, {{0}},
      { {0x3000, 4, 0x1234} } },
    { "fetch crossing into absent page -> #PF I", P32, "", {{0}}, {{0}}, {{0}}, {{0}},
      .res = FLT, .vec = X86_EXC_PF, .err = PFEC_INSN, .cr2 = 0x2000, .np = 0x2000 },
    { "cs limit cuts the instruction -> #GP", P32, "c70300000000", { {RBX, 0x3000} }, {{0}}, {{0}}, {{0}},
      .res = FLT, .vec = X86_EXC_GP, .setup = cs_limit },

    /* ---- not emulated: nothing changes ---- */
    { "movups store unhandled", P32, "0f1103", { {RBX, 0x3000} }, { {0x3000, 4, 7} }, {{0}}, { {0x3000, 4, 7} },
      .res = UNH, .nw = 1 },
    { "push unhandled", P32, "50", {{0}}, {{0}}, {{0}}, {{0}}, .res = UNH, .nw = 1 },
    { "shl [ebx] unhandled", P32, "d123", { {RBX, 0x3000} }, { {0x3000, 4, 7} }, {{0}}, { {0x3000, 4, 7} },
      .res = UNH, .nw = 1 },
    { "access wrapping 4G unhandled", P32, "8903", { {RBX, 0xfffefffe} }, {{0}}, {{0}}, {{0}}, .res = UNH,
      .nw = 1, .setup = ds_base },
    { "access wrapping 2^64 unhandled", L64, "488903", { {RBX, ~0ULL - 3} }, {{0}}, {{0}}, {{0}}, .res = UNH, .nw = 1 },
    { "vex unhandled", L64, "c5f91103", {{0}}, {{0}}, {{0}}, {{0}}, .res = UNH },
};

static unsigned parse_hex(const char *s, uint8_t *out)
{
    unsigned n = 0;
    while (*s) {
        unsigned v;
        sscanf(s, "%2x", &v);
        out[n++] = (uint8_t)v;
        s += 2;
    }
    return n;
}

static void put(uint64_t la, unsigned size, uint64_t v) { memcpy(mem + la, &v, size); }
static uint64_t get(uint64_t la, unsigned size) { uint64_t v = 0; memcpy(&v, mem + la, size); return v; }

static void run_case(const struct ecase *t, const struct x86_emu_ops *ops)
{
    struct x86_regs r, before;
    uint8_t code[32];
    unsigned n = parse_hex(t->hex, code);

    memset(mem, 0, sizeof(mem));
    memset(page_np, 0, sizeof(page_np));
    memset(page_ro, 0, sizeof(page_ro));
    ncalls = nwrites = ncmpxchg = nfetch_bytes = 0;
    flat(&r, t->mode);
    if (t->setup)
        t->setup(&r);
    r.cpl = t->cpl;
    r.rflags |= t->flags;
    for (unsigned i = 0; i < 5 && t->in[i].r; i++)
        r.gpr[t->in[i].r - 1] = t->in[i].v;
    if (!strcmp(t->name, "real: ip wraps at 64K"))
        r.rip = 0xfffe;
    uint64_t code_la = r.seg[X86_SEG_CS].base + r.rip;
    if (!strcmp(t->name, "fetch crossing into absent page -> #PF I")) {
        /* c7 03 imm32 starting 2 bytes before the absent page */
        r.rip = code_la = 0x1ffe;
        code[0] = 0xc7; code[1] = 0x03;
        n = 2;
    }
    memcpy(mem + code_la, code, n);
    for (unsigned i = 0; i < 3 && t->m[i].size; i++)
        put(t->m[i].la, t->m[i].size, t->m[i].v);
    if (t->np) page_np[t->np >> 12] = 1;
    if (t->np2) page_np[t->np2 >> 12] = 1;
    if (t->ro) page_ro[t->ro >> 12] = 1;
    before = r;

    struct x86_emu_ctxt c = { .ops = ops, .regs = &r, .mode = t->mode };
    int res = x86_emulate(&c);
    ck_assert_msg(res == t->res, "%s: result %d, want %d (fault vec %u err %#x)", t->name, res, t->res,
                  c.fault.vector, c.fault.error_code);
    if (res == FLT) {
        ck_assert_msg(c.fault.vector == t->vec, "%s: vector %u, want %u", t->name, c.fault.vector, t->vec);
        if (t->vec == X86_EXC_PF || t->vec == X86_EXC_GP || t->vec == X86_EXC_SS) {
            ck_assert_msg(c.fault.has_error, "%s: no error code", t->name);
            ck_assert_msg(c.fault.error_code == t->err, "%s: error %#x, want %#x", t->name, c.fault.error_code, t->err);
        } else {
            ck_assert_msg(!c.fault.has_error, "%s: #UD has no error code", t->name);
        }
        if (t->vec == X86_EXC_PF)
            ck_assert_msg(c.fault.cr2 == t->cr2, "%s: cr2 %#llx, want %#llx", t->name,
                          (unsigned long long)c.fault.cr2, (unsigned long long)t->cr2);
    }
    /* registers: those listed in out[] change, everything else stays */
    struct x86_regs want = before;
    if (res == X86EMU_OK || t->out[0].r)
        for (unsigned i = 0; i < 5 && t->out[i].r; i++)
            want.gpr[t->out[i].r - 1] = t->out[i].v;
    for (unsigned g = 0; g < 16; g++)
        ck_assert_msg(r.gpr[g] == want.gpr[g], "%s: gpr %u = %#llx, want %#llx", t->name, g,
                      (unsigned long long)r.gpr[g], (unsigned long long)want.gpr[g]);
    if (res == X86EMU_OK && !t->norip) {
        struct x86_insn in;
        uint8_t b[16];
        memcpy(b, mem + code_la, 15);
        ck_assert(x86_decode(code, n, t->mode, &in) == X86_DECODE_OK);
        uint64_t mask = t->mode == L64 ? ~0ULL : t->mode == P32 ? 0xffffffffu : 0xffff;
        ck_assert_msg(r.rip == ((before.rip + in.len) & mask), "%s: rip %#llx", t->name, (unsigned long long)r.rip);
    } else {
        ck_assert_msg(r.rip == before.rip, "%s: rip moved to %#llx", t->name, (unsigned long long)r.rip);
    }
    if (t->fmask)
        ck_assert_msg((r.rflags & t->fmask) == t->xflags, "%s: flags %#llx, want %#llx under %#llx", t->name,
                      (unsigned long long)r.rflags, (unsigned long long)t->xflags, (unsigned long long)t->fmask);
    if (res != X86EMU_OK)
        ck_assert_msg(r.rflags == before.rflags, "%s: flags changed on failure", t->name);
    else
        ck_assert_msg((r.rflags & ~ST) == (before.rflags & ~ST), "%s: non-status flags changed", t->name);
    for (unsigned i = 0; i < 4 && t->xm[i].size; i++) {
        uint64_t v = get(t->xm[i].la, t->xm[i].size);
        ck_assert_msg(v == t->xm[i].v, "%s: mem[%#llx] = %#llx, want %#llx", t->name,
                      (unsigned long long)t->xm[i].la, (unsigned long long)v, (unsigned long long)t->xm[i].v);
    }
    if (t->nw)
        ck_assert_msg(nwrites == (unsigned)t->nw - 1, "%s: %u writes, want %d", t->name, nwrites, t->nw - 1);
    if (t->wlen) {
        ck_assert_msg(c.last_write_la == t->wla && c.last_write_len == t->wlen, "%s: last write %#llx+%u",
                      t->name, (unsigned long long)c.last_write_la, c.last_write_len);
    }
    /* the fetch never reads beyond the instruction's page unless it needs to */
    for (unsigned i = 0; i < ncalls; i++)
        if (calls[i].kind == 'f')
            ck_assert(calls[i].la + calls[i].len <= ((code_la | 0xfff) + 1) || calls[i].la >= ((code_la | 0xfff) + 1));
}

START_TEST(table_cmpxchg) { run_case(&cases[_i], &ops_x); }
END_TEST
START_TEST(table_plain) { run_case(&cases[_i], &ops_plain); }
END_TEST

/* LOCKed ops use the cmpxchg callback (atomicity), unlocked ones a plain write. */
START_TEST(locked_uses_cmpxchg)
{
    static const struct { const char *hex; bool locked; } t[] = {
        { "f00903", true }, { "0903", false }, { "8703", true }, { "f00fab03", true }, { "0fab03", false },
        { "f0ff03", true }, { "f00fc103", true }, { "0fb10b", true }, { "f00fc70e", true }, { "8903", false },
    };
    for (unsigned i = 0; i < ARRAY_SIZE(t); i++) {
        struct x86_regs r;
        flat(&r, P32);
        r.gpr[X86_RBX] = 0x3000;
        r.gpr[X86_RSI] = 0x3000;
        memset(mem, 0, sizeof(mem));
        memset(page_np, 0, sizeof(page_np));
        memset(page_ro, 0, sizeof(page_ro));
        unsigned n = parse_hex(t[i].hex, mem + CODE);
        (void)n;
        ncmpxchg = 0;
        struct x86_emu_ctxt c = { .ops = &ops_x, .regs = &r, .mode = P32 };
        ck_assert_int_eq(x86_emulate(&c), X86EMU_OK);
        ck_assert_msg((ncmpxchg > 0) == t[i].locked, "%s: cmpxchg calls %u", t[i].hex, ncmpxchg);
    }
}
END_TEST

/* A lost race (the cmpxchg sees another value) is retried from the new value. */
static unsigned race_left;
static int cb_cmpxchg_racy(struct x86_emu_ctxt *c, uint64_t la, void *old, const void *new, unsigned len,
                           uint32_t pfec, struct x86_fault *f)
{
    if (race_left) {
        race_left--;
        mem[la] ^= 0x10;     /* someone else flips a bit first */
    }
    return cb_cmpxchg(c, la, old, new, len, pfec, f);
}

START_TEST(locked_retry)
{
    static const struct x86_emu_ops racy = { cb_read, cb_write, cb_cmpxchg_racy, NULL };
    struct x86_regs r;
    flat(&r, P32);
    memset(mem, 0, sizeof(mem));
    memset(page_np, 0, sizeof(page_np));
    memset(page_ro, 0, sizeof(page_ro));
    parse_hex("f0830b01", mem + CODE);   /* lock or dword [ebx], 1 */
    r.gpr[X86_RBX] = 0x3000;
    race_left = 1;
    struct x86_emu_ctxt c = { .ops = &racy, .regs = &r, .mode = P32 };
    ck_assert_int_eq(x86_emulate(&c), X86EMU_OK);
    ck_assert_uint_eq(get(0x3000, 4), 0x11);   /* both the racer's bit and ours */
}
END_TEST

/* A callback that refuses (MMIO...) makes the whole instruction unhandled, nothing committed. */
START_TEST(callback_unhandled)
{
    static const struct x86_emu_ops o = { cb_read, cb_unhandled, NULL, NULL };
    struct x86_regs r, before;
    flat(&r, P32);
    memset(mem, 0, sizeof(mem));
    parse_hex("f00903", mem + CODE);
    r.gpr[X86_RBX] = 0x3000;
    r.gpr[X86_RAX] = 1;
    before = r;
    struct x86_emu_ctxt c = { .ops = &o, .regs = &r, .mode = P32 };
    ck_assert_int_eq(x86_emulate(&c), X86EMU_UNHANDLED);
    ck_assert(!memcmp(&r, &before, sizeof(r)));
}
END_TEST

/* Caller-provided instruction bytes are used instead of a fetch. */
START_TEST(given_bytes)
{
    struct x86_regs r;
    flat(&r, P32);
    memset(mem, 0, sizeof(mem));
    r.gpr[X86_RBX] = 0x3000;
    r.gpr[X86_RAX] = 0x99;
    struct x86_emu_ctxt c = { .ops = &ops_plain, .regs = &r, .mode = P32, .insn_avail = 2,
                              .insn_bytes = { 0x89, 0x03 } };
    ncalls = 0;
    ck_assert_int_eq(x86_emulate(&c), X86EMU_OK);
    ck_assert_uint_eq(get(0x3000, 4), 0x99);
    for (unsigned i = 0; i < ncalls; i++)
        ck_assert(calls[i].kind != 'f');
}
END_TEST

/* A short instruction at the end of a page never fetches from the next one. */
START_TEST(fetch_stays_in_page)
{
    struct x86_regs r;
    flat(&r, P32);
    memset(mem, 0, sizeof(mem));
    memset(page_np, 0, sizeof(page_np));
    memset(page_ro, 0, sizeof(page_ro));
    page_np[2] = 1;
    r.rip = 0x1ffe;
    mem[0x1ffe] = 0x89; mem[0x1fff] = 0x03;
    r.gpr[X86_RBX] = 0x3000;
    struct x86_emu_ctxt c = { .ops = &ops_plain, .regs = &r, .mode = P32 };
    ck_assert_int_eq(x86_emulate(&c), X86EMU_OK);
    ck_assert_uint_eq(r.rip, 0x2000);
    /* and one that spans two pages reads both */
    page_np[2] = 0;
    r.rip = 0x1ffe;
    mem[0x1ffe] = 0xc7; mem[0x1fff] = 0x03; mem[0x2000] = 0x44; mem[0x2001] = 0x33; mem[0x2002] = 0x22; mem[0x2003] = 0x11;
    ck_assert_int_eq(x86_emulate(&c), X86EMU_OK);
    ck_assert_uint_eq(get(0x3000, 4), 0x11223344);
    ck_assert_uint_eq(r.rip, 0x2004);
}
END_TEST

/* A REP STOS over two pages finishes in two calls, as the guest re-executing it would. */
START_TEST(rep_resumes)
{
    struct x86_regs r;
    flat(&r, L64);
    memset(mem, 0, sizeof(mem));
    memset(page_np, 0, sizeof(page_np));
    memset(page_ro, 0, sizeof(page_ro));
    parse_hex("f348ab", mem + CODE);
    r.gpr[X86_RAX] = 0x4242;
    r.gpr[X86_RCX] = 600;
    r.gpr[X86_RDI] = 0x3000;
    struct x86_emu_ctxt c = { .ops = &ops_plain, .regs = &r, .mode = L64 };
    ck_assert_int_eq(x86_emulate(&c), X86EMU_OK);
    ck_assert_uint_eq(r.rip, CODE);
    ck_assert_uint_eq(r.gpr[X86_RCX], 88);
    ck_assert_uint_eq(r.gpr[X86_RDI], 0x4000);
    ck_assert_int_eq(x86_emulate(&c), X86EMU_OK);
    ck_assert_uint_eq(r.rip, CODE + 3);
    ck_assert_uint_eq(r.gpr[X86_RCX], 0);
    ck_assert_uint_eq(r.gpr[X86_RDI], 0x3000 + 600 * 8);
    for (unsigned a = 0x3000; a < 0x3000 + 600 * 8; a += 8)
        ck_assert_uint_eq(get(a, 8), 0x4242);
    ck_assert_uint_eq(get(0x3000 + 600 * 8, 8), 0);
}
END_TEST

/* A fault in a later chunk leaves the completed iterations committed. */
START_TEST(rep_fault_midway)
{
    struct x86_regs r;
    flat(&r, P32);
    memset(mem, 0, sizeof(mem));
    memset(page_np, 0, sizeof(page_np));
    memset(page_ro, 0, sizeof(page_ro));
    parse_hex("f3a5", mem + CODE);              /* rep movsd */
    r.gpr[X86_RCX] = 200;                       /* 800 bytes: chunks of X86EMU_CHUNK */
    r.gpr[X86_RSI] = 0x4f00;                    /* source runs into an absent page at 0x5000 */
    r.gpr[X86_RDI] = 0x3000;
    page_np[5] = 1;
    struct x86_emu_ctxt c = { .ops = &ops_plain, .regs = &r, .mode = P32 };
    ck_assert_int_eq(x86_emulate(&c), X86EMU_OK);     /* stops at the source page end */
    ck_assert_uint_eq(r.gpr[X86_RCX], 200 - 64);
    ck_assert_uint_eq(r.rip, CODE);
    ck_assert_int_eq(x86_emulate(&c), X86EMU_FAULT);  /* next source page absent */
    ck_assert_uint_eq(c.fault.vector, X86_EXC_PF);
    ck_assert_uint_eq(c.fault.cr2, 0x5000);
    ck_assert_uint_eq(r.gpr[X86_RCX], 200 - 64);
    ck_assert_uint_eq(r.gpr[X86_RSI], 0x5000);
    ck_assert_uint_eq(r.gpr[X86_RDI], 0x3100);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("x86_emulate");
    TCase *tc = tcase_create("emulate");
    tcase_add_loop_test(tc, table_cmpxchg, 0, ARRAY_SIZE(cases));
    tcase_add_loop_test(tc, table_plain, 0, ARRAY_SIZE(cases));
    tcase_add_test(tc, locked_uses_cmpxchg);
    tcase_add_test(tc, locked_retry);
    tcase_add_test(tc, callback_unhandled);
    tcase_add_test(tc, given_bytes);
    tcase_add_test(tc, fetch_stays_in_page);
    tcase_add_test(tc, rep_resumes);
    tcase_add_test(tc, rep_fault_midway);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    printf("x86_emulate: %zu table cases x 2 callback sets\n", ARRAY_SIZE(cases));
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
