/*
 * Mode-independent entry points: vCPU setup, the choice of paging mode and
 * hardware control registers, dispatch to the current mode, guest memory
 * access for the emulator and the GDB stub, page-table write revalidation,
 * and the counters.
 */
#include "private.h"

void shadow_set_audit(struct shadow_domain *d, unsigned level)
{
    d->audit_level = level;
}

void shadow_set_prefetch(struct shadow_domain *d, unsigned n)
{
    d->prefetch = n;
}

/* ---- out-of-sync L1 shadows (docs/shadow.md, invariant O) ------------------ */

/*
 * Fault injection for the out-of-sync code, in the runtime mutant build
 * (libshadow_dbit.a, SHADOW_MUTANT_NO_DIRTY=-1; multi.c lists kinds 1-4):
 *   5  a resync skips the first changed entry (the snapshot takes it, the
 *      shadows keep the old one), a one-entry resync (INVLPG) likewise;
 *   6  INVLPG does not resync the table of the address (multi_fault.inc.c);
 *   7  a flush's resync clears D in the writable leaves of the table
 *      (sh_rmap_test_clear_dirty) without flushing the TLBs, so a cached
 *      translation writes the table without setting D and the next
 *      resync skips it;
 *   8  a flush's resync trusts the D bits even when a writable leaf went
 *      since the last test (oos_wl_epoch moved), taking its D with it.
 * test/unit/mutant-oos.sh asserts that test_shadow_random catches each.
 */
#ifndef SHADOW_MUTANT_NO_DIRTY
#define SHADOW_MUTANT_NO_DIRTY 0
#endif
#if SHADOW_MUTANT_NO_DIRTY < 0
extern unsigned sh_mutant_dbit;
#define OOS_MUTANT(k) (sh_mutant_dbit == (k))
#else
#define OOS_MUTANT(k) 0
#endif

static unsigned vcpu_index(const struct shadow_vcpu *v)
{
    for (unsigned i = 0; i < v->d->nvcpus; i++)
        if (v->d->vcpu[i] == v)
            return i;
    return 0;
}

struct sh_oos *sh_oos_find(struct shadow_domain *d, uint64_t gfn)
{
    for (unsigned i = 0; i < d->nvcpus; i++)
        for (unsigned k = 0; k < SH_OOS_MAX; k++)
            if (d->oos[i][k].gfn == gfn)
                return &d->oos[i][k];
    return NULL;
}

/* Reserve vCPU vi's snapshot frames (once); -1 if the pool has no room. */
static int oos_reserve(struct shadow_domain *d, unsigned vi)
{
    for (unsigned k = 0; k < SH_OOS_MAX; k++) {
        if (d->oos[vi][k].snap != SH_NIL)
            continue;
        if (sh_prealloc(d, SH_PREALLOC + 1))
            return -1;
        d->oos[vi][k].snap = sh_make(d, vi, SH_T_SNAP);
    }
    return 0;
}

/*
 * Bring every shadow of o's gfn up to date with the guest table: each entry
 * whose guest value differs from the snapshot is copied into the snapshot
 * first (a racing guest write then differs again at the next resync) and
 * revalidated in every shadow of the frame.  Keeps O (shadow = propagation
 * of the snapshot) and leaves the frame out of sync.  A record whose frame
 * has no page-table shadow left (unshadowed, reclaimed) is dropped.
 */
static void oos_resync(struct shadow_vcpu *v, struct sh_oos *o, unsigned why)
{
    struct shadow_domain *d = v->d;
    uint32_t s[8];
    uint8_t t[8];
    unsigned n = sh_pt_shadows(d, o->gfn, s), step = 1;
    uint32_t *g = sh_gmap(d, o->gfn), *sn = sh_oos_snap(d, o);
    unsigned long changed = 0;
    if (!n || !g) {
        o->gfn = INVALID_GFN_RAW;
        d->noos--;
        return;
    }
    for (unsigned k = 0; k < n; k++) {
        t[k] = d->pg[s[k]].type;
        if (sh_role[t[k]].wide)
            step = 2;              /* compare whole 64-bit entries */
        d->pg[s[k]].writes = 0;    /* the trigger counts again from here */
    }
    d->c.oos_resyncs++;
    /* A flush's resync needs the compare only if the guest may have written
     * the table since the last one: every native write goes through a
     * writable shadow leaf of the frame and sets its D, which the test
     * clears (with one vCPU: sh_rmap_test_clear_dirty).  Umbra's own writes
     * to it keep O without D: an emulated write copies itself into the
     * snapshot, and A/D the walker sets only widen the guest's grant, which
     * an entry propagated from the snapshot stays within. */
    if (why == SHT_RESYNC_FLUSH && d->nvcpus == 1) {
        mfn_t m = plat_gfn_to_mfn(_gfn(o->gfn));
        if (mfn_valid(m)) {
            /* A writable leaf that went since the last test took its D with
             * it (oos_wl_epoch moved): then compare whatever the D bits say. */
            bool kept = o->epoch == d->oos_wl_epoch || OOS_MUTANT(8);
            bool dirty = sh_rmap_test_clear_dirty(d, o->gfn, mfn_x(m));
            o->epoch = d->oos_wl_epoch;
            if (!dirty && kept) {
                d->c.oos_resync_clean++;
                SH_TRACE(v, SHT_RESYNC, ~0ULL, o->gfn, mfn_x(sh_idx_mfn(d, s[0])), why, 0);
                return;
            }
            if (dirty && !OOS_MUTANT(7))
                sh_flush_all(d);   /* no cached translation may write without setting D */
        }
    }
    const uint64_t *g64 = (const uint64_t *)g, *s64 = (const uint64_t *)sn;
    for (unsigned blk = 0; blk < PAGE_SIZE / 4; blk += 16) {
        /* 64 bytes at a time, as words, written out (the kernel's memcmp goes
         * bytewise, and a loop here compiled to ten instructions a word):
         * a block the guest left alone costs two loads, an XOR and an OR a word. */
        const uint64_t *gq = g64 + blk / 2, *sq = s64 + blk / 2;
        uint64_t diff = ((gq[0] ^ sq[0]) | (gq[1] ^ sq[1])) | ((gq[2] ^ sq[2]) | (gq[3] ^ sq[3]))
                      | ((gq[4] ^ sq[4]) | (gq[5] ^ sq[5])) | ((gq[6] ^ sq[6]) | (gq[7] ^ sq[7]));
        if (!diff)
            continue;
        for (unsigned w = blk; w < blk + 16; w += step) {
            uint32_t lo = ((volatile uint32_t *)g)[w], hi = step == 2 ? ((volatile uint32_t *)g)[w + 1] : 0;
            if (lo == sn[w] && (step == 1 || hi == sn[w + 1]))
                continue;
            sn[w] = lo;
            if (step == 2)
                sn[w + 1] = hi;
            if (changed++ == 0 && OOS_MUTANT(5))
                continue;
            for (unsigned k = 0; k < n; k++)
                if (d->pg[s[k]].type == t[k] && d->pg[s[k]].gfn == o->gfn)
                    sh_mode_of_type(t[k])->validate(v, s[k], w * 4, step * 4);
        }
    }
    d->c.oos_resync_changed += changed;
    SH_TRACE(v, SHT_RESYNC, ~0ULL, o->gfn, mfn_x(sh_idx_mfn(d, s[0])), why, changed);
}

