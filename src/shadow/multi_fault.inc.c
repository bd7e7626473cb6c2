/*
 * multi_fault.inc.c -- a fragment of the multi.c template, not a header and not
 * compiled on its own: multi.c includes it once per guest level, after its
 * names block, the entry types and the helpers (so every function here
 * gets a per-mode name).  The #PF path and INVLPG: get_and_create_l1e links
 * a walk down to its l1, page_fault decides and writes the leaf, invlpg
 * drops one translation.
 */

/* The top shadow translating va, or SH_NIL: a slot holds INVALID_MFN or a
 * live shadow's frame (sh_set_top_move), so its index is a subtraction. */
static inline uint32_t top_shadow(struct shadow_vcpu *v, gva_t va)
{
#if GUEST_LEVELS == 3
    uint64_t m = mfn_x(v->toplevel[(va >> 30) & 3]);
#else
    (void)va;
    uint64_t m = mfn_x(v->toplevel[0]);
#endif
    return m == INVALID_MFN_RAW ? SH_NIL : (uint32_t)(m - mfn_x(v->d->base));
}

/* The shadow a present link entry se names if it is the shadow of (gfn, t),
 * else SH_NIL: a present link holds a reference on a live shadow (I3), and
 * (gfn, t) has one shadow at most (I5), so an equal key is the hash's answer
 * without the lookup. */
static inline uint32_t linked_shadow(const struct shadow_domain *d, slne_t se, uint64_t gfn,
                                     enum sh_type t)
{
    if (!slne_has(se, P))
        return SH_NIL;
    uint64_t i = slne_frame(se) - mfn_x(d->base);
    return i < d->frames && d->pg[i].gfn == gfn && d->pg[i].type == t ? (uint32_t)i : SH_NIL;
}

/*
 * get_and_create_l1e (Xen's shadow_get_and_create_l1e): for the successful
 * walk gw, find or make the shadow at every level below the top shadow of
 * gw->va (the one the present link names if it is that shadow, linked_shadow;
 * else get_shadow) and link each from its parent (install), top down, so
 * that the l1 (or fl1) shadow translating gw->va is reachable from the
 * vCPU's top.  Returns its entry for gw->va, *l1 its pool index, *changed
 * whether a link changed; NULL with *why if there is no top shadow or the
 * pool ran dry.  Invariant: every link it writes is lne_propagate_from_guest
 * of the guest entry at that level (or an fl2's link to its fl1), so I1
 * holds above the leaf; install() keeps I3 and U; it allocates only what the
 * caller's sh_prealloc(SH_PREALLOC) reserved (I6).  The leaf entry itself is
 * the caller's to write.
 */
static sl1e_t *get_and_create_l1e(struct shadow_vcpu *v, const struct gwalk *gw, uint32_t *l1,
                                  bool *changed, const char **why)
{
    struct shadow_domain *d = v->d;
    gva_t va = gw->va;
    uint32_t si = top_shadow(v, va);
    if (si == SH_NIL) {
        *why = "no top-level shadow";
        return NULL;
    }
    *changed = false;
    glne_t super = gw->leaf > 1 ? gw->e[gw->leaf] : glne_mk(0);   /* what an fl1 splinters */
    for (unsigned l = TOPS; l > 1; l--) {
        slne_t *se = &((slne_t *)sh_map(d, si))[idx(va, l)];
        uint64_t cg;
        enum sh_type ct;
        if (l < gw->leaf) {          /* inside an fl2: the fl1 of this 2 MiB chunk */
            cg = d->pg[si].gfn + ((uint64_t)idx(va, l) << LSHIFT);
            ct = FL1;
        } else {
            ct = child_of(v, gw->e[l], l, &cg);
        }
        uint32_t ci = linked_shadow(d, *se, cg, ct);
        if (ci == SH_NIL)
            ci = get_shadow(d, v, cg, ct, super);
        if (ci == SH_NIL) {
            *why = "shadow pool exhausted";
            return NULL;
        }
        slne_t want = l < gw->leaf ? fl2e_link(sh_idx_mfn(d, ci))
                                   : lne_propagate_from_guest(v, gw->e[l], l, sh_idx_mfn(d, ci));
        /* install() changes nothing for an equal entry: the usual case, tested here */
        bool ch = slne_val(*se) != slne_val(want) && install(d, si, idx(va, l), se, want);
        /* Another link to an out-of-sync l1: it catches up first (O). */
        if (unlikely(d->noos) && ch && l == 2 && ct == ltype[1])
            sh_oos_resync_gfn(v, cg, SHT_RESYNC_LINK);
        *changed |= ch;
        si = ci;
    }
    *l1 = si;
    return &((sl1e_t *)sh_map(d, si))[idx(va, 1)];
}

