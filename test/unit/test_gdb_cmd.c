/*
 * The command layer and the monitor (src/gdbstub/cmd.c, bp.c, regs.c,
 * monitor.c) against the fake target: every packet, good and malformed.
 */
#include <check.h>
#include "test_gdb_util.h"
#include <umbra/x86.h>

static struct harness H, *h = &H;

static void setup_pae(void) { h_init(h, GUEST_PAGING_PAE); }

#define REPLY(pkt, want) ck_assert_str_eq(h_cmd(h, pkt), want)

static uint8_t phys8(uint64_t pa) { return h->f.mem[pa]; }

/* ---- queries and the target description ---- */
START_TEST(qsupported)
{
    REPLY("qSupported:multiprocess+;swbreak+;xmlRegisters=i386",
          h_psz("qXfer:features:read+;QStartNoAckMode+;vContSupported+;swbreak+"));
    REPLY("qAttached", "1");
    REPLY("qOffsets", "");                  /* not offered: GDB uses the ELF */
    REPLY("vMustReplyEmpty", "");
    REPLY("jThreadsInfo", "");
    REPLY("", "");
    ck_assert_uint_ge(h->s.unknown, 3);
    ck_assert_int_eq(h->bad_frames, 0);
}
END_TEST

START_TEST(noack_then_new_connection)
{
    size_t from;
    REPLY("QStartNoAckMode", "OK");
    ck_assert(h->s.rsp.noack);
    from = h->outlen;
    h_cmd(h, "qC");
    ck_assert_int_eq(h->out[from], '$');    /* no '+' before the reply */
    from = h->outlen;
    h_cmd(h, "qSupported");                 /* a new GDB: ack mode again */
    ck_assert(!h->s.rsp.noack);
    ck_assert_int_eq(h->out[from], '+');
}
END_TEST

static void read_xml(char *xml, size_t size, unsigned chunk)
{
    size_t off = 0;
    char pkt[64];
    for (;;) {
        snprintf(pkt, sizeof(pkt), "qXfer:features:read:target.xml:%zx,%x", off, chunk);
        const char *r = h_cmd(h, pkt);
        size_t n = strlen(r + 1);
        ck_assert(r[0] == 'm' || r[0] == 'l');
        ck_assert_uint_le(n, chunk);
        ck_assert_uint_lt(off + n, size);
        memcpy(xml + off, r + 1, n);
        off += n;
        if (r[0] == 'l')
            break;
    }
    xml[off] = '\0';
}

START_TEST(target_xml_i386_chunked)
{
    static char xml[GDB_XML_SIZE], ref[GDB_XML_SIZE];
    h_cmd(h, "qSupported");
    read_xml(xml, sizeof(xml), 0x100);
    size_t n = gdb_target_xml(gdb_layout(GDB_ARCH_I386), ref, sizeof(ref));
    ck_assert_uint_gt(n, 0);
    ck_assert_str_eq(xml, ref);
    ck_assert_ptr_nonnull(strstr(xml, "<architecture>i386</architecture>"));
    ck_assert_ptr_nonnull(strstr(xml, "org.gnu.gdb.i386.core"));
    ck_assert_ptr_nonnull(strstr(xml, "<feature name=\"org.umbra.x86.sys\">"));
    ck_assert_ptr_nonnull(strstr(xml, "name=\"cr3\" bitsize=\"64\""));
    ck_assert_ptr_nonnull(strstr(xml, "name=\"fs_base\""));
    /* flag types, defined in the feature that uses them (issue 17 item 4) */
    const char *core = strstr(xml, "org.gnu.gdb.i386.core"), *sys = strstr(xml, "org.umbra.x86.sys");
    const char *ef = strstr(xml, "<flags id=\"i386_eflags\" size=\"4\">");
    ck_assert(ef && ef > core && ef < sys);
    ck_assert_ptr_nonnull(strstr(ef, "<field name=\"IOPL\" start=\"12\" end=\"13\"/>"));
    ck_assert_ptr_nonnull(strstr(xml, "name=\"eflags\" bitsize=\"32\" type=\"i386_eflags\""));
    const char *c0 = strstr(xml, "<flags id=\"umbra_cr0\" size=\"8\">");
    ck_assert(c0 && c0 > sys);
    ck_assert_ptr_nonnull(strstr(c0, "<field name=\"PG\" start=\"31\" end=\"31\"/>"));
    ck_assert_ptr_nonnull(strstr(xml, "<field name=\"PDBR\" start=\"12\" end=\"63\"/>"));
    ck_assert_ptr_nonnull(strstr(xml, "<field name=\"PAE\" start=\"5\" end=\"5\"/>"));
    ck_assert_ptr_nonnull(strstr(xml, "<field name=\"LMA\" start=\"10\" end=\"10\"/>"));
    ck_assert_ptr_nonnull(strstr(xml, "name=\"cr0\" bitsize=\"64\" type=\"umbra_cr0\" regnum=\"32\" group=\"system\""));
    ck_assert_ptr_nonnull(strstr(xml, "type=\"umbra_cr3\""));
    ck_assert_ptr_nonnull(strstr(xml, "type=\"umbra_cr4\""));
    ck_assert_ptr_nonnull(strstr(xml, "name=\"efer\" bitsize=\"64\" type=\"umbra_efer\""));
    ck_assert_ptr_null(strstr(xml, "rax"));
    REPLY("qXfer:features:read:target.xml:ffff,10", "l");
    REPLY("qXfer:features:read:other.xml:0,10", "E02");
    REPLY("qXfer:features:read:target.xml:0", "E16");
    REPLY("qXfer:features:read:target.xml:zz,10", "E16");
}
END_TEST

START_TEST(target_xml_long_mode_and_override)
{
    static char xml[GDB_XML_SIZE];
    h_init(h, GUEST_PAGING_LONG);
    h_cmd(h, "qSupported");
    read_xml(xml, sizeof(xml), 0xfff);
    ck_assert_ptr_nonnull(strstr(xml, "<architecture>i386:x86-64</architecture>"));
    ck_assert_ptr_nonnull(strstr(xml, "name=\"r15\""));
    /* monitor arch i386 applies from the next connection */
    ck_assert_ptr_nonnull(strstr(h_monitor(h, "arch i386"), "arch override i386"));
    ck_assert_int_eq(h->s.arch, GDB_ARCH_AMD64);
    h_cmd(h, "qSupported");
    ck_assert_int_eq(h->s.arch, GDB_ARCH_I386);
    read_xml(xml, sizeof(xml), 0xfff);
    ck_assert_ptr_nonnull(strstr(xml, "<architecture>i386</architecture>"));
    h_monitor(h, "arch auto");
    h_cmd(h, "qSupported");
    ck_assert_int_eq(h->s.arch, GDB_ARCH_AMD64);
    ck_assert_ptr_nonnull(strstr(h_monitor(h, "arch sparc"), "usage: arch"));
    ck_assert_ptr_nonnull(strstr(h_monitor(h, "arch"), "arch i386:x86-64 (override auto)"));
}
END_TEST

