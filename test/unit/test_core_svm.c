/*
 * The VMCB layout (include/umbra/svm.h) at run time as well as by its
 * _Static_asserts, and the offsets generated for vmrun.S (kobj/asm-offsets.h)
 * against the C struct they were generated from.
 */
#include <check.h>
#include <stdlib.h>
#include <umbra/svm.h>
#include "asm-offsets.h"

START_TEST(vmcb_layout)
{
    ck_assert_uint_eq(sizeof(struct vmcb), 4096);
    ck_assert_uint_eq(sizeof(struct vmcb_seg), 16);
    ck_assert_uint_eq(offsetof(struct vmcb, ctl.intercept_misc1), 0x00C);
    ck_assert_uint_eq(offsetof(struct vmcb, ctl.intercept_misc2), 0x010);
    ck_assert_uint_eq(offsetof(struct vmcb, ctl.msrpm_base_pa), 0x048);
    ck_assert_uint_eq(offsetof(struct vmcb, ctl.exitinfo1), 0x078);
    ck_assert_uint_eq(offsetof(struct vmcb, ctl.exitinfo2), 0x080);
    ck_assert_uint_eq(offsetof(struct vmcb, ctl.np_enable), 0x090);
    ck_assert_uint_eq(offsetof(struct vmcb, ctl.clean), 0x0C0);
    ck_assert_uint_eq(offsetof(struct vmcb, ctl.insn_bytes), 0x0D1);
    ck_assert_uint_eq(offsetof(struct vmcb, save.cs), 0x410);
    ck_assert_uint_eq(offsetof(struct vmcb, save.gdtr), 0x460);
    ck_assert_uint_eq(offsetof(struct vmcb, save.idtr), 0x480);
    ck_assert_uint_eq(offsetof(struct vmcb, save.cr3), 0x550);
    ck_assert_uint_eq(offsetof(struct vmcb, save.cr0), 0x558);
    ck_assert_uint_eq(offsetof(struct vmcb, save.dr7), 0x560);
    ck_assert_uint_eq(offsetof(struct vmcb, save.rflags), 0x570);
    ck_assert_uint_eq(offsetof(struct vmcb, save.star), 0x600);
    ck_assert_uint_eq(offsetof(struct vmcb, save.kernel_gs_base), 0x620);
    ck_assert_uint_eq(offsetof(struct vmcb, save.sysenter_eip), 0x638);
    ck_assert_uint_eq(offsetof(struct vmcb, save.lastexcp_to), 0x690);
}
END_TEST

START_TEST(asm_offsets_match)
{
    ck_assert_uint_eq(VCPU_RBX, offsetof(struct svm_vcpu, regs.rbx));
    ck_assert_uint_eq(VCPU_RCX, offsetof(struct svm_vcpu, regs.rcx));
    ck_assert_uint_eq(VCPU_RDI, offsetof(struct svm_vcpu, regs.rdi));
    ck_assert_uint_eq(VCPU_RBP, offsetof(struct svm_vcpu, regs.rbp));
    ck_assert_uint_eq(VCPU_R8, offsetof(struct svm_vcpu, regs.r8));
    ck_assert_uint_eq(VCPU_R15, offsetof(struct svm_vcpu, regs.r15));
    ck_assert_uint_eq(VCPU_VMCB_PA, offsetof(struct svm_vcpu, vmcb_pa));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("core-svm");
    TCase *tc = tcase_create("all");
    tcase_add_test(tc, vmcb_layout);
    tcase_add_test(tc, asm_offsets_match);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
