/*
 * Hosted tests of src/svm/event.c: which event an exit cut short, from
 * EXITINTINFO checked against the VMRUN's injection, the last injection,
 * the exception intercepts, the faulting IDT gate, the instruction at RIP and
 * the LAPIC's in-service register.  The cases are the reports seen from
 * hardware/QEMU (right) and from Bochs 2.7 (stale: src/svm/event.h).
 */
#include <check.h>
#include <umbra/svm.h>
#include <umbra/x86.h>
#include "../../src/svm/event.h"

#define PF_EXIT (VMEXIT_EXC_BASE + X86_EXC_PF)
#define IDT 0xc1a00000ULL
#define INTR(v) (SVM_EVT_VALID | SVM_EVT_TYPE_INTR | (v))
#define SOFT(v) (SVM_EVT_VALID | SVM_EVT_TYPE_SOFT | (v))
#define EXC(v) (SVM_EVT_VALID | SVM_EVT_TYPE_EXC | (v))
#define EXC_ERR(v, e) (EXC(v) | SVM_EVT_ERR_VALID | ((uint64_t)(e) << 32))

/* What the callbacks answer, and how often they were asked. */
static struct {
    uint8_t insn[2];
    bool insn_ok;
    int isr;
    int insn_calls, isr_calls;
} world;

static bool insn_cb(void *arg, uint8_t b[2])
{
    (void)arg;
    world.insn_calls++;
    b[0] = world.insn[0];
    b[1] = world.insn[1];
    return world.insn_ok;
}

static int isr_cb(void *arg)
{
    (void)arg;
    world.isr_calls++;
    return world.isr;
}

/* A #PF exit on the stack (not the IDT) with report ii; no injection this VMRUN. */
static struct svm_event_facts facts(uint64_t ii)
{
    world.insn[0] = 0x9c;               /* PUSHF */
    world.insn[1] = 0x90;
    world.insn_ok = true;
    world.isr = -1;
    world.insn_calls = world.isr_calls = 0;
    return (struct svm_event_facts){
        .exitintinfo = ii, .exitcode = PF_EXIT, .exitinfo2 = 0xc1234ffc, .rip = 0xc1000100,
        .intercepted_exc = 1u << X86_EXC_PF, .idt_base = IDT, .idt_limit = 256 * 8 - 1,
        .insn_at_rip = insn_cb, .lapic_isr_top = isr_cb,
    };
}

START_TEST(trusted_report_asks_nothing)
{
    enum svm_event_from from;
    struct svm_event_facts f = facts(INTR(0x31));
    f.last_injected = EXC_ERR(X86_EXC_PF, 2);
    world.isr = 0xec;
    ck_assert_uint_eq(svm_event_cut_short(&f, &from), INTR(0x31));
    ck_assert_int_eq(from, EVF_REPORTED);
    ck_assert_int_eq(world.insn_calls + world.isr_calls, 0);
    /* A native exception Umbra does not intercept is taken as reported too. */
    f = facts(EXC_ERR(X86_EXC_GP, 0));
    ck_assert_uint_eq(svm_event_cut_short(&f, &from), EXC_ERR(X86_EXC_GP, 0));
    ck_assert_int_eq(from, EVF_REPORTED);
}
END_TEST

START_TEST(qemu_exception_above_31_is_an_interrupt)
{
    enum svm_event_from from;
    struct svm_event_facts f = facts(EXC_ERR(0x30, 5));
    ck_assert_uint_eq(svm_event_cut_short(&f, &from), INTR(0x30));
    ck_assert_int_eq(from, EVF_REPORTED);
}
END_TEST

