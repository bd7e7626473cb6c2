/*
 * Hardware task switches under shadow paging (AMD APM vol. 2, 12.3 "Task
 * Switching"; the intercept and its EXITINFO: 15.9 / 15.14).
 *
 * Why it is emulated: the CPU's task switch loads CR3 from the new TSS.
 * Under shadow paging the real CR3 must always be a shadow, so the switch is
 * intercepted (INTERCEPT1_TASKSW) and performed here on the guest state:
 * the TSSs and descriptors are read and written through the guest's own
 * tables (shadow_read_guest / shadow_write_guest, so a TSS that shares a
 * page with a page table revalidates it), and the new CR3 goes through
 * shadow_update_cr3() like a MOV to CR3 (PAE: the four PDPTEs load too).
 *
 * What is emulated: 32-bit TSSs for JMP far, CALL far, IRET with NT = 1 and
 * INT n / exceptions / interrupts through a task gate (error code pushed on
 * the new task's stack).  A 16-bit TSS, a virtual-8086 task or a long-mode
 * guest stops the guest with a diagnostic (never a silent wrong switch).
 *
 * Invariant: until the commit point (the first write to the old TSS) a
 * failed check changes nothing and the fault is raised in the old task's
 * context, combined with the event being delivered (#DF rules) as the CPU
 * would; after it, the switch completes and any fault belongs to the new
 * task.  The event that caused the switch (EXITINTINFO) is consumed: it is
 * never re-injected.
 *
 * Emulators: Bochs 2.7 checks the new TSS's limit, presence and busy bit
 * before the intercept (those faults never reach Umbra) and leaves a stale
 * EXITINTINFO for INT n (see svm_task_switch); QEMU 7.2 TCG never raises the
 * intercept (see svm_task_switch_unintercepted).
 */
#include <umbra/kern.h>
#include <umbra/lib.h>
#include <umbra/svm.h>
#include <umbra/shadow.h>
#include <umbra/x86.h>
#include "emu.h"
#include "taskswitch.h"

/* EXITINFO2 of a TASK_SWITCH intercept. */
#define TS_INFO2_IRET    (1ULL << 36)
#define TS_INFO2_JMP     (1ULL << 38)
#define TS_INFO2_HAS_ERR (1ULL << 44)
#define TS_INFO2_RF      (1ULL << 48)  /* EFLAGS.RF to save in the old TSS */

/* 32-bit TSS layout (offsets in bytes). */
#define TSS_LINK   0x00
#define TSS_CR3    0x1C
#define TSS_EIP    0x20
#define TSS_EFLAGS 0x24
#define TSS_EAX    0x28      /* EAX ECX EDX EBX ESP EBP ESI EDI */
#define TSS_ES     0x48      /* ES CS SS DS FS GS, 4 bytes apart */
#define TSS_LDT    0x60
#define TSS_TRAP   0x64
#define TSS32_MIN_LIMIT 0x67
#define TSS32_SAVE_END  0x5F    /* last byte the switch writes in the old TSS */

#define RFLAGS_NT  (1u << 14)
#define RFLAGS_RF  (1u << 16)
#define DR7_LOCAL  0x55u       /* L0..L3: cleared by every task switch */
#define DESC_BUSY  (1ULL << 41)
#define DESC_P     (1ULL << 47)

enum ts_reason { TS_JMP, TS_CALL, TS_IRET, TS_GATE_SOFT, TS_GATE_EVENT, TS_NR_REASONS };
static unsigned long ts_count[TS_NR_REASONS];
static unsigned long ts_faults, ts_cr3_loads, ts_err_pushed, ts_stopped, ts_unintercepted,
    ts_pdpte_a_cleared, ts_finished;

struct ts {
    struct svm_vcpu *v;
    struct vmcb *vm;
    struct shadow_vcpu *s;
    uint32_t ext;              /* EXT bit of the error codes (external event) */
    struct x86_fault f;        /* fault to raise when a step returns TS_FAULT */
    const char *why;           /* TS_STOP diagnostic */
};
enum { TS_OK = 0, TS_FAULT = -1, TS_STOP = -2 };

