/*
 * paging=shadow: the SVM side of the shadow MMU (include/umbra/shadow.h).
 *
 * The hardware runs the guest on shadow page tables (hw_cr0/3/4/efer); the
 * guest's own CR0/CR3/CR4/EFER live in struct shadow_vcpu and are what it
 * reads back.  Intercepted: CR0/CR3/CR4 reads and writes (MOV CRn, CLTS,
 * LMSW, SMSW), EFER through the MSR map, #PF, INVLPG, task switches.
 * Without decode assists every CR and INVLPG intercept is decoded from the
 * bytes at guest CS:RIP (src/x86 via emu.c).
 *
 * Invariants kept here:
 *   - before every VMRUN the VMCB holds hw_cr0/3/4/efer of the shadow vCPU,
 *     and a pending tlb_flush has become a flush of the guest's whole ASID
 *     (svm_flush_guest_tlb: TLB_CONTROL = 3 with FlushByAsid, else 1, as
 *     QEMU TCG has no flush-by-ASID);
 *   - a guest CR/EFER write the shadow refuses (SH_REFLECT / return 1)
 *     leaves the guest value as it was and injects #GP(0);
 *   - nothing the guest writes is ever dropped: what cannot be emulated
 *     stops the guest with a diagnostic.
 * The #PF path (the hot one) does no logging and no decoding unless the
 * shadow asks for emulation.
 */
#include <umbra/kern.h>
#include <umbra/lib.h>
#include <umbra/svm.h>
#include <umbra/shadow.h>
#include <umbra/platform.h>
#include <umbra/x86.h>
#include "emu.h"
#include "apic.h"
#include "paging.h"
#include "taskswitch.h"
#include "ctlrules.h"
#include "../shadow/trace.h"

static struct shadow_domain *sh_dom;
static struct shadow_vcpu sh_vcpu0;
static uint64_t cr4_allowed;        /* CR4 bits this CPU lets the guest set */
static uint64_t unhandled_rip = ~0ULL;   /* RIP of the last write the emulator could not do */
static uint64_t unhandled_gpa = ~0ULL;  /* ... and the guest-physical address it wrote */
static unsigned long unhandled_retries;  /* ... retried natively after unshadowing its target */
static unsigned long unhandled_blown;    /* ... retried natively after blowing every shadow */
static unsigned long delivery_retries;   /* event-delivery writes to a page table, retried natively */

/* CR4 bits the guest may set: what the shadow handles and the CPU has (never PCIDE, LA57). */
static uint64_t compute_cr4_allowed(void)
{
    const struct plat_cpu_features *f = plat_cpu_features();
    uint32_t r[4];
    uint64_t ok = X86_CR4_VME | X86_CR4_PVI | X86_CR4_TSD | X86_CR4_DE | X86_CR4_PSE
                | X86_CR4_PAE | X86_CR4_MCE | X86_CR4_PCE | X86_CR4_OSFXSR | X86_CR4_OSXMMEXCPT;
    cpuid(0, 0, r);
    unsigned max_std = r[0];
    cpuid(1, 0, r);
    if (r[2] & (1u << 26))
        ok |= X86_CR4_OSXSAVE;
    if (max_std >= 7) {
        cpuid(7, 0, r);
        if (r[1] & 1u)
            ok |= X86_CR4_FSGSBASE;
        if (r[2] & (1u << 2))
            ok |= X86_CR4_UMIP;
    }
    ok |= (f->pge ? X86_CR4_PGE : 0) | (f->smep ? X86_CR4_SMEP : 0)
        | (f->smap ? X86_CR4_SMAP : 0) | (f->pku ? X86_CR4_PKE : 0) | (f->pks ? X86_CR4_PKS : 0);
    return ok;
}

static uint64_t sp_cr4_allowed(void)
{
    return cr4_allowed;
}

/* The shadow trace ring (src/shadow/trace.c) lives in frames main.c took from
 * the reserve (trace_ring=N events), which the p2m refuses to the guest;
 * trace_vmcb is the VMCB whose RIP its events record. */
_Static_assert(sizeof(struct sh_trace_ev) == UMBRA_TRACE_EV_BYTES, "main.c sizes the ring by UMBRA_TRACE_EV_BYTES");
_Static_assert(SH_TRACE_MIN == OPTS_TRACE_RING_MIN && SH_TRACE_MAX == OPTS_TRACE_RING_MAX &&
               SH_TRACE_DEFAULT == OPTS_TRACE_RING_DEFAULT, "trace_ring= bounds are the ring's");