/* Resync o and take its frame back in sync: drop the record, then remove
 * every writable mapping of the frame (flushing if one existed, or if a
 * translation left the shadows unflushed: tlb_dirty, as sh_make does). */
static void oos_in_sync(struct shadow_vcpu *v, struct sh_oos *o)
{
    struct shadow_domain *d = v->d;
    uint64_t gfn = o->gfn;
    oos_resync(v, o, SHT_RESYNC_IN_SYNC);
    if (o->gfn == INVALID_GFN_RAW)
        return;                    /* no shadow left: plain memory */
    o->gfn = INVALID_GFN_RAW;
    d->noos--;
    sh_remove_write_access(d, gfn);
}

/* The entry of len bytes (an entry's 4 or 8, else up to 8) at p, read once
 * and zero-extended; the constant sizes copy without a call. */
static inline uint64_t entry_get(const char *p, unsigned len)
{
    uint64_t e = 0;
    if (len == 8)
        memcpy(&e, p, 8);
    else if (len == 4)
        memcpy(&e, p, 4);
    else
        memcpy(&e, p, len);
    return e;
}

/*
 * Resync one entry, bytes [off, off + len) of out-of-sync gfn (an INVLPG of
 * the address it maps: only that translation must be current; O holds entry
 * by entry).  Counted as a resync.  The guest's entry is read once: the
 * snapshot takes exactly the value compared.
 */
void sh_oos_resync_entry(struct shadow_vcpu *v, uint64_t gfn, unsigned off, unsigned len)
{
    struct shadow_domain *d = v->d;
    struct sh_oos *o = d->noos ? sh_oos_find(d, gfn) : NULL;
    const char *g = sh_gmap(d, gfn);
    if (!o || !g)
        return;
    char *sn = sh_oos_snap(d, o);
    d->c.oos_resyncs++;
    uint64_t now = entry_get(g + off, len), was = entry_get(sn + off, len);
    if (now == was)
        return;
    if (len == 8)                   /* the snapshot first, as oos_resync */
        memcpy(sn + off, &now, 8);
    else if (len == 4)
        memcpy(sn + off, &now, 4);
    else
        memcpy(sn + off, &now, len);
    d->c.oos_resync_changed++;
    if (OOS_MUTANT(5))
        return;                     /* the mutant skips the (only) changed entry */
    uint32_t s[8];
    uint8_t t[8];
    unsigned n = sh_pt_shadows(d, gfn, s);
    for (unsigned k = 0; k < n; k++)
        t[k] = d->pg[s[k]].type;
    for (unsigned k = 0; k < n; k++)
        if (d->pg[s[k]].type == t[k] && d->pg[s[k]].gfn == gfn)
            sh_mode_of_type(t[k])->validate(v, s[k], off, len);
    SH_TRACE(v, SHT_RESYNC, ~0ULL, gfn, n ? mfn_x(sh_idx_mfn(d, s[0])) : ~0ULL, SHT_RESYNC_INVLPG, 1);
}

void sh_oos_resync_gfn(struct shadow_vcpu *v, uint64_t gfn, unsigned why)
{
    struct sh_oos *o = v->d->noos ? sh_oos_find(v->d, gfn) : NULL;
    if (o)
        oos_resync(v, o, why);
}

void sh_oos_take_in_sync(struct shadow_vcpu *v, uint64_t gfn)
{
    struct sh_oos *o = v->d->noos ? sh_oos_find(v->d, gfn) : NULL;
    if (o)
        oos_in_sync(v, o);
}

void sh_oos_resync_all(struct shadow_vcpu *v, bool in_sync)
{
    struct shadow_domain *d = v->d;
    for (unsigned i = 0; d->noos && i < d->nvcpus; i++)
        for (unsigned k = 0; k < SH_OOS_MAX; k++) {
            struct sh_oos *o = &d->oos[i][k];
            if (o->gfn == INVALID_GFN_RAW)
                continue;
            if (in_sync)
                oos_in_sync(v, o);
            else
                oos_resync(v, o, SHT_RESYNC_FLUSH);
        }
}

