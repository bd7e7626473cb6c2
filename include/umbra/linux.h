/*
 * The Linux boot-protocol loader (src/guest/linux.c): a bzImage as the guest
 * module is loaded by the 32-bit boot protocol (Documentation/x86/boot.rst)
 * and entered in flat protected mode with ESI = boot_params; the second
 * module, if any, is its initrd.  It also gives the guest its platform end
 * (src/guest/power.c): ACPI S5 (from the FADT's PM1a/PM1b control ports), a
 * reset through 0xCF9 or the keyboard controller, end the run with Umbra's
 * summary.
 */
#ifndef UMBRA_LINUX_H
#define UMBRA_LINUX_H

#include <umbra/loader.h>

/* True if the image carries the boot-protocol signature "HdrS" at 0x202. */
bool linux_is_bzimage(const uint8_t *img, uint64_t size);

/*
 * Load the staged bzImage gb->mod[0] (and initrd gb->mod[1]) into guest RAM
 * per guest_mmap; fill gb->entry/info (info = boot_params), install the
 * Linux guest hooks and intercept the power ports.  0, or -1 after
 * "umbra: loader: ..." was logged (old protocol, truncated image, no room).
 */
int linux_load(struct guest_boot *gb);

/*
 * The pure half of linux_load (src/guest/linux_boot.c): every check, then the
 * zero page, GDT, command line, kernel and initrd written through
 * loader_guest(); fills gb->entry/info/kernel_lo/kernel_hi.  The command
 * line is the module string exactly as written, at most the kernel's
 * cmdline_size bytes.  0, or -1 after "umbra: loader: ..." was logged.
 */
int linux_boot_load(struct guest_boot *gb);

/* Where the loader puts the boot-protocol structures (guest-physical). */
#define LX_BOOT_PARAMS_PA 0x90000u
#define LX_GDT_PA         0x91000u
#define LX_RSDP_PA        0x91100u    /* in the GDT's page, after the GDT */
#define LX_CMDLINE_PA     0x92000u
#define LX_CMDLINE_AREA   0x2000u     /* LOADER_STRING_MAX + NUL fits */

/* Boot-protocol fields (offsets in the zero page / the image). */
#define LX_SETUP_SECTS   0x1f1
#define LX_SYSSIZE       0x1f4
#define LX_BOOT_FLAG     0x1fe
#define LX_JUMP          0x200
#define LX_HEADER        0x202
#define LX_VERSION       0x206
#define LX_TYPE_OF_LOADER 0x210
#define LX_LOADFLAGS     0x211
#define LX_CODE32_START  0x214
#define LX_RAMDISK_IMAGE 0x218
#define LX_RAMDISK_SIZE  0x21c
#define LX_CMD_LINE_PTR  0x228
#define LX_INITRD_ADDR_MAX 0x22c
#define LX_KERNEL_ALIGNMENT 0x230
#define LX_RELOCATABLE   0x234
#define LX_CMDLINE_SIZE  0x238
#define LX_PREF_ADDRESS  0x258
#define LX_INIT_SIZE     0x260
#define LX_ACPI_RSDP_ADDR 0x070   /* boot_params (zero page), protocol 2.14+ */
#define LX_ALT_MEM_K     0x1e0
#define LX_E820_ENTRIES  0x1e8
#define LX_E820_TABLE    0x2d0
#define LX_E820_MAX      128

#define LX_LOADED_HIGH   0x01
#define LX_KEEP_SEGMENTS 0x40
#define LX_CAN_USE_HEAP  0x80

#endif
