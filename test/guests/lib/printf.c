/*
 * printf-lite: %d %i %u %x %X %s %c %p %%, flags '0' and '-', a width, and
 * the length modifiers l, ll, z.  Enough for TAP lines and diagnostics.
 */
#include "guest.h"

struct out { char *buf; size_t n, len; };

static void put(struct out *o, char c)
{
    if (o->len + 1 < o->n)
        o->buf[o->len] = c;
    o->len++;
}

/* v /= base, returning the remainder, without libgcc's 64-bit division
 * (the i386 guests link no libgcc): three 32-bit steps, base <= 16. */
static unsigned divmod(unsigned long long *v, unsigned base)
{
    uint32_t hi = (uint32_t)(*v >> 32), lo = (uint32_t)*v;
    uint32_t qhi = hi / base, r = hi % base;
    uint32_t mid = (r << 16) | (lo >> 16), qmid = mid / base;
    r = mid % base;
    uint32_t low = (r << 16) | (lo & 0xffff), qlo = low / base;
    *v = ((unsigned long long)qhi << 32) | (qmid << 16) | qlo;
    return low % base;
}

static void put_num(struct out *o, unsigned long long v, unsigned base, bool neg,
                    int width, bool zero, bool left, bool upper)
{
    char tmp[24];
    int i = 0;
    const char *dig = upper ? "0123456789ABCDEF" : "0123456789abcdef";

    do {
        tmp[i++] = dig[divmod(&v, base)];
    } while (v);
    int len = i + (neg ? 1 : 0);
    if (!left && !zero)
        for (; width > len; width--)
            put(o, ' ');
    if (neg)
        put(o, '-');
    if (!left && zero)
        for (; width > len; width--)
            put(o, '0');
    while (i)
        put(o, tmp[--i]);
    for (; left && width > len; width--)
        put(o, ' ');
}

int gvsnprintf(char *buf, size_t n, const char *fmt, va_list ap)
{
    struct out o = { buf, n, 0 };

    for (; *fmt; fmt++) {
        if (*fmt != '%') {
            put(&o, *fmt);
            continue;
        }
        bool zero = false, left = false;
        int width = 0, lng = 0;
        for (fmt++; *fmt == '0' || *fmt == '-'; fmt++)
            *fmt == '0' ? (zero = true) : (left = true);
        for (; *fmt >= '0' && *fmt <= '9'; fmt++)
            width = width * 10 + (*fmt - '0');
        for (; *fmt == 'l' || *fmt == 'z'; fmt++)
            lng += *fmt == 'z' ? (sizeof(size_t) > 4 ? 2 : 1) : 1;
        unsigned long long u;
        long long s;
        switch (*fmt) {
        case 'd': case 'i':
            s = lng >= 2 ? va_arg(ap, long long) : lng ? va_arg(ap, long) : va_arg(ap, int);
            put_num(&o, s < 0 ? -(unsigned long long)s : (unsigned long long)s, 10, s < 0,
                    width, zero, left, false);
            break;
        case 'u': case 'x': case 'X':
            u = lng >= 2 ? va_arg(ap, unsigned long long) : lng ? va_arg(ap, unsigned long)
                                                                : va_arg(ap, unsigned);
            put_num(&o, u, *fmt == 'u' ? 10 : 16, false, width, zero, left, *fmt == 'X');
            break;
        case 'p':
            put(&o, '0');
            put(&o, 'x');
            put_num(&o, (uintptr_t)va_arg(ap, void *), 16, false, width, zero, left, false);
            break;
        case 'c':
            put(&o, (char)va_arg(ap, int));
            break;
        case 's': {
            const char *str = va_arg(ap, const char *);
            int len = 0;
            if (!str)
                str = "(null)";
            while (str[len])
                len++;
            for (; !left && width > len; width--)
                put(&o, ' ');
            while (*str)
                put(&o, *str++);
            for (; left && width > len; width--)
                put(&o, ' ');
            break;
        }
        case '%':
            put(&o, '%');
            break;
        default:
            put(&o, '%');
            if (*fmt)
                put(&o, *fmt);
            else
                fmt--;
        }
    }
    if (n)
        buf[o.len < n ? o.len : n - 1] = 0;
    return (int)o.len;
}

int gsnprintf(char *buf, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = gvsnprintf(buf, n, fmt, ap);
    va_end(ap);
    return r;
}

int gprintf(const char *fmt, ...)
{
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    int r = gvsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    for (const char *p = buf; *p; p++)
        serial_putc(*p);
    return r;
}

void *gmemset(void *p, int c, size_t n)
{
    unsigned char *d = p;
    while (n--)
        *d++ = (unsigned char)c;
    return p;
}

/* The compiler may emit calls to these for struct copies and zeroing. */
void *memset(void *p, int c, size_t n) { return gmemset(p, c, n); }
void *memcpy(void *dst, const void *src, size_t n)
{
    unsigned char *d = dst;
    const unsigned char *s = src;
    while (n--)
        *d++ = *s++;
    return dst;
}
