/*
 * The emulator for the instructions guests write page tables with.
 *
 * Invariants:
 *  - Work happens on a copy of the register file (e->r); the caller's copy
 *    is written only when the instruction completes (or, for REP string
 *    instructions, after each completed chunk, which is what the CPU leaves
 *    behind when a later iteration faults).  So X86EMU_FAULT and
 *    X86EMU_UNHANDLED never leave a half-executed instruction behind.
 *  - Every memory access goes through x86_seg_linear() (segment checks) and
 *    then one callback; a write is never split into pieces (see x86emu.h).
 *  - Anything not understood returns X86EMU_UNHANDLED before touching memory.
 */
#include "x86priv.h"
#include <umbra/x86.h>
#include <umbra/lib.h>

struct em {
    struct x86_emu_ctxt *c;
    struct x86_insn *in;
    struct x86_regs r;       /* working copy */
    uint32_t pfec;           /* PFEC_USER at CPL 3 */
    uint64_t src;            /* the source operand of the current operation */
    unsigned alu;
};

static int take_fault(struct em *e, const struct x86_fault *f)
{
    e->c->fault = *f;
    return X86EMU_FAULT;
}

static int inject(struct em *e, unsigned vector, bool has_error)
{
    struct x86_fault f = { .vector = vector, .has_error = has_error };
    return take_fault(e, &f);
}

static int rd(struct em *e, uint64_t la, void *buf, unsigned len, uint32_t pfec)
{
    struct x86_fault f = { 0 };
    int rc = e->c->ops->read(e->c, la, buf, len, e->pfec | pfec, &f);
    if (rc == X86EMU_FAULT)
        e->c->fault = f;
    return rc;
}

static int wr(struct em *e, uint64_t la, const void *buf, unsigned len)
{
    struct x86_fault f = { 0 };
    int rc = e->c->ops->write(e->c, la, buf, len, e->pfec | PFEC_WRITE, &f);
    if (rc == X86EMU_FAULT)
        e->c->fault = f;
    if (rc == X86EMU_OK) {
        e->c->last_write_la = la;
        e->c->last_write_len = len;
    }
    return rc;
}

/* Linear address of the ModRM/moffs memory operand plus `delta` (BT's bit offset). */
static int mem_la(struct em *e, int64_t delta, unsigned len, bool write, uint64_t *la)
{
    struct x86_fault f = { 0 };
    uint64_t ea = x86_insn_ea(e->in, &e->r) + (uint64_t)delta;
    if (e->in->addrsize == 2)
        ea &= 0xffff;
    else if (e->in->addrsize == 4)
        ea &= 0xffffffffu;
    if (!x86_seg_linear(&e->r, e->c->mode, e->in->seg, ea, len, write, la, &f))
        return take_fault(e, &f);
    return x86_la_wraps(e->c->mode, *la, len) ? X86EMU_UNHANDLED : X86EMU_OK;
}

static bool rex(const struct em *e) { return e->in->rex != 0; }

static uint64_t sext_imm(const struct x86_insn *in, unsigned size)
{
    unsigned sh = 64 - 8 * in->imm_size;
    uint64_t v = in->imm_size >= 8 ? in->imm : (uint64_t)((int64_t)(in->imm << sh) >> sh);
    return v & x86_size_mask(size);
}

/* ---- read-modify-write -------------------------------------------------- */

typedef uint64_t (*rmw_fn)(struct em *e, uint64_t old, unsigned size);

static uint64_t op_alu(struct em *e, uint64_t old, unsigned size)
{
    return x86_alu(e->alu, old, e->src, size, &e->r.rflags);
}

static uint64_t op_xchg(struct em *e, uint64_t old, unsigned size)
{
    (void)old; (void)size;
    return e->src;
}

static uint64_t op_xadd(struct em *e, uint64_t old, unsigned size)
{
    return x86_alu(ALU_ADD, old, e->src, size, &e->r.rflags);
}

/* BT/BTS/BTR/BTC: e->src is the bit number within the operand. */
static uint64_t op_bt(struct em *e, uint64_t old, unsigned size)
{
    uint64_t bit = 1ULL << (e->src & (8 * size - 1));
    e->r.rflags = (e->r.rflags & ~X86_RFLAGS_CF) | ((old & bit) ? X86_RFLAGS_CF : 0);
    switch (e->alu) {
    case 5: return old | bit;
    case 6: return old & ~bit;
    case 7: return old ^ bit;
    default: return old;
    }
}

