/*
 * Focused unit tests of the shadow MMU, one guest mode at a time: error
 * codes, A/D, superpages, NX, CR0.WP = 0, PDPTE caching, refcounts and
 * destruction, page-table write protection, INVLPG, physical mode.
 *
 * A guest access is modelled as the CPU under Umbra would run it: the
 * reference MMU walks the *shadow* tables (ref_hw_walk); on a fault the
 * shadow's #PF handler runs and the access is retried.  Every test ends with
 * shadow_audit() == 0.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <umbra/x86.h>
#include <umbra/shadow.h>
#include "sim_platform.h"
#include "refmmu.h"

#define P   _PAGE_PRESENT
#define RW  _PAGE_RW
#define US  _PAGE_USER
#define A   _PAGE_ACCESSED
#define D   _PAGE_DIRTY
#define PS  _PAGE_PSE
#define NX  _PAGE_NX

static struct shadow_domain *dom;
static struct shadow_vcpu vc, *v = &vc;

static void setup_pool(unsigned long pool)
{
    sim_init(64ULL << 20, pool);
    sim_features.pdpe1gb = false;
    dom = shadow_domain_init(sim_pool_base(), sim_pool_frames());
    ck_assert_ptr_nonnull(dom);
    shadow_set_audit(dom, 1);                /* audit after every event */
    ck_assert_int_eq(shadow_vcpu_init(v, dom), 0);
}
static void setup(void) { setup_pool(512); }
static void small_pool(void) { setup_pool(48); }
static void teardown(void)
{
    bool bad = sim_log_contains("shadow: audit: ");  /* from the audit after each event */
    unsigned long e = shadow_audit(dom);
    if (e || bad)
        sim_log_dump(stderr);
    ck_assert_msg(!bad, "an audit after some event failed");
    ck_assert_uint_eq(e, 0);
    sim_fini();
}

static void w64(gpa_t a, uint64_t x) { sim_guest_write(a, x, 8); }
static uint64_t r64(gpa_t a) { return sim_guest_read(a, 8); }
static void w32(gpa_t a, uint32_t x) { sim_guest_write(a, x, 4); }
static uint32_t r32(gpa_t a) { return (uint32_t)sim_guest_read(a, 4); }

static int set_regs(uint64_t cr0, uint64_t cr4, uint64_t efer, uint64_t cr3)
{
    v->guest_cr0 = cr0;
    v->guest_cr4 = cr4;
    v->guest_efer = efer;
    v->guest_cr3 = cr3;
    return shadow_update_paging_mode(v);
}

/* One guest access as the CPU under Umbra runs it: returns the shadow's verdict. */
static enum sh_result access(gva_t va, uint32_t acc, struct sh_fault *f, uint64_t *pa)
{
    for (int i = 0; i < 8; i++) {
        struct ref_result r;
        if (ref_hw_walk(v, va, acc, false, 0, &r)) {
            if (pa)
                *pa = r.pa;
            return SH_FIXED;
        }
        ck_assert_int_eq(r.vector, X86_EXC_PF);
        enum sh_result s = shadow_page_fault(v, va, r.pfec, f);
        if (s != SH_FIXED)
            return s;
    }
    ck_abort_msg("access %#llx did not converge", (unsigned long long)va);
    return SH_STOP;
}

static void expect_pf(gva_t va, uint32_t acc, uint32_t pfec)
{
    struct sh_fault f;
    ck_assert_int_eq(access(va, acc, &f, NULL), SH_REFLECT);
    ck_assert_int_eq(f.vector, X86_EXC_PF);
    ck_assert_msg(f.pfec == pfec, "va %#llx: pfec %#x, want %#x", (unsigned long long)va,
                  f.pfec, pfec);
    ck_assert_uint_eq(f.cr2, va);
}

static uint64_t expect_ok(gva_t va, uint32_t acc)
{
    struct sh_fault f = { 0 };
    uint64_t pa = 0;
    enum sh_result r = access(va, acc, &f, &pa);
    ck_assert_msg(r == SH_FIXED, "va %#llx acc %#x: result %d pfec %#x why %s",
                  (unsigned long long)va, acc, r, f.pfec, f.why ? f.why : "-");
    return pa;
}

/* ---- PAE ------------------------------------------------------------------ */

#define PDPT 0x10000ULL
#define PD0  0x11000ULL
#define PT0  0x12000ULL
#define PD3  0x13000ULL
#define CR0_ON (X86_CR0_PG | X86_CR0_PE | X86_CR0_WP | X86_CR0_ET)

static void pae_guest(uint64_t efer)
{
    w64(PDPT, PD0 | P);
    w64(PDPT + 24, PD3 | P);
    w64(PD0, PT0 | P | RW | US);
    ck_assert_int_eq(set_regs(CR0_ON, X86_CR4_PAE, efer, PDPT), 0);
    ck_assert_int_eq(v->paging, GUEST_PAGING_PAE);
}

START_TEST(pae_hw_regs)
{
    pae_guest(EFER_NXE);
    ck_assert(v->hw_cr0 & X86_CR0_PG);
    ck_assert(v->hw_cr0 & X86_CR0_WP);
    ck_assert(v->hw_cr4 & X86_CR4_PAE);
    ck_assert(!(v->hw_cr4 & X86_CR4_PSE));
    ck_assert(v->hw_efer & EFER_NXE);
    ck_assert(!(v->hw_efer & EFER_SVME));   /* SVM's bit is the SVM side's (shadow_paging.c) */
    ck_assert(!(v->hw_efer & EFER_LME));
    ck_assert_uint_eq(v->hw_cr3, mfn_x(v->pae_l3) << 12);
    ck_assert_uint_lt(v->hw_cr3, 1ULL << 32);
    ck_assert(v->tlb_flush);
}
END_TEST

START_TEST(pae_ad_bits)
{
    pae_guest(0);
    w64(PT0 + 8 * 5, 0x300000 | P | RW);
    /* read: A set in PDE and PTE, not D; shadow read-only */
    ck_assert_uint_eq(expect_ok(0x5123, 0), 0x300123);
    ck_assert(r64(PD0) & A);
    ck_assert(r64(PT0 + 40) & A);
    ck_assert(!(r64(PT0 + 40) & D));
    struct shadow_walk_info wi;
    ck_assert_uint_eq(shadow_walk_va(v, 0x5123, &wi), 3);
    ck_assert(wi.g_ok);
    ck_assert_uint_eq(wi.gpa, 0x300123);
    ck_assert(wi.lv[2].s_valid && (wi.lv[2].s_entry & P) && !(wi.lv[2].s_entry & RW));
    /* write: faults once, sets D, shadow becomes writable */
    ck_assert_uint_eq(expect_ok(0x5000, PFEC_WRITE), 0x300000);
    ck_assert(r64(PT0 + 40) & D);
    shadow_walk_va(v, 0x5000, &wi);
    ck_assert(wi.lv[2].s_entry & RW);
}
END_TEST

START_TEST(pae_not_present_codes)
{
    pae_guest(EFER_NXE);
    expect_pf(0x7000, 0, 0);
    expect_pf(0x7000, PFEC_WRITE, PFEC_WRITE);
    expect_pf(0x7000, PFEC_USER | PFEC_WRITE, PFEC_USER | PFEC_WRITE);
    expect_pf(0x7000, PFEC_INSN, PFEC_INSN);
    expect_pf(0x40000000, 0, 0);            /* PDPTE[1] not present */
    expect_pf(0xc0000000, PFEC_USER, PFEC_USER);   /* PD3 empty */
    ck_assert(!(r64(PD0) & A));             /* a faulting walk sets no A */
}
END_TEST

