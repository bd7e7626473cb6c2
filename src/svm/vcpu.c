/*
 * The vCPU services every exit handler calls: the next RIP, exception
 * injection with the CPU's double-fault rules, CR2, the guest's CRs as it
 * sees them, the permission maps, the diagnostic dump and the stop.  Nothing
 * here calls a handler or the exit table (exit.c): handlers call down to
 * these, never back up (the Jailhouse split of vcpu.c and the vendor exits).
 */
#include <umbra/kern.h>
#include <umbra/lib.h>
#include <umbra/svm.h>
#include <umbra/x86.h>
#include <umbra/loader.h>
#include "exit.h"

static uint8_t *iopm, *msrpm;

/* The guest machine's hooks (include/umbra/loader.h): set by its loader (src/guest), read here below. */
const struct guest_hooks *guest_hooks;

/* ---- next RIP ------------------------------------------------------------ */

/*
 * Fixed lengths of the instructions Umbra intercepts without an instruction
 * decoder (no prefixes assumed).  0 = unknown.
 */
static unsigned fixed_insn_len(struct svm_vcpu *v, uint64_t exitcode)
{
    (void)v;
    switch (exitcode) {
    case VMEXIT_CPUID: return 2;     /* 0F A2 */
    case VMEXIT_HLT: return 1;       /* F4 */
    case VMEXIT_VMMCALL: return 3;   /* 0F 01 D9 */
    case VMEXIT_MSR: return 2;       /* 0F 32 / 0F 30 */
    default: return 0;
    }
}

unsigned (*svm_insn_len)(struct svm_vcpu *v, uint64_t exitcode) = fixed_insn_len;

void svm_skip_insn(struct svm_vcpu *v)
{
    struct vmcb *vm = v->vmcb;
    if (vm->ctl.exitcode == VMEXIT_IOIO)
        vm->save.rip = vm->ctl.exitinfo2;          /* IOIO always gives the next RIP */
    else if ((v->svm_features & SVM_FEAT_NRIPS) && vm->ctl.nrip)
        vm->save.rip = vm->ctl.nrip;
    else {
        unsigned len = svm_insn_len(v, vm->ctl.exitcode);
        if (!len) {
            svm_dump_guest(v, "cannot tell the instruction length");
            svm_stop(v, "unexpected", UMBRA_STATUS_ERROR);
            return;
        }
        vm->save.rip += len;
    }
    vm->ctl.int_shadow = 0;
}

/* ---- exceptions, CR2, CRs -------------------------------------------------- */

/* Exception classes for the double-fault rules (APM vol. 2, 8.2.9). */
static bool contributory(unsigned vec)
{
    return vec == X86_EXC_DE || vec == X86_EXC_TS || vec == X86_EXC_NP || vec == X86_EXC_SS ||
           vec == X86_EXC_GP;
}

void svm_inject_exc(struct svm_vcpu *v, unsigned vector, bool has_err, uint32_t err)
{
    uint64_t first = v->vmcb->ctl.eventinj;
    if ((first & SVM_EVT_VALID) && (first & (7ULL << 8)) == SVM_EVT_TYPE_EXC) {
        /* The new exception arose while delivering `first` (re-queued from EXITINTINFO). */
        unsigned f = first & 0xff;
        if (f == X86_EXC_DF) {
            svm_dump_guest(v, "guest triple fault (fault while delivering #DF)");
            svm_stop(v, "triple-fault", UMBRA_STATUS_TRIPLE_FAULT);
            return;
        }
        if ((f == X86_EXC_PF && (vector == X86_EXC_PF || contributory(vector))) ||
            (contributory(f) && contributory(vector))) {
            vector = X86_EXC_DF;
            has_err = true;
            err = 0;
        }
    }
    uint64_t e = SVM_EVT_VALID | SVM_EVT_TYPE_EXC | (vector & 0xff);
    if (has_err)
        e |= SVM_EVT_ERR_VALID | ((uint64_t)err << 32);
    v->vmcb->ctl.eventinj = e;
}

void svm_set_guest_cr2(struct svm_vcpu *v, uint64_t cr2)
{
    v->vmcb->save.cr2 = cr2;
    __asm__ volatile("mov %0, %%cr2" :: "r"(cr2) : "memory");
}

