/*
 * x86 instruction decoder and the small emulator shadow paging needs.
 *
 * Why: neither Bochs nor QEMU TCG gives SVM decode assists (a CR-write
 * intercept does not name the register, an INVLPG intercept does not give
 * the address) and QEMU TCG has no NRIPS (VMCB nRIP = 0).  With shadow
 * paging every guest write to a page-table page traps as #PF and must be
 * emulated.  So Umbra decodes (and, for writes, emulates) at guest RIP.
 *
 * Pure C: compiled unchanged into the freestanding hypervisor and into the
 * hosted Check tests.  Implementation: src/x86/decode.c (lengths, operands,
 * effective addresses), src/x86/emulate.c (the write-side instructions),
 * src/x86/string.c (STOS/MOVS), src/x86/seg.c (segmentation, register file
 * helpers), src/x86/alu.c (flags), src/x86/sys.c (intercept helpers).
 * Tests: test/unit/test_x86_*.c (tables, objdump as a length oracle, the
 * host CPU as an oracle for flags and whole instructions, a fuzzer).
 *
 * Contracts the shadow/SVM side relies on:
 *  - A write that crosses a page boundary is passed to the write (or
 *    cmpxchg) callback ONCE, with the whole range.  The callback must check
 *    both pages before writing either (so a fault on the second page writes
 *    nothing, as on the CPU) and must revalidate every page-table page it
 *    touches.  shadow_write_guest() has exactly this shape.
 *  - REP STOS/MOVS: one x86_emulate() call performs iterations up to the end
 *    of the destination page (and of the source page for MOVS), in chunks of
 *    at most X86EMU_CHUNK bytes per callback.  rCX/rDI/rSI are updated; RIP is
 *    advanced only when the count reaches zero, otherwise the guest
 *    re-executes the instruction for the rest (natively, or trapping again).
 *    A fault after some chunks leaves the registers describing the completed
 *    iterations (architectural REP behaviour) and returns X86EMU_FAULT.
 *  - Nothing is ever dropped silently: an instruction the emulator does not
 *    know returns X86EMU_UNHANDLED with the registers and memory untouched;
 *    the caller then unshadows the page and lets the guest retry.
 *  - LOCKed read-modify-writes, XCHG, CMPXCHG, CMPXCHG8B/16B go through the
 *    cmpxchg callback when one is given (the callback sees old and new values
 *    and must make the exchange atomic); without one they are read + write,
 *    which is exact for a single vCPU.
 *  - Not modelled: alignment checks (#AC); accesses that wrap around the top
 *    of the linear address space (4 GiB, or 2^64) give X86EMU_UNHANDLED, so a
 *    callback always gets one ascending range; and the single-step trap:
 *    after X86EMU_OK with RFLAGS.TF set the caller owes the guest a #DB.
 *
 * Backing the callbacks with the shadow MMU is the SVM layer's glue,
 * src/svm/emu_shadow.c (svm_emu_shadow_ops; its contract is stated there and
 * test/unit/test_x86_glue.c runs it against this emulator).  In short, for
 * the struct svm_emu whose x86_emu_ctxt the callback gets:
 *
 *   static int cb_write(struct x86_emu_ctxt *c, uint64_t la, const void *src,
 *                       unsigned len, uint32_t pfec, struct x86_fault *f)
 *   {
 *       struct svm_emu *e = emu_of(c);
 *       struct sh_fault sf = { 0 };
 *       return from_shadow(e, shadow_write_guest(e->v->sh, la, src, len,
 *                                                pfec | ac_flag(e), &sf), &sf, f);
 *   }
 *
 * where from_shadow() maps SH_FIXED to X86EMU_OK, SH_REFLECT to X86EMU_FAULT
 * (the shadow's vector and CR2; its pfec as the error code for a #PF, 0 for
 * any other vector) and anything else to X86EMU_UNHANDLED, and ac_flag() adds
 * SH_PFEC_AC while the guest's RFLAGS.AC = 1.  Reads and fetches (PFEC_INSN)
 * go through shadow_read_guest() the same way, locked updates of 1..8 bytes
 * through shadow_cmpxchg_guest() (a cmpxchg callback may stay NULL only on a
 * single vCPU).
 *
 * Without NRIPS, point the SVM layer's instruction-length hook at
 * x86_decode_sys() (or x86_insn_length() on bytes it fetched itself).
 */
#ifndef UMBRA_X86EMU_H
#define UMBRA_X86EMU_H

