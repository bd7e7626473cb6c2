/*
 * Differential test of the shadow MMU against the reference MMU.
 *
 * A "virtual CPU" runs a random guest through the shadow's public API only
 * (include/umbra/shadow.h), exactly as the SVM layer would: an access is made
 * by walking the shadow tables as the hardware does (ref_hw_walk); if that
 * faults, shadow_page_fault() gets the hardware's error code and
 *   SH_FIXED   -> the access is retried (at most MAX_RETRIES times),
 *   SH_REFLECT -> the fault must equal what bare hardware raises for the
 *                 guest's own tables (vector, error code, CR2),
 *   SH_EMULATE -> only on writes: the write is done by shadow_write_guest().
 *
 * What the test asserts, and why (the TLB question).  Bare hardware may
 * keep a stale TLB entry after a page-table write until INVLPG / CR3 load,
 * so an OS must flush before relying on a changed entry.  A shadow is such
 * a TLB.  The guest modelled here is honest (after a PTE write it usually
 * INVLPGs the virtual addresses it knows went through the entry, sometimes
 * reloads CR3, sometimes does nothing), but the assertions are stricter
 * than the architecture, because Umbra's design promises more (shadowed
 * page tables are write-protected and every write is revalidated at once,
 * docs/shadow.md, invariants I1/I2 of src/shadow/private.h):
 *
 *   S1 (safety, at every step, for sampled and touched VAs):  if the
 *      hardware walk of the shadow allows an access, the guest walk of the
 *      *current* guest tables allows it too, maps the same frame (p2m of the
 *      guest frame: identity, never Umbra's reserve), and every guest entry
 *      used has A set (and the leaf D on a write) -- otherwise the guest
 *      would miss an A/D update.  A shadow may be *more restrictive* than the
 *      guest (missing or read-only entries, even stale ones): that is what a
 *      TLB without the entry looks like, and the fault path repairs it.
 *   S2 (outcome): every access ends as bare hardware with a flushed TLB
 *      would end it: it completes (same frame, data lands in guest memory)
 *      or a #PF with exactly the error code / CR2 of the current guest walk
 *      is reflected.  A stale *more permissive* shadow entry would be legal
 *      on hardware before INVLPG but breaks S1/S2: Umbra does not allow it.
 *   S3 shadow_audit() reports 0 errors (every AUDIT_EVERY steps and at the end).
 *   S4 CR3 loads: PAE PDPTEs are loaded exactly as the CPU loads them, and a
 *      reserved bit gives #GP(0) with nothing changed.
 *
 *   S5 the guest's D bit is never set by an access that wrote nothing.
 *   S6 a faulting access sets no A or D bit at any level (but where the shadow
 *      leaves SMAP / PK to the hardware: RFLAGS.AC or "data" unstated, shadow.h).
 *      Long-mode worlds run with CR4.PKE and a random PKRU 40% of the time.
 *   T1-T4 the hardware TLB in front of the shadow (hwtlb.c) only ever holds
 *      translations that are legal for the guest, and the shadow flushes
 *      what it takes away (INVLPG, CR3 loads, write-protection).  A TLB hit
 *      may complete an access the current guest tables forbid, if the guest
 *      has not flushed since: that is bare-hardware behaviour, and the
 *      random guest sometimes skips its INVLPG on purpose.
 *
 * Known gaps of the shadow side are tolerated and counted (printed as
 * "tolerated known gap NAME: N times"), never silently: see gap_name[] in
 * shadow_world.c.  UMBRA_STRICT=1 turns each of them back into a failure.
 *
 * Environment: UMBRA_SEED=<seed> runs that seed only (its mode is seed % 4),
 * UMBRA_ITERS=<ops> operations per seed (default 250), UMBRA_SEEDS=<n> seeds
 * per mode, UMBRA_SURVEY=1 reports one line per failing seed and goes on,
 * UMBRA_NO_AUDIT=1 leaves shadow_audit() out (to measure the other checks),
 * UMBRA_STRICT=1 tolerates no known gap, UMBRA_NO_TLB=1 leaves the simulated
 * TLB out, UMBRA_VERIFY=1 also takes the long way where the world has a
 * shortcut (shadow_world.h) and fails on a difference.  These four are
 * numbers: unset, empty or 0 means off (so
 * UMBRA_NO_AUDIT=0 audits), another number on; any other value is refused
 * (exit 2, env_flag() in shadow_world.c).  CK_RUN_CASE=random|sequences|directed picks
 * a test case.  A failure prints the seed, the mode, the last operations and
 * the shadow's log.
 */
