/*
 * The reverse map: for every host frame, the shadow leaf entries that map it
 * present and writable, so that write-protecting a frame that becomes a page
 * table touches only its writable mappings instead of every leaf shadow.
 *
 * Layout (all in the pool, no malloc):
 *   - each rmapped shadow (l1_32, l1_pae, l1_64) owns companion frames of
 *     type SH_T_RMAP (one for 512 entries, two for 1024), linked from
 *     sh_page.rmap; companion entry k is the chain node of shadow entry k:
 *     { prev, next } as "slots" (pool index << 10 | entry index);
 *   - d->rbucket[hash(mfn)] heads a doubly linked chain of the slots mapping
 *     a frame of that hash.  Slot 0 would be entry 0 of pool frame 0, which
 *     is always metadata, so 0 is the chain terminator.
 *
 * Invariant R (checked by sh_rmap_audit): an entry k of a live rmapped shadow
 * si is on the chain of bucket hash(mfn) iff it is present and writable and
 * maps mfn.  Every write of such an entry goes through sh_rmap_add/del
 * (multi_propagate.inc.c: set_l1e), and a dying shadow unlinks its entries first.
 *
 * fl1 splinters are not in the reverse map: an fl1 maps one aligned guest
 * superpage, so the fl1 that could map a frame is found by a hash lookup of
 * the aligned base (sh_rmap_write_protect).  Paging-off identity shadows are
 * never write-protected (docs/shadow.md, known limits).
 *
 * Cost: the companions are accounted in SH_PREALLOC (private.h) and taken by
 * sh_make() with the shadow; a chain holds the writable mappings of every
 * frame hashing to its bucket (4 buckets per pool frame).
 */
#include "private.h"

#define SLOT SH_SLOT

#define rhash sh_rmap_hash
#define node  sh_rmap_node

/* The shadow entry of slot s, as a 64-bit value. */
static inline uint64_t slot_entry(const struct shadow_domain *d, uint32_t s)
{
    uint32_t si = sh_slot_idx(s), k = sh_slot_ent(s);
    if (sh_role[d->pg[si].type].wide)
        return ((uint64_t *)sh_map(d, si))[k];
    return ((uint32_t *)sh_map(d, si))[k];
}

static inline uint64_t entry_mfn(const struct shadow_domain *d, uint32_t si, uint64_t e)
{
    return (sh_role[d->pg[si].type].wide ? e & PADDR_MASK_52 : e & PTE32_ADDR_MASK) >> PAGE_SHIFT;
}

void sh_rmap_add(struct shadow_domain *d, uint32_t si, unsigned k, uint64_t mfn)
{
    uint32_t s = SLOT(si, k);
    sh_rmap_link(d, s, node(d, s), mfn);
}

/* Unlink slot s, on the chain of mfn's bucket (R), unchecked. */
static inline void unlink_slot(struct shadow_domain *d, uint32_t s, uint64_t mfn)
{
    uint32_t *n = node(d, s);
    uint32_t prev = n[0], next = n[1];
    if (prev)
        node(d, prev)[1] = next;
    else
        d->rbucket[rhash(d, mfn)] = next;
    if (next)
        node(d, next)[0] = prev;
}

/*
 * The unlink of a changed entry (set_l1e), checked: R says the entry is
 * linked, so its predecessor, or the head of mfn's bucket, names it; if not,
 * unlinking would cut the chain elsewhere.  The walks over entries that R
 * already proves linked (a dying shadow's, a chain's own) use the unchecked
 * unlink_slot: a check per entry there costs some 4 instructions x 512.
 */
void sh_rmap_del(struct shadow_domain *d, uint32_t si, unsigned k, uint64_t mfn)
{
    uint32_t s = SLOT(si, k);
    uint32_t prev = node(d, s)[0];
    SH_ASSERT(prev ? node(d, prev)[1] == s : d->rbucket[rhash(d, mfn)] == s);
    unlink_slot(d, s, mfn);
}

/*
 * Unlink the writable entries of shadow si, which R proves linked: each
 * one's { prev, next } node is spliced out as unlink_slot() does.  The
 * shadow's own table and companion frames are mapped once for the 512 or
 * 1024 entries (node(), slot_entry() would look them up per entry), and the
 * entry's frame (for its bucket) is computed only for a chain head; the
 * neighbours' nodes, in any shadow, through node().
 */
static inline void drop_entries(struct shadow_domain *d, uint32_t si, bool wide)
{
    const void *tab = sh_map(d, si);
    uint32_t c0 = d->pg[si].rmap;
    uint32_t *own[2] = { sh_map(d, c0), wide ? NULL : sh_map(d, d->pg[c0].rmap) };
    unsigned nent = wide ? 512 : 1024;
    for (unsigned k = 0; k < nent; k++) {
        uint64_t e = wide ? ((const uint64_t *)tab)[k] : ((const uint32_t *)tab)[k];
        if ((e & (_PAGE_PRESENT | _PAGE_RW)) != (_PAGE_PRESENT | _PAGE_RW))
            continue;
        const uint32_t *n = own[k >> 9] + 2 * (k & 511);      /* node(d, SLOT(si, k)) */
        uint32_t prev = n[0], next = n[1];
        if (prev)
            node(d, prev)[1] = next;
        else
            d->rbucket[rhash(d, (wide ? e & PADDR_MASK_52 : e & PTE32_ADDR_MASK) >> PAGE_SHIFT)] = next;
        if (next)
            node(d, next)[0] = prev;
    }
}