/* ---- registers ---- */
START_TEST(g_i386_layout)
{
    const char *g = h_cmd(h, "g");
    /* 16 GPR/segment dwords, 8 x87 10-byte, 8 x87 dwords, 11 sys qwords, then
     * dr0-3 dr6 dr7 (qwords), gdtr/idtr base (qword) + limit (dword), ldtr/tr
     * selector (dword), base (qword), limit (dword) */
    ck_assert_uint_eq(strlen(g), 2 * (16 * 4 + 8 * 10 + 8 * 4 + 11 * 8 + 6 * 8 + 2 * 12 + 2 * 16));
    ck_assert_int_eq(strncmp(g + 8 * 8, "00004000", 8), 0);         /* eip */
    ck_assert_int_eq(strncmp(g + 4 * 8, "f02f4000", 8), 0);         /* esp */
    ck_assert_int_eq(strncmp(g + 6 * 8, "88776655", 8), 0);         /* esi: low half only */
    size_t sys = 2 * (16 * 4 + 8 * 10 + 8 * 4);
    ck_assert_int_eq(strncmp(g + sys + 2 * 16, "0010000000000000", 16), 0);   /* cr3 */
    REPLY("p8", "00004000");
    REPLY("p0", "00000000");
    REPLY("p10", "00000000000000000000");                           /* st0 */
    REPLY("p22", "0010000000000000");                               /* cr3 = reg 34 */
    REPLY("p24", "0008000000000000");                               /* efer */
    REPLY("p2a", "0000000000000000");                               /* gs_base */
    REPLY("p3a", "67000000");                                       /* tr_limit, the last */
    REPLY("p3b", "E16");                                            /* past the last */
    REPLY("p", "E16");
    REPLY("pzz", "E16");
    REPLY("p8x", "E16");
    REPLY("p11111111111111111", "E16");
}
END_TEST

START_TEST(g_amd64_layout)
{
    h_init(h, GUEST_PAGING_LONG);
    h_cmd(h, "qSupported");
    const char *g = h_cmd(h, "g");
    ck_assert_uint_eq(strlen(g), 2 * (17 * 8 + 7 * 4 + 8 * 10 + 8 * 4 + 11 * 8 + 6 * 8 + 2 * 12 + 2 * 16));
    REPLY("p4", "8877665544332211");                                /* rsi, full */
    REPLY("p10", "0000400000000000");                               /* rip */
    REPLY("p11", "02000000");                                       /* eflags */
}
END_TEST

START_TEST(P_and_G)
{
    REPLY("P0=78563412", "OK");
    ck_assert_uint_eq(h->f.regs[0].rax, 0x12345678);
    REPLY("P6=01000000", "OK");                                     /* esi: keeps high half */
    ck_assert_uint_eq(h->f.regs[0].rsi, 0x1122334400000001ULL);
    REPLY("P22=0020000000000000", "OK");
    ck_assert_uint_eq(h->f.regs[0].cr3, 0x2000);
    REPLY("P10=00000000000000000000", "OK");                        /* x87: accepted, ignored */
    REPLY("P0=1234", "E16");                                        /* wrong size */
    REPLY("P0=7856341", "E16");                                     /* odd */
    REPLY("P0=zz563412", "E16");
    REPLY("P99=00000000", "E16");
    REPLY("P0", "E16");

    /* G: read, change eax/eip, write back */
    char g[4096];
    strcpy(g + 1, h_cmd(h, "g"));
    g[0] = 'G';
    memcpy(g + 1, "efbeadde", 8);
    memcpy(g + 1 + 8 * 8, "10004000", 8);
    REPLY(g, "OK");
    ck_assert_uint_eq(h->f.regs[0].rax, 0xdeadbeef);
    ck_assert_uint_eq(h->f.regs[0].rip, 0x400010);
    g[strlen(g) - 1] = '\0';
    REPLY(g, "E16");                                                /* odd length */
    g[strlen(g) - 1] = '\0';
    REPLY(g, "E16");                                                /* one byte short */
    strcpy(g + 1, h_cmd(h, "g"));
    g[0] = 'G';
    g[5] = 'q';
    REPLY(g, "E16");                                                /* bad hex */
    ck_assert_uint_eq(h->f.regs[0].rax, 0xdeadbeef);                /* unchanged */
}
END_TEST

/* ---- memory ---- */
START_TEST(m_reads_by_va)
{
    REPLY("m400000,5", "b800000000");
    REPLY("m401000,4", "00010203");
    REPLY("m400ffe,4", "00000001");         /* two mapped pages, two frames */
    REPLY("m402ffc,8", "03020100");         /* mapped then hole: readable prefix */
    REPLY("m403000,4", "E05");              /* unmapped */
    REPLY("m404000,2", "5a5a");             /* read-only page reads fine */
    REPLY("m400000,0", "");
    REPLY("m400000", "E16");
    REPLY("mzz,4", "E16");
    REPLY("m400000,4x", "E16");
    REPLY("m,4", "E16");
    /* huge length is clamped to what fits */
    ck_assert_uint_eq(strlen(h_cmd(h, "m401000,100000")), GDB_PACKET_SIZE);
}
END_TEST

START_TEST(m_physical)
{
    ck_assert_ptr_nonnull(strstr(h_monitor(h, "phys on"), "memory access physical"));
    REPLY("m11000,4", "00010203");
    REPLY("m3000,8", "0700010000000000");   /* the guest PT itself */
    REPLY("mfffff0,4", "E05");
    h_monitor(h, "phys off");
    REPLY("m11000,4", "E05");               /* as a VA: not mapped */
    ck_assert_ptr_nonnull(strstr(h_monitor(h, "phys maybe"), "usage: phys"));
}
END_TEST

