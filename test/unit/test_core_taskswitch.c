/*
 * The rules of an emulated hardware task switch (src/svm/tsrules.c, linked
 * unchanged; src/svm/taskswitch.c calls them between its guest accesses).
 * Every fault rule is checked on an input it refuses (vector and error code,
 * EXT included) and on the nearest input it allows, and every reason
 * (JMP, CALL, IRET, INT n gate, event gate) for its cause, busy bits,
 * back-link and NT, so a rule dropped, inverted or made too strict turns a
 * case red.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <umbra/x86.h>
#include <umbra/x86emu.h>
#include "../../src/svm/tsrules.h"

/* A legacy descriptor: type[3:0], S, DPL, P, D/B, G; limit 20 bits. */
static uint64_t desc(uint32_t base, uint32_t limit, unsigned type, bool s, unsigned dpl, bool p, bool db,
                     bool g)
{
    return (limit & 0xffffULL) | ((uint64_t)(base & 0xffffff) << 16) | ((uint64_t)type << 40) |
           ((uint64_t)s << 44) | ((uint64_t)dpl << 45) | ((uint64_t)p << 47) |
           ((uint64_t)((limit >> 16) & 0xf) << 48) | ((uint64_t)db << 54) | ((uint64_t)g << 55) |
           ((uint64_t)(base >> 24) << 56);
}

#define TSS_AVAIL(base) desc(base, 0x67, 9, false, 0, true, false, false)
#define TSS_BUSY(base)  desc(base, 0x67, 11, false, 0, true, false, false)
#define CODE(dpl)       desc(0, 0xfffff, 0xb, true, dpl, true, true, true)   /* exec/read, accessed */
#define DATA(dpl)       desc(0, 0xfffff, 0x3, true, dpl, true, true, true)   /* read/write, accessed */

static const struct vmcb_seg tr32 = { .sel = 0x28, .attrib = 0x8b, .limit = 0x67, .base = 0x1000 };

static struct ts_cause cause_jmp(void) { return ts_cause(TS_INFO2_JMP, 0, false); }
static struct ts_cause cause_call(void) { return ts_cause(0, 0, false); }
static struct ts_cause cause_iret(void) { return ts_cause(TS_INFO2_IRET, 0, false); }
/* #GP (vector 13) through a task gate: an external event for the EXT bit. */
static struct ts_cause cause_exc(void) { return ts_cause(0, SVM_EVT_VALID | SVM_EVT_TYPE_EXC | 13, false); }

#define FAULT(rc, vd, vec, e) do { \
        ck_assert_int_eq(rc, TS_FAULT); ck_assert_uint_eq((vd).vector, vec); ck_assert_uint_eq((vd).err, e); \
    } while (0)

START_TEST(cause_each_reason)
{
    struct ts_cause c = cause_jmp();
    ck_assert_int_eq(c.why, TS_JMP); ck_assert(!c.nested); ck_assert_uint_eq(c.ext, 0);
    c = cause_call();
    ck_assert_int_eq(c.why, TS_CALL); ck_assert(c.nested); ck_assert(!c.event); ck_assert_uint_eq(c.ext, 0);
    c = cause_iret();
    ck_assert_int_eq(c.why, TS_IRET); ck_assert(!c.nested);
    c = ts_cause(0, SVM_EVT_VALID | SVM_EVT_TYPE_SOFT | 0x40, false);        /* INT 0x40 */
    ck_assert_int_eq(c.why, TS_GATE_SOFT); ck_assert(c.soft); ck_assert(c.nested); ck_assert_uint_eq(c.ext, 0);
    c = ts_cause(0, SVM_EVT_VALID | SVM_EVT_TYPE_EXC | X86_EXC_BP, false);   /* INT3 */
    ck_assert_int_eq(c.why, TS_GATE_SOFT); ck_assert_uint_eq(c.ext, 0);
    c = ts_cause(0, SVM_EVT_VALID | SVM_EVT_TYPE_EXC | X86_EXC_OF, false);   /* INTO */
    ck_assert_int_eq(c.why, TS_GATE_SOFT);
    c = cause_exc();
    ck_assert_int_eq(c.why, TS_GATE_EVENT); ck_assert(!c.soft); ck_assert(c.nested); ck_assert_uint_eq(c.ext, 1);
    c = ts_cause(0, SVM_EVT_VALID | SVM_EVT_TYPE_INTR | 0x20, false);       /* an interrupt */
    ck_assert_int_eq(c.why, TS_GATE_EVENT); ck_assert_uint_eq(c.ext, 1);
    /* Bochs' stale EXITINTINFO for INT n: the glue found INT n at RIP. */
    c = ts_cause(0, SVM_EVT_VALID | SVM_EVT_TYPE_EXC | 13, true);
    ck_assert_int_eq(c.why, TS_GATE_SOFT); ck_assert(c.soft); ck_assert_uint_eq(c.ext, 0);
    /* An invalid EXITINTINFO is no event, whatever int_n says. */
    c = ts_cause(0, SVM_EVT_TYPE_EXC | 13, true);
    ck_assert_int_eq(c.why, TS_CALL); ck_assert(!c.soft);
}
END_TEST