void sh_rmap_drop_shadow(struct shadow_domain *d, uint32_t si)
{
    if (sh_role[d->pg[si].type].wide)
        drop_entries(d, si, true);
    else
        drop_entries(d, si, false);
}

/*
 * The at most three fl1 splinters that could map guest frame gfn (one per
 * fl1 type, found by a hash lookup of the aligned superpage base; fl1s are
 * not in the reverse map): in each entry for gfn that has every bit of
 * `need`, clear the bits `clear`.  Returns how many entries it changed.
 */
static unsigned long fl1_clear(struct shadow_domain *d, uint64_t gfn, uint64_t need, uint64_t clear)
{
    static const uint8_t fl1t[3] = { SH_T_FL1_32, SH_T_FL1_PAE, SH_T_FL1_64 };
    unsigned long changed = 0;
    for (unsigned t = 0; t < 3; t++) {
        unsigned nent = sh_nent(fl1t[t]);
        uint64_t base = gfn & ~(uint64_t)(nent - 1);
        uint32_t i = sh_lookup(d, base, (enum sh_type)fl1t[t]);
        if (i == SH_NIL)
            continue;
        unsigned k = (unsigned)(gfn - base);
        if (nent == 512) {
            uint64_t *e = &((uint64_t *)sh_map(d, i))[k];
            if ((*e & need) == need) {
                __atomic_and_fetch(e, ~clear, __ATOMIC_SEQ_CST);
                changed++;
            }
        } else {
            uint32_t *e = &((uint32_t *)sh_map(d, i))[k];
            if ((*e & need) == need) {
                __atomic_and_fetch(e, ~(uint32_t)clear, __ATOMIC_SEQ_CST);
                changed++;
            }
        }
    }
    return changed;
}

/*
 * Clear RW in every shadow leaf that maps mfn (the frame of guest frame gfn):
 * the reverse-map chain (visiting only writable mappings of frames sharing the
 * bucket) and the at most three fl1 splinters that could contain gfn.  Keeps R.
 */
unsigned long sh_rmap_write_protect(struct shadow_domain *d, uint64_t gfn, uint64_t mfn)
{
    unsigned long removed = 0;
    d->c.wp_rmap_walks++;
    for (uint32_t s = d->rbucket[rhash(d, mfn)], next; s; s = next) {
        next = node(d, s)[1];
        d->c.wp_rmap_visits++;
        uint32_t si = sh_slot_idx(s), k = sh_slot_ent(s);
        uint64_t e = slot_entry(d, s);
        if (entry_mfn(d, si, e) != mfn)
            continue;
        unlink_slot(d, s, mfn);
        if (sh_role[d->pg[si].type].wide)
            ((uint64_t *)sh_map(d, si))[k] = e & ~(uint64_t)_PAGE_RW;
        else
            ((uint32_t *)sh_map(d, si))[k] = (uint32_t)(e & ~(uint64_t)_PAGE_RW);
        removed++;
    }
    d->c.wp_fl1_lookups += 3;
    removed += fl1_clear(d, gfn, _PAGE_PRESENT | _PAGE_RW, _PAGE_RW);
    if (removed && d->noos)
        d->oos_wl_epoch++;      /* D bits of the leaves made read-only (oos_resync) */
    return removed;
}

/*
 * Whether a shadow leaf may have written frame mfn (guest frame gfn) since
 * the last call: test and clear D in every present writable shadow leaf that
 * maps it -- the chain of R and the at most three fl1 splinters that could
 * contain gfn, exactly the mappings sh_rmap_write_protect would find.  The
 * hardware sets D in the leaf it writes through unless its TLB holds the
 * translation with D already set, so if a D was cleared the caller flushes
 * every vCPU's TLB (sh_flush_all) before the guest runs again.  Clearing D takes no
 * right away (the next write sets it again, without a fault) and keeps R
 * (the entry stays present, writable, mapping mfn); the audit does not ask
 * a writable leaf for D.  A leaf that goes while it may hold D (set_l1e, a
 * destroyed shadow, sh_rmap_write_protect) bumps d->oos_wl_epoch, so the
 * caller trusts a clean answer only if the epoch did not move.  Only sound
 * with one vCPU running: another's TLB could write without setting D until
 * its flush (the caller checks).
 */