START_TEST(M_writes)
{
    REPLY("M402000,4:deadbeef", "OK");
    ck_assert_uint_eq(phys8(0x12000), 0xde);
    ck_assert_uint_eq(phys8(0x12003), 0xef);
    REPLY("M401ffe,4:01020304", "OK");      /* split across pages/frames */
    ck_assert_uint_eq(phys8(0x11ffe), 1);
    ck_assert_uint_eq(phys8(0x12001), 4);
    REPLY("M402000,4:deadbee", "E16");      /* odd */
    REPLY("M402000,4:deadbeef00", "E16");   /* too long */
    REPLY("M402000,2:zzzz", "E16");
    REPLY("M402000,4", "E16");              /* no data */
    REPLY("M403000,1:00", "E05");           /* hole */
    REPLY("M402000,0:", "OK");
}
END_TEST

START_TEST(X_binary_writes)
{
    const char pkt[] = "X402000,6:a$#}*\x03";
    REPLY("X402000,0:", "OK");
    ck_assert_str_eq(h_cmd_n(h, pkt, sizeof(pkt) - 1), "OK");
    ck_assert_int_eq(memcmp(h->f.mem + 0x12000, "a$#}*\x03", 6), 0);
    REPLY("X402000,5:abc", "E16");
    REPLY("X402000:abc", "E16");
    REPLY("X403000,1:a", "E05");
}
END_TEST

/* ---- breakpoints ---- */
START_TEST(sw_breakpoints)
{
    REPLY("Z0,400005,1", "OK");
    ck_assert_uint_eq(phys8(0x10005), 0xcc);
    ck_assert(gdb_stub_swbp_at(&h->s, 0x400005));
    REPLY("Z0,400005,1", "OK");             /* idempotent */
    REPLY("z0,400005,1", "OK");
    ck_assert_uint_eq(phys8(0x10005), 0x40);
    ck_assert(!gdb_stub_swbp_at(&h->s, 0x400005));
    REPLY("z0,400005,1", "E02");
    REPLY("Z0,403000,1", "E05");
    REPLY("Z0,400005", "E16");
    REPLY("Z0400005,1", "E16");
    REPLY("Z0,400005,1;X2,0a", "OK");       /* conditions accepted, not evaluated */
    REPLY("Z0,400005,1junk", "E16");
    for (unsigned i = 1; i < GDB_MAX_SWBP; i++) {
        char p[32];
        snprintf(p, sizeof(p), "Z0,%x,1", 0x401000 + i);
        ck_assert_str_eq(h_cmd(h, p), "OK");
    }
    REPLY("Z0,402000,1", "E1c");            /* table full */
}
END_TEST

START_TEST(hw_breakpoints_and_watchpoints)
{
    REPLY("Z1,40000c,1", "OK");
    REPLY("Z2,401000,4", "OK");
    REPLY("Z4,401004,8", "OK");
    REPLY("Z3,401000,4", "");               /* no read-only watchpoints: unsupported */
    REPLY("Z2,401000,3", "E16");            /* bad length */
    REPLY("Z1,400000,1", "OK");
    REPLY("Z1,400001,1", "E1c");            /* four slots */
    REPLY("z1,400000,1", "OK");
    REPLY("z1,400000,1", "E02");
    REPLY("Z9,400000,1", "");
    REPLY("Z", "E16");
}
END_TEST

START_TEST(no_hw_hooks_means_unsupported)
{
    static struct gdb_target_ops ops;
    ops = fake_ops;
    ops.insert_hw = NULL;
    ops.remove_hw = NULL;
    h->s.ops = &ops;
    REPLY("Z1,400000,1", "");
    REPLY("z2,400000,4", "");
    REPLY("Z0,400005,1", "OK");             /* software ones are the stub's own */
}
END_TEST

/* ---- execution ---- */
static const char *run_to_stop(void)
{
    struct gdb_stop why;
    size_t from = h->outlen;
    ck_assert(fake_run(&h->f, 10000, &why));
    gdb_stub_stopped(&h->s, &why);
    h_decode(h, from);
    return h->reply;
}

/* The stop reply carries exactly sp, fp and pc (what GDB reads at every stop
 * to place the frame, as gdbserver sends them: a stepi costs GDB no `g`, and
 * the reply stays short on a 115200-baud line), each with the value `p`
 * gives: i386 esp 4, ebp 5, eip 8; x86-64 rbp 6, rsp 7, rip 0x10. */
static void check_expedited(const char *stop, unsigned pc_regno)
{
    const unsigned want_regs[2][3] = { { 4, 5, 8 }, { 6, 7, 0x10 } };
    const unsigned *w = want_regs[pc_regno == 0x10];
    char t[GDB_PACKET_SIZE + 1], want[64];
    const char *p;
    unsigned n = 0;
    bool pc_seen = false;

    snprintf(t, sizeof(t), "%s", stop);
    p = strchr(t, ';') + 1;                /* past thread:N; */
    for (; *p; n++) {
        unsigned reg = (unsigned)strtoul(p, NULL, 16);
        const char *v = p + 3, *e = strchr(v, ';');
        ck_assert_ptr_nonnull(e);
        snprintf(want, sizeof(want), "p%x", reg);
        ck_assert_int_eq(strncmp(h_cmd(h, want), v, (size_t)(e - v)), 0);
        ck_assert_uint_eq(strlen(h->reply), (size_t)(e - v));
        pc_seen |= reg == pc_regno;
        ck_assert_msg(n < 3 && reg == w[n], "expedited register %u (#%u) is not sp/fp/pc", reg, n);
        p = e + 1;
    }
    ck_assert(pc_seen);
    ck_assert_uint_eq(n, 3);
}

START_TEST(stop_reply_expedites_registers)
{
    char stop[GDB_PACKET_SIZE + 1];
    REPLY("s", "<none>");
    snprintf(stop, sizeof(stop), "%s", run_to_stop());
    ck_assert_stop(stop, "T05thread:1;");
    char pc[32];
    uint32_t eip = (uint32_t)h->f.regs[0].rip;
    ck_assert_uint_ne(eip, 0);
    snprintf(pc, sizeof(pc), ";08:%02x%02x%02x%02x;", eip & 0xff, (eip >> 8) & 0xff, (eip >> 16) & 0xff, eip >> 24);
    ck_assert_ptr_nonnull(strstr(stop, pc));              /* eip, little-endian */
    check_expedited(stop, 8);
    h_monitor(h, "arch x86-64");
    h_cmd(h, "qSupported");
    snprintf(stop, sizeof(stop), "%s", h_cmd(h, "?"));
    snprintf(pc, sizeof(pc), ";10:%02x%02x%02x%02x00000000;", eip & 0xff, (eip >> 8) & 0xff, (eip >> 16) & 0xff, eip >> 24);
    ck_assert_ptr_nonnull(strstr(stop, pc));
    check_expedited(stop, 0x10);
    /* A W (exit) reply carries none. */
    size_t from = h->outlen;
    gdb_stub_stopped(&h->s, &(struct gdb_stop){ .exited = true, .exit_code = 3 });
    h_decode(h, from);
    ck_assert_str_eq(h->reply, "W03");
}
END_TEST

