/*
 * multi.c -- the guest-mode dependent half of the shadow MMU, written once
 * and compiled once per guest paging level (guest_2.c, guest_3.c,
 * guest_4.c: `#define GUEST_LEVELS N` + `#include "multi.c"`).  The names block
 * below gives every function a per-mode name (walk_g3, page_fault_g4, ...);
 * sh_mode_gN is the dispatch table the vCPU points at while in that mode.
 *
 * Shadow format = guest format: 2-level guests on 2-level shadows (32-bit
 * entries), PAE guests on PAE shadows (the four guest PDPTEs are cached at
 * CR3 load and mirrored in a per-vCPU shadow PDPT), long-mode guests on
 * 4-level shadows.  Guest superpages are splintered into fl1 shadows: a
 * shadow never uses PS, so every guest 4 KiB frame is checked one by one.
 */
#include "private.h"
#include "entry.h"

#ifndef GUEST_LEVELS
#error "multi.c is compiled through guest_2.c, guest_3.c or guest_4.c"
#endif

#define SH_NAME(n) SH_XCAT3(n, _g, GUEST_LEVELS)

/*
 * The names block: every function of the template (this file and
 * multi_audit.inc.c), one line each, gets its per-mode name here (walk ->
 * walk_g3, page_fault -> page_fault_g4, ...), so the definitions below are
 * written with plain names that grep and ctags find, and a backtrace or a
 * symbol table still tells the modes apart.  A new function of the template
 * gets its line here.  The names that are also members of struct
 * shadow_mode are undefined again just above the dispatch table at the end.
 */
#define idx                      SH_NAME(idx)
#define nxe                      SH_NAME(nxe)
#define superpage                SH_NAME(superpage)
#define rsvd                     SH_NAME(rsvd)
#define sp_base                  SH_NAME(sp_base)
#define fault                    SH_NAME(fault)
#define stop                     SH_NAME(stop)
#define walk                     SH_NAME(walk)
#define set_ad                   SH_NAME(set_ad)
#define translate                SH_NAME(translate)
#define mk_leaf                  SH_NAME(mk_leaf)
#define l1e_propagate_from_guest SH_NAME(l1e_propagate_from_guest)
#define set_l1e                  SH_NAME(set_l1e)
#define fl1e_propagate           SH_NAME(fl1e_propagate)
#define lne_propagate_from_guest SH_NAME(lne_propagate_from_guest)
#define install                  SH_NAME(install)
#define child_of                 SH_NAME(child_of)
#define fl2e_link                SH_NAME(fl2e_link)
#define get_shadow               SH_NAME(get_shadow)
#define top_shadow               SH_NAME(top_shadow)
#define get_and_create_l1e       SH_NAME(get_and_create_l1e)
#define set_toplevel_shadow      SH_NAME(set_toplevel_shadow)
#define wp0_leaf_ok              SH_NAME(wp0_leaf_ok)
#define page_fault               SH_NAME(page_fault)
#define invlpg                   SH_NAME(invlpg)
#define update_cr3               SH_NAME(update_cr3)
#define validate                 SH_NAME(validate)
#define destroy                  SH_NAME(destroy)
#define mode_vcpu                SH_NAME(mode_vcpu)
#define audit                    SH_NAME(audit)
#define walk_info                SH_NAME(walk_info)

#if GUEST_LEVELS == 2
typedef uint32_t entry_raw_t;    /* the width of every entry, guest and shadow */
#define NENT     1024
#define LSHIFT   10
#define GADDR    ((uint64_t)PTE32_ADDR_MASK)
#define TOPS     2           /* level of the shadow top (hw CR3 points at it) */
#define FL1      SH_T_FL1_32
static const uint8_t ltype[5] = { 0, SH_T_L1_32, SH_T_L2_32, 0, 0 };
#elif GUEST_LEVELS == 3
typedef uint64_t entry_raw_t;
#define NENT     512
#define LSHIFT   9
#define GADDR    PADDR_MASK_52
#define TOPS     2           /* the l2 shadows; the PDPT is per vCPU */
#define FL1      SH_T_FL1_PAE
static const uint8_t ltype[5] = { 0, SH_T_L1_PAE, SH_T_L2_PAE, 0, 0 };
#elif GUEST_LEVELS == 4
typedef uint64_t entry_raw_t;
#define NENT     512
#define LSHIFT   9
#define GADDR    PADDR_MASK_52
#define TOPS     4
#define FL1      SH_T_FL1_64
static const uint8_t ltype[5] = { 0, SH_T_L1_64, SH_T_L2_64, SH_T_L3_64, SH_T_L4_64 };
#else
#error "GUEST_LEVELS must be 2, 3 or 4"
#endif

