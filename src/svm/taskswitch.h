/*
 * Private to src/svm: hardware task switches emulated under shadow paging
 * (src/svm/taskswitch.c).  A task switch loads CR3 from the new TSS; left to
 * the CPU it would put a guest page-table address into the real CR3, so
 * shadow paging intercepts it (INTERCEPT1_TASKSW) and this code performs it
 * through the guest's own tables and shadow_update_cr3().
 */
#ifndef UMBRA_SVM_TASKSWITCH_H
#define UMBRA_SVM_TASKSWITCH_H

#include <umbra/svm.h>

/*
 * TASK_SWITCH intercept (exit code 0x7D): EXITINFO1 = new TSS selector,
 * EXITINFO2 = reason (IRET, JMP, error code).  Performs the switch on the
 * guest state (32-bit TSS; a 16-bit TSS or a paging mode without a shadow
 * stops the guest with a diagnostic), or injects the #TS/#NP/#GP/#SS/#PF the
 * CPU would raise.  The event that caused the switch (EXITINTINFO) is
 * consumed, never re-injected.
 */
void svm_task_switch(struct svm_vcpu *v);

/*
 * Call at every exit under shadow paging when the VMCB's CR3 is not the
 * shadow's (v->sh->hw_cr3): the CPU switched tasks without the intercept
 * (QEMU TCG); adopt the CR3 it loaded as the guest's and reshadow.
 */
void svm_task_switch_unintercepted(struct svm_vcpu *v);

/*
 * Right after svm_task_switch_unintercepted(): if the CPU stopped in the
 * middle of its native switch (QEMU TCG: a fault after it loaded TR and
 * CR3), finish it from the TSS in TR and return true (an event it was
 * delivering is consumed, the exit's own fault is void).  False: not such a
 * switch, nothing changed.
 */
bool svm_task_switch_finish(struct svm_vcpu *v);

/* Print the per-reason counters as "umbra: task-switch: ..." (nothing if none). */
void svm_task_switch_report(void);

#endif
