/*
 * SVM bring-up and the run loop: detect and enable SVM, choose the paging
 * mode, build the VMCB for a Multiboot v1 guest (32-bit protected mode,
 * paging off, flat segments), and VMRUN until a handler stops the guest.
 * The top of src/svm: the loop calls svm_handle_exit() (exit.c) and the
 * end-of-run reports; nothing in src/svm calls back up here.
 */
#include <umbra/kern.h>
#include <umbra/lib.h>
#include <umbra/svm.h>
#include <umbra/x86.h>
#include <umbra/mb.h>
#include <umbra/loader.h>
#include <umbra/iommu.h>
#include "gdb/gdb.h"
#include "exit.h"
#include "paging.h"
#include "taskswitch.h"
#include "apic.h"
#include "exitprof.h"
#include "nmi.h"
#include "watchdog.h"
#include <umbra/watchdog.h>

static uint8_t host_save_area[4096] __attribute__((aligned(4096)));
static uint8_t *iopm, *msrpm;   /* vcpu.c sets and clears their bits (svm_vcpu_maps()) */
static paddr_t iopm_pa, msrpm_pa;

int svm_init(uint32_t *features)
{
    uint32_t r[4];

    cpuid(0x80000000, 0, r);
    uint32_t max_ext = r[0];
    cpuid(0x80000001, 0, r);
    if (max_ext < 0x8000000A || !(r[2] & (1u << 2))) {
        ulog("svm: not available: CPUID 8000_0001 ECX[2] (SVM) is clear; Umbra needs AMD-V");
        return -1;
    }
    uint64_t vm_cr;
    if (rdmsr_safe(MSR_VM_CR, &vm_cr) < 0) {
        ulog("svm: VM_CR not readable, assuming SVM is enabled");
    } else if (vm_cr & VM_CR_SVMDIS) {
        ulog("svm: disabled by firmware (VM_CR.SVMDIS=1); enable SVM/AMD-V in the BIOS setup");
        return -1;
    }
    cpuid(0x8000000A, 0, r);
    *features = r[3];
    ulog("svm: revision %u, %u ASIDs, NP=%u NRIPS=%u FlushByAsid=%u DecodeAssists=%u",
         r[0] & 0xff, r[1], !!(r[3] & SVM_FEAT_NP), !!(r[3] & SVM_FEAT_NRIPS),
         !!(r[3] & SVM_FEAT_FLUSHBYASID), !!(r[3] & SVM_FEAT_DECODE));
    if (r[1] < 2) {
        ulog("svm: needs at least 2 ASIDs");
        return -1;
    }
    wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_SVME);
    wrmsr(MSR_VM_HSAVE_PA, kva_to_pa(host_save_area));
    return 0;
}

/*
 * The guest paging mode, chosen in one place.  Each mode is a struct
 * paging_ops: how the VMCB is set up and what CR writes, #PF, INVLPG, NPF
 * and EFER accesses do.
 *   npt     nested paging (npt.c);
 *   shadow  the shadow MMU (src/shadow via shadow_paging.c): the hardware
 *           runs shadow page tables built from the guest's; CR accesses,
 *           #PF, INVLPG, EFER and task switches are intercepted.
 */
const struct paging_ops *paging_select(int kind)
{
    return kind == PAGING_SHADOW ? &shadow_paging_ops : &npt_paging_ops;
}

