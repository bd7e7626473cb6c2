/*
 * The GDB stub's intercepts on an SVM guest: #BP, #DB, INT n, INTR/VINTR,
 * MOV DRn, the PIC ports of an interrupt window, and the serving loop
 * between exits (src/svm/gdb/target.c is the gdb_target_ops half: registers,
 * memory, breakpoint slots, resume).
 *
 * How each debug event reaches GDB:
 *   - software breakpoint: the stub writes int3; the #BP intercept asks
 *     gdb_stub_swbp_at() and either stops (rip at the int3) or reflects #BP;
 *   - single-step: RFLAGS.TF, with interrupts held off (target.c's t_resume()); the
 *     #DB intercept ends it, or, when Umbra itself completed the instruction
 *     (an intercepted or emulated one), the first exit with a new RIP;
 *   - hardware breakpoints/watchpoints: DR0-3 + the VMCB's DR7; while GDB owns
 *     a slot the guest's own DR0-3/DR7 are kept here and its MOV DR accesses
 *     are intercepted and served from them;
 *   - Ctrl-C: the UART is polled after every exit.  So that a guest spinning
 *     with interrupts on still exits, physical INTR is intercepted
 *     (V_INTR_MASKING = 0: the exit comes when the guest would take the
 *     interrupt); the exit opens a one-delivery window (svm_gdb_window(), target.c) and the
 *     next exit closes it.  A guest spinning with interrupts off makes no
 *     such exit: the watchdog CPU's NMIs (src/svm/watchdog.c, started for
 *     gdb=... on a machine with a second CPU) make one every 10 ms.
 *   - QEMU TCG differs from the hardware in three ways handled here: INT3 is
 *     reported as INT n, DR0-3 are armed only by a MOV to DR7, a pending
 *     V_IRQ is dropped when a physical interrupt is delivered; Bochs commits
 *     DR6 after the #DB intercept (see each handler).
 * Invariants: TF belongs to GDB only between resume(STEP) and the stop that
 * ends the step (svm_gdb_end_step() restores the guest's bit); every stop is
 * reported once, with the guest state as the guest would see it.
 */
#include <umbra/kern.h>
#include <umbra/lib.h>
#include <umbra/svm.h>
#include <umbra/x86.h>
#include <umbra/shadow.h>
#include <umbra/gdbstub.h>
#include "gdb.h"
#include "private.h"
#include "../emu.h"

bool svm_gdb_on;

/* ---- MOV DRn ------------------------------------------------------------------- */

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
    uint64_t *slot = n < 4 ? &svm_gdb.guest_dr[n] : n == 6 ? &vm->save.dr6 : &svm_gdb.guest_dr7;
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
    svm_gdb.stop = *why;
    svm_gdb.have_stop = true;
}

/* Serve GDB until it resumes the guest (or detaches / kills). */
static void serve(struct svm_vcpu *v)
{
    for (;;) {
        enum gdb_action a = gdb_uart_poll(&svm_gdb.stub, svm_gdb.uart, true);
        if (a == GDB_ACT_RESUME)
            return;
        if (a == GDB_ACT_DETACH) {
            if (svm_gdb.killed)
                svm_stop(v, "gdb-kill", 0);
            ulog("gdb: %s", svm_gdb.killed ? "killed by GDB" : "GDB detached, guest running");
            return;
        }
    }
}

static void report(struct svm_vcpu *v)
{
    svm_gdb_end_step(v);
    svm_gdb.have_stop = false;
    svm_gdb.stops++;
    gdb_stub_stopped(&svm_gdb.stub, &svm_gdb.stop);
    serve(v);
}

