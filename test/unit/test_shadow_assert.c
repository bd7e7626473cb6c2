/*
 * SH_ASSERT fires (src/shadow/private.h): a precondition broken on purpose
 * stops the shadow MMU at once, before any audit, where hosted that means
 * plat_assert_failed() -> abort() -> SIGABRT in Check's forked child:
 *   - a reference dropped twice (I3): the top shadow's count is zeroed
 *     behind the MMU's back, then the vCPU leaves paging, which puts it;
 *   - an allocation without sh_prealloc() (I6): sh_make() until the free
 *     list is empty, then once more;
 *   - a second shadow of one (gfn, type) (I5): sh_make() of the top's;
 *   - a shadow that left the hash behind the MMU's back (I5): its last put
 *     finds it in no chain;
 *   - the reverse-map unlink of an entry that is not linked (R).
 * Each has a control: the same steps without the breakage (up to a clean
 * audit, or for the makes until the free list is empty) do not abort, so the
 * SIGABRT comes from the broken precondition and nothing else.
 * Needs Check's fork mode (the default; CK_FORK=no would kill the runner).
 */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "../../src/shadow/private.h"
#include "sim_platform.h"
#include "refmmu.h"

#define P   _PAGE_PRESENT
#define RW  _PAGE_RW
#define A   _PAGE_ACCESSED
#define D   _PAGE_DIRTY
#define CR0_ON (X86_CR0_PG | X86_CR0_PE | X86_CR0_WP | X86_CR0_ET)
#define PDPT 0x10000ULL
#define PD0  0x11000ULL
#define PT0  0x12000ULL

static struct shadow_domain *dom;
static struct shadow_vcpu vc, *v = &vc;

static int set_regs(uint64_t cr0, uint64_t cr4, uint64_t cr3)
{
    v->guest_cr0 = cr0;
    v->guest_cr4 = cr4;
    v->guest_efer = 0;
    v->guest_cr3 = cr3;
    return shadow_update_paging_mode(v);
}

/* A PAE guest with va 0x1000 -> frame 0x200, shadowed by one access. */
static void pae_mapped(void)
{
    sim_init(64ULL << 20, 64);
    dom = shadow_domain_init(sim_pool_base(), sim_pool_frames());
    ck_assert_ptr_nonnull(dom);
    ck_assert_int_eq(shadow_vcpu_init(v, dom), 0);
    sim_guest_write(PDPT, PD0 | P, 8);
    sim_guest_write(PD0, PT0 | P | RW | A, 8);
    sim_guest_write(PT0 + 8, 0x200000ULL | P | RW | A | D, 8);
    ck_assert_int_eq(set_regs(CR0_ON, X86_CR4_PAE, PDPT), 0);
    struct ref_result r;
    struct sh_fault f;
    ck_assert(!ref_hw_walk(v, 0x1000, PFEC_WRITE, false, 0, &r));
    ck_assert_int_eq(shadow_page_fault(v, 0x1000, r.pfec, &f), SH_FIXED);
    ck_assert(ref_hw_walk(v, 0x1000, PFEC_WRITE, false, 0, &r));
    ck_assert_uint_eq(r.pa, 0x200000ULL);
}

static void clean_end(void)
{
    ck_assert_uint_eq(shadow_audit(dom), 0);
    sim_fini();
}

/* The l2_pae shadow of PD0 (the vCPU's top): pinned and in a top slot. */
static struct sh_page *top_l2(void)
{
    uint32_t i = sh_lookup(dom, PD0 >> PAGE_SHIFT, SH_T_L2_PAE);
    ck_assert_uint_ne(i, SH_NIL);
    ck_assert_uint_ge(dom->pg[i].refs, 2);
    return &dom->pg[i];
}

START_TEST(put_control)
{
    pae_mapped();
    (void)top_l2();
    ck_assert_int_eq(set_regs(X86_CR0_PE | X86_CR0_ET, 0, 0), 0);   /* paging off */
    clean_end();
}
END_TEST

START_TEST(put_underflow_aborts)
{
    pae_mapped();
    top_l2()->refs = 0;               /* as if its references had been dropped already */
    set_regs(X86_CR0_PE | X86_CR0_ET, 0, 0);   /* releases the top slot: sh_put */
    ck_abort_msg("sh_put on a shadow with no references returned");
}
END_TEST

/* sh_make() as often as the free list allows: legal, if clumsy. */
static void drain(void)
{
    for (uint64_t g = 0x5000; dom->nfree > 0; g++)
        ck_assert_uint_ne(sh_make(dom, g, SH_T_L2_PAE), SH_NIL);
}

