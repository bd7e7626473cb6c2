/*
 * Simulated platform for the hosted tests (see sim_platform.h for the
 * layout).  Invariant: `mem` backs exactly frames [0, backed_frames); every
 * pointer handed out by plat_map_mfn()/sim_phys()/sim_guest_ptr() lies
 * inside it and marks its frame dirty (sim_reuse_memory).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_platform.h"

struct plat_cpu_features sim_features;
uint32_t sim_pkru;
uint32_t sim_pkrs;
bool sim_log_echo;
unsigned long sim_flush_va_calls;
gva_t sim_last_flush_va;
unsigned long sim_bad_map_calls;
void (*sim_flush_hook)(struct shadow_vcpu *v, gva_t va);

static uint8_t *mem;
static uint64_t ram_frames, backed_frames;
/* sim_reuse_memory: the kept buffer (spare_frames of it), and a bit per frame handed out since it was zeroed. */
bool sim_reuse_memory;
static uint8_t *spare;
static uint64_t spare_frames, *dirty;

/* Frame f's bytes may change from here on: the next reuse zeroes it. */
static inline void mark(uint64_t f)
{
    if (dirty)
        dirty[f >> 6] |= 1ULL << (f & 63);
}

/* The shadow pool of the machine the kept buffer last held (sim_reuse_memory). */
static uint64_t kept_pool_lo, kept_pool_hi;

/*
 * A buffer of `frames` frames, zero except (with sim_reuse_memory) in
 * [keep_lo, keep_hi): the kept one when it fits, its dirty frames cleared
 * outside that range, else calloc.  The caller passes the part of the new
 * machine's shadow pool that was pool in the old one too: nothing there is
 * read before it is written (shadow_domain_init() zeroes its metadata frames,
 * sh_make() every frame it hands out), as on hardware, where the pool comes
 * from the frame allocator unzeroed.  The pool maps every frame at init, so
 * zeroing it was most of a fuzz input's set-up (sim_platform.h).
 */
static uint8_t *sim_alloc(uint64_t frames, uint64_t keep_lo, uint64_t keep_hi, bool *fresh)
{
    *fresh = true;
    if (!sim_reuse_memory)
        return calloc(frames, PAGE_SIZE);
    if (spare && frames <= spare_frames) {
        for (uint64_t w = 0; w < (spare_frames + 63) / 64; w++) {
            uint64_t kept = 0;     /* stay dirty: a later machine may not keep them */
            for (uint64_t bits = dirty[w]; bits; bits &= bits - 1) {
                uint64_t f = w * 64 + (uint64_t)__builtin_ctzll(bits);
                if (f >= keep_lo && f < keep_hi)
                    kept |= bits & -bits;
                else
                    memset(spare + (f << PAGE_SHIFT), 0, PAGE_SIZE);
            }
            dirty[w] = kept;
        }
        *fresh = false;
        return spare;
    }
    free(spare);
    free(dirty);
    spare = calloc(frames, PAGE_SIZE);
    dirty = calloc((frames + 63) / 64, sizeof(*dirty));
    spare_frames = spare && dirty ? frames : 0;
    return spare;
}
static uint64_t pool_base, pool_frames_n;

static char *log_buf;
static size_t log_len, log_cap;
static unsigned long log_lines;

#define LOG_MAX (1u << 20)

struct plat_cpu_features sim_features_default(void)
{
    return (struct plat_cpu_features){
        .maxphyaddr = 40, .nx = true, .pse36 = true, .pge = true,
        .pdpe1gb = true, .smep = true, .smap = true, .pku = true, .pks = true,
    };
}

