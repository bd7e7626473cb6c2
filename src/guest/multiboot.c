/*
 * The Multiboot v1 guest loader (ELF32, or the a.out kludge), and
 * loader_load(), which hands a bzImage to the Linux boot protocol instead
 * (linux.c).  The checks and the RAM map are loader.c's.
 *
 * Guest RAM after loading (all inside one available range of guest_mmap):
 *   [kernel segments] [info | cmdline | loader name | mmap | module list |
 *   module strings] [module 1] [module 2] ...   (each module page-aligned)
 */
#include <umbra/loader.h>
#include <umbra/lib.h>
#include <umbra/linux.h>

struct elf32_ehdr {
    uint8_t ident[16];
    uint16_t type, machine;
    uint32_t version, entry, phoff, shoff, flags;
    uint16_t ehsize, phentsize, phnum, shentsize, shnum, shstrndx;
};
struct elf32_phdr {
    uint32_t type, offset, vaddr, paddr, filesz, memsz, flags, align;
};
#define PT_LOAD 1

static const struct mb1_header *find_header(const uint8_t *img, uint64_t size)
{
    uint64_t lim = size < MB1_HEADER_SEARCH ? size : MB1_HEADER_SEARCH;
    for (uint64_t off = 0; off + sizeof(struct mb1_header) <= lim; off += 4) {
        const struct mb1_header *h = (const void *)(img + off);
        if (h->magic == MB1_HEADER_MAGIC && h->magic + h->flags + h->checksum == 0)
            return h;
    }
    return NULL;
}

/*
 * The a.out kludge, as GRUB loads it: the file from the header's offset
 * minus (header_addr - load_addr), load_end_addr - load_addr bytes of it
 * (the rest of the file when 0), zeros up to bss_end_addr.  A file shorter
 * than that is loaded as far as it goes (GRUB reads short without an error);
 * the missing bytes are zeroed and said so.
 */
static int load_aout(const uint8_t *img, uint64_t size, const struct mb1_header *h,
                     struct guest_boot *gb)
{
    uint64_t hoff = (uint64_t)((const uint8_t *)h - img);
    if (h->load_addr > h->header_addr || h->header_addr - h->load_addr > hoff)
        return loader_error("a.out kludge: load_addr %#x / header_addr %#x inconsistent",
                            h->load_addr, h->header_addr);
    uint64_t foff = hoff - (h->header_addr - h->load_addr);
    if (h->load_end_addr && h->load_end_addr < h->load_addr)
        return loader_error("a.out kludge: load_end_addr below load_addr");
    uint64_t len = h->load_end_addr ? (uint64_t)h->load_end_addr - h->load_addr : size - foff;
    uint64_t have = len < size - foff ? len : size - foff;
    uint64_t end = (uint64_t)h->load_addr + len;
    uint64_t bss_end = h->bss_end_addr ? h->bss_end_addr : end;
    if (bss_end < end)
        return loader_error("a.out kludge: bss_end_addr below the loaded image");
    if (loader_check_image(h->load_addr, bss_end, "kernel image") < 0)
        return -1;
    if (have < len)
        ulog("loader: a.out kludge: the file ends %lu bytes before load_end_addr; zeroed",
             (unsigned long)(len - have));
    if (bss_end > h->load_addr) {
        uint8_t *dst = loader_guest(h->load_addr, bss_end - h->load_addr);
        memcpy(dst, img + foff, have);
        memset(dst + have, 0, bss_end - h->load_addr - have);
    }
    gb->kernel_lo = h->load_addr;
    gb->kernel_hi = bss_end;
    gb->entry = h->entry_addr;
    return 0;
}

/*
 * ELF32, as GRUB's multiboot loads it: every PT_LOAD segment at its paddr
 * (filesz bytes from the file, zeros up to memsz; filesz 0 is all zeros),
 * wherever loader_check_image allows, entry translated from vaddr to paddr
 * through the segment holding it.  ET_EXEC or ET_DYN (loaded unrelocated).
 */
