/*
 * Hosted tests of src/iommu/ivrs.c on hand-built IVRS tables (the layout of
 * QEMU 7.2's table, a real-machine-like one with ranges and a second IVHD
 * for the same IOMMU, and broken ones), of the iommu= option and of the
 * multiboot2 ACPI tags that name the root tables under UEFI.
 */
#include <check.h>
#include <string.h>
#include <stdlib.h>
#include <umbra/iommu.h>
#include <umbra/kern.h>
#include <umbra/mb.h>

struct tb { uint8_t b[1024]; size_t n; };

static void put8(struct tb *t, uint8_t v) { t->b[t->n++] = v; }
static void put16(struct tb *t, uint16_t v) { put8(t, (uint8_t)v); put8(t, (uint8_t)(v >> 8)); }
static void put32(struct tb *t, uint32_t v) { put16(t, (uint16_t)v); put16(t, (uint16_t)(v >> 16)); }
static void put64(struct tb *t, uint64_t v) { put32(t, (uint32_t)v); put32(t, (uint32_t)(v >> 32)); }

static void header(struct tb *t)
{
    memset(t, 0, sizeof(*t));
    memcpy(t->b, "IVRS", 4);
    t->b[8] = 1;                         /* revision */
    memcpy(t->b + 10, "UMBRA ", 6);
    t->n = 36;
    put32(t, 40u << 8);                  /* IVinfo: PASize 40 */
    put64(t, 0);
}

/* IVHD header of `type`; returns its offset (its length is patched by end_block). */
static size_t ivhd(struct tb *t, uint8_t type, uint16_t devid, uint64_t base)
{
    size_t at = t->n;
    put8(t, type);
    put8(t, 0xb0);
    put16(t, 0);
    put16(t, devid);
    put16(t, 0x40);                      /* capability offset */
    put64(t, base);
    put16(t, 0);                         /* segment */
    put16(t, 0);                         /* IOMMU info */
    put32(t, 0);                         /* feature reporting / attributes */
    if (type != 0x10) {
        put64(t, 0x1234);                /* EFR image */
        put64(t, 0);
    }
    return at;
}

static void dev4(struct tb *t, uint8_t type, uint16_t id) { put8(t, type); put16(t, id); put8(t, 0); }

static void end_block(struct tb *t, size_t at)
{
    uint16_t len = (uint16_t)(t->n - at);
    t->b[at + 2] = (uint8_t)len;
    t->b[at + 3] = (uint8_t)(len >> 8);
}

static void finish(struct tb *t)
{
    t->b[4] = (uint8_t)t->n;
    t->b[5] = (uint8_t)(t->n >> 8);
    t->b[9] = 0;
    uint8_t s = 0;
    for (size_t i = 0; i < t->n; i++)
        s = (uint8_t)(s + t->b[i]);
    t->b[9] = (uint8_t)-s;
}

START_TEST(qemu_like_table)
{
    /* QEMU 7.2 -machine q35 -device amd-iommu: one IVHD 0x10, select entries for bus 0. */
    struct tb t;
    struct ivrs_info out;
    char err[96];
    header(&t);
    size_t at = ivhd(&t, 0x10, 0x0020, 0xfed80000);
    dev4(&t, 0x02, 0x0000);
    dev4(&t, 0x02, 0x0008);
    dev4(&t, 0x02, 0x00fa);
    /* special device: IOAPIC handle 0 at 00:14.0 (0xa0) */
    put8(&t, 0x48); put16(&t, 0); put8(&t, 0xd7); put8(&t, 0); put16(&t, 0x00a0); put8(&t, 1);
    end_block(&t, at);
    finish(&t);
    ck_assert_int_eq(ivrs_parse(t.b, t.n, &out, err, sizeof(err)), 0);
    ck_assert_uint_eq(out.niommu, 1);
    ck_assert_uint_eq(out.iommu[0].base, 0xfed80000);
    ck_assert_uint_eq(out.iommu[0].devid, 0x20);
    ck_assert_uint_eq(out.iommu[0].cap_off, 0x40);
    ck_assert_uint_eq(out.iommu[0].ivhd_type, 0x10);
    ck_assert_uint_eq(out.iommu[0].max_devid, 0xfa);
    ck_assert_uint_eq(out.iommu[0].ndev_entries, 4);
    ck_assert_uint_eq(out.ivinfo, 40u << 8);
}
END_TEST

