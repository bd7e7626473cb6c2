/*
 * Page-table shapes suite (PAE, then 2-level): tables that are also data,
 * tables used at two levels, many views of one table.  Each shape is edited
 * through every view it has (the identity map, and every alias that maps the
 * table as data) and after each edit every walk that uses the table is
 * checked against the value it must give (a marker word, a table entry read
 * as data, or a fault), after INVLPG of the address, or a CR3 load where
 * the PAE PDPTEs change.  lib/sem.c has the simple recursive slot and
 * two-level table; this goes further:
 *  - self-maps at every level: a PTE, a PDE and (PAE) a PDPTE that point at
 *    their own table;
 *  - issue 12 item 5, step by step: PDPTE3 maps the PDPT, the guest reads and
 *    writes through that alias, restores PDPTE3, points PDPTE2 at a new
 *    directory and reloads CR3: the first access through PDPTE2 must use it;
 *  - one table used as a page directory and as a page table at once;
 *  - one page table under 16 PDEs and mapped as data at 16 addresses.
 * All entries are written with A and D already set, so no walk changes them
 * and a table read as data has one expected value.
 */
#include "lib/pt.h"

#define F (_PAGE_PRESENT | _PAGE_RW | _PAGE_ACCESSED | _PAGE_DIRTY)
#define FRO (_PAGE_PRESENT | _PAGE_ACCESSED | _PAGE_DIRTY)

static const struct pmode *m;
static unsigned es;

static uint64_t ent_get(uint64_t table, unsigned i) { return pte_get(m, (void *)(uintptr_t)(table + i * es)); }
static void ent_set(uint64_t table, unsigned i, uint64_t v) { pte_set(m, (void *)(uintptr_t)(table + i * es), v); }

/* A write of a 32-bit word at CPL 0 through `va`, faults caught. */
static uint64_t poke_va;
static uint32_t poke_val;
static void poke_fn(void *arg)
{
    (void)arg;
    *(volatile uint32_t *)(uintptr_t)poke_va = poke_val;
}
static bool poke(uint64_t va, uint32_t v)
{
    poke_va = va;
    poke_val = v;
    return catch_call(poke_fn, NULL) == EXC_NONE;
}

/* Write entry `i` of a table through the view at `view` (the table mapped
 * as data): the high word of an 8-byte entry, then the low word. */
static bool view_set(uint64_t view, unsigned i, uint64_t v)
{
    bool ok = true;
    if (m->wide)      /* high word first: the low word may end the view */
        ok = poke(view + i * es + 4, (uint32_t)(v >> 32));
    return ok && poke(view + i * es, (uint32_t)v);
}

/* Where the region used by the tests starts, and the directory covering
 * it: PAE PDPTE 1 (a PD of its own), 2-level PDE 256 on (the root). */
#define BASE 0x40000000u
static uint64_t root, pd;        /* pd: the directory for [BASE, +1 GiB) */
static unsigned pdbase;          /* index in pd of BASE */

static uint64_t va_of(unsigned pdi, unsigned pti)
{
    return m->levels == 3 ? BASE + ((uint64_t)pdi << 21) + ((uint64_t)pti << 12)
                          : ((uint64_t)pdi << 22) + ((uint64_t)pti << 12);
}

static void flush(uint64_t va) { invlpg((ureg_t)va); }

static void new_space(void)
{
    root = pt_new_space(m);
    if (m->levels == 3) {
        pd = pt_alloc();
        ent_set(root, 1, pd | _PAGE_PRESENT);
        pdbase = 0;
    } else {
        pd = root;
        pdbase = 256;
    }
    write_cr3((ureg_t)root);
}

static uint64_t home;
/* Back to `home`; unlink the test region (its tables are freed by the
 * tests, each once) and free the root. */
static void drop_space(void)
{
    write_cr3((ureg_t)home);
    if (m->levels == 3) {
        for (unsigned i = 1; i < 4; i++)
            ent_set(root, i, 0);
        pt_free(pd);
    } else {
        for (unsigned i = pdbase; i < 1024; i++)
            ent_set(root, i, 0);
    }
    pt_free_space(m, root);
}

