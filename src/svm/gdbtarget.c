/*
 * The SVM implementation of struct gdb_target_ops (include/umbra/gdbstub.h):
 * one vCPU, its registers in the VMCB and v->regs, its memory through the
 * shadow MMU (src/gdbstub/shadow_hooks.c), breakpoints and single-step on
 * the #BP/#DB intercepts, and the serving loop between exits.
 *
 * How each debug event reaches GDB:
 *   - software breakpoint: the stub writes int3; the #BP intercept asks
 *     gdb_stub_swbp_at() and either stops (rip at the int3) or reflects #BP;
 *   - single-step: RFLAGS.TF, with interrupts held off (t_resume()); the
 *     #DB intercept ends it, or, when Umbra itself completed the instruction
 *     (an intercepted or emulated one), the first exit with a new RIP;
 *   - hardware breakpoints/watchpoints: DR0-3 + the VMCB's DR7; while GDB owns
 *     a slot the guest's own DR0-3/DR7 are kept here and its MOV DR accesses
 *     are intercepted and served from them;
 *   - Ctrl-C: the UART is polled after every exit.  So that a guest spinning
 *     with interrupts on still exits, physical INTR is intercepted
 *     (V_INTR_MASKING = 0: the exit comes when the guest would take the
 *     interrupt); the exit opens a one-delivery window (window()) and the
 *     next exit closes it.  A guest spinning with interrupts off makes no
 *     such exit: the watchdog CPU's NMIs (src/svm/watchdog.c, started for
 *     gdb=... on a machine with a second CPU) make one every 10 ms.
 *   - QEMU TCG differs from the hardware in three ways handled here: INT3 is
 *     reported as INT n, DR0-3 are armed only by a MOV to DR7, a pending
 *     V_IRQ is dropped when a physical interrupt is delivered; Bochs commits
 *     DR6 after the #DB intercept (see each handler).
 * Invariants: TF belongs to GDB only between resume(STEP) and the stop that
 * ends the step (end_step() restores the guest's bit); every stop is
 * reported once, with the guest state as the guest would see it.
 */
#include <umbra/kern.h>
#include <umbra/lib.h>
#include <umbra/svm.h>
#include <umbra/x86.h>
#include <umbra/shadow.h>
#include <umbra/platform.h>
#include <umbra/gdbstub.h>
#include "gdbtarget.h"
#include "emu.h"

#define DR6_HITS        0xfULL
#define DR7_FIXED       0x400ULL
#define VINTR_V_IRQ     (1ULL << 8)
#define VINTR_IGN_TPR   (1ULL << 20)
#define VINTR_MASKING   (1ULL << 24)
#define INTERCEPT1_VINTR (1u << 4)
#define INTERCEPT1_INTN  (1u << 21)
#define INTERCEPT_DR_ALL 0x00ff00ffu       /* reads and writes of DR0-7 */

bool svm_gdb_on;
static struct gdb_stub stub;               /* ~30 KiB: static */
static uint16_t uart;

struct hw_slot {
    bool used;
    enum gdb_bp_type type;
    uint64_t addr;
    unsigned len;
};

static struct {
    bool stepping;            /* TF is ours until the step ends */
    bool guest_tf;            /* the guest's own TF when the step began */
    uint64_t step_rip;
    bool have_stop;           /* a handler recorded `stop` for after_exit() */
    struct gdb_stop stop;
    bool killed;
    struct hw_slot hw[4];
    bool window;              /* an interrupt window is open (see window()) */
    bool dr_owned;            /* GDB holds DR0-3/DR7; guest's copies below */
    uint64_t guest_dr[4], guest_dr7;
    bool layout_told;         /* this connection was told its layout no longer fits */
    unsigned long stops, interrupts, intr_windows, layout_stops;
} g;

/* ---- debug registers ---------------------------------------------------------- */

static uint64_t dr_get(unsigned n)
{
    uint64_t v = 0;
    switch (n) {
    case 0: __asm__ volatile("mov %%db0, %0" : "=r"(v)); break;
    case 1: __asm__ volatile("mov %%db1, %0" : "=r"(v)); break;
    case 2: __asm__ volatile("mov %%db2, %0" : "=r"(v)); break;
    case 3: __asm__ volatile("mov %%db3, %0" : "=r"(v)); break;
    }
    return v;
}

static void dr_set(unsigned n, uint64_t v)
{
    switch (n) {
    case 0: __asm__ volatile("mov %0, %%db0" :: "r"(v)); break;
    case 1: __asm__ volatile("mov %0, %%db1" :: "r"(v)); break;
    case 2: __asm__ volatile("mov %0, %%db2" :: "r"(v)); break;
    case 3: __asm__ volatile("mov %0, %%db3" :: "r"(v)); break;
    }
}