START_TEST(pae_protection_codes)
{
    pae_guest(EFER_NXE);
    w64(PT0 + 8, 0x301000 | P | A);                  /* supervisor, read-only */
    w64(PT0 + 16, 0x302000 | P | RW | US | A | D | NX);
    expect_pf(0x1000, PFEC_USER, PFEC_PRESENT | PFEC_USER);
    expect_pf(0x1000, PFEC_WRITE, PFEC_PRESENT | PFEC_WRITE);
    expect_pf(0x2000, PFEC_INSN, PFEC_PRESENT | PFEC_INSN);
    expect_pf(0x2000, PFEC_INSN | PFEC_USER, PFEC_PRESENT | PFEC_INSN | PFEC_USER);
    ck_assert_uint_eq(expect_ok(0x2000, PFEC_USER | PFEC_WRITE), 0x302000);
    ck_assert_uint_eq(expect_ok(0x1000, 0), 0x301000);
}
END_TEST

START_TEST(pae_reserved_bits)
{
    pae_guest(0);                                    /* NXE = 0: NX is reserved */
    w64(PT0 + 8, 0x301000 | P | RW | NX);
    expect_pf(0x1000, 0, PFEC_PRESENT | PFEC_RSVD);
    expect_pf(0x1000, PFEC_WRITE | PFEC_USER, PFEC_PRESENT | PFEC_RSVD | PFEC_WRITE | PFEC_USER);
    w64(PT0 + 16, (1ULL << 45) | P | RW);            /* above MAXPHYADDR 40 */
    expect_pf(0x2000, 0, PFEC_PRESENT | PFEC_RSVD);
    w64(PD0 + 8, 0x400000 | (1ULL << 13) | P | RW | PS);   /* 2 MiB, bit 13 set */
    expect_pf(0x200000, 0, PFEC_PRESENT | PFEC_RSVD);
    w64(PT0 + 24, (1ULL << 55) | 0x303000 | P);      /* bit 55: reserved in PAE */
    expect_pf(0x3000, 0, PFEC_PRESENT | PFEC_RSVD);
}
END_TEST

START_TEST(pae_superpage)
{
    pae_guest(EFER_NXE);
    w64(PD0 + 8, 0x600000 | P | RW | US | PS);       /* 2 MiB at va 2 MiB, A/D clear */
    ck_assert_uint_eq(expect_ok(0x2ff123, PFEC_USER), 0x6ff123);
    ck_assert(r64(PD0 + 8) & A);
    ck_assert(!(r64(PD0 + 8) & D));
    ck_assert_uint_eq(expect_ok(0x200000, PFEC_WRITE), 0x600000);
    ck_assert(r64(PD0 + 8) & D);
    ck_assert_uint_eq(expect_ok(0x3fffff, PFEC_WRITE | PFEC_USER), 0x7fffff);
    /* INVLPG of a superpage va drops the link to the fl1 */
    unsigned long before = sim_flush_va_calls;
    shadow_invlpg(v, 0x234000);
    ck_assert_uint_eq(sim_flush_va_calls, before + 1);
    struct shadow_walk_info wi;
    shadow_walk_va(v, 0x234000, &wi);
    ck_assert(!(wi.lv[1].s_entry & P));
    ck_assert_uint_eq(expect_ok(0x234000, 0), 0x634000);
}
END_TEST

START_TEST(pae_wp0)
{
    pae_guest(0);
    w64(PT0 + 8, 0x301000 | P | US | A);             /* user read-only */
    v->guest_cr0 &= ~X86_CR0_WP;
    ck_assert_int_eq(shadow_update_paging_mode(v), 0);
    ck_assert(v->hw_cr0 & X86_CR0_WP);               /* hardware keeps WP */
    struct sh_fault f;
    ck_assert_int_eq(access(0x1000, PFEC_WRITE, &f, NULL), SH_EMULATE);
    uint32_t x = 0xdeadbeef;
    ck_assert_int_eq(shadow_write_guest(v, 0x1010, &x, 4, 0, &f), SH_FIXED);
    ck_assert_uint_eq(r32(0x301010), 0xdeadbeef);
    ck_assert(r64(PT0 + 8) & D);
    expect_pf(0x1000, PFEC_USER | PFEC_WRITE, PFEC_PRESENT | PFEC_USER | PFEC_WRITE);
    ck_assert_int_eq(shadow_write_guest(v, 0x1010, &x, 4, PFEC_USER, &f), SH_REFLECT);
    ck_assert_uint_eq(f.pfec, PFEC_PRESENT | PFEC_USER | PFEC_WRITE);
    /* a supervisor-only read-only page: the shadow grants the write itself */
    w64(PT0 + 16, 0x302000 | P | A);
    ck_assert_uint_eq(expect_ok(0x2000, PFEC_WRITE), 0x302000);
    ck_assert(r64(PT0 + 16) & D);
    struct ref_result r;
    ck_assert(ref_hw_walk(v, 0x2000, PFEC_WRITE, false, 0, &r));
    ck_assert(!ref_hw_walk(v, 0x2000, PFEC_USER, false, 0, &r));
    expect_pf(0x2000, PFEC_USER, PFEC_PRESENT | PFEC_USER);
    v->guest_cr0 |= X86_CR0_WP;
    ck_assert_int_eq(shadow_update_paging_mode(v), 0);
    expect_pf(0x1000, PFEC_WRITE, PFEC_PRESENT | PFEC_WRITE);
    expect_pf(0x2000, PFEC_WRITE, PFEC_PRESENT | PFEC_WRITE);
}
END_TEST

START_TEST(pae_pdpte_cache)
{
    struct sh_fault f;
    pae_guest(0);
    w64(PT0 + 8, 0x301000 | P | RW);
    ck_assert_uint_eq(expect_ok(0x1000, 0), 0x301000);
    /* clearing PDPTE[0] in memory has no effect before a CR3 load */
    w64(PDPT, 0);
    ck_assert_uint_eq(v->guest_pdpte[0] & ~(uint64_t)0xfff, PD0);
    ck_assert_uint_eq(expect_ok(0x1000, 0), 0x301000);
    ck_assert_int_eq(shadow_update_cr3(v, &f), SH_FIXED);
    expect_pf(0x1000, 0, 0);
    /* reserved bits in a present PDPTE: #GP(0) at CR3 load, nothing changes */
    w64(PDPT, PD0 | P | RW);                         /* bit 1 is reserved */
    ck_assert_int_eq(shadow_update_cr3(v, &f), SH_REFLECT);
    ck_assert_int_eq(f.vector, X86_EXC_GP);
    ck_assert_uint_eq(f.pfec, 0);
    ck_assert_uint_eq(v->guest_pdpte[0], 0);
    w64(PDPT, PD0 | P | (1ULL << 63));
    ck_assert_int_eq(shadow_update_cr3(v, &f), SH_REFLECT);
    w64(PDPT, PD0 | P);
    ck_assert_int_eq(shadow_update_cr3(v, &f), SH_FIXED);
    ck_assert_uint_eq(expect_ok(0x1000, 0), 0x301000);
}
END_TEST

struct count { unsigned n, pinned, l2; };
static bool count_cb(const struct shadow_info *si, void *arg)
{
    struct count *c = arg;
    c->n++;
    c->pinned += si->pinned;
    c->l2 += !strcmp(si->type, "l2_pae");
    return true;
}

/*
 * The exit summary's two forms say the same (summary=short, the default, and
 * summary=full): every counter of the full form that is non-zero appears
 * exactly once in a grouped "[GROUP] NAME=V ..." line with the same value and
 * under its own group, no zero appears there, no line is longer than the wrap
 * (+ prefix), and "N of M counters non-zero" counts them.
 */
