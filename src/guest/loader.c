/*
 * The guest loader's common part: the guest's RAM map, staging, and the
 * checks every format's loader makes before it writes (multiboot.c for
 * Multiboot v1 kernels, linux_boot.c for bzImages).
 *
 * Stage first, load second: every module is copied into Umbra's reserve
 * before any guest byte is written, so a kernel whose segments overlap the
 * place GRUB put its own module (or the multiboot2 info) still loads from an
 * intact copy.  Every check happens before the write it guards; bad input
 * gets one "umbra: loader: ..." line and the run stops cleanly.
 */
#include <umbra/loader.h>
#include <umbra/lib.h>

struct mem_range guest_mmap[MB_MAX_MMAP];
unsigned guest_mmap_n;


int loader_error(const char *fmt, ...)
{
    char msg[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    ulog("loader: %s", msg);
    return -1;
}

int loader_stage(struct frame_alloc *fa, const struct mb2_info *mb, struct guest_boot *gb)
{
    if (mb->nmod == 0)
        return loader_error("no guest module (grub.cfg needs 'module2 /boot/GUEST ARGS')");
    gb->nmod = mb->nmod;
    for (unsigned i = 0; i < mb->nmod; i++) {
        struct staged_module *m = &gb->mod[i];
        size_t slen = strlen(mb->mod[i].string);
        if (slen > LOADER_STRING_MAX)
            return loader_error("%s (module %u's string) is %lu bytes: longer than Umbra's limit of %u",
                                i ? "a module string" : "the guest's command line", i,
                                (unsigned long)slen, LOADER_STRING_MAX);
        m->size = mb->mod[i].end - mb->mod[i].start;
        unsigned long pages = (unsigned long)((m->size + PAGE_SIZE - 1) >> PAGE_SHIFT);
        unsigned long spages = (unsigned long)((slen + 1 + PAGE_SIZE - 1) >> PAGE_SHIFT);
        paddr_t spa = frame_alloc_n(fa, spages);
        m->pa = frame_alloc_n(fa, pages ? pages : 1);
        if (!m->pa || !spa)
            return loader_error("no room to copy module %u (%lu bytes) into the reserve", i,
                                (unsigned long)m->size);
        memcpy(phys_to_virt(spa), mb->mod[i].string, slen + 1);
        m->string = phys_to_virt(spa);
        memcpy(phys_to_virt(m->pa), phys_to_virt(mb->mod[i].start), m->size);
        m->data = phys_to_virt(m->pa);
    }
    return 0;
}

/* [lo, hi) must be guest RAM: not Umbra's, not a hole, below 4 GiB. */
int loader_check_dest(uint64_t lo, uint64_t hi, const char *what)
{
    if (hi < lo || hi > (1ULL << 32))
        return loader_error("%s [%#lx, %#lx) is outside 32-bit memory", what, lo, hi);
    if (lo < umbra_layout.reserve_hi && hi > umbra_layout.reserve_lo)
        return loader_error("%s [%#lx, %#lx) overlaps Umbra's reserve [%#lx, %#lx)", what, lo, hi,
                            umbra_layout.reserve_lo, umbra_layout.reserve_hi);
    if (hi > lo && !mmap_is_ram(guest_mmap, guest_mmap_n, lo, hi))
        return loader_error("%s [%#lx, %#lx) is not in guest RAM", what, lo, hi);
    return 0;
}

#define LEGACY_END 0x100000ULL   /* below 1 MiB: the PC's BIOS/VGA area, the guest's under GRUB too */

/* The end of the available range holding pa, or pa if none does. */
static uint64_t ram_end_at(uint64_t pa)
{
    for (unsigned i = 0; i < guest_mmap_n; i++) {
        const struct mem_range *m = &guest_mmap[i];
        if (m->type == MEM_AVAILABLE && m->base <= pa && pa < m->base + m->len)
            return m->base + m->len;
    }
    return pa;
}

int loader_check_image(uint64_t lo, uint64_t hi, const char *what)
{
    if (hi < lo || hi > (1ULL << 32))
        return loader_error("%s [%#lx, %#lx) is outside 32-bit memory", what, lo, hi);
    if (lo < umbra_layout.reserve_hi && hi > umbra_layout.reserve_lo)
        return loader_error("%s [%#lx, %#lx) overlaps Umbra's reserve [%#lx, %#lx)", what, lo, hi,
                            umbra_layout.reserve_lo, umbra_layout.reserve_hi);
    /* Walk [lo, hi): the legacy area, then available ranges back to back. */
    for (uint64_t pa = lo; pa < hi;) {
        uint64_t next = pa < LEGACY_END ? LEGACY_END : ram_end_at(pa);
        if (next == pa)
            return loader_error("%s [%#lx, %#lx) leaves the guest's RAM at %#lx (not RAM in its memory map)",
                                what, lo, hi, pa);
        pa = next;
    }
    return 0;
}