#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <umbra/x86.h>
#include <umbra/shadow.h>
#include "sim_platform.h"
#include "refmmu.h"
#include "guestpt.h"
#include "shadow_world.h"

/* ---- the tests --------------------------------------------------------- */

static unsigned long env_ul(const char *name, unsigned long def)
{
    const char *s = getenv(name);
    return s && *s ? strtoul(s, NULL, 0) : def;
}

static void run_mode(enum guest_paging mode, unsigned long def_seeds)
{
    unsigned long iters = env_ul("UMBRA_ITERS", 250);
    const char *one = getenv("UMBRA_SEED");
    struct world_stats total = { 0 };

    if (one && *one) {
        uint64_t seed = strtoull(one, NULL, 0);
        if ((enum guest_paging)(seed % 4) != mode)
            return;
        world_run(seed, iters, 0, &total);
    } else {
        unsigned long n = env_ul("UMBRA_SEEDS", def_seeds);
        for (unsigned long i = 0; i < n; i++)
            world_run(i * 4 + mode, iters, 0, &total);
    }
    world_print_stats(mode, &total);
}

START_TEST(random_off)    { run_mode(GUEST_PAGING_OFF, 200); }
END_TEST
START_TEST(random_2level) { run_mode(GUEST_PAGING_2LEVEL, 1000); }
END_TEST
START_TEST(random_pae)    { run_mode(GUEST_PAGING_PAE, 1600); }
END_TEST
START_TEST(random_long)   { run_mode(GUEST_PAGING_LONG, 1000); }
END_TEST

/* off -> PAE -> off -> 2-level -> long -> off -> PAE -> long, random ops in each. */
START_TEST(mode_switch_sequence)
{
    static const enum guest_paging seq[] = {
        GUEST_PAGING_OFF, GUEST_PAGING_PAE, GUEST_PAGING_OFF, GUEST_PAGING_2LEVEL,
        GUEST_PAGING_LONG, GUEST_PAGING_OFF, GUEST_PAGING_PAE, GUEST_PAGING_2LEVEL,
        GUEST_PAGING_PAE, GUEST_PAGING_LONG,
    };
    struct world_stats total = { 0 };
    unsigned long n = env_ul("UMBRA_SEEDS", 40);
    for (unsigned long s = 0; s < n; s++)
        world_run_sequence(1000 + s, seq, ARRAY_SIZE(seq), 60, 0, &total);
    world_print_stats(-1, &total);
    ck_assert_uint_gt(total.mode_switches, n * 9);
}
END_TEST

/* Pools down to the smallest shadow_domain_init() accepts: reclaim runs often. */
START_TEST(small_pool)
{
    unsigned long min = world_min_pool();
    fprintf(stderr, "small_pool: smallest pool accepted = %lu frames\n", min);
    ck_assert_uint_gt(min, 0);
    struct world_stats total = { 0 };
    static const enum guest_paging modes[] = {
        GUEST_PAGING_2LEVEL, GUEST_PAGING_PAE, GUEST_PAGING_LONG, GUEST_PAGING_OFF,
    };
    for (unsigned i = 0; i < 4; i++)
        for (unsigned long s = 0; s < 30; s++)
            world_run(50000 + s * 4 + modes[i], 250, min + (s % 4) * 3, &total);
    world_print_stats(-1, &total);
    /* The point of a small pool: reclaim must have run, and often. */
    ck_assert_uint_gt(total.unpins + total.teardowns, total.seeds);
}
END_TEST

/* ---- directed cases: one shadow API sequence each, no random world ---- */

/* A 64 MiB machine, a 512-frame pool with out-of-sync shadows on, and v in it. */
static struct shadow_domain *directed_domain(struct shadow_vcpu *v)
{
    sim_init(64ULL << 20, 512);
    struct shadow_domain *d = shadow_domain_init(sim_pool_base(), sim_pool_frames());
    ck_assert_ptr_nonnull(d);
    ck_assert_int_eq(shadow_set_oos(d, true), 0);
    ck_assert_int_eq(shadow_vcpu_init(v, d), 0);
    return d;
}

/* The access as the CPU under Umbra makes it: fault until the shadow walk
 * allows it (at most 8 times); the hardware walk's result in *r. */
