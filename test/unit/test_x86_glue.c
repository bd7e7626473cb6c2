/*
 * The product's emulator glue under shadow paging: src/svm/emu_shadow.c
 * (svm_emu_shadow_ops, linked here unchanged) run by the real x86 emulator,
 * with test doubles for the three shadow MMU calls it makes
 * (shadow_read_guest / shadow_write_guest / shadow_cmpxchg_guest).  Checks
 * the contract emu_shadow.c states: a PAE guest's LOCK CMPXCHG8B on a
 * write-protected PTE is one shadow_cmpxchg_guest() of the whole 8 bytes
 * with the right rights (and no plain write); SH_REFLECT becomes the #PF the
 * guest must see, with the shadow's error code, and any other vector gets
 * error code 0; SH_STOP becomes UNHANDLED with the shadow's reason;
 * RFLAGS.AC = 1 adds SH_PFEC_AC to every access.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <umbra/x86emu.h>
#include <umbra/x86.h>
#include <umbra/shadow.h>
#include "../../src/svm/emu.h"

/* ---- test doubles for the shadow MMU ---- */
static uint8_t guest[0x10000];
static enum sh_result next_result = SH_FIXED;
static struct sh_fault next_fault;
static unsigned reads, writes, cmpxchgs;
static gva_t last_va;
static unsigned last_len;
static uint32_t last_pfec, read_pfec;
static const struct shadow_vcpu *last_v;
static unsigned unshadow_at;        /* the write (1-based) that reports its table unshadowed; 0: none */

static enum sh_result outcome(struct shadow_vcpu *v, gva_t va, unsigned len, uint32_t pfec,
                              struct sh_fault *out)
{
    last_v = v;
    last_va = va;
    last_len = len;
    last_pfec = pfec;
    if (next_result == SH_REFLECT) {
        *out = next_fault;
        return SH_REFLECT;
    }
    if (next_result == SH_STOP) {
        out->why = "test: the shadow refused";
        return SH_STOP;
    }
    return SH_FIXED;
}

enum sh_result shadow_read_guest(struct shadow_vcpu *v, gva_t va, void *dst, unsigned len, uint32_t pfec,
                                 struct sh_fault *out)
{
    (void)v; (void)out;
    reads++;
    read_pfec = pfec;
    memcpy(dst, guest + va, len);       /* fetches and reads always succeed here */
    return SH_FIXED;
}

enum sh_result shadow_write_guest(struct shadow_vcpu *v, gva_t va, const void *src, unsigned len, uint32_t pfec,
                                  struct sh_fault *out)
{
    writes++;
    enum sh_result r = outcome(v, va, len, pfec, out);
    if (r == SH_FIXED)
        memcpy(guest + va, src, len);
    if (r == SH_FIXED && writes == unshadow_at)
        out->unshadowed = true;
    return r;
}

enum sh_result shadow_cmpxchg_guest(struct shadow_vcpu *v, gva_t va, void *expected, const void *src,
                                    unsigned len, uint32_t pfec, bool *done, struct sh_fault *out)
{
    cmpxchgs++;
    enum sh_result r = outcome(v, va, len, pfec, out);
    if (r != SH_FIXED)
        return r;
    *done = !memcmp(guest + va, expected, len);
    if (*done)
        memcpy(guest + va, src, len);
    else
        memcpy(expected, guest + va, len);
    return SH_FIXED;
}

/* ---- a PAE guest about to run LOCK CMPXCHG8B on a PTE ---- */
static struct shadow_vcpu sh;
static struct svm_vcpu vcpu = { .sh = &sh };