static void check_summary_forms(void)
{
    sim_log_reset();
    shadow_print_stats(dom, true);
    char *full = strdup(sim_log_text());
    sim_log_reset();
    shadow_print_stats(dom, false);
    char *grp = strdup(sim_log_text());
    sim_log_reset();
    unsigned total = 0, nonzero = 0, seen = 0;
    for (char *l = full; *l; ) {
        char *e = strchr(l, '\n');
        *e = '\0';
        char name[64];
        unsigned long long val;
        if (sscanf(l, "umbra: shadow: %63[a-z_0-9]=%llu", name, &val) == 2 && !strstr(l, "(ring")) {
            total++;
            char word[96];
            snprintf(word, sizeof(word), " %s=", name);
            const char *hit = NULL;
            unsigned n = 0;
            for (const char *q = grp; (q = strstr(q, word)) != NULL; q++, n++)
                hit = q;
            if (val) {
                nonzero++;
                ck_assert_msg(n == 1, "%s appears %u times in the grouped form:\n%s", name, n, grp);
                ck_assert_uint_eq(strtoull(hit + strlen(word), NULL, 10), val);
                /* on a line of its own group */
                const char *bol = hit;
                while (bol > grp && bol[-1] != '\n')
                    bol--;
                char want[64];
                snprintf(want, sizeof(want), "umbra: shadow: [%s] ", shadow_stat_group(name));
                ck_assert_msg(strncmp(bol, want, strlen(want)) == 0, "%s not under %s", name, want);
            } else {
                ck_assert_msg(n == 0, "zero counter %s shown in the grouped form", name);
            }
        }
        l = e + 1;
    }
    for (const char *l = grp; *l; ) {
        const char *e = strchr(l, '\n');
        ck_assert_msg(e - l <= 100 + (long)strlen("umbra: shadow: [unshadow] "), "long line %.*s", (int)(e - l), l);
        if (strncmp(l, "umbra: shadow: [", 16) == 0)
            for (const char *q = l; q < e; q++)
                seen += *q == '=';
        l = e + 1;
    }
    ck_assert_uint_gt(nonzero, 5);
    ck_assert_uint_eq(seen, nonzero);
    char want[128];
    snprintf(want, sizeof(want), "umbra: shadow: %u of %u counters non-zero (summary=full lists all, one a line)\n",
             nonzero, total);
    ck_assert_msg(strstr(grp, want) != NULL, "no '%s' in\n%s", want, grp);
    ck_assert(!strstr(grp, "trace_events"));   /* trace off and empty: not shown */
    free(full);
    free(grp);
}

START_TEST(pae_cr3_switch_refcounts)
{
    struct sh_fault f;
    pae_guest(0);
    /* second address space: PDPT2 -> PD2 -> PT2 */
    w64(0x20000, 0x21000 | P);
    w64(0x21000, 0x22000 | P | RW);
    w64(0x22000 + 8, 0x401000 | P | RW);
    w64(PT0 + 8, 0x301000 | P | RW);
    ck_assert_uint_eq(expect_ok(0x1000, 0), 0x301000);
    v->guest_cr3 = 0x20000;
    ck_assert_int_eq(shadow_update_cr3(v, &f), SH_FIXED);
    ck_assert_uint_eq(expect_ok(0x1000, 0), 0x401000);
    v->guest_cr3 = PDPT;
    v->tlb_flush = false;
    ck_assert_int_eq(shadow_update_cr3(v, &f), SH_FIXED);
    ck_assert(v->tlb_flush);                 /* MOV CR3 must flush the ASID */
    ck_assert_uint_eq(expect_ok(0x1000, 0), 0x301000);
    struct count c = { 0 };
    shadow_for_each(dom, count_cb, &c);
    ck_assert_uint_eq(c.l2, 3);              /* PD0, PD3, PD2: all pinned */
    ck_assert_uint_eq(c.pinned, 3);
    ck_assert_uint_eq(shadow_audit(dom), 0);
    shadow_blow_tables(dom);
    ck_assert_uint_eq(shadow_audit(dom), 0);
    memset(&c, 0, sizeof(c));
    shadow_for_each(dom, count_cb, &c);
    ck_assert_uint_eq(c.l2, 2);              /* only the in-use ones survive */
    ck_assert_uint_eq(expect_ok(0x1000, 0), 0x301000);
    sim_log_reset();
    shadow_print_stats(dom, true);
    ck_assert(sim_log_contains("umbra: shadow: cr3_hits=2\n"));
    ck_assert(sim_log_contains("umbra: shadow: teardowns="));
    ck_assert(sim_log_contains("umbra: shadow: made_l1_pae="));
    check_summary_forms();
}
END_TEST

/*
 * set_toplevel_shadow's contract on a refused top (multi_cr3.inc.c): a CR3
 * beyond guest RAM stops the guest with "guest CR3 is not in guest RAM" and
 * changes nothing (hardware CR3, the running top and its pin stay); a PAE
 * PDPTE naming a PD beyond guest RAM leaves that slot empty, the load
 * succeeds, and only an access through the slot stops.
 */
static uint64_t pinned_count(void)
{
    struct count c = { 0 };
    shadow_for_each(dom, count_cb, &c);
    return c.pinned;
}

START_TEST(cr3_outside_ram_stops)
{
    struct sh_fault f;
    gpa_t beyond = sim_ram_frames() << 12;           /* first frame past guest RAM */
    /* 2-level, then long mode: the one top-level slot */
    for (int mode = 0; mode < 2; mode++) {
        if (mode == 0) {
            w32(0x10000, 0x11000 | P | RW | US);
            w32(0x11000 + 4 * 3, 0x333000 | P | RW | US);
            ck_assert_int_eq(set_regs(CR0_ON, 0, 0, 0x10000), 0);
            ck_assert_int_eq(v->paging, GUEST_PAGING_2LEVEL);
        } else {
            w64(0x20000, 0x21000 | P | RW | US);
            w64(0x21000, 0x22000 | P | RW | US);
            w64(0x22000, 0x23000 | P | RW | US);
            w64(0x23000 + 8 * 3, 0x333000 | P | RW | US);
            ck_assert_int_eq(set_regs(CR0_ON, X86_CR4_PAE, EFER_LME, 0x20000), 0);
            ck_assert_int_eq(v->paging, GUEST_PAGING_LONG);
        }
        ck_assert_uint_eq(expect_ok(0x3abc, 0), 0x333abc);
        uint64_t hw = v->hw_cr3, pins = pinned_count();
        uint64_t keep = v->guest_cr3;
        v->guest_cr3 = beyond;
        f.why = NULL;
        ck_assert_int_eq(shadow_update_cr3(v, &f), SH_STOP);
        ck_assert_ptr_nonnull(f.why);
        ck_assert_str_eq(f.why, "guest CR3 is not in guest RAM");
        ck_assert_uint_eq(v->hw_cr3, hw);            /* nothing changed */
        ck_assert_uint_eq(pinned_count(), pins);
        v->guest_cr3 = keep;                          /* the old top still runs */
        ck_assert_uint_eq(expect_ok(0x3abc, 0), 0x333abc);
        ck_assert_uint_eq(shadow_audit(dom), 0);
    }
    /* PAE: PDPTE 1 names a PD beyond guest RAM, PDPTE 0 a good one */
    pae_guest(0);
    w64(PT0 + 8 * 3, 0x333000 | P | RW);
    w64(PDPT + 8, beyond | P);
    ck_assert_int_eq(shadow_update_cr3(v, &f), SH_FIXED);
    ck_assert_uint_eq(((uint64_t *)plat_map_mfn(v->pae_l3))[1], 0);   /* the slot is empty */
    ck_assert_uint_ne(((uint64_t *)plat_map_mfn(v->pae_l3))[0], 0);
    ck_assert_uint_eq(expect_ok(0x3abc, 0), 0x333abc);
    f.why = NULL;
    ck_assert_int_eq(access(0x40000000, 0, &f, NULL), SH_STOP);
    ck_assert_ptr_nonnull(f.why);
    ck_assert_str_eq(f.why, "guest page table is not in guest RAM");
}
END_TEST

