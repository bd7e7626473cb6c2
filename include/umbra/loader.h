/*
 * The guest loader (src/svm/loader.c): a Multiboot v1 kernel (ELF32, or the
 * a.out kludge) from the first multiboot2 module, further modules handed to
 * the guest as its multiboot v1 modules.
 */
#ifndef UMBRA_LOADER_H
#define UMBRA_LOADER_H

#include <umbra/kern.h>
#include <umbra/mb.h>

#define LOADER_STRING_MAX 256

struct staged_module {
    paddr_t pa;            /* copy inside Umbra's reserve */
    uint64_t size;
    char string[LOADER_STRING_MAX];
};

struct guest_boot {
    unsigned nmod;         /* [0] is the guest kernel */
    struct staged_module mod[MB_MAX_MODULES];
    uint32_t entry;        /* results of loader_load() */
    uint32_t info;
    uint32_t kernel_lo, kernel_hi;
};

/* The guest's memory map: the firmware map with Umbra's reserve removed. */
extern struct mem_range guest_mmap[MB_MAX_MMAP];
extern unsigned guest_mmap_n;

/*
 * Copy every module (and its string) into the reserve, before anything can
 * overwrite them.  0, or -1 after "umbra: loader: ..." was logged.
 */
int loader_stage(struct frame_alloc *fa, const struct mb2_info *mb, struct guest_boot *gb);

/*
 * Load the staged kernel into guest RAM per guest_mmap, lay out the
 * multiboot v1 info and modules after it, fill gb->entry/info.
 * 0, or -1 after "umbra: loader: ..." was logged.
 */
int loader_load(struct guest_boot *gb);

#endif