/* DR7 for GDB's slots: L bit, R/W and LEN per used slot. */
static uint64_t gdb_dr7(void)
{
    uint64_t d = DR7_FIXED;
    for (unsigned i = 0; i < 4; i++) {
        const struct hw_slot *s = &g.hw[i];
        if (!s->used)
            continue;
        unsigned rw = s->type == GDB_BP_HW ? 0 : s->type == GDB_WP_WRITE ? 1 : 3;
        unsigned len = s->type == GDB_BP_HW ? 0 : s->len == 1 ? 0 : s->len == 2 ? 1 : s->len == 8 ? 2 : 3;
        d |= (1ULL << (2 * i)) | ((uint64_t)(rw | len << 2) << (16 + 4 * i));
    }
    return d;
}

/* Take the debug registers from the guest (first GDB slot) or give them back (last). */
static void dr_own(struct svm_vcpu *v, bool own)
{
    struct vmcb *vm = v->vmcb;
    if (own == g.dr_owned)
        return;
    if (own) {
        for (unsigned i = 0; i < 4; i++)
            g.guest_dr[i] = dr_get(i);
        g.guest_dr7 = vm->save.dr7;
        vm->ctl.intercept_dr = INTERCEPT_DR_ALL;
    } else {
        for (unsigned i = 0; i < 4; i++)
            dr_set(i, g.guest_dr[i]);
        vm->save.dr7 = g.guest_dr7;
        vm->ctl.intercept_dr = 0;
    }
    g.dr_owned = own;
}

static int t_insert_hw(void *t, enum gdb_bp_type type, uint64_t addr, unsigned kind)
{
    struct svm_vcpu *v = t;
    unsigned len = type == GDB_BP_HW ? 1 : kind;

    if (type == GDB_WP_READ)
        return -GDB_ENOSYS;          /* x86 has no read-only data breakpoint */
    if (type != GDB_BP_HW && ((len != 1 && len != 2 && len != 4 && len != 8) || (addr & (len - 1))))
        return -GDB_EINVAL;
    for (unsigned i = 0; i < 4; i++) {
        if (g.hw[i].used)
            continue;
        dr_own(v, true);
        g.hw[i] = (struct hw_slot){ true, type, addr, len };
        dr_set(i, addr);
        v->vmcb->save.dr7 = gdb_dr7();
        return 0;
    }
    return -GDB_ENOSPC;
}

static int t_remove_hw(void *t, enum gdb_bp_type type, uint64_t addr, unsigned kind)
{
    struct svm_vcpu *v = t;
    (void)kind;
    for (unsigned i = 0; i < 4; i++) {
        struct hw_slot *s = &g.hw[i];
        if (!s->used || s->type != type || s->addr != addr)
            continue;
        s->used = false;
        v->vmcb->save.dr7 = gdb_dr7();
        bool any = false;
        for (unsigned k = 0; k < 4; k++)
            any |= g.hw[k].used;
        if (!any)
            dr_own(v, false);
        return 0;
    }
    return -GDB_ENOENT;
}

/*
 * MOV to/from DRn while GDB owns the debug registers: decoded by src/x86
 * (as the CR intercepts are) and served from the guest's copies.
 */
void svm_gdb_exit_dr(struct svm_vcpu *v)
{
    struct vmcb *vm = v->vmcb;
    struct svm_emu e;
    struct x86_sysop op;
    uint64_t val = 0;

    svm_emu_begin(&e, v);
    int rc = x86_decode_sys(&e.c, &op);
    if (rc == X86EMU_OK && op.op != X86_OP_MOV_FROM_DR && op.op != X86_OP_MOV_TO_DR)
        rc = X86EMU_UNHANDLED;
    if (rc != X86EMU_OK) {
        svm_emu_fail(&e, rc, "decode MOV DR");
        return;
    }
    unsigned n = op.cr;
    if ((n == 4 || n == 5) && !(svm_guest_cr(v, 4) & X86_CR4_DE))
        n += 2;                                  /* DR4/DR5 alias DR6/DR7 */
    if (n == 4 || n == 5 || n > 7) {
        svm_inject_exc(v, X86_EXC_UD, false, 0);
        return;
    }
    uint64_t *slot = n < 4 ? &g.guest_dr[n] : n == 6 ? &vm->save.dr6 : &g.guest_dr7;
    if (op.op == X86_OP_MOV_TO_DR)
        *slot = op.value;
    else
        val = *slot;
    rc = x86_finish_sys(&e.c, &op, val);
    if (rc != X86EMU_OK) {
        svm_emu_fail(&e, rc, "complete MOV DR");
        return;
    }
    svm_emu_commit(&e);
}

