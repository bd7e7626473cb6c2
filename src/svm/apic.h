/*
 * Private to src/svm: the guest's local APIC with its IPIs filtered
 * (apic.c), and the guest walk paging=npt uses to emulate an APIC write
 * (npt_walk.c).
 */
#ifndef UMBRA_SVM_APIC_H
#define UMBRA_SVM_APIC_H

#include <umbra/svm.h>

/* The frame of the xAPIC page (~0 when there is no local APIC): its writes are trapped.
 * Set by svm_apic_init(); defined in platform.c, whose p2m answers plat_gfn_trap_writes(). */
extern uint64_t apic_trap_gfn;

/* Find the boot CPU's local APIC (base, ID) before the guest runs. */
void svm_apic_init(void);
/* The boot CPU's APIC ID, as found by svm_apic_init(). */
uint32_t svm_apic_boot_id(void);

/*
 * A guest RDMSR/WRMSR of MSR_APIC_BASE or MSR_X2APIC_ICR: 0 done (*val read
 * or written), -1 the guest gets #GP (as the CPU would raise it).
 */
int svm_apic_msr(struct svm_vcpu *v, uint32_t msr, bool write, uint64_t *val);

/* Emulate the guest instruction at RIP that wrote the xAPIC page (a trapped-frame fault). */
void svm_apic_emulate(struct svm_vcpu *v);

/* "umbra: apic: ..." lines: IPIs dropped per kind, sent to this CPU. */
void svm_apic_report(void);

/*
 * paging=npt: translate guest-linear la through the guest's own page tables
 * (its CR0/CR3/CR4/EFER in the VMCB), present bits only -- enough to fetch
 * the instruction of a fault the CPU already took.  False if not mapped or
 * the tables lie outside guest memory below 4 GiB.
 */
bool svm_npt_gva_to_gpa(struct svm_vcpu *v, uint64_t la, gpa_t *gpa);

#endif