#include <umbra/types.h>

#define X86_MAX_INSN_LEN 15
#define X86EMU_CHUNK     256   /* bytes per callback for REP STOS/MOVS */

/* Execution modes.  CS.D picks PROT16/PROT32 in protected and compatibility mode; CS.L picks LONG64. */
enum x86_cpu_mode {
    X86_MODE_REAL,     /* CR0.PE = 0 (also used for virtual-8086: 16-bit, no descriptor checks) */
    X86_MODE_PROT16,   /* protected or compatibility mode, CS.D = 0 */
    X86_MODE_PROT32,   /* protected or compatibility mode, CS.D = 1 */
    X86_MODE_LONG64,   /* EFER.LMA = 1 and CS.L = 1 */
};

/* Segment registers in hardware encoding order (the sreg field of ModRM). */
enum x86_seg_reg { X86_SEG_ES, X86_SEG_CS, X86_SEG_SS, X86_SEG_DS, X86_SEG_FS, X86_SEG_GS, X86_NR_SEGS };

/* GPR numbers (ModRM/REX encoding). */
enum x86_gpr {
    X86_RAX, X86_RCX, X86_RDX, X86_RBX, X86_RSP, X86_RBP, X86_RSI, X86_RDI,
    X86_R8, X86_R9, X86_R10, X86_R11, X86_R12, X86_R13, X86_R14, X86_R15,
};

/*
 * Segment attributes in the VMCB's packed 12-bit form (copy them from the
 * VMCB as they are): type[3:0] S[4] DPL[6:5] P[7] AVL[8] L[9] D/B[10] G[11].
 * limit is the expanded byte limit, as the VMCB stores it.
 */
#define X86_SEG_ATTR_TYPE 0x00f
#define X86_SEG_ATTR_S    0x010
#define X86_SEG_ATTR_P    0x080
#define X86_SEG_ATTR_L    0x200
#define X86_SEG_ATTR_DB   0x400
#define X86_SEG_ATTR_G    0x800
struct x86_seg {
    uint16_t sel;
    uint16_t attr;
    uint32_t limit;
    uint64_t base;
};

struct x86_regs {
    uint64_t gpr[16];
    uint64_t rip;
    uint64_t rflags;
    struct x86_seg seg[X86_NR_SEGS];
    uint8_t cpl;
};

/* Pick the decode mode from the guest's control state (VMCB values). */
enum x86_cpu_mode x86_cpu_mode_of(uint64_t cr0, uint64_t efer, uint64_t rflags, uint16_t cs_attr);

/* ---- decoder ---------------------------------------------------------------- */

enum x86_decode_result {
    X86_DECODE_OK,
    X86_DECODE_TRUNCATED,    /* the bytes ended before the instruction did: fetch more */
    X86_DECODE_UNSUPPORTED,  /* valid or not, this decoder does not know it (VEX/EVEX/XOP, ...) */
    X86_DECODE_UD,           /* the CPU raises #UD (invalid opcode, LOCK on a non-lockable insn) */
    X86_DECODE_TOO_LONG,     /* longer than 15 bytes: the CPU raises #GP(0) */
};

/* Instruction classes the SVM layer and the emulator dispatch on. */
enum x86_op {
    X86_OP_OTHER = 0,        /* decoded (length valid), no class of its own */
    /* system instructions the SVM layer intercepts */
    X86_OP_MOV_FROM_CR,      /* 0F 20: cr = insn.reg, gpr = insn.rm */
    X86_OP_MOV_TO_CR,        /* 0F 22: cr = insn.reg, gpr = insn.rm */
    X86_OP_MOV_FROM_DR, X86_OP_MOV_TO_DR,
    X86_OP_CLTS, X86_OP_LMSW, X86_OP_SMSW,
    X86_OP_INVLPG,           /* 0F 01 /7, memory operand */
    X86_OP_INVLPGA,          /* 0F 01 DF: address rAX (address size), ASID ECX */
    X86_OP_CPUID, X86_OP_HLT, X86_OP_RDMSR, X86_OP_WRMSR, X86_OP_RDTSC, X86_OP_RDTSCP,
    X86_OP_RDPMC, X86_OP_INVD, X86_OP_WBINVD, X86_OP_PAUSE, X86_OP_XSETBV,
    X86_OP_VMRUN, X86_OP_VMMCALL, X86_OP_VMLOAD, X86_OP_VMSAVE, X86_OP_STGI, X86_OP_CLGI,
    X86_OP_SKINIT, X86_OP_MONITOR, X86_OP_MWAIT,
    X86_OP_IN, X86_OP_OUT, X86_OP_INS, X86_OP_OUTS,
    X86_OP_INT3, X86_OP_INT, X86_OP_INTO, X86_OP_INT1, X86_OP_IRET,
    X86_OP_PUSHF, X86_OP_POPF,
    X86_OP_SGDT, X86_OP_SIDT, X86_OP_LGDT, X86_OP_LIDT,
    X86_OP_SLDT, X86_OP_STR, X86_OP_LLDT, X86_OP_LTR,
    /* what guests write page tables with (see x86_emulate) */
    X86_OP_MOV, X86_OP_XCHG, X86_OP_CMPXCHG, X86_OP_CMPXCHG8B, X86_OP_CMPXCHG16B,
    X86_OP_ALU,              /* ADD OR ADC SBB AND SUB XOR CMP: alu = 0..7 */
    X86_OP_INCDEC, X86_OP_NOTNEG, X86_OP_XADD,
    X86_OP_BT,               /* BT BTS BTR BTC: alu = 4..7 (the 0F BA /n numbering) */
    X86_OP_STOS, X86_OP_MOVS,
};

