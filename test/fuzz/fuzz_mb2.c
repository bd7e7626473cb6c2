/*
 * libFuzzer target: the multiboot2 information parser and the memory-map
 * arithmetic (src/kern/mb2.c).  Input: the info block (copied 8-aligned,
 * its total_size as the input says).  Oracles: ASan/UBSan (the parser must
 * read only inside the block it is given: the copy is exactly input-sized),
 * and the invariants mb2.c states: a parsed map is sorted by base, has no
 * zero-length entry, adjacent entries of one type merged; strings lie
 * inside the block; mmap_remove leaves no available byte inside the
 * removed range and keeps the map sorted.
 */
#include <umbra/mb.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct mb2_info info;
    static struct mem_range out[MB_MAX_MMAP];
    char err[96];
    if (size < 4)
        return 0;
    uint64_t *blk = malloc((size + 7) & ~(size_t)7);
    memcpy(blk, data, size);
    uint32_t total;
    memcpy(&total, blk, 4);
    if (total > size) {                        /* the block may not claim more than exists */
        total = (uint32_t)size;
        memcpy(blk, &total, 4);
    }
    if (mb2_parse(blk, &info, err, sizeof(err)) == 0) {
        const char *lo = (const char *)blk, *hi = lo + total;
        if (info.cmdline[0] && (info.cmdline < lo || info.cmdline + strlen(info.cmdline) >= hi))
            abort();
        for (unsigned i = 0; i < info.nmod; i++)
            if (info.mod[i].string < lo || info.mod[i].string + strlen(info.mod[i].string) >= hi ||
                info.mod[i].end < info.mod[i].start)
                abort();
        for (unsigned i = 0; i < info.nmmap; i++) {
            if (info.mmap[i].len == 0)
                abort();
            if (i && info.mmap[i - 1].base > info.mmap[i].base)
                abort();
            if (i && info.mmap[i - 1].type == info.mmap[i].type &&
                info.mmap[i - 1].base + info.mmap[i - 1].len == info.mmap[i].base)
                abort();
        }
        uint64_t rlo = 0x1000000, rhi = 0x1400000;
        unsigned n = mmap_remove(info.mmap, info.nmmap, rlo, rhi, out, MB_MAX_MMAP);
        for (unsigned i = 0; i < n; i++) {
            if (out[i].type == MEM_AVAILABLE && out[i].base < rhi && out[i].base + out[i].len > rlo)
                abort();
            if (i && out[i - 1].base > out[i].base)
                abort();
        }
        if (mmap_is_ram(out, n, rlo, rlo + 1))
            abort();
    }
    free(blk);
    return 0;
}
