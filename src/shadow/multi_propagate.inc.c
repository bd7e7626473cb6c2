/*
 * multi_propagate.inc.c -- a fragment of the multi.c template, not a header and not
 * compiled on its own: multi.c includes it once per guest level, after its
 * names block, the entry types and the helpers (so every function here
 * gets a per-mode name).  Propagation and validation: guest entry -> shadow
 * entry (I1, I2), the two writers of shadow entries (set_l1e for leaves,
 * install for links), get_shadow, and the revalidation of a written guest
 * table (validate) and the teardown of a dying shadow (destroy).
 */

/* ---- propagation: guest entry -> shadow entry (I1, I2) ---------------------- */

/*
 * A leaf shadow entry for guest frame gfn, whose p2m answer the caller has
 * (m = plat_gfn_to_mfn(gfn)), with flags f, or not present if refused (I2).
 * RW goes unless the frame may be written through a leaf: not a protected
 * page table (O: an out-of-sync one may), not a trapped frame.  writable:
 * the caller has just found both false and nothing changed since (the #PF
 * of a write, page_fault), so the two questions are not asked again.
 */
static inline sl1e_t mk_leaf_mfn(struct shadow_domain *d, uint64_t gfn, mfn_t m, uint64_t f,
                                 bool writable)
{
    if (!mfn_valid(m))
        return sl1e_mk(0);
#if GUEST_LEVELS == 2
    if (mfn_x(m) >> 20)
        return sl1e_mk(0);  /* not nameable by a 32-bit entry */
#endif
    if ((f & _PAGE_RW) && !writable
        && (sh_is_protected_pt(d, gfn) || plat_gfn_trap_writes(_gfn(gfn))))
        f &= ~(uint64_t)(_PAGE_RW | _PAGE_DIRTY);   /* write-protect page tables (and trapped frames),
                                                     * not the out-of-sync ones (O) */
    return sl1e_mk((mfn_x(m) << PAGE_SHIFT) | f);
}

/* mk_leaf_mfn, asking the p2m and the write questions itself. */
static sl1e_t mk_leaf(struct shadow_domain *d, uint64_t gfn, uint64_t f)
{
    return mk_leaf_mfn(d, gfn, plat_gfn_to_mfn(_gfn(gfn)), f, false);
}

/* The flags of the shadow leaf for guest PTE ge, 0 for none: present only if
 * guest P, A, no reserved bit (rs: rsvd(v, 1, ge), the same mask for every
 * PTE of the mode, as rsvd() reads no bit of a level-1 entry); writable only
 * if guest RW and D (so the first write faults and sets D); NX if n
 * (nxe(v)) and guest NX.  l1e_flags() asks rs and n itself; a loop over a
 * whole table asks them once (make_shadow). */
static inline uint64_t l1e_flags_with(gl1e_t ge, bool n, uint64_t rs)
{
    if (!gl1e_has(ge, P) || !gl1e_has(ge, ACC) || gl1e_has(ge, rs))
        return 0;
    uint64_t f = _PAGE_PRESENT | _PAGE_ACCESSED
               | (gl1e_val(ge) & (_PAGE_USER | _PAGE_PWT | _PAGE_PCD | _PAGE_PAT | _PAGE_GLOBAL | PKEY));
    if (gl1e_has(ge, RW) && (DBIT_MUTANT(1) || gl1e_has(ge, DIR)))
        f |= _PAGE_RW | _PAGE_DIRTY;
#if GUEST_LEVELS > 2
    if (n && gl1e_has(ge, _PAGE_NX))
        f |= _PAGE_NX;
#else
    (void)n;
#endif
    return f;
}
static inline uint64_t l1e_flags(struct shadow_vcpu *v, gl1e_t ge)
{
    return l1e_flags_with(ge, nxe(v), rsvd(v, 1, gl1e_val(ge)));
}

/* l1e_propagate_from_guest: l1e_flags() on the guest's frame (mk_leaf). */
static sl1e_t l1e_propagate_from_guest(struct shadow_domain *d, struct shadow_vcpu *v,
                                       gl1e_t ge)
{
    uint64_t f = l1e_flags(v, ge);
    return f ? mk_leaf(d, gl1e_frame(ge), f) : sl1e_mk(0);
}