#define X86_PFX_LOCK  0x01
#define X86_PFX_REP   0x02   /* F3 */
#define X86_PFX_REPNE 0x04   /* F2 */
#define X86_PFX_OPSZ  0x08   /* 66 */
#define X86_PFX_ADSZ  0x10   /* 67 */
#define X86_PFX_SEG   0x20   /* a segment override is in effect (insn.seg) */

struct x86_insn {
    uint8_t len;             /* total length in bytes (1..15) */
    uint8_t mode;            /* enum x86_cpu_mode it was decoded in */
    uint8_t prefixes;        /* X86_PFX_* */
    uint8_t rex;             /* REX byte (0x40..0x4f) if one applies, else 0 */
    uint8_t opsize;          /* operand size in bytes: 1, 2, 4, 8 (1: byte opcodes; 8/16: CMPXCHG8B/16B) */
    uint8_t addrsize;        /* address size in bytes: 2, 4 or 8 */
    uint8_t map;             /* 0: one-byte map, 1: 0F (0F 38 / 0F 3A are not decoded) */
    uint8_t opcode;          /* the opcode byte within its map */
    uint8_t op;              /* enum x86_op */
    uint8_t alu;             /* sub-operation for X86_OP_ALU/BT/INCDEC/NOTNEG */
    uint8_t seg;             /* segment of the memory operand (default or override) */
    /* ModRM, with REX extensions applied to reg and rm/base/index */
    bool has_modrm;
    uint8_t modrm, mod, reg, rm;
    bool has_sib;
    uint8_t sib;
    bool mem;                /* the r/m operand is memory */
    bool rip_rel;            /* 64-bit RIP-relative (mod=0 rm=5) */
    int8_t base, index;      /* GPR numbers, -1 for none */
    uint8_t scale;           /* 1, 2, 4, 8 */
    uint8_t disp_size, imm_size, imm2_size;
    int64_t disp;            /* sign-extended (16-bit forms: as encoded, wraps at 64 KiB) */
    uint64_t imm;            /* zero-extended raw immediate (moffs: the offset) */
    uint64_t imm2;           /* second immediate (ENTER ib, far pointer selector) */
};

/*
 * Decode one instruction from bytes[0..avail) in mode.  Never reads beyond
 * avail or beyond 15 bytes.  On X86_DECODE_OK every field of *out is valid.
 * On X86_DECODE_UD, out->len is valid when the bytes were complete (LOCK on a
 * non-lockable instruction), 0 for an invalid opcode.  Other results leave
 * *out partly filled and meaningless.
 */
enum x86_decode_result x86_decode(const uint8_t *bytes, unsigned avail, enum x86_cpu_mode mode,
                                  struct x86_insn *out);

/*
 * A memo of decoded instructions for x86_decode_memo(): owned by one caller
 * (the SVM layer keeps one per vCPU), all zero to start (an entry with
 * insn.len 0 is empty).  Direct-mapped by a hash of the first bytes.
 */
#define X86_DECODE_MEMO 8
struct x86_decode_memo {
    struct {
        uint8_t bytes[X86_MAX_INSN_LEN];   /* the instruction's insn.len bytes */
        struct x86_insn insn;              /* what x86_decode() gave for them (X86_DECODE_OK) */
    } e[X86_DECODE_MEMO];
};

