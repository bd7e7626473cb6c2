/*
 * The ACPI IVRS table, parsed (AMD IOMMU spec 48882, "IVRS"): pure, compiled
 * into umbra.elf and the hosted test unchanged.
 *
 *   offset 0   ACPI header, 36 bytes ("IVRS", length, revision, checksum ...)
 *   offset 36  IVinfo (u32), 8 reserved bytes
 *   offset 48  blocks, each: type (u8), flags (u8), length (u16) ...
 *     IVHD 0x10: header 24 bytes; 0x11, 0x40: header 40 bytes.  Header:
 *       +4 DeviceID of the IOMMU, +6 capability offset, +8 MMIO base (u64),
 *       +16 PCI segment; then device entries up to the block's length.
 *     IVMD 0x20 (all devices), 0x21 (one), 0x22 (a range): 32 bytes,
 *       +4 DeviceID, +16 start (u64), +24 length (u64).
 *   Device entries: type < 0x40: 4 bytes (type, DeviceID u16, data);
 *     0x40-0x7f: 8 bytes; 0x80 and above: variable -- only 0xf0 (ACPI HID)
 *     is defined: 22 bytes plus the UID length at +21.
 *     0x01 "all devices", 0x02/0x42/0x46/0x48 name one device ID,
 *     0x03/0x43/0x47 start a range that the next 0x04 ends.
 * Invariant kept: nothing is read outside [t, t + len), whatever the bytes.
 */
#include <umbra/iommu.h>
#include <umbra/lib.h>

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t rd32(const uint8_t *p) { return (uint32_t)rd16(p) | (uint32_t)rd16(p + 2) << 16; }
static uint64_t rd64(const uint8_t *p) { return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32; }

static int fail(char *err, size_t errlen, const char *why, size_t off)
{
    snprintf(err, errlen, "IVRS: %s (offset %#lx)", why, (unsigned long)off);
    return -1;
}

static void note_devid(struct ivrs_iommu *u, uint32_t id)
{
    if (id > u->max_devid)
        u->max_devid = id;
    u->ndev_entries++;
}

/* Walk the device entries of one IVHD block [p, end) into u. */
static int ivhd_entries(const uint8_t *t, size_t off, size_t end, struct ivrs_iommu *u,
                        char *err, size_t errlen)
{
    while (off < end) {
        uint8_t type = t[off];
        size_t elen = type < 0x40 ? 4 : type < 0x80 ? 8 : 0;
        if (type == 0xf0) {
            if (off + 22 > end)
                return fail(err, errlen, "ACPI HID device entry runs past its block", off);
            elen = 22 + t[off + 21];
        } else if (type >= 0x80) {
            return fail(err, errlen, "unknown variable-length device entry", off);
        }
        if (off + elen > end)
            return fail(err, errlen, "device entry runs past its block", off);
        uint16_t id = rd16(t + off + 1);
        switch (type) {
        case 0x00:
            break;                                      /* padding */
        case 0x01:
            note_devid(u, 0xffff);                      /* every device ID */
            break;
        case 0x02: case 0x42: case 0x46: case 0x48:
            /* 0x48 (IOAPIC/HPET) names its device ID at +5, the others at +1. */
            note_devid(u, type == 0x48 ? rd16(t + off + 5) : id);
            if (type == 0x42)
                note_devid(u, rd16(t + off + 5));       /* the alias used */
            break;
        case 0x03: case 0x43: case 0x47: {
            size_t e = off + elen;
            if (e + 4 > end || t[e] != 0x04)
                return fail(err, errlen, "start of range without its end entry", off);
            if (type == 0x43)
                note_devid(u, rd16(t + off + 5));
            note_devid(u, id);
            note_devid(u, rd16(t + e + 1));
            elen += 4;
            break;
        }
        case 0x04:
            return fail(err, errlen, "end of range without a start", off);
        default:
            u->ndev_entries++;                          /* ACPI HID and the rest: no BDF */
            break;
        }
        off += elen;
    }
    return 0;
}

int ivrs_parse(const uint8_t *t, size_t len, struct ivrs_info *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    if (len < 48)
        return fail(err, errlen, "shorter than its fixed part", 0);
    if (memcmp(t, "IVRS", 4) != 0)
        return fail(err, errlen, "signature is not IVRS", 0);
    if (rd32(t + 4) != len)
        return fail(err, errlen, "header length differs from the table's", 4);
    uint8_t sum = 0;
    for (size_t i = 0; i < len; i++)
        sum = (uint8_t)(sum + t[i]);
    if (sum != 0)
        return fail(err, errlen, "bad checksum", 9);
    out->ivinfo = rd32(t + 36);

    size_t off = 48;
    while (off < len) {
        if (off + 4 > len)
            return fail(err, errlen, "block header runs past the table", off);
        uint8_t type = t[off];
        uint16_t blen = rd16(t + off + 2);
        if (blen < 4 || off + blen > len)
            return fail(err, errlen, "block length out of the table", off);
        if (type == 0x10 || type == 0x11 || type == 0x40) {
            size_t hlen = type == 0x10 ? 24 : 40;
            if (blen < hlen)
                return fail(err, errlen, "IVHD block shorter than its header", off);
            paddr_t base = rd64(t + off + 8);
            if (!base || (base & (AMDVI_MMIO_SIZE - 1)))
                return fail(err, errlen, "IVHD base address zero or not 16 KiB aligned", off + 8);
            struct ivrs_iommu *u = NULL;
            for (unsigned i = 0; i < out->niommu; i++)
                if (out->iommu[i].base == base)
                    u = &out->iommu[i];
            if (!u) {
                if (out->niommu == IVRS_MAX_IOMMUS)
                    return fail(err, errlen, "more IOMMUs than Umbra handles", off);
                u = &out->iommu[out->niommu++];
                u->base = base;
                u->devid = rd16(t + off + 4);
                u->cap_off = rd16(t + off + 6);
                u->segment = rd16(t + off + 16);
                u->ivhd_type = type;
            }
            if (ivhd_entries(t, off + hlen, off + blen, u, err, errlen) < 0)
                return -1;
        } else if (type >= 0x20 && type <= 0x22) {
            if (blen < 32)
                return fail(err, errlen, "IVMD block shorter than 32 bytes", off);
            if (out->nivmd < IVRS_MAX_IVMD) {
                struct ivrs_ivmd *m = &out->ivmd[out->nivmd++];
                m->type = type;
                m->flags = t[off + 1];
                m->devid = rd16(t + off + 4);
                m->start = rd64(t + off + 16);
                m->len = rd64(t + off + 24);
            }
        }
        /* Other block types are skipped by their length, as the spec asks. */
        off += blen;
    }
    return 0;
}
