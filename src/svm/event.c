/*
 * Which event an exit cut short: EXITINTINFO checked against what the VMM
 * knows (event.h has the rules and why Bochs needs them).  Pure C, also
 * compiled into the hosted test test/unit/test_core_event.c.
 */
#include <umbra/svm_hw.h>
#include <umbra/x86.h>
#include "event.h"

#define EVT_TYPE_MASK (7ULL << 8)

static const char *const from_names[EVF_KINDS] = {
    [EVF_REPORTED] = "reported",
    [EVF_AS_LAST] = "as-last-injection",
    [EVF_IDT_GATE] = "idt-gate",
    [EVF_INSN] = "instruction",
    [EVF_LAPIC_ISR] = "lapic-isr",
    [EVF_IMPOSSIBLE] = "impossible",
};

const char *svm_event_from_name(enum svm_event_from k)
{
    return k < EVF_KINDS ? from_names[k] : "?";
}

/* The event format without the error-code fields: what identifies an event. */
static uint64_t event_id(uint64_t e)
{
    return e & (SVM_EVT_VALID | EVT_TYPE_MASK | 0xff);
}

/* The event a software interrupt instruction at RIP raises, if vec fits it (vec < 0: any). */
static uint64_t soft_at_rip(const struct svm_event_facts *f, int vec)
{
    uint8_t b[2];
    if (!f->insn_at_rip || !f->insn_at_rip(f->arg, b))
        return 0;
    int v = b[0] == 0xcd ? b[1] : b[0] == 0xcc ? X86_EXC_BP : b[0] == 0xce ? X86_EXC_OF :
            b[0] == 0xf1 ? X86_EXC_DB : -1;
    if (v < 0 || (vec >= 0 && v != vec))
        return 0;
    return SVM_EVT_VALID | SVM_EVT_TYPE_SOFT | (unsigned)v;
}

static uint64_t external(unsigned vec)
{
    return SVM_EVT_VALID | (vec == X86_EXC_NMI ? SVM_EVT_TYPE_NMI : SVM_EVT_TYPE_INTR) | vec;
}

/* Is linear address a in the table [base, base + limit]?  (Base 0 and limit 0: no table.) */
static bool in_table(const struct svm_event_facts *f, uint64_t a, uint64_t base, uint32_t limit)
{
    uint64_t off = a - base;
    if (!f->lma)
        off = (uint32_t)off;            /* linear addresses wrap at 4 GiB */
    return (base || limit) && off <= limit;
}

/*
 * The vector whose IDT gate a #PF exit read, or -1: a read (delivery never
 * writes a gate) inside the IDT and in no byte of the GDT, LDT or TSS, the
 * only other tables delivery reads.  True on every CPU.
 */
static int idt_gate_vector(const struct svm_event_facts *f)
{
    if (f->exitcode != VMEXIT_EXC_BASE + X86_EXC_PF || (f->exitinfo1 & PFEC_WRITE))
        return -1;
    uint64_t a = f->exitinfo2, off = a - f->idt_base;
    if (!f->lma)
        off = (uint32_t)off;            /* linear addresses wrap at 4 GiB */
    if (off > f->idt_limit || in_table(f, a, f->gdt_base, f->gdt_limit) ||
        in_table(f, a, f->ldt_base, f->ldt_limit) || in_table(f, a, f->tss_base, f->tss_limit))
        return -1;
    uint64_t vec = off / (f->lma ? 16 : 8);
    return vec > 0xff ? -1 : (int)vec;
}

/*
 * S: can the INT n / INT3 / INTO at RIP (software event `soft`) have raised
 * exception report ii during its delivery?  False only where no CPU can:
 *  - #DE, #BR, #UD (but INTO in long mode), #NM, #MF, #XM: no delivery and
 *    no software interrupt raises them, and a fault leaves RIP at its own
 *    instruction (the traps #DB, #BP, #OF are not judged);
 *  - #TS, #NP, #SS, #GP with EXT = 0 (raised by the instruction at RIP, not
 *    during an external event's delivery) naming a selector that this
 *    delivery never loads: not the gate's own IDT slot, not its CS, not a
 *    stack selector of the TSS (32-bit).  A task gate is not judged.
 * Nothing the delivery wrote (the stack) changes the gate or the TSS.
 */
