/*
 * The framing layer alone (src/gdbstub/rsp.c): acks, checksums, resync,
 * escapes, run-length decoding, the packet-size limit, Ctrl-C, no-ack mode,
 * and the hex helpers.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <umbra/gdbstub.h>

static struct rsp r;
static char sent[1 << 16];
static size_t nsent;
static int npackets, nintr;
static char lastpkt[GDB_PACKET_SIZE + 1];
static size_t lastlen;
static bool lastover;

static void tx(void *ctx, const uint8_t *b, size_t n)
{
    (void)ctx;
    if (nsent + n < sizeof(sent)) {
        memcpy(sent + nsent, b, n);
        nsent += n;
        sent[nsent] = '\0';
    }
}

static void setup(void)
{
    rsp_init(&r, tx, NULL);
    nsent = 0;
    sent[0] = '\0';
    npackets = nintr = 0;
    lastlen = 0;
}

static void feed(const void *d, size_t n)
{
    const uint8_t *p = d;
    for (size_t i = 0; i < n; i++) {
        enum rsp_event e = rsp_rx(&r, p[i]);
        ck_assert(r.len <= GDB_PACKET_SIZE);
        if (e == RSP_EV_PACKET) {
            npackets++;
            lastlen = r.len;
            lastover = r.overflow;
            memcpy(lastpkt, r.buf, r.len + 1);
        } else if (e == RSP_EV_INTERRUPT) {
            nintr++;
        }
    }
}

static void feeds(const char *s) { feed(s, strlen(s)); }

START_TEST(good_packet_acked)
{
    feeds("$g#67");
    ck_assert_int_eq(npackets, 1);
    ck_assert_str_eq(lastpkt, "g");
    ck_assert_str_eq(sent, "+");
}
END_TEST

START_TEST(bad_checksum_naked)
{
    feeds("$g#68");
    ck_assert_int_eq(npackets, 0);
    ck_assert_str_eq(sent, "-");
    ck_assert_uint_eq(r.naks_sent, 1);
    feeds("$g#67");                       /* GDB's resend is accepted */
    ck_assert_int_eq(npackets, 1);
    ck_assert_str_eq(sent, "-+");
}
END_TEST

START_TEST(nonhex_checksum_naked)
{
    feeds("$g#zz");
    ck_assert_int_eq(npackets, 0);
    ck_assert_str_eq(sent, "-");
    ck_assert(r.st == RSP_IDLE);
}
END_TEST

START_TEST(missing_hash_resyncs_on_dollar)
{
    feeds("$m400000,4$g#67");             /* first packet cut short */
    ck_assert_int_eq(npackets, 1);
    ck_assert_str_eq(lastpkt, "g");
    ck_assert_uint_eq(r.garbage, 1);
}
END_TEST

START_TEST(escape_decoded)
{
    /* "}\x03" is '#', "}]" is '}' ; checksum over raw bytes */
    char f[32];
    unsigned sum = 'X' + '}' + 0x03 + '}' + ']';
    int n = snprintf(f, sizeof(f), "$X}\x03}]#%02x", sum & 0xff);
    feed(f, (size_t)n);
    ck_assert_int_eq(npackets, 1);
    ck_assert_uint_eq(lastlen, 3);
    ck_assert_int_eq(lastpkt[1], '#');
    ck_assert_int_eq(lastpkt[2], '}');
}
END_TEST

START_TEST(escape_at_end_naked)
{
    char f[32];
    unsigned sum = 'a' + '}';
    int n = snprintf(f, sizeof(f), "$a}#%02x", sum & 0xff);
    feed(f, (size_t)n);
    ck_assert_int_eq(npackets, 0);
    ck_assert_str_eq(sent, "-");
}
END_TEST

START_TEST(rle_decoded)
{
    char f[32];
    /* "0* " = '0' plus (' ' - 29) = 3 more copies */
    unsigned sum = '0' + '*' + ' ';
    int n = snprintf(f, sizeof(f), "$0* #%02x", sum & 0xff);
    feed(f, (size_t)n);
    ck_assert_int_eq(npackets, 1);
    ck_assert_str_eq(lastpkt, "0000");
    /* largest count '~': 126 - 29 = 97 copies */
    sum = 'x' + '*' + '~';
    n = snprintf(f, sizeof(f), "$x*~#%02x", sum & 0xff);
    feed(f, (size_t)n);
    ck_assert_int_eq(npackets, 2);
    ck_assert_uint_eq(lastlen, 98);
}
END_TEST

START_TEST(rle_edge_cases_naked)
{
    char f[32];
    int n;
    /* RLE with nothing before it */
    n = snprintf(f, sizeof(f), "$* #%02x", ('*' + ' ') & 0xff);
    feed(f, (size_t)n);
    /* RLE marker right before '#' */
    n = snprintf(f, sizeof(f), "$a*#%02x", ('a' + '*') & 0xff);
    feed(f, (size_t)n);
    /* count below ' ' (would be a repeat of < 3) */
    n = snprintf(f, sizeof(f), "$a*\x1f#%02x", ('a' + '*' + 0x1f) & 0xff);
    feed(f, (size_t)n);
    ck_assert_int_eq(npackets, 0);
    ck_assert_str_eq(sent, "---");
    ck_assert(r.st == RSP_IDLE);
}
END_TEST