/* ---- stops and single-step ------------------------------------------------------ */

static void record_stop(const struct gdb_stop *why)
{
    g.stop = *why;
    g.have_stop = true;
}

static void end_step(struct svm_vcpu *v)
{
    if (!g.stepping)
        return;
    uint64_t *fl = &v->vmcb->save.rflags;
    *fl = (*fl & ~X86_RFLAGS_TF) | (g.guest_tf ? X86_RFLAGS_TF : 0);
    v->vmcb->ctl.vintr &= ~VINTR_MASKING;
    g.stepping = false;
}

/* Serve GDB until it resumes the guest (or detaches / kills). */
static void serve(struct svm_vcpu *v)
{
    for (;;) {
        enum gdb_action a = gdb_uart_poll(&stub, uart, true);
        if (a == GDB_ACT_RESUME)
            return;
        if (a == GDB_ACT_DETACH) {
            if (g.killed)
                svm_stop(v, "gdb-kill", 0);
            ulog("gdb: %s", g.killed ? "killed by GDB" : "GDB detached, guest running");
            return;
        }
    }
}

static void report(struct svm_vcpu *v)
{
    end_step(v);
    g.have_stop = false;
    g.stops++;
    gdb_stub_stopped(&stub, &g.stop);
    serve(v);
}

void svm_gdb_exit_bp(struct svm_vcpu *v)
{
    struct vmcb *vm = v->vmcb;
    uint64_t at = vm->save.cs.base + vm->save.rip;
    /* SVM intercepts #BP before INT3 completes: RIP is the int3's address. */
    if (gdb_stub_swbp_at(&stub, at)) {
        record_stop(&(struct gdb_stop){ .signal = GDB_SIGTRAP, .swbreak = true });
        return;
    }
    /* The guest's own int3: deliver it as the CPU would (a trap: return past it). */
    vm->save.rip++;
    svm_inject_exc(v, X86_EXC_BP, false, 0);
}

/*
 * INT n intercept.  QEMU TCG reports INT3 as a software interrupt (exit 0x75)
 * instead of the #BP intercept the hardware takes, so INT n is intercepted
 * too: INT3 (CC) goes the #BP way; CD nn is delivered to the guest as the
 * software interrupt it is (RIP past it, DPL checked by the CPU).
 */
void svm_gdb_exit_swint(struct svm_vcpu *v)
{
    struct vmcb *vm = v->vmcb;
    uint8_t b[2];
    if (!v->sh || gdb_shadow_read_virt(v->sh, vm->save.cs.base + vm->save.rip, b, 1) < 0 ||
        (b[0] == 0xcd && gdb_shadow_read_virt(v->sh, vm->save.cs.base + vm->save.rip + 1, b + 1, 1) < 0)) {
        svm_dump_guest(v, "gdb: cannot read the INT n instruction");
        svm_stop(v, "unexpected", UMBRA_STATUS_ERROR);
        return;
    }
    if (b[0] == 0xcc) {
        svm_gdb_exit_bp(v);
        return;
    }
    if (b[0] != 0xcd) {          /* INTO, INT1: not intercepted as INT n on hardware */
        svm_dump_guest(v, "gdb: unexpected INT n intercept");
        svm_stop(v, "unexpected", UMBRA_STATUS_ERROR);
        return;
    }
    vm->save.rip += 2;
    vm->ctl.eventinj = SVM_EVT_VALID | SVM_EVT_TYPE_SOFT | b[1];
}

/* Report a hit of hardware slot i. */
static void hw_stop(unsigned i)
{
    const struct hw_slot *s = &g.hw[i];
    struct gdb_stop why = { .signal = GDB_SIGTRAP };
    if (s->type == GDB_BP_HW) {
        why.hwbreak = true;
    } else {
        why.watch = true;
        why.watch_type = s->type;
        why.watch_addr = s->addr;
    }
    record_stop(&why);
}

/*
 * #DB: GDB's step (DR6.BS), one of GDB's slots (DR6.B0-3), or the guest's
 * own (reflected).  Bochs commits DR6 only when it delivers the #DB, after
 * the intercept, so the VMCB's DR6 may carry no cause: then the cause is
 * inferred -- a step in progress, an instruction slot at RIP, else a data
 * slot (the guest's own DR7 is not live while GDB owns the registers, so
 * without TF only GDB's slots can raise it).
 */
bool svm_gdb_stepping(void)
{
    return svm_gdb_on && g.stepping;
}

