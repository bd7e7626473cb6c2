/*
 * The exit switch: one table indexed by exit code, a counter per code
 * (exitstat.c), a thin handler per intercept class.  Anything without a
 * handler is "unexpected": its exit code, exitinfo1/2 and the guest
 * registers are printed and the guest is stopped cleanly (Umbra itself keeps
 * running to report and end the run).  This is the hot path: no logging on
 * it.  The table is the top of src/svm's call graph below the run loop
 * (svm.c): handlers call the vCPU services (vcpu.c), never back here.
 */
#include <umbra/kern.h>
#include <umbra/lib.h>
#include <umbra/svm.h>
#include <umbra/x86.h>
#include "gdb/gdb.h"
#include "taskswitch.h"
#include "exit.h"
#include "nmi.h"
#include "watchdog.h"

typedef void (*exit_fn)(struct svm_vcpu *v);

/*
 * The paging mode's intercepts: its hook, or unexpected if the mode has
 * none (npt sets no CR, #PF or INVLPG intercept; shadow runs without NPF).
 * #PF first: under shadow paging it is the most frequent exit.
 */
static void exit_paging(struct svm_vcpu *v)
{
    const struct paging_ops *p = v->mmu;
    uint64_t code = v->vmcb->ctl.exitcode;
    if (code == VMEXIT_EXC_BASE + X86_EXC_PF && p->page_fault)
        p->page_fault(v);
    else if (code >= VMEXIT_CR0_WRITE && code < VMEXIT_CR0_WRITE + 16 && p->cr_write)
        p->cr_write(v, (unsigned)(code - VMEXIT_CR0_WRITE));
    else if (code < VMEXIT_CR0_READ + 16 && p->cr_read)
        p->cr_read(v, (unsigned)(code - VMEXIT_CR0_READ));
    else if (code == VMEXIT_INVLPG && p->invlpg)
        p->invlpg(v);
    else if (code == VMEXIT_NPF && p->npf)
        p->npf(v);
    else
        svm_exit_unexpected(v);
}

/*
 * SMI, always intercepted (svm.c vmcb_init(), as KVM does): the emulators
 * and the hardware keep the SMI pending across the exit and take it in
 * Umbra's context at vmrun.S's STGI, so the firmware's SMM handler (Linux's
 * ACPI enable writes port 0xb2) never runs inside the guest, where an INTR
 * intercept (GDB's, or a HLT wait's: watchdog.c H1) could cut it short:
 * under gdb= in Bochs that resumed the "guest" on SMM state and Linux
 * oopsed at EIP 0x801a (docs/notes/2026-12-03-pm/dbg.md).  Only H5 of
 * watchdog.c: an SMI that came between `sti` and `hlt`.
 */
static void exit_smi(struct svm_vcpu *v)
{
    svm_wd_hlt_in_shadow(v);       /* an SMI between `sti` and `hlt` (watchdog.c H5) */
}

static const exit_fn exit_table[VMEXIT_TABLE_SIZE] = {
    /* the paging mode's (v->mmu): CR0/3/4 reads and writes, #PF, INVLPG, NPF */
    [VMEXIT_CR0_READ] = exit_paging,
    [VMEXIT_CR0_READ + 3] = exit_paging,
    [VMEXIT_CR0_READ + 4] = exit_paging,
    [VMEXIT_CR0_WRITE] = exit_paging,
    [VMEXIT_CR3_WRITE] = exit_paging,
    [VMEXIT_CR4_WRITE] = exit_paging,
    [VMEXIT_EXC_BASE + X86_EXC_PF] = exit_paging,
    /* gdb=com1|com2 only (gdb/intercept.c sets these intercepts) */
    [VMEXIT_EXC_BASE + X86_EXC_DB] = svm_nmi_exit_db,    /* nmi.c, then gdb/intercept.c */
    [VMEXIT_IRET] = svm_nmi_exit_iret,
    [VMEXIT_EXC_BASE + X86_EXC_BP] = svm_gdb_exit_bp,
    [VMEXIT_INTR] = svm_wd_exit_intr,          /* watchdog.c, then gdb/intercept.c */
    [VMEXIT_NMI] = svm_wd_exit_nmi,           /* watchdog CPU on only (watchdog.c) */
    [VMEXIT_SMI] = exit_smi,
    [0x75] = svm_gdb_exit_swint,              /* INT n */
    [VMEXIT_VINTR] = svm_gdb_exit_vintr,
    [0x20 ... 0x27] = svm_gdb_exit_dr,        /* DR0-7 reads */
    [0x30 ... 0x37] = svm_gdb_exit_dr,        /* DR0-7 writes */
    /* every guest (intercepts.c) */
    [VMEXIT_CPUID] = svm_exit_cpuid,
    [VMEXIT_HLT] = svm_exit_hlt,
    [VMEXIT_INVLPG] = exit_paging,
    [VMEXIT_INVLPGA] = svm_exit_svm_insn,
    [VMEXIT_IOIO] = svm_exit_ioio,
    [VMEXIT_MSR] = svm_exit_msr,
    [VMEXIT_SHUTDOWN] = svm_exit_shutdown,
    [VMEXIT_TASK_SWITCH] = svm_task_switch,     /* taskswitch.c (shadow paging) */
    [VMEXIT_VMRUN] = svm_exit_svm_insn,
    [VMEXIT_VMMCALL] = svm_exit_vmmcall,
    [VMEXIT_VMLOAD] = svm_exit_svm_insn,
    [VMEXIT_VMSAVE] = svm_exit_svm_insn,
    [VMEXIT_STGI] = svm_exit_svm_insn,
    [VMEXIT_CLGI] = svm_exit_svm_insn,
    [VMEXIT_SKINIT] = svm_exit_svm_insn,
    [VMEXIT_NPF] = exit_paging,
};

void svm_handle_exit(struct svm_vcpu *v)
{
    struct vmcb *vm = v->vmcb;
    uint64_t code = vm->ctl.exitcode;

    /* The mode's own check first (shadow: a CR3 moved behind it, paging_ops). */
    int (*check)(struct svm_vcpu *) = v->mmu->exit_check;
    if (check) {
        int r = check(v);
        if (unlikely(r != 0)) {
            if (r > 0 && code < VMEXIT_TABLE_SIZE)
                svm_exit_count[code]++;
            return;
        }
    }

    if (unlikely(vm->ctl.exitintinfo & SVM_EVT_VALID) && !svm_event_after_exit(v))
        return;

    if (likely(code < VMEXIT_TABLE_SIZE)) {
        svm_exit_count[code]++;
        if (likely(exit_table[code] != NULL)) {
            exit_table[code](v);
            return;
        }
    } else {
        svm_exit_count_other++;
        /* QEMU TCG writes the 32-bit -1 (0x00000000ffffffff). */
        if (code == VMEXIT_INVALID || code == 0xffffffffULL) {
            svm_dump_guest(v, "VMRUN refused the guest state (VMEXIT_INVALID)");
            svm_stop(v, "invalid-state", UMBRA_STATUS_ERROR);
            return;
        }
    }
    svm_exit_unexpected(v);
}
