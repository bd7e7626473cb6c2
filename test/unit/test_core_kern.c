/*
 * Hosted tests of src/kern's pure parts: the frame allocator, multiboot2
 * parsing on hand-built info blocks, memory-map arithmetic and the
 * command-line options.
 */
#include <check.h>
#include <string.h>
#include <stdlib.h>
#include <umbra/kern.h>
#include <umbra/mb.h>

/* ---- frame allocator ---- */

START_TEST(frame_carves_downward)
{
    struct frame_alloc fa;
    frame_init(&fa, 0x100000, 0x800000);
    ck_assert_uint_eq(frame_alloc_n(&fa, 1), 0x7ff000);
    ck_assert_uint_eq(frame_alloc_n(&fa, 2), 0x7fd000);
    ck_assert_uint_eq(fa.frames, 3);
    ck_assert_uint_eq(frame_seal(&fa), 0x7fd000);
    ck_assert_uint_eq(frame_alloc_n(&fa, 1), 0);   /* sealed */
}
END_TEST

START_TEST(frame_skips_avoided_ranges)
{
    struct frame_alloc fa;
    frame_init(&fa, 0x100000, 0x800000);
    ck_assert_int_eq(frame_avoid(&fa, 0x7fe800, 0x7ff100), 0);   /* unaligned: rounds out */
    ck_assert_uint_eq(frame_alloc_n(&fa, 1), 0x7fd000);
    /* A range of 3 that would straddle a second avoided range goes below it. */
    frame_avoid(&fa, 0x7fb000, 0x7fc000);
    ck_assert_uint_eq(frame_alloc_n(&fa, 3), 0x7f8000);
    ck_assert_uint_eq(frame_seal(&fa), 0x7f8000);
}
END_TEST

START_TEST(frame_exhaustion)
{
    struct frame_alloc fa;
    frame_init(&fa, 0x100000, 0x104000);
    ck_assert_uint_eq(frame_alloc_n(&fa, 5), 0);
    ck_assert_uint_eq(frame_alloc_n(&fa, 4), 0x100000);
    ck_assert_uint_eq(frame_alloc_n(&fa, 1), 0);
    ck_assert_uint_eq(frame_alloc_n(&fa, 0), 0);
}
END_TEST

/* ---- multiboot2 ---- */

struct mbbuf {
    uint8_t b[4096] __attribute__((aligned(8)));
    uint32_t len;
};

static void mb_begin(struct mbbuf *m) { memset(m, 0, sizeof(*m)); m->len = 8; }
static uint8_t *mb_tag(struct mbbuf *m, uint32_t type, uint32_t size)
{
    uint8_t *t = m->b + m->len;
    memcpy(t, &type, 4);
    memcpy(t + 4, &size, 4);
    m->len += (size + 7) & ~7u;
    return t;
}
static void mb_end(struct mbbuf *m)
{
    mb_tag(m, 0, 8);
    memcpy(m->b, &m->len, 4);
}
static void mb_string(struct mbbuf *m, uint32_t type, const char *s)
{
    uint8_t *t = mb_tag(m, type, 8 + (uint32_t)strlen(s) + 1);
    strcpy((char *)t + 8, s);
}
static void mb_mmap(struct mbbuf *m, const uint64_t (*e)[3], unsigned n)
{
    uint8_t *t = mb_tag(m, MB2_TAG_MMAP, 16 + 24 * n);
    uint32_t esz = 24, ver = 0;
    memcpy(t + 8, &esz, 4);
    memcpy(t + 12, &ver, 4);
    for (unsigned i = 0; i < n; i++) {
        uint32_t type = (uint32_t)e[i][2];
        memcpy(t + 16 + 24 * i, &e[i][0], 8);
        memcpy(t + 24 + 24 * i, &e[i][1], 8);
        memcpy(t + 32 + 24 * i, &type, 4);
    }
}