int svm_vcpu_alloc(struct svm_vcpu *v, struct frame_alloc *fa)
{
    paddr_t vmcb_pa = frame_alloc_n(fa, 1);
    iopm_pa = frame_alloc_n(fa, 3);
    msrpm_pa = frame_alloc_n(fa, 2);
    if (!vmcb_pa || !iopm_pa || !msrpm_pa) {
        ulog("svm: out of memory for the VMCB and permission maps");
        return -1;
    }
    v->vmcb_pa = vmcb_pa;
    v->vmcb = phys_to_virt(vmcb_pa);
    iopm = phys_to_virt(iopm_pa);
    msrpm = phys_to_virt(msrpm_pa);
    memset(v->vmcb, 0, PAGE_SIZE);
    memset(iopm, 0, 3 * PAGE_SIZE);
    memset(msrpm, 0, 2 * PAGE_SIZE);
    svm_vcpu_maps(iopm, msrpm);
    svm_iopm_intercept(PORT_DEBUG_EXIT, true);
    svm_iopm_intercept(PORT_BOCHS_SHUTDOWN, true);
    if (umbra_opts.gdb == GDB_COM2 ||         /* the GDB stub's UART is Umbra's */
        (umbra_opts.gdb == GDB_COM1 && umbra_opts.console != CONSOLE_COM1))
        for (unsigned p = 0; p < 8; p++)
            svm_iopm_intercept((umbra_opts.gdb == GDB_COM2 ? 0x2f8 : 0x3f8) + p, true);
    svm_msrpm_intercept(MSR_EFER);
    svm_msrpm_intercept(MSR_VM_CR);
    svm_msrpm_intercept(MSR_VM_HSAVE_PA);
    svm_msrpm_intercept(MSR_APIC_BASE);      /* the APIC page must not move away from its write trap */
    svm_msrpm_intercept(MSR_X2APIC_ICR);     /* x2APIC IPIs: filtered (apic.c) */
    svm_apic_init();
    return 0;
}

static void seg(struct vmcb_seg *s, uint16_t sel, uint16_t attrib, uint32_t limit)
{
    s->sel = sel;
    s->attrib = attrib;
    s->limit = limit;
    s->base = 0;
}

/* The multiboot v1 machine state: 32-bit flat protected mode, paging off. */
static void vmcb_init(struct svm_vcpu *v, uint32_t entry, uint32_t info)
{
    struct vmcb *vm = v->vmcb;

    vm->ctl.intercept_misc1 = INTERCEPT1_CPUID | INTERCEPT1_HLT | INTERCEPT1_INVLPGA |
                              INTERCEPT1_IOIO | INTERCEPT1_MSR | INTERCEPT1_SHUTDOWN |
                              INTERCEPT1_SMI;   /* SMM runs in Umbra's context: exit.c exit_smi() */
    vm->ctl.intercept_misc2 = INTERCEPT2_VMRUN | INTERCEPT2_VMMCALL | INTERCEPT2_VMLOAD |
                              INTERCEPT2_VMSAVE | INTERCEPT2_STGI | INTERCEPT2_CLGI |
                              INTERCEPT2_SKINIT;
    vm->ctl.iopm_base_pa = iopm_pa;
    vm->ctl.msrpm_base_pa = msrpm_pa;
    vm->ctl.asid = 1;
    vm->ctl.tlb_control = 1;   /* first run: start from a clean ASID */

    seg(&vm->save.cs, 0x10, SVM_ATTR_CODE32, 0xffffffff);
    seg(&vm->save.ds, 0x18, SVM_ATTR_DATA32, 0xffffffff);
    vm->save.es = vm->save.ss = vm->save.fs = vm->save.gs = vm->save.ds;
    seg(&vm->save.tr, 0, SVM_ATTR_TSS32, 0xffff);
    seg(&vm->save.ldtr, 0, SVM_ATTR_LDT, 0xffff);
    seg(&vm->save.gdtr, 0, 0, 0xffff);
    seg(&vm->save.idtr, 0, 0, 0xffff);
    vm->save.cpl = 0;
    vm->save.efer = EFER_SVME;       /* VMRUN requires it; the guest never sees it */
    v->guest_efer = 0;
    vm->save.cr0 = X86_CR0_PE | X86_CR0_ET;
    vm->save.cr3 = 0;
    vm->save.cr4 = 0;
    vm->save.dr6 = 0xffff0ff0;
    vm->save.dr7 = 0x400;
    vm->save.rflags = X86_RFLAGS_FIXED;
    vm->save.rip = entry;
    v->hlt_wait_rip = ~0ULL;
    vm->save.rsp = 0;
    vm->save.rax = MB1_BOOTLOADER_MAGIC;
    vm->save.g_pat = 0x0007040600070406ULL;   /* the power-on PAT */
    memset(&v->regs, 0, sizeof(v->regs));
    v->regs.rbx = info;
    if (guest_hooks && guest_hooks->entry)
        guest_hooks->entry(v);
}