/* Many address spaces in a small pool: prealloc unpins LRU tops, audit stays clean. */
START_TEST(pae_pool_pressure)
{
    struct sh_fault f;
    pae_guest(0);
    for (unsigned as = 0; as < 40; as++) {
        gpa_t pdpt = 0x100000 + as * 0x4000, pd = pdpt + 0x1000, pt = pdpt + 0x2000;
        w64(pdpt, pd | P);
        w64(pd, pt | P | RW);
        w64(pd + 8, (pt + 0x1000) | P | RW);
        w64(pt + 8, (0x800000 + as * 0x1000) | P | RW);
        w64(pt + 0x1000, (0x900000 + as * 0x1000) | P | RW);
        v->guest_cr3 = pdpt;
        ck_assert_int_eq(shadow_update_cr3(v, &f), SH_FIXED);
        ck_assert_uint_eq(expect_ok(0x1000, 0), 0x800000 + as * 0x1000);
        ck_assert_uint_eq(expect_ok(0x200000, PFEC_WRITE), 0x900000 + as * 0x1000);
        ck_assert_uint_eq(shadow_audit(dom), 0);
    }
    unsigned long total, nfree, live, pinned;
    shadow_pool_usage(dom, &total, &nfree, &live, &pinned);
    ck_assert_uint_le(live, total);
    sim_log_reset();
    shadow_print_stats(dom, true);
    ck_assert(!sim_log_contains("umbra: shadow: unpins=0\n"));
    ck_assert(!sim_log_contains("umbra: shadow: reclaim_unpins=0\n"));   /* by preallocation */
}
END_TEST

START_TEST(pae_pt_write_protect)
{
    struct sh_fault f;
    pae_guest(0);
    /* va 0x9000 maps the guest's own page table PT0 (writable in the guest) */
    w64(PT0 + 8 * 9, PT0 | P | RW | A | D);          /* already dirty */
    w64(PT0 + 8, 0x301000 | P | RW);
    ck_assert_uint_eq(expect_ok(0x1000, PFEC_WRITE), 0x301000);
    ck_assert_uint_eq(expect_ok(0x9008, 0), PT0 + 8);
    /* a write to the page table must be emulated */
    ck_assert_int_eq(access(0x9008, PFEC_WRITE, &f, NULL), SH_EMULATE);
    uint64_t pte = 0x305000 | P | RW | A | D;
    ck_assert_int_eq(shadow_write_guest(v, 0x9008, &pte, 8, 0, &f), SH_FIXED);
    ck_assert_uint_eq(r64(PT0 + 8), pte);
    /* the shadow follows without a fault */
    struct ref_result r;
    ck_assert(ref_hw_walk(v, 0x1000, PFEC_WRITE, false, 0, &r));
    ck_assert_uint_eq(r.pa, 0x305000);
    /* clearing P drops the shadow entry */
    pte = 0;
    ck_assert_int_eq(shadow_write_guest(v, 0x9008, &pte, 8, 0, &f), SH_FIXED);
    ck_assert(!ref_hw_walk(v, 0x1000, 0, false, 0, &r));
    expect_pf(0x1000, 0, 0);
    uint64_t back;
    ck_assert_int_eq(shadow_read_guest(v, 0x9048, &back, 8, 0, &f), SH_FIXED);
    ck_assert_uint_eq(back, PT0 | P | RW | A | D);
}
END_TEST

/*
 * A trapped frame (plat_gfn_trap_writes: the local APIC page): reads are
 * mapped, a write asks for emulation naming the frame, and no shadow entry
 * ever maps it writable -- also through a 2 MiB guest superpage (fl1) and
 * with paging off.
 */
START_TEST(trapped_frame_never_writable)
{
    struct sh_fault f = { 0 };
    struct ref_result r;
    sim_trap_gfn = 0x301;
    ck_assert_uint_eq(expect_ok(0x3000, PFEC_WRITE), 0x3000);         /* paging off: plain RAM */
    ck_assert_uint_eq(expect_ok(0x301004, 0), 0x301004);
    ck_assert_int_eq(access(0x301004, PFEC_WRITE, &f, NULL), SH_EMULATE);
    ck_assert_uint_eq(f.gfn, 0x301);
    pae_guest(0);
    w64(PT0 + 8, 0x301000 | P | RW | A | D);          /* writable and dirty in the guest */
    w64(PD0 + 8, 0x200000 | P | RW | A | D | (1ULL << 7));   /* 2 MiB page over it */
    ck_assert_uint_eq(expect_ok(0x1000, 0), 0x301000);
    f.gfn = 0;
    ck_assert_int_eq(access(0x1000, PFEC_WRITE, &f, NULL), SH_EMULATE);
    ck_assert_uint_eq(f.gfn, 0x301);
    ck_assert(!ref_hw_walk(v, 0x1000, PFEC_WRITE, false, 0, &r));
    ck_assert_uint_eq(expect_ok(0x301000, 0), 0x301000);              /* the superpage alias */
    ck_assert_int_eq(access(0x301000, PFEC_WRITE, &f, NULL), SH_EMULATE);
    ck_assert_uint_eq(expect_ok(0x302000, PFEC_WRITE), 0x302000);     /* its neighbour is plain */
    sim_trap_gfn = ~0ULL;
}
END_TEST

/* LOCK CMPXCHG on a PTE through the emulator's entry point. */
START_TEST(pae_cmpxchg_pte)
{
    struct sh_fault f;
    pae_guest(0);
    w64(PT0 + 8 * 9, PT0 | P | RW | A | D);          /* va 0x9000 -> PT0 */
    w64(PT0 + 8, 0x301000 | P | RW | A | D);
    ck_assert_uint_eq(expect_ok(0x1000, PFEC_WRITE), 0x301000);
    ck_assert_int_eq(access(0x9008, PFEC_WRITE, &f, NULL), SH_EMULATE);
    uint64_t expected = 0x999000 | P, nv = 0x305000 | P | RW | A | D;
    bool done = true;
    ck_assert_int_eq(shadow_cmpxchg_guest(v, 0x9008, &expected, &nv, 8, 0, &done, &f), SH_FIXED);
    ck_assert(!done);
    ck_assert_uint_eq(expected, 0x301000 | P | RW | A | D);      /* the current value */
    ck_assert_int_eq(shadow_cmpxchg_guest(v, 0x9008, &expected, &nv, 8, 0, &done, &f), SH_FIXED);
    ck_assert(done);
    ck_assert_uint_eq(r64(PT0 + 8), nv);
    struct ref_result r;
    ck_assert(ref_hw_walk(v, 0x1000, PFEC_WRITE, false, 0, &r));   /* revalidated */
    ck_assert_uint_eq(r.pa, 0x305000);
    /* 4-byte halves (a PAE set_pte does low then high) */
    uint32_t lo_exp = (uint32_t)nv, lo_new = 0;
    ck_assert_int_eq(shadow_cmpxchg_guest(v, 0x9008, &lo_exp, &lo_new, 4, 0, &done, &f), SH_FIXED);
    ck_assert(done);
    ck_assert(!ref_hw_walk(v, 0x1000, 0, false, 0, &r));
    /* user mode may not write a supervisor page table */
    ck_assert_int_eq(shadow_cmpxchg_guest(v, 0x9008, &lo_exp, &lo_new, 4, PFEC_USER, &done, &f),
                     SH_REFLECT);
    ck_assert_uint_eq(f.pfec, PFEC_PRESENT | PFEC_WRITE | PFEC_USER);
}
END_TEST