START_TEST(plan_busy_bits_and_link)
{
    struct ts_plan p = ts_plan(TS_JMP);
    ck_assert(p.clear_old_busy && p.set_new_busy && !p.link);
    p = ts_plan(TS_CALL);
    ck_assert(!p.clear_old_busy && p.set_new_busy && p.link);
    p = ts_plan(TS_IRET);
    ck_assert(p.clear_old_busy && !p.set_new_busy && !p.link);
    p = ts_plan(TS_GATE_SOFT);
    ck_assert(!p.clear_old_busy && p.set_new_busy && p.link);
    p = ts_plan(TS_GATE_EVENT);
    ck_assert(!p.clear_old_busy && p.set_new_busy && p.link);
}
END_TEST

START_TEST(desc_decode_and_la)
{
    uint64_t d = desc(0x12345678, 0xabcde, 0xb, false, 0, true, false, false);
    ck_assert_uint_eq(ts_desc_base(d), 0x12345678);
    ck_assert_uint_eq(ts_desc_limit(d), 0xabcde);
    ck_assert_uint_eq(ts_desc_attr(d), 0x8b);
    ck_assert_uint_eq(ts_desc_limit(CODE(0)), 0xffffffff);                  /* G: 4K granularity */
    ck_assert_uint_eq(ts_busy_byte(TSS_AVAIL(0), true), 0x8b);
    ck_assert_uint_eq(ts_busy_byte(TSS_BUSY(0), false), 0x89);

    struct vmcb_seg gdtr = { .base = 0x5000, .limit = 0x2f }, ldtr = { .sel = 0x30, .attrib = 0x82,
                                                                      .base = 0x9000, .limit = 0xf };
    uint64_t la = 0;
    ck_assert(ts_desc_la(0x28, &gdtr, &ldtr, &la)); ck_assert_uint_eq(la, 0x5028);
    ck_assert(!ts_desc_la(0x30, &gdtr, &ldtr, &la));                        /* beyond the GDT limit */
    ck_assert(ts_desc_la(0x0f, &gdtr, &ldtr, &la)); ck_assert_uint_eq(la, 0x9008);   /* TI = 1, RPL 3 */
    ck_assert(!ts_desc_la(0x14, &gdtr, &ldtr, &la));                        /* beyond the LDT limit */
    ldtr.attrib = 0;
    ck_assert(!ts_desc_la(0x0c, &gdtr, &ldtr, &la));                        /* no LDT */
}
END_TEST

START_TEST(target_selector_rules)
{
    struct ts_verdict vd;
    struct ts_cause j = cause_jmp(), i = cause_iret(), e = cause_exc();
    ck_assert(!ts_target_wants_desc(0x34, true));                           /* TI = 1: no read */
    ck_assert(!ts_target_wants_desc(0x30, false));
    ck_assert(ts_target_wants_desc(0x30, true));
    FAULT(ts_check_target(&j, 0x34, true, 0, &tr32, &vd), vd, X86_EXC_GP, 0x34);
    FAULT(ts_check_target(&i, 0x34, true, 0, &tr32, &vd), vd, X86_EXC_TS, 0x34);
    FAULT(ts_check_target(&j, 0x30, false, 0, &tr32, &vd), vd, X86_EXC_GP, 0x30);
    FAULT(ts_check_target(&e, 0x33, false, 0, &tr32, &vd), vd, X86_EXC_GP, 0x31);   /* RPL dropped, EXT */
    ck_assert_int_eq(ts_check_target(&j, 0x30, true, TSS_AVAIL(0x2000), &tr32, &vd), TS_OK);
}
END_TEST

