/*
 * The shadow pool: domain setup, frame allocation, the (gfn, type) hash,
 * refcounts, the pin LRU, prealloc-driven unpinning and teardown, and the
 * write-protection of frames that become shadowed page tables.
 *
 * Mode independent: entry widths come from sh_role[], everything that reads
 * entries of a shadow goes through the mode that owns its type.
 */
#include "private.h"

const struct sh_role sh_role[SH_T_MAX] = {
    [SH_T_NONE]    = { "none",    0, 0, false, false, true },
    [SH_T_L1_32]   = { "l1_32",   2, 1, false, true,  false },
    [SH_T_FL1_32]  = { "fl1_32",  2, 1, true,  false, false },
    [SH_T_L2_32]   = { "l2_32",   2, 2, false, true,  false },
    [SH_T_L1_PAE]  = { "l1_pae",  3, 1, false, true,  true },
    [SH_T_FL1_PAE] = { "fl1_pae", 3, 1, true,  false, true },
    [SH_T_L2_PAE]  = { "l2_pae",  3, 2, false, true,  true },
    [SH_T_L1_64]   = { "l1_64",   4, 1, false, true,  true },
    [SH_T_FL1_64]  = { "fl1_64",  4, 1, true,  false, true },
    [SH_T_L2_64]   = { "l2_64",   4, 2, false, true,  true },
    [SH_T_L3_64]   = { "l3_64",   4, 3, false, true,  true },
    [SH_T_L4_64]   = { "l4_64",   4, 4, false, true,  true },
    [SH_T_FL2_64]  = { "fl2_64",  4, 2, true,  false, true },
    [SH_T_PHYS_L1] = { "phys_l1", 0, 1, false, false, true },
    [SH_T_PHYS_L2] = { "phys_l2", 0, 2, false, false, true },
    [SH_T_PDPT]    = { "pdpt",    0, 3, false, false, true },
    [SH_T_RMAP]    = { "rmap",    0, 0, false, false, true },
    [SH_T_SNAP]    = { "snap",    0, 0, false, false, true },
    [SH_T_FREE]    = { "free",    0, 0, false, false, true },
    [SH_T_META]    = { "meta",    0, 0, false, false, true },
};

const struct shadow_mode *sh_mode_of_type(enum sh_type t)
{
    switch (sh_role[t].guest_levels) {
    case 2: return &sh_mode_g2;
    case 3: return &sh_mode_g3;
    case 4: return &sh_mode_g4;
    default: return &sh_mode_phys;
    }
}

static inline uint32_t hash_gfn(const struct shadow_domain *d, uint64_t gfn)
{
    return sh_hash_gfn(d, gfn);
}

/*
 * Carve the domain, the page records and the buckets from the start of the
 * pool; the rest becomes the free list.  The metadata frames must be
 * contiguous in the platform's mapping (checked).
 */
struct shadow_domain *shadow_domain_init(mfn_t pool_base, unsigned long frames)
{
    if (frames < 32 || frames > 0x40000000UL || mfn_x(pool_base) + frames > (1ULL << 20))
        return NULL;    /* below 4 GiB, and big enough for a guest */
    uint32_t nb = 1, nrb = 1;
    while (nb < frames / 2)
        nb <<= 1;
    while (nrb < frames * 4)
        nrb <<= 1;     /* reverse-map chains (rmap.c) */
    size_t bytes = ALIGN_UP(sizeof(struct shadow_domain), 64)
                 + ALIGN_UP(frames * sizeof(struct sh_page), 64)
                 + ALIGN_UP(nb * sizeof(uint32_t), 64) + ALIGN_UP(nrb * sizeof(uint32_t), 64)
                 + frames * sizeof(uint32_t);
    unsigned long meta = (bytes + PAGE_SIZE - 1) >> PAGE_SHIFT;
    if (meta + 16 > frames)
        return NULL;
    char *p0 = plat_map_mfn(pool_base);
    if (!p0)
        return NULL;
    for (unsigned long i = 1; i < frames; i++)     /* one range: sh_map() adds to p0 */
        if (plat_map_mfn(_mfn(mfn_x(pool_base) + i)) != p0 + i * PAGE_SIZE)
            return NULL;
    memset(p0, 0, meta * PAGE_SIZE);

