/*
 * The VMCB side of the event rules (event.c, pure; event.h): after every
 * exit, the event whose delivery the exit cut short (EXITINTINFO) is found
 * with svm_event_cut_short() and queued again, or left to the re-executed
 * instruction.  Here: the facts from the VMCB, the guest reads the rules
 * may ask for (through the paging mode's read_guest hook), the LAPIC's ISR,
 * and the counters.
 */
#include <umbra/kern.h>
#include <umbra/lib.h>
#include <umbra/svm.h>
#include <umbra/x86.h>
#include "event.h"
#include "exit.h"

static uint64_t events_redelivered, events_reexecuted, events_from[EVF_KINDS];

static bool event_insn_at_rip(void *arg, uint8_t b[2])
{
    struct svm_vcpu *v = arg;
    struct vmcb *vm = v->vmcb;
    bool lma = vm->save.efer & EFER_LMA;
    uint64_t ip = vm->save.cs.base + vm->save.rip;
    return v->mmu->read_guest && v->mmu->read_guest(v, lma ? ip : (uint32_t)ip, b, 2);
}

static bool event_read_guest(void *arg, uint64_t la, void *buf, unsigned len)
{
    struct svm_vcpu *v = arg;
    bool lma = v->vmcb->save.efer & EFER_LMA;
    return v->mmu->read_guest && v->mmu->read_guest(v, lma ? la : (uint32_t)la, buf, len);
}

/*
 * The highest vector in the LAPIC's in-service register (the guest owns the
 * LAPIC, so this is its state), or -1.  Only asked when EXITINTINFO cannot
 * be taken as it is, which on hardware does not happen.
 */
static int event_lapic_isr_top(void *arg)
{
    uint64_t base;
    (void)arg;
    if (rdmsr_safe(MSR_APIC_BASE, &base) < 0 || !(base & APIC_BASE_ENABLE))
        return -1;
    for (int i = 7; i >= 0; i--) {
        uint32_t w;
        if (base & APIC_BASE_X2APIC) {
            w = (uint32_t)rdmsr(MSR_X2APIC_ISR0 + (unsigned)i);
        } else {
            paddr_t pa = (base & ~0xfffULL) + APIC_ISR0 + 0x10 * (unsigned)i;
            if (pa + 4 > DIRECT_MAP_LIMIT)
                return -1;
            w = *(volatile uint32_t *)phys_to_virt(pa);
        }
        if (w)
            return i * 32 + 31 - __builtin_clz(w);
    }
    return -1;
}

/*
 * An event cut short by the exit is delivered again on the next VMRUN --
 * except INT n, INT3 and INTO: RIP still points at the instruction, which
 * simply runs again (re-injecting would return past it twice over
 * without NRIPS).  Called only when EXITINTINFO is valid.  False: the guest
 * was stopped (the report no CPU makes), the exit is not to be handled.
 */
bool svm_event_after_exit(struct svm_vcpu *v)
{
    struct vmcb *vm = v->vmcb;
    struct svm_event_facts f = {
        .exitintinfo = vm->ctl.exitintinfo, .exitcode = vm->ctl.exitcode, .exitinfo1 = vm->ctl.exitinfo1,
        .exitinfo2 = vm->ctl.exitinfo2,
        .rip = vm->save.rip, .run_eventinj = v->run_eventinj, .run_rip = v->run_rip,
        .last_injected = v->last_eventinj, .intercepted_exc = vm->ctl.intercept_exc,
        .idt_base = vm->save.idtr.base, .idt_limit = vm->save.idtr.limit,
        .gdt_base = vm->save.gdtr.base, .gdt_limit = vm->save.gdtr.limit,
        .tss_base = vm->save.tr.base, .tss_limit = vm->save.tr.limit,
        .lma = vm->save.efer & EFER_LMA,
        .insn_at_rip = event_insn_at_rip, .read_guest = event_read_guest,
        .lapic_isr_top = event_lapic_isr_top, .arg = v,
    };
    if (vm->save.ldtr.sel & ~3u) {
        f.ldt_base = vm->save.ldtr.base;
        f.ldt_limit = vm->save.ldtr.limit;
    }
    enum svm_event_from from;
    uint64_t ii = svm_event_cut_short(&f, &from);
    uint64_t type = ii & (7ULL << 8);
    unsigned vec = ii & 0xff;
    events_from[from]++;
    if (unlikely(from == EVF_IMPOSSIBLE)) {
        /*
         * No CPU makes this report (event.h), so the emulator is broken;
         * delivering it would hand the guest a fault it never raised.
         */
        ulog("events: last injected %#lx at rip %#lx; this VMRUN injected %#lx at rip %#lx",
             v->last_eventinj, v->last_inj_rip, v->run_eventinj, v->run_rip);
        svm_dump_guest(v, "EXITINTINFO names an intercepted exception as being delivered, "
                       "which no CPU does, and the real event cannot be found");
        svm_stop(v, "event-lost", UMBRA_STATUS_ERROR);
        return false;
    }
    if (type != SVM_EVT_TYPE_SOFT &&
        !(type == SVM_EVT_TYPE_EXC && (vec == X86_EXC_BP || vec == X86_EXC_OF))) {
        vm->ctl.eventinj = ii;
        events_redelivered++;
    } else {
        events_reexecuted++;
    }
    return true;
}

void svm_event_report(void)
{
    ulog("events: cut short by an exit: redelivered=%lu, instruction re-executed=%lu",
         events_redelivered, events_reexecuted);
    if (events_from[EVF_AS_LAST])
        ulog("events: taken as reported, equal to an earlier injection=%lu", events_from[EVF_AS_LAST]);
    for (unsigned k = EVF_AS_LAST + 1; k < EVF_KINDS; k++)
        if (events_from[k])
            ulog("events: not as EXITINTINFO reported: %s=%lu", svm_event_from_name(k), events_from[k]);
}
