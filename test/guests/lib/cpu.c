/*
 * CPU features, emulator detection, runtime start and exit.
 */
#include "guest.h"
#include "arch.h"

struct cpu_features cpu_has;
static enum emu emu_kind = EMU_UNKNOWN;
static bool emu_hv;          /* a hypervisor leaf that is not TCG's */

void cpu_detect(void)
{
    uint32_t r[4], max;

    cpuid(0, 0, r);
    max = r[0];
    cpuid(1, 0, r);
    cpu_has.pse = r[3] & (1u << 3);
    cpu_has.pge = r[3] & (1u << 13);
    bool hvbit = r[2] & (1u << 31);
    if (max >= 7) {
        cpuid(7, 0, r);
        cpu_has.smep = r[1] & (1u << 7);
        cpu_has.smap = r[1] & (1u << 20);
    }
    cpuid(0x80000000u, 0, r);
    if (r[0] >= 0x80000001u) {
        cpuid(0x80000001u, 0, r);
        cpu_has.nx = r[3] & (1u << 20);
        cpu_has.pdpe1gb = r[3] & (1u << 26);
    }

    bool tcg = false;
    if (hvbit) {
        cpuid(0x40000000u, 0, r);
        char sig[13];
        for (int i = 0; i < 4; i++) {
            sig[i] = (char)(r[1] >> (8 * i));
            sig[4 + i] = (char)(r[2] >> (8 * i));
            sig[8 + i] = (char)(r[3] >> (8 * i));
        }
        sig[12] = 0;
        tcg = sig[0] == 'T' && sig[1] == 'C' && sig[2] == 'G';
        emu_hv = !tcg;
    }
    if (tcg)
        emu_kind = EMU_QEMU;
    else if (inb(0xe9) == 0xe9)     /* Bochs' port_e9_hack reads back 0xE9 */
        emu_kind = EMU_BOCHS;
    else if (hvbit)
        emu_kind = EMU_UNKNOWN;
}

extern uint32_t mb_magic, mb_info;

static uint32_t mem_upper_kb;

/* Read once at start-up: the loader's info block may sit in memory a test
 * later overwrites (the real-mode trampoline's low pages). */
static void mb_read(void)
{
    if (mb_magic != 0x2BADB002u || !mb_info)
        return;
    const volatile uint32_t *mbi = (const volatile uint32_t *)(uintptr_t)mb_info;
    mem_upper_kb = (mbi[0] & 1) ? mbi[2] : 0;
}

uint32_t mb_mem_upper_kb(void) { return mem_upper_kb; }

enum emu emu_detect(void) { return emu_kind; }
bool emu_under_hypervisor(void) { return emu_hv; }
bool emu_bare_qemu(void) { return emu_kind == EMU_QEMU && !emu_hv; }
bool emu_bare_bochs(void) { return emu_kind == EMU_BOCHS && !emu_hv; }

const char *emu_name(void)
{
    static const char *n[] = { "unknown", "qemu", "bochs" };
    return n[emu_kind];
}

void rt_init(void)
{
    serial_init();
    mb_read();
    arch_init();
    cpu_detect();
    gprintf("# guest: %u KiB above 1 MiB, emulator %s%s, nx=%d smep=%d smap=%d pge=%d pse=%d 1g=%d\n",
            mb_mem_upper_kb(), emu_name(), emu_hv ? " under a hypervisor" : "", cpu_has.nx, cpu_has.smep,
            cpu_has.smap, cpu_has.pge, cpu_has.pse, cpu_has.pdpe1gb);
}

void guest_exit(int status)
{
    static const char shut[] = "Shutdown";

    gprintf("exit status %d\n", status);
    serial_drain();
    outl(0xf4, (uint32_t)status);          /* QEMU: exits with (status << 1) | 1 */
    for (const char *p = shut; *p; p++)    /* Bochs: exits */
        outb(0x8900, (uint8_t)*p);
    for (;;)
        __asm__ volatile("cli; hlt");
}