    struct shadow_domain *d = (struct shadow_domain *)p0;
    char *p = p0 + ALIGN_UP(sizeof(*d), 64);
    d->base = pool_base;
    d->va = p0;
    d->rsvd_addr[0] = sh_rsvd_addr(62);
    d->rsvd_addr[1] = sh_rsvd_addr(51);
    d->feat = plat_cpu_features();     /* read through on every walk: no call per entry */
    d->prefetch = SH_PREFETCH_ALL;     /* shadow_set_prefetch() */
    d->oos_after = SH_OOS_AFTER_WRITES;
    d->frames = (uint32_t)frames;
    d->first = (uint32_t)meta;
    d->pg = (struct sh_page *)p;
    p += ALIGN_UP(frames * sizeof(struct sh_page), 64);
    d->bucket = (uint32_t *)p;
    d->nbuckets = nb;
    p += ALIGN_UP(nb * sizeof(uint32_t), 64);
    d->rbucket = (uint32_t *)p;      /* zeroed: every chain empty */
    d->nrbuckets = nrb;
    p += ALIGN_UP(nrb * sizeof(uint32_t), 64);
    d->audit_refs = (uint32_t *)p;
    for (uint32_t i = 0; i < nb; i++)
        d->bucket[i] = SH_NIL;
    d->lru_head = d->lru_tail = SH_NIL;
    d->free_head = SH_NIL;
    for (unsigned i = 0; i < SH_GMAP; i++)
        d->gmap[i].gfn = INVALID_GFN_RAW;      /* sh_gmap(): every slot empty */
    for (uint32_t i = 0; i < frames; i++) {
        struct sh_page *sp = &d->pg[i];
        sp->lprev = sp->lnext = SH_NIL;
        sp->rmap = SH_NIL;
        sp->gfn = INVALID_GFN_RAW;
        if (i < meta) {
            sp->type = SH_T_META;
            sp->hnext = SH_NIL;
            continue;
        }
        sp->type = SH_T_FREE;
    }
    for (uint32_t i = (uint32_t)frames; i-- > meta;) {
        d->pg[i].hnext = d->free_head;
        d->free_head = i;
        d->nfree++;
    }
    return d;
}

uint32_t sh_mfn_idx(const struct shadow_domain *d, uint64_t mfn)
{
    uint64_t i = mfn - mfn_x(d->base);
    if (mfn < mfn_x(d->base) || i >= d->frames)
        return SH_NIL;
    uint8_t t = d->pg[i].type;
    return (t == SH_T_FREE || t == SH_T_META || t == SH_T_RMAP || t == SH_T_SNAP) ? SH_NIL : (uint32_t)i;
}

uint32_t sh_lookup(struct shadow_domain *d, uint64_t gfn, enum sh_type t)
{
    for (uint32_t i = d->bucket[hash_gfn(d, gfn)]; i != SH_NIL; i = d->pg[i].hnext)
        if (d->pg[i].gfn == gfn && d->pg[i].type == t)
            return i;
    return SH_NIL;
}

unsigned sh_pt_types(struct shadow_domain *d, uint64_t gfn)
{
    unsigned m = 0;
    for (uint32_t i = d->bucket[hash_gfn(d, gfn)]; i != SH_NIL; i = d->pg[i].hnext)
        if (d->pg[i].gfn == gfn && sh_role[d->pg[i].type].pt)
            m |= 1u << d->pg[i].type;
    return m;
}

unsigned sh_pt_shadows(struct shadow_domain *d, uint64_t gfn, uint32_t out[8])
{
    unsigned n = 0;
    for (uint32_t i = d->bucket[hash_gfn(d, gfn)]; i != SH_NIL && n < 8; i = d->pg[i].hnext)
        if (d->pg[i].gfn == gfn && sh_role[d->pg[i].type].pt)
            out[n++] = i;
    return n;
}

void sh_flush_all(struct shadow_domain *d)
{
    d->c.tlb_flush_requests++;
    SH_TRACE(NULL, SHT_FLUSH, ~0ULL, ~0ULL, ~0ULL, ~0ULL, ~0ULL);
    d->tlb_dirty = false;
    for (unsigned i = 0; i < d->nvcpus; i++)
        d->vcpu[i]->tlb_flush = true;
}

