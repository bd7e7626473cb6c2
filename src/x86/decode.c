/*
 * x86 instruction decoder: prefixes, opcode maps, ModRM/SIB/displacement,
 * immediates, and the class of the instructions Umbra cares about.
 *
 * It sits on the page-table-write hot path, so it is table driven and reads
 * each byte once.  Invariant: no byte at or beyond `avail` (or beyond the
 * 15-byte architectural limit) is ever read; every read goes through next().
 *
 * Lengths follow the AMD manual (Umbra runs on AMD): in 64-bit mode a 66
 * prefix on near branches gives a 16-bit displacement, and REX only counts
 * when it is the last prefix.  VEX/EVEX/XOP encodings are not decoded
 * (X86_DECODE_UNSUPPORTED): guests do not touch page tables or trap into
 * the hypervisor with them.
 */
#include <umbra/x86emu.h>
#include <umbra/lib.h>

/* One-byte and 0F-map attributes. */
#define M    0x0001   /* ModRM follows */
#define I8   0x0002   /* imm8 */
#define IZ   0x0004   /* imm16/32 by operand size (imm32 with 64-bit operands) */
#define IV   0x0008   /* imm16/32/64 by operand size (MOV r, imm) */
#define I16  0x0010   /* imm16 */
#define FAR  0x0020   /* ptr16:16/32 (IZ + 2) */
#define MOFS 0x0040   /* offset of address size */
#define B    0x0080   /* byte operands */
#define I64  0x0100   /* invalid in 64-bit mode */
#define D64  0x0200   /* operand size defaults to 64 in 64-bit mode */
#define PFX  0x0400   /* legacy prefix */
#define BAD  0x0800   /* invalid opcode (#UD) */
#define UNS  0x1000   /* not decoded here */
#define ESC  0x2000   /* 0F escape */

/* the rows 00-3F: ALU ops in columns 0-5 */
#define ALUROW(b) [b] = M | B, [b + 1] = M, [b + 2] = M | B, [b + 3] = M, [b + 4] = I8 | B, [b + 5] = IZ

static const uint16_t map1[256] = {
    ALUROW(0x00), ALUROW(0x08), ALUROW(0x10), ALUROW(0x18),
    ALUROW(0x20), ALUROW(0x28), ALUROW(0x30), ALUROW(0x38),
    [0x06] = I64, [0x07] = I64, [0x0e] = I64, [0x0f] = ESC,
    [0x16] = I64, [0x17] = I64, [0x1e] = I64, [0x1f] = I64,
    [0x26] = PFX, [0x27] = I64, [0x2e] = PFX, [0x2f] = I64,
    [0x36] = PFX, [0x37] = I64, [0x3e] = PFX, [0x3f] = I64,
    [0x50 ... 0x5f] = D64,
    [0x60] = I64, [0x61] = I64, [0x62] = M | I64, [0x63] = M,
    [0x64 ... 0x67] = PFX,
    [0x68] = IZ | D64, [0x69] = M | IZ, [0x6a] = I8 | D64, [0x6b] = M | I8,
    [0x6c] = B, [0x6e] = B,
    [0x70 ... 0x7f] = I8 | D64,
    [0x80] = M | I8 | B, [0x81] = M | IZ, [0x82] = M | I8 | B | I64, [0x83] = M | I8,
    [0x84] = M | B, [0x85] = M, [0x86] = M | B, [0x87] = M,
    [0x88] = M | B, [0x89] = M, [0x8a] = M | B, [0x8b] = M,
    [0x8c] = M, [0x8d] = M, [0x8e] = M, [0x8f] = M | D64,
    [0x9a] = FAR | I64, [0x9c] = D64, [0x9d] = D64,
    [0xa0] = MOFS | B, [0xa1] = MOFS, [0xa2] = MOFS | B, [0xa3] = MOFS,
    [0xa4] = B, [0xa6] = B, [0xa8] = I8 | B, [0xa9] = IZ, [0xaa] = B, [0xac] = B, [0xae] = B,
    [0xb0 ... 0xb7] = I8 | B, [0xb8 ... 0xbf] = IV,
    [0xc0] = M | I8 | B, [0xc1] = M | I8, [0xc2] = I16 | D64, [0xc3] = D64,
    [0xc4] = M | I64, [0xc5] = M | I64, [0xc6] = M | I8 | B, [0xc7] = M | IZ,
    [0xc8] = I16 | I8 | D64, [0xc9] = D64, [0xca] = I16, [0xcd] = I8, [0xce] = I64,
    [0xd0] = M | B, [0xd1] = M, [0xd2] = M | B, [0xd3] = M,
    [0xd4] = I8 | I64, [0xd5] = I8 | I64, [0xd6] = BAD,
    [0xd8 ... 0xdf] = M,
    [0xe0 ... 0xe3] = I8 | D64, [0xe4] = I8 | B, [0xe5] = I8, [0xe6] = I8 | B, [0xe7] = I8,
    [0xe8] = IZ | D64, [0xe9] = IZ | D64, [0xea] = FAR | I64, [0xeb] = I8 | D64,
    [0xec] = B, [0xee] = B,
    [0xf0] = PFX, [0xf2] = PFX, [0xf3] = PFX,
    [0xf6] = M | B, [0xf7] = M, [0xfe] = M | B, [0xff] = M,
};

