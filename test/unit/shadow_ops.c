/*
 * Operations of the random guest (accesses, page-table writes, INVLPG, CR3
 * loads, mode changes) and the runners of test_shadow_random.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <umbra/x86.h>
#include <umbra/shadow.h>
#include "sim_platform.h"
#include "shadow_world.h"


/* ---- operations ------------------------------------------------------------ */

static gva_t pick_va(struct world *w)
{
    gva_t va = w->sample[rn(w, w->nsample)];
    return va + (rn(w, PAGE_SIZE / 8) * 8);
}

/*
 * A plausible new value for the page-table entry at guest-physical epa.
 * Besides flips and repoints, the odd shapes a guest may build on purpose:
 * the entry's own table (a self-map at that level: a PDPTE pointing at the
 * PDPT is "a PDPT that maps itself"), or the current address space's root
 * (the top table, or the PAE PDPT's frame, reached from any level).
 */
static uint64_t mutate_entry(struct world *w, uint64_t e, uint64_t epa)
{
    static const uint64_t flip[] = {
        _PAGE_PRESENT, _PAGE_RW, _PAGE_USER, _PAGE_ACCESSED, _PAGE_DIRTY, _PAGE_PSE,
        _PAGE_GLOBAL, _PAGE_NX, _PAGE_RW | _PAGE_USER, _PAGE_ACCESSED | _PAGE_DIRTY,
    };
    unsigned r = rn(w, 100);
    if (r < 8) {           /* self-map, or the root, with P only (a valid PDPTE) or the old flags */
        uint64_t t = (r < 5 ? epa : w->as[w->cur].root) >> PAGE_SHIFT;
        uint64_t low = pct(w, 50) ? _PAGE_PRESENT : (e & 0xfffULL & ~_PAGE_PSE) | _PAGE_PRESENT;
        e = low | (t << PAGE_SHIFT);
        oplog(w, "  (shape: %s)", r < 5 ? "self-map" : "root alias");
        if (r < 5)
            w->st->self_maps++;
        else
            w->st->root_aliases++;
    } else if (r < 55) {
        e ^= flip[rn(w, ARRAY_SIZE(flip))];
    } else if (r < 70) {   /* repoint at another table of this world */
        uint64_t t = w->phase_first + rn(w, w->alloc.next - w->phase_first);
        e = (e & 0xfffULL & ~_PAGE_PSE) | (t << PAGE_SHIFT) | _PAGE_PRESENT;
    } else if (r < 82) {   /* repoint at a data frame */
        e = (e & (0xfffULL | _PAGE_NX)) | (rnd_data_frame(w) << PAGE_SHIFT);
    } else if (r < 90) {
        e = 0;
    } else if (r < 93) {
        e |= rnd_rsvd_bit(w, e & _PAGE_PSE);
    } else {
        e |= _PAGE_PRESENT | _PAGE_ACCESSED;
    }
    if (w->mode == GUEST_PAGING_2LEVEL)
        e &= 0xffffffffULL;
    return e;
}

/*
 * Can the guest walk of va read the entry at epa (compared as walkers_of
 * does, by its 8-byte word)?  false proves it cannot: at every level the
 * walk reads the entry at the table's base + va's index there times the entry
 * size, and the bases are page-aligned (CR3 and every table link; PAE's
 * PDPTEs, from a 32-byte-aligned CR3, are the one exception and are
 * answered true), so the index's offset in the page must equal epa's.
 */
static bool may_read(enum guest_paging mode, gva_t va, uint64_t epa)
{
    unsigned levels = mode == GUEST_PAGING_LONG ? 4 : mode == GUEST_PAGING_PAE ? 3
                    : mode == GUEST_PAGING_2LEVEL ? 2 : 0;
    uint64_t want = epa & 0xff8;
    for (unsigned l = 1; l <= levels; l++) {
        uint64_t off;
        if (mode == GUEST_PAGING_2LEVEL)
            off = ((va >> (12 + 10 * (l - 1))) & 1023) * 4;
        else if (mode == GUEST_PAGING_PAE && l == 3)
            return true;
        else
            off = ((va >> (12 + 9 * (l - 1))) & 511) * 8;
        if ((off & 0xff8) == want)
            return true;
    }
    return false;
}

/* The sample VAs of the current address space whose guest walk reads entry
 * epa (only those may_read() allows are walked). */