/*
 * The rule for leaving a page table out of sync (the caller is the #PF of a
 * supervisor write to page table gfn, which would otherwise be emulated):
 * OOS is on, every page-table shadow of gfn is an l1 (a frame also shadowed
 * as a table of tables stays write-protected), the frame is guest RAM whose
 * writes are not trapped, and one write to it was already emulated since
 * its shadow was made or last resynced (sh_page.writes): the second write
 * goes out of sync.  A vCPU keeps SH_OOS_MAX such frames; a new one evicts
 * the oldest (taken back in sync).  The snapshot is the guest table as it
 * is now, which every shadow of it matches (I1: write-protected until now).
 */
bool sh_oos_try_unsync(struct shadow_vcpu *v, uint64_t gfn)
{
    struct shadow_domain *d = v->d;
    uint32_t s[8];
    if (!d->oos_on || plat_gfn_trap_writes(_gfn(gfn)))
        return false;
    unsigned n = sh_pt_shadows(d, gfn, s);
    bool written = false;
    for (unsigned k = 0; k < n; k++) {
        if (!((1u << d->pg[s[k]].type) & SH_OOS_TYPES))
            return false;
        written |= d->pg[s[k]].writes >= d->oos_after;
    }
    const void *g = sh_map_gfn(_gfn(gfn));
    if (!n || !written || !g)
        return false;
    unsigned vi = vcpu_index(v);
    struct sh_oos *o = NULL;
    uint64_t evicted = ~0ULL;
    for (unsigned k = 0; k < SH_OOS_MAX && !o; k++)
        if (d->oos[vi][k].gfn == INVALID_GFN_RAW && d->oos[vi][k].snap != SH_NIL)
            o = &d->oos[vi][k];
    if (!o) {
        o = &d->oos[vi][d->oos_next[vi]];
        d->oos_next[vi] = (uint8_t)((d->oos_next[vi] + 1) % SH_OOS_MAX);
        if (o->snap == SH_NIL)
            return false;
        evicted = o->gfn;
        d->c.oos_evicted++;
        oos_in_sync(v, o);
    }
    memcpy(sh_oos_snap(d, o), g, PAGE_SIZE);
    o->gfn = gfn;
    o->epoch = d->oos_wl_epoch;     /* from here a lost D moves the epoch (oos_resync) */
    d->noos++;
    d->c.oos_made++;
    SH_TRACE(v, SHT_OOS, ~0ULL, gfn, mfn_x(sh_idx_mfn(d, s[0])), evicted, ~0ULL);
    return true;
}

void shadow_set_oos_after(struct shadow_domain *d, unsigned writes)
{
    d->oos_after = (uint8_t)(writes > 255 ? 255 : writes);
}

int shadow_set_oos(struct shadow_domain *d, bool on)
{
    if (!on) {
        if (d->nvcpus)
            sh_oos_resync_all(d->vcpu[0], true);
        d->oos_on = false;
        return 0;
    }
    for (unsigned i = 0; i < d->nvcpus; i++)
        if (oos_reserve(d, i) < 0)
            return -1;
    d->oos_on = true;
    return 0;
}

/* Invariant O, domain side: records in use are counted, name distinct frames
 * whose page-table shadows are all l1s, and own a snapshot frame. */
unsigned long sh_oos_audit(struct shadow_domain *d)
{
    unsigned long errs = 0, used = 0;
    for (unsigned i = 0; i < d->nvcpus; i++)
        for (unsigned k = 0; k < SH_OOS_MAX; k++) {
            const struct sh_oos *o = &d->oos[i][k];
            if (o->snap != SH_NIL && (o->snap >= d->frames || d->pg[o->snap].type != SH_T_SNAP)) {
                errs++;
                plat_log("shadow: audit: vcpu %u oos slot %u: snapshot %u is not a snap frame", i, k, o->snap);
            }
            if (o->gfn == INVALID_GFN_RAW)
                continue;
            used++;
            if (sh_oos_find(d, o->gfn) != o) {
                errs++;
                plat_log("shadow: audit: gfn=%#llx is out of sync twice", (unsigned long long)o->gfn);
            }
            if (sh_pt_types(d, o->gfn) & ~SH_OOS_TYPES) {
                errs++;
                plat_log("shadow: audit: out-of-sync gfn=%#llx has a shadow that is not an l1",
                         (unsigned long long)o->gfn);
            }
        }
    if (used != d->noos) {
        errs++;
        plat_log("shadow: audit: %u out-of-sync records counted, %lu in use", d->noos, used);
    }
    return errs;
}

/* Audit after an event when asked to (shadow_set_audit). */
static inline void audit_after(struct shadow_domain *d)
{
    if (unlikely(d->audit_level))
        shadow_audit(d);
}

/* The guest control bits every shadow depends on (see shadow.h). */
static uint64_t mode_key(const struct shadow_vcpu *v)
{
    return (v->guest_cr0 & (X86_CR0_PG | X86_CR0_WP))
         | (v->guest_cr4 & (X86_CR4_PAE | X86_CR4_PSE | X86_CR4_PGE | X86_CR4_SMEP
                            | X86_CR4_SMAP | X86_CR4_PKE | X86_CR4_PKS))
         | ((v->guest_efer & (EFER_LME | EFER_NXE)) << 32);
}

static const struct shadow_mode *pick_mode(const struct shadow_vcpu *v)
{
    if (!(v->guest_cr0 & X86_CR0_PG))
        return &sh_mode_phys;
    if (v->guest_efer & EFER_LME)
        return &sh_mode_g4;
    if (v->guest_cr4 & X86_CR4_PAE)
        return &sh_mode_g3;
    return &sh_mode_g2;
}

/*
 * What the hardware runs the guest with.  PG always (paging-off guests run
 * on the identity shadow); WP always, so supervisor writes to write-protected
 * page tables and to not-yet-dirty pages fault (a guest with WP = 0 gets the
 * writes it may do emulated); PAE/LME/LMA as the shadow format needs; PSE
 * never (shadows never use superpages); PGE, SMEP, SMAP, PKE, PKS as the guest
 * set them when the CPU has them and paging is on; NXE as the guest set it;
 * SVME because VMRUN requires it in the guest's EFER.
 */