START_TEST(target_descriptor_rules)
{
    struct ts_verdict vd;
    struct ts_cause j = cause_jmp(), c = cause_call(), i = cause_iret(), e = cause_exc();
    /* Not a 32-bit TSS: a data segment, an LDT, a call gate -> #GP (IRET: #TS). */
    FAULT(ts_check_target(&j, 0x30, true, DATA(0), &tr32, &vd), vd, X86_EXC_GP, 0x30);
    FAULT(ts_check_target(&i, 0x30, true, desc(0, 0x67, 2, false, 0, true, 0, 0), &tr32, &vd), vd,
          X86_EXC_TS, 0x30);
    FAULT(ts_check_target(&c, 0x30, true, desc(0, 0x67, 0xc, false, 0, true, 0, 0), &tr32, &vd), vd,
          X86_EXC_GP, 0x30);
    /* A system descriptor whose type looks like a TSS but S = 1 is a code segment. */
    FAULT(ts_check_target(&j, 0x30, true, desc(0, 0x67, 9, true, 0, true, 0, 0), &tr32, &vd), vd,
          X86_EXC_GP, 0x30);
    /* A 16-bit TSS (available or busy) stops: not emulated. */
    ck_assert_int_eq(ts_check_target(&j, 0x30, true, desc(0, 0x2b, 1, false, 0, true, 0, 0), &tr32, &vd),
                     TS_STOP);
    ck_assert_str_eq(vd.why, "16-bit TSS");
    ck_assert_int_eq(ts_check_target(&i, 0x30, true, desc(0, 0x2b, 3, false, 0, true, 0, 0), &tr32, &vd),
                     TS_STOP);
    /* Not present: #NP for every reason, EXT for an event. */
    FAULT(ts_check_target(&j, 0x30, true, TSS_AVAIL(0) & ~TS_DESC_P, &tr32, &vd), vd, X86_EXC_NP, 0x30);
    FAULT(ts_check_target(&i, 0x30, true, TSS_BUSY(0) & ~TS_DESC_P, &tr32, &vd), vd, X86_EXC_NP, 0x30);
    FAULT(ts_check_target(&e, 0x30, true, TSS_AVAIL(0) & ~TS_DESC_P, &tr32, &vd), vd, X86_EXC_NP, 0x31);
}
END_TEST

START_TEST(target_busy_rules)
{
    struct ts_verdict vd;
    struct ts_cause j = cause_jmp(), c = cause_call(), i = cause_iret(), e = cause_exc();
    struct ts_cause s = ts_cause(0, SVM_EVT_VALID | SVM_EVT_TYPE_SOFT | 0x40, false);
    /* JMP, CALL and gates need an available TSS: a busy one is #GP. */
    FAULT(ts_check_target(&j, 0x30, true, TSS_BUSY(0), &tr32, &vd), vd, X86_EXC_GP, 0x30);
    FAULT(ts_check_target(&c, 0x30, true, TSS_BUSY(0), &tr32, &vd), vd, X86_EXC_GP, 0x30);
    FAULT(ts_check_target(&s, 0x30, true, TSS_BUSY(0), &tr32, &vd), vd, X86_EXC_GP, 0x30);
    FAULT(ts_check_target(&e, 0x30, true, TSS_BUSY(0), &tr32, &vd), vd, X86_EXC_GP, 0x31);
    ck_assert_int_eq(ts_check_target(&c, 0x30, true, TSS_AVAIL(0), &tr32, &vd), TS_OK);
    ck_assert_int_eq(ts_check_target(&s, 0x30, true, TSS_AVAIL(0), &tr32, &vd), TS_OK);
    ck_assert_int_eq(ts_check_target(&e, 0x30, true, TSS_AVAIL(0), &tr32, &vd), TS_OK);
    /* IRET returns to a busy task: an available one is #TS. */
    FAULT(ts_check_target(&i, 0x30, true, TSS_AVAIL(0), &tr32, &vd), vd, X86_EXC_TS, 0x30);
    ck_assert_int_eq(ts_check_target(&i, 0x30, true, TSS_BUSY(0), &tr32, &vd), TS_OK);
}
END_TEST

