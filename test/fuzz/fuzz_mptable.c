/*
 * libFuzzer target: the MP table reader and rewriter of src/guest/acpi.c
 * (mptable_cpus, mptable_keep_one; src/kern/smp.c calls them to find every
 * CPU and then show the guest only the boot CPU), behind acpi_phys().
 *
 * Input: [u8 fix][guest memory from 0xF0000] (at most 64 KiB: the BIOS area
 * the floating-pointer scan reads; the EBDA and 0x9FC00 are not backed).
 * Unless fix says otherwise the target makes the checksums right, so
 * mutations reach the entries: bit 0 set keeps the input's floating-pointer
 * checksums, bit 1 the base table's; bits 2-7 choose which listed CPU to keep.
 * The memory is a buffer of exactly the input's length, so ASan sees any
 * access past its end.
 *
 * Oracles (acpi.h) beyond ASan/UBSan, whenever the table lists n > 0 CPUs
 * and keep is one of them:
 *   - keep_one cuts n - 1 processor entries and then exactly keep is listed,
 *     with the usable flag of its first entry (the table stays valid: the
 *     base checksum sums to 0 again);
 *   - the other entries stay, in order, byte for byte; the extended table
 *     (its length in the header unchanged) follows the new base table;
 *   - no byte outside [table, table + old length + extended length) changes
 *     (the floating pointer included);
 *   - keep_one of an ID not listed returns -1 and changes no byte.
 * (A floating pointer inside the table's own bytes, or a valid "_MP_" that
 * the extended table's move brings onto a 16-byte boundary ahead of the
 * real one, is no layout firmware makes: there only the cut count and the
 * bytes outside the table are checked.)
 */
#include <umbra/acpi.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define BASE 0xf0000u
#define SPAN 0x10000u
#define WINDOW_BASE BASE
#include "acpi_window.h"

static uint16_t g16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t g32(const uint8_t *p) { return (uint32_t)g16(p) | (uint32_t)g16(p + 2) << 16; }
static uint8_t sum(const uint8_t *p, size_t n)
{
    uint8_t s = 0;
    while (n--)
        s = (uint8_t)(s + *p++);
    return s;
}

/* The floating pointer the scan takes: the first 16-aligned "_MP_", spec rev 1, summing to 0. */
static uint8_t *first_mpf(void)
{
    for (size_t o = 0; o + 16 <= mem_len; o += 16)
        if (!memcmp(mem + o, "_MP_", 4) && mem[o + 8] == 1 && sum(mem + o, 16) == 0)
            return mem + o;
    return NULL;
}

/* The non-processor entries within the first cnt entries and len bytes, concatenated into out. */
static size_t others(const uint8_t *t, uint32_t len, uint8_t *out)
{
    size_t n = 0;
    uint32_t off = 44;
    for (unsigned i = 0, cnt = g16(t + 34); i < cnt && off < len; i++) {
        unsigned el = t[off] == 0 ? 20 : 8;
        if (off + el > len)
            break;
        if (t[off] != 0) {
            memcpy(out + n, t + off, el);
            n += el;
        }
        off += el;
    }
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > SPAN + 1)
        return 0;
    uint8_t fix = data[0];
    mem_len = size - 1;
    mem = malloc(mem_len ? mem_len : 1);
    memcpy(mem, data + 1, mem_len);
    if (!(fix & 1))
        for (size_t o = 0; o + 16 <= mem_len; o += 16)
            if (!memcmp(mem + o, "_MP_", 4) && mem[o + 8] == 1) {
                mem[o + 10] = 0;
                mem[o + 10] = (uint8_t)-sum(mem + o, 16);
            }
    uint8_t *f = first_mpf();
    uint8_t *h = f ? acpi_phys(g32(f + 4), 44) : NULL;
    if (h && !(fix & 2) && !memcmp(h, "PCMP", 4) && acpi_phys(g32(f + 4), g16(h + 4)) && g16(h + 4) > 7) {
        h[7] = 0;
        h[7] = (uint8_t)-sum(h, g16(h + 4));
    }

    struct acpi_cpu cpus[ACPI_MAX_CPUS], after[ACPI_MAX_CPUS];
    int n = mptable_cpus(cpus, ACPI_MAX_CPUS);
    if (n < -1)
        abort();
    uint8_t *before = malloc(mem_len ? mem_len : 1);
    memcpy(before, mem, mem_len);
    /* An ID no entry has (APIC IDs in the MP table are 8 bits) is refused and nothing moves. */
    if (mptable_keep_one(0x100 + fix) != -1 || memcmp(before, mem, mem_len))
        abort();
    if (n > 0) {
        if (!h || memcmp(h, "PCMP", 4))
            abort();                            /* listed CPUs without the table the scan finds */
        struct acpi_cpu k = cpus[(unsigned)(fix >> 2) % (unsigned)(n < ACPI_MAX_CPUS ? n : ACPI_MAX_CPUS)];
        for (int i = 0; i < n && i < ACPI_MAX_CPUS; i++)
            if (cpus[i].apic_id == k.apic_id) {
                k = cpus[i];                    /* the first entry with that ID is the one kept */
                break;
            }
        uint32_t len = g16(h + 4), ext = g16(h + 40);
        size_t t_off = (size_t)(h - mem), span = len + ext;
        uint8_t *oth = malloc(len), *oth2 = malloc(len);
        size_t no = others(h, len, oth);
        int cut = mptable_keep_one(k.apic_id);
        if (cut != n - 1)
            abort();
        /* A floating pointer inside the table it points at, or an "_MP_" inside the extended
         * table that moves down onto a 16-byte boundary before the real one (no firmware does
         * either), changes which table the scan finds: then only the bytes outside the table
         * are checked. */
        size_t f_off = (size_t)(f - mem);
        bool overlap = (f_off + 16 > t_off && f_off < t_off + span) || first_mpf() != f;
        int m = mptable_cpus(after, ACPI_MAX_CPUS);
        if (!overlap && (m != 1 || after[0].apic_id != k.apic_id || after[0].usable != k.usable))
            abort();
        uint32_t nlen = g16(h + 4);
        if (g16(h + 40) != ext || nlen > len || sum(h, nlen) != 0)
            abort();
        if (!overlap && (others(h, nlen, oth2) != no || memcmp(oth, oth2, no)))
            abort();                            /* the other entries lost, changed or reordered */
        if (!overlap && memcmp(h + nlen, before + t_off + len, ext))
            abort();                            /* the extended table did not follow */
        if (memcmp(mem, before, t_off) ||
            memcmp(mem + t_off + span, before + t_off + span, mem_len - t_off - span))
            abort();                            /* a byte outside the table changed */
        free(oth);
        free(oth2);
    }
    free(before);
    free(mem);
    return 0;
}
