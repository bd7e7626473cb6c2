/*
 * multi_walk.inc.c -- a fragment of the multi.c template, not a header and not
 * compiled on its own: multi.c includes it once per guest level, after its
 * names block, the entry types and the helpers (so every function here
 * gets a per-mode name).  The guest walker: walk() reads the guest tables as
 * the CPU would, set_ad() sets A/D after a successful walk, translate()
 * serves guest memory accesses.  Reads guest tables; writes only A/D.
 */

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
    gl1e_t l1;            /* the guest PTE, if the walk read level 1 */
    glne_t e[5];          /* guest entries at levels >= 2, e[top] .. e[max(leaf, 2)] */
    entry_raw_t *p[5];    /* where each level's entry lives (NULL: the cached PDPTE) */
    uint64_t t[5];        /* gfn of the table holding level l's entry */
    uint64_t gfn;         /* the 4 KiB frame va maps */
    uint64_t all;         /* AND of the raw entries the walk read from tables (set_ad) */
    bool rw, us, nx;      /* effective rights: AND, AND, OR over the levels */
};

/* The raw entry of level l of a walk, and storing one (typed by its level). */
static inline uint64_t gw_raw(const struct gwalk *gw, unsigned l)
{
    return l == 1 ? gl1e_val(gw->l1) : glne_val(gw->e[l]);
}
static inline void gw_set(struct gwalk *gw, unsigned l, uint64_t raw)
{
    if (l == 1)
        gw->l1 = gl1e_mk(raw);
    else
        gw->e[l] = glne_mk(raw);
}

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
    /* The rights and the AND of the entries, in registers: stored once the
     * walk succeeded (no caller reads them after a fault). */
    uint64_t all = ~0ULL;
    bool rw = true, us = true, nx = false;

    gw->va = va;
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
    glne_t pe = glne_mk(v->guest_pdpte[(va >> 30) & 3]);
    gw->e[3] = pe;
    gw->p[3] = NULL;
    gw->t[3] = (v->guest_cr3 & PTE32_ADDR_MASK) >> PAGE_SHIFT;
    gw->last = 3;
    if (!glne_has(pe, P))
        return fault(v, va, access, out);
    t = glne_frame(pe);          /* reserved bits were refused at CR3 load */
    l = 2;
#else
    t = (v->guest_cr3 & GADDR) >> PAGE_SHIFT;
    l = 2;
#endif
    /* One loop for every level: the checks common to all levels are made
     * on the raw entry, which is then kept typed by its level (gw_set). */
    for (;; l--) {
        entry_raw_t *tab = sh_gmap(v->d, t);
        if (!tab)
            return sh_stop(out, "guest page table is not in guest RAM");
        entry_raw_t *ep = &tab[idx(va, l)];
        uint64_t e = *(volatile entry_raw_t *)ep;
        gw_set(gw, l, e);
        gw->p[l] = ep;
        gw->t[l] = t;
        gw->last = l;
        if (!(e & P))
            return fault(v, va, access, out);
        if (e & rsvd(v, l, e))
            return fault(v, va, access | PFEC_PRESENT | PFEC_RSVD, out);
        all &= e;
        rw &= !!(e & RW);
        us &= !!(e & US);
#if GUEST_LEVELS > 2
        nx |= n && (e & _PAGE_NX);
#endif
        if (l == 1 || superpage(v, l, gw->e[l])) {
            gw->leaf = l;
            break;
        }
        t = glne_frame(gw->e[l]);
    }
    gw->all = all;
    gw->rw = rw;
    gw->us = us;
    gw->nx = nx;
    gw->gfn = l == 1 ? gl1e_frame(gw->l1)
            : sp_base(gw->e[l], l) + ((va >> PAGE_SHIFT) & ((1ULL << (LSHIFT * (l - 1))) - 1));

    bool bad, smap = false;
    uint32_t pk = 0;
    if (access & PFEC_USER) {
        bad = !us || ((access & PFEC_WRITE) && !rw);
    } else {
        smap = !(access & (PFEC_INSN | SH_PFEC_AC)) && us && (v->guest_cr4 & X86_CR4_SMAP);
        bad = ((access & PFEC_WRITE) && !rw && (v->guest_cr0 & X86_CR0_WP))
           || ((access & PFEC_INSN) && us && (v->guest_cr4 & X86_CR4_SMEP)) || smap;
    }
    if ((access & PFEC_INSN) && nx)
        bad = true;
