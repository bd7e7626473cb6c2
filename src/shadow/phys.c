/*
 * Physical mode: the shadow of a guest running with CR0.PG = 0.
 *
 * The hardware runs it with paging on (CR0.PG forced; "paged real mode" when
 * PE = 0 too) on a PAE identity map: the per-vCPU PDPT -> four phys_l2
 * shadows (one per GiB, key = first gfn covered) -> phys_l1 shadows (one per
 * 2 MiB, key = first gfn, made on the first fault and filled entirely).
 * PAE rather than 2-level because it is the format the focus mode uses and
 * lets one 2 MiB table map 512 frames.  Every frame the p2m gives is mapped
 * RW+U (no paging means no protection); frames it refuses (Umbra's) stay not
 * present and a guest touching them is stopped (I2).
 */
#include "private.h"

#define PHYS_LEAF (_PAGE_PRESENT | _PAGE_RW | _PAGE_USER | _PAGE_ACCESSED | _PAGE_DIRTY)
#define PHYS_LINK (_PAGE_PRESENT | _PAGE_RW | _PAGE_USER | _PAGE_ACCESSED)

static uint64_t phys_leaf(uint64_t gfn)
{
    mfn_t m = plat_gfn_to_mfn(_gfn(gfn));
    if (!mfn_valid(m))
        return 0;
    uint64_t f = PHYS_LEAF;
    if (plat_gfn_trap_writes(_gfn(gfn)))
        f &= ~(uint64_t)(_PAGE_RW | _PAGE_DIRTY);   /* its writes go to Umbra (platform.h) */
    return (mfn_x(m) << PAGE_SHIFT) | f;
}

static uint32_t phys_get(struct shadow_domain *d, uint64_t first, enum sh_type t)
{
    uint32_t i = sh_lookup(d, first, t);
    if (i != SH_NIL)
        return i;
    i = sh_make(d, first, t);          /* never SH_NIL: the caller preallocated (I6) */
    if (t == SH_T_PHYS_L1) {
        uint64_t *s = sh_map(d, i);
        for (unsigned k = 0; k < 512; k++)
            s[k] = phys_leaf(first + k);
        d->c.prefetch_entries += 512;
    }
    return i;
}

/* Make sure the four phys_l2 tops exist and are the vCPU's; CR3 itself is
 * unused.  Never fails: the caller preallocated (I6), so out is not written. */
static enum sh_result phys_update_cr3(struct shadow_vcpu *v, struct sh_fault *out)
{
    (void)out;
    struct shadow_domain *d = v->d;
    uint64_t *l3 = plat_map_mfn(v->pae_l3);
    for (unsigned i = 0; i < 4; i++) {
        uint32_t s = phys_get(d, (uint64_t)i << 18, SH_T_PHYS_L2);
        sh_set_top(v, i, s);
        l3[i] = (mfn_x(sh_idx_mfn(d, s)) << PAGE_SHIFT) | _PAGE_PRESENT;
    }
    v->hw_cr3 = mfn_x(v->pae_l3) << PAGE_SHIFT;
    return SH_FIXED;
}

static enum sh_result phys_page_fault(struct shadow_vcpu *v, gva_t va, uint32_t pfec,
                                      struct sh_fault *out)
{
    struct shadow_domain *d = v->d;
    va &= 0xffffffffULL;
    if (sh_prealloc(d, SH_PREALLOC))
        return sh_stop(out, "shadow pool exhausted");
    uint64_t want = phys_leaf(va >> PAGE_SHIFT);
    if (!want)
        return sh_stop(out, "guest (paging off) touched a frame that is not its own");
    if ((pfec & PFEC_WRITE) && !(want & _PAGE_RW)) {
        out->gfn = va >> PAGE_SHIFT;
        return SH_EMULATE;                  /* a trapped frame: the SVM layer emulates it */
    }
    uint32_t l2 = sh_mfn_idx(d, mfn_x(v->toplevel[va >> 30]));
    if (l2 == SH_NIL)
        return sh_stop(out, "no top-level shadow");
    uint64_t *se = &((uint64_t *)sh_map(d, l2))[(va >> 21) & 511];
    uint32_t l1;
    if (!(*se & _PAGE_PRESENT)) {
        l1 = phys_get(d, (va >> 21) << 9, SH_T_PHYS_L1);
        sh_get(d, l1);
        *se = (mfn_x(sh_idx_mfn(d, l1)) << PAGE_SHIFT) | PHYS_LINK;
    } else {
        l1 = sh_mfn_idx(d, (*se & PADDR_MASK_52) >> PAGE_SHIFT);
    }
    uint64_t *le = &((uint64_t *)sh_map(d, l1))[(va >> 12) & 511];
    if (*le == want && (pfec & PFEC_PRESENT)) {
        d->c.fault_spurious++;
        plat_flush_va(v, va);
    }
    *le = want;
    return SH_FIXED;
}