static int fault(struct ts *t, unsigned vec, uint32_t err)
{
    t->f = (struct x86_fault){ .vector = (uint8_t)vec, .has_error = true, .error_code = err };
    return TS_FAULT;
}

static int stop(struct ts *t, const char *why)
{
    t->why = why;
    return TS_STOP;
}

/* A shadow access result as a step result (#PF keeps its error code and CR2). */
static int from_shadow(struct ts *t, enum sh_result r, const struct sh_fault *sf)
{
    if (r == SH_FIXED)
        return TS_OK;
    if (r == SH_REFLECT) {
        t->f = (struct x86_fault){ .vector = sf->vector, .has_error = true,
                                   .error_code = sf->vector == X86_EXC_PF ? sf->pfec : 0,
                                   .cr2 = sf->cr2 };
        return TS_FAULT;
    }
    return stop(t, sf->why ? sf->why : "shadow refused an access");
}

/* The CPU's own accesses to TSSs and descriptor tables are supervisor accesses (SMAP applies, AC does not). */
static int rd(struct ts *t, uint64_t la, void *dst, unsigned len)
{
    struct sh_fault sf = { 0 };
    return from_shadow(t, shadow_read_guest(t->s, la & 0xffffffffu, dst, len, 0, &sf), &sf);
}

static int wr(struct ts *t, uint64_t la, const void *src, unsigned len)
{
    struct sh_fault sf = { 0 };
    return from_shadow(t, shadow_write_guest(t->s, la & 0xffffffffu, src, len, PFEC_WRITE, &sf), &sf);
}

static uint32_t desc_base(uint64_t d) { return (uint32_t)(((d >> 16) & 0xffffff) | ((d >> 32) & 0xff000000)); }
static uint16_t desc_attr(uint64_t d) { return (uint16_t)(((d >> 40) & 0xff) | ((d >> 44) & 0xf00)); }
static unsigned desc_type(uint64_t d) { return (d >> 40) & 0xf; }
static unsigned desc_dpl(uint64_t d) { return (d >> 45) & 3; }
static uint32_t desc_limit(uint64_t d)
{
    uint32_t l = (uint32_t)((d & 0xffff) | ((d >> 32) & 0xf0000));
    return (d & (1ULL << 55)) ? (l << 12) | 0xfff : l;
}

/*
 * Linear address of the descriptor `sel` names (GDT, or the current LDT if
 * TI = 1); false if it lies beyond the table's limit (or TI = 1 with no LDT).
 */
static bool desc_la(struct ts *t, uint16_t sel, uint64_t *la)
{
    const struct vmcb_seg *tbl = (sel & 4) ? &t->vm->save.ldtr : &t->vm->save.gdtr;
    if ((sel & 4) && !(tbl->attrib & X86_SEG_ATTR_P))
        return false;
    if ((uint32_t)(sel & ~7u) + 7 > tbl->limit)
        return false;
    *la = tbl->base + (sel & ~7u);
    return true;
}

/* Set or clear the busy bit of a GDT TSS descriptor (one byte written, as the CPU does). */
static int set_busy(struct ts *t, uint16_t sel, uint64_t d, bool busy)
{
    uint64_t la;
    if (!desc_la(t, sel & ~4u, &la))
        return fault(t, X86_EXC_TS, (sel & 0xfffc) | t->ext);
    uint8_t b = (uint8_t)(((busy ? d | DESC_BUSY : d & ~DESC_BUSY) >> 40) & 0xff);
    return wr(t, la + 5, &b, 1);
}

/*
 * Load segment register `seg` of the new task from selector `sel` at the new
 * CPL, with the checks of a task switch (APM 12.3.x; Intel SDM 7.3): a bad
 * descriptor gives #TS(sel), a non-present one #NP(sel) (#SS(sel) for SS).
 * The accessed bit is set in the descriptor as the CPU does.
 */
