/*
 * The reverse map and pool reclaim, hosted:
 *   - one frame mapped writable at 20480 virtual addresses becomes a page
 *     table: write-protection clears exactly those mappings (counted), visits
 *     only the reverse-map chain, and every alias write then lands and
 *     revalidates the new table;
 *   - the audit notices a reverse map that disagrees with the shadows (both
 *     ways), and a 2-level (1024-entry, two companions) shadow is kept too;
 *   - the unshadow heuristics (user-mode write, zeroing run, unused-table
 *     run) each fire when they should and not before, shadow_unshadow_gfn()
 *     drops a table and refuses an in-use top level;
 *   - reclaim order: at every pool size from the minimum shadow_domain_init()
 *     accepts, loading address space after address space reclaims the least
 *     recently loaded first (the live top levels are always a prefix of the
 *     recency order), never the current one, with the audit clean each step.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/shadow/private.h"
#include "sim_platform.h"
#include "refmmu.h"
#include "shadow_touch.h"

#define P   _PAGE_PRESENT
#define RW  _PAGE_RW
#define A   _PAGE_ACCESSED
#define D   _PAGE_DIRTY
#define CR0_ON (X86_CR0_PG | X86_CR0_PE | X86_CR0_WP | X86_CR0_ET)

static struct shadow_domain *dom;
static struct shadow_vcpu vc, *v = &vc;

static void start(unsigned long pool)
{
    sim_init(64ULL << 20, pool);
    dom = shadow_domain_init(sim_pool_base(), sim_pool_frames());
    ck_assert_ptr_nonnull(dom);
    ck_assert_int_eq(shadow_vcpu_init(v, dom), 0);
}

static void finish(void)
{
    unsigned long e = shadow_audit(dom);
    if (e)
        sim_log_dump(stderr);
    ck_assert_uint_eq(e, 0);
    sim_fini();
}

static void w64(gpa_t a, uint64_t x) { sim_guest_write(a, x, 8); }
static void w32(gpa_t a, uint32_t x) { sim_guest_write(a, x, 4); }

/* One access as the CPU under Umbra runs it (shadow_touch.h); ~0 if emulated. */
static uint64_t touch(gva_t va, uint32_t acc) { return shadow_touch(v, va, acc); }

static uint64_t shadow_leaf(gva_t va)
{
    struct shadow_walk_info wi;
    unsigned n = shadow_walk_va(v, va, &wi);
    ck_assert(wi.lv[n - 1].s_valid);
    return wi.lv[n - 1].s_entry;
}

/* PAE: PDPT 0x10000 -> PD 0x11000; PTs from 0x100000; frame X aliased. */
#define PDPT 0x10000ULL
#define PD0  0x11000ULL
#define PTS  0x100000ULL
#define X    0x400000ULL
#define NPT  40u                     /* 40 x 512 = 20480 aliases */
#define NEWT (100ULL << 21)          /* VA range X maps once it is a table */
#define DATA 0x800000ULL

START_TEST(alias_20480)
{
    start(256);
    w64(PDPT, PD0 | P);
    for (unsigned t = 0; t < NPT; t++) {
        w64(PD0 + 8 * t, (PTS + t * 0x1000ULL) | P | RW | A);
        for (unsigned i = 0; i < 512; i++)
            w64(PTS + t * 0x1000ULL + 8 * i, X | P | RW | A | D);
    }
    v->guest_cr0 = CR0_ON;
    v->guest_cr4 = X86_CR4_PAE;
    v->guest_efer = 0;
    v->guest_cr3 = PDPT;
    ck_assert_int_eq(shadow_update_paging_mode(v), 0);
    for (unsigned a = 0; a < NPT * 512; a++)
        ck_assert_uint_eq(touch((gva_t)a << 12, PFEC_WRITE), X);
    for (unsigned a = 0; a < NPT * 512; a += 97)
        ck_assert(shadow_leaf((gva_t)a << 12) & RW);
    ck_assert_uint_eq(shadow_audit(dom), 0);

    uint64_t rem0 = dom->c.wp_removed, vis = dom->c.wp_rmap_visits;
    /* X becomes a page table: linked at PD slot 100 and used. */
    w64(X, DATA | P | A);
    w64(PD0 + 8 * 100, X | P | RW | A);
    ck_assert_uint_eq(touch(NEWT, 0), DATA);
    ck_assert_uint_eq(dom->c.wp_removed - rem0, NPT * 512);
    /* Only X's chain is visited: its 20480 slots plus other frames in the bucket. */
    ck_assert_uint_le(dom->c.wp_rmap_visits - vis, NPT * 512 + 64);
    for (unsigned a = 0; a < NPT * 512; a++)
        ck_assert_msg(!(shadow_leaf((gva_t)a << 12) & RW), "alias %u still writable", a);
    ck_assert_uint_eq(shadow_audit(dom), 0);

    /* Every alias write lands in the table and takes effect after INVLPG. */
    for (unsigned a = 0; a < NPT * 512; a += 37) {
        unsigned k = a % 512;
        uint64_t pte = (DATA + (uint64_t)(a % 64) * 0x1000) | P | RW | A | D;
        ck_assert_uint_eq(touch((gva_t)a << 12, PFEC_WRITE), ~0ULL);   /* emulate */
        struct sh_fault f;
        ck_assert_int_eq(shadow_write_guest(v, ((gva_t)a << 12) + 8 * k, &pte, 8, 0, &f),
                         SH_FIXED);
        ck_assert_uint_eq(sim_guest_read(X + 8 * k, 8), pte);
        shadow_invlpg(v, NEWT + ((gva_t)k << 12));
        ck_assert_uint_eq(touch(NEWT + ((gva_t)k << 12) + 0x10, 0), (pte & ~0xfffULL) + 0x10);
    }
    finish();
}
END_TEST