static void pae_guest(struct svm_emu *e)
{
    memset(e, 0, sizeof(*e));
    struct x86_regs *r = &e->r;
    for (int s = 0; s < X86_NR_SEGS; s++) {
        r->seg[s].limit = 0xffffffffu;
        r->seg[s].attr = 0xc93;
    }
    r->seg[X86_SEG_CS].attr = 0xc9b;
    r->rflags = X86_RFLAGS_FIXED;
    r->rip = 0x1000;
    memcpy(guest + 0x1000, "\xf0\x0f\xc7\x0e", 4);      /* lock cmpxchg8b [esi] */
    r->gpr[X86_RSI] = 0x5ff8;                           /* the last PTE of a page table */
    r->gpr[X86_RAX] = 0x1067; r->gpr[X86_RDX] = 0x80000000;   /* old: NX | frame 1 | A D U W P */
    r->gpr[X86_RBX] = 0x2067; r->gpr[X86_RCX] = 0x80000000;   /* new: frame 2 */
    uint64_t old = 0x8000000000001067ULL;
    memcpy(guest + 0x5ff8, &old, 8);
    e->v = &vcpu;
    e->c = (struct x86_emu_ctxt){ .ops = &svm_emu_shadow_ops, .regs = &e->r, .mode = X86_MODE_PROT32 };
    next_result = SH_FIXED;
    reads = writes = cmpxchgs = 0;
    unshadow_at = 0;
    last_v = NULL;
}

/* A plain store: mov [esi], eax. */
static void pae_store(struct svm_emu *e)
{
    pae_guest(e);
    memcpy(guest + 0x1000, "\x89\x06", 2);
}

START_TEST(pae_pte_cmpxchg8b)
{
    struct svm_emu e;
    pae_guest(&e);
    ck_assert_int_eq(x86_emulate(&e.c), X86EMU_OK);
    ck_assert_uint_eq(cmpxchgs, 1);
    ck_assert_uint_eq(writes, 0);
    ck_assert_ptr_eq(last_v, &sh);                      /* the vCPU's own shadow */
    ck_assert_uint_eq(last_va, 0x5ff8);
    ck_assert_uint_eq(last_len, 8);
    ck_assert_uint_eq(last_pfec, PFEC_WRITE);
    uint64_t now;
    memcpy(&now, guest + 0x5ff8, 8);
    ck_assert_uint_eq(now, 0x8000000000002067ULL);
    ck_assert(e.r.rflags & X86_RFLAGS_ZF);
    ck_assert_uint_eq(e.r.rip, 0x1004);
}
END_TEST

START_TEST(cmpxchg8b_miss_loads_edx_eax)
{
    struct svm_emu e;
    pae_guest(&e);
    uint64_t other = 0x8000000000003067ULL;
    memcpy(guest + 0x5ff8, &other, 8);
    ck_assert_int_eq(x86_emulate(&e.c), X86EMU_OK);
    ck_assert_uint_eq(cmpxchgs, 1);
    ck_assert(!(e.r.rflags & X86_RFLAGS_ZF));
    ck_assert_uint_eq(e.r.gpr[X86_RAX], 0x3067);
    ck_assert_uint_eq(e.r.gpr[X86_RDX], 0x80000000);
}
END_TEST

START_TEST(reflect_becomes_pf)
{
    struct svm_emu e;
    pae_guest(&e);
    e.r.cpl = 3;
    struct x86_regs before = e.r;
    next_result = SH_REFLECT;
    next_fault = (struct sh_fault){ .vector = X86_EXC_PF, .pfec = PFEC_PRESENT | PFEC_WRITE | PFEC_USER,
                                    .cr2 = 0x5ff8 };
    ck_assert_int_eq(x86_emulate(&e.c), X86EMU_FAULT);
    ck_assert_uint_eq(last_pfec, PFEC_WRITE | PFEC_USER);
    ck_assert_uint_eq(e.c.fault.vector, X86_EXC_PF);
    ck_assert(e.c.fault.has_error);
    ck_assert_uint_eq(e.c.fault.error_code, PFEC_PRESENT | PFEC_WRITE | PFEC_USER);
    ck_assert_uint_eq(e.c.fault.cr2, 0x5ff8);
    ck_assert(!memcmp(&e.r, &before, sizeof(e.r)));
}
END_TEST

/* A vector other than #PF (#GP for a non-canonical address): error code 0, whatever the shadow's pfec. */
START_TEST(reflect_gp_has_error_zero)
{
    struct svm_emu e;
    pae_store(&e);
    next_result = SH_REFLECT;
    next_fault = (struct sh_fault){ .vector = X86_EXC_GP, .pfec = PFEC_PRESENT | PFEC_WRITE, .cr2 = 0x5ff8 };
    ck_assert_int_eq(x86_emulate(&e.c), X86EMU_FAULT);
    ck_assert_uint_eq(writes, 1);
    ck_assert_uint_eq(e.c.fault.vector, X86_EXC_GP);
    ck_assert(e.c.fault.has_error);
    ck_assert_uint_eq(e.c.fault.error_code, 0);
}
END_TEST