/*
 * The 0F map.  SSE/MMX/3DNow!/MPX opcodes and the 0F 38 / 0F 3A maps are
 * UNS: their meaning depends on the 66/F2/F3 prefixes, guests neither write
 * page tables nor trap into Umbra with them, and a length we are not sure of
 * is worse than none.
 */
static const uint16_t map2[256] = {
    [0x00 ... 0x03] = M, [0x04] = BAD, [0x0a] = BAD, [0x0c] = BAD, [0x0d] = M, [0x0f] = UNS,
    [0x10 ... 0x17] = UNS, [0x18 ... 0x19] = M, [0x1a ... 0x1b] = UNS, [0x1c ... 0x1f] = M,
    [0x20 ... 0x23] = M, [0x24 ... 0x27] = BAD,
    [0x28 ... 0x2f] = UNS, [0x36] = BAD, [0x38] = UNS, [0x39] = BAD, [0x3a] = UNS, [0x3b ... 0x3f] = BAD,
    [0x40 ... 0x4f] = M, [0x50 ... 0x76] = UNS, [0x78 ... 0x7f] = UNS,
    [0x80 ... 0x8f] = IZ | D64, [0x90 ... 0x9f] = M | B,
    [0xa0] = D64, [0xa1] = D64, [0xa3] = M, [0xa4] = M | I8, [0xa5] = M, [0xa6] = BAD, [0xa7] = BAD,
    [0xa8] = D64, [0xa9] = D64, [0xab] = M, [0xac] = M | I8, [0xad] = M, [0xae] = M, [0xaf] = M,
    [0xb0] = M | B, [0xb1 ... 0xb7] = M, [0xb8 ... 0xb9] = M, [0xba] = M | I8, [0xbb ... 0xbf] = M,
    [0xc0] = M | B, [0xc1] = M, [0xc2] = UNS, [0xc3] = M, [0xc4 ... 0xc6] = UNS, [0xc7] = M,
    [0xd0 ... 0xfe] = UNS, [0xff] = M,
};