/*
 * Write entry k (at se) of the l1 shadow si, keeping the reverse map (rmap.c,
 * invariant R): an entry is linked iff present, writable, mapping its frame.
 * Every write of an l1 (not fl1) shadow entry goes through here.
 */
static inline void set_l1e(struct shadow_domain *d, uint32_t si, unsigned k, sl1e_t *se,
                           sl1e_t want)
{
    sl1e_t old = *se;
    bool ow = (sl1e_val(old) & (P | RW)) == (P | RW), nw = (sl1e_val(want) & (P | RW)) == (P | RW);
    bool same = sl1e_frame(old) == sl1e_frame(want);
    if (ow && !(nw && same)) {
        sh_rmap_del(d, si, k, sl1e_frame(old));
        if (unlikely(d->noos) && sl1e_has(old, _PAGE_DIRTY))
            d->oos_wl_epoch++;             /* a written leaf's D goes (oos_resync) */
    }
    sl1e_write(se, want);
    if (nw && !(ow && same))
        sh_rmap_add(d, si, k, sl1e_frame(want));
}

/* fl1 entry i of the superpage mapped by guest leaf ge: the rights (RW, U, NX,
 * D-tracking) live in the shadow entry linking the fl1, so aliases of one
 * superpage with different rights can share it. */
static sl1e_t fl1e_propagate(struct shadow_domain *d, glne_t ge, uint64_t base, unsigned i)
{
    uint64_t f = _PAGE_PRESENT | _PAGE_ACCESSED | _PAGE_USER | _PAGE_RW | _PAGE_DIRTY
               | (glne_val(ge) & (_PAGE_PWT | _PAGE_PCD | _PAGE_GLOBAL | PKEY))
               | (glne_has(ge, _PAGE_PSE_PAT) ? _PAGE_PAT : 0);
    return mk_leaf(d, base + i, f);
}

/* lne_propagate_from_guest, levels N >= 2: the link to shadow `child`. */
static inline slne_t lne_propagate_from_guest(struct shadow_vcpu *v, glne_t ge, unsigned l,
                                              mfn_t child)
{
    if (!glne_has(ge, P) || !glne_has(ge, ACC) || glne_has(ge, rsvd(v, l, glne_val(ge))))
        return slne_mk(0);
    uint64_t s = (mfn_x(child) << PAGE_SHIFT) | _PAGE_PRESENT | _PAGE_ACCESSED
               | (glne_val(ge) & (_PAGE_RW | _PAGE_USER));
    if (superpage(v, l, ge) && !glne_has(ge, DIR) && !DBIT_MUTANT(2))
        s &= ~(uint64_t)_PAGE_RW;         /* superpage D tracking */
#if GUEST_LEVELS > 2
    if (nxe(v) && glne_has(ge, _PAGE_NX))
        s |= _PAGE_NX;
#endif
    return slne_mk(s);
}

/*
 * Write non-leaf entry k of shadow si (se points at it), moving the child
 * reference (I3): take the new child's ref before dropping the old one; the
 * child's up names this entry if it named none (U).  Returns true if it changed.
 */
static bool install(struct shadow_domain *d, uint32_t si, unsigned k, slne_t *se, slne_t want)
{
    slne_t old = *se;
    if (slne_val(old) == slne_val(want))
        return false;
    uint32_t ni = slne_has(want, P) ? sh_mfn_idx(d, slne_frame(want)) : SH_NIL;
    uint32_t oi = slne_has(old, P) ? sh_mfn_idx(d, slne_frame(old)) : SH_NIL;
    if (ni != SH_NIL && ni != oi)
        sh_get(d, ni);
    if (slne_has(old, P))
        d->tlb_dirty = true;
    /* A splinter's 4 KiB pieces may be cached, and so may those of any
     * splinter below a table of tables (long mode's l3/l2 links): the guest
     * will flush such a superpage with one INVLPG that can no longer reach
     * the splinter through this link (see invlpg). */
    if (oi != SH_NIL && (sh_role[d->pg[oi].type].fl1 || sh_role[d->pg[oi].type].level >= 2))
        sh_flush_all(d);
    slne_write(se, want);
    if (ni != SH_NIL && ni != oi && d->pg[ni].up == SH_NIL)
        d->pg[ni].up = SH_SLOT(si, k);
    if (oi != SH_NIL && oi != ni) {
        if (d->pg[oi].up == SH_SLOT(si, k))
            d->pg[oi].up = SH_NIL;
        sh_put(d, oi);
    }
    return true;
}

