/*
 * 16550 UART, polled, for the GDB stub (COM2 by default; COM1 carries the
 * log).  The port accesses go through gdb_pio_inb/outb (pio.c in umbra.elf,
 * a simulated UART in test/unit/test_gdb_uart.c).  No interrupts: the
 * hypervisor polls between exits while the guest runs and spins here while
 * it is stopped, which keeps the stub free of locking and IRQ routing.
 */
#include <umbra/gdbstub.h>

#define UART_RBR 0   /* receive buffer (DLAB = 0) */
#define UART_THR 0   /* transmit holding (DLAB = 0) */
#define UART_DLL 0   /* divisor low (DLAB = 1) */
#define UART_IER 1
#define UART_DLM 1   /* divisor high (DLAB = 1) */
#define UART_FCR 2
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define LSR_DR   0x01   /* data ready */
#define LSR_THRE 0x20   /* transmit holding register empty */
#define LCR_DLAB 0x80
#define LCR_8N1  0x03

/* Port I/O lives in pio.c (in/out instructions) so that a hosted test can link
 * a simulated 16550 instead: the choice is made at link time, not by #ifdef. */

void gdb_uart_init(uint16_t base, unsigned baud)
{
    unsigned div = baud ? 115200 / baud : 1;

    if (div == 0)
        div = 1;
    gdb_pio_outb(base + UART_IER, 0x00);
    gdb_pio_outb(base + UART_LCR, LCR_DLAB);
    gdb_pio_outb(base + UART_DLL, (uint8_t)div);
    gdb_pio_outb(base + UART_DLM, (uint8_t)(div >> 8));
    gdb_pio_outb(base + UART_LCR, LCR_8N1);
    gdb_pio_outb(base + UART_FCR, 0xc7);    /* enable + clear FIFOs, 14-byte trigger */
    gdb_pio_outb(base + UART_MCR, 0x03);    /* DTR, RTS */
}

bool gdb_uart_getc(uint16_t base, uint8_t *c)
{
    if (!(gdb_pio_inb(base + UART_LSR) & LSR_DR))
        return false;
    *c = gdb_pio_inb(base + UART_RBR);
    return true;
}

void gdb_uart_tx(void *ctx, const uint8_t *buf, size_t n)
{
    uint16_t base = (uint16_t)(uintptr_t)ctx;

    for (size_t i = 0; i < n; i++) {
        while (!(gdb_pio_inb(base + UART_LSR) & LSR_THRE))
            __asm__ volatile("pause");
        gdb_pio_outb(base + UART_THR, buf[i]);
    }
}

enum gdb_action gdb_uart_poll(struct gdb_stub *s, uint16_t base, bool block)
{
    uint8_t c;

    for (;;) {
        while (gdb_uart_getc(base, &c)) {
            enum gdb_action a = gdb_stub_input(s, c);
            if (a != GDB_ACT_NONE)
                return a;
        }
        if (!block)
            return GDB_ACT_NONE;
        __asm__ volatile("pause");
    }
}