static int load_seg(struct ts *t, unsigned seg, uint16_t sel, unsigned cpl, struct vmcb_seg *out)
{
    uint32_t err = (sel & 0xfffc) | t->ext;
    unsigned rpl = sel & 3;
    uint64_t la, d;
    int rc;

    if (!(sel & ~3u)) {
        if (seg == X86_SEG_CS || seg == X86_SEG_SS)
            return fault(t, X86_EXC_TS, err);
        *out = (struct vmcb_seg){ .sel = sel };       /* null: unusable */
        return TS_OK;
    }
    if (!desc_la(t, sel, &la))
        return fault(t, X86_EXC_TS, err);
    if ((rc = rd(t, la, &d, 8)))
        return rc;
    unsigned type = desc_type(d), dpl = desc_dpl(d);
    bool code = type & 8, conforming = code && (type & 4);
    if (!(d & (1ULL << 44)))                          /* system descriptor */
        return fault(t, X86_EXC_TS, err);
    if (seg == X86_SEG_CS) {
        if (!code || (conforming ? dpl > cpl : dpl != cpl))
            return fault(t, X86_EXC_TS, err);
    } else if (seg == X86_SEG_SS) {
        if (code || !(type & 2) || rpl != cpl || dpl != cpl)
            return fault(t, X86_EXC_TS, err);
    } else {
        if ((code && !(type & 2)) || (!conforming && (dpl < cpl || dpl < rpl)))
            return fault(t, X86_EXC_TS, err);
    }
    if (!(d & DESC_P))
        return fault(t, seg == X86_SEG_SS ? X86_EXC_SS : X86_EXC_NP, err);
    if (!(type & 1)) {
        uint8_t b = (uint8_t)((d >> 40) | 1);
        if ((rc = wr(t, la + 5, &b, 1)))
            return rc;
        d |= 1ULL << 40;
    }
    *out = (struct vmcb_seg){ .sel = sel, .attrib = desc_attr(d), .limit = desc_limit(d),
                              .base = desc_base(d) };
    return TS_OK;
}

/* Push the event's error code on the new task's stack (32-bit TSS: a dword). */
static int push_err(struct ts *t, uint32_t err)
{
    struct vmcb_save *sv = &t->vm->save;
    bool big = sv->ss.attrib & X86_SEG_ATTR_DB;
    uint32_t esp = (uint32_t)sv->rsp - 4;
    if (!big)
        esp = ((uint32_t)sv->rsp & ~0xffffu) | ((esp) & 0xffff);
    uint32_t off = big ? esp : esp & 0xffff;
    /* Expand-up stacks only (what the CPU checks for a push at the limit). */
    if (!(sv->ss.attrib & 4) && off + 3 > sv->ss.limit)
        return fault(t, X86_EXC_SS, t->ext);
    int rc = wr(t, sv->ss.base + off, &err, 4);
    if (rc)
        return rc;
    sv->rsp = esp;
    return TS_OK;
}