START_TEST(own_injection_cut_short_at_its_rip)
{
    enum svm_event_from from;
    /* Bochs reports a stale #GP; the injected INTR 0x20 never reached its handler. */
    struct svm_event_facts f = facts(EXC_ERR(X86_EXC_GP, 0));
    f.run_eventinj = INTR(0x20);
    f.run_rip = f.rip;
    ck_assert_uint_eq(svm_event_cut_short(&f, &from), INTR(0x20));
    ck_assert_int_eq(from, EVF_INJECTED);
    /* The same report as the injection is simply right. */
    f.exitintinfo = INTR(0x20);
    ck_assert_uint_eq(svm_event_cut_short(&f, &from), INTR(0x20));
    ck_assert_int_eq(from, EVF_REPORTED);
    /* Not an exception exit: the report is taken, nothing is asked. */
    f.exitintinfo = EXC_ERR(X86_EXC_GP, 0);
    f.exitcode = VMEXIT_NPF;
    ck_assert_uint_eq(svm_event_cut_short(&f, &from), EXC_ERR(X86_EXC_GP, 0));
    ck_assert_int_eq(from, EVF_REPORTED);
}
END_TEST

START_TEST(task_switch_exit_is_left_to_taskswitch)
{
    enum svm_event_from from;
    /* An injected #DF or #PF that goes through a task gate exits as TASK_SWITCH: its
     * report is the event the switch delivers (taskswitch.c), whatever was injected before. */
    struct svm_event_facts f = facts(EXC_ERR(X86_EXC_PF, 2));
    f.exitcode = VMEXIT_TASK_SWITCH;
    f.last_injected = EXC_ERR(X86_EXC_PF, 2);
    world.isr = 0xec;
    ck_assert_uint_eq(svm_event_cut_short(&f, &from), EXC_ERR(X86_EXC_PF, 2));
    ck_assert_int_eq(from, EVF_REPORTED);
    ck_assert_int_eq(world.insn_calls + world.isr_calls, 0);
}
END_TEST

START_TEST(idt_gate_names_the_vector)
{
    enum svm_event_from from;
    /* Bochs: a physical timer tick faults on its gate, the report says vector 0. */
    struct svm_event_facts f = facts(EXC(0));
    f.exitinfo2 = IDT + 0xec * 8 + 4;
    ck_assert_uint_eq(svm_event_cut_short(&f, &from), INTR(0xec));
    ck_assert_int_eq(from, EVF_IDT_GATE);
    /* Vector 2 is an NMI. */
    f.exitinfo2 = IDT + 2 * 8;
    ck_assert_uint_eq(svm_event_cut_short(&f, &from), SVM_EVT_VALID | SVM_EVT_TYPE_NMI | 2);
    /* INT 0x80 at RIP on gate 0x80: the instruction runs again. */
    f.exitinfo2 = IDT + 0x80 * 8;
    world.insn[0] = 0xcd;
    world.insn[1] = 0x80;
    ck_assert_uint_eq(svm_event_cut_short(&f, &from), SOFT(0x80));
    ck_assert_int_eq(from, EVF_IDT_GATE);
    /* A report that agrees with the gate is the report. */
    f = facts(INTR(0x30));
    f.exitinfo2 = IDT + 0x30 * 8;
    ck_assert_uint_eq(svm_event_cut_short(&f, &from), INTR(0x30));
    ck_assert_int_eq(from, EVF_REPORTED);
    /* Long mode: 16-byte gates, 64-bit addresses. */
    f = facts(EXC(0));
    f.lma = true;
    f.idt_base = 0xffffffff81000000ULL;
    f.idt_limit = 256 * 16 - 1;
    f.exitinfo2 = f.idt_base + 0x31 * 16 + 8;
    ck_assert_uint_eq(svm_event_cut_short(&f, &from), INTR(0x31));
    /* Past the limit: not the IDT. */
    f.exitinfo2 = f.idt_base + 256 * 16;
    ck_assert_uint_eq(svm_event_cut_short(&f, &from), EXC(0));
    ck_assert_int_eq(from, EVF_REPORTED);
}
END_TEST

