/*
 * One guest access as the CPU under Umbra runs it, for the hosted shadow
 * tests: the reference MMU walks the shadows (the hardware walk), and each
 * #PF it raises goes to shadow_page_fault(), until the access completes.
 * Returns the host-physical address, or ~0 when the shadow asked for the
 * instruction to be emulated.  Fails the test on any other answer, on a
 * fault that is not #PF, or when 8 faults do not make the access complete.
 */
#ifndef UMBRA_TEST_SHADOW_TOUCH_H
#define UMBRA_TEST_SHADOW_TOUCH_H

#include <check.h>
#include <umbra/shadow.h>
#include <umbra/x86.h>
#include "refmmu.h"

static inline uint64_t shadow_touch(struct shadow_vcpu *v, gva_t va, uint32_t acc)
{
    for (int i = 0; i < 8; i++) {
        struct ref_result r;
        struct sh_fault f;
        if (ref_hw_walk(v, va, acc, false, 0, &r))
            return r.pa;
        ck_assert_int_eq(r.vector, X86_EXC_PF);
        enum sh_result s = shadow_page_fault(v, va, r.pfec, &f);
        ck_assert_msg(s == SH_FIXED || s == SH_EMULATE, "va %#llx: result %d",
                      (unsigned long long)va, s);
        if (s == SH_EMULATE)
            return ~0ULL;
    }
    ck_abort_msg("access %#llx did not converge", (unsigned long long)va);
    return ~0ULL;
}

#endif
