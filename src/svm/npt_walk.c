/*
 * paging=npt: a read-only walk of the guest's own page tables (apic.h).
 * Under nested paging guest-physical is host-physical outside Umbra's
 * reserve, so the walk reads the guest's tables through the direct map and
 * refuses any table in the reserve or above the direct map.  It checks only
 * present bits: it serves the emulation of an instruction the CPU already
 * fetched and whose access already passed the guest's checks, and the reads
 * of npt's paging_ops.read_guest (the event rules, GDB), which the guest's
 * own read might have refused for its U/S or PKU bits: they only look.
 */
#include <umbra/kern.h>
#include <umbra/lib.h>
#include <umbra/svm.h>
#include <umbra/x86.h>
#include <umbra/iommu.h>
#include <umbra/platform.h>
#include "apic.h"
#include "paging.h"

static bool guest_pa_ok(gpa_t pa, size_t len)
{
    return pa + len <= DIRECT_MAP_LIMIT &&
           (pa + len <= umbra_layout.reserve_lo || pa >= umbra_layout.reserve_hi);
}

static bool rd(gpa_t pa, unsigned size, uint64_t *v)
{
    if (!guest_pa_ok(pa, size))
        return false;
    *v = size == 8 ? *(volatile uint64_t *)phys_to_virt(pa) : *(volatile uint32_t *)phys_to_virt(pa);
    return true;
}

bool svm_npt_gva_to_gpa(struct svm_vcpu *v, uint64_t la, gpa_t *gpa)
{
    const struct vmcb_save *s = &v->vmcb->save;
    uint64_t e, cr3 = s->cr3;
    if (!(s->cr0 & X86_CR0_PG)) {
        *gpa = la & 0xffffffffULL;
        return true;
    }
    if (!(s->cr4 & X86_CR4_PAE)) {                       /* 2-level */
        la &= 0xffffffffULL;
        if (!rd((cr3 & ~0xfffULL) + ((la >> 22) << 2), 4, &e) || !(e & _PAGE_PRESENT))
            return false;
        if ((e & _PAGE_PSE) && (s->cr4 & X86_CR4_PSE)) {
            *gpa = (e & 0xffc00000ULL) | ((e & 0x1fe000ULL) << 19) | (la & 0x3fffff);
            return true;
        }
        if (!rd((e & ~0xfffULL) + (((la >> 12) & 1023) << 2), 4, &e) || !(e & _PAGE_PRESENT))
            return false;
        *gpa = (e & ~0xfffULL) | (la & 0xfff);
        return true;
    }
    const uint64_t addr = 0x000ffffffffff000ULL;
    unsigned top;
    if (s->efer & EFER_LMA) {
        top = 4;
        e = cr3;
    } else {                                              /* PAE: the PDPTE from memory */
        la &= 0xffffffffULL;
        if (!rd((cr3 & 0xffffffe0ULL) + ((la >> 30) << 3), 8, &e) || !(e & _PAGE_PRESENT))
            return false;
        top = 2;
    }
    for (unsigned l = top; l >= 1; l--) {
        unsigned shift = 12 + 9 * (l - 1);
        if (!rd((e & addr) + (((la >> shift) & 511) << 3), 8, &e) || !(e & _PAGE_PRESENT))
            return false;
        if (l > 1 && l < 4 && (e & _PAGE_PSE)) {
            uint64_t mask = (1ULL << shift) - 1;
            *gpa = (e & addr & ~mask) | (la & mask);
            return true;
        }
    }
    *gpa = (e & addr) | (la & 0xfff);
    return true;
}

/*
 * GDB's and the event rules' guest-virtual access under npt: page by page
 * through the walk above, each page through the direct map.  Refuses
 * Umbra's reserve, an IOMMU's registers and the trapped APIC page (an MMIO
 * access has side effects); a write also refuses anything that is not guest
 * RAM (a debugger's poke into a device's registers is not a memory write).
 * Under npt no page of the guest is shadowed, so a write needs no
 * revalidation.  Nothing is written on failure past the pages before it.
 */
static bool npt_xfer(struct svm_vcpu *v, uint64_t la, uint8_t *p, unsigned len, bool write)
{
    while (len) {
        unsigned n = PAGE_SIZE - (unsigned)(la & (PAGE_SIZE - 1));
        gpa_t gpa;
        if (n > len)
            n = len;
        if (!svm_npt_gva_to_gpa(v, la, &gpa) || !guest_pa_ok(gpa, n) || iommu_mmio_overlaps(gpa, n) ||
            gpa >> PAGE_SHIFT == apic_trap_gfn || (write && !plat_gfn_is_ram(_gfn(gpa >> PAGE_SHIFT))))
            return false;
        if (write)
            memcpy(phys_to_virt(gpa), p, n);
        else
            memcpy(p, phys_to_virt(gpa), n);
        p += n;
        la += n;
        len -= n;
    }
    return true;
}

/* paging_ops.read_guest under npt. */
bool svm_npt_read_guest(struct svm_vcpu *v, uint64_t la, void *buf, unsigned len)
{
    return npt_xfer(v, la, buf, len, false);
}

/* paging_ops.write_guest under npt: GDB's virtual writes (software breakpoints too). */
bool svm_npt_write_guest(struct svm_vcpu *v, uint64_t la, const void *buf, unsigned len)
{
    return npt_xfer(v, la, (uint8_t *)buf, len, true);
}
