/*
 * STOS and MOVS, with and without REP: the string stores a guest uses to
 * clear or copy a page table (clear_page, copy_page, memset of a PTE page).
 *
 * Per x86_emulate() call the iterations run up to the end of the destination
 * page (and of the source page for MOVS), in chunks of at most X86EMU_CHUNK
 * bytes, each chunk one read and one write callback.  After every chunk the
 * register file (rCX, rDI, rSI) is committed to the caller, so a fault in a
 * later chunk leaves exactly the state the CPU leaves: completed iterations
 * done, RIP still at the instruction.  When the count is not exhausted RIP
 * is not advanced and the guest re-executes the instruction for the rest:
 * also when a write callback says the destination is plain memory now
 * (string_yield: the shadow unshadowed the page table being cleared).
 */
#include "x86priv.h"
#include <umbra/x86.h>
#include <umbra/lib.h>

static uint64_t reg_update(uint64_t old, uint64_t val, unsigned asz)
{
    if (asz == 2)
        return (old & ~0xffffULL) | (val & 0xffff);
    if (asz == 4)
        return val & 0xffffffffu;   /* 32-bit address size zero-extends in 64-bit mode */
    return val;
}

/* Elements of size sz from la to the page end (dir > 0) or start (dir < 0), at least 1. */
static uint64_t page_room(uint64_t la, unsigned sz, int dir)
{
    uint64_t off = la & (PAGE_SIZE - 1), n;
    n = dir > 0 ? (PAGE_SIZE - off) / sz : off / sz + 1;
    return n ? n : 1;
}

/* Elements until the offset wraps in the address size. */
static uint64_t wrap_room(uint64_t off, unsigned sz, int dir, uint64_t amask)
{
    uint64_t n = dir > 0 ? (amask - off) / sz + 1 : off / sz + 1;
    return n ? n : 1;
}

static int fault(struct x86_emu_ctxt *c, const struct x86_fault *f)
{
    c->fault = *f;
    return X86EMU_FAULT;
}

int x86_emu_string(struct x86_emu_ctxt *c, struct x86_regs *r, const struct x86_insn *in,
                   uint32_t pfec, bool *done)
{
    uint8_t buf[X86EMU_CHUNK];
    unsigned sz = in->opsize, asz = in->addrsize;
    uint64_t amask = x86_size_mask(asz);
    bool movs = in->op == X86_OP_MOVS;
    bool rep = in->prefixes & (X86_PFX_REP | X86_PFX_REPNE);  /* F2 acts as REP here */
    int dir = (r->rflags & X86_RFLAGS_DF) ? -1 : 1;
    uint64_t count = rep ? r->gpr[X86_RCX] & amask : 1;
    uint64_t dpage = ~0ULL, spage = ~0ULL;
    struct x86_fault f = { 0 };
    int rc;

    *done = false;
    while (count) {
        uint64_t di = r->gpr[X86_RDI] & amask, si = r->gpr[X86_RSI] & amask;
        uint64_t lad, las = 0, n;
        /* first element, to find the pages and the room in them */
        if (!x86_seg_linear(r, c->mode, X86_SEG_ES, di, sz, true, &lad, &f))
            return fault(c, &f);
        if (movs && !x86_seg_linear(r, c->mode, in->seg, si, sz, false, &las, &f))
            return fault(c, &f);
        if (dpage == ~0ULL) {
            dpage = lad >> PAGE_SHIFT;
            spage = las >> PAGE_SHIFT;
        } else if (lad >> PAGE_SHIFT != dpage || (movs && las >> PAGE_SHIFT != spage)) {
            break;   /* the next page is the next exit's (or native) business */
        }
        n = count;
        if (n > X86EMU_CHUNK / sz)
            n = X86EMU_CHUNK / sz;
        uint64_t room = page_room(lad, sz, dir);
        if (room < n) n = room;
        room = wrap_room(di, sz, dir, amask);
        if (room < n) n = room;
        if (movs) {
            room = page_room(las, sz, dir);
            if (room < n) n = room;
            room = wrap_room(si, sz, dir, amask);
            if (room < n) n = room;
            /* overlapping blocks: element order matters, go one at a time */
            uint64_t span = n * sz;
            uint64_t d0 = dir > 0 ? lad : lad - span + sz, s0 = dir > 0 ? las : las - span + sz;
            if (n > 1 && d0 < s0 + span && s0 < d0 + span)
                n = 1;
        }
        /* The block must pass the segment checks; if it does not, go one
         * element at a time so the fault comes at the right iteration (the
         * first element passed above). */
        uint64_t dlo, ladlo, slo = 0, laslo = 0;
        for (;;) {
            dlo = dir > 0 ? di : di - (n - 1) * sz;
            slo = dir > 0 ? si : si - (n - 1) * sz;
            if (x86_seg_linear(r, c->mode, X86_SEG_ES, dlo, (unsigned)(n * sz), true, &ladlo, &f) &&
                (!movs || x86_seg_linear(r, c->mode, in->seg, slo, (unsigned)(n * sz), false, &laslo, &f)))
                break;
            if (n == 1)
                return fault(c, &f);
            n = 1;
        }
        unsigned bytes = (unsigned)(n * sz);
        if (x86_la_wraps(c->mode, ladlo, bytes) || (movs && x86_la_wraps(c->mode, laslo, bytes)))
            return X86EMU_UNHANDLED;
        if (movs) {
            rc = c->ops->read(c, laslo, buf, bytes, pfec, &f);
        } else {
            uint64_t v = r->gpr[X86_RAX];
            for (unsigned i = 0; i < bytes; i += sz)
                memcpy(buf + i, &v, sz);
            rc = X86EMU_OK;
        }
        if (rc == X86EMU_OK)
            rc = c->ops->write(c, ladlo, buf, bytes, pfec | PFEC_WRITE, &f);
        if (rc == X86EMU_FAULT)
            return fault(c, &f);
        if (rc)
            return rc;   /* UNHANDLED: the completed chunks are committed, this one not */
        c->last_write_la = ladlo;
        c->last_write_len = bytes;

        uint64_t step = (uint64_t)dir * n * sz;
        r->gpr[X86_RDI] = reg_update(r->gpr[X86_RDI], di + step, asz);
        if (movs)
            r->gpr[X86_RSI] = reg_update(r->gpr[X86_RSI], si + step, asz);
        count -= n;
        if (rep)
            r->gpr[X86_RCX] = reg_update(r->gpr[X86_RCX], count, asz);
        *c->regs = *r;   /* completed iterations stand even if a later chunk faults */
        if (c->string_yield)
            break;       /* the rest runs natively (x86emu.h) */
    }
    *done = count == 0;
    return X86EMU_OK;
}
