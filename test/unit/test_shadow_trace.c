/*
 * The shadow trace ring (src/shadow/trace.c) and `monitor trace`'s parser:
 *   - wrap-around: a 16-event ring after 40 events holds exactly 25..40;
 *   - filters va=, gfn=, last= select the right events;
 *   - malformed arguments are refused with a message naming the bad word;
 *   - on a real shadow run (2-level guest, simulator) the hooks record a CR3
 *     miss, shadows made and a fixed fault, with the RIP from the seam; off
 *     records nothing;
 *   - the events added on 2026-12-03 (issue 17): a fixed fault records the
 *     shadow L1 entry it wrote (old and new) and its error code; the
 *     targeted unshadow; a teardown (monitor blow) as one event with the
 *     live counts, no per-shadow events; a fault reflected from the
 *     emulator's guest access.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/shadow/private.h"
#include "sim_platform.h"
#include "refmmu.h"

#define P  _PAGE_PRESENT
#define RW _PAGE_RW
#define A  _PAGE_ACCESSED
#define D  _PAGE_DIRTY
#define CR0_ON (X86_CR0_PG | X86_CR0_PE | X86_CR0_WP | X86_CR0_ET)

static char out[1 << 16];
static size_t outn;
static void put(const char *s, void *ctx)
{
    (void)ctx;
    size_t n = strlen(s);
    ck_assert_uint_lt(outn + n, sizeof(out));
    memcpy(out + outn, s, n + 1);
    outn += n;
}
static int cmd(const char *a)
{
    outn = 0;
    out[0] = '\0';
    return sh_trace_command(a, put, NULL);
}
/* Number of table rows (lines starting with a sequence number). */
static unsigned rows(void)
{
    unsigned n = 0;
    for (const char *l = out; *l; l = strchr(l, '\n') + 1) {
        const char *p = l;
        while (*p == ' ')
            p++;
        n += *p >= '0' && *p <= '9';
        if (!strchr(l, '\n'))
            break;
    }
    return n;
}
static bool has_seq(unsigned long s)
{
    char b[32];
    snprintf(b, sizeof(b), "\n%8lu ", s);
    return strstr(out, b) != NULL;
}

static struct sh_trace_ev small[16];

START_TEST(wraparound)
{
    ck_assert_int_eq(sh_trace_init(small, sizeof(small) - 1), -1);    /* below the minimum */
    ck_assert_int_eq(sh_trace_init(small, sizeof(small)), 0);
    ck_assert_uint_eq(sh_trace_capacity(), 16);
    ck_assert(!sh_trace_on);
    for (unsigned i = 1; i <= 40; i++) {
        sim_rip = 0x1000 + i;
        sh_trace_record(&(struct shadow_vcpu){ 0 }, SHT_INVLPG, i << 12, i, 0x500 + i, ~0ULL, ~0ULL, 0);
    }
    ck_assert_uint_eq(sh_trace_total(), 40);
    ck_assert_int_eq(cmd("dump"), 0);
    ck_assert_ptr_nonnull(strstr(out, "40 events recorded, ring 16, 16 held, 16 match"));
    ck_assert_uint_eq(rows(), 16);
    ck_assert(!has_seq(24));
    ck_assert(has_seq(25) && has_seq(40));
    ck_assert_ptr_nonnull(strstr(out, "invlpg"));
    ck_assert_ptr_nonnull(strstr(out, "1028"));          /* rip of event 40 = 0x1028 */
    ck_assert_int_eq(cmd("clear"), 0);
    ck_assert_int_eq(cmd("dump"), 0);
    ck_assert_uint_eq(rows(), 0);
    ck_assert_uint_eq(sh_trace_total(), 0);
    ck_assert_uint_eq(sh_trace_clamp(0), SH_TRACE_DEFAULT);
    ck_assert_uint_eq(sh_trace_clamp(3), SH_TRACE_MIN);
    ck_assert_uint_eq(sh_trace_clamp(1UL << 30), SH_TRACE_MAX);
    ck_assert_uint_eq(sh_trace_clamp(300), 300);
}
END_TEST

