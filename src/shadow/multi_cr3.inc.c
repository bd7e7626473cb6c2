/*
 * multi_cr3.inc.c -- a fragment of the multi.c template, not a header and not
 * compiled on its own: multi.c includes it once per guest level, after its
 * names block, the entry types and the helpers (so every function here
 * gets a per-mode name).  The CR3 load: set_toplevel_shadow installs one
 * top-level slot, update_cr3 reads the new guest CR3 (and PAE PDPTEs) and
 * points the hardware CR3 at the result.
 */

/*
 * set_toplevel_shadow (Xen's sh_set_toplevel_shadow): make the shadow
 * (gfn, t) the vCPU's top-level slot `slot` (0, or the PDPTE index of a PAE
 * guest): find it (hash hit: s, the caller's sh_lookup(gfn, t)) or make it
 * (miss, s == SH_NIL, prefetched by get_shadow), pin it (pinned or moved to
 * the LRU head) and move the slot's reference to it (sh_set_top).
 * Invariant: on success the slot holds a pinned shadow of exactly (gfn, t)
 * with the slot's reference counted (I3); the shadow it replaces stays
 * pinned, so a switch back is a hash hit, and dies only when sh_prealloc()
 * unpins it.  Allocates only what the caller's sh_prealloc(SH_PREALLOC)
 * reserved (I6).  SH_NIL: nothing changed, because gfn is not guest RAM or
 * the pool ran dry (top_failed() says which).  A hit needs no RAM check: a
 * top-level shadow is made only here, after the check, and the p2m's answer
 * for a frame is fixed for the run (platform.h).
 */
static uint32_t set_toplevel_shadow(struct shadow_vcpu *v, unsigned slot, uint64_t gfn,
                                    enum sh_type t, uint32_t s)
{
    struct shadow_domain *d = v->d;
    uint64_t tslot = GUEST_LEVELS == 3 ? slot : ~0ULL;   /* the trace names PAE slots only */
    if (s != SH_NIL) {
        d->c.cr3_hits++;
        SH_TRACE(v, SHT_CR3_HIT, ~0ULL, gfn, mfn_x(sh_idx_mfn(d, s)), tslot, ~0ULL);
    } else {
        d->c.cr3_misses++;
        SH_TRACE(v, SHT_CR3_MISS, ~0ULL, gfn, ~0ULL, tslot, ~0ULL);
        if (!sh_map_gfn(_gfn(gfn)))
            return SH_NIL;
        s = get_shadow(d, v, gfn, t, glne_mk(0));
        if (s == SH_NIL)
            return SH_NIL;
    }
    sh_pin(d, s);
    sh_set_top(v, slot, s);
    return s;
}

/* Why set_toplevel_shadow(gfn) returned SH_NIL (the slow path only). */
static enum sh_result top_failed(struct sh_fault *out, uint64_t gfn)
{
    return sh_stop(out, sh_map_gfn(_gfn(gfn)) ? "shadow pool exhausted" : "guest CR3 is not in guest RAM");
}

/*
 * update_cr3: install the top shadow(s) of the new guest CR3 with
 * set_toplevel_shadow (one slot, or one per present PDPTE of a PAE guest)
 * and point the hardware CR3 at them (PAE: at the vCPU's shadow PDPT, whose
 * four entries mirror the slots).  PAE: the four PDPTEs are read now and
 * cached; reserved bits -> #GP(0) and nothing changes.  The guest's MOV CR3
 * flushes its TLB: request a flush.
 */
static enum sh_result update_cr3(struct shadow_vcpu *v, struct sh_fault *out)
{
    struct shadow_domain *d = v->d;
#if GUEST_LEVELS == 3
    gpa_t a = v->guest_cr3 & 0xffffffe0ULL;
    const char *pdpt = sh_gmap(d, a >> PAGE_SHIFT);
    if (!pdpt)
        return sh_stop(out, "guest PDPT is not in guest RAM");
    uint64_t raw[4];        /* read once: the check and the cache see the same */
    memcpy(raw, pdpt + (a & (PAGE_SIZE - 1)), sizeof(raw));
    if (!sh_pdptes_ok(d, raw)) {
        out->vector = X86_EXC_GP;
        out->pfec = 0;
        out->cr2 = 0;
        out->why = NULL;
        return SH_REFLECT;
    }
    glne_t pe[4];
    for (unsigned i = 0; i < 4; i++)
        pe[i] = glne_mk(raw[i]);
    _Static_assert(sizeof(pe) == sizeof(v->guest_pdpte), "the cached PDPTEs are guest entries");
    memcpy(v->guest_pdpte, pe, sizeof(pe));
    uint64_t *l3 = sh_map(d, (uint32_t)(mfn_x(v->pae_l3) - mfn_x(d->base)));   /* a pool frame */
    for (unsigned i = 0; i < 4; i++) {
        /* A PD outside guest RAM gets no shadow: its PDPT slot stays empty
         * and an access through it stops the guest in the walker.  A PD with
         * a shadow is RAM (see set_toplevel_shadow). */
        if (glne_has(pe[i], P)) {
            uint64_t g = glne_frame(pe[i]);
            uint32_t s = sh_lookup(d, g, SH_T_L2_PAE);
            if (s != SH_NIL || sh_gmap(d, g)) {
                s = set_toplevel_shadow(v, i, g, SH_T_L2_PAE, s);
                if (s == SH_NIL)
                    return top_failed(out, g);
                l3[i] = (mfn_x(sh_idx_mfn(d, s)) << PAGE_SHIFT) | _PAGE_PRESENT
                      | (glne_val(pe[i]) & (_PAGE_PWT | _PAGE_PCD));
                continue;
            }
        }
        sh_set_top(v, i, SH_NIL);
        l3[i] = 0;
    }
    v->hw_cr3 = mfn_x(v->pae_l3) << PAGE_SHIFT;
#else
    uint64_t g = (v->guest_cr3 & GADDR) >> PAGE_SHIFT;
    uint32_t s = set_toplevel_shadow(v, 0, g, (enum sh_type)ltype[TOPS], sh_lookup(d, g, (enum sh_type)ltype[TOPS]));
    if (s == SH_NIL)
        return top_failed(out, g);
    v->hw_cr3 = (mfn_x(sh_idx_mfn(d, s)) << PAGE_SHIFT) | (v->guest_cr3 & CACHE);
#endif
    v->tlb_flush = true;
    if (d->nvcpus == 1)
        d->tlb_dirty = false;
    return SH_FIXED;
}

