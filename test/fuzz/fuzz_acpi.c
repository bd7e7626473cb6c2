/*
 * libFuzzer target: the ACPI table readers of src/guest/acpi.c (RSDP, XSDT/
 * RSDT, acpi_find_table, acpi_hide_table, the MADT) behind acpi_phys().
 * IVRS (src/iommu, landing today) is not covered yet.  Input: guest
 * physical memory from 0xE0000 (the BIOS area the RSDP scan reads), at
 * most 128 KiB; nothing outside it can be read (acpi_phys refuses).
 * Oracles (acpi.h): after acpi_hide_table(sig) removed entries, no table of
 * sig is found and hiding it again removes none; acpi_madt_keep_one(keep)
 * of a listed CPU leaves exactly that one CPU listed; every count fits.
 */
#include <umbra/acpi.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define BASE 0xe0000u
#define SPAN 0x20000u
#define WINDOW_BASE BASE
#include "acpi_window.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > SPAN)
        size = SPAN;
    mem = malloc(size ? size : 1);
    memcpy(mem, data, size);
    mem_len = size;
    if (acpi_init()) {
        static const char *const sigs[] = { "APIC", "FACP", "HPET", "MCFG", "SSDT" };
        for (unsigned i = 0; i < 5; i++) {
            paddr_t t = acpi_find_table(sigs[i]);
            if (t && (!acpi_phys(t, 36) || memcmp(acpi_phys(t, 4), sigs[i], 4)))
                abort();
        }
        struct acpi_cpu cpus[ACPI_MAX_CPUS];
        int n = acpi_madt_cpus(cpus, ACPI_MAX_CPUS);
        if (n < -1)
            abort();
        if (n > 0) {
            uint32_t keep = cpus[0].apic_id;
            int cut = acpi_madt_keep_one(keep);
            int m = acpi_madt_cpus(cpus, ACPI_MAX_CPUS);
            if (cut < 0 || m != 1 || cpus[0].apic_id != keep)
                abort();
        }
        if (acpi_hide_table("HPET") && (acpi_find_table("HPET") || acpi_hide_table("HPET")))
            abort();
    }
    free(mem);
    return 0;
}