/* A frame mapped writable before it becomes a page table loses write access. */
START_TEST(pae_wp_on_promotion)
{
    pae_guest(0);
    w64(PT0 + 8, 0x500000 | P | RW | A | D);
    ck_assert_uint_eq(expect_ok(0x1000, PFEC_WRITE), 0x500000);
    /* now gfn 0x500 becomes the page table of va 2..4 MiB */
    w64(PD0 + 8, 0x500000 | P | RW);
    struct sh_fault f;
    /* the guest changed a PDE without a trap (PD0 not yet write-protected?
     * it is: PD0 is shadowed, so use the emulated path) */
    uint64_t pde = 0x500000 | P | RW;
    w64(PT0 + 8 * 10, PD0 | P | RW | A | D);          /* va 0xa000 -> PD0 */
    ck_assert_int_eq(shadow_write_guest(v, 0xa008, &pde, 8, 0, &f), SH_FIXED);
    w64(0x500000, 0x777000 | P);                      /* PTE for va 2 MiB */
    ck_assert_uint_eq(expect_ok(0x200000, 0), 0x777000);
    struct ref_result r;
    ck_assert(ref_hw_walk(v, 0x1000, 0, false, 0, &r));
    ck_assert(!ref_hw_walk(v, 0x1000, PFEC_WRITE, false, 0, &r));
    ck_assert_int_eq(access(0x1000, PFEC_WRITE, &f, NULL), SH_EMULATE);
}
END_TEST

static bool has_l1_of(const struct shadow_info *si, void *arg)
{
    uint64_t *g = arg;
    if (!strcmp(si->type, "l1_pae") && gfn_x(si->gfn) == *g) {
        *g = ~0ULL;
        return false;
    }
    return true;
}
static bool shadowed_as_l1(uint64_t gfn)
{
    uint64_t g = gfn;
    shadow_for_each(dom, has_l1_of, &g);
    return g == ~0ULL;
}

/* A page table written 16 times in a row without a fault is unshadowed (fork/exit). */
START_TEST(pae_unshadow_on_write_run)
{
    struct sh_fault f;
    pae_guest(0);
    const gpa_t pt1 = 0x14000;
    w64(PD0 + 8, pt1 | P | RW);                      /* va 2..4 MiB through PT1 */
    w64(pt1 + 8, 0x601000 | P | RW);
    w64(PT0 + 8 * 9, pt1 | P | RW | A | D);          /* va 0x9000 maps PT1 as data */
    ck_assert_uint_eq(expect_ok(0x201000, 0), 0x601000);
    ck_assert(shadowed_as_l1(pt1 >> 12));
    ck_assert_int_eq(access(0x9000, PFEC_WRITE, &f, NULL), SH_EMULATE);
    for (unsigned i = 0; i < 16; i++) {
        uint64_t x = 0x1111000ULL * (i + 1);         /* data, not PTEs */
        ck_assert(shadowed_as_l1(pt1 >> 12));
        ck_assert_int_eq(shadow_write_guest(v, 0x9800 + 8 * i, &x, 8, 0, &f), SH_FIXED);
    }
    ck_assert(!shadowed_as_l1(pt1 >> 12));
    ck_assert_uint_eq(shadow_audit(dom), 0);
    ck_assert_uint_eq(expect_ok(0x9000, PFEC_WRITE), pt1);   /* plain write now */
    /* used as a page table again: reshadowed and write-protected again */
    ck_assert_uint_eq(expect_ok(0x201000, 0), 0x601000);
    ck_assert(shadowed_as_l1(pt1 >> 12));
    ck_assert_int_eq(access(0x9000, PFEC_WRITE, &f, NULL), SH_EMULATE);
    sim_log_reset();
    shadow_print_stats(dom, true);
    ck_assert(sim_log_contains("umbra: shadow: unshadows=1\n"));
}
END_TEST

START_TEST(pae_umbra_frame_stops)
{
    pae_guest(0);
    uint64_t umbra = mfn_x(sim_pool_base()) << 12;
    w64(PT0 + 8, umbra | P | RW);
    struct sh_fault f;
    ck_assert_int_eq(access(0x1000, 0, &f, NULL), SH_STOP);
    ck_assert_ptr_nonnull(f.why);
    w64(PD0 + 8, umbra | P | RW);                    /* a page table in the pool */
    ck_assert_int_eq(access(0x200000, 0, &f, NULL), SH_STOP);
}
END_TEST

START_TEST(pae_invlpg)
{
    pae_guest(0);
    w64(PT0 + 8, 0x301000 | P | RW);
    ck_assert_uint_eq(expect_ok(0x1000, 0), 0x301000);
    struct shadow_walk_info wi;
    shadow_walk_va(v, 0x1000, &wi);
    ck_assert(wi.lv[2].s_entry & P);
    shadow_invlpg(v, 0x1000);
    ck_assert_uint_eq(sim_last_flush_va, 0x1000);
    shadow_walk_va(v, 0x1000, &wi);
    ck_assert(wi.lv[1].s_entry & P);                 /* the l2 entry stays */
    ck_assert(!(wi.lv[2].s_entry & P));
}
END_TEST

/* SMAP: judged by the walker when the caller states AC, else by the hardware. */
START_TEST(pae_smap)
{
    struct sh_fault f;
    w64(PDPT, PD0 | P);
    w64(PD0, PT0 | P | RW | US);
    w64(PT0 + 8, 0x301000 | P | RW | US | A | D);
    ck_assert_int_eq(set_regs(CR0_ON, X86_CR4_PAE | X86_CR4_SMAP, EFER_NXE, PDPT), 0);
    ck_assert(v->hw_cr4 & X86_CR4_SMAP);
    /* AC = 0 stated: reflected at once, guest A/D untouched */
    w64(PT0 + 16, 0x302000 | P | RW | US);
    ck_assert_int_eq(shadow_page_fault(v, 0x2000, PFEC_WRITE | SH_PFEC_NOAC, &f), SH_REFLECT);
    ck_assert_uint_eq(f.pfec, PFEC_PRESENT | PFEC_WRITE);
    ck_assert_uint_eq(r64(PT0 + 16) & (A | D), 0);
    /* AC = 1 stated: allowed, A/D set */
    ck_assert_int_eq(shadow_page_fault(v, 0x2000, PFEC_WRITE | SH_PFEC_AC, &f), SH_FIXED);
    ck_assert_uint_eq(r64(PT0 + 16) & (A | D), A | D);
    /* AC unknown: the shadow keeps U, so the hardware (here the reference MMU
     * with AC = 0) faults again with P set: the handler reflects it */
    ck_assert_int_eq(shadow_page_fault(v, 0x1000, 0, &f), SH_FIXED);
    struct ref_result r;
    ck_assert(!ref_hw_walk(v, 0x1000, 0, false, 0, &r));
    ck_assert_uint_eq(r.pfec, PFEC_PRESENT);
    ck_assert_int_eq(shadow_page_fault(v, 0x1000, r.pfec, &f), SH_REFLECT);
    ck_assert_uint_eq(f.pfec, PFEC_PRESENT);
    ck_assert(ref_hw_walk(v, 0x1000, 0, true, 0, &r));   /* with AC = 1 it runs */
    /* emulated accesses: AC from SH_PFEC_AC */
    uint32_t x = 7;
    ck_assert_int_eq(shadow_write_guest(v, 0x1000, &x, 4, 0, &f), SH_REFLECT);
    ck_assert_uint_eq(f.pfec, PFEC_PRESENT | PFEC_WRITE);
    ck_assert_int_eq(shadow_write_guest(v, 0x1000, &x, 4, SH_PFEC_AC, &f), SH_FIXED);
    ck_assert_uint_eq(r32(0x301000), 7);
    /* fetches are not SMAP's business; SMEP forbids them only with CR4.SMEP */
    ck_assert_int_eq(shadow_read_guest(v, 0x1000, &x, 4, PFEC_INSN, &f), SH_FIXED);
}
END_TEST