START_TEST(continue_to_breakpoint_and_step)
{
    REPLY("Z0,400005,1", "OK");
    REPLY("c", "<none>");                   /* no immediate reply */
    ck_assert_int_eq(h->last_action, GDB_ACT_RESUME);
    ck_assert(h->s.running);
    ck_assert_stop(run_to_stop(), "T05thread:1;");
    ck_assert_uint_eq(h->f.regs[0].rip, 0x400005);
    REPLY("z0,400005,1", "OK");
    REPLY("s", "<none>");
    ck_assert_int_eq(h->f.run[0], GDB_RUN_STEP);
    ck_assert_int_eq(h->f.run[1], GDB_RUN_STOP);
    ck_assert_stop(run_to_stop(), "T05thread:1;");
    ck_assert_uint_eq(h->f.regs[0].rip, 0x400006);
    ck_assert_uint_eq(h->f.regs[0].rax, 1);
    ck_assert_stop(h_cmd(h, "?"), "T05thread:1;");
    REPLY("c40000c", "<none>");             /* continue at an address */
    ck_assert_uint_eq(h->f.regs[0].rip, 0x40000c);
    REPLY("czz", "E01");                    /* while running */
}
END_TEST

START_TEST(swbreak_hwbreak_stop_reasons)
{
    REPLY("qSupported:multiprocess+;swbreak+;hwbreak+;fork-events+",
          h_psz("qXfer:features:read+;QStartNoAckMode+;vContSupported+;swbreak+;hwbreak+"));
    REPLY("Z0,400005,1", "OK");
    REPLY("c", "<none>");
    ck_assert_stop(run_to_stop(), "T05thread:1;swbreak:;");
    REPLY("z0,400005,1", "OK");
    REPLY("Z1,40000c,1", "OK");
    REPLY("c", "<none>");
    ck_assert_stop(run_to_stop(), "T05thread:1;hwbreak:;");
    REPLY("s", "<none>");
    ck_assert_stop(run_to_stop(), "T05thread:1;");        /* a plain step */
    /* a GDB that did not offer them gets neither */
    REPLY("qSupported:swbreak;xswbreak+", h_psz("qXfer:features:read+;QStartNoAckMode+;vContSupported+"));
    REPLY("c", "<none>");
    ck_assert_stop(run_to_stop(), "T05thread:1;");
}
END_TEST

START_TEST(legacy_C_and_S)
{
    REPLY("S05", "<none>");
    ck_assert_int_eq(h->f.run[0], GDB_RUN_STEP);
    run_to_stop();
    REPLY("Z0,40000c,1", "OK");
    REPLY("C05;400000", "<none>");
    ck_assert_uint_eq(h->f.regs[0].rip, 0x400000);
    ck_assert_int_eq(h->f.run[0], GDB_RUN_CONT);
    ck_assert_stop(run_to_stop(), "T05thread:1;");
    ck_assert_uint_eq(h->f.regs[0].rip, 0x40000c);
    REPLY("C05;zz", "E16");
    REPLY("Cxx", "E16");
}
END_TEST

START_TEST(vcont)
{
    REPLY("vCont?", "vCont;c;C;s;S;t");
    REPLY("vCont;s:1;c", "<none>");
    ck_assert_int_eq(h->f.run[0], GDB_RUN_STEP);
    ck_assert_int_eq(h->f.run[1], GDB_RUN_CONT);
    ck_assert_stop(run_to_stop(), "T05thread:1;");
    REPLY("vCont;c:2", "<none>");
    ck_assert_int_eq(h->f.run[0], GDB_RUN_STOP);
    ck_assert_int_eq(h->f.run[1], GDB_RUN_CONT);
    gdb_stub_stopped(&h->s, &(struct gdb_stop){ .cpu = 1, .signal = GDB_SIGINT });
    h_decode(h, 0);
    ck_assert_stop(h->reply, "T02thread:2;");
    REPLY("vCont;S05:1", "<none>");
    ck_assert_int_eq(h->f.run[0], GDB_RUN_STEP);
    run_to_stop();
    ck_assert_stop(h_cmd(h, "vCont;t"), "T05thread:1;");       /* nothing to run: immediate stop reply */
    REPLY("vCont;x", "E16");
    REPLY("vCont;s:9", "E16");
    REPLY("vCont;c:zz", "E16");
    REPLY("vCont;cc", "E16");
    REPLY("vCont", "E16");
    REPLY("vCont;C", "E16");
    ck_assert(!h->s.running);
}
END_TEST

START_TEST(watchpoint_stop_reply)
{
    REPLY("Z2,401000,4", "OK");
    REPLY("c", "<none>");
    ck_assert_stop(run_to_stop(), "T05thread:1;watch:401000;");
    ck_assert_uint_eq(h->f.regs[0].rip, 0x40000c);
    gdb_stub_stopped(&h->s, &(struct gdb_stop){ .exited = true, .exit_code = 3 });
    h_decode(h, 0);
    ck_assert_str_eq(h->reply, "W03");
}
END_TEST

START_TEST(interrupt_while_running)
{
    uint8_t c = 0x03;
    ck_assert_int_eq(h_feed(h, &c, 1), GDB_ACT_NONE);    /* stopped: ignored */
    REPLY("c", "<none>");
    ck_assert_int_eq(h_feed(h, &c, 1), GDB_ACT_INTERRUPT);
    REPLY("g", "E01");                      /* registers need a stopped guest */
    REPLY("m400000,1", "E01");
    REPLY("qC", "QC1");                     /* queries are fine */
    h_cmd(h, "?");                          /* GDB connecting to a running guest */
    ck_assert_int_eq(h->last_action, GDB_ACT_INTERRUPT);
    gdb_stub_stopped(&h->s, &(struct gdb_stop){ .cpu = 0, .signal = GDB_SIGINT });
    h_decode(h, 0);
    ck_assert_stop(h->reply, "T02thread:1;");
    ck_assert(!h->s.running);
}
END_TEST

