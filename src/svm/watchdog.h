/*
 * Private to src/svm: the boot CPU's side of the watchdog CPU
 * (include/umbra/watchdog.h, src/kern/wdcpu.c): the NMI intercept, the
 * NMI #VMEXIT and the watchdog= rule (watchdog.c).
 */
#ifndef UMBRA_SVM_WATCHDOG_H
#define UMBRA_SVM_WATCHDOG_H

#include <umbra/svm.h>

/* Before the first VMRUN: intercept NMIs if the watchdog CPU runs. */
void svm_wd_start(struct svm_vcpu *v);
/* The NMI #VMEXIT (intercepted only while the watchdog CPU runs). */
void svm_wd_exit_nmi(struct svm_vcpu *v);
/* svm_exit_hlt() let the guest's HLT wait natively: intercept INTR for that wait (W-H1). */
void svm_wd_hlt_wait(struct svm_vcpu *v);
/* The INTR #VMEXIT: the end of such a wait, else GDB's (gdb/intercept.c). */
void svm_wd_exit_intr(struct svm_vcpu *v);
/* H5: after an NMI or SMI exit, a HLT in an STI shadow with IF set begins its wait now. */
void svm_wd_hlt_in_shadow(struct svm_vcpu *v);
/* "umbra: watchdog: ..." at the end of a run (only if gdb or watchdog was asked for). */
void svm_wd_report(void);

#endif