/* ---- self-map of a PTE: PT[S] = PT ---------------------------------------- */
static void self_pte(void)
{
    const char *n = m->name;
    new_space();
    uint64_t pt = pt_alloc();
    unsigned S = 5, di = pdbase;
    ent_set(pd, di, pt | F);
    ent_set(pt, 0, MARK_PA(0) | F);
    ent_set(pt, S, pt | F);
    flush(va_of(di, 0));
    uint64_t data = va_of(di, 0), view = va_of(di, S);
    expect_read(data, MARK(0), "%s self pte: the page", n);
    expect_read(view, (uint32_t)(MARK_PA(0) | F), "%s self pte: the table read through its own pte", n);
    expect_read(view + S * es, (uint32_t)(pt | F), "%s self pte: the self entry reads itself", n);
    /* Edit the data PTE through the view, then directly. */
    tap_ok(view_set(view, 0, MARK_PA(1) | F), "%s self pte: write through the view", n);
    flush(data);
    expect_read(data, MARK(1), "%s self pte: edit through the view takes effect", n);
    ent_set(pt, 0, MARK_PA(2) | F);
    flush(data);
    expect_read(data, MARK(2), "%s self pte: direct edit takes effect", n);
    expect_read(view, (uint32_t)(MARK_PA(2) | F), "%s self pte: and shows in the view", n);
    /* Make the self entry read-only through itself: the view stays readable,
     * a write through it faults. */
    tap_ok(view_set(view, S, pt | FRO), "%s self pte: self entry edited through itself", n);
    flush(view);
    expect_read(view, (uint32_t)(MARK_PA(2) | F), "%s self pte: read-only view still reads", n);
    tap_ok(!poke(view, 0) && exc_last.vector == X86_EXC_PF &&
               exc_last.err == (PFEC_PRESENT | PFEC_WRITE) && exc_last.cr2 == view,
           "%s self pte: write through the read-only view faults", n);
    /* Point the self entry elsewhere through itself. */
    ent_set(pt, S, pt | F);
    flush(view);
    tap_ok(view_set(view, S, MARK_PA(3) | F), "%s self pte: self entry repointed through itself", n);
    flush(view);
    expect_read(view, MARK(3), "%s self pte: the view now maps the new frame", n);
    expect_read(data, MARK(2), "%s self pte: the other pte is untouched", n);
    drop_space();
    pt_free(pt);
}