static struct vmcb *trace_vmcb;

uint64_t plat_guest_rip(struct shadow_vcpu *v)
{
    (void)v;
    return trace_vmcb ? trace_vmcb->save.rip : ~0ULL;
}

static int sp_init(struct svm_vcpu *v)
{
    struct vmcb *vm = v->vmcb;
    trace_vmcb = vm;
    if (sh_trace_init(phys_to_virt(umbra_layout.trace_ring),
                      (size_t)umbra_opts.trace_ring * sizeof(struct sh_trace_ev)) < 0) {
        ulog("paging=shadow: no trace ring (trace_ring=%u)", umbra_opts.trace_ring);
        return -1;
    }
    sh_trace_on = umbra_opts.trace;
    unsigned long frames = umbra_layout.shadow_pool_frames;

    sh_dom = shadow_domain_init(_mfn(umbra_layout.shadow_pool >> PAGE_SHIFT), frames);
    if (!sh_dom) {
        ulog("paging=shadow: shadow_pool=%luK is too small (or not below 4 GiB)", frames * 4);
        return -1;
    }
    shadow_set_prefetch(sh_dom, umbra_opts.prefetch);
    if (umbra_opts.oos && shadow_set_oos(sh_dom, true) < 0)
        ulog("paging=shadow: oos=on: no room for the snapshots, out-of-sync shadows stay off");
    if (shadow_vcpu_init(&sh_vcpu0, sh_dom) < 0) {
        ulog("paging=shadow: cannot set up the vCPU in a %lu-frame pool", frames);
        return -1;
    }
    struct shadow_vcpu *s = &sh_vcpu0;
    v->sh = s;
    /* The guest starts in the state vmcb_init() gave it (multiboot: PE, paging off). */
    s->guest_cr0 = vm->save.cr0 | X86_CR0_ET;
    s->guest_cr3 = vm->save.cr3;
    s->guest_cr4 = vm->save.cr4;
    s->guest_efer = v->guest_efer;
    if (shadow_update_paging_mode(s) != 0) {
        ulog("paging=shadow: cannot build the initial (paging-off) shadow");
        return -1;
    }
    cr4_allowed = compute_cr4_allowed();
    vm->ctl.intercept_cr = INTERCEPT_CR(0) | INTERCEPT_CR(3) | INTERCEPT_CR(4) |
                           INTERCEPT_CR_WRITE(0) | INTERCEPT_CR_WRITE(3) | INTERCEPT_CR_WRITE(4);
    vm->ctl.intercept_exc |= 1u << X86_EXC_PF;
    vm->ctl.intercept_misc1 |= INTERCEPT1_INVLPG | INTERCEPT1_TASKSW;
    vm->ctl.np_enable = 0;
    ulog("paging=shadow: pool [%#lx, %#lx), %lu frames", umbra_layout.shadow_pool,
         umbra_layout.shadow_pool + (frames << PAGE_SHIFT), frames);
#ifdef UMBRA_AUDIT_EXITS
    ulog("paging=shadow: debug build: shadow_audit() after every exit");
#endif
    return 0;
}

#ifdef UMBRA_AUDIT_EXITS
/* Debug build: the whole shadow state checked against the guest after every exit.
 * Every AUDIT_PROGRESS audits a progress line, so a run cut short (make soak's
 * SOAK_TIMEOUT) still shows how many audits ran and found nothing. */
#define AUDIT_PROGRESS 256
static void audit_exit(struct svm_vcpu *v)
{
    static unsigned long audits;
    unsigned long errs = shadow_audit(sh_dom);
    audits++;
    if (audits % AUDIT_PROGRESS == 0 && !errs)
        ulog("shadow: audit progress: audits=%lu audit_errors=0", audits);
    if (errs) {
        ulog("shadow: audit %lu found %lu error(s) after the last exit", audits, errs);
        svm_dump_guest(v, "shadow audit failed");
        svm_stop(v, "audit", UMBRA_STATUS_ERROR);
    }
}
#endif

