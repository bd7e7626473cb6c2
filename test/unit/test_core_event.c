/*
 * Hosted tests of src/svm/event.c: which event an exit cut short, from
 * EXITINTINFO checked against the VMRUN's injection, the last injection,
 * the exception intercepts, the faulting IDT gate, the instruction at RIP and
 * the LAPIC's in-service register.  The cases are the reports seen from
 * hardware/QEMU (right) and from Bochs 2.7 (stale: src/svm/event.h).  Every
 * rule that overrules a report has a case of a report some CPU makes that
 * the rule must leave alone.
 */
#include <check.h>
#include <string.h>
#include <umbra/svm.h>
#include <umbra/x86.h>
#include "../../src/svm/event.h"

#define PF_EXIT (VMEXIT_EXC_BASE + X86_EXC_PF)
#define IDT 0xc1a00000ULL
#define GDT 0xc1b00000ULL
#define TSS 0xc1c00000ULL
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

/* Guest memory for read_guest: one IDT gate (at world.gate_la) and the TSS's first 0x20 bytes. */
static struct {
    uint64_t gate_la;
    uint8_t gate[8];
    uint8_t tss[0x20];
    int calls;
} mem;

static bool read_cb(void *arg, uint64_t la, void *buf, unsigned len)
{
    (void)arg;
    mem.calls++;
    if (la == mem.gate_la && len <= 8) {
        memcpy(buf, mem.gate, len);
        return true;
    }
    if (la >= TSS && la + len <= TSS + sizeof(mem.tss)) {
        memcpy(buf, mem.tss + (la - TSS), len);
        return true;
    }
    return false;
}

