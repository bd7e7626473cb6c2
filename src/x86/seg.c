/*
 * Segmentation (offset -> linear address, with the checks the CPU makes
 * before any access) and the general-purpose register file helpers.
 */
#include <umbra/x86emu.h>
#include <umbra/x86.h>

static bool fault(struct x86_fault *f, unsigned seg)
{
    f->vector = seg == X86_SEG_SS ? X86_EXC_SS : X86_EXC_GP;
    f->has_error = true;
    f->error_code = 0;
    f->cr2 = 0;
    return false;
}

static inline bool canonical(uint64_t a)
{
    return (uint64_t)((int64_t)(a << 16) >> 16) == a;
}

/*
 * Invariant: a true return means every byte of [ea, ea + len) is inside the
 * segment and accessible for the requested kind of access, so the caller may
 * hand the range to the memory callbacks (which check paging).
 */
bool x86_seg_linear(const struct x86_regs *regs, enum x86_cpu_mode mode, unsigned seg,
                    uint64_t ea, unsigned len, bool write, uint64_t *la, struct x86_fault *f)
{
    const struct x86_seg *s = &regs->seg[seg];

    if (mode == X86_MODE_LONG64) {
        /* Only FS and GS have bases; no limits; the address must be canonical. */
        uint64_t a = ea + ((seg == X86_SEG_FS || seg == X86_SEG_GS) ? s->base : 0);
        if (!canonical(a) || !canonical(a + len - 1))
            return fault(f, seg);
        *la = a;
        return true;
    }

    unsigned type = s->attr & X86_SEG_ATTR_TYPE;
    if (mode != X86_MODE_REAL) {
        /* Null/unusable selectors, system descriptors, and the type rules. */
        if (!(s->attr & X86_SEG_ATTR_P) || !(s->attr & X86_SEG_ATTR_S))
            return fault(f, seg);
        if (type & 8) {                     /* code: never writable, readable if R */
            if (write || !(type & 2))
                return fault(f, seg);
        } else if (write && !(type & 2)) {  /* data: writable if W */
            return fault(f, seg);
        }
    }

    uint64_t last = ea + len - 1;
    if (mode != X86_MODE_REAL && !(type & 8) && (type & 4)) {
        /* expand-down: valid offsets are (limit, 64 KiB or 4 GiB) */
        uint64_t top = (s->attr & X86_SEG_ATTR_DB) ? 0xffffffffu : 0xffffu;
        if (ea <= s->limit || last > top)
            return fault(f, seg);
    } else if (last > s->limit || last < ea) {
        return fault(f, seg);
    }
    *la = (s->base + ea) & 0xffffffffu;
    return true;
}

uint64_t x86_gpr_read(const struct x86_regs *regs, unsigned reg, unsigned size, bool rex)
{
    switch (size) {
    case 1:
        if (!rex && reg >= 4 && reg < 8)
            return (regs->gpr[reg - 4] >> 8) & 0xff;    /* AH CH DH BH */
        return regs->gpr[reg] & 0xff;
    case 2: return regs->gpr[reg] & 0xffff;
    case 4: return regs->gpr[reg] & 0xffffffffu;
    default: return regs->gpr[reg];
    }
}

void x86_gpr_write(struct x86_regs *regs, unsigned reg, unsigned size, bool rex, uint64_t val)
{
    uint64_t *g = &regs->gpr[reg];
    switch (size) {
    case 1:
        if (!rex && reg >= 4 && reg < 8) {
            g = &regs->gpr[reg - 4];
            *g = (*g & ~0xff00ULL) | ((val & 0xff) << 8);
        } else {
            *g = (*g & ~0xffULL) | (val & 0xff);
        }
        break;
    case 2: *g = (*g & ~0xffffULL) | (val & 0xffff); break;
    case 4: *g = val & 0xffffffffu; break;
    default: *g = val; break;
    }
}
