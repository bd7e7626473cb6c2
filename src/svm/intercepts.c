/*
 * The intercepts every guest has, whatever its paging mode: CPUID, HLT,
 * IOIO, MSR, VMMCALL (Umbra's hypercalls), SHUTDOWN and the SVM
 * instructions.  Registered in exit.c's table; each calls the vCPU services
 * (vcpu.c) and the rooms it serves (apic.c, pcicfg.c, the GDB stub's PIC
 * ports, the guest machine's hooks), never back into exit.c.
 */
#include <umbra/kern.h>
#include <umbra/lib.h>
#include <umbra/svm.h>
#include <umbra/x86.h>
#include <umbra/platform.h>
#include <umbra/loader.h>
#include <umbra/iommu.h>
#include <umbra/watchdog.h>
#include "gdb/gdb.h"
#include "apic.h"
#include "exit.h"
#include "watchdog.h"

static unsigned long vmmcall_user_ud;   /* VMMCALLs from CPL > 0 answered with #UD */

void svm_exit_cpuid(struct svm_vcpu *v)
{
    struct vmcb *vm = v->vmcb;
    uint32_t leaf = (uint32_t)vm->save.rax, sub = (uint32_t)v->regs.rcx, r[4];

    if (leaf >= 0x40000000 && leaf <= 0x400000ff) {
        r[0] = r[1] = r[2] = r[3] = 0;
        if (leaf == 0x40000000) {
            r[0] = 0x40000001;
            memcpy(&r[1], "Umbr", 4);
            memcpy(&r[2], "aUmb", 4);
            memcpy(&r[3], "raUm", 4);
        } else if (leaf == 0x40000001) {
            r[0] = HC_ABI_VERSION;
        }
    } else {
        cpuid(leaf, sub, r);
        /*
         * MONITOR/MWAIT and MONITORX/MWAITX are hidden (as KVM does): a guest
         * MWAIT would sleep the physical CPU, and Bochs 2.7's MWAITX never
         * wakes on its TSC deadline, which hangs Linux's udelay() for good
         * (test/linux/README.md).  Hidden, Linux idles with HLT and delays
         * with the TSC loop.
         */
        /*
         * OSXSAVE (1.ECX[27]) and OSPKE (7.0.ECX[4]) mirror the guest's
         * CR4.OSXSAVE and CR4.PKE, as on the CPU; executed here they would
         * show Umbra's CR4 (which sets PKE for RDPKRU, platform.c).
         */
        uint64_t cr4 = svm_guest_cr(v, 4);
        if (leaf == 1)
            r[2] = ((r[2] | 1u << 31) & ~(1u << 3 | 1u << 27))   /* hypervisor present; no MONITOR */
                 | ((cr4 & X86_CR4_OSXSAVE) ? 1u << 27 : 0);
        else if (leaf == 7 && sub == 0)
            r[2] = (r[2] & ~(1u << 4)) | ((cr4 & X86_CR4_PKE) ? 1u << 4 : 0);
        else if (leaf == 5)
            r[0] = r[1] = r[2] = r[3] = 0;           /* MONITOR/MWAIT leaf */
        else if (leaf == 0x80000001)
            r[2] &= ~(1u << 2 | 1u << 29);           /* hide SVM and MONITORX */
        else if (leaf == 0x8000000A)
            r[0] = r[1] = r[2] = r[3] = 0;
        if (v->mmu->cpuid)
            v->mmu->cpuid(v, leaf, sub, r);
    }
    vm->save.rax = r[0];
    v->regs.rbx = r[1];
    v->regs.rcx = r[2];
    v->regs.rdx = r[3];
    svm_skip_insn(v);
}

void svm_exit_hlt(struct svm_vcpu *v)
{
    if (!(v->vmcb->save.rflags & X86_RFLAGS_IF)) {
        /* Nothing can wake it: report instead of spinning until a timeout. */
        ulog("guest halted with interrupts disabled at rip=%#lx", v->vmcb->save.rip);
        svm_stop(v, "halt", UMBRA_STATUS_ERROR);
        return;
    }
    /*
     * HLT waits, as on the CPU: the guest re-enters at its HLT with the HLT
     * intercept off (svm_run_guest() turns it back on after the next exit
     * of any kind), so the CPU itself halts until an interrupt arrives and
     * delivers it to the guest.  The interrupt shadow of an `sti; hlt` is
     * kept (the VMCB's, untouched), so a wake-up cannot slip in between.
     * Umbra still sees the next interrupt when GDB is on (INTR intercept).
     * The wait also intercepts INTR (svm_wd_hlt_wait(), watchdog.c H1/H4):
     * an interrupt that came while this exit was handled must end the
     * wait past the HLT, not be taken before it.  With the watchdog CPU
     * on, its NMIs must not end the wait: watchdog.c puts the guest back
     * on its HLT (H2).
     */
    v->vmcb->ctl.intercept_misc1 &= ~INTERCEPT1_HLT;
    v->hlt_waits++;
    v->hlt_wait_rip = v->vmcb->save.rip;
    svm_wd_hlt_wait(v);
}

static unsigned bochs_shutdown_pos;