START_TEST(target_limits_and_tr)
{
    struct ts_verdict vd;
    struct ts_cause j = cause_jmp(), e = cause_exc();
    FAULT(ts_check_target(&j, 0x30, true, desc(0, 0x66, 9, false, 0, true, 0, 0), &tr32, &vd), vd,
          X86_EXC_TS, 0x30);
    FAULT(ts_check_target(&e, 0x30, true, desc(0, 0x66, 9, false, 0, true, 0, 0), &tr32, &vd), vd,
          X86_EXC_TS, 0x31);
    /* The current TR: 16-bit stops; a limit below 0x5F is #TS(TR). */
    struct vmcb_seg tr = tr32;
    tr.attrib = 0x83;
    ck_assert_int_eq(ts_check_target(&j, 0x30, true, TSS_AVAIL(0), &tr, &vd), TS_STOP);
    tr = tr32;
    tr.limit = 0x5e;
    FAULT(ts_check_target(&j, 0x30, true, TSS_AVAIL(0), &tr, &vd), vd, X86_EXC_TS, 0x28);
    FAULT(ts_check_target(&e, 0x30, true, TSS_AVAIL(0), &tr, &vd), vd, X86_EXC_TS, 0x29);
    tr.limit = 0x5f;
    ck_assert_int_eq(ts_check_target(&j, 0x30, true, TSS_AVAIL(0), &tr, &vd), TS_OK);
}
END_TEST

START_TEST(save_old_task)
{
    struct ts_regs r = { .rax = 0x1111111100000001ULL, .rcx = 2, .rdx = 3, .rbx = 4, .rsp = 5, .rbp = 6,
                         .rsi = 7, .rdi = 8, .rip = 0x100, .rflags = 0x4202 | (1u << 16) };
    uint32_t s[10];
    ts_save_old(&r, 0x102, 0, false, s);
    ck_assert_uint_eq(s[0], 0x102);                       /* EIP: where the old task resumes */
    ck_assert_uint_eq(s[1], 0x4202);                      /* RF from EXITINFO2 only; NT kept */
    ck_assert_uint_eq(s[2], 1);
    for (unsigned i = 3; i < 10; i++)
        ck_assert_uint_eq(s[i], i - 1);
    ts_save_old(&r, 0x102, TS_INFO2_RF, true, s);
    ck_assert_uint_eq(s[1], 0x0202 | (1u << 16));         /* IRET clears NT */
}
END_TEST

static void put32(uint8_t *tss, unsigned off, uint32_t v) { memcpy(tss + off, &v, 4); }

