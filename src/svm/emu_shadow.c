/*
 * The emulator's memory callbacks under shadow paging (struct x86_emu_ops,
 * include/umbra/x86emu.h): every read, write and locked update of an
 * emulated instruction goes through the shadow MMU (shadow_read_guest /
 * shadow_write_guest / shadow_cmpxchg_guest), so the guest's own rights are
 * checked as the CPU would and a write into a page table revalidates its
 * shadows.  Pure (no VMCB, no logging): test/unit/test_x86_glue.c links this
 * file with test doubles of the three shadow calls.
 *
 * The contract, kept here:
 *   - SH_FIXED is X86EMU_OK; SH_REFLECT is X86EMU_FAULT with the shadow's
 *     vector and CR2, the error code its pfec for a #PF and 0 for any other
 *     vector (#GP for a non-canonical address); anything else is
 *     X86EMU_UNHANDLED with e->stop_why saying why;
 *   - RFLAGS.AC = 1 adds SH_PFEC_AC to every access (SMAP exempts a
 *     supervisor data access then);
 *   - a locked update of 1..8 bytes is one shadow_cmpxchg_guest() call.
 */
#include <umbra/lib.h>
#include <umbra/shadow.h>
#include <umbra/x86.h>
#include "emu.h"

/* The shadow MMU's AC flag for an access: SMAP exempts supervisor data accesses when RFLAGS.AC = 1. */
static inline uint32_t ac_flag(const struct svm_emu *e)
{
    return (e->r.rflags & X86_RFLAGS_AC) ? SH_PFEC_AC : 0;
}

/* A shadow result as an emulator callback result. */
static int from_shadow(struct svm_emu *e, enum sh_result r, const struct sh_fault *sf,
                       struct x86_fault *f)
{
    switch (r) {
    case SH_FIXED:
        return X86EMU_OK;
    case SH_REFLECT:
        f->vector = sf->vector;
        f->has_error = true;
        f->error_code = sf->vector == X86_EXC_PF ? sf->pfec : 0;
        f->cr2 = sf->cr2;
        return X86EMU_FAULT;
    default:
        e->stop_why = sf->why ? sf->why : "shadow refused the access";
        return X86EMU_UNHANDLED;
    }
}

static int cb_read(struct x86_emu_ctxt *c, uint64_t la, void *dst, unsigned len, uint32_t pfec,
                   struct x86_fault *f)
{
    struct svm_emu *e = emu_of(c);
    struct sh_fault sf = { 0 };
    return from_shadow(e, shadow_read_guest(e->v->sh, la, dst, len, pfec | ac_flag(e), &sf), &sf, f);
}

static int cb_write(struct x86_emu_ctxt *c, uint64_t la, const void *src, unsigned len,
                    uint32_t pfec, struct x86_fault *f)
{
    struct svm_emu *e = emu_of(c);
    struct sh_fault sf = { 0 };
    int rc = from_shadow(e, shadow_write_guest(e->v->sh, la, src, len, pfec | ac_flag(e), &sf), &sf, f);
    if (rc == X86EMU_OK && sf.unshadowed)
        c->string_yield = true;    /* the rest of a REP store goes native */
    return rc;
}

/*
 * Locked updates.  The shadow does 1..8 bytes atomically; CMPXCHG16B's 16
 * bytes are compared and written without atomicity, which is exact for
 * Umbra's one vCPU.
 */
static int cb_cmpxchg(struct x86_emu_ctxt *c, uint64_t la, void *old, const void *new,
                      unsigned len, uint32_t pfec, struct x86_fault *f)
{
    struct svm_emu *e = emu_of(c);
    struct sh_fault sf = { 0 };
    if (len > 8) {
        uint8_t cur[16];
        int rc = cb_read(c, la, cur, len, pfec & ~PFEC_WRITE, f);
        if (rc)
            return rc;
        if (memcmp(cur, old, len)) {
            /* The CPU writes back the old value on a failed locked compare: keep the W check. */
            rc = cb_write(c, la, cur, len, pfec | PFEC_WRITE, f);
            if (rc == X86EMU_OK)
                memcpy(old, cur, len);
            return rc;
        }
        return cb_write(c, la, new, len, pfec | PFEC_WRITE, f);
    }
    bool done;
    return from_shadow(e, shadow_cmpxchg_guest(e->v->sh, la, old, new, len,
                                               pfec | ac_flag(e), &done, &sf), &sf, f);
}

const struct x86_emu_ops svm_emu_shadow_ops = {
    .read = cb_read,
    .write = cb_write,
    .cmpxchg = cb_cmpxchg,
};