static void compute_hw(struct shadow_vcpu *v)
{
    const struct plat_cpu_features *f = plat_cpu_features();
    uint64_t pass = X86_CR4_VME | X86_CR4_PVI | X86_CR4_TSD | X86_CR4_DE | X86_CR4_MCE
                  | X86_CR4_PCE | X86_CR4_OSFXSR | X86_CR4_OSXMMEXCPT | X86_CR4_UMIP
                  | X86_CR4_FSGSBASE | X86_CR4_OSXSAVE;
    if (v->paging != GUEST_PAGING_OFF)
        pass |= (f->pge ? X86_CR4_PGE : 0) | (f->smep ? X86_CR4_SMEP : 0)
              | (f->smap ? X86_CR4_SMAP : 0) | (f->pku ? X86_CR4_PKE : 0)
              | (f->pks ? X86_CR4_PKS : 0);
    v->hw_cr0 = v->guest_cr0 | X86_CR0_PG | X86_CR0_WP;
    v->hw_cr4 = (v->guest_cr4 & pass) | (v->paging == GUEST_PAGING_2LEVEL ? 0 : X86_CR4_PAE);
    v->hw_efer = (v->guest_efer & ~(uint64_t)(EFER_LME | EFER_LMA | EFER_NXE))
               | (f->nx ? (v->guest_efer & EFER_NXE) : 0)
               | (v->paging == GUEST_PAGING_LONG ? EFER_LME | EFER_LMA : 0);
}

int shadow_vcpu_init(struct shadow_vcpu *v, struct shadow_domain *d)
{
    memset(v, 0, sizeof(*v));
    for (unsigned i = 0; i < 4; i++)
        v->toplevel[i] = INVALID_MFN;
    v->pae_l3 = INVALID_MFN;
    if (!d || d->nvcpus >= SH_MAX_VCPUS || sh_prealloc(d, SH_PREALLOC + 1))
        return -1;
    v->d = d;
    uint32_t p = sh_make(d, d->nvcpus, SH_T_PDPT);
    sh_get(d, p);                   /* the vCPU's, for its whole life */
    v->pae_l3 = sh_idx_mfn(d, p);
    for (unsigned k = 0; k < SH_OOS_MAX; k++)
        d->oos[d->nvcpus][k] = (struct sh_oos){ INVALID_GFN_RAW, SH_NIL, 0 };
    if (d->oos_on && oos_reserve(d, d->nvcpus) < 0) {
        plat_log("shadow: pool too small for the out-of-sync snapshots: oos off");
        d->oos_on = false;          /* a pool that runs the guest without them still does */
    }
    d->vcpu[d->nvcpus++] = v;
    v->guest_cr0 = X86_CR0_ET;
    v->mode_key = ~0ULL;
    return shadow_update_paging_mode(v) == 0 ? 0 : -1;
}

/* Check the PDPTEs a switch into PAE paging would load, without side effects. */
static bool pae_pdptes_ok(struct shadow_vcpu *v)
{
    gpa_t a = v->guest_cr3 & 0xffffffe0ULL;
    const char *p = sh_map_gfn(_gfn(a >> PAGE_SHIFT));
    if (!p)
        return true;                /* update_cr3 stops the guest instead */
    return sh_pdptes_ok(v->d, (const uint64_t *)(p + (a & (PAGE_SIZE - 1))));
}

int shadow_update_paging_mode(struct shadow_vcpu *v)
{
    struct shadow_domain *d = v->d;
    sh_fetch_drop(v);                      /* F: a CR0/CR4/EFER write */
    if ((v->guest_cr0 & X86_CR0_PG) && (v->guest_efer & EFER_LME))
        v->guest_efer |= EFER_LMA;
    else
        v->guest_efer &= ~(uint64_t)EFER_LMA;
    const struct shadow_mode *m = pick_mode(v);
    uint64_t key = mode_key(v);
    if (key == v->mode_key && m == v->mode) {
        /* A CR0/CR4 write the shadows do not depend on may still flush the
         * guest's TLB (CR4.PGE is in the key; CR0 writes are cheap to treat
         * as flushes): out-of-sync tables catch up (O). */
        if (unlikely(d->noos))
            sh_oos_resync_all(v, false);
        compute_hw(v);
        return 0;
    }
    if (m == &sh_mode_g3 && !pae_pdptes_ok(v))
        return 1;
    /* Every out-of-sync frame back in sync, by unshadowing it: its shadows
     * were propagated under the old control bits (v's are the new ones), and
     * with one vCPU they die with the old mode anyway. */
    for (unsigned i = 0; d->noos && i < d->nvcpus; i++)
        for (unsigned k = 0; k < SH_OOS_MAX; k++) {
            struct sh_oos *o = &d->oos[i][k];
            if (o->gfn == INVALID_GFN_RAW)
                continue;
            uint64_t g = o->gfn;
            if (sh_unshadow(d, g)) {
                o->gfn = INVALID_GFN_RAW;
                d->noos--;
            } else {
                sh_oos_take_in_sync(v, g);
            }
        }
    /*
     * Drop this vCPU's shadows: every propagated entry depends on the key.
     * Shadows other vCPUs run on stay (the vCPUs of one guest are assumed to
     * agree on these bits once booted); everything else not in use goes.
     */
    d->c.mode_changes++;
    for (unsigned i = 0; i < 4; i++)
        sh_set_top(v, i, SH_NIL);
    memset(plat_map_mfn(v->pae_l3), 0, 32);
    sh_unpin_unused(d);
    v->mode = m;
    v->paging = m->paging;
    v->mode_key = key;
    compute_hw(v);
    struct sh_fault f;
    if (sh_prealloc(d, SH_PREALLOC))
        return -1;
    enum sh_result r = m->update_cr3(v, &f);
    audit_after(d);
    if (r == SH_STOP)
        plat_log("shadow: mode %s: cannot load CR3 %#llx: %s", m->name,
                 (unsigned long long)v->guest_cr3, f.why);
    v->tlb_flush = true;
    return r == SH_FIXED ? 0 : r == SH_REFLECT ? 1 : -1;
}

