/*
 * The mem and str functions of include/umbra/lib.h for the freestanding
 * build (GCC may emit calls to memcpy/memset itself, so they must exist).
 * memset and memcpy are on the hot path: every new shadow is a 4 KiB frame
 * zeroed by memset, on a #PF exit.  As byte loops they took about 12,000
 * instructions per frame (three per byte), most of a shadow-making exit;
 * REP STOSQ/MOVSQ move 8 bytes an iteration, and the string engines of
 * AMD's cores do a 4 KiB REP STOSQ in a few hundred cycles.  DF is clear
 * throughout Umbra (the ABI's rule), so the string instructions go up.
 */
#include <umbra/lib.h>

void *memset(void *s, int c, size_t n)
{
    void *d = s;
    uint64_t v = 0x0101010101010101ULL * (unsigned char)c;
    size_t q = n / 8, r = n % 8;
    __asm__ volatile("rep stosq" : "+D"(d), "+c"(q) : "a"(v) : "memory");
    __asm__ volatile("rep stosb" : "+D"(d), "+c"(r) : "a"(v) : "memory");
    return s;
}

void *memcpy(void *dst, const void *src, size_t n)
{
    void *d = dst;
    const void *s = src;
    size_t q = n / 8, r = n % 8;
    __asm__ volatile("rep movsq" : "+D"(d), "+S"(s), "+c"(q) : : "memory");
    __asm__ volatile("rep movsb" : "+D"(d), "+S"(s), "+c"(r) : : "memory");
    return dst;
}

void *memmove(void *dst, const void *src, size_t n)
{
    unsigned char *d = dst;
    const unsigned char *s = src;
    if (d < s) {
        while (n--)
            *d++ = *s++;
    } else if (d > s) {
        d += n;
        s += n;
        while (n--)
            *--d = *--s;
    }
    return dst;
}

int memcmp(const void *a, const void *b, size_t n)
{
    const unsigned char *x = a, *y = b;
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

int strcmp(const char *a, const char *b)
{
    while (*a && *a == *b)
        a++, b++;
    return (unsigned char)*a - (unsigned char)*b;
}

int strncmp(const char *a, const char *b, size_t n)
{
    for (; n; n--, a++, b++) {
        if (*a != *b)
            return (unsigned char)*a - (unsigned char)*b;
        if (!*a)
            break;
    }
    return 0;
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