/* The three kinds of entry (entry.h): guest, shadow leaf, shadow link. */
SH_ENTRY_TYPE(gpte_t, gpte, entry_raw_t, GADDR)
SH_ENTRY_TYPE(sl1e_t, sl1e, entry_raw_t, GADDR)
SH_ENTRY_TYPE(slne_t, slne, entry_raw_t, GADDR)

#define P   ((uint64_t)_PAGE_PRESENT)
#define RW  ((uint64_t)_PAGE_RW)
#define US  ((uint64_t)_PAGE_USER)
#define ACC ((uint64_t)_PAGE_ACCESSED)
#define DIR ((uint64_t)_PAGE_DIRTY)
#define PS  ((uint64_t)_PAGE_PSE)
#define CACHE ((uint64_t)(_PAGE_PWT | _PAGE_PCD))
/* Long mode: the protection key of a leaf (bits 62:59, used with CR4.PKE),
 * copied so the hardware checks PKRU itself. */
#define PKEY  (GUEST_LEVELS == 4 ? 0x7800000000000000ULL : 0)

static inline unsigned idx(gva_t va, unsigned l)
{
    return (unsigned)(va >> (PAGE_SHIFT + LSHIFT * (l - 1))) & (NENT - 1);
}

static inline bool nxe(const struct shadow_vcpu *v)
{
    return GUEST_LEVELS > 2 && (v->guest_efer & EFER_NXE) && plat_cpu_features()->nx;
}

/* Does a present entry at level l with PS set map a superpage (vs. being reserved/ignored)? */
static inline bool superpage(const struct shadow_vcpu *v, unsigned l, gpte_t e)
{
    if (!gpte_has(e, PS))
        return false;
#if GUEST_LEVELS == 2
    return l == 2 && (v->guest_cr4 & X86_CR4_PSE);
#else
    (void)v;
    return l == 2 || l == 3;   /* 1 GiB: only without reserved PS (rsvd() checks) */
#endif
}

/* Reserved bits of a present guest entry at level l (I1: such entries are never shadowed). */
static uint64_t rsvd(const struct shadow_vcpu *v, unsigned l, gpte_t e)
{
#if GUEST_LEVELS == 2
    const struct plat_cpu_features *f = plat_cpu_features();
    if (l == 2 && superpage(v, l, e)) {
        /* 4 MiB PDE: bits 20:13 carry PA 39:32 with PSE-36, bit 21 is reserved */
        unsigned hi = f->pse36 ? (f->maxphyaddr >= 40 ? 8 : f->maxphyaddr - 32) : 0;
        return (1ULL << 21) | ((0xffULL << 13) & ~(((1ULL << hi) - 1) << 13));
    }
    return 0;
#else
    uint64_t r = sh_rsvd_addr(GUEST_LEVELS == 3 ? 62 : 51);
    if (!nxe(v))
        r |= _PAGE_NX;
    if (l == 2 && gpte_has(e, PS))
        r |= 0xffULL << 13;                       /* 2 MiB: bits 20:13 */
#if GUEST_LEVELS == 4
    if (l == 3 && gpte_has(e, PS))
        r |= plat_cpu_features()->pdpe1gb ? 0x1ffffULL << 13 : _PAGE_PSE;   /* 1 GiB: bits 29:13 */
    if (l == 4)
        r |= _PAGE_PSE | _PAGE_GLOBAL;      /* AMD: PML4E bits 8:7 are MBZ */
#endif
    return r;
#endif
}

/* First 4 KiB guest frame of the superpage a leaf entry at level l maps. */
static inline uint64_t sp_base(gpte_t e, unsigned l)
{
#if GUEST_LEVELS == 2
    (void)l;
    uint64_t r = gpte_val(e);
    return ((r >> 22) << 10) | (((r >> 13) & 0xff) << 20);
#else
    uint64_t m = l == 2 ? 0x1fffffULL : 0x3fffffffULL;
    return (gpte_val(e) & GADDR & ~m) >> PAGE_SHIFT;
#endif
}

/*
 * Fault injection, for proving the tests notice a walker that sets A on an
 * access SMAP refuses: the mutant build (umbra-mutant-asmap.elf,
 * libshadow-asmap.a) sets A on every entry of such a walk before faulting.
 * Never on in umbra.elf.
 */
#ifndef SHADOW_MUTANT_A_BEFORE_SMAP
#define SHADOW_MUTANT_A_BEFORE_SMAP 0
#endif

