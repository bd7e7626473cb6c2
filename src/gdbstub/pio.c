/*
 * x86 port I/O for the stub's UART driver (freestanding only: linked into
 * umbra.elf; the hosted test links a simulated UART in its place).
 */
#include <umbra/gdbstub.h>

uint8_t gdb_pio_inb(uint16_t port)
{
    uint8_t v;
    __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

void gdb_pio_outb(uint16_t port, uint8_t v)
{
    __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}