/* Class of the intercepted instructions that need no ModRM look. */
static const uint8_t class1[256] = {
    [0x6c] = X86_OP_INS, [0x6d] = X86_OP_INS, [0x6e] = X86_OP_OUTS, [0x6f] = X86_OP_OUTS,
    [0x9c] = X86_OP_PUSHF, [0x9d] = X86_OP_POPF,
    [0xa4] = X86_OP_MOVS, [0xa5] = X86_OP_MOVS, [0xaa] = X86_OP_STOS, [0xab] = X86_OP_STOS,
    [0xcc] = X86_OP_INT3, [0xcd] = X86_OP_INT, [0xce] = X86_OP_INTO, [0xcf] = X86_OP_IRET,
    [0xe4] = X86_OP_IN, [0xe5] = X86_OP_IN, [0xe6] = X86_OP_OUT, [0xe7] = X86_OP_OUT,
    [0xec] = X86_OP_IN, [0xed] = X86_OP_IN, [0xee] = X86_OP_OUT, [0xef] = X86_OP_OUT,
    [0xf1] = X86_OP_INT1, [0xf4] = X86_OP_HLT,
    [0x88] = X86_OP_MOV, [0x89] = X86_OP_MOV, [0x8a] = X86_OP_MOV, [0x8b] = X86_OP_MOV,
    [0xa0 ... 0xa3] = X86_OP_MOV, [0x86] = X86_OP_XCHG, [0x87] = X86_OP_XCHG,
};

static const uint8_t class2[256] = {
    [0x06] = X86_OP_CLTS, [0x08] = X86_OP_INVD, [0x09] = X86_OP_WBINVD,
    [0x20] = X86_OP_MOV_FROM_CR, [0x21] = X86_OP_MOV_FROM_DR,
    [0x22] = X86_OP_MOV_TO_CR, [0x23] = X86_OP_MOV_TO_DR,
    [0x30] = X86_OP_WRMSR, [0x31] = X86_OP_RDTSC, [0x32] = X86_OP_RDMSR, [0x33] = X86_OP_RDPMC,
    [0xa2] = X86_OP_CPUID, [0xb0] = X86_OP_CMPXCHG, [0xb1] = X86_OP_CMPXCHG,
    [0xc0] = X86_OP_XADD, [0xc1] = X86_OP_XADD,
};

/* 0F 01 with mod = 3: one entry per ModRM byte C0..FF (0 = unsupported). */
#define G7_OK 0xff   /* valid, no class of its own */
static const uint8_t grp7_reg[64] = {
    [0x00 ... 0x04] = G7_OK,
    [0x08] = X86_OP_MONITOR, [0x09] = X86_OP_MWAIT, [0x0a] = G7_OK, [0x0b] = G7_OK,
    [0x10] = G7_OK, [0x11] = X86_OP_XSETBV, [0x14 ... 0x16] = G7_OK,
    [0x18] = X86_OP_VMRUN, [0x19] = X86_OP_VMMCALL, [0x1a] = X86_OP_VMLOAD, [0x1b] = X86_OP_VMSAVE,
    [0x1c] = X86_OP_STGI, [0x1d] = X86_OP_CLGI, [0x1e] = X86_OP_SKINIT, [0x1f] = X86_OP_INVLPGA,
    [0x20 ... 0x27] = X86_OP_SMSW, [0x30 ... 0x37] = X86_OP_LMSW,
    [0x38] = G7_OK, [0x39] = X86_OP_RDTSCP, [0x3a ... 0x3c] = G7_OK,
};
static const uint8_t grp7_mem[8] = {
    X86_OP_SGDT, X86_OP_SIDT, X86_OP_LGDT, X86_OP_LIDT, X86_OP_SMSW, 0, X86_OP_LMSW, X86_OP_INVLPG,
};

enum x86_cpu_mode x86_cpu_mode_of(uint64_t cr0, uint64_t efer, uint64_t rflags, uint16_t cs_attr)
{
    if (!(cr0 & 1) || (rflags & (1UL << 17)))
        return X86_MODE_REAL;
    if ((efer & (1UL << 10)) && (cs_attr & X86_SEG_ATTR_L))
        return X86_MODE_LONG64;
    return (cs_attr & X86_SEG_ATTR_DB) ? X86_MODE_PROT32 : X86_MODE_PROT16;
}

