/*
 * The guest loader (src/guest/loader.c, multiboot.c): a Multiboot v1 kernel (ELF32, or the
 * a.out kludge) from the first multiboot2 module, further modules handed to
 * the guest as its multiboot v1 modules.
 */
#ifndef UMBRA_LOADER_H
#define UMBRA_LOADER_H

#include <umbra/kern.h>
#include <umbra/mb.h>

/*
 * The longest module string (the guest's command line is the first) and
 * the longest Umbra command line taken, in bytes without the NUL: the
 * multiboot "at least 4 KiB".  A longer one is refused by name, never cut.
 */
#define LOADER_STRING_MAX 4096

struct staged_module {
    paddr_t pa;            /* copy inside Umbra's reserve */
    const uint8_t *data;   /* the same copy, as the loader reads it */
    uint64_t size;
    const char *string;    /* copy inside the reserve, NUL-terminated, <= LOADER_STRING_MAX */
};

struct guest_boot {
    unsigned nmod;         /* [0] is the guest kernel */
    struct staged_module mod[MB_MAX_MODULES];
    uint32_t entry;        /* results of loader_load() */
    uint32_t info;
    uint64_t kernel_lo, kernel_hi;   /* [lo, hi) the kernel's image spans */
    uint8_t rsdp[36];      /* the firmware's RSDP as Umbra found it (acpi_rsdp_copy), for Linux */
    unsigned rsdp_len;     /*   20 or 36 bytes; 0: none */
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
 * multiboot v1 info and modules after it, fill gb->entry/info.  A Linux
 * bzImage goes to the Linux boot-protocol loader instead (src/guest/linux.c).
 * 0, or -1 after "umbra: loader: ..." was logged.
 */
int loader_load(struct guest_boot *gb);

/*
 * The loaders' seam to guest memory: a host pointer to guest-physical
 * [pa, pa + len), a range a loader_check_* call has accepted.  The
 * hypervisor returns its direct map (src/svm/platform.c); a hosted test or
 * fuzzer its simulated guest memory, and it may abort on a range the checks
 * should have refused.
 */
void *loader_guest(paddr_t pa, uint64_t len);

/* Log "umbra: loader: ..." and return -1. */
int loader_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* 0 if [lo, hi) is guest RAM below 4 GiB outside Umbra's reserve, else -1 after logging `what`. */
int loader_check_dest(uint64_t lo, uint64_t hi, const char *what);

/*
 * The multiboot v1 rule, as lenient as GRUB's `multiboot` (whose relocator
 * writes a segment wherever its paddr says): [lo, hi) may also lie in the
 * legacy area below 1 MiB (BIOS data, EBDA, VGA, ROM: the guest's, as under
 * GRUB).  Refused, with the reason: beyond 4 GiB, overlapping Umbra's
 * reserve, or leaving the guest's RAM above 1 MiB.
 */
int loader_check_image(uint64_t lo, uint64_t hi, const char *what);

/*
 * What a guest kind other than multiboot v1 changes in the SVM core (set by
 * its loader; NULL = plain multiboot v1).
 *   entry: called once the VMCB holds the multiboot v1 entry state, to turn
 *          it into the guest kind's (registers, GDT).
 *   ioio:  an intercepted port access that is not one of Umbra's own ports
 *          (see svm_iopm_intercept in svm.h); returns true if it handled it (and
 *          advanced or stopped the guest), false for the default handling.
 */
struct svm_vcpu;
struct guest_hooks {
    void (*entry)(struct svm_vcpu *v);
    bool (*ioio)(struct svm_vcpu *v, unsigned port, unsigned size, bool in);
};
extern const struct guest_hooks *guest_hooks;

#endif
