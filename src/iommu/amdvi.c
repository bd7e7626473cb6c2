/*
 * The AMD IOMMU driver: every DMA a device makes goes through one I/O page
 * table that maps guest-physical memory 1:1 and leaves Umbra's reserve and
 * the IOMMUs' MMIO registers not present (AMD IOMMU spec 48882).
 *
 * What Umbra gives each IOMMU, all allocated inside the reserve:
 *   device table  65536 entries x 32 bytes (2 MiB): every device ID there can
 *                 be, so no request ever falls outside the table whatever a
 *                 guest does to bus numbers (QEMU 7.2 does not check the
 *                 table's size: it would read a DTE past the end).  Where the
 *                 RAM region holding Umbra has no 2 MiB to spare (UEFI), the
 *                 table covers the buses the IVRS names, whole buses.
 *                 Every entry the same:
 *                 V, TV, Mode 3, IR, IW, domain 1, the one page table root.
 *                 IV = 0: interrupts pass untranslated (no remapping yet).
 *   command buffer 4 KiB (256 commands): invalidate-all + completion wait.
 *   event log     4 KiB (256 events): Umbra polls it after every exit.
 *   I/O page table (shared) 3 levels, as the nested table in src/svm/npt.c:
 *                 root -> one level-2 table per GiB of [0, top) -> 2 MiB
 *                 pages, except 4 KiB tables for the 2 MiB regions that
 *                 hold a bound of the reserve or an IOMMU's MMIO.
 * The exclusion range (base/limit at MMIO 0x20/0x28) is written 0 (off): it
 * would turn translation off for whatever it covers.
 *
 * Non-present entries are written as NextLevel = 1 with PR = 0: with PR = 0
 * the spec makes every other bit ignored, and QEMU 7.2's model checks PR
 * only on an entry it is about to descend through and returns without an
 * event on an all-zero entry; so written this way a fault is logged as an
 * IO_PAGE_FAULT there just as hardware logs it.
 */
#include <umbra/kern.h>
#include <umbra/lib.h>
#include <umbra/iommu.h>
#include <umbra/mb.h>
#include <umbra/acpi.h>

/* MMIO registers */
#define MMIO_DEVTAB     0x0000
#define MMIO_CMDBUF     0x0008
#define MMIO_EVTLOG     0x0010
#define MMIO_CONTROL    0x0018
#define MMIO_EXCL_BASE  0x0020
#define MMIO_EXCL_LIMIT 0x0028
#define MMIO_EFR        0x0030
#define MMIO_CMD_HEAD   0x2000
#define MMIO_CMD_TAIL   0x2008
#define MMIO_EVT_HEAD   0x2010
#define MMIO_EVT_TAIL   0x2018
#define MMIO_STATUS     0x2020

#define CTL_IOMMU_EN    (1ULL << 0)
#define CTL_EVTLOG_EN   (1ULL << 2)
#define CTL_CMDBUF_EN   (1ULL << 12)
#define STATUS_EVT_OVF  (1ULL << 0)
#define EFR_IA_SUP      (1ULL << 6)    /* INVALIDATE_IOMMU_ALL */
#define LEN_256         (8ULL << 56)   /* ComLen / EventLen: 2^8 entries */

/* Page-table and device-table entry bits */
#define IOPTE_PR        (1ULL << 0)
#define IOPTE_NL(n)     ((uint64_t)(n) << 9)
#define IOPTE_IR        (1ULL << 61)
#define IOPTE_IW        (1ULL << 62)
#define IOPTE_RW        (IOPTE_PR | IOPTE_IR | IOPTE_IW)
#define IOPTE_NONE      IOPTE_NL(1)    /* not present (see above) */
#define DTE_V           (1ULL << 0)
#define DTE_TV          (1ULL << 1)
#define DTE_MODE3       (3ULL << 9)
#define DOMAIN_ID       1