/*
 * gfn just became a shadowed page table (or an out-of-sync one came back in
 * sync, common.c): no shadow leaf may map it writable any more (so guest writes to it trap and get emulated), and no TLB entry
 * either.  The reverse map (rmap.c) names exactly the writable l1 entries of
 * its frame; fl1 splinters are found by hash.  tlb_dirty is set wherever a
 * translation leaves the shadows without a flush (a destroyed shadow, a
 * changed link, a revalidated leaf) and cleared by every whole flush, so a
 * flush is needed here only if it is set or rights were removed.
 * Paging-off identity shadows are not write-protected: they exist only while
 * no vCPU has paging on, and a mode change drops all shadows.
 */
void sh_remove_write_access(struct shadow_domain *d, uint64_t gfn)
{
    mfn_t m = plat_gfn_to_mfn(_gfn(gfn));
    if (!mfn_valid(m))
        return;
    unsigned long removed = sh_rmap_write_protect(d, gfn, mfn_x(m));
    d->c.wp_removed += removed;
    /* We took rights away behind the guest's back; and a writable translation
     * that left the shadows without a flush (tlb_dirty) may still be cached:
     * a write through it would reach the page table unseen. */
    if (removed || d->tlb_dirty)
        sh_flush_all(d);
}

static uint32_t take_free(struct shadow_domain *d)
{
    uint32_t i = d->free_head;
    d->free_head = d->pg[i].hnext;
    d->nfree--;
    return i;
}

static void put_free(struct shadow_domain *d, uint32_t i)
{
    struct sh_page *sp = &d->pg[i];
    SH_TRACE(NULL, SHT_SHADOW_DESTROYED, ~0ULL, sp->gfn, mfn_x(sh_idx_mfn(d, i)), sp->type, ~0ULL);
    sp->type = SH_T_FREE;
    sp->gfn = INVALID_GFN_RAW;
    sp->rmap = SH_NIL;
    sp->hnext = d->free_head;
    d->free_head = i;
    d->nfree++;
}

uint32_t sh_make(struct shadow_domain *d, uint64_t gfn, enum sh_type t)
{
    unsigned need = 1 + (sh_rmapped(t) ? sh_rmap_frames(t) : 0);
    SH_ASSERT(d->nfree >= need);   /* I6: sh_prealloc() made room first */
    SH_ASSERT(t == SH_T_PDPT || sh_lookup(d, gfn, t) == SH_NIL);   /* I5: one shadow per (gfn, type) */
    bool first_pt = sh_role[t].pt && !sh_is_pt(d, gfn);
    uint32_t i = take_free(d);
    struct sh_page *sp = &d->pg[i];
    memset(sh_map(d, i), 0, PAGE_SIZE);
    sp->rmap = SH_NIL;
    sp->up = SH_NIL;
    for (unsigned n = 1; n < need; n++) {      /* companions, last first */
        uint32_t c = take_free(d);
        memset(sh_map(d, c), 0, PAGE_SIZE);
        d->pg[c].type = SH_T_RMAP;
        d->pg[c].gfn = i;
        d->pg[c].hnext = SH_NIL;
        d->pg[c].refs = 0;
        d->pg[c].rmap = sp->rmap;
        sp->rmap = c;
    }
    sp->gfn = gfn;
    sp->type = (uint8_t)t;
    sp->refs = 0;
    sp->pinned = 0;
    sp->inuse = 0;
    sp->lprev = sp->lnext = SH_NIL;
    if (t != SH_T_PDPT && t != SH_T_SNAP) {
        uint32_t b = hash_gfn(d, gfn);
        sp->hnext = d->bucket[b];
        d->bucket[b] = i;
        d->live++;
    } else {
        sp->hnext = SH_NIL;
    }
    d->c.made[t]++;
    SH_TRACE(NULL, SHT_SHADOW_MADE, ~0ULL, gfn, mfn_x(sh_idx_mfn(d, i)), ~0ULL, t);
    if (first_pt)
        sh_remove_write_access(d, gfn);
    return i;
}

static void lru_unlink(struct shadow_domain *d, uint32_t i)
{
    struct sh_page *sp = &d->pg[i];
    if (sp->lprev != SH_NIL) d->pg[sp->lprev].lnext = sp->lnext; else d->lru_head = sp->lnext;
    if (sp->lnext != SH_NIL) d->pg[sp->lnext].lprev = sp->lprev; else d->lru_tail = sp->lprev;
    sp->lprev = sp->lnext = SH_NIL;
}