/*
 * Prefetch (prefetch=N, 0 < N < all): after a fault filled entry k of the l1
 * shadow si, fill the other empty entries of the aligned group of N around
 * k whose guest PTE is present, accessed and valid (l1e_propagate_from_guest
 * gives an entry: I1, I2 hold as for a fault).  Guest A bits are not
 * touched: an entry without A stays not present, so its A-bit fault still
 * comes.  Not for out-of-sync l1s (their snapshot would have to follow).
 */
static __attribute__((noinline, cold)) void prefetch_l1(struct shadow_vcpu *v, uint32_t si, unsigned k)
{
    struct shadow_domain *d = v->d;
    const gl1e_t *g = sh_gmap(d, d->pg[si].gfn);
    sl1e_t *s = sh_map(d, si);
    unsigned n = d->prefetch < NENT ? d->prefetch : NENT;
    unsigned first = k - k % n;       /* the aligned group of n around k */
    if (!g)
        return;
    for (unsigned j = first; j < first + n && j < NENT; j++) {
        if (j == k || sl1e_has(s[j], P))
            continue;
        gl1e_t ge = gl1e_read(&g[j]);
        if (!gl1e_has(ge, P) || !gl1e_has(ge, ACC))
            continue;
        sl1e_t e = l1e_propagate_from_guest(d, v, ge);
        if (sl1e_val(e)) {
            set_l1e(d, si, j, &s[j], e);
            d->c.prefetch_entries++;
        }
    }
}

/* ---- events ---------------------------------------------------------------- */

/*
 * CR0.WP = 0 lets supervisor writes through read-only entries.  A shadow may
 * grant that directly only where no user access can use it: a 4 KiB leaf with
 * U = 0 under links that are all writable (so only the leaf's RW changes,
 * and audit can check it entry by entry).  Other such writes are emulated.
 */
static bool wp0_leaf_ok(const struct gwalk *gw)
{
    if (gw->leaf != 1 || gl1e_has(gw->l1, US))
        return false;
    for (unsigned l = 2; l <= GUEST_LEVELS; l++)
        if (gw->p[l] && !glne_has(gw->e[l], RW))
            return false;
    return true;
}

/*
 * #PF.  Walk the guest; reflect a true guest fault; stop on a refused frame;
 * ask for emulation of writes to shadowed page tables (and of supervisor
 * writes that only CR0.WP = 0 allows, so shadows stay faithful); otherwise
 * set A/D, make the missing shadows top-down (get_and_create_l1e) and
 * write the leaf.  Keeps I1..I6.
 */
static enum sh_result page_fault(struct shadow_vcpu *v, gva_t va, uint32_t pfec,
                                 struct sh_fault *out)
{
    struct shadow_domain *d = v->d;
    struct gwalk gw;
    /* A read not told from a fetch (no I/D without NXE or SMEP, no
     * SH_PFEC_DATA): SMAP and PK are judged by the hardware (see walk()); a
     * PK in the hardware's code says it was data.  AC unknown: SMAP likewise. */
    bool data = (pfec & (PFEC_WRITE | SH_PFEC_DATA | PFEC_PK)) || nxe(v)
             || (v->guest_cr4 & X86_CR4_SMEP);
    bool smap_here = (pfec & SH_PFEC_NOAC) && data;
    uint32_t access = (pfec & (PFEC_WRITE | PFEC_USER | PFEC_INSN)) | (smap_here ? 0 : SH_PFEC_AC)
                    | (data ? 0 : SH_PFEC_NOPK);
    enum sh_result r;
    mfn_t m;
    bool writable = false;   /* a write, and gw.gfn is no protected page table nor trapped frame */

