/*
 * The length decoder against an oracle: GNU objdump.  A seeded random corpus
 * (prefixes, REX, one-byte and 0F opcodes, random ModRM/SIB/displacement/
 * immediate bytes) is decoded; every instruction the decoder accepts is put
 * in its own 16-byte slot (padded with NOPs) of a flat binary, which objdump
 * disassembles.  Each slot must start with one objdump instruction of exactly
 * the decoder's length that objdump does not call "(bad)".  The NOP padding
 * lets objdump fall back into step after a disagreement, so one run reports
 * every mismatch, not just the first.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <umbra/x86emu.h>

#define SLOT 16

static uint64_t rng = 0x9e3779b97f4a7c15ULL;   /* fixed seed: UMBRA_X86_SEED overrides */
static unsigned rnd(unsigned n)
{
    rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
    return (unsigned)(rng % n);
}

/* Opcodes whose meaning objdump and the CPU may legitimately see differently
 * with random prefixes (SSE prefix-selected forms) are kept, but counted. */
static const uint8_t prefixes[] = { 0x66, 0x67, 0xf0, 0xf2, 0xf3, 0x2e, 0x3e, 0x26, 0x64, 0x65, 0x36 };

static void gen(uint8_t *b, enum x86_cpu_mode mode)
{
    unsigned n = 0, np = rnd(4);
    if (rnd(3) == 0)
        np = 0;
    for (unsigned i = 0; i < np; i++) {
        uint8_t p = prefixes[rnd(sizeof(prefixes))];
        /* F2/F3 change SSE opcodes into other instructions: keep them rarer */
        if ((p == 0xf2 || p == 0xf3) && rnd(3))
            p = 0x66;
        b[n++] = p;
    }
    if (mode == X86_MODE_LONG64 && rnd(2))
        b[n++] = 0x40 | rnd(16);
    unsigned kind = rnd(10);
    if (kind < 6) {
        /* the opcode byte itself must not be a prefix (objdump prints a REX
         * that is not last, or a lone prefix, as an instruction of its own) */
        uint8_t o;
        do
            o = rnd(256);
        while ((mode == X86_MODE_LONG64 && (o & 0xf0) == 0x40) || o == 0x26 || o == 0x2e ||
               o == 0x36 || o == 0x3e || (o >= 0x64 && o <= 0x67) || o == 0xf0 || o == 0xf2 || o == 0xf3 ||
               (o == 0x9b && n && (b[n - 1] & 0xf0) == 0x40));   /* objdump: REX FWAIT = two lines */
        b[n++] = o;
    } else {
        b[n++] = 0x0f;
        b[n++] = rnd(256);
    }
    while (n < 32)
        b[n++] = rnd(256);
}

struct result { unsigned accepted, compared, mismatches; };

static struct result run_mode(enum x86_cpu_mode mode, const char *march, unsigned count)
{
    struct result res = { 0, 0, 0 };
    uint8_t *img = calloc(count, SLOT);
    uint8_t (*ins)[SLOT] = calloc(count, SLOT);
    unsigned *lens = calloc(count, sizeof(unsigned));
    unsigned n = 0;
    for (unsigned tries = 0; n < count && tries < count * 20; tries++) {
        uint8_t b[32];
        struct x86_insn in;
        gen(b, mode);
        if (x86_decode(b, 32, mode, &in) != X86_DECODE_OK)
            continue;
        /* A REX prefix followed by a legacy prefix is ignored by the CPU but
         * printed by objdump as its own "rex" line: keep those out. */
        memset(img + n * SLOT, 0x90, SLOT);
        memcpy(img + n * SLOT, b, in.len);
        memcpy(ins[n], b, in.len);
        lens[n] = in.len;
        n++;
    }
    res.accepted = n;

    char path[] = "/tmp/umbra-x86-objdumpXXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, img, (size_t)n * SLOT), (ssize_t)n * SLOT);
    close(fd);
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "objdump -D -b binary -m %s --insn-width=16 %s", march, path);
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);

    char line[512];
    unsigned next_slot = 0;
    while (fgets(line, sizeof(line), p)) {
        unsigned long addr;
        char *tab = strchr(line, '\t');
        if (!tab || sscanf(line, " %lx:", &addr) != 1)
            continue;
        char *tab2 = strchr(tab + 1, '\t');
        unsigned nbytes = 0;
        for (char *q = tab + 1; *q && q != tab2; q++)
            if (q[0] != ' ' && q[0] != '\n' && (q[1] == ' ' || q[1] == '\t' || q[1] == '\n' || !q[1]))
                nbytes++;
        if (addr % SLOT)
            continue;
        unsigned s = addr / SLOT;
        if (s >= n)
            break;
        while (next_slot < s) {   /* objdump never started an instruction there */
            fprintf(stderr, "%s slot %u: decoder says %u, objdump out of step:", march, next_slot,
                    lens[next_slot]);
            for (unsigned i = 0; i < lens[next_slot]; i++)
                fprintf(stderr, " %02x", ins[next_slot][i]);
            fprintf(stderr, "\n");
            res.mismatches++;
            next_slot++;
        }
        next_slot = s + 1;
        res.compared++;
        bool bad = strstr(line, "(bad)") != NULL;
        if (nbytes != lens[s] || bad) {
            fprintf(stderr, "%s slot %u: decoder %u, objdump %u%s:", march, s, lens[s], nbytes,
                    bad ? " (bad)" : "");
            for (unsigned i = 0; i < lens[s]; i++)
                fprintf(stderr, " %02x", ins[s][i]);
            fprintf(stderr, "   | %s", tab2 ? tab2 + 1 : "\n");
            res.mismatches++;
        }
    }
    pclose(p);
    unlink(path);
    free(img);
    free(ins);
    free(lens);
    printf("objdump oracle %-12s: %u accepted, %u compared, %u mismatches\n", march, res.accepted,
           res.compared, res.mismatches);
    return res;
}

static void check_mode(enum x86_cpu_mode mode, const char *march)
{
    struct result r = run_mode(mode, march, 40000);
    ck_assert_uint_ge(r.accepted, 30000);
    ck_assert_msg(r.compared > 0, "objdump (GNU binutils) gave no disassembly: is it installed?");
    ck_assert_uint_eq(r.compared, r.accepted);
    ck_assert_uint_eq(r.mismatches, 0);
}

START_TEST(oracle_16) { check_mode(X86_MODE_REAL, "i8086"); }
END_TEST
START_TEST(oracle_32) { check_mode(X86_MODE_PROT32, "i386"); }
END_TEST
START_TEST(oracle_64) { check_mode(X86_MODE_LONG64, "i386:x86-64"); }
END_TEST

int main(void)
{
    const char *seed = getenv("UMBRA_X86_SEED");
    if (seed)
        rng = strtoull(seed, NULL, 0) | 1;
    Suite *s = suite_create("x86_objdump");
    TCase *tc = tcase_create("lengths");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, oracle_16);
    tcase_add_test(tc, oracle_32);
    tcase_add_test(tc, oracle_64);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
