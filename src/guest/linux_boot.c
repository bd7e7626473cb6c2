/*
 * Linux boot-protocol loader, the pure half (linux.c adds the
 * guest hooks, power.c the power end).  It reads only the staged image
 * and guest_mmap / umbra_layout, and writes guest memory only through
 * loader_guest(), so the same code runs hosted under the fuzzer
 * (test/fuzz/fuzz_linux.c).
 *
 * Loading (Documentation/x86/boot.rst, 32-bit boot protocol): the image is
 * [boot sector + setup: (setup_sects + 1) * 512 bytes][protected-mode part].
 * Umbra runs none of the real-mode setup code; it does what that code would
 * have left behind: a zeroed boot_params ("zero page") holding a copy of the
 * setup header, a command line, the initrd, an e820 map, and a jump to the
 * protected-mode part in flat 32-bit mode, paging and interrupts off,
 * CS = 0x10, DS/ES/SS = 0x18, ESI = boot_params, EBX = EBP = EDI = 0.
 *
 * Guest RAM after loading (all inside guest_mmap's available ranges):
 *   0x90000 boot_params | 0x91000 GDT (0x10, 0x18 flat), at 0x91100 a copy
 *   of the firmware's RSDP (boot_params.acpi_rsdp_addr, protocol 2.14+: under
 *   UEFI no RSDP lies in the BIOS area; Linux reserves the first MiB) |
 *   0x92000 command line
 *   [load, load + init_size)   kernel: pref_address for a relocatable kernel
 *                              when that fits, else code32_start
 *   initrd                     as high as guest RAM and initrd_addr_max allow,
 *                              clear of the kernel's init_size window
 * The modules were staged in Umbra's reserve (loader_stage) before any of
 * this is written, so no load overwrites its own source.  Every check comes
 * before the first write.
 *
 * The command line is the module string exactly as written (GRUB's `linux`
 * command would prepend "BOOT_IMAGE=PATH "; module2 gives Umbra no path, so
 * Umbra prepends nothing), at most the kernel's cmdline_size bytes: a longer
 * one is refused with that limit named, never cut.
 */
#include <umbra/linux.h>
#include <umbra/lib.h>

#define CMDLINE_PA     LX_CMDLINE_PA
#define BOOT_AREA_END  (LX_CMDLINE_PA + LX_CMDLINE_AREA)

static inline uint16_t rd16(const uint8_t *p, unsigned off) { uint16_t v; memcpy(&v, p + off, 2); return v; }
static inline uint32_t rd32(const uint8_t *p, unsigned off) { uint32_t v; memcpy(&v, p + off, 4); return v; }
static inline uint64_t rd64(const uint8_t *p, unsigned off) { uint64_t v; memcpy(&v, p + off, 8); return v; }
static inline void wr32(uint8_t *p, unsigned off, uint32_t v) { memcpy(p + off, &v, 4); }

bool linux_is_bzimage(const uint8_t *img, uint64_t size)
{
    return size >= LX_HEADER + 4 && memcmp(img + LX_HEADER, "HdrS", 4) == 0;
}

/* [lo, hi) is guest RAM Umbra may load into (quiet form of loader_check_dest). */
static bool fits(uint64_t lo, uint64_t hi)
{
    if (hi < lo || hi > (1ULL << 32))
        return false;
    if (lo < umbra_layout.reserve_hi && hi > umbra_layout.reserve_lo)
        return false;
    return mmap_is_ram(guest_mmap, guest_mmap_n, lo, hi);
}

static bool overlaps(uint64_t a_lo, uint64_t a_hi, uint64_t b_lo, uint64_t b_hi)
{
    return a_lo < b_hi && b_lo < a_hi;
}

/*
 * The highest page-aligned [at, at + size) in guest RAM below `limit`, at or
 * above 1 MiB, clear of [avoid_lo, avoid_hi).  0 if there is none.
 */
static uint64_t place_high(uint64_t size, uint64_t limit, uint64_t avoid_lo, uint64_t avoid_hi)
{
    for (unsigned i = guest_mmap_n; i-- > 0;) {
        const struct mem_range *m = &guest_mmap[i];
        if (m->type != MEM_AVAILABLE)
            continue;
        uint64_t lo = m->base < 0x100000 ? 0x100000 : m->base;
        uint64_t hi = m->base + m->len;
        if (hi > limit)
            hi = limit;
        /* Try below the end of the range, then below the avoided window. */
        uint64_t tops[2] = { hi, avoid_lo < hi ? avoid_lo : hi };
        for (unsigned t = 0; t < 2; t++) {
            if (tops[t] < lo + size)
                continue;
            uint64_t at = (tops[t] - size) & ~(uint64_t)(PAGE_SIZE - 1);
            if (at >= lo && !overlaps(at, at + size, avoid_lo, avoid_hi) && fits(at, at + size))
                return at;
        }
    }
    return 0;
}