/* Type and key of the shadow a present guest entry at level l >= 2 links to. */
static inline enum sh_type child_of(const struct shadow_vcpu *v, glne_t ge, unsigned l,
                                    uint64_t *gfn)
{
    if (superpage(v, l, ge)) {
        *gfn = sp_base(ge, l);
#if GUEST_LEVELS == 4
        return l == 2 ? FL1 : SH_T_FL2_64;
#else
        return FL1;
#endif
    }
    *gfn = glne_frame(ge);
    return (enum sh_type)ltype[l - 1];
}

/* The link from an fl2 to the fl1 of its 2 MiB chunk: rights live above. */
static inline slne_t fl2e_link(mfn_t child)
{
    return slne_mk((mfn_x(child) << PAGE_SHIFT) | _PAGE_PRESENT | _PAGE_RW | _PAGE_USER
                   | _PAGE_ACCESSED);
}

/*
 * Find or make the shadow (gfn, t).  With prefetch=all (the default) a new
 * l1 is prefetched from the guest table (entries with A set), else left
 * empty for the faults (and their prefetch, page_fault) to fill; a new fl1
 * is filled entirely.  A frame that is out of sync is taken back in sync
 * before it gets another shadow (O: an out-of-sync frame has l1 shadows
 * only, and a new shadow starts from the current guest table anyway).
 * Needs the frames sh_prealloc() reserved (I6).  The prefetch writes
 * entries of the frame sh_make() just zeroed, so each write is set_l1e()'s
 * from 0 (no old entry to unlink, no D bit lost).
 */
static __attribute__((noinline)) uint32_t make_shadow(struct shadow_domain *d, struct shadow_vcpu *v,
                                                      uint64_t gfn, enum sh_type t, glne_t super)
{
    uint32_t i;
    if (d->noos && sh_role[t].pt)
        sh_oos_take_in_sync(v, gfn);
    i = sh_make(d, gfn, t);
    if (i == SH_NIL)
        return SH_NIL;
    d->pg[i].writes = 0;
    sl1e_t *s = sh_map(d, i);          /* read only for an l1 or fl1 */
    if (t == ltype[1] && d->prefetch == SH_PREFETCH_ALL) {
        /* l1e_propagate_from_guest() of every PTE, its mode-wide answers
         * (rsvd at level 1, nxe) asked once for the table */
        gl1e_t *g = sh_gmap(d, gfn);
        bool n = nxe(v);
        uint64_t rs = rsvd(v, 1, 0);
        unsigned long filled = 0;
        /* the new l1's reverse-map nodes, its companions found once for the
         * table: entry k's is node + 2k, or node_hi + 2(k - 512) past 512
         * (2-level), as sh_rmap_node(d, SH_SLOT(i, k)) gives */
        uint32_t *node = sh_rmap_node(d, SH_SLOT(i, 0));
        uint32_t *node_hi = NENT > 512 ? sh_rmap_node(d, SH_SLOT(i, 512)) : node;
        for (unsigned k = 0; g && k < NENT; k++) {
            gl1e_t ge = g[k];
            uint64_t f = l1e_flags_with(ge, n, rs);
            sl1e_t e = f ? mk_leaf(d, gl1e_frame(ge), f) : sl1e_mk(0);
            if (!sl1e_val(e))
                continue;
            /* set_l1e() on an entry that is 0 (sh_make zeroed the frame):
             * the write, and the reverse-map link of a writable one (R) */
            sl1e_write(&s[k], e);
            if ((sl1e_val(e) & (P | RW)) == (P | RW))
                sh_rmap_link(d, SH_SLOT(i, k), k < 512 ? node + 2 * k : node_hi + 2 * (k - 512),
                             sl1e_frame(e));
            filled++;
        }
        d->c.prefetch_entries += filled;
    } else if (t == FL1) {
        for (unsigned k = 0; k < NENT; k++)
            s[k] = fl1e_propagate(d, super, gfn, k);
        d->c.prefetch_entries += NENT;
    }
    return i;
}

