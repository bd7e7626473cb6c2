/*
 * shadow_audit(): check the whole domain.  Per shadow, the mode that owns its
 * type checks every entry against the guest (I1, I2) and tallies the child
 * references it holds; here the tallies, pins and vCPU slots are compared
 * with the refcounts (I3), and the hash, LRU and free list with the page
 * records (I5).  Reads only; every error is logged as
 * "shadow: audit: ..." and counted.
 */
#include "private.h"

#define ERR(...) do { errs++; plat_log("shadow: audit: " __VA_ARGS__); } while (0)

uint64_t sh_audit_ptf[(1u << SH_AUDIT_PTF_BITS) / 64];
unsigned long sh_audit_writable;

/*
 * sh_audit_ptf (private.h) for d as it is now: a bit for the gfn of every
 * page-table shadow on any hash chain.  sh_pt_types(gfn) reads one chain and
 * counts the entries of gfn with a page-table type; each of those is on a
 * chain walked here, so a clear bit proves it 0.  A chain is followed while
 * it stays in the pool, at most `frames` steps (every node it can reach; a
 * cycle is the hash check's to report).
 */
static void audit_pt_filter(struct shadow_domain *d)
{
    memset(sh_audit_ptf, 0, sizeof(sh_audit_ptf));
    for (uint32_t b = 0; b < d->nbuckets; b++) {
        uint32_t steps = 0;
        for (uint32_t i = d->bucket[b]; i < d->frames && steps++ < d->frames; i = d->pg[i].hnext) {
            uint8_t t = d->pg[i].type;
            if (t < SH_T_MAX && sh_role[t].pt) {
                uint32_t bit = sh_audit_ptf_bit(d->pg[i].gfn);
                sh_audit_ptf[bit / 64] |= 1ULL << (bit % 64);
            }
        }
    }
}

/* vCPU top-level slots holding pool frame i. */
static unsigned audit_inuse_slots(const struct shadow_domain *d, uint32_t i)
{
    unsigned inuse = 0;
    for (unsigned k = 0; k < d->nvcpus; k++)
        for (unsigned s = 0; s < 4; s++)
            inuse += mfn_eq(d->vcpu[k]->toplevel[s], sh_idx_mfn(d, i));
    return inuse;
}

/*
 * Does every frame of [first, frames) hold sh_page.inuse == the vCPU slots
 * naming it, given sum = the inuse of those frames added up?  True proves it
 * with one pass over the (at most 4 x SH_MAX_VCPUS) slots: every frame a slot
 * names is in the range and has inuse == its slots, and those add up to sum,
 * so every other frame has inuse 0.  False: ask audit_inuse_slots() frame by frame.
 */
static bool audit_inuse_match(const struct shadow_domain *d, unsigned long sum)
{
    unsigned long nslots = 0;
    for (unsigned k = 0; k < d->nvcpus; k++)
        for (unsigned s = 0; s < 4; s++) {
            mfn_t m = d->vcpu[k]->toplevel[s];
            uint32_t t = sh_mfn_idx(d, mfn_x(m));
            if (!mfn_valid(m) || t == SH_NIL)
                continue;
            if (t < d->first || d->pg[t].inuse != audit_inuse_slots(d, t))
                return false;
            nslots++;
        }
    return nslots == sum;
}