static int walkers_of(struct world *w, uint64_t epa, gva_t *out, int max)
{
    int n = 0;
    enum guest_paging mode = ref_mode(w->v.guest_cr0, w->v.guest_cr4, w->v.guest_efer);
    for (int i = 0; i < w->nsample && n < max; i++) {
        struct ref_result g;
        if (!may_read(mode, w->sample[i], epa)) {
            if (world_verify) {          /* the proof, checked: the walk does not read epa */
                ref_guest_walk(&w->v, w->sample[i], 0, false, REF_NO_SIDE_EFFECTS, &g);
                for (int l = 1; l <= g.levels; l++)
                    if (g.entry_pa[l] && (g.entry_pa[l] & ~7ULL) == (epa & ~7ULL))
                        wfail(w, "verify: may_read(%#llx, %#llx) is false but the walk reads it",
                              (unsigned long long)w->sample[i], (unsigned long long)epa);
            }
            continue;
        }
        ref_guest_walk(&w->v, w->sample[i], 0, false, REF_NO_SIDE_EFFECTS, &g);
        for (int l = 1; l <= g.levels; l++)
            if (g.entry_pa[l] && (g.entry_pa[l] & ~7ULL) == (epa & ~7ULL) && l >= g.leaf_level) {
                out[n++] = w->sample[i];
                break;
            }
    }
    return n;
}

static void op_cr3(struct world *w, int j, const char *why)
{
    struct sh_fault f = { 0 };
    uint64_t old = w->v.guest_cr3, oldp[4], want[4];
    memcpy(oldp, w->v.guest_pdpte, sizeof(oldp));
    bool pae = ref_mode(w->v.guest_cr0, w->v.guest_cr4, w->v.guest_efer) == GUEST_PAGING_PAE;
    bool good = pae ? ref_load_pdptes(w->as[j].cr3, want) : true;
    w->v.guest_cr3 = w->as[j].cr3;
    enum sh_result r = shadow_update_cr3(&w->v, &f);
    oplog(w, "mov cr3=%#llx (as %d, %s) -> %d", (unsigned long long)w->as[j].cr3, j, why, r);
    w->st->cr3_loads++;
    if (!good) {
        if (r != SH_REFLECT || f.vector != X86_EXC_GP || f.pfec != 0)
            wfail(w, "cr3 load over a bad PDPTE: got result %d vector %u, want #GP(0)", r, f.vector);
        if (memcmp(oldp, w->v.guest_pdpte, sizeof(oldp)))
            wfail(w, "cr3 load that raised #GP changed the cached PDPTEs");
        w->v.guest_cr3 = old;
        w->st->cr3_gp++;
        return;
    }
    if (r != SH_FIXED)
        wfail(w, "cr3 load returned %d (vector %u, why %s)", r, f.vector, f.why ? f.why : "-");
    /* With paging off CR3 translates nothing: no flush is needed there. */
    if (w->v.guest_cr0 & X86_CR0_PG) {
        if (!w->v.tlb_flush)
            wfail(w, "cr3 load did not request a TLB flush (T3)");
        w->guest_epoch++;
    }
    if (pae && memcmp(want, w->v.guest_pdpte, sizeof(want)))
        wfail(w, "cr3 load cached PDPTEs %#llx %#llx %#llx %#llx, want %#llx %#llx %#llx %#llx",
             (unsigned long long)w->v.guest_pdpte[0], (unsigned long long)w->v.guest_pdpte[1],
             (unsigned long long)w->v.guest_pdpte[2], (unsigned long long)w->v.guest_pdpte[3],
             (unsigned long long)want[0], (unsigned long long)want[1],
             (unsigned long long)want[2], (unsigned long long)want[3]);
    w->cur = j;
}

