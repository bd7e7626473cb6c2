/*
 * Page-table writes of the random guest done the way Umbra really does them:
 * a real instruction (byte sequence) run through x86_emulate() with the
 * callbacks the SVM layer uses (shadow_read_guest / shadow_write_guest /
 * shadow_cmpxchg_guest, as in include/umbra/x86emu.h).  The kinds: MOV,
 * XCHG, LOCK CMPXCHG, LOCK CMPXCHG8B, two 32-bit MOV halves, REP STOS,
 * LOCK AND + LOCK OR, LOCK BTS/BTR of one bit, and byte-wide LOCK AND/OR.
 * The outcome must be bare hardware's: the entry holds the new value, or the
 * first instruction faults with the guest walk's #PF (and nothing changed).
 */
#include <stdio.h>
#include <string.h>

#include <umbra/x86.h>
#include <umbra/x86emu.h>
#include <umbra/shadow.h>
#include "sim_platform.h"
#include "shadow_world.h"

static int from_shadow(enum sh_result r, const struct sh_fault *sf, struct x86_fault *f)
{
    switch (r) {
    case SH_FIXED:   return X86EMU_OK;
    case SH_REFLECT: *f = (struct x86_fault){ sf->vector, true, sf->pfec, sf->cr2 };
                     return X86EMU_FAULT;
    default:         return X86EMU_UNHANDLED;
    }
}

static int cb_read(struct x86_emu_ctxt *c, uint64_t la, void *dst, unsigned len, uint32_t pfec,
                   struct x86_fault *f)
{
    struct sh_fault sf = { 0 };
    return from_shadow(shadow_read_guest(c->opaque, la, dst, len, pfec, &sf), &sf, f);
}

static int cb_write(struct x86_emu_ctxt *c, uint64_t la, const void *src, unsigned len,
                    uint32_t pfec, struct x86_fault *f)
{
    struct sh_fault sf = { 0 };
    stale_note_write(world_of_vcpu(c->opaque), la, len, pfec);
    return from_shadow(shadow_write_guest(c->opaque, la, src, len, pfec, &sf), &sf, f);
}

static int cb_cmpxchg(struct x86_emu_ctxt *c, uint64_t la, void *old, const void *new,
                      unsigned len, uint32_t pfec, struct x86_fault *f)
{
    struct sh_fault sf = { 0 };
    bool done;
    if (len > 8)
        return X86EMU_UNHANDLED;
    stale_note_write(world_of_vcpu(c->opaque), la, len, pfec);
    return from_shadow(shadow_cmpxchg_guest(c->opaque, la, old, new, len, pfec | PFEC_WRITE,
                                            &done, &sf), &sf, f);
}

static const struct x86_emu_ops ops = { cb_read, cb_write, cb_cmpxchg, NULL };

/* Run one instruction (bytes b, n long) with the given registers. */
static int run(struct world *w, bool l64, struct x86_regs *r, const uint8_t *b, unsigned n,
               struct x86_fault *f)
{
    struct x86_emu_ctxt c;
    memset(&c, 0, sizeof(c));
    c.ops = &ops;
    c.opaque = &w->v;
    c.regs = r;
    c.mode = l64 ? X86_MODE_LONG64 : X86_MODE_PROT32;
    memcpy(c.insn_bytes, b, n);
    c.insn_avail = n;
    r->rip = 0x1000;
    int rc = x86_emulate(&c);
    if (rc == X86EMU_OK && r->rip != 0x1000 + n)
        wfail(w, "emulated insn: rip %#llx, want %#llx", (unsigned long long)r->rip,
              (unsigned long long)(0x1000 + n));
    *f = c.fault;
    return rc;
}

static void flat(struct x86_regs *r, bool l64)
{
    memset(r, 0, sizeof(*r));
    for (unsigned s = 0; s < X86_NR_SEGS; s++) {
        r->seg[s].limit = 0xffffffffu;
        r->seg[s].attr = 0xc93;
    }
    r->seg[X86_SEG_CS].attr = l64 ? 0x29b : 0xc9b;
    r->rflags = 0x2;
}

#define EMIT(...) do { const uint8_t x_[] = { __VA_ARGS__ }; memcpy(p + n, x_, sizeof(x_)); \
                       n += sizeof(x_); } while (0)

/*
 * Write val over the entry at guest-virtual va (es bytes, old value old) by
 * the instruction kind `kind`; returns the emulator result of the first
 * instruction that did not complete (X86EMU_OK if all did), *f its fault.
 * Kinds needing several instructions stop at the first fault.
 */