/* The guest's paging mode from its own CR0/CR4/EFER (under shadow paging, not the hardware's). */
static const char *guest_paging_name(struct svm_vcpu *v)
{
    if (!(svm_guest_cr(v, 0) & X86_CR0_PG))
        return "off";
    if (v->mmu->efer_read(v) & EFER_LMA)
        return "long mode (4-level)";
    return (svm_guest_cr(v, 4) & X86_CR4_PAE) ? "PAE" : "2-level";
}

unsigned svm_run_guest(struct svm_vcpu *v, uint32_t entry, uint32_t info)
{
    vmcb_init(v, entry, info);
    ulog("guest: entry %#x, info %#x, paging=%s, nRIP from %s", entry, info, v->mmu->name,
         (v->svm_features & SVM_FEAT_NRIPS) ? "VMCB (NRIPS)" : "instruction lengths");
    int r = v->mmu->init(v);
    svm_pcicfg_init();
    console_drain();    /* the guest's UART init would drop what is still in the FIFO */
    if (r < 0) {
        svm_stop(v, "error", UMBRA_STATUS_ERROR);
    } else {
        struct vmcb *vm = v->vmcb;
        svm_gdb_start(v);
        svm_wd_start(v);
        void (*pre_vmrun)(struct svm_vcpu *) = v->mmu->pre_vmrun;
        while (!v->stop) {
            if (pre_vmrun) {
                pre_vmrun(v);
                if (unlikely(v->stop))
                    break;
            }
            if (unlikely(v->nmi_pending | v->nmi_step | nmi_host_for_guest))
                svm_nmi_before_vmrun(v);
            if (vm->ctl.tlb_control)
                v->full_flushes++;
            if (unlikely(svm_gdb_on))
                svm_gdb_before_vmrun(v);
            v->run_eventinj = vm->ctl.eventinj;
            if (unlikely(vm->ctl.eventinj & SVM_EVT_VALID)) {
                v->last_eventinj = vm->ctl.eventinj;
                v->last_inj_rip = vm->save.rip;
            }
            v->run_rip = vm->save.rip;
            exitprof_entry(v, vm->ctl.exitcode);
            svm_vmrun(v);
            exitprof_exit(v);
            vm->ctl.tlb_control = 0;
            vm->ctl.eventinj = 0;
            vm->ctl.intercept_misc1 |= INTERCEPT1_HLT;   /* after a native HLT wait (svm_exit_hlt) */
            svm_handle_exit(v);
            if (iommu_active)
                iommu_poll_events();
            if (unlikely(svm_gdb_on))
                svm_gdb_after_exit(v);
        }
    }
    svm_gdb_end(v);
    ulog("exit reason=%s status=%u", v->stop_reason, v->stop_status);
    ulog("guest paging at exit: %s (cr0=%#lx cr4=%#lx efer=%#lx)", guest_paging_name(v),
         svm_guest_cr(v, 0), svm_guest_cr(v, 4), v->mmu->efer_read(v));
    svm_print_exit_counts();
    svm_event_report();
    svm_task_switch_report();
    svm_intercepts_report();
    svm_apic_report();
    svm_nmi_report();
    svm_wd_report();
    ulog("tlb: full flushes=%lu", v->full_flushes);
    ulog("hlt: waits in the guest's own HLT=%lu", v->hlt_waits);
    if (v->mmu->report)
        v->mmu->report(v);
    iommu_report();
    svm_pcicfg_report();
    return v->stop_status;
}
