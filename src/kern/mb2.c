/*
 * Multiboot2 information parsing and memory-map arithmetic.  Pure: it reads
 * only the block it is given, so the hosted test feeds it hand-built blocks.
 * Invariant of every map it produces: sorted by base, no zero-length
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

static void map_sort_merge(struct mb2_info *m)
{
    for (unsigned i = 1; i < m->nmmap; i++) {
        struct mem_range r = m->mmap[i];
        unsigned j = i;
        for (; j > 0 && m->mmap[j - 1].base > r.base; j--)
            m->mmap[j] = m->mmap[j - 1];
        m->mmap[j] = r;
    }
    unsigned n = 0;
    for (unsigned i = 0; i < m->nmmap; i++) {
        struct mem_range *r = &m->mmap[i];
        if (n > 0 && m->mmap[n - 1].type == r->type &&
            m->mmap[n - 1].base + m->mmap[n - 1].len == r->base)
            m->mmap[n - 1].len += r->len;
        else
            m->mmap[n++] = *r;
    }
    m->nmmap = n;
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
        if (off + 8 > total)
            return fail(err, errlen, "multiboot2 info: no end tag");
        const uint8_t *t = base + off;
        uint32_t type = rd32(t), size = rd32(t + 4);
        if (size < 8 || off + size > total)
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
            /* RSDP: +16 RSDT address (u32), +15 revision, +24 XSDT address (u64, revision >= 2). */
            if (size >= 8 + 20 && memcmp(t + 8, "RSD PTR ", 8) == 0) {
                out->acpi_rsdt = rd32(t + 8 + 16);
                if (t[8 + 15] >= 2 && size >= 8 + 32)
                    out->acpi_xsdt = rd64(t + 8 + 24);
            }
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
        for (uint32_t o = 16; o + esz <= size; o += esz) {
            const uint8_t *e = bios_mmap + o;
            if (map_add(out, rd64(e), rd64(e + 8), rd32(e + 16)) < 0)
                return fail(err, errlen, "multiboot2 info: memory map too long");
        }
    } else if (efi_mmap) {
        uint32_t size = rd32(efi_mmap + 4), dsz = rd32(efi_mmap + 8);
        if (dsz < 40)
            return fail(err, errlen, "multiboot2 info: bad EFI descriptor size");
        for (uint32_t o = 16; o + dsz <= size; o += dsz) {
            const uint8_t *e = efi_mmap + o;
            if (map_add(out, rd64(e + 8), rd64(e + 24) << PAGE_SHIFT, efi_type_to_e820(rd32(e))) < 0)
                return fail(err, errlen, "multiboot2 info: memory map too long");
        }
    } else {
        return fail(err, errlen, "multiboot2 info: no memory map");
    }
    map_sort_merge(out);
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