/* ---- self-map of a PDE: PD[S] = PD ---------------------------------------- */
static void self_pde(void)
{
    const char *n = m->name;
    new_space();
    unsigned S = pdbase + 200, d0 = pdbase, d1 = pdbase + 1;
    uint64_t pt = pt_alloc();
    ent_set(pd, d0, pt | F);
    ent_set(pt, 0, MARK_PA(4) | F);
    ent_set(pd, S, pd | F);
    flush(va_of(d0, 0));
    uint64_t data = va_of(d0, 0);
    uint64_t ptview = va_of(S, d0), pdview = va_of(S, S);
    expect_read(data, MARK(4), "%s self pde: the page", n);
    expect_read(ptview, (uint32_t)(MARK_PA(4) | F), "%s self pde: the page table through the self slot", n);
    expect_read(pdview + S * es, (uint32_t)(pd | F), "%s self pde: the directory reads its self entry", n);
    /* PTE edited through the page-table view. */
    tap_ok(view_set(ptview, 0, MARK_PA(5) | F), "%s self pde: pte written through the pt view", n);
    flush(data);
    expect_read(data, MARK(5), "%s self pde: pt-view edit takes effect", n);
    /* PDE edited through the directory view: a second PDE to the same PT. */
    tap_ok(view_set(pdview, d1, pt | F), "%s self pde: pde written through the pd view", n);
    flush(va_of(d1, 0));
    expect_read(va_of(d1, 0), MARK(5), "%s self pde: pd-view edit maps the pt at a second pde", n);
    expect_read(va_of(S, d1), (uint32_t)(MARK_PA(5) | F), "%s self pde: the new pde's pt in the self window", n);
    /* Direct edit: all views follow. */
    ent_set(pt, 0, MARK_PA(6) | F);
    flush(data);
    flush(va_of(d1, 0));
    expect_read(data, MARK(6), "%s self pde: direct edit, first pde", n);
    expect_read(va_of(d1, 0), MARK(6), "%s self pde: direct edit, second pde", n);
    expect_read(ptview, (uint32_t)(MARK_PA(6) | F), "%s self pde: direct edit, pt view", n);
    /* Unmap the second PDE through the directory view. */
    tap_ok(view_set(pdview, d1, 0), "%s self pde: pde cleared through the pd view", n);
    flush(va_of(d1, 0));
    expect_read(va_of(d1, 0), FAULTS, "%s self pde: cleared pde faults", n);
    /* The self entry made read-only through the directory view. */
    tap_ok(view_set(pdview, S, pd | FRO), "%s self pde: self entry edited through itself", n);
    flush(pdview);
    flush(ptview);
    expect_read(ptview, (uint32_t)(MARK_PA(6) | F), "%s self pde: read-only window still reads", n);
    tap_ok(!poke(ptview, 0) && exc_last.vector == X86_EXC_PF && exc_last.cr2 == ptview,
           "%s self pde: write through the read-only window faults", n);
    ent_set(pd, S, 0);
    drop_space();
    pt_free(pt);
}

/* ---- PAE: the PDPT mapped by its own PDPTE (issue 12 item 5) ------------- */
/* Variants: V_ALIAS edits PDPTE2 and PDPTE3 through the alias instead of
 * directly; V_OLDMAP gives the old directory a mapping of the address, used
 * before the switch; V_WPEARLY sets CR0.WP again before the CR3 reload. */
#define V_ALIAS 1
#define V_OLDMAP 2
#define V_WPEARLY 4
#define V_P0 8          /* PDPTE2 not present before (no old directory) */
#define V_P3DIR 16      /* PDPTE3 had a directory of its own, restored to it */
#define V_BIG 32        /* the identity range (and so the PDPT's own frame) mapped by 2 MiB pages,
                         * and a run of zero writes through the alias */