#define DEVTAB_MAX      65536
#define DTE_PER_FRAME   (PAGE_SIZE / 32)
#define SZ_2M           (2ULL << 20)
#define SZ_1G           (1ULL << 30)
#define MAX_GIB         512
#define MAX_PT          (2 + IVRS_MAX_IOMMUS)

struct amdvi {
    volatile uint8_t *mmio;
    paddr_t cmd_pa, evt_pa;
    unsigned cmd_tail, evt_head;      /* byte offsets into the buffers */
    uint64_t efr;
};

bool iommu_active;
static struct ivrs_info ivrs;
static uint8_t *ivrs_table;
static uint32_t ivrs_len;
static struct amdvi unit[IVRS_MAX_IOMMUS];
static paddr_t devtab_pa, pt_root_pa, pt_pool_pa;
static unsigned devtab_entries;              /* a multiple of 256 (whole buses) */
static unsigned pt_gib;
static unsigned long events, io_page_faults;
static volatile uint64_t wait_word __attribute__((aligned(8)));
static paddr_t guard_pa;

#define GUARD_WORD 0x756d627261475244ULL   /* "DRGarbmu" */

static uint64_t rdq(struct amdvi *u, unsigned off) { return *(volatile uint64_t *)(u->mmio + off); }
static void wrq(struct amdvi *u, unsigned off, uint64_t v) { *(volatile uint64_t *)(u->mmio + off) = v; }

bool iommu_mmio_overlaps(paddr_t pa, uint64_t len)
{
    for (unsigned i = 0; i < ivrs.niommu; i++)
        if (pa < ivrs.iommu[i].base + AMDVI_MMIO_SIZE && pa + len > ivrs.iommu[i].base)
            return true;
    return false;
}

bool iommu_pci_is_iommu(uint16_t devid)
{
    for (unsigned i = 0; i < ivrs.niommu; i++)
        if (ivrs.iommu[i].devid == devid)
            return true;
    return false;
}