static bool touch_hw(struct shadow_vcpu *v, gva_t va, uint32_t acc, struct ref_result *r)
{
    struct sh_fault f;
    for (int i = 0; i < 8; i++) {
        if (ref_hw_walk(v, va, acc, false, 0, r))
            return true;
        if (shadow_page_fault(v, va, r->pfec, &f) != SH_FIXED)
            return false;
    }
    return false;
}

/* Write the len-byte entry val through va (a mapping of a shadowed page
 * table) until a write needs no fault: the first is emulated, the second
 * leaves the table out of sync, mapped writable; it must be the domain's
 * first out-of-sync table. */
static void write_until_oos(struct shadow_vcpu *v, gva_t va, uint64_t val, unsigned len)
{
    struct ref_result r;
    struct sh_fault f;
    unsigned tries = 0;
    for (; tries < 8 && !ref_hw_walk(v, va, PFEC_WRITE, false, 0, &r); tries++) {
        enum sh_result sr = shadow_page_fault(v, va, r.pfec, &f);
        ck_assert_msg(sr == SH_FIXED || sr == SH_EMULATE, "write to the table: %d", sr);
        if (sr == SH_EMULATE)
            ck_assert_int_eq(shadow_write_guest(v, va, &val, len, PFEC_WRITE, &f), SH_FIXED);
    }
    uint64_t n;
    ck_assert(shadow_stat_get(v->d, "oos_made", &n));
    ck_assert_msg(tries < 8 && n == 1, "the table did not go out of sync (%u tries, oos_made %llu)",
                  tries, (unsigned long long)n);
}

/*
 * Invariant O's flush rule (src/shadow/common.c oos_resync): a resync at a
 * flush whose D test finds and clears D in a writable shadow leaf of an
 * out-of-sync table must have the TLBs flushed before the guest runs again;
 * else a translation the TLB kept (with D set) writes the table without
 * setting D, and the next resync takes the table for clean and skips the
 * write.  Directed, at the one flush the random guest never makes: a CR0
 * write that keeps the mode key (CR0.TS; shadow_update_paging_mode's early
 * return resyncs with the D test).  mutant-oos.sh: kind 7 must fail it.
 * The guest: PAE, PT maps data pages 1..509 and itself writable at PT_VA.
 */
START_TEST(oos_d_test_flushes)
{
    enum { PDPT = 0x100000, PD = 0x101000, PT = 0x102000, DATA = 0x400000, PT_VA = 0x1ff000 };
    const uint64_t leaf = _PAGE_PRESENT | _PAGE_RW | _PAGE_USER | _PAGE_ACCESSED | _PAGE_DIRTY;
    static struct shadow_vcpu v;
    struct ref_result r;
    struct shadow_domain *d = directed_domain(&v);
    sim_guest_write(PDPT, PD | _PAGE_PRESENT, 8);
    sim_guest_write(PD, PT | _PAGE_PRESENT | _PAGE_RW | _PAGE_USER | _PAGE_ACCESSED, 8);
    for (unsigned i = 1; i < 510; i++)
        sim_guest_write(PT + 8 * i, (DATA + i * 0x1000ULL) | leaf, 8);
    sim_guest_write(PT + 8 * 511, PT | leaf, 8);
    v.guest_cr0 = X86_CR0_PG | X86_CR0_PE | X86_CR0_WP | X86_CR0_ET;
    v.guest_cr4 = X86_CR4_PAE;
    v.guest_efer = EFER_NXE;
    v.guest_cr3 = PDPT;
    ck_assert_int_eq(shadow_update_paging_mode(&v), 0);
    write_until_oos(&v, PT_VA + 8, (DATA + 0x1000ULL) | leaf, 8);    /* PT's entry 1 */
    for (unsigned i = 0; i < 64; i++) {
        unsigned slot = 2 + i;
        uint64_t want = (DATA + (600 + i) * 0x1000ULL) | leaf;
        v.tlb_flush = false;                 /* the flush the SVM layer made at VMRUN */
        /* A native write through the writable mapping: the walk sets D in the shadow leaf. */
        ck_assert_msg(ref_hw_walk(&v, PT_VA + 8 * slot, PFEC_WRITE, false, 0, &r),
                      "PT is not writable through PT_VA (step %u)", i);
        sim_guest_write(PT + 8 * slot, want, 8);
        v.guest_cr0 ^= X86_CR0_TS;           /* a CR0 write the shadows do not depend on */
        ck_assert_int_eq(shadow_update_paging_mode(&v), 0);
        ck_assert_msg(v.tlb_flush, "step %u: a resync cleared D in PT's writable leaf and asked no flush", i);
        ck_assert_msg(ref_hw_walk(&v, (gva_t)slot << 12, 0, false, REF_NO_SIDE_EFFECTS, &r)
                      && r.pa == (want & ~0xfffULL), "step %u: the shadow missed the PTE written natively", i);
    }
    ck_assert_int_eq(shadow_audit(d), 0);
    sim_fini();
}
END_TEST