START_TEST(new_task_state)
{
    uint8_t tss[0x68] = { 0 };
    struct ts_state st;
    struct ts_verdict vd;
    put32(tss, TSS_CR3, 0x3000);
    put32(tss, TSS_EIP, 0x4000);
    put32(tss, TSS_EFLAGS, 0xffc0822c);                   /* IF, reserved bits 3, 5, 15, 22-31; bit 1 clear */
    for (unsigned i = 0; i < 8; i++)
        put32(tss, TSS_EAX + 4 * i, 0x100 + i);
    for (unsigned i = 0; i < 6; i++)
        put32(tss, TSS_ES + 4 * i, 0x10 + 8 * i);
    put32(tss, TSS_LDT, 0x48);
    ck_assert_int_eq(ts_new_state(tss, false, &st, &vd), TS_OK);
    ck_assert_uint_eq(st.cr3, 0x3000);
    ck_assert_uint_eq(st.r.rip, 0x4000);
    ck_assert_uint_eq(st.r.rflags, 0x206);                /* bit 1 forced on, reserved bits dropped, PF kept */
    ck_assert_uint_eq(st.r.rax, 0x100); ck_assert_uint_eq(st.r.rcx, 0x101);
    ck_assert_uint_eq(st.r.rsp, 0x104); ck_assert_uint_eq(st.r.rdi, 0x107);
    ck_assert_uint_eq(st.sel[X86_SEG_CS], 0x18); ck_assert_uint_eq(st.sel[X86_SEG_GS], 0x38);
    ck_assert_uint_eq(st.ldt, 0x48);
    ck_assert(!st.trap);
    /* Nested (CALL, gates): NT set; JMP/IRET take the TSS's own NT. */
    ck_assert_int_eq(ts_new_state(tss, true, &st, &vd), TS_OK);
    ck_assert_uint_eq(st.r.rflags & TS_RFLAGS_NT, TS_RFLAGS_NT);
    put32(tss, TSS_EFLAGS, TS_RFLAGS_NT);
    ck_assert_int_eq(ts_new_state(tss, false, &st, &vd), TS_OK);
    ck_assert_uint_eq(st.r.rflags, TS_RFLAGS_NT | 2);
    tss[TSS_TRAP] = 1;
    ck_assert_int_eq(ts_new_state(tss, false, &st, &vd), TS_OK);
    ck_assert(st.trap);
    /* A virtual-8086 task stops. */
    put32(tss, TSS_EFLAGS, X86_RFLAGS_VM);
    ck_assert_int_eq(ts_new_state(tss, false, &st, &vd), TS_STOP);
}
END_TEST

START_TEST(ldt_rules)
{
    struct vmcb_seg out = { .sel = 0xdead };
    struct ts_verdict vd;
    uint64_t ldt = desc(0x8000, 0xff, 2, false, 0, true, false, false);
    ck_assert_int_eq(ts_check_ldt(0, false, 0, 1, &out, &vd), TS_OK);       /* null: loaded as is */
    ck_assert_uint_eq(out.sel, 0); ck_assert_uint_eq(out.attrib, 0);
    ck_assert(!ts_ldt_wants_desc(0, true));
    ck_assert(!ts_ldt_wants_desc(0x4c, true));
    ck_assert(ts_ldt_wants_desc(0x48, true));
    FAULT(ts_check_ldt(0x4c, true, ldt, 0, &out, &vd), vd, X86_EXC_TS, 0x4c);     /* TI = 1 */
    FAULT(ts_check_ldt(0x48, false, ldt, 1, &out, &vd), vd, X86_EXC_TS, 0x49);    /* beyond the GDT */
    FAULT(ts_check_ldt(0x48, true, DATA(0), 0, &out, &vd), vd, X86_EXC_TS, 0x48);
    FAULT(ts_check_ldt(0x48, true, TSS_AVAIL(0), 0, &out, &vd), vd, X86_EXC_TS, 0x48);
    FAULT(ts_check_ldt(0x48, true, ldt & ~TS_DESC_P, 0, &out, &vd), vd, X86_EXC_TS, 0x48);  /* #TS, not #NP */
    ck_assert_uint_eq(out.sel, 0);                                          /* untouched on a fault */
    ck_assert_int_eq(ts_check_ldt(0x48, true, ldt, 0, &out, &vd), TS_OK);
    ck_assert_uint_eq(out.base, 0x8000); ck_assert_uint_eq(out.limit, 0xff); ck_assert_uint_eq(out.attrib, 0x82);
}
END_TEST

static int seg(unsigned s, uint16_t sel, uint64_t d, unsigned cpl, struct ts_verdict *vd)
{
    struct vmcb_seg out;
    bool acc;
    return ts_check_seg(s, sel, true, d, cpl, 0, &out, &acc, vd);
}