static void lru_push(struct shadow_domain *d, uint32_t i)
{
    struct sh_page *sp = &d->pg[i];
    sp->lprev = SH_NIL;
    sp->lnext = d->lru_head;
    if (d->lru_head != SH_NIL) d->pg[d->lru_head].lprev = i; else d->lru_tail = i;
    d->lru_head = i;
}

/* Destroy a shadow whose refcount reached zero (I4). */
static void destroy(struct shadow_domain *d, uint32_t i)
{
    struct sh_page *sp = &d->pg[i];
    enum sh_type t = sp->type;
    sh_mode_of_type(t)->destroy(d, i);     /* drops the children */
    d->tlb_dirty = true;                   /* its translations may be cached */
    if (unlikely(d->noos) && (sh_rmapped(t) || sh_role[t].fl1))
        d->oos_wl_epoch++;                 /* its leaves' D bits go with it */
    if (sh_rmapped(t)) {                   /* keep R: unlink, free the companions */
        sh_rmap_drop_shadow(d, i);
        for (uint32_t c = sp->rmap, nc; c != SH_NIL; c = nc) {
            nc = d->pg[c].rmap;
            put_free(d, c);
        }
    }
    if (t != SH_T_PDPT) {
        uint32_t *pp = &d->bucket[hash_gfn(d, sp->gfn)];
        while (*pp != i) {
            SH_ASSERT(*pp != SH_NIL);      /* I5: a live shadow is in the hash */
            pp = &d->pg[*pp].hnext;
        }
        *pp = sp->hnext;
        d->live--;
    }
    d->c.destroyed[t]++;
    put_free(d, i);
}

void sh_put(struct shadow_domain *d, uint32_t i)
{
    struct sh_page *sp = &d->pg[i];
    SH_ASSERT(sp->refs != 0);      /* I3: a reference is dropped only once */
    if (--sp->refs == 0)
        destroy(d, i);
}

void sh_pin(struct shadow_domain *d, uint32_t i)
{
    struct sh_page *sp = &d->pg[i];
    if (sp->pinned) {
        if (d->lru_head != i) {
            lru_unlink(d, i);
            lru_push(d, i);
        }
        return;
    }
    sp->pinned = 1;
    sp->refs++;
    d->npinned++;
    lru_push(d, i);
}

void sh_unpin(struct shadow_domain *d, uint32_t i)
{
    struct sh_page *sp = &d->pg[i];
    if (!sp->pinned)
        return;
    lru_unlink(d, i);
    sp->pinned = 0;
    d->npinned--;
    d->c.unpins++;
    SH_TRACE(NULL, SHT_SHADOW_UNPINNED, ~0ULL, sp->gfn, mfn_x(sh_idx_mfn(d, i)), sp->type, ~0ULL);
    sh_put(d, i);
}

/* The slot's shadow by arithmetic, not sh_mfn_idx(): only this function
 * writes a slot, with INVALID_MFN or a shadow it takes a reference on, so a
 * slot's frame is a live pool frame (I3; asserted in range). */
void sh_set_top_move(struct shadow_vcpu *v, unsigned slot, uint32_t idx)
{
    struct shadow_domain *d = v->d;
    uint64_t om = mfn_x(v->toplevel[slot]);
    uint32_t old = om == INVALID_MFN_RAW ? SH_NIL : (uint32_t)(om - mfn_x(d->base));
    SH_ASSERT(old == SH_NIL || (old >= d->first && old < d->frames));
    if (old == idx)
        return;
    if (idx != SH_NIL) {
        sh_get(d, idx);
        d->pg[idx].inuse++;
        v->toplevel[slot] = sh_idx_mfn(d, idx);
    } else {
        v->toplevel[slot] = INVALID_MFN;
    }
    if (old != SH_NIL) {
        SH_ASSERT(d->pg[old].inuse != 0);
        d->pg[old].inuse--;
        sh_put(d, old);
    }
}

/*
 * Unpin every pinned shadow that no vCPU runs on.  Pinned shadows are top
 * levels (l2_32, l2_pae, l4_64), which are never another shadow's child, so
 * unpinning one never frees the next one on the list.
 */
