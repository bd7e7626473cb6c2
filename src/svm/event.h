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
 * Pure: no hardware access; the facts that cost something (guest bytes at
 * RIP, an IDT gate, the LAPIC's in-service register) are asked through
 * callbacks, and only for a report that is an exception or impossible.  Compiled into umbra.elf
 * and into test/unit/test_core_event.
 */
#ifndef UMBRA_SVM_EVENT_H
#define UMBRA_SVM_EVENT_H

#include <umbra/types.h>

struct svm_event_facts {
    uint64_t exitintinfo;       /* EXITINTINFO as reported (SVM_EVT_VALID set) */
    uint64_t exitcode;
    uint64_t exitinfo1;         /* for a #PF exit: the error code */
    uint64_t exitinfo2;         /* for a #PF exit: the faulting linear address */
    uint64_t rip;               /* guest RIP at the exit */
    uint64_t run_eventinj;      /* EVENTINJ of the VMRUN that exited (0: none) ... */
    uint64_t run_rip;           /* ... and the RIP it was injected at */
    uint64_t last_injected;     /* the last event any VMRUN injected (0: none yet) */
    uint32_t intercepted_exc;   /* exception intercept bitmap of that VMRUN */
    uint64_t idt_base;
    uint32_t idt_limit;
    /* The other tables event delivery reads (limit 0 with base 0: none). */
    uint64_t gdt_base, ldt_base, tss_base;
    uint32_t gdt_limit, ldt_limit, tss_limit;
    bool lma;                   /* long mode: 16-byte gates, no 4 GiB wrap */
    /* The two bytes at guest CS:RIP; false if they cannot be read. */
    bool (*insn_at_rip)(void *arg, uint8_t b[2]);
    /* len guest bytes at linear address la (an IDT gate, a TSS field); false if unreadable. */
    bool (*read_guest)(void *arg, uint64_t la, void *buf, unsigned len);
    /* The highest vector in the LAPIC's in-service register; -1 if none or no LAPIC. */
    int (*lapic_isr_top)(void *arg);
    void *arg;
};

/* Where the answer came from (counted per kind in the exit summary). */
enum svm_event_from {
    EVF_REPORTED,       /* EXITINTINFO, nothing against it */
    EVF_AS_LAST,        /* EXITINTINFO, taken; it equals an earlier injection (Bochs may be stale) */
    EVF_IDT_GATE,       /* the faulting IDT gate names another vector */
    EVF_INSN,           /* impossible report; a software interrupt instruction at RIP */
    EVF_LAPIC_ISR,      /* impossible report; the interrupt the LAPIC has in service */
    EVF_IMPOSSIBLE,     /* impossible report and nothing better known: a broken emulator */
    EVF_KINDS
};

/*
 * f->exitintinfo has SVM_EVT_VALID.  Returns the event to deliver again, in
 * EVENTINJ format (for EVF_IMPOSSIBLE the report itself: the caller must
 * not deliver it).  Only an exit raised by an intercepted exception (the
 * fault that cut the delivery short) is judged; any other exit's report is
 * taken (a TASK_SWITCH exit consumes its event, taskswitch.c judges it).
 *
 * A report is taken whenever some CPU could make it (APM vol. 2, 15.7.2):
 * Umbra's own injection, an exception raised by the instruction at RIP or
 * by an earlier delivery, INT n / INT3 / INTO, an external interrupt, an
 * NMI.  It is overruled only by what no CPU can do:
 *   I.  an exception Umbra intercepts being delivered when this VMRUN did
 *       not inject it (the same event, at this RIP): the CPU exits on those
 *       instead of delivering them, so only an injection is ever under way;
 *   S.  an exception that the INT n / INT3 / INTO at RIP cannot have raised
 *       (event.c: soft_cannot_raise(); Bochs 2.7 does not record INT n and
 *       reports the exception it recorded last, e.g. an earlier #NP(sel));
 *   G.  a #PF that reads the IDT gate of a vector other than the report's,
 *       at an address in no GDT, LDT or TSS byte (delivery reads only its
 *       own gate; the stack is written, not read): that gate's vector, as
 *       INT n / INT3 / INTO if that instruction is at RIP, else NMI for
 *       vector 2, else an external interrupt.
 * An impossible report (I or S, not settled by G) is replaced by an INT n / INT3
 * / INTO at RIP (it runs again), else by the LAPIC's highest in-service
 * interrupt (the LAPIC accepts one only above everything in service, and
 * the guest has run no EOI since), else EVF_IMPOSSIBLE.  These two guesses
 * are made only for a report known to be wrong.
 * Not a rule: "this VMRUN's injection is reported but RIP moved" -- the same
 * INTR or non-intercepted exception can come again natively in one VMRUN.
 * QEMU TCG reports an interrupted external interrupt as an exception of its
 * vector (>= 32); such a report is first turned into the external interrupt.
 * Bochs 2.7 (see above) makes reports that break I or G; its stale report
 * of an event that is possible (an earlier injected INTR, an exception Umbra
 * does not intercept) cannot be told from a real one and is taken
 * (EVF_AS_LAST counts those equal to an earlier injection).
 */
uint64_t svm_event_cut_short(const struct svm_event_facts *f, enum svm_event_from *from);

/* Name of a kind, for the exit summary. */
const char *svm_event_from_name(enum svm_event_from k);

#endif
