/*
 * Private to src/svm: the x86 decoder/emulator (src/x86) run on an SVM
 * guest.  The register file comes from the VMCB and v->regs, guest memory is
 * reached through the shadow MMU (shadow_read_guest / shadow_write_guest /
 * shadow_cmpxchg_guest, so page-table writes are revalidated), and faults
 * the emulator reports are injected into the guest.
 */
#ifndef UMBRA_SVM_EMU_H
#define UMBRA_SVM_EMU_H

#include <umbra/svm.h>
#include <umbra/x86emu.h>

struct svm_emu {
    struct x86_emu_ctxt c;     /* first: the callbacks find the svm_emu from it */
    struct x86_regs r;
    struct svm_vcpu *v;
    const char *stop_why;      /* set when the shadow refused an access (SH_STOP) */
};

static inline struct svm_emu *emu_of(struct x86_emu_ctxt *c)
{
    return (struct svm_emu *)c;
}

/* The shadow MMU's memory callbacks (emu_shadow.c, pure; e is the svm_emu whose x86_emu_ctxt they get). */
extern const struct x86_emu_ops svm_emu_shadow_ops;

/* The memory callbacks svm_emu_begin() installs: the shadow MMU's, or (paging=npt) the guest walk's. */
const struct x86_emu_ops *svm_emu_ops(const struct svm_emu *e);

/* Load e from the guest state of v (VMCB + v->regs); decode mode from the guest's CR0/EFER. */
void svm_emu_begin(struct svm_emu *e, struct svm_vcpu *v);

/* Store the (changed) register file back: GPRs, RIP, RFLAGS; clears the interrupt shadow if RIP moved. */
void svm_emu_commit(struct svm_emu *e);

/* Inject the exception the emulator or a decode reported (#PF also sets the guest's CR2). */
void svm_inject_fault(struct svm_vcpu *v, const struct x86_fault *f);

/*
 * Handle a result other than X86EMU_OK of an emulation or decode that `what`
 * names: FAULT injects e->c.fault; UNHANDLED stops the guest with a
 * diagnostic (the instruction bytes and the shadow's reason, if any).
 */
void svm_emu_fail(struct svm_emu *e, int rc, const char *what);

#endif