START_TEST(mb2_bios_map_modules_cmdline)
{
    struct mbbuf m;
    struct mb2_info info;
    char err[96];
    static const uint64_t map[][3] = {
        { 0x100000, 0x7ee0000, 1 },      /* out of order on purpose */
        { 0, 0x9fc00, 1 },
        { 0x9fc00, 0x400, 2 },
        { 0xf0000, 0x10000, 2 },
        { 0x7fe0000, 0x20000, 2 },
    };
    mb_begin(&m);
    mb_string(&m, MB2_TAG_CMDLINE, "console=e9 paging=npt");
    mb_string(&m, MB2_TAG_LOADER, "GRUB 2.06");
    uint8_t *t = mb_tag(&m, MB2_TAG_MODULE, 16 + 9);
    uint32_t s = 0x200000, e = 0x20a000;
    memcpy(t + 8, &s, 4);
    memcpy(t + 12, &e, 4);
    strcpy((char *)t + 16, "/g.elf x");
    mb_mmap(&m, map, 5);
    t = mb_tag(&m, MB2_TAG_LOAD_BASE, 12);
    uint32_t base = 0x7c00000;
    memcpy(t + 8, &base, 4);
    mb_end(&m);

    ck_assert_int_eq(mb2_parse(m.b, &info, err, sizeof(err)), 0);
    ck_assert_str_eq(info.cmdline, "console=e9 paging=npt");
    ck_assert_str_eq(info.loader, "GRUB 2.06");
    ck_assert_uint_eq(info.nmod, 1);
    ck_assert_uint_eq(info.mod[0].start, 0x200000);
    ck_assert_uint_eq(info.mod[0].end, 0x20a000);
    ck_assert_str_eq(info.mod[0].string, "/g.elf x");
    ck_assert(info.have_load_base);
    ck_assert_uint_eq(info.load_base, 0x7c00000);
    /* Sorted; the two reserved ranges 0x9fc00 and 0xf0000 are not adjacent: 5 entries. */
    ck_assert_uint_eq(info.nmmap, 5);
    ck_assert_uint_eq(info.mmap[0].base, 0);
    ck_assert_uint_eq(info.mmap[3].base, 0x100000);
    ck_assert(mmap_is_ram(info.mmap, info.nmmap, 0x100000, 0x7fe0000));
    ck_assert(!mmap_is_ram(info.mmap, info.nmmap, 0x100000, 0x7fe1000));
    ck_assert(!mmap_is_ram(info.mmap, info.nmmap, 0x9f000, 0xa0000));
}
END_TEST

START_TEST(mb2_efi_map_converted_and_merged)
{
    struct mbbuf m;
    struct mb2_info info;
    char err[96];
    mb_begin(&m);
    uint8_t *t = mb_tag(&m, MB2_TAG_EFI_MMAP, 16 + 3 * 48);
    uint32_t dsz = 48, ver = 1;
    memcpy(t + 8, &dsz, 4);
    memcpy(t + 12, &ver, 4);
    struct { uint32_t type, pad; uint64_t phys, virt, pages, attr; } d[3] = {
        { 7, 0, 0x0, 0, 0xa0, 0 },          /* conventional */
        { 4, 0, 0xa0000, 0, 0x10, 0 },      /* boot services data: available after exit */
        { 10, 0, 0xb0000, 0, 0x10, 0 },     /* ACPI NVS */
    };
    for (int i = 0; i < 3; i++)
        memcpy(t + 16 + 48 * i, &d[i], 40);
    mb_end(&m);
    ck_assert_int_eq(mb2_parse(m.b, &info, err, sizeof(err)), 0);
    ck_assert_uint_eq(info.nmmap, 2);
    ck_assert_uint_eq(info.mmap[0].len, 0xb0000);
    ck_assert_uint_eq(info.mmap[0].type, MEM_AVAILABLE);
    ck_assert_uint_eq(info.mmap[1].type, MEM_NVS);
}
END_TEST

