/*
 * Hosted tests of src/guest/acpi.c: firmware-like ACPI and MP tables are
 * built in a simulated first MiB (plus a high area), then the CPU lists,
 * the one-CPU rewrite and acpi_hide_table() are checked against them:
 * the right entries go, every other byte of the surviving entries stays,
 * and every checksum still sums to 0.
 */
#include <check.h>
#include <string.h>
#include <sys/mman.h>
#include <umbra/acpi.h>

#define LOW 0x100000u
#define HIGH_BASE 0x7fe0000u
#define HIGH_SIZE 0x10000u
static uint8_t low[LOW], high[HIGH_SIZE];
/* One page whose next page is PROT_NONE (mptable_reads_nothing_past_its_end): a read past it faults. */
#define EDGE_BASE 0x7ff0000u
static uint8_t *edge;

void *acpi_phys(paddr_t pa, size_t len)
{
    if (pa + len <= LOW)
        return low + pa;
    if (edge && pa >= EDGE_BASE && pa + len <= EDGE_BASE + 4096)
        return edge + (pa - EDGE_BASE);
    if (pa >= HIGH_BASE && pa + len <= HIGH_BASE + HIGH_SIZE)
        return high + (pa - HIGH_BASE);
    return NULL;
}

static uint8_t *P(paddr_t pa) { return acpi_phys(pa, 1); }

static uint8_t sum(const uint8_t *p, size_t n)
{
    uint8_t s = 0;
    while (n--)
        s = (uint8_t)(s + *p++);
    return s;
}

static void w32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void w64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }
static uint32_t r32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }

/* An SDT header at pa, length len; checksum fixed by seal(). */
static uint8_t *hdr(paddr_t pa, const char *sig, uint32_t len)
{
    uint8_t *t = P(pa);
    memcpy(t, sig, 4);
    w32(t + 4, len);
    t[8] = 1;
    memcpy(t + 10, "UMBRAT", 6);
    return t;
}

static void seal(uint8_t *t, uint32_t len, unsigned at)
{
    t[at] = 0;
    t[at] = (uint8_t)-sum(t, len);
}

#define RSDP 0xe0010u
#define RSDT (HIGH_BASE + 0x000)
#define XSDT (HIGH_BASE + 0x100)
#define MADT (HIGH_BASE + 0x200)
#define IVRS (HIGH_BASE + 0x400)
#define FACP (HIGH_BASE + 0x500)
#define MPF  0xf5b00u
#define MPC  0xf5b10u
static uint32_t madt_len;
static uint8_t mpc_ext[6] = { 128, 6, 0, 1, 2, 3 };   /* one extended entry: type 128, length 6 */

static void build(bool with_xsdt)
{
    memset(low, 0, sizeof(low));
    memset(high, 0, sizeof(high));
    /* MADT: 4 local APICs (IDs 0..3; 3 disabled), an I/O APIC, an override, an x2APIC (ID 300). */
    uint8_t *m = hdr(MADT, "APIC", 0);
    uint32_t off = 44;
    w32(m + 36, 0xfee00000);
    w32(m + 40, 1);
    for (unsigned i = 0; i < 4; i++) {
        uint8_t *e = m + off;
        e[0] = 0; e[1] = 8; e[2] = (uint8_t)i; e[3] = (uint8_t)i;
        w32(e + 4, i == 3 ? 0 : 1);
        off += 8;
    }
    uint8_t *io = m + off;
    io[0] = 1; io[1] = 12; io[2] = 0; w32(io + 4, 0xfec00000);
    off += 12;
    uint8_t *iso = m + off;
    iso[0] = 2; iso[1] = 10; iso[3] = 0; w32(iso + 4, 2);
    off += 10;
    uint8_t *x2 = m + off;
    x2[0] = 9; x2[1] = 16; w32(x2 + 4, 300); w32(x2 + 8, 1); w32(x2 + 12, 7);
    off += 16;
    madt_len = off;
    w32(m + 4, off);
    seal(m, off, 9);
    seal(hdr(IVRS, "IVRS", 48), 48, 9);
    seal(hdr(FACP, "FACP", 116), 116, 9);

    uint8_t *rt = hdr(RSDT, "RSDT", 36 + 3 * 4);
    w32(rt + 36, FACP); w32(rt + 40, IVRS); w32(rt + 44, MADT);
    seal(rt, 48, 9);
    uint8_t *r = P(RSDP);
    memcpy(r, "RSD PTR ", 8);
    w32(r + 16, RSDT);
    if (with_xsdt) {
        uint8_t *xt = hdr(XSDT, "XSDT", 36 + 3 * 8);
        w64(xt + 36, FACP); w64(xt + 44, MADT); w64(xt + 52, IVRS);
        seal(xt, 60, 9);
        r[15] = 2;
        w32(r + 20, 36);
        w64(r + 24, XSDT);
        seal(r, 20, 8);
        seal(r, 36, 32);
    } else {
        seal(r, 20, 8);
    }

    /* MP table: processors 0 (BP), 1, 2, a bus, an I/O APIC, processor 3; one extended entry. */
    uint8_t *f = P(MPF);
    memcpy(f, "_MP_", 4);
    w32(f + 4, MPC);
    f[8] = 1; f[9] = 4;
    seal(f, 16, 10);
    uint8_t *c = P(MPC);
    memcpy(c, "PCMP", 4);
    c[6] = 4;
    uint32_t o = 44;
    unsigned cnt = 0;
    for (unsigned i = 0; i < 4; i++) {
        if (i == 3) {
            c[o] = 1; c[o + 1] = 0; memcpy(c + o + 2, "PCI   ", 6); o += 8; cnt++;
            c[o] = 2; c[o + 1] = 4; c[o + 2] = 0x11; c[o + 3] = 1; w32(c + o + 4, 0xfec00000);
            o += 8; cnt++;
        }
        c[o] = 0; c[o + 1] = (uint8_t)i; c[o + 2] = 0x14; c[o + 3] = (uint8_t)(1 | (i == 0 ? 2 : 0));
        o += 20; cnt++;
    }
    c[34] = (uint8_t)cnt;
    c[4] = (uint8_t)o; c[5] = (uint8_t)(o >> 8);
    c[40] = sizeof(mpc_ext);
    memcpy(c + o, mpc_ext, sizeof(mpc_ext));
    seal(c, o, 7);
}

