/*
 * Hostile guest: reach memory that is not the guest's by DMA.
 *
 * The guest programs a PIIX3 IDE controller (QEMU: -device piix3-ide, an
 * ATAPI CD on its secondary channel, master) for ATAPI READ(10) with
 * bus-master DMA.  The CD (test/e2e/hostile-dma.sh makes it) holds sectors
 * whose bytes are dma_byte(lba, i).
 *   1. a read into guest RAM arrives, byte for byte;
 *   2. the same read aimed just above the top of the guest's RAM (where
 *      the memory map has a hole, hostile_top.h: under Umbra that is where
 *      Umbra's reserve begins) ends, and the guest goes on -- under Umbra with the
 *      IOMMU the device's write faults there (Umbra logs the IOMMU event;
 *      the script checks that line), bare it goes to no RAM;
 *   3. a read into guest RAM still arrives afterwards;
 *   4. the IOMMU's own PCI function (class 08h/06h) is not the guest's:
 *      under a hypervisor it must not show in configuration space (through
 *      ports 0xCF8/0xCFC), and a write to its capability block must not
 *      stick; bare there is nobody to hide it.
 * After each transfer the guest executes CPUID: under Umbra that is an
 * exit, after which Umbra logs any IOMMU event that arrived.  Paging is off
 * (linear = physical = the device's address).
 */
#include "lib/guest.h"
#include "hostile_top.h"

static inline void outw(uint16_t p, uint16_t v) { __asm__ volatile("outw %0,%1" :: "a"(v), "Nd"(p)); }
static inline uint32_t inl(uint16_t p) { uint32_t v; __asm__ volatile("inl %1,%0" : "=a"(v) : "Nd"(p)); return v; }

#define ATA_BASE   0x170      /* secondary channel */
#define ATA_CTRL   0x376
#define ST_BSY     0x80
#define ST_DRQ     0x08
#define ST_ERR     0x01
#define BM_START   0x01
#define BM_TOMEM   0x08       /* the device writes memory (a read from the disk) */
#define BM_ST_ACT  0x01
#define BM_ST_ERR  0x02
#define BM_ST_INT  0x04
#define SECTOR     2048

static uint16_t bm;           /* bus-master registers of the secondary channel (BMIBA + 8) */
static uint32_t prd[2] __attribute__((aligned(64)));
static uint8_t buf[SECTOR] __attribute__((aligned(4096)));

static uint8_t dma_byte(uint32_t lba, unsigned i)
{
    return (uint8_t)((i * 7u + lba * 13u + 0x5au) ^ (i >> 8));
}

static uint32_t pci_read(unsigned bdf, unsigned off)
{
    outl(0xcf8, 0x80000000u | bdf << 8 | (off & 0xfc));
    return inl(0xcfc);
}

static void pci_write(unsigned bdf, unsigned off, uint32_t v)
{
    outl(0xcf8, 0x80000000u | bdf << 8 | (off & 0xfc));
    outl(0xcfc, v);
}

static void cpuid_exit(void)
{
    uint32_t r[4];
    cpuid(0, 0, r);
}

/* Find the PIIX3 IDE function (8086:7010) on bus 0 and enable its I/O and bus mastering. */
static bool ide_find(void)
{
    for (unsigned devfn = 0; devfn < 256; devfn++) {
        if (pci_read(devfn, 0) != 0x70108086u)
            continue;
        uint32_t bar4 = pci_read(devfn, 0x20);
        if ((bar4 & ~3u) == 0) {
            pci_write(devfn, 0x20, 0xc040);           /* firmware left it unassigned */
            bar4 = pci_read(devfn, 0x20);
        }
        pci_write(devfn, 0x04, (pci_read(devfn, 0x04) & 0xffff) | 0x5);   /* I/O space, bus master */
        bm = (uint16_t)((bar4 & 0xfffc) + 8);
        tap_diag("dma: PIIX3 IDE at 00:%02x.%u, bus master at 0x%x", devfn >> 3, devfn & 7, bm);
        return true;
    }
    return false;
}

static bool ata_wait(uint8_t want_set, unsigned long spins)
{
    for (unsigned long n = 0; n < spins; n++) {
        uint8_t s = inb(ATA_BASE + 7);
        if (!(s & ST_BSY) && (s & want_set) == want_set)
            return true;
    }
    return false;
}

/* Send one ATAPI packet; with DMA the bus master must be set up first. 0 ok, -1 stuck. */
static int atapi_packet(const uint8_t cdb[12], bool dma)
{
    outb(ATA_BASE + 6, 0xa0);                          /* master */
    if (!ata_wait(0, 1000000))
        return -1;
    outb(ATA_BASE + 1, dma ? 1 : 0);                   /* features: DMA */
    outb(ATA_BASE + 4, SECTOR & 0xff);
    outb(ATA_BASE + 5, SECTOR >> 8);
    outb(ATA_BASE + 7, 0xa0);                          /* PACKET */
    if (!ata_wait(ST_DRQ, 1000000))
        return -1;
    for (int i = 0; i < 12; i += 2)
        outw(ATA_BASE, (uint16_t)(cdb[i] | cdb[i + 1] << 8));
    return 0;
}