START_TEST(mb2_rejects_bad_blocks)
{
    struct mbbuf m;
    struct mb2_info info;
    char err[96];

    mb_begin(&m);
    mb_string(&m, MB2_TAG_CMDLINE, "x");
    mb_end(&m);
    ck_assert_int_eq(mb2_parse(m.b, &info, err, sizeof(err)), -1);
    ck_assert_str_eq(err, "multiboot2 info: no memory map");

    mb_begin(&m);
    uint8_t *t = mb_tag(&m, MB2_TAG_CMDLINE, 16);
    uint32_t huge = 4000;
    memcpy(t + 4, &huge, 4);
    m.len = 24;
    memcpy(m.b, &m.len, 4);
    ck_assert_int_eq(mb2_parse(m.b, &info, err, sizeof(err)), -1);
    ck_assert_str_eq(err, "multiboot2 info: tag overruns the block");

    mb_begin(&m);
    static const uint64_t map[][3] = { { 0, 0x1000, 1 } };
    mb_mmap(&m, map, 1);
    memcpy(m.b, &m.len, 4);             /* no end tag */
    ck_assert_int_eq(mb2_parse(m.b, &info, err, sizeof(err)), -1);
    ck_assert_str_eq(err, "multiboot2 info: no end tag");
}
END_TEST

/*
 * Found by test/fuzz/fuzz-mb2 (regression input
 * test/fuzz/regress/mb2/tag-size-wraps-loop): a tag whose size is near
 * 4 GiB wrapped "off + size" past the overrun check, and the 8-aligned
 * step of 0 then looped forever.  An mmap entry size near 4 GiB wrapped the
 * same way inside the map loop.  Both must be refused.
 */
START_TEST(mb2_huge_sizes_refused)
{
    uint64_t blk[8] = { 0 };
    uint32_t *w = (uint32_t *)blk;
    struct mb2_info info;
    char err[96];
    w[0] = 64;                        /* total size */
    w[2] = 0xffffff00; w[3] = 0xffffffff;   /* tag: type, size 4 GiB - 1 */
    ck_assert_int_eq(mb2_parse(blk, &info, err, sizeof(err)), -1);
    ck_assert_str_eq(err, "multiboot2 info: tag overruns the block");
    w[3] = 0xfffffff9;                /* rounds up to a step of 0 */
    ck_assert_int_eq(mb2_parse(blk, &info, err, sizeof(err)), -1);
    memset(blk, 0, sizeof(blk));
    w[0] = 48;
    w[2] = MB2_TAG_MMAP; w[3] = 32; w[4] = 0xfffffff8; w[5] = 0;   /* entry size wraps */
    w[10] = 0; w[11] = 8;             /* end tag */
    ck_assert_int_eq(mb2_parse(blk, &info, err, sizeof(err)), 0);
    ck_assert_uint_eq(info.nmmap, 0);
}
END_TEST

/*
 * Found by test/fuzz/fuzz-mb2 (test/fuzz/regress/mb2/overlapping-map): a
 * firmware map whose available range overlaps reserved ones was passed on
 * overlapping, and mmap_remove() (which needs a non-overlapping map) then
 * returned an unsorted map.  Overlaps resolve to the stronger type now.
 */
START_TEST(mb2_overlapping_map_resolved)
{
    static const struct { uint64_t b, l; uint32_t t; } e[] = {
        { 0, 0x10000000, MEM_AVAILABLE }, { 0x9fc00, 0x400, MEM_RESERVED },
        { 0x100000, 0x100000, MEM_ACPI }, { 0x180000, 0x100000, MEM_NVS },
    };
    static uint64_t blk[64];
    uint32_t *w = (uint32_t *)blk;
    memset(blk, 0, sizeof(blk));
    w[2] = MB2_TAG_MMAP; w[3] = 16 + 24 * 4; w[4] = 24;
    for (unsigned i = 0; i < 4; i++) {
        memcpy((uint8_t *)blk + 8 + 16 + 24 * i, &e[i].b, 8);
        memcpy((uint8_t *)blk + 8 + 16 + 24 * i + 8, &e[i].l, 8);
        memcpy((uint8_t *)blk + 8 + 16 + 24 * i + 16, &e[i].t, 4);
    }
    w[(8 + 16 + 24 * 4) / 4] = 0; w[(8 + 16 + 24 * 4) / 4 + 1] = 8;
    w[0] = 8 + 16 + 24 * 4 + 8;
    struct mb2_info info;
    char err[96];
    ck_assert_int_eq(mb2_parse(blk, &info, err, sizeof(err)), 0);
    static const struct mem_range want[] = {
        { 0, 0x9fc00, MEM_AVAILABLE }, { 0x9fc00, 0x400, MEM_RESERVED }, { 0xa0000, 0x60000, MEM_AVAILABLE },
        { 0x100000, 0x80000, MEM_ACPI }, { 0x180000, 0x100000, MEM_NVS }, { 0x280000, 0x10000000 - 0x280000, MEM_AVAILABLE },
    };
    ck_assert_uint_eq(info.nmmap, 6);
    for (unsigned i = 0; i < 6; i++) {
        ck_assert_uint_eq(info.mmap[i].base, want[i].base);
        ck_assert_uint_eq(info.mmap[i].len, want[i].len);
        ck_assert_uint_eq(info.mmap[i].type, want[i].type);
    }
}
END_TEST

