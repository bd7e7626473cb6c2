/*
 * libFuzzer entry for the whole stub (optional; needs clang):
 *   make gdb-libfuzzer && ./gdb-libfuzzer -max_total_time=60
 * Each input is fed byte by byte to a fresh stub over the fake target; a
 * resume runs the fake briefly and reports a stop, as the hypervisor would.
 * The fuzzer finds crashes and sanitizer errors; liveness is checked too: a
 * probe packet after the input must be answered.
 */
#define _GNU_SOURCE
#include "test_gdb_fake.h"
#include <stdlib.h>
#include <string.h>

static struct fake f;
static struct gdb_stub s;
static char out[1 << 16];
static size_t outlen;

static void tx(void *ctx, const uint8_t *b, size_t n)
{
    (void)ctx;
    if (outlen + n > sizeof(out))
        outlen = 0;
    memcpy(out + outlen, b, n);
    outlen += n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char probe[] = "$qC#b4";
    struct gdb_stop why;

    fake_init(&f, size && (data[0] & 1) ? GUEST_PAGING_LONG : GUEST_PAGING_PAE);
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
