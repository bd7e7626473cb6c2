/*
 * Refusals that say why (issue 17 items 5 and 9): control-register writes
 * checked as VMRUN checks them (src/gdbstub/ctlcheck.c), the E.text reply
 * GDB shows for P and G, and `monitor why` for the refusals GDB shows only
 * as "Cannot access memory".  Against the fake target, whose set_regs uses
 * the same checker as the SVM target.
 */
#include <check.h>
#include "test_gdb_util.h"
#include <umbra/x86.h>

static struct harness H, *h = &H;

static void setup_pae(void) { h_init(h, GUEST_PAGING_PAE); }

#define REPLY(pkt, want) ck_assert_str_eq(h_cmd(h, pkt), want)
/* i386 layout: cr0 is register 0x20, cr3 0x22, cr4 0x23, efer 0x24 */

static bool starts_with(const char *s, const char *p) { return strncmp(s, p, strlen(p)) == 0; }

START_TEST(bad_control_writes_refused_with_reason)
{
    struct gdb_regs before = h->f.regs[0];
    const char *r;

    r = h_cmd(h, "P20=ffffffffffffffff");                    /* cr0 = ~0 */
    ck_assert_msg(starts_with(r, "E.write of cr0: cr0 0xffffffffffffffff: bits 63:32"), "%s", r);
    r = h_cmd(h, "P23=00000000ffffffff");                    /* cr4 = 0xffffffff00000000 */
    ck_assert_msg(starts_with(r, "E.write of cr4: cr4 0xffffffff00000000: bits 0xffffffff00000000 reserved"),
                  "%s", r);
    r = h_cmd(h, "P24=0005000000000000");                    /* efer = 0x500, paging on */
    ck_assert_msg(starts_with(r, "E.write of efer: efer: LME cannot change while paging is on"), "%s", r);
    r = h_cmd(h, "P20=1100000000000000");                    /* cr0 = 0x11: paging off is fine ... */
    ck_assert_str_eq(r, "OK");
    r = h_cmd(h, "P24=0005000000000000");                    /* ... and efer = 0x500 then is not */
    ck_assert_msg(starts_with(r, "E.write of efer: efer 0x500: LMA=1 with LME=1 and CR0.PG=0"), "%s", r);
    REPLY("P24=0001000000000000", "OK");                     /* LME alone is */
    h->f.regs[0] = before;
    r = h_cmd(h, "P20=1000008000000000");                    /* PG without PE */
    ck_assert_msg(strstr(r, "PG=1 needs PE=1"), "%s", r);
    r = h_cmd(h, "P20=3100002000000000");                    /* NW without CD */
    ck_assert_msg(strstr(r, "NW=1 needs CD=1"), "%s", r);
    /* nothing of the refused writes reached the vCPU */
    ck_assert_uint_eq(h->f.regs[0].cr0, before.cr0);
    ck_assert_uint_eq(h->f.regs[0].cr4, before.cr4);
    ck_assert_uint_eq(h->f.regs[0].efer, before.efer);
    /* a good write still works, and so does the guest: a step runs */
    REPLY("P23=a000000000000000", "OK");                     /* cr4 = PAE|PGE */
    ck_assert_uint_eq(h->f.regs[0].cr4, X86_CR4_PAE | X86_CR4_PGE);
    /* the refusal is kept for monitor why */
    h_cmd(h, "P20=ffffffffffffffff");
    ck_assert_msg(strstr(h_monitor(h, "why"), "write of cr0: cr0 0xffffffffffffffff"), "%s", h->console);
    /* malformed P forms keep their plain errors */
    REPLY("P20=ffff", "E16");
    REPLY("P20=zzffffffffffffff", "E16");
    REPLY("P=00", "E16");
}
END_TEST

START_TEST(G_with_bad_cr0_refused)
{
    char g[4096];
    strcpy(g + 1, h_cmd(h, "g"));
    g[0] = 'G';
    /* cr0 is the 33rd register: 16 core x 8 hex, 8 x87 x 20, 8 more x 8 */
    size_t off = 1 + 16 * 8 + 8 * 20 + 8 * 8;
    memcpy(g + off, "ffffffffffffffff", 16);
    const char *r = h_cmd(h, g);
    ck_assert_msg(starts_with(r, "E.write of the registers: cr0 0xffffffffffffffff"), "%s", r);
    ck_assert_uint_eq(h->f.regs[0].cr0, X86_CR0_PE | X86_CR0_PG | X86_CR0_ET);
}
END_TEST

/* The checker itself: what VMRUN refuses, what a CPU reaches legally. */
static const struct gdb_ctl_caps caps = {
    .cr4_allowed = 0x7ff, .efer_allowed = EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE, .maxphyaddr = 40,
};