/*
 * The e820 table: guest_mmap plus Umbra's reserve as "reserved" (not a hole
 * PCI could claim).  The caller has checked guest_mmap_n + 1 <= LX_E820_MAX.
 */
static int build_e820(uint8_t *bp)
{
    unsigned n = 0;
    bool reserve_done = false;
    uint8_t *tab = bp + LX_E820_TABLE;
    for (unsigned i = 0; i <= guest_mmap_n; i++) {
        if (!reserve_done && (i == guest_mmap_n || guest_mmap[i].base > umbra_layout.reserve_lo)) {
            if (n == LX_E820_MAX)
                return -1;
            uint64_t e[2] = { umbra_layout.reserve_lo, umbra_layout.reserve_hi - umbra_layout.reserve_lo };
            memcpy(tab + 20 * n, e, 16);
            wr32(tab + 20 * n, 16, MEM_RESERVED);
            n++;
            reserve_done = true;
        }
        if (i == guest_mmap_n)
            break;
        if (n == LX_E820_MAX)
            return -1;
        uint64_t e[2] = { guest_mmap[i].base, guest_mmap[i].len };
        memcpy(tab + 20 * n, e, 16);
        wr32(tab + 20 * n, 16, guest_mmap[i].type);
        n++;
    }
    bp[LX_E820_ENTRIES] = (uint8_t)n;
    return (int)n;
}