static void phys_invlpg(struct shadow_vcpu *v, gva_t va)
{
    plat_flush_va(v, va);   /* the identity map never changes */
}

static enum sh_result phys_translate(struct shadow_vcpu *v, gva_t va, uint32_t access,
                                     bool set_ad, gpa_t *gpa, struct sh_fault *out)
{
    (void)v; (void)access;
    *gpa = va & 0xffffffffULL;
    if (set_ad && !sh_map_gfn(_gfn(*gpa >> PAGE_SHIFT)))   /* as the walker's translate() */
        return sh_stop(out, "guest access to a frame that is not guest RAM");
    return SH_FIXED;
}

static void phys_walk_info(struct shadow_vcpu *v, gva_t va, struct shadow_walk_info *wi)
{
    struct shadow_domain *d = v->d;
    va &= 0xffffffffULL;
    wi->nlevels = 3;
    wi->g_ok = true;
    wi->gpa = va;
    wi->g_pfec = 0;
    memset(wi->lv, 0, sizeof(wi->lv));
    wi->lv[0] = (struct shadow_walk_level){ .level = 3, .s_valid = true, .s_mfn = v->pae_l3,
        .s_entry = ((uint64_t *)plat_map_mfn(v->pae_l3))[va >> 30] };
    uint32_t si = sh_mfn_idx(d, mfn_x(v->toplevel[va >> 30]));
    for (unsigned l = 2; si != SH_NIL && l >= 1; l--) {
        uint64_t e = ((uint64_t *)sh_map(d, si))[(va >> (12 + 9 * (l - 1))) & 511];
        wi->lv[3 - l] = (struct shadow_walk_level){ .level = l, .s_valid = true,
            .s_mfn = sh_idx_mfn(d, si), .s_entry = e };
        if (l == 1 || !(e & _PAGE_PRESENT))
            break;
        si = sh_mfn_idx(d, (e & PADDR_MASK_52) >> PAGE_SHIFT);
    }
}

static void phys_validate(struct shadow_vcpu *v, uint32_t si, unsigned off, unsigned len)
{
    (void)v; (void)si; (void)off; (void)len;   /* identity shadows shadow no guest table */
}

static void phys_destroy(struct shadow_domain *d, uint32_t si)
{
    if (d->pg[si].type != SH_T_PHYS_L2)
        return;
    uint64_t *s = sh_map(d, si);
    for (unsigned k = 0; k < 512; k++) {
        uint64_t e = s[k];
        if (!(e & _PAGE_PRESENT))
            continue;
        s[k] = 0;
        uint32_t ci = sh_mfn_idx(d, (e & PADDR_MASK_52) >> PAGE_SHIFT);
        if (ci != SH_NIL)
            sh_put(d, ci);
    }
}

static unsigned long phys_audit(struct shadow_domain *d, uint32_t si, uint32_t *refs_seen)
{
    struct sh_page *sp = &d->pg[si];
    uint64_t *s = sh_map(d, si);
    unsigned long errs = 0;
    if (sp->type != SH_T_PHYS_L1 && sp->type != SH_T_PHYS_L2)
        return 0;
    for (unsigned k = 0; k < 512; k++) {
        uint64_t e = s[k];
        if (!(e & _PAGE_PRESENT))
            continue;
        if (sp->type == SH_T_PHYS_L1) {
            if (e != phys_leaf(sp->gfn + k)) {
                errs++;
                plat_log("shadow: audit: phys_l1 gfn=%#llx [%u]: %#llx is not the identity",
                         (unsigned long long)sp->gfn, k, (unsigned long long)e);
            }
            continue;
        }
        uint32_t ci = sh_mfn_idx(d, (e & PADDR_MASK_52) >> PAGE_SHIFT);
        if (ci == SH_NIL || d->pg[ci].type != SH_T_PHYS_L1 || d->pg[ci].gfn != sp->gfn + k * 512) {
            errs++;
            plat_log("shadow: audit: phys_l2 gfn=%#llx [%u]: bad link %#llx",
                     (unsigned long long)sp->gfn, k, (unsigned long long)e);
            continue;
        }
        refs_seen[ci]++;
    }
    return errs;
}

const struct shadow_mode sh_mode_phys = {
    .name = "phys",
    .paging = GUEST_PAGING_OFF,
    .guest_levels = 0,
    .page_fault = phys_page_fault,
    .update_cr3 = phys_update_cr3,
    .invlpg = phys_invlpg,
    .translate = phys_translate,
    .walk_info = phys_walk_info,
    .validate = phys_validate,
    .destroy = phys_destroy,
    .audit = phys_audit,
};
