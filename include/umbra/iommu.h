/*
 * DMA protection with the AMD IOMMU (src/iommu).
 *
 * The firmware describes each IOMMU in the ACPI IVRS table (AMD I/O
 * Virtualization Technology spec, 48882, section 5).  Umbra parses it
 * (ivrs.c, pure and hosted-tested), takes every IOMMU before the guest runs
 * and gives every device ID one I/O page table (amdvi.c): guest-physical
 * memory 1:1, with Umbra's reserve and the IOMMUs' own MMIO not present.
 * The exclusion range is never used (it turns translation off).  The guest
 * does not see the IVRS and cannot reach the IOMMU's MMIO.
 */
#ifndef UMBRA_IOMMU_H
#define UMBRA_IOMMU_H

#include <umbra/types.h>

/* ---- the IVRS, parsed (src/iommu/ivrs.c, pure) --------------------------- */

#define IVRS_MAX_IOMMUS 4
#define IVRS_MAX_IVMD   8
#define AMDVI_MMIO_SIZE 0x4000    /* the register file: 16 KiB (0x0000-0x3fff) */

struct ivrs_iommu {
    paddr_t base;              /* MMIO base (IVHD offset 8), 16 KiB aligned */
    uint16_t devid;            /* the IOMMU's own PCI function (bus << 8 | devfn) */
    uint16_t cap_off;          /* its capability block in PCI config space */
    uint16_t segment;          /* PCI segment group */
    uint8_t ivhd_type;         /* 0x10, 0x11 or 0x40: the block this entry came from */
    uint32_t max_devid;        /* highest device ID any device entry names (0xffff for "all") */
    unsigned ndev_entries;     /* device entries seen (for the log) */
};

struct ivrs_ivmd {             /* an I/O memory definition block (types 0x20-0x22) */
    uint8_t type, flags;
    uint16_t devid;
    uint64_t start, len;
};

struct ivrs_info {
    uint32_t ivinfo;           /* IVinfo (offset 36): PASize, VASize, EFRSup ... */
    unsigned niommu;
    struct ivrs_iommu iommu[IVRS_MAX_IOMMUS];
    unsigned nivmd;
    struct ivrs_ivmd ivmd[IVRS_MAX_IVMD];
};

/*
 * Parse an IVRS table of `len` bytes (the whole table, header included).
 * One IOMMU per MMIO base: firmware may describe the same IOMMU in a type
 * 0x10 block and again in a 0x11/0x40 block; the later block's device
 * entries are merged into the first.  Checks the signature, the length, the
 * checksum and every block's and entry's length against the table's end.
 * Returns 0, or -1 with a reason in err.
 */
int ivrs_parse(const uint8_t *t, size_t len, struct ivrs_info *out, char *err, size_t errlen);

/* ---- the driver (src/iommu/amdvi.c, freestanding) ------------------------ */
#ifdef UMBRA_HYPERVISOR
struct frame_alloc;
struct mb2_info;

/*
 * Before the reserve is sealed: find the IVRS (ACPI: the root tables the
 * multiboot2 ACPI tags name, else the RSDP in the BIOS area), parse it, allocate the
 * device table, command buffer, event log and I/O page tables from fa.
 * Without an IOMMU it logs that guest DMA can reach Umbra's memory; with
 * iommu=require it then returns -1 (the caller refuses to start).  0 or -1
 * (logged).
 */
int iommu_prepare(struct frame_alloc *fa, const struct mb2_info *mb, uint64_t ram_top, bool require);

/*
 * After sealing (the reserve's bounds are final) and before the guest runs:
 * fill the I/O page tables, the device table, and switch every IOMMU on;
 * hide the IVRS from the guest.  0 or -1 (logged).  No-op without an IOMMU.
 */
int iommu_enable(void);

/*
 * Right before sealing: one guard frame at the very bottom of the reserve
 * (just above the top of guest RAM), filled with a pattern iommu_report()
 * checks.  A guest DMA aimed just above its RAM lands there if nothing stops
 * it; the end-of-run line says whether it did.
 */
void iommu_guard_alloc(struct frame_alloc *fa);

/* True if bus/devfn `devid` (segment 0) is one of the IOMMUs' own PCI functions. */
bool iommu_pci_is_iommu(uint16_t devid);

/* True if [pa, pa + len) touches an IOMMU's MMIO registers (refused to the guest). */
bool iommu_mmio_overlaps(paddr_t pa, uint64_t len);

/*
 * Log the IOMMU events that arrived since the last call ("umbra: iommu:
 * event ...") and return how many.  Cheap when there are none: one load of
 * the event-log slot at the head (the IOMMU writes a non-zero event code
 * there first), no MMIO access.  Called after every exit.
 */
unsigned iommu_poll_events(void);

/*
 * End-of-run lines: the guard page ("intact" / "OVERWRITTEN"), then with an
 * IOMMU its PCI status and "umbra: iommu: events=N (io-page-faults=M)".
 */
void iommu_report(void);

extern bool iommu_active;
#endif

#endif
