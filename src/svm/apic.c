/*
 * The guest's local APIC with its IPIs filtered.  The guest owns the boot
 * CPU's local APIC (timers, EOIs, self-IPIs go to the hardware), but every
 * write of the interrupt command register reaches Umbra first:
 *   - x2APIC: WRMSR 0x830 is intercepted (MSRPM);
 *   - xAPIC under paging=shadow: the APIC page is a trapped frame
 *     (plat_gfn_trap_writes): never mapped writable, every write to it is
 *     emulated here, and only the ICR low word is judged -- the rest goes to
 *     the hardware as written, except the APIC ID register (Umbra keeps the
 *     boot CPU's ID so "self" keeps its meaning);
 *   - xAPIC under paging=npt: the nested tables map the APIC page read-only
 *     (npt.c) and the write is emulated the same way (npt_walk.c reads
 *     the instruction through the guest's own tables).
 * The guest is a one-CPU machine: an IPI that includes this CPU is sent to
 * this CPU only (an NMI is injected); INIT, SIPI, SMI and an IPI aimed only
 * at others are dropped and counted.  Nothing the guest writes makes another CPU run.
 * APIC_BASE writes may switch the APIC on, off or to x2APIC mode but never
 * move its page (the trap follows one frame).
 */
#include <umbra/kern.h>
#include <umbra/lib.h>
#include <umbra/svm.h>
#include <umbra/x86.h>
#include <umbra/shadow.h>
#include <umbra/platform.h>
#include "emu.h"
#include "apic.h"
#include "nmi.h"

static paddr_t apic_base;            /* xAPIC MMIO base (fixed for the run) */
static uint32_t boot_id;             /* this CPU's APIC ID at start */
static bool have_apic;
static unsigned long dropped[8];     /* per delivery mode, IPIs that reached no CPU */
static unsigned long sent_self, id_writes, odd_writes, base_moves;

static volatile uint32_t *reg(unsigned off)
{
    return (volatile uint32_t *)phys_to_virt(apic_base + off);
}

void svm_apic_init(void)
{
    uint32_t r[4];
    uint64_t b;
    cpuid(1, 0, r);
    if (!(r[3] & (1u << 9)) || rdmsr_safe(MSR_APIC_BASE, &b) < 0)
        return;                      /* no local APIC: nothing to filter */
    have_apic = true;
    apic_base = b & 0xffffff000ULL;
    apic_trap_gfn = apic_base >> PAGE_SHIFT;
    if ((b & APIC_BASE_ENABLE) && (b & APIC_BASE_X2APIC))
        boot_id = (uint32_t)rdmsr(MSR_X2APIC_ID);
    else
        boot_id = (b & APIC_BASE_ENABLE) ? *reg(APIC_ID) >> 24 : r[1] >> 24;
}

uint32_t svm_apic_boot_id(void)
{
    return boot_id;
}

/*
 * Does an IPI with this ICR low word and destination include this CPU?
 * dest is the ICR high half: x2 = x2APIC format (a 32-bit destination),
 * else xAPIC (the destination in bits 31:24); ldr/dfr = this CPU's logical
 * destination registers (xAPIC: LDR bits 31:24, DFR model bits 31:28).
 */
static bool includes_self(uint32_t lo, uint32_t dest, bool x2, uint32_t ldr, uint32_t dfr)
{
    if (ICR_SHORTHAND(lo) == 1 || ICR_SHORTHAND(lo) == 2)
        return true;
    if (ICR_SHORTHAND(lo) == 3)
        return false;
    if (x2) {
        if (dest == 0xffffffffu)
            return true;
        if (!(lo & ICR_LOGICAL))
            return dest == boot_id;
        return (dest >> 16) == (ldr >> 16) && (dest & ldr & 0xffff);
    }
    dest >>= 24;                     /* xAPIC: ICR high bits 31:24 */
    if (dest == 0xff)
        return true;
    if (!(lo & ICR_LOGICAL))
        return dest == boot_id;
    uint32_t id = ldr >> 24;
    if ((dfr >> 28) == 0xf)
        return (dest & id) != 0;                               /* flat */
    return (dest >> 4) == (id >> 4) && (dest & id & 0xf);       /* cluster */
}