/* Byte reader: keeps the "never past avail, never past 15" invariant. */
struct rd {
    const uint8_t *p;
    unsigned pos, avail;
    enum x86_decode_result err;
};

static inline bool next(struct rd *r, uint8_t *b)
{
    if (r->pos >= X86_MAX_INSN_LEN) {
        r->err = X86_DECODE_TOO_LONG;
        return false;
    }
    if (r->pos >= r->avail) {
        r->err = X86_DECODE_TRUNCATED;
        return false;
    }
    *b = r->p[r->pos++];
    return true;
}

/* Little-endian n-byte field (n <= 8). */
static bool field(struct rd *r, unsigned n, uint64_t *v)
{
    uint64_t x = 0;
    for (unsigned i = 0; i < n; i++) {
        uint8_t b;
        if (!next(r, &b))
            return false;
        x |= (uint64_t)b << (8 * i);
    }
    *v = x;
    return true;
}

static int64_t sext(uint64_t v, unsigned bytes)
{
    unsigned sh = 64 - 8 * bytes;
    return bytes >= 8 ? (int64_t)v : (int64_t)(v << sh) >> sh;
}

/* ModRM, SIB and displacement.  mod is forced to 3 for MOV CR/DR. */
static bool modrm(struct rd *r, struct x86_insn *in, bool force_reg)
{
    uint8_t m;
    if (!next(r, &m))
        return false;
    in->has_modrm = true;
    in->modrm = m;
    in->mod = force_reg ? 3 : m >> 6;
    in->reg = ((m >> 3) & 7) | ((in->rex & 4) << 1);
    in->rm = (m & 7) | ((in->rex & 1) << 3);
    in->base = in->index = -1;
    in->scale = 1;
    if (in->mod == 3)
        return true;
    in->mem = true;
    unsigned dsz = in->mod == 1 ? 1 : 0;
    bool ss = false;
    if (in->addrsize == 2) {
        static const int8_t b16[8] = { X86_RBX, X86_RBX, X86_RBP, X86_RBP, X86_RSI, X86_RDI, X86_RBP, X86_RBX };
        static const int8_t i16[8] = { X86_RSI, X86_RDI, X86_RSI, X86_RDI, -1, -1, -1, -1 };
        unsigned rm = m & 7;
        in->base = b16[rm];
        in->index = i16[rm];
        if (in->mod == 2)
            dsz = 2;
        if (in->mod == 0 && rm == 6) {
            in->base = -1;
            dsz = 2;
        }
        ss = in->base == X86_RBP;
    } else {
        unsigned rm = m & 7;
        if (in->mod == 2)
            dsz = 4;
        if (rm == 4) {
            uint8_t s;
            if (!next(r, &s))
                return false;
            in->has_sib = true;
            in->sib = s;
            in->scale = 1 << (s >> 6);
            unsigned idx = ((s >> 3) & 7) | ((in->rex & 2) << 2);
            in->index = idx == 4 ? -1 : (int8_t)idx;
            unsigned base = (s & 7) | ((in->rex & 1) << 3);
            if ((s & 7) == 5 && in->mod == 0) {
                in->base = -1;
                dsz = 4;
            } else {
                in->base = base;
            }
        } else if (rm == 5 && in->mod == 0) {
            dsz = 4;
            in->rip_rel = in->mode == X86_MODE_LONG64;
        } else {
            in->base = in->rm;
        }
        ss = (in->base & 7) == X86_RSP || (in->base & 7) == X86_RBP;
        ss = ss && in->base >= 0 && in->base < 8;
    }
    if (!(in->prefixes & X86_PFX_SEG))
        in->seg = ss ? X86_SEG_SS : X86_SEG_DS;
    in->disp_size = dsz;
    uint64_t d = 0;
    if (dsz && !field(r, dsz, &d))
        return false;
    in->disp = dsz ? sext(d, dsz) : 0;
    return true;
}

