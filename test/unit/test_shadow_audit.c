/*
 * The audit finds what it checks: each test plants one corruption in a clean
 * long-mode world (a shadow entry, a guest entry the shadow was not told
 * about, a page record, a reverse-map node), asserts shadow_audit() counts
 * errors and logs the message of the check that must see it, then undoes it
 * and asserts the audit is clean again.  One test per check that the faster
 * audit (2026-12-03 evening) computes differently: the reserved-bit masks
 * taken per shadow (with and without PS), NX per shadow, the page-table
 * filter before the hash lookup (an l1 and an fl1 leaf), the vCPU-slot count
 * (in_use), and the reverse-map chain walk (back link, bucket, dead slot).
 *
 * Guest (long mode, NXE): PML4 0x10000 -> PDPT 0x11000 -> PD 0x12000;
 * PD[0] -> PT 0x13000: [1] data 0x100000 RW NX, [2] data 0x101000 RW,
 * [3] the PT itself (read-only in the shadow); PD[1] a 2 MiB page at
 * 0x400000 (an fl1); PD[2] -> PT2 0x405000, inside that 2 MiB page, so the
 * fl1 entry 5 maps a shadowed page table (read-only).
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
#define PS  _PAGE_PSE
#define NX  _PAGE_NX
#define CR0_ON (X86_CR0_PG | X86_CR0_PE | X86_CR0_WP | X86_CR0_ET)

#define PML4 0x10000ULL
#define PDPT 0x11000ULL
#define PD   0x12000ULL
#define PT   0x13000ULL
#define PT2  0x405000ULL

static struct shadow_domain *dom;
static struct shadow_vcpu vc, *v = &vc;

static void w64(gpa_t a, uint64_t x) { sim_guest_write(a, x, 8); }

/* One access as the CPU under Umbra runs it (shadow_touch.h): every fault fixed, none emulated. */
static void touch(gva_t va, uint32_t acc) { ck_assert_uint_ne(shadow_touch(v, va, acc), ~0ULL); }

static void setup(void)
{
    sim_init(64ULL << 20, 128);
    dom = shadow_domain_init(sim_pool_base(), sim_pool_frames());
    ck_assert_ptr_nonnull(dom);
    ck_assert_int_eq(shadow_vcpu_init(v, dom), 0);
    w64(PML4, PDPT | P | RW | A);
    w64(PDPT, PD | P | RW | A);
    w64(PD, PT | P | RW | A);
    w64(PD + 8, 0x400000 | P | RW | A | D | PS);
    w64(PD + 16, PT2 | P | RW | A);
    w64(PT + 8, 0x100000 | P | RW | A | D | NX);
    w64(PT + 16, 0x101000 | P | RW | A | D);
    w64(PT + 24, PT | P | RW | A | D);
    w64(PT2, 0x102000 | P | RW | A | D);
    v->guest_cr0 = CR0_ON;
    v->guest_cr4 = X86_CR4_PAE;
    v->guest_efer = EFER_LME | EFER_LMA | EFER_NXE;
    v->guest_cr3 = PML4;
    ck_assert_int_eq(shadow_update_paging_mode(v), 0);
    touch(0x1000, PFEC_WRITE);
    touch(0x2000, PFEC_WRITE);
    touch(0x3000, 0);
    touch(0x205000, PFEC_WRITE);      /* fl1 entry 5 writable ... */
    touch(0x400000, PFEC_WRITE);      /* ... until PT2 is shadowed */
    ck_assert_uint_eq(shadow_audit(dom), 0);
    sim_log_reset();
}

static void teardown(void)
{
    unsigned long e = shadow_audit(dom);
    if (e)
        sim_log_dump(stderr);
    ck_assert_uint_eq(e, 0);
    sim_fini();
}

/* The shadow entry at level l (1 = leaf) of va's shadow walk. */
static uint64_t *sentry(gva_t va, unsigned l)
{
    struct shadow_walk_info wi;
    unsigned n = shadow_walk_va(v, va, &wi);
    struct shadow_walk_level *lv = &wi.lv[n - l];
    ck_assert(lv->s_valid);
    unsigned idx = (unsigned)(va >> (12 + 9 * (l - 1))) & 511;
    return sim_phys((mfn_x(lv->s_mfn) << 12) + 8 * idx);
}

/* Pool index of the shadow holding va's level-l entry. */
static uint32_t sframe(gva_t va, unsigned l)
{
    struct shadow_walk_info wi;
    unsigned n = shadow_walk_va(v, va, &wi);
    return (uint32_t)(mfn_x(wi.lv[n - l].s_mfn) - mfn_x(dom->base));
}

/* The planted state must fail the audit with `msg` logged; then undo() and audit clean. */
static void expect_caught(const char *msg)
{
    unsigned long e = shadow_audit(dom);
    if (!e || !sim_log_contains(msg))
        sim_log_dump(stderr);
    ck_assert_uint_gt(e, 0);
    ck_assert_msg(sim_log_contains(msg), "the audit did not say \"%s\"", msg);
    sim_log_reset();
}

static void expect_clean(void)
{
    unsigned long e = shadow_audit(dom);
    if (e)
        sim_log_dump(stderr);
    ck_assert_uint_eq(e, 0);
}

