/* Private to src/x86: the arithmetic core shared by the emulator's instructions. */
#ifndef UMBRA_X86_PRIV_H
#define UMBRA_X86_PRIV_H

#include <umbra/x86emu.h>

/* ALU operations, in the group-1 (80 /n) numbering, then the unary ones. */
enum { ALU_ADD, ALU_OR, ALU_ADC, ALU_SBB, ALU_AND, ALU_SUB, ALU_XOR, ALU_CMP,
       ALU_INC, ALU_DEC, ALU_NOT, ALU_NEG };

#define X86_STATUS_FLAGS 0x8d5ULL   /* CF PF AF ZF SF OF */

/*
 * a op b on size bytes (1, 2, 4, 8).  Returns the result (truncated to
 * size) and updates the status flags in *rflags exactly as the CPU defines
 * them (AF is cleared by the logical ops; INC/DEC keep CF; NOT keeps all).
 */
uint64_t x86_alu(unsigned op, uint64_t a, uint64_t b, unsigned size, uint64_t *rflags);

/*
 * STOS/MOVS (string.c).  Runs iterations up to the end of the destination
 * (and source) page, committing *r to c->regs after each chunk.  *done is
 * set when the count reached zero (the caller then advances RIP).
 */
int x86_emu_string(struct x86_emu_ctxt *c, struct x86_regs *r, const struct x86_insn *in,
                   uint32_t pfec, bool *done);

/*
 * Instruction bytes at CS:RIP (c->insn_bytes if the caller gave them), with
 * the CS limit check (#GP(0)) and no byte fetched from the next page unless
 * the instruction needs it.  Returns an x86emu_result; faults in c->fault.
 */
int x86_emu_fetch(struct x86_emu_ctxt *c, uint8_t *buf, unsigned *avail);

/*
 * True if [la, la + len) runs over the top of the linear address space (4 GiB
 * outside 64-bit mode, 2^64 in it).  The CPU wraps such an access to address
 * 0; the emulator does not hand it to the callbacks (it returns
 * X86EMU_UNHANDLED), so a callback always sees one ascending range.
 */
static inline bool x86_la_wraps(enum x86_cpu_mode mode, uint64_t la, unsigned len)
{
    uint64_t last = la + len - 1;
    return mode == X86_MODE_LONG64 ? last < la : last > 0xffffffffu;
}

static inline uint64_t x86_size_mask(unsigned size)
{
    return size >= 8 ? ~0ULL : (1ULL << (8 * size)) - 1;
}

#endif