START_TEST(finds_rsdp_and_tables)
{
    build(_i);
    ck_assert_uint_eq(acpi_init(), RSDP);
    ck_assert_uint_eq(acpi_find_table("APIC"), MADT);
    ck_assert_uint_eq(acpi_find_table("IVRS"), IVRS);
    ck_assert_uint_eq(acpi_find_table("DSDT"), 0);
    /* A broken checksum hides a table. */
    P(IVRS)[20] ^= 1;
    ck_assert_uint_eq(acpi_find_table("IVRS"), 0);
}
END_TEST

START_TEST(madt_lists_cpus)
{
    struct acpi_cpu c[8];
    build(true);
    acpi_init();
    ck_assert_int_eq(acpi_madt_cpus(c, 8), 5);
    ck_assert_uint_eq(c[0].apic_id, 0);
    ck_assert(c[0].usable);
    ck_assert_uint_eq(c[2].apic_id, 2);
    ck_assert(!c[3].usable);
    ck_assert_uint_eq(c[4].apic_id, 300);
    ck_assert(c[4].usable);
    ck_assert_int_eq(acpi_madt_cpus(c, 2), 5);      /* counted beyond max */
}
END_TEST

START_TEST(madt_keep_one)
{
    struct acpi_cpu c[8];
    build(true);
    acpi_init();
    uint8_t io[12], iso[10];
    memcpy(io, P(MADT) + 44 + 32, 12);
    memcpy(iso, P(MADT) + 44 + 44, 10);
    ck_assert_int_eq(acpi_madt_keep_one(2), 4);
    uint8_t *m = P(MADT);
    uint32_t len = r32(m + 4);
    ck_assert_uint_eq(len, madt_len - 3 * 8 - 16);   /* LAPICs 0, 1, 3 and the x2APIC */
    ck_assert_uint_eq(sum(m, len), 0);
    ck_assert_int_eq(acpi_madt_cpus(c, 8), 1);
    ck_assert_uint_eq(c[0].apic_id, 2);
    /* What follows the kept entry is the I/O APIC and the override, byte for byte. */
    ck_assert_mem_eq(m + 44 + 8, io, 12);
    ck_assert_mem_eq(m + 44 + 20, iso, 10);
    ck_assert_uint_eq(r32(m + 36), 0xfee00000);
    /* The table is still found by its (fixed) checksum; a CPU not listed is refused untouched. */
    ck_assert_uint_eq(acpi_find_table("APIC"), MADT);
    ck_assert_int_eq(acpi_madt_keep_one(7), -1);
    ck_assert_uint_eq(r32(m + 4), len);
}
END_TEST

START_TEST(madt_keep_x2apic)
{
    struct acpi_cpu c[8];
    build(false);                        /* RSDT only */
    acpi_init();
    ck_assert_int_eq(acpi_madt_keep_one(300), 4);
    ck_assert_int_eq(acpi_madt_cpus(c, 8), 1);
    ck_assert_uint_eq(c[0].apic_id, 300);
    ck_assert_uint_eq(sum(P(MADT), r32(P(MADT) + 4)), 0);
}
END_TEST