int iommu_prepare(struct frame_alloc *fa, const struct mb2_info *mb, uint64_t ram_top, bool require)
{
    char err[96];
    acpi_init_mb2(mb->rsdp);
    paddr_t ivrs_pa = acpi_find_table("IVRS");      /* checksum and length already checked */
    const uint8_t *hdr = ivrs_pa ? acpi_phys(ivrs_pa, 8) : NULL;
    ivrs_len = hdr ? (uint32_t)hdr[4] | (uint32_t)hdr[5] << 8 | (uint32_t)hdr[6] << 16 | (uint32_t)hdr[7] << 24 : 0;
    ivrs_table = hdr ? acpi_phys(ivrs_pa, ivrs_len) : NULL;
    if (!ivrs_table) {
        if (require) {
            ulog("iommu: no IOMMU (no ACPI IVRS table) and iommu=require: refusing to start");
            return -1;
        }
        ulog("iommu: WARNING: no IOMMU (no ACPI IVRS table): guest DMA can reach Umbra's memory");
        return 0;
    }
    if (ivrs_parse(ivrs_table, ivrs_len, &ivrs, err, sizeof(err)) < 0 || ivrs.niommu == 0) {
        ulog("iommu: %s", ivrs.niommu ? err : "IVRS describes no IOMMU");
        ivrs.niommu = 0;
        if (require) {
            ulog("iommu: iommu=require: refusing to start");
            return -1;
        }
        ulog("iommu: WARNING: IOMMU not usable: guest DMA can reach Umbra's memory");
        return 0;
    }
    for (unsigned i = 0; i < ivrs.niommu; i++) {
        const struct ivrs_iommu *d = &ivrs.iommu[i];
        ulog("iommu: IVRS: IOMMU %u at %#lx, PCI %02x:%02x.%u (capability %#x, segment %u), "
             "IVHD type %#x, %u device entries, device IDs up to %#x",
             i, d->base, d->devid >> 8, (d->devid >> 3) & 31, d->devid & 7, d->cap_off, d->segment,
             d->ivhd_type, d->ndev_entries, d->max_devid);
        if (d->base + AMDVI_MMIO_SIZE > DIRECT_MAP_LIMIT || d->segment != 0) {
            ulog("iommu: IOMMU %u is above 4 GiB or in PCI segment %u: not handled", i, d->segment);
            return -1;
        }
    }
    for (unsigned i = 0; i < ivrs.nivmd; i++)
        ulog("iommu: IVRS: IVMD type %#x flags %#x device %#x [%#lx, +%#lx) (ignored: the "
             "I/O page table maps all guest memory)", ivrs.ivmd[i].type, ivrs.ivmd[i].flags,
             ivrs.ivmd[i].devid, ivrs.ivmd[i].start, ivrs.ivmd[i].len);

    uint64_t top = ram_top < (4ULL << 30) ? (4ULL << 30) : ram_top;
    pt_gib = (unsigned)(ALIGN_UP(top, SZ_1G) / SZ_1G);
    if (pt_gib > MAX_GIB)
        pt_gib = MAX_GIB;
    devtab_entries = DEVTAB_MAX;
    devtab_pa = frame_alloc_n(fa, DEVTAB_MAX / DTE_PER_FRAME);
    if (!devtab_pa) {
        uint32_t maxid = 0;
        for (unsigned i = 0; i < ivrs.niommu; i++)
            maxid = ivrs.iommu[i].max_devid > maxid ? ivrs.iommu[i].max_devid : maxid;
        devtab_entries = (maxid / 256 + 1) * 256;
        devtab_pa = frame_alloc_n(fa, devtab_entries / DTE_PER_FRAME);
        ulog("iommu: no room for a 2 MiB device table: %u entries (buses 0-%u) instead; a device "
             "on a higher bus gets no translation entry", devtab_entries, devtab_entries / 256 - 1);
    }
    pt_root_pa = frame_alloc_n(fa, 1 + pt_gib + MAX_PT);
    pt_pool_pa = pt_root_pa + PAGE_SIZE;
    for (unsigned i = 0; i < ivrs.niommu && devtab_pa && pt_root_pa; i++) {
        unit[i].cmd_pa = frame_alloc_n(fa, 1);
        unit[i].evt_pa = frame_alloc_n(fa, 1);
        if (!unit[i].cmd_pa || !unit[i].evt_pa)
            devtab_pa = 0;
    }
    if (!devtab_pa || !pt_root_pa) {
        ulog("iommu: out of memory for the device table and I/O page tables");
        return -1;
    }
    return 0;
}

void iommu_guard_alloc(struct frame_alloc *fa)
{
    guard_pa = frame_alloc_n(fa, 1);
    if (!guard_pa)
        return;
    uint64_t *g = phys_to_virt(guard_pa);
    for (unsigned i = 0; i < PAGE_SIZE / 8; i++)
        g[i] = GUARD_WORD ^ i;
}

/* Words of the guard page that are no longer what iommu_guard_alloc() wrote. */
static unsigned guard_damage(void)
{
    const volatile uint64_t *g = phys_to_virt(guard_pa);
    unsigned bad = 0;
    for (unsigned i = 0; i < PAGE_SIZE / 8; i++)
        bad += g[i] != (GUARD_WORD ^ i);
    return bad;
}

/* The IOMMU function's PCI status register (segment 0, configuration mechanism #1). */
static uint16_t pci_status(uint16_t devid)
{
    uint32_t a = 0x80000000u | (uint32_t)devid << 8 | 0x04, v;
    __asm__ volatile("outl %0, %1" :: "a"(a), "Nd"((uint16_t)0xcf8));
    __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"((uint16_t)0xcfc));
    return (uint16_t)(v >> 16);
}

/* ---- the I/O page table -------------------------------------------------- */