unsigned long shadow_audit(struct shadow_domain *d)
{
    unsigned long errs = 0, nlive = 0, nfree = 0, npinned = 0, nhashed = 0, inuse_sum = 0;
    uint32_t *seen = d->audit_refs;

    d->c.audits++;
    memset(seen, 0, d->frames * sizeof(uint32_t));
    audit_pt_filter(d);
    sh_audit_writable = 0;
    for (uint32_t i = d->first; i < d->frames; i++) {
        struct sh_page *sp = &d->pg[i];
        if (sp->type == SH_T_FREE) {
            nfree++;
            continue;
        }
        if (sp->type == SH_T_RMAP || sp->type == SH_T_SNAP)
            continue;           /* checked by sh_rmap_audit(), sh_oos_audit() */
        if (sp->type == SH_T_META || sp->type == SH_T_NONE || sp->type >= SH_T_MAX) {
            ERR("frame %u has bad type %u", i, sp->type);
            continue;
        }
        if (sp->type != SH_T_PDPT) {
            nlive++;
            if (sh_lookup(d, sp->gfn, sp->type) != i)
                ERR("%s gfn=%#llx not found in the hash", sh_role[sp->type].name,
                    (unsigned long long)sp->gfn);
        }
        errs += sh_mode_of_type(sp->type)->audit(d, i, seen);
        if (sp->pinned) {
            seen[i]++;
            npinned++;
        }
    }
    /* vCPU references: top-level slots and the vCPU's own PDPT. */
    for (unsigned k = 0; k < d->nvcpus; k++) {
        struct shadow_vcpu *v = d->vcpu[k];
        uint32_t p = sh_mfn_idx(d, mfn_x(v->pae_l3));
        if (p == SH_NIL || d->pg[p].type != SH_T_PDPT)
            ERR("vcpu %u: PDPT is not a live pdpt frame", k);
        else
            seen[p]++;
        const uint64_t *l3 = plat_map_mfn(v->pae_l3);
        for (unsigned s = 0; s < 4; s++) {
            if (!mfn_valid(v->toplevel[s]))
                continue;
            uint32_t t = sh_mfn_idx(d, mfn_x(v->toplevel[s]));
            if (t == SH_NIL) {
                ERR("vcpu %u: top slot %u is not a shadow", k, s);
                continue;
            }
            seen[t]++;
            bool pdpt_mode = v->paging == GUEST_PAGING_PAE || v->paging == GUEST_PAGING_OFF;
            if (pdpt_mode && (l3[s] >> PAGE_SHIFT) != mfn_x(v->toplevel[s]))
                ERR("vcpu %u: PDPT[%u]=%#llx does not link top slot %u", k, s,
                    (unsigned long long)l3[s], s);
        }
    }
    for (uint32_t i = d->first; i < d->frames; i++) {
        struct sh_page *sp = &d->pg[i];
        if (sp->type == SH_T_FREE || sp->type == SH_T_META || sp->type == SH_T_RMAP || sp->type == SH_T_SNAP)
            continue;
        if (seen[i] != sp->refs)
            ERR("%s gfn=%#llx refs=%u, found %u references", sh_role[sp->type].name,
                (unsigned long long)sp->gfn, sp->refs, seen[i]);
        if (sp->refs == 0)
            ERR("%s gfn=%#llx is alive with no reference", sh_role[sp->type].name,
                (unsigned long long)sp->gfn);
        if (sp->up != SH_NIL) {          /* U */
            uint32_t pi = sh_slot_idx(sp->up);
            uint8_t pt = pi >= d->first && pi < d->frames ? d->pg[pi].type : SH_T_FREE;
            if (pt == SH_T_FREE || pt == SH_T_META || pt == SH_T_RMAP || sh_role[pt].level < 2 ||
                sh_link_target(d, pi, sh_slot_ent(sp->up)) != i)
                ERR("%s gfn=%#llx: up names entry %u of pool frame %u, which does not link to it",
                    sh_role[sp->type].name, (unsigned long long)sp->gfn, sh_slot_ent(sp->up), pi);
        }
        inuse_sum += sp->inuse;
    }
    if (!audit_inuse_match(d, inuse_sum))
        for (uint32_t i = d->first; i < d->frames; i++) {
            struct sh_page *sp = &d->pg[i];
            if (sp->type == SH_T_FREE || sp->type == SH_T_META || sp->type == SH_T_RMAP || sp->type == SH_T_SNAP)
                continue;
            unsigned inuse = audit_inuse_slots(d, i);
            if (inuse != sp->inuse)
                ERR("%s gfn=%#llx in_use=%u, vCPU slots %u", sh_role[sp->type].name,
                    (unsigned long long)sp->gfn, sp->inuse, inuse);
        }
    for (uint32_t b = 0; b < d->nbuckets; b++)
        for (uint32_t i = d->bucket[b]; i != SH_NIL; i = d->pg[i].hnext) {
            nhashed++;
            if (i >= d->frames || d->pg[i].type == SH_T_FREE || nhashed > d->frames) {
                ERR("hash bucket %u holds a dead frame %u", b, i);
                break;
            }
        }
    unsigned long lru = 0;
    for (uint32_t i = d->lru_head; i != SH_NIL && lru <= d->frames; i = d->pg[i].lnext) {
        lru++;
        if (!d->pg[i].pinned)
            ERR("LRU holds unpinned frame %u", i);
    }
    unsigned long fl = 0;
    for (uint32_t i = d->free_head; i != SH_NIL && fl <= d->frames; i = d->pg[i].hnext)
        fl++;
    if (nlive != d->live || nhashed != d->live)
        ERR("live count %u, frames %lu, hashed %lu", d->live, nlive, nhashed);
    if (npinned != d->npinned || lru != d->npinned)
        ERR("pinned count %u, frames %lu, LRU %lu", d->npinned, npinned, lru);
    if (nfree != d->nfree || fl != d->nfree)
        ERR("free count %u, frames %lu, list %lu", d->nfree, nfree, fl);
    errs += sh_rmap_audit(d, sh_audit_writable);
    errs += sh_oos_audit(d);
    d->c.audit_errors += errs;
    return errs;
}
