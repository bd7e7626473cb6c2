/*
 * src/gdbstub/shadow_hooks.c against the real shadow MMU on the simulated
 * platform: a guest address space per mode (2-level, PAE, long), a fault
 * that builds the shadows, then the monitor commands and the debugger's
 * memory access through the hooks.  Needs src/shadow (libshadow.a) and the
 * simulator of test/unit.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <umbra/gdbstub.h>
#include <umbra/x86.h>
#include "sim_platform.h"
#include "guestpt.h"

static struct shadow_vcpu V;
static struct shadow_domain *D;
static struct gpt_space AS;
static struct gpt_alloc A;
static char outbuf[1 << 16];
static size_t outlen;

static void out_write(void *ctx, const char *s, size_t n)
{
    (void)ctx;
    if (outlen + n < sizeof(outbuf)) {
        memcpy(outbuf + outlen, s, n);
        outlen += n;
        outbuf[outlen] = '\0';
    }
}

static int h_walk(void *t, unsigned cpu, uint64_t va, struct gdb_walk *w) { (void)t; (void)cpu; return gdb_shadow_walk(&V, va, w); }
static int h_list(void *t, bool (*fn)(const struct gdb_shadow_info *, void *), void *arg) { (void)t; return gdb_shadow_list(&V, fn, arg); }
static int h_entry(void *t, const struct gdb_shadow_info *si, unsigned i, uint64_t *se, uint64_t *ge) { (void)t; return gdb_shadow_entry(si, i, se, ge); }
static int h_pool(void *t, struct gdb_pool_info *pi) { (void)t; return gdb_shadow_pool(D, pi); }
static enum guest_paging h_mode(void *t, unsigned cpu) { (void)t; (void)cpu; return V.paging; }
static int h_blow(void *t) { (void)t; shadow_blow_tables(D); return 0; }
static int h_regs(void *t, unsigned cpu, struct gdb_regs *r)
{
    (void)t; (void)cpu;
    memset(r, 0, sizeof(*r));
    r->cr0 = V.guest_cr0; r->cr3 = V.guest_cr3; r->cr4 = V.guest_cr4; r->efer = V.guest_efer;
    return 0;
}
static int h_phys(void *t, uint64_t gpa, void *buf, size_t len)
{
    (void)t;
    for (size_t i = 0; i < len; i++)
        ((uint8_t *)buf)[i] = (uint8_t)sim_guest_read(gpa + i, 1);
    return 0;
}

static const struct gdb_target_ops ops = {
    .paging_mode = h_mode, .mon_walk = h_walk, .mon_shadows = h_list,
    .mon_shadow_entry = h_entry, .mon_pool = h_pool, .mon_blow = h_blow,
    .get_regs = h_regs, .read_phys = h_phys,
};

/* The number after `key` in the text o. */
static unsigned long num_after(const char *o, const char *key)
{
    const char *p = strstr(o, key);
    ck_assert_msg(p != NULL, "no '%s' in:\n%s", key, o);
    return strtoul(p + strlen(key), NULL, 0);
}

static const char *mon(const char *line)
{
    struct gdb_out o = { out_write, NULL };
    struct gdb_mon_ctx c = { NULL, &ops, NULL, 0, &o };
    outlen = 0;
    outbuf[0] = '\0';
    gdb_monitor(&c, line);
    return outbuf;
}

static void build(enum guest_paging mode)
{
    struct sh_fault f;

    sim_init(16u << 20, 512);
    D = shadow_domain_init(sim_pool_base(), sim_pool_frames());
    ck_assert_ptr_nonnull(D);
    ck_assert_int_eq(shadow_vcpu_init(&V, D), 0);
    gpt_alloc_init(&A, 0x100, 0x100);
    gpt_init(&AS, mode, &A, mode == GUEST_PAGING_PAE ? 0x660 : 0);   /* Linux's PDPT offset */
    gpt_map(&AS, &A, 0x400000, 0x200000, 1, _PAGE_PRESENT | _PAGE_RW, _PAGE_PRESENT | _PAGE_RW);
    gpt_map(&AS, &A, 0x401000, 0x201000, 1, _PAGE_PRESENT, _PAGE_PRESENT | _PAGE_RW);
    /* the leaf table itself, mapped writable at 0x402000 */
    uint64_t pte = gpt_entry_addr(&AS, 0x400000, 1);
    gpt_map(&AS, &A, 0x402000, pte & ~0xfffULL, 1, _PAGE_PRESENT | _PAGE_RW, _PAGE_PRESENT | _PAGE_RW);
    sim_guest_write(0x200000, 0x1122334455667788ULL, 8);
    sim_guest_write(0x201000, 0xaabbccddULL, 4);

    V.guest_cr0 = X86_CR0_PE | X86_CR0_PG | X86_CR0_ET;
    V.guest_cr4 = mode == GUEST_PAGING_2LEVEL ? 0 : X86_CR4_PAE;
    V.guest_efer = mode == GUEST_PAGING_LONG ? EFER_LME : 0;
    ck_assert_int_eq(shadow_update_paging_mode(&V), 0);
    ck_assert_int_eq(V.paging, mode);
    V.guest_cr3 = AS.cr3;
    ck_assert_int_eq(shadow_update_cr3(&V, &f), SH_FIXED);
    ck_assert_int_eq(shadow_page_fault(&V, 0x400000, 0, &f), SH_FIXED);
    ck_assert_int_eq(shadow_page_fault(&V, 0x402000, 0, &f), SH_FIXED);
}