static void sp_pre_vmrun(struct svm_vcpu *v)
{
    struct shadow_vcpu *s = v->sh;
    struct vmcb *vm = v->vmcb;
#ifdef UMBRA_AUDIT_EXITS
    audit_exit(v);
#endif
    vm->save.cr0 = s->hw_cr0;
    vm->save.cr3 = s->hw_cr3;
    vm->save.cr4 = s->hw_cr4;
    vm->save.efer = s->hw_efer | EFER_SVME;   /* VMRUN requires it; the shadow knows nothing of SVM */
    if (s->tlb_flush) {
        s->tlb_flush = false;
        svm_flush_guest_tlb(v);   /* the guest's ASID only, where the CPU can */
    }
}

static void gp0(struct svm_vcpu *v)
{
    svm_inject_exc(v, X86_EXC_GP, true, 0);
}

static void pool_exhausted(struct svm_vcpu *v, const char *what)
{
    ulog("shadow: pool exhausted on %s (shadow_pool=%luK)", what,
         umbra_layout.shadow_pool_frames * 4);
    svm_dump_guest(v, "shadow pool exhausted");
    svm_stop(v, "shadow", UMBRA_STATUS_ERROR);
}

/*
 * A new guest CR0/CR4/EFER is in s->guest_*: let the shadow pick the mode.
 * On a refusal (PAE paging over bad PDPTEs) the old values come back and
 * the guest gets #GP(0).  Returns true if the write took effect.
 */
static bool mode_change(struct svm_vcpu *v, uint64_t old_cr0, uint64_t old_cr4, uint64_t old_efer,
                        const char *what)
{
    struct shadow_vcpu *s = v->sh;
    int r = shadow_update_paging_mode(s);
    if (r == 1) {
        s->guest_cr0 = old_cr0;
        s->guest_cr4 = old_cr4;
        s->guest_efer = old_efer;
        r = shadow_update_paging_mode(s);
        if (r == 0) {
            gp0(v);
            return false;
        }
    }
    if (r != 0) {
        pool_exhausted(v, what);
        return false;
    }
    v->guest_efer = s->guest_efer;
    return true;
}

/* MOV to CR0, CLTS, LMSW: the checks MOV CR0 makes (#GP(0)), then the mode change. */
static bool set_cr0(struct svm_vcpu *v, struct svm_emu *e, uint64_t val)
{
    struct shadow_vcpu *s = v->sh;
    uint64_t old = s->guest_cr0;
    val = svm_cr0_write(&(struct svm_ctl){ old, s->guest_cr4, s->guest_efer }, val,
                        e->c.mode == X86_MODE_LONG64);
    if (val == SVM_CTL_GP) {
        gp0(v);
        return false;
    }
    s->guest_cr0 = val;
    return mode_change(v, old, s->guest_cr4, s->guest_efer, "CR0 write");
}

static bool set_cr4(struct svm_vcpu *v, uint64_t val)
{
    struct shadow_vcpu *s = v->sh;
    uint64_t old = s->guest_cr4;
    if (!svm_cr4_write_ok(&(struct svm_ctl){ s->guest_cr0, old, s->guest_efer }, val, cr4_allowed)) {
        gp0(v);
        return false;
    }
    s->guest_cr4 = val;
    return mode_change(v, s->guest_cr0, old, s->guest_efer, "CR4 write");
}

static bool set_cr3(struct svm_vcpu *v, uint64_t val)
{
    struct shadow_vcpu *s = v->sh;
    struct sh_fault f = { 0 };
    uint64_t old = s->guest_cr3;
    if (!svm_cr3_write_ok(&(struct svm_ctl){ s->guest_cr0, s->guest_cr4, s->guest_efer }, val,
                          plat_cpu_features()->maxphyaddr)) {
        gp0(v);
        return false;
    }
    s->guest_cr3 = val;
    switch (shadow_update_cr3(s, &f)) {
    case SH_FIXED:
        return true;
    case SH_REFLECT:
        s->guest_cr3 = old;
        svm_inject_exc(v, f.vector, f.vector == X86_EXC_GP || f.vector == X86_EXC_PF,
                       f.vector == X86_EXC_PF ? f.pfec : 0);
        return false;
    default:
        ulog("shadow: CR3 load %#lx refused: %s", val, f.why ? f.why : "?");
        svm_dump_guest(v, "CR3 load refused");
        svm_stop(v, "shadow", UMBRA_STATUS_ERROR);
        return false;
    }
}