/* Write a guest page-table entry the way a guest kernel does. */
static void op_pt_write(struct world *w)
{
    enum guest_paging m = w->mode;
    unsigned es = gpt_entry_size(m);
    uint64_t epa = 0;
    for (int t = 0; t < 8 && !epa; t++) {
        if (w->last_pt && pct(w, 30)) {
            /* Locality: another entry of the table written last (fills the TLB too). */
            epa = (w->last_pt & PAGE_MASK) + rn(w, PAGE_SIZE / es) * es;
        } else if (pct(w, 70)) {
            int lvl = 1 + rn(w, gpt_levels(m));
            epa = gpt_entry_addr(&w->as[w->cur], w->sample[rn(w, w->nsample)], lvl);
        } else {
            uint64_t fr = w->phase_first + rn(w, w->alloc.next - w->phase_first);
            epa = (fr << PAGE_SHIFT) + rn(w, PAGE_SIZE / es) * es;
        }
        if (epa >= (4u << 20))
            epa = 0;   /* not in a table the direct map covers */
        if (epa && ((epa & PAGE_MASK) == w->dm_pt[0] || (epa & PAGE_MASK) == w->dm_pt[1]) &&
            pct(w, 90))
            epa = 0;
    }
    if (!epa)
        return;
    w->last_pt = epa;
    uint64_t old = gpt_read(m, epa), val = mutate_entry(w, old, epa);
    gva_t before[16], after[16];
    int nb = walkers_of(w, epa, before, 16);
    gva_t va = w->dm_base + epa;
    w->st->pt_writes++;
    oplog(w, "pt write gpa %#llx: %#llx -> %#llx", (unsigned long long)epa,
          (unsigned long long)old, (unsigned long long)val);
    unsigned how = rn(w, 100);
    if (how < 40) {
        do_access(w, va, PFEC_WRITE, false, &val, es, "pte store");
    } else if (how < 55 && es == 8) {
        uint32_t lo = val, hi = val >> 32;   /* a PAE set_pte: low half, then high half */
        do_access(w, va, PFEC_WRITE, false, &lo, 4, "pte store lo");
        do_access(w, va + 4, PFEC_WRITE, false, &hi, 4, "pte store hi");
    } else if (how < 80) {
        struct ref_result g;
        ref_guest_walk(&w->v, va, PFEC_WRITE, false, REF_NO_SIDE_EFFECTS, &g);
        /* The entry written is on va's own walk: where the write lands, which
         * is not epa when an alias made the direct map's va map another frame
         * (the fuzz target found a two-instruction write whose first half
         * moved the walk of its second, and blamed the shadow). */
        uint64_t tgt = g.ok ? g.pa : epa;
        bool own = false;
        for (int l = 1; l <= g.levels; l++)
            own |= g.entry_pa[l] && (g.entry_pa[l] & ~7ULL) == (tgt & ~7ULL);
        emul_pt_write(w, va, old, val, es, own, &g);
    } else {
        struct ref_result g;
        struct sh_fault f = { 0 };
        char b1[128];
        ref_guest_walk(&w->v, va, PFEC_WRITE, false, REF_NO_SIDE_EFFECTS, &g);
        stale_note_write(w, va, es, PFEC_WRITE);
        enum sh_result r = shadow_write_guest(&w->v, va, &val, es, PFEC_WRITE, &f);
        oplog(w, "  shadow_write_guest -> %d", r);
        if (g.table_unbacked) {
            /* A guest table outside RAM: bare hardware would read MMIO; Umbra may stop. */
        } else if (r == SH_STOP && g.ok && !plat_gfn_is_ram(_gfn(g.pa >> PAGE_SHIFT)) &&
                   tolerate(w, GAP_EMUL_MMIO)) {
        } else if (g.ok && r != SH_FIXED)
            wfail(w, "shadow_write_guest at %#llx returned %d (pfec %#x, %s), the guest allows it",
                 (unsigned long long)va, r, f.pfec, f.why ? f.why : "-");
        else if (!g.ok && (r != SH_REFLECT || f.vector != g.vector || f.pfec != g.pfec ||
                           f.cr2 != va))
            wfail(w, "shadow_write_guest at %#llx: got %d vector %u pfec %#x cr2 %#llx, want "
                  "vector %u pfec %#x [%s]", (unsigned long long)va, r, f.vector, f.pfec,
                  (unsigned long long)f.cr2, g.vector, g.pfec, fmt_walk(&g, b1));
        else if (g.ok && gpt_read(m, g.pa) != val)
            wfail(w, "shadow_write_guest at %#llx: gpa %#llx reads %#llx, want %#llx",
                 (unsigned long long)va, (unsigned long long)g.pa,
                 (unsigned long long)gpt_read(m, g.pa),
                 (unsigned long long)val);
    }
    int na = walkers_of(w, epa, after, 16);
    for (int i = 0; i < nb; i++)
        check_va(w, before[i], "after pt write");
    for (int i = 0; i < na; i++)
        check_va(w, after[i], "after pt write");
    /* The guest's TLB maintenance: usually INVLPG, sometimes a CR3 reload, sometimes nothing. */
    unsigned r = rn(w, 100);
    if (r < 60) {
        for (int i = 0; i < nb; i++) {
            shadow_invlpg(&w->v, before[i]);
            stale_invlpg(w, before[i]);
            tlb_check_guest_invlpg(w, before[i]);
        }
        for (int i = 0; i < na; i++) {
            shadow_invlpg(&w->v, after[i]);
            stale_invlpg(w, after[i]);
            tlb_check_guest_invlpg(w, after[i]);
        }
        oplog(w, "  invlpg x%d", nb + na);
        /* Flushed: no old translation of these may be left (S1'). */
        for (int i = 0; i < nb; i++)
            check_va(w, before[i], "after pt write + invlpg");
        for (int i = 0; i < na; i++)
            check_va(w, after[i], "after pt write + invlpg");
    } else if (r < 80) {
        op_cr3(w, w->cur, "flush");
    }
}

