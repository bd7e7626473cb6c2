/*
 * CPUs at start (src/kern/smp.c): find them, park the APs, show the guest
 * one CPU.  See the comment at the top of smp.c for why a parked AP cannot
 * run again.
 */
#ifndef UMBRA_SMP_H
#define UMBRA_SMP_H

#include <umbra/types.h>

struct smp_info {
    const char *source;     /* "MADT", "MP table" or "none" */
    uint32_t boot_id;       /* the boot CPU's APIC ID */
    unsigned listed;        /* CPUs the source lists (the boot CPU included) */
    unsigned parked;        /* APs sent INIT */
    unsigned unparked;      /* APs whose INIT the APIC did not accept */
    unsigned disabled;      /* entries neither enabled nor online-capable */
    unsigned madt_cut, mp_cut;   /* CPU entries cut from the guest's tables */
    bool have_ap;           /* first_ap took its INIT */
    uint32_t first_ap;      /* the first AP parked (the watchdog CPU when one is started) */
};
extern struct smp_info smp_info;

/*
 * Before the guest is loaded: list the CPUs (the RSDP copy multiboot2 gave,
 * if not NULL, else a scan of the BIOS areas), INIT every usable AP, rewrite
 * the MADT and MP table to the boot CPU alone.  Logs "umbra: cpus: ..." lines.
 */
void smp_init(const void *mb2_rsdp);

/* INIT, or STARTUP at vector << 12, to the physical APIC ID id; false if the APIC never took it. */
bool smp_send_init(uint32_t id);
bool smp_send_startup(uint32_t id, uint8_t vector);
/* Spin about us microseconds (port 0x80 writes, ~1 us each on PCs and the emulators). */
void smp_delay_us(unsigned us);

#endif
