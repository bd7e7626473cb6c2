/*
 * SH_ASSERT fires (src/shadow/private.h): a precondition broken on purpose
 * stops the shadow MMU at once, before any audit, where hosted that means
 * plat_assert_failed() -> abort() -> SIGABRT in Check's forked child:
 *   - a reference dropped twice (I3): the top shadow's count is zeroed
 *     behind the MMU's back, then the vCPU leaves paging, which puts it;
 *   - an allocation without sh_prealloc() (I6): sh_make() until the free
 *     list is empty, then once more.
 * Each has a control: the same steps without the breakage (the put: up to a
 * clean audit; the make: until the free list is empty) do not abort, so the
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

int main(void)
{
    Suite *s = suite_create("shadow_assert");
    TCase *t = tcase_create("assert");
    tcase_add_test(t, put_control);
    tcase_add_test_raise_signal(t, put_underflow_aborts, SIGABRT);
    tcase_add_test(t, make_control);
    tcase_add_test_raise_signal(t, make_without_prealloc_aborts, SIGABRT);
    suite_add_tcase(s, t);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
