/*
 * Physical frame allocator: carves Umbra's reserve downward from the start
 * of its image at the top of RAM.  Pure (no hardware), hosted-tested.
 *
 * Invariant: [cur, top) holds only frames handed out or skipped (avoid
 * ranges); everything below cur in [floor, cur) is untouched RAM.  So the
 * reserve Umbra hides from the guest is exactly [cur, image end) and the
 * guest keeps one contiguous range below it.
 */
#include <umbra/kern.h>

void frame_init(struct frame_alloc *fa, paddr_t floor, paddr_t top)
{
    fa->floor = ALIGN_UP(floor, PAGE_SIZE);
    fa->top = ALIGN_DOWN(top, PAGE_SIZE);
    fa->cur = fa->top;
    fa->navoid = 0;
    fa->frames = 0;
    fa->sealed = false;
}

int frame_avoid(struct frame_alloc *fa, paddr_t lo, paddr_t hi)
{
    if (fa->navoid == FRAME_MAX_AVOID)
        return -1;
    fa->avoid[fa->navoid].lo = ALIGN_DOWN(lo, PAGE_SIZE);
    fa->avoid[fa->navoid].hi = ALIGN_UP(hi, PAGE_SIZE);
    fa->navoid++;
    return 0;
}

paddr_t frame_alloc_n(struct frame_alloc *fa, unsigned long n)
{
    if (fa->sealed || n == 0)
        return 0;
    uint64_t bytes = (uint64_t)n << PAGE_SHIFT;
    paddr_t top = fa->cur;
    for (;;) {
        if (top < fa->floor || top - fa->floor < bytes)
            return 0;
        paddr_t lo = top - bytes;
        bool moved = false;
        for (unsigned i = 0; i < fa->navoid; i++) {
            if (fa->avoid[i].lo < top && fa->avoid[i].hi > lo) {
                top = fa->avoid[i].lo;     /* skip below the avoided range and retry */
                moved = true;
            }
        }
        if (!moved) {
            fa->cur = lo;
            fa->frames += n;
            return lo;
        }
    }
}

paddr_t frame_seal(struct frame_alloc *fa)
{
    fa->sealed = true;
    return fa->cur;
}