static int emul_write(struct world *w, unsigned kind, gva_t va, uint64_t old, uint64_t val,
                      unsigned es, bool single, struct x86_fault *f, const char **name)
{
    bool l64 = w->mode == GUEST_PAGING_LONG;
    struct x86_regs r;
    uint8_t p[16];
    unsigned n = 0;
    int rc;
    flat(&r, l64);
    r.gpr[X86_RBX] = va;
    r.gpr[X86_RSI] = va;
    r.gpr[X86_RDI] = va;
    bool wide = es == 8;
    switch (kind) {
    case 0:                               /* MOV [rbx], rax */
        *name = "mov";
        if (wide && !l64)
            goto halves;
        r.gpr[X86_RAX] = val;
        if (wide) EMIT(0x48);
        EMIT(0x89, 0x03);
        return run(w, l64, &r, p, n, f);
    case 1:                               /* XCHG [rbx], rax (implicitly locked) */
        *name = "xchg";
        if (wide && !l64)
            goto cx8;
        r.gpr[X86_RAX] = val;
        if (wide) EMIT(0x48);
        EMIT(0x87, 0x03);
        rc = run(w, l64, &r, p, n, f);
        /* The walk of va may set A (and D) in this very entry first. */
        if (rc == X86EMU_OK && (r.gpr[X86_RAX] & ~(uint64_t)(_PAGE_ACCESSED | _PAGE_DIRTY))
                               != ((wide ? old : (uint32_t)old) & ~(uint64_t)(_PAGE_ACCESSED | _PAGE_DIRTY)))
            wfail(w, "xchg returned %#llx, the entry was %#llx",
                  (unsigned long long)r.gpr[X86_RAX], (unsigned long long)old);
        return rc;
    case 2:                               /* LOCK CMPXCHG [rbx], rcx */
        *name = "lock cmpxchg";
        if (wide && !l64)
            goto cx8;
        r.gpr[X86_RAX] = old;
        r.gpr[X86_RCX] = val;
        EMIT(0xf0);
        if (wide) EMIT(0x48);
        EMIT(0x0f, 0xb1, 0x0b);
        rc = run(w, l64, &r, p, n, f);
        if (rc == X86EMU_OK && !(r.rflags & 0x40))
            wfail(w, "lock cmpxchg with the entry's own value did not exchange (ZF clear)");
        return rc;
    case 3:                               /* LOCK CMPXCHG8B [rsi] */
    cx8:
        *name = "lock cmpxchg8b";
        if (!wide)
            goto halves;
        r.gpr[X86_RAX] = (uint32_t)old;
        r.gpr[X86_RDX] = old >> 32;
        r.gpr[X86_RBX] = (uint32_t)val;
        r.gpr[X86_RCX] = val >> 32;
        EMIT(0xf0, 0x0f, 0xc7, 0x0e);
        /* Linux's set_pte_atomic loop: a failed compare loads EDX:EAX with
         * memory (the walk of va may have set A/D in this very entry). */
        for (unsigned t = 0; t < 3; t++) {
            rc = run(w, l64, &r, p, n, f);
            if (rc != X86EMU_OK || (r.rflags & 0x40))
                return rc;
            if (!single)
                wfail(w, "cmpxchg8b with the entry's own value did not exchange (ZF clear)");
        }
        wfail(w, "cmpxchg8b loop did not converge");
    case 4:                               /* two 32-bit halves: low, then high */
    halves:
        *name = "mov halves";
        r.gpr[X86_RAX] = (uint32_t)val;
        r.gpr[X86_RDX] = val >> 32;
        EMIT(0x89, 0x03);                 /* mov [rbx], eax */
        if ((rc = run(w, l64, &r, p, n, f)) != X86EMU_OK || !wide)
            return rc;
        n = 0;
        EMIT(0x89, 0x53, 0x04);           /* mov [rbx+4], edx */
        return run(w, l64, &r, p, n, f);
    case 5:                               /* REP STOSD / STOSQ, rcx elements */
        *name = "rep stos";
        if (wide && !l64 && (uint32_t)val != (uint32_t)(val >> 32))
            goto halves;                  /* stosd repeats one dword */
        r.gpr[X86_RAX] = val;
        r.gpr[X86_RCX] = wide && !l64 ? 2 : 1;
        EMIT(0xf3);
        if (wide && l64) EMIT(0x48);
        EMIT(0xab);
        rc = run(w, l64, &r, p, n, f);
        if (rc == X86EMU_OK && (r.gpr[X86_RCX] != 0 || r.gpr[X86_RDI] != va + es))
            wfail(w, "rep stos left rcx %#llx rdi %#llx", (unsigned long long)r.gpr[X86_RCX],
                  (unsigned long long)r.gpr[X86_RDI]);
        return rc;
    case 6: {                             /* LOCK BTS/BTR of one bit, else LOCK AND + LOCK OR */
        uint64_t diff = old ^ val;
        if (diff && !(diff & (diff - 1))) {
            unsigned bit = (unsigned)__builtin_ctzll(diff);
            *name = val & diff ? "lock bts" : "lock btr";
            unsigned disp = bit >= 32 && !l64 ? 4 : 0;
            EMIT(0xf0);
            if (wide && l64) EMIT(0x48);
            EMIT(0x0f, 0xba, (val & diff ? 0x68 : 0x70) | 0x03, (uint8_t)disp,
                 (uint8_t)(bit - disp * 8));    /* bts/btr [rbx+disp8], imm8 */
            return run(w, l64, &r, p, n, f);
        }
        *name = "lock and+or";
        for (unsigned h = 0; h < (wide && !l64 ? 2 : 1); h++) {
            unsigned sh = h * 32;
            r.gpr[X86_RCX] = (old & val) >> sh;
            r.gpr[X86_RDX] = val >> sh;
            n = 0;
            EMIT(0xf0);
            if (wide && l64) EMIT(0x48);
            EMIT(0x21, 0x4b, (uint8_t)(h * 4));          /* and [rbx+d], ecx */
            if ((rc = run(w, l64, &r, p, n, f)) != X86EMU_OK)
                return rc;
            n = 0;
            EMIT(0xf0);
            if (wide && l64) EMIT(0x48);
            EMIT(0x09, 0x53, (uint8_t)(h * 4));          /* or [rbx+d], edx */
            if ((rc = run(w, l64, &r, p, n, f)) != X86EMU_OK)
                return rc;
        }
        return X86EMU_OK;
    }
    default:                              /* bytewise LOCK AND + LOCK OR */
        *name = "lock and/or bytes";
        for (unsigned b = 0; b < es; b++) {
            uint8_t ob = (uint8_t)(old >> (8 * b)), nb = (uint8_t)(val >> (8 * b));
            if (ob == nb && (b || old != val))
                continue;         /* (byte 0 of an unchanged entry is still written) */
            r.gpr[X86_RCX] = ob & nb;
            r.gpr[X86_RDX] = nb;
            n = 0;
            EMIT(0xf0, 0x20, 0x4b, (uint8_t)b);          /* and [rbx+b], cl */
            if ((rc = run(w, l64, &r, p, n, f)) != X86EMU_OK)
                return rc;
            n = 0;
            EMIT(0xf0, 0x08, 0x53, (uint8_t)b);          /* or [rbx+b], dl */
            if ((rc = run(w, l64, &r, p, n, f)) != X86EMU_OK)
                return rc;
        }
        return X86EMU_OK;
    }
}