/* Gate `vec` of the 32-bit IDT: a present interrupt gate (type 14) or task gate (5) to sel. */
static void set_gate(unsigned vec, unsigned type, uint16_t sel)
{
    memset(mem.gate, 0, sizeof(mem.gate));
    mem.gate_la = IDT + vec * 8;
    mem.gate[2] = (uint8_t)sel;
    mem.gate[3] = (uint8_t)(sel >> 8);
    mem.gate[5] = (uint8_t)(0x80 | type);
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
    memset(&mem, 0, sizeof(mem));
    set_gate(0x21, 14, 0x08);
    return (struct svm_event_facts){
        .exitintinfo = ii, .exitcode = PF_EXIT, .exitinfo2 = 0xc1234ffc, .rip = 0xc1000100,
        .intercepted_exc = 1u << X86_EXC_PF, .idt_base = IDT, .idt_limit = 256 * 8 - 1,
        .gdt_base = GDT, .gdt_limit = 0x7f, .tss_base = TSS, .tss_limit = 0x67,
        .insn_at_rip = insn_cb, .read_guest = read_cb, .lapic_isr_top = isr_cb,
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
    /* QEMU's report for i386 eventinj's "divide by 0": 0x380000b0e is #PF, error code 3. */
    ck_assert_uint_eq(EXC_ERR(X86_EXC_PF, 3), 0x380000b0eULL);
    /* smap: the #PF(1) Umbra reflected, its push cut short by a #PF on the stack. */
    struct svm_event_facts f = facts(0x180000b0eULL);
    f.run_eventinj = f.last_injected = EXC_ERR(X86_EXC_PF, 1);
    f.run_rip = f.rip;
    ck_assert_uint_eq(svm_event_cut_short(&f, &from), EXC_ERR(X86_EXC_PF, 1));
    ck_assert_int_eq(from, EVF_REPORTED);
    ck_assert_int_eq(world.insn_calls + world.isr_calls, 0);
    /* Same RIP, another event: the injected #PF's handler returned to the DIV, which raised
     * #DE natively, and #DE's push faulted.  The report is right, not the injection. */
    f.exitintinfo = EXC(X86_EXC_DE);
    ck_assert_uint_eq(svm_event_cut_short(&f, &from), EXC(X86_EXC_DE));
    ck_assert_int_eq(from, EVF_REPORTED);
    /* The injected #PF reported with RIP moved: it was delivered, a native #PF would exit. */
    f.exitintinfo = EXC_ERR(X86_EXC_PF, 1);
    f.run_rip = f.rip - 2;
    world.isr = 0x31;
    ck_assert_uint_eq(svm_event_cut_short(&f, &from), INTR(0x31));
    ck_assert_int_eq(from, EVF_LAPIC_ISR);
    /* Not an exception exit: the report is taken, nothing is asked. */
    f = facts(EXC_ERR(X86_EXC_PF, 0));
    f.exitcode = VMEXIT_NPF;
    ck_assert_uint_eq(svm_event_cut_short(&f, &from), EXC_ERR(X86_EXC_PF, 0));
    ck_assert_int_eq(from, EVF_REPORTED);
}
END_TEST

START_TEST(native_exceptions_are_taken)
{
    enum svm_event_from from;
    /* #DE from a DIV, #UD, #GP, #NP the guest takes itself (not intercepted), pushes faulting. */
    static const uint64_t reports[] = { EXC(X86_EXC_DE), EXC(X86_EXC_UD), EXC_ERR(X86_EXC_GP, 0),
                                        EXC_ERR(X86_EXC_NP, 0x10a), EXC(X86_EXC_BP), EXC(X86_EXC_OF),
                                        SVM_EVT_VALID | SVM_EVT_TYPE_NMI | 2, SOFT(0x21) };
    for (unsigned i = 0; i < sizeof(reports) / sizeof(reports[0]); i++) {
        struct svm_event_facts f = facts(reports[i]);
        f.last_injected = reports[i];       /* even when it equals an earlier injection */
        world.isr = 0xec;
        world.insn[0] = 0xf7;           /* DIV ECX */
        world.insn[1] = 0xf1;
        ck_assert_uint_eq(svm_event_cut_short(&f, &from), reports[i]);
        ck_assert_int_eq(from, EVF_AS_LAST);
        ck_assert_int_eq(world.isr_calls + mem.calls, 0);
    }
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

START_TEST(idt_gate_only_where_no_other_table_is)
{
    enum svm_event_from from;
    /* A write into the IDT is a push (a stack in the IDT's page): not a gate read. */
    struct svm_event_facts f = facts(INTR(0x30));
    f.exitinfo1 = PFEC_WRITE;
    f.exitinfo2 = IDT + 0x80 * 8;
    ck_assert_uint_eq(svm_event_cut_short(&f, &from), INTR(0x30));
    ck_assert_int_eq(from, EVF_REPORTED);
    /* A GDT that overlaps the IDT: the read may be the handler's CS descriptor. */
    f = facts(INTR(0x30));
    f.gdt_base = IDT + 0x40 * 8;
    f.exitinfo2 = IDT + 0x41 * 8;
    ck_assert_uint_eq(svm_event_cut_short(&f, &from), INTR(0x30));
    ck_assert_int_eq(from, EVF_REPORTED);
    /* The same with the TSS (ESP0 read for the stack switch) and an LDT. */
    f = facts(INTR(0x30));
    f.tss_base = IDT + 0x41 * 8;
    f.exitinfo2 = IDT + 0x41 * 8 + 4;
    ck_assert_uint_eq(svm_event_cut_short(&f, &from), INTR(0x30));
    f = facts(INTR(0x30));
    f.ldt_base = IDT;
    f.ldt_limit = 0xf;
    f.exitinfo2 = IDT + 8;
    ck_assert_uint_eq(svm_event_cut_short(&f, &from), INTR(0x30));
    ck_assert_int_eq(from, EVF_REPORTED);
    /* Outside the LDT's limit the gate rule holds again. */
    f.exitinfo2 = IDT + 0x10 * 8;
    ck_assert_uint_eq(svm_event_cut_short(&f, &from), INTR(0x10));
    ck_assert_int_eq(from, EVF_IDT_GATE);
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
    /* A report equal to this VMRUN's injection, RIP moved: taken, the same INTR can come
     * again natively in one VMRUN (no rule may guess Bochs' staleness here). */
    f = facts(INTR(0xec));
    f.run_eventinj = f.last_injected = INTR(0xec);
    f.run_rip = f.rip - 0x40;
    world.isr = 0x31;
    ck_assert_uint_eq(svm_event_cut_short(&f, &from), INTR(0xec));
    ck_assert_int_eq(from, EVF_AS_LAST);
    ck_assert_int_eq(world.isr_calls, 0);
    /* The timer again while the guest is inside another handler (0xec in service): taken. */
    f = facts(INTR(0x30));
    f.last_injected = INTR(0x30);
    world.isr = 0xec;
    ck_assert_uint_eq(svm_event_cut_short(&f, &from), INTR(0x30));
    ck_assert_int_eq(from, EVF_AS_LAST);
    ck_assert_int_eq(world.isr_calls, 0);
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
    /* INT 0x80 from CPL 3 through a DPL-0 gate raises #GP(0x402) natively: a possible
     * report, even equal to an earlier injection, is not replaced by the instruction. */
    f = facts(EXC_ERR(X86_EXC_GP, 0x402));
    f.last_injected = EXC_ERR(X86_EXC_GP, 0x402);
    world.insn[0] = 0xcd;
    world.insn[1] = 0x80;
    ck_assert_uint_eq(svm_event_cut_short(&f, &from), EXC_ERR(X86_EXC_GP, 0x402));
    ck_assert_int_eq(from, EVF_AS_LAST);
    ck_assert_int_eq(world.isr_calls, 0);
}
END_TEST

START_TEST(exception_the_int_at_rip_cannot_raise)
{
    enum svm_event_from from;
    /* Bochs, x86_64 eventinj "int 33 with shadowed stack": INT 0x21 (gate CS 0x08) cut short,
     * reported as the #NP(0x18) recorded in the earlier NP test. */
    struct svm_event_facts f = facts(EXC_ERR(X86_EXC_NP, 0x18));
    f.last_injected = EXC_ERR(X86_EXC_NP, 0x18);
    world.insn[0] = 0xcd;
    world.insn[1] = 0x21;
    ck_assert_uint_eq(svm_event_cut_short(&f, &from), SOFT(0x21));
    ck_assert_int_eq(from, EVF_INSN);
    /* The NP test itself, on any CPU: gate 0x21's CS is 0x18, not present. Taken. */
    set_gate(0x21, 14, 0x18);
    ck_assert_uint_eq(svm_event_cut_short(&f, &from), EXC_ERR(X86_EXC_NP, 0x18));
    ck_assert_int_eq(from, EVF_AS_LAST);
    /* A 32-bit privilege change loads SS0 from the TSS: a stack selector 0x18 explains it too. */
    set_gate(0x21, 14, 0x08);
    mem.tss[8] = 0x18;
    ck_assert_uint_eq(svm_event_cut_short(&f, &from), EXC_ERR(X86_EXC_NP, 0x18));
    mem.tss[8] = 0;
    /* Long mode has no TSS stack selectors (and 16-byte gates). */
    f.lma = true;
    mem.gate_la = IDT + 0x21 * 16;
    ck_assert_uint_eq(svm_event_cut_short(&f, &from), SOFT(0x21));
    f.lma = false;
    /* A task gate loads many selectors: not judged. */
    set_gate(0x21, 5, 0x80);
    ck_assert_uint_eq(svm_event_cut_short(&f, &from), EXC_ERR(X86_EXC_NP, 0x18));
    /* EXT set: raised while delivering an external event before the INT: taken. */
    set_gate(0x21, 14, 0x08);
    f.exitintinfo = EXC_ERR(X86_EXC_NP, 0x19);
    ck_assert_uint_eq(svm_event_cut_short(&f, &from), EXC_ERR(X86_EXC_NP, 0x19));
    ck_assert_int_eq(from, EVF_AS_LAST);
    /* An IDT-slot error code names its gate: 0x10a is gate 0x21 (not present): taken. */
    f.exitintinfo = EXC_ERR(X86_EXC_NP, 0x10a);
    ck_assert_uint_eq(svm_event_cut_short(&f, &from), EXC_ERR(X86_EXC_NP, 0x10a));
    /* ... 0x102 is gate 0x20, which INT 0x21 never reads. */
    f.exitintinfo = EXC_ERR(X86_EXC_NP, 0x102);
    ck_assert_uint_eq(svm_event_cut_short(&f, &from), SOFT(0x21));
    /* #GP(0) names no selector: taken. */
    f.exitintinfo = EXC_ERR(X86_EXC_GP, 0);
    ck_assert_uint_eq(svm_event_cut_short(&f, &from), EXC_ERR(X86_EXC_GP, 0));
    /* No delivery raises #DE or #UD: Bochs' stale #DE of i386 eventinj's divide test. */
    f.exitintinfo = EXC(X86_EXC_DE);
    ck_assert_uint_eq(svm_event_cut_short(&f, &from), SOFT(0x21));
    f.exitintinfo = EXC(X86_EXC_UD);
    ck_assert_uint_eq(svm_event_cut_short(&f, &from), SOFT(0x21));
    /* ... but INTO in long mode is #UD itself. */
    world.insn[0] = 0xce;
    f.lma = true;
    ck_assert_uint_eq(svm_event_cut_short(&f, &from), EXC(X86_EXC_UD));
    ck_assert_int_eq(from, EVF_REPORTED);
    /* The traps #DB (an earlier instruction's single step) are not judged. */
    world.insn[0] = 0xcd;
    f.exitintinfo = EXC(X86_EXC_DB);
    ck_assert_uint_eq(svm_event_cut_short(&f, &from), EXC(X86_EXC_DB));
}
END_TEST

START_TEST(unresolved_reports)
{
    enum svm_event_from from;
    /* An intercepted exception in delivery cannot be: the caller must not deliver it. */
    struct svm_event_facts f = facts(EXC_ERR(X86_EXC_PF, 3));
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
    tcase_add_test(tc, native_exceptions_are_taken);
    tcase_add_test(tc, task_switch_exit_is_left_to_taskswitch);
    tcase_add_test(tc, idt_gate_names_the_vector);
    tcase_add_test(tc, idt_gate_only_where_no_other_table_is);
    tcase_add_test(tc, stale_report_taken_from_the_lapic);
    tcase_add_test(tc, stale_report_with_int_n_at_rip);
    tcase_add_test(tc, exception_the_int_at_rip_cannot_raise);
    tcase_add_test(tc, unresolved_reports);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
