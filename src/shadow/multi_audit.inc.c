/*
 * multi_audit.inc.c -- a fragment of the multi.c template, not a header and
 * not compiled on its own: multi.c includes it once per guest level, after
 * its names block and the other fragments (so its functions get per-mode
 * names too).  The audit of one shadow page and the read-only walk for the
 * monitor.  Both only read.
 */

/* A vCPU whose control registers give the meaning of this mode's entries. */
static struct shadow_vcpu *mode_vcpu(struct shadow_domain *d)
{
    for (unsigned i = 0; i < d->nvcpus; i++)
        if (d->vcpu[i]->mode == &SH_XCAT3(sh_mode_g, GUEST_LEVELS, ))
            return d->vcpu[i];
    return d->nvcpus ? d->vcpu[0] : NULL;
}

#define AUDIT_ERR(fmt, ...)                                                         \
    do {                                                                            \
        errs++;                                                                     \
        plat_log("shadow: audit: %s gfn=%#llx smfn=%#llx [%u]: " fmt,               \
                 sh_role[sp->type].name, (unsigned long long)sp->gfn,               \
                 (unsigned long long)mfn_x(sh_idx_mfn(d, si)), k, ##__VA_ARGS__);   \
    } while (0)

/* Present and writable entries of shadow entries s (an l1's: the count
 * sh_rmap_audit() compares with the reverse map). */
static unsigned long audit_writable(const entry_raw_t *s)
{
    unsigned long w = 0;
    for (unsigned k = 0; k < NENT; k++)
        w += (s[k] & (P | RW)) == (P | RW);
    return w;
}

/*
 * Check every present entry of shadow si against the guest (I1, I2) and
 * count the child references it holds into refs_seen[] (for I3); for an l1
 * (the rmapped type of this mode) add its present writable entries to
 * sh_audit_writable.
 */
static unsigned long audit(struct shadow_domain *d, uint32_t si, uint32_t *refs_seen)
{
    struct sh_page *sp = &d->pg[si];
    const struct sh_role *ro = &sh_role[sp->type];
    struct shadow_vcpu *v = mode_vcpu(d);
    /* The audit reads every kind of shadow: the raw entry, then typed as
     * what this shadow holds (a leaf at level 1, a link above). */
    const entry_raw_t *s = sh_map(d, si);
    const entry_raw_t *g = ro->fl1 ? NULL : sh_map_gfn(_gfn(sp->gfn));
    /* O: an out-of-sync l1 is the propagation of its snapshot, not of the
     * guest table (which may have moved on until the next resync). */
    const struct sh_oos *o = ro->level == 1 && !ro->fl1 && d->noos ? sh_oos_find(d, sp->gfn) : NULL;
    if (o)
        g = sh_oos_snap(d, o);
    unsigned long errs = 0;
    unsigned k = 0;
    const bool rmapped = ro->level == 1 && !ro->fl1;      /* sh_rmapped(): this mode's l1 */

    if (!v || (!ro->fl1 && !g)) {
        if (rmapped)
            sh_audit_writable += audit_writable(s);
        if (v)
            AUDIT_ERR("shadowed guest table is not guest RAM");
        return errs;
    }
    unsigned long writable = 0;
    /* Per shadow, not per entry: rsvd() reads only the PS bit of the entry
     * (multi.c), so these two masks are its answer for every entry here. */
    const uint64_t rs[2] = { rsvd(v, ro->level, 0), rsvd(v, ro->level, PS) };
#if GUEST_LEVELS > 2
    const bool nx = nxe(v);
#endif
    for (k = 0; k < NENT; k++) {
        uint64_t se = s[k];
        if (!(se & P))
            continue;
        writable += (se & RW) != 0;
        sl1e_t le = sl1e_mk(se);
        slne_t ne = slne_mk(se);
        if (ro->fl1 && ro->level == 2) {       /* fl2: links to the fl1 of each 2 MiB */
            uint32_t ci = sh_mfn_idx(d, slne_frame(ne));
            if (ci == SH_NIL || d->pg[ci].type != FL1 || d->pg[ci].gfn != sp->gfn + k * NENT) {
                AUDIT_ERR("fl2 entry does not link the fl1 of gfn %#llx",
                          (unsigned long long)(sp->gfn + k * NENT));
                continue;
            }
            refs_seen[ci]++;
            continue;
        }
        if (ro->fl1) {
            mfn_t m = plat_gfn_to_mfn(_gfn(sp->gfn + k));
            if (!mfn_valid(m) || sl1e_frame(le) != mfn_x(m))
                AUDIT_ERR("fl1 entry maps %#llx, not p2m(gfn %#llx)",
                          (unsigned long long)sl1e_frame(le), (unsigned long long)(sp->gfn + k));
            if ((se & RW) && sh_audit_protected_pt(d, sp->gfn + k))
                AUDIT_ERR("fl1 entry maps a shadowed page table writable");
            continue;
        }
        uint64_t gr = g[k];                     /* the guest entry, raw: the checks of every level */
        if (!(gr & P) || !(gr & ACC) || (gr & rs[!!(gr & PS)])) {
            AUDIT_ERR("present, guest entry %#llx is not (P/A/reserved)", (unsigned long long)gr);
            continue;
        }
        if ((se & US) && !(gr & US))
            AUDIT_ERR("user beyond the guest");
        if ((se & RW) && !(gr & RW)
            && !(ro->level == 1 && !(gr & US) && !(v->guest_cr0 & X86_CR0_WP)))
            AUDIT_ERR("writable beyond the guest");
#if GUEST_LEVELS > 2
        if (nx && (gr & _PAGE_NX) && !(se & _PAGE_NX))
            AUDIT_ERR("executable beyond the guest");
#endif
        if (ro->level == 1) {
            gl1e_t ge = gl1e_mk(gr);
            mfn_t m = plat_gfn_to_mfn(_gfn(gl1e_frame(ge)));
            if (!mfn_valid(m) || sl1e_frame(le) != mfn_x(m))
                AUDIT_ERR("maps %#llx, guest says gfn %#llx", (unsigned long long)sl1e_frame(le),
                          (unsigned long long)gl1e_frame(ge));
            if (sl1e_has(le, RW) && !gl1e_has(ge, DIR))
                AUDIT_ERR("writable while guest D is clear");
            if (sl1e_has(le, RW) && sh_audit_protected_pt(d, gl1e_frame(ge)))
                AUDIT_ERR("maps a shadowed page table writable");
            continue;
        }
        glne_t ge = glne_mk(gr);
        uint32_t ci = sh_mfn_idx(d, slne_frame(ne));
        if (ci == SH_NIL) {
            AUDIT_ERR("links to %#llx, not a shadow", (unsigned long long)slne_frame(ne));
            continue;
        }
        refs_seen[ci]++;
        uint64_t cg;
        enum sh_type ct = child_of(v, ge, ro->level, &cg);
        if (d->pg[ci].type != ct || d->pg[ci].gfn != cg)
            AUDIT_ERR("links to %s gfn=%#llx, guest says %s gfn=%#llx",
                      sh_role[d->pg[ci].type].name, (unsigned long long)d->pg[ci].gfn,
                      sh_role[ct].name, (unsigned long long)cg);
        if (superpage(v, ro->level, ge) && slne_has(ne, RW) && !glne_has(ge, DIR))
            AUDIT_ERR("superpage writable while guest D is clear");
    }
    if (rmapped)
        sh_audit_writable += writable;
    return errs;
}
#undef AUDIT_ERR

/* shadow_walk_va for this mode: guest entries, then shadow entries, per level. */
static void walk_info(struct shadow_vcpu *v, gva_t va, struct shadow_walk_info *wi)
{
    struct shadow_domain *d = v->d;
    struct gwalk gw;
    struct sh_fault f;
#if GUEST_LEVELS < 4
    va &= 0xffffffffULL;
#endif
    memset(&gw, 0, sizeof(gw));
    gw.last = GUEST_LEVELS + 1;
    enum sh_result r = walk(v, va, SH_PFEC_AC, &gw, &f);
    wi->nlevels = GUEST_LEVELS;
    wi->g_ok = r == SH_FIXED;
    wi->gpa = wi->g_ok ? (gw.gfn << PAGE_SHIFT) | (va & (PAGE_SIZE - 1)) : 0;
    wi->g_pfec = r == SH_REFLECT ? f.pfec : 0;
    for (unsigned l = GUEST_LEVELS; l >= 1; l--) {
        struct shadow_walk_level *lv = &wi->lv[GUEST_LEVELS - l];
        memset(lv, 0, sizeof(*lv));
        lv->level = l;
        if (l >= gw.last) {
            lv->g_valid = true;
            lv->g_entry = gw_raw(&gw, l);
#if GUEST_LEVELS == 3
            if (l == 3)
                lv->g_addr = (v->guest_cr3 & 0xffffffe0ULL) + ((va >> 30) & 3) * 8;
            else
#endif
            lv->g_addr = (gw.t[l] << PAGE_SHIFT) + idx(va, l) * sizeof(entry_raw_t);
        }
    }
    /* shadow side */
#if GUEST_LEVELS == 3
    {
        struct shadow_walk_level *lv = &wi->lv[0];
        lv->s_valid = true;
        lv->s_mfn = v->pae_l3;
        lv->s_entry = ((uint64_t *)plat_map_mfn(v->pae_l3))[(va >> 30) & 3];
    }
#endif
    uint32_t si = top_shadow(v, va);
    for (unsigned l = TOPS; si != SH_NIL && l >= 1; l--) {
        struct shadow_walk_level *lv = &wi->lv[GUEST_LEVELS - l];
        lv->s_valid = true;
        lv->s_mfn = sh_idx_mfn(d, si);
        if (l == 1) {
            lv->s_entry = sl1e_val(((const sl1e_t *)sh_map(d, si))[idx(va, 1)]);
            break;
        }
        slne_t se = ((const slne_t *)sh_map(d, si))[idx(va, l)];
        lv->s_entry = slne_val(se);
        if (!slne_has(se, P))
            break;
        si = sh_mfn_idx(d, slne_frame(se));
    }
}