/*
 * Judge one IPI.  Returns false when nothing is to be written to the ICR:
 * the IPI reaches no CPU (dropped, counted), or it is an NMI for this CPU,
 * which is raised through nmi.c (injected, or held while the guest's NMIs
 * are masked; an NMI sent by the hardware now would arrive in Umbra, not in
 * the guest).  Returns true to send it, with *lo
 * rewritten so it reaches this CPU only: fixed and lowest priority become a
 * fixed self-IPI (shorthand "self"), keeping the vector and trigger bits.
 */
static bool ipi_filter(struct svm_vcpu *v, uint32_t *lo, uint32_t *dest, bool x2)
{
    uint32_t mode = ICR_MODE(*lo);
    uint32_t ldr = x2 ? (uint32_t)rdmsr(MSR_X2APIC_LDR) : *reg(APIC_LDR);
    uint32_t dfr = x2 ? 0 : *reg(APIC_DFR);
    if (!includes_self(*lo, *dest, x2, ldr, dfr) || (mode != 0 && mode != 1 && mode != 4)) {
        dropped[mode]++;
        return false;
    }
    sent_self++;
    if (mode == 4) {
        svm_nmi_raise(v);                    /* injected now or held (nmi.c) */
        return false;
    }
    (void)dest;
    *lo = (*lo & ~((3u << 18) | (7u << 8) | ICR_LOGICAL)) | 1u << 18;
    return true;
}

/* A 32-bit write of the xAPIC page at offset off, as the guest meant it. */
static void xapic_write(struct svm_vcpu *v, unsigned off, uint32_t val)
{
    if (off == APIC_ICR_LO) {
        uint32_t hi = *reg(APIC_ICR_HI);
        if (!ipi_filter(v, &val, &hi, false))
            return;
    } else if (off == APIC_ID) {
        id_writes++;                 /* Umbra keeps the boot CPU's ID */
        return;
    }
    *reg(off) = val;
}

/* ---- the xAPIC page's writes, emulated ----------------------------------------- */

/* The APIC page's offset of a guest write at la, or -1 if it does not go there. */
static long apic_off(struct svm_emu *e, uint64_t la)
{
    gpa_t gpa;
    if (e->v->sh && !shadow_gva_to_gpa(e->v->sh, la, &gpa))
        return -1;
    if (!e->v->sh && !svm_npt_gva_to_gpa(e->v, la, &gpa))
        return -1;
    return gpa >> PAGE_SHIFT == apic_trap_gfn ? (long)(gpa & (PAGE_SIZE - 1)) : -1;
}

static int apic_emu_write(struct x86_emu_ctxt *c, uint64_t la, const void *src, unsigned len,
                          uint32_t pfec, struct x86_fault *f)
{
    struct svm_emu *e = (struct svm_emu *)c;
    long off = apic_off(e, la);
    if (off < 0)
        return svm_emu_ops(e)->write(c, la, src, len, pfec, f);
    /* The rights were checked by the walk that gave this fault; APIC registers are 32-bit. */
    if (len != 4 || (off & 3)) {
        odd_writes++;
        return X86EMU_OK;
    }
    uint32_t val;
    memcpy(&val, src, 4);
    xapic_write(e->v, (unsigned)off, val);
    return X86EMU_OK;
}

static int apic_emu_read(struct x86_emu_ctxt *c, uint64_t la, void *dst, unsigned len,
                         uint32_t pfec, struct x86_fault *f)
{
    return svm_emu_ops((struct svm_emu *)c)->read(c, la, dst, len, pfec, f);
}

