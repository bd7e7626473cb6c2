/*
 * Integer ALU with RFLAGS, for the emulated read-modify-write instructions.
 * Carries and overflows come from the usual bit identities on the operands
 * and the result, so the same code serves every operand size without a
 * wider type.
 */
#include "x86priv.h"
#include <umbra/x86.h>

static uint64_t szp(uint64_t r, unsigned size)
{
    uint64_t f = 0;
    uint64_t sign = 1ULL << (8 * size - 1);
    if (!(r & x86_size_mask(size)))
        f |= X86_RFLAGS_ZF;
    if (r & sign)
        f |= X86_RFLAGS_SF;
    if (!__builtin_parity((unsigned)(r & 0xff)))
        f |= X86_RFLAGS_PF;
    return f;
}

uint64_t x86_alu(unsigned op, uint64_t a, uint64_t b, unsigned size, uint64_t *rflags)
{
    uint64_t mask = x86_size_mask(size), sign = 1ULL << (8 * size - 1);
    uint64_t r, f = 0, keep = X86_STATUS_FLAGS;
    unsigned cin = (*rflags & X86_RFLAGS_CF) ? 1 : 0;
    a &= mask;
    b &= mask;

    switch (op) {
    case ALU_INC: case ALU_DEC:
        keep &= ~X86_RFLAGS_CF;             /* INC/DEC leave CF alone */
        f |= *rflags & X86_RFLAGS_CF;
        b = 1;
        cin = 0;
        op = op == ALU_INC ? ALU_ADD : ALU_SUB;
        goto arith;
    case ALU_NEG:
        b = a;
        a = 0;
        cin = 0;
        op = ALU_SUB;
        goto arith;
    case ALU_ADD: case ALU_SUB: case ALU_CMP:
        cin = 0;
        /* fall through */
    case ALU_ADC: case ALU_SBB:
    arith:
        if (op == ALU_ADD || op == ALU_ADC) {
            r = (a + b + cin) & mask;
            if (keep & X86_RFLAGS_CF)
                if (((a & b) | ((a | b) & ~r)) & sign)
                    f |= X86_RFLAGS_CF;
            if ((a ^ r) & (b ^ r) & sign)
                f |= X86_RFLAGS_OF;
        } else {
            r = (a - b - cin) & mask;
            if (keep & X86_RFLAGS_CF)
                if (((~a & b) | ((~a | b) & r)) & sign)
                    f |= X86_RFLAGS_CF;
            if ((a ^ b) & (a ^ r) & sign)
                f |= X86_RFLAGS_OF;
        }
        if ((a ^ b ^ r) & 0x10)
            f |= X86_RFLAGS_AF;
        break;
    case ALU_OR:  r = a | b; break;
    case ALU_AND: r = a & b; break;
    case ALU_XOR: r = a ^ b; break;
    case ALU_NOT: return ~a & mask;         /* no flags */
    default: return a;
    }
    f |= szp(r, size);
    *rflags = (*rflags & ~X86_STATUS_FLAGS) | f;
    return r;
}