static bool check(const struct gdb_regs *o, struct gdb_regs *n, const struct gdb_ctl_caps *c, char *why)
{
    return gdb_check_control(o, n, c, why, 128);
}

START_TEST(checker_rules)
{
    char why[128];
    struct gdb_regs o = { .cr0 = 0x11, .cr4 = 0, .efer = 0 }, n;

    /* entering long mode the legal way: LME, PAE, then PG; LMA follows */
    n = o; n.efer = EFER_LME;
    ck_assert(check(&o, &n, &caps, why));
    ck_assert_uint_eq(n.efer, EFER_LME);
    o = n; n.cr4 = X86_CR4_PAE; n.cr0 = 0x80000011;
    ck_assert_msg(check(&o, &n, &caps, why), "%s", why);
    ck_assert_uint_eq(n.efer, EFER_LME | EFER_LMA);          /* the CPU's bit, set for the writer */
    /* long mode without PAE */
    n = o; n.cr0 = 0x80000011;
    ck_assert(!check(&o, &n, &caps, why));
    ck_assert_msg(strstr(why, "needs CR4.PAE=1"), "%s", why);
    /* CS.L and CS.D together */
    struct gdb_ctl_caps ld = caps;
    ld.cs_l = ld.cs_d = true;
    n = o; n.cr4 = X86_CR4_PAE; n.cr0 = 0x80000011;
    ck_assert(!check(&o, &n, &ld, why));
    ck_assert_msg(strstr(why, "CS.L=1 and CS.D=1"), "%s", why);
    /* in long mode: LME cannot go, paging cannot go off in 64-bit code, CR3 above MAXPHYADDR */
    struct gdb_regs lm = { .cr0 = 0x80000011, .cr4 = X86_CR4_PAE, .efer = EFER_LME | EFER_LMA };
    struct gdb_ctl_caps l64 = caps;
    l64.cs_l = true;
    n = lm; n.efer = EFER_LMA;
    ck_assert(!check(&lm, &n, &l64, why));
    n = lm; n.efer = 0;
    ck_assert(!check(&lm, &n, &l64, why));
    ck_assert_msg(strstr(why, "LME cannot change while paging is on"), "%s", why);
    n = lm; n.cr0 = 0x11;
    ck_assert(!check(&lm, &n, &l64, why));
    ck_assert_msg(strstr(why, "paging cannot be turned off in 64-bit code"), "%s", why);
    n = lm; n.cr3 = 1ULL << 40;
    ck_assert(!check(&lm, &n, &l64, why));
    ck_assert_msg(strstr(why, "MAXPHYADDR (40)"), "%s", why);
    n = lm; n.cr3 = (1ULL << 40) - 0x1000;
    ck_assert(check(&lm, &n, &l64, why));
    /* EFER bits the CPU does not offer (NXE on a CPU without NX; SVME) */
    struct gdb_ctl_caps nonx = caps;
    nonx.efer_allowed &= ~(uint64_t)EFER_NXE;
    n = o; n.efer = EFER_NXE;
    ck_assert(!check(&o, &n, &nonx, why));
    ck_assert_msg(strstr(why, "bits 0x800 reserved"), "%s", why);
    n = o; n.efer = EFER_SVME;
    ck_assert(!check(&o, &n, &caps, why));
    /* the reason always fits and is terminated */
    char tiny[8];
    n = o; n.cr0 = ~0ULL;
    ck_assert(!gdb_check_control(&o, &n, &caps, tiny, sizeof(tiny)));
    ck_assert_uint_eq(strlen(tiny), 7);
}
END_TEST

/*
 * The debug and descriptor-table registers (issue 17: "the debug registers
 * and the descriptor-table registers read-only where they cannot be written
 * safely").  i386 layout: dr0 is register 0x2b ... dr6 0x2f, dr7 0x30,
 * gdtr_base 0x31, gdtr_limit 0x32, idtr_base 0x33, idtr_limit 0x34, ldtr
 * 0x35, ldtr_base 0x36, ldtr_limit 0x37, tr 0x38, tr_base 0x39, tr_limit 0x3a.
 */
