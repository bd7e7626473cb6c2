/*
 * The guest machine's power end: Umbra intercepts only the ports that end
 * the machine -- the ACPI PM1a/PM1b control registers named by the FADT
 * (SLP_EN = sleep/S5), 0xCF9 (reset control) and the keyboard controller's
 * 0x64 (pulse reset) -- passes every other access to those ports through,
 * and ends the run with its summary when the guest powers off or resets.  A
 * triple fault and HLT with IF=0 end it in src/svm/intercepts.c already.
 * Used by the Linux guest (linux.c); nothing here is Linux's own.
 */
#include <umbra/kern.h>
#include <umbra/acpi.h>
#include <umbra/lib.h>
#include <umbra/svm.h>
#include <umbra/x86.h>
#include "power.h"

#define PORT_RESET_CTL 0xcf9      /* PIIX/ICH reset control: bit 2 = do the reset */
#define PORT_KBC_CMD   0x64       /* i8042 command: 0xFE pulses the reset line */
#define KBC_PULSE_RESET 0xfe
#define RST_CPU        0x04
#define ACPI_SLP_EN    (1u << 13) /* PM1x_CNT: enter the sleep state in SLP_TYP */

static uint16_t pm1_cnt[2];       /* PM1a/PM1b control ports, 0 = none */

static inline uint32_t rd32(const uint8_t *p, unsigned off) { uint32_t v; memcpy(&v, p + off, 4); return v; }
static inline uint64_t rd64(const uint8_t *p, unsigned off) { uint64_t v; memcpy(&v, p + off, 8); return v; }

/* ---- ACPI: where the PM1 control registers are ---------------------------- */

/* A PM1x control block port: the 32-bit field, else the extended (GAS, I/O space) one. */
static uint16_t fadt_port(const uint8_t *fadt, unsigned legacy_off, unsigned gas_off)
{
    uint32_t p = rd32(fadt, legacy_off);
    if (p == 0 && rd32(fadt, 4) >= gas_off + 12 && fadt[gas_off] == 1)
        p = (uint32_t)rd64(fadt, gas_off + 4);
    return p < 0x10000 ? (uint16_t)p : 0;
}

void power_watch_ports(void)
{
    /* The FADT through src/guest/acpi.c (its RSDP: the BIOS area, or the multiboot2 copy under UEFI). */
    paddr_t fadt_pa = acpi_find_table("FACP");
    const uint8_t *fadt = fadt_pa ? acpi_phys(fadt_pa, 36) : NULL;
    if (fadt)
        fadt = acpi_phys(fadt_pa, rd32(fadt, 4));
    if (fadt) {
        pm1_cnt[0] = fadt_port(fadt, 64, 172);
        pm1_cnt[1] = fadt_port(fadt, 68, 184);
        ulog("linux: ACPI FADT at %#lx: PM1a_CNT=%#x PM1b_CNT=%#x", (unsigned long)(uintptr_t)fadt,
             pm1_cnt[0], pm1_cnt[1]);
    }
    if (!fadt || !pm1_cnt[0]) {
        /* No FADT: QEMU's PIIX4 (PM base 0x600) and Bochs' BIOS (0xb000). */
        pm1_cnt[0] = 0x604;
        pm1_cnt[1] = 0xb004;
        ulog("linux: no ACPI FADT found; watching PM1_CNT at 0x604 (QEMU) and 0xb004 (Bochs)");
    }
    for (unsigned i = 0; i < 2; i++)
        if (pm1_cnt[i]) {
            svm_iopm_intercept(pm1_cnt[i], true);
            svm_iopm_intercept(pm1_cnt[i] + 1u, true);
        }
    svm_iopm_intercept(PORT_RESET_CTL, true);
    svm_iopm_intercept(PORT_KBC_CMD, true);
}

/* ---- run time: the intercepted power ports ------------------------------- */

static uint32_t port_in(unsigned port, unsigned size)
{
    uint32_t v;
    if (size == 1) {
        uint8_t b;
        __asm__ volatile("inb %w1, %0" : "=a"(b) : "Nd"((uint16_t)port));
        v = b;
    } else if (size == 2) {
        uint16_t w;
        __asm__ volatile("inw %w1, %0" : "=a"(w) : "Nd"((uint16_t)port));
        v = w;
    } else {
        __asm__ volatile("inl %w1, %0" : "=a"(v) : "Nd"((uint16_t)port));
    }
    return v;
}

static void port_out(unsigned port, unsigned size, uint32_t v)
{
    if (size == 1)
        __asm__ volatile("outb %b0, %w1" :: "a"(v), "Nd"((uint16_t)port));
    else if (size == 2)
        __asm__ volatile("outw %w0, %w1" :: "a"(v), "Nd"((uint16_t)port));
    else
        __asm__ volatile("outl %0, %w1" :: "a"(v), "Nd"((uint16_t)port));
}

/* The byte of an access [port, port + size) carrying value v that lands on port `at` (-1: none). */
static int byte_at(unsigned port, unsigned size, uint32_t v, unsigned at)
{
    if (at < port || at >= port + size)
        return -1;
    return (int)((v >> (8 * (at - port))) & 0xff);
}

/* True if the write ends the machine: ACPI sleep, reset control, keyboard-controller reset. */
static bool power_write(struct svm_vcpu *v, unsigned port, unsigned size, uint32_t val)
{
    for (unsigned i = 0; i < 2; i++) {
        int hi = pm1_cnt[i] ? byte_at(port, size, val, pm1_cnt[i] + 1u) : -1;
        if (hi >= 0 && (hi & (ACPI_SLP_EN >> 8))) {
            ulog("linux: guest entered ACPI sleep type %u (PM1%c_CNT %#x): power off",
                 (unsigned)(hi >> 2) & 7, 'a' + i, pm1_cnt[i]);
            svm_stop(v, "poweroff", 0);
            return true;
        }
    }
    /* 0xCF9 is a byte register; a dword at 0xCF8 is a PCI config address. */
    if (port == PORT_RESET_CTL && size == 1 && (val & RST_CPU)) {
        ulog("linux: guest reset the machine (port 0xcf9 <- %#x)", val & 0xff);
        svm_stop(v, "reboot", 0);
        return true;
    }
    if (port == PORT_KBC_CMD && size == 1 && (val & 0xff) == KBC_PULSE_RESET) {
        ulog("linux: guest reset the machine (keyboard controller 0x64 <- 0xfe)");
        svm_stop(v, "reboot", 0);
        return true;
    }
    return false;
}

static bool watched(unsigned port, unsigned size)
{
    unsigned end = port + size;
    for (unsigned i = 0; i < 2; i++)
        if (pm1_cnt[i] && pm1_cnt[i] < end && port < pm1_cnt[i] + 2u)
            return true;
    return (PORT_RESET_CTL >= port && PORT_RESET_CTL < end) ||
           (PORT_KBC_CMD >= port && PORT_KBC_CMD < end);
}

/* An access touching a watched port: end the run, or do it for the guest. */
bool power_ioio(struct svm_vcpu *v, unsigned port, unsigned size, bool in)
{
    if (!watched(port, size) || (size != 1 && size != 2 && size != 4))
        return false;
    struct vmcb *vm = v->vmcb;
    uint32_t mask = size == 1 ? 0xff : size == 2 ? 0xffff : 0xffffffff;
    svm_skip_insn(v);
    if (in) {
        vm->save.rax = (vm->save.rax & ~(uint64_t)mask) | port_in(port, size);
    } else {
        uint32_t val = (uint32_t)vm->save.rax & mask;
        if (!power_write(v, port, size, val))
            port_out(port, size, val);
    }
    return true;
}