enum sh_result shadow_update_cr3(struct shadow_vcpu *v, struct sh_fault *out)
{
    struct shadow_domain *d = v->d;
    d->c.cr3_loads++;
    sh_fetch_drop(v);                      /* F: the guest's MOV CR3 flushes its TLB */
    if (sh_prealloc(d, SH_PREALLOC)) {
        return sh_stop(out, "shadow pool exhausted");
    }
    if (unlikely(d->noos))
        sh_oos_resync_all(v, false);    /* the guest's MOV CR3 flushes its TLB (O) */
    enum sh_result r = v->mode->update_cr3(v, out);
    if (r == SH_REFLECT)
        d->c.cr3_gp++;
    audit_after(d);
    return r;
}

/* A #PF's outcome counted (a fixed fault also ends the emulated-write runs). */
static inline void fault_counted(struct shadow_vcpu *v, enum sh_result r)
{
    struct shadow_domain *d = v->d;
    switch (r) {
    case SH_FIXED: d->c.fault_fixed++; v->pt_write_run = 0; v->pt_zero_run = 0; break;
    case SH_REFLECT: d->c.fault_reflected++; break;
    case SH_STOP: d->c.fault_stopped++; break;
    case SH_EMULATE: break;     /* counted by cause in the mode */
    }
}

/* shadow_page_fault with the trace on: the same fault, counted the same,
 * and recorded with va's shadow leaf before and after.  Out of line, so the
 * untraced path keeps nothing live across the mode's handler. */
static __attribute__((noinline, cold)) enum sh_result page_fault_traced(struct shadow_vcpu *v, gva_t va,
                                                                        uint32_t pfec, struct sh_fault *out)
{
    uint64_t se0 = sh_trace_leaf(v, va);      /* trace: entry before */
    enum sh_result r = v->mode->page_fault(v, va, pfec, out);
    fault_counted(v, r);
    if (r != SH_STOP) SH_TRACE_FAULT(v, r == SH_FIXED ? SHT_FAULT_FIXED : r == SH_REFLECT ? SHT_FAULT_REFLECTED : SHT_FAULT_EMULATED, va, r == SH_EMULATE ? out->gfn : ~0ULL, pfec, se0, sh_trace_leaf(v, va), 0);
    audit_after(v->d);
    return r;
}

enum sh_result shadow_page_fault(struct shadow_vcpu *v, gva_t va, uint32_t pfec,
                                 struct sh_fault *out)
{
    v->d->c.faults++;
    if (__builtin_expect(sh_trace_on, 0))
        return page_fault_traced(v, va, pfec, out);
    enum sh_result r = v->mode->page_fault(v, va, pfec, out);
    fault_counted(v, r);
    audit_after(v->d);
    return r;
}

void shadow_invlpg(struct shadow_vcpu *v, gva_t va)
{
    v->d->c.invlpg++;
    gva_t a = v->mode->guest_levels < 4 ? va & 0xffffffffULL : va;
    if (!((a ^ (v->fetch_page << PAGE_SHIFT)) & v->fetch_span))
        sh_fetch_drop(v);                  /* F: va lies in the fetch translation's leaf page */
    SH_TRACE(v, SHT_INVLPG, va, ~0ULL, ~0ULL, ~0ULL, ~0ULL);
    v->mode->invlpg(v, va);
    audit_after(v->d);
}

bool shadow_gva_to_gpa(struct shadow_vcpu *v, gva_t va, gpa_t *gpa)
{
    struct sh_fault f;
    return v->mode->translate(v, va, SH_PFEC_AC, false, gpa, &f) == SH_FIXED;
}

unsigned shadow_walk_va(struct shadow_vcpu *v, gva_t va, struct shadow_walk_info *wi)
{
    memset(wi, 0, sizeof(*wi));
    v->mode->walk_info(v, va, wi);
    return wi->nlevels;
}

/*
 * sh_validate_pt_write: the guest (through shadow_write_guest) changed
 * bytes [off, off+len) of frame gfn; recompute the touched entries in every
 * shadow of that frame.  The list is taken first; a shadow that died because
 * an earlier one dropped its last reference is skipped (nothing allocates
 * here, so a freed index cannot be reused meanwhile).
 */
/*
 * Then the unshadow heuristics, each counted: a frame is probably no longer
 * a page table (or is being rewritten in bulk, cheaper unshadowed) when
 *   - a user-mode write reaches it (guest kernels keep tables supervisor-only),
 *   - SH_UNSHADOW_ZERO_RUN writes in a row from this vCPU each left the
 *     written entries zero (process teardown clearing its tables), or one
 *     write of SH_UNSHADOW_BULK bytes or more did (a string store's chunk:
 *     clear_page of a freed table, which would otherwise validate 64 entries
 *     a chunk for eight chunks before the run unshadowed it; Linux's
 *     preallocated PMDs, made by clear_page of frames that were PMDs of an
 *     exited process, cost 65,283 Bochs ticks an exit that way),
 *   - SH_UNSHADOW_RUN writes in a row reach it with no fixed fault between
 *     (the table is not being used).
 * Unshadowing only drops shadows (sh_unshadow), so it is always safe.
 */
