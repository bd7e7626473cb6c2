/*
 * Private to src/svm: which event an exit cut short.
 *
 * An exit that interrupts the delivery of an event (a #PF on the IDT, the
 * GDT or the stack while an interrupt or exception is being delivered)
 * reports it in EXITINTINFO, and the VMM delivers it again on the next
 * VMRUN.  On hardware and in QEMU the report is right.  Bochs 2.7 sets the
 * valid bit correctly (it means "a delivery was under way") but rewrites the
 * rest only when VMRUN injects an event and when the guest raises an
 * exception Umbra does not intercept (bochs/cpu/svm.cc: SvmInjectEvents,
 * SvmInterceptException): a delivery Bochs starts by itself -- a physical
 * interrupt, an NMI, INT n -- is reported with whatever it recorded last.
 * svm_event_cut_short() checks the report against what can be known and,
 * where it cannot be the event, finds the real one.
 *
 * Pure: no hardware access; the two facts that cost something (guest bytes
 * at RIP, the LAPIC's in-service register) are asked through callbacks and
 * only for a report that cannot be taken as it is.  Compiled into umbra.elf
 * and into test/unit/test_core_event.
 */
#ifndef UMBRA_SVM_EVENT_H
#define UMBRA_SVM_EVENT_H

#include <umbra/types.h>

struct svm_event_facts {
    uint64_t exitintinfo;       /* EXITINTINFO as reported (SVM_EVT_VALID set) */
    uint64_t exitcode;
    uint64_t exitinfo2;         /* for a #PF exit: the faulting linear address */
    uint64_t rip;               /* guest RIP at the exit */
    uint64_t run_eventinj;      /* EVENTINJ of the VMRUN that exited (0: none) ... */
    uint64_t run_rip;           /* ... and the RIP it was injected at */
    uint64_t last_injected;     /* the last event any VMRUN injected (0: none yet) */
    uint32_t intercepted_exc;   /* exception intercept bitmap of that VMRUN */
    uint64_t idt_base;
    uint32_t idt_limit;
    bool lma;                   /* long mode: 16-byte gates, no 4 GiB wrap */
    /* The two bytes at guest CS:RIP; false if they cannot be read. */
    bool (*insn_at_rip)(void *arg, uint8_t b[2]);
    /* The highest vector in the LAPIC's in-service register; -1 if none or no LAPIC. */
    int (*lapic_isr_top)(void *arg);
    void *arg;
};

/* Where the answer came from (counted per kind in the exit summary). */
enum svm_event_from {
    EVF_REPORTED,       /* EXITINTINFO, nothing against it */
    EVF_INJECTED,       /* the event this VMRUN injected, still at its RIP */
    EVF_IDT_GATE,       /* the faulting IDT gate names another vector */
    EVF_INSN,           /* a software interrupt instruction at RIP */
    EVF_LAPIC_ISR,      /* the interrupt the LAPIC has in service */
    EVF_UNCONFIRMED,    /* suspect (equals the last injection) but nothing better known */
    EVF_IMPOSSIBLE,     /* names an intercepted exception and nothing better known */
    EVF_KINDS
};

/*
 * f->exitintinfo has SVM_EVT_VALID.  Returns the event to deliver again, in
 * EVENTINJ format (for EVF_IMPOSSIBLE the report itself: the caller must
 * not deliver it).  Only an exit raised by an intercepted exception (the
 * fault that cut the delivery short) is judged; any other exit's report is
 * taken (a TASK_SWITCH exit consumes its event, taskswitch.c judges it).
 * The rules, in order:
 *   1. this VMRUN injected an event and the guest is still at its RIP: that
 *      event (had its delivery completed, RIP would be in the handler);
 *   2. a report is suspect if it names an exception Umbra intercepts (the
 *      CPU exits instead of delivering those, so only an injection -- rule 1
 *      -- can be under way) or equals the last injection; others are taken;
 *   3. a #PF on an IDT gate names the vector being delivered (delivery reads
 *      only its own gate): the report if it agrees, else an INT n / INT3 /
 *      INTO / INT1 of that vector at RIP (software), else an external
 *      interrupt (NMI for vector 2);
 *   4. a suspect report with a software interrupt instruction at RIP: that
 *      instruction, run again;
 *   5. a suspect report with an interrupt in service at the LAPIC: that
 *      interrupt (the LAPIC accepts an interrupt only above the priority of
 *      everything in service, so the newest is the highest; the guest has
 *      run no instruction since, so no EOI came between);
 *   6. otherwise the report (EVF_UNCONFIRMED), or EVF_IMPOSSIBLE.
 * QEMU TCG reports an interrupted external interrupt as an exception of its
 * vector (>= 32); such a report is turned into the external interrupt.
 */
uint64_t svm_event_cut_short(const struct svm_event_facts *f, enum svm_event_from *from);

/* Name of a kind, for the exit summary. */
const char *svm_event_from_name(enum svm_event_from k);

#endif
