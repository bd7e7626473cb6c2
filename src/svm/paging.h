/*
 * Private to src/svm: the two paging modes (struct paging_ops in
 * include/umbra/svm.h).  svm.c's paging_select() picks one.
 */
#ifndef UMBRA_SVM_PAGING_H
#define UMBRA_SVM_PAGING_H

#include <umbra/svm.h>

extern const struct paging_ops npt_paging_ops;      /* npt.c */
extern const struct paging_ops shadow_paging_ops;   /* shadow_paging.c */

/* npt's read_guest (npt_walk.c): guest-virtual reads through the guest's own tables. */
bool svm_npt_read_guest(struct svm_vcpu *v, uint64_t la, void *buf, unsigned len);
/* npt's write_guest (npt_walk.c): guest-virtual writes for GDB, guest RAM only. */
bool svm_npt_write_guest(struct svm_vcpu *v, uint64_t la, const void *buf, unsigned len);

#endif