/* get_shadow's hit path, inline; a miss makes the shadow (make_shadow). */
static inline uint32_t get_shadow(struct shadow_domain *d, struct shadow_vcpu *v,
                                  uint64_t gfn, enum sh_type t, glne_t super)
{
    uint32_t i = sh_lookup(d, gfn, t);
    return i != SH_NIL ? i : make_shadow(d, v, gfn, t, super);
}

/*
 * validate_guest_entry: the guest wrote bytes [off, off+len) of the table
 * shadowed by `si`; recompute those shadow entries.  Links only to shadows
 * that already exist (no allocation, I6); missing ones come back on a fault.
 * No TLB flush: the guest must INVLPG / reload CR3 after changing its tables.
 */
static void validate(struct shadow_vcpu *v, uint32_t si, unsigned off, unsigned len)
{
    struct shadow_domain *d = v->d;
    unsigned l = sh_role[d->pg[si].type].level;
    void *g = sh_gmap(d, d->pg[si].gfn);  /* gl1e_t[] at level 1, else glne_t[] */
    void *s = sh_map(d, si);                     /* sl1e_t[] at level 1, else slne_t[] */
    if (!g || !len)
        return;
    unsigned last = (off + len - 1) / sizeof(entry_raw_t);
    for (unsigned k = off / sizeof(entry_raw_t); k <= last && k < NENT; k++) {
        d->c.pt_entries_validated++;
        if (l == 1) {
            sl1e_t *le = &((sl1e_t *)s)[k];
            sl1e_t n = l1e_propagate_from_guest(d, v, ((gl1e_t *)g)[k]);
            if (sl1e_has(*le, P) && sl1e_val(n) != sl1e_val(*le))
                d->tlb_dirty = true;
            set_l1e(d, si, k, le, n);
            continue;
        }
        glne_t ge = ((glne_t *)g)[k];
        slne_t want = slne_mk(0);
        /* A write to an entry that links an out-of-sync l1 (or now will):
         * the l1 catches up first, so no address the new entry maps sees a
         * stale PTE (O).  Only level 2 links l1s. */
        uint32_t old_child = l == 2 && d->noos ? sh_link_target(d, si, k) : SH_NIL;
        if (old_child != SH_NIL && ((1u << d->pg[old_child].type) & SH_OOS_TYPES))
            sh_oos_resync_gfn(v, d->pg[old_child].gfn, SHT_RESYNC_LINK);
        if (glne_has(ge, P) && glne_has(ge, ACC) && !glne_has(ge, rsvd(v, l, glne_val(ge)))) {
            uint64_t cg;
            enum sh_type ct = child_of(v, ge, l, &cg);
            uint32_t ci = sh_lookup(d, cg, ct);
            if (ci != SH_NIL && l == 2 && ci != old_child && d->noos && ct == ltype[1])
                sh_oos_resync_gfn(v, cg, SHT_RESYNC_LINK);
            if (ci != SH_NIL)
                want = lne_propagate_from_guest(v, ge, l, sh_idx_mfn(d, ci));
        }
        install(d, si, k, &((slne_t *)s)[k], want);
    }
}

/* Drop the references a dying shadow holds on its children (I4). */
static void destroy(struct shadow_domain *d, uint32_t si)
{
    if (sh_role[d->pg[si].type].level < 2)
        return;
    slne_t *s = sh_map(d, si);
    bool splinter = false;
    for (unsigned k = 0; k < NENT; k++) {
        slne_t e = s[k];
        if (!slne_has(e, P))
            continue;
        s[k] = slne_mk(0);
        uint32_t ci = sh_mfn_idx(d, slne_frame(e));
        if (ci == SH_NIL)
            continue;
        if (sh_role[d->pg[ci].type].fl1)
            splinter = true;
        if (d->pg[ci].up == SH_SLOT(si, k))
            d->pg[ci].up = SH_NIL;          /* U: the entry is gone */
        sh_put(d, ci);
    }
    if (splinter)
        sh_flush_all(d);   /* see invlpg: splinter links never go unflushed */
}

