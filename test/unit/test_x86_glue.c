/*
 * The shadow-backed callbacks exactly as x86emu.h documents them, compiled
 * against the real include/umbra/shadow.h, with test doubles for
 * shadow_read_guest()/shadow_write_guest().  Checks the glue's contract: a
 * PAE guest's LOCK CMPXCHG8B on a write-protected PTE reaches
 * shadow_write_guest() once with the whole 8 bytes and the right rights,
 * SH_REFLECT becomes the #PF the guest must see, SH_STOP becomes UNHANDLED.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <umbra/x86emu.h>
#include <umbra/x86.h>
#include <umbra/shadow.h>

/* ---- test doubles for the shadow MMU ---- */
static uint8_t guest[0x10000];
static enum sh_result next_write = SH_FIXED;
static unsigned writes;
static gva_t write_va;
static unsigned write_len;
static uint32_t write_pfec;

enum sh_result shadow_read_guest(struct shadow_vcpu *v, gva_t va, void *dst, unsigned len, uint32_t pfec,
                                 struct sh_fault *out)
{
    (void)v; (void)pfec; (void)out;
    memcpy(dst, guest + va, len);
    return SH_FIXED;
}

enum sh_result shadow_write_guest(struct shadow_vcpu *v, gva_t va, const void *src, unsigned len, uint32_t pfec,
                                  struct sh_fault *out)
{
    (void)v;
    writes++;
    write_va = va;
    write_len = len;
    write_pfec = pfec;
    if (next_write == SH_REFLECT) {
        *out = (struct sh_fault){ .vector = X86_EXC_PF, .pfec = PFEC_PRESENT | PFEC_WRITE, .cr2 = va };
        return SH_REFLECT;
    }
    if (next_write == SH_STOP)
        return SH_STOP;
    memcpy(guest + va, src, len);
    return SH_FIXED;
}

/* ---- the glue, as in the x86emu.h comment ---- */
static int emu_write(struct x86_emu_ctxt *c, uint64_t la, const void *src, unsigned len, uint32_t pfec,
                     struct x86_fault *f)
{
    struct sh_fault sf;
    switch (shadow_write_guest(c->opaque, la, src, len, pfec, &sf)) {
    case SH_FIXED:   return X86EMU_OK;
    case SH_REFLECT: *f = (struct x86_fault){ sf.vector, true, sf.pfec, sf.cr2 };
                     return X86EMU_FAULT;
    default:         return X86EMU_UNHANDLED;
    }
}

static int emu_read(struct x86_emu_ctxt *c, uint64_t la, void *dst, unsigned len, uint32_t pfec,
                    struct x86_fault *f)
{
    struct sh_fault sf;
    switch (shadow_read_guest(c->opaque, la, dst, len, pfec, &sf)) {
    case SH_FIXED:   return X86EMU_OK;
    case SH_REFLECT: *f = (struct x86_fault){ sf.vector, true, sf.pfec, sf.cr2 };
                     return X86EMU_FAULT;
    default:         return X86EMU_UNHANDLED;
    }
}

static const struct x86_emu_ops shadow_ops = { emu_read, emu_write, NULL, NULL };

static void pae_guest(struct x86_regs *r)
{
    memset(r, 0, sizeof(*r));
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
}

START_TEST(pae_pte_cmpxchg8b)
{
    struct shadow_vcpu v = { 0 };
    struct x86_regs r;
    pae_guest(&r);
    next_write = SH_FIXED;
    writes = 0;
    struct x86_emu_ctxt c = { .ops = &shadow_ops, .opaque = &v, .regs = &r, .mode = X86_MODE_PROT32 };
    ck_assert_int_eq(x86_emulate(&c), X86EMU_OK);
    ck_assert_uint_eq(writes, 1);
    ck_assert_uint_eq(write_va, 0x5ff8);
    ck_assert_uint_eq(write_len, 8);
    ck_assert_uint_eq(write_pfec, PFEC_WRITE);
    uint64_t now;
    memcpy(&now, guest + 0x5ff8, 8);
    ck_assert_uint_eq(now, 0x8000000000002067ULL);
    ck_assert(r.rflags & X86_RFLAGS_ZF);
    ck_assert_uint_eq(r.rip, 0x1004);
}
END_TEST

START_TEST(reflect_becomes_pf)
{
    struct shadow_vcpu v = { 0 };
    struct x86_regs r, before;
    pae_guest(&r);
    r.cpl = 3;
    before = r;
    next_write = SH_REFLECT;
    writes = 0;
    struct x86_emu_ctxt c = { .ops = &shadow_ops, .opaque = &v, .regs = &r, .mode = X86_MODE_PROT32 };
    ck_assert_int_eq(x86_emulate(&c), X86EMU_FAULT);
    ck_assert_uint_eq(write_pfec, PFEC_WRITE | PFEC_USER);
    ck_assert_uint_eq(c.fault.vector, X86_EXC_PF);
    ck_assert(c.fault.has_error);
    ck_assert_uint_eq(c.fault.error_code, PFEC_PRESENT | PFEC_WRITE);
    ck_assert_uint_eq(c.fault.cr2, 0x5ff8);
    ck_assert(!memcmp(&r, &before, sizeof(r)));
}
END_TEST

START_TEST(stop_becomes_unhandled)
{
    struct shadow_vcpu v = { 0 };
    struct x86_regs r, before;
    pae_guest(&r);
    before = r;
    next_write = SH_STOP;
    struct x86_emu_ctxt c = { .ops = &shadow_ops, .opaque = &v, .regs = &r, .mode = X86_MODE_PROT32 };
    ck_assert_int_eq(x86_emulate(&c), X86EMU_UNHANDLED);
    ck_assert(!memcmp(&r, &before, sizeof(r)));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("x86_glue");
    TCase *tc = tcase_create("glue");
    tcase_add_test(tc, pae_pte_cmpxchg8b);
    tcase_add_test(tc, reflect_becomes_pf);
    tcase_add_test(tc, stop_becomes_unhandled);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