/* Steps after the commit point: load the new task's state from tss[] (its 0x68 bytes). */
static int load_new_task(struct ts *t, const uint8_t *tss, bool nested)
{
    struct vmcb_save *sv = &t->vm->save;
    struct guest_regs *g = &t->v->regs;
    uint32_t w[8], eflags, cr3;
    uint16_t sels[X86_NR_SEGS], ldt;
    int rc;

    memcpy(w, tss + TSS_EAX, sizeof(w));
    memcpy(&eflags, tss + TSS_EFLAGS, 4);
    memcpy(&cr3, tss + TSS_CR3, 4);
    memcpy(&ldt, tss + TSS_LDT, 2);
    for (unsigned i = 0; i < X86_NR_SEGS; i++)
        memcpy(&sels[i], tss + TSS_ES + 4 * i, 2);
    if (eflags & X86_RFLAGS_VM)
        return stop(t, "the new task is virtual-8086 (not emulated)");

    /* CR3 (only with paging on, as the CPU does): through the shadow, like MOV CR3. */
    if (t->s->guest_cr0 & X86_CR0_PG) {
        struct sh_fault sf = { 0 };
        uint64_t old = t->s->guest_cr3;
        t->s->guest_cr3 = cr3;
        enum sh_result r = shadow_update_cr3(t->s, &sf);
        if (r != SH_FIXED) {
            t->s->guest_cr3 = old;
            return r == SH_REFLECT ? fault(t, sf.vector, 0)
                                   : stop(t, sf.why ? sf.why : "CR3 load refused");
        }
        ts_cr3_loads++;
    }

    /* Registers and flags: the switch has happened even if a segment load faults below. */
    sv->rip = *(const uint32_t *)(tss + TSS_EIP);
    sv->rflags = (eflags | 2u | (nested ? RFLAGS_NT : 0)) & 0x3f7fd7u;
    sv->rax = w[0]; g->rcx = w[1]; g->rdx = w[2]; g->rbx = w[3];
    sv->rsp = w[4]; g->rbp = w[5]; g->rsi = w[6]; g->rdi = w[7];
    struct vmcb_seg *segs = &sv->es;     /* ES CS SS DS FS GS, hardware order */
    for (unsigned i = 0; i < X86_NR_SEGS; i++)
        segs[i].sel = sels[i];

    /* LDTR first: the segment selectors may name it. */
    if (!(ldt & ~3u)) {
        sv->ldtr = (struct vmcb_seg){ .sel = ldt };
    } else {
        uint64_t la, d;
        if ((ldt & 4) || !desc_la(t, ldt, &la))
            return fault(t, X86_EXC_TS, (ldt & 0xfffc) | t->ext);
        if ((rc = rd(t, la, &d, 8)))
            return rc;
        if ((d & (1ULL << 44)) || desc_type(d) != 2)
            return fault(t, X86_EXC_TS, (ldt & 0xfffc) | t->ext);
        if (!(d & DESC_P))
            return fault(t, X86_EXC_TS, (ldt & 0xfffc) | t->ext);
        sv->ldtr = (struct vmcb_seg){ .sel = ldt, .attrib = desc_attr(d), .limit = desc_limit(d),
                                      .base = desc_base(d) };
    }

    /* The new CPL is CS.RPL; CS and SS first, then the data segments. */
    unsigned cpl = sels[X86_SEG_CS] & 3;
    static const unsigned order[X86_NR_SEGS] = { X86_SEG_CS, X86_SEG_SS, X86_SEG_DS, X86_SEG_ES,
                                                 X86_SEG_FS, X86_SEG_GS };
    for (unsigned i = 0; i < X86_NR_SEGS; i++) {
        struct vmcb_seg tmp;
        if ((rc = load_seg(t, order[i], sels[order[i]], cpl, &tmp)))
            return rc;
        segs[order[i]] = tmp;
        if (order[i] == X86_SEG_CS)
            sv->cpl = (uint8_t)cpl;
    }
    return TS_OK;
}

/* The TSS selector of IDT entry `vec` if it is a present task gate, else 0 (never a TSS selector). */
static uint16_t idt_task_gate(struct ts *t, unsigned vec)
{
    const struct vmcb_seg *idt = &t->vm->save.idtr;
    uint64_t g;
    if (vec * 8 + 7 > idt->limit || rd(t, idt->base + vec * 8, &g, 8) != TS_OK)
        return 0;
    if (((g >> 40) & 0x1f) != 5 || !(g & DESC_P))
        return 0;
    return (uint16_t)(g >> 16);
}

static void report_stop(struct ts *t, uint16_t sel)
{
    ts_stopped++;
    ulog("task switch to TSS selector %#x not emulated: %s", sel, t->why);
    svm_dump_guest(t->v, "task switch");
    svm_stop(t->v, "task-switch", UMBRA_STATUS_ERROR);
}

