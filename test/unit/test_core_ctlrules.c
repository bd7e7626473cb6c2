/*
 * The #GP(0) rules of the guest's control-register writes (src/svm/ctlrules.c,
 * linked unchanged; the CR and EFER intercepts of shadow_paging.c call it).
 * Every rule is checked on a write it refuses and on the nearest write it
 * allows, so a rule that is dropped or made too strict turns a case red.
 */
#include <check.h>
#include <stdlib.h>
#include <umbra/x86.h>
#include "../../src/svm/ctlrules.h"

#define PE X86_CR0_PE
#define PG X86_CR0_PG
#define ET X86_CR0_ET
static const struct svm_ctl real = { .cr0 = ET, .cr4 = 0, .efer = 0 };
static const struct svm_ctl prot = { .cr0 = PE | ET, .cr4 = 0, .efer = 0 };
static const struct svm_ctl lme_nopae = { .cr0 = PE | ET, .cr4 = 0, .efer = EFER_LME };
static const struct svm_ctl lme_pae = { .cr0 = PE | ET, .cr4 = X86_CR4_PAE, .efer = EFER_LME };
static const struct svm_ctl longm = { .cr0 = PE | PG | ET, .cr4 = X86_CR4_PAE, .efer = EFER_LME | EFER_LMA };
static const struct svm_ctl paged32 = { .cr0 = PE | PG | ET, .cr4 = 0, .efer = 0 };

START_TEST(cr0_reserved_high_bits)
{
    ck_assert_uint_eq(svm_cr0_write(&prot, 1ULL << 32 | PE, false), SVM_CTL_GP);
    ck_assert_uint_eq(svm_cr0_write(&prot, PE, false), PE | ET);
}
END_TEST

START_TEST(cr0_et_is_fixed)
{
    ck_assert_uint_eq(svm_cr0_write(&real, 0, false), ET);
    ck_assert_uint_eq(svm_cr0_write(&prot, PE | X86_CR0_TS, false), PE | X86_CR0_TS | ET);
}
END_TEST

START_TEST(cr0_pg_needs_pe)
{
    ck_assert_uint_eq(svm_cr0_write(&real, PG, false), SVM_CTL_GP);
    ck_assert_uint_eq(svm_cr0_write(&real, PG | PE, false), PG | PE | ET);
}
END_TEST

START_TEST(cr0_nw_needs_cd)
{
    ck_assert_uint_eq(svm_cr0_write(&prot, PE | X86_CR0_NW, false), SVM_CTL_GP);
    ck_assert_uint_eq(svm_cr0_write(&prot, PE | X86_CR0_NW | X86_CR0_CD, false),
                      PE | X86_CR0_NW | X86_CR0_CD | ET);
    ck_assert_uint_eq(svm_cr0_write(&prot, PE | X86_CR0_CD, false), PE | X86_CR0_CD | ET);
}
END_TEST

START_TEST(cr0_long_mode_needs_pae)
{
    ck_assert_uint_eq(svm_cr0_write(&lme_nopae, PE | PG, false), SVM_CTL_GP);
    ck_assert_uint_eq(svm_cr0_write(&lme_pae, PE | PG, false), PE | PG | ET);
    /* Without LME, paging on without PAE is 2-level paging. */
    ck_assert_uint_eq(svm_cr0_write(&prot, PE | PG, false), PE | PG | ET);
    /* Already paging: the rule is about turning paging on. */
    struct svm_ctl on = lme_nopae;
    on.cr0 |= PG;
    ck_assert_uint_eq(svm_cr0_write(&on, PE | PG | X86_CR0_TS, false), PE | PG | X86_CR0_TS | ET);
}
END_TEST

START_TEST(cr0_paging_off_in_64bit_code)
{
    ck_assert_uint_eq(svm_cr0_write(&longm, PE, true), SVM_CTL_GP);
    ck_assert_uint_eq(svm_cr0_write(&longm, PE, false), PE | ET);          /* compatibility mode may */
    ck_assert_uint_eq(svm_cr0_write(&longm, PE | PG | X86_CR0_WP, true), PE | PG | X86_CR0_WP | ET);
    ck_assert_uint_eq(svm_cr0_write(&paged32, PE, false), PE | ET);
}
END_TEST

START_TEST(cr4_allowed_bits)
{
    uint64_t allowed = X86_CR4_PAE | X86_CR4_PSE | X86_CR4_PGE;
    ck_assert(svm_cr4_write_ok(&prot, X86_CR4_PAE | X86_CR4_PGE, allowed));
    ck_assert(!svm_cr4_write_ok(&prot, X86_CR4_PAE | X86_CR4_SMEP, allowed));
    ck_assert(!svm_cr4_write_ok(&prot, 1ULL << 40, ~0ULL ^ (1ULL << 40)));
    ck_assert(svm_cr4_write_ok(&prot, 0, 0));
}
END_TEST

START_TEST(cr4_pae_stays_in_long_mode)
{
    uint64_t allowed = X86_CR4_PAE | X86_CR4_PGE;
    ck_assert(!svm_cr4_write_ok(&longm, X86_CR4_PGE, allowed));
    ck_assert(svm_cr4_write_ok(&longm, X86_CR4_PAE | X86_CR4_PGE, allowed));
    ck_assert(svm_cr4_write_ok(&lme_pae, 0, allowed));           /* LME without LMA: not long mode yet */
}
END_TEST

START_TEST(cr3_maxphyaddr_in_long_mode)
{
    ck_assert(!svm_cr3_write_ok(&longm, 1ULL << 48 | 0x1000, 48));
    ck_assert(svm_cr3_write_ok(&longm, (1ULL << 48) - 0x1000, 48));
    ck_assert(!svm_cr3_write_ok(&longm, 1ULL << 40, 40));
    ck_assert(svm_cr3_write_ok(&paged32, 0xfffff000, 32));           /* 32-bit CR3: no such check */
    ck_assert(svm_cr3_write_ok(&lme_pae, 1ULL << 40, 36));
}
END_TEST

START_TEST(efer_lme_frozen_while_paging)
{
    ck_assert(!svm_efer_write_ok(&paged32, EFER_LME));
    ck_assert(!svm_efer_write_ok(&longm, EFER_LMA));                 /* clearing LME in long mode */
    ck_assert(svm_efer_write_ok(&longm, EFER_LME | EFER_LMA | EFER_NXE | EFER_SCE));
    ck_assert(svm_efer_write_ok(&prot, EFER_LME));                   /* paging off: LME may change */
    ck_assert(svm_efer_write_ok(&paged32, EFER_NXE));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("core-ctlrules");
    TCase *tc = tcase_create("rules");
    tcase_add_test(tc, cr0_reserved_high_bits);
    tcase_add_test(tc, cr0_et_is_fixed);
    tcase_add_test(tc, cr0_pg_needs_pe);
    tcase_add_test(tc, cr0_nw_needs_cd);
    tcase_add_test(tc, cr0_long_mode_needs_pae);
    tcase_add_test(tc, cr0_paging_off_in_64bit_code);
    tcase_add_test(tc, cr4_allowed_bits);
    tcase_add_test(tc, cr4_pae_stays_in_long_mode);
    tcase_add_test(tc, cr3_maxphyaddr_in_long_mode);
    tcase_add_test(tc, efer_lme_frozen_while_paging);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