void svm_gdb_exit_db(struct svm_vcpu *v)
{
    struct vmcb *vm = v->vmcb;
    uint64_t dr6 = vm->save.dr6;
    uint64_t la = vm->save.cs.base + vm->save.rip;

    if (g.stepping && (dr6 & X86_DR6_BS)) {
        vm->save.dr6 = dr6 & ~X86_DR6_BS;
        record_stop(&(struct gdb_stop){ .signal = GDB_SIGTRAP });
        return;
    }
    for (unsigned i = 0; i < 4; i++)
        if (g.hw[i].used && (dr6 & (1ULL << i))) {
            vm->save.dr6 = dr6 & ~DR6_HITS;
            hw_stop(i);
            return;
        }
    if (!(dr6 & (X86_DR6_BS | DR6_HITS))) {
        if (g.stepping) {
            record_stop(&(struct gdb_stop){ .signal = GDB_SIGTRAP });
            return;
        }
        for (unsigned i = 0; i < 4; i++)
            if (g.hw[i].used && g.hw[i].type == GDB_BP_HW && g.hw[i].addr == la) {
                hw_stop(i);
                return;
            }
        if (!(vm->save.rflags & X86_RFLAGS_TF))
            for (unsigned i = 0; i < 4; i++)
                if (g.hw[i].used && g.hw[i].type != GDB_BP_HW) {
                    hw_stop(i);
                    return;
                }
    }
    svm_inject_exc(v, X86_EXC_DB, false, 0);     /* the guest's own #DB */
}

/*
 * The interrupt window: the INTR intercept is off for the one delivery, and
 * the next exit of any kind closes the window.  What makes that exit come
 * soon: the virtual interrupt (V_IRQ + VINTR intercept), taken as soon as
 * the guest's IF is back on after its handler (hardware, Bochs); QEMU TCG
 * drops a pending V_IRQ when it delivers a physical interrupt, so the PICs'
 * command ports are intercepted too and the handler's EOI exits.
 */
static void window(struct svm_vcpu *v, bool open)
{
    struct vmcb_control *c = &v->vmcb->ctl;
    if (open) {
        c->intercept_misc1 = (c->intercept_misc1 & ~INTERCEPT1_INTR) | INTERCEPT1_VINTR;
        c->vintr |= VINTR_V_IRQ | VINTR_IGN_TPR;
        g.intr_windows++;
    } else {
        c->intercept_misc1 = (c->intercept_misc1 & ~INTERCEPT1_VINTR) | INTERCEPT1_INTR;
        c->vintr &= ~(VINTR_V_IRQ | VINTR_IGN_TPR);
    }
    svm_iopm_intercept(0x20, open);
    svm_iopm_intercept(0xa0, open);
    g.window = open;
}

void svm_gdb_exit_intr(struct svm_vcpu *v)
{
    window(v, true);
}

void svm_gdb_exit_vintr(struct svm_vcpu *v)
{
    (void)v;                     /* after_exit() closes the window */
}

bool svm_gdb_ioio(struct svm_vcpu *v, unsigned port, uint32_t info)
{
    struct vmcb *vm = v->vmcb;
    if ((port != 0x20 && port != 0xa0) || (info & (IOIO_STR | IOIO_REP)) ||
        ((info >> IOIO_SZ_SHIFT) & 7) != 1)
        return false;
    if (info & IOIO_IN)
        vm->save.rax = (vm->save.rax & ~0xffULL) | gdb_pio_inb((uint16_t)port);
    else
        gdb_pio_outb((uint16_t)port, (uint8_t)vm->save.rax);
    svm_skip_insn(v);
    return true;
}

/*
 * While GDB owns DR0-3, the host's DR7 holds the guest's DR7 across VMRUN
 * and 0x400 (all off) otherwise.  The hardware needs neither (VMRUN loads DR7
 * from the VMCB), but QEMU TCG arms its DR0-3 breakpoints only on a MOV to
 * DR7, not when VMRUN loads one; and the host must never run with them armed
 * (its direct map aliases guest addresses), so they go off at every exit.
 */
void svm_gdb_before_vmrun(struct svm_vcpu *v)
{
    if (g.dr_owned)
        __asm__ volatile("mov %0, %%db7" :: "r"(v->vmcb->save.dr7));
}