/* The audit sees a reverse map that disagrees with the shadows. */
START_TEST(audit_catches_rmap)
{
    start(128);
    w64(PDPT, PD0 | P);
    w64(PD0, PTS | P | RW | A);
    w64(PTS + 8 * 3, DATA | P | RW | A | D);
    v->guest_cr0 = CR0_ON;
    v->guest_cr4 = X86_CR4_PAE;
    v->guest_cr3 = PDPT;
    ck_assert_int_eq(shadow_update_paging_mode(v), 0);
    ck_assert_uint_eq(touch(0x3000, PFEC_WRITE), DATA);
    ck_assert_uint_eq(shadow_audit(dom), 0);
    struct shadow_walk_info wi;
    shadow_walk_va(v, 0x3000, &wi);
    uint64_t *se = sim_phys((mfn_x(wi.lv[2].s_mfn) << 12) + 8 * 3);
    uint64_t keep = *se;
    *se &= ~(uint64_t)RW;                 /* linked but no longer writable */
    ck_assert_uint_gt(shadow_audit(dom), 0);
    ck_assert(sim_log_contains("shadow: audit: rmap: "));
    *se = keep | 0;                       /* writable again, linked: clean */
    ck_assert_uint_eq(shadow_audit(dom), 0);
    se[1] = (DATA + 0x1000) | P | RW | A | D;   /* writable but never linked */
    ck_assert_uint_gt(shadow_audit(dom), 0);
    se[1] = 0;
    sim_log_reset();
    finish();
}
END_TEST

/* 2-level: 1024 entries, entry 1000 lives in the second companion. */
START_TEST(two_level_wp)
{
    start(64);
    w32(0x20000, 0x21000 | P | RW | A);           /* PD[0] -> PT */
    w32(0x21000 + 4 * 1000, 0x30000 | P | RW | A | D);
    w32(0x21000 + 4 * 1001, 0x30000 | P | RW | A | D);
    v->guest_cr0 = CR0_ON;
    v->guest_cr4 = 0;
    v->guest_cr3 = 0x20000;
    ck_assert_int_eq(shadow_update_paging_mode(v), 0);
    ck_assert_uint_eq(touch(1000 << 12, PFEC_WRITE), 0x30000);
    ck_assert(shadow_leaf(1001 << 12) & RW);
    uint64_t rem = dom->c.wp_removed;
    w32(0x30000, 0x31000 | P | A);
    w32(0x20000 + 4 * 5, 0x30000 | P | RW | A);   /* 0x30000 becomes a PT */
    ck_assert_uint_eq(touch(5u << 22, 0), 0x31000);
    ck_assert_uint_eq(dom->c.wp_removed - rem, 2);
    ck_assert(!(shadow_leaf(1000 << 12) & RW));
    finish();
}
END_TEST

/*
 * The unshadow heuristics and the targeted unshadow.  PD0[0] -> PTS (a page
 * table in use: VA 0x3000 -> DATA), PD0[1] -> PT1 whose entry 0 maps PTS
 * itself at VA 0x200000 (writable, user).
 */