START_TEST(sysregs_read_and_refused_writes)
{
    struct gdb_regs before = h->f.regs[0];
    const char *r;

    /* reads: the guest's values, each at its number */
    REPLY("p2b", "0010400000000000");                        /* dr0 */
    REPLY("p2f", "f00fffff00000000");                        /* dr6 */
    REPLY("p30", "0104000000000000");                        /* dr7 */
    REPLY("p31", "0090000000000000");                        /* gdtr_base */
    REPLY("p32", "27000000");                                /* gdtr_limit */
    REPLY("p34", "ff070000");                                /* idtr_limit */
    REPLY("p38", "20000000");                                /* tr */
    REPLY("p39", "0094000000000000");                        /* tr_base */
    REPLY("p3a", "67000000");                                /* tr_limit */
    /* every descriptor-table register is read-only, by name */
    static const char *const dtr[][2] = {
        { "P31=00a0000000000000", "gdtr_base" }, { "P32=ff000000", "gdtr_limit" },
        { "P33=0000000000000000", "idtr_base" }, { "P34=00000000", "idtr_limit" },
        { "P35=08000000", "ldtr" }, { "P36=0010000000000000", "ldtr_base" },
        { "P37=00000000", "ldtr_limit" }, { "P38=28000000", "tr" },
        { "P39=0000000000000000", "tr_base" }, { "P3a=ffff0000", "tr_limit" },
    };
    for (unsigned i = 0; i < ARRAY_SIZE(dtr); i++) {
        char want[64];
        snprintf(want, sizeof(want), "E.write of %s: %s is read-only", dtr[i][1], dtr[i][1]);
        r = h_cmd(h, dtr[i][0]);
        ck_assert_msg(starts_with(r, want), "%s -> %s", dtr[i][0], r);
    }
    /* writing back the value read is not a change */
    REPLY("P31=0090000000000000", "OK");
    /* debug registers: legal values are written ... */
    REPLY("P2c=0020400000000000", "OK");                     /* dr1 = 0x402000 */
    ck_assert_uint_eq(h->f.regs[0].dr1, 0x402000);
    REPLY("P30=0300000000000000", "OK");                     /* dr7 = 3: bit 10 reads as one */
    ck_assert_uint_eq(h->f.regs[0].dr7, 0x403);
    REPLY("P2f=f00fffff00000000", "OK");
    /* ... and the illegal ones refused with the reason */
    r = h_cmd(h, "P30=0000000001000000");                    /* dr7 bit 32 */
    ck_assert_msg(starts_with(r, "E.write of dr7: dr7 0x100000000: bits 63:32 must be zero (VMRUN"), "%s", r);
    r = h_cmd(h, "P30=0008000000000000");                    /* dr7 bit 11 */
    ck_assert_msg(starts_with(r, "E.write of dr7: dr7 0x800: reserved bits 0x800"), "%s", r);
    r = h_cmd(h, "P30=00c0000000000000");                    /* dr7 bits 14, 15 */
    ck_assert_msg(strstr(r, "reserved bits 0xc000"), "%s", r);
    r = h_cmd(h, "P2f=0000000001000000");                    /* dr6 bit 32 */
    ck_assert_msg(starts_with(r, "E.write of dr6: dr6 0x100000000: bits 63:32 must be zero (VMRUN"), "%s", r);
    r = h_cmd(h, "P2d=0000000001000000");                    /* dr2 above 4G, not in long mode */
    ck_assert_msg(starts_with(r, "E.write of dr2: dr2 0x100000000: bits 63:32 must be zero outside long"),
                  "%s", r);
    /* the refusal is the one `monitor why` gives */
    ck_assert_msg(strstr(h_monitor(h, "why"), "dr2 0x100000000"), "%s", h->console);
    /* malformed: wrong size, bad hex, past the last register */
    REPLY("P30=0000", "E16");
    REPLY("P31=zz90000000000000", "E16");
    REPLY("P3b=00000000", "E16");
    /* nothing of the refused writes reached the vCPU */
    ck_assert_uint_eq(h->f.regs[0].dr2, before.dr2);
    ck_assert_uint_eq(h->f.regs[0].dr6, before.dr6);
    ck_assert_uint_eq(h->f.regs[0].dr7, 0x403);
    ck_assert_uint_eq(h->f.regs[0].gdtr_base, before.gdtr_base);
    ck_assert_uint_eq(h->f.regs[0].tr, before.tr);
    /* G with a changed idtr_base is refused whole */
    char g[4096];
    strcpy(g + 1, h_cmd(h, "g"));
    g[0] = 'G';
    size_t off = 1 + 16 * 8 + 8 * 20 + 8 * 8 + 11 * 16 + 6 * 16 + 16 + 8;   /* idtr_base */
    memcpy(g + off, "0000000000000000", 16);
    g[1] = 'f';                                             /* and eax, which must not land either */
    r = h_cmd(h, g);
    ck_assert_msg(starts_with(r, "E.write of the registers: idtr_base is read-only"), "%s", r);
    ck_assert_uint_eq(h->f.regs[0].idtr_base, before.idtr_base);
    ck_assert_uint_eq(h->f.regs[0].rax, before.rax);
}
END_TEST