/* Accesses that cross a page: both pages are checked before a byte moves. */
START_TEST(pae_cross_page_access)
{
    struct sh_fault f;
    pae_guest(0);
    w64(PT0 + 8, 0x301000 | P | RW | A | D);
    w64(PT0 + 16, 0x302000 | P | A);                 /* read-only */
    uint64_t x = 0x1122334455667788ULL;
    ck_assert_int_eq(shadow_write_guest(v, 0x1ffc, &x, 8, 0, &f), SH_REFLECT);
    ck_assert_uint_eq(f.cr2, 0x2000);
    ck_assert_uint_eq(f.pfec, PFEC_PRESENT | PFEC_WRITE);
    ck_assert_uint_eq(r32(0x301ffc), 0);                  /* nothing written */
    w64(PT0 + 16, 0x302000 | P | RW | A);
    ck_assert_int_eq(shadow_write_guest(v, 0x1ffc, &x, 8, 0, &f), SH_FIXED);
    ck_assert_uint_eq(r32(0x301ffc), 0x55667788);
    ck_assert_uint_eq(r32(0x302000), 0x11223344);
    ck_assert(r64(PT0 + 16) & D);
    uint64_t y;
    ck_assert_int_eq(shadow_read_guest(v, 0x1ffc, &y, 8, 0, &f), SH_FIXED);
    ck_assert_uint_eq(y, x);
}
END_TEST

/*
 * The fetch translation (common.c guest_fetch, invariant F).  Each step
 * changes the guest's tables natively (sim_guest_write: what the shadow does
 * not see, as an out-of-sync table's PTE write), then makes one of the
 * invalidations that must drop the cached translation, and checks that the
 * next fetch walks again: it reads the new frame, or faults as the new entry
 * says.  Also: a supervisor fetch's translation does not serve a user fetch.
 */
static uint32_t fetch32(gva_t va, uint32_t acc, enum sh_result want)
{
    struct sh_fault f;
    uint32_t x = 0;
    ck_assert_int_eq(shadow_read_guest(v, va, &x, 4, PFEC_INSN | acc, &f), want);
    return x;
}

START_TEST(pae_fetch_translation)
{
    pae_guest(EFER_NXE);
    w32(0x301010, 0x11111111);
    w32(0x302010, 0x22222222);
    w32(0x303010, 0x33333333);
    w64(PT0 + 8, 0x301000 | P | A);                     /* code at va 0x1000, supervisor */
    ck_assert_uint_eq(fetch32(0x1010, 0, SH_FIXED), 0x11111111);
    ck_assert(r64(PT0 + 8) & A);
    /* the user bit is part of the key: a user fetch of a supervisor page faults */
    fetch32(0x1010, PFEC_USER, SH_REFLECT);
    /* INVLPG of the page */
    w64(PT0 + 8, 0x302000 | P | A);
    shadow_invlpg(v, 0x1abc);
    ck_assert_uint_eq(fetch32(0x1010, 0, SH_FIXED), 0x22222222);
    /* an INVLPG elsewhere keeps it (the guest's TLB may), one of the page drops it */
    w64(PT0 + 8, 0x303000 | P | A);
    shadow_invlpg(v, 0x5000);
    uint32_t x = fetch32(0x1010, 0, SH_FIXED);
    ck_assert(x == 0x22222222 || x == 0x33333333);
    shadow_invlpg(v, 0x1000);
    ck_assert_uint_eq(fetch32(0x1010, 0, SH_FIXED), 0x33333333);
    /* a CR3 load */
    w64(PT0 + 8, 0x301000 | P | A);
    struct sh_fault f;
    ck_assert_int_eq(shadow_update_cr3(v, &f), SH_FIXED);
    ck_assert_uint_eq(fetch32(0x1010, 0, SH_FIXED), 0x11111111);
    /* a CR4 write (the rights: NX comes from EFER, SMEP from CR4) */
    w64(PT0 + 8, 0x302000 | P | A);
    v->guest_cr4 |= X86_CR4_SMEP;
    ck_assert_int_eq(shadow_update_paging_mode(v), 0);
    ck_assert_uint_eq(fetch32(0x1010, 0, SH_FIXED), 0x22222222);
    /* a page-table write the shadow sees, to a table the fetch walked */
    w64(PT0 + 5 * 8, PT0 | P | RW | A | D);             /* PT0 itself at va 0x5000 */
    ck_assert_uint_eq(expect_ok(0x5000, 0), PT0);        /* PT0 is shadowed from here on */
    uint64_t e = 0x303000ULL | P | A | (1ULL << 63);    /* NX now */
    ck_assert_int_eq(shadow_write_guest(v, 0x5000 + 8, &e, 8, 0, &f), SH_FIXED);
    fetch32(0x1010, 0, SH_REFLECT);
    e &= ~(1ULL << 63);
    ck_assert_int_eq(shadow_write_guest(v, 0x5000 + 8, &e, 8, 0, &f), SH_FIXED);
    ck_assert_uint_eq(fetch32(0x1010, 0, SH_FIXED), 0x33333333);
    /* a 2 MiB page: an INVLPG anywhere in it drops it */
    w64(PD0 + 8, 0x600000 | P | A | PS);
    w32(0x634010, 0x44444444);
    w32(0x834010, 0x55555555);
    ck_assert_uint_eq(fetch32(0x234010, 0, SH_FIXED), 0x44444444);
    w64(PD0 + 8, 0x800000 | P | A | PS);
    shadow_invlpg(v, 0x3ff000);
    ck_assert_uint_eq(fetch32(0x234010, 0, SH_FIXED), 0x55555555);
}
END_TEST

/* shadow_peek_guest() (paging_ops.read_guest, svm.h): judged as the guest's
 * own access, nothing written -- where shadow_read_guest() sets A. */
START_TEST(pae_peek_sets_nothing)
{
    struct sh_fault f;
    pae_guest(0);
    w64(PT0 + 8, 0x301000 | P | RW);                 /* no A, no D */
    w64(PT0 + 16, 0x302000 | P);                     /* supervisor, no A */
    w64(PT0 + 32, (64ULL << 20) | P);                /* the first frame past RAM */
    w32(0x301ffc, 0x11223344);
    w32(0x302000, 0x55667788);
    const uint64_t pdpte = r64(PDPT), pde = r64(PD0), pte1 = r64(PT0 + 8), pte2 = r64(PT0 + 16);
    uint64_t y = 0;
    ck_assert_int_eq(shadow_peek_guest(v, 0x1ffc, &y, 8, 0, &f), SH_FIXED);   /* across the page */
    ck_assert_uint_eq(y, 0x5566778811223344ULL);
    ck_assert_uint_eq(r64(PDPT), pdpte);
    ck_assert_uint_eq(r64(PD0), pde);
    ck_assert_uint_eq(r64(PT0 + 8), pte1);
    ck_assert_uint_eq(r64(PT0 + 16), pte2);
    /* a user read of the supervisor page faults as the guest's would */
    ck_assert_int_eq(shadow_peek_guest(v, 0x2000, &y, 4, PFEC_USER, &f), SH_REFLECT);
    ck_assert_uint_eq(f.cr2, 0x2000);
    ck_assert_uint_eq(f.pfec, PFEC_PRESENT | PFEC_USER);
    ck_assert_int_eq(shadow_peek_guest(v, 0x3000, &y, 4, 0, &f), SH_REFLECT);   /* not present */
    ck_assert_uint_eq(f.pfec, 0);
    ck_assert_int_ne(shadow_peek_guest(v, 0x4000, &y, 4, 0, &f), SH_FIXED);     /* not RAM */
    ck_assert_uint_eq(r64(PD0), pde);
    ck_assert_uint_eq(r64(PT0 + 16), pte2);
    ck_assert_uint_eq(r64(PT0 + 32), (64ULL << 20) | P);
    /* the emulator's read sets A on every entry it used */
    ck_assert_int_eq(shadow_read_guest(v, 0x1ffc, &y, 8, 0, &f), SH_FIXED);
    ck_assert_uint_eq(r64(PT0 + 8) & (A | D), A);
    ck_assert_uint_eq(r64(PT0 + 16) & (A | D), A);
    ck_assert(r64(PD0) & A);
}
END_TEST