bool sh_rmap_test_clear_dirty(struct shadow_domain *d, uint64_t gfn, uint64_t mfn)
{
    bool dirty = false;
    for (uint32_t s = d->rbucket[rhash(d, mfn)]; s; s = node(d, s)[1]) {
        uint32_t si = sh_slot_idx(s), k = sh_slot_ent(s);
        uint64_t e = slot_entry(d, s);
        if (entry_mfn(d, si, e) != mfn || !(e & _PAGE_DIRTY))
            continue;
        dirty = true;
        if (sh_role[d->pg[si].type].wide)
            __atomic_and_fetch(&((uint64_t *)sh_map(d, si))[k], ~(uint64_t)_PAGE_DIRTY, __ATOMIC_SEQ_CST);
        else
            __atomic_and_fetch(&((uint32_t *)sh_map(d, si))[k], ~(uint32_t)_PAGE_DIRTY, __ATOMIC_SEQ_CST);
    }
    if (fl1_clear(d, gfn, _PAGE_PRESENT | _PAGE_RW | _PAGE_DIRTY, _PAGE_DIRTY))
        dirty = true;
    return dirty;
}

#define ERR(...) do { errs++; plat_log("shadow: audit: rmap: " __VA_ARGS__); } while (0)

/*
 * Check R both ways: the writable entries of every live rmapped shadow
 * (checking its companions here), then walk every chain checking each slot is
 * such an entry in the right bucket with consistent back links; the two
 * counts must agree (a slot can be on one chain once only, so equal counts
 * with every node valid means every writable entry is linked).
 *
 * The writable entries are counted by the modes' audits, which read every
 * entry of every l1 anyway (sh_audit_writable).
 *
 * Cost (umbra-audit.elf runs this after every exit): per chain slot the
 * shadow and the companion mapped once each, the slot's type checked through
 * a table made per call.  The checks and their messages are those of the
 * plain walk (test_shadow_rmap: audit_catches_rmap, audit_catches_chain).
 */
unsigned long sh_rmap_audit(struct shadow_domain *d, unsigned long writable)
{
    unsigned long errs = 0, linked = 0;
    const uint64_t prw = _PAGE_PRESENT | _PAGE_RW;
    uint16_t nent_of[256];      /* by sh_page.type: entries of an rmapped type, else 0 */
    for (unsigned t = 0; t < 256; t++)
        nent_of[t] = t < SH_T_MAX && sh_rmapped((enum sh_type)t) ? (uint16_t)sh_nent((enum sh_type)t) : 0;
    for (uint32_t i = d->first; i < d->frames; i++) {
        struct sh_page *sp = &d->pg[i];
        if (sp->type == SH_T_RMAP) {
            uint32_t o = (uint32_t)sp->gfn;
            if (o >= d->frames || !sh_rmapped(d->pg[o].type)
                || (d->pg[o].rmap != i && d->pg[d->pg[o].rmap].rmap != i))
                ERR("companion frame %u has no live owner (%u)", i, o);
            continue;
        }
        if (sp->type >= SH_T_MAX || !nent_of[sp->type])
            continue;
        uint32_t c = sp->rmap;
        for (unsigned n = 0; n < sh_rmap_frames(sp->type); n++) {
            if (c >= d->frames || d->pg[c].type != SH_T_RMAP || d->pg[c].gfn != i) {
                ERR("%s frame %u: companion %u is not its own", sh_role[sp->type].name, i, c);
                return errs;
            }
            c = d->pg[c].rmap;
        }
    }
    for (uint32_t b = 0; b < d->nrbuckets; b++) {
        uint32_t prev = 0;
        for (uint32_t s = d->rbucket[b]; s; ) {
            uint32_t si = sh_slot_idx(s);
            unsigned k = sh_slot_ent(s);
            if (++linked > writable) {
                ERR("chains hold more slots than there are writable entries (%lu)", writable);
                return errs;
            }
            if (si - d->first >= d->frames - d->first || k >= nent_of[d->pg[si].type]) {
                ERR("bucket %u holds slot %#x of no live l1 shadow", b, s);
                break;
            }
            /* An rmapped shadow of 512 entries is wide (sh_nent), of 1024 not. */
            const struct sh_page *sp = &d->pg[si];
            bool wide = nent_of[sp->type] == 512;
            uint64_t e = wide ? ((const uint64_t *)sh_map(d, si))[k] : ((const uint32_t *)sh_map(d, si))[k];
            uint64_t mfn = (wide ? e & PADDR_MASK_52 : e & PTE32_ADDR_MASK) >> PAGE_SHIFT;
            const uint32_t *n = (const uint32_t *)sh_map(d, k < 512 ? sp->rmap : d->pg[sp->rmap].rmap)
                                + 2 * (k & 511);      /* node(d, s) */
            if ((e & prw) != prw)
                ERR("slot %#x (%s gfn=%#llx [%u]) is linked but not writable", s,
                    sh_role[sp->type].name, (unsigned long long)sp->gfn, k);
            else if (rhash(d, mfn) != b)
                ERR("slot %#x maps mfn %#llx, which does not hash to bucket %u", s,
                    (unsigned long long)mfn, b);
            if (n[0] != prev)
                ERR("slot %#x: back link %#x, expected %#x", s, n[0], prev);
            prev = s;
            s = n[1];
        }
    }
    if (linked != writable)
        ERR("%lu writable l1 entries, %lu linked", writable, linked);
    return errs;
}
