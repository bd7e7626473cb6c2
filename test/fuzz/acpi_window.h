/*
 * acpi_window.h: the platform seam of the ACPI readers (acpi_phys, include/umbra/acpi.h) for a fuzz target
 * that places its input at WINDOW_BASE: a physical range maps to the input's bytes when it lies wholly
 * inside them, else to nothing.  Include once, after defining WINDOW_BASE; the target fills mem/mem_len.
 */
#ifndef UMBRA_FUZZ_ACPI_WINDOW_H
#define UMBRA_FUZZ_ACPI_WINDOW_H
#include <umbra/acpi.h>

static uint8_t *mem;
static size_t mem_len;

void *acpi_phys(paddr_t pa, size_t len)
{
    if (pa < WINDOW_BASE || pa - WINDOW_BASE > mem_len || len > mem_len - (pa - WINDOW_BASE))
        return NULL;
    return mem + (pa - WINDOW_BASE);
}
#endif