/*
 * The random guest writes a page-table entry with an emulated instruction:
 * the result must be bare hardware's (the guest walk g of va for a write).
 * An entry on va's own walk (single) is written by XCHG only: one
 * instruction in every mode (CMPXCHG8B for 8 bytes in 32-bit code), and the
 * walk may set A/D in the entry before it is compared.
 */
void emul_pt_write(struct world *w, gva_t va, uint64_t old, uint64_t val, unsigned es,
                   bool single, const struct ref_result *g)
{
    struct x86_fault f = { 0 };
    const char *name = "?";
    /* Several instructions write intermediate values: not into the tables
     * that map va itself (the later ones could then fault, legitimately). */
    unsigned kind = single ? 1 : (unsigned)rn(w, 8);
    const void *cur = g->ok ? sim_guest_ptr(g->pa) : NULL;
    if (cur)                    /* va may map another frame than the entry's table */
        memcpy(&old, cur, es);
    int rc = emul_write(w, kind, va, old, val, es, single, &f, &name);
    oplog(w, "  emulated %s at %#llx -> %d", name, (unsigned long long)va, rc);
    w->st->emulated_insns++;
    if (g->table_unbacked)
        return;                 /* a guest table outside RAM: bare hardware reads MMIO */
    if (rc == X86EMU_UNHANDLED && g->ok && !plat_gfn_is_ram(_gfn(g->pa >> PAGE_SHIFT))
        && tolerate(w, GAP_EMUL_MMIO))
        return;
    if (g->ok && rc != X86EMU_OK)
        wfail(w, "emulated %s at %#llx: result %d (vector %u err %#x), the guest allows it",
              name, (unsigned long long)va, rc, f.vector, f.error_code);
    if (!g->ok && (rc != X86EMU_FAULT || f.vector != g->vector
                   || (g->vector == X86_EXC_PF && (f.error_code != g->pfec
                       || f.cr2 < va || f.cr2 >= va + es))))
        wfail(w, "emulated %s at %#llx: result %d vector %u err %#x cr2 %#llx, want vector %u "
              "pfec %#x", name, (unsigned long long)va, rc, f.vector, f.error_code,
              (unsigned long long)f.cr2, g->vector, g->pfec);
    if (g->ok && sim_guest_ptr(g->pa)) {
        uint64_t got = 0;
        memcpy(&got, sim_guest_ptr(g->pa), es);
        if (got != val)
            wfail(w, "emulated %s at %#llx: gpa %#llx holds %#llx, want %#llx", name,
                  (unsigned long long)va, (unsigned long long)g->pa, (unsigned long long)got,
                  (unsigned long long)val);
    }
}