static bool io_hidden(paddr_t pa)
{
    return (pa >= umbra_layout.reserve_lo && pa < umbra_layout.reserve_hi) ||
           iommu_mmio_overlaps(pa, PAGE_SIZE);
}

/* A 2 MiB region at b: 0 wholly mapped, 1 wholly hidden, 2 mixed (needs 4 KiB entries). */
static int region_kind(paddr_t b)
{
    if ((b + SZ_2M <= umbra_layout.reserve_lo || b >= umbra_layout.reserve_hi) &&
        !iommu_mmio_overlaps(b, SZ_2M))
        return 0;
    bool first = io_hidden(b);
    for (paddr_t pa = b + PAGE_SIZE; pa < b + SZ_2M; pa += PAGE_SIZE)
        if (io_hidden(pa) != first)
            return 2;
    return first ? 1 : 0;
}

/*
 * Fill root -> level 2 -> (2 MiB | level 1 -> 4 KiB).  Invariant: an address
 * translates iff it is below pt_gib GiB and io_hidden() is false for its
 * page, and then to itself.
 */
static int build_page_table(void)
{
    uint64_t *root = phys_to_virt(pt_root_pa);
    unsigned npt = 0;
    memset(root, 0, (1 + pt_gib + MAX_PT) * PAGE_SIZE);
    for (unsigned g = 0; g < 512; g++)
        root[g] = IOPTE_NONE;
    for (unsigned g = 0; g < pt_gib; g++) {
        paddr_t l2_pa = pt_pool_pa + (paddr_t)g * PAGE_SIZE;
        uint64_t *l2 = phys_to_virt(l2_pa);
        root[g] = l2_pa | IOPTE_NL(2) | IOPTE_RW;
        for (unsigned i = 0; i < 512; i++) {
            paddr_t b = (paddr_t)g * SZ_1G + (paddr_t)i * SZ_2M;
            int k = region_kind(b);
            if (k != 2) {
                l2[i] = k ? IOPTE_NONE : (b | IOPTE_NL(0) | IOPTE_RW);
                continue;
            }
            if (npt == MAX_PT) {
                ulog("iommu: more 4 KiB I/O page tables needed than allocated");
                return -1;
            }
            paddr_t l1_pa = pt_pool_pa + (paddr_t)(pt_gib + npt++) * PAGE_SIZE;
            uint64_t *l1 = phys_to_virt(l1_pa);
            for (unsigned j = 0; j < 512; j++) {
                paddr_t pa = b + (paddr_t)j * PAGE_SIZE;
                l1[j] = io_hidden(pa) ? IOPTE_NONE : (pa | IOPTE_NL(0) | IOPTE_RW);
            }
            l2[i] = l1_pa | IOPTE_NL(1) | IOPTE_RW;
        }
    }
    ulog("iommu: I/O page table: [0, %u GiB) 1:1 except the reserve [%#lx, %#lx) and the "
         "IOMMU MMIO; %u 4 KiB tables", pt_gib, umbra_layout.reserve_lo, umbra_layout.reserve_hi, npt);
    return 0;
}

static void build_device_table(void)
{
    uint64_t *dte = phys_to_virt(devtab_pa);
    memset(dte, 0, (size_t)devtab_entries * 32);
    for (unsigned d = 0; d < devtab_entries; d++) {
        dte[4 * d + 0] = DTE_V | DTE_TV | DTE_MODE3 | pt_root_pa | IOPTE_IR | IOPTE_IW;
        dte[4 * d + 1] = DOMAIN_ID;
    }
}

/* ---- commands -------------------------------------------------------------- */

static void cmd_put(struct amdvi *u, uint32_t w0, uint32_t w1, uint32_t w2, uint32_t w3)
{
    volatile uint32_t *c = (volatile uint32_t *)phys_to_virt(u->cmd_pa + u->cmd_tail);
    c[0] = w0;
    c[1] = w1;
    c[2] = w2;
    c[3] = w3;
    u->cmd_tail = (u->cmd_tail + 16) % PAGE_SIZE;
}

