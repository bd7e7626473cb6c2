/*
 * COM1 (0x3F8) 16550: 115200 8N1, FIFO on, polled transmit.  Output is the
 * only channel the harness reads, so serial_drain() waits until the shift
 * register is empty (Bochs' file backend loses bytes still queued at exit).
 */
#include "guest.h"

#define COM1 0x3f8
#define LSR_THRE 0x20
#define LSR_TEMT 0x40

void serial_init(void)
{
    outb(COM1 + 1, 0x00);       /* no interrupts */
    outb(COM1 + 3, 0x80);       /* DLAB */
    outb(COM1 + 0, 0x01);       /* divisor 1: 115200 baud */
    outb(COM1 + 1, 0x00);
    outb(COM1 + 3, 0x03);       /* 8N1 */
    outb(COM1 + 2, 0x07);       /* FIFO on, cleared */
    outb(COM1 + 4, 0x03);       /* DTR, RTS */
}

void serial_putc(char c)
{
    if (c == '\n')
        serial_putc('\r');
    while (!(inb(COM1 + 5) & LSR_THRE))
        ;
    outb(COM1, (uint8_t)c);
}

void serial_drain(void)
{
    for (unsigned long i = 0; i < 100000000ul && !(inb(COM1 + 5) & LSR_TEMT); i++)
        ;
}