void svm_task_switch(struct svm_vcpu *v)
{
    struct vmcb *vm = v->vmcb;
    struct vmcb_save *sv = &vm->save;
    struct ts t = { .v = v, .vm = vm, .s = v->sh };
    uint16_t sel = (uint16_t)vm->ctl.exitinfo1;
    uint64_t i2 = vm->ctl.exitinfo2, ii = vm->ctl.exitintinfo;
    bool iret = i2 & TS_INFO2_IRET, jmp = i2 & TS_INFO2_JMP;
    bool event = ii & SVM_EVT_VALID;
    uint64_t etype = ii & (7ULL << 8);
    unsigned evec = ii & 0xff;
    /* INT n, INT3, INTO: RIP is at the instruction, the old task resumes after it. */
    bool soft = event && (etype == SVM_EVT_TYPE_SOFT ||
                          (etype == SVM_EVT_TYPE_EXC && (evec == X86_EXC_BP || evec == X86_EXC_OF)));
    enum ts_reason why = iret ? TS_IRET : jmp ? TS_JMP : !event ? TS_CALL
                       : soft ? TS_GATE_SOFT : TS_GATE_EVENT;
    bool nested = why != TS_JMP && why != TS_IRET;      /* CALL and gates: back-link, NT */
    uint32_t err_sel;
    uint64_t dla = 0, d = 0;
    uint8_t tss[TSS32_MIN_LIMIT + 1];
    int rc;

    if (!t.s || (t.s->guest_efer & EFER_LMA)) {
        ts_count[why]++;
        t.why = "no task switches without a shadow vCPU or in long mode";
        report_stop(&t, sel);
        return;
    }

    /*
     * The old task resumes after JMP/CALL/IRET/INT n; after a fault or an
     * interrupt, at the instruction RIP points to.  Bochs 2.7 records no
     * event for INT n: its EXITINTINFO then says "valid" with a stale or
     * zero vector and type.  So when an event is claimed and RIP holds INT n
     * (INT3, INTO) whose IDT entry is a task gate to this TSS while the
     * claimed vector's entry is not, the INT instruction caused the switch.
     */
    uint64_t next_rip = sv->rip;
    {
        struct svm_emu e;
        struct x86_sysop op;
        svm_emu_begin(&e, v);
        rc = x86_decode_sys(&e.c, &op);
        if (rc != X86EMU_OK && (!event || soft)) {
            svm_emu_fail(&e, rc, "decode the task-switching");
            return;
        }
        if (rc == X86EMU_OK && event && !soft &&
            (op.op == X86_OP_INT || op.op == X86_OP_INT3 || op.op == X86_OP_INTO)) {
            unsigned n = op.op == X86_OP_INT3 ? 3 : op.op == X86_OP_INTO ? 4 : (uint8_t)e.c.insn.imm;
            if (idt_task_gate(&t, n) == sel && idt_task_gate(&t, evec) != sel) {
                soft = true;
                why = TS_GATE_SOFT;
            }
        }
        if (!event || soft)
            next_rip = (uint32_t)(sv->rip + op.len);
    }
    ts_count[why]++;
    if (soft && vm->ctl.eventinj == ii)
        vm->ctl.eventinj = 0;       /* event_vmcb.c re-queued Bochs' stale record: drop it */
    t.ext = (event && !soft) ? 1 : 0;
    err_sel = (sel & 0xfffc) | t.ext;

    /* ---- checks: a failure leaves the old task as it was ---------------- */
    if ((sel & 4) || !desc_la(&t, sel, &dla)) {
        rc = fault(&t, iret ? X86_EXC_TS : X86_EXC_GP, err_sel);
        goto out;
    }
    if ((rc = rd(&t, dla, &d, 8)))
        goto out;
    unsigned type = desc_type(d);
    if ((d & (1ULL << 44)) || (type & ~2u) != 9) {
        if ((type & ~2u) == 1 && !(d & (1ULL << 44)))
            rc = stop(&t, "16-bit TSS");
        else
            rc = fault(&t, iret ? X86_EXC_TS : X86_EXC_GP, err_sel);
        goto out;
    }
    if (!(d & DESC_P)) {
        rc = fault(&t, X86_EXC_NP, err_sel);
        goto out;
    }
    if (iret ? !(d & DESC_BUSY) : !!(d & DESC_BUSY)) {
        rc = fault(&t, iret ? X86_EXC_TS : X86_EXC_GP, err_sel);
        goto out;
    }
    if (desc_limit(d) < TSS32_MIN_LIMIT) {
        rc = fault(&t, X86_EXC_TS, err_sel);
        goto out;
    }
    uint16_t old_sel = sv->tr.sel;
    if ((sv->tr.attrib & 0xf) != 0xB) {
        rc = stop(&t, "the current task has a 16-bit TSS");
        goto out;
    }
    if (sv->tr.limit < TSS32_SAVE_END) {
        rc = fault(&t, X86_EXC_TS, (old_sel & 0xfffc) | t.ext);
        goto out;
    }
    /* Both TSSs must be reachable before anything is written (a #PF here is the old task's). */
    if ((rc = rd(&t, desc_base(d), tss, sizeof(tss))))
        goto out;
    uint32_t probe;
    if ((rc = rd(&t, sv->tr.base + TSS_EIP, &probe, 4)) ||
        (rc = rd(&t, sv->tr.base + TSS32_SAVE_END - 3, &probe, 4)))
        goto out;

    /* ---- commit: save the old task --------------------------------------- */
    if (event && !soft)
        vm->ctl.eventinj = 0;       /* event_vmcb.c re-queued the event; the switch delivers it */
    {
        uint32_t save[10];
        uint64_t uld;
        save[0] = (uint32_t)next_rip;
        save[1] = ((uint32_t)sv->rflags & ~(RFLAGS_RF | (iret ? RFLAGS_NT : 0))) |
                  ((i2 & TS_INFO2_RF) ? RFLAGS_RF : 0);
        save[2] = (uint32_t)sv->rax; save[3] = (uint32_t)v->regs.rcx;
        save[4] = (uint32_t)v->regs.rdx; save[5] = (uint32_t)v->regs.rbx;
        save[6] = (uint32_t)sv->rsp; save[7] = (uint32_t)v->regs.rbp;
        save[8] = (uint32_t)v->regs.rsi; save[9] = (uint32_t)v->regs.rdi;
        if ((rc = wr(&t, sv->tr.base + TSS_EIP, save, sizeof(save))))
            goto out;
        const struct vmcb_seg *segs = &sv->es;
        for (unsigned i = 0; i < X86_NR_SEGS; i++) {
            uint16_t s16 = segs[i].sel;
            if ((rc = wr(&t, sv->tr.base + TSS_ES + 4 * i, &s16, 2)))
                goto out;
        }
        if (jmp || iret) {
            uint64_t od;
            if (!desc_la(&t, old_sel & ~4u, &uld)) {
                rc = fault(&t, X86_EXC_TS, (old_sel & 0xfffc) | t.ext);
                goto out;
            }
            if ((rc = rd(&t, uld, &od, 8)) || (rc = set_busy(&t, old_sel, od, false)))
                goto out;
        }
    }
    if (nested) {
        if ((rc = wr(&t, desc_base(d) + TSS_LINK, &old_sel, 2)))
            goto out;
        memcpy(tss + TSS_LINK, &old_sel, 2);
    }
    if (!iret && (rc = set_busy(&t, sel, d, true)))
        goto out;
    d |= DESC_BUSY;
    sv->tr = (struct vmcb_seg){ .sel = sel, .attrib = desc_attr(d), .limit = desc_limit(d),
                                .base = desc_base(d) };
    vm->ctl.int_shadow = 0;
    sv->dr7 &= ~(uint64_t)DR7_LOCAL;

    /* ---- load the new task ------------------------------------------------- */
    if ((rc = load_new_task(&t, tss, nested)))
        goto out;
    /* CR0.TS: the new task's first FPU use faults (not a bit the shadows depend on). */
    t.s->guest_cr0 |= X86_CR0_TS;
    t.s->hw_cr0 |= X86_CR0_TS;
    if (i2 & TS_INFO2_HAS_ERR) {
        if ((rc = push_err(&t, (uint32_t)i2)))
            goto out;
        ts_err_pushed++;
    }
    if (tss[TSS_TRAP] & 1) {
        sv->dr6 |= 1u << 15;        /* BT: the debug trap of the new TSS's T bit */
        svm_inject_exc(v, X86_EXC_DB, false, 0);
    }
    return;

out:
    if (rc == TS_STOP) {
        report_stop(&t, sel);
        return;
    }
    ts_faults++;
    svm_inject_fault(v, &t.f);
}