void svm_gdb_after_exit(struct svm_vcpu *v)
{
    struct vmcb *vm = v->vmcb;

    if (g.dr_owned)
        __asm__ volatile("mov %0, %%db7" :: "r"(DR7_FIXED));
    if (g.window && vm->ctl.exitcode != VMEXIT_INTR)
        window(v, false);
    if (v->stop)
        return;
    if (g.stepping && !g.have_stop) {
        /* Umbra completed the stepped instruction itself (CPUID, a CR write, an
         * emulated page-table write...): the step is over, and the #DB the
         * emulator queued for TF is ours, not the guest's. */
        uint64_t ev = vm->ctl.eventinj;
        bool our_db = (ev & SVM_EVT_VALID) && (ev & 0xff) == X86_EXC_DB && !g.guest_tf;
        if (our_db) {
            vm->ctl.eventinj = 0;
            vm->save.dr6 &= ~X86_DR6_BS;
        }
        if (our_db || (vm->save.rip != g.step_rip && !(vm->ctl.eventinj & SVM_EVT_VALID)))
            record_stop(&(struct gdb_stop){ .signal = GDB_SIGTRAP });
    }
    /* The guest left the mode of this session's register layout (long.elf
     * entering long mode under an i386 session): stop and say so, since GDB
     * cannot change a connection's layout (README: "Guests that change mode"). */
    if (gdb_stub_arch_for(&stub, 0) == stub.arch)
        g.layout_told = false;
    else if (!g.have_stop && !g.layout_told && stub.attached && stub.running) {
        g.layout_told = true;                /* once per mode change and connection */
        g.layout_stops++;
        record_stop(&(struct gdb_stop){ .signal = GDB_SIGTRAP, .notice = stub.arch == GDB_ARCH_I386 ?
            "umbra: the guest entered long mode; this GDB keeps the i386 layout (eip, 32-bit "
            "disassembly). To follow it: disconnect, then start gdb -ex 'set architecture i386:x86-64' "
            "-ex 'file GUEST' -ex 'target remote ...'\n" :
            "umbra: the guest left long mode; this GDB keeps the x86-64 layout. To follow it: "
            "disconnect, then start gdb -ex 'set architecture i386' -ex 'file GUEST' -ex 'target remote ...'\n" });
    }
    if (!g.have_stop && gdb_uart_poll(&stub, uart, false) == GDB_ACT_INTERRUPT) {
        g.interrupts++;
        record_stop(&(struct gdb_stop){ .signal = GDB_SIGINT });
    }
    if (g.have_stop)
        report(v);
}

/* ---- gdb_target_ops ------------------------------------------------------------ */

static unsigned t_nr_cpus(void *t)
{
    (void)t;
    return 1;
}

static enum guest_paging t_paging_mode(void *t, unsigned cpu)
{
    struct svm_vcpu *v = t;
    (void)cpu;
    if (v->sh)
        return v->sh->paging;
    if (!(svm_guest_cr(v, 0) & X86_CR0_PG))
        return GUEST_PAGING_OFF;
    if (v->paging->efer_read(v) & EFER_LMA)
        return GUEST_PAGING_LONG;
    return (svm_guest_cr(v, 4) & X86_CR4_PAE) ? GUEST_PAGING_PAE : GUEST_PAGING_2LEVEL;
}

static int t_get_regs(void *t, unsigned cpu, struct gdb_regs *r)
{
    struct svm_vcpu *v = t;
    const struct vmcb_save *s = &v->vmcb->save;
    const struct guest_regs *gr = &v->regs;
    (void)cpu;
    *r = (struct gdb_regs){
        .rax = s->rax, .rbx = gr->rbx, .rcx = gr->rcx, .rdx = gr->rdx,
        .rsi = gr->rsi, .rdi = gr->rdi, .rbp = gr->rbp, .rsp = s->rsp,
        .r8 = gr->r8, .r9 = gr->r9, .r10 = gr->r10, .r11 = gr->r11,
        .r12 = gr->r12, .r13 = gr->r13, .r14 = gr->r14, .r15 = gr->r15,
        .rip = s->rip, .rflags = s->rflags,
        .cs = s->cs.sel, .ss = s->ss.sel, .ds = s->ds.sel, .es = s->es.sel, .fs = s->fs.sel, .gs = s->gs.sel,
        .cs_base = s->cs.base, .ss_base = s->ss.base, .ds_base = s->ds.base, .es_base = s->es.base,
        .fs_base = s->fs.base, .gs_base = s->gs.base,
        .cr0 = svm_guest_cr(v, 0), .cr2 = s->cr2, .cr3 = svm_guest_cr(v, 3), .cr4 = svm_guest_cr(v, 4),
        .efer = v->paging->efer_read(v),
        /* The guest's debug registers: its copies while GDB holds DR0-3/DR7. */
        .dr0 = g.dr_owned ? g.guest_dr[0] : dr_get(0), .dr1 = g.dr_owned ? g.guest_dr[1] : dr_get(1),
        .dr2 = g.dr_owned ? g.guest_dr[2] : dr_get(2), .dr3 = g.dr_owned ? g.guest_dr[3] : dr_get(3),
        .dr6 = s->dr6, .dr7 = g.dr_owned ? g.guest_dr7 : s->dr7,
        .gdtr_base = s->gdtr.base, .gdtr_limit = s->gdtr.limit, .idtr_base = s->idtr.base,
        .idtr_limit = s->idtr.limit, .ldtr = s->ldtr.sel, .ldtr_base = s->ldtr.base,
        .ldtr_limit = s->ldtr.limit, .tr = s->tr.sel, .tr_base = s->tr.base, .tr_limit = s->tr.limit,
    };
    if (g.stepping)
        r->rflags = (r->rflags & ~X86_RFLAGS_TF) | (g.guest_tf ? X86_RFLAGS_TF : 0);
    return 0;
}