START_TEST(ranges_aliases_and_a_second_block)
{
    struct tb t;
    struct ivrs_info out;
    char err[96];
    header(&t);
    size_t a = ivhd(&t, 0x10, 0x0002, 0xfd200000);
    dev4(&t, 0x03, 0x0003);              /* range 00:00.3 .. 00:1f.7 */
    dev4(&t, 0x04, 0x00ff);
    /* alias range 01:00.0 .. 01:1f.7 using 00:14.4 */
    put8(&t, 0x43); put16(&t, 0x0100); put8(&t, 0); put8(&t, 0); put16(&t, 0x00a4); put8(&t, 0);
    dev4(&t, 0x04, 0x01ff);
    dev4(&t, 0x00, 0);                   /* padding */
    end_block(&t, a);
    /* the same IOMMU again as type 0x11, naming one more device */
    size_t b = ivhd(&t, 0x11, 0x0002, 0xfd200000);
    dev4(&t, 0x02, 0x0300);
    end_block(&t, b);
    /* an IVMD (unity map for one device) */
    size_t m = t.n;
    put8(&t, 0x21); put8(&t, 0x0b); put16(&t, 32); put16(&t, 0x0010); put16(&t, 0); put64(&t, 0);
    put64(&t, 0x9d000000); put64(&t, 0x1000);
    (void)m;
    /* a second IOMMU, type 0x40 with an ACPI HID entry (variable length) */
    size_t c = ivhd(&t, 0x40, 0x4002, 0xfd300000);
    put8(&t, 0xf0); put16(&t, 0x00a5); put8(&t, 0x40);
    for (int i = 0; i < 16; i++) put8(&t, (uint8_t)"AMDI0020AMDI0020"[i]);
    put8(&t, 0); put8(&t, 2); put8(&t, 'I'); put8(&t, 'D');
    end_block(&t, c);
    finish(&t);
    ck_assert_int_eq(ivrs_parse(t.b, t.n, &out, err, sizeof(err)), 0);
    ck_assert_uint_eq(out.niommu, 2);
    ck_assert_uint_eq(out.iommu[0].base, 0xfd200000);
    ck_assert_uint_eq(out.iommu[0].ivhd_type, 0x10);
    ck_assert_uint_eq(out.iommu[0].max_devid, 0x300);
    ck_assert_uint_eq(out.iommu[1].base, 0xfd300000);
    ck_assert_uint_eq(out.iommu[1].devid, 0x4002);
    ck_assert_uint_eq(out.iommu[1].ndev_entries, 1);
    ck_assert_uint_eq(out.nivmd, 1);
    ck_assert_uint_eq(out.ivmd[0].type, 0x21);
    ck_assert_uint_eq(out.ivmd[0].devid, 0x10);
    ck_assert_uint_eq(out.ivmd[0].start, 0x9d000000);
    ck_assert_uint_eq(out.ivmd[0].len, 0x1000);
}
END_TEST

START_TEST(select_all)
{
    struct tb t;
    struct ivrs_info out;
    char err[96];
    header(&t);
    size_t a = ivhd(&t, 0x10, 0x0010, 0xfeb80000);
    dev4(&t, 0x01, 0);
    end_block(&t, a);
    finish(&t);
    ck_assert_int_eq(ivrs_parse(t.b, t.n, &out, err, sizeof(err)), 0);
    ck_assert_uint_eq(out.iommu[0].max_devid, 0xffff);
}
END_TEST

/* Every way a table can be broken is refused, with its reason. */
START_TEST(broken_tables)
{
    struct tb t, good;
    struct ivrs_info out;
    char err[96];
    header(&good);
    size_t a = ivhd(&good, 0x10, 0x0010, 0xfeb80000);
    dev4(&good, 0x02, 0x0008);
    end_block(&good, a);
    finish(&good);
    ck_assert_int_eq(ivrs_parse(good.b, good.n, &out, err, sizeof(err)), 0);

    t = good; t.b[9] ^= 1;
    ck_assert_int_eq(ivrs_parse(t.b, t.n, &out, err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "checksum"));
    t = good; t.b[0] = 'X'; finish(&t);
    ck_assert_int_eq(ivrs_parse(t.b, t.n, &out, err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "signature"));
    ck_assert_int_eq(ivrs_parse(good.b, good.n - 4, &out, err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "length"));
    t = good; t.b[a + 2] = 200; finish(&t);              /* block longer than the table */
    ck_assert_int_eq(ivrs_parse(t.b, t.n, &out, err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "block length"));
    t = good; t.b[a + 8] = 0x10; finish(&t);             /* base not 16 KiB aligned */
    ck_assert_int_eq(ivrs_parse(t.b, t.n, &out, err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "aligned"));
    t = good; t.b[a + 24] = 0x03; finish(&t);            /* range start, no end */
    ck_assert_int_eq(ivrs_parse(t.b, t.n, &out, err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "range"));
    t = good; t.b[a + 24] = 0x42; finish(&t);            /* an 8-byte entry in a 4-byte room */
    ck_assert_int_eq(ivrs_parse(t.b, t.n, &out, err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "past its block"));
    t = good; t.b[a + 24] = 0x90; finish(&t);            /* unknown variable-length entry */
    ck_assert_int_eq(ivrs_parse(t.b, t.n, &out, err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "unknown"));
}
END_TEST