/*
 * x86_decode() through memo m (NULL: none).  Exactly x86_decode()'s answer:
 * on X86_DECODE_OK that is a function of mode and bytes[0..len) alone (the
 * decoder reads every byte through next() and stops at len), so an entry
 * with the same mode and the same first len bytes (len <= avail) is the
 * answer; only X86_DECODE_OK answers are kept.  The intercepts and the
 * emulated page-table writes of a guest come from a few instructions, each
 * decoded once instead of at every exit.
 */
enum x86_decode_result x86_decode_memo(struct x86_decode_memo *m, const uint8_t *bytes,
                                       unsigned avail, enum x86_cpu_mode mode,
                                       struct x86_insn *out);

/*
 * Length of the instruction at bytes (for intercepts when VMCB nRIP is 0),
 * 0 if it cannot be decoded (truncated, unsupported, invalid, too long).
 */
unsigned x86_insn_length(const uint8_t *bytes, unsigned avail, enum x86_cpu_mode mode);

/*
 * Effective address (segment offset) of insn's memory operand, truncated to
 * the address size; RIP-relative uses regs->rip + insn->len.  Undefined if
 * !insn->mem.
 */
uint64_t x86_insn_ea(const struct x86_insn *insn, const struct x86_regs *regs);

/* ---- segmentation and register helpers (src/x86/seg.c) ------------------- */

struct x86_fault {
    uint8_t vector;          /* X86_EXC_* */
    bool has_error;          /* push error_code */
    uint32_t error_code;
    uint64_t cr2;            /* for #PF */
};

/*
 * Linear address of seg:ea for an access of len bytes (write or read),
 * applying what the CPU checks in mode: segment limits (expand-up and
 * expand-down), writable/readable types and unusable segments outside
 * 64-bit mode (#GP(0), or #SS(0) for SS); canonical form in 64-bit mode
 * (#GP(0) / #SS(0)).  Outside 64-bit mode the result wraps at 4 GiB.
 * Returns false with *f filled on a fault.
 */
bool x86_seg_linear(const struct x86_regs *regs, enum x86_cpu_mode mode, unsigned seg,
                    uint64_t ea, unsigned len, bool write, uint64_t *la, struct x86_fault *f);

/*
 * Read/write GPR reg with size bytes (1, 2, 4, 8).  Byte registers 4..7 are
 * AH/CH/DH/BH unless rex (any REX prefix present), then SPL..DIL.  A 4-byte
 * write zero-extends to 64 bits (as in 64-bit mode; harmless in the others,
 * whose upper halves the guest cannot see).
 */
uint64_t x86_gpr_read(const struct x86_regs *regs, unsigned reg, unsigned size, bool rex);
void x86_gpr_write(struct x86_regs *regs, unsigned reg, unsigned size, bool rex, uint64_t val);

/* ---- emulator ------------------------------------------------------------- */

enum x86emu_result {
    X86EMU_OK,          /* done: registers (RIP, RFLAGS, GPRs) updated */
    X86EMU_FAULT,       /* ctxt->fault holds the exception to inject; RIP not advanced */
    X86EMU_UNHANDLED,   /* not emulated; nothing changed (the caller unshadows and retries) */
};

struct x86_emu_ctxt;

/*
 * Guest-memory callbacks, by linear address, with the access rights pfec
 * (PFEC_WRITE / PFEC_USER / PFEC_INSN).  Return X86EMU_OK, or X86EMU_FAULT
 * with *f filled (e.g. #PF with error code and cr2), or X86EMU_UNHANDLED
 * (e.g. MMIO the caller will not emulate).
 */
struct x86_emu_ops {
    int (*read)(struct x86_emu_ctxt *c, uint64_t la, void *dst, unsigned len, uint32_t pfec,
                struct x86_fault *f);
    int (*write)(struct x86_emu_ctxt *c, uint64_t la, const void *src, unsigned len, uint32_t pfec,
                 struct x86_fault *f);
    /*
     * Optional.  Atomically: if memory at la equals *old, store *new.  Either
     * way, on X86EMU_OK *old holds the value memory had (so the exchange
     * happened iff *old is unchanged).  len is 1, 2, 4, 8 or 16.
     */
    int (*cmpxchg)(struct x86_emu_ctxt *c, uint64_t la, void *old, const void *new, unsigned len,
                   uint32_t pfec, struct x86_fault *f);
    /* Optional instruction fetch; defaults to read with PFEC_INSN. */
    int (*fetch)(struct x86_emu_ctxt *c, uint64_t la, void *dst, unsigned len, uint32_t pfec,
                 struct x86_fault *f);
};