void svm_gdb_exit_bp(struct svm_vcpu *v)
{
    struct vmcb *vm = v->vmcb;
    uint64_t at = vm->save.cs.base + vm->save.rip;
    /* SVM intercepts #BP before INT3 completes: RIP is the int3's address. */
    if (gdb_stub_swbp_at(&svm_gdb.stub, at)) {
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
    uint64_t at = vm->save.cs.base + vm->save.rip;
    uint8_t b[2];
    /* GDB's own virtual read: the shadow MMU, the guest's tables under npt, or physical. */
    if (svm_gdb_ops.read_virt(v, 0, at, b, 1) < 0 ||
        (b[0] == 0xcd && svm_gdb_ops.read_virt(v, 0, at + 1, b + 1, 1) < 0)) {
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
    const struct hw_slot *s = &svm_gdb.hw[i];
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
    return svm_gdb_on && svm_gdb.stepping;
}

void svm_gdb_exit_db(struct svm_vcpu *v)
{
    struct vmcb *vm = v->vmcb;
    uint64_t dr6 = vm->save.dr6;
    uint64_t la = vm->save.cs.base + vm->save.rip;

    if (svm_gdb.stepping && (dr6 & X86_DR6_BS)) {
        vm->save.dr6 = dr6 & ~X86_DR6_BS;
        record_stop(&(struct gdb_stop){ .signal = GDB_SIGTRAP });
        return;
    }
    for (unsigned i = 0; i < 4; i++)
        if (svm_gdb.hw[i].used && (dr6 & (1ULL << i))) {
            vm->save.dr6 = dr6 & ~DR6_HITS;
            hw_stop(i);
            return;
        }
    if (!(dr6 & (X86_DR6_BS | DR6_HITS))) {
        if (svm_gdb.stepping) {
            record_stop(&(struct gdb_stop){ .signal = GDB_SIGTRAP });
            return;
        }
        for (unsigned i = 0; i < 4; i++)
            if (svm_gdb.hw[i].used && svm_gdb.hw[i].type == GDB_BP_HW && svm_gdb.hw[i].addr == la) {
                hw_stop(i);
                return;
            }
        if (!(vm->save.rflags & X86_RFLAGS_TF))
            for (unsigned i = 0; i < 4; i++)
                if (svm_gdb.hw[i].used && svm_gdb.hw[i].type != GDB_BP_HW) {
                    hw_stop(i);
                    return;
                }
    }
    svm_inject_exc(v, X86_EXC_DB, false, 0);     /* the guest's own #DB */
}

void svm_gdb_exit_intr(struct svm_vcpu *v)
{
    svm_gdb_window(v, true);
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
    if (svm_gdb.dr_owned)
        __asm__ volatile("mov %0, %%db7" :: "r"(v->vmcb->save.dr7));
}

void svm_gdb_after_exit(struct svm_vcpu *v)
{
    struct vmcb *vm = v->vmcb;

    if (svm_gdb.dr_owned)
        __asm__ volatile("mov %0, %%db7" :: "r"(DR7_FIXED));
    if (svm_gdb.window && vm->ctl.exitcode != VMEXIT_INTR)
        svm_gdb_window(v, false);
    if (v->stop)
        return;
    if (svm_gdb.stepping && !svm_gdb.have_stop) {
        /* Umbra completed the stepped instruction itself (CPUID, a CR write, an
         * emulated page-table write...): the step is over, and the #DB the
         * emulator queued for TF is ours, not the guest's. */
        uint64_t ev = vm->ctl.eventinj;
        bool our_db = (ev & SVM_EVT_VALID) && (ev & 0xff) == X86_EXC_DB && !svm_gdb.guest_tf;
        if (our_db) {
            vm->ctl.eventinj = 0;
            vm->save.dr6 &= ~X86_DR6_BS;
        }
        if (our_db || (vm->save.rip != svm_gdb.step_rip && !(vm->ctl.eventinj & SVM_EVT_VALID)))
            record_stop(&(struct gdb_stop){ .signal = GDB_SIGTRAP });
    }
    /* The guest left the mode of this session's register layout (long.elf
     * entering long mode under an i386 session): stop and say so, since GDB
     * cannot change a connection's layout (README: "Guests that change mode"). */
    if (gdb_stub_arch_for(&svm_gdb.stub, 0) == svm_gdb.stub.arch)
        svm_gdb.layout_told = false;
    else if (!svm_gdb.have_stop && !svm_gdb.layout_told && svm_gdb.stub.attached && svm_gdb.stub.running) {
        svm_gdb.layout_told = true;                /* once per mode change and connection */
        svm_gdb.layout_stops++;
        record_stop(&(struct gdb_stop){ .signal = GDB_SIGTRAP, .notice = svm_gdb.stub.arch == GDB_ARCH_I386 ?
            "umbra: the guest entered long mode; this GDB keeps the i386 layout (eip, 32-bit "
            "disassembly). To follow it: disconnect, then start gdb -ex 'set architecture i386:x86-64' "
            "-ex 'file GUEST' -ex 'target remote ...'\n" :
            "umbra: the guest left long mode; this GDB keeps the x86-64 layout. To follow it: "
            "disconnect, then start gdb -ex 'set architecture i386' -ex 'file GUEST' -ex 'target remote ...'\n" });
    }
    if (!svm_gdb.have_stop && gdb_uart_poll(&svm_gdb.stub, svm_gdb.uart, false) == GDB_ACT_INTERRUPT) {
        svm_gdb.interrupts++;
        record_stop(&(struct gdb_stop){ .signal = GDB_SIGINT });
    }
    if (svm_gdb.have_stop)
        report(v);
}

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
    svm_gdb.uart = umbra_opts.gdb == GDB_COM1 ? GDB_COM1 : GDB_COM2;
    /* An absent UART reads 0xFF everywhere: its LSR would say "data ready"
     * forever and the poll would never return.  The scratch register tells. */
    gdb_pio_outb(svm_gdb.uart + 7, 0x5a);
    if (gdb_pio_inb(svm_gdb.uart + 7) != 0x5a || gdb_pio_inb(svm_gdb.uart + 5) == 0xff) {
        ulog("gdb: no UART at %s (%#x); no GDB stub", name, svm_gdb.uart);
        return;
    }
    gdb_uart_init(svm_gdb.uart, umbra_opts.gdb_baud ? umbra_opts.gdb_baud : 115200);
    gdb_stub_init(&svm_gdb.stub, &svm_gdb_ops, v, gdb_uart_tx, (void *)(uintptr_t)svm_gdb.uart);
    vm->ctl.intercept_exc |= (1u << X86_EXC_DB) | (1u << X86_EXC_BP);
    vm->ctl.intercept_misc1 |= INTERCEPT1_INTR | INTERCEPT1_INTN;
    vm->ctl.vintr &= ~VINTR_MASKING;         /* the guest's IF masks INTR (see window()) */
    svm_gdb_on = true;
    if (umbra_opts.gdb_wait) {
        ulog("gdb: waiting for GDB on %s at %u baud (gdb_wait), guest stopped at rip=%#lx", name,
             umbra_opts.gdb_baud, vm->save.rip);
        console_drain();
        serve(v);
    } else {
        ulog("gdb: stub on %s, guest running (Ctrl-C in GDB stops it)", name);
        gdb_stub_set_running(&svm_gdb.stub);
    }
}

void svm_gdb_end(struct svm_vcpu *v)
{
    if (!svm_gdb_on)
        return;
    ulog("gdb: %lu packets, %lu stops, %lu Ctrl-C, %lu interrupt windows", svm_gdb.stub.packets, svm_gdb.stops,
         svm_gdb.interrupts, svm_gdb.intr_windows);
    if (svm_gdb.killed || !svm_gdb.stub.attached)
        return;
    gdb_stub_stopped(&svm_gdb.stub, &(struct gdb_stop){ .exited = true, .exit_code = (int)(v->stop_status & 0xff) });
    while (!(gdb_pio_inb(svm_gdb.uart + 5) & 0x40))
        ;                                    /* the W packet leaves before the machine does */
}