START_TEST(filters)
{
    ck_assert_int_eq(sh_trace_init(small, sizeof(small)), 0);
    for (unsigned i = 1; i <= 10; i++)
        sh_trace_record(NULL, i & 1 ? SHT_FAULT_FIXED : SHT_CR3_MISS, i << 12, i % 3, ~0ULL, 1, 2, 0);
    ck_assert_int_eq(cmd("dump va=0x3000-0x5000"), 0);
    ck_assert_uint_eq(rows(), 3);
    ck_assert(has_seq(3) && has_seq(4) && has_seq(5) && !has_seq(6));
    ck_assert_int_eq(cmd("dump va=8192"), 0);                      /* decimal, one address */
    ck_assert_uint_eq(rows(), 1);
    ck_assert(has_seq(2));
    ck_assert_int_eq(cmd("dump gfn=0"), 0);                        /* 3, 6, 9 */
    ck_assert_uint_eq(rows(), 3);
    ck_assert(has_seq(3) && has_seq(6) && has_seq(9));
    ck_assert_int_eq(cmd("dump gfn=1 last=2"), 0);                 /* 1, 4, 7, 10 -> the newest two */
    ck_assert_uint_eq(rows(), 2);
    ck_assert(has_seq(7) && has_seq(10) && !has_seq(4));
    ck_assert_int_eq(cmd("dump   last=0x3  "), 0);
    ck_assert_uint_eq(rows(), 3);
    ck_assert(has_seq(8) && has_seq(10));
}
END_TEST

START_TEST(malformed)
{
    static const char *const bad[][2] = {
        { "", "missing subcommand" }, { "bogus", "'bogus'" }, { "on extra", "'extra'" },
        { "dump va=", "'va='" }, { "dump va=0x10-0x5", "'va=0x10-0x5'" }, { "dump gfn=zz", "'gfn=zz'" },
        { "dump last=0", "'last=0'" }, { "dump foo", "'foo'" }, { "dump size=3", "'size=3'" },
        { "dump va=0x", "'va=0x'" }, { "dump gfn=99999999999999999999999", "gfn=" }, { "onx", "'onx'" },
    };
    ck_assert_int_eq(sh_trace_init(small, sizeof(small)), 0);
    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_assert_msg(cmd(bad[i][0]) == -1, "'%s' accepted", bad[i][0]);
        ck_assert_msg(strstr(out, bad[i][1]) && strstr(out, "usage: trace on|off|clear|dump"),
                      "'%s' answered: %s", bad[i][0], out);
        ck_assert(!sh_trace_on);
    }
    ck_assert_int_eq(cmd("on"), 0);
    ck_assert(sh_trace_on);
    ck_assert_ptr_nonnull(strstr(out, "trace on, ring 16 events"));
    ck_assert_int_eq(cmd("off"), 0);
    ck_assert(!sh_trace_on);
}
END_TEST

static struct sh_trace_ev big[256];

static bool touch(struct shadow_vcpu *v, gva_t va, uint32_t acc)
{
    for (int i = 0; i < 8; i++) {
        struct ref_result r;
        struct sh_fault f;
        if (ref_hw_walk(v, va, acc, false, 0, &r))
            return true;
        if (shadow_page_fault(v, va, r.pfec, &f) != SH_FIXED)
            return false;
    }
    return false;
}