START_TEST(mmap_remove_splits)
{
    struct mem_range in[] = {
        { 0, 0x9fc00, 1 }, { 0x9fc00, 0x400, 2 }, { 0x100000, 0x7f00000, 1 },
    }, out[8];
    unsigned n = mmap_remove(in, 3, 0x7000000, 0x7800000, out, 8);
    ck_assert_uint_eq(n, 4);
    ck_assert_uint_eq(out[2].base, 0x100000);
    ck_assert_uint_eq(out[2].len, 0x6f00000);
    ck_assert_uint_eq(out[3].base, 0x7800000);
    ck_assert_uint_eq(out[3].len, 0x800000);
    ck_assert(!mmap_is_ram(out, n, 0x6fff000, 0x7001000));
    /* Removing the top of a range leaves one piece. */
    n = mmap_remove(in, 3, 0x7000000, 0x8000000, out, 8);
    ck_assert_uint_eq(n, 3);
    ck_assert_uint_eq(out[2].len, 0x6f00000);
}
END_TEST

/* ---- options ---- */

START_TEST(opts_defaults_and_values)
{
    struct umbra_opts o;
    char err[96];
    opts_default(&o);
    ck_assert_int_eq(opts_parse(&o, "", err, sizeof(err)), 0);
    ck_assert_int_eq(o.console, CONSOLE_COM1);
    ck_assert_uint_eq(o.shadow_pool, 8u << 20);
    ck_assert_int_eq(o.paging, PAGING_SHADOW);
    ck_assert_int_eq(o.gdb, GDB_NONE);
    ck_assert(!o.gdb_wait);
    ck_assert(!o.trace);
    ck_assert_int_eq(opts_parse(&o, "trace", err, sizeof(err)), 0);
    ck_assert(o.trace);
    ck_assert_int_eq(opts_parse(&o, "/boot/umbra.elf  console=e9 shadow_pool=512K gdb=com2 gdb_wait paging=npt",
                                err, sizeof(err)), 0);
    ck_assert_int_eq(o.console, CONSOLE_E9);
    ck_assert_uint_eq(o.shadow_pool, 512u << 10);
    ck_assert_int_eq(o.gdb, GDB_COM2);
    ck_assert(o.gdb_wait);
    ck_assert_int_eq(o.paging, PAGING_NPT);
    ck_assert_uint_eq(o.gdb_baud, 115200);
    ck_assert_int_eq(opts_parse(&o, "gdb_baud=9600", err, sizeof(err)), 0);
    ck_assert_uint_eq(o.gdb_baud, 9600);
    ck_assert_int_eq(opts_parse(&o, "gdb_baud=300", err, sizeof(err)), 0);
    ck_assert_uint_eq(o.gdb_baud, 300);
    /* trace_ring=N: decimal events within the bounds; summary=short|full. */
    ck_assert_uint_eq(o.trace_ring, 1024);
    ck_assert(!o.summary_full);
    ck_assert_int_eq(opts_parse(&o, "trace_ring=16", err, sizeof(err)), 0);
    ck_assert_uint_eq(o.trace_ring, 16);
    ck_assert_int_eq(opts_parse(&o, "trace_ring=65536 summary=full", err, sizeof(err)), 0);
    ck_assert_uint_eq(o.trace_ring, 65536);
    ck_assert(o.summary_full);
    ck_assert_int_eq(opts_parse(&o, "summary=short", err, sizeof(err)), 0);
    ck_assert(!o.summary_full);
    ck_assert_int_eq(opts_parse(&o, "console=none shadow_pool=4M", err, sizeof(err)), 0);
    ck_assert_int_eq(o.console, CONSOLE_NONE);
    ck_assert_uint_eq(o.shadow_pool, 4u << 20);
    ck_assert_uint_eq(o.watchdog_secs, 0);
    ck_assert_int_eq(opts_parse(&o, "watchdog=2", err, sizeof(err)), 0);
    ck_assert_uint_eq(o.watchdog_secs, 2);
    ck_assert_int_eq(opts_parse(&o, "watchdog=3600", err, sizeof(err)), 0);
    ck_assert_uint_eq(o.watchdog_secs, 3600);
    /* oos=on|off (default on), prefetch=0|8|16|32|all (default all). */
    ck_assert(o.oos);
    ck_assert_uint_eq(o.prefetch, OPTS_PREFETCH_ALL);
    ck_assert_int_eq(opts_parse(&o, "oos=on prefetch=8", err, sizeof(err)), 0);
    ck_assert(o.oos);
    ck_assert_uint_eq(o.prefetch, 8);
    ck_assert_int_eq(opts_parse(&o, "oos=off prefetch=0", err, sizeof(err)), 0);
    ck_assert(!o.oos);
    ck_assert_uint_eq(o.prefetch, 0);
    ck_assert_int_eq(opts_parse(&o, "prefetch=32", err, sizeof(err)), 0);
    ck_assert_uint_eq(o.prefetch, 32);
    ck_assert_int_eq(opts_parse(&o, "prefetch=all", err, sizeof(err)), 0);
    ck_assert_uint_eq(o.prefetch, OPTS_PREFETCH_ALL);
}
END_TEST

