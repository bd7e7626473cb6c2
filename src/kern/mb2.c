/*
 * Multiboot2 information parsing and memory-map arithmetic.  Pure: it reads
 * only the block it is given, so the hosted test feeds it hand-built blocks.
 * Invariant of every map it produces: sorted by base, non-overlapping (a
 * byte two firmware ranges claim takes the stronger type), no zero-length
 * entries, adjacent entries of one type merged.
 */
#include <umbra/mb.h>
#include <umbra/lib.h>

struct tag { uint32_t type, size; };

static int fail(char *err, size_t errlen, const char *msg)
{
    snprintf(err, errlen, "%s", msg);
    return -1;
}

static uint64_t rd64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }
static uint32_t rd32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }

/* Append a range, merging with the previous one when contiguous and of the same type. */
static int map_add(struct mb2_info *m, uint64_t base, uint64_t len, uint32_t type)
{
    if (len == 0)
        return 0;
    if (m->nmmap > 0) {
        struct mem_range *last = &m->mmap[m->nmmap - 1];
        if (last->type == type && last->base + last->len == base) {
            last->len += len;
            return 0;
        }
    }
    if (m->nmmap == MB_MAX_MMAP)
        return -1;
    m->mmap[m->nmmap++] = (struct mem_range){ base, len, type };
    return 0;
}

/* Which type a byte covered by two ranges gets: anything beats available, else the larger number (as Linux's e820 sanitizer). */
static uint32_t map_stronger(uint32_t a, uint32_t b)
{
    if (a == MEM_AVAILABLE)
        return b;
    if (b == MEM_AVAILABLE)
        return a;
    return a > b ? a : b;
}

/*
 * Sort, resolve overlaps (firmware maps do overlap: each byte takes the
 * stronger type of the ranges covering it) and merge.  Afterwards the map is
 * sorted, non-overlapping, without zero-length entries, adjacent entries of
 * one type merged -- what mmap_remove() and mmap_is_ram() rely on.  -1 if
 * the result has more than MB_MAX_MMAP entries.
 */
static int map_normalize(struct mb2_info *m)
{
    static uint64_t cut[2 * MB_MAX_MMAP];
    static struct mem_range res[MB_MAX_MMAP];
    unsigned nc = 0, nr = 0;
    for (unsigned i = 0; i < m->nmmap; i++) {
        uint64_t end = m->mmap[i].base + m->mmap[i].len;
        if (end < m->mmap[i].base)                /* wraps past 2^64: clip */
            m->mmap[i].len = UINT64_MAX - m->mmap[i].base;
        cut[nc++] = m->mmap[i].base;
        cut[nc++] = m->mmap[i].base + m->mmap[i].len;
    }
    for (unsigned i = 1; i < nc; i++) {           /* insertion sort: n <= 256, once at boot */
        uint64_t v = cut[i];
        unsigned j = i;
        for (; j > 0 && cut[j - 1] > v; j--)
            cut[j] = cut[j - 1];
        cut[j] = v;
    }
    for (unsigned i = 0; i + 1 < nc; i++) {
        uint64_t lo = cut[i], hi = cut[i + 1];
        if (lo == hi)
            continue;
        uint32_t type = 0;
        bool covered = false;
        for (unsigned k = 0; k < m->nmmap; k++)
            if (m->mmap[k].base <= lo && hi <= m->mmap[k].base + m->mmap[k].len) {
                type = covered ? map_stronger(type, m->mmap[k].type) : m->mmap[k].type;
                covered = true;
            }
        if (!covered)
            continue;                             /* a hole */
        if (nr > 0 && res[nr - 1].type == type && res[nr - 1].base + res[nr - 1].len == lo) {
            res[nr - 1].len += hi - lo;
            continue;
        }
        if (nr == MB_MAX_MMAP)
            return -1;
        res[nr++] = (struct mem_range){ lo, hi - lo, type };
    }
    memcpy(m->mmap, res, nr * sizeof(res[0]));
    m->nmmap = nr;
    return 0;
}

static uint32_t efi_type_to_e820(uint32_t t)
{
    switch (t) {
    case 1: case 2: case 3: case 4: case 7:   /* loader/boot-services code+data, conventional */
        return MEM_AVAILABLE;
    case 9:  return MEM_ACPI;
    case 10: return MEM_NVS;
    case 8:  return MEM_BAD;
    default: return MEM_RESERVED;
    }
}

