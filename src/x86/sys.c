/*
 * What the SVM exit handlers need to know about an intercepted instruction
 * when the CPU gives no decode assists and no next RIP: its length, which
 * control register and GPR a MOV CR names, the value LMSW writes, the linear
 * address INVLPG flushes, and a way to complete reads (MOV from CR, SMSW)
 * and advance RIP.
 */
#include "x86priv.h"
#include <umbra/x86.h>

static int fail(struct x86_emu_ctxt *c, unsigned vector, bool has_error)
{
    c->fault = (struct x86_fault){ .vector = vector, .has_error = has_error };
    return X86EMU_FAULT;
}

/* Linear address of the memory operand without limit checks (INVLPG makes none). */
static uint64_t raw_la(const struct x86_insn *in, const struct x86_regs *r, enum x86_cpu_mode mode)
{
    uint64_t ea = x86_insn_ea(in, r);
    if (mode == X86_MODE_LONG64)
        return ea + ((in->seg == X86_SEG_FS || in->seg == X86_SEG_GS) ? r->seg[in->seg].base : 0);
    return (r->seg[in->seg].base + ea) & 0xffffffffu;
}

enum x86emu_result x86_decode_sys(struct x86_emu_ctxt *c, struct x86_sysop *op)
{
    uint8_t buf[X86_MAX_INSN_LEN];
    unsigned avail = 0;
    const struct x86_regs *r = c->regs;
    struct x86_insn *in = &c->insn;
    int rc = x86_emu_fetch(c, buf, &avail);
    if (rc)
        return rc;
    switch (x86_decode_memo(c->memo, buf, avail, c->mode, in)) {
    case X86_DECODE_OK: break;
    case X86_DECODE_UD: return fail(c, X86_EXC_UD, false);
    case X86_DECODE_TOO_LONG: return fail(c, X86_EXC_GP, true);
    default: return X86EMU_UNHANDLED;
    }
    *op = (struct x86_sysop){ .op = in->op, .len = in->len, .mem = in->mem };
    bool priv = false;
    switch (in->op) {
    case X86_OP_MOV_TO_CR: case X86_OP_MOV_FROM_CR:
    case X86_OP_MOV_TO_DR: case X86_OP_MOV_FROM_DR:
        priv = true;
        op->cr = in->reg;
        op->gpr = in->rm;
        op->value = x86_gpr_read(r, in->rm, in->opsize, false);
        break;
    case X86_OP_CLTS:
        priv = true;
        break;
    case X86_OP_LMSW:
        priv = true;
        if (in->mem) {
            uint64_t la;
            uint16_t v = 0;
            if (!x86_seg_linear(r, c->mode, in->seg, x86_insn_ea(in, r), 2, false, &la, &c->fault))
                return X86EMU_FAULT;
            if (x86_la_wraps(c->mode, la, 2))
                return X86EMU_UNHANDLED;
            rc = c->ops->read(c, la, &v, 2, r->cpl == 3 ? PFEC_USER : 0, &c->fault);
            if (rc)
                return rc;
            op->la = la;
            op->value = v;
        } else {
            op->gpr = in->rm;
            op->value = x86_gpr_read(r, in->rm, 2, false);
        }
        break;
    case X86_OP_SMSW:
        if (in->mem) {
            if (!x86_seg_linear(r, c->mode, in->seg, x86_insn_ea(in, r), 2, true, &op->la, &c->fault))
                return X86EMU_FAULT;
            if (x86_la_wraps(c->mode, op->la, 2))
                return X86EMU_UNHANDLED;
        } else {
            op->gpr = in->rm;
        }
        break;
    case X86_OP_INVLPG:
        priv = true;
        op->la = raw_la(in, r, c->mode);
        break;
    case X86_OP_INVLPGA:
        priv = true;
        op->la = r->gpr[X86_RAX] & x86_size_mask(in->addrsize);
        op->asid = (uint32_t)r->gpr[X86_RCX];
        break;
    default:
        break;
    }
    if (priv && r->cpl != 0)
        return fail(c, X86_EXC_GP, true);
    return X86EMU_OK;
}

enum x86emu_result x86_finish_sys(struct x86_emu_ctxt *c, const struct x86_sysop *op, uint64_t value)
{
    struct x86_regs *r = c->regs;
    const struct x86_insn *in = &c->insn;
    if (op->op == X86_OP_MOV_FROM_CR || op->op == X86_OP_MOV_FROM_DR) {
        x86_gpr_write(r, op->gpr, c->mode == X86_MODE_LONG64 ? 8 : 4, false, value);
    } else if (op->op == X86_OP_SMSW) {
        if (op->mem) {
            uint16_t v = (uint16_t)value;
            int rc = c->ops->write(c, op->la, &v, 2, PFEC_WRITE | (r->cpl == 3 ? PFEC_USER : 0),
                                   &c->fault);
            if (rc)
                return rc;
        } else {
            /* register form: the operand size's worth of CR0 */
            x86_gpr_write(r, op->gpr, in->opsize, in->rex != 0, value & x86_size_mask(in->opsize));
        }
    }
    uint64_t ipmask = c->mode == X86_MODE_LONG64 ? ~0ULL
                    : c->mode == X86_MODE_PROT32 ? 0xffffffffu : 0xffff;
    r->rip = (r->rip + op->len) & ipmask;
    r->rflags &= ~X86_RFLAGS_RF;
    return X86EMU_OK;
}
