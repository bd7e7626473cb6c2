/*
 * The smallest host-ACPI lookup the IOMMU needs: find the firmware's IVRS
 * through the RSDP (EBDA, then the BIOS area 0xE0000-0xFFFFF) and the XSDT
 * or RSDT, and take it away from the guest afterwards.
 *
 * MERGE NOTE: src/guest/acpi.c (helper "cpus") brings acpi_find_table(sig)
 * and acpi_hide_table(sig); at merge, iommu_find_ivrs() becomes
 * acpi_find_table("IVRS") and iommu_hide_ivrs() acpi_hide_table("IVRS") (plus
 * the memset of the table's bytes, which the guest could otherwise still
 * find by scanning memory), and this file goes.  Under UEFI there is no RSDP
 * in the BIOS area: the multiboot2 ACPI tags' RSDP copy names the root
 * tables (mb2.c), handed over with iommu_acpi_roots().
 */
#include <umbra/kern.h>
#include <umbra/lib.h>
#include "iommu_priv.h"

static uint32_t rd32(const uint8_t *p) { return (uint32_t)p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24; }
static uint64_t rd64(const uint8_t *p) { return rd32(p) | (uint64_t)rd32(p + 4) << 32; }

static bool sum_ok(const uint8_t *p, uint32_t len)
{
    uint8_t s = 0;
    for (uint32_t i = 0; i < len; i++)
        s = (uint8_t)(s + p[i]);
    return s == 0;
}

static uint8_t *rsdp_scan(paddr_t lo, paddr_t hi)
{
    for (paddr_t p = lo; p + 20 <= hi; p += 16) {
        uint8_t *r = phys_to_virt(p);
        if (memcmp(r, "RSD PTR ", 8) == 0 && sum_ok(r, 20))
            return r;
    }
    return NULL;
}

/* A table at pa if it looks like one (below 4 GiB, sane length, checksum). */
static uint8_t *table_at(uint64_t pa)
{
    if (pa == 0 || pa >= (1ULL << 32) - 36)
        return NULL;
    uint8_t *t = phys_to_virt(pa);
    uint32_t len = rd32(t + 4);
    if (len < 36 || len > 0x100000 || !sum_ok(t, len))
        return NULL;
    return t;
}

static uint8_t *find_rsdp(void)
{
    uintptr_t bda = 0x40e;
    __asm__("" : "+r"(bda));          /* keep gcc from taking 0x40e for NULL + offset */
    paddr_t ebda = (paddr_t)*(const volatile uint16_t *)phys_to_virt(bda) << 4;
    uint8_t *r = NULL;
    if (ebda >= 0x80000 && ebda < 0xa0000)
        r = rsdp_scan(ebda, ebda + 1024);
    return r ? r : rsdp_scan(0xe0000, 0x100000);
}

static paddr_t mb_rsdt, mb_xsdt;

void iommu_acpi_roots(paddr_t rsdt, paddr_t xsdt)
{
    mb_rsdt = rsdt;
    mb_xsdt = xsdt;
}

/* Root tables: [0] the XSDT (8-byte entries), [1] the RSDT (4-byte entries); NULL if absent. */
static void roots(uint8_t *root[2])
{
    root[0] = mb_xsdt ? table_at(mb_xsdt) : NULL;
    root[1] = mb_rsdt ? table_at(mb_rsdt) : NULL;
    if (root[0] || root[1])
        return;
    uint8_t *rsdp = find_rsdp();
    if (!rsdp)
        return;
    if (rsdp[15] >= 2)
        root[0] = table_at(rd64(rsdp + 24));
    root[1] = table_at(rd32(rsdp + 16));
}

uint8_t *iommu_find_ivrs(uint32_t *len)
{
    uint8_t *root[2];
    roots(root);
    for (unsigned k = 0; k < 2; k++) {
        if (!root[k])
            continue;
        unsigned esz = k == 0 ? 8 : 4;
        for (uint32_t off = 36; off + esz <= rd32(root[k] + 4); off += esz) {
            uint8_t *t = table_at(esz == 8 ? rd64(root[k] + off) : rd32(root[k] + off));
            if (t && memcmp(t, "IVRS", 4) == 0) {
                *len = rd32(t + 4);
                return t;
            }
        }
    }
    return NULL;
}

/*
 * Drop every root-table entry that points at `ivrs` (the later entries move
 * up, the length shrinks, the checksum is made right again), then wipe the
 * table itself.  Invariant: afterwards no root table names it and no byte of
 * it is left for a guest scan to find.
 */
void iommu_hide_ivrs(uint8_t *ivrs, uint32_t len)
{
    uint8_t *root[2];
    roots(root);
    paddr_t pa = (paddr_t)(uintptr_t)ivrs;
    for (unsigned k = 0; k < 2; k++) {
        uint8_t *r = root[k];
        if (!r)
            continue;
        unsigned esz = k == 0 ? 8 : 4;
        uint32_t rlen = rd32(r + 4);
        for (uint32_t off = 36; off + esz <= rlen;) {
            uint64_t e = esz == 8 ? rd64(r + off) : rd32(r + off);
            if (e != pa) {
                off += esz;
                continue;
            }
            memmove(r + off, r + off + esz, rlen - off - esz);
            rlen -= esz;
            memset(r + rlen, 0, esz);
        }
        r[4] = (uint8_t)rlen;
        r[5] = (uint8_t)(rlen >> 8);
        r[6] = (uint8_t)(rlen >> 16);
        r[7] = (uint8_t)(rlen >> 24);
        r[9] = 0;
        uint8_t s = 0;
        for (uint32_t i = 0; i < rlen; i++)
            s = (uint8_t)(s + r[i]);
        r[9] = (uint8_t)-s;
    }
    memset(ivrs, 0, len);
}
