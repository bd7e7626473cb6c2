/*
 * include/umbra/platform.h on the real machine: the direct map, the
 * identity p2m that refuses Umbra's reserve, INVLPGA, CPUID.
 */
#include <umbra/platform.h>
#include <umbra/kern.h>
#include <umbra/lib.h>
#include <umbra/loader.h>
#include <umbra/x86.h>
#include <umbra/iommu.h>
#include "gdb/gdb.h"
#include "apic.h"

#define GUEST_ASID 1

void *plat_map_mfn(mfn_t mfn)
{
    paddr_t pa = mfn_x(mfn) << PAGE_SHIFT;
    if (!mfn_valid(mfn) || pa >= DIRECT_MAP_LIMIT)
        return NULL;
    return phys_to_virt(pa);
}

mfn_t plat_gfn_to_mfn(gfn_t gfn)
{
    paddr_t pa = gfn_x(gfn) << PAGE_SHIFT;
    if (!gfn_valid(gfn) || gfn_x(gfn) >> (plat_cpu_features()->maxphyaddr - PAGE_SHIFT))
        return INVALID_MFN;
#ifndef UMBRA_MUTANT_REACHABLE_RESERVE   /* umbra-mutant-reserve.elf: test/e2e/hostile-mem.sh */
    if (pa >= umbra_layout.reserve_lo && pa < umbra_layout.reserve_hi)
        return INVALID_MFN;
#endif
    if (unlikely(iommu_active) && iommu_mmio_overlaps(pa, PAGE_SIZE))
        return INVALID_MFN;                 /* the IOMMU's registers are Umbra's */
    return _mfn(gfn_x(gfn));
}

/* The loaders' seam (loader.h): guest-physical is host-physical, direct-mapped below 4 GiB. */
void *loader_guest(paddr_t pa, uint64_t len)
{
    (void)len;
    return phys_to_virt(pa);
}

bool plat_gfn_is_ram(gfn_t gfn)
{
    paddr_t pa = gfn_x(gfn) << PAGE_SHIFT;
    return gfn_valid(gfn) && mmap_is_ram(guest_mmap, guest_mmap_n, pa, pa + PAGE_SIZE);
}

uint64_t apic_trap_gfn = ~0ULL;      /* apic.h */

bool plat_gfn_trap_writes(gfn_t gfn)
{
    return gfn_x(gfn) == apic_trap_gfn;
}

void plat_flush_va(struct shadow_vcpu *v, gva_t va)
{
    (void)v;
    __asm__ volatile("invlpga %0, %1" :: "a"(va), "c"(GUEST_ASID) : "memory");
}

/* Filled on the first call; always &f (platform.h: the same pointer at every call). */
const struct plat_cpu_features *plat_cpu_features(void)
{
    static struct plat_cpu_features f;
    static bool done;
    if (!done) {
        uint32_t r[4];
        cpuid(0x80000000, 0, r);
        uint32_t max_ext = r[0];
        cpuid(0, 0, r);
        uint32_t max_std = r[0];
        cpuid(1, 0, r);
        f.pse36 = r[3] & (1u << 17);
        f.pge = r[3] & (1u << 13);
        if (max_std >= 7) {
            cpuid(7, 0, r);
            f.smep = r[1] & (1u << 7);
            f.smap = r[1] & (1u << 20);
            f.pku = r[2] & (1u << 3);
            f.pks = r[2] & (1u << 31);
        }
        cpuid(0x80000001, 0, r);
        f.nx = r[3] & (1u << 20);
        f.pdpe1gb = r[3] & (1u << 26);
        f.maxphyaddr = 36;
        if (max_ext >= 0x80000008) {
            cpuid(0x80000008, 0, r);
            f.maxphyaddr = r[0] & 0xff;
        }
        done = true;
    }
    return &f;
}

/*
 * RDPKRU needs CR4.PKE in the host: set it the first time (Umbra's own pages
 * are all supervisor pages, which PKRU never restricts, so the guest's PKRU
 * left in the register cannot affect the hypervisor).  VMRUN/#VMEXIT save
 * and restore the host CR4, so it stays set.
 */
uint32_t plat_guest_pkru(struct shadow_vcpu *v)
{
    (void)v;
    if (!plat_cpu_features()->pku)
        return 0;
    unsigned long cr4;
    __asm__ volatile("mov %%cr4, %0" : "=r"(cr4));
    if (!(cr4 & X86_CR4_PKE))
        __asm__ volatile("mov %0, %%cr4" :: "r"(cr4 | X86_CR4_PKE) : "memory");
    uint32_t eax, edx;
    __asm__ volatile(".byte 0x0f, 0x01, 0xee" : "=a"(eax), "=d"(edx) : "c"(0));   /* RDPKRU */
    return eax;
}

uint32_t plat_guest_pkrs(struct shadow_vcpu *v)
{
    (void)v;
    if (!plat_cpu_features()->pks)
        return 0;
    uint32_t eax, edx;
    __asm__ volatile("rdmsr" : "=a"(eax), "=d"(edx) : "c"(MSR_IA32_PKRS));
    return eax;
}

void (*plat_log_sink)(const char *line, void *ctx);
void *plat_log_sink_ctx;

void plat_log(const char *fmt, ...)
{
    char line[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (plat_log_sink)
        plat_log_sink(line, plat_log_sink_ctx);   /* the GDB monitor collects audit/stats lines */
    else
        ulog("%s", line);
}

/* SH_ASSERT failed: the shadows can no longer be trusted, so the guest must not run on. */
void plat_assert_failed(const char *cond, const char *file, int line)
{
    panic("shadow: assertion failed: %s at %s:%d", cond, file, line);
}
