/*
 * Hostile guest: it keeps the CPU.  With interrupts off it makes no exit,
 * so only the watchdog CPU's NMIs bring Umbra back (issue 13,
 * test/e2e/watchdog.sh).  Runs with paging off (i386):
 *   - with "nmi" on its command line it first waits, interrupts off, for
 *     one NMI from the platform (the test sends it through QEMU's monitor):
 *     an NMI Umbra intercepts for its watchdog must still reach the guest;
 *   - with "exits" it then runs 200000 CPUIDs with interrupts off: each
 *     one an exit, so the watchdog must let it finish however long it takes
 *     (its rule counts a spin without exits only);
 *   - then it prints the address of its spin loop and runs `cli; jmp .`
 *     for ever.  Nothing but Umbra can end it: watchdog=SECONDS must, and
 *     GDB's Ctrl-C must stop it at that address.  An NMI that reaches the
 *     loop (a platform NMI sent late) is counted ("spin: NMI n") and the
 *     loop goes on.
 */
#include "lib/guest.h"
#include "lib/arch.h"

extern uint32_t mb_info;
extern char spin_here[], nmi_wait_here[];

/* True if the multiboot command line has the word w. */
static bool has_word(const char *w)
{
    const uint32_t *mi = (const uint32_t *)(uintptr_t)mb_info;
    if (!mi || !(mi[0] & 4))
        return false;
    const char *s = (const char *)(uintptr_t)mi[4];
    size_t n = 0;
    while (w[n])
        n++;
    for (const char *p = s; *p; p++) {
        if (p != s && p[-1] != ' ')
            continue;
        size_t i = 0;
        while (i < n && p[i] == w[i])
            i++;
        if (i == n && (p[n] == ' ' || p[n] == '\0'))
            return true;
    }
    return false;
}

/* Wait, interrupts off and no exit, until an NMI (catch_call returns vector 2). */
static void wait_nmi(void *arg)
{
    (void)arg;
    __asm__ volatile("cli\n"
                     ".globl nmi_wait_here\n"
                     "nmi_wait_here: pause\n"
                     "    jmp nmi_wait_here");
}

static void spin(void *arg)
{
    (void)arg;
    __asm__ volatile("cli\n"
                     ".globl spin_here\n"
                     "spin_here: jmp spin_here");
}

int guest_main(void)
{
    tap_plan(has_word("nmi") ? 1 : 0);
    if (has_word("nmi")) {
        outb(0x21, 0xff);                        /* the PICs stay quiet */
        outb(0xa1, 0xff);
        gprintf("spin: waiting for an NMI with interrupts off at 0x%lx\n", (unsigned long)nmi_wait_here);
        serial_drain();
        unsigned v = catch_call(wait_nmi, NULL);
        tap_ok(v == X86_EXC_NMI, "a platform NMI reaches the guest under Umbra's watchdog (vector %u)", v);
    }
    if (has_word("exits")) {
        uint32_t r[4];
        __asm__ volatile("cli");
        for (unsigned i = 0; i < 200000; i++)
            cpuid(0, 0, r);
        gprintf("spin: 200000 CPUID exits with interrupts off: done\n");
    }
    gprintf("spin: cli; jmp . at 0x%lx\n", (unsigned long)spin_here);
    serial_drain();
    for (unsigned n = 1;; n++) {
        unsigned v = catch_call(spin, NULL);
        gprintf("spin: %s %u\n", v == X86_EXC_NMI ? "NMI" : "exception", n);
        if (v != X86_EXC_NMI)
            return 1;
    }
}
