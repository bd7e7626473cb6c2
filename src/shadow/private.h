/*
 * Private interface of the shadow MMU (src/shadow/).  See docs/shadow.md.
 *
 * Everything here lives inside the pool given to shadow_domain_init(): the
 * domain, one `struct sh_page` per pool frame, the hash buckets.  No malloc.
 *
 * Invariants kept by every function of src/shadow/:
 *   I1  a present shadow entry never grants more than the guest entry it was
 *       propagated from (present only if guest P and A and no reserved bit;
 *       RW only if guest RW (or CR0.WP = 0 and a supervisor leaf) and, for a
 *       leaf, D and the target is not a shadowed page table; U only if guest
 *       U; NX if guest NX);
 *   I2  a present leaf shadow entry maps p2m(guest frame), never a frame
 *       plat_gfn_to_mfn() refuses;
 *   I3  refs(shadow) = present shadow entries pointing at it
 *                     + 1 if pinned + one per vCPU top-level slot holding it;
 *   I4  at refs == 0 a shadow is destroyed and drops its children;
 *   I5  a shadow is in the hash iff it is allocated (per-vCPU PDPTs excepted);
 *   I6  nothing allocates unless sh_prealloc() made room first;
 *   U   sh_page.up is SH_NIL or the slot of a present shadow entry that links
 *       to this shadow (install() sets it when a shadow gets a link and has
 *       none named, clears it when that entry changes; a dying parent clears
 *       its children's), so a shadow with one link is unlinked without a search;
 *   O   a frame with an out-of-sync record (struct sh_oos) has l1 shadows only,
 *       each entry the propagation of the record's snapshot (I1/I2 with the
 *       snapshot for the guest table); resynced at the guest's flushes
 *       (docs/shadow.md lists the points).
 */
#ifndef UMBRA_SHADOW_PRIVATE_H
#define UMBRA_SHADOW_PRIVATE_H

#include <umbra/types.h>
#include <umbra/x86.h>
#include <umbra/lib.h>
#include <umbra/platform.h>
#include <umbra/shadow.h>
#include "trace.h"

#define SH_NIL          0xffffffffu

/*
 * SH_ASSERT(cond): a precondition the audit would only find later (a
 * refcount underflow, an allocation I6 promised).  One branch predicted
 * taken; on failure plat_assert_failed() logs cond with file:line and stops
 * the guest (hypervisor) or aborts (hosted tests).  Keep cond cheap and free
 * of side effects: it is on the hot path.
 */