START_TEST(stop_becomes_unhandled)
{
    struct svm_emu e;
    pae_guest(&e);
    struct x86_regs before = e.r;
    next_result = SH_STOP;
    ck_assert_int_eq(x86_emulate(&e.c), X86EMU_UNHANDLED);
    ck_assert(!memcmp(&e.r, &before, sizeof(e.r)));
    ck_assert_ptr_nonnull(e.stop_why);
    ck_assert_str_eq(e.stop_why, "test: the shadow refused");
}
END_TEST

/* RFLAGS.AC = 1: SH_PFEC_AC on the write and the locked update, and on the fetch too; AC = 0: on none. */
START_TEST(ac_flag_reaches_the_shadow)
{
    struct svm_emu e;
    pae_store(&e);
    e.r.rflags |= X86_RFLAGS_AC;
    ck_assert_int_eq(x86_emulate(&e.c), X86EMU_OK);
    ck_assert_uint_eq(writes, 1);
    ck_assert_uint_eq(last_pfec, PFEC_WRITE | SH_PFEC_AC);
    ck_assert(read_pfec & SH_PFEC_AC);
    pae_guest(&e);
    e.r.rflags |= X86_RFLAGS_AC;
    ck_assert_int_eq(x86_emulate(&e.c), X86EMU_OK);
    ck_assert_uint_eq(last_pfec, PFEC_WRITE | SH_PFEC_AC);
    pae_store(&e);
    ck_assert_int_eq(x86_emulate(&e.c), X86EMU_OK);
    ck_assert_uint_eq(last_pfec, PFEC_WRITE);
    ck_assert(!(read_pfec & SH_PFEC_AC));
}
END_TEST

/* rep stosd over a page table (clear_page): 256-byte chunks until a write's
 * table is unshadowed, then the rest is the guest's, natively: iterations
 * done committed, RIP still at the instruction; without it, the whole page. */
static void pae_clear_page(struct svm_emu *e)
{
    pae_guest(e);
    memcpy(guest + 0x1000, "\xf3\xab", 2);            /* rep stosd */
    memset(guest + 0x6000, 0xee, 0x1000);
    e->r.gpr[X86_RDI] = 0x6000;
    e->r.gpr[X86_RCX] = 1024;
    e->r.gpr[X86_RAX] = 0;
}

START_TEST(string_yields_after_unshadow)
{
    struct svm_emu e;
    pae_clear_page(&e);
    unshadow_at = 2;
    ck_assert_int_eq(x86_emulate(&e.c), X86EMU_OK);
    ck_assert_uint_eq(writes, 2);
    ck_assert_uint_eq(e.r.gpr[X86_RCX], 1024 - 2 * 64);
    ck_assert_uint_eq(e.r.gpr[X86_RDI], 0x6000 + 2 * 256);
    ck_assert_uint_eq(e.r.rip, 0x1000);
    ck_assert_uint_eq(guest[0x6000 + 511], 0);
    ck_assert_uint_eq(guest[0x6000 + 512], 0xee);
    pae_clear_page(&e);
    ck_assert_int_eq(x86_emulate(&e.c), X86EMU_OK);
    ck_assert_uint_eq(writes, 16);
    ck_assert_uint_eq(e.r.gpr[X86_RCX], 0);
    ck_assert_uint_eq(e.r.rip, 0x1002);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("x86_glue");
    TCase *tc = tcase_create("glue");
    tcase_add_test(tc, pae_pte_cmpxchg8b);
    tcase_add_test(tc, cmpxchg8b_miss_loads_edx_eax);
    tcase_add_test(tc, reflect_becomes_pf);
    tcase_add_test(tc, reflect_gp_has_error_zero);
    tcase_add_test(tc, stop_becomes_unhandled);
    tcase_add_test(tc, ac_flag_reaches_the_shadow);
    tcase_add_test(tc, string_yields_after_unshadow);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