/*
 * CR0/CR3/CR4/EFER written by GDB: first the checks VMRUN and the CPU make
 * (gdb_check_control(): a state VMRUN would refuse is refused here, with
 * its reason, and the guest runs on), then the shadow protocol (the same
 * calls the CR intercepts make), the old values back on a refusal.
 */
static int set_control(struct svm_vcpu *v, const struct gdb_regs *r)
{
    struct shadow_vcpu *s = v->sh;
    char why[128];
    if (r->cr0 == svm_guest_cr(v, 0) && r->cr3 == svm_guest_cr(v, 3) && r->cr4 == svm_guest_cr(v, 4) &&
        r->efer == v->paging->efer_read(v))
        return 0;
    if (!s) {
        gdb_stub_why(&stub, "control registers cannot be written from GDB under paging=npt");
        return -GDB_EPERM;
    }
    uint64_t o0 = s->guest_cr0, o4 = s->guest_cr4, oe = s->guest_efer, o3 = s->guest_cr3;
    struct gdb_regs old = { .cr0 = o0, .cr3 = o3, .cr4 = o4, .efer = oe }, n = *r;
    uint16_t cs = v->vmcb->save.cs.attrib;
    struct gdb_ctl_caps caps = {
        .cr4_allowed = svm_shadow_cr4_allowed(),
        .efer_allowed = EFER_SCE | EFER_LME | EFER_LMA | (plat_cpu_features()->nx ? EFER_NXE : 0),
        .maxphyaddr = plat_cpu_features()->maxphyaddr,
        .cs_l = cs & (1u << 9), .cs_d = cs & (1u << 10),
    };
    if (!gdb_check_control(&old, &n, &caps, why, sizeof(why))) {
        gdb_stub_why(&stub, "%s", why);
        return -GDB_EPERM;
    }
    if (n.cr0 != o0 || n.cr4 != o4 || n.efer != oe) {
        s->guest_cr0 = n.cr0 | X86_CR0_ET;
        s->guest_cr4 = n.cr4;
        s->guest_efer = n.efer;
        if (shadow_update_paging_mode(s) != 0) {
            s->guest_cr0 = o0, s->guest_cr4 = o4, s->guest_efer = oe;
            gdb_stub_why(&stub, "the shadow refused the paging mode (PAE PDPTEs with reserved bits?)");
            return shadow_update_paging_mode(s) == 0 ? -GDB_EPERM : -GDB_EIO;
        }
        v->guest_efer = s->guest_efer;
    }
    if (n.cr3 != o3) {
        struct sh_fault f = { 0 };
        s->guest_cr3 = n.cr3;
        if (shadow_update_cr3(s, &f) != SH_FIXED) {
            gdb_stub_why(&stub, "cr3 %#lx refused by the shadow: %s", (unsigned long)n.cr3,
                         f.why ? f.why : "the guest's top-level table is not usable");
            s->guest_cr3 = o3;
            shadow_update_cr3(s, &f);
            return -GDB_EPERM;
        }
    }
    return 0;
}

