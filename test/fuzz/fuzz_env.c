/*
 * See fuzz_env.h.  Provides what the loaders take from the hypervisor:
 * umbra_layout, ulog(), loader_guest(); the staged-module copies live in
 * malloc'd buffers exactly sized (so ASan sees any read past a module).
 */
#include "fuzz_env.h"
#include <umbra/linux.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

struct umbra_layout umbra_layout;
char fuzz_log[8192];
static size_t log_len;
static uint8_t *mem;
static void *staged[MB_MAX_MODULES];
static char *strings[MB_MAX_MODULES];

void ulog(const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (getenv("FUZZ_VERBOSE"))
        fprintf(stderr, "umbra: %s\n", line);
    int n = snprintf(fuzz_log + log_len, sizeof(fuzz_log) - log_len, "umbra: %s\n", line);
    if (n > 0 && log_len + (size_t)n < sizeof(fuzz_log))
        log_len += (size_t)n;
}

/* Every byte of [pa, pa + len) below 1 MiB or in an available range of guest_mmap. */
static bool allowed(uint64_t pa, uint64_t len)
{
    uint64_t end = pa + len;
    if (end < pa || end > FUZZ_MEM_SIZE)
        return false;
    if (pa < umbra_layout.reserve_hi && end > umbra_layout.reserve_lo)
        return false;
    while (pa < end) {
        if (pa < 0x100000) {
            pa = 0x100000;
            continue;
        }
        uint64_t next = pa;
        for (unsigned i = 0; i < guest_mmap_n; i++)
            if (guest_mmap[i].type == MEM_AVAILABLE && guest_mmap[i].base <= pa &&
                pa < guest_mmap[i].base + guest_mmap[i].len)
                next = guest_mmap[i].base + guest_mmap[i].len;
        if (next == pa)
            return false;
        pa = next;
    }
    return true;
}

void *loader_guest(paddr_t pa, uint64_t len)
{
    if (!allowed(pa, len)) {
        fprintf(stderr, "fuzz: loader wrote [%#llx, +%#llx): not a range its checks allow\n",
                (unsigned long long)pa, (unsigned long long)len);
        abort();
    }
    return mem + pa;
}

void fuzz_env_reset(void)
{
    static const struct mem_range fw[] = {
        { 0, 0x9fc00, MEM_AVAILABLE },
        { 0x9fc00, 0x400, MEM_RESERVED },
        { 0xf0000, 0x10000, MEM_RESERVED },
        { 0x100000, FUZZ_RESERVE_HI - 0x100000, MEM_AVAILABLE },
        { FUZZ_RESERVE_HI, FUZZ_MEM_SIZE - FUZZ_RESERVE_HI, MEM_ACPI },
        { 0xfffc0000, 0x40000, MEM_RESERVED },
    };
    if (!mem) {
        mem = mmap(NULL, FUZZ_MEM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (mem == MAP_FAILED)
            abort();
    }
    umbra_layout = (struct umbra_layout){ .image_lo = FUZZ_RESERVE_HI - 0x100000, .image_hi = FUZZ_RESERVE_HI,
                                          .reserve_lo = FUZZ_RESERVE_LO, .reserve_hi = FUZZ_RESERVE_HI };
    guest_mmap_n = mmap_remove(fw, sizeof(fw) / sizeof(fw[0]), FUZZ_RESERVE_LO, FUZZ_RESERVE_HI,
                               guest_mmap, MB_MAX_MMAP);
    log_len = 0;
    fuzz_log[0] = 0;
    for (unsigned i = 0; i < MB_MAX_MODULES; i++) {
        free(staged[i]);
        free(strings[i]);
        staged[i] = NULL;
        strings[i] = NULL;
    }
}

void fuzz_stage(struct guest_boot *gb, unsigned i, const uint8_t *data, size_t size, const char *s)
{
    staged[i] = malloc(size ? size : 1);
    memcpy(staged[i], data, size);
    strings[i] = strdup(s);
    gb->mod[i] = (struct staged_module){ .pa = 0, .data = staged[i], .size = size, .string = strings[i] };
    if (gb->nmod < i + 1)
        gb->nmod = i + 1;
}

/* What src/guest/linux.c adds around the pure half (power ports, hooks) is not the fuzzed part. */
int linux_load(struct guest_boot *gb)
{
    return linux_boot_load(gb);
}
