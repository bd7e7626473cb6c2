/*
 * The boot CPU's side of the watchdog CPU (include/umbra/watchdog.h).
 *
 * While the watchdog CPU runs, NMIs are intercepted.  An NMI #VMEXIT leaves
 * the NMI pending (GIF is 0 from the exit on); svm_vmrun's STGI lets it in
 * at once, into isr.S's isr_nmi, which judges it the watchdog's or the
 * guest's by the AP's sent-counter.  So by the time svm_wd_exit_nmi() runs:
 *   - the guest's NMI (a platform NMI) is counted for nmi.c, which raises it
 *     before the next VMRUN under its rules N1-N4 -- as the self-NMIs of
 *     apic.c, and as the CPU would have delivered it, one NMI at a time;
 *   - a watchdog NMI is simply an exit: the GDB stub polls its UART after
 *     every exit (gdb/intercept.c), so Ctrl-C reaches a guest spinning with
 *     IF=0 within one period, and the watchdog= rule is judged here.
 *
 * Merged NMIs: the CPU latches one NMI while another is pending or being
 * handled.  Two watchdog NMIs never meet: the AP sends the next only after
 * isr_nmi judged the last (wdcpu.c W2).  A guest NMI that arrives while a
 * watchdog NMI is pending (between the #VMEXIT and STGI, a few
 * instructions, or in flight from the AP) merges with it and is judged the
 * watchdog's: that guest NMI is lost, as a second NMI is lost on bare
 * hardware when it comes while one is pending.  A guest NMI that arrives
 * between the AP's raise of wd_sent and its IPI takes the watchdog's place
 * and the watchdog NMI is then taken for the guest's: the guest gets its
 * one NMI a little late, never an extra one.
 *
 * The watchdog= rule, judged at each watchdog NMI that made an exit (a
 * "tick"):
 *   R1  a tick that finds the guest with EFLAGS.IF=1 ends any run;
 *   R2  a tick with IF=0 starts a run unless one is going on and nothing
 *       happened since the previous tick: no exit of any kind but the
 *       previous tick's own, no tick taken while Umbra ran (a GDB stop,
 *       long work in Umbra), i.e. the guest ran on alone with IF=0;
 *   R3  a run is measured with the watchdog CPU's clock: its timer ticks
 *       since the run started (wd_ticks), times WD_PERIOD_MS;
 *   R4  a run of watchdog=SECONDS or more stops the guest: reason
 *       "watchdog", status UMBRA_STATUS_WATCHDOG, with the guest's registers.
 * HLT: a guest that waits in its own HLT (intercepts.c lets it halt natively)
 * would be woken by every watchdog NMI, which bare metal never does.  So:
 *   H1  while the watchdog runs, such a wait also intercepts INTR (with
 *       V_INTR_MASKING = 0 the exit comes when the guest would take its
 *       interrupt, which then stays pending): no interrupt reaches the
 *       guest during the wait without an INTR exit;
 *   H2  a watchdog NMI exit that ends the wait (RIP one byte past the HLT
 *       the VMRUN started at, INTR intercepted throughout) found the guest
 *       still halted (H1): RIP goes back to the HLT, which waits again;
 *   H3  an INTR exit, or a guest NMI, ends the wait as on the CPU: the
 *       interrupt or NMI is taken past the HLT; the INTR intercept is off
 *       again (GDB's own, when GDB is on, is left to gdb/intercept.c).
 *   H4  an interrupt that was already pending when the VMRUN put the guest
 *       on its HLT (it fired while Umbra handled the HLT exit, or H2's
 *       exit) makes its INTR exit before the HLT runs: RIP is still on the
 *       HLT.  On the CPU the HLT had begun and this interrupt ends it, so
 *       RIP steps past the one-byte HLT and the handler returns behind it.
 *       Left alone, the handler returned onto the HLT, which then waited
 *       for an interrupt that had come already (seen in QEMU TCG, cause
 *       inferred from this rule's effect: hostile_cpu's 400 short one-shot
 *       waits hung, bare they pass).  So H1's INTR
 *       intercept is set for every HLT wait, the watchdog CPU on or not.
 *   H5  a watchdog NMI that exits after the HLT exit began a wait but
 *       before the HLT ran (RIP still on it, in the STI shadow: the shadow
 *       holds interrupts, not NMIs) keeps the wait armed; it used to end
 *       it (H2 did not apply), the next VMRUN started on the HLT without
 *       the INTR intercept, QEMU TCG (inferred) delivered a pending one
 *       there before the HLT, and its handler returned onto a HLT nobody woke.
 *       Seen under watchdog=30 -smp 2 on a loaded machine: hostile_cpu's
 *       400 waits hung in 3 of 18 runs of main (QEMU's monitor: the guest
 *       halted on `sti; hlt; cli` with IF=1, its one-shot timer spent,
 *       IRR and ISR empty); with this rule 0 of 42 hung, and the rule was
 *       taken in 6 of 18 runs.  Likewise an NMI or SMI exit that comes
 *       between the STI and its HLT, before any HLT exit, begins the wait
 *       on that HLT (svm_wd_hlt_in_shadow(); never taken in those runs).
 * IF is sampled at the ticks only: a guest that opens a window between two
 * ticks (sti; cli) but spins with IF=0 at every tick looks the same.  A
 * guest that exits (port polling with IF=0, shadow faults) is not stuck
 * for this rule: Umbra has the CPU back at each of its exits.
 */
