/*
 * The watchdog CPU (issue 13: "Umbra keeps control of the CPU").
 *
 * A guest that spins with EFLAGS.IF = 0 makes no exit: its interrupts are
 * its own (it owns the LAPIC and the PICs), so no interrupt can bring Umbra
 * back.  An NMI can: with gdb=... or watchdog=SECONDS Umbra starts one of
 * the APs it would park (src/kern/wdcpu.c) on its own code; that CPU sends
 * an NMI IPI to the boot CPU every WD_PERIOD_MS, and the boot CPU
 * intercepts NMIs (src/svm/watchdog.c).  Each such NMI is an exit, where the
 * GDB stub polls its UART (Ctrl-C) and the watchdog= rule is judged.
 *
 * Shared words (the AP writes wd_ticks, wd_sent and wd_ap_state only, the boot CPU's
 * NMI handler, src/boot/isr.S, writes wd_acked and the nmi_host_* counters
 * only; every other field belongs to the boot CPU):
 */
#ifndef UMBRA_WATCHDOG_H
#define UMBRA_WATCHDOG_H

#include <umbra/types.h>

#define WD_PERIOD_MS 10u

/* The AP: its timer's ticks (the watchdog's clock, WD_PERIOD_MS each). */
extern volatile uint32_t wd_ticks;
/* The AP: NMIs sent to the boot CPU so far, raised before each IPI, and only
 * once the boot CPU judged the last one (wd_acked == wd_sent). */
extern volatile uint32_t wd_sent;
/* The boot CPU's NMI handler: wd_sent as of the last NMI it judged the watchdog's. */
extern volatile uint32_t wd_acked;
/* The boot CPU's NMI handler: NMIs judged the watchdog's / the guest's. */
extern volatile uint64_t nmi_host_wd, nmi_host_guest;
/* Set by the NMI handler with each NMI it judged the guest's; cleared by nmi.c. */
extern volatile uint8_t nmi_host_for_guest;

struct wd_info {
    bool wanted;            /* gdb=... or watchdog=... asked for it */
    bool running;           /* the AP runs and sends NMIs */
    uint32_t apic_id;       /* the watchdog CPU */
    paddr_t tramp;          /* the low page it started from (given back) */
    uint32_t timer_count;   /* its APIC timer's count for WD_PERIOD_MS */
};
extern struct wd_info wd_info;

/*
 * After smp_init() (which parked the APs): if gdb or watchdog is asked for,
 * start the first parked AP as the watchdog CPU, through a trampoline in a
 * free low page of mbi's memory map (not the multiboot2 info at
 * [info_pa, +mbi->total_size), not a module), whose bytes are put back once
 * the AP has left it.  Logs "umbra: watchdog: ..."; never fails the boot
 * (without a second CPU it says so).
 */
struct mb2_info;
void wdcpu_start(const struct mb2_info *mbi, paddr_t info_pa);

/* The vector of the exception that stopped the watchdog CPU (W4), or ~0u. */
uint32_t wd_ap_fault(void);

#endif