#define SH_ASSERT(cond) \
    (__builtin_expect(!!(cond), 1) ? (void)0 : plat_assert_failed(#cond, __FILE__, __LINE__))
#define SH_MAX_VCPUS    8
/* Frames any single fault / CR3 load may need: long mode makes at most an
 * l3, an l2 and an l1 plus the l1's reverse-map companion (4); a 2-level
 * fault an l1 and its two companions (3); a PAE CR3 load four l2_pae. */
#define SH_PREALLOC     5
#define SH_UNSHADOW_RUN 16     /* emulated writes in a row to one frame: unshadow it */
#define SH_UNSHADOW_ZERO_RUN 8 /* ... of which each left its entries zero (teardown) */
#define SH_UNSHADOW_BULK 64    /* one write zeroing this many bytes counts as such a run */
#define SH_PREFETCH_ALL SHADOW_PREFETCH_ALL /* a new l1 is filled from its whole guest table */

/*
 * Shadow types: the "role" of a shadow page (KVM's word).  A shadow is
 * identified by (guest frame, type); sh_role[] (pool.c) spells each type out as
 * its role fields.  fl1 types splinter a guest superpage into 4 KiB entries
 * (keyed by the first guest frame they map); fl2_64 splinters a 1 GiB page
 * into links to 512 fl1_64 (keyed by its first guest frame); phys types form the identity shadow of a
 * paging-off guest (keyed by the first guest frame they cover).
 */
enum sh_type {
    SH_T_NONE = 0,
    SH_T_L1_32, SH_T_FL1_32, SH_T_L2_32,            /* 2-level guest, 2-level shadow */
    SH_T_L1_PAE, SH_T_FL1_PAE, SH_T_L2_PAE,         /* PAE guest, PAE shadow */
    SH_T_L1_64, SH_T_FL1_64, SH_T_L2_64, SH_T_L3_64, SH_T_L4_64,  /* long mode */
    SH_T_FL2_64,                                    /* 1 GiB page -> 512 fl1_64 */
    SH_T_PHYS_L1, SH_T_PHYS_L2,                     /* paging off, PAE identity */
    SH_T_PDPT,        /* a vCPU's 32-byte shadow PDPT frame (not hashed) */
    SH_T_RMAP,        /* reverse-map companion of an l1 shadow (rmap.c), not hashed */
    SH_T_SNAP,        /* a vCPU's out-of-sync snapshot frame (common.c), not hashed */
    SH_T_FREE,        /* on the free list */
    SH_T_META,        /* holds the domain / metadata */
    SH_T_MAX
};

struct sh_role {
    const char *name;
    uint8_t guest_levels;  /* 2, 3, 4; 0 = paging off / not a shadow */
    uint8_t level;         /* 1 = leaf table ... 4 */
    bool fl1;              /* splinters a guest superpage (fl1, or fl2 for 1 GiB) */
    bool pt;               /* shadows a guest page table (write-protected) */
    bool wide;             /* 64-bit entries (512 per page), else 32-bit (1024) */
};
extern const struct sh_role sh_role[SH_T_MAX];
/* Entries in one shadow page of type t: 512 wide (64-bit) ones, else 1024. */
static inline unsigned sh_nent(enum sh_type t)
{
    return sh_role[t].wide ? 512 : 1024;
}

/* Per pool frame (Xen's page_info for shadow pages): 40 bytes (checked below).  For an
 * SH_T_RMAP companion, gfn holds the owning l1's pool index. */
struct sh_page {
    uint64_t gfn;          /* guest frame shadowed (key with type) */
    uint32_t hnext;        /* hash chain / free list */
    uint32_t lprev, lnext; /* pin LRU list (head = most recently used) */
    uint32_t refs;         /* I3 */
    uint8_t type;          /* enum sh_type */
    uint8_t pinned;
    uint8_t inuse;         /* vCPU top-level slots holding it */
    uint8_t writes;        /* l1: emulated writes since made or resynced (the OOS trigger), saturating */
    uint32_t rmap;         /* l1: first reverse-map companion; companion: the next, or SH_NIL */
    uint32_t up;           /* U: SH_NIL or the slot of a present entry linking to this shadow */
};
_Static_assert(sizeof(struct sh_page) == 40, "struct sh_page: one per pool frame, 40 bytes");

/* A shadow entry named as one number: pool index << 10 | entry index (<= 1023).
 * sh_slot_idx()/sh_slot_ent() take a slot (an up-pointer, a reverse-map node)
 * apart again: sh_slot_idx(SH_SLOT(si, k)) == si, sh_slot_ent(SH_SLOT(si, k)) == k. */
#define SH_SLOT(si, k) (((uint32_t)(si) << 10) | (uint32_t)(k))
static inline uint32_t sh_slot_idx(uint32_t s) { return s >> 10; }
static inline unsigned sh_slot_ent(uint32_t s) { return s & 1023; }

/* Counters: one X-macro list so printing never forgets one. */
#define SH_COUNTERS(X) \
    X(faults) X(fault_fixed) X(fault_reflected) X(fault_emulated_pt) \
    X(fault_emulated_wp0) X(fault_wp0_mapped) X(fault_stopped) X(fault_spurious) \
    X(fault_reflected_hw) X(fault_rsvd) X(ad_set) X(ad_retries) \
    X(cr3_loads) X(cr3_hits) X(cr3_misses) X(cr3_gp) \
    X(invlpg) X(invlpg_dropped) X(prefetch_entries) \
    X(unpins) X(reclaim_unpins) X(teardowns) X(prealloc_fail) X(mode_changes) \
    X(wp_rmap_walks) X(wp_rmap_visits) X(wp_fl1_lookups) X(wp_removed) X(tlb_flush_requests) \
    X(pt_writes) X(pt_entries_validated) X(guest_reads) X(guest_writes) \
    X(guest_access_faults) X(unshadows) X(unshadow_links) X(unshadow_up_links) X(unshadow_searches) \
    X(unshadow_run) X(unshadow_zeroing) X(unshadow_user) X(unshadow_targeted) X(audits) X(audit_errors) \
    X(oos_made) X(oos_resyncs) X(oos_resync_changed) X(oos_resync_clean) X(oos_evicted)

struct sh_counters {
#define SH_CFIELD(n) uint64_t n;
    SH_COUNTERS(SH_CFIELD)
#undef SH_CFIELD
    uint64_t made[SH_T_MAX];
    uint64_t destroyed[SH_T_MAX];
};

/*
 * An out-of-sync guest L1 (docs/shadow.md, invariant O): gfn's page-table
 * shadows are all l1 shadows, leaves may map gfn writable, and every present
 * entry of those shadows is propagated from the snapshot's entry, not
 * (necessarily) the guest's current one.  snap is the pool index of the
 * record's SH_T_SNAP frame (reserved per vCPU at shadow_vcpu_init); a
 * free record has gfn == INVALID_GFN_RAW.
 */
#define SH_OOS_MAX 4           /* out-of-sync L1s per vCPU (Xen keeps a few too) */
#define SH_OOS_AFTER_WRITES 1  /* emulated writes to an l1 before the next one unsyncs it */
struct sh_oos {
    uint64_t gfn;
    uint32_t snap;
    uint32_t epoch;             /* d->oos_wl_epoch when its leaves' D bits were last cleared */
};

/* One slot of the domain's cache of guest-frame pointers (sh_gmap()). */
#define SH_GMAP 64
struct sh_gmap_slot {
    uint64_t gfn;               /* INVALID_GFN_RAW: empty */
    void *p;
};

struct shadow_domain {
    mfn_t base;                 /* first pool frame */
    char *va;                   /* the pool, mapped contiguously (shadow_domain_init checks) */
    uint64_t rsvd_addr[2];      /* sh_rsvd_addr(62), sh_rsvd_addr(51): MAXPHYADDR is the
                                 * platform's, fixed for the domain's life (rsvd() in multi.c) */
    const struct plat_cpu_features *feat;   /* plat_cpu_features(): the same pointer at every
                                 * call (platform.h), so read through it, never copied */
    uint32_t frames;            /* pool frames (incl. metadata) */
    uint32_t first;             /* first frame usable for shadows */
    struct sh_page *pg;         /* [frames] */
    uint32_t *bucket;           /* [nbuckets] hash heads */
    uint32_t nbuckets;          /* power of two */
    uint32_t *rbucket;          /* [nrbuckets] reverse-map chain heads (rmap.c) */
    uint32_t nrbuckets;         /* power of two */
    uint32_t *audit_refs;       /* [frames] scratch for shadow_audit() */
    uint32_t free_head, nfree;
    uint32_t lru_head, lru_tail, npinned;
    uint32_t live;              /* allocated shadows (hashed) */
    bool tlb_dirty;             /* a translation left the shadows unflushed (see pool.c) */
    unsigned audit_level;       /* shadow_set_audit() */
    unsigned prefetch;          /* shadow_set_prefetch(): l1 entries filled per fault, SH_PREFETCH_ALL */
    bool oos_on;                /* shadow_set_oos() */
    uint8_t oos_after;          /* emulated writes before the next unsyncs (SH_OOS_AFTER_WRITES) */
    unsigned noos;              /* out-of-sync records in use, all vCPUs */
    uint32_t oos_wl_epoch;      /* bumped when a writable leaf that may have set D goes
                                 * (changed, its shadow destroyed) while noos: its D is
                                 * lost to the resync's test (common.c oos_resync) */
    struct sh_oos oos[SH_MAX_VCPUS][SH_OOS_MAX];
    uint8_t oos_next[SH_MAX_VCPUS];   /* the next slot to evict (round robin) */
    struct shadow_vcpu *vcpu[SH_MAX_VCPUS];
    unsigned nvcpus;
    struct sh_gmap_slot gmap[SH_GMAP];   /* sh_gmap(): slot gfn % SH_GMAP */
    struct sh_counters c;
};

/*
 * Per-guest-mode dispatch (multi.c compiled per level, and phys.c).
 * translate(): walk va for `access` (PFEC_WRITE/USER/INSN); with set_ad set
 * A/D as the CPU would, and only if the frame is guest RAM (else SH_STOP with
 * nothing written).  Returns SH_FIXED with *gpa, SH_REFLECT with *out, or
 * SH_STOP.
 */
/* What an instruction fetch's walk read (translate_fetch, shadow_vcpu's fetch_*). */
struct sh_fetch_walk {
    uint64_t span;            /* ~(size of the leaf page - 1) */
    uint64_t tables[4];       /* gfns of the tables read, top to leaf, the leaf's repeated */
};

struct shadow_mode {
    const char *name;
    enum guest_paging paging;
    unsigned guest_levels;
    enum sh_result (*page_fault)(struct shadow_vcpu *v, gva_t va, uint32_t pfec,
                                 struct sh_fault *out);
    enum sh_result (*update_cr3)(struct shadow_vcpu *v, struct sh_fault *out);
    void (*invlpg)(struct shadow_vcpu *v, gva_t va);
    enum sh_result (*translate)(struct shadow_vcpu *v, gva_t va, uint32_t access,
                                bool set_ad, gpa_t *gpa, struct sh_fault *out);
    /* translate() of an instruction fetch, with A/D, also giving its leaf's
     * span and its tables (struct sh_fetch_walk; common.c guest_fetch); NULL:
     * the mode has no fetch translation to keep (paging off). */
    enum sh_result (*translate_fetch)(struct shadow_vcpu *v, gva_t va, uint32_t access,
                                      gpa_t *gpa, struct sh_fetch_walk *fw, struct sh_fault *out);
    void (*walk_info)(struct shadow_vcpu *v, gva_t va, struct shadow_walk_info *wi);
    /* Per shadow page of this mode's types: */
    void (*validate)(struct shadow_vcpu *v, uint32_t idx, unsigned off, unsigned len);
    void (*destroy)(struct shadow_domain *d, uint32_t idx);
    unsigned long (*audit)(struct shadow_domain *d, uint32_t idx, uint32_t *refs_seen);
};

extern const struct shadow_mode sh_mode_g2, sh_mode_g3, sh_mode_g4, sh_mode_phys;

/* Forget v's fetch translation (common.c guest_fetch, invariant F). */
static inline void sh_fetch_drop(struct shadow_vcpu *v)
{
    v->fetch_host = NULL;
}

/* Invariant F at a page-table write the shadow sees, to frame gfn: a fetch
 * translation walked through gfn goes (more than the architecture asks). */
static inline void sh_fetch_pt_write(struct shadow_vcpu *v, uint64_t gfn)
{
    if (v->fetch_tables[0] == gfn || v->fetch_tables[1] == gfn || v->fetch_tables[2] == gfn
        || v->fetch_tables[3] == gfn)
        sh_fetch_drop(v);
}

/* ---- pool.c: pool, hash, refcounts, pins, unshadowing ---- */
static inline mfn_t sh_idx_mfn(const struct shadow_domain *d, uint32_t idx)
{
    return _mfn(mfn_x(d->base) + idx);
}
/* Pool index of a shadow frame, or SH_NIL if mfn is not a live shadow. */
uint32_t sh_mfn_idx(const struct shadow_domain *d, uint64_t mfn);
/* Pool frame idx (< d->frames): the pool's mapping is one range, checked
 * frame by frame when the domain was made, and plat_map_mfn() pointers are
 * valid for the life of the run, so this is plat_map_mfn(sh_idx_mfn(d, idx))
 * without a call -- it runs several times per entry walked. */
static inline void *sh_map(const struct shadow_domain *d, uint32_t idx)
{
    return d->va + ((size_t)idx << PAGE_SHIFT);
}
/* Guest frame to pointer, NULL if the p2m refuses it or it has no memory. */
static inline void *sh_map_gfn(gfn_t g)
{
    mfn_t m = plat_gfn_to_mfn(g);
    return mfn_valid(m) ? plat_map_mfn(m) : NULL;
}
/*
 * sh_map_gfn(gfn) through the domain's direct-mapped cache of its non-NULL
 * answers (the guest tables a walk reads, the frames an emulated access
 * copies, each asked several times an exit).  A cached pointer is what
 * sh_map_gfn() would answer now: the p2m's answer for a frame is fixed
 * while a guest runs and plat_map_mfn() pointers are valid for the run
 * (platform.h).  A refused frame is not cached, so it is refused afresh.
 */
static inline void *sh_gmap(struct shadow_domain *d, uint64_t gfn)
{
    struct sh_gmap_slot *e = &d->gmap[gfn % SH_GMAP];
    if (e->gfn == gfn)
        return e->p;
    void *p = sh_map_gfn(_gfn(gfn));
    if (p) {
        e->gfn = gfn;
        e->p = p;
    }
    return p;
}

uint32_t sh_lookup(struct shadow_domain *d, uint64_t gfn, enum sh_type t);
/* Allocate a zeroed shadow (gfn, t), refs 0, hashed; sh_prealloc() first (I6).
 * Write-protects gfn everywhere if it becomes a page-table shadow.  Never
 * returns SH_NIL: with no room made (I6), or for a (gfn, t) that already has
 * a shadow (I5), it stops in SH_ASSERT. */
uint32_t sh_make(struct shadow_domain *d, uint64_t gfn, enum sh_type t);
/* No shadow leaf maps gfn writable any more, and no TLB entry either (pool.c). */
void sh_remove_write_access(struct shadow_domain *d, uint64_t gfn);
static inline void sh_get(struct shadow_domain *d, uint32_t idx) { d->pg[idx].refs++; }
void sh_put(struct shadow_domain *d, uint32_t idx);
void sh_pin(struct shadow_domain *d, uint32_t idx);    /* pin or move to LRU head */
void sh_unpin(struct shadow_domain *d, uint32_t idx);
/* 0 if n frames are free (unpinning / tearing down as needed), else -1.
 * The test that they are free already (every fault and CR3 load asks) is
 * inline; sh_prealloc_slow() makes room. */
int sh_prealloc_slow(struct shadow_domain *d, unsigned n);
static inline int sh_prealloc(struct shadow_domain *d, unsigned n)
{
    return d->nfree >= n ? 0 : sh_prealloc_slow(d, n);
}
/* Unpin every pinned shadow no vCPU runs on (their subtrees die by refcount). */
void sh_unpin_unused(struct shadow_domain *d);
/* Unpin everything not in use and empty the in-use top levels. */
void sh_teardown(struct shadow_domain *d);
/* The (gfn, type) hash's bucket of gfn (pool.c keeps the chains). */
static inline uint32_t sh_hash_gfn(const struct shadow_domain *d, uint64_t gfn)
{
    uint64_t h = gfn * 0x9e3779b97f4a7c15ULL;
    return (uint32_t)(h >> 32) & (d->nbuckets - 1);
}
/* Bitmask (1 << type) of the page-table types shadowing gfn. */
unsigned sh_pt_types(struct shadow_domain *d, uint64_t gfn);
/* sh_pt_types(d, gfn) != 0, inline (every leaf made writable asks it): the
 * chain of gfn's bucket holds every shadow of gfn (I5), and the first
 * page-table one answers. */
static inline bool sh_is_pt(struct shadow_domain *d, uint64_t gfn)
{
    for (uint32_t i = d->bucket[sh_hash_gfn(d, gfn)]; i != SH_NIL; i = d->pg[i].hnext)
        if (d->pg[i].gfn == gfn && sh_role[d->pg[i].type].pt)
            return true;
    return false;
}
/* Up to 8 shadow indices of gfn that are page-table shadows; returns count. */
unsigned sh_pt_shadows(struct shadow_domain *d, uint64_t gfn, uint32_t out[8]);
/* Replace vCPU top-level slot i by idx (SH_NIL to clear), moving the ref. */
void sh_set_top_move(struct shadow_vcpu *v, unsigned i, uint32_t idx);
/* sh_set_top_move() unless the slot already holds idx: a slot holds
 * INVALID_MFN or the frame of a live shadow it references (I3), so equal
 * frames are the same shadow, and then nothing moves (a CR3 switch leaves
 * most PAE slots as they were). */
static inline void sh_set_top(struct shadow_vcpu *v, unsigned i, uint32_t idx)
{
    uint64_t want = idx == SH_NIL ? INVALID_MFN_RAW : mfn_x(v->d->base) + idx;
    if (mfn_x(v->toplevel[i]) != want)
        sh_set_top_move(v, i, idx);
}
void sh_flush_all(struct shadow_domain *d);  /* tlb_flush on every vCPU */
const struct shadow_mode *sh_mode_of_type(enum sh_type t);
/* Make the page-table shadows of gfn that no vCPU runs on die (unlink, unpin);
 * true if gfn has no page-table shadow left. */
bool sh_unshadow(struct shadow_domain *d, uint64_t gfn);
/* The live shadow that entry e of shadow pi (a table of tables) links to, or SH_NIL. */
uint32_t sh_link_target(struct shadow_domain *d, uint32_t pi, unsigned e);
/* ---- rmap.c: reverse map of writable leaf entries ---- */
/* Types whose writable entries are kept in the reverse map (l1 of 2-level, PAE, long). */
static inline bool sh_rmapped(enum sh_type t)
{
    return sh_role[t].level == 1 && sh_role[t].guest_levels && !sh_role[t].fl1;
}
/* SH_STOP with its reason: the guest is stopped, nothing is reflected to it. */
static inline enum sh_result sh_stop(struct sh_fault *out, const char *why)
{
    out->vector = 0;
    out->pfec = 0;
    out->why = why;
    return SH_STOP;
}

/* Companion frames an rmapped shadow of type t needs (8 bytes per entry). */
static inline unsigned sh_rmap_frames(enum sh_type t)
{
    return sh_role[t].wide ? 1 : 2;
}
/* The reverse map's bucket of mfn (rmap.c). */
static inline uint32_t sh_rmap_hash(const struct shadow_domain *d, uint64_t mfn)
{
    uint64_t h = (mfn + 1) * 0x9e3779b97f4a7c15ULL;
    return (uint32_t)(h >> 32) & (d->nrbuckets - 1);
}
/* The { prev, next } node of slot s (its shadow's companion entry, rmap.c). */
static inline uint32_t *sh_rmap_node(const struct shadow_domain *d, uint32_t s)
{
    uint32_t si = sh_slot_idx(s), k = sh_slot_ent(s);
    uint32_t c = d->pg[si].rmap;
    if (k >= 512) {
        c = d->pg[c].rmap;
        k -= 512;
    }
    return (uint32_t *)sh_map(d, c) + 2 * k;
}
/* Link slot s, whose node is n (sh_rmap_node(d, s)), at the head of mfn's
 * chain: sh_rmap_add() when the caller has the node already (make_shadow's
 * prefetch finds a new l1's companions once for the table). */
static inline void sh_rmap_link(struct shadow_domain *d, uint32_t s, uint32_t *n, uint64_t mfn)
{
    uint32_t *b = &d->rbucket[sh_rmap_hash(d, mfn)];
    n[0] = 0;
    n[1] = *b;
    if (*b)
        sh_rmap_node(d, *b)[0] = s;
    *b = s;
}
/* Entry k of rmapped shadow si now maps mfn present + writable: link it. */
void sh_rmap_add(struct shadow_domain *d, uint32_t si, unsigned k, uint64_t mfn);
/* Entry k of si, which mapped mfn present + writable, no longer does: unlink it. */
void sh_rmap_del(struct shadow_domain *d, uint32_t si, unsigned k, uint64_t mfn);
/* Unlink every writable entry of rmapped shadow si (it is being destroyed). */
void sh_rmap_drop_shadow(struct shadow_domain *d, uint32_t si);
/* Clear RW in every shadow leaf mapping mfn (gfn's frame); returns how many. */
unsigned long sh_rmap_write_protect(struct shadow_domain *d, uint64_t gfn, uint64_t mfn);
/* Test and clear D in every writable shadow leaf mapping mfn (gfn's frame, fl1s too); true if one had D. */
bool sh_rmap_test_clear_dirty(struct shadow_domain *d, uint64_t gfn, uint64_t mfn);
/* Audit the reverse map against the l1 shadows, `writable` their present
 * writable entries (counted by the modes' audits); returns the error count. */
unsigned long sh_rmap_audit(struct shadow_domain *d, unsigned long writable);
/* shadow_audit()'s count of present writable entries of rmapped shadows,
 * added to by each mode's audit of one (audit.c, multi_audit.inc.c). */
extern unsigned long sh_audit_writable;

/* ---- common.c: page-table writes, out-of-sync L1s ---- */

/* The out-of-sync record of gfn, or NULL (a scan of at most SH_OOS_MAX per vCPU). */
struct sh_oos *sh_oos_find(struct shadow_domain *d, uint64_t gfn);
static inline bool sh_is_oos(struct shadow_domain *d, uint64_t gfn)
{
    return d->noos && sh_oos_find(d, gfn);
}
/* gfn is a page table whose shadows must stay write-protected (not out of sync). */
static inline bool sh_is_protected_pt(struct shadow_domain *d, uint64_t gfn)
{
    return sh_is_pt(d, gfn) && !sh_is_oos(d, gfn);
}
/* shadow_audit()'s filter of the gfns the hash holds page-table shadows of,
 * built from the buckets at the start of each audit (audit.c): a clear bit
 * proves sh_is_pt(gfn) false.  So this is sh_is_protected_pt() during an
 * audit, with no hash walk for the usual writable leaf of a data frame. */
#define SH_AUDIT_PTF_BITS 16
extern uint64_t sh_audit_ptf[(1u << SH_AUDIT_PTF_BITS) / 64];
static inline uint32_t sh_audit_ptf_bit(uint64_t gfn)
{
    return (uint32_t)((gfn * 0x9e3779b97f4a7c15ULL) >> (64 - SH_AUDIT_PTF_BITS));
}
static inline bool sh_audit_protected_pt(struct shadow_domain *d, uint64_t gfn)
{
    uint32_t b = sh_audit_ptf_bit(gfn);
    return ((sh_audit_ptf[b / 64] >> (b % 64)) & 1) && sh_is_protected_pt(d, gfn);
}
/* Page-table types that may go out of sync: the l1 shadows. */
#define SH_OOS_TYPES ((1u << SH_T_L1_32) | (1u << SH_T_L1_PAE) | (1u << SH_T_L1_64))
/* May the write fault of v to page table gfn leave it out of sync?  If the rule
 * says so (docs/shadow.md) it does: true, and gfn is out of sync on return. */
bool sh_oos_try_unsync(struct shadow_vcpu *v, uint64_t gfn);
/* Resync gfn if it is out of sync: its snapshot against the guest, every
 * shadow revalidated for the changed entries; it stays out of sync (and
 * writable), with the snapshot renewed.  why: SHT_RESYNC_* (trace). */
void sh_oos_resync_gfn(struct shadow_vcpu *v, uint64_t gfn, unsigned why);
/* Resync bytes [off, off + len) (one entry) of out-of-sync gfn: an INVLPG. */
void sh_oos_resync_entry(struct shadow_vcpu *v, uint64_t gfn, unsigned off, unsigned len);
/* Resync every out-of-sync L1 of every vCPU (a guest TLB flush: CR3 load,
 * CR0/CR4/EFER write); in_sync: also take them back in sync (a mode change). */
void sh_oos_resync_all(struct shadow_vcpu *v, bool in_sync);
/* Take gfn back in sync if it is out of sync: resync, drop the record,
 * write-protect the frame again (flushing if rights were removed). */
void sh_oos_take_in_sync(struct shadow_vcpu *v, uint64_t gfn);
/* The snapshot frame of record o, as raw entries. */
static inline void *sh_oos_snap(struct shadow_domain *d, const struct sh_oos *o)
{
    return sh_map(d, o->snap);
}
/* Audit the out-of-sync records (invariant O); returns the error count. */
unsigned long sh_oos_audit(struct shadow_domain *d);

/* Revalidate every shadow of gfn after the guest wrote [off, off+len) with
 * access rights pfec (PFEC_USER: a user-mode write); may unshadow gfn:
 * true if it did and gfn is no page table any more. */
bool sh_validate_pt_write(struct shadow_vcpu *v, uint64_t gfn, unsigned off, unsigned len,
                          uint32_t pfec);

/* ---- entry helpers for the per-mode walkers (multi.c) ---- */

/* Reserved address bits [63 or 51 .. maxphyaddr] of a PAE/long entry. */
static inline uint64_t sh_rsvd_addr(unsigned top_bit)
{
    unsigned m = plat_cpu_features()->maxphyaddr;
    if (m > top_bit)
        return 0;
    return ((top_bit == 63 ? ~0ULL : ((1ULL << (top_bit + 1)) - 1)) >> m) << m;
}

/* The four PAE PDPTEs pe[] as a CR3 load (or a switch into PAE paging) would
 * load them: false if one is present with a reserved bit set (low reserved
 * bits, address bits from maxphyaddr, bit 63), which the CPU refuses with
 * #GP(0).  The one rule for common.c and update_cr3 (multi_cr3.inc.c). */
static inline bool sh_pdptes_ok(const struct shadow_domain *d, const uint64_t pe[4])
{
    uint64_t bad = PDPTE_RSVD_LOW | d->rsvd_addr[0] | _PAGE_NX;   /* rsvd_addr[0]: sh_rsvd_addr(62) */
    for (unsigned i = 0; i < 4; i++)
        if ((pe[i] & _PAGE_PRESENT) && (pe[i] & bad))
            return false;
    return true;
}

/* Internal access flag of walk(): the access may be a fetch the error code
 * cannot name (no I/D reporting): leave protection keys to the hardware. */
#define SH_PFEC_NOPK (1u << 28)

/* PFEC_PK if the guest's rights register refuses `access` to a page with
 * protection key `key` (long mode), else 0: PKRU for a user page (CR4.PKE),
 * IA32_PKRS for a supervisor page (CR4.PKS).  AD refuses data accesses, WD
 * writes (supervisor writes only with CR0.WP = 1); fetches are never
 * refused, nor anything without that CR4 bit. */
static inline uint32_t sh_pk_fault(struct shadow_vcpu *v, unsigned key, uint32_t access, bool user_page)
{
    if ((access & (PFEC_INSN | SH_PFEC_NOPK))
        || !(v->guest_cr4 & (user_page ? X86_CR4_PKE : X86_CR4_PKS))
        || !(user_page ? v->d->feat->pku : v->d->feat->pks))
        return 0;
    uint32_t r = (user_page ? plat_guest_pkru(v) : plat_guest_pkrs(v)) >> (2 * key);
    bool wd = (r & 2) && (access & PFEC_WRITE) && ((access & PFEC_USER) || (v->guest_cr0 & X86_CR0_WP));
    return ((r & 1) || wd) ? PFEC_PK : 0;
}

#define SH_CAT3(a, b, c) a##b##c
#define SH_XCAT3(a, b, c) SH_CAT3(a, b, c)

#endif