/*
 * Read the r/m operand, apply fn, write the result back (unless `store` is
 * false: CMP, BT).  Memory operands with `locked` go through the cmpxchg
 * callback and retry if the value changed under us.  *oldp gets the value
 * the operand had.
 */
static int rmw(struct em *e, int64_t delta, unsigned size, rmw_fn fn, bool store, bool locked,
               uint64_t *oldp)
{
    const struct x86_insn *in = e->in;
    if (!in->mem) {
        uint64_t old = x86_gpr_read(&e->r, in->rm, size, rex(e));
        uint64_t val = fn(e, old, size);
        if (store)
            x86_gpr_write(&e->r, in->rm, size, rex(e), val);
        *oldp = old;
        return X86EMU_OK;
    }
    uint64_t la;
    int rc = mem_la(e, delta, size, store, &la);
    if (rc)
        return rc;
    uint64_t saved_flags = e->r.rflags;
    for (unsigned tries = 0; tries < 64; tries++) {
        uint64_t old = 0, val;
        e->r.rflags = saved_flags;
        rc = rd(e, la, &old, size, store ? PFEC_WRITE : 0);
        if (rc)
            return rc;
        val = fn(e, old, size) & x86_size_mask(size);
        *oldp = old;
        if (!store)
            return X86EMU_OK;
        if (locked && e->c->ops->cmpxchg) {
            struct x86_fault f = { 0 };
            uint64_t seen = old;
            rc = e->c->ops->cmpxchg(e->c, la, &seen, &val, size, e->pfec | PFEC_WRITE, &f);
            if (rc == X86EMU_FAULT)
                return take_fault(e, &f);
            if (rc)
                return rc;
            if (seen != old)
                continue;      /* someone else wrote it: recompute from the new value */
            e->c->last_write_la = la;
            e->c->last_write_len = size;
            return X86EMU_OK;
        }
        return wr(e, la, &val, size);
    }
    return X86EMU_UNHANDLED;
}

/* Write the r/m operand (MOV, SMSW-like stores). */
static int rm_write(struct em *e, unsigned size, uint64_t val)
{
    if (!e->in->mem) {
        x86_gpr_write(&e->r, e->in->rm, size, rex(e), val);
        return X86EMU_OK;
    }
    uint64_t la;
    int rc = mem_la(e, 0, size, true, &la);
    return rc ? rc : wr(e, la, &val, size);
}

static int rm_read(struct em *e, unsigned size, uint64_t *val)
{
    *val = 0;
    if (!e->in->mem) {
        *val = x86_gpr_read(&e->r, e->in->rm, size, rex(e));
        return X86EMU_OK;
    }
    uint64_t la;
    int rc = mem_la(e, 0, size, false, &la);
    return rc ? rc : rd(e, la, val, size, 0);
}

/* ---- instructions -------------------------------------------------------- */

static int do_mov(struct em *e)
{
    const struct x86_insn *in = e->in;
    unsigned sz = in->opsize;
    uint64_t v;
    int rc;
    switch (in->opcode) {
    case 0x88: case 0x89:
        return rm_write(e, sz, x86_gpr_read(&e->r, in->reg, sz, rex(e)));
    case 0x8a: case 0x8b:
        if ((rc = rm_read(e, sz, &v)))
            return rc;
        x86_gpr_write(&e->r, in->reg, sz, rex(e), v);
        return X86EMU_OK;
    case 0xc6: case 0xc7:
        return rm_write(e, sz, sext_imm(in, sz));
    case 0xa0: case 0xa1:
        if ((rc = rm_read(e, sz, &v)))
            return rc;
        x86_gpr_write(&e->r, X86_RAX, sz, false, v);
        return X86EMU_OK;
    case 0xa2: case 0xa3:
        return rm_write(e, sz, x86_gpr_read(&e->r, X86_RAX, sz, false));
    }
    return X86EMU_UNHANDLED;
}

