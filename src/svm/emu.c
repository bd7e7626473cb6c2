/*
 * The x86 emulator on an SVM guest (see emu.h); its memory callbacks under
 * shadow paging are emu_shadow.c's (pure, tested hosted), under npt below.
 *
 * Neither Bochs nor QEMU TCG gives decode assists, so every CR access and
 * INVLPG intercept, and every write to a write-protected guest page table,
 * is decoded (and for the latter emulated) from the bytes at guest CS:RIP.
 * The bytes, the operands and the written data all go through the guest's
 * own page tables via the shadow MMU, which checks rights as the CPU would
 * and revalidates the shadows of any page table a write lands in.
 *
 * Invariant: guest state changes only in svm_emu_commit() and
 * svm_inject_fault(); a failed decode or emulation leaves the guest as it was
 * at the exit (the emulator itself never writes c->regs on failure, except
 * for completed REP iterations, which svm_emu_commit() keeps).
 */
#include <umbra/kern.h>
#include <umbra/lib.h>
#include <umbra/shadow.h>
#include <umbra/x86.h>
#include "emu.h"
#include "apic.h"

/*
 * paging=npt (no shadow): guest memory through the guest's own tables
 * (npt_walk.c) and the direct map.  Used only to emulate a write to the
 * trapped APIC page; a page the walk cannot reach raises #PF as the CPU would.
 */
static int npt_xfer(struct x86_emu_ctxt *c, uint64_t la, void *buf, unsigned len, uint32_t pfec,
                    struct x86_fault *f, bool write)
{
    struct svm_emu *e = emu_of(c);
    while (len) {
        unsigned n = PAGE_SIZE - (la & (PAGE_SIZE - 1));
        gpa_t gpa;
        if (n > len)
            n = len;
        if (!svm_npt_gva_to_gpa(e->v, la, &gpa)) {
            *f = (struct x86_fault){ .vector = X86_EXC_PF, .has_error = true,
                                     .error_code = pfec & (PFEC_WRITE | PFEC_USER | PFEC_INSN), .cr2 = la };
            return X86EMU_FAULT;
        }
        if (gpa + n > DIRECT_MAP_LIMIT ||
            (gpa + n > umbra_layout.reserve_lo && gpa < umbra_layout.reserve_hi)) {
            e->stop_why = "the guest's access reaches past its memory";
            return X86EMU_UNHANDLED;
        }
        if (write)
            memcpy(phys_to_virt(gpa), buf, n);
        else
            memcpy(buf, phys_to_virt(gpa), n);
        la += n, buf = (uint8_t *)buf + n, len -= n;
    }
    return X86EMU_OK;
}

static int npt_read(struct x86_emu_ctxt *c, uint64_t la, void *dst, unsigned len, uint32_t pfec,
                    struct x86_fault *f)
{
    return npt_xfer(c, la, dst, len, pfec, f, false);
}

static int npt_write(struct x86_emu_ctxt *c, uint64_t la, const void *src, unsigned len,
                     uint32_t pfec, struct x86_fault *f)
{
    return npt_xfer(c, la, (void *)src, len, pfec, f, true);
}

static int npt_cmpxchg(struct x86_emu_ctxt *c, uint64_t la, void *old, const void *new,
                       unsigned len, uint32_t pfec, struct x86_fault *f)
{
    uint8_t cur[16];
    int rc = npt_read(c, la, cur, len, pfec & ~PFEC_WRITE, f);
    if (rc)
        return rc;
    if (memcmp(cur, old, len)) {
        memcpy(old, cur, len);
        return X86EMU_OK;
    }
    return npt_write(c, la, new, len, pfec | PFEC_WRITE, f);     /* one vCPU: exact */
}

static const struct x86_emu_ops npt_emu_ops = {
    .read = npt_read,
    .write = npt_write,
    .cmpxchg = npt_cmpxchg,
};

const struct x86_emu_ops *svm_emu_ops(const struct svm_emu *e)
{
    return e->v->sh ? &svm_emu_shadow_ops : &npt_emu_ops;
}