/* Post what cmd_put() queued, then a completion wait; spin until the IOMMU stored the word. 0 or -1. */
static int cmd_sync(struct amdvi *u)
{
    paddr_t w = kva_to_pa((const void *)&wait_word);
    wait_word = 0;
    cmd_put(u, (uint32_t)(w & 0xfffffff8) | 1, (1u << 28) | (uint32_t)(w >> 32), 1, 0);
    __asm__ volatile("mfence" ::: "memory");
    wrq(u, MMIO_CMD_TAIL, u->cmd_tail);
    for (unsigned long n = 0; n < 100000000UL; n++) {
        if (wait_word == 1)
            return 0;
        __asm__ volatile("pause");
    }
    return -1;
}

int iommu_enable(void)
{
    if (!ivrs.niommu)
        return 0;
    if (build_page_table() < 0)
        return -1;
    build_device_table();
    for (unsigned i = 0; i < ivrs.niommu; i++) {
        struct amdvi *u = &unit[i];
        u->mmio = phys_to_virt(ivrs.iommu[i].base);
        memset(phys_to_virt(u->cmd_pa), 0, PAGE_SIZE);
        memset(phys_to_virt(u->evt_pa), 0, PAGE_SIZE);
        u->efr = rdq(u, MMIO_EFR);
        wrq(u, MMIO_CONTROL, rdq(u, MMIO_CONTROL) & ~(CTL_IOMMU_EN | CTL_EVTLOG_EN | CTL_CMDBUF_EN));
        wrq(u, MMIO_DEVTAB, devtab_pa | (devtab_entries / DTE_PER_FRAME - 1));
        wrq(u, MMIO_CMDBUF, u->cmd_pa | LEN_256);
        wrq(u, MMIO_EVTLOG, u->evt_pa | LEN_256);
        wrq(u, MMIO_CMD_HEAD, 0);
        wrq(u, MMIO_CMD_TAIL, 0);
        wrq(u, MMIO_EVT_HEAD, 0);
        wrq(u, MMIO_EVT_TAIL, 0);
        wrq(u, MMIO_EXCL_BASE, 0);                 /* exclusion range off (ExEn = 0) */
        wrq(u, MMIO_EXCL_LIMIT, 0);
        wrq(u, MMIO_STATUS, rdq(u, MMIO_STATUS));   /* clear the write-1-to-clear bits */
        u->cmd_tail = u->evt_head = 0;
        wrq(u, MMIO_CONTROL, rdq(u, MMIO_CONTROL) | CTL_CMDBUF_EN | CTL_EVTLOG_EN | CTL_IOMMU_EN);
        /* Drop anything cached from before (firmware may have used the IOMMU). */
        if (u->efr & EFR_IA_SUP) {
            cmd_put(u, 0, 8u << 28, 0, 0);                           /* INVALIDATE_IOMMU_ALL */
        } else {
            for (unsigned d = 0; d <= ivrs.iommu[i].max_devid && d < devtab_entries; d++) {
                cmd_put(u, d, 2u << 28, 0, 0);                       /* INVALIDATE_DEVTAB_ENTRY */
                if ((u->cmd_tail + 32) % PAGE_SIZE == 0 && cmd_sync(u) < 0)
                    break;
            }
            cmd_put(u, 0, (3u << 28) | DOMAIN_ID, 0xfffff000u | 3, 0x7fffffffu);  /* all pages, S+PDE */
        }
        if (cmd_sync(u) < 0) {
            ulog("iommu: IOMMU %u did not complete its invalidation commands", i);
            return -1;
        }
        uint64_t ctl = rdq(u, MMIO_CONTROL);
        ulog("iommu: IOMMU %u on: control=%#lx status=%#lx extended features=%#lx%s", i, ctl,
             rdq(u, MMIO_STATUS), u->efr, (u->efr & EFR_IA_SUP) ? " (invalidate-all)" : "");
        if (!(ctl & CTL_IOMMU_EN))
            return -1;
    }
    iommu_active = true;
    /* Out of the XSDT/RSDT, then its bytes wiped: a guest that scans memory finds nothing either. */
    acpi_hide_table("IVRS");
    memset(ivrs_table, 0, ivrs_len);
    ulog("iommu: IVRS hidden from the guest; the IOMMU MMIO is not guest memory");
    return 0;
}

