/*
 * Private to src/svm: the guest's NMI blocking (nmi.c, invariants N1-N4
 * there).  apic.c raises NMIs; exit.c routes IRET and #DB exits here; the
 * run loop calls svm_nmi_before_vmrun() while an NMI is held or an IRET is
 * being stepped.
 */
#ifndef UMBRA_SVM_NMI_H
#define UMBRA_SVM_NMI_H

#include <umbra/svm.h>

/* An NMI for this vCPU: injected now, or held until NMIs are unmasked. */
void svm_nmi_raise(struct svm_vcpu *v);
/* Before VMRUN, when v->nmi_pending, v->nmi_step or nmi_host_for_guest: raise the
 * hardware NMIs judged the guest's (isr.S), inject a held NMI if allowed. */
void svm_nmi_before_vmrun(struct svm_vcpu *v);
/* The IRET intercept (on only while NMIs are masked). */
void svm_nmi_exit_iret(struct svm_vcpu *v);
/* The #DB intercept: the step over an unmasking IRET, else GDB's or the guest's #DB. */
void svm_nmi_exit_db(struct svm_vcpu *v);
/* Hardware NMIs raised for the guest so far (watchdog.c's summary). */
extern unsigned long nmi_from_host;
/* "umbra: nmi: ..." at the end of a run (only if any NMI was raised). */
void svm_nmi_report(void);

#endif