/*
 * Fault injection, for proving the tests notice a shadow that gets the
 * guest's D bit wrong.  SHADOW_MUTANT_NO_DIRTY = kind (1..4), or -1: the kind
 * is read at run time from sh_mutant_dbit (the hosted libshadow_dbit.a; the
 * test binary defines the variable, test/unit/mutant-dbit.sh).  Kinds:
 *   1  a writable 4 KiB leaf is mapped writable before the guest's D is set
 *      (umbra-mutant-dbit.elf, test/e2e/mutant-dbit.sh);
 *   2  the link to a guest superpage's splinter likewise;
 *   3  the walker does not set D on the leaf of a write;
 *   4  the walker sets D on the leaf of a read.
 * 0 (umbra.elf, libshadow.a): no mutant, DBIT_MUTANT(k) is a constant 0.
 */
#ifndef SHADOW_MUTANT_NO_DIRTY
#define SHADOW_MUTANT_NO_DIRTY 0
#endif
#if SHADOW_MUTANT_NO_DIRTY < 0
extern unsigned sh_mutant_dbit;
#define DBIT_MUTANT(k) (sh_mutant_dbit == (k))
#else
#define DBIT_MUTANT(k) (SHADOW_MUTANT_NO_DIRTY == (k))
#endif

/* ---- the guest walker ------------------------------------------------------ */
/*
 * A PAE virtual address, as walk() takes it apart:
 *
 *   31 30 29        21 20        12 11          0
 *  +-----+------------+------------+-------------+
 *  | L3  |     L2     |     L1     |   offset    |
 *  +-----+------------+------------+-------------+
 *     |        |            |
 *     |        |            +-> PTE  in the PT   (512 x 8 bytes)  -> 4 KiB frame
 *     |        +--------------> PDE  in the PD   (512 x 8 bytes)  -> PT, or 2 MiB page (PS)
 *     +-----------------------> PDPTE, one of 4, cached at CR3 load -> PD
 *
 * Guest:  CR3 -> PDPT[4] (cached in v->guest_pdpte) -> PD -> PT -> frame
 * Shadow: hw CR3 -> v->pae_l3 (per vCPU, below 4 GiB) -> l2_pae shadow of the
 *         PD -> l1_pae shadow of the PT (or fl1_pae of the 2 MiB page) -> mfn
 */

struct gwalk {
    gva_t va;
    unsigned leaf;        /* level of the leaf entry (1, or 2/3 for a superpage) */
    unsigned last;        /* lowest level read (walk_info) */
    gpte_t e[5];          /* guest entries, e[top] .. e[leaf] */
    gpte_t *p[5];         /* where they live (NULL: the cached PDPTE) */
    uint64_t t[5];        /* gfn of the table holding e[l] */
    uint64_t gfn;         /* the 4 KiB frame va maps */
    bool rw, us, nx;      /* effective rights: AND, AND, OR over the levels */
};

static enum sh_result fault(struct shadow_vcpu *v, gva_t va, uint32_t pfec, struct sh_fault *out)
{
    pfec &= ~(SH_PFEC_AC | SH_PFEC_NOAC | SH_PFEC_DATA | SH_PFEC_NOPK);
    /* I/D is reported only where execute permission exists (PAE/long + NXE, or SMEP). */
    if (!nxe(v) && !(v->guest_cr4 & X86_CR4_SMEP))
        pfec &= ~PFEC_INSN;
    out->vector = X86_EXC_PF;
    out->pfec = pfec;
    out->cr2 = va;
    out->why = NULL;
    return SH_REFLECT;
}

static enum sh_result stop(struct sh_fault *out, const char *why)
{
    out->vector = 0;
    out->pfec = 0;
    out->why = why;
    return SH_STOP;
}

/*
 * Walk the guest tables for va as the CPU would for `access` (PFEC_WRITE /
 * USER / INSN bits).  Reads only; A/D are set by set_ad() once the whole walk
 * succeeded.  SH_FIXED: gw is complete.  SH_REFLECT: out holds the
 * architectural fault (P, W, U, RSVD, I/D).  SH_STOP: a guest table lies in a
 * frame the p2m refuses.  SMAP is judged only for accesses without
 * SH_PFEC_AC (EFLAGS.AC = 0); page_fault() passes SH_PFEC_AC unless the
 * caller said AC = 0 (SH_PFEC_NOAC): with AC unknown, the hardware, running
 * on shadows that copy U faithfully, judges SMAP with the real AC.
 * Protection keys (long mode): data accesses to user pages are judged
 * against plat_guest_pkru() (CR4.PKE), to supervisor pages against
 * plat_guest_pkrs() (CR4.PKS), with the leaf's key (bits 62:59); AD
 * forbids them, WD forbids writes (supervisor writes only with CR0.WP = 1);
 * a PK violation adds PFEC_PK to whatever else the access violates.
 */