static int load_elf(const uint8_t *img, uint64_t size, struct guest_boot *gb)
{
    const struct elf32_ehdr *eh = (const void *)img;
    if (size < sizeof(*eh) || memcmp(eh->ident, "\177ELF", 4) != 0)
        return loader_error("guest kernel is not an ELF file (and has no a.out kludge)");
    if (eh->ident[4] != 1 || eh->ident[5] != 1 || eh->machine != 3)
        return loader_error("guest kernel is not an ELF32 i386 image");
    if (eh->type != 2 && eh->type != 3)
        return loader_error("guest kernel is not an executable ELF (type %u)", eh->type);
    if (eh->phentsize < sizeof(struct elf32_phdr) ||
        (uint64_t)eh->phoff + (uint64_t)eh->phnum * eh->phentsize > size)
        return loader_error("guest kernel: program headers truncated");

    uint64_t lo = UINT64_MAX, hi = 0;
    bool entry_found = false;
    /* Check every segment before writing any. */
    for (int pass = 0; pass < 2; pass++) {
        for (unsigned i = 0; i < eh->phnum; i++) {
            struct elf32_phdr ph;
            memcpy(&ph, img + eh->phoff + (uint64_t)i * eh->phentsize, sizeof(ph));
            if (ph.type != PT_LOAD || ph.memsz == 0)
                continue;
            if (pass == 0) {
                if (ph.filesz > ph.memsz)
                    return loader_error("segment %u: filesz > memsz", i);
                if ((uint64_t)ph.offset + ph.filesz > size)
                    return loader_error("segment %u truncated (ends at %lu, file has %lu bytes)", i,
                                        (unsigned long)((uint64_t)ph.offset + ph.filesz),
                                        (unsigned long)size);
                if (loader_check_image(ph.paddr, (uint64_t)ph.paddr + ph.memsz, "segment") < 0)
                    return -1;
                if (ph.paddr < lo) lo = ph.paddr;
                if ((uint64_t)ph.paddr + ph.memsz > hi) hi = (uint64_t)ph.paddr + ph.memsz;
                if (!entry_found && eh->entry >= ph.vaddr && eh->entry - ph.vaddr < ph.memsz) {
                    gb->entry = eh->entry - ph.vaddr + ph.paddr;
                    entry_found = true;
                }
            } else {
                uint8_t *dst = loader_guest(ph.paddr, ph.memsz);
                memcpy(dst, img + ph.offset, ph.filesz);
                memset(dst + ph.filesz, 0, ph.memsz - ph.filesz);
            }
        }
        if (pass == 0 && hi == 0)
            return loader_error("guest kernel has no loadable segment");
        if (pass == 0 && !entry_found)
            return loader_error("entry point %#x is in no loadable segment", eh->entry);
    }
    gb->kernel_lo = lo;
    gb->kernel_hi = hi;
    return 0;
}

/* Bump allocator in guest RAM for the info structures. */
static uint32_t place(uint64_t *cursor, uint64_t len, uint64_t align)
{
    uint64_t at = ALIGN_UP(*cursor, align);
    *cursor = at + len;
    return (uint32_t)at;   /* below 4 GiB: loader_check_dest accepted the whole layout */
}

static uint32_t put_string(uint64_t *cursor, const char *s)
{
    uint64_t len = strlen(s) + 1;
    uint32_t at = place(cursor, len, 1);
    memcpy(loader_guest(at, len), s, len);
    return at;
}