static uint64_t sp_guest_cr(struct svm_vcpu *v, unsigned cr)
{
    struct shadow_vcpu *s = v->sh;
    if (!s)             /* init failed: the guest never ran, the VMCB holds its start state */
        return cr == 0 ? v->vmcb->save.cr0 : cr == 3 ? v->vmcb->save.cr3 : cr == 4 ? v->vmcb->save.cr4 : 0;
    return cr == 0 ? s->guest_cr0 : cr == 3 ? s->guest_cr3 : cr == 4 ? s->guest_cr4 : 0;
}

/* CR0/CR3/CR4 read intercept: MOV from CRn or SMSW, answered with the guest's value. */
static void sp_cr_read(struct svm_vcpu *v, unsigned cr)
{
    struct svm_emu e;
    struct x86_sysop op;
    (void)cr;
    svm_emu_begin(&e, v);
    int rc = x86_decode_sys(&e.c, &op);
    if (rc == X86EMU_OK) {
        uint64_t val;
        if (op.op == X86_OP_MOV_FROM_CR && (op.cr == 0 || op.cr == 3 || op.cr == 4))
            val = sp_guest_cr(v, op.cr);
        else if (op.op == X86_OP_SMSW)
            val = v->sh->guest_cr0;
        else {
            svm_emu_fail(&e, X86EMU_UNHANDLED, "complete a CR read with");
            return;
        }
        rc = x86_finish_sys(&e.c, &op, val);
    }
    if (rc != X86EMU_OK) {
        svm_emu_fail(&e, rc, "decode CR read");
        return;
    }
    svm_emu_commit(&e);
}

/* CR0/CR3/CR4 write intercept: MOV to CRn, CLTS, LMSW. */
static void sp_cr_write(struct svm_vcpu *v, unsigned cr)
{
    struct shadow_vcpu *s = v->sh;
    struct svm_emu e;
    struct x86_sysop op;
    bool ok;
    (void)cr;
    svm_emu_begin(&e, v);
    int rc = x86_decode_sys(&e.c, &op);
    if (rc != X86EMU_OK) {
        svm_emu_fail(&e, rc, "decode CR write");
        return;
    }
    switch (op.op) {
    case X86_OP_MOV_TO_CR:
        if (op.cr == 0)
            ok = set_cr0(v, &e, op.value);
        else if (op.cr == 3)
            ok = set_cr3(v, op.value);
        else if (op.cr == 4)
            ok = set_cr4(v, op.value);
        else {
            svm_emu_fail(&e, X86EMU_UNHANDLED, "complete a CR write with");
            return;
        }
        break;
    case X86_OP_CLTS:
        ok = set_cr0(v, &e, s->guest_cr0 & ~X86_CR0_TS);
        break;
    case X86_OP_LMSW:
        /* LMSW writes PE MP EM TS; it can set PE but never clear it. */
        ok = set_cr0(v, &e, (s->guest_cr0 & ~0xeULL) | (op.value & 0xf));
        break;
    default:
        svm_emu_fail(&e, X86EMU_UNHANDLED, "complete a CR write with");
        return;
    }
    if (!ok)
        return;                 /* #GP(0) injected or the guest stopped: RIP stays */
    x86_finish_sys(&e.c, &op, 0);
    svm_emu_commit(&e);
}

static void sp_invlpg(struct svm_vcpu *v)
{
    struct svm_emu e;
    struct x86_sysop op;
    svm_emu_begin(&e, v);
    int rc = x86_decode_sys(&e.c, &op);
    if (rc == X86EMU_OK && op.op != X86_OP_INVLPG)
        rc = X86EMU_UNHANDLED;
    if (rc != X86EMU_OK) {
        svm_emu_fail(&e, rc, "decode INVLPG");
        return;
    }
    shadow_invlpg(v->sh, op.la);
    x86_finish_sys(&e.c, &op, 0);
    svm_emu_commit(&e);
}

/*
 * A write to a write-protected guest page table that Umbra cannot make
 * itself -- an instruction the emulator does not know, or the CPU's own
 * write while delivering an event (a push onto a stack that shares its
 * frame with a live page table) -- is never dropped: unshadow just the
 * target frame (CR2's) so it is plain memory, and let the guest or the
 * delivery retry natively; the frame is reshadowed from its new contents
 * when it is next used as a table.  Invariant: each retry makes progress --
 * a new (RIP, target) pair is unshadowed; the same pair again (the target
 * is an in-use top level, or the retry needs the frame as a table) falls
 * back once to blowing every shadow.  Returns false when that was tried
 * too: the caller stops the guest with a diagnostic.
 */