int mb2_parse(const void *p, struct mb2_info *out, char *err, size_t errlen)
{
    const uint8_t *base = p;
    memset(out, 0, sizeof(*out));
    out->cmdline = "";
    out->loader = "";
    uint32_t total = rd32(base);
    if (total < 16 || total > (1u << 24))
        return fail(err, errlen, "multiboot2 info: bad total size");
    out->total_size = total;
    const uint8_t *efi_mmap = NULL, *bios_mmap = NULL;

    uint32_t off = 8;
    for (;;) {
        if ((uint64_t)off + 8 > total)
            return fail(err, errlen, "multiboot2 info: no end tag");
        const uint8_t *t = base + off;
        uint32_t type = rd32(t), size = rd32(t + 4);
        /* 64-bit sums: a size near 4 GiB must not wrap past the check (it looped forever). */
        if (size < 8 || (uint64_t)off + size > total)
            return fail(err, errlen, "multiboot2 info: tag overruns the block");
        if (type == MB2_TAG_END)
            break;
        switch (type) {
        case MB2_TAG_CMDLINE:
            if (size > 8 && t[size - 1] == '\0')
                out->cmdline = (const char *)t + 8;
            break;
        case MB2_TAG_LOADER:
            if (size > 8 && t[size - 1] == '\0')
                out->loader = (const char *)t + 8;
            break;
        case MB2_TAG_MODULE:
            if (size < 17 || t[size - 1] != '\0')
                return fail(err, errlen, "multiboot2 info: bad module tag");
            if (out->nmod == MB_MAX_MODULES)
                return fail(err, errlen, "multiboot2 info: too many modules");
            out->mod[out->nmod].start = rd32(t + 8);
            out->mod[out->nmod].end = rd32(t + 12);
            out->mod[out->nmod].string = (const char *)t + 16;
            if (out->mod[out->nmod].end < out->mod[out->nmod].start)
                return fail(err, errlen, "multiboot2 info: module ends before it starts");
            out->nmod++;
            break;
        case MB2_TAG_MEMINFO:
            if (size >= 16) {
                out->mem_lower = rd32(t + 8);
                out->mem_upper = rd32(t + 12);
            }
            break;
        case MB2_TAG_MMAP:
            bios_mmap = t;
            break;
        case MB2_TAG_EFI_MMAP:
            efi_mmap = t;
            break;
        case MB2_TAG_ACPI_OLD:
        case MB2_TAG_ACPI_NEW:
            if (size >= 8 + 20 && (type == MB2_TAG_ACPI_NEW || !out->rsdp))
                out->rsdp = t + 8;
            break;
        case MB2_TAG_LOAD_BASE:
            if (size >= 12) {
                out->have_load_base = true;
                out->load_base = rd32(t + 8);
            }
            break;
        default:
            break;
        }
        off += (size + 7) & ~7u;
    }

    if (bios_mmap) {
        uint32_t size = rd32(bios_mmap + 4), esz = rd32(bios_mmap + 8);
        if (esz < 24)
            return fail(err, errlen, "multiboot2 info: bad mmap entry size");
        for (uint64_t o = 16; o + esz <= size; o += esz) {
            const uint8_t *e = bios_mmap + o;
            if (map_add(out, rd64(e), rd64(e + 8), rd32(e + 16)) < 0)
                return fail(err, errlen, "multiboot2 info: memory map too long");
        }
    } else if (efi_mmap) {
        uint32_t size = rd32(efi_mmap + 4), dsz = rd32(efi_mmap + 8);
        if (dsz < 40)
            return fail(err, errlen, "multiboot2 info: bad EFI descriptor size");
        for (uint64_t o = 16; o + dsz <= size; o += dsz) {
            const uint8_t *e = efi_mmap + o;
            if (map_add(out, rd64(e + 8), rd64(e + 24) << PAGE_SHIFT, efi_type_to_e820(rd32(e))) < 0)
                return fail(err, errlen, "multiboot2 info: memory map too long");
        }
    } else {
        return fail(err, errlen, "multiboot2 info: no memory map");
    }
    if (map_normalize(out) < 0)
        return fail(err, errlen, "multiboot2 info: memory map too long");
    return 0;
}

unsigned mmap_remove(const struct mem_range *in, unsigned n, uint64_t lo, uint64_t hi,
                     struct mem_range *out, unsigned max)
{
    unsigned k = 0;
#define EMIT(b, l, t) do { if ((l) > 0 && k < max) out[k++] = (struct mem_range){ (b), (l), (t) }; } while (0)
    for (unsigned i = 0; i < n; i++) {
        uint64_t b = in[i].base, e = in[i].base + in[i].len;
        if (in[i].type != MEM_AVAILABLE || e <= lo || b >= hi) {
            EMIT(b, in[i].len, in[i].type);
            continue;
        }
        if (b < lo)
            EMIT(b, lo - b, MEM_AVAILABLE);
        if (e > hi)
            EMIT(hi, e - hi, MEM_AVAILABLE);
    }
#undef EMIT
    return k;
}

bool mmap_is_ram(const struct mem_range *map, unsigned n, uint64_t lo, uint64_t hi)
{
    for (unsigned i = 0; i < n; i++)
        if (map[i].type == MEM_AVAILABLE && map[i].base <= lo && hi <= map[i].base + map[i].len)
            return true;
    return false;
}