int linux_boot_load(struct guest_boot *gb)
{
    const uint8_t *img = gb->mod[0].data;
    uint64_t size = gb->mod[0].size;

    if (size < 0x1000)
        return loader_error("Linux image truncated (%lu bytes)", (unsigned long)size);
    uint16_t version = rd16(img, LX_VERSION);
    if (version < 0x206)
        return loader_error("Linux boot protocol %u.%02u is older than 2.06", version >> 8, version & 0xff);
    if (!(img[LX_LOADFLAGS] & LX_LOADED_HIGH))
        return loader_error("Linux image is a zImage (loads low): only bzImage is supported");
    unsigned setup_sects = img[LX_SETUP_SECTS] ? img[LX_SETUP_SECTS] : 4;
    uint64_t setup_len = (uint64_t)(setup_sects + 1) * 512;
    uint64_t sys_len = (uint64_t)rd32(img, LX_SYSSIZE) * 16;
    /* syssize counts 16-byte paragraphs, the last one possibly partial. */
    if (size <= setup_len || size - setup_len + 15 < sys_len)
        return loader_error("Linux image truncated: %lu bytes, setup %lu + kernel %lu expected",
                            (unsigned long)size, (unsigned long)setup_len, (unsigned long)sys_len);
    uint64_t pm_len = size - setup_len;
    unsigned hdr_end = LX_HEADER + img[LX_JUMP + 1];      /* the short jump at 0x200 skips the header */
    if (hdr_end > setup_len || hdr_end > PAGE_SIZE)
        return loader_error("Linux setup header runs past the setup code");

    uint64_t need = version >= 0x20a ? rd32(img, LX_INIT_SIZE) : 0;
    if (need < pm_len)
        need = pm_len;
    bool relocatable = version >= 0x205 && img[LX_RELOCATABLE];
    uint64_t load = rd32(img, LX_CODE32_START);
    uint64_t pref = version >= 0x20a ? rd64(img, LX_PREF_ADDRESS) : load;
    if (relocatable && fits(pref, pref + need))
        load = pref;
    else if (loader_check_dest(load, load + need, "Linux kernel (init_size window)") < 0)
        return -1;
    if (loader_check_dest(LX_BOOT_PARAMS_PA, BOOT_AREA_END, "boot_params, GDT and command line") < 0)
        return -1;
    if (overlaps(load, load + need, LX_BOOT_PARAMS_PA, BOOT_AREA_END))
        return loader_error("Linux kernel [%#lx, %#lx) overlaps boot_params [%#x, %#x)", (unsigned long)load,
                            (unsigned long)(load + need), LX_BOOT_PARAMS_PA, BOOT_AREA_END);

    /* The command line: the module string, whole (see the top of this file). */
    const char *cmd = gb->mod[0].string;
    size_t cmd_len = strlen(cmd);
    uint32_t cmd_max = rd32(img, LX_CMDLINE_SIZE);
    if (cmd_len > cmd_max)
        return loader_error("Linux command line (%lu bytes) is longer than the kernel's cmdline_size %u",
                            (unsigned long)cmd_len, cmd_max);
    if (cmd_len >= LX_CMDLINE_AREA)
        return loader_error("Linux command line (%lu bytes) is longer than Umbra's area for it (%u)",
                            (unsigned long)cmd_len, LX_CMDLINE_AREA - 1);
    if (guest_mmap_n + 1 > LX_E820_MAX)
        return loader_error("memory map has more than %u entries", LX_E820_MAX);

    uint64_t initrd = 0, initrd_len = 0;
    if (gb->nmod >= 2) {
        initrd_len = gb->mod[1].size;
        uint64_t limit = (uint64_t)rd32(img, LX_INITRD_ADDR_MAX) + 1;
        initrd = initrd_len ? place_high(initrd_len, limit, load, load + need) : 0;
        if (initrd_len && !initrd)
            return loader_error("initrd (%lu bytes) does not fit in guest RAM below %#lx clear of the kernel",
                                (unsigned long)initrd_len, (unsigned long)limit);
    }
    if (gb->nmod > 2)
        ulog("loader: Linux takes one initrd: %u further module(s) ignored", gb->nmod - 2);

    /* Checks done: write. */
    uint8_t *bp = loader_guest(LX_BOOT_PARAMS_PA, PAGE_SIZE);
    memset(bp, 0, PAGE_SIZE);
    memcpy(bp + LX_SETUP_SECTS, img + LX_SETUP_SECTS, hdr_end - LX_SETUP_SECTS);
    build_e820(bp);
    bp[LX_TYPE_OF_LOADER] = 0xff;                 /* undefined loader id */
    bp[LX_LOADFLAGS] = (uint8_t)(bp[LX_LOADFLAGS] & ~(LX_KEEP_SEGMENTS | LX_CAN_USE_HEAP));
    wr32(bp, LX_CODE32_START, (uint32_t)load);
    wr32(bp, LX_CMD_LINE_PTR, CMDLINE_PA);
    wr32(bp, LX_RAMDISK_IMAGE, (uint32_t)initrd);
    wr32(bp, LX_RAMDISK_SIZE, (uint32_t)initrd_len);
    for (unsigned i = 0; i < guest_mmap_n; i++) {
        const struct mem_range *m = &guest_mmap[i];
        if (m->type == MEM_AVAILABLE && m->base <= 0x100000 && m->base + m->len > 0x100000) {
            uint64_t top = m->base + m->len < (1ULL << 32) ? m->base + m->len : (1ULL << 32);
            wr32(bp, LX_ALT_MEM_K, (uint32_t)((top - 0x100000) >> 10));
        }
    }
    memcpy(loader_guest(CMDLINE_PA, cmd_len + 1), cmd, cmd_len + 1);
    uint64_t *gdt = loader_guest(LX_GDT_PA, 4 * 8);
    gdt[0] = gdt[1] = 0;
    gdt[2] = 0x00cf9b000000ffffULL;               /* 0x10: flat 4 GiB code, exec/read */
    gdt[3] = 0x00cf93000000ffffULL;               /* 0x18: flat 4 GiB data, read/write */
    if (gb->rsdp_len && version >= 0x20e && gb->rsdp_len <= sizeof(gb->rsdp)) {
        memcpy(loader_guest(LX_RSDP_PA, gb->rsdp_len), gb->rsdp, gb->rsdp_len);
        uint64_t rsdp_pa = LX_RSDP_PA;
        memcpy(bp + LX_ACPI_RSDP_ADDR, &rsdp_pa, 8);
    }
    memcpy(loader_guest(load, pm_len), img + setup_len, pm_len);
    if (initrd_len)
        memcpy(loader_guest(initrd, initrd_len), gb->mod[1].data, initrd_len);

    gb->entry = (uint32_t)load;
    gb->info = LX_BOOT_PARAMS_PA;
    gb->kernel_lo = load;
    gb->kernel_hi = load + need;
    ulog("loader: Linux boot protocol %u.%02u, kernel %lu bytes at %#lx (init_size %#lx%s), "
         "initrd %lu bytes at %#lx, %u e820 entries, boot_params at %#x, cmdline (%lu bytes) \"%s\"",
         version >> 8, version & 0xff, (unsigned long)pm_len, (unsigned long)load, (unsigned long)need,
         load == pref && relocatable ? ", pref_address" : "", (unsigned long)initrd_len,
         (unsigned long)initrd, bp[LX_E820_ENTRIES], LX_BOOT_PARAMS_PA, (unsigned long)cmd_len, cmd);
    return 0;
}