struct x86_emu_ctxt {
    const struct x86_emu_ops *ops;
    void *opaque;                 /* the caller's (e.g. struct shadow_vcpu *) */
    struct x86_regs *regs;        /* in/out */
    enum x86_cpu_mode mode;
    /* Optional: instruction bytes the caller already has (insn_avail = 0: fetch at CS:RIP). */
    uint8_t insn_bytes[X86_MAX_INSN_LEN];
    unsigned insn_avail;
    /* Optional: the caller's decode memo (x86_decode_memo; NULL: decode every time). */
    struct x86_decode_memo *memo;
    /* Outputs */
    struct x86_insn insn;         /* the decoded instruction (valid once decoding succeeded) */
    struct x86_fault fault;       /* for X86EMU_FAULT */
    uint64_t last_write_la;       /* linear address and length of the last memory write, for stats */
    unsigned last_write_len;
    /* Set by a write callback that succeeded: the rest of a REP STOS/MOVS may
     * run natively (its destination stopped being a write-protected page
     * table).  The string stops after that chunk with its iterations
     * committed and RIP at the instruction, as at a page end, and the guest
     * re-executes it for the rest.  x86_emulate() clears it. */
    bool string_yield;
};

/*
 * Emulate the instruction at CS:RIP.  Supported: MOV r/m<-r, MOV r<-r/m,
 * MOV r/m<-imm, MOV moffs<-acc, XCHG, CMPXCHG, CMPXCHG8B, CMPXCHG16B, ADD OR
 * ADC SBB AND SUB XOR CMP (r/m,r; r,r/m; r/m,imm), INC DEC NOT NEG, XADD,
 * BT BTS BTR BTC (reg and imm), STOS, MOVS (with REP), all operand and
 * address sizes, LOCKed or not, with the RFLAGS the CPU computes and RIP
 * advanced.  Faults (#PF from the callbacks, #GP/#SS from segment checks,
 * #UD for LOCK misuse or a register operand where memory is required) leave
 * the guest state as the CPU would and return X86EMU_FAULT.
 */
enum x86emu_result x86_emulate(struct x86_emu_ctxt *c);

/* ---- intercepted system instructions (src/x86/sys.c) --------------------- */

struct x86_sysop {
    uint8_t op;          /* enum x86_op (X86_OP_OTHER for anything without a class) */
    uint8_t len;         /* instruction length: the next RIP when VMCB nRIP is 0 */
    uint8_t cr;          /* MOV to/from CR or DR: the control/debug register (REX.R applied) */
    uint8_t gpr;         /* MOV CR/DR: the GPR; LMSW/SMSW register form: the register */
    bool mem;            /* LMSW/SMSW/INVLPG: memory operand */
    uint64_t value;      /* MOV to CR/DR: the GPR (32 bits outside 64-bit mode); LMSW: the 16-bit source */
    uint64_t la;         /* INVLPG: the linear address to flush; INVLPGA: rAX (address size);
                            LMSW/SMSW memory form: the operand's linear address */
    uint32_t asid;       /* INVLPGA: ECX */
};

/*
 * Fetch (through c->ops, or c->insn_bytes) and decode the instruction at
 * CS:RIP of an intercept, filling *op; c->insn holds the full decode.  Reads
 * LMSW's memory source.  Raises what the CPU would have raised first:
 * #UD (invalid, LOCK misuse), #GP(0) (CPL > 0 for privileged instructions,
 * too long, CS limit), #PF from the fetch.  X86EMU_UNHANDLED for what the
 * decoder does not know.  Registers are not changed.
 */
enum x86emu_result x86_decode_sys(struct x86_emu_ctxt *c, struct x86_sysop *op);

/*
 * Complete the instruction x86_decode_sys() described: MOV from CR/DR writes
 * `value` to the GPR (64 bits in long mode, else 32, zero-extended); SMSW
 * stores value[15:0] to memory, or the operand size's worth to a register;
 * anything else has no register result.  Then advances RIP by op->len and
 * clears RFLAGS.RF.  The SVM layer does the architectural work itself
 * (loading CR3, flushing for INVLPG, ...).
 */
enum x86emu_result x86_finish_sys(struct x86_emu_ctxt *c, const struct x86_sysop *op, uint64_t value);

#endif