static enum sh_result walk(struct shadow_vcpu *v, gva_t va, uint32_t access,
                           struct gwalk *gw, struct sh_fault *out)
{
    unsigned l;
    uint64_t t;
    bool n = nxe(v);

    gw->va = va;
    gw->rw = gw->us = true;
    gw->nx = false;
#if GUEST_LEVELS == 4
    if ((uint64_t)((int64_t)(va << 16) >> 16) != va) {
        out->vector = X86_EXC_GP;     /* non-canonical: #GP(0), never a #PF */
        out->pfec = 0;
        out->cr2 = 0;
        out->why = NULL;
        return SH_REFLECT;
    }
    t = (v->guest_cr3 & GADDR) >> PAGE_SHIFT;
    l = 4;
#elif GUEST_LEVELS == 3
    gpte_t pe = gpte_mk(v->guest_pdpte[(va >> 30) & 3]);
    gw->e[3] = pe;
    gw->p[3] = NULL;
    gw->t[3] = (v->guest_cr3 & PTE32_ADDR_MASK) >> PAGE_SHIFT;
    gw->last = 3;
    if (!gpte_has(pe, P))
        return fault(v, va, access, out);
    t = gpte_frame(pe);          /* reserved bits were refused at CR3 load */
    l = 2;
#else
    t = (v->guest_cr3 & GADDR) >> PAGE_SHIFT;
    l = 2;
#endif
    for (;; l--) {
        gpte_t *tab = sh_map_gfn(_gfn(t));
        if (!tab)
            return stop(out, "guest page table is not in guest RAM");
        gpte_t *ep = &tab[idx(va, l)];
        gpte_t e = gpte_read(ep);
        gw->e[l] = e;
        gw->p[l] = ep;
        gw->t[l] = t;
        gw->last = l;
        if (!gpte_has(e, P))
            return fault(v, va, access, out);
        if (gpte_has(e, rsvd(v, l, e)))
            return fault(v, va, access | PFEC_PRESENT | PFEC_RSVD, out);
        gw->rw &= gpte_has(e, RW);
        gw->us &= gpte_has(e, US);
#if GUEST_LEVELS > 2
        gw->nx |= n && gpte_has(e, _PAGE_NX);
#endif
        if (l == 1 || superpage(v, l, e)) {
            gw->leaf = l;
            break;
        }
        t = gpte_frame(e);
    }
    gw->gfn = l == 1 ? gpte_frame(gw->e[1])
            : sp_base(gw->e[l], l) + ((va >> PAGE_SHIFT) & ((1ULL << (LSHIFT * (l - 1))) - 1));

    bool bad, smap = false;
    uint32_t pk = 0;
    if (access & PFEC_USER) {
        bad = !gw->us || ((access & PFEC_WRITE) && !gw->rw);
    } else {
        smap = !(access & (PFEC_INSN | SH_PFEC_AC)) && gw->us && (v->guest_cr4 & X86_CR4_SMAP);
        bad = ((access & PFEC_WRITE) && !gw->rw && (v->guest_cr0 & X86_CR0_WP))
           || ((access & PFEC_INSN) && gw->us && (v->guest_cr4 & X86_CR4_SMEP)) || smap;
    }
    if ((access & PFEC_INSN) && gw->nx)
        bad = true;
#if GUEST_LEVELS == 4
    pk = sh_pk_fault(v, (unsigned)(gpte_val(gw->e[gw->leaf]) >> 59) & 15, access, gw->us);
#endif
    (void)n;
    (void)smap;
#if SHADOW_MUTANT_A_BEFORE_SMAP
    /* The mutant: A set on the walk before SMAP refuses it. */
    if (smap)
        for (unsigned k = GUEST_LEVELS; k >= gw->leaf; k--)
            if (gw->p[k])
                __atomic_or_fetch(&gw->p[k]->raw, (entry_raw_t)ACC, __ATOMIC_SEQ_CST);
#endif
    if (bad || pk)
        return fault(v, va, access | PFEC_PRESENT | pk, out);
    return SH_FIXED;
}

/*
 * Set A on every entry of a successful walk and D on the leaf of a write,
 * atomically (the guest may race on another vCPU).  false: an entry changed
 * under us, walk again.  A/D only grow the guest's grant, so shadows of the
 * touched tables stay within it (I1) without revalidation.
 */
