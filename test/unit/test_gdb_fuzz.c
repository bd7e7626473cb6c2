/*
 * Fuzz the whole stub (framing + commands + monitor) against the fake target
 * with a bounded number of deterministic pseudo-random inputs: raw noise,
 * mutated but correctly framed packets, and mutated monitor command lines.
 * After every input a probe packet must still get its answer (no wedge) and
 * every frame the stub sent must carry a correct checksum.  Built with
 * AddressSanitizer/UBSan when the compiler has them, so an overrun or an
 * undefined shift fails the test rather than passing silently.
 */
#include <check.h>
#include "test_gdb_util.h"

static struct harness H, *h = &H;
static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static unsigned below(unsigned n) { return (unsigned)(rnd() % n); }

static const char *const corpus[] = {
    "qSupported:multiprocess+;swbreak+", "QStartNoAckMode", "?", "g", "G00", "p8", "P0=78563412",
    "m400000,10", "m402ff0,20", "M402000,4:deadbeef", "X402000,2:ab", "Z0,400005,1", "z0,400005,1",
    "Z1,40000c,1", "z1,40000c,1", "Z2,401000,4", "z2,401000,4", "Z4,401000,8", "c", "s", "C05;400000",
    "vCont?", "vCont;s:1;c", "vCont;c:2", "vCont;t", "qfThreadInfo", "qsThreadInfo", "qC",
    "qThreadExtraInfo,1", "Hg1", "Hc-1", "T1", "qAttached", "qXfer:features:read:target.xml:0,100",
    "qXfer:features:read:target.xml:f00,fff", "D", "k", "qRcmd,68656c70", "vMustReplyEmpty",
};

static const char *const monitor_corpus[] = {
    "help", "mode", "walk 0x401000", "walk 403000", "shadows", "shadow 0x82", "shadow 80",
    "pool", "stats", "audit", "blow", "phys on", "phys off", "dot", "arch i386", "arch x86-64",
    "arch auto", "arch",
};

static const char alphabet[] = "$#}*+-\x03" "0123456789abcdefABCDEF,:;=mMgGpPXZzcsvqQHTDk";

static size_t mutate(char *buf, size_t n, size_t cap)
{
    unsigned rounds = 1 + below(4);
    for (unsigned r = 0; r < rounds; r++) {
        unsigned op = below(6);
        size_t at = n ? below((unsigned)n + 1) : 0;
        if (op == 0 && n) {                           /* replace */
            buf[at % n] = below(3) ? alphabet[below(sizeof(alphabet) - 1)] : (char)below(256);
        } else if (op == 1 && n < cap) {              /* insert */
            memmove(buf + at + 1, buf + at, n - at);
            buf[at] = alphabet[below(sizeof(alphabet) - 1)];
            n++;
        } else if (op == 2 && n) {                    /* delete */
            at %= n;
            memmove(buf + at, buf + at + 1, n - at - 1);
            n--;
        } else if (op == 3) {                         /* truncate */
            n = at;
        } else if (op == 4 && n && n * 2 < cap) {     /* duplicate a tail */
            size_t k = n - (at % n);
            memcpy(buf + n, buf + (at % n), k);
            n += k;
        } else if (op == 5 && n + 8 < cap) {          /* long hex number */
            for (int i = 0; i < 8; i++)
                buf[n++] = "0123456789abcdef"[below(16)];
        }
    }
    return n;
}

static size_t make_input(char *in, size_t cap)
{
    static char pl[GDB_PACKET_SIZE + 64];
    size_t n = 0;

    switch (below(4)) {
    case 0:                                           /* raw noise, RSP-flavoured */
        n = 1 + below(300);
        for (size_t i = 0; i < n; i++)
            in[i] = below(4) ? alphabet[below(sizeof(alphabet) - 1)] : (char)below(256);
        return n;
    case 1: {                                         /* mutated monitor line, well framed */
        char line[200];
        const char *m = monitor_corpus[below(ARRAY_SIZE(monitor_corpus))];
        size_t ln = strlen(m);
        memcpy(line, m, ln);
        ln = mutate(line, ln, 120);
        n = (size_t)sprintf(pl, "qRcmd,");
        for (size_t i = 0; i < ln; i++)
            n += (size_t)sprintf(pl + n, "%02x", (unsigned char)line[i]);
        if (below(8) == 0)
            n--;                                      /* odd hex */
        if (below(16) == 0)                           /* about the size limit */
            while (n < GDB_PACKET_SIZE - 4 + below(12))
                n += (size_t)sprintf(pl + n, "%02x", 'a' + below(26));
        break;
    }
    default: {                                        /* mutated command, well framed */
        const char *c = corpus[below(ARRAY_SIZE(corpus))];
        n = strlen(c);
        memcpy(pl, c, n);
        n = mutate(pl, n, 500);
        if (below(16) == 0) {                         /* grow to about the size limit */
            size_t want = GDB_PACKET_SIZE - 8 + below(24);
            while (n < want)
                pl[n++] = "0123456789abcdef"[below(16)];
        }
        break;
    }
    }
    n = h_frame(pl, n, in);
    if (below(10) == 0 && n > 4)
        in[n - 1] ^= 1;                               /* bad checksum now and then */
    (void)cap;
    return n;
}

START_TEST(fuzz_whole_stub)
{
    static char in[2 * GDB_PACKET_SIZE + 128];
    unsigned long probes = 0, resumes = 0, inputs = 100000;

    h_init(h, GUEST_PAGING_PAE);
    for (unsigned long it = 0; it < inputs; it++) {
        size_t n = make_input(in, sizeof(in));
        if (getenv("FUZZ_TRACE") && it == strtoul(getenv("FUZZ_TRACE"), NULL, 0)) {
            fprintf(stderr, "input %lu (%zu bytes, running=%d noack=%d): ", it, n, h->s.running, h->s.rsp.noack);
            fwrite(in, 1, n, stderr);
            fputc('\n', stderr);
        }
        enum gdb_action a = h_feed(h, in, n);
        struct gdb_stop why;

        if (a == GDB_ACT_RESUME || h->s.running) {
            resumes++;
            if (!fake_run(&h->f, 200, &why))
                why = (struct gdb_stop){ .cpu = 0, .signal = GDB_SIGINT };
            gdb_stub_stopped(&h->s, &why);
        }
        ck_assert_uint_le(h->s.rsp.len, GDB_PACKET_SIZE);
        /* liveness: a well-formed probe is answered */
        const char *r = h_cmd(h, "qC");
        ck_assert_msg(strcmp(r, "QC1") == 0 || strcmp(r, "QC2") == 0,
                      "input %lu wedged the stub: reply '%s'", it, r);
        ck_assert(h->s.rsp.st == RSP_IDLE);
        probes++;
        if (it % 10000 == 9999)                        /* fresh target now and then */
            h_init(h, below(2) ? GUEST_PAGING_PAE : GUEST_PAGING_LONG);
    }
    ck_assert_int_eq(h->bad_frames, 0);
    printf("fuzz: %lu inputs, %lu probes answered, %lu resumes, seed 0x9e3779b97f4a7c15\n",
           inputs, probes, resumes);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("gdb_fuzz");
    TCase *tc = tcase_create("fuzz");
    SRunner *sr;
    int failed;

    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, fuzz_whole_stub);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