static void check_mode(enum guest_paging mode, unsigned levels, const char *l1type)
{
    struct sh_fault f;
    struct gdb_walk w;
    uint8_t b[8];
    char want[64];

    build(mode);
    ck_assert_int_eq(gdb_shadow_walk(&V, 0x400010, &w), 0);
    ck_assert_uint_eq(w.nlevels, levels);
    ck_assert(w.g_ok && w.s_ok);
    ck_assert_uint_eq(w.gpa, 0x200010);
    ck_assert_uint_eq(w.hpa, 0x200010);
    ck_assert_uint_eq(w.lv[levels - 1].g_index, 0);
    ck_assert_uint_eq(w.lv[levels - 1].s_index, 0);

    const char *o = mon("walk 0x400010");
    ck_assert_ptr_nonnull(strstr(o, "guest:  0x400010 -> gpa 0x200010"));
    ck_assert_ptr_nonnull(strstr(o, "shadow: 0x400010 -> hpa 0x200010"));
    o = mon("walk 0x403000");
    ck_assert_ptr_nonnull(strstr(o, "guest:  0x403000 -> not mapped"));
    o = mon("shadows");
    ck_assert_ptr_nonnull(strstr(o, l1type));

    /* the l1 shadow's entry 0 mirrors the guest PTE of 0x400000 */
    struct gdb_shadow_info si;
    const char *p = strstr(o, l1type);
    const char *sm = p;
    while (sm > o && sm[-1] != '\n')
        sm--;
    ck_assert(sscanf(sm, "smfn 0x%llx", (unsigned long long *)&si.smfn) == 1);
    snprintf(want, sizeof(want), "shadow 0x%llx", (unsigned long long)si.smfn);
    o = mon(want);
    ck_assert_ptr_nonnull(strstr(o, "[  0] shadow "));
    ck_assert_ptr_nonnull(strstr(o, "guest 0x0000000000200"));

    o = mon("dot");
    ck_assert_ptr_nonnull(strstr(o, "digraph umbra"));
    ck_assert_ptr_nonnull(strstr(o, " -> s_"));
    o = mon("pool");
    ck_assert_ptr_nonnull(strstr(o, "pool total 512"));
    /* pool and shadows count the same shadows (issue 17 item 9) */
    unsigned long pooled = num_after(o, " shadows ");
    o = mon("shadows");
    ck_assert_uint_eq(num_after(o, "shadows: "), pooled);
    if (mode == GUEST_PAGING_PAE) {
        /* the PAE top level (issue 17 item 7): the PDPT at CR3 & ~0x1f, index 0..3,
         * and the pdpt shadow listed with the guest frame it mirrors */
        ck_assert_uint_eq(w.lv[0].level, 3);
        ck_assert_uint_eq(w.lv[0].g_table, AS.cr3 & ~0x1fULL);
        ck_assert_uint_eq(AS.cr3 & 0xfff, 0x660);
        ck_assert_uint_eq(w.lv[0].g_index, 0);
        ck_assert_int_eq(gdb_shadow_walk(&V, 0xc0000000, &w), 0);
        ck_assert_uint_eq(w.lv[0].g_index, 3);
        ck_assert_uint_eq(w.lv[0].s_index, 3);
        char line[96];
        snprintf(line, sizeof(line), "gfn 0x%-8llx type pdpt ", (unsigned long long)(AS.cr3 >> 12));
        ck_assert_msg(strstr(o, line) != NULL, "no '%s' in:\n%s", line, o);
        o = mon("walk 0x400010");
        snprintf(line, sizeof(line), "L3  0x%-16llx 0 ", (unsigned long long)(AS.cr3 & ~0x1fULL));
        ck_assert_msg(strstr(o, line) != NULL, "no '%s' in:\n%s", line, o);
        /* the graph's guest root is the PDPT's frame, linked to its L2 table */
        o = mon("dot");
        uint64_t l2 = gpt_entry_addr(&AS, 0x400000, 2) >> 12;
        snprintf(line, sizeof(line), "g_%llx -> g_%llx ", (unsigned long long)(AS.cr3 >> 12),
                 (unsigned long long)l2);
        ck_assert_msg(strstr(o, line) != NULL, "no '%s' in:\n%s", line, o);
    }
    /* vmmap (issue 17 item 2): guest rights and shadow state per merged range */
    unsigned wd = mode == GUEST_PAGING_LONG ? 16 : 8;
    char l0[128], l1[128], l2[128];
    uint64_t ptf = gpt_entry_addr(&AS, 0x400000, 1) & ~0xfffULL;    /* the leaf table's frame */
    snprintf(l0, sizeof(l0), "0x%0*x-0x%0*x     4K rwx s - 4K rw-held    gpa 0x200000\n", wd, 0x400000, wd, 0x401000);
    snprintf(l1, sizeof(l1), "0x%0*x-0x%0*x     4K r-x s - 4K unshadowed gpa 0x201000\n", wd, 0x401000, wd, 0x402000);
    snprintf(l2, sizeof(l2), "0x%0*x-0x%0*x     4K rwx s - 4K rw-held    gpa 0x%llx\n", wd, 0x402000, wd, 0x403000,
             (unsigned long long)ptf);
    o = mon("vmmap");
    ck_assert_msg(strstr(o, l0) && strstr(o, l1) && strstr(o, l2), "%s", o);
    ck_assert_msg(strstr(o, "vmmap: 3 ranges, 3 leaves, 12 KiB\n"), "%s", o);
    o = mon("vmmap -w");
    ck_assert_msg(strstr(o, l0) && !strstr(o, l1) && strstr(o, l2), "%s", o);
    o = mon("vmmap 0x401000-0x402000");
    ck_assert_msg(!strstr(o, l0) && strstr(o, l1) && !strstr(o, l2), "%s", o);
    o = mon("vmmap 4198400");                                        /* decimal 0x401000, to the end */
    ck_assert_msg(!strstr(o, l0) && strstr(o, l1) && strstr(o, l2), "%s", o);
    snprintf(want, sizeof(want), "vmmap -frame 0x%llx", (unsigned long long)(ptf >> 12));
    o = mon(want);                                                   /* who maps the page table */
    ck_assert_msg(strstr(o, l2) && strstr(o, "vmmap: 1 ranges"), "%s", o);
    ck_assert_msg(strstr(mon("vmmap -u"), "vmmap: 0 ranges"), "%s", outbuf);
    ck_assert_msg(strstr(mon("vmmap -x -s"), "vmmap: 3 ranges"), "%s", outbuf);
    /* a write makes 0x400000 dirty: shadowed writable, and -diff no longer lists it */
    ck_assert_int_eq(shadow_page_fault(&V, 0x400000, PFEC_WRITE, &f), SH_FIXED);
    o = mon("vmmap -diff");
    ck_assert_msg(!strstr(o, "gpa 0x200000") && strstr(o, l1) && strstr(o, l2), "%s", o);
    ck_assert_msg(strstr(mon("vmmap"), "4K rwx s - 4K shadowed   gpa 0x200000"), "%s", outbuf);
    /* malformed forms */
    const char *bad[] = { "vmmap 0x5-0x1", "vmmap -q", "vmmap -frame", "vmmap -frame zz", "vmmap -u -s",
                          "vmmap 1-", "vmmap -3", "vmmap 0x1 0x2", "vmmap $pc" };
    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(strstr(mon(bad[i]), "usage: vmmap"), "%s: %s", bad[i], outbuf);
    /* blow says what `shadows` will list next */
    o = mon("blow");
    unsigned long kept = num_after(o, "down; "), torn = num_after(o, "blow: ");
    ck_assert_uint_eq(num_after(o, " of "), pooled);
    ck_assert_uint_eq(torn + kept, pooled);
    ck_assert_uint_eq(num_after(mon("shadows"), "shadows: "), kept);
    ck_assert_uint_eq(num_after(mon("pool"), " shadows "), kept);
    ck_assert_int_eq(shadow_page_fault(&V, 0x400000, 0, &f), SH_FIXED);   /* refilled on demand */
    ck_assert_int_eq(shadow_page_fault(&V, 0x402000, 0, &f), SH_FIXED);

    /* debugger memory */
    ck_assert_int_eq(gdb_shadow_read_virt(&V, 0x400000, b, 8), 0);
    ck_assert_uint_eq(b[0], 0x88);
    ck_assert_int_eq(gdb_shadow_read_virt(&V, 0x403000, b, 1), -GDB_EIO);
    ck_assert_int_eq(gdb_shadow_write_virt(&V, 0x401000, "\xcc", 1), 0);   /* read-only page */
    ck_assert_uint_eq(sim_guest_read(0x201000, 1), 0xcc);
    /* a write into the guest's leaf table: the shadow must follow */
    ck_assert(gdb_shadow_is_table(D, gpt_entry_addr(&AS, 0x400000, 1) >> 12));
    uint64_t zero = 0;
    ck_assert_int_eq(gdb_shadow_write_virt(&V, 0x402000, &zero, mode == GUEST_PAGING_2LEVEL ? 4 : 8), 0);
    ck_assert_int_eq(gdb_shadow_walk(&V, 0x400000, &w), 0);
    ck_assert(!w.g_ok);
    ck_assert(!w.s_ok);
    ck_assert_uint_eq(shadow_audit(D), 0);
    sim_fini();
}