/* Two vCPUs on one domain share the shadows of a shared address space. */
START_TEST(pae_two_vcpus)
{
    static struct shadow_vcpu v2;        /* the domain keeps a pointer to it */
    struct sh_fault f;
    pae_guest(0);
    w64(PT0 + 8, 0x301000 | P | RW);
    ck_assert_uint_eq(expect_ok(0x1000, 0), 0x301000);
    ck_assert_int_eq(shadow_vcpu_init(&v2, dom), 0);
    ck_assert(!mfn_eq(v2.pae_l3, v->pae_l3));
    v2.guest_cr0 = CR0_ON;
    v2.guest_cr4 = X86_CR4_PAE;
    v2.guest_cr3 = PDPT;
    ck_assert_int_eq(shadow_update_paging_mode(&v2), 0);
    ck_assert(mfn_eq(v2.toplevel[0], v->toplevel[0]));   /* the same l2 shadow */
    struct ref_result r;
    ck_assert(ref_hw_walk(&v2, 0x1000, 0, false, 0, &r));   /* no fault needed */
    ck_assert_uint_eq(r.pa, 0x301000);
    ck_assert_uint_eq(shadow_audit(dom), 0);
    v2.guest_cr3 = 0x20000;
    w64(0x20000, PD0 | P);
    ck_assert_int_eq(shadow_update_cr3(&v2, &f), SH_FIXED);
    ck_assert_uint_eq(shadow_audit(dom), 0);
}
END_TEST

/* Refcounts: leaving an address space keeps it pinned; unpinning kills the subtree. */
START_TEST(pae_destroy_subtree)
{
    struct sh_fault f;
    pae_guest(0);
    w64(PT0 + 8, 0x301000 | P | RW);
    ck_assert_uint_eq(expect_ok(0x1000, 0), 0x301000);
    ck_assert(shadowed_as_l1(PT0 >> 12));
    w64(0x20000, 0x21000 | P);
    v->guest_cr3 = 0x20000;
    ck_assert_int_eq(shadow_update_cr3(v, &f), SH_FIXED);
    ck_assert(shadowed_as_l1(PT0 >> 12));            /* PD0 still pinned */
    shadow_blow_tables(dom);                         /* unpins what is not in use */
    ck_assert(!shadowed_as_l1(PT0 >> 12));
    sim_log_reset();
    shadow_print_stats(dom, true);
    ck_assert(sim_log_contains("umbra: shadow: destroyed_l1_pae=1\n"));
    ck_assert(sim_log_contains("umbra: shadow: destroyed_l2_pae=2\n"));
}
END_TEST

/*
 * A full teardown (monitor blow, or prealloc when unpinning is not enough)
 * leaves the running address space usable: its accesses refault and are
 * fixed, and the audit stays clean.  The per-vCPU PDPT must survive it: the
 * hardware loads the PDPTEs from it, and nothing refills them on a #PF.
 */
START_TEST(pae_blow_in_use)
{
    pae_guest(0);
    w64(PT0 + 8, 0x301000 | P | RW);
    w64(PD3, 0x400000 | P | RW | US | A | D | PS);   /* 2 MiB page at 3 GiB */
    ck_assert_uint_eq(expect_ok(0x1000, PFEC_WRITE), 0x301000);
    ck_assert_uint_eq(expect_ok(0xc0000000 + 0x234, 0), 0x400234);
    uint64_t *l3 = plat_map_mfn(v->pae_l3);
    uint64_t before[4] = { l3[0], l3[1], l3[2], l3[3] };
    shadow_blow_tables(dom);
    for (int i = 0; i < 4; i++)
        ck_assert_msg(l3[i] == before[i], "PDPT slot %d %#llx, was %#llx", i,
                      (unsigned long long)l3[i], (unsigned long long)before[i]);
    ck_assert_uint_eq(shadow_audit(dom), 0);
    ck_assert_uint_eq(expect_ok(0x1000, PFEC_WRITE), 0x301000);
    ck_assert_uint_eq(expect_ok(0xc0000000 + 0x234, PFEC_USER), 0x400234);
    ck_assert_uint_eq(shadow_audit(dom), 0);
}
END_TEST

/* ---- 2-level ---------------------------------------------------------------- */

START_TEST(l2_basic_and_pse)
{
    w32(0x10000, 0x11000 | P | RW | US);
    w32(0x11000 + 4 * 3, 0x333000 | P | RW | US);
    w32(0x10000 + 4 * 1, 0x800000 | P | RW | PS);   /* 4 MiB at va 4 MiB */
    ck_assert_int_eq(set_regs(CR0_ON, X86_CR4_PSE, 0, 0x10000), 0);
    ck_assert_int_eq(v->paging, GUEST_PAGING_2LEVEL);
    ck_assert(!(v->hw_cr4 & X86_CR4_PAE));
    ck_assert_uint_eq(expect_ok(0x3abc, PFEC_USER | PFEC_WRITE), 0x333abc);
    ck_assert_uint_eq(r32(0x11000 + 12) & (A | D), A | D);
    ck_assert_uint_eq(expect_ok(0x7ff000, PFEC_WRITE), 0xbff000);
    expect_pf(0x400000, PFEC_USER, PFEC_PRESENT | PFEC_USER);
    w32(0x10000 + 4 * 2, 0xc00000 | (1u << 21) | P | PS);     /* bit 21 reserved */
    expect_pf(0x800000, 0, PFEC_PRESENT | PFEC_RSVD);
    expect_pf(0x5000, PFEC_INSN, 0);                 /* no I/D without NX/SMEP */
    /* without CR4.PSE the PS bit is ignored: the PDE points at a page table */
    w32(0x10000 + 4 * 3, 0x12000 | P | RW | PS);
    w32(0x12000, 0x444000 | P);
    ck_assert_int_eq(set_regs(CR0_ON, 0, 0, 0x10000), 0);
    ck_assert_uint_eq(expect_ok(0xc00000, 0), 0x444000);
}
END_TEST

/* ---- long mode -------------------------------------------------------------- */

START_TEST(long_basic)
{
    w64(0x10000 + 8 * 1, 0x11000 | P | RW | US);     /* L4[1]: 512 GiB */
    w64(0x11000, 0x12000 | P | RW | US);
    w64(0x12000, 0x13000 | P | RW | US);
    w64(0x13000 + 8 * 2, 0x222000 | P | RW | US | NX);
    w64(0x12000 + 8, 0x400000 | P | RW | PS);        /* 2 MiB */
    ck_assert_int_eq(set_regs(CR0_ON, X86_CR4_PAE, EFER_LME | EFER_NXE, 0x10000), 0);
    ck_assert_int_eq(v->paging, GUEST_PAGING_LONG);
    ck_assert(v->guest_efer & EFER_LMA);
    ck_assert((v->hw_efer & (EFER_LME | EFER_LMA)) == (EFER_LME | EFER_LMA));
    gva_t base = 1ULL << 39;
    ck_assert_uint_eq(expect_ok(base + 0x2010, PFEC_USER | PFEC_WRITE), 0x222010);
    expect_pf(base + 0x2010, PFEC_INSN, PFEC_PRESENT | PFEC_INSN);
    ck_assert_uint_eq(expect_ok(base + 0x212345, 0), 0x412345);
    expect_pf(base + 0x212345, PFEC_USER, PFEC_PRESENT | PFEC_USER);
    /* non-canonical: #GP, not #PF */
    struct sh_fault f;
    uint64_t x;
    ck_assert_int_eq(shadow_read_guest(v, 0x0000800000000000ULL, &x, 8, 0, &f), SH_REFLECT);
    ck_assert_int_eq(f.vector, X86_EXC_GP);
    /* bits 62:52 are ignored in long mode, bit 51 above MAXPHYADDR is not */
    w64(0x13000 + 8 * 3, (1ULL << 60) | 0x223000 | P);
    ck_assert_uint_eq(expect_ok(base + 0x3000, 0), 0x223000);
    w64(0x13000 + 8 * 4, (1ULL << 51) | 0x224000 | P);
    expect_pf(base + 0x4000, 0, PFEC_PRESENT | PFEC_RSVD);
    w64(0x10000 + 8 * 2, 0x11000 | P | PS);          /* PS in a PML4E */
    expect_pf(2ULL << 39, 0, PFEC_PRESENT | PFEC_RSVD);
}
END_TEST