/* A locked update of an APIC register: read, compare, write (one vCPU: exact). */
static int apic_emu_cmpxchg(struct x86_emu_ctxt *c, uint64_t la, void *old, const void *new,
                            unsigned len, uint32_t pfec, struct x86_fault *f)
{
    struct svm_emu *e = (struct svm_emu *)c;
    if (apic_off(e, la) < 0)
        return svm_emu_ops(e)->cmpxchg(c, la, old, new, len, pfec, f);
    uint8_t cur[16];
    int rc = apic_emu_read(c, la, cur, len, pfec & ~PFEC_WRITE, f);
    if (rc)
        return rc;
    if (memcmp(cur, old, len)) {
        memcpy(old, cur, len);
        return X86EMU_OK;
    }
    return apic_emu_write(c, la, new, len, pfec | PFEC_WRITE, f);
}

static const struct x86_emu_ops apic_emu_ops = {
    .read = apic_emu_read,
    .write = apic_emu_write,
    .cmpxchg = apic_emu_cmpxchg,
};

void svm_apic_emulate(struct svm_vcpu *v)
{
    struct svm_emu e;
    svm_emu_begin(&e, v);
    e.c.ops = &apic_emu_ops;
    int rc = x86_emulate(&e.c);
    if (rc == X86EMU_UNHANDLED) {
        svm_emu_fail(&e, rc, "emulate a local APIC write with");
        return;
    }
    svm_emu_commit(&e);
    if (rc == X86EMU_FAULT) {
        svm_inject_fault(v, &e.c.fault);
        return;
    }
    if (e.r.rflags & X86_RFLAGS_TF) {
        v->vmcb->save.dr6 |= 1u << 14;      /* BS: the single-step trap the CPU would raise */
        svm_inject_exc(v, X86_EXC_DB, false, 0);
    }
}

/* ---- MSRs: APIC_BASE and the x2APIC ICR ------------------------------------------ */

int svm_apic_msr(struct svm_vcpu *v, uint32_t msr, bool write, uint64_t *val)
{
    if (!have_apic)
        return -1;
    uint64_t base = rdmsr(MSR_APIC_BASE);
    if (msr == MSR_APIC_BASE) {
        if (!write) {
            *val = base;
            return 0;
        }
        if ((*val & 0xffffff000ULL) != apic_base) {
            base_moves++;            /* the page stays where the trap is */
            *val = (*val & 0xfffULL) | apic_base;
        }
        uint64_t r;
        if (wrmsr_safe(MSR_APIC_BASE, *val) < 0 || rdmsr_safe(MSR_APIC_BASE, &r) < 0)
            return -1;               /* an invalid transition: #GP, as the CPU raised */
        return 0;
    }
    /* MSR_X2APIC_ICR: only in x2APIC mode, else #GP as on the CPU. */
    if ((base & (APIC_BASE_ENABLE | APIC_BASE_X2APIC)) != (APIC_BASE_ENABLE | APIC_BASE_X2APIC))
        return -1;
    if (!write) {
        *val = rdmsr(MSR_X2APIC_ICR);
        return 0;
    }
    uint32_t lo = (uint32_t)*val, dest = (uint32_t)(*val >> 32);
    if (ipi_filter(v, &lo, &dest, true))
        wrmsr(MSR_X2APIC_ICR, (uint64_t)dest << 32 | lo);
    return 0;
}

void svm_apic_report(void)
{
    if (!have_apic)
        return;
    ulog("apic: IPIs that reached no CPU: INIT=%lu SIPI=%lu NMI=%lu SMI=%lu fixed=%lu; "
         "sent to this CPU=%lu", dropped[5], dropped[6], dropped[4], dropped[2],
         dropped[0] + dropped[1], sent_self);
    if (id_writes || odd_writes || base_moves || dropped[3] || dropped[7])
        ulog("apic: ID register writes ignored=%lu, non-32-bit writes ignored=%lu, "
             "APIC_BASE moves refused=%lu, reserved-mode IPIs dropped=%lu",
             id_writes, odd_writes, base_moves, dropped[3] + dropped[7]);
}
