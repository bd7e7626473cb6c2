/*
 * Page tables rewritten continuously (PAE): 40000 steps, each picks a page
 * of a 512-page region (one page table), a new frame and a permission from a
 * pseudo-random sequence, writes the PTE by one of five methods (64-bit MOV
 * as two halves, low half only, CMPXCHG8B, XCHG, clear-then-set), flushes by
 * INVLPG or a CR3 reload, and checks the access: the right marker for a
 * present page, #PF with the right code for an absent or read-only one.
 * Every 2000 steps all 512 pages are verified against the model.
 */
#include "lib/pt.h"

#define RW_VA 0x40000000u
#define NPAGES 512
#define NFRAMES 64
#define STEPS 40000

static uint32_t seed = 12345;
static uint32_t rnd(void)
{
    seed = seed * 1664525u + 1013904223u;
    return seed >> 8;
}

static uint64_t model[NPAGES];

static bool check_page(unsigned i)
{
    uint64_t e = model[i];
    uint64_t va = RW_VA + i * 0x1000u;
    unsigned v = probe(0, OP_WRITE, va + 0x800);
    if (!(e & _PAGE_PRESENT))
        return v == X86_EXC_PF && exc_last.err == PFEC_WRITE && exc_last.cr2 == va + 0x800;
    if (!(e & _PAGE_RW))
        return v == X86_EXC_PF && exc_last.err == (PFEC_PRESENT | PFEC_WRITE);
    uint32_t w = 0;
    return v == EXC_NONE && peek(va, &w) &&
           w == *(volatile uint32_t *)(uintptr_t)(e & PADDR_MASK_52);
}

int guest_main(void)
{
    const uint64_t P = _PAGE_PRESENT, RW = _PAGE_RW;
    mark_fill(NFRAMES);
    uint64_t root = pt_new_space(&pm_pae);
    pt_map(&pm_pae, root, RW_VA, MARK_PA(0), NPAGES * 0x1000u, P | RW);
    paging_enable(&pm_pae, root);
    volatile uint64_t *pt = pt_slot(&pm_pae, root, RW_VA, 0, false);
    for (unsigned i = 0; i < NPAGES; i++)
        model[i] = pt[i];

    unsigned bad = 0, nmethod[5] = { 0 }, ncr3 = 0;
    for (unsigned s = 1; s <= STEPS; s++) {
        unsigned i = rnd() % NPAGES, f = rnd() % NFRAMES, k = rnd() % 8, m = rnd() % 5;
        uint64_t e = k == 0 ? 0 : MARK_PA(f) | P | (k == 1 ? 0 : RW);
        volatile uint32_t *lo = (volatile uint32_t *)&pt[i], *hi = lo + 1;
        uint64_t old = pt[i];
        nmethod[m]++;
        switch (m) {
        case 0: *hi = (uint32_t)(e >> 32); *lo = (uint32_t)e; break;
        case 1: *lo = (uint32_t)e; break;                  /* high half is 0 */
        case 2: {
            uint32_t a = (uint32_t)old, d = (uint32_t)(old >> 32);
            __asm__ volatile("lock cmpxchg8b (%4)" : "+a"(a), "+d"(d)
                             : "b"((uint32_t)e), "c"((uint32_t)(e >> 32)), "r"(&pt[i]) : "memory", "cc");
            break;
        }
        case 3: {
            uint32_t x = (uint32_t)e;
            __asm__ volatile("xchg %0, (%1)" : "+r"(x) : "r"(lo) : "memory");
            break;
        }
        default: *lo = 0; *lo = (uint32_t)e; break;
        }
        model[i] = e;
        if (rnd() % 16 == 0) {
            write_cr3((ureg_t)root);
            ncr3++;
        } else {
            invlpg(RW_VA + i * 0x1000u);
        }
        if (!check_page(i))
            bad++;
        if (s % 2000 == 0) {
            unsigned wrong = 0;
            for (unsigned j = 0; j < NPAGES; j++) {
                invlpg(RW_VA + j * 0x1000u);
                if ((pt[j] & ~0x60ull) != (model[j] & ~0x60ull) || !check_page(j))
                    wrong++;
            }
            char n[64], d[64];
            gsnprintf(n, sizeof(n), "rewrite: steps %u-%u", s - 1999, s);
            gsnprintf(d, sizeof(d), "%u steps failed, %u of 512 pages wrong", bad, wrong);
            tap_check(!bad && !wrong, n, d);
            bad = 0;
        }
    }
    tap_diag("rewrite: methods %u %u %u %u %u, %u cr3 reloads", nmethod[0], nmethod[1], nmethod[2],
             nmethod[3], nmethod[4], ncr3);
    return tap_done();
}