void svm_emu_begin(struct svm_emu *e, struct svm_vcpu *v)
{
    const struct vmcb_save *s = &v->vmcb->save;
    const struct guest_regs *g = &v->regs;
    struct x86_regs *r = &e->r;

    e->v = v;
    e->stop_why = NULL;
    r->gpr[X86_RAX] = s->rax;  r->gpr[X86_RCX] = g->rcx;  r->gpr[X86_RDX] = g->rdx;
    r->gpr[X86_RBX] = g->rbx;  r->gpr[X86_RSP] = s->rsp;  r->gpr[X86_RBP] = g->rbp;
    r->gpr[X86_RSI] = g->rsi;  r->gpr[X86_RDI] = g->rdi;
    r->gpr[X86_R8] = g->r8;    r->gpr[X86_R9] = g->r9;    r->gpr[X86_R10] = g->r10;
    r->gpr[X86_R11] = g->r11;  r->gpr[X86_R12] = g->r12;  r->gpr[X86_R13] = g->r13;
    r->gpr[X86_R14] = g->r14;  r->gpr[X86_R15] = g->r15;
    r->rip = s->rip;
    r->rflags = s->rflags;
    /* The VMCB keeps ES, CS, SS, DS, FS, GS in hardware order, as x86_regs
     * does, and a vmcb_seg is laid out as an x86_seg (asserted): one copy of
     * the six (two words each) instead of four fields each. */
    _Static_assert(sizeof(struct vmcb_seg) == sizeof(struct x86_seg)
                   && offsetof(struct vmcb_seg, sel) == offsetof(struct x86_seg, sel)
                   && offsetof(struct vmcb_seg, attrib) == offsetof(struct x86_seg, attr)
                   && offsetof(struct vmcb_seg, limit) == offsetof(struct x86_seg, limit)
                   && offsetof(struct vmcb_seg, base) == offsetof(struct x86_seg, base)
                   && offsetof(struct vmcb_save, gs) - offsetof(struct vmcb_save, es)
                      == (X86_NR_SEGS - 1) * sizeof(struct vmcb_seg),
                   "the VMCB's segments are x86_regs' segments");
    __builtin_memcpy(r->seg, &s->es, sizeof(r->seg));
    r->cpl = s->cpl;

    e->c.ops = v->sh ? &svm_emu_shadow_ops : &npt_emu_ops;
    e->c.opaque = v->sh;
    e->c.regs = r;
    e->c.insn_avail = 0;
    e->c.memo = &v->decode_memo;    /* x86_decode_memo(): the same answers, decoded once */
    e->c.mode = x86_cpu_mode_of(svm_guest_cr(v, 0), v->mmu->efer_read(v), s->rflags,
                                s->cs.attrib);
}

void svm_emu_commit(struct svm_emu *e)
{
    struct vmcb_save *s = &e->v->vmcb->save;
    struct guest_regs *g = &e->v->regs;
    const struct x86_regs *r = &e->r;

    s->rax = r->gpr[X86_RAX];  g->rcx = r->gpr[X86_RCX];  g->rdx = r->gpr[X86_RDX];
    g->rbx = r->gpr[X86_RBX];  s->rsp = r->gpr[X86_RSP];  g->rbp = r->gpr[X86_RBP];
    g->rsi = r->gpr[X86_RSI];  g->rdi = r->gpr[X86_RDI];
    g->r8 = r->gpr[X86_R8];    g->r9 = r->gpr[X86_R9];    g->r10 = r->gpr[X86_R10];
    g->r11 = r->gpr[X86_R11];  g->r12 = r->gpr[X86_R12];  g->r13 = r->gpr[X86_R13];
    g->r14 = r->gpr[X86_R14];  g->r15 = r->gpr[X86_R15];
    if (s->rip != r->rip)
        e->v->vmcb->ctl.int_shadow = 0;   /* the instruction completed: its MOV SS / STI shadow is over */
    s->rip = r->rip;
    s->rflags = r->rflags;
}

void svm_inject_fault(struct svm_vcpu *v, const struct x86_fault *f)
{
    if (f->vector == X86_EXC_PF)
        svm_set_guest_cr2(v, f->cr2);
    svm_inject_exc(v, f->vector, f->has_error, f->error_code);
}

void svm_emu_fail(struct svm_emu *e, int rc, const char *what)
{
    struct svm_vcpu *v = e->v;
    if (rc == X86EMU_FAULT) {
        svm_inject_fault(v, &e->c.fault);
        return;
    }
    /* Show the bytes the decoder saw (read without A/D side effects being a concern: the guest stops). */
    uint8_t b[X86_MAX_INSN_LEN] = { 0 };
    struct sh_fault sf;
    uint64_t la = e->c.mode == X86_MODE_LONG64 ? e->r.rip
                : (e->r.seg[X86_SEG_CS].base + e->r.rip) & 0xffffffffu;
    bool have = v->sh ? shadow_read_guest(v->sh, la, b, 8, PFEC_INSN | SH_PFEC_AC, &sf) == SH_FIXED
                      : npt_read(&e->c, la, b, 8, PFEC_INSN, &e->c.fault) == X86EMU_OK;
    ulog("%s: cannot %s the instruction at %#lx (mode %u)%s%s", v->mmu->name, what, la,
         (unsigned)e->c.mode, e->stop_why ? ": " : "", e->stop_why ? e->stop_why : "");
    if (have)
        ulog("  bytes %02x %02x %02x %02x %02x %02x %02x %02x", b[0], b[1], b[2], b[3], b[4],
             b[5], b[6], b[7]);
    svm_dump_guest(v, e->stop_why ? "shadow refused an access" : "unhandled instruction");
    svm_stop(v, e->stop_why ? "shadow" : "unhandled-insn", UMBRA_STATUS_ERROR);
}
