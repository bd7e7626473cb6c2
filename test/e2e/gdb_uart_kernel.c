/*
 * A bare-metal kernel that serves the fake target (test/unit/test_gdb_fake.c)
 * with the real stub over COM2 through src/gdbstub/uart.c and pio.c: the
 * configuration of the hypervisor minus SVM.  Booted by QEMU (-kernel, COM2 on
 * a TCP socket) for test/e2e/gdb_qemu_uart.sh, where the real GDB attaches.
 * Leaves the emulator (QEMU isa-debug-exit, Bochs port 0x8900) when GDB
 * detaches or kills.  Also booted from a GRUB ISO by Bochs (gdb_bochs_uart.sh).
 *
 * Also the C library the stub needs in freestanding form (lib.h), kept minimal
 * and free of 64-bit division so that no libgcc is needed in 32-bit mode.
 */
#include "../unit/test_gdb_fake.h"
#include <umbra/lib.h>

static struct fake f;
static struct gdb_stub stub;

/* Wait until a UART has sent everything (LSR.TEMT): Bochs' file-backed COM1
 * loses bytes still in flight at shutdown. */
static void uart_drain(uint16_t base)
{
    while (!(gdb_pio_inb(base + 5) & 0x40))
        ;
}

/* Leave the emulator: QEMU's isa-debug-exit at 0xf4 (exit status (v << 1) | 1),
 * else Bochs' shutdown port 0x8900.  Each does nothing in the other emulator. */
static void emulator_exit(uint8_t v)
{
    uart_drain(GDB_COM1);
    uart_drain(GDB_COM2);
    gdb_pio_outb(0xf4, v);
    for (const char *p = "Shutdown"; *p; p++)
        gdb_pio_outb(0x8900, (uint8_t)*p);
}

static void com1_puts(const char *s)
{
    while (*s)
        gdb_uart_tx((void *)(uintptr_t)GDB_COM1, (const uint8_t *)s++, 1);
}

void kmain(void)
{
    struct gdb_stop why;

    gdb_uart_init(GDB_COM1, 115200);
    gdb_uart_init(GDB_COM2, 115200);
    fake_init(&f, GUEST_PAGING_PAE);
    gdb_stub_init(&stub, &fake_ops, &f, gdb_uart_tx, (void *)(uintptr_t)GDB_COM2);
    f.stub = &stub;
    com1_puts("umbra: gdb: waiting on COM2\n");
    for (;;) {
        enum gdb_action a = gdb_uart_poll(&stub, GDB_COM2, !stub.running || f.detached);
        if (a == GDB_ACT_INTERRUPT) {
            for (unsigned c = 0; c < FAKE_NCPUS; c++)
                f.run[c] = GDB_RUN_STOP;
            why = (struct gdb_stop){ .cpu = 0, .signal = GDB_SIGINT };
            gdb_stub_stopped(&stub, &why);
        } else if (a == GDB_ACT_DETACH) {
            com1_puts(f.killed ? "umbra: gdb: killed\n" : "umbra: gdb: detached\n");
            emulator_exit(0);
        }
        if (stub.running && !f.detached && fake_run(&f, 1000, &why))
            gdb_stub_stopped(&stub, &why);
    }
}

/* ---- the minimal C library ---- */
void *memset(void *s, int c, size_t n)
{
    uint8_t *p = s;
    while (n--)
        *p++ = (uint8_t)c;
    return s;
}

void *memcpy(void *d, const void *s, size_t n)
{
    uint8_t *o = d;
    const uint8_t *i = s;
    while (n--)
        *o++ = *i++;
    return d;
}

void *memmove(void *d, const void *s, size_t n)
{
    uint8_t *o = d;
    const uint8_t *i = s;
    if (o < i)
        return memcpy(d, s, n);
    while (n--)
        o[n] = i[n];
    return d;
}

