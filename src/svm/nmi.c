/*
 * The guest's NMI blocking, kept by Umbra.
 *
 * Every NMI the guest receives is one Umbra injects through EVENTINJ: an
 * NMI the guest sends itself through the ICR (apic.c), and a hardware NMI
 * Umbra took itself and judged the guest's (src/boot/isr.S): one that came
 * while Umbra ran, or, with the watchdog CPU on (src/svm/watchdog.c, which
 * intercepts NMIs), one that made an NMI #VMEXIT.  Without the watchdog a
 * hardware NMI that comes while the guest runs is still delivered by the CPU
 * itself, with its own blocking.  An injected NMI does
 * not make the CPU block NMIs for the guest (that needs vNMI, which neither
 * emulator has), so Umbra keeps the blocking the CPU keeps on bare metal
 * (APM vol. 2, 8.2.2 and 15.20; eventinj.flat's nested-NMI cases test it):
 *
 *   N1  From the delivery of an NMI until the guest's next IRET completes,
 *       NMIs are masked (nmi_masked); IRET is intercepted for exactly that
 *       time.
 *   N2  While masked, one NMI is held (nmi_pending), as the CPU latches
 *       one; a further one is lost (counted).
 *   N3  A held NMI is delivered right after the IRET that unmasks, before
 *       the guest's next instruction.  The IRET intercept comes before the
 *       IRET runs, so Umbra single-steps it (TF on, #DB intercepted:
 *       nmi_step) and injects at the step's #DB.  An exit at the IRET's own
 *       RIP and CS keeps the step going (a shadow fault on its stack pop); an
 *       exit elsewhere that is not the step's #DB means the IRET faulted into
 *       a handler: NMIs stay masked (the IRET never completed).
 *   N4  An NMI is injected only when EVENTINJ is free; otherwise it is held
 *       and injected before a later VMRUN (svm_nmi_before_vmrun).
 *
 * Left as on the CPU or documented: the guest's own TF at the unmasking IRET
 * gets its #DB first and the NMI at the next VMRUN (the #DB trap has the
 * higher priority); an IRET that faults with TF set pushes TF in the fault
 * frame (Umbra's TF, a corner KVM has too).
 */
#include <umbra/kern.h>
#include <umbra/lib.h>
#include <umbra/svm.h>
#include <umbra/x86.h>
#include <umbra/watchdog.h>
#include "gdb/gdb.h"
#include "nmi.h"

static unsigned long nmi_injected, nmi_held, nmi_lost, nmi_steps, nmi_iret_faults;
static uint64_t host_taken;     /* nmi_host_guest as far as raised here */
unsigned long nmi_from_host;    /* hardware NMIs raised for the guest (the exit summary) */

static void inject(struct svm_vcpu *v)
{
    v->vmcb->ctl.eventinj = SVM_EVT_VALID | SVM_EVT_TYPE_NMI | X86_EXC_NMI;
    v->nmi_masked = true;                                    /* N1 */
    v->vmcb->ctl.intercept_misc1 |= INTERCEPT1_IRET;
    nmi_injected++;
}

void svm_nmi_raise(struct svm_vcpu *v)
{
    if (!v->nmi_masked && !v->nmi_step && !v->nmi_pending &&
        !(v->vmcb->ctl.eventinj & SVM_EVT_VALID)) {
        inject(v);
        return;
    }
    if (v->nmi_pending) {
        nmi_lost++;                                           /* N2 */
        return;
    }
    v->nmi_pending = true;
    nmi_held++;
}

/* The step over the unmasking IRET is over: #DB back to what it was. */
static void end_step(struct svm_vcpu *v)
{
    v->nmi_step = false;
    if (!v->nmi_step_db_intercepted)
        v->vmcb->ctl.intercept_exc &= ~(1u << X86_EXC_DB);
}

void svm_nmi_before_vmrun(struct svm_vcpu *v)
{
    struct vmcb *vm = v->vmcb;
    if (nmi_host_for_guest) {
        /* Cleared before the count is read: an NMI in between sets it again. */
        nmi_host_for_guest = 0;
        __asm__ volatile("" ::: "memory");
        for (uint64_t n = nmi_host_guest; host_taken != n; host_taken++) {
            nmi_from_host++;
            svm_nmi_raise(v);                                  /* injected now or held (N2) */
        }
    }
    if (v->nmi_step) {
        if (vm->save.rip == v->nmi_step_rip && vm->save.cs.sel == v->nmi_step_cs)
            return;                                            /* the IRET has yet to complete */
        end_step(v);                                           /* N3: it faulted into a handler */
        v->nmi_masked = true;
        vm->ctl.intercept_misc1 |= INTERCEPT1_IRET;
        nmi_iret_faults++;
    }
    if (v->nmi_pending && !v->nmi_masked && !(vm->ctl.eventinj & SVM_EVT_VALID)) {
        v->nmi_pending = false;                                /* N4 */
        inject(v);
    }
}

void svm_nmi_exit_iret(struct svm_vcpu *v)
{
    struct vmcb *vm = v->vmcb;
    vm->ctl.intercept_misc1 &= ~INTERCEPT1_IRET;
    v->nmi_masked = false;
    if (!v->nmi_pending)
        return;                  /* nothing held: the IRET simply runs, unmasked (N1) */
    v->nmi_step = true;          /* N3 */
    v->nmi_step_rip = vm->save.rip;
    v->nmi_step_cs = vm->save.cs.sel;
    v->nmi_step_guest_tf = (vm->save.rflags & X86_RFLAGS_TF) && !svm_gdb_stepping();
    v->nmi_step_db_intercepted = vm->ctl.intercept_exc & (1u << X86_EXC_DB);
    vm->ctl.intercept_exc |= 1u << X86_EXC_DB;
    vm->save.rflags |= X86_RFLAGS_TF;
    nmi_steps++;
}

void svm_nmi_exit_db(struct svm_vcpu *v)
{
    struct vmcb *vm = v->vmcb;
    /* Bochs commits DR6 only at delivery (gdb/intercept.c): BS may be missing, so a
     * RIP or CS that moved also says the IRET completed. */
    if (v->nmi_step && ((vm->save.dr6 & X86_DR6_BS) || vm->save.rip != v->nmi_step_rip ||
                        vm->save.cs.sel != v->nmi_step_cs)) {
        end_step(v);
        if (svm_gdb_stepping()) {            /* GDB's step too: GDB gets its stop, the guest its NMI */
            v->nmi_pending = false;
            svm_gdb_exit_db(v);
            inject(v);
            return;
        }
        if (v->nmi_step_guest_tf) {          /* the guest's own step trap first, the NMI after */
            svm_inject_exc(v, X86_EXC_DB, false, 0);
            return;
        }
        vm->save.dr6 &= ~X86_DR6_BS;
        v->nmi_pending = false;
        inject(v);
        return;
    }
    svm_gdb_exit_db(v);
}

void svm_nmi_report(void)
{
    if (nmi_injected || nmi_held || nmi_lost)
        ulog("nmi: injected=%lu held until IRET=%lu lost (one already held)=%lu; IRETs stepped=%lu, "
             "of which faulted=%lu", nmi_injected, nmi_held, nmi_lost, nmi_steps, nmi_iret_faults);
}