    if (sh_prealloc(d, SH_PREALLOC))
        return sh_stop(out, "shadow pool exhausted");
#if GUEST_LEVELS < 4
    va &= 0xffffffffULL;
#endif
    for (unsigned tries = 0;; tries++) {
        r = walk(v, va, access, &gw, out);
        if (r != SH_FIXED) {
            if (r == SH_REFLECT && (out->pfec & PFEC_RSVD))
                d->c.fault_rsvd++;
            return r;
        }
        m = plat_gfn_to_mfn(_gfn(gw.gfn));
        if (!mfn_valid(m))
            return sh_stop(out, "guest maps a frame that is not the guest's (Umbra's or beyond MAXPHYADDR)");
        if (access & PFEC_WRITE) {
            out->gfn = gw.gfn;
            /* Allowed only by CR0.WP = 0: a read-only entry, or a PKRU
             * write-disable the hardware (WP = 1) applied to a supervisor write. */
            if ((!gw.rw && !wp0_leaf_ok(&gw)) || ((pfec & PFEC_PK) && !(access & PFEC_USER))) {
                d->c.fault_emulated_wp0++;
                return SH_EMULATE;
            }
            /* A write to a page table is emulated, unless the table is out
             * of sync or the rule makes it so now (sh_oos_try_unsync): then
             * the leaf below is made writable like any other. */
            if (sh_is_pt(d, gw.gfn) && !sh_is_oos(d, gw.gfn)
                && ((access & PFEC_USER) || !sh_oos_try_unsync(v, gw.gfn))) {
                d->c.fault_emulated_pt++;
                return SH_EMULATE;
            }
            if (plat_gfn_trap_writes(_gfn(gw.gfn)))
                return SH_EMULATE;           /* the SVM layer emulates it (platform.h) */
            writable = true;
        }
        if (set_ad(d, &gw, access & PFEC_WRITE))
            break;
        d->c.ad_retries++;
        if (tries > 16)
            return SH_FIXED;         /* let the guest retry the access */
    }

    uint32_t si;
    bool changed;
    const char *why;
    sl1e_t *se = get_and_create_l1e(v, &gw, &si, &changed, &why);
    if (!se)
        return sh_stop(out, why);
    /* The leaf for gw.gfn (gl1e_frame(gw.l1)) with the p2m answer m (fixed
     * for the run, platform.h) and, for a write, the answers of the checks
     * above: still true unless get_and_create_l1e changed a link (a shadow
     * it made, which may have made gw.gfn a page table, gets a present link:
     * the walk succeeded and set_ad set A); A/D do not touch them. */
    uint64_t lf;
    sl1e_t want = gw.leaf == 1 ? ((lf = l1e_flags(v, gw.l1))
                                  ? mk_leaf_mfn(d, gw.gfn, m, lf, writable && !changed) : sl1e_mk(0))
                               : fl1e_propagate(d, gw.e[gw.leaf], d->pg[si].gfn, idx(va, 1));
    if (!gw.rw && (access & PFEC_WRITE) && sl1e_has(want, P) && !sh_is_protected_pt(d, gw.gfn)) {
        want = sl1e_mk(sl1e_val(want) | _PAGE_RW | _PAGE_DIRTY);   /* WP = 0, supervisor-only leaf */
        d->c.fault_wp0_mapped++;
    }
    if (!sl1e_has(want, P))
        return sh_stop(out, GUEST_LEVELS == 2 ? "2-level guest maps a frame above 4 GiB (PSE-36): "
                         "a 2-level shadow cannot name it" : "guest frame cannot be shadowed");
    if (!changed && sl1e_val(*se) == sl1e_val(want) && (pfec & PFEC_PRESENT)) {
        /* The shadow already allowed this: a check only the hardware can make
         * (SMAP with EFLAGS.AC, PKRU) or a stale TLB entry. */
        if ((pfec & PFEC_PK) || ((v->guest_cr4 & X86_CR4_SMAP) && !(access & PFEC_USER)
                                 && !(access & PFEC_INSN) && gw.us)) {
            d->c.fault_reflected_hw++;
            return fault(v, va, pfec, out);
        }
        d->c.fault_spurious++;
        plat_flush_va(v, va);
        return SH_FIXED;
    }
    if (gw.leaf == 1) {
        set_l1e(d, si, idx(va, 1), se, want);
        /* Out of sync, or prefetch=N with 0 < N < all: one test on the fast path. */
        if (unlikely(d->noos || d->prefetch - 1u < SH_PREFETCH_ALL - 1u)) {
            struct sh_oos *o = d->noos ? sh_oos_find(d, d->pg[si].gfn) : NULL;
            if (o)      /* O: the entry is now the propagation of what the walk read */
                ((gl1e_t *)sh_oos_snap(d, o))[idx(va, 1)] = gw.l1;
            else if (d->prefetch - 1u < SH_PREFETCH_ALL - 1u)
                prefetch_l1(v, si, idx(va, 1));
        }
    } else {
        sl1e_write(se, want);                /* fl1: not in the reverse map */
    }
    return SH_FIXED;
}