/*
 * Found by the shadow fuzz target (test/fuzz/regress/shadow/invlpg-unlinked-oos):
 * in long mode, an INVLPG of va in an address space whose shadow tree does
 * not reach va's level 2 (no l4 entry yet) left va's PTE stale in an
 * out-of-sync l1 that another tree links (the shared kernel half); the
 * next fault there, at another address, linked this tree's l4 entry to the
 * shared l3 and exposed it.
 * Two address spaces share PML4 slot 256 (PDPT_K -> PD_K -> PT_K, data
 * pages at K); only AS1 maps PT_K itself, writable, at W (slot 257).
 */
START_TEST(invlpg_unlinked_oos)
{
    enum { AS0 = 0x100000, AS1 = 0x101000, PDPT_K = 0x102000, PD_K = 0x103000, PT_K = 0x104000,
           PDPT_W = 0x105000, PD_W = 0x106000, PT_W = 0x107000, DATA = 0x400000 };
    const gva_t K = 0xffff800000000000ULL, W = 0xffff808000000000ULL;
    const uint64_t tab = _PAGE_PRESENT | _PAGE_RW | _PAGE_ACCESSED;
    const uint64_t leaf = tab | _PAGE_DIRTY;
    static struct shadow_vcpu v;
    struct sh_fault f;
    struct ref_result r;
    struct shadow_domain *d = directed_domain(&v);
    sim_guest_write(AS0 + 8 * 256, PDPT_K | tab, 8);
    sim_guest_write(AS1 + 8 * 256, PDPT_K | tab, 8);
    sim_guest_write(PDPT_K, PD_K | tab, 8);
    sim_guest_write(PD_K, PT_K | tab, 8);
    for (unsigned i = 1; i < 16; i++)
        sim_guest_write(PT_K + 8 * i, (DATA + i * 0x1000ULL) | leaf, 8);
    sim_guest_write(AS1 + 8 * 257, PDPT_W | tab, 8);
    sim_guest_write(PDPT_W, PD_W | tab, 8);
    sim_guest_write(PD_W, PT_W | tab, 8);
    sim_guest_write(PT_W, PT_K | leaf, 8);                 /* W: PT_K, writable */
    v.guest_cr0 = X86_CR0_PG | X86_CR0_PE | X86_CR0_WP | X86_CR0_ET;
    v.guest_cr4 = X86_CR4_PAE;
    v.guest_efer = EFER_LME | EFER_NXE;
    v.guest_cr3 = AS0;
    ck_assert_int_eq(shadow_update_paging_mode(&v), 0);
    ck_assert(touch_hw(&v, K + 0x1000, 0, &r));             /* AS0 shadows PT_K */
    v.guest_cr3 = AS1;
    ck_assert_int_eq(shadow_update_cr3(&v, &f), SH_FIXED);
    write_until_oos(&v, W + 8, (DATA + 0x1000ULL) | leaf, 8);       /* PT_K's entry 1, in AS1 */
    /* AS1 has never touched K: its l4 entry 256 is not present. */
    ck_assert(!ref_hw_walk(&v, K + 0x2000, 0, false, REF_NO_SIDE_EFFECTS, &r));
    uint64_t want = DATA + 0x80000ULL;
    ck_assert(ref_hw_walk(&v, W + 16, PFEC_WRITE, false, 0, &r));   /* a native write */
    sim_guest_write(PT_K + 16, want | leaf, 8);
    shadow_invlpg(&v, K + 0x2000);
    ck_assert(touch_hw(&v, K + 0x3000, 0, &r));             /* links AS1's l4 entry 256 */
    /* K + 0x2000 as the hardware sees it now, without a fault of its own. */
    ck_assert_msg(!ref_hw_walk(&v, K + 0x2000, 0, false, REF_NO_SIDE_EFFECTS, &r) || r.pa == want,
                  "after INVLPG the shadow maps %#llx at K + 0x2000, the guest %#llx",
                  (unsigned long long)r.pa, (unsigned long long)want);
    ck_assert_int_eq(shadow_audit(d), 0);
    sim_fini();
}
END_TEST