void svm_exit_ioio(struct svm_vcpu *v)
{
    struct vmcb *vm = v->vmcb;
    uint32_t info = (uint32_t)vm->ctl.exitinfo1;
    unsigned port = info >> IOIO_PORT_SHIFT;
    unsigned size = (info >> IOIO_SZ_SHIFT) & 7;

    if (unlikely(svm_gdb_on) && svm_gdb_ioio(v, port, info))
        return;                                   /* a PIC port the GDB stub watches */
    if (guest_hooks && guest_hooks->ioio && !(info & (IOIO_STR | IOIO_REP)) &&
        guest_hooks->ioio(v, port, size, info & IOIO_IN))
        return;
    if (iommu_active && !(info & (IOIO_STR | IOIO_REP)) && svm_pcicfg_ioio(v, port, size, info & IOIO_IN))
        return;                                   /* PCI config ports (pcicfg.c) */
    if (info & (IOIO_STR | IOIO_REP)) {
        svm_exit_unexpected(v);
        return;
    }
    if (info & IOIO_IN) {
        /* Umbra's ports read as an absent device. */
        uint64_t mask = size == 1 ? 0xff : size == 2 ? 0xffff : 0xffffffff;
        vm->save.rax = (vm->save.rax & ~mask) | mask;
        svm_skip_insn(v);
        return;
    }
    svm_skip_insn(v);
    if (port == PORT_DEBUG_EXIT) {
        svm_stop(v, "port-f4", (unsigned)(vm->save.rax & 0xff));
    } else if (port == PORT_BOCHS_SHUTDOWN) {
        /* Bochs' "Shutdown" sequence, one byte at a time. */
        static const char word[] = "Shutdown";
        char c = (char)vm->save.rax;
        bochs_shutdown_pos = c == word[bochs_shutdown_pos] ? bochs_shutdown_pos + 1 :
                             c == word[0] ? 1 : 0;
        if (bochs_shutdown_pos == sizeof(word) - 1)
            svm_stop(v, "port-8900", 0);
    }
    /* COM2 (gdb=com2) writes are dropped until the GDB stub owns the port. */
}

void svm_exit_msr(struct svm_vcpu *v)
{
    struct vmcb *vm = v->vmcb;
    uint32_t msr = (uint32_t)v->regs.rcx;
    bool write = vm->ctl.exitinfo1 & 1;
    uint64_t val = (vm->save.rax & 0xffffffff) | (v->regs.rdx << 32);

    switch (msr) {
    case MSR_EFER:
        if (write) {
            uint64_t ok = EFER_SCE | EFER_LME | EFER_LMA;
            if (plat_cpu_features()->nx)
                ok |= EFER_NXE;
            if (val & ~ok) {
                svm_inject_exc(v, X86_EXC_GP, true, 0);
                return;
            }
            if (v->mmu->efer_write(v, val) < 0)
                return;                    /* a fault was injected or the guest stopped */
        } else {
            val = v->mmu->efer_read(v);
        }
        break;
    case MSR_VM_CR:
    case MSR_VM_HSAVE_PA:
        /* SVM is hidden: reads see nothing, writes fault. */
        if (write) {
            svm_inject_exc(v, X86_EXC_GP, true, 0);
            return;
        }
        val = msr == MSR_VM_CR ? VM_CR_SVMDIS : 0;
        break;
    case MSR_APIC_BASE:
    case MSR_X2APIC_ICR:
        /* The APIC stays where its write trap is; IPIs reach this CPU only (apic.c). */
        if (svm_apic_msr(v, msr, write, &val) < 0) {
            svm_inject_exc(v, X86_EXC_GP, true, 0);
            return;
        }
        break;
    default:
        svm_exit_unexpected(v);
        return;
    }
    if (!write) {
        vm->save.rax = val & 0xffffffff;
        v->regs.rdx = val >> 32;
    }
    svm_skip_insn(v);
}

void svm_exit_vmmcall(struct svm_vcpu *v)
{
    struct vmcb *vm = v->vmcb;
    uint32_t fn = (uint32_t)vm->save.rax;
    uint64_t ret = 0;

    /*
     * The hypercalls are the guest kernel's: from CPL > 0 (ring 1-3, V86)
     * VMMCALL raises #UD, as it does on a CPU with no hypervisor behind it.
     */
    if (vm->save.cpl != 0) {
        vmmcall_user_ud++;
        svm_inject_exc(v, X86_EXC_UD, false, 0);
        return;
    }
    svm_skip_insn(v);
    switch (fn) {
    case HC_PRINT: {
        uint64_t gpa = (uint32_t)v->regs.rbx, len = (uint32_t)v->regs.rcx;
        if (len > HC_PRINT_MAX || gpa + len > umbra_layout.reserve_lo ||
            (iommu_active && iommu_mmio_overlaps(gpa, len))) {
            ret = 0xffffffff;
            break;
        }
        ulog("guest: %.*s", (int)len, (const char *)phys_to_virt(gpa));
        break;
    }
    case HC_EXIT:
        svm_stop(v, "hypercall", (unsigned)v->regs.rbx);
        break;
    default:
        ret = 0xffffffff;
        break;
    }
    vm->save.rax = ret;
}

void svm_exit_shutdown(struct svm_vcpu *v)
{
    svm_dump_guest(v, "guest triple fault");
    svm_stop(v, "triple-fault", UMBRA_STATUS_TRIPLE_FAULT);
}

/* SVM instructions: the guest sees no SVM, so they raise #UD as on a CPU without it. */
void svm_exit_svm_insn(struct svm_vcpu *v)
{
    svm_inject_exc(v, X86_EXC_UD, false, 0);
}

void svm_intercepts_report(void)
{
    if (vmmcall_user_ud)
        ulog("vmmcall: from CPL > 0, #UD raised=%lu", vmmcall_user_ud);
}