#define V_OFF 64        /* the PDPT in the last 32 bytes of its frame (PAE CR3 is 32-byte aligned) */
static void self_pdpt(unsigned v5)
{
    char how[128];
    gsnprintf(how, sizeof(how), "%s%s%s%s%s%s%s", (v5 & V_ALIAS) ? "through the alias" : "directly",
              (v5 & V_OLDMAP) ? ", old maps a page" : "", (v5 & V_WPEARLY) ? ", wp before cr3" : "",
              (v5 & V_P0) ? ", pdpte2 was 0" : "", (v5 & V_P3DIR) ? ", pdpte3 had a pd" : "",
              (v5 & V_BIG) ? ", 2m identity" : "", (v5 & V_OFF) ? ", pdpt at +0xfe0" : "");
    new_space();
    uint64_t aligned = root;
    if (v5 & V_OFF) {
        root = pt_alloc() + 0xfe0;
        for (unsigned i = 0; i < 4; i++)
            ent_set(root, i, ent_get(aligned, i));
        write_cr3((ureg_t)root);
    }
    uint64_t frame = root & ~0xfffull, off = root & 0xfff;
    uint64_t big = 0;
    if (v5 & V_BIG) {
        big = pt_alloc();
        for (unsigned i = 0; i < IDENT_END >> 21; i++)
            ent_set(big, i, ((uint64_t)i << 21) | F | _PAGE_PSE);
        ent_set(root, 0, big | _PAGE_PRESENT);
        write_cr3((ureg_t)root);
    }
    uint64_t old = pt_alloc(), opt = pt_alloc(), t = pt_alloc(), tpt = pt_alloc(), d3 = pt_alloc();
    uint64_t p3 = (v5 & V_P3DIR) ? d3 | _PAGE_PRESENT : 0;   /* PDPTE3 before and after */
    uint64_t old2 = (v5 & V_P0) ? 0 : old | _PAGE_PRESENT;
    ent_set(root, 2, old2);
    if (v5 & V_OLDMAP) {
        ent_set(old, 0, opt | F);
        ent_set(opt, 0, MARK_PA(12) | F);
    }
    ent_set(t, 0, tpt | F);
    ent_set(tpt, 0, MARK_PA(7) | F);
    if (v5 & V_P3DIR) {
        ent_set(root, 3, p3);
        write_cr3((ureg_t)root);
        expect_read(0xc0000000u, FAULTS, "pae self pdpt (%s): pdpte3's own directory (empty)", how);
    }
    /* PDPTE3 -> the PDPT: as a PD, PDE i = PDPTE i; as a PT, PTE i = PDPTE i. */
    ent_set(root, 3, frame | _PAGE_PRESENT);
    /* The alias is supervisor read-only (a PDPTE has no RW/US), so it is
     * written with CR0.WP=0, cleared here: once the alias walk has set A in
     * PDPTE3 (bit 5, reserved in a PDPTE), no MOV CR0 may come before PDPTE3
     * is restored -- Bochs (bare) and Umbra then raise #GP(0) for the
     * PDPTE in memory, QEMU does not, and the manuals leave it open (Intel
     * reloads PDPTEs only for a change of PG, CD or NW). */
    write_cr0(read_cr0() & ~X86_CR0_WP);
    write_cr3((ureg_t)root);
    /* PDPTE3 as PDE k3, as PTE k3: the PDPT's frame as data (k3 = 3 when the PDPT is page-aligned) */
    uint64_t k3 = (off >> 3) + 3, alias = 0xc0000000u + (k3 << 21) + (k3 << 12);
    expect_read(0x80000000u, (v5 & V_OLDMAP) ? MARK(12) : FAULTS, "pae self pdpt (%s): the old directory", how);
    /* Read back with bits 6:5 masked: the alias walk uses PDPTE3 as a PDE
     * and a PTE, which sets its A (and D on a write) -- that is why PDPTE3 is
     * cleared before the next CR3 load (bits 8:5 are reserved in a PDPTE);
     * bare QEMU also sets bit 5 of PDPTE2 (see access_ref.c). */
    uint32_t v = 0;
    bool ok = peek(alias + off + 2 * 8, &v);
    tap_ok(ok && (v & ~0x60u) == (uint32_t)old2,
           "pae self pdpt (%s): pdpte2 read through the alias", how);
    ok = peek(alias + off + 3 * 8, &v);
    tap_ok(ok && (v & ~0x60u) == (uint32_t)(frame | _PAGE_PRESENT), "pae self pdpt (%s): pdpte3 reads itself", how);
    /* A write into an unused slot of the PDPT frame. */
    ok = poke(alias + 0x800, 0x12345678u);
    tap_ok(ok && *(volatile uint32_t *)(uintptr_t)(frame + 0x800) == 0x12345678u,
           "pae self pdpt (%s): write through the alias lands in the PDPT frame", how);
    expect_read(alias + 0x800, 0x12345678u, "pae self pdpt (%s): and reads back through it", how);
    if (v5 & V_BIG) {
        /* With the 2 MiB identity, also a run of zero writes through the
         * alias: under Umbra the unshadow heuristics (SH_UNSHADOW_ZERO_RUN)
         * then drop every shadow of the PDPT's frame, the top level in use too. */
        bool zok = true;
        for (unsigned i = 0; i < 40; i++)
            zok &= poke(alias + 0x900 + 8 * i, 0);
        tap_ok(zok, "pae self pdpt (%s): 40 zero writes through the alias", how);
    }
    if (v5 & V_ALIAS) {
        /* Item 5 edited through the alias itself: PDPTE3, then PDPTE2 (the
         * alias's own PTE last would end it first: PDPTE2 first). */
        ok = view_set(alias + off, 2, t | _PAGE_PRESENT);
        ok &= view_set(alias + off, 3, p3);
        tap_ok(ok, "pae self pdpt (%s): pdpte2 and pdpte3 written through the alias", how);
    } else {
        /* Item 5's steps: restore PDPTE3, point PDPTE2 at T. */
        ent_set(root, 3, p3);
        ent_set(root, 2, t | _PAGE_PRESENT);
    }
    *(volatile uint32_t *)(uintptr_t)(frame + 0x800) = 0;
    if (v5 & V_WPEARLY)
        write_cr0(read_cr0() | X86_CR0_WP);
    write_cr3((ureg_t)root);
    tap_ok(ent_get(root, 2) == (t | _PAGE_PRESENT) && ent_get(root, 3) == p3,
           "pae self pdpt (%s): memory holds pdpte2 = T|P, pdpte3 restored", how);
    expect_read(0x80000000u, MARK(7), "pae self pdpt (%s): first access through pdpte2 uses T", how);
    expect_read(alias, FAULTS, "pae self pdpt (%s): the alias is gone", how);
    write_cr0(read_cr0() | X86_CR0_WP);
    if (v5 & V_OFF) {
        write_cr3((ureg_t)aligned);
        for (unsigned i = 1; i < 4; i++)
            ent_set(aligned, i, ent_get(root, i));
        pt_free(frame);
        root = aligned;
    }
    drop_space();
    pt_free(tpt);
    pt_free(t);
    pt_free(opt);
    pt_free(old);
    pt_free(d3);
    if (big)
        pt_free(big);
}

