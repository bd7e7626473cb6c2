/*
 * Which event an exit cut short: EXITINTINFO checked against what the VMM
 * knows (event.h has the rules and why Bochs needs them).  Pure C, also
 * compiled into the hosted test test/unit/test_core_event.c.
 */
#include <umbra/svm.h>
#include <umbra/x86.h>
#include "event.h"

#define EVT_TYPE_MASK (7ULL << 8)

static const char *const from_names[EVF_KINDS] = {
    [EVF_REPORTED] = "reported",
    [EVF_INJECTED] = "injected",
    [EVF_IDT_GATE] = "idt-gate",
    [EVF_INSN] = "instruction",
    [EVF_LAPIC_ISR] = "lapic-isr",
    [EVF_UNCONFIRMED] = "unconfirmed",
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

/* The vector whose IDT gate a #PF exit faulted on, or -1. */
static int idt_gate_vector(const struct svm_event_facts *f)
{
    if (f->exitcode != VMEXIT_EXC_BASE + X86_EXC_PF)
        return -1;
    uint64_t off = f->exitinfo2 - f->idt_base;
    if (!f->lma)
        off = (uint32_t)off;            /* linear addresses wrap at 4 GiB */
    if (off > f->idt_limit)
        return -1;
    uint64_t vec = off / (f->lma ? 16 : 8);
    return vec > 0xff ? -1 : (int)vec;
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

    /* 1. Our own injection, cut short before its handler ran. */
    uint64_t inj = f->run_eventinj;
    if ((inj & SVM_EVT_VALID) && f->rip == f->run_rip) {
        *from = event_id(ii) == event_id(inj) ? EVF_REPORTED : EVF_INJECTED;
        return inj;
    }

    /* 2. Is the report suspect? */
    bool impossible = type == SVM_EVT_TYPE_EXC && vec < 32 && (f->intercepted_exc >> vec & 1);
    bool suspect = impossible ||
                   ((f->last_injected & SVM_EVT_VALID) && event_id(ii) == event_id(f->last_injected));

    /* 3. The IDT gate a #PF hit names the vector (checked whether suspect or not). */
    int gate = idt_gate_vector(f);
    if (gate >= 0) {
        if ((unsigned)gate == vec && !impossible) {
            *from = EVF_REPORTED;
            return ii;
        }
        uint64_t e = soft_at_rip(f, gate);
        *from = EVF_IDT_GATE;
        return e ? e : external((unsigned)gate);
    }
    if (!suspect) {
        *from = EVF_REPORTED;
        return ii;
    }

    /* 4. A software interrupt at RIP runs again. */
    uint64_t e = soft_at_rip(f, -1);
    if (e) {
        *from = EVF_INSN;
        return e;
    }

    /* 5. The interrupt the LAPIC accepted last. */
    int isr = f->lapic_isr_top ? f->lapic_isr_top(f->arg) : -1;
    if (isr >= 32 && isr <= 0xff) {
        *from = EVF_LAPIC_ISR;
        return SVM_EVT_VALID | SVM_EVT_TYPE_INTR | (unsigned)isr;
    }

    /* 6. Nothing better known. */
    *from = impossible ? EVF_IMPOSSIBLE : EVF_UNCONFIRMED;
    return ii;
}
