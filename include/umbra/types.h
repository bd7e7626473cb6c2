/*
 * Basic types shared by the freestanding hypervisor and the hosted tests.
 *
 * Frame numbers are one-member structs so that a guest frame can never be
 * used as a host frame by accident (the classic shadow-paging bug): the
 * compiler refuses `mfn_t m = some_gfn;`.  Convert only through the p2m
 * (plat_gfn_to_mfn() in platform.h).
 */
#ifndef UMBRA_TYPES_H
#define UMBRA_TYPES_H

#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdarg.h>

typedef uint64_t paddr_t;   /* host-physical address */
typedef uint64_t gpa_t;     /* guest-physical address */
typedef uint64_t gva_t;     /* guest-virtual address */

typedef struct { uint64_t gfn; } gfn_t;   /* guest frame number */
typedef struct { uint64_t mfn; } mfn_t;   /* machine (host) frame number */

static inline gfn_t _gfn(uint64_t n) { return (gfn_t){ n }; }
static inline mfn_t _mfn(uint64_t n) { return (mfn_t){ n }; }
static inline uint64_t gfn_x(gfn_t g) { return g.gfn; }
static inline uint64_t mfn_x(mfn_t m) { return m.mfn; }

#define INVALID_GFN_RAW (~0ULL)
#define INVALID_MFN_RAW (~0ULL)
#define INVALID_GFN     _gfn(INVALID_GFN_RAW)
#define INVALID_MFN     _mfn(INVALID_MFN_RAW)
static inline bool mfn_valid(mfn_t m) { return m.mfn != INVALID_MFN_RAW; }
static inline bool gfn_valid(gfn_t g) { return g.gfn != INVALID_GFN_RAW; }
static inline bool mfn_eq(mfn_t a, mfn_t b) { return a.mfn == b.mfn; }
static inline bool gfn_eq(gfn_t a, gfn_t b) { return a.gfn == b.gfn; }

#define PAGE_SHIFT 12
#define PAGE_SIZE  (1UL << PAGE_SHIFT)
#define PAGE_MASK  (~(PAGE_SIZE - 1))

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define ALIGN_UP(x, a)   (((x) + (a) - 1) & ~((__typeof__(x))(a) - 1))
#define ALIGN_DOWN(x, a) ((x) & ~((__typeof__(x))(a) - 1))
#define container_of(ptr, type, member) \
    ((type *)((char *)(ptr) - offsetof(type, member)))

#define likely(x)   __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

#endif
