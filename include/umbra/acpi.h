/*
 * The guest's ACPI (and MP table) view (src/guest/acpi.c, pure: it compiles
 * unchanged into the hosted test).  Umbra reads the firmware's tables to
 * find every CPU, then rewrites them in place so the guest reads a machine
 * with one CPU: the firmware's tables lie in memory the guest owns anyway,
 * and Umbra takes what it needs from them before the guest runs.  Every
 * table it changes keeps a correct checksum.
 *
 * Memory is reached only through acpi_phys(), which the environment
 * provides: the hypervisor's direct map, or the test's simulated memory.
 */
#ifndef UMBRA_ACPI_H
#define UMBRA_ACPI_H

#include <umbra/types.h>

/* Pointer to [pa, pa + len), or NULL if the environment does not back it. */
void *acpi_phys(paddr_t pa, size_t len);

/*
 * Find the RSDP ("RSD PTR ", checksum over 20 bytes, and over its length
 * for revision >= 2): the first KiB of the EBDA (segment at 0x40E), then
 * 0xE0000-0xFFFFF.  Remember it for the calls below; 0 if none.
 */
paddr_t acpi_init(void);
/* Use this RSDP (e.g. a copy multiboot2 handed over); 0 ok, -1 if it is not an RSDP. */
int acpi_init_at(paddr_t rsdp);
/*
 * The RSDP for everything below: the multiboot2 loader's copy when it is
 * one (UEFI has no RSDP in the BIOS area), else acpi_init()'s scan.
 * Idempotent: smp_init() and iommu_prepare() both call it.  0 if none.
 */
paddr_t acpi_init_mb2(const void *mb2_copy);
/*
 * The RSDP found by acpi_init*() (20 bytes for ACPI 1.0, 36 for 2.0+), copied
 * into out[0..max): Umbra keeps its own copy from the moment it finds one.
 * Returns the bytes copied, 0 if there is none.  The Linux loader hands it
 * to the guest (boot_params.acpi_rsdp_addr): under UEFI there is no RSDP in
 * the BIOS area for the guest to find.
 */
unsigned acpi_rsdp_copy(uint8_t *out, unsigned max);

/* The first table with signature sig through the XSDT (else the RSDT), checksum good; 0 if none. */
paddr_t acpi_find_table(const char sig[4]);

/*
 * Remove every entry naming a table with signature sig from the XSDT and the
 * RSDT (the later entries move down, the length shrinks, the checksum is
 * fixed).  The table itself stays in memory, unreferenced.  Returns how
 * many entries were removed (0: no such table).
 */
unsigned acpi_hide_table(const char sig[4]);

/* A CPU as the firmware describes it. */
struct acpi_cpu {
    uint32_t apic_id;
    bool usable;          /* MADT: Enabled or Online Capable; MP: EN */
};
#define ACPI_MAX_CPUS 64

/*
 * The CPUs the MADT lists (Processor Local APIC and Local x2APIC entries),
 * at most max of them in out.  Returns the number listed (may exceed max), or
 * -1 without a MADT.
 */
int acpi_madt_cpus(struct acpi_cpu *out, unsigned max);

/*
 * Rewrite the MADT so it lists only the CPU with APIC ID keep: every other
 * Local APIC / Local x2APIC entry is cut out (not just disabled, so a guest
 * counts no hot-pluggable CPUs either).  Returns the number of entries cut,
 * -1 without a MADT or if keep is not in it.
 */
int acpi_madt_keep_one(uint32_t keep);

/*
 * The MP table (Intel MultiProcessor Specification 1.4): find the floating
 * pointer ("_MP_" in the EBDA's first KiB, the last KiB of base memory, or
 * 0xF0000-0xFFFFF), list its processor entries like acpi_madt_cpus(), and
 * cut every processor entry but keep's (base table length, entry count,
 * checksum fixed; an extended table moves down with the base table's end).
 * -1 when there is no MP configuration table.
 */
int mptable_cpus(struct acpi_cpu *out, unsigned max);
int mptable_keep_one(uint32_t keep);

#endif