static int t_set_regs(void *t, unsigned cpu, const struct gdb_regs *r)
{
    struct svm_vcpu *v = t;
    struct vmcb_save *s = &v->vmcb->save;
    struct guest_regs *gr = &v->regs;
    (void)cpu;
    /* Segments need descriptors: GDB may only write back what it read. */
    if (r->cs != s->cs.sel || r->ss != s->ss.sel || r->ds != s->ds.sel || r->es != s->es.sel ||
        r->fs != s->fs.sel || r->gs != s->gs.sel) {
        gdb_stub_why(&stub, "segment selectors are read-only (they need descriptors)");
        return -GDB_EPERM;
    }
    int rc = set_control(v, r);
    if (rc < 0)
        return rc;
    s->rax = r->rax, gr->rbx = r->rbx, gr->rcx = r->rcx, gr->rdx = r->rdx;
    gr->rsi = r->rsi, gr->rdi = r->rdi, gr->rbp = r->rbp, s->rsp = r->rsp;
    gr->r8 = r->r8, gr->r9 = r->r9, gr->r10 = r->r10, gr->r11 = r->r11;
    gr->r12 = r->r12, gr->r13 = r->r13, gr->r14 = r->r14, gr->r15 = r->r15;
    s->rip = r->rip;
    s->cr2 = r->cr2;
    uint64_t fl = (r->rflags | X86_RFLAGS_FIXED) & 0x3f7fd7ULL;
    if (g.stepping) {
        g.guest_tf = fl & X86_RFLAGS_TF;
        fl |= X86_RFLAGS_TF;
    }
    s->rflags = fl;
    s->fs.base = r->fs_base;
    s->gs.base = r->gs_base;
    /* Debug registers, checked by the stub (gdb_check_sysregs()); the
     * descriptor-table registers are read-only there.  GDB's own slots stay. */
    const uint64_t dr[4] = { r->dr0, r->dr1, r->dr2, r->dr3 };
    for (unsigned i = 0; i < 4; i++) {
        if (g.dr_owned)
            g.guest_dr[i] = dr[i];
        else if (dr[i] != dr_get(i))
            dr_set(i, dr[i]);
    }
    s->dr6 = r->dr6;
    if (g.dr_owned)
        g.guest_dr7 = r->dr7;
    else
        s->dr7 = r->dr7;
    return 0;
}

/* Paging off (or no shadow): guest-virtual is guest-physical. */
static int phys_xfer(uint64_t gpa, void *buf, size_t len, bool write)
{
    gfn_t gfn = _gfn(gpa >> PAGE_SHIFT);
    mfn_t m;
    char *p;
    if ((gpa & (PAGE_SIZE - 1)) + len > PAGE_SIZE)
        return -GDB_EINVAL;
    m = plat_gfn_to_mfn(gfn);
    if (!mfn_valid(m) || !plat_gfn_is_ram(gfn) || !gdb_map_frame(m, &p))
        return -GDB_EIO;
    p += gpa & (PAGE_SIZE - 1);
    if (write)
        memcpy(p, buf, len);
    else
        memcpy(buf, p, len);
    return 0;
}

static int t_read_virt(void *t, unsigned cpu, uint64_t va, void *buf, size_t len)
{
    struct svm_vcpu *v = t;
    (void)cpu;
    if (v->sh)
        return gdb_shadow_read_virt(v->sh, va, buf, len);
    return (svm_guest_cr(v, 0) & X86_CR0_PG) ? -GDB_EIO : phys_xfer(va, buf, len, false);
}

static int t_write_virt(void *t, unsigned cpu, uint64_t va, const void *buf, size_t len)
{
    struct svm_vcpu *v = t;
    (void)cpu;
    if (v->sh)
        return gdb_shadow_write_virt(v->sh, va, buf, len);
    return (svm_guest_cr(v, 0) & X86_CR0_PG) ? -GDB_EIO : phys_xfer(va, (void *)buf, len, true);
}

static int t_read_phys(void *t, uint64_t gpa, void *buf, size_t len)
{
    (void)t;
    return phys_xfer(gpa, buf, len, false);
}

/* A physical write into a shadowed page table would bypass revalidation:
 * refused (write it by virtual address instead). */
static int t_write_phys(void *t, uint64_t gpa, const void *buf, size_t len)
{
    struct svm_vcpu *v = t;
    if (v->sh && gdb_shadow_is_table(v->sh->d, gpa >> PAGE_SHIFT))
        return -GDB_EPERM;
    return phys_xfer(gpa, (void *)buf, len, true);
}

static void t_resume(void *t, const enum gdb_run *run)
{
    struct svm_vcpu *v = t;
    struct vmcb *vm = v->vmcb;
    if (run[0] != GDB_RUN_STEP || g.stepping)
        return;
    /*
     * No interrupt may come before the stepped instruction.  Two locks,
     * because each emulator honours only one: the interrupt shadow (Bochs,
     * hardware) and V_INTR_MASKING = 1, which hands INTR masking to the
     * host's IF, clear in Umbra (QEMU TCG takes the INTR intercept at VMRUN
     * despite the shadow; Bochs ignores the masking for the intercept).
     * After the instruction the single-step trap outranks the interrupt.
     */
    if (g.window)
        window(v, false);
    g.stepping = true;
    g.step_rip = vm->save.rip;
    g.guest_tf = vm->save.rflags & X86_RFLAGS_TF;
    vm->save.rflags |= X86_RFLAGS_TF;
    vm->ctl.int_shadow |= 1;
    vm->ctl.vintr |= VINTR_MASKING;
}

