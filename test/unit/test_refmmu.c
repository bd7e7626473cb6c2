/*
 * Tests of the simulated platform and of the reference MMU (the oracle of
 * the shadow tests), with hand-built page tables.
 */
#include <check.h>
#include <stdlib.h>

#include <umbra/x86.h>
#include "sim_platform.h"

#define RAM (4u << 20)
#define POOL 64u

START_TEST(sim_layout_and_p2m)
{
    sim_init(RAM, POOL);
    uint64_t ram = sim_ram_frames();
    ck_assert_uint_eq(ram, RAM >> PAGE_SHIFT);
    ck_assert(plat_gfn_is_ram(_gfn(0)));
    ck_assert(plat_gfn_is_ram(_gfn(ram - 1)));
    ck_assert(!plat_gfn_is_ram(_gfn(ram)));
    /* RAM and MMIO are identity, the reserve is refused. */
    ck_assert_uint_eq(mfn_x(plat_gfn_to_mfn(_gfn(5))), 5);
    ck_assert(!mfn_valid(plat_gfn_to_mfn(_gfn(ram))));
    ck_assert(!mfn_valid(plat_gfn_to_mfn(_gfn(mfn_x(sim_pool_base())))));
    ck_assert(!mfn_valid(plat_gfn_to_mfn(_gfn(sim_backed_frames() - 1))));
    ck_assert_uint_eq(mfn_x(plat_gfn_to_mfn(_gfn(sim_backed_frames()))), sim_backed_frames());
    ck_assert_uint_eq(mfn_x(plat_gfn_to_mfn(_gfn(0xfee00))), 0xfee00);
    /* Above MAXPHYADDR: refused. */
    sim_features.maxphyaddr = 36;
    ck_assert(mfn_valid(plat_gfn_to_mfn(_gfn((1ULL << 24) - 1))));
    ck_assert(!mfn_valid(plat_gfn_to_mfn(_gfn(1ULL << 24))));
    /* The pool is inside the reserve, backed, below 4 GiB. */
    ck_assert(sim_frame_in_pool(mfn_x(sim_pool_base())));
    ck_assert(sim_frame_in_reserve(mfn_x(sim_pool_base()) + POOL - 1));
    ck_assert(!sim_frame_in_pool(mfn_x(sim_pool_base()) + POOL));
    ck_assert_ptr_nonnull(plat_map_mfn(sim_pool_base()));
    ck_assert_ptr_null(plat_map_mfn(_mfn(sim_backed_frames())));
    ck_assert_uint_eq(sim_bad_map_calls, 1);
    /* Memory is shared between the views. */
    sim_guest_write(0x1234, 0xdeadbeefcafef00dULL, 8);
    ck_assert_uint_eq(*(uint64_t *)((char *)plat_map_mfn(_mfn(1)) + 0x234), 0xdeadbeefcafef00dULL);
    ck_assert_uint_eq(sim_read_phys(0x1236, 2), 0xcafe);
    ck_assert_uint_eq(sim_guest_read((uint64_t)RAM, 4), 0xffffffffu);
    ck_assert_uint_eq(sim_read_phys(sim_backed_frames() << PAGE_SHIFT, 8), ~0ULL);
    sim_fini();
}
END_TEST

START_TEST(sim_log_capture)
{
    sim_init(RAM, POOL);
    plat_log("shadow: made %d", 3);
    plat_log("second\n");
    ck_assert_uint_eq(sim_log_lines(), 2);
    ck_assert_str_eq(sim_log_text(), "umbra: shadow: made 3\numbra: second\n");
    ck_assert(sim_log_contains("made 3"));
    for (int i = 0; i < 40000; i++)
        plat_log("filler line %d with some text to make it longer", i);
    ck_assert(strlen(sim_log_text()) <= (1u << 20));
    ck_assert(sim_log_contains("filler line 39999 "));
    sim_log_reset();
    ck_assert_str_eq(sim_log_text(), "");
    plat_flush_va(NULL, 0x5000);
    ck_assert_uint_eq(sim_flush_va_calls, 1);
    ck_assert_uint_eq(sim_last_flush_va, 0x5000);
    sim_fini();
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("refmmu");
    TCase *tc = tcase_create("sim");
    tcase_add_test(tc, sim_layout_and_p2m);
    tcase_add_test(tc, sim_log_capture);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