START_TEST(stale_report_taken_from_the_lapic)
{
    enum svm_event_from from;
    /* Bochs: a #PF Umbra reflected earlier is still recorded; a native tick's push faulted. */
    struct svm_event_facts f = facts(EXC_ERR(X86_EXC_PF, 3));
    f.last_injected = EXC_ERR(X86_EXC_PF, 3);
    world.isr = 0xec;
    ck_assert_uint_eq(svm_event_cut_short(&f, &from), INTR(0xec));
    ck_assert_int_eq(from, EVF_LAPIC_ISR);
    ck_assert_int_eq(world.isr_calls, 1);
    /* The injection of an earlier VMRUN whose handler has run (RIP moved) is stale too. */
    f = facts(INTR(0xec));
    f.run_eventinj = f.last_injected = INTR(0xec);
    f.run_rip = f.rip - 0x40;
    world.isr = 0x31;
    ck_assert_uint_eq(svm_event_cut_short(&f, &from), INTR(0x31));
    ck_assert_int_eq(from, EVF_LAPIC_ISR);
}
END_TEST

START_TEST(stale_report_with_int_n_at_rip)
{
    enum svm_event_from from;
    struct svm_event_facts f = facts(EXC_ERR(X86_EXC_PF, 2));
    world.insn[0] = 0xcd;
    world.insn[1] = 0x80;
    world.isr = 0xec;                   /* not asked: the instruction explains the delivery */
    ck_assert_uint_eq(svm_event_cut_short(&f, &from), SOFT(0x80));
    ck_assert_int_eq(from, EVF_INSN);
    ck_assert_int_eq(world.isr_calls, 0);
    world.insn[0] = 0xcc;
    ck_assert_uint_eq(svm_event_cut_short(&f, &from), SOFT(X86_EXC_BP));
}
END_TEST

START_TEST(unresolved_reports)
{
    enum svm_event_from from;
    /* Equal to the last injection, nothing better known (PIC interrupt, no ISR): as reported. */
    struct svm_event_facts f = facts(INTR(0x20));
    f.last_injected = INTR(0x20);
    ck_assert_uint_eq(svm_event_cut_short(&f, &from), INTR(0x20));
    ck_assert_int_eq(from, EVF_UNCONFIRMED);
    /* An intercepted exception in delivery cannot be: the caller must not deliver it. */
    f = facts(EXC_ERR(X86_EXC_PF, 3));
    world.insn_ok = false;
    ck_assert_uint_eq(svm_event_cut_short(&f, &from), EXC_ERR(X86_EXC_PF, 3));
    ck_assert_int_eq(from, EVF_IMPOSSIBLE);
    /* Not intercepted there (paging=npt): a #PF report is taken. */
    f = facts(EXC_ERR(X86_EXC_PF, 3));
    f.intercepted_exc = 0;
    ck_assert_uint_eq(svm_event_cut_short(&f, &from), EXC_ERR(X86_EXC_PF, 3));
    ck_assert_int_eq(from, EVF_REPORTED);
    /* ISR vectors below 32 are not interrupts. */
    f = facts(EXC_ERR(X86_EXC_PF, 3));
    world.insn_ok = false;
    world.isr = 7;
    svm_event_cut_short(&f, &from);
    ck_assert_int_eq(from, EVF_IMPOSSIBLE);
    ck_assert_str_eq(svm_event_from_name(EVF_LAPIC_ISR), "lapic-isr");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("svm_event");
    TCase *tc = tcase_create("event");
    tcase_add_test(tc, trusted_report_asks_nothing);
    tcase_add_test(tc, qemu_exception_above_31_is_an_interrupt);
    tcase_add_test(tc, own_injection_cut_short_at_its_rip);
    tcase_add_test(tc, task_switch_exit_is_left_to_taskswitch);
    tcase_add_test(tc, idt_gate_names_the_vector);
    tcase_add_test(tc, stale_report_taken_from_the_lapic);
    tcase_add_test(tc, stale_report_with_int_n_at_rip);
    tcase_add_test(tc, unresolved_reports);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