#if GUEST_LEVELS == 4
    pk = sh_pk_fault(v, (unsigned)(gw_raw(gw, gw->leaf) >> 59) & 15, access, us);
#endif
    (void)n;
    (void)smap;
#if SHADOW_MUTANT_A_BEFORE_SMAP
    /* The mutant: A set on the walk before SMAP refuses it. */
    if (smap)
        for (unsigned k = GUEST_LEVELS; k >= gw->leaf; k--)
            if (gw->p[k])
                __atomic_or_fetch(gw->p[k], (entry_raw_t)ACC, __ATOMIC_SEQ_CST);
#endif
    if (bad || pk)
        return fault(v, va, access | PFEC_PRESENT | pk, out);
    return SH_FIXED;
}

/*
 * Set A on every entry of a successful walk and D on the leaf of a write,
 * atomically (the guest may race on another vCPU).  false: an entry changed
 * under us, walk again.  A/D only grow the guest's grant, so shadows of the
 * touched tables stay within it (I1) without revalidation.  When every entry
 * the walk read has A (gw->all: the AND over exactly the entries the loop
 * below visits, those with gw->p set) and the leaf has D if D is wanted,
 * the loop would write nothing: return at once.
 */
static bool set_ad(struct shadow_domain *d, struct gwalk *gw, bool write)
{
    bool want_d = write ? !DBIT_MUTANT(3) : DBIT_MUTANT(4);
    if ((gw->all & ACC) && (!want_d || (gw_raw(gw, gw->leaf) & DIR)))
        return true;
    for (unsigned l = GUEST_LEVELS; l >= gw->leaf; l--) {
        if (!gw->p[l])
            continue;
        entry_raw_t old = (entry_raw_t)gw_raw(gw, l);
        entry_raw_t want = old | (entry_raw_t)ACC
            | ((l == gw->leaf && want_d) ? (entry_raw_t)DIR : 0);
        if (want == old)
            continue;
        if (!__atomic_compare_exchange_n(gw->p[l], &old, want, false,
                                         __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
            return false;
        gw_set(gw, l, want);
        d->c.ad_set++;
    }
    return true;
}

/* translate(), with the walk in *gwp (complete on SH_FIXED). */
static inline enum sh_result translate_leaf(struct shadow_vcpu *v, gva_t va, uint32_t access,
                                            bool want_ad, gpa_t *gpa, struct gwalk *gwp,
                                            struct sh_fault *out)
{
#define gw (*gwp)
#if GUEST_LEVELS < 4
    va &= 0xffffffffULL;
#endif
    for (unsigned tries = 0;; tries++) {
        enum sh_result r = walk(v, va, access, &gw, out);
        if (r != SH_FIXED)
            return r;
        /* A/D only for an access that can complete (its frame is guest RAM):
         * a refused access leaves the guest's tables as they were, so a
         * caller may walk once with A/D (guest_access). */
        if (want_ad && !sh_gmap(v->d, gw.gfn))
            return sh_stop(out, "guest access to a frame that is not guest RAM");
        if (!want_ad || set_ad(v->d, &gw, access & PFEC_WRITE) || tries > 16)
            break;
        v->d->c.ad_retries++;
    }
    *gpa = (gw.gfn << PAGE_SHIFT) | (va & (PAGE_SIZE - 1));
    return SH_FIXED;
#undef gw
}

static enum sh_result translate(struct shadow_vcpu *v, gva_t va, uint32_t access,
                                bool want_ad, gpa_t *gpa, struct sh_fault *out)
{
    struct gwalk gw;
    return translate_leaf(v, va, access, want_ad, gpa, &gw, out);
}

/* An instruction fetch's translate() with A/D, the linear span of its leaf
 * (a superpage's translation is one TLB entry, which an INVLPG of any
 * address in it drops) and the frames of the tables it read, top to leaf,
 * the leaf's repeated to fill four (common.c guest_fetch, invariant F). */
static enum sh_result translate_fetch(struct shadow_vcpu *v, gva_t va, uint32_t access,
                                      gpa_t *gpa, struct sh_fetch_walk *fw, struct sh_fault *out)
{
    struct gwalk gw;
    enum sh_result r = translate_leaf(v, va, access, true, gpa, &gw, out);
    if (r != SH_FIXED)
        return r;
    fw->span = ~((1ULL << (PAGE_SHIFT + LSHIFT * (gw.leaf - 1))) - 1);
    for (unsigned i = 0, l = GUEST_LEVELS; i < 4; i++, l -= l > gw.leaf)
        fw->tables[i] = gw.t[l];
    return SH_FIXED;
}