void sim_init(uint64_t ram_bytes, unsigned long pool_frames)
{
    sim_fini();
    sim_trap_gfn = ~0ULL;
    ram_frames = ALIGN_UP(ram_bytes, (uint64_t)PAGE_SIZE) >> PAGE_SHIFT;
    pool_base = ram_frames + SIM_IMAGE_FRAMES;
    pool_frames_n = pool_frames;
    backed_frames = pool_base + pool_frames + SIM_IMAGE_FRAMES;
    if (backed_frames > (1ULL << 20)) {
        fprintf(stderr, "sim_init: machine above 4 GiB\n");
        abort();
    }
    uint64_t keep_lo = pool_base > kept_pool_lo ? pool_base : kept_pool_lo;
    uint64_t keep_hi = pool_base + pool_frames < kept_pool_hi ? pool_base + pool_frames : kept_pool_hi;
    bool fresh;
    mem = sim_alloc(backed_frames, keep_lo, keep_hi > keep_lo ? keep_hi : keep_lo, &fresh);
    kept_pool_lo = pool_base;
    kept_pool_hi = pool_base + pool_frames;
    if (!mem) {
        fprintf(stderr, "sim_init: out of memory\n");
        abort();
    }
    /* A fresh buffer's pool is not zero either: the shadow code must zero
     * what it uses, as it must on hardware (sim_platform.h).  A reused one
     * holds the last machine's shadows there. */
    if (fresh) {
        memset(mem + (pool_base << PAGE_SHIFT), SIM_POOL_POISON, (size_t)pool_frames << PAGE_SHIFT);
        for (uint64_t f = pool_base; f < pool_base + pool_frames; f++)
            mark(f);
    }
    sim_features = sim_features_default();
    sim_pkru = 0;
    sim_pkrs = 0;
    sim_flush_va_calls = 0;
    sim_last_flush_va = 0;
    sim_bad_map_calls = 0;
    sim_flush_hook = NULL;
    sim_log_reset();
}

void sim_fini(void)
{
    if (mem != spare)
        free(mem);
    mem = NULL;
    ram_frames = backed_frames = pool_base = pool_frames_n = 0;
}

uint64_t sim_ram_frames(void) { return ram_frames; }
uint64_t sim_backed_frames(void) { return backed_frames; }
mfn_t sim_pool_base(void) { return _mfn(pool_base); }
unsigned long sim_pool_frames(void) { return pool_frames_n; }

bool sim_frame_in_reserve(uint64_t frame)
{
    return frame >= ram_frames && frame < backed_frames;
}

bool sim_frame_in_pool(uint64_t frame)
{
    return frame >= pool_base && frame < pool_base + pool_frames_n;
}

void *sim_phys(paddr_t pa)
{
    if (!mem || (pa >> PAGE_SHIFT) >= backed_frames)
        return NULL;
    mark(pa >> PAGE_SHIFT);
    return mem + pa;
}

uint64_t sim_read_phys(paddr_t pa, unsigned size)
{
    uint64_t v = 0;
    const uint8_t *p = sim_phys(pa);
    if (!p || !sim_phys(pa + size - 1))
        return size == 8 ? ~0ULL : ((1ULL << (size * 8)) - 1);
    memcpy(&v, p, size);
    return v;
}

void sim_write_phys(paddr_t pa, uint64_t val, unsigned size)
{
    uint8_t *p = sim_phys(pa);
    if (!p || !sim_phys(pa + size - 1))
        return;
    memcpy(p, &val, size);
}

void *sim_guest_ptr(gpa_t gpa)
{
    if ((gpa >> PAGE_SHIFT) >= ram_frames)
        return NULL;
    mark(gpa >> PAGE_SHIFT);
    return mem + gpa;
}

uint64_t sim_guest_read(gpa_t gpa, unsigned size)
{
    if (((gpa + size - 1) >> PAGE_SHIFT) >= ram_frames)
        return size == 8 ? ~0ULL : ((1ULL << (size * 8)) - 1);
    return sim_read_phys(gpa, size);
}

void sim_guest_write(gpa_t gpa, uint64_t val, unsigned size)
{
    if (((gpa + size - 1) >> PAGE_SHIFT) >= ram_frames)
        return;
    sim_write_phys(gpa, val, size);
}

/* ---- platform.h ------------------------------------------------------- */