/*
 * Found by the shadow fuzz target (test/fuzz/regress/shadow/snapshot-takes-neighbour):
 * 2-level, PT out of sync; the guest writes PTE 3 natively (no exit), then
 * PTE 2 by an emulated write.  The emulated write's snapshot update took the
 * 8 bytes around PTE 2, PTE 3 with them, and revalidated PTE 2 only; the
 * INVLPG of PTE 3's page then found its snapshot equal to the guest's entry
 * and left the shadow on the old frame.
 */
START_TEST(oos_snapshot_takes_written_entries)
{
    enum { PD = 0x100000, PT = 0x101000, DATA = 0x400000, PT_VA = 0x3ff000 };
    const uint64_t leaf = _PAGE_PRESENT | _PAGE_RW | _PAGE_ACCESSED | _PAGE_DIRTY;
    static struct shadow_vcpu v;
    struct sh_fault f;
    struct ref_result r;
    struct shadow_domain *d = directed_domain(&v);
    sim_guest_write(PD, PT | leaf, 4);
    for (unsigned i = 1; i < 16; i++)
        sim_guest_write(PT + 4 * i, (DATA + i * 0x1000ULL) | leaf, 4);
    sim_guest_write(PT + 4 * 1023, PT | leaf, 4);          /* PT itself at PT_VA */
    v.guest_cr0 = X86_CR0_PG | X86_CR0_PE | X86_CR0_WP | X86_CR0_ET;
    v.guest_cr3 = PD;
    ck_assert_int_eq(shadow_update_paging_mode(&v), 0);
    for (unsigned i = 2; i <= 3; i++) {                    /* both shadowed */
        ck_assert(touch_hw(&v, (gva_t)i << 12, 0, &r));
        ck_assert_uint_eq(r.pa, DATA + i * 0x1000ULL);
    }
    write_until_oos(&v, PT_VA + 4, (DATA + 0x1000) | leaf, 4);      /* PT's entry 1 */
    const uint32_t new3 = DATA + 0x80000, new2 = DATA + 0x90000;
    ck_assert(ref_hw_walk(&v, PT_VA + 12, PFEC_WRITE, false, 0, &r));   /* PTE 3, natively */
    sim_guest_write(PT + 12, new3 | leaf, 4);
    uint32_t val = new2 | leaf;                                         /* PTE 2, emulated */
    ck_assert_int_eq(shadow_write_guest(&v, PT_VA + 8, &val, 4, PFEC_WRITE, &f), SH_FIXED);
    shadow_invlpg(&v, 2 << 12);
    shadow_invlpg(&v, 3 << 12);
    for (unsigned i = 2; i <= 3; i++) {
        uint32_t want = i == 2 ? new2 : new3;
        ck_assert_msg(!ref_hw_walk(&v, (gva_t)i << 12, 0, false, REF_NO_SIDE_EFFECTS, &r) || r.pa == want,
                      "after INVLPG the shadow maps %#llx for PTE %u, the guest %#x",
                      (unsigned long long)r.pa, i, want);
    }
    ck_assert_int_eq(shadow_audit(d), 0);
    sim_fini();
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("shadow_random");
    TCase *tc = tcase_create("random");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, random_off);
    tcase_add_test(tc, random_2level);
    tcase_add_test(tc, random_pae);
    tcase_add_test(tc, random_long);
    suite_add_tcase(s, tc);
    tc = tcase_create("sequences");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, mode_switch_sequence);
    tcase_add_test(tc, small_pool);
    suite_add_tcase(s, tc);
    tc = tcase_create("directed");
    tcase_add_test(tc, oos_d_test_flushes);
    tcase_add_test(tc, invlpg_unlinked_oos);
    tcase_add_test(tc, oos_snapshot_takes_written_entries);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    /* One buffer for every world (sim_platform.h): each machine's RAM starts
     * zero, its shadow pool holds the last world's shadows (a fresh buffer's,
     * SIM_POOL_POISON), which the shadow code must never read unwritten, so a
     * seed run alone (UMBRA_SEED) ends as it does among the others. */
    sim_reuse_memory = true;
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