static bool pts_shadowed(void) { return sh_lookup(dom, PTS >> 12, SH_T_L1_PAE) != SH_NIL; }

static void pt_write(gva_t va, uint64_t x, uint32_t pfec)
{
    struct sh_fault f;
    ck_assert_uint_eq(touch(va, PFEC_WRITE | (pfec & PFEC_USER)), ~0ULL);   /* emulated */
    ck_assert_int_eq(shadow_write_guest(v, va, &x, 8, pfec | PFEC_WRITE, &f), SH_FIXED);
}

START_TEST(unshadow_heuristics)
{
    start(128);
    shadow_set_audit(dom, 1);
    w64(PDPT, PD0 | P);
    w64(PD0, PTS | P | RW | _PAGE_USER | A);
    w64(PD0 + 8, (PTS + 0x1000) | P | RW | _PAGE_USER | A);
    w64(PTS + 8 * 3, DATA | P | RW | A | D);
    w64(PTS + 0x1000, PTS | P | RW | _PAGE_USER | A | D);
    v->guest_cr0 = CR0_ON;
    v->guest_cr4 = X86_CR4_PAE;
    v->guest_cr3 = PDPT;
    ck_assert_int_eq(shadow_update_paging_mode(v), 0);
    ck_assert_uint_eq(touch(0x3000, 0), DATA);
    ck_assert(pts_shadowed());

    /* A user-mode write to the table: unshadowed at once. */
    pt_write(0x200000 + 8 * 5, DATA | P | A, PFEC_USER);
    ck_assert_uint_eq(dom->c.unshadow_user, 1);
    ck_assert(!pts_shadowed());
    ck_assert_uint_eq(touch(0x5000, 0), DATA);          /* used again: reshadowed */
    ck_assert(pts_shadowed());

    /* Teardown: eight supervisor writes in a row zeroing entries. */
    for (unsigned k = 0; k < 7; k++)
        pt_write(0x200000 + 8 * (100 + k), 0, 0);
    ck_assert(pts_shadowed());
    ck_assert_uint_eq(dom->c.unshadow_zeroing, 0);
    pt_write(0x200000 + 8 * 107, 0, 0);
    ck_assert_uint_eq(dom->c.unshadow_zeroing, 1);
    ck_assert(!pts_shadowed());

    /* A string store's chunk zeroing 64 bytes or more (clear_page) counts as
     * the whole run; 56 bytes (seven entries) is one write of a run. */
    ck_assert_uint_eq(touch(0x3000, 0), DATA);
    ck_assert(pts_shadowed());
    static const uint8_t zeros[256];
    struct sh_fault f;
    ck_assert_uint_eq(touch(0x200000 + 0x400, PFEC_WRITE), ~0ULL);    /* emulated */
    ck_assert_int_eq(shadow_write_guest(v, 0x200000 + 0x400, zeros, 56, PFEC_WRITE, &f), SH_FIXED);
    ck_assert(pts_shadowed());
    ck_assert_uint_eq(dom->c.unshadow_zeroing, 1);
    ck_assert_int_eq(shadow_write_guest(v, 0x200000 + 0x500, zeros, 256, PFEC_WRITE, &f), SH_FIXED);
    ck_assert_uint_eq(dom->c.unshadow_zeroing, 2);
    ck_assert(!pts_shadowed());

    /* Non-zero writes with a fixed fault between never unshadow. */
    ck_assert_uint_eq(touch(0x3000, 0), DATA);
    for (unsigned k = 0; k < 40; k++) {
        pt_write(0x200000 + 8 * (200 + k), DATA | P | A, 0);
        shadow_invlpg(v, 0x3000);
        ck_assert_uint_eq(touch(0x3000, 0), DATA);     /* the table is used: a fixed fault */
    }
    ck_assert(pts_shadowed());
    uint64_t run0 = dom->c.unshadow_run;
    /* ... but 16 in a row without using the table do. */
    for (unsigned k = 0; k < 16; k++)
        pt_write(0x200000 + 8 * (300 + k), DATA | P | A, 0);
    ck_assert_uint_eq(dom->c.unshadow_run, run0 + 1);
    ck_assert(!pts_shadowed());

    /* Targeted: a table no vCPU runs on goes, an in-use top level stays. */
    ck_assert_uint_eq(touch(0x3000, 0), DATA);
    ck_assert(shadow_unshadow_gfn(dom, _gfn(PTS >> 12)));
    ck_assert(!pts_shadowed());
    ck_assert(!shadow_unshadow_gfn(dom, _gfn(PD0 >> 12)));
    ck_assert_uint_eq(dom->c.unshadow_targeted, 2);
    ck_assert_uint_eq(touch(0x3000, PFEC_WRITE), DATA);
    ck_assert(!sim_log_contains("shadow: audit: "));
    finish();
}
END_TEST