void sh_unpin_unused(struct shadow_domain *d)
{
    uint32_t i = d->lru_tail;
    while (i != SH_NIL) {
        uint32_t prev = d->pg[i].lprev;
        if (!d->pg[i].inuse)
            sh_unpin(d, i);     /* prev is pinned, so it survives i's subtree */
        i = prev;
    }
}

/*
 * Empty the in-use top levels (their subtrees die by refcount) after
 * unpinning everything not in use.  Afterwards only the vCPUs' top levels
 * and per-vCPU PDPTs remain; the guests refault what they touch.
 */
void sh_teardown(struct shadow_domain *d)
{
    d->c.teardowns++;
    uint64_t live0 = d->live; bool tr = sh_trace_pause();     /* trace: one event, below */
    sh_unpin_unused(d);
    for (uint32_t i = d->first; i < d->frames; i++) {
        struct sh_page *sp = &d->pg[i];
        if (sp->inuse && sp->type != SH_T_FREE && sh_role[sp->type].level > 1) {
            sp->refs++;     /* hold it while its children go */
            sh_mode_of_type(sp->type)->destroy(d, i);
            memset(sh_map(d, i), 0, PAGE_SIZE);
            sp->refs--;
        }
    }
    sh_flush_all(d);
    sh_trace_resume(tr); SH_TRACE(NULL, SHT_TEARDOWN, ~0ULL, ~0ULL, ~0ULL, live0, d->live);
}

void shadow_blow_tables(struct shadow_domain *d)
{
    for (unsigned i = 0; i < d->nvcpus; i++)
        sh_fetch_drop(d->vcpu[i]);      /* common.c invariant F: more than the guest asks */
    sh_teardown(d);
}

/*
 * Make n frames free.  First unpin least-recently-used top-level shadows
 * that no vCPU is running on (their subtrees die by refcount); if still
 * short, tear down everything but what is in use.  Callers invoke it before
 * any step that may allocate, so nothing fails half-way (I6).
 */
int sh_prealloc_slow(struct shadow_domain *d, unsigned n)
{
    if (d->nfree >= n)
        return 0;
    uint32_t i = d->lru_tail;
    while (i != SH_NIL && d->nfree < n) {
        uint32_t prev = d->pg[i].lprev;
        if (!d->pg[i].inuse) {
            sh_unpin(d, i);     /* prev is pinned, so it survives i's subtree */
            d->c.reclaim_unpins++;
            SH_TRACE(NULL, SHT_RECLAIM, ~0ULL, d->pg[i].gfn, mfn_x(sh_idx_mfn(d, i)), ~0ULL, ~0ULL);
        }
        i = prev;
    }
    if (d->nfree >= n)
        return 0;
    sh_teardown(d);
    if (d->nfree >= n)
        return 0;
    d->c.prealloc_fail++;
    return -1;
}

/* Clear the link entry (pi, e) to shadow ci (held by the caller, so not its last reference). */
static void unlink_entry(struct shadow_domain *d, uint32_t pi, unsigned e, uint32_t ci)
{
    if (sh_role[d->pg[pi].type].wide)
        ((uint64_t *)sh_map(d, pi))[e] = 0;
    else
        ((uint32_t *)sh_map(d, pi))[e] = 0;
    if (d->pg[ci].up == SH_SLOT(pi, e))
        d->pg[ci].up = SH_NIL;
    d->c.unshadow_links++;
    sh_put(d, ci);
}

uint32_t sh_link_target(struct shadow_domain *d, uint32_t pi, unsigned e)
{
    uint64_t v = sh_role[d->pg[pi].type].wide ? ((uint64_t *)sh_map(d, pi))[e]
                                              : ((uint32_t *)sh_map(d, pi))[e];
    if (!(v & _PAGE_PRESENT))
        return SH_NIL;
    return sh_mfn_idx(d, (sh_role[d->pg[pi].type].wide ? v & PADDR_MASK_52 : v & PTE32_ADDR_MASK)
                         >> PAGE_SHIFT);
}