START_TEST(seg_null_and_table)
{
    struct vmcb_seg out;
    struct ts_verdict vd;
    bool acc;
    FAULT(ts_check_seg(X86_SEG_CS, 3, true, 0, 3, 1, &out, &acc, &vd), vd, X86_EXC_TS, 1);
    FAULT(ts_check_seg(X86_SEG_SS, 0, true, 0, 0, 0, &out, &acc, &vd), vd, X86_EXC_TS, 0);
    ck_assert_int_eq(ts_check_seg(X86_SEG_DS, 3, true, 0, 0, 0, &out, &acc, &vd), TS_OK);
    ck_assert_uint_eq(out.sel, 3); ck_assert_uint_eq(out.attrib, 0);      /* null: unusable */
    ck_assert(!ts_seg_wants_desc(3, true));
    ck_assert(!ts_seg_wants_desc(0x10, false));
    FAULT(ts_check_seg(X86_SEG_DS, 0x13, false, DATA(3), 3, 1, &out, &acc, &vd), vd, X86_EXC_TS, 0x11);
    FAULT(seg(X86_SEG_DS, 0x10, TSS_AVAIL(0), 0, &vd), vd, X86_EXC_TS, 0x10);   /* system descriptor */
}
END_TEST

START_TEST(seg_cs_rules)
{
    struct ts_verdict vd;
    FAULT(seg(X86_SEG_CS, 0x08, DATA(0), 0, &vd), vd, X86_EXC_TS, 0x08);   /* not code */
    FAULT(seg(X86_SEG_CS, 0x0b, CODE(0), 3, &vd), vd, X86_EXC_TS, 0x08);   /* non-conforming: DPL != CPL */
    ck_assert_int_eq(seg(X86_SEG_CS, 0x0b, CODE(3), 3, &vd), TS_OK);
    uint64_t conf0 = desc(0, 0xfffff, 0xf, true, 0, true, true, true), conf3 = desc(0, 0xfffff, 0xf, true, 3,
                                                                                   true, true, true);
    ck_assert_int_eq(seg(X86_SEG_CS, 0x0b, conf0, 3, &vd), TS_OK);         /* conforming: DPL <= CPL */
    FAULT(seg(X86_SEG_CS, 0x08, conf3, 0, &vd), vd, X86_EXC_TS, 0x08);
    FAULT(seg(X86_SEG_CS, 0x08, CODE(0) & ~TS_DESC_P, 0, &vd), vd, X86_EXC_NP, 0x08);
}
END_TEST

START_TEST(seg_ss_rules)
{
    struct ts_verdict vd;
    FAULT(seg(X86_SEG_SS, 0x10, CODE(0), 0, &vd), vd, X86_EXC_TS, 0x10);   /* code */
    FAULT(seg(X86_SEG_SS, 0x10, desc(0, 0xfffff, 1, true, 0, true, true, true), 0, &vd), vd, X86_EXC_TS,
          0x10);                                                            /* read-only */
    FAULT(seg(X86_SEG_SS, 0x13, DATA(3), 0, &vd), vd, X86_EXC_TS, 0x10);   /* RPL != CPL */
    FAULT(seg(X86_SEG_SS, 0x13, DATA(0), 3, &vd), vd, X86_EXC_TS, 0x10);   /* DPL != CPL */
    ck_assert_int_eq(seg(X86_SEG_SS, 0x13, DATA(3), 3, &vd), TS_OK);
    FAULT(seg(X86_SEG_SS, 0x13, DATA(3) & ~TS_DESC_P, 3, &vd), vd, X86_EXC_SS, 0x10);   /* #SS, not #NP */
}
END_TEST

START_TEST(seg_data_rules)
{
    struct ts_verdict vd;
    FAULT(seg(X86_SEG_DS, 0x18, desc(0, 0xfffff, 9, true, 3, true, true, true), 0, &vd), vd, X86_EXC_TS,
          0x18);                                                            /* execute-only code */
    ck_assert_int_eq(seg(X86_SEG_ES, 0x18, CODE(0), 0, &vd), TS_OK);       /* readable code */
    FAULT(seg(X86_SEG_FS, 0x1b, DATA(0), 3, &vd), vd, X86_EXC_TS, 0x18);   /* DPL < CPL */
    FAULT(seg(X86_SEG_GS, 0x1b, DATA(2), 2, &vd), vd, X86_EXC_TS, 0x18);   /* DPL < RPL */
    ck_assert_int_eq(seg(X86_SEG_GS, 0x1a, DATA(2), 2, &vd), TS_OK);
    uint64_t conf0 = desc(0, 0xfffff, 0xf, true, 0, true, true, true);
    ck_assert_int_eq(seg(X86_SEG_DS, 0x1b, conf0, 3, &vd), TS_OK);         /* conforming: no DPL check */
    FAULT(seg(X86_SEG_DS, 0x18, DATA(0) & ~TS_DESC_P, 0, &vd), vd, X86_EXC_NP, 0x18);
}
END_TEST