static int do_alu(struct em *e)
{
    const struct x86_insn *in = e->in;
    unsigned sz = in->opsize, col = in->opcode & 7;
    bool locked = in->prefixes & X86_PFX_LOCK;
    uint64_t old;
    e->alu = in->alu;
    if (in->opcode >= 0x80) {                /* 80-83: r/m op imm */
        e->src = sext_imm(in, sz);
        return rmw(e, 0, sz, op_alu, in->alu != ALU_CMP, locked, &old);
    }
    if (col < 2) {                           /* r/m op= reg */
        e->src = x86_gpr_read(&e->r, in->reg, sz, rex(e));
        return rmw(e, 0, sz, op_alu, in->alu != ALU_CMP, locked, &old);
    }
    if (col < 4) {                           /* reg op= r/m */
        uint64_t v;
        int rc = rm_read(e, sz, &v);
        if (rc)
            return rc;
        uint64_t r = x86_alu(e->alu, x86_gpr_read(&e->r, in->reg, sz, rex(e)), v, sz, &e->r.rflags);
        if (in->alu != ALU_CMP)
            x86_gpr_write(&e->r, in->reg, sz, rex(e), r);
        return X86EMU_OK;
    }
    /* AL/eAX op= imm: no memory operand; cheap to do all the same */
    uint64_t r = x86_alu(e->alu, x86_gpr_read(&e->r, X86_RAX, sz, false), sext_imm(in, sz), sz, &e->r.rflags);
    if (in->alu != ALU_CMP)
        x86_gpr_write(&e->r, X86_RAX, sz, false, r);
    return X86EMU_OK;
}

static int do_bt(struct em *e)
{
    const struct x86_insn *in = e->in;
    unsigned sz = in->opsize, bits = 8 * sz;
    int64_t delta = 0;
    uint64_t old;
    e->alu = in->alu;
    if (in->opcode == 0xba) {
        e->src = in->imm & (bits - 1);      /* imm form: modulo the operand width */
    } else {
        /* reg form: a signed bit offset that may reach outside the operand */
        uint64_t off = x86_gpr_read(&e->r, in->reg, sz, rex(e));
        int64_t soff = sz == 8 ? (int64_t)off : sz == 4 ? (int32_t)off : (int16_t)off;
        if (in->mem)
            delta = (soff >> (sz == 8 ? 6 : sz == 4 ? 5 : 4)) * (int64_t)sz;
        e->src = (uint64_t)soff & (bits - 1);
    }
    return rmw(e, delta, sz, op_bt, in->alu != 4, in->prefixes & X86_PFX_LOCK, &old);
}

static int do_cmpxchg(struct em *e)
{
    const struct x86_insn *in = e->in;
    unsigned sz = in->opsize;
    uint64_t acc = x86_gpr_read(&e->r, X86_RAX, sz, false);
    uint64_t src = x86_gpr_read(&e->r, in->reg, sz, rex(e));
    uint64_t cur = 0;
    if (!in->mem) {
        cur = x86_gpr_read(&e->r, in->rm, sz, rex(e));
        if (cur == acc)
            x86_gpr_write(&e->r, in->rm, sz, rex(e), src);
    } else {
        uint64_t la;
        int rc = mem_la(e, 0, sz, true, &la);
        if (rc)
            return rc;
        if (e->c->ops->cmpxchg) {
            struct x86_fault f = { 0 };
            cur = acc;
            rc = e->c->ops->cmpxchg(e->c, la, &cur, &src, sz, e->pfec | PFEC_WRITE, &f);
            if (rc == X86EMU_FAULT)
                return take_fault(e, &f);
            if (rc)
                return rc;
            if (cur == acc) {
                e->c->last_write_la = la;
                e->c->last_write_len = sz;
            }
        } else {
            if ((rc = rd(e, la, &cur, sz, PFEC_WRITE)))
                return rc;
            /* a failed compare rewrites the old value: nothing changes, so skip it */
            if (cur == acc && (rc = wr(e, la, &src, sz)))
                return rc;
        }
    }
    x86_alu(ALU_CMP, acc, cur, sz, &e->r.rflags);
    if (cur != acc)
        x86_gpr_write(&e->r, X86_RAX, sz, false, cur);
    return X86EMU_OK;
}