START_TEST(two_level) { check_mode(GUEST_PAGING_2LEVEL, 2, "l1_32"); }
END_TEST
START_TEST(pae) { check_mode(GUEST_PAGING_PAE, 3, "l1_pae"); }
END_TEST
START_TEST(long_mode) { check_mode(GUEST_PAGING_LONG, 4, "l1_64"); }
END_TEST

/* shadow_stat() (issue 16's iterator) on a real domain: every counter has a
 * group (none falls to "other"), names are unique, the gauges match the pool,
 * the PAE build made l1_pae shadows, and the order ends; shadow_stat_get()
 * finds each by name with the same value and no name it was not given. */
START_TEST(stats_iterator)
{
    struct shadow_stat st;
    static char names[256][40];
    unsigned n = 0;
    uint64_t frames = 0, made_l1 = 0, faults_seen = 0;

    build(GUEST_PAGING_PAE);
    for (; shadow_stat(D, n, &st); n++) {
        ck_assert_uint_lt(n, 256);
        ck_assert_msg(strcmp(st.group, "other") != 0, "%s has no group", st.name);
        for (unsigned k = 0; k < n; k++)
            ck_assert_msg(strcmp(names[k], st.name) != 0, "%s twice", st.name);
        snprintf(names[n], sizeof(names[n]), "%s", st.name);
        uint64_t got = ~0ULL;      /* the lookup by name finds the same value */
        ck_assert_msg(shadow_stat_get(D, st.name, &got), "shadow_stat_get(%s) failed", st.name);
        ck_assert_uint_eq(got, st.value);
        if (strcmp(st.name, "pool_frames") == 0)
            frames = st.value;
        if (strcmp(st.name, "made_l1_pae") == 0)
            made_l1 = st.value;
        if (strcmp(st.name, "faults") == 0) {
            ck_assert_str_eq(st.group, "faults");
            faults_seen++;
        }
        if (strcmp(st.name, "cr3_loads") == 0)
            ck_assert_str_eq(st.group, "cr3");
    }
    ck_assert_uint_eq(faults_seen, 1);
    ck_assert_uint_eq(frames, sim_pool_frames());
    ck_assert_uint_ge(made_l1, 1);
    ck_assert_str_eq(names[n - 1], "pinned");
    ck_assert(!shadow_stat(D, n, &st));
    ck_assert_str_eq(shadow_stat_group("wp_rmap_walks"), "writes");
    ck_assert_str_eq(shadow_stat_group("no_such_counter"), "other");
    uint64_t untouched = 42;
    ck_assert(!shadow_stat_get(D, "no_such_counter", &untouched));
    ck_assert(!shadow_stat_get(D, "fault", &untouched));      /* a prefix is no name */
    ck_assert_uint_eq(untouched, 42);
    sim_fini();
}
END_TEST

int main(void)
{
    Suite *s = suite_create("gdb_shadow");
    TCase *tc = tcase_create("hooks");
    SRunner *sr;
    int failed;

    tcase_add_test(tc, two_level);
    tcase_add_test(tc, pae);
    tcase_add_test(tc, stats_iterator);
    tcase_add_test(tc, long_mode);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