START_TEST(seg_accessed_and_value)
{
    struct vmcb_seg out;
    struct ts_verdict vd;
    bool acc;
    uint64_t d = desc(0x00abc000, 0x0ffff, 2, true, 0, true, true, false);  /* not accessed */
    ck_assert_int_eq(ts_check_seg(X86_SEG_DS, 0x20, true, d, 0, 0, &out, &acc, &vd), TS_OK);
    ck_assert(acc);
    ck_assert_uint_eq(out.attrib, 0x493); ck_assert_uint_eq(out.base, 0xabc000);
    ck_assert_uint_eq(out.limit, 0xffff); ck_assert_uint_eq(out.sel, 0x20);
    ck_assert_int_eq(ts_check_seg(X86_SEG_DS, 0x20, true, DATA(0), 0, 0, &out, &acc, &vd), TS_OK);
    ck_assert(!acc);
}
END_TEST

START_TEST(push_error_code)
{
    struct ts_verdict vd;
    uint64_t la = 0, rsp = 0;
    struct vmcb_seg ss32 = { .attrib = 0x493, .limit = 0xffffffff, .base = 0x10000 };
    ck_assert_int_eq(ts_push_err(&ss32, 0x2000, 1, &la, &rsp, &vd), TS_OK);
    ck_assert_uint_eq(la, 0x11ffc); ck_assert_uint_eq(rsp, 0x1ffc);
    /* 16-bit stack: SP wraps, the upper half of ESP is kept. */
    struct vmcb_seg ss16 = { .attrib = 0x093, .limit = 0xffff, .base = 0x10000 };
    ck_assert_int_eq(ts_push_err(&ss16, 0x50000, 0, &la, &rsp, &vd), TS_OK);
    ck_assert_uint_eq(rsp, 0x5fffc); ck_assert_uint_eq(la, 0x1fffc);
    FAULT(ts_push_err(&ss16, 0x50002, 0, &la, &rsp, &vd), vd, X86_EXC_SS, 0);   /* 0xfffe: crosses the limit */
    /* Beyond an expand-up limit: #SS(EXT). */
    struct vmcb_seg small = { .attrib = 0x493, .limit = 0xfff, .base = 0 };
    FAULT(ts_push_err(&small, 0x1004, 1, &la, &rsp, &vd), vd, X86_EXC_SS, 1);
    FAULT(ts_push_err(&small, 0x1003, 0, &la, &rsp, &vd), vd, X86_EXC_SS, 0);
    ck_assert_int_eq(ts_push_err(&small, 0x1000, 0, &la, &rsp, &vd), TS_OK);
    ck_assert_uint_eq(rsp, 0xffc);
    /* Expand-down: not checked here. */
    struct vmcb_seg down = { .attrib = 0x497, .limit = 0xfff, .base = 0 };
    ck_assert_int_eq(ts_push_err(&down, 0x2004, 0, &la, &rsp, &vd), TS_OK);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("core-taskswitch");
    TCase *tc = tcase_create("rules");
    tcase_add_test(tc, cause_each_reason);
    tcase_add_test(tc, plan_busy_bits_and_link);
    tcase_add_test(tc, desc_decode_and_la);
    tcase_add_test(tc, target_selector_rules);
    tcase_add_test(tc, target_descriptor_rules);
    tcase_add_test(tc, target_busy_rules);
    tcase_add_test(tc, target_limits_and_tr);
    tcase_add_test(tc, save_old_task);
    tcase_add_test(tc, new_task_state);
    tcase_add_test(tc, ldt_rules);
    tcase_add_test(tc, seg_null_and_table);
    tcase_add_test(tc, seg_cs_rules);
    tcase_add_test(tc, seg_ss_rules);
    tcase_add_test(tc, seg_data_rules);
    tcase_add_test(tc, seg_accessed_and_value);
    tcase_add_test(tc, push_error_code);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
