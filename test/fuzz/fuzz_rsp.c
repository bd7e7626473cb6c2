/*
 * libFuzzer target: the whole GDB stub (src/gdbstub) over the fake target
 * of test/unit/test_gdb_fake.c -- test/unit/test_gdb_fuzz_lf.c's loop (the
 * input fed byte by byte to a fresh stub; a resume runs the fake briefly
 * and reports a stop; a probe packet after the input must be answered),
 * with one change in the harness only: the fake is not rebuilt per input.
 *
 * fake_init() clears and fills 1 MiB of simulated memory; with the stub
 * itself taking a few microseconds per input, that set-up was half the
 * target's CPU (memset 35%, fake_init 14%; perf, 2026-12-03-pm/fuzz.md).
 * Here fake_init() runs once per paging mode into a template kept in a
 * memfd; each input gets the template's memory mapped copy-on-write over
 * f.mem (only the pages the input touches cost anything) and the
 * template's other fields copied.  Invariant: after restore(m), f is byte
 * for byte what fake_init(&f, mode m) leaves (FUZZ_RSP_VERIFY=1 in the
 * environment checks that on every input, against a fresh fake_init).
 */
#define _GNU_SOURCE
#include "../unit/test_gdb_fake.h"
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct fake f __attribute__((aligned(4096)));   /* f.mem is page-aligned: mmap can replace it */
static struct fake tmpl[2];                             /* fake_init's result, PAE and long mode */
static struct gdb_stub s;
static char out[1 << 16];
static size_t outlen;
static int memfd = -1;
static int verify = -1;

_Static_assert(offsetof(struct fake, mem) == 0, "the fake's memory comes first");
_Static_assert(FAKE_MEM_SIZE % 4096 == 0, "the fake's memory is whole pages");

static void tx(void *ctx, const uint8_t *b, size_t n)
{
    (void)ctx;
    if (outlen + n > sizeof(out))
        outlen = 0;
    memcpy(out + outlen, b, n);
    outlen += n;
}

/* f := fake_init(mode m) (m = 0 PAE, 1 long), without touching 1 MiB. */
static void restore(unsigned m)
{
    static const enum guest_paging modes[2] = { GUEST_PAGING_PAE, GUEST_PAGING_LONG };
    const size_t rest = sizeof(struct fake) - FAKE_MEM_SIZE;
    if (memfd < 0) {
        memfd = memfd_create("fuzz-rsp-fake", 0);
        if (memfd < 0 || ftruncate(memfd, 2 * (off_t)FAKE_MEM_SIZE) != 0)
            abort();
        for (unsigned i = 0; i < 2; i++) {
            fake_init(&tmpl[i], modes[i]);
            if (pwrite(memfd, tmpl[i].mem, FAKE_MEM_SIZE, (off_t)i * FAKE_MEM_SIZE) != FAKE_MEM_SIZE)
                abort();
        }
        verify = getenv("FUZZ_RSP_VERIFY") != NULL;
    }
    if (mmap(f.mem, FAKE_MEM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED, memfd,
             (off_t)m * FAKE_MEM_SIZE) != (void *)f.mem)
        abort();
    memcpy((uint8_t *)&f + FAKE_MEM_SIZE, (const uint8_t *)&tmpl[m] + FAKE_MEM_SIZE, rest);
    if (verify) {
        static struct fake chk;
        fake_init(&chk, modes[m]);
        if (memcmp(&chk, &f, sizeof(f)) != 0)
            abort();                /* the restore is not what fake_init gives */
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char probe[] = "$qC#b4";
    struct gdb_stop why;

    restore(size && (data[0] & 1) ? 1 : 0);
    gdb_stub_init(&s, &fake_ops, &f, tx, NULL);
    f.stub = &s;
    for (size_t i = 0; i < size; i++) {
        if (gdb_stub_input(&s, data[i]) == GDB_ACT_RESUME || s.running) {
            if (!fake_run(&f, 100, &why))
                why = (struct gdb_stop){ .cpu = 0, .signal = GDB_SIGINT };
            gdb_stub_stopped(&s, &why);
        }
    }
    outlen = 0;
    for (size_t i = 0; i < sizeof(probe) - 1; i++)
        gdb_stub_input(&s, (uint8_t)probe[i]);
    if (!memmem(out, outlen, "$QC", 3))
        abort();                    /* wedged */
    return 0;
}