START_TEST(live_hooks)
{
    static struct shadow_vcpu vc;
    struct shadow_vcpu *v = &vc;
    sim_init(64ULL << 20, 64);
    struct shadow_domain *dom = shadow_domain_init(sim_pool_base(), sim_pool_frames());
    ck_assert_ptr_nonnull(dom);
    ck_assert_int_eq(shadow_vcpu_init(v, dom), 0);
    ck_assert_int_eq(sh_trace_init(big, sizeof(big)), 0);
    sim_guest_write(0x20000, 0x21000 | P | RW | A, 4);
    sim_guest_write(0x21000 + 4 * 7, 0x30000 | P | RW | A | D, 4);
    v->guest_cr0 = CR0_ON;
    v->guest_cr3 = 0x20000;
    ck_assert_int_eq(shadow_update_paging_mode(v), 0);     /* trace off: nothing recorded */
    ck_assert_uint_eq(sh_trace_total(), 0);
    ck_assert_int_eq(cmd("on"), 0);
    sim_rip = 0xc0de;
    struct sh_fault f;
    v->guest_cr3 = 0x20000;
    ck_assert_int_eq(shadow_update_cr3(v, &f), SH_FIXED);
    ck_assert(touch(v, 7 << 12, PFEC_WRITE));
    shadow_invlpg(v, 7 << 12);
    ck_assert_int_eq(cmd("dump"), 0);
    ck_assert_msg(strstr(out, "cr3-hit"), "%s", out);
    ck_assert_msg(strstr(out, "shadow-made"), "%s", out);
    ck_assert_msg(strstr(out, "fault-fixed"), "%s", out);
    ck_assert_msg(strstr(out, "invlpg"), "%s", out);
    ck_assert_msg(strstr(out, "c0de"), "%s", out);
    ck_assert_int_eq(cmd("dump va=0x7000 last=1"), 0);
    ck_assert_uint_eq(rows(), 1);
    ck_assert_ptr_nonnull(strstr(out, "invlpg"));
    uint64_t n = sh_trace_total();
    ck_assert_int_eq(cmd("off"), 0);
    shadow_invlpg(v, 7 << 12);
    ck_assert_uint_eq(sh_trace_total(), n);
    ck_assert_uint_eq(shadow_audit(dom), 0);
    sim_fini();
}
END_TEST

/* The newest event of kind k in the 256-slot ring, or NULL. */
static const struct sh_trace_ev *last_of(enum sh_trace_kind k)
{
    const struct sh_trace_ev *best = NULL;
    for (unsigned i = 0; i < ARRAY_SIZE(big); i++)
        if (big[i].seq && big[i].kind == k && (!best || big[i].seq > best->seq))
            best = &big[i];
    return best;
}