START_TEST(rle_overflow_bounded)
{
    /* Runs of 97 copies, 100 more than GDB_PACKET_SIZE needs: far past the
     * limit, the payload must stop at GDB_PACKET_SIZE. */
    enum { RUNS = GDB_PACKET_SIZE / 98 + 100 };
    static char f[3 * RUNS + 8];
    size_t o = 0;
    unsigned sum = 0;
    f[o++] = '$';
    for (int i = 0; i < RUNS; i++) {
        const char *run = "a*~";
        for (int k = 0; k < 3; k++) {
            f[o++] = run[k];
            sum += (unsigned char)run[k];
        }
    }
    o += (size_t)sprintf(f + o, "#%02x", sum & 0xff);
    feed(f, o);
    ck_assert_int_eq(npackets, 1);
    ck_assert(lastover);
    ck_assert_uint_eq(lastlen, GDB_PACKET_SIZE);
}
END_TEST

START_TEST(overlong_packet_bounded)
{
    static char f[GDB_PACKET_SIZE * 2 + 16];
    size_t o = 0;
    unsigned sum = 0;
    f[o++] = '$';
    for (int i = 0; i < GDB_PACKET_SIZE + 500; i++) {
        f[o++] = 'A';
        sum += 'A';
    }
    o += (size_t)sprintf(f + o, "#%02x", sum & 0xff);
    feed(f, o);
    ck_assert_int_eq(npackets, 1);
    ck_assert(lastover);
    ck_assert_uint_eq(lastlen, GDB_PACKET_SIZE);
    feeds("$g#67");                        /* and the next packet is fine */
    ck_assert_int_eq(npackets, 2);
    ck_assert(!r.overflow);
}
END_TEST

START_TEST(exact_limit_accepted)
{
    static char f[GDB_PACKET_SIZE + 16];
    size_t o = 0;
    unsigned sum = 0;
    f[o++] = '$';
    for (int i = 0; i < GDB_PACKET_SIZE; i++) {
        f[o++] = 'B';
        sum += 'B';
    }
    o += (size_t)sprintf(f + o, "#%02x", sum & 0xff);
    feed(f, o);
    ck_assert_int_eq(npackets, 1);
    ck_assert(!lastover);
    ck_assert_uint_eq(lastlen, GDB_PACKET_SIZE);
}
END_TEST

START_TEST(garbage_ignored_then_packet)
{
    const char g[] = "hello\xff\x00\x7f#99+";
    feed(g, sizeof(g) - 1);
    ck_assert_int_eq(npackets, 0);
    ck_assert_uint_gt(r.garbage, 5);
    ck_assert_uint_eq(nsent, 0);           /* nothing answered to noise */
    feeds("$g#67");
    ck_assert_int_eq(npackets, 1);
}
END_TEST

START_TEST(interrupt_only_outside_packets)
{
    uint8_t c = 0x03;
    feed(&c, 1);
    ck_assert_int_eq(nintr, 1);
    /* Only the binary payload of an X packet holds a raw 0x03 as data. */
    char f[32];
    unsigned sum = 'X' + '1' + ',' + '1' + ':' + 3;
    int n = snprintf(f, sizeof(f), "$X1,1:\x03#%02x", sum & 0xff);
    feed(f, (size_t)n);
    ck_assert_int_eq(nintr, 1);
    ck_assert_int_eq(npackets, 1);
    ck_assert_int_eq(lastpkt[5], 3);
}
END_TEST

/* Ctrl-C after an unterminated packet (issue 17 item 9) is not swallowed:
 * in the payload of a text packet, after '#', and as the first byte. */
START_TEST(interrupt_after_unterminated_packet)
{
    feeds("$garbage\x03");
    ck_assert_int_eq(nintr, 1);
    ck_assert_int_eq(npackets, 0);
    ck_assert_uint_eq(r.garbage, 1);
    feeds("$g#\x03");                      /* cut inside the checksum */
    ck_assert_int_eq(nintr, 2);
    feeds("$g#6\x03");
    ck_assert_int_eq(nintr, 3);
    feeds("$\x03");                        /* first byte */
    ck_assert_int_eq(nintr, 4);
    feeds("$m1*\x03");                     /* a run-length count is never 0x03 */
    ck_assert_int_eq(nintr, 5);
    ck_assert_int_eq(npackets, 0);
    feeds("$g#67");                         /* the framing is back in sync */
    ck_assert_int_eq(npackets, 1);
    ck_assert_str_eq(lastpkt, "g");
    /* a binary payload keeps its 0x03, and "}\x03" is an escaped '#' */
    unsigned sum = 'X' + '0' + ',' + '2' + ':' + '}' + 3 + 3;
    char f[32];
    int n = snprintf(f, sizeof(f), "$X0,2:}\x03\x03#%02x", sum & 0xff);
    feed(f, (size_t)n);
    ck_assert_int_eq(nintr, 5);
    ck_assert_int_eq(npackets, 2);
    ck_assert_int_eq(lastpkt[5], '#');
    ck_assert_int_eq(lastpkt[6], 3);
}
END_TEST