/* Random blocks after a valid header: the parser ends with 0 or -1 and within its limits. */
START_TEST(random_blocks_stay_in_bounds)
{
    srand(13);
    for (int round = 0; round < 20000; round++) {
        struct tb t;
        struct ivrs_info out;
        char err[96];
        header(&t);
        size_t n = 4 + (size_t)(rand() % 200);
        for (size_t i = 0; i < n; i++)
            put8(&t, (uint8_t)(rand() % 4 == 0 ? 0x10 : rand()));
        finish(&t);
        int r = ivrs_parse(t.b, t.n, &out, err, sizeof(err));
        ck_assert(r == 0 || r == -1);
        ck_assert_uint_le(out.niommu, IVRS_MAX_IOMMUS);
    }
}
END_TEST

START_TEST(iommu_option)
{
    struct umbra_opts o;
    char err[96];
    opts_default(&o);
    ck_assert(!o.iommu_require);
    ck_assert_int_eq(opts_parse(&o, "iommu=require", err, sizeof(err)), 0);
    ck_assert(o.iommu_require);
    ck_assert_int_eq(opts_parse(&o, "iommu=auto", err, sizeof(err)), 0);
    ck_assert(!o.iommu_require);
    ck_assert_int_eq(opts_parse(&o, "iommu=off", err, sizeof(err)), -1);
    ck_assert_str_eq(err, "bad value for iommu: 'off'");
    ck_assert_int_eq(opts_parse(&o, "iommu", err, sizeof(err)), -1);
    ck_assert_str_eq(err, "option iommu needs a value");
}
END_TEST

/* The multiboot2 ACPI tags carry the RSDP copy (UEFI has no RSDP in the BIOS area): mb2_parse keeps a pointer to it. */
START_TEST(mb2_acpi_tags)
{
    static uint8_t blk[256] __attribute__((aligned(8)));
    struct mb2_info mi;
    char err[96];
    uint32_t off = 8;
    memset(blk, 0, sizeof(blk));
    /* tag 15: an ACPI 2.0 RSDP copy (36 bytes) */
    uint32_t t15[2] = { MB2_TAG_ACPI_NEW, 8 + 36 };
    memcpy(blk + off, t15, 8);
    memcpy(blk + off + 8, "RSD PTR ", 8);
    blk[off + 8 + 15] = 2;
    uint32_t rsdt = 0x7fe1234;
    uint64_t xsdt = 0x17fe5678ULL;
    memcpy(blk + off + 8 + 16, &rsdt, 4);
    memcpy(blk + off + 8 + 24, &xsdt, 8);
    off += (8 + 36 + 7) & ~7u;
    /* tag 6: one RAM range */
    uint32_t t6[4] = { MB2_TAG_MMAP, 16 + 24, 24, 0 };
    memcpy(blk + off, t6, 16);
    uint64_t e[2] = { 0x100000, 0x7000000 };
    uint32_t ty = MEM_AVAILABLE;
    memcpy(blk + off + 16, e, 16);
    memcpy(blk + off + 32, &ty, 4);
    off += 16 + 24;
    uint32_t end[2] = { MB2_TAG_END, 8 };
    memcpy(blk + off, end, 8);
    off += 8;
    memcpy(blk, &off, 4);
    ck_assert_int_eq(mb2_parse(blk, &mi, err, sizeof(err)), 0);
    ck_assert_ptr_eq(mi.rsdp, blk + 8 + 8);
    /* The copy is what acpi.c then reads: the RSDT and XSDT addresses as written. */
    const uint8_t *r = mi.rsdp;
    uint32_t got_rsdt;
    uint64_t got_xsdt;
    memcpy(&got_rsdt, r + 16, 4);
    memcpy(&got_xsdt, r + 24, 8);
    ck_assert_uint_eq(got_rsdt, rsdt);
    ck_assert_uint_eq(got_xsdt, xsdt);
    /* A tag that is too short to hold an RSDP is ignored. */
    uint32_t short_tag[2] = { MB2_TAG_ACPI_OLD, 8 + 12 };
    memcpy(blk + 8, short_tag, 8);
    memmove(blk + 8 + 24, blk + 8 + 48, off - 8 - 48);   /* the tags after it, now at 8 + 24 */
    off -= 24;
    memcpy(blk, &off, 4);
    ck_assert_int_eq(mb2_parse(blk, &mi, err, sizeof(err)), 0);
    ck_assert_ptr_null(mi.rsdp);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("iommu-ivrs");
    TCase *tc = tcase_create("all");
    tcase_add_test(tc, qemu_like_table);
    tcase_add_test(tc, ranges_aliases_and_a_second_block);
    tcase_add_test(tc, select_all);
    tcase_add_test(tc, broken_tables);
    tcase_add_test(tc, random_blocks_stay_in_bounds);
    tcase_add_test(tc, iommu_option);
    tcase_add_test(tc, mb2_acpi_tags);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