static void op_mode_bits(struct world *w)
{
    const struct plat_cpu_features *f = plat_cpu_features();
    uint64_t *reg = &w->v.guest_cr0, bit = X86_CR0_WP;
    switch (rn(w, 6)) {
    case 0: break;
    case 1: if (w->mode == GUEST_PAGING_2LEVEL) reg = &w->v.guest_cr4, bit = X86_CR4_PSE; break;
    case 2: if (f->smep) reg = &w->v.guest_cr4, bit = X86_CR4_SMEP; break;
    case 3: if (f->smap) reg = &w->v.guest_cr4, bit = X86_CR4_SMAP; break;
    case 4: if (f->pge) reg = &w->v.guest_cr4, bit = X86_CR4_PGE; break;
    case 5: if (f->nx) reg = &w->v.guest_efer, bit = EFER_NXE; break;
    }
    if (w->mode == GUEST_PAGING_OFF)
        reg = &w->v.guest_cr0, bit = X86_CR0_PE;
    uint64_t oldp[4];
    memcpy(oldp, w->v.guest_pdpte, sizeof(oldp));
    *reg ^= bit;
    int r = shadow_update_paging_mode(&w->v);
    /* Changes the architecture makes flush the TLB (Intel SDM 4.10.4.1);
     * a change refused with #GP (r == 1) changed nothing. */
    if (r == 0 && ((reg == &w->v.guest_cr0 && bit != X86_CR0_WP) ||
                   (reg == &w->v.guest_cr4 && bit != X86_CR4_SMAP)))
        w->guest_epoch++;
    oplog(w, "toggle %s bit %#llx -> %d", reg == &w->v.guest_cr0 ? "cr0" : reg == &w->v.guest_cr4 ?
          "cr4" : "efer", (unsigned long long)bit, r);
    w->st->mode_switches++;
    uint64_t mem[4];
    bool pae = w->mode == GUEST_PAGING_PAE;
    bool good = pae ? ref_load_pdptes(w->v.guest_cr3, mem) : true;
    if (r == 1 && !good) {
        w->st->mode_gp++;
        *reg ^= bit;
        if ((r = shadow_update_paging_mode(&w->v)) != 0)
            wfail(w, "restoring the mode after #GP returned %d", r);
        return;
    }
    if (r != 0)
        wfail(w, "shadow_update_paging_mode returned %d", r);
    if (pae && memcmp(oldp, w->v.guest_pdpte, sizeof(oldp)) &&
        (!good || memcmp(mem, w->v.guest_pdpte, sizeof(mem))))
        wfail(w, "mode change left PDPTEs that are neither the old ones nor memory's");
}