static bool retry_natively(struct svm_vcpu *v, uint64_t rip)
{
    gpa_t gpa;
    if (shadow_gva_to_gpa(v->sh, v->vmcb->ctl.exitinfo2, &gpa)
        && (rip != unhandled_rip || gpa >> PAGE_SHIFT != unhandled_gpa >> PAGE_SHIFT)
        && shadow_unshadow_gfn(sh_dom, _gfn(gpa >> PAGE_SHIFT))) {
        unhandled_rip = rip;
        unhandled_gpa = gpa;
        unhandled_retries++;
        return true;
    }
    if (rip != unhandled_rip || unhandled_gpa != ~1ULL) {
        unhandled_rip = rip;
        unhandled_gpa = ~1ULL;          /* blown for this RIP */
        unhandled_blown++;
        shadow_blow_tables(sh_dom);
        return true;
    }
    return false;
}

/*
 * SH_EMULATE: the faulting instruction writes a write-protected guest page
 * table (or relies on CR0.WP = 0).  Emulate it through the shadow, which
 * revalidates what it writes.
 */
static void emulate_write(struct svm_vcpu *v)
{
    struct svm_emu e;
    svm_emu_begin(&e, v);
    int rc = x86_emulate(&e.c);
    if (rc == X86EMU_UNHANDLED) {
        /* Registers untouched, nothing written: the guest retries it natively. */
        if (e.stop_why || !retry_natively(v, e.r.rip))
            svm_emu_fail(&e, rc, "emulate");
        return;
    }
    unhandled_rip = ~0ULL;
    unhandled_gpa = ~0ULL;
    svm_emu_commit(&e);         /* also keeps completed REP iterations after a fault */
    if (rc == X86EMU_FAULT) {
        svm_inject_fault(v, &e.c.fault);
        return;
    }
    if (e.r.rflags & X86_RFLAGS_TF) {
        v->vmcb->save.dr6 |= 1u << 14;      /* BS: the single-step trap the CPU would raise */
        svm_inject_exc(v, X86_EXC_DB, false, 0);
    }
}

static void sp_page_fault(struct svm_vcpu *v)
{
    struct vmcb *vm = v->vmcb;
    struct sh_fault out = { 0 };
    uint32_t pfec = (uint32_t)vm->ctl.exitinfo1 |
                    ((vm->save.rflags & X86_RFLAGS_AC) ? SH_PFEC_AC : SH_PFEC_NOAC);
    /* A fetch faults within the (at most 15) bytes of the instruction at the
     * linear RIP; anything else is a data access (SMAP's business, shadow.h). */
    uint64_t from_rip = vm->ctl.exitinfo2 - (vm->save.cs.base + vm->save.rip);
    if (!(vm->save.efer & EFER_LMA) || !(vm->save.cs.attrib & (1u << 9)))
        from_rip = (uint32_t)from_rip;      /* linear addresses wrap at 4 GiB */
    if (from_rip >= 15)
        pfec |= SH_PFEC_DATA;

    switch (shadow_page_fault(v->sh, vm->ctl.exitinfo2, pfec, &out)) {
    case SH_FIXED:
        return;                 /* an event cut short by the fault is re-delivered (event_vmcb.c) */
    case SH_REFLECT:
        if (out.vector == X86_EXC_PF) {
            svm_set_guest_cr2(v, out.cr2);
            svm_inject_exc(v, X86_EXC_PF, true, out.pfec);
        } else {
            svm_inject_exc(v, out.vector, true, 0);
        }
        return;
    case SH_EMULATE:
        if (vm->ctl.exitintinfo & SVM_EVT_VALID) {
            /*
             * The CPU's own write while delivering an event (event_vmcb.c has
             * queued the event again, or lets INT n run again): retried
             * natively once its target is plain memory.
             */
            if (retry_natively(v, vm->save.rip)) {
                delivery_retries++;
                return;
            }
            ulog("shadow: a write of event delivery (event %#lx, va %#lx) made no progress after "
                 "unshadowing its target and blowing every shadow", vm->ctl.exitintinfo, vm->ctl.exitinfo2);
            svm_dump_guest(v, "cannot emulate event delivery");
            svm_stop(v, "shadow", UMBRA_STATUS_ERROR);
            return;
        }
        if (unlikely(out.gfn == apic_trap_gfn))
            svm_apic_emulate(v);     /* a write to the local APIC page: its IPIs are filtered */
        else
            emulate_write(v);
        return;
    case SH_STOP:
        ulog("shadow: stopping the guest at va %#lx: %s", vm->ctl.exitinfo2,
             out.why ? out.why : "?");
        svm_dump_guest(v, "shadow refused a fault");
        svm_stop(v, "shadow", UMBRA_STATUS_ERROR);
        return;
    }
}