/* CMPXCHG8B m64 (EDX:EAX vs m64, ECX:EBX stored) and CMPXCHG16B m128. */
static int do_cmpxchg8b(struct em *e)
{
    const struct x86_insn *in = e->in;
    unsigned half = in->opsize / 2, sz = in->opsize;
    uint64_t exp[2], val[2], cur[2] = { 0, 0 }, la;
    uint64_t m = x86_size_mask(half);
    exp[0] = e->r.gpr[X86_RAX] & m;
    exp[1] = e->r.gpr[X86_RDX] & m;
    val[0] = e->r.gpr[X86_RBX] & m;
    val[1] = e->r.gpr[X86_RCX] & m;
    uint8_t eb[16], vb[16], cb[16];
    memcpy(eb, &exp[0], half); memcpy(eb + half, &exp[1], half);
    memcpy(vb, &val[0], half); memcpy(vb + half, &val[1], half);
    int rc = mem_la(e, 0, sz, true, &la);
    if (rc)
        return rc;
    if (sz == 16 && (x86_insn_ea(in, &e->r) & 15))
        return inject(e, X86_EXC_GP, true);
    if (e->c->ops->cmpxchg) {
        struct x86_fault f = { 0 };
        memcpy(cb, eb, sz);
        rc = e->c->ops->cmpxchg(e->c, la, cb, vb, sz, e->pfec | PFEC_WRITE, &f);
        if (rc == X86EMU_FAULT)
            return take_fault(e, &f);
        if (rc)
            return rc;
    } else {
        if ((rc = rd(e, la, cb, sz, PFEC_WRITE)))
            return rc;
        if (!memcmp(cb, eb, sz) && (rc = wr(e, la, vb, sz)))
            return rc;
    }
    bool eq = !memcmp(cb, eb, sz);
    if (eq) {
        e->c->last_write_la = la;
        e->c->last_write_len = sz;
        e->r.rflags |= X86_RFLAGS_ZF;
    } else {
        e->r.rflags &= ~X86_RFLAGS_ZF;
        memcpy(&cur[0], cb, half);
        memcpy(&cur[1], cb + half, half);
        x86_gpr_write(&e->r, X86_RAX, half, false, cur[0]);
        x86_gpr_write(&e->r, X86_RDX, half, false, cur[1]);
    }
    return X86EMU_OK;
}

static int do_xchg_xadd(struct em *e)
{
    const struct x86_insn *in = e->in;
    unsigned sz = in->opsize;
    uint64_t old;
    e->src = x86_gpr_read(&e->r, in->reg, sz, rex(e));
    bool xadd = in->op == X86_OP_XADD;
    /* XCHG with memory is locked whether or not it says so */
    int rc = rmw(e, 0, sz, xadd ? op_xadd : op_xchg, true,
                 !xadd || (in->prefixes & X86_PFX_LOCK), &old);
    if (rc)
        return rc;
    x86_gpr_write(&e->r, in->reg, sz, rex(e), old);
    return X86EMU_OK;
}

static int do_unary(struct em *e)
{
    const struct x86_insn *in = e->in;
    uint64_t old;
    if (in->op == X86_OP_INCDEC)
        e->alu = in->alu == 0 ? ALU_INC : ALU_DEC;
    else
        e->alu = in->alu == 2 ? ALU_NOT : ALU_NEG;
    return rmw(e, 0, in->opsize, op_alu, true, in->prefixes & X86_PFX_LOCK, &old);
}

/* ---- fetch, decode, dispatch ------------------------------------------- */

/*
 * Fetch the instruction bytes at CS:RIP into buf (see x86priv.h).  Kept here
 * beside its main user; sys.c calls it through x86_emu_fetch().  It reads
 * only RIP and CS of r, and its faults go to c->fault: so x86_emu_fetch()
 * passes the caller's register file as it is (no working copy, which cost an
 * intercept about 75 instructions), and x86_emulate() its working copy,
 * which equals c->regs before the instruction runs.
 */
