/*
 * libFuzzer target: the Linux boot-protocol loader (src/guest/linux_boot.c:
 * setup header, kernel placement, command line, initrd placement, e820).
 * Input: [u32 initrd size code][u16 command line length (mod 4600)]
 * then the bzImage.  Oracles: ASan/UBSan, loader_guest() (fuzz_env.c), and
 * on success: the command line in guest memory is the module string whole
 * and no longer than the header's cmdline_size; the initrd, if any, lies
 * clear of the kernel's [load, load + init_size) window.
 */
#include "fuzz_env.h"
#include <umbra/linux.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char cmd[4601];
    static uint8_t initrd[1 << 20];
    struct guest_boot gb;
    if (size < 6)
        return 0;
    uint32_t isz;
    uint16_t clen;
    memcpy(&isz, data, 4);
    memcpy(&clen, data + 4, 2);
    /* Mostly small (the loader copies it: exec speed), sometimes 48 MiB (never fits). */
    isz = (isz & 0x80000000u) ? 48u << 20 : (isz & 0xfffffu) >> ((isz >> 20) & 15);
    clen %= 4600;
    memset(cmd, 'c', clen);
    cmd[clen] = 0;
    memset(&gb, 0, sizeof(gb));
    fuzz_env_reset();
    fuzz_stage(&gb, 0, data + 6, size - 6, cmd);
    if (isz) {                                /* not copied: the loader only reads what fits */
        gb.mod[1] = (struct staged_module){ .data = initrd, .size = isz, .string = "initrd" };
        gb.nmod = 2;
    }
    if (linux_load(&gb) < 0) {
        if (!strstr(fuzz_log, "umbra: loader: "))
            abort();
        return 0;
    }
    const uint8_t *bp = loader_guest(gb.info, 4096);
    uint32_t cmd_ptr, cmd_size, rd_image, rd_size;
    memcpy(&cmd_ptr, bp + LX_CMD_LINE_PTR, 4);
    memcpy(&cmd_size, data + 6 + LX_CMDLINE_SIZE, 4);
    memcpy(&rd_image, bp + LX_RAMDISK_IMAGE, 4);
    memcpy(&rd_size, bp + LX_RAMDISK_SIZE, 4);
    if (clen > cmd_size || strcmp(loader_guest(cmd_ptr, clen + 1u), cmd) != 0)
        abort();                              /* whole, and within cmdline_size */
    if (rd_size != isz || (isz && rd_image < gb.kernel_hi && gb.kernel_lo < (uint64_t)rd_image + isz))
        abort();                              /* the initrd clear of the kernel window */
    return 0;
}