START_TEST(long_1g_pages)
{
    sim_features.pdpe1gb = true;
    w64(0x10000, 0x11000 | P | RW | US);
    w64(0x11000 + 8 * 1, 0x0 | P | RW | US | PS);    /* va 1 GiB -> pa 0, 1 GiB page */
    w64(0x11000 + 8 * 2, (1ULL << 13) | P | PS);     /* bit 13 reserved in a 1 GiB PDPE */
    ck_assert_int_eq(set_regs(CR0_ON, X86_CR4_PAE, EFER_LME | EFER_NXE, 0x10000), 0);
    ck_assert_uint_eq(expect_ok((1ULL << 30) + 0x345678, PFEC_USER), 0x345678);
    ck_assert(!(r64(0x11000 + 8) & D));
    ck_assert_uint_eq(expect_ok((1ULL << 30) + 0x3ff0000, PFEC_WRITE), 0x3ff0000);
    ck_assert(r64(0x11000 + 8) & D);
    expect_pf(2ULL << 30, 0, PFEC_PRESENT | PFEC_RSVD);
    ck_assert_uint_eq(shadow_audit(dom), 0);
    shadow_invlpg(v, (1ULL << 30) + 0x345000);
    struct shadow_walk_info wi;
    shadow_walk_va(v, (1ULL << 30) + 0x345000, &wi);
    ck_assert(!(wi.lv[1].s_entry & P));             /* the l3 link to the fl2 went */
    ck_assert_uint_eq(expect_ok((1ULL << 30) + 0x345000, 0), 0x345000);
    /* without the feature the PS bit in a PDPE is reserved */
    sim_features.pdpe1gb = false;
    shadow_invlpg(v, (1ULL << 30) + 0x345000);
    expect_pf((1ULL << 30) + 0x345000, 0, PFEC_PRESENT | PFEC_RSVD);
}
END_TEST

/* PKU: the leaf's protection key reaches the shadow; a PK fault is the guest's. */
START_TEST(long_pkeys)
{
    struct sh_fault f;
    w64(0x10000, 0x11000 | P | RW | US);
    w64(0x11000, 0x12000 | P | RW | US);
    w64(0x12000, 0x13000 | P | RW | US);
    w64(0x12000 + 8, 0x400000 | P | RW | US | PS | (5ULL << 59));   /* 2 MiB, key 5 */
    w64(0x13000 + 8, 0x222000 | P | RW | US | (3ULL << 59));        /* key 3 */
    ck_assert_int_eq(set_regs(CR0_ON, X86_CR4_PAE | X86_CR4_PKE, EFER_LME, 0x10000), 0);
    ck_assert(v->hw_cr4 & X86_CR4_PKE);
    ck_assert_uint_eq(expect_ok(0x1000, PFEC_USER), 0x222000);
    struct shadow_walk_info wi;
    shadow_walk_va(v, 0x1000, &wi);
    ck_assert_uint_eq((wi.lv[3].s_entry >> 59) & 0xf, 3);
    ck_assert_uint_eq(expect_ok(0x234000, PFEC_USER), 0x434000);
    shadow_walk_va(v, 0x234000, &wi);
    ck_assert_uint_eq((wi.lv[3].s_entry >> 59) & 0xf, 5);
    /* the hardware reports a PK fault on a present, correct entry: reflected as is */
    ck_assert_int_eq(shadow_page_fault(v, 0x1000, PFEC_PRESENT | PFEC_USER | PFEC_PK, &f),
                     SH_REFLECT);
    ck_assert_uint_eq(f.pfec, PFEC_PRESENT | PFEC_USER | PFEC_PK);
}
END_TEST

/* ---- physical mode and mode changes ---------------------------------------- */

START_TEST(phys_mode)
{
    ck_assert_int_eq(v->paging, GUEST_PAGING_OFF);
    ck_assert(v->hw_cr0 & X86_CR0_PG);
    ck_assert(v->hw_cr4 & X86_CR4_PAE);
    ck_assert_uint_eq(expect_ok(0x123456, PFEC_WRITE | PFEC_USER), 0x123456);
    ck_assert_uint_eq(expect_ok(0x3ffffff, PFEC_INSN), 0x3ffffff);
    struct sh_fault f;
    uint64_t umbra = mfn_x(sim_pool_base()) << 12;
    ck_assert_int_eq(access(umbra, 0, &f, NULL), SH_STOP);
    gpa_t gpa;
    ck_assert(shadow_gva_to_gpa(v, 0x5000, &gpa));
    ck_assert_uint_eq(gpa, 0x5000);
    /* paging on, then off again: shadows of the old mode go */
    pae_guest(0);
    ck_assert_int_eq(set_regs(X86_CR0_PE | X86_CR0_ET, 0, 0, 0), 0);
    ck_assert_int_eq(v->paging, GUEST_PAGING_OFF);
    ck_assert_uint_eq(expect_ok(0x777000, 0), 0x777000);
}
END_TEST

START_TEST(mode_change_gp_on_bad_pdpte)
{
    w64(PDPT, PD0 | P | (1ULL << 5));               /* reserved bit 5 */
    ck_assert_int_eq(set_regs(CR0_ON, X86_CR4_PAE, 0, PDPT), 1);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("shadow_unit");
    TCase *t = tcase_create("pae");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_add_test(t, pae_hw_regs);
    tcase_add_test(t, pae_ad_bits);
    tcase_add_test(t, pae_not_present_codes);
    tcase_add_test(t, pae_protection_codes);
    tcase_add_test(t, pae_reserved_bits);
    tcase_add_test(t, pae_superpage);
    tcase_add_test(t, pae_wp0);
    tcase_add_test(t, pae_pdpte_cache);
    tcase_add_test(t, pae_cr3_switch_refcounts);
    tcase_add_test(t, cr3_outside_ram_stops);
    tcase_add_test(t, pae_pt_write_protect);
    tcase_add_test(t, trapped_frame_never_writable);
    tcase_add_test(t, pae_wp_on_promotion);
    tcase_add_test(t, pae_umbra_frame_stops);
    tcase_add_test(t, pae_unshadow_on_write_run);
    tcase_add_test(t, pae_smap);
    tcase_add_test(t, pae_cmpxchg_pte);
    tcase_add_test(t, pae_cross_page_access);
    tcase_add_test(t, pae_fetch_translation);
    tcase_add_test(t, pae_peek_sets_nothing);
    tcase_add_test(t, pae_two_vcpus);
    tcase_add_test(t, pae_destroy_subtree);
    tcase_add_test(t, pae_blow_in_use);
    tcase_add_test(t, pae_invlpg);
    suite_add_tcase(s, t);
    t = tcase_create("other_modes");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_add_test(t, l2_basic_and_pse);
    tcase_add_test(t, long_basic);
    tcase_add_test(t, long_1g_pages);
    tcase_add_test(t, long_pkeys);
    tcase_add_test(t, phys_mode);
    tcase_add_test(t, mode_change_gp_on_bad_pdpte);
    suite_add_tcase(s, t);
    t = tcase_create("small_pool");          /* 48 frames: prealloc must unpin */
    tcase_add_checked_fixture(t, small_pool, teardown);
    tcase_add_test(t, pae_pool_pressure);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    Suite *s = suite();
    SRunner *r = srunner_create(s);
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