/*
 * INVLPG of va whose shadow path stops above level 2 (long mode: no top, or
 * an l4/l3 entry of this tree not present) while tables are out of sync.
 * va's PTE may still lie in an out-of-sync l1 that other trees link (the
 * kernel half every address space shares), and a later fault that links
 * this tree's upper level to their l3/l2 exposes that l1 as it is: only a
 * level-2 link resyncs (get_and_create_l1e).  So the guest's own walk finds
 * va's PTE, and it catches up as it would through the shadow (O: after an
 * INVLPG of va no shadow path maps va's old PTE).  Found by the shadow fuzz
 * target (test/fuzz/regress/shadow).
 */
#if TOPS > 2
static __attribute__((noinline, cold)) void invlpg_unlinked_oos(struct shadow_vcpu *v, gva_t va)
{
    struct gwalk gw;
    struct sh_fault f;
    gw.last = 0;
    walk(v, va, 0, &gw, &f);            /* a fault at level 1 still names the table */
    if (gw.last == 1 && sh_is_oos(v->d, gw.t[1]) && !DBIT_MUTANT(6))
        sh_oos_resync_entry(v, gw.t[1], idx(va, 1) * sizeof(entry_raw_t), sizeof(entry_raw_t));
}
#endif

/*
 * INVLPG: drop exactly the shadow entry translating va (the l1 entry, or the
 * link to the fl1/fl2 of a guest superpage), then flush va from the TLB.
 * Invariant kept by install() and destroy(): a link to a splinter is never
 * changed or removed without a whole flush, so when no link is found here no
 * 4 KiB piece of a guest superpage around va can be cached.  With tables out
 * of sync, va's PTE catches up whether or not this tree reaches it
 * (invlpg_unlinked_oos).
 */
static void invlpg(struct shadow_vcpu *v, gva_t va)
{
    struct shadow_domain *d = v->d;
#if GUEST_LEVELS < 4
    va &= 0xffffffffULL;
#endif
    uint32_t si = top_shadow(v, va);
    unsigned l = TOPS;
    for (; si != SH_NIL && l >= 1; l--) {
        if (l == 1) {             /* an l1: splinter links stop above */
            /* The guest flushes va from an out-of-sync table: va's entry
             * catches up (O; only that translation must be current) and,
             * now propagated from the guest's PTE, stays (a refault would
             * only refill it). */
            if (unlikely(d->noos) && sh_is_oos(d, d->pg[si].gfn)) {
                if (!DBIT_MUTANT(6))
                    sh_oos_resync_entry(v, d->pg[si].gfn, idx(va, 1) * sizeof(entry_raw_t),
                                        sizeof(entry_raw_t));
                break;
            }
            sl1e_t *le = &((sl1e_t *)sh_map(d, si))[idx(va, 1)];
            if (sl1e_has(*le, P)) {
                set_l1e(d, si, idx(va, 1), le, sl1e_mk(0));
                d->c.invlpg_dropped++;
            }
            break;
        }
        slne_t *se = &((slne_t *)sh_map(d, si))[idx(va, l)];
        if (!slne_has(*se, P))
            break;
        uint32_t ci = sh_mfn_idx(d, slne_frame(*se));
        if (ci != SH_NIL && sh_role[d->pg[ci].type].fl1) {
            /* The guest flushes one superpage TLB entry; the hardware may hold
             * every 4 KiB piece of its splinter: flush them all. */
            install(d, si, idx(va, l), se, slne_mk(0));    /* requests the whole flush */
            d->c.invlpg_dropped++;
            break;
        }
        si = ci;
    }
#if TOPS > 2
    /* The walk stopped above level 2 (l: where): va's PTE, if out of sync,
     * catches up by the guest's walk. */
    if (unlikely(d->noos) && l > 2)
        invlpg_unlinked_oos(v, va);
#endif
    plat_flush_va(v, va);
}