bool sh_validate_pt_write(struct shadow_vcpu *v, uint64_t gfn, unsigned off, unsigned len,
                          uint32_t pfec)
{
    struct shadow_domain *d = v->d;
    uint32_t s[8];
    uint8_t t[8];
    for (unsigned i = 0; i < d->nvcpus; i++)
        sh_fetch_pt_write(d->vcpu[i], gfn);   /* F: a write to a table a fetch walked */
    unsigned n = sh_pt_shadows(d, gfn, s);
    d->c.pt_writes++;
    SH_TRACE(v, SHT_FAULT_EMULATED, ~0ULL, gfn, n ? mfn_x(sh_idx_mfn(d, s[0])) : ~0ULL, off, sh_map_gfn(_gfn(gfn)) ? ((const uint64_t *)sh_map_gfn(_gfn(gfn)))[(off & (PAGE_SIZE - 1)) / 8] : ~0ULL);
    for (unsigned k = 0; k < n; k++) {
        t[k] = d->pg[s[k]].type;
        if (d->pg[s[k]].writes < 255)
            d->pg[s[k]].writes++;      /* the out-of-sync trigger (sh_oos_try_unsync) */
    }
    struct sh_oos *o = d->noos ? sh_oos_find(d, gfn) : NULL;
    if (o) {
        /* An emulated write to an out-of-sync table (an instruction that also
         * wrote elsewhere, the GDB stub): the snapshot takes the written
         * entries before they are revalidated (invariant O), exactly those
         * validate() revalidates below: with 4-byte entries an 8-byte
         * rounding took the neighbour the guest had written natively into
         * the snapshot unrevalidated, and its resync then found nothing to
         * do (found by fuzz-shadow, regress/shadow/snapshot-takes-neighbour). */
        unsigned es = 4;
        for (unsigned k = 0; k < n; k++)
            if (sh_role[t[k]].wide)
                es = 8;            /* oos_resync compares in the same units */
        unsigned a = off & ~(es - 1), b = (off + len + es - 1) & ~(es - 1);
        const char *g = sh_gmap(d, gfn);
        if (g)
            memcpy((char *)sh_oos_snap(d, o) + a, g + a, (b > PAGE_SIZE ? PAGE_SIZE : b) - a);
    }
    for (unsigned k = 0; k < n; k++)
        if (d->pg[s[k]].type == t[k] && d->pg[s[k]].gfn == gfn)
            sh_mode_of_type(t[k])->validate(v, s[k], off, len);
    if (v->last_pt_write != gfn) {
        v->last_pt_write = gfn;
        v->pt_write_run = 0;
        v->pt_zero_run = 0;
    }
    /* Zeroing: the aligned entries covering the write are all zero now. */
    const uint8_t *g = sh_gmap(d, gfn);
    bool zero = g != NULL;
    for (unsigned b = off & ~7u; zero && b < off + len && b < PAGE_SIZE; b++)
        zero = g[b] == 0;
    v->pt_zero_run = !zero ? 0 : len >= SH_UNSHADOW_BULK ? SH_UNSHADOW_ZERO_RUN : v->pt_zero_run + 1;
    v->pt_write_run++;
    if (pfec & PFEC_USER) {
        d->c.unshadow_user++;
        SH_TRACE_WHY(v, SHT_UNSHADOW, ~0ULL, gfn, ~0ULL, SHT_WHY_USER);
    } else if (v->pt_zero_run >= SH_UNSHADOW_ZERO_RUN) {
        d->c.unshadow_zeroing++;
        SH_TRACE_WHY(v, SHT_UNSHADOW, ~0ULL, gfn, ~0ULL, SHT_WHY_ZERO_RUN);
    } else if (v->pt_write_run >= SH_UNSHADOW_RUN) {
        d->c.unshadow_run++;
        SH_TRACE_WHY(v, SHT_UNSHADOW, ~0ULL, gfn, ~0ULL, SHT_WHY_RUN);
    } else {
        return false;
    }
    v->pt_write_run = 0;
    v->pt_zero_run = 0;
    return sh_unshadow(d, gfn);
}

/* Bytes of an access of `left` bytes at a that lie in a's page (1..left). */
static inline unsigned page_chunk(gva_t a, unsigned left)
{
    unsigned n = PAGE_SIZE - (a & (PAGE_SIZE - 1));
    return n < left ? n : left;
}

/* A guest access the walk refused at a: counted, and traced if reflected. */
static enum sh_result access_refused(struct shadow_vcpu *v, gva_t a, enum sh_result r,
                                     const struct sh_fault *out)
{
    v->d->c.guest_access_faults++;
    if (r == SH_REFLECT)
        SH_TRACE_FAULT(v, SHT_FAULT_REFLECTED, a, ~0ULL, out->pfec, ~0ULL, ~0ULL, SHT_WHY_EMU_ACCESS);
    return r;
}

/*
 * Guest-virtual access for the emulator and the GDB stub.  Every page is
 * translated (and checked) before any byte moves, as an instruction faults
 * before it writes; then A/D are set and the data copied.  Writes into
 * shadowed page tables revalidate the touched entries.  An access within
 * one page (nearly all of them: an instruction fetch, a PTE write) is walked
 * once: translate() with A/D sets them only after the whole walk succeeded
 * and the frame is guest RAM, so that one walk is both the check pass and
 * the copy pass, with the same faults and the same side effects.
 */