void *plat_map_mfn(mfn_t mfn)
{
    if (!mem || mfn_x(mfn) >= backed_frames) {
        sim_bad_map_calls++;
        return NULL;
    }
    mark(mfn_x(mfn));
    return mem + (mfn_x(mfn) << PAGE_SHIFT);
}

mfn_t plat_gfn_to_mfn(gfn_t gfn)
{
    uint64_t g = gfn_x(gfn);
    if (sim_features.maxphyaddr < 64 && g >= (1ULL << (sim_features.maxphyaddr - PAGE_SHIFT)))
        return INVALID_MFN;
    if (sim_frame_in_reserve(g))
        return INVALID_MFN;
    return _mfn(g);
}

bool plat_gfn_is_ram(gfn_t gfn)
{
    return gfn_x(gfn) < ram_frames;
}

uint64_t sim_trap_gfn = ~0ULL;

bool plat_gfn_trap_writes(gfn_t gfn)
{
    return gfn_x(gfn) == sim_trap_gfn;
}

void plat_flush_va(struct shadow_vcpu *v, gva_t va)
{
    (void)v;
    sim_flush_va_calls++;
    sim_last_flush_va = va;
    if (sim_flush_hook)
        sim_flush_hook(v, va);
}

/* Always &sim_features (platform.h: the same pointer at every call); tests change its fields. */
const struct plat_cpu_features *plat_cpu_features(void)
{
    return &sim_features;
}

uint32_t plat_guest_pkru(struct shadow_vcpu *v)
{
    (void)v;
    return sim_features.pku ? sim_pkru : 0;
}

uint32_t plat_guest_pkrs(struct shadow_vcpu *v)
{
    (void)v;
    return sim_features.pks ? sim_pkrs : 0;
}

uint64_t sim_rip;

uint64_t plat_guest_rip(struct shadow_vcpu *v)
{
    (void)v;
    return sim_rip;
}

static void log_append(const char *s, size_t n)
{
    if (log_len + n + 1 > log_cap) {
        if (log_len + n + 1 > LOG_MAX && log_len > LOG_MAX / 2) {
            /* Drop the oldest half, at a line boundary. */
            size_t cut = log_len / 2;
            while (cut < log_len && log_buf[cut - 1] != '\n')
                cut++;
            memmove(log_buf, log_buf + cut, log_len - cut);
            log_len -= cut;
        }
        size_t cap = log_cap ? log_cap : 4096;
        while (cap < log_len + n + 1)
            cap *= 2;
        if (cap != log_cap) {
            char *nb = realloc(log_buf, cap);
            if (!nb)
                abort();
            log_buf = nb;
            log_cap = cap;
        }
    }
    memcpy(log_buf + log_len, s, n);
    log_len += n;
    log_buf[log_len] = '\0';
}

/* SH_ASSERT failed: say what and where on stderr (Check keeps it), then SIGABRT. */
void plat_assert_failed(const char *cond, const char *file, int line)
{
    fprintf(stderr, "umbra: shadow: assertion failed: %s at %s:%d\n", cond, file, line);
    abort();
}

void plat_log(const char *fmt, ...)
{
    char line[512];
    va_list ap;
    int n = snprintf(line, sizeof(line), "umbra: ");
    va_start(ap, fmt);
    vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
    va_end(ap);
    size_t len = strlen(line);
    if (len == 0 || line[len - 1] != '\n')
        line[len++] = '\n', line[len] = '\0';
    log_append(line, len);
    log_lines++;
    if (sim_log_echo)
        fputs(line, stderr);
}

const char *sim_log_text(void)
{
    return log_buf ? log_buf : "";
}

unsigned long sim_log_lines(void) { return log_lines; }

bool sim_log_contains(const char *needle)
{
    return strstr(sim_log_text(), needle) != NULL;
}

void sim_log_reset(void)
{
    log_len = 0;
    log_lines = 0;
    if (log_buf)
        log_buf[0] = '\0';
}

void sim_log_dump(FILE *f)
{
    const char *p = sim_log_text();
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        fprintf(f, "  log| %.*s\n", (int)n, p);
        p += n + (nl ? 1 : 0);
    }
}