/* ---- threads ---- */
START_TEST(threads)
{
    REPLY("qfThreadInfo", "m1,2");
    REPLY("qsThreadInfo", "l");
    REPLY("qC", "QC1");
    REPLY("qThreadExtraInfo,1", "7643505520302c20504145");     /* "vCPU 0, PAE" */
    REPLY("qThreadExtraInfo,3", "E16");
    REPLY("qThreadExtraInfo,-1", "E16");
    REPLY("Hg2", "OK");
    REPLY("p8", "10004000");                /* vCPU 1's eip */
    REPLY("Hg0", "OK");                     /* any: the stopped one */
    REPLY("p8", "00004000");
    REPLY("Hc-1", "OK");
    REPLY("Hg3", "E16");
    REPLY("Hx1", "E16");
    REPLY("Hg", "E16");
    REPLY("T1", "OK");
    REPLY("T2", "OK");
    REPLY("T3", "E02");
    REPLY("Tq", "E02");
}
END_TEST

START_TEST(detach_and_kill)
{
    REPLY("Z0,400005,1", "OK");
    REPLY("Z1,40000c,1", "OK");
    REPLY("D", "OK");
    ck_assert_int_eq(h->last_action, GDB_ACT_DETACH);
    ck_assert(h->f.detached && !h->f.killed);
    ck_assert_uint_eq(phys8(0x10005), 0x40);  /* int3 removed */
    ck_assert(!h->f.hw[0].used);
    ck_assert_int_eq(h->f.run[0], GDB_RUN_CONT);
    setup_pae();
    h_cmd(h, "k");
    ck_assert_str_eq(h->reply, "<none>");
    ck_assert_int_eq(h->last_action, GDB_ACT_DETACH);
    ck_assert(h->f.killed);
}
END_TEST

START_TEST(no_unsolicited_stop_reply)
{
    /* a stop before any debugger spoke is kept for '?', not sent */
    gdb_stub_stopped(&h->s, &(struct gdb_stop){ .cpu = 1, .signal = GDB_SIGINT });
    ck_assert_uint_eq(h->outlen, 0);
    ck_assert_stop(h_cmd(h, "?"), "T02thread:2;");
    /* a guest started without GDB: a later '?' or Ctrl-C asks to stop it */
    setup_pae();
    gdb_stub_set_running(&h->s);
    REPLY("qSupported", h_psz("qXfer:features:read+;QStartNoAckMode+;vContSupported+"));
    h_cmd(h, "?");
    ck_assert_int_eq(h->last_action, GDB_ACT_INTERRUPT);
    ck_assert_int_eq(h_feed(h, "\x03", 1), GDB_ACT_INTERRUPT);
    gdb_stub_stopped(&h->s, &(struct gdb_stop){ .cpu = 0, .signal = GDB_SIGINT });
    h_decode(h, 0);
    ck_assert_stop(h->reply, "T02thread:1;");
    /* after D the debugger is gone: stops are kept quiet again */
    REPLY("D", "OK");
    size_t before = h->outlen;
    gdb_stub_stopped(&h->s, &(struct gdb_stop){ .cpu = 0, .signal = GDB_SIGTRAP });
    ck_assert_uint_eq(h->outlen, before);
}
END_TEST