static void t_detach(void *t, bool kill)
{
    struct svm_vcpu *v = t;
    for (unsigned i = 0; i < 4; i++)
        g.hw[i].used = false;
    dr_own(v, false);
    end_step(v);
    g.killed = kill;
}

/* The stub's own figures for `monitor stats` (gdbmon.c). */
bool svm_gdb_own_stat(unsigned idx, const char **name, uint64_t *value)
{
    const struct { const char *n; uint64_t v; } own[] = {
        { "gdb_packets", stub.packets }, { "gdb_stops", g.stops }, { "gdb_interrupts", g.interrupts },
        { "gdb_intr_windows", g.intr_windows },
    };
    _Static_assert(ARRAY_SIZE(own) == SVM_GDB_OWN_STATS, "SVM_GDB_OWN_STATS");
    if (idx >= ARRAY_SIZE(own))
        return false;
    *name = own[idx].n;
    *value = own[idx].v;
    return true;
}

static const struct gdb_target_ops svm_gdb_ops = {
    .nr_cpus = t_nr_cpus,
    .paging_mode = t_paging_mode,
    .get_regs = t_get_regs,
    .set_regs = t_set_regs,
    .read_virt = t_read_virt,
    .write_virt = t_write_virt,
    .read_phys = t_read_phys,
    .write_phys = t_write_phys,
    .insert_hw = t_insert_hw,
    .remove_hw = t_remove_hw,
    .resume = t_resume,
    .detach = t_detach,
    .mon_walk = svm_mon_walk,
    .mon_shadows = svm_mon_shadows,
    .mon_shadow_entry = svm_mon_shadow_entry,
    .mon_pool = svm_mon_pool,
    .mon_stat = svm_mon_stat,
    .mon_audit = svm_mon_audit,
    .mon_blow = svm_mon_blow,
};

/* ---- start and end ------------------------------------------------------------- */

void svm_gdb_start(struct svm_vcpu *v)
{
    struct vmcb *vm = v->vmcb;
    const char *name = umbra_opts.gdb == GDB_COM1 ? "COM1" : "COM2";

    if (umbra_opts.gdb == GDB_NONE)
        return;
    if (umbra_opts.gdb == GDB_COM1 && umbra_opts.console == CONSOLE_COM1) {
        ulog("gdb: gdb=com1 needs console=e9 or console=none; no GDB stub");
        return;
    }
    uart = umbra_opts.gdb == GDB_COM1 ? GDB_COM1 : GDB_COM2;
    /* An absent UART reads 0xFF everywhere: its LSR would say "data ready"
     * forever and the poll would never return.  The scratch register tells. */
    gdb_pio_outb(uart + 7, 0x5a);
    if (gdb_pio_inb(uart + 7) != 0x5a || gdb_pio_inb(uart + 5) == 0xff) {
        ulog("gdb: no UART at %s (%#x); no GDB stub", name, uart);
        return;
    }
    gdb_uart_init(uart, umbra_opts.gdb_baud ? umbra_opts.gdb_baud : 115200);
    gdb_stub_init(&stub, &svm_gdb_ops, v, gdb_uart_tx, (void *)(uintptr_t)uart);
    vm->ctl.intercept_exc |= (1u << X86_EXC_DB) | (1u << X86_EXC_BP);
    vm->ctl.intercept_misc1 |= INTERCEPT1_INTR | INTERCEPT1_INTN | INTERCEPT1_SMI;  /* SMI: exit.c exit_smi() */
    vm->ctl.vintr &= ~VINTR_MASKING;         /* the guest's IF masks INTR (see window()) */
    svm_gdb_on = true;
    if (umbra_opts.gdb_wait) {
        ulog("gdb: waiting for GDB on %s at %u baud (gdb_wait), guest stopped at rip=%#lx", name,
             umbra_opts.gdb_baud, vm->save.rip);
        console_drain();
        serve(v);
    } else {
        ulog("gdb: stub on %s, guest running (Ctrl-C in GDB stops it)", name);
        gdb_stub_set_running(&stub);
    }
}

void svm_gdb_end(struct svm_vcpu *v)
{
    if (!svm_gdb_on)
        return;
    ulog("gdb: %lu packets, %lu stops, %lu Ctrl-C, %lu interrupt windows", stub.packets, g.stops,
         g.interrupts, g.intr_windows);
    if (g.killed || !stub.attached)
        return;
    gdb_stub_stopped(&stub, &(struct gdb_stop){ .exited = true, .exit_code = (int)(v->stop_status & 0xff) });
    while (!(gdb_pio_inb(uart + 5) & 0x40))
        ;                                    /* the W packet leaves before the machine does */
}
