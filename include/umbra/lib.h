/*
 * The few C library functions Umbra's shared code may call.  The hypervisor
 * implements them in src/kern/ (freestanding); the hosted tests get them from
 * the host libc, whose prototypes are identical.  Shared code (src/shadow,
 * src/x86, the pure parts of src/gdbstub) includes this, never <string.h>.
 */
#ifndef UMBRA_LIB_H
#define UMBRA_LIB_H

#include <umbra/types.h>

void *memset(void *s, int c, size_t n);
void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
char *strchr(const char *s, int c);
int snprintf(char *buf, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

#endif