/*
 * QEMU 7.2 TCG never raises the TASK_SWITCH intercept: it switches tasks
 * natively and loads the TSS's CR3 -- a guest page-table address -- into
 * the CR3 the guest runs on, bypassing the shadow until the next exit.
 * Nothing else can change the hardware CR3 behind Umbra (MOV CR3 is
 * intercepted), so at the next exit a CR3 other than the shadow's is such a
 * switch: adopt its CR3 as the guest's (through shadow_update_cr3, which
 * puts the shadow back) and the CR0.TS it set.
 */
void svm_task_switch_unintercepted(struct svm_vcpu *v)
{
    struct vmcb *vm = v->vmcb;
    struct shadow_vcpu *s = v->sh;
    struct sh_fault sf = { 0 };
    uint64_t old = s->guest_cr3;

    if (!ts_unintercepted++)
        ulog("task-switch: the CPU switched tasks without the TASK_SWITCH intercept (cr3 %#lx, tr %#x): "
             "resynchronising the shadow", vm->save.cr3, vm->save.tr.sel);
    /*
     * Running the guest natively on its PAE tables, QEMU sets the accessed
     * bit (5) in the PDPTEs it walks -- a bit the AMD manual reserves there,
     * which the shadow's CR3 load would refuse with #GP(0).  The guest never
     * wrote it: clear it (only here, only bit 5 of an otherwise valid PDPTE).
     */
    if ((s->guest_cr4 & X86_CR4_PAE) && (s->guest_cr0 & X86_CR0_PG) &&
        vm->save.cr3 + 32 <= umbra_layout.reserve_lo) {
        uint64_t *pe = phys_to_virt(vm->save.cr3 & 0xffffffe0u);
        for (unsigned i = 0; i < 4; i++)
            if ((pe[i] & (_PAGE_PRESENT | _PAGE_ACCESSED)) == (_PAGE_PRESENT | _PAGE_ACCESSED)) {
                pe[i] &= ~(uint64_t)_PAGE_ACCESSED;
                ts_pdpte_a_cleared++;
            }
    }
    s->guest_cr3 = vm->save.cr3;
    if (shadow_update_cr3(s, &sf) != SH_FIXED) {
        s->guest_cr3 = old;
        ulog("task-switch: CR3 %#lx the CPU loaded is refused: %s", vm->save.cr3,
             sf.why ? sf.why : "reserved bits in its PDPTEs");
        svm_dump_guest(v, "un-intercepted task switch");
        svm_stop(v, "task-switch", UMBRA_STATUS_ERROR);
        return;
    }
    s->guest_cr0 |= vm->save.cr0 & X86_CR0_TS;
    s->hw_cr0 |= vm->save.cr0 & X86_CR0_TS;
    vm->save.cr3 = s->hw_cr3;
}