uint64_t svm_guest_cr(struct svm_vcpu *v, unsigned cr)
{
    if (v->mmu->guest_cr)
        return v->mmu->guest_cr(v, cr);
    const struct vmcb_save *s = &v->vmcb->save;
    return cr == 0 ? s->cr0 : cr == 3 ? s->cr3 : cr == 4 ? s->cr4 : 0;
}

/* ---- the permission maps (allocated by svm_vcpu_alloc(), svm.c) ----------- */

void svm_vcpu_maps(uint8_t *iopm_va, uint8_t *msrpm_va)
{
    iopm = iopm_va;
    msrpm = msrpm_va;
}

void svm_iopm_intercept(unsigned port, bool on)
{
    if (on)
        iopm[port / 8] |= (uint8_t)(1u << (port % 8));
    else
        iopm[port / 8] &= (uint8_t)~(1u << (port % 8));
}

/* MSRPM: 2 bits per MSR (read, write), three 2 KiB ranges. */
void svm_msrpm_intercept(uint32_t msr)
{
    uint32_t base;
    if (msr < 0x2000)
        base = 0;
    else if (msr - 0xC0000000u < 0x2000)
        base = 0x800, msr -= 0xC0000000u;
    else
        base = 0x1000, msr -= 0xC0010000u;
    unsigned bit = msr * 2;
    msrpm[base + bit / 8] |= (uint8_t)(3u << (bit % 8));
}

/*
 * Every guest TLB entry is in the guest's ASID (1), so with FlushByAsid
 * (Bochs) TLB_CONTROL = 3 flushes exactly what 1 does for the guest and
 * keeps Umbra's own (ASID 0) translations across the VMRUN; without it
 * (QEMU TCG) 3 is reserved and 1 flushes everything.
 */
void svm_flush_guest_tlb(struct svm_vcpu *v)
{
    v->vmcb->ctl.tlb_control = (v->svm_features & SVM_FEAT_FLUSHBYASID) ? SVM_TLB_FLUSH_ASID
                                                                          : SVM_TLB_FLUSH_ALL;
}

/* ---- diagnostics and the stop ------------------------------------------------ */

void svm_dump_guest(struct svm_vcpu *v, const char *why)
{
    struct vmcb *vm = v->vmcb;
    struct guest_regs *r = &v->regs;
    char nb[24];
    ulog("%s: exit %s (code %#lx) exitinfo1=%#lx exitinfo2=%#lx exitintinfo=%#lx", why,
         svm_exit_name(vm->ctl.exitcode, nb, sizeof(nb)), vm->ctl.exitcode, vm->ctl.exitinfo1,
         vm->ctl.exitinfo2, vm->ctl.exitintinfo);
    ulog("  rip=%08lx rsp=%08lx rflags=%08lx cs=%04x cpl=%u", vm->save.rip, vm->save.rsp,
         vm->save.rflags, vm->save.cs.sel, vm->save.cpl);
    ulog("  rax=%08lx rbx=%08lx rcx=%08lx rdx=%08lx", vm->save.rax, r->rbx, r->rcx, r->rdx);
    ulog("  rsi=%08lx rdi=%08lx rbp=%08lx r8=%lx r9=%lx", r->rsi, r->rdi, r->rbp, r->r8, r->r9);
    ulog("  cr0=%08lx cr2=%08lx cr3=%08lx cr4=%08lx efer=%lx", svm_guest_cr(v, 0), vm->save.cr2,
         svm_guest_cr(v, 3), svm_guest_cr(v, 4), v->mmu->efer_read(v));
    if (v->mmu->guest_cr)
        ulog("  hardware: cr0=%08lx cr3=%08lx cr4=%08lx efer=%lx", vm->save.cr0, vm->save.cr3,
             vm->save.cr4, vm->save.efer);
}

void svm_exit_unexpected(struct svm_vcpu *v)
{
    svm_dump_guest(v, "unexpected exit");
    svm_stop(v, "unexpected", UMBRA_STATUS_ERROR);
}

void svm_stop(struct svm_vcpu *v, const char *reason, unsigned status)
{
    v->stop = true;
    v->stop_reason = reason;
    v->stop_status = status;
}