START_TEST(hide_table)
{
    build(_i);
    acpi_init();
    ck_assert_uint_eq(acpi_hide_table("IVRS"), _i ? 2 : 1);
    ck_assert_uint_eq(acpi_find_table("IVRS"), 0);
    ck_assert_uint_eq(acpi_find_table("APIC"), MADT);
    ck_assert_uint_eq(acpi_find_table("FACP"), FACP);
    uint8_t *rt = P(RSDT);
    ck_assert_uint_eq(r32(rt + 4), 36 + 2 * 4);
    ck_assert_uint_eq(sum(rt, r32(rt + 4)), 0);
    ck_assert_uint_eq(r32(rt + 40), MADT);           /* the later entry moved down */
    if (_i) {
        uint8_t *xt = P(XSDT);
        ck_assert_uint_eq(r32(xt + 4), 36 + 2 * 8);
        ck_assert_uint_eq(sum(xt, r32(xt + 4)), 0);
    }
    ck_assert_uint_eq(acpi_hide_table("IVRS"), 0);  /* nothing left to hide */
    ck_assert_uint_eq(acpi_hide_table("XXXX"), 0);
}
END_TEST

START_TEST(mptable_keep_one_cpu)
{
    struct acpi_cpu c[8];
    build(true);
    ck_assert_int_eq(mptable_cpus(c, 8), 4);
    ck_assert_uint_eq(c[3].apic_id, 3);
    ck_assert_int_eq(mptable_keep_one(0), 3);
    ck_assert_int_eq(mptable_cpus(c, 8), 1);
    ck_assert_uint_eq(c[0].apic_id, 0);
    uint8_t *t = P(MPC);
    unsigned len = t[4] | t[5] << 8;
    ck_assert_uint_eq(len, 44 + 20 + 16);
    ck_assert_uint_eq(t[34], 3);                     /* BP, bus, I/O APIC */
    ck_assert_uint_eq(sum(t, len), 0);
    ck_assert_uint_eq(t[44 + 20], 1);                /* the bus entry follows the BP */
    ck_assert_uint_eq(t[44 + 28], 2);
    ck_assert_mem_eq(t + len, mpc_ext, sizeof(mpc_ext));   /* extended table moved with it */
    ck_assert_int_eq(mptable_keep_one(5), -1);
}
END_TEST

/*
 * Found by the mptable fuzz target: with no extended table, an entry count
 * larger than the entries and the base table ending where mapped memory ends,
 * the entry walk read the type byte at t[len], one past the table, before
 * checking off < len.  Here the byte past the table is a PROT_NONE page.
 */
START_TEST(mptable_reads_nothing_past_its_end)
{
    uint8_t *m = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ck_assert_ptr_ne(m, MAP_FAILED);
    ck_assert_int_eq(mprotect(m + 4096, 4096, PROT_NONE), 0);
    edge = m;
    memset(low, 0, sizeof(low));
    const uint32_t len = 44 + 2 * 20, at = 4096 - len;
    uint8_t *f = P(MPF);
    memcpy(f, "_MP_", 4);
    w32(f + 4, EDGE_BASE + at);
    f[8] = 1; f[9] = 4;
    seal(f, 16, 10);
    uint8_t *c = edge + at;
    memcpy(c, "PCMP", 4);
    c[4] = (uint8_t)len; c[6] = 4;
    c[34] = 5;                                       /* five entries claimed, two there */
    c[44] = 0; c[45] = 0; c[47] = 3;                 /* the BP, APIC ID 0 */
    c[64] = 0; c[65] = 1; c[67] = 1;                 /* APIC ID 1 */
    seal(c, len, 7);
    struct acpi_cpu cpu[8];
    ck_assert_int_eq(mptable_cpus(cpu, 8), 2);
    ck_assert_int_eq(mptable_keep_one(0), 1);
    ck_assert_int_eq(mptable_cpus(cpu, 8), 1);
    ck_assert_uint_eq(c[34], 1);
    ck_assert_uint_eq(sum(c, c[4]), 0);
    edge = NULL;
    munmap(m, 8192);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("guest_acpi");
    TCase *tc = tcase_create("acpi");
    tcase_add_loop_test(tc, finds_rsdp_and_tables, 0, 2);
    tcase_add_test(tc, madt_lists_cpus);
    tcase_add_test(tc, madt_keep_one);
    tcase_add_test(tc, madt_keep_x2apic);
    tcase_add_loop_test(tc, hide_table, 0, 2);
    tcase_add_test(tc, mptable_keep_one_cpu);
    tcase_add_test(tc, mptable_reads_nothing_past_its_end);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
