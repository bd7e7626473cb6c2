/*
 * The hosted world the loader fuzz targets run the loaders in: a simulated
 * 32 MiB guest-physical memory with a QEMU-like firmware map (RAM below
 * 0x9fc00, the BIOS area reserved, RAM from 1 MiB to 0x1fe0000, ACPI above),
 * Umbra's reserve carved from its top as main.c carves it, and the
 * loaders' seam loader_guest() over that memory.  loader_guest() is also
 * the oracle: a range outside what loader_check_image() allows (beyond the
 * simulated memory, in the reserve, outside RAM above 1 MiB) aborts, so a
 * check that lets a bad write through is a crash the fuzzer reports.
 */
#ifndef UMBRA_FUZZ_ENV_H
#define UMBRA_FUZZ_ENV_H

#include <umbra/loader.h>
#include <stddef.h>

#define FUZZ_MEM_SIZE   0x2000000ULL     /* simulated guest-physical memory */
#define FUZZ_RESERVE_LO 0x1c00000ULL     /* Umbra's reserve [lo, hi) */
#define FUZZ_RESERVE_HI 0x1fe0000ULL

/* Reset guest_mmap, umbra_layout and the log for one input. */
void fuzz_env_reset(void);

/* Stage `size` bytes as module i with string s (copies both; i < MB_MAX_MODULES). */
void fuzz_stage(struct guest_boot *gb, unsigned i, const uint8_t *data, size_t size, const char *s);

/* The "umbra: ..." lines logged since the reset (also on stderr with FUZZ_VERBOSE=1). */
extern char fuzz_log[8192];

#endif