/*
 * QEMU TCG switches tasks natively (no intercept) and loads the new TSS's
 * CR3 -- a guest page table -- into the hardware CR3.  If one of its next
 * accesses then faults (it walks the guest's table as if it were a shadow,
 * with the hardware CR4, so a PSE guest's large pages look like tables), the
 * exit comes mid-switch (QEMU's switch_tss_ra order): TR, CR3, EFLAGS and
 * the general registers are the new task's, the segment registers not yet
 * loaded hold bare selectors (attributes 0), no error code is pushed yet.
 * RIP is the new task's EIP for a switch through a gate, the instruction's
 * (IRET, JMP, CALL) otherwise: QEMU unwinds EIP to the faulting instruction.
 * Re-injecting the event, or re-running the instruction, would switch again
 * from a task that is no longer current.  So finish the switch from the TSS
 * in TR, through the shadow: EIP, LDTR, the segments, the error code, the
 * T-bit trap.  Each step repeats what the CPU did or would do next from the
 * same TSS, so it is right whichever step the CPU stopped at.
 * A switch is known to be cut short when EXITINTINFO's event has a task
 * gate to the TSS in TR (the switch committed: the old TSS is saved, TR
 * loaded; a completed delivery would not be reported), or when a segment
 * register holds a non-null selector without the present bit, which no
 * completed instruction leaves in protected mode.  Call only right after
 * svm_task_switch_unintercepted().  Returns true if it finished the switch
 * (the exit's own fault happened on the guest's tables and means nothing).
 */