/* ---- PAE: one table X as PDPTE2's directory and as a page table of PD1 --- */
static void two_levels(void)
{
    new_space();
    uint64_t x = pt_alloc(), y = pt_alloc(), z = pt_alloc();
    ent_set(y, 0, MARK_PA(8) | F);
    ent_set(z, 0, MARK_PA(9) | F);
    ent_set(x, 0, y | F);            /* PDE 0 of 0x80000000 / PTE 0 of BASE */
    ent_set(x, 1, x | F);            /* X maps itself in both roles */
    ent_set(pd, 0, x | F);           /* X as the page table of BASE */
    ent_set(root, 2, x | _PAGE_PRESENT);     /* X as the directory of 0x80000000 */
    write_cr3((ureg_t)root);
    /* Addresses: as PD, 0x80000000 -> X[0]=Y (PT) -> Y[0] = MARK8;
     * 0x80200000 + 0x1000 -> X[1]=X (PT) -> X[1] = X (page): X as data.
     * As PT, BASE -> X[0] = Y (page): Y as data; BASE + 0x1000 -> X as data. */
    uint64_t vpd = 0x80000000u, vy = BASE, vx1 = BASE + 0x1000, vx2 = 0x80201000u;
    const uint64_t views[3] = { 0, vx1, vx2 };
    const char *vn[3] = { "directly", "through its pt-role view", "through its pd-role view" };
    uint64_t tab[3] = { z, y, z };
    for (int k = 0; k < 3; k++) {
        uint64_t now = tab[k];
        bool ok = k == 0 ? (ent_set(x, 0, now | F), true) : view_set(views[k], 0, now | F);
        flush(vpd);
        flush(vy);
        uint32_t mk = now == y ? MARK(8) : MARK(9);
        tap_ok(ok, "pae two-level table: X[0] edited %s", vn[k]);
        expect_read(vpd, mk, "pae two-level table: pd-role walk after the edit %s", vn[k]);
        expect_read(vy, (uint32_t)(MARK_PA(now == y ? 8 : 9) | F),
                    "pae two-level table: pt-role walk after the edit %s", vn[k]);
        expect_read(vx1, (uint32_t)(now | F), "pae two-level table: X read through the pt-role view (%s)", vn[k]);
        expect_read(vx2, (uint32_t)(now | F), "pae two-level table: X read through the pd-role view (%s)", vn[k]);
    }
    /* Clear X[0] through one view: both roles lose the mapping. */
    tap_ok(view_set(vx2, 0, 0), "pae two-level table: X[0] cleared through the pd-role view");
    flush(vpd);
    flush(vy);
    expect_read(vpd, FAULTS, "pae two-level table: pd-role walk faults");
    expect_read(vy, FAULTS, "pae two-level table: pt-role walk faults");
    ent_set(root, 2, 0);
    ent_set(pd, 0, 0);
    drop_space();
    pt_free(z);
    pt_free(y);
    pt_free(x);
}