static void one_step(struct world *w)
{
    unsigned r = rn(w, 100);
    if (w->mode == GUEST_PAGING_OFF && r >= 60 && r < 90)
        r = 0;
    if (r < 60) {
        gva_t va = pick_va(w);
        uint32_t acc = 0;
        bool ac = false;
        /* Half the time prefer an access the guest allows (more shadow fills). */
        for (int t = 0, want_ok = pct(w, 50); t < 4; t++) {
            struct ref_result gk;
            acc = 0;
            if (pct(w, 40)) acc |= PFEC_WRITE;
            else if (pct(w, 25)) acc |= PFEC_INSN;
            if (pct(w, 50)) acc |= PFEC_USER;
            ac = (w->v.guest_cr4 & X86_CR4_SMAP) && pct(w, 50);
            if (!want_ok || ref_guest_walk(&w->v, va, acc, ac, REF_NO_SIDE_EFFECTS, &gk))
                break;
        }
        uint8_t data[8];
        unsigned len = 1u << rn(w, 4);
        uint64_t v64 = rnd(w);
        struct ref_result g;
        ref_guest_walk(&w->v, va, 0, false, REF_NO_SIDE_EFFECTS, &g);
        if (g.mapped && guest_frame_is_table(w, g.pa) && w->mode != GUEST_PAGING_OFF) {
            /* A store into a page table through an alias: make it an entry. */
            len = gpt_entry_size(w->mode);
            va &= ~(gva_t)(len - 1);
            v64 = mutate_entry(w, sim_guest_read(g.pa & ~(uint64_t)(len - 1), len), g.pa);
        }
        memcpy(data, &v64, 8);
        va &= ~(gva_t)(len - 1);
        do_access(w, va, acc, ac, data, (acc & PFEC_WRITE) ? len : 0, "access");
        check_va(w, va, "after access");
    } else if (r < 78) {
        op_pt_write(w);
    } else if (r < 85) {
        gva_t va = pick_va(w);
        oplog(w, "invlpg %#llx", (unsigned long long)va);
        shadow_invlpg(&w->v, va);
        stale_invlpg(w, va);
        tlb_check_guest_invlpg(w, va);
        w->st->invlpgs++;
        check_va(w, va, "after invlpg");
    } else if (r < 95) {
        op_cr3(w, rn(w, w->nas), "switch");
    } else {
        op_mode_bits(w);
    }
    for (int k = 0; k < 6; k++)
        check_va(w, w->sample[rn(w, w->nsample)], "sweep");
    if (w->step % AUDIT_EVERY == 0) {
        audit(w, "periodic audit");
        tlb_check_write_protect(w);
    }
}

/* Enter w->mode from paging off (or from anything: PG is cleared first). */
static void enter_mode(struct world *w)
{
    int r;
    if (w->v.guest_cr0 & X86_CR0_PG) {
        w->v.guest_cr0 &= ~X86_CR0_PG;
        if ((r = shadow_update_paging_mode(&w->v)) != 0)
            wfail(w, "clearing CR0.PG returned %d", r);
        if (w->v.guest_efer & EFER_LMA)
            wfail(w, "EFER.LMA still set with paging off");
    }
    build_world(w);
    pick_controls(w, &w->cr0, &w->cr4, &w->efer);
    oplog(w, "enter %s: cr0=%#llx cr4=%#llx efer=%#llx, %d address spaces, %d samples",
          mode_name[w->mode], (unsigned long long)w->cr0, (unsigned long long)w->cr4,
          (unsigned long long)w->efer, w->nas, w->nsample);
    w->cur = 0;
    if (w->nas) {
        struct sh_fault f = { 0 };
        w->v.guest_cr3 = w->as[0].cr3;
        if (shadow_update_cr3(&w->v, &f) != SH_FIXED)
            wfail(w, "cr3 load with paging off failed");
    }
    w->v.guest_cr4 = w->cr4;
    w->v.guest_efer = w->efer;
    if ((r = shadow_update_paging_mode(&w->v)) != 0)
        wfail(w, "setting CR4/EFER returned %d", r);
    w->v.guest_cr0 = w->cr0;
    if ((r = shadow_update_paging_mode(&w->v)) != 0)
        wfail(w, "setting CR0 returned %d", r);
    w->st->mode_switches++;
    w->guest_epoch++;
    if (ref_mode(w->v.guest_cr0, w->v.guest_cr4, w->v.guest_efer) != w->mode)
        wfail(w, "guest is in mode %s after entering %s (EFER.LMA?)",
             mode_name[ref_mode(w->v.guest_cr0, w->v.guest_cr4, w->v.guest_efer)],
             mode_name[w->mode]);
    if (w->mode == GUEST_PAGING_PAE) {
        uint64_t want[4];
        ref_load_pdptes(w->v.guest_cr3, want);
        if (memcmp(want, w->v.guest_pdpte, sizeof(want)))
            wfail(w, "enabling PAE paging did not load the PDPTEs");
    }
}