/* oos= and prefetch= take only their listed values, and name the option when refused. */
START_TEST(opts_oos_prefetch_refused)
{
    static const char *const bad[] = { "oos=yes", "oos=1", "oos=", "prefetch=4", "prefetch=64",
                                       "prefetch=All", "prefetch=" };
    struct umbra_opts o;
    char err[160];
    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        opts_default(&o);
        ck_assert_int_eq(opts_parse(&o, bad[i], err, sizeof(err)), -1);
        ck_assert_msg(strstr(err, bad[i][0] == 'o' ? "bad value for oos" : "bad value for prefetch"),
                      "%s: %s", bad[i], err);
        ck_assert(o.oos);
        ck_assert_uint_eq(o.prefetch, OPTS_PREFETCH_ALL);
    }
    ck_assert_int_eq(opts_parse(&o, "oos", err, sizeof(err)), -1);
    ck_assert_str_eq(err, "option oos needs a value");
}
END_TEST

/* watchdog=SECONDS: whole seconds 1..3600, nothing else; the message names the option. */
START_TEST(opts_watchdog_refused)
{
    static const char *const bad[] = { "watchdog=0", "watchdog=3601", "watchdog=2s", "watchdog=1.5",
                                       "watchdog=", "watchdog=-1", "watchdog=99999999999999999999" };
    struct umbra_opts o;
    char err[160];
    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        opts_default(&o);
        ck_assert_int_eq(opts_parse(&o, bad[i], err, sizeof(err)), -1);
        ck_assert_msg(strstr(err, "bad value for watchdog") != NULL, "%s: %s", bad[i], err);
        ck_assert_uint_eq(o.watchdog_secs, 0);
    }
    opts_parse(&o, "watchdog=2s", err, sizeof(err));
    ck_assert_str_eq(err, "bad value for watchdog: '2s' (whole seconds, 1 to 3600)");
    ck_assert_int_eq(opts_parse(&o, "watchdog", err, sizeof(err)), -1);
    ck_assert_str_eq(err, "option watchdog needs a value");
}
END_TEST