/* ---- events ------------------------------------------------------------------ */

static const char *event_name(unsigned code)
{
    static const char *const n[] = { "0", "ILLEGAL_DEV_TABLE_ENTRY", "IO_PAGE_FAULT",
        "DEV_TAB_HARDWARE_ERROR", "PAGE_TAB_HARDWARE_ERROR", "ILLEGAL_COMMAND_ERROR",
        "COMMAND_HARDWARE_ERROR", "IOTLB_INV_TIMEOUT", "INVALID_DEVICE_REQUEST" };
    return code < sizeof(n) / sizeof(n[0]) ? n[code] : "reserved";
}

/* Log and consume the events in one IOMMU's log, up to its tail register. */
static unsigned drain(unsigned i)
{
    struct amdvi *u = &unit[i];
    unsigned tail = (unsigned)(rdq(u, MMIO_EVT_TAIL) & (PAGE_SIZE - 1) & ~15u), n = 0;
    while (u->evt_head != tail) {
        volatile uint32_t *e = (volatile uint32_t *)phys_to_virt(u->evt_pa + u->evt_head);
        unsigned code = e[1] >> 28;
        uint64_t addr = e[2] | (uint64_t)e[3] << 32;
        ulog("iommu: event %s device %02x:%02x.%u address %#lx flags %#x (IOMMU %u)", event_name(code),
             (e[0] >> 8) & 0xff, (e[0] >> 3) & 31, e[0] & 7, addr, (e[1] >> 16) & 0xfff, i);
        events++;
        if (code == 2)
            io_page_faults++;
        e[0] = e[1] = e[2] = e[3] = 0;
        u->evt_head = (u->evt_head + 16) % PAGE_SIZE;
        n++;
    }
    wrq(u, MMIO_EVT_HEAD, u->evt_head);
    return n;
}

unsigned iommu_poll_events(void)
{
    unsigned n = 0;
    for (unsigned i = 0; i < ivrs.niommu; i++) {
        const volatile uint32_t *e = phys_to_virt(unit[i].evt_pa + unit[i].evt_head);
        if (unlikely(e[1] != 0))                  /* every event has a non-zero code in 31:28 */
            n += drain(i);
    }
    return n;
}

void iommu_report(void)
{
    if (guard_pa) {
        unsigned bad = guard_damage();
        if (bad)
            ulog("iommu: guard page at %#lx (the reserve's lowest frame) OVERWRITTEN: %u of %lu words "
                 "changed: something (guest DMA) wrote Umbra's memory", guard_pa, bad, PAGE_SIZE / 8);
        else
            ulog("iommu: guard page at %#lx (the reserve's lowest frame) intact", guard_pa);
    }
    if (!iommu_active)
        return;
    for (unsigned i = 0; i < ivrs.niommu; i++) {
        drain(i);
        if (rdq(&unit[i], MMIO_STATUS) & STATUS_EVT_OVF)
            ulog("iommu: IOMMU %u: event log overflowed (events lost)", i);
        uint16_t st = pci_status(ivrs.iommu[i].devid);
        ulog("iommu: IOMMU %u: PCI status %#x%s", i, st,
             st != 0xffff && (st & (1u << 11)) ? " (signalled target abort: it refused a request)" : "");
    }
    ulog("iommu: events=%lu (io-page-faults=%lu)", events, io_page_faults);
}
