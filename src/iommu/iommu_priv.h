/* Inside src/iommu: the host ACPI lookup the driver uses (hostacpi.c). */
#ifndef UMBRA_IOMMU_PRIV_H
#define UMBRA_IOMMU_PRIV_H

#include <umbra/types.h>

/* Root tables the loader named (multiboot2 ACPI tags); 0 = scan the BIOS area for the RSDP. */
void iommu_acpi_roots(paddr_t rsdt, paddr_t xsdt);
/* The firmware's IVRS (and its length), or NULL. */
uint8_t *iommu_find_ivrs(uint32_t *len);
/* Take the IVRS out of the XSDT/RSDT (checksums fixed) and wipe its bytes. */
void iommu_hide_ivrs(uint8_t *ivrs, uint32_t len);

#endif