START_TEST(catches_reserved_leaf)
{
    uint64_t keep = sim_guest_read(PT + 16, 8);
    w64(PT + 16, keep | (1ULL << 51));          /* above MAXPHYADDR 40: reserved */
    expect_caught("is not (P/A/reserved)");
    w64(PT + 16, keep);
    expect_clean();
}
END_TEST

START_TEST(catches_reserved_superpage)
{
    uint64_t keep = sim_guest_read(PD + 8, 8);
    w64(PD + 8, keep | (1ULL << 13));           /* 2 MiB PDE: bits 20:13 reserved (with PS only) */
    expect_caught("is not (P/A/reserved)");
    w64(PD + 8, keep);
    expect_clean();
}
END_TEST

START_TEST(catches_nx)
{
    uint64_t *se = sentry(0x1000, 1), keep = *se;
    ck_assert(keep & NX);
    *se &= ~NX;
    expect_caught("executable beyond the guest");
    *se = keep;
    expect_clean();
}
END_TEST

START_TEST(catches_writable_pt_l1)
{
    uint64_t *se = sentry(0x3000, 1), keep = *se;
    ck_assert(!(keep & RW));
    *se |= RW;              /* also writable but not linked: the rmap audit's error too */
    expect_caught("maps a shadowed page table writable");
    *se = keep;
    expect_clean();
}
END_TEST

START_TEST(catches_writable_pt_fl1)
{
    uint64_t *se = sentry(0x205000, 1), keep = *se;
    ck_assert(keep & P);
    ck_assert(!(keep & RW));
    *se |= RW;
    expect_caught("fl1 entry maps a shadowed page table writable");
    *se = keep;
    expect_clean();
}
END_TEST

START_TEST(catches_inuse)
{
    uint32_t top = sframe(0x1000, 4), l1 = sframe(0x1000, 1);
    ck_assert_uint_eq(dom->pg[top].inuse, 1);
    dom->pg[top].inuse = 2;                     /* a slot frame with the wrong count */
    expect_caught("in_use=2, vCPU slots 1");
    dom->pg[top].inuse = 1;
    expect_clean();
    dom->pg[l1].inuse = 1;                      /* a frame no slot names */
    expect_caught("in_use=1, vCPU slots 0");
    dom->pg[l1].inuse = 0;
    expect_clean();
    dom->pg[top].inuse = 0;                     /* sums agree (2 = 1 + 1) but per frame they do not */
    dom->pg[l1].inuse = 1;
    expect_caught("in_use=0, vCPU slots 1");
    dom->pg[top].inuse = 1;
    dom->pg[l1].inuse = 0;
    expect_clean();
}
END_TEST

/* The { prev, next } node of entry k of rmapped shadow si (rmap.c's layout). */
static uint32_t *rnode(uint32_t si, unsigned k)
{
    uint32_t c = dom->pg[si].rmap;
    return sim_phys((mfn_x(dom->base) + c) * 4096ULL + 8 * k);
}

static uint32_t rhash(uint64_t mfn)
{
    return (uint32_t)(((mfn + 1) * 0x9e3779b97f4a7c15ULL) >> 32) & (dom->nrbuckets - 1);
}

START_TEST(catches_rmap_back_link)
{
    uint32_t l1 = sframe(0x1000, 1);
    uint32_t *n = rnode(l1, 2), keep = n[0];
    n[0] = SH_SLOT(l1, 7);
    expect_caught(": back link ");
    n[0] = keep;
    expect_clean();
}
END_TEST

START_TEST(catches_rmap_bucket)
{
    uint64_t *se = sentry(0x2000, 1), keep = *se;
    uint64_t mfn = (keep & PADDR_MASK_52) >> 12, other = mfn + 1;
    while (rhash(other) == rhash(mfn))
        other++;
    *se = (keep & ~PADDR_MASK_52) | (other << 12);      /* linked in mfn's bucket, maps other */
    expect_caught("which does not hash to bucket");
    *se = keep;
    expect_clean();
}
END_TEST

START_TEST(catches_rmap_dead_slot)
{
    /* The first non-empty bucket's last slot gets a next that names entry 0
     * of the l2 shadow (not rmapped).  It is walked before the count runs
     * out: the other writable entries are on later chains. */
    uint32_t b = 0;
    while (!dom->rbucket[b])
        b++;
    uint32_t s = dom->rbucket[b], *n;
    for (;;) {
        n = rnode(sh_slot_idx(s), sh_slot_ent(s));
        if (!n[1])
            break;
        s = n[1];
    }
    n[1] = SH_SLOT(sframe(0x1000, 2), 0);
    expect_caught("of no live l1 shadow");
    n[1] = 0;
    expect_clean();
}
END_TEST

int main(void)
{
    Suite *s = suite_create("shadow_audit");
    TCase *t = tcase_create("planted");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_add_test(t, catches_reserved_leaf);
    tcase_add_test(t, catches_reserved_superpage);
    tcase_add_test(t, catches_nx);
    tcase_add_test(t, catches_writable_pt_l1);
    tcase_add_test(t, catches_writable_pt_fl1);
    tcase_add_test(t, catches_inuse);
    tcase_add_test(t, catches_rmap_back_link);
    tcase_add_test(t, catches_rmap_bucket);
    tcase_add_test(t, catches_rmap_dead_slot);
    suite_add_tcase(s, t);
    SRunner *r = srunner_create(s);
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
