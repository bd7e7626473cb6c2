/*
 * Private to src/svm: the #GP(0) rules of a guest's control-register writes
 * (ctlrules.c, pure).  c is the guest's state before the write.
 */
#ifndef UMBRA_SVM_CTLRULES_H
#define UMBRA_SVM_CTLRULES_H

#include <umbra/types.h>

struct svm_ctl {
    uint64_t cr0, cr4, efer;      /* as the guest sees them */
};

#define SVM_CTL_GP (~0ULL)        /* svm_cr0_write(): the write raises #GP(0) */

/* MOV to CR0 (also CLTS, LMSW: the caller builds val): the value CR0 takes (ET
 * forced on), or SVM_CTL_GP.  code64: the instruction runs in 64-bit code. */
uint64_t svm_cr0_write(const struct svm_ctl *c, uint64_t val, bool code64);
/* MOV to CR4: false for a bit outside `allowed`, or PAE cleared in long mode. */
bool svm_cr4_write_ok(const struct svm_ctl *c, uint64_t val, uint64_t allowed);
/* MOV to CR3: false in long mode for a bit at or above MAXPHYADDR. */
bool svm_cr3_write_ok(const struct svm_ctl *c, uint64_t val, unsigned maxphyaddr);
/* WRMSR EFER (reserved bits checked by the caller): false if LME changes while paging is on. */
bool svm_efer_write_ok(const struct svm_ctl *c, uint64_t val);

#endif