int memcmp(const void *a, const void *b, size_t n)
{
    const uint8_t *x = a, *y = b;
    for (; n; n--, x++, y++)
        if (*x != *y)
            return *x - *y;
    return 0;
}

size_t strlen(const char *s)
{
    size_t n = 0;
    while (s[n])
        n++;
    return n;
}

int strncmp(const char *a, const char *b, size_t n)
{
    for (; n; n--, a++, b++) {
        if (*a != *b)
            return (unsigned char)*a - (unsigned char)*b;
        if (!*a)
            return 0;
    }
    return 0;
}

int strcmp(const char *a, const char *b)
{
    return strncmp(a, b, (size_t)-1);
}

char *strchr(const char *s, int c)
{
    for (;; s++) {
        if (*s == (char)c)
            return (char *)s;
        if (!*s)
            return NULL;
    }
}

/* 64-bit division by a small base without libgcc: shift-subtract. */
static uint64_t divmod(uint64_t n, unsigned base, unsigned *rem)
{
    uint64_t q = 0, r = 0;
    for (int i = 63; i >= 0; i--) {
        r = (r << 1) | ((n >> i) & 1);
        if (r >= base) {
            r -= base;
            q |= 1ULL << i;
        }
    }
    *rem = (unsigned)r;
    return q;
}

struct sink { char *buf; size_t size, len; };

static void put(struct sink *k, char c)
{
    if (k->len + 1 < k->size)
        k->buf[k->len] = c;
    k->len++;
}

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
    struct sink k = { buf, size, 0 };

    for (; *fmt; fmt++) {
        char tmp[24];
        const char *s;
        int left = 0, zero = 0, width = 0, lng = 0, n = 0;
        uint64_t v;
        bool neg = false;

        if (*fmt != '%') {
            put(&k, *fmt);
            continue;
        }
        fmt++;
        for (; *fmt == '-' || *fmt == '0'; fmt++)
            *fmt == '-' ? (left = 1) : (zero = 1);
        for (; *fmt >= '0' && *fmt <= '9'; fmt++)
            width = width * 10 + (*fmt - '0');
        for (; *fmt == 'l' || *fmt == 'z'; fmt++)
            lng++;
        switch (*fmt) {
        case 's':
            s = va_arg(ap, const char *);
            if (!s)
                s = "(null)";
            n = (int)strlen(s);
            break;
        case 'c':
            tmp[0] = (char)va_arg(ap, int);
            s = tmp;
            n = 1;
            break;
        case 'd': case 'u': case 'x': {
            unsigned base = *fmt == 'x' ? 16 : 10, r;
            if (*fmt == 'd') {
                int64_t sv = lng >= 2 ? va_arg(ap, long long) : lng ? va_arg(ap, long) : va_arg(ap, int);
                neg = sv < 0;
                v = neg ? (uint64_t)-sv : (uint64_t)sv;
            } else {
                v = lng >= 2 ? va_arg(ap, unsigned long long) : lng ? va_arg(ap, unsigned long)
                                                                     : va_arg(ap, unsigned);
            }
            n = (int)sizeof(tmp);
            do {
                v = divmod(v, base, &r);
                tmp[--n] = "0123456789abcdef"[r];
            } while (v);
            if (neg)
                tmp[--n] = '-';
            s = tmp + n;
            n = (int)sizeof(tmp) - n;
            break;
        }
        case '%':
            s = "%";
            n = 1;
            break;
        default:
            s = "?";
            n = 1;
            break;
        }
        if (!left)
            for (int i = n; i < width; i++)
                put(&k, zero ? '0' : ' ');
        for (int i = 0; i < n; i++)
            put(&k, s[i]);
        if (left)
            for (int i = n; i < width; i++)
                put(&k, ' ');
    }
    if (size)
        buf[k.len < size ? k.len : size - 1] = '\0';
    return (int)k.len;
}

int snprintf(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vsnprintf(buf, size, fmt, ap);
    va_end(ap);
    return n;
}