/*
 * The frame gfn looks like it is no longer a page table (written again and
 * again with no fault in between: being zeroed or reused as data, the
 * fork/exit pattern).  Make its page-table shadows that no vCPU runs on die:
 * unpin them and clear every shadow entry linking to them: the one entry
 * sh_page.up names (U) directly, the others by a search over the pool (a
 * shadow keeps one up-pointer, not a list).  Clearing links only takes away what the
 * guest still has, so a later access refaults and reshadows (I1 holds); the
 * cached translations are still the guest's, so no flush is needed (but
 * tlb_dirty is set).  Nothing allocates (I6).
 */
bool sh_unshadow(struct shadow_domain *d, uint64_t gfn)
{
    uint32_t s[8], n = 0, all[8];
    unsigned na = sh_pt_shadows(d, gfn, all);
    for (unsigned k = 0; k < na; k++)
        if (!d->pg[all[k]].inuse)
            s[n++] = all[k];
    if (!n)
        return na == 0;
    d->c.unshadows++;
    for (unsigned k = 0; k < n; k++)
        d->pg[s[k]].refs++;             /* hold them while unlinking */
    for (unsigned k = 0; k < n; k++)
        sh_unpin(d, s[k]);
    /*
     * Now refs = links + our hold (none pinned or in use).  A shadow with no
     * link, or one link that its up names (U), needs no search; the links of
     * the others are found by searching every table of tables in the pool
     * (shadows keep one up-pointer, not a list).
     */
    bool search = false;
    for (unsigned k = 0; k < n; k++) {
        struct sh_page *sp = &d->pg[s[k]];
        uint32_t pi = sh_slot_idx(sp->up);
        unsigned e = sh_slot_ent(sp->up);
        if (sp->refs == 2 && sp->up != SH_NIL && sh_link_target(d, pi, e) == s[k]) {
            unlink_entry(d, pi, e, s[k]);
            d->c.unshadow_up_links++;
        }
        search |= sp->refs > 1;
    }
    for (uint32_t i = d->first; search && i < d->frames; i++) {
        uint8_t t = d->pg[i].type;
        if (sh_role[t].level < 2 || !sh_role[t].guest_levels || sh_role[t].fl1)
            continue;
        unsigned nent = sh_nent(t);
        for (unsigned e = 0; e < nent; e++) {
            uint32_t ci = sh_link_target(d, i, e);
            for (unsigned k = 0; ci != SH_NIL && k < n; k++)
                if (ci == s[k])
                    unlink_entry(d, i, e, ci);
        }
    }
    if (search)
        d->c.unshadow_searches++;
    for (unsigned k = 0; k < n; k++)
        sh_put(d, s[k]);   /* destroy() flushes if splinter links go (see invlpg) */
    return !sh_is_pt(d, gfn);
}

bool shadow_unshadow_gfn(struct shadow_domain *d, gfn_t gfn)
{
    d->c.unshadow_targeted++;
    SH_TRACE_WHY(NULL, SHT_UNSHADOW, ~0ULL, gfn_x(gfn), ~0ULL, SHT_WHY_TARGETED);
    return sh_unshadow(d, gfn_x(gfn));
}

void shadow_pool_usage(struct shadow_domain *d, unsigned long *total, unsigned long *nfree,
                       unsigned long *live, unsigned long *pinned)
{
    if (total) *total = d->frames;
    if (nfree) *nfree = d->nfree;
    if (live) *live = d->live;
    if (pinned) *pinned = d->npinned;
}

void shadow_for_each(struct shadow_domain *d,
                     bool (*fn)(const struct shadow_info *si, void *arg), void *arg)
{
    for (uint32_t i = d->first; i < d->frames; i++) {
        struct sh_page *sp = &d->pg[i];
        if (sp->type == SH_T_FREE || sp->type == SH_T_META || sp->type == SH_T_RMAP || sp->type == SH_T_SNAP)
            continue;
        struct shadow_info si = {
            .type = sh_role[sp->type].name,
            .guest_levels = sh_role[sp->type].guest_levels,
            .level = sh_role[sp->type].level,
            .gfn = _gfn(sp->gfn),
            .smfn = sh_idx_mfn(d, i),
            .refcount = sp->refs,
            .pinned = sp->pinned,
            .in_use = sp->inuse,
            .out_of_sync = ((1u << sp->type) & SH_OOS_TYPES) && sh_is_oos(d, sp->gfn),
        };
        if (!fn(&si, arg))
            return;
    }
}
