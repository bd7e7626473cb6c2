/*
 * Umbra's console: COM1 (16550, 115200 8N1), Bochs' port 0xE9, or nothing.
 * Every line Umbra prints goes through ulog() and starts with "umbra: ", so
 * Umbra's lines can be told apart from the guest's on the shared COM1.
 */
#include <umbra/kern.h>
#include <umbra/lib.h>
#include <umbra/hypercall.h>

#define COM1 0x3f8
#define UART_THR 0
#define UART_IER 1
#define UART_FCR 2
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define LSR_THRE 0x20
#define LSR_TEMT 0x40

static enum console_kind console = CONSOLE_COM1;
static bool com1_ready;

static void com1_init(void)
{
    outb(COM1 + UART_IER, 0);
    outb(COM1 + UART_LCR, 0x80);   /* DLAB */
    outb(COM1 + 0, 1);             /* divisor 1: 115200 baud */
    outb(COM1 + 1, 0);
    outb(COM1 + UART_LCR, 0x03);   /* 8N1 */
    outb(COM1 + UART_FCR, 0x07);   /* FIFO on, cleared */
    outb(COM1 + UART_MCR, 0x03);   /* DTR, RTS */
    com1_ready = true;
}

void console_init(enum console_kind k)
{
    console = k;
    if (k == CONSOLE_COM1 && !com1_ready)
        com1_init();
}

static void com1_putc(char c)
{
    /* Bounded wait: a missing UART must not hang Umbra. */
    for (unsigned i = 0; i < 100000 && !(inb(COM1 + UART_LSR) & LSR_THRE); i++)
        ;
    outb(COM1 + UART_THR, (uint8_t)c);
}

void console_write(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        switch (console) {
        case CONSOLE_COM1:
            if (s[i] == '\n')
                com1_putc('\r');
            com1_putc(s[i]);
            break;
        case CONSOLE_E9:
            outb(0xe9, (uint8_t)s[i]);
            break;
        case CONSOLE_NONE:
            return;
        }
    }
}

void console_drain(void)
{
    if (!com1_ready)
        return;
    for (unsigned i = 0; i < 1000000 && !(inb(COM1 + UART_LSR) & LSR_TEMT); i++)
        ;
}

static void vlog(const char *fmt, va_list ap)
{
    char line[256];
    int n = 7;
    memcpy(line, "umbra: ", 7);
    int m = vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
    n += m < (int)(sizeof(line) - n - 2) ? m : (int)(sizeof(line) - n - 2);
    line[n++] = '\n';
    console_write(line, (size_t)n);
}

void ulog(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog(fmt, ap);
    va_end(ap);
}

void panic(const char *fmt, ...)
{
    char msg[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    ulog("panic: %s", msg);
    ulog("exit reason=panic status=%u", UMBRA_STATUS_ERROR);
    machine_exit(UMBRA_STATUS_ERROR);
}

void machine_exit(unsigned status)
{
    console_drain();
    outb(PORT_DEBUG_EXIT, (uint8_t)status);          /* QEMU isa-debug-exit */
    for (const char *p = "Shutdown"; *p; p++)        /* Bochs */
        __asm__ volatile("outb %0, %1" :: "a"(*p), "d"((uint16_t)PORT_BOCHS_SHUTDOWN));
    for (;;)
        __asm__ volatile("cli; hlt");
}