#include <umbra/kern.h>
#include <umbra/lib.h>
#include <umbra/svm.h>
#include <umbra/x86.h>
#include <umbra/watchdog.h>
#include "nmi.h"
#include "gdb/gdb.h"
#include "exit.h"
#include "watchdog.h"

static uint64_t seen_last;                 /* nmi_host_wd at the last NMI exit */
static uint64_t exits_last;                /* svm_exit_total() at the last tick */
static unsigned long exit_ticks, exit_guest;
static bool run;                           /* a run with IF=0 is being measured (R2) */
static uint32_t run_ticks0;                /* wd_ticks when it started (R3) */
static uint32_t longest_ms;
static unsigned long hlt_restarts;
static unsigned long hlt_in_shadow, hlt_kept;   /* H5 */

void svm_wd_hlt_wait(struct svm_vcpu *v)
{
    struct vmcb_control *c = &v->vmcb->ctl;
    if (!(c->intercept_misc1 & INTERCEPT1_INTR)) {      /* H1 (GDB intercepts it already) */
        c->intercept_misc1 |= INTERCEPT1_INTR;
        v->wd_intr_armed = true;
    }
}

/* H3: the INTR intercept back to what it was before the wait. */
static void disarm(struct svm_vcpu *v)
{
    if (v->wd_intr_armed) {
        v->vmcb->ctl.intercept_misc1 &= ~INTERCEPT1_INTR;
        v->wd_intr_armed = false;
    }
}

/*
 * H5: after an asynchronous exit (NMI, SMI), is the guest about to run a HLT
 * in an STI shadow with IF set?  Then the wait begins now, on that HLT (H1),
 * and an interrupt that comes first is taken past it (H4).  Reads one byte of
 * the guest at CS:RIP (paging_ops.read_guest) only when the VMCB says the
 * guest is in a shadow with IF set, i.e. rarely.
 */
void svm_wd_hlt_in_shadow(struct svm_vcpu *v)
{
    struct vmcb *vm = v->vmcb;
    uint8_t b;
    if (!(vm->ctl.int_shadow & 1) || !(vm->save.rflags & X86_RFLAGS_IF))
        return;
    if (vm->save.rip == v->hlt_wait_rip && v->run_rip == v->hlt_wait_rip && v->wd_intr_armed)
        return;                                 /* the wait on this HLT goes on */
    uint64_t la = vm->save.cs.base + vm->save.rip;
    if (!(v->mmu->efer_read(v) & EFER_LMA))
        la = (uint32_t)la;
    if (!v->mmu->read_guest || !v->mmu->read_guest(v, la, &b, 1) || b != 0xf4)
        return;
    v->hlt_wait_rip = vm->save.rip;
    v->run_rip = vm->save.rip;                  /* H4's test: the next VMRUN starts on it */
    svm_wd_hlt_wait(v);
    hlt_in_shadow++;
}