static uint64_t sp_efer_read(struct svm_vcpu *v)
{
    return v->sh ? v->sh->guest_efer : v->guest_efer;
}

static int sp_efer_write(struct svm_vcpu *v, uint64_t val)
{
    struct shadow_vcpu *s = v->sh;
    uint64_t old = s->guest_efer;
    /* LME may not change while paging is on; LMA is the CPU's. */
    if (!svm_efer_write_ok(&(struct svm_ctl){ s->guest_cr0, s->guest_cr4, old }, val)) {
        gp0(v);
        return -1;
    }
    s->guest_efer = (val & ~(uint64_t)EFER_LMA) | (old & EFER_LMA);
    return mode_change(v, s->guest_cr0, s->guest_cr4, old, "EFER write") ? 0 : -1;
}

static void sp_report(struct svm_vcpu *v)
{
    static const char *const names[] = { "off", "2-level", "PAE", "long mode (4-level)" };
    if (!v->sh)
        return;
    ulog("shadow: guest paging mode %s; hardware cr0=%#lx cr3=%#lx cr4=%#lx efer=%#lx",
         names[v->sh->paging & 3], v->sh->hw_cr0, v->sh->hw_cr3, v->sh->hw_cr4, v->sh->hw_efer | EFER_SVME);
    ulog("shadow: unemulated writes retried natively: after unshadowing the target=%lu, "
         "after blowing the shadows=%lu", unhandled_retries, unhandled_blown);
    if (delivery_retries)
        ulog("shadow: of them writes of event delivery=%lu", delivery_retries);
    shadow_print_stats(sh_dom, umbra_opts.summary_full);
}

/* What the shadow MMU does not model: PCID, INVPCID, 5-level paging (CR4 refuses them). */
static void sp_cpuid(struct svm_vcpu *v, uint32_t leaf, uint32_t sub, uint32_t r[4])
{
    (void)v;
    if (leaf == 1)
        r[2] &= ~(1u << 17);
    else if (leaf == 7 && sub == 0)
        r[1] &= ~(1u << 10), r[2] &= ~(1u << 16);
}

/*
 * Only a task switch the CPU did not intercept (QEMU TCG) moves CR3 behind
 * the shadow.  Adopt it first: if the exit came in the middle of that
 * switch, finishing it consumes the event and voids the exit (taskswitch.c).
 */
static int sp_exit_check(struct svm_vcpu *v)
{
    if (likely(!v->sh || v->vmcb->save.cr3 == v->sh->hw_cr3))
        return 0;
    svm_task_switch_unintercepted(v);
    if (v->stop)
        return -1;
    return svm_task_switch_finish(v) ? 1 : 0;
}

/* Guest-virtual reads through the shadow's own walker (no A/D written: pfec 0). */
static bool sp_read_guest(struct svm_vcpu *v, uint64_t la, void *buf, unsigned len)
{
    struct sh_fault f;
    return v->sh && shadow_peek_guest(v->sh, la, buf, len, 0, &f) == SH_FIXED;   /* svm.h: no A/D */
}

const struct paging_ops shadow_paging_ops = {
    .name = "shadow",
    .init = sp_init,
    .pre_vmrun = sp_pre_vmrun,
    .cr_read = sp_cr_read,
    .cr_write = sp_cr_write,
    .page_fault = sp_page_fault,
    .invlpg = sp_invlpg,
    .efer_read = sp_efer_read,
    .efer_write = sp_efer_write,
    .guest_cr = sp_guest_cr,
    .report = sp_report,
    .cr4_allowed = sp_cr4_allowed,
    .cpuid = sp_cpuid,
    .exit_check = sp_exit_check,
    .read_guest = sp_read_guest,
};
