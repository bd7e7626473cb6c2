/*
 * Private to src/svm: the decisions of an emulated hardware task switch
 * (tsrules.c, pure).  taskswitch.c reads and writes the guest (the TSSs, the
 * descriptor tables, the stack) through the shadow and calls these between
 * the accesses, in the CPU's order; test/unit/test_core_taskswitch.c calls
 * them hosted.  Each rule returns TS_OK, or TS_FAULT / TS_STOP with the fault
 * or the diagnostic in a struct ts_verdict, and changes nothing else.
 */
#ifndef UMBRA_SVM_TSRULES_H
#define UMBRA_SVM_TSRULES_H

#include <umbra/types.h>
#include <umbra/svm_hw.h>

enum ts_reason { TS_JMP, TS_CALL, TS_IRET, TS_GATE_SOFT, TS_GATE_EVENT, TS_NR_REASONS };
enum { TS_OK = 0, TS_FAULT = -1, TS_STOP = -2 };

/* What a rule decided when it did not return TS_OK (TS_FAULT: vector and error code; TS_STOP: why). */
struct ts_verdict {
    uint8_t vector;
    uint32_t err;
    const char *why;
};

/* EXITINFO2 of a TASK_SWITCH intercept. */
#define TS_INFO2_IRET    (1ULL << 36)
#define TS_INFO2_JMP     (1ULL << 38)
#define TS_INFO2_HAS_ERR (1ULL << 44)
#define TS_INFO2_RF      (1ULL << 48)  /* EFLAGS.RF to save in the old TSS */

/* 32-bit TSS layout (offsets in bytes). */
#define TSS_LINK   0x00
#define TSS_CR3    0x1C
#define TSS_EIP    0x20
#define TSS_EFLAGS 0x24
#define TSS_EAX    0x28      /* EAX ECX EDX EBX ESP EBP ESI EDI */
#define TSS_ES     0x48      /* ES CS SS DS FS GS, 4 bytes apart */
#define TSS_LDT    0x60
#define TSS_TRAP   0x64
#define TSS32_MIN_LIMIT 0x67
#define TSS32_SAVE_END  0x5F    /* last byte the switch writes in the old TSS */

#define TS_DR7_LOCAL 0x55u       /* L0..L3: cleared by every task switch */
#define TS_RFLAGS_NT (1u << 14)
#define TS_DESC_S    (1ULL << 44)  /* code/data, not system */
#define TS_DESC_BUSY (1ULL << 41)
#define TS_DESC_P    (1ULL << 47)

/* Why the switch happens, from EXITINFO2 and EXITINTINFO. */
struct ts_cause {
    enum ts_reason why;
    bool event;       /* EXITINTINFO holds an event (a gate switch) */
    bool soft;        /* INT n / INT3 / INTO: the old task resumes after the instruction */
    bool nested;      /* CALL and gates: back-link and NT */
    uint32_t ext;     /* EXT bit of the error codes: an external event (not INT n) */
};

/*
 * The cause of a TASK_SWITCH intercept.  int_n: the glue found that RIP holds
 * INT n / INT3 / INTO whose IDT entry is a task gate to this TSS while the
 * claimed event's entry is not (Bochs 2.7 leaves a stale EXITINTINFO for
 * INT n); the switch is then INT n's.  Invariant: exactly one reason; nested
 * iff CALL or a gate; ext only for a gate switch by a non-software event.
 */
struct ts_cause ts_cause(uint64_t exitinfo2, uint64_t exitintinfo, bool int_n);

/* Base, attributes (VMCB form), limit (G applied) of a legacy descriptor; the segment it loads. */
uint32_t ts_desc_base(uint64_t d);
uint16_t ts_desc_attr(uint64_t d);
uint32_t ts_desc_limit(uint64_t d);
struct vmcb_seg ts_desc_seg(uint16_t sel, uint64_t d);

/*
 * Linear address of the descriptor `sel` names in gdtr, or in ldtr if TI = 1;
 * false if it lies beyond the table's limit, or TI = 1 with no usable LDT.
 */
bool ts_desc_la(uint16_t sel, const struct vmcb_seg *gdtr, const struct vmcb_seg *ldtr, uint64_t *la);

