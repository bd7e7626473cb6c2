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
};
extern struct smp_info smp_info;

/*
 * Before the guest is loaded: list the CPUs (the RSDP copy multiboot2 gave,
 * if not NULL, else a scan of the BIOS areas), INIT every usable AP, rewrite
 * the MADT and MP table to the boot CPU alone.  Logs "umbra: cpus: ..." lines.
 */
void smp_init(const void *mb2_rsdp);

#endif
