/*
 * paging=npt: nested paging, one of the two struct paging_ops (the other is
 * shadow_paging.c; svm.c's paging_select() chooses).  An identity map of
 * guest-physical memory minus Umbra's reserve; the guest's own
 * CR0/CR3/CR4/EFER run in the VMCB untouched (only EFER.SVME is forced on
 * and hidden).  npt_walk.c walks the guest's own tables for it.
 */
#include <umbra/kern.h>
#include <umbra/lib.h>
#include <umbra/svm.h>
#include <umbra/x86.h>
#include <umbra/iommu.h>
#include "apic.h"
#include "paging.h"

/* ---- nested paging ------------------------------------------------------- */

/*
 * NPT entries: the guest's accesses through the nested tables are all
 * user-level, so U is set at every level.  2 MiB pages everywhere except
 * the 2 MiB regions that are only partly guest memory or partly special,
 * which get 4 KiB tables: the (at most two) that straddle the reserve's
 * bounds, those holding an IOMMU's MMIO registers (not present: the guest
 * must not reach the IOMMU), and the one of the local APIC page, whose
 * entry is read-only (a write exits as an NPF and is emulated with its IPIs
 * filtered, apic.c).  Frames, in this order: PML4, PDPT, one PD per GiB,
 * NPT_MAX_PT PTs; allocated before the reserve is sealed (so inside it).
 */
#define NPT_PRW  (_PAGE_PRESENT | _PAGE_RW | _PAGE_USER)
#define SZ_2M    (2ULL << 20)
#define SZ_1G    (1ULL << 30)
#define NPT_MAX_GIB 512          /* one PDPT */
#define NPT_MAX_PT  (2 + IVRS_MAX_IOMMUS + 1)

static paddr_t npt_base;
static unsigned npt_gib;

static unsigned gib_of(uint64_t top)
{
    uint64_t g = ALIGN_UP(top < (4ULL << 30) ? (4ULL << 30) : top, SZ_1G) / SZ_1G;
    return g > NPT_MAX_GIB ? NPT_MAX_GIB : (unsigned)g;
}

unsigned long npt_frames_needed(uint64_t top)
{
    return 2 + gib_of(top) + NPT_MAX_PT;
}

void npt_prealloc(paddr_t frames_pa, uint64_t top)
{
    npt_base = frames_pa;
    npt_gib = gib_of(top);
}

static bool in_reserve(paddr_t pa)
{
    return pa >= umbra_layout.reserve_lo && pa < umbra_layout.reserve_hi;
}

/* Not guest memory: Umbra's reserve, an IOMMU's registers. */
static bool hidden(paddr_t pa)
{
    return in_reserve(pa) || iommu_mmio_overlaps(pa, PAGE_SIZE);
}

/* The nested entry of one 4 KiB frame: absent if hidden, read-only for the APIC page. */
static uint64_t npt_pte(paddr_t pa)
{
    if (hidden(pa))
        return 0;
    if (pa >> PAGE_SHIFT == apic_trap_gfn)
        return pa | _PAGE_PRESENT | _PAGE_USER;
    return pa | NPT_PRW;
}

static int npt_init(struct svm_vcpu *v)
{
    if (!(v->svm_features & SVM_FEAT_NP)) {
        ulog("paging=npt: this CPU has no nested paging (CPUID 8000_000A EDX[0]=0)");
        return -1;
    }
    uint64_t *t = phys_to_virt(npt_base);
    memset(t, 0, (2 + NPT_MAX_PT + (size_t)npt_gib) * PAGE_SIZE);   /* PML4, PDPT, PDs, PTs */
    uint64_t *pml4 = t, *pdpt = t + 512, *pd = t + 2 * 512;
    unsigned npt_used = 0;
    paddr_t lo = umbra_layout.reserve_lo, hi = umbra_layout.reserve_hi;
    paddr_t apic = apic_trap_gfn != ~0ULL ? apic_trap_gfn << PAGE_SHIFT : ~0ULL;

    pml4[0] = (npt_base + PAGE_SIZE) | NPT_PRW;
    for (unsigned i = 0; i < npt_gib; i++)
        pdpt[i] = (npt_base + (2 + i) * PAGE_SIZE) | NPT_PRW;
    for (unsigned i = 0; i < npt_gib * 512; i++) {
        paddr_t b = (paddr_t)i * SZ_2M, e = b + SZ_2M;
        bool special = iommu_mmio_overlaps(b, SZ_2M) || (apic >= b && apic < e);
        if ((e <= lo || b >= hi) && !special) {
            pd[i] = b | NPT_PRW | _PAGE_PSE;
        } else if (b >= lo && e <= hi) {
            pd[i] = 0;                     /* wholly Umbra's */
        } else {
            if (npt_used == NPT_MAX_PT) {
                ulog("paging=npt: the hidden and trapped ranges need more than %u page tables", NPT_MAX_PT);
                return -1;
            }
            paddr_t pt_pa = npt_base + (2 + npt_gib + npt_used++) * PAGE_SIZE;
            uint64_t *pt = phys_to_virt(pt_pa);
            for (unsigned j = 0; j < 512; j++)
                pt[j] = npt_pte(b + (paddr_t)j * PAGE_SIZE);
            pd[i] = pt_pa | NPT_PRW;
        }
    }
    v->vmcb->ctl.np_enable = 1;
    v->vmcb->ctl.n_cr3 = npt_base;
    ulog("paging=npt: identity map of [0, %u GiB) except [%#lx, %#lx)%s", npt_gib, lo, hi,
         iommu_mmio_overlaps(0, ~0ULL) ? " and the IOMMU MMIO" : "");
    return 0;
}

static void npt_fault(struct svm_vcpu *v)
{
    struct vmcb *vm = v->vmcb;
    paddr_t gpa = vm->ctl.exitinfo2;
    /* A write to the local APIC page (the final access, not a guest table walk: bit 32). */
    if (gpa >> PAGE_SHIFT == apic_trap_gfn && (vm->ctl.exitinfo1 & PFEC_WRITE) &&
        (vm->ctl.exitinfo1 & (1ULL << 32))) {
        svm_apic_emulate(v);
        return;
    }
    ulog("npf: guest %s %#lx (%s) at rip=%#lx", (vm->ctl.exitinfo1 & PFEC_WRITE) ? "wrote" : "read",
         gpa, in_reserve(gpa) ? "Umbra's reserve" : iommu_mmio_overlaps(gpa, 1) ? "the IOMMU's registers" :
         "not guest memory", vm->save.rip);
    svm_dump_guest(v, "nested page fault");
    svm_stop(v, "npf", UMBRA_STATUS_ERROR);
}

static uint64_t npt_efer_read(struct svm_vcpu *v)
{
    return v->vmcb->save.efer & ~EFER_SVME;       /* LMA as the hardware keeps it */
}

static int npt_efer_write(struct svm_vcpu *v, uint64_t val)
{
    /* LMA is the CPU's: keep the current one. */
    uint64_t lma = v->vmcb->save.efer & EFER_LMA;
    v->vmcb->save.efer = (val & ~EFER_LMA) | lma | EFER_SVME;
    v->guest_efer = val;
    return 0;
}

const struct paging_ops npt_paging_ops = {
    .name = "npt",
    .init = npt_init,
    .npf = npt_fault,
    .efer_read = npt_efer_read,
    .efer_write = npt_efer_write,
    .read_guest = svm_npt_read_guest,
    .write_guest = svm_npt_write_guest,
};