/* Byte 5 of a TSS descriptor with the busy bit set or cleared (the one byte the CPU writes). */
uint8_t ts_busy_byte(uint64_t d, bool busy);

/*
 * The new TSS descriptor, before anything is written (the old task's fault):
 * in_gdt is ts_desc_la()'s answer for sel; d is read only when
 * ts_target_wants_desc().  IRET faults with #TS, JMP/CALL/gates with #GP;
 * not present: #NP; busy must be set for IRET and clear otherwise; a TSS
 * limit below 0x67 is #TS; the current TR must be a 32-bit TSS reaching
 * 0x5F (#TS(TR) otherwise); a 16-bit TSS on either side stops.
 */
bool ts_target_wants_desc(uint16_t sel, bool in_gdt);
int ts_check_target(const struct ts_cause *c, uint16_t sel, bool in_gdt, uint64_t d,
                    const struct vmcb_seg *tr, struct ts_verdict *vd);

/* The registers of a task (32-bit: the low halves are what a TSS holds). */
struct ts_regs {
    uint64_t rax, rcx, rdx, rbx, rsp, rbp, rsi, rdi;
    uint64_t rip, rflags;
};

/*
 * The ten dwords saved at TSS_EIP of the old TSS (EIP EFLAGS EAX..EDI):
 * EIP is next_rip; RF comes from EXITINFO2; IRET clears NT in the saved
 * flags.
 */
void ts_save_old(const struct ts_regs *r, uint64_t next_rip, uint64_t exitinfo2, bool iret,
                 uint32_t save[10]);

/* Which descriptors and TSS fields the commit writes, by reason. */
struct ts_plan {
    bool clear_old_busy;   /* JMP, IRET: the old task is no longer busy */
    bool set_new_busy;     /* all but IRET (IRET's target is already busy) */
    bool link;             /* CALL, gates: the new TSS's back-link := old TR */
};
struct ts_plan ts_plan(enum ts_reason why);

/* The new task as its TSS holds it (after the back-link is written). */
struct ts_state {
    struct ts_regs r;      /* rflags with bit 1 set, NT if nested, reserved bits cleared */
    uint32_t cr3;
    uint16_t ldt;
    uint16_t sel[6];       /* ES CS SS DS FS GS */
    bool trap;             /* T bit: #DB after the switch */
};

/* Decode the new TSS (its first 0x68 bytes).  Stops for a virtual-8086 task. */
int ts_new_state(const uint8_t *tss, bool nested, struct ts_state *st, struct ts_verdict *vd);

/*
 * The new task's LDTR (after CR3): null is loaded as is; TI = 1, beyond the
 * GDT, a code/data or non-LDT descriptor, or not present is #TS(ldt).
 */
bool ts_ldt_wants_desc(uint16_t ldt, bool in_gdt);
int ts_check_ldt(uint16_t ldt, bool in_gdt, uint64_t d, uint32_t ext, struct vmcb_seg *out,
                 struct ts_verdict *vd);

/*
 * Segment register `seg` (X86_SEG_*) of the new task at CPL `cpl` (CS.RPL):
 * a null CS or SS, a selector beyond its table, a system descriptor, or the
 * type/privilege rules of CS, SS and the data segments give #TS(sel); not
 * present gives #NP(sel), #SS(sel) for SS.  *set_accessed: the glue writes
 * the accessed bit back (out already has it).
 */
bool ts_seg_wants_desc(uint16_t sel, bool in_table);
int ts_check_seg(unsigned seg, uint16_t sel, bool in_table, uint64_t d, unsigned cpl, uint32_t ext,
                 struct vmcb_seg *out, bool *set_accessed, struct ts_verdict *vd);

/*
 * Push the event's error code on the new task's stack (a dword): where it
 * goes (*la) and the ESP after it; #SS(ext) if it crosses an expand-up SS's
 * limit.
 */
int ts_push_err(const struct vmcb_seg *ss, uint64_t rsp, uint32_t ext, uint64_t *la, uint64_t *new_rsp,
                struct ts_verdict *vd);

#endif