START_TEST(nak_resends_last)
{
    rsp_send_str(&r, "OK");
    ck_assert_str_eq(sent, "$OK#9a");
    feeds("-");
    ck_assert_str_eq(sent, "$OK#9a$OK#9a");
    ck_assert_uint_eq(r.resends, 1);
    feeds("+");
    ck_assert_str_eq(sent, "$OK#9a$OK#9a");
}
END_TEST

START_TEST(noack_mode)
{
    r.noack = true;
    feeds("$g#67");
    ck_assert_int_eq(npackets, 1);
    feeds("$g#00");                        /* bad checksum: dropped, not NAKed */
    ck_assert_int_eq(npackets, 1);
    rsp_send_str(&r, "OK");
    feeds("-");                            /* no resend in no-ack mode */
    ck_assert_str_eq(sent, "$OK#9a");
}
END_TEST

START_TEST(send_escapes_and_roundtrips)
{
    const char payload[] = "a$b#c}d*e";
    rsp_send(&r, payload, strlen(payload));
    const char want[] = "$a}\x04" "b}\x03" "c}]d}\x0a" "e#";
    unsigned sum = 0;
    char cs[3];
    ck_assert_int_eq(memcmp(sent, want, sizeof(want) - 1), 0);
    for (size_t i = 1; i < sizeof(want) - 2; i++)
        sum += (unsigned char)want[i];
    snprintf(cs, sizeof(cs), "%02x", sum & 0xff);
    ck_assert_str_eq(sent + sizeof(want) - 1, cs);
    /* feed what we sent back into a receiver: must decode to the payload */
    char copy[128];
    size_t n = nsent;
    memcpy(copy, sent, n);
    feed(copy, n);
    ck_assert_int_eq(npackets, 1);
    ck_assert_str_eq(lastpkt, payload);
    ck_assert_int_eq(sent[n], '+');        /* and it acked its own packet */
}
END_TEST

START_TEST(hex_helpers)
{
    const char *p;
    uint64_t v;
    uint8_t b[4];
    char h[16];

    p = "1aF,";
    ck_assert(rsp_parse_hex(&p, &v));
    ck_assert_uint_eq(v, 0x1af);
    ck_assert_int_eq(*p, ',');
    p = "";
    ck_assert(!rsp_parse_hex(&p, &v));
    p = "g1";
    ck_assert(!rsp_parse_hex(&p, &v));
    p = "ffffffffffffffff";
    ck_assert(rsp_parse_hex(&p, &v));
    ck_assert_uint_eq(v, ~0ULL);
    p = "10000000000000000";                   /* 17 digits: overflow */
    ck_assert(!rsp_parse_hex(&p, &v));
    ck_assert(rsp_hex2mem("deadBEEF", 4, b));
    ck_assert_uint_eq(b[0], 0xde);
    ck_assert_uint_eq(b[3], 0xef);
    ck_assert(!rsp_hex2mem("de0x", 2, b));
    ck_assert(!rsp_hex2mem("d", 1, b));        /* odd: NUL is not a digit */
    rsp_mem2hex((const uint8_t *)"\x01\xab", 2, h);
    ck_assert_str_eq(h, "01ab");
    ck_assert_int_eq(rsp_hexval('G'), -1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("rsp");
    TCase *tc = tcase_create("framing");
    SRunner *sr;
    int failed;

    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, good_packet_acked);
    tcase_add_test(tc, bad_checksum_naked);
    tcase_add_test(tc, nonhex_checksum_naked);
    tcase_add_test(tc, missing_hash_resyncs_on_dollar);
    tcase_add_test(tc, escape_decoded);
    tcase_add_test(tc, escape_at_end_naked);
    tcase_add_test(tc, rle_decoded);
    tcase_add_test(tc, rle_edge_cases_naked);
    tcase_add_test(tc, rle_overflow_bounded);
    tcase_add_test(tc, overlong_packet_bounded);
    tcase_add_test(tc, exact_limit_accepted);
    tcase_add_test(tc, garbage_ignored_then_packet);
    tcase_add_test(tc, interrupt_only_outside_packets);
    tcase_add_test(tc, interrupt_after_unterminated_packet);
    tcase_add_test(tc, nak_resends_last);
    tcase_add_test(tc, noack_mode);
    tcase_add_test(tc, send_escapes_and_roundtrips);
    tcase_add_test(tc, hex_helpers);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
