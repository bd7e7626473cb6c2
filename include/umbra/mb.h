/*
 * Multiboot: the v2 information GRUB hands Umbra (parsed by src/kern/mb2.c,
 * pure and hosted-tested) and the v1 structures Umbra builds for its guest
 * (src/guest/multiboot.c).
 */
#ifndef UMBRA_MB_H
#define UMBRA_MB_H

#include <umbra/types.h>

/* ---- multiboot2 (what GRUB gives Umbra) ------------------------------- */
#define MB2_BOOTLOADER_MAGIC 0x36d76289u
#define MB2_HEADER_MAGIC     0xe85250d6u

#define MB2_TAG_END        0
#define MB2_TAG_CMDLINE    1
#define MB2_TAG_LOADER     2
#define MB2_TAG_MODULE     3
#define MB2_TAG_MEMINFO    4
#define MB2_TAG_MMAP       6
#define MB2_TAG_EFI_MMAP   17
#define MB2_TAG_ACPI_OLD   14   /* a copy of the RSDP (ACPI 1.0) */
#define MB2_TAG_ACPI_NEW   15   /* a copy of the RSDP (ACPI 2.0+) */
#define MB2_TAG_LOAD_BASE  21

/* Memory types, as in the BIOS E820 map (also used for multiboot v1). */
#define MEM_AVAILABLE 1
#define MEM_RESERVED  2
#define MEM_ACPI      3
#define MEM_NVS       4
#define MEM_BAD       5

#define MB_MAX_MMAP    128
#define MB_MAX_MODULES 16

struct mem_range {
    uint64_t base, len;
    uint32_t type;
};

struct mb_module {
    paddr_t start, end;          /* [start, end) physical */
    const char *string;          /* module string (points into the info block) */
};

/* What Umbra needs from the multiboot2 info, copied out so the block may die. */
struct mb2_info {
    const char *cmdline;         /* "" when absent */
    const char *loader;          /* boot loader name, "" when absent */
    uint32_t mem_lower, mem_upper;   /* KiB, basic meminfo (0 when absent) */
    unsigned nmmap;
    struct mem_range mmap[MB_MAX_MMAP];   /* sorted by base, non-overlapping, E820 types */
    unsigned nmod;
    struct mb_module mod[MB_MAX_MODULES];
    bool have_load_base;
    paddr_t load_base;
    uint32_t total_size;
    const void *rsdp;            /* the loader's RSDP copy (the ACPI 2.0 one if both), or NULL */
};

/*
 * Parse the multiboot2 info block at `p` (8-byte aligned; its first u32 is
 * the total size).  The BIOS mmap tag is used when present, else the EFI one
 * (converted to E820 types); overlapping ranges are resolved (the stronger
 * type wins: anything over available, else the larger type number).
 * Returns 0, or -1 with a reason in err.
 */
int mb2_parse(const void *p, struct mb2_info *out, char *err, size_t errlen);

/*
 * Copy `in` (sorted, non-overlapping) into out[max] with [lo, hi) removed from
 * every available range (split when needed).  Returns the entry count.
 */
unsigned mmap_remove(const struct mem_range *in, unsigned n, uint64_t lo, uint64_t hi,
                     struct mem_range *out, unsigned max);

/* True if [lo, hi) lies entirely inside one available range of map. */
bool mmap_is_ram(const struct mem_range *map, unsigned n, uint64_t lo, uint64_t hi);

/* ---- multiboot v1 (what Umbra gives its guest) ------------------------- */
#define MB1_HEADER_MAGIC     0x1BADB002u
#define MB1_BOOTLOADER_MAGIC 0x2BADB002u
#define MB1_HEADER_SEARCH    8192
#define MB1_FLAG_PAGE_ALIGN  (1u << 0)
#define MB1_FLAG_MEMINFO     (1u << 1)
#define MB1_FLAG_VIDEO       (1u << 2)
#define MB1_FLAG_AOUT_KLUDGE (1u << 16)

struct mb1_header {
    uint32_t magic, flags, checksum;
    uint32_t header_addr, load_addr, load_end_addr, bss_end_addr, entry_addr;
};

#define MB1_INFO_MEM     (1u << 0)
#define MB1_INFO_CMDLINE (1u << 2)
#define MB1_INFO_MODS    (1u << 3)
#define MB1_INFO_MMAP    (1u << 6)
#define MB1_INFO_LOADER  (1u << 9)

struct mb1_info {
    uint32_t flags;              /* +0 */
    uint32_t mem_lower;          /* +4 */
    uint32_t mem_upper;          /* +8 */
    uint32_t boot_device;        /* +12 */
    uint32_t cmdline;            /* +16 */
    uint32_t mods_count;         /* +20 */
    uint32_t mods_addr;          /* +24 */
    uint32_t syms[4];            /* +28 */
    uint32_t mmap_length;        /* +44 */
    uint32_t mmap_addr;          /* +48 */
    uint32_t drives_length;      /* +52 */
    uint32_t drives_addr;        /* +56 */
    uint32_t config_table;       /* +60 */
    uint32_t boot_loader_name;   /* +64 */
    uint32_t apm_table;          /* +68 */
    uint32_t vbe[6];             /* +72 */
    uint8_t  fb[28];             /* +96 framebuffer fields, unused */
};
_Static_assert(offsetof(struct mb1_info, boot_loader_name) == 64, "mb1 info layout");

struct mb1_module { uint32_t start, end, string, reserved; };

struct __attribute__((packed)) mb1_mmap_entry {
    uint32_t size;               /* 20: bytes after this field */
    uint64_t base, len;
    uint32_t type;
};
_Static_assert(sizeof(struct mb1_mmap_entry) == 24, "mb1 mmap entry");

#endif
