/*
 * libFuzzer target: the ACPI IVRS reader (src/iommu/ivrs.c, ivrs_parse), the
 * table the firmware describes each AMD IOMMU in.
 *
 * Input: [u8 fix][the table].  Unless fix says otherwise the target writes
 * the signature, the length field (the input's length) and the checksum the
 * parser checks first, so mutations reach the blocks and device entries:
 *   fix bit 0: keep the input's signature; bit 1: its length field;
 *   bit 2: its checksum byte.
 * The table is copied into a buffer of exactly its length, so ASan sees any
 * read past the end (ivrs.c's invariant: nothing is read outside [t, t+len)).
 *
 * Oracles (iommu.h) beyond ASan/UBSan:
 *   - the result is 0 or -1; -1 leaves "IVRS: ..." in err, NUL-terminated;
 *   - on 0: 1..IVRS_MAX_IOMMUS distinct IOMMUs, each base non-zero and 16 KiB
 *     aligned, of the block type it came from (0x10, 0x11, 0x40), with the
 *     device ID, capability offset and segment of the FIRST block naming
 *     that base, max_devid <= 0xffff; nivmd = min(IVMD blocks, IVRS_MAX_IVMD),
 *     each a copy of its block -- checked against a walk of the block
 *     headers done here (the block chain only, not the device entries);
 *   - a table with a wrong checksum, length or signature is refused;
 *   - parsing twice gives the same answer (no state kept between calls).
 */
#include <umbra/iommu.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint16_t g16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint64_t g64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

/* Check an accepted table's result against the block chain (the parser already walked it safely). */
static void check_blocks(const uint8_t *t, size_t len, const struct ivrs_info *o)
{
    unsigned nu = 0, nm = 0;
    struct ivrs_iommu seen[IVRS_MAX_IOMMUS];
    for (size_t off = 48; off < len; off += g16(t + off + 2)) {
        uint8_t type = t[off];
        if (type == 0x10 || type == 0x11 || type == 0x40) {
            uint64_t base = g64(t + off + 8);
            unsigned i;
            for (i = 0; i < nu && seen[i].base != base; i++)
                ;
            if (i == nu) {
                if (nu == IVRS_MAX_IOMMUS)
                    abort();                    /* accepted more IOMMUs than it holds */
                seen[nu++] = (struct ivrs_iommu){ .base = base, .devid = g16(t + off + 4),
                                                  .cap_off = g16(t + off + 6),
                                                  .segment = g16(t + off + 16), .ivhd_type = type };
            }
        } else if (type >= 0x20 && type <= 0x22) {
            if (nm < IVRS_MAX_IVMD) {
                const struct ivrs_ivmd *m = &o->ivmd[nm];
                if (m->type != type || m->flags != t[off + 1] || m->devid != g16(t + off + 4) ||
                    m->start != g64(t + off + 16) || m->len != g64(t + off + 24))
                    abort();
            }
            nm++;
        }
    }
    if (o->niommu != nu || o->nivmd != (nm < IVRS_MAX_IVMD ? nm : IVRS_MAX_IVMD))
        abort();
    for (unsigned i = 0; i < nu; i++) {
        const struct ivrs_iommu *u = &o->iommu[i];
        if (u->base != seen[i].base || !u->base || (u->base & (AMDVI_MMIO_SIZE - 1)) ||
            u->devid != seen[i].devid || u->cap_off != seen[i].cap_off ||
            u->segment != seen[i].segment || u->ivhd_type != seen[i].ivhd_type || u->max_devid > 0xffff)
            abort();
    }
    if (o->ivinfo != ((uint32_t)t[36] | (uint32_t)t[37] << 8 | (uint32_t)t[38] << 16 | (uint32_t)t[39] << 24))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 65536 + 1)
        return 0;
    uint8_t fix = data[0];
    size_t len = size - 1;
    uint8_t *t = malloc(len ? len : 1);
    memcpy(t, data + 1, len);
    if (len >= 4 && !(fix & 1))
        memcpy(t, "IVRS", 4);
    if (len >= 8 && !(fix & 2)) {
        t[4] = (uint8_t)len; t[5] = (uint8_t)(len >> 8); t[6] = (uint8_t)(len >> 16); t[7] = 0;
    }
    uint8_t sum = 0;
    if (len >= 10 && !(fix & 4)) {
        t[9] = 0;
        for (size_t i = 0; i < len; i++)
            sum = (uint8_t)(sum + t[i]);
        t[9] = (uint8_t)-sum;
    }
    bool valid_frame = len >= 48 && !memcmp(t, "IVRS", 4) &&
                       ((uint32_t)t[4] | (uint32_t)t[5] << 8 | (uint32_t)t[6] << 16 | (uint32_t)t[7] << 24) == len;
    sum = 0;
    for (size_t i = 0; i < len; i++)
        sum = (uint8_t)(sum + t[i]);

    struct ivrs_info a, b;
    char err[128], err2[128];
    memset(err, 0x5a, sizeof(err));
    int rc = ivrs_parse(t, len, &a, err, sizeof(err));
    if (rc != 0 && rc != -1)
        abort();
    if (rc == -1 && (!memchr(err, 0, sizeof(err)) || strncmp(err, "IVRS: ", 6)))
        abort();
    if (rc == 0 && (!valid_frame || sum != 0))
        abort();                                /* a bad frame or checksum accepted */
    if (rc == 0)
        check_blocks(t, len, &a);
    int rc2 = ivrs_parse(t, len, &b, err2, sizeof(err2));
    if (rc2 != rc || (rc == 0 && memcmp(&a, &b, sizeof(a))) || (rc == -1 && strcmp(err, err2)))
        abort();
    free(t);
    return 0;
}