int loader_load(struct guest_boot *gb)
{
    const uint8_t *img = gb->mod[0].data;
    uint64_t size = gb->mod[0].size;
    if (linux_is_bzimage(img, size))
        return linux_load(gb);
    const struct mb1_header *h = find_header(img, size);
    if (!h)
        return loader_error("guest module '%s' is not a multiboot v1 kernel (no header in its first 8 KiB)",
                            gb->mod[0].string);
    uint32_t unsupported = h->flags & 0xffff & ~(MB1_FLAG_PAGE_ALIGN | MB1_FLAG_MEMINFO | MB1_FLAG_VIDEO);
    if (unsupported)
        return loader_error("guest kernel asks for unsupported multiboot flags %#x", unsupported);
    int r = (h->flags & MB1_FLAG_AOUT_KLUDGE) ? load_aout(img, size, h, gb) : load_elf(img, size, gb);
    if (r < 0)
        return -1;

    /* The info block and everything it points to, right after the kernel. */
    uint64_t cur = ALIGN_UP(gb->kernel_hi, PAGE_SIZE);
    uint64_t start = cur;
    unsigned nmods = gb->nmod - 1;
    uint32_t info_pa = place(&cur, sizeof(struct mb1_info), 8);
    uint32_t mmap_pa = place(&cur, guest_mmap_n * sizeof(struct mb1_mmap_entry), 8);
    uint32_t mods_pa = place(&cur, nmods * sizeof(struct mb1_module), 8);
    uint64_t strings_need = 64;
    for (unsigned i = 0; i < gb->nmod; i++)
        strings_need += strlen(gb->mod[i].string) + 1;
    uint64_t mod_end = ALIGN_UP(cur + strings_need, PAGE_SIZE);
    for (unsigned i = 1; i < gb->nmod; i++)
        mod_end = ALIGN_UP(mod_end + gb->mod[i].size, PAGE_SIZE);
    if (loader_check_dest(start, mod_end, "boot information and modules") < 0)
        return -1;

    struct mb1_info *info = loader_guest(info_pa, sizeof(*info));
    memset(info, 0, sizeof(*info));
    info->flags = MB1_INFO_MEM | MB1_INFO_CMDLINE | MB1_INFO_MODS | MB1_INFO_MMAP | MB1_INFO_LOADER;
    for (unsigned i = 0; i < guest_mmap_n; i++) {
        const struct mem_range *m = &guest_mmap[i];
        if (m->type != MEM_AVAILABLE)
            continue;
        if (m->base == 0)
            info->mem_lower = (uint32_t)((m->len < 0xA0000 ? m->len : 0xA0000) >> 10);
        if (m->base <= 0x100000 && m->base + m->len > 0x100000) {
            uint64_t top = m->base + m->len;
            if (top > (1ULL << 32)) top = 1ULL << 32;
            info->mem_upper = (uint32_t)((top - 0x100000) >> 10);
        }
    }
    struct mb1_mmap_entry *me = loader_guest(mmap_pa, guest_mmap_n * sizeof(*me));
    for (unsigned i = 0; i < guest_mmap_n; i++)
        me[i] = (struct mb1_mmap_entry){ 20, guest_mmap[i].base, guest_mmap[i].len, guest_mmap[i].type };
    info->mmap_addr = mmap_pa;
    info->mmap_length = guest_mmap_n * sizeof(struct mb1_mmap_entry);
    info->cmdline = put_string(&cur, gb->mod[0].string);
    info->boot_loader_name = put_string(&cur, "umbra");
    info->mods_count = nmods;
    info->mods_addr = mods_pa;
    struct mb1_module *mods = loader_guest(mods_pa, nmods * sizeof(*mods));
    for (unsigned i = 1; i < gb->nmod; i++)
        mods[i - 1].string = put_string(&cur, gb->mod[i].string);
    cur = ALIGN_UP(cur, PAGE_SIZE);
    for (unsigned i = 1; i < gb->nmod; i++) {
        mods[i - 1].start = (uint32_t)cur;
        mods[i - 1].end = (uint32_t)(cur + gb->mod[i].size);
        mods[i - 1].reserved = 0;
        memcpy(loader_guest(cur, gb->mod[i].size), gb->mod[i].data, gb->mod[i].size);
        cur = ALIGN_UP(cur + gb->mod[i].size, PAGE_SIZE);
    }
    gb->info = info_pa;
    ulog("loader: kernel [%#lx, %#lx) entry %#x, %u module(s), info at %#x, cmdline (%lu bytes) \"%s\"",
         (unsigned long)gb->kernel_lo, (unsigned long)gb->kernel_hi, gb->entry, nmods, info_pa,
         (unsigned long)strlen(gb->mod[0].string), gb->mod[0].string);
    return 0;
}