/*
 * Reclaim order.  Space j: PDPT at 0x40000 + j*0x1000 (slot 0 -> PD_j),
 * PD_j[0] -> PT_j, PT_j[0] -> a data frame; each loaded space costs an
 * l2_pae, an l1_pae and its companion.  Live spaces must always be a prefix
 * of the recency order (most recent first) and include the current one.
 */
#define NSP 24u
static bool alive(unsigned j)
{
    return sh_lookup(dom, (0x80000 + j * 0x1000) >> 12, SH_T_L2_PAE) != SH_NIL;
}

static void reclaim_at(unsigned long frames)
{
    sim_init(64ULL << 20, frames);
    dom = shadow_domain_init(sim_pool_base(), sim_pool_frames());
    if (!dom) {
        sim_fini();
        return;
    }
    ck_assert_int_eq(shadow_vcpu_init(v, dom), 0);
    shadow_set_audit(dom, 1);
    for (unsigned j = 0; j < NSP; j++) {
        w64(0x40000 + j * 0x1000, (0x80000 + j * 0x1000) | P);
        w64(0x80000 + j * 0x1000, (0xc0000 + j * 0x1000) | P | RW | A);
        w64(0xc0000 + j * 0x1000, (DATA + j * 0x1000) | P | RW | A | D);
    }
    unsigned order[NSP + 1], n = 0;   /* recency, most recent first */
    v->guest_cr0 = CR0_ON;
    v->guest_cr4 = X86_CR4_PAE;
    v->guest_cr3 = 0x40000;
    ck_assert_int_eq(shadow_update_paging_mode(v), 0);
    for (unsigned step = 0; step < 3 * NSP; step++) {
        /* forward, then every third, then backward */
        unsigned j = step < NSP ? step : step < 2 * NSP ? (step * 3) % NSP : 3 * NSP - 1 - step;
        struct sh_fault f;
        v->guest_cr3 = 0x40000 + j * 0x1000;
        ck_assert_int_eq(shadow_update_cr3(v, &f), SH_FIXED);
        ck_assert_uint_eq(touch(0x10, PFEC_WRITE), DATA + j * 0x1000 + 0x10);
        unsigned nord[NSP + 1], m = 1;
        nord[0] = j;
        for (unsigned k = 0; k < n; k++)
            if (order[k] != j)
                nord[m++] = order[k];
        memcpy(order, nord, sizeof(order));
        n = m;
        bool gap = false;
        for (unsigned k = 0; k < n; k++) {
            if (!alive(order[k]))
                gap = true;
            else
                ck_assert_msg(!gap, "pool %lu step %u: space %u (rank %u) alive behind a "
                              "reclaimed more recent one", frames, step, order[k], k);
        }
        ck_assert(alive(j));
        ck_assert_msg(!sim_log_contains("shadow: audit: "), "audit failed at pool %lu", frames);
        ck_assert_uint_eq(shadow_audit(dom), 0);
    }
    if (frames < 64)        /* 24 spaces x 3 frames do not fit: reclaim happened */
        ck_assert_uint_gt(dom->c.unpins, 0);
    sim_fini();
}

START_TEST(reclaim_order)
{
    unsigned long min = 0;
    for (unsigned long frames = 8; frames <= 80; frames++) {
        sim_init(64ULL << 20, frames);
        bool ok = shadow_domain_init(sim_pool_base(), sim_pool_frames()) != NULL;
        sim_fini();
        if (ok && !min)
            min = frames;
        if (ok)
            reclaim_at(frames);
    }
    ck_assert_uint_eq(min, 32);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("shadow_rmap");
    TCase *t = tcase_create("rmap");
    tcase_set_timeout(t, 60);
    tcase_add_test(t, alias_20480);
    tcase_add_test(t, audit_catches_rmap);
    tcase_add_test(t, two_level_wp);
    tcase_add_test(t, unshadow_heuristics);
    tcase_add_test(t, reclaim_order);
    suite_add_tcase(s, t);
    SRunner *r = srunner_create(s);
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