static enum sh_result guest_access(struct shadow_vcpu *v, gva_t va, void *buf, unsigned len,
                                   uint32_t pfec, struct sh_fault *out, bool write)
{
    struct shadow_domain *d = v->d;
    /* A read with PFEC_WRITE is the read half of a read-modify-write: it is
     * checked (and faults, and sets D) as the write the CPU makes of it. */
    uint32_t access = (pfec & (PFEC_USER | PFEC_INSN | SH_PFEC_AC | PFEC_WRITE))
                    | (write ? PFEC_WRITE : 0);
    bool one_page = page_chunk(va, len) == len;
    gpa_t gpa;
    for (unsigned done = 0; done < len && !one_page;) {
        gva_t a = va + done;
        unsigned n = page_chunk(a, len - done);
        enum sh_result r = v->mode->translate(v, a, access, false, &gpa, out);
        if (r != SH_FIXED)
            return access_refused(v, a, r, out);
        if (!sh_gmap(d, gpa >> PAGE_SHIFT)) {
            return sh_stop(out, "guest access to a frame that is not guest RAM");
        }
        done += n;
    }
    for (unsigned done = 0; done < len;) {
        gva_t a = va + done;
        unsigned n = page_chunk(a, len - done);
        enum sh_result r = v->mode->translate(v, a, access, true, &gpa, out);
        if (r != SH_FIXED)
            return one_page ? access_refused(v, a, r, out) : r;   /* else the check pass counted it */
        uint64_t gfn = gpa >> PAGE_SHIFT;
        char *p = (char *)sh_gmap(d, gfn) + (gpa & (PAGE_SIZE - 1));   /* RAM: translate() checked */
        if (write) {
            memcpy(p, (const char *)buf + done, n);
            if (sh_is_pt(d, gfn) && sh_validate_pt_write(v, gfn, gpa & (PAGE_SIZE - 1), n, pfec))
                out->unshadowed = true;      /* a string store may finish natively (x86emu.h) */
        } else {
            memcpy((char *)buf + done, p, n);
        }
        done += n;
    }
    return SH_FIXED;
}

/*
 * paging_ops.read_guest under shadow (svm.h: the event rules' reads of the
 * IDT, the TSS and the bytes at RIP, the watchdog's byte at CS:RIP): each page
 * translated and judged as the guest's own access with pfec would be, and
 * nothing written -- no A/D bit, no counter, no trace.  A fault comes back
 * as the walk gives it (SH_REFLECT with out->cr2/pfec); a frame that is not
 * guest RAM stops the read.  Bytes before a bad page may have been copied.
 */
enum sh_result shadow_peek_guest(struct shadow_vcpu *v, gva_t va, void *dst,
                                 unsigned len, uint32_t pfec, struct sh_fault *out)
{
    uint32_t access = pfec & (PFEC_USER | PFEC_INSN | SH_PFEC_AC | PFEC_WRITE);
    for (unsigned done = 0; done < len;) {
        gva_t a = va + done;
        unsigned n = page_chunk(a, len - done);
        gpa_t gpa;
        enum sh_result r = v->mode->translate(v, a, access, false, &gpa, out);
        if (r != SH_FIXED)
            return r;
        const char *p = sh_gmap(v->d, gpa >> PAGE_SHIFT);
        if (!p)
            return sh_stop(out, "guest read of a frame that is not guest RAM");
        memcpy((char *)dst + done, p + (gpa & (PAGE_SIZE - 1)), n);
        done += n;
    }
    return SH_FIXED;
}

/*
 * An instruction fetch (shadow_read_guest with PFEC_INSN) within one page.
 * Invariant F, the fetch translation: while v->fetch_host is set, it is the
 * guest RAM frame that a full walk (translate() with A/D, as guest_access()
 * makes) gave for the linear page fetch_page, for the access fetch_access,
 * under CR3 fetch_cr3, and fetch_span covers that walk's leaf page; and no
 * guest TLB invalidation that covers it has happened since: it is dropped
 * (sh_fetch_drop) at every CR3 load (shadow_update_cr3), every CR0/CR4/EFER
 * write (shadow_update_paging_mode: the rights a fetch is judged with, NX,
 * SMEP, and the mode, depend only on them and on the access), every INVLPG
 * of an address within fetch_span (shadow_invlpg), and, more than the
 * architecture asks, at every guest page-table write the shadow sees to a
 * table that walk read (fetch_tables, sh_validate_pt_write) and at
 * shadow_blow_tables().  So it is a
 * translation the guest's TLB could hold now (a TLB may keep one after its
 * PTE changed, until such an invalidation), with its A bits set when it was
 * walked, and reading through it is a fetch the CPU could make: the same
 * bytes (read now), or the same fault never (a cached translation was
 * valid).  The CS limit is fetch()'s (src/x86), before this call.  A miss,
 * or a fetch across a page, is guest_access()'s one walk, as before.
 */
static enum sh_result guest_fetch(struct shadow_vcpu *v, gva_t va, void *dst, unsigned len,
                                  uint32_t pfec, struct sh_fault *out)
{
    uint32_t access = pfec & (PFEC_USER | PFEC_INSN | SH_PFEC_AC | PFEC_WRITE);
    unsigned off = va & (PAGE_SIZE - 1);
    if (v->mode->guest_levels < 4)
        va &= 0xffffffffULL;            /* as translate() takes it */
    if (v->fetch_host && v->fetch_page == va >> PAGE_SHIFT && v->fetch_access == access
        && v->fetch_cr3 == v->guest_cr3 && off + len <= PAGE_SIZE) {
        memcpy(dst, v->fetch_host + off, len);
        return SH_FIXED;
    }
    if (off + len > PAGE_SIZE || !v->mode->translate_fetch)
        return guest_access(v, va, dst, len, pfec, out, false);
    gpa_t gpa;
    struct sh_fetch_walk fw;
    enum sh_result r = v->mode->translate_fetch(v, va, access, &gpa, &fw, out);
    if (r != SH_FIXED)
        return access_refused(v, va, r, out);
    const uint8_t *p = sh_gmap(v->d, gpa >> PAGE_SHIFT);   /* RAM: translate() checked */
    v->fetch_host = p;
    v->fetch_page = va >> PAGE_SHIFT;
    v->fetch_access = access;
    v->fetch_cr3 = v->guest_cr3;
    v->fetch_span = fw.span;
    for (unsigned i = 0; i < 4; i++)
        v->fetch_tables[i] = fw.tables[i];
    memcpy(dst, p + off, len);
    return SH_FIXED;
}

