/*
 * The #GP(0) rules of the guest's control-register writes that Umbra
 * emulates under shadow paging (MOV to CR0/CR3/CR4, CLTS, LMSW, WRMSR EFER;
 * AMD APM vol. 2, 3.1 and 14.6, vol. 3 MOV CRn / WRMSR).  Pure: the
 * intercepts in shadow_paging.c call these before they hand a value to the
 * shadow, and test/unit/test_core_ctlrules.c checks them hosted.  A debugger's
 * writes go through src/gdbstub/ctlcheck.c, which adds the VMRUN checks.
 */
#include <umbra/types.h>
#include <umbra/x86.h>
#include "ctlrules.h"

uint64_t svm_cr0_write(const struct svm_ctl *c, uint64_t val, bool code64)
{
    if (val >> 32)
        return SVM_CTL_GP;                                   /* reserved bits 63:32 */
    val |= X86_CR0_ET;                                       /* ET is fixed at 1 */
    if ((val & X86_CR0_PG) && !(val & X86_CR0_PE))
        return SVM_CTL_GP;
    if ((val & X86_CR0_NW) && !(val & X86_CR0_CD))
        return SVM_CTL_GP;
    if (!(c->cr0 & X86_CR0_PG) && (val & X86_CR0_PG) && (c->efer & EFER_LME) && !(c->cr4 & X86_CR4_PAE))
        return SVM_CTL_GP;                                   /* long mode needs PAE */
    if ((c->cr0 & X86_CR0_PG) && !(val & X86_CR0_PG) && code64)
        return SVM_CTL_GP;                                   /* paging stays on in 64-bit code */
    return val;
}

bool svm_cr4_write_ok(const struct svm_ctl *c, uint64_t val, uint64_t allowed)
{
    return !(val & ~allowed) && !((c->efer & EFER_LMA) && !(val & X86_CR4_PAE));
}

bool svm_cr3_write_ok(const struct svm_ctl *c, uint64_t val, unsigned maxphyaddr)
{
    return !((c->efer & EFER_LMA) && (val >> maxphyaddr));
}

bool svm_efer_write_ok(const struct svm_ctl *c, uint64_t val)
{
    return !((c->cr0 & X86_CR0_PG) && ((val ^ c->efer) & EFER_LME));
}