bool svm_task_switch_finish(struct svm_vcpu *v)
{
    struct vmcb *vm = v->vmcb;
    struct vmcb_save *sv = &vm->save;
    struct ts t = { .v = v, .vm = vm, .s = v->sh };
    uint64_t ii = vm->ctl.exitintinfo;
    uint8_t tss[TSS32_MIN_LIMIT + 1];
    int rc;

    if (!t.s || (t.s->guest_efer & EFER_LMA) || !(t.s->guest_cr0 & X86_CR0_PE) || !(sv->tr.sel & ~3u) ||
        sv->tr.limit < TSS32_MIN_LIMIT || (sv->tr.attrib & 0xd) != 9)    /* 32-bit TSS, busy or not */
        return false;
    bool event = (ii & SVM_EVT_VALID) && idt_task_gate(&t, ii & 0xff) == sv->tr.sel;
    bool torn = false;
    const struct vmcb_seg *segs = &sv->es;
    for (unsigned i = 0; i < X86_NR_SEGS; i++)
        torn |= (segs[i].sel & ~3u) && !(segs[i].attrib & X86_SEG_ATTR_P);
    if (!event && !torn)
        return false;
    uint64_t etype = ii & (7ULL << 8);
    unsigned evec = ii & 0xff;
    bool soft = etype == SVM_EVT_TYPE_SOFT ||
                (etype == SVM_EVT_TYPE_EXC && (evec == X86_EXC_BP || evec == X86_EXC_OF));
    t.ext = event && !soft ? 1 : 0;
    ts_finished++;
    /* NT as the CPU set it: a gate or CALL nests, JMP and IRET take the TSS's own flag. */
    if ((rc = rd(&t, sv->tr.base, tss, sizeof(tss))) ||
        (rc = load_new_task(&t, tss, sv->rflags & RFLAGS_NT)))
        goto out;
    t.s->guest_cr0 |= X86_CR0_TS;
    t.s->hw_cr0 |= X86_CR0_TS;
    /* Software interrupts and the exceptions without one push no error code (EV clear). */
    if (event && (ii & SVM_EVT_ERR_VALID)) {
        if ((rc = push_err(&t, (uint32_t)(ii >> 32))))
            goto out;
        ts_err_pushed++;
    }
    if (tss[TSS_TRAP] & 1) {
        sv->dr6 |= 1u << 15;
        svm_inject_exc(v, X86_EXC_DB, false, 0);
    }
    return true;
out:
    if (rc == TS_STOP) {
        report_stop(&t, sv->tr.sel);
        return true;
    }
    ts_faults++;
    svm_inject_fault(v, &t.f);      /* after the commit point: the new task's fault */
    return true;
}

void svm_task_switch_report(void)
{
    unsigned long total = 0;
    for (unsigned i = 0; i < TS_NR_REASONS; i++)
        total += ts_count[i];
    if (!total && !ts_unintercepted)
        return;
    ulog("task-switch: jmp=%lu call=%lu iret=%lu int-gate=%lu event-gate=%lu", ts_count[TS_JMP],
         ts_count[TS_CALL], ts_count[TS_IRET], ts_count[TS_GATE_SOFT], ts_count[TS_GATE_EVENT]);
    ulog("task-switch: cr3 loads=%lu error codes pushed=%lu faults raised=%lu stopped=%lu",
         ts_cr3_loads, ts_err_pushed, ts_faults, ts_stopped);
    if (ts_unintercepted)
        ulog("task-switch: exits after a switch the CPU did not intercept=%lu (PDPTE A bits cleared=%lu, "
             "switches finished after the CPU stopped mid-way=%lu)", ts_unintercepted, ts_pdpte_a_cleared,
             ts_finished);
}