static bool lockable(const struct x86_insn *in)
{
    uint8_t o = in->opcode, reg = (in->modrm >> 3) & 7;
    if (!in->mem)
        return false;
    if (in->map == 0) {
        if (o < 0x40)
            return (o & 7) < 2 && (o & 0x38) != 0x38;
        switch (o) {
        case 0x80 ... 0x83: return reg != 7;
        case 0x86: case 0x87: return true;
        case 0xf6: case 0xf7: return reg == 2 || reg == 3;
        case 0xfe: case 0xff: return reg < 2;
        }
        return false;
    }
    if (in->map == 1) {
        switch (o) {
        case 0xab: case 0xb3: case 0xbb: case 0xb0: case 0xb1: case 0xc0: case 0xc1: return true;
        case 0xba: return reg >= 5;
        case 0xc7: return reg == 1;
        }
    }
    return false;
}

/* Validity and class of ModRM-extended groups.  Returns a decode result. */
static enum x86_decode_result group(struct x86_insn *in)
{
    uint8_t o = in->opcode, reg = (in->modrm >> 3) & 7;
    if (in->map == 0) {
        switch (o) {
        case 0x00 ... 0x3f:
            if ((o & 7) < 6) {
                in->op = X86_OP_ALU;
                in->alu = o >> 3;
            }
            break;
        case 0x80 ... 0x83: in->op = X86_OP_ALU; in->alu = reg; break;
        case 0x8c: if (reg > 5) return X86_DECODE_UD; break;
        case 0x8d: if (!in->mem) return X86_DECODE_UD; break;
        case 0xd8 ... 0xdf:   /* x87: memory forms only */
            if (!in->mem)
                return X86_DECODE_UNSUPPORTED;
            if ((o == 0xd9 && reg == 1) || (o == 0xdb && (reg == 4 || reg == 6)) || (o == 0xdd && reg == 5))
                return X86_DECODE_UD;
            break;
        case 0x8e: if (reg > 5 || reg == 1) return X86_DECODE_UD; break;
        case 0x8f: if (reg) return X86_DECODE_UNSUPPORTED; break;   /* XOP */
        case 0xc4: case 0xc5: case 0x62:
            if (in->mode == X86_MODE_LONG64 || in->mod == 3)
                return X86_DECODE_UNSUPPORTED;                     /* VEX / EVEX */
            if (o == 0x62 || in->mod != 3)
                break;
            return X86_DECODE_UD;
        case 0xc6: case 0xc7:
            if (reg == 0) { in->op = X86_OP_MOV; break; }
            return in->modrm == 0xf8 ? X86_DECODE_UNSUPPORTED : X86_DECODE_UD;  /* XABORT/XBEGIN */
        case 0xf6: case 0xf7:
            if (reg == 2 || reg == 3) { in->op = X86_OP_NOTNEG; in->alu = reg; }
            break;
        case 0xfe: if (reg > 1) return X86_DECODE_UD; /* fall through */
        case 0xff:
            if (reg == 7) return X86_DECODE_UD;
            /* near CALL/JMP/PUSH default to 64-bit operands in 64-bit mode */
            if (o == 0xff && (reg == 2 || reg == 4 || reg == 6) && in->mode == X86_MODE_LONG64 &&
                !(in->rex & 8) && !(in->prefixes & X86_PFX_OPSZ))
                in->opsize = 8;
            if (reg < 2) { in->op = X86_OP_INCDEC; in->alu = reg; }
            if (reg == 3 || reg == 5) { if (!in->mem) return X86_DECODE_UD; }
            break;
        }
        return X86_DECODE_OK;
    }
    if (in->map != 1)
        return X86_DECODE_OK;
    /* 66/F2/F3 select other instructions in parts of the 0F map */
    bool sse_pfx = in->prefixes & (X86_PFX_OPSZ | X86_PFX_REP | X86_PFX_REPNE);
    switch (o) {
    case 0x00:
        if (reg > 5) return X86_DECODE_UD;
        if (reg < 4) in->op = X86_OP_SLDT + reg;
        break;
    case 0x01:
        if (in->mod == 3) {
            /* F2/F3 (and 66, except on SMSW/LMSW) make other instructions here */
            if ((in->prefixes & (X86_PFX_REP | X86_PFX_REPNE)) ||
                ((in->prefixes & X86_PFX_OPSZ) && reg != 4 && reg != 6))
                return X86_DECODE_UNSUPPORTED;
            uint8_t c = grp7_reg[in->modrm - 0xc0];
            if (!c) return X86_DECODE_UNSUPPORTED;
            if (in->modrm == 0xf8 && in->mode != X86_MODE_LONG64) return X86_DECODE_UNSUPPORTED;
            in->op = c == G7_OK ? X86_OP_OTHER : c;
        } else {
            if (reg == 5) return X86_DECODE_UNSUPPORTED;
            in->op = grp7_mem[reg];
        }
        break;
    case 0x20: case 0x22:   /* CR0, CR2, CR3, CR4, CR8 only */
        if (!(in->reg == 0 || in->reg == 2 || in->reg == 3 || in->reg == 4 || in->reg == 8))
            return X86_DECODE_UD;
        break;
    case 0x21: case 0x23: if (in->reg > 7) return X86_DECODE_UD; break;
    case 0xa3: in->op = X86_OP_BT; in->alu = 4; break;
    case 0xab: in->op = X86_OP_BT; in->alu = 5; break;
    case 0xb3: in->op = X86_OP_BT; in->alu = 6; break;
    case 0xbb: in->op = X86_OP_BT; in->alu = 7; break;
    case 0xb2: case 0xb4: case 0xb5: if (in->mod == 3) return X86_DECODE_UD; break;
    case 0xc3:
        if (in->mod == 3) return X86_DECODE_UD;
        if (sse_pfx) return X86_DECODE_UNSUPPORTED;
        break;
    case 0x0d: if (in->mod == 3) return X86_DECODE_UNSUPPORTED; break;
    case 0xae:   /* FXSAVE..CLFLUSH (memory), LFENCE/MFENCE/SFENCE, nothing prefixed */
        if (sse_pfx || (!in->mem && in->modrm != 0xe8 && in->modrm != 0xf0 && in->modrm != 0xf8))
            return X86_DECODE_UNSUPPORTED;
        break;
    case 0xbc: case 0xbd: if (in->prefixes & X86_PFX_REPNE) return X86_DECODE_UNSUPPORTED; break;
    case 0xb8: if (!(in->prefixes & X86_PFX_REP)) return X86_DECODE_UNSUPPORTED; break;
    case 0xba:
        if (reg < 4) return X86_DECODE_UD;
        in->op = X86_OP_BT; in->alu = reg;
        break;
    case 0xc7:
        if (in->mem ? (reg == 0 || reg == 2) : reg < 6)
            return X86_DECODE_UD;
        if (reg != 1 && sse_pfx)
            return X86_DECODE_UNSUPPORTED;
        if (reg == 1) {
            in->op = (in->rex & 8) ? X86_OP_CMPXCHG16B : X86_OP_CMPXCHG8B;
            in->opsize = (in->rex & 8) ? 16 : 8;
        }
        break;
    }
    return X86_DECODE_OK;
}