START_TEST(make_control)
{
    pae_mapped();
    drain();
    ck_assert_uint_eq(dom->nfree, 0);   /* every frame handed out, no SH_ASSERT */
    sim_fini();                         /* (no audit: the drained shadows hold no reference) */
}
END_TEST

START_TEST(make_without_prealloc_aborts)
{
    pae_mapped();
    drain();
    sh_make(dom, 0x4000, SH_T_L2_PAE);  /* no sh_prealloc(): I6 broken */
    ck_abort_msg("sh_make with an empty free list returned");
}
END_TEST

START_TEST(make_duplicate_aborts)
{
    pae_mapped();
    (void)top_l2();
    sh_make(dom, PD0 >> PAGE_SHIFT, SH_T_L2_PAE);   /* (PD0, l2_pae) has one */
    ck_abort_msg("sh_make of a (gfn, type) that has a shadow returned");
}
END_TEST

/* A fresh l2_pae shadow of gfn 0x4000 with one reference, the caller's. */
static uint32_t held_shadow(void)
{
    ck_assert_int_eq(sh_prealloc(dom, SH_PREALLOC), 0);
    uint32_t i = sh_make(dom, 0x4000, SH_T_L2_PAE);
    sh_get(dom, i);
    return i;
}

START_TEST(destroy_control)
{
    pae_mapped();
    sh_put(dom, held_shadow());                     /* refs 0: destroyed */
    ck_assert_uint_eq(sh_lookup(dom, 0x4000, SH_T_L2_PAE), SH_NIL);
    clean_end();
}
END_TEST

START_TEST(destroy_unhashed_aborts)
{
    pae_mapped();
    uint32_t i = held_shadow();
    for (uint32_t b = 0; b < dom->nbuckets; b++)    /* unhash i, as a bug would */
        for (uint32_t *pp = &dom->bucket[b]; *pp != SH_NIL; pp = &dom->pg[*pp].hnext)
            if (*pp == i) {
                *pp = dom->pg[i].hnext;
                break;
            }
    ck_assert_uint_eq(sh_lookup(dom, 0x4000, SH_T_L2_PAE), SH_NIL);
    sh_put(dom, i);
    ck_abort_msg("destroying a shadow that is in no hash chain returned");
}
END_TEST

/* The l1_pae shadow of PT0 and the host frame its entry 1 maps writable. */
static uint32_t l1_of_pt0(uint64_t *mfn)
{
    uint32_t l1 = sh_lookup(dom, PT0 >> PAGE_SHIFT, SH_T_L1_PAE);
    ck_assert_uint_ne(l1, SH_NIL);
    *mfn = mfn_x(plat_gfn_to_mfn(_gfn(0x200)));
    uint64_t e = ((uint64_t *)sh_map(dom, l1))[1];
    ck_assert_uint_eq(e & (P | RW), P | RW);
    ck_assert_uint_eq((e & PADDR_MASK_52) >> PAGE_SHIFT, *mfn);
    return l1;
}

START_TEST(rmap_del_control)
{
    pae_mapped();
    uint64_t mfn;
    uint32_t l1 = l1_of_pt0(&mfn);
    sh_rmap_del(dom, l1, 1, mfn);                   /* linked: fine */
    sh_rmap_add(dom, l1, 1, mfn);                   /* and back, R holds */
    clean_end();
}
END_TEST

START_TEST(rmap_del_unlinked_aborts)
{
    pae_mapped();
    uint64_t mfn;
    uint32_t l1 = l1_of_pt0(&mfn);
    sh_rmap_del(dom, l1, 5, mfn);                   /* entry 5 is empty, never linked */
    ck_abort_msg("sh_rmap_del of an entry that is not linked returned");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("shadow_assert");
    TCase *t = tcase_create("assert");
    tcase_add_test(t, put_control);
    tcase_add_test_raise_signal(t, put_underflow_aborts, SIGABRT);
    tcase_add_test(t, make_control);
    tcase_add_test_raise_signal(t, make_without_prealloc_aborts, SIGABRT);
    tcase_add_test_raise_signal(t, make_duplicate_aborts, SIGABRT);
    tcase_add_test(t, destroy_control);
    tcase_add_test_raise_signal(t, destroy_unhashed_aborts, SIGABRT);
    tcase_add_test(t, rmap_del_control);
    tcase_add_test_raise_signal(t, rmap_del_unlinked_aborts, SIGABRT);
    suite_add_tcase(s, t);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