enum sh_result shadow_read_guest(struct shadow_vcpu *v, gva_t va, void *dst,
                                 unsigned len, uint32_t pfec, struct sh_fault *out)
{
    v->d->c.guest_reads++;
    if (pfec & PFEC_INSN)
        return guest_fetch(v, va, dst, len, pfec, out);
    return guest_access(v, va, dst, len, pfec, out, false);
}

enum sh_result shadow_write_guest(struct shadow_vcpu *v, gva_t va, const void *src,
                                  unsigned len, uint32_t pfec, struct sh_fault *out)
{
    v->d->c.guest_writes++;
    enum sh_result r = guest_access(v, va, (void *)src, len, pfec, out, true);
    audit_after(v->d);
    return r;
}

enum sh_result shadow_cmpxchg_guest(struct shadow_vcpu *v, gva_t va, void *expected,
                                    const void *src, unsigned len, uint32_t pfec,
                                    bool *done, struct sh_fault *out)
{
    struct shadow_domain *d = v->d;
    uint32_t access = (pfec & (PFEC_USER | SH_PFEC_AC)) | PFEC_WRITE;
    gpa_t gpa;
    *done = false;
    if ((len != 1 && len != 2 && len != 4 && len != 8)
        || ((va & (PAGE_SIZE - 1)) + len > PAGE_SIZE)) {
        /* split lock (or odd size): compare and write, not atomically */
        uint64_t cur = 0;
        if (len > sizeof(cur)) {
            return sh_stop(out, "cmpxchg wider than 8 bytes");
        }
        enum sh_result r = guest_access(v, va, &cur, len, access & ~PFEC_WRITE, out, false);
        if (r != SH_FIXED)
            return r;
        if (memcmp(&cur, expected, len)) {
            memcpy(expected, &cur, len);
            return SH_FIXED;
        }
        r = guest_access(v, va, (void *)src, len, access, out, true);
        *done = r == SH_FIXED;
        return r;
    }
    /* One walk (the access is within one page): A/D first, as the CPU does
     * for a locked write even if it compares unequal; translate() sets them
     * only for a frame in guest RAM. */
    enum sh_result r = v->mode->translate(v, va, access, true, &gpa, out);
    if (r != SH_FIXED)
        return r;
    uint64_t gfn = gpa >> PAGE_SHIFT;
    char *p = (char *)sh_gmap(d, gfn) + (gpa & (PAGE_SIZE - 1));
    d->c.guest_writes++;
    switch (len) {
    case 1: *done = __atomic_compare_exchange_n((uint8_t *)p, (uint8_t *)expected,
                                                *(const uint8_t *)src, false,
                                                __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST); break;
    case 2: *done = __atomic_compare_exchange_n((uint16_t *)p, (uint16_t *)expected,
                                                *(const uint16_t *)src, false,
                                                __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST); break;
    case 4: *done = __atomic_compare_exchange_n((uint32_t *)p, (uint32_t *)expected,
                                                *(const uint32_t *)src, false,
                                                __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST); break;
    default: *done = __atomic_compare_exchange_n((uint64_t *)p, (uint64_t *)expected,
                                                 *(const uint64_t *)src, false,
                                                 __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST); break;
    }
    if (*done && sh_is_pt(d, gfn))
        sh_validate_pt_write(v, gfn, gpa & (PAGE_SIZE - 1), len, pfec);
    return SH_FIXED;
}

/*
 * The exit summary's counters.  full: every counter on its own line
 * "shadow: NAME=VALUE", zeros included (the summary=full option).  Otherwise
 * the non-zero ones, one "shadow: [GROUP] A=1 B=2 ..." line per group (wrapped
 * before SUMMARY_WRAP characters), then "shadow: N of M counters non-zero":
 * a counter missing from a grouped line is 0.  Either form prints every
 * non-zero counter exactly once.
 */
#define SUMMARY_WRAP 100
void shadow_print_stats(struct shadow_domain *d, bool full)
{
    static const char *const groups[] = { "faults", "cr3", "tlb", "writes", "unshadow", "pool", "audit", "other" };
    struct shadow_stat st;
    unsigned total = 0, shown = 0;
    if (full) {
        for (unsigned i = 0; shadow_stat(d, i, &st); i++)
            plat_log("shadow: %s=%llu", st.name, (unsigned long long)st.value);
        plat_log("shadow: trace_events=%llu (ring %u, %s)", (unsigned long long)sh_trace_total(),
                 sh_trace_capacity(), sh_trace_on ? "on" : "off");
        return;
    }
    for (unsigned g = 0; g < ARRAY_SIZE(groups); g++) {
        char line[SUMMARY_WRAP + 64];
        size_t n = 0;
        for (unsigned i = 0; shadow_stat(d, i, &st); i++) {
            if (strcmp(st.group, groups[g]) != 0)
                continue;
            total++;
            if (!st.value)
                continue;
            shown++;
            char item[64];
            int k = snprintf(item, sizeof(item), "%s=%llu", st.name, (unsigned long long)st.value);
            if (n && n + 1 + (size_t)k > SUMMARY_WRAP) {
                plat_log("shadow: [%s] %s", groups[g], line);
                n = 0;
            }
            n += (size_t)snprintf(line + n, sizeof(line) - n, "%s%s", n ? " " : "", item);
        }
        if (n)
            plat_log("shadow: [%s] %s", groups[g], line);
    }
    plat_log("shadow: %u of %u counters non-zero (summary=full lists all, one a line)", shown, total);
    if (sh_trace_on || sh_trace_total())
        plat_log("shadow: trace_events=%llu (ring %u, %s)", (unsigned long long)sh_trace_total(),
                 sh_trace_capacity(), sh_trace_on ? "on" : "off");
}