START_TEST(new_events)
{
    static struct shadow_vcpu vc;
    struct shadow_vcpu *v = &vc;
    struct sh_fault f;
    sim_init(64ULL << 20, 64);
    struct shadow_domain *dom = shadow_domain_init(sim_pool_base(), sim_pool_frames());
    ck_assert_ptr_nonnull(dom);
    ck_assert_int_eq(shadow_vcpu_init(v, dom), 0);
    ck_assert_int_eq(sh_trace_init(big, sizeof(big)), 0);
    /* 2-level: PD 0x20000 -> PT 0x21000; VA 0x7000 -> 0x30000 (rw), VA 0x8000 -> 0x31000 (ro) */
    sim_guest_write(0x20000, 0x21000 | P | RW | A, 4);
    sim_guest_write(0x21000 + 4 * 7, 0x30000 | P | RW | A | D, 4);
    sim_guest_write(0x21000 + 4 * 8, 0x31000 | P | A, 4);
    v->guest_cr0 = CR0_ON;
    v->guest_cr3 = 0x20000;
    ck_assert_int_eq(shadow_update_paging_mode(v), 0);
    ck_assert_int_eq(cmd("on"), 0);

    /* fault-fixed: the shadow L1 entry for 0x7000 went from not present to the frame, writable */
    ck_assert(touch(v, 7 << 12, PFEC_WRITE));
    const struct sh_trace_ev *e = last_of(SHT_FAULT_FIXED);
    ck_assert_ptr_nonnull(e);
    ck_assert_uint_eq(e->va, 7 << 12);
    ck_assert_uint_eq(e->pfec & PFEC_WRITE, PFEC_WRITE);
    ck_assert_msg(!(e->old_e & P), "old entry %llx present", (unsigned long long)e->old_e);
    ck_assert_msg((e->new_e & (P | RW)) == (P | RW) && (e->new_e & ~0xfffULL & ((1ULL << 52) - 1)) == 0x30000,
                  "new entry %llx", (unsigned long long)e->new_e);
    ck_assert_int_eq(cmd("dump va=0x7000 last=1"), 0);
    char want[64];
    snprintf(want, sizeof(want), " %llx pfec=%x", (unsigned long long)e->new_e, (unsigned)e->pfec);
    ck_assert_msg(strstr(out, want), "want '%s' in %s", want, out);

    /* a fault reflected from the emulator's access: a write to the read-only page */
    uint32_t x = 1;
    ck_assert_int_eq(shadow_write_guest(v, 8 << 12, &x, 4, 0, &f), SH_REFLECT);
    e = last_of(SHT_FAULT_REFLECTED);
    ck_assert_ptr_nonnull(e);
    ck_assert_uint_eq(e->va, 8 << 12);
    ck_assert_uint_eq(e->why, SHT_WHY_EMU_ACCESS);
    ck_assert_uint_eq(e->pfec, f.pfec);
    ck_assert_uint_eq(f.pfec & (PFEC_WRITE | PFEC_PRESENT), PFEC_WRITE | PFEC_PRESENT);
    ck_assert_int_eq(cmd("dump last=1"), 0);
    ck_assert_msg(strstr(out, "fault-reflected") && strstr(out, "why=emulated-access"), "%s", out);

    /* the targeted unshadow of the PT frame */
    ck_assert(shadow_unshadow_gfn(dom, _gfn(0x21)));
    e = last_of(SHT_UNSHADOW);
    ck_assert_ptr_nonnull(e);
    ck_assert_uint_eq(e->gfn, 0x21);
    ck_assert_uint_eq(e->why, SHT_WHY_TARGETED);
    ck_assert_int_eq(cmd("dump gfn=0x21 last=2"), 0);    /* the unshadow, then the shadow it destroyed */
    ck_assert_msg(strstr(out, "why=targeted"), "%s", out);

    /* teardown: refault, then blow; one event with the live counts, nothing else */
    ck_assert(touch(v, 7 << 12, 0));
    unsigned long live0;
    shadow_pool_usage(dom, NULL, NULL, &live0, NULL);
    uint64_t n0 = sh_trace_total();
    shadow_blow_tables(dom);
    ck_assert_uint_eq(sh_trace_total(), n0 + 1);
    e = last_of(SHT_TEARDOWN);
    ck_assert_ptr_nonnull(e);
    unsigned long live1;
    shadow_pool_usage(dom, NULL, NULL, &live1, NULL);
    ck_assert_uint_eq(e->old_e, live0);
    ck_assert_uint_eq(e->new_e, live1);
    ck_assert_uint_lt(live1, live0);
    ck_assert(sh_trace_on);                        /* recording resumed */
    ck_assert_int_eq(cmd("dump last=1"), 0);
    ck_assert_msg(strstr(out, " teardown "), "%s", out);
    ck_assert_uint_eq(shadow_audit(dom), 0);
    ck_assert_int_eq(cmd("off"), 0);
    sim_fini();
}
END_TEST

int main(void)
{
    Suite *s = suite_create("shadow_trace");
    TCase *t = tcase_create("trace");
    tcase_add_test(t, wraparound);
    tcase_add_test(t, filters);
    tcase_add_test(t, malformed);
    tcase_add_test(t, live_hooks);
    tcase_add_test(t, new_events);
    suite_add_tcase(s, t);
    SRunner *r = srunner_create(s);
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