/* In long mode DR0-3 hold any canonical address (48 bits, 57 with LA57). */
START_TEST(sysregs_long_mode_canonical)
{
    char why[160];
    struct gdb_regs o = { .cr0 = 0x80000011, .cr4 = X86_CR4_PAE, .efer = EFER_LME | EFER_LMA, .dr7 = 0x400 };
    struct gdb_regs n = o;
    n.dr3 = 0xffff800000001000ULL;
    ck_assert_msg(gdb_check_sysregs(&o, &n, why, sizeof(why)), "%s", why);
    n.dr3 = 0x0000800000000000ULL;
    ck_assert(!gdb_check_sysregs(&o, &n, why, sizeof(why)));
    ck_assert_msg(strstr(why, "dr3 0x800000000000: not canonical"), "%s", why);
    o.cr4 |= 1ULL << 12;                                     /* LA57 */
    n = o; n.dr3 = 0x0000800000000000ULL;
    ck_assert_msg(gdb_check_sysregs(&o, &n, why, sizeof(why)), "%s", why);
    n.dr3 = 0x0100000000000000ULL;
    ck_assert(!gdb_check_sysregs(&o, &n, why, sizeof(why)));
    /* unchanged DR7 is left alone (bit 10 forced only on a write) */
    struct gdb_regs z = { 0 }, zn = z;
    ck_assert(gdb_check_sysregs(&z, &zn, why, sizeof(why)));
    ck_assert_uint_eq(zn.dr7, 0);
    /* the reason always fits and is terminated */
    char tiny[8];
    n = o; n.gdtr_base = 1;
    ck_assert(!gdb_check_sysregs(&o, &n, tiny, sizeof(tiny)));
    ck_assert_uint_eq(strlen(tiny), 7);
}
END_TEST

START_TEST(monitor_why_explains_memory_refusals)
{
    ck_assert_str_eq(h_monitor(h, "why"), "nothing refused since Umbra started\n");
    REPLY("m403000,4", "E05");                               /* the hole of the fake's tables */
    const char *w = h_monitor(h, "why");
    ck_assert_msg(strstr(w, "refusal 1: read of guest VA 0x403000: not mapped by the guest: "
                            "L1 entry 3 of table 0x3000 is 0x0"), "%s", w);
    REPLY("M403000,1:00", "E05");
    ck_assert_msg(strstr(h_monitor(h, "why"), "refusal 2: write of guest VA 0x403000: not mapped"), "%s",
                  h->console);
    REPLY("m402ffc,8", "03020100");                          /* a readable prefix is no refusal */
    ck_assert_msg(strstr(h_monitor(h, "why"), "refusal 2:"), "%s", h->console);
    h_monitor(h, "phys on");
    REPLY("m200000,4", "E05");                               /* beyond the fake's 1 MiB */
    ck_assert_msg(strstr(h_monitor(h, "why"), "read of gpa 0x200000: not accessible"), "%s", h->console);
    ck_assert_msg(strstr(h_monitor(h, "why extra"), "usage: why"), "%s", h->console);
}
END_TEST

/* A stop with a notice (the layout no longer fits the guest's mode): the
 * text reaches GDB as console output before the stop reply, once. */
START_TEST(stop_notice_before_stop_reply)
{
    REPLY("c", "<none>");
    size_t from = h->outlen;
    h->console[0] = '\0';
    gdb_stub_stopped(&h->s, &(struct gdb_stop){ .signal = GDB_SIGTRAP, .notice = "umbra: layout changed\n" });
    ck_assert_int_eq(h_decode(h, from), 2);
    ck_assert_str_eq(h->console, "umbra: layout changed\n");
    ck_assert_stop(h->reply, "T05thread:1;");
    ck_assert_ptr_null(h->s.last_stop.notice);      /* not kept for a later '?' */
    h->console[0] = '\0';
    ck_assert_stop(h_cmd(h, "?"), "T05thread:1;");
    ck_assert_str_eq(h->console, "");
    /* an over-long notice is cut, never overruns the reply */
    static char big[3 * GDB_PACKET_SIZE];
    memset(big, 'x', sizeof(big) - 1);
    REPLY("c", "<none>");
    from = h->outlen;
    gdb_stub_stopped(&h->s, &(struct gdb_stop){ .signal = GDB_SIGTRAP, .notice = big });
    ck_assert_int_eq(h_decode(h, from), 2);
    ck_assert_uint_eq(strlen(h->console), (GDB_PACKET_SIZE - 1) / 2);
    ck_assert_int_eq(h->bad_frames, 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("gdb_ctl");
    TCase *tc = tcase_create("refusals");
    SRunner *sr;
    int failed;

    tcase_add_checked_fixture(tc, setup_pae, NULL);
    tcase_add_test(tc, bad_control_writes_refused_with_reason);
    tcase_add_test(tc, G_with_bad_cr0_refused);
    tcase_add_test(tc, checker_rules);
    tcase_add_test(tc, sysregs_read_and_refused_writes);
    tcase_add_test(tc, sysregs_long_mode_canonical);
    tcase_add_test(tc, monitor_why_explains_memory_refusals);
    tcase_add_test(tc, stop_notice_before_stop_reply);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