enum x86_decode_result x86_decode(const uint8_t *bytes, unsigned avail, enum x86_cpu_mode mode,
                                  struct x86_insn *in)
{
    struct rd r = { bytes, 0, avail, X86_DECODE_OK };
    bool m64 = mode == X86_MODE_LONG64;
    bool d16 = mode == X86_MODE_REAL || mode == X86_MODE_PROT16;
    uint8_t b;

    memset(in, 0, sizeof(*in));
    in->mode = mode;
    in->seg = X86_SEG_DS;
    in->base = in->index = -1;
    in->scale = 1;

    /* Legacy prefixes, then at most one REX that must come last. */
    for (;;) {
        if (!next(&r, &b))
            return r.err;
        if (m64 && (b & 0xf0) == 0x40) {
            in->rex = b;
            continue;
        }
        if (!(map1[b] & PFX))
            break;
        in->rex = 0;   /* a REX followed by a legacy prefix is ignored */
        switch (b) {
        case 0xf0: in->prefixes |= X86_PFX_LOCK; break;
        case 0xf2: in->prefixes = (in->prefixes & ~X86_PFX_REP) | X86_PFX_REPNE; break;
        case 0xf3: in->prefixes = (in->prefixes & ~X86_PFX_REPNE) | X86_PFX_REP; break;
        case 0x66: in->prefixes |= X86_PFX_OPSZ; break;
        case 0x67: in->prefixes |= X86_PFX_ADSZ; break;
        default: {
            /* 26 2E 36 3E 64 65; in 64-bit mode ES/CS/SS/DS overrides are
             * ignored.  With several overrides the last one counts (the
             * manuals leave that combination undefined). */
            uint8_t s = b >= 0x64 ? (b - 0x64 + X86_SEG_FS) : ((b >> 3) & 3);
            if (m64 && s < X86_SEG_FS)
                break;
            in->seg = s;
            in->prefixes |= X86_PFX_SEG;
        }
        }
    }

