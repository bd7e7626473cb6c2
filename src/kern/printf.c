/*
 * vsnprintf/snprintf: the C99 subset Umbra uses.  Pure (no I/O, no globals)
 * so that the same file is compiled into umbra.elf and into the hosted test
 * (test/unit/test_core_printf.c), which compares it with the host libc.
 *
 * Conversions: d i u x X o p s c %; flags - 0 # + space; width and precision
 * (also '*'); length hh h l ll z j t.  Invariant: never writes more than
 * `size` bytes, always NUL-terminates when size > 0, returns the length the
 * full output would have had.
 */
#include <umbra/lib.h>

struct out {
    char *buf;
    size_t size, len;
};

static void put(struct out *o, char c)
{
    if (o->len + 1 < o->size)
        o->buf[o->len] = c;
    o->len++;
}

static void pad(struct out *o, char c, int n)
{
    while (n-- > 0)
        put(o, c);
}

enum { F_LEFT = 1, F_ZERO = 2, F_ALT = 4, F_PLUS = 8, F_SPACE = 16, F_UPPER = 32 };

static void put_num(struct out *o, unsigned long long v, bool neg, unsigned base,
                    int flags, int width, int prec)
{
    const char *digits = (flags & F_UPPER) ? "0123456789ABCDEF" : "0123456789abcdef";
    char tmp[24];
    int n = 0;

    while (v) {
        tmp[n++] = digits[v % base];
        v /= base;
    }
    if (prec < 0 && n == 0)
        tmp[n++] = '0';
    int zeros = prec > n ? prec - n : 0;
    const char *prefix = "";
    if (neg)
        prefix = "-";
    else if (flags & F_PLUS)
        prefix = "+";
    else if (flags & F_SPACE)
        prefix = " ";
    if ((flags & F_ALT) && base == 16 && n > 0 && !(n == 1 && tmp[0] == '0'))
        prefix = (flags & F_UPPER) ? "0X" : "0x";
    if ((flags & F_ALT) && base == 8 && zeros == 0 && (n == 0 || tmp[n - 1] != '0'))
        zeros = 1;
    int plen = (int)strlen(prefix);
    int total = plen + zeros + n;
    if (prec < 0 && (flags & F_ZERO) && !(flags & F_LEFT) && width > total) {
        zeros += width - total;
        total = width;
    }
    if (!(flags & F_LEFT))
        pad(o, ' ', width - total);
    while (*prefix)
        put(o, *prefix++);
    pad(o, '0', zeros);
    while (n > 0)
        put(o, tmp[--n]);
    if (flags & F_LEFT)
        pad(o, ' ', width - total);
}

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
    struct out o = { buf, size, 0 };

    for (; *fmt; fmt++) {
        if (*fmt != '%') {
            put(&o, *fmt);
            continue;
        }
        int flags = 0, width = 0, prec = -1;
        for (;;) {
            char c = *++fmt;
            if (c == '-') flags |= F_LEFT;
            else if (c == '0') flags |= F_ZERO;
            else if (c == '#') flags |= F_ALT;
            else if (c == '+') flags |= F_PLUS;
            else if (c == ' ') flags |= F_SPACE;
            else break;
        }
        if (*fmt == '*') {
            width = va_arg(ap, int);
            if (width < 0) {
                flags |= F_LEFT;
                width = -width;
            }
            fmt++;
        } else {
            while (*fmt >= '0' && *fmt <= '9')
                width = width * 10 + (*fmt++ - '0');
        }
        if (*fmt == '.') {
            fmt++;
            prec = 0;
            if (*fmt == '*') {
                prec = va_arg(ap, int);
                fmt++;
            } else {
                while (*fmt >= '0' && *fmt <= '9')
                    prec = prec * 10 + (*fmt++ - '0');
            }
        }
        int lng = 0;   /* -2 hh, -1 h, 0 int, 1 long, 2 long long */
        for (;; fmt++) {
            if (*fmt == 'h') lng--;
            else if (*fmt == 'l') lng++;
            else if (*fmt == 'z' || *fmt == 'j' || *fmt == 't') lng = 2;
            else break;
        }
        char c = *fmt;
        if (c == '\0')
            break;
        switch (c) {
        case 'd': case 'i': {
            long long v;
            if (lng >= 2) v = va_arg(ap, long long);
            else if (lng == 1) v = va_arg(ap, long);
            else v = va_arg(ap, int);
            if (lng == -1) v = (short)v;
            if (lng <= -2) v = (signed char)v;
            unsigned long long u = v < 0 ? -(unsigned long long)v : (unsigned long long)v;
            put_num(&o, u, v < 0, 10, flags, width, prec);
            break;
        }
        case 'u': case 'x': case 'X': case 'o': {
            unsigned long long v;
            if (lng >= 2) v = va_arg(ap, unsigned long long);
            else if (lng == 1) v = va_arg(ap, unsigned long);
            else v = va_arg(ap, unsigned int);
            if (lng == -1) v = (unsigned short)v;
            if (lng <= -2) v = (unsigned char)v;
            if (c == 'X') flags |= F_UPPER;
            flags &= ~(F_PLUS | F_SPACE);
            put_num(&o, v, false, c == 'u' ? 10 : c == 'o' ? 8 : 16, flags, width, prec);
            break;
        }
        case 'p': {
            void *p = va_arg(ap, void *);
            put_num(&o, (uintptr_t)p, false, 16, (flags | F_ALT) & ~(F_PLUS | F_SPACE), width, prec);
            break;
        }
        case 'c': {
            char ch = (char)va_arg(ap, int);
            if (!(flags & F_LEFT)) pad(&o, ' ', width - 1);
            put(&o, ch);
            if (flags & F_LEFT) pad(&o, ' ', width - 1);
            break;
        }
        case 's': {
            const char *s = va_arg(ap, const char *);
            if (!s)
                s = "(null)";
            int n = 0;
            while (s[n] && (prec < 0 || n < prec))
                n++;
            if (!(flags & F_LEFT)) pad(&o, ' ', width - n);
            for (int i = 0; i < n; i++)
                put(&o, s[i]);
            if (flags & F_LEFT) pad(&o, ' ', width - n);
            break;
        }
        default:   /* '%' and anything unknown are printed as themselves */
            put(&o, c);
            break;
        }
    }
    if (size > 0)
        buf[o.len < size ? o.len : size - 1] = '\0';
    return (int)o.len;
}

int snprintf(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, size, fmt, ap);
    va_end(ap);
    return n;
}