START_TEST(opts_reject_by_name)
{
    struct umbra_opts o;
    char err[96];
    opts_default(&o);
    ck_assert_int_eq(opts_parse(&o, "console=com1 bogus=1", err, sizeof(err)), -1);
    ck_assert_str_eq(err, "unknown option 'bogus'");
    ck_assert_int_eq(opts_parse(&o, "cpu_model_note", err, sizeof(err)), -1);
    ck_assert_str_eq(err, "unknown option 'cpu_model_note'");
    ck_assert_int_eq(opts_parse(&o, "paging=maybe", err, sizeof(err)), -1);
    ck_assert_str_eq(err, "bad value for paging: 'maybe'");
    ck_assert_int_eq(opts_parse(&o, "shadow_pool=12Q", err, sizeof(err)), -1);
    ck_assert_str_eq(err, "bad value for shadow_pool: '12Q'");
    ck_assert_int_eq(opts_parse(&o, "console", err, sizeof(err)), -1);
    ck_assert_str_eq(err, "option console needs a value");
    ck_assert_int_eq(opts_parse(&o, "gdb_wait=1", err, sizeof(err)), -1);
    ck_assert_str_eq(err, "option gdb_wait takes no value");
    /* gdb_baud: only 115200/D for a whole D; the message says which. */
    static const char *const bad_bauds[] = { "gdb_baud=100000", "gdb_baud=0", "gdb_baud=230400",
                                             "gdb_baud=9600K", "gdb_baud=abc", "gdb_baud=" };
    for (unsigned i = 0; i < sizeof(bad_bauds) / sizeof(bad_bauds[0]); i++) {
        char e2[160];
        opts_default(&o);
        ck_assert_int_eq(opts_parse(&o, bad_bauds[i], e2, sizeof(e2)), -1);
        ck_assert_msg(strstr(e2, "gdb_baud") != NULL, "%s: %s", bad_bauds[i], e2);
        ck_assert_uint_eq(o.gdb_baud, 115200);
    }
    char e3[160];
    opts_parse(&o, "gdb_baud=100000", e3, sizeof(e3));
    ck_assert_str_eq(e3, "bad value for gdb_baud: '100000' (a 16550 runs at 115200/D baud for a whole D: "
                     "115200 57600 38400 19200 9600 ...)");
    /* trace_ring: out of bounds, not decimal, empty, or absurdly long: refused, the default kept. */
    static const char *const bad_rings[] = { "trace_ring=15", "trace_ring=0", "trace_ring=65537",
                                             "trace_ring=4294967312", "trace_ring=99999999999999999999999",
                                             "trace_ring=1K", "trace_ring=0x100", "trace_ring=-16",
                                             "trace_ring=", "trace_ring=1024x" };
    for (unsigned i = 0; i < sizeof(bad_rings) / sizeof(bad_rings[0]); i++) {
        char e2[160], want[160];
        opts_default(&o);
        ck_assert_int_eq(opts_parse(&o, bad_rings[i], e2, sizeof(e2)), -1);
        snprintf(want, sizeof(want), "bad value for trace_ring: '%s' (events, a decimal number from 16 to 65536)",
                 bad_rings[i] + strlen("trace_ring="));
        ck_assert_str_eq(e2, want);
        ck_assert_uint_eq(o.trace_ring, 1024);
    }
    ck_assert_int_eq(opts_parse(&o, "trace_ring", err, sizeof(err)), -1);
    ck_assert_str_eq(err, "option trace_ring needs a value");
    ck_assert_int_eq(opts_parse(&o, "summary=all", err, sizeof(err)), -1);
    ck_assert_str_eq(err, "bad value for summary: 'all'");
    ck_assert_int_eq(opts_parse(&o, "summary=", err, sizeof(err)), -1);
    ck_assert_str_eq(err, "bad value for summary: ''");
    ck_assert_int_eq(opts_parse(&o, "summary", err, sizeof(err)), -1);
    ck_assert_str_eq(err, "option summary needs a value");
    ck_assert_int_eq(opts_parse(&o, "trace=on", err, sizeof(err)), -1);
    ck_assert_str_eq(err, "option trace takes no value");
    ck_assert_int_eq(opts_parse(&o, "consolex=e9", err, sizeof(err)), -1);
    ck_assert_str_eq(err, "unknown option 'consolex'");
}
END_TEST