START_TEST(overlong_packet_gets_error)
{
    static char big[GDB_PACKET_SIZE + 100];
    memset(big, 'm', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    REPLY(big, "E16");
    REPLY("qC", "QC1");
}
END_TEST

/* ---- monitor ---- */
START_TEST(monitor_help_lists_all)
{
    const char *names[] = { "help", "mode", "walk", "shadows", "shadow", "pool", "stats",
                            "audit", "blow", "phys", "dot", "arch", "why", "vmmap" };
    const char *out = h_monitor(h, "help");
    ck_assert_str_eq(h->reply, "OK");
    for (unsigned i = 0; i < ARRAY_SIZE(names); i++) {
        char line[32];
        snprintf(line, sizeof(line), "\n%s ", names[i]);
        ck_assert_msg(strstr(out, line) || strncmp(out, line + 1, strlen(line) - 1) == 0,
                      "help lacks %s", names[i]);
    }
    ck_assert_str_eq(h_monitor(h, ""), out);
    ck_assert_ptr_nonnull(strstr(h_monitor(h, "frobnicate now"), "umbra: monitor: unknown command 'frobnicate'"));
    REPLY("qRcmd,6", "E16");                /* odd hex */
    REPLY("qRcmd,zz", "E16");
}
END_TEST

START_TEST(monitor_walk)
{
    const char *o = h_monitor(h, "walk 0x404010");
    ck_assert_ptr_nonnull(strstr(o, "walk 0x404010 cpu 0 paging pae"));
    ck_assert_ptr_nonnull(strstr(o, "L1  0x3000             4    0x8000000000014001 P NX"));
    ck_assert_ptr_nonnull(strstr(o, "| 0x82000            4    0x8000000000014021 P A NX"));
    ck_assert_ptr_nonnull(strstr(o, "guest:  0x404010 -> gpa 0x14010"));
    ck_assert_ptr_nonnull(strstr(o, "shadow: 0x404010 -> hpa 0x14010"));
    o = h_monitor(h, "walk 0x403000");
    ck_assert_ptr_nonnull(strstr(o, "guest:  0x403000 -> not mapped"));
    ck_assert_ptr_nonnull(strstr(o, "L1  0x3000             3    0x0                -"));
    ck_assert_ptr_nonnull(strstr(h_monitor(h, "walk"), "usage: walk VA"));
    ck_assert_ptr_nonnull(strstr(h_monitor(h, "walk 0xzz"), "usage: walk VA"));
    ck_assert_ptr_nonnull(strstr(h_monitor(h, "walk 12 34"), "usage: walk VA"));
    /* decimal without 0x (issue 17 item 8): 4198416 is 0x401010, 401000 is 0x61e68 */
    ck_assert_ptr_nonnull(strstr(h_monitor(h, "walk 401000"), "walk 0x61e68 cpu 0"));
    ck_assert_ptr_nonnull(strstr(h_monitor(h, "walk 4198416"), "walk 0x401010 cpu 0"));
    ck_assert_ptr_nonnull(strstr(h_monitor(h, "walk 4096"), "walk 0x1000 cpu 0"));
    ck_assert_ptr_nonnull(strstr(h_monitor(h, "walk 0X401010"), "walk 0x401010 cpu 0"));
    ck_assert_ptr_nonnull(strstr(h_monitor(h, "walk 18446744073709551615"), "walk 0xffffffffffffffff"));
    /* refused, with what it takes: bare hex, an expression, overflow, half a prefix */
    const char *bad[] = { "walk 0x4010 0", "walk 40100a", "walk $pc", "walk 18446744073709551616",
                          "walk 0x", "walk -1", "walk 0x10000000000000000" };
    for (unsigned i = 0; i < ARRAY_SIZE(bad); i++) {
        o = h_monitor(h, bad[i]);
        ck_assert_msg(strstr(o, "usage: walk VA (VA: a number: 0x-prefixed hex or decimal; "
                                "for a GDB expression ($pc, &var) use `umbra walk $pc`)"), "%s: %s", bad[i], o);
    }
    ck_assert_ptr_nonnull(strstr(h_monitor(h, "shadow 130"), "entries: 4 shown of 512"));   /* 0x82 */
    ck_assert_ptr_nonnull(strstr(h_monitor(h, "shadow 82"), "0x52 is not a shadow"));
    ck_assert_ptr_nonnull(strstr(h_monitor(h, "shadow x82"), "usage: shadow MFN"));
}
END_TEST

START_TEST(monitor_shadows_and_audit)
{
    const char *o = h_monitor(h, "shadows");
    ck_assert_ptr_nonnull(strstr(o, "smfn 0x81       gfn 0x2        type l2_pae   level 2 ref 1"));
    ck_assert_ptr_nonnull(strstr(o, "shadows: 3"));
    o = h_monitor(h, "shadow 0x82");
    ck_assert_ptr_nonnull(strstr(o, "[  1] shadow 0x0000000000011023 P RW A"));
    ck_assert_ptr_nonnull(strstr(o, "entries: 4 shown of 512 (4 present, 4 non-empty)"));
    /* present entries by default, filters on the shadow entry (issue 17 item 2) */
    h->f.mem[0x82000 + 7 * 8 + 1] = 0x50;                           /* entry 7: 0x5000, not present */
    ck_assert_ptr_nonnull(strstr(h_monitor(h, "shadow 0x82"), "entries: 4 shown of 512 (4 present, 5 non-empty)"));
    o = h_monitor(h, "shadow 0x82 -all");
    ck_assert_ptr_nonnull(strstr(o, "[  7] shadow 0x0000000000005000"));
    ck_assert_ptr_nonnull(strstr(o, "entries: 5 shown"));
    ck_assert_ptr_nonnull(strstr(h_monitor(h, "shadow 0x82 -w"), "entries: 3 shown"));
    ck_assert_ptr_nonnull(strstr(h_monitor(h, "shadow -x 0x82"), "entries: 3 shown"));
    o = h_monitor(h, "shadow 0x82 -u");
    ck_assert_ptr_nonnull(strstr(o, "[  0] shadow"));
    ck_assert_ptr_nonnull(strstr(o, "entries: 1 shown"));
    ck_assert_ptr_nonnull(strstr(h_monitor(h, "shadow 0x82 -s -w"), "entries: 2 shown"));
    ck_assert_ptr_nonnull(strstr(h_monitor(h, "shadow 0x82 -diff"), "entries: 0 shown"));
    h->f.mem[0x82000 + 7 * 8 + 1] = 0;
    ck_assert_ptr_nonnull(strstr(h_monitor(h, "shadow 0x99"), "0x99 is not a shadow"));
    ck_assert_ptr_nonnull(strstr(h_monitor(h, "audit"), "audit: 0 errors"));
    h->f.mem[0x82000 + 4 * 8] |= _PAGE_RW;        /* shadow grants a write the guest does not */
    o = h_monitor(h, "shadow 0x82 -diff");
    ck_assert_ptr_nonnull(strstr(o, "[  4] shadow 0x8000000000014023"));
    ck_assert_ptr_nonnull(strstr(o, "entries: 1 shown"));
    const char *bad[] = { "shadow", "shadow 0x82 -q", "shadow 0x82 0x83", "shadow 0x82 -u -s", "shadow -all" };
    for (unsigned i = 0; i < ARRAY_SIZE(bad); i++)
        ck_assert_msg(strstr(h_monitor(h, bad[i]), "usage: shadow MFN [-all]"), "%s: %s", bad[i], h->console);
    o = h_monitor(h, "audit");
    ck_assert_ptr_nonnull(strstr(o, "umbra: audit: smfn 0x82 [4]"));
    ck_assert_ptr_nonnull(strstr(o, "audit: 1 error\n"));
    o = h_monitor(h, "pool");
    ck_assert_ptr_nonnull(strstr(o, "pool total 64 free 61 shadows 3 pinned 1"));
    ck_assert_ptr_nonnull(strstr(h_monitor(h, "blow"), "blow: 3 of 3 shadows torn down; 0 kept (0 in use"));
    ck_assert_ptr_nonnull(strstr(h_monitor(h, "shadows"), "shadows: 0"));
    ck_assert_ptr_nonnull(strstr(h_monitor(h, "walk 0x401000"), "shadow: 0x401000 -> not mapped"));
    ck_assert_ptr_nonnull(strstr(h_monitor(h, "stats -a"), "resumes=0\n"));
    ck_assert_ptr_nonnull(strstr(h_monitor(h, "mode"), "cpu 0 paging pae\ncr0 0x80000011 cr3 0x1000"));
}
END_TEST

/* monitor stats (issue 17 item 11): by group, non-zero by default, -a all,
 * -d the changes since the last stats; anything else is refused. */
START_TEST(monitor_stats_groups_and_deltas)
{
    const char *o = h_monitor(h, "stats -a");
    ck_assert_ptr_nonnull(strstr(o, "[run]\ninsns=0\nsteps=0\nresumes=0\n[memory]\nvirt_reads="));
    ck_assert_ptr_nonnull(strstr(o, "stats: 5 of 5 counters shown (all)\n"));
    o = h_monitor(h, "stats");
    ck_assert_ptr_null(strstr(o, "resumes=0"));               /* zeros hidden */
    ck_assert_ptr_null(strstr(o, "[run]"));                   /* and a group with none */
    REPLY("s", "<none>");
    run_to_stop();
    o = h_monitor(h, "stats -d");
    ck_assert_ptr_nonnull(strstr(o, "[run]\ninsns=1 (+1)\nsteps=1 (+1)\nresumes=1 (+1)\n"));
    o = h_monitor(h, "stats -d");                              /* nothing ran since */
    ck_assert_ptr_null(strstr(o, "[run]"));
    ck_assert_ptr_nonnull(strstr(o, "stats: 0 of 5 counters shown (changed since the last stats)"));
    o = h_monitor(h, "stats");
    ck_assert_ptr_nonnull(strstr(o, "[run]\ninsns=1\nsteps=1\nresumes=1\n"));
    const char *bad[] = { "stats -x", "stats -ad", "stats -a -d", "stats all", "stats -", "stats --a" };
    for (unsigned i = 0; i < ARRAY_SIZE(bad); i++)
        ck_assert_msg(strstr(h_monitor(h, bad[i]), "usage: stats [-a | -d]"), "%s: %s", bad[i], h->console);
    ck_assert_ptr_nonnull(strstr(h_monitor(h, "stats  -a  "), "(all)"));
}
END_TEST

START_TEST(monitor_dot)
{
    const char *o = h_monitor(h, "dot");
    ck_assert_int_eq(strncmp(o, "digraph umbra {", 15), 0);
    /* VA labels (issue 17 item 11): the root spans 4 GiB, the L2 at entry 0
     * 1 GiB, the L1 at its entry 2 the 2 MiB from 0x400000. */
    ck_assert_ptr_nonnull(strstr(o, "s_80 [label=\"smfn 0x80\\nl3_pae\\nref 1 pinned in-use\\nva 0x0-0xffffffff\""));
    ck_assert_ptr_nonnull(strstr(o, "s_81 [label=\"smfn 0x81\\nl2_pae\\nref 1\\nva 0x0-0x3fffffff\""));
    ck_assert_ptr_nonnull(strstr(o, "s_82 [label=\"smfn 0x82\\nl1_pae\\nref 1\\nva 0x400000-0x5fffff\""));
    ck_assert_ptr_nonnull(strstr(o, "subgraph cluster_legend"));
    ck_assert_ptr_nonnull(strstr(o, "l_u [label=\"shadow in use"));
    ck_assert_ptr_nonnull(strstr(o, "    l_g -> l_g [label=\"guest entry N\", color=blue];\n  }\n  subgraph cluster_guest {"));
    ck_assert_ptr_nonnull(strstr(o, "s_80 -> s_81 [label=\"0\"]"));
    ck_assert_ptr_nonnull(strstr(o, "s_81 -> s_82 [label=\"2\"]"));
    ck_assert_ptr_nonnull(strstr(o, "g_2 -> g_3 [label=\"2\", color=blue]"));
    ck_assert_ptr_nonnull(strstr(o, "g_3 -> s_82 [style=dashed"));
    ck_assert_int_eq(o[strlen(o) - 2], '}');
}
END_TEST

/* dot with a VA range (issue 17 item 11: large address spaces): only the
 * shadows whose span meets the range, their guest tables, links among them. */
START_TEST(monitor_dot_range)
{
    const char *o = h_monitor(h, "dot 0x0-0xfff");
    ck_assert_ptr_nonnull(strstr(o, "// va 0x0-0xfff: 2 of 3 shadows"));
    ck_assert_ptr_nonnull(strstr(o, "s_80 [label="));
    ck_assert_ptr_nonnull(strstr(o, "s_81 [label="));
    ck_assert_ptr_null(strstr(o, "s_82 [label="));
    ck_assert_ptr_null(strstr(o, "g_3 [label="));            /* s_82's guest table */
    ck_assert_ptr_nonnull(strstr(o, "s_80 -> s_81 [label=\"0\"]"));
    ck_assert_ptr_null(strstr(o, "s_81 -> s_82"));
    ck_assert_ptr_null(strstr(o, "g_2 -> g_3"));
    ck_assert_int_eq(o[strlen(o) - 2], '}');
    o = h_monitor(h, "dot 0x400000");                        /* one address: the chain down to it */
    ck_assert_ptr_nonnull(strstr(o, "// va 0x400000-0x400000: 3 of 3 shadows"));
    ck_assert_ptr_nonnull(strstr(o, "s_81 -> s_82 [label=\"2\"]"));
    ck_assert_ptr_nonnull(strstr(o, "g_2 -> g_3 [label=\"2\", color=blue]"));
    o = h_monitor(h, "dot 1073741824-0xffffffff");           /* decimal start: above s_81's GiB */
    ck_assert_ptr_nonnull(strstr(o, "// va 0x40000000-0xffffffff: 1 of 3 shadows"));
    ck_assert_ptr_null(strstr(o, "s_81 [label="));
    o = h_monitor(h, "dot  ");                                /* blank: the whole graph */
    ck_assert_ptr_null(strstr(o, "// va "));
    ck_assert_ptr_nonnull(strstr(o, "s_82 [label="));
    static const char *const bad[] = { "dot x", "dot 0x5-0x5", "dot 0x10-0x5", "dot 0x10-", "dot -0x10", "dot -w",
                                       "dot 1 2", "dot 0x", "dot 401000abc", "dot $pc",
                                       "dot 0x100000000000000000", "dot 0x1-0x2-0x3" };
    for (unsigned i = 0; i < ARRAY_SIZE(bad); i++) {
        o = h_monitor(h, bad[i]);
        ck_assert_msg(strstr(o, "umbra: monitor: usage: dot [START-END|START]") && !strstr(o, "digraph"),
                      "%s: %s", bad[i], o);
    }
}
END_TEST

/* Many shadows, several per guest frame: each guest node once, and a cap. */
static int many_shadows(void *t, bool (*fn)(const struct gdb_shadow_info *, void *), void *arg)
{
    (void)t;
    for (unsigned long idx = 0; idx < 600; idx++) {
        struct gdb_shadow_info si = { .smfn = 0x1000 + idx, .gfn = (idx * 7) % 100, .type = "l1_pae",
                                      .level = 1, .refcount = 1, .entries = 512 };
        if (!fn(&si, arg))
            break;
    }
    return 0;
}

START_TEST(monitor_dot_dedupe_and_cap)
{
    static struct gdb_target_ops ops;
    ops = fake_ops;
    ops.mon_shadows = many_shadows;
    h->s.ops = &ops;
    const char *o = h_monitor(h, "dot");
    unsigned guests = 0, shadows = 0;
    for (const char *p = o; (p = strstr(p, "[label=\"guest gfn")); p++)
        guests++;
    for (const char *p = o; (p = strstr(p, "[label=\"smfn")); p++)
        shadows++;
    ck_assert_uint_eq(guests, 100);
    ck_assert_uint_eq(shadows, 512);
    ck_assert_ptr_nonnull(strstr(o, "// truncated at 512 shadows"));
    ck_assert_ptr_nonnull(strstr(o, "g_63 [label=\"guest gfn 0x63\\nL1\""));
}
END_TEST

START_TEST(monitor_without_hooks)
{
    static const struct gdb_target_ops bare = { .get_regs = NULL };
    h->s.ops = &bare;
    const char *cmds[] = { "walk 0", "shadows", "shadow 1", "pool", "stats", "audit", "blow", "dot" };
    for (unsigned i = 0; i < ARRAY_SIZE(cmds); i++)
        ck_assert_ptr_nonnull(strstr(h_monitor(h, cmds[i]), "not available on this target"));
    ck_assert_ptr_nonnull(strstr(h_monitor(h, "mode"), "cpu 0 paging off"));
    REPLY("g", "E05");
    REPLY("m400000,1", "E05");
    REPLY("c", "<none>");                   /* resume without a hook still resumes */
}
END_TEST

/* Output longer than one packet is split into several O packets, in order. */
/* Enough 54-byte lines to fill five O packets of the stub's buffer. */
#define CHATTY_LINES ((int)(5 * sizeof(((struct gdb_stub *)0)->obuf) / 54 + 1))
static long chatty_audit(void *t, const struct gdb_out *out)
{
    (void)t;
    for (int i = 0; i < CHATTY_LINES; i++)
        gdb_printf(out, "line %03d: the quick brown fox jumps over the lazy dog\n", i);
    return 0;
}

START_TEST(monitor_output_split_into_O_packets)
{
    static struct gdb_target_ops ops;
    ops = fake_ops;
    ops.mon_audit = chatty_audit;
    h->s.ops = &ops;
    size_t from = h->outlen;
    const char *o = h_monitor(h, "audit");
    int packets = 0;
    for (size_t i = from; i < h->outlen; i++)
        packets += h->out[i] == '$' && h->out[i + 1] == 'O';
    ck_assert_int_ge(packets, 5);
    ck_assert_ptr_nonnull(strstr(o, "line 000: the quick"));
    char last[80];
    snprintf(last, sizeof(last), "line %03d: the quick brown fox jumps over the lazy dog\naudit: 0 errors\n",
             CHATTY_LINES - 1);
    ck_assert_ptr_nonnull(strstr(o, last));
    ck_assert_uint_eq(strlen(o), (size_t)CHATTY_LINES * 54 + strlen("audit: 0 errors\n"));
    ck_assert_int_eq(h->bad_frames, 0);
}
END_TEST

START_TEST(pte_flag_names)
{
    char b[64];
    gdb_pte_flags(0, 1, GUEST_PAGING_PAE, b, sizeof(b));
    ck_assert_str_eq(b, "-");
    gdb_pte_flags(0x8000000000000fffULL, 1, GUEST_PAGING_PAE, b, sizeof(b));
    ck_assert_str_eq(b, "P RW US PWT PCD A D PAT G NX");
    gdb_pte_flags(0x80ULL | 1, 2, GUEST_PAGING_2LEVEL, b, sizeof(b));
    ck_assert_str_eq(b, "P PS");
    gdb_pte_flags(0x8000000000000001ULL, 1, GUEST_PAGING_2LEVEL, b, sizeof(b));
    ck_assert_str_eq(b, "P");                  /* no NX in 2-level entries */
    gdb_pte_flags(0x1fULL, 3, GUEST_PAGING_PAE, b, sizeof(b));
    ck_assert_str_eq(b, "P PWT PCD");          /* a PDPTE */
    gdb_pte_flags(0xfffULL, 1, GUEST_PAGING_PAE, b, 6);
    ck_assert_uint_lt(strlen(b), 6);           /* truncates, never overruns */
}
END_TEST

int main(void)
{
    Suite *s = suite_create("gdb_cmd");
    TCase *tc = tcase_create("packets");
    SRunner *sr;
    int failed;

    tcase_add_checked_fixture(tc, setup_pae, NULL);
    tcase_add_test(tc, qsupported);
    tcase_add_test(tc, noack_then_new_connection);
    tcase_add_test(tc, target_xml_i386_chunked);
    tcase_add_test(tc, target_xml_long_mode_and_override);
    tcase_add_test(tc, g_i386_layout);
    tcase_add_test(tc, g_amd64_layout);
    tcase_add_test(tc, P_and_G);
    tcase_add_test(tc, m_reads_by_va);
    tcase_add_test(tc, m_physical);
    tcase_add_test(tc, M_writes);
    tcase_add_test(tc, X_binary_writes);
    tcase_add_test(tc, sw_breakpoints);
    tcase_add_test(tc, hw_breakpoints_and_watchpoints);
    tcase_add_test(tc, no_hw_hooks_means_unsupported);
    tcase_add_test(tc, continue_to_breakpoint_and_step);
    tcase_add_test(tc, stop_reply_expedites_registers);
    tcase_add_test(tc, swbreak_hwbreak_stop_reasons);
    tcase_add_test(tc, legacy_C_and_S);
    tcase_add_test(tc, vcont);
    tcase_add_test(tc, watchpoint_stop_reply);
    tcase_add_test(tc, interrupt_while_running);
    tcase_add_test(tc, threads);
    tcase_add_test(tc, detach_and_kill);
    tcase_add_test(tc, no_unsolicited_stop_reply);
    tcase_add_test(tc, overlong_packet_gets_error);
    tcase_add_test(tc, monitor_help_lists_all);
    tcase_add_test(tc, monitor_walk);
    tcase_add_test(tc, monitor_shadows_and_audit);
    tcase_add_test(tc, monitor_dot);
    tcase_add_test(tc, monitor_dot_range);
    tcase_add_test(tc, monitor_dot_dedupe_and_cap);
    tcase_add_test(tc, monitor_without_hooks);
    tcase_add_test(tc, monitor_output_split_into_O_packets);
    tcase_add_test(tc, monitor_stats_groups_and_deltas);
    tcase_add_test(tc, pte_flag_names);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
