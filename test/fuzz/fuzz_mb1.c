/*
 * libFuzzer target: the multiboot v1 loader (src/guest/multiboot.c: ELF32 and
 * the a.out kludge, then the info block and one module laid out after the
 * kernel).  The input is the guest image, staged as module 0 with a fixed
 * command line, plus a small second module.  Oracles: ASan/UBSan, and
 * loader_guest() aborting on a write its checks should have refused
 * (fuzz_env.c); on success the entry and info block lie in guest memory and
 * the info block names the command line whole.
 */
#include "fuzz_env.h"
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint8_t mod1[100] = "a module";
    static const char cmd[] = "/boot/k.elf fuzz cmdline";
    struct guest_boot gb;
    memset(&gb, 0, sizeof(gb));
    fuzz_env_reset();
    fuzz_stage(&gb, 0, data, size, cmd);
    fuzz_stage(&gb, 1, mod1, sizeof(mod1), "mod1 arg");
    if (loader_load(&gb) < 0) {
        if (!strstr(fuzz_log, "umbra: loader: "))
            abort();                          /* a refusal always says why */
        return 0;
    }
    if (gb.nmod && gb.info) {
        const struct mb1_info *info = loader_guest(gb.info, sizeof(*info));
        if ((info->flags & MB1_INFO_CMDLINE) &&
            strcmp(loader_guest(info->cmdline, sizeof(cmd)), cmd) != 0)
            abort();                          /* the command line arrives whole */
    }
    return 0;
}