static bool set_ad(struct shadow_domain *d, struct gwalk *gw, bool write)
{
    for (unsigned l = GUEST_LEVELS; l >= gw->leaf; l--) {
        if (!gw->p[l])
            continue;
        entry_raw_t old = gw->e[l].raw;
        entry_raw_t want = old | (entry_raw_t)ACC
            | ((l == gw->leaf && (write ? !DBIT_MUTANT(3) : DBIT_MUTANT(4))) ? (entry_raw_t)DIR : 0);
        if (want == old)
            continue;
        if (!__atomic_compare_exchange_n(&gw->p[l]->raw, &old, want, false,
                                         __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
            return false;
        gw->e[l] = gpte_mk(want);
        d->c.ad_set++;
    }
    return true;
}

static enum sh_result translate(struct shadow_vcpu *v, gva_t va, uint32_t access,
                                bool want_ad, gpa_t *gpa, struct sh_fault *out)
{
    struct gwalk gw;
#if GUEST_LEVELS < 4
    va &= 0xffffffffULL;
#endif
    for (unsigned tries = 0;; tries++) {
        enum sh_result r = walk(v, va, access, &gw, out);
        if (r != SH_FIXED)
            return r;
        if (!want_ad || set_ad(v->d, &gw, access & PFEC_WRITE) || tries > 16)
            break;
        v->d->c.ad_retries++;
    }
    *gpa = (gw.gfn << PAGE_SHIFT) | (va & (PAGE_SIZE - 1));
    return SH_FIXED;
}

/* ---- propagation: guest entry -> shadow entry (I1, I2) ---------------------- */

/* A leaf shadow entry for guest frame gfn with flags f, or not present if refused (I2). */
static sl1e_t mk_leaf(struct shadow_domain *d, uint64_t gfn, uint64_t f)
{
    mfn_t m = plat_gfn_to_mfn(_gfn(gfn));
    if (!mfn_valid(m))
        return sl1e_mk(0);
#if GUEST_LEVELS == 2
    if (mfn_x(m) >> 20)
        return sl1e_mk(0);  /* not nameable by a 32-bit entry */
#endif
    if ((f & _PAGE_RW) && (sh_is_pt(d, gfn) || plat_gfn_trap_writes(_gfn(gfn))))
        f &= ~(uint64_t)(_PAGE_RW | _PAGE_DIRTY);   /* write-protect page tables (and trapped frames) */
    return sl1e_mk((mfn_x(m) << PAGE_SHIFT) | f);
}

/* l1e_propagate_from_guest: present only if guest P, A, no reserved bit;
 * writable only if guest RW and D (so the first write faults and sets D). */
static sl1e_t l1e_propagate_from_guest(struct shadow_domain *d, struct shadow_vcpu *v,
                                       gpte_t ge)
{
    if (!gpte_has(ge, P) || !gpte_has(ge, ACC) || gpte_has(ge, rsvd(v, 1, ge)))
        return sl1e_mk(0);
    uint64_t f = _PAGE_PRESENT | _PAGE_ACCESSED
               | (gpte_val(ge) & (_PAGE_USER | _PAGE_PWT | _PAGE_PCD | _PAGE_PAT | _PAGE_GLOBAL | PKEY));
    if (gpte_has(ge, RW) && (DBIT_MUTANT(1) || gpte_has(ge, DIR)))
        f |= _PAGE_RW | _PAGE_DIRTY;
#if GUEST_LEVELS > 2
    if (nxe(v) && gpte_has(ge, _PAGE_NX))
        f |= _PAGE_NX;
#endif
    return mk_leaf(d, gpte_frame(ge), f);
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
    if (ow && !(nw && same))
        sh_rmap_del(d, si, k, sl1e_frame(old));
    sl1e_write(se, want);
    if (nw && !(ow && same))
        sh_rmap_add(d, si, k, sl1e_frame(want));
}

/* fl1 entry i of the superpage mapped by guest leaf ge: the rights (RW, U, NX,
 * D-tracking) live in the shadow entry linking the fl1, so aliases of one
 * superpage with different rights can share it. */
static sl1e_t fl1e_propagate(struct shadow_domain *d, gpte_t ge, uint64_t base, unsigned i)
{
    uint64_t f = _PAGE_PRESENT | _PAGE_ACCESSED | _PAGE_USER | _PAGE_RW | _PAGE_DIRTY
               | (gpte_val(ge) & (_PAGE_PWT | _PAGE_PCD | _PAGE_GLOBAL | PKEY))
               | (gpte_has(ge, _PAGE_PSE_PAT) ? _PAGE_PAT : 0);
    return mk_leaf(d, base + i, f);
}

/* lne_propagate_from_guest, levels N >= 2: the link to shadow `child`. */
static slne_t lne_propagate_from_guest(struct shadow_vcpu *v, gpte_t ge, unsigned l,
                                       mfn_t child)
{
    if (!gpte_has(ge, P) || !gpte_has(ge, ACC) || gpte_has(ge, rsvd(v, l, ge)))
        return slne_mk(0);
    uint64_t s = (mfn_x(child) << PAGE_SHIFT) | _PAGE_PRESENT | _PAGE_ACCESSED
               | (gpte_val(ge) & (_PAGE_RW | _PAGE_USER));
    if (superpage(v, l, ge) && !gpte_has(ge, DIR) && !DBIT_MUTANT(2))
        s &= ~(uint64_t)_PAGE_RW;         /* superpage D tracking */
#if GUEST_LEVELS > 2
    if (nxe(v) && gpte_has(ge, _PAGE_NX))
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
static inline enum sh_type child_of(const struct shadow_vcpu *v, gpte_t ge, unsigned l,
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
    *gfn = gpte_frame(ge);
    return (enum sh_type)ltype[l - 1];
}

/* The link from an fl2 to the fl1 of its 2 MiB chunk: rights live above. */
static inline slne_t fl2e_link(mfn_t child)
{
    return slne_mk((mfn_x(child) << PAGE_SHIFT) | _PAGE_PRESENT | _PAGE_RW | _PAGE_USER
                   | _PAGE_ACCESSED);
}

/*
 * Find or make the shadow (gfn, t).  A new l1 is prefetched from the guest
 * table (entries with A set), a new fl1 filled entirely: one fault maps a
 * whole table.  Needs the frames sh_prealloc() reserved (I6).
 */
static uint32_t get_shadow(struct shadow_domain *d, struct shadow_vcpu *v,
                           uint64_t gfn, enum sh_type t, gpte_t super)
{
    uint32_t i = sh_lookup(d, gfn, t);
    if (i != SH_NIL)
        return i;
    i = sh_make(d, gfn, t);
    if (i == SH_NIL)
        return SH_NIL;
    sl1e_t *s = sh_map(d, i);          /* read only for an l1 or fl1 */
    if (t == ltype[1]) {
        gpte_t *g = sh_map_gfn(_gfn(gfn));
        for (unsigned k = 0; g && k < NENT; k++) {
            sl1e_t e = l1e_propagate_from_guest(d, v, g[k]);
            if (sl1e_val(e)) {
                set_l1e(d, i, k, &s[k], e);
                d->c.prefetch_entries++;
            }
        }
    } else if (t == FL1) {
        for (unsigned k = 0; k < NENT; k++)
            s[k] = fl1e_propagate(d, super, gfn, k);
        d->c.prefetch_entries += NENT;
    }
    return i;
}

static inline uint32_t top_shadow(struct shadow_vcpu *v, gva_t va)
{
#if GUEST_LEVELS == 3
    return sh_mfn_idx(v->d, mfn_x(v->toplevel[(va >> 30) & 3]));
#else
    (void)va;
    return sh_mfn_idx(v->d, mfn_x(v->toplevel[0]));
#endif
}

/*
 * get_and_create_l1e (Xen's shadow_get_and_create_l1e): for the successful
 * walk gw, find or make the shadow at every level below the top shadow of
 * gw->va (get_shadow) and link each from its parent (install), top down, so
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
        uint32_t ci = get_shadow(d, v, cg, ct, gw->e[gw->leaf]);
        if (ci == SH_NIL) {
            *why = "shadow pool exhausted";
            return NULL;
        }
        *changed |= install(d, si, idx(va, l), se, l < gw->leaf ? fl2e_link(sh_idx_mfn(d, ci))
                    : lne_propagate_from_guest(v, gw->e[l], l, sh_idx_mfn(d, ci)));
        si = ci;
    }
    *l1 = si;
    return &((sl1e_t *)sh_map(d, si))[idx(va, 1)];
}

/*
 * set_toplevel_shadow (Xen's sh_set_toplevel_shadow): make the shadow
 * (gfn, t) the vCPU's top-level slot `slot` (0, or the PDPTE index of a PAE
 * guest): find it (hash hit) or make it (miss, prefetched by get_shadow),
 * pin it (pinned or moved to the LRU head) and move the slot's reference to
 * it (sh_set_top).  Invariant: on success the slot holds a pinned shadow of
 * exactly (gfn, t) with the slot's reference counted (I3); the shadow it
 * replaces stays pinned, so a switch back is a hash hit, and dies only when
 * sh_prealloc() unpins it.  Allocates only what the caller's
 * sh_prealloc(SH_PREALLOC) reserved (I6).  SH_NIL with *why: nothing changed.
 */
static uint32_t set_toplevel_shadow(struct shadow_vcpu *v, unsigned slot, uint64_t gfn,
                                    enum sh_type t, const char **why)
{
    struct shadow_domain *d = v->d;
    uint64_t tslot = GUEST_LEVELS == 3 ? slot : ~0ULL;   /* the trace names PAE slots only */
    uint32_t s = sh_lookup(d, gfn, t);
    if (s != SH_NIL) {
        d->c.cr3_hits++;
        SH_TRACE(v, SHT_CR3_HIT, ~0ULL, gfn, mfn_x(sh_idx_mfn(d, s)), tslot, ~0ULL);
    } else {
        d->c.cr3_misses++;
        SH_TRACE(v, SHT_CR3_MISS, ~0ULL, gfn, ~0ULL, tslot, ~0ULL);
        if (!sh_map_gfn(_gfn(gfn))) {
            *why = "guest CR3 is not in guest RAM";
            return SH_NIL;
        }
        s = get_shadow(d, v, gfn, t, gpte_mk(0));
        if (s == SH_NIL) {
            *why = "shadow pool exhausted";
            return SH_NIL;
        }
    }
    sh_pin(d, s);
    sh_set_top(v, slot, s);
    return s;
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
    if (gw->leaf != 1 || gpte_has(gw->e[1], US))
        return false;
    for (unsigned l = 2; l <= GUEST_LEVELS; l++)
        if (gw->p[l] && !gpte_has(gw->e[l], RW))
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

    if (sh_prealloc(d, SH_PREALLOC))
        return stop(out, "shadow pool exhausted");
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
        if (!mfn_valid(plat_gfn_to_mfn(_gfn(gw.gfn))))
            return stop(out, "guest maps a frame that is not the guest's (Umbra's or beyond MAXPHYADDR)");
        if (access & PFEC_WRITE) {
            out->gfn = gw.gfn;
            /* Allowed only by CR0.WP = 0: a read-only entry, or a PKRU
             * write-disable the hardware (WP = 1) applied to a supervisor write. */
            if ((!gw.rw && !wp0_leaf_ok(&gw)) || ((pfec & PFEC_PK) && !(access & PFEC_USER))) {
                d->c.fault_emulated_wp0++;
                return SH_EMULATE;
            }
            if (sh_is_pt(d, gw.gfn)) {
                d->c.fault_emulated_pt++;
                return SH_EMULATE;
            }
            if (plat_gfn_trap_writes(_gfn(gw.gfn)))
                return SH_EMULATE;           /* the SVM layer emulates it (platform.h) */
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
        return stop(out, why);
    sl1e_t want = gw.leaf == 1 ? l1e_propagate_from_guest(d, v, gw.e[1])
                               : fl1e_propagate(d, gw.e[gw.leaf], d->pg[si].gfn, idx(va, 1));
    if (!gw.rw && (access & PFEC_WRITE) && sl1e_has(want, P) && !sh_is_pt(d, gw.gfn)) {
        want = sl1e_mk(sl1e_val(want) | _PAGE_RW | _PAGE_DIRTY);   /* WP = 0, supervisor-only leaf */
        d->c.fault_wp0_mapped++;
    }
    if (!sl1e_has(want, P))
        return stop(out, GUEST_LEVELS == 2 ? "2-level guest maps a frame above 4 GiB (PSE-36): "
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
    if (gw.leaf == 1)
        set_l1e(d, si, idx(va, 1), se, want);
    else
        sl1e_write(se, want);                /* fl1: not in the reverse map */
    return SH_FIXED;
}

/*
 * INVLPG: drop exactly the shadow entry translating va (the l1 entry, or the
 * link to the fl1/fl2 of a guest superpage), then flush va from the TLB.
 * Invariant kept by install() and destroy(): a link to a splinter is never
 * changed or removed without a whole flush, so when no link is found here no
 * 4 KiB piece of a guest superpage around va can be cached.
 */
static void invlpg(struct shadow_vcpu *v, gva_t va)
{
    struct shadow_domain *d = v->d;
#if GUEST_LEVELS < 4
    va &= 0xffffffffULL;
#endif
    uint32_t si = top_shadow(v, va);
    for (unsigned l = TOPS; si != SH_NIL && l >= 1; l--) {
        if (l == 1) {             /* an l1: splinter links stop above */
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
    plat_flush_va(v, va);
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
    const char *pdpt = sh_map_gfn(_gfn(a >> PAGE_SHIFT));
    if (!pdpt)
        return stop(out, "guest PDPT is not in guest RAM");
    gpte_t pe[4];
    memcpy(pe, pdpt + (a & (PAGE_SIZE - 1)), sizeof(pe));
    uint64_t bad = PDPTE_RSVD_LOW | sh_rsvd_addr(62) | _PAGE_NX;
    for (unsigned i = 0; i < 4; i++)
        if (gpte_has(pe[i], P) && gpte_has(pe[i], bad)) {
            out->vector = X86_EXC_GP;
            out->pfec = 0;
            out->cr2 = 0;
            out->why = NULL;
            return SH_REFLECT;
        }
    _Static_assert(sizeof(pe) == sizeof(v->guest_pdpte), "the cached PDPTEs are guest entries");
    memcpy(v->guest_pdpte, pe, sizeof(pe));
    uint64_t *l3 = plat_map_mfn(v->pae_l3);
    const char *why;
    for (unsigned i = 0; i < 4; i++) {
        uint32_t s = SH_NIL;
        /* A PD outside guest RAM gets no shadow: its PDPT slot stays empty
         * and an access through it stops the guest in the walker. */
        if (gpte_has(pe[i], P) && sh_map_gfn(_gfn(gpte_frame(pe[i])))) {
            s = set_toplevel_shadow(v, i, gpte_frame(pe[i]), SH_T_L2_PAE, &why);
            if (s == SH_NIL)
                return stop(out, why);
        } else {
            sh_set_top(v, i, SH_NIL);
        }
        l3[i] = s == SH_NIL ? 0 : (mfn_x(sh_idx_mfn(d, s)) << PAGE_SHIFT) | _PAGE_PRESENT
                                  | (gpte_val(pe[i]) & (_PAGE_PWT | _PAGE_PCD));
    }
    v->hw_cr3 = mfn_x(v->pae_l3) << PAGE_SHIFT;
#else
    const char *why;
    uint32_t s = set_toplevel_shadow(v, 0, (v->guest_cr3 & GADDR) >> PAGE_SHIFT,
                                     (enum sh_type)ltype[TOPS], &why);
    if (s == SH_NIL)
        return stop(out, why);
    v->hw_cr3 = (mfn_x(sh_idx_mfn(d, s)) << PAGE_SHIFT) | (v->guest_cr3 & CACHE);
#endif
    v->tlb_flush = true;
    if (d->nvcpus == 1)
        d->tlb_dirty = false;
    return SH_FIXED;
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
    gpte_t *g = sh_map_gfn(_gfn(d->pg[si].gfn));
    void *s = sh_map(d, si);            /* sl1e_t[] at level 1, else slne_t[] */
    if (!g || !len)
        return;
    unsigned last = (off + len - 1) / sizeof(gpte_t);
    for (unsigned k = off / sizeof(gpte_t); k <= last && k < NENT; k++) {
        d->c.pt_entries_validated++;
        gpte_t ge = g[k];
        if (l == 1) {
            sl1e_t *le = &((sl1e_t *)s)[k];
            sl1e_t n = l1e_propagate_from_guest(d, v, ge);
            if (sl1e_has(*le, P) && sl1e_val(n) != sl1e_val(*le))
                d->tlb_dirty = true;
            set_l1e(d, si, k, le, n);
            continue;
        }
        slne_t want = slne_mk(0);
        if (gpte_has(ge, P) && gpte_has(ge, ACC) && !gpte_has(ge, rsvd(v, l, ge))) {
            uint64_t cg;
            enum sh_type ct = child_of(v, ge, l, &cg);
            uint32_t ci = sh_lookup(d, cg, ct);
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

#include "multi_audit.inc.c"

/* The designators below are member names: take the names block off them. */
#undef page_fault
#undef update_cr3
#undef invlpg
#undef translate
#undef walk_info
#undef validate
#undef destroy
#undef audit

const struct shadow_mode SH_XCAT3(sh_mode_g, GUEST_LEVELS, ) = {
    .name = GUEST_LEVELS == 2 ? "2level" : GUEST_LEVELS == 3 ? "pae" : "long",
    .paging = GUEST_LEVELS == 2 ? GUEST_PAGING_2LEVEL
            : GUEST_LEVELS == 3 ? GUEST_PAGING_PAE : GUEST_PAGING_LONG,
    .guest_levels = GUEST_LEVELS,
    .page_fault = SH_NAME(page_fault),
    .update_cr3 = SH_NAME(update_cr3),
    .invlpg = SH_NAME(invlpg),
    .translate = SH_NAME(translate),
    .walk_info = SH_NAME(walk_info),
    .validate = SH_NAME(validate),
    .destroy = SH_NAME(destroy),
    .audit = SH_NAME(audit),
};