static bool soft_cannot_raise(const struct svm_event_facts *f, uint64_t soft, uint64_t ii)
{
    unsigned vec = ii & 0xff, n = soft & 0xff;
    switch (vec) {
    case X86_EXC_DE: case X86_EXC_BR: case X86_EXC_NM: case X86_EXC_MF: case X86_EXC_XM:
        return true;
    case X86_EXC_UD:
        return !(f->lma && n == X86_EXC_OF);
    case X86_EXC_TS: case X86_EXC_NP: case X86_EXC_SS: case X86_EXC_GP:
        break;
    default:
        return false;
    }
    uint32_t err = (uint32_t)(ii >> 32);
    if (!(ii & SVM_EVT_ERR_VALID) || (err & 1) || !(err & ~3u) || !f->read_guest)
        return false;
    if (err & 2)                                /* IDT slot: only gate n is read */
        return (err >> 3) != n;
    uint8_t g[8];
    if (!f->read_guest(f->arg, f->idt_base + n * (f->lma ? 16u : 8u), g, 8))
        return false;
    if ((g[5] & 0x1f) == 5)                     /* task gate: many more selectors */
        return false;
    unsigned sel = (g[2] | g[3] << 8) & ~3u, e = err & ~3u;
    if (e == sel)
        return false;
    if (!f->lma) {                              /* a privilege change loads SS0..SS2 */
        for (unsigned i = 0; i < 3; i++) {
            uint8_t ss[2];
            if (!f->read_guest(f->arg, f->tss_base + 8 + 8 * i, ss, 2))
                return false;
            if (((ss[0] | ss[1] << 8) & ~3u) == e)
                return false;
        }
    }
    return true;
}

uint64_t svm_event_cut_short(const struct svm_event_facts *f, enum svm_event_from *from)
{
    uint64_t ii = f->exitintinfo;
    uint64_t type = ii & EVT_TYPE_MASK;
    unsigned vec = ii & 0xff;

    /* QEMU TCG: an interrupted external interrupt reported as an "exception" >= 32. */
    if (type == SVM_EVT_TYPE_EXC && vec >= 32) {
        ii = (ii & ~(EVT_TYPE_MASK | SVM_EVT_ERR_VALID | (0xffffffffULL << 32))) | SVM_EVT_TYPE_INTR;
        type = SVM_EVT_TYPE_INTR;
    }

    /*
     * Only an intercepted exception raised during the delivery (a #PF on the
     * IDT, GDT or stack; #DB/#BP while GDB has them) cuts it short and needs
     * it delivered again.  Other exits report an event they consume
     * themselves (TASK_SWITCH through a task gate: taskswitch.c judges the
     * report) and are left as reported.
     */
    if (f->exitcode < VMEXIT_EXC_BASE || f->exitcode >= VMEXIT_EXC_BASE + 32) {
        *from = EVF_REPORTED;
        return ii;
    }

    /* I: an intercepted exception can be under way only as this VMRUN's injection. */
    uint64_t inj = f->run_eventinj;
    bool injected_here = (inj & SVM_EVT_VALID) && f->rip == f->run_rip && event_id(ii) == event_id(inj);
    bool impossible = type == SVM_EVT_TYPE_EXC && vec < 32 && (f->intercepted_exc >> vec & 1) &&
                      !injected_here;

    /* G: the IDT gate a #PF read names the vector being delivered. */
    int gate = idt_gate_vector(f);
    if (gate >= 0 && ((unsigned)gate != vec || impossible)) {
        uint64_t e = soft_at_rip(f, gate);
        *from = EVF_IDT_GATE;
        return e ? e : external((unsigned)gate);
    }
    /* S: an exception the software interrupt at RIP cannot have raised. */
    if (!impossible && !injected_here && type == SVM_EVT_TYPE_EXC && vec < 32 && f->insn_at_rip) {
        uint64_t soft = soft_at_rip(f, -1);
        impossible = soft && soft_cannot_raise(f, soft, ii);
    }
    if (!impossible) {
        *from = !injected_here && (f->last_injected & SVM_EVT_VALID) &&
                event_id(ii) == event_id(f->last_injected) ? EVF_AS_LAST : EVF_REPORTED;
        return ii;
    }

    /* The report is wrong (a broken emulator): what else can the event be? */
    uint64_t e = soft_at_rip(f, -1);
    if (e) {
        *from = EVF_INSN;
        return e;
    }
    int isr = f->lapic_isr_top ? f->lapic_isr_top(f->arg) : -1;
    if (isr >= 32 && isr <= 0xff) {
        *from = EVF_LAPIC_ISR;
        return SVM_EVT_VALID | SVM_EVT_TYPE_INTR | (unsigned)isr;
    }
    *from = EVF_IMPOSSIBLE;
    return ii;
}