    /* Opcode (through the 0F escape). */
    uint16_t a = map1[b];
    if (a & ESC) {              /* 0F; the 0F 38 / 0F 3A maps are UNS in map2 */
        if (!next(&r, &b))
            return r.err;
        a = map2[b];
        in->map = 1;
    }
    in->opcode = b;
    if (m64 && in->map == 0 && (b == 0xc4 || b == 0xc5 || b == 0x62))
        return X86_DECODE_UNSUPPORTED;          /* VEX / EVEX */
    if (a & (BAD | UNS) || (m64 && (a & I64)))
        return a & UNS ? X86_DECODE_UNSUPPORTED : X86_DECODE_UD;

    /* Sizes. */
    bool p66 = in->prefixes & X86_PFX_OPSZ, p67 = in->prefixes & X86_PFX_ADSZ;
    if (m64) {
        in->addrsize = p67 ? 4 : 8;
        if (in->rex & 8)
            in->opsize = 8;
        else if (p66)
            in->opsize = 2;
        else
            in->opsize = (a & D64) ? 8 : 4;
    } else {
        in->addrsize = (d16 ^ p67) ? 2 : 4;
        in->opsize = (d16 ^ p66) ? 2 : 4;
    }
    unsigned imm_opsize = in->opsize;   /* before the byte-operand adjustment */
    if (a & B)
        in->opsize = 1;

    if (in->map == 0) {
        in->op = class1[b];
        if (b < 0x40 && (b & 7) < 6) {
            in->op = X86_OP_ALU;
            in->alu = b >> 3;
        }
    }
    else if (in->map == 1)
        in->op = class2[b];

    if (a & M) {
        bool force_reg = in->map == 1 && b >= 0x20 && b <= 0x23;
        if (!modrm(&r, in, force_reg))
            return r.err;
        if (force_reg)
            in->opsize = m64 ? 8 : 4;
    }