/*
 * Issue 12 item 6: a command line of OPTS_CMDLINE_MAX bytes is parsed whole
 * (an unknown option at its very end is refused by name, not dropped after a
 * cut); one byte more is refused with the limit named.
 */
START_TEST(opts_long_lines_whole_or_refused)
{
    static char line[OPTS_CMDLINE_MAX + 2];
    struct umbra_opts o;
    char err[96];
    size_t n = 0;
    while (n + 13 <= OPTS_CMDLINE_MAX - 14) {
        memcpy(line + n, "console=com1 ", 13);
        n += 13;
    }
    memset(line + n, ' ', OPTS_CMDLINE_MAX - 14 - n);
    memcpy(line + OPTS_CMDLINE_MAX - 14, "paging=npt ", 11);
    memcpy(line + OPTS_CMDLINE_MAX - 3, "x=1", 3);
    line[OPTS_CMDLINE_MAX] = 0;
    ck_assert_uint_eq(strlen(line), OPTS_CMDLINE_MAX);
    opts_default(&o);
    ck_assert_int_eq(opts_parse(&o, line, err, sizeof(err)), -1);
    ck_assert_str_eq(err, "unknown option 'x'");
    memcpy(line + OPTS_CMDLINE_MAX - 3, "   ", 3);
    opts_default(&o);
    ck_assert_int_eq(opts_parse(&o, line, err, sizeof(err)), 0);
    ck_assert_int_eq(o.paging, PAGING_NPT);                 /* the last word was taken */
    line[OPTS_CMDLINE_MAX] = ' ';
    line[OPTS_CMDLINE_MAX + 1] = 0;
    ck_assert_int_eq(opts_parse(&o, line, err, sizeof(err)), -1);
    ck_assert_str_eq(err, "the command line is 4097 bytes: longer than Umbra's limit of 4096");
}
END_TEST

START_TEST(size_parsing)
{
    uint64_t v;
    ck_assert_int_eq(parse_size("4M", 2, &v), 0);
    ck_assert_uint_eq(v, 4u << 20);
    ck_assert_int_eq(parse_size("512k", 4, &v), 0);
    ck_assert_uint_eq(v, 512u << 10);
    ck_assert_int_eq(parse_size("1G", 2, &v), 0);
    ck_assert_uint_eq(v, 1u << 30);
    ck_assert_int_eq(parse_size("4096", 4, &v), 0);
    ck_assert_uint_eq(v, 4096);
    ck_assert_int_eq(parse_size("", 0, &v), -1);
    ck_assert_int_eq(parse_size("M", 1, &v), -1);
    ck_assert_int_eq(parse_size("4MB", 3, &v), -1);
    ck_assert_int_eq(parse_size("99999999999999999999", 20, &v), -1);
    ck_assert_int_eq(parse_size("17179869184G", 12, &v), -1);   /* 2^34 G overflows */
}
END_TEST

int main(void)
{
    Suite *s = suite_create("core-kern");
    TCase *tc = tcase_create("all");
    tcase_add_test(tc, frame_carves_downward);
    tcase_add_test(tc, frame_skips_avoided_ranges);
    tcase_add_test(tc, frame_exhaustion);
    tcase_add_test(tc, mb2_bios_map_modules_cmdline);
    tcase_add_test(tc, mb2_efi_map_converted_and_merged);
    tcase_add_test(tc, mb2_rejects_bad_blocks);
    tcase_add_test(tc, mmap_remove_splits);
    tcase_add_test(tc, mb2_huge_sizes_refused);
    tcase_add_test(tc, mb2_overlapping_map_resolved);
    tcase_add_test(tc, opts_defaults_and_values);
    tcase_add_test(tc, opts_reject_by_name);
    tcase_add_test(tc, opts_watchdog_refused);
    tcase_add_test(tc, opts_oos_prefetch_refused);
    tcase_add_test(tc, size_parsing);
    tcase_add_test(tc, opts_long_lines_whole_or_refused);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