/* ---- one page table Q under 16 PDEs, and as data at 16 addresses -------- */
#define NALIAS 16
static void many_aliases(void)
{
    const char *n = m->name;
    new_space();
    uint64_t q = pt_alloc(), dpt = pt_alloc();
    unsigned d = pdbase;                      /* PDE d: the data aliases */
    ent_set(pd, d, dpt | F);
    for (unsigned i = 0; i < NALIAS; i++) {
        ent_set(dpt, i, q | F);               /* Q as data at va_of(d, i) */
        ent_set(pd, pdbase + 16 + i, q | F);  /* Q as the page table of 16 PDEs */
    }
    ent_set(q, 0, MARK_PA(10) | F);
    write_cr3((ureg_t)root);
    for (unsigned a = 0; a <= NALIAS; a++) {
        unsigned mk = 10 + a % 4;
        bool ok = true;
        if (a == NALIAS)
            ent_set(q, 0, MARK_PA(mk) | F);   /* last: directly */
        else
            ok = view_set(va_of(d, a), 0, MARK_PA(mk) | F);
        unsigned walks = 0, views = 0;
        for (unsigned i = 0; i < NALIAS; i++) {
            uint64_t va = va_of(pdbase + 16 + i, 0);
            uint32_t v = 0;
            flush(va);
            walks += peek(va, &v) && v == MARK(mk);
            views += peek(va_of(d, i), &v) && v == (uint32_t)(MARK_PA(mk) | F);
        }
        if (a == NALIAS)
            tap_ok(ok && walks == NALIAS && views == NALIAS,
                   "%s many aliases: direct edit seen by all 16 pdes and all 16 views", n);
        else
            tap_ok(ok && walks == NALIAS && views == NALIAS,
                   "%s many aliases: edit through view %u seen by all 16 pdes and all 16 views", n, a);
    }
    /* Unmap through the last view: every PDE's walk faults. */
    view_set(va_of(d, NALIAS - 1), 0, 0);
    unsigned faults = 0;
    for (unsigned i = 0; i < NALIAS; i++) {
        flush(va_of(pdbase + 16 + i, 0));
        faults += probe(0, OP_READ, (ureg_t)va_of(pdbase + 16 + i, 0)) == X86_EXC_PF;
    }
    tap_ok(faults == NALIAS, "%s many aliases: pte cleared through a view faults under all 16 pdes", n);
    for (unsigned i = 0; i < NALIAS; i++)
        ent_set(pd, pdbase + 16 + i, 0);
    ent_set(pd, d, 0);
    drop_space();
    pt_free(dpt);
    pt_free(q);
}

static void run_mode(const struct pmode *mode)
{
    m = mode;
    es = m->wide ? 8 : 4;
    home = pt_new_space(m);
    if (read_cr0() & X86_CR0_PG)
        write_cr0(read_cr0() & ~X86_CR0_PG);
    paging_enable(m, home);
    self_pte();
    self_pde();
    if (m->levels == 3) {
        for (unsigned v5 = 0; v5 < 128; v5++)
            if (!((v5 & V_P0) && (v5 & V_OLDMAP)))
                self_pdpt(v5);
        two_levels();
    }
    many_aliases();
}

int guest_main(void)
{
    mark_fill(16);  /* MARK(0..15) */
    run_mode(&pm_pae);
    run_mode(&pm_2level);
    return tap_done();
}