/* One of the shadow's own counters (shadow_stat_get); a name it does not
 * know is a failure, not a zero. */
/* The shadow's counter `name`; its index in shadow_stat()'s order is found by
 * name once and checked by name on every read (shadow_stat_get's search
 * formats every counter name: per input of the fuzz target, a few percent). */
static unsigned long counter(struct world *w, const char *name, unsigned *idx)
{
    struct shadow_stat st;
    if (*idx && shadow_stat(w->d, *idx - 1, &st) && strcmp(st.name, name) == 0)
        return (unsigned long)st.value;
    for (unsigned i = 0; shadow_stat(w->d, i, &st); i++)
        if (strcmp(st.name, name) == 0) {
            *idx = i + 1;
            return (unsigned long)st.value;
        }
    wfail(w, "the shadow has no counter %s", name);
}

static void world_start(struct world *w, uint64_t seed, unsigned long pool,
                        struct world_stats *st)
{
    memset(w, 0, sizeof(*w));
    static int verify = -1;
    if (verify < 0)
        verify = env_flag("UMBRA_VERIFY");
    world_verify = verify;
    w->seed = w->rng = seed;
    w->st = st;
    if (!pool && pct(w, 20)) {      /* near the smallest pool init accepts */
        static unsigned long min;
        if (!min)
            min = world_min_pool();
        pool = min + rn(w, 48);
        st->small_pools++;
    }
    if (!pool)
        pool = 256 + rn(w, 4) * 256;
    sim_init(RAM_BYTES, pool);
    tlb_attach(w);
    if (pct(w, 25)) sim_features.maxphyaddr = 36;
    if (pct(w, 15)) sim_features.pdpe1gb = false;
    if (pct(w, 10)) sim_features.nx = false;
    if (pct(w, 15)) sim_features.smep = sim_features.smap = false;
    if (pct(w, 10)) sim_features.pse36 = false;
    gpt_alloc_init(&w->alloc, TABLE_FIRST, TABLE_FRAMES);
    w->d = shadow_domain_init(sim_pool_base(), pool);
    if (!w->d)
        wfail(w, "shadow_domain_init refused a pool of %lu frames", pool);
    /* UMBRA_OOS=on|off, UMBRA_PREFETCH=N|all: the options under test (unset:
     * half the seeds with out-of-sync shadows, prefetch all, 0, 8 or 32). */
    const char *oos = getenv("UMBRA_OOS"), *pf = getenv("UMBRA_PREFETCH");
    bool oos_on = oos && *oos ? strcmp(oos, "on") == 0 : pct(w, 50);
    static const unsigned pfs[] = { SHADOW_PREFETCH_ALL, 0, 8, 32 };
    unsigned pfn = pf && *pf ? (strcmp(pf, "all") == 0 ? SHADOW_PREFETCH_ALL : (unsigned)strtoul(pf, NULL, 0))
                 : pfs[rn(w, 4)];
    shadow_set_prefetch(w->d, pfn);
    if (oos_on && shadow_set_oos(w->d, true) != 0)
        oos_on = false;            /* a pool too small for the snapshots */
    if (oos_on && pct(w, 60))
        shadow_set_oos_after(w->d, 0);   /* every table written goes out of sync */
    w->oos = oos_on;
    st->oos_seeds += oos_on;
    if (shadow_vcpu_init(&w->v, w->d) != 0)
        wfail(w, "shadow_vcpu_init failed");
    st->seeds++;
}

static void world_phase(struct world *w, enum guest_paging mode, unsigned long iters)
{
    w->mode = mode;
    enter_mode(w);
    for (unsigned long i = 0; i < iters; i++) {
        w->step++;
        w->st->steps++;
        one_step(w);
    }
    for (int i = 0; i < w->nsample; i++)
        check_va(w, w->sample[i], "final sweep");
    audit(w, "final audit");
    /* The shadow's own counters of reclaim. */
    static unsigned ix[6];
    w->st->unpins += counter(w, "unpins", &ix[0]);
    w->st->teardowns += counter(w, "teardowns", &ix[1]);
    w->st->oos_made += counter(w, "oos_made", &ix[2]);
    w->st->oos_resyncs += counter(w, "oos_resyncs", &ix[3]);
    w->st->oos_changed += counter(w, "oos_resync_changed", &ix[4]);
    w->st->oos_clean += counter(w, "oos_resync_clean", &ix[5]);
}