/* TEST UNIT READY until the drive stops reporting the medium change (UNIT ATTENTION). */
static void atapi_settle(void)
{
    static const uint8_t tur[12] = { 0 };
    for (int i = 0; i < 4; i++) {
        if (atapi_packet(tur, false) < 0)
            return;
        ata_wait(0, 1000000);
        if (!(inb(ATA_BASE + 7) & ST_ERR))
            return;
    }
}

/*
 * READ(10) of one sector by bus-master DMA to physical address `pa`.
 * Returns a short outcome: "done", "error" (ATA or BM error bit), "stuck".
 */
static const char *dma_read(uint32_t lba, uint32_t pa)
{
    uint8_t cdb[12] = { 0x28, 0, (uint8_t)(lba >> 24), (uint8_t)(lba >> 16), (uint8_t)(lba >> 8),
                        (uint8_t)lba, 0, 0, 1, 0, 0, 0 };
    outb(bm, 0);                                       /* stop */
    outb(bm + 2, BM_ST_ERR | BM_ST_INT);               /* clear */
    prd[0] = pa;
    prd[1] = 0x80000000u | SECTOR;                     /* EOT, 2048 bytes */
    outl(bm + 4, (uint32_t)(uintptr_t)prd);
    outb(bm, BM_TOMEM);
    if (atapi_packet(cdb, true) < 0)
        return "stuck";
    outb(bm, BM_TOMEM | BM_START);
    uint8_t st = 0;
    unsigned long n;
    for (n = 0; n < 20000000UL; n++) {
        st = inb(bm + 2);
        if ((st & BM_ST_INT) || !(st & BM_ST_ACT))
            break;
    }
    bool done = ata_wait(0, 1000000);
    uint8_t ata = inb(ATA_BASE + 7);
    outb(bm, 0);
    outb(bm + 2, BM_ST_ERR | BM_ST_INT);
    cpuid_exit();
    if (n == 20000000UL || !done)
        return "stuck";
    return (ata & ST_ERR) || (st & BM_ST_ERR) ? "error" : "done";
}

static bool check_sector(uint32_t lba, unsigned *bad)
{
    *bad = 0;
    for (unsigned i = 0; i < SECTOR; i++)
        if (buf[i] != dma_byte(lba, i))
            (*bad)++;
    return *bad == 0;
}

static void read_into_ram(uint32_t lba, const char *what)
{
    unsigned bad;
    gmemset(buf, 0, sizeof(buf));
    const char *r = dma_read(lba, (uint32_t)(uintptr_t)buf);
    bool ok = check_sector(lba, &bad);
    tap_ok(ok && r[0] == 'd', "dma: %s: ATAPI READ of sector %u by bus-master DMA into guest RAM "
           "arrives (%s, %u of %u bytes wrong)", what, lba, r, bad, SECTOR);
}

/* The IOMMU's PCI function on bus 0 through 0xCF8/0xCFC (class 0x0806), or -1. */
static int iommu_function(void)
{
    for (unsigned devfn = 0; devfn < 256; devfn++)
        if (pci_read(devfn, 0) != 0xffffffffu && pci_read(devfn, 8) >> 16 == 0x0806)
            return (int)devfn;
    return -1;
}

static void iommu_hidden(void)
{
    int f = iommu_function();
    bool hv = emu_under_hypervisor();
    if (f < 0) {
        tap_diag("dma: no IOMMU function in configuration space");
        tap_ok(true, "dma: the IOMMU's PCI function is not the guest's (hidden, or no hypervisor)");
        return;
    }
    /* Its capability block: the first capability of ID 0x0f (secure device). */
    unsigned cap = pci_read((unsigned)f, 0x34) & 0xfc;
    while (cap && (pci_read((unsigned)f, cap) & 0xff) != 0x0f)
        cap = (pci_read((unsigned)f, cap) >> 8) & 0xfc;
    uint32_t before = cap ? pci_read((unsigned)f, cap + 4) : 0;
    if (cap && !hv)
        pci_write((unsigned)f, cap + 4, before);           /* bare: harmless (same value) */
    tap_diag("dma: IOMMU function 00:%02x.%u visible, capability at 0x%x, base address low 0x%x%s",
             f >> 3, f & 7, cap, before, hv ? " -- under a hypervisor" : "");
    tap_ok(!hv, "dma: the IOMMU's PCI function is not the guest's (hidden, or no hypervisor)");
}

int guest_main(void)
{
    tap_plan(4);
    outb(ATA_CTRL, 0x02);                              /* nIEN: no interrupts, we poll */
    if (!ide_find())
        tap_bail("dma: no PIIX3 IDE controller (QEMU: -device piix3-ide)");
    atapi_settle();
    read_into_ram(1, "first");

    uint32_t top = hostile_target();
    tap_diag("dma: aiming sector 2 at 0x%x, just above the top of guest RAM", top);
    const char *r = dma_read(2, top);
    /* Bare it lands in no RAM; under Umbra the IOMMU faults it: both end, the guest goes on. */
    tap_ok(r[0] != 's', "dma: the same read aimed just above the top of guest RAM ends, the guest "
           "goes on (%s)", r);

    read_into_ram(3, "after the aimed read");
    iommu_hidden();
    return tap_done();
}
