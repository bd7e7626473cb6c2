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
#include "tsrules.h"

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

/* A rule's answer (tsrules.c) as a step result: its fault or its diagnostic goes into t. */
static int rule(struct ts *t, int rc, const struct ts_verdict *vd)
{
    if (rc == TS_FAULT)
        return fault(t, vd->vector, vd->err);
    if (rc == TS_STOP)
        return stop(t, vd->why);
    return TS_OK;
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

/* The descriptor `sel` names in the guest's current GDT/LDT (ts_desc_la). */
static bool desc_la(struct ts *t, uint16_t sel, uint64_t *la)
{
    return ts_desc_la(sel, &t->vm->save.gdtr, &t->vm->save.ldtr, la);
}

/* Set or clear the busy bit of a GDT TSS descriptor (one byte written, as the CPU does). */
static int set_busy(struct ts *t, uint16_t sel, uint64_t d, bool busy)
{
    uint64_t la;
    if (!desc_la(t, sel & ~4u, &la))
        return fault(t, X86_EXC_TS, (sel & 0xfffc) | t->ext);
    uint8_t b = ts_busy_byte(d, busy);
    return wr(t, la + 5, &b, 1);
}

/*
 * Load segment register `seg` of the new task from selector `sel` at the new
 * CPL: the descriptor is read only if ts_check_seg() needs it, the rules are
 * ts_check_seg()'s, and the accessed bit is written back as the CPU does.
 * *out is written only on success.
 */
static int load_seg(struct ts *t, unsigned seg, uint16_t sel, unsigned cpl, struct vmcb_seg *out)
{
    struct ts_verdict vd;
    struct vmcb_seg s;
    uint64_t la = 0, d = 0;
    bool in = desc_la(t, sel, &la), acc;
    int rc;

    if (ts_seg_wants_desc(sel, in) && (rc = rd(t, la, &d, 8)))
        return rc;
    if ((rc = rule(t, ts_check_seg(seg, sel, in, d, cpl, t->ext, &s, &acc, &vd), &vd)))
        return rc;
    if (acc) {
        uint8_t b = (uint8_t)((d >> 40) | 1);
        if ((rc = wr(t, la + 5, &b, 1)))
            return rc;
    }
    *out = s;
    return TS_OK;
}

/* Push the event's error code on the new task's stack (ts_push_err decides where). */
static int push_err(struct ts *t, uint32_t err)
{
    struct vmcb_save *sv = &t->vm->save;
    struct ts_verdict vd;
    uint64_t la = 0, rsp = 0;
    int rc;

    if ((rc = rule(t, ts_push_err(&sv->ss, sv->rsp, t->ext, &la, &rsp, &vd), &vd)) ||
        (rc = wr(t, la, &err, 4)))
        return rc;
    sv->rsp = rsp;
    return TS_OK;
}

/* Steps after the commit point: load the new task's state from tss[] (its 0x68 bytes). */
static int load_new_task(struct ts *t, const uint8_t *tss, bool nested)
{
    struct vmcb_save *sv = &t->vm->save;
    struct guest_regs *g = &t->v->regs;
    struct ts_state st;
    struct ts_verdict vd;
    int rc;

    if ((rc = rule(t, ts_new_state(tss, nested, &st, &vd), &vd)))
        return rc;

    /* CR3 (only with paging on, as the CPU does): through the shadow, like MOV CR3. */
    if (t->s->guest_cr0 & X86_CR0_PG) {
        struct sh_fault sf = { 0 };
        uint64_t old = t->s->guest_cr3;
        t->s->guest_cr3 = st.cr3;
        enum sh_result r = shadow_update_cr3(t->s, &sf);
        if (r != SH_FIXED) {
            t->s->guest_cr3 = old;
            return r == SH_REFLECT ? fault(t, sf.vector, 0)
                                   : stop(t, sf.why ? sf.why : "CR3 load refused");
        }
        ts_cr3_loads++;
    }

    /* Registers and flags: the switch has happened even if a segment load faults below. */
    sv->rip = st.r.rip;
    sv->rflags = st.r.rflags;
    sv->rax = st.r.rax; g->rcx = st.r.rcx; g->rdx = st.r.rdx; g->rbx = st.r.rbx;
    sv->rsp = st.r.rsp; g->rbp = st.r.rbp; g->rsi = st.r.rsi; g->rdi = st.r.rdi;
    struct vmcb_seg *segs = &sv->es;     /* ES CS SS DS FS GS, hardware order */
    for (unsigned i = 0; i < X86_NR_SEGS; i++)
        segs[i].sel = st.sel[i];

    /* LDTR first (from the GDT): the segment selectors may name it. */
    uint64_t la = 0, d = 0;
    bool in = !(st.ldt & 4) && desc_la(t, st.ldt, &la);
    if (ts_ldt_wants_desc(st.ldt, in) && (rc = rd(t, la, &d, 8)))
        return rc;
    if ((rc = rule(t, ts_check_ldt(st.ldt, in, d, t->ext, &sv->ldtr, &vd), &vd)))
        return rc;

    /* The new CPL is CS.RPL; CS and SS first, then the data segments. */
    unsigned cpl = st.sel[X86_SEG_CS] & 3;
    static const unsigned order[X86_NR_SEGS] = { X86_SEG_CS, X86_SEG_SS, X86_SEG_DS, X86_SEG_ES,
                                                 X86_SEG_FS, X86_SEG_GS };
    for (unsigned i = 0; i < X86_NR_SEGS; i++) {
        if ((rc = load_seg(t, order[i], st.sel[order[i]], cpl, &segs[order[i]])))
            return rc;
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
    if (((g >> 40) & 0x1f) != 5 || !(g & TS_DESC_P))
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

/*
 * Where the old task resumes: after JMP/CALL/IRET/INT n; after a fault or an
 * interrupt, at the instruction RIP points to.  Bochs 2.7 records no event
 * for INT n: its EXITINTINFO then says "valid" with a stale or zero vector
 * and type.  So when an event is claimed and RIP holds INT n (INT3, INTO)
 * whose IDT entry is a task gate to this TSS while the claimed vector's entry
 * is not, the INT instruction caused the switch (*c is re-derived so).
 * False: the instruction could not be decoded (the guest was stopped).
 */
static bool old_task_rip(struct ts *t, uint16_t sel, struct ts_cause *c, uint64_t *next_rip)
{
    struct vmcb_control *ctl = &t->vm->ctl;
    struct svm_emu e;
    struct x86_sysop op;
    svm_emu_begin(&e, t->v);
    int rc = x86_decode_sys(&e.c, &op);
    if (rc != X86EMU_OK && (!c->event || c->soft)) {
        svm_emu_fail(&e, rc, "decode the task-switching");
        return false;
    }
    if (rc == X86EMU_OK && c->event && !c->soft &&
        (op.op == X86_OP_INT || op.op == X86_OP_INT3 || op.op == X86_OP_INTO)) {
        unsigned n = op.op == X86_OP_INT3 ? 3 : op.op == X86_OP_INTO ? 4 : (uint8_t)e.c.insn.imm;
        if (idt_task_gate(t, n) == sel && idt_task_gate(t, ctl->exitintinfo & 0xff) != sel)
            *c = ts_cause(ctl->exitinfo2, ctl->exitintinfo, true);
    }
    *next_rip = t->vm->save.rip;
    if (!c->event || c->soft)
        *next_rip = (uint32_t)(t->vm->save.rip + op.len);
    return true;
}

/* The commit: save the old task in its TSS, write the busy bits and the back-link, load TR. */
static int commit(struct ts *t, const struct ts_cause *c, uint16_t sel, uint64_t d, uint64_t next_rip,
                  uint8_t *tss)
{
    struct vmcb_save *sv = &t->vm->save;
    struct guest_regs *g = &t->v->regs;
    struct ts_plan p = ts_plan(c->why);
    const struct ts_regs r = { .rax = sv->rax, .rcx = g->rcx, .rdx = g->rdx, .rbx = g->rbx,
                               .rsp = sv->rsp, .rbp = g->rbp, .rsi = g->rsi, .rdi = g->rdi,
                               .rip = sv->rip, .rflags = sv->rflags };
    uint16_t old_sel = sv->tr.sel;
    uint32_t save[10];
    uint64_t uld, od;
    int rc;

    ts_save_old(&r, next_rip, t->vm->ctl.exitinfo2, c->why == TS_IRET, save);
    if ((rc = wr(t, sv->tr.base + TSS_EIP, save, sizeof(save))))
        return rc;
    const struct vmcb_seg *segs = &sv->es;
    for (unsigned i = 0; i < X86_NR_SEGS; i++) {
        uint16_t s16 = segs[i].sel;
        if ((rc = wr(t, sv->tr.base + TSS_ES + 4 * i, &s16, 2)))
            return rc;
    }
    if (p.clear_old_busy) {
        if (!desc_la(t, old_sel & ~4u, &uld))
            return fault(t, X86_EXC_TS, (old_sel & 0xfffc) | t->ext);
        if ((rc = rd(t, uld, &od, 8)) || (rc = set_busy(t, old_sel, od, false)))
            return rc;
    }
    if (p.link) {
        if ((rc = wr(t, ts_desc_base(d) + TSS_LINK, &old_sel, 2)))
            return rc;
        memcpy(tss + TSS_LINK, &old_sel, 2);
    }
    if (p.set_new_busy && (rc = set_busy(t, sel, d, true)))
        return rc;
    sv->tr = ts_desc_seg(sel, d | TS_DESC_BUSY);
    t->vm->ctl.int_shadow = 0;
    sv->dr7 &= ~(uint64_t)TS_DR7_LOCAL;
    return TS_OK;
}

/*
 * The TASK_SWITCH intercept.  Order (the CPU's): the checks of the new TSS
 * descriptor and of TR (ts_check_target), both TSSs read, then the commit,
 * then the new task's state (load_new_task), the error code, the T trap.
 */
void svm_task_switch(struct svm_vcpu *v)
{
    struct vmcb *vm = v->vmcb;
    struct vmcb_save *sv = &vm->save;
    struct ts t = { .v = v, .vm = vm, .s = v->sh };
    uint16_t sel = (uint16_t)vm->ctl.exitinfo1;
    uint64_t i2 = vm->ctl.exitinfo2, ii = vm->ctl.exitintinfo;
    struct ts_cause c = ts_cause(i2, ii, false);
    struct ts_verdict vd;
    uint64_t dla = 0, d = 0, next_rip;
    uint8_t tss[TSS32_MIN_LIMIT + 1];
    uint32_t probe;
    int rc;

    if (!t.s || (t.s->guest_efer & EFER_LMA)) {
        ts_count[c.why]++;
        t.why = "no task switches without a shadow vCPU or in long mode";
        report_stop(&t, sel);
        return;
    }
    if (!old_task_rip(&t, sel, &c, &next_rip))
        return;
    ts_count[c.why]++;
    if (c.soft && vm->ctl.eventinj == ii)
        vm->ctl.eventinj = 0;       /* event_vmcb.c re-queued Bochs' stale record: drop it */
    t.ext = c.ext;

    /* ---- checks: a failure leaves the old task as it was ---------------- */
    bool in = !(sel & 4) && desc_la(&t, sel, &dla);
    if ((ts_target_wants_desc(sel, in) && (rc = rd(&t, dla, &d, 8))) ||
        (rc = rule(&t, ts_check_target(&c, sel, in, d, &sv->tr, &vd), &vd)))
        goto out;
    /* Both TSSs must be reachable before anything is written (a #PF here is the old task's). */
    if ((rc = rd(&t, ts_desc_base(d), tss, sizeof(tss))) ||
        (rc = rd(&t, sv->tr.base + TSS_EIP, &probe, 4)) ||
        (rc = rd(&t, sv->tr.base + TSS32_SAVE_END - 3, &probe, 4)))
        goto out;

    /* ---- commit, then the new task ---------------------------------------- */
    if (c.event && !c.soft)
        vm->ctl.eventinj = 0;       /* event_vmcb.c re-queued the event; the switch delivers it */
    if ((rc = commit(&t, &c, sel, d, next_rip, tss)) || (rc = load_new_task(&t, tss, c.nested)))
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
    /* EXITINTINFO is valid here when event is: ts_cause()'s soft is the event's. */
    t.ext = event && !ts_cause(0, ii, false).soft ? 1 : 0;
    ts_finished++;
    /* NT as the CPU set it: a gate or CALL nests, JMP and IRET take the TSS's own flag. */
    if ((rc = rd(&t, sv->tr.base, tss, sizeof(tss))) ||
        (rc = load_new_task(&t, tss, sv->rflags & TS_RFLAGS_NT)))
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