/* The world of a run: with sim_reuse_memory (the fuzz target) one kept
 * buffer, zeroed by world_start() like a fresh one, so each input does not map
 * and fault in struct world's ~150 KiB again; else calloc'd. */
static struct world *world_get(void)
{
    static struct world *kept;
    if (!sim_reuse_memory)
        return calloc(1, sizeof(struct world));
    if (!kept)
        kept = calloc(1, sizeof(struct world));
    return kept;
}
static void world_put(struct world *w)
{
    if (!sim_reuse_memory)
        free(w);
}

void world_run(uint64_t seed, unsigned long iters, unsigned long pool, struct world_stats *st)
{
    struct world *w = world_get();
    jmp_buf jb;
    if (getenv("UMBRA_SURVEY")) {
        survey_jmp = &jb;
        if (setjmp(jb)) {
            survey_jmp = NULL;
            sim_fini();
            world_put(w);
            return;
        }
    }
    world_start(w, seed, pool, st);
    world_phase(w, (enum guest_paging)(seed % 4), iters);
    survey_jmp = NULL;
    sim_fini();
    world_put(w);
}

void world_run_sequence(uint64_t seed, const enum guest_paging *seq, unsigned n,
                        unsigned long iters, unsigned long pool, struct world_stats *st)
{
    struct world *w = calloc(1, sizeof(*w));
    world_start(w, seed, pool, st);
    for (unsigned i = 0; i < n; i++) {
        if (w->alloc.end - w->alloc.next < 150)
            gpt_alloc_init(&w->alloc, TABLE_FIRST, TABLE_FRAMES);   /* reuse the table area */
        world_phase(w, seq[i], iters);
    }
    sim_fini();
    free(w);
}

unsigned long world_min_pool(void)
{
    unsigned long lo = 1, hi = 4096;   /* shadow_domain_init(hi) must succeed */
    sim_init(RAM_BYTES, hi);
    if (!shadow_domain_init(sim_pool_base(), hi))
        return 0;
    while (lo < hi) {
        unsigned long mid = (lo + hi) / 2;
        sim_init(RAM_BYTES, mid);
        if (shadow_domain_init(sim_pool_base(), mid))
            hi = mid;
        else
            lo = mid + 1;
    }
    sim_fini();
    return lo;
}

void world_print_stats(int mode, const struct world_stats *s)
{
    fprintf(stderr, "shadow_random %s: seeds=%lu steps=%lu accesses=%lu completed=%lu "
            "reflected=%lu emulated=%lu fixed=%lu stops=%lu pt_writes=%lu invlpg=%lu cr3=%lu "
            "cr3_gp=%lu mode=%lu mode_gp=%lu checks=%lu audits=%lu failed=%lu tlb_hits=%lu "
            "tlb_flushes=%lu unpins=%lu teardowns=%lu emulated_insns=%lu small_pools=%lu "
            "self_maps=%lu root_aliases=%lu oos_seeds=%lu oos_made=%lu oos_resyncs=%lu oos_resync_changed=%lu oos_resync_clean=%lu stale_ok=%lu\n",
            mode < 0 ? "all" : mode_name[mode], s->seeds, s->steps, s->accesses, s->completed,
            s->reflected, s->emulated, s->fixed_faults, s->stops, s->pt_writes, s->invlpgs,
            s->cr3_loads, s->cr3_gp, s->mode_switches, s->mode_gp, s->checks, s->audits, s->failed,
            s->tlb_hits, s->tlb_flushes, s->unpins, s->teardowns, s->emulated_insns,
            s->small_pools, s->self_maps, s->root_aliases, s->oos_seeds, s->oos_made, s->oos_resyncs, s->oos_changed, s->oos_clean, s->stale_ok);
    for (int k = 0; k < NGAPS; k++)
        if (s->gaps[k])
            fprintf(stderr, "shadow_random %s: tolerated known gap %s: %lu times (UMBRA_STRICT=1 fails on it)\n",
                    mode < 0 ? "all" : mode_name[mode], gap_name[k], s->gaps[k]);
}