static int fetch(struct x86_emu_ctxt *c, const struct x86_regs *r, uint32_t pfec, uint8_t *buf,
                 unsigned *avail)
{
    if (c->insn_avail) {
        *avail = c->insn_avail < X86_MAX_INSN_LEN ? c->insn_avail : X86_MAX_INSN_LEN;
        memcpy(buf, c->insn_bytes, *avail);
        return X86EMU_OK;
    }
    /* CS limit: fetch no further than the segment allows (PROT/REAL) */
    uint64_t ip = r->rip, la;
    unsigned want = X86_MAX_INSN_LEN;
    if (c->mode != X86_MODE_LONG64) {
        uint64_t lim = r->seg[X86_SEG_CS].limit;
        ip &= c->mode == X86_MODE_PROT32 ? 0xffffffffu : 0xffff;
        if (ip > lim) {
            c->fault = (struct x86_fault){ .vector = X86_EXC_GP, .has_error = true };
            return X86EMU_FAULT;
        }
        if (lim - ip + 1 < want)
            want = (unsigned)(lim - ip + 1);
        la = (r->seg[X86_SEG_CS].base + ip) & 0xffffffffu;
    } else {
        la = ip;
    }
    /* Fetch up to the page end first, the rest only if the decoder needs it,
     * so a short instruction at the end of a page never touches the next. */
    unsigned first = PAGE_SIZE - (la & (PAGE_SIZE - 1));
    if (first > want)
        first = want;
    int (*f)(struct x86_emu_ctxt *, uint64_t, void *, unsigned, uint32_t, struct x86_fault *) =
        c->ops->fetch ? c->ops->fetch : c->ops->read;
    struct x86_fault fl = { 0 };
    int rc = f(c, la, buf, first, pfec | PFEC_INSN, &fl);
    if (rc == X86EMU_FAULT)
        c->fault = fl;
    if (rc)
        return rc;
    *avail = first;
    struct x86_insn tmp;
    if (first < want && x86_decode(buf, first, c->mode, &tmp) == X86_DECODE_TRUNCATED) {
        rc = f(c, (la + first) & (c->mode == X86_MODE_LONG64 ? ~0ULL : 0xffffffffu),
               buf + first, want - first, pfec | PFEC_INSN, &fl);
        if (rc == X86EMU_FAULT)
            c->fault = fl;
        if (rc)
            return rc;
        *avail = want;
    }
    return X86EMU_OK;
}

int x86_emu_fetch(struct x86_emu_ctxt *c, uint8_t *buf, unsigned *avail)
{
    return fetch(c, c->regs, c->regs->cpl == 3 ? PFEC_USER : 0, buf, avail);
}

enum x86emu_result x86_emulate(struct x86_emu_ctxt *c)
{
    struct em e = { .c = c, .in = &c->insn, .r = *c->regs };
    uint8_t buf[X86_MAX_INSN_LEN];
    unsigned avail = 0;
    int rc;

    e.pfec = c->regs->cpl == 3 ? PFEC_USER : 0;
    c->last_write_len = 0;
    c->string_yield = false;
    if ((rc = fetch(c, &e.r, e.pfec, buf, &avail)))
        return rc;
    switch (x86_decode_memo(c->memo, buf, avail, c->mode, &c->insn)) {
    case X86_DECODE_OK:
        break;
    case X86_DECODE_UD:
        return inject(&e, X86_EXC_UD, false);
    case X86_DECODE_TOO_LONG:
        return inject(&e, X86_EXC_GP, true);
    case X86_DECODE_TRUNCATED:   /* only when the CS limit cut it short */
        if (avail < X86_MAX_INSN_LEN && !c->insn_avail)
            return inject(&e, X86_EXC_GP, true);
        return X86EMU_UNHANDLED;
    default:
        return X86EMU_UNHANDLED;
    }

    const struct x86_insn *in = &c->insn;
    switch (in->op) {
    case X86_OP_MOV:        rc = do_mov(&e); break;
    case X86_OP_ALU:        rc = do_alu(&e); break;
    case X86_OP_BT:         rc = do_bt(&e); break;
    case X86_OP_CMPXCHG:    rc = do_cmpxchg(&e); break;
    case X86_OP_CMPXCHG8B:
    case X86_OP_CMPXCHG16B: rc = do_cmpxchg8b(&e); break;
    case X86_OP_XCHG:
    case X86_OP_XADD:       rc = do_xchg_xadd(&e); break;
    case X86_OP_INCDEC:
    case X86_OP_NOTNEG:     rc = do_unary(&e); break;
    case X86_OP_STOS:
    case X86_OP_MOVS: {
        bool done = false;
        rc = x86_emu_string(c, &e.r, in, e.pfec, &done);
        if (rc || !done)
            return rc;      /* progress (if any) is already in c->regs */
        break;
    }
    default:
        return X86EMU_UNHANDLED;
    }
    if (rc)
        return rc;

    uint64_t ipmask = c->mode == X86_MODE_LONG64 ? ~0ULL
                    : c->mode == X86_MODE_PROT32 ? 0xffffffffu : 0xffff;
    e.r.rip = (e.r.rip + in->len) & ipmask;
    e.r.rflags &= ~X86_RFLAGS_RF;
    *c->regs = e.r;
    return X86EMU_OK;
}