    /* Immediates. */
    unsigned isz = 0, i2 = 0;
    if (a & I8)
        isz = 1;
    if (a & IZ)
        isz = imm_opsize == 2 ? 2 : 4;
    if (a & IV)
        isz = imm_opsize;
    if (a & I16) {
        i2 = isz;       /* ENTER: iw then ib */
        isz = 2;
    }
    if (a & FAR) {
        isz = imm_opsize == 2 ? 2 : 4;
        i2 = 2;
    }
    if (a & MOFS)
        isz = in->addrsize;
    if (in->map == 0 && (b == 0xf6 || b == 0xf7) && ((in->modrm >> 3) & 7) < 2)
        isz = b == 0xf6 ? 1 : (imm_opsize == 2 ? 2 : 4);
    in->imm_size = isz;
    in->imm2_size = i2;
    if (isz && !field(&r, isz, &in->imm))
        return r.err;
    if (i2 && !field(&r, i2, &in->imm2))
        return r.err;
    in->len = r.pos;

    /* Classes and validity that depend on ModRM or prefixes. */
    if (a & M) {
        enum x86_decode_result g = group(in);
        if (g != X86_DECODE_OK) {
            if (g != X86_DECODE_UD)
                in->len = 0;
            return g;
        }
    }
    if (in->map == 1 && (b == 0x09 || b == 0x77) &&
        (in->prefixes & (X86_PFX_OPSZ | X86_PFX_REP | X86_PFX_REPNE)))
        return X86_DECODE_UNSUPPORTED;
    if (in->map == 0 && b == 0x90 && (in->prefixes & X86_PFX_REP))
        in->op = X86_OP_PAUSE;
    if (in->op == X86_OP_MOV && in->map == 0 && b >= 0xa0)
        in->mem = true;     /* moffs: no ModRM, the immediate is the offset */
    if (in->prefixes & X86_PFX_LOCK && !lockable(in))
        return X86_DECODE_UD;
    if ((in->op == X86_OP_INVLPG || in->op == X86_OP_LGDT || in->op == X86_OP_LIDT ||
         in->op == X86_OP_SGDT || in->op == X86_OP_SIDT) && !in->mem)
        return X86_DECODE_UD;
    return X86_DECODE_OK;
}

enum x86_decode_result x86_decode_memo(struct x86_decode_memo *m, const uint8_t *bytes,
                                       unsigned avail, enum x86_cpu_mode mode,
                                       struct x86_insn *out)
{
    if (!m)
        return x86_decode(bytes, avail, mode, out);
    unsigned h = bytes[0] + (avail > 1 ? bytes[1] * 3u : 0) + (avail > 2 ? bytes[2] * 7u : 0);
    typeof(&m->e[0]) e = &m->e[(h ^ mode) % X86_DECODE_MEMO];
    unsigned n = e->insn.len;
    if (n && n <= avail && e->insn.mode == mode) {
        unsigned i = 0;
        while (i < n && e->bytes[i] == bytes[i])
            i++;
        if (i == n) {
            *out = e->insn;
            return X86_DECODE_OK;
        }
    }
    enum x86_decode_result r = x86_decode(bytes, avail, mode, out);
    if (r == X86_DECODE_OK) {
        for (unsigned i = 0; i < out->len; i++)
            e->bytes[i] = bytes[i];
        e->insn = *out;
    }
    return r;
}

unsigned x86_insn_length(const uint8_t *bytes, unsigned avail, enum x86_cpu_mode mode)
{
    struct x86_insn in;
    return x86_decode(bytes, avail, mode, &in) == X86_DECODE_OK ? in.len : 0;
}

uint64_t x86_insn_ea(const struct x86_insn *in, const struct x86_regs *regs)
{
    uint64_t ea;
    if (in->map == 0 && in->opcode >= 0xa0 && in->opcode <= 0xa3 && !in->has_modrm)
        ea = in->imm;
    else if (in->rip_rel)
        ea = regs->rip + in->len + (uint64_t)in->disp;
    else {
        ea = (uint64_t)in->disp;
        if (in->base >= 0)
            ea += regs->gpr[in->base];
        if (in->index >= 0)
            ea += regs->gpr[in->index] * in->scale;
    }
    if (in->addrsize == 2)
        return ea & 0xffff;
    if (in->addrsize == 4)
        return ea & 0xffffffffu;
    return ea;
}