/* H3 + H4: an interrupt or a guest NMI ends the wait, taken past the HLT. */
static void wake(struct svm_vcpu *v)
{
    if (v->run_rip == v->hlt_wait_rip && v->vmcb->save.rip == v->hlt_wait_rip)
        v->vmcb->save.rip++;                    /* H4: the HLT (0xf4) had not run */
    disarm(v);
}

void svm_wd_exit_intr(struct svm_vcpu *v)
{
    if (v->wd_intr_armed) {
        wake(v);               /* H3, H4: the next VMRUN delivers it, past the HLT */
        return;
    }
    svm_gdb_exit_intr(v);
}

void svm_wd_start(struct svm_vcpu *v)
{
    if (!wd_info.running)
        return;
    v->vmcb->ctl.intercept_misc1 |= INTERCEPT1_NMI;
}

void svm_wd_exit_nmi(struct svm_vcpu *v)
{
    struct vmcb *vm = v->vmcb;
    uint64_t w = nmi_host_wd, d = w - seen_last;
    seen_last = w;
    if (d == 0) {
        exit_guest++;              /* the guest's: nmi.c raises it before the next VMRUN */
        wake(v);                   /* H3, H4 */
        return;
    }
    exit_ticks++;
    if (v->run_rip == v->hlt_wait_rip && vm->save.rip == v->run_rip + 1 &&
        (vm->ctl.intercept_misc1 & INTERCEPT1_INTR)) {
        vm->save.rip = v->run_rip;                              /* H2 */
        vm->ctl.intercept_misc1 &= ~INTERCEPT1_HLT;
        hlt_restarts++;
    } else {
        if (vm->save.rip != v->hlt_wait_rip || v->run_rip != v->hlt_wait_rip)
            disarm(v);
        else
            hlt_kept++;                 /* the HLT has not run: the wait goes on (H5) */
        svm_wd_hlt_in_shadow(v);                                /* H5 */
    }
    uint64_t total = svm_exit_total();
    bool quiet = d == 1 && total - exits_last == 1;
    exits_last = total;
    uint32_t ticks = wd_ticks;
    if (vm->save.rflags & X86_RFLAGS_IF) {
        run = false;                                            /* R1 */
        return;
    }
    if (!run || !quiet) {
        run = true;                                             /* R2 */
        run_ticks0 = ticks;
        return;
    }
    uint32_t ms = (ticks - run_ticks0) * WD_PERIOD_MS;          /* R3 */
    if (ms > longest_ms)
        longest_ms = ms;
    unsigned secs = umbra_opts.watchdog_secs;
    if (!secs || ms < secs * 1000u)
        return;
    ulog("watchdog: the guest ran %u.%02u s with interrupts off at rip=%#lx without an exit "
         "(watchdog=%u): stopped", ms / 1000, ms % 1000 / 10, vm->save.rip, secs);
    svm_dump_guest(v, "watchdog");
    svm_stop(v, "watchdog", UMBRA_STATUS_WATCHDOG);             /* R4 */
}

void svm_wd_report(void)
{
    if (!wd_info.running)
        return;
    uint32_t sent = wd_sent, ticks = wd_ticks;
    uint64_t seen = nmi_host_wd;
    ulog("watchdog: ticks=%u, NMIs sent=%u seen=%lu (at an NMI exit=%lu, while Umbra ran=%lu, in "
         "flight=%ld), ticks folded into a pending NMI=%u", ticks, sent, seen, exit_ticks, seen - exit_ticks,
         (long)sent - (long)seen, ticks - sent);
    ulog("watchdog: guest NMIs passed through=%lu (at an NMI exit=%lu); longest IF=0 run without an "
         "exit=%u ms; HLT waits resumed after its NMI=%lu, kept at an NMI before the HLT ran=%lu, begun at an NMI/SMI "
         "exit in an STI shadow=%lu", nmi_from_host, exit_guest, longest_ms, hlt_restarts, hlt_kept, hlt_in_shadow);
    if (wd_ap_fault() != ~0u)
        ulog("watchdog: the watchdog CPU stopped on exception %u", wd_ap_fault());
}
