/*
 * CPUs: one guest vCPU, no physical CPU left outside Umbra.
 *
 * Before the guest runs, Umbra lists every CPU the firmware describes (ACPI
 * MADT; the MP table when there is no MADT), parks every application
 * processor, and rewrites the MADT and the MP table (include/umbra/acpi.h)
 * so that the guest reads a machine with the boot CPU alone.
 *
 * Parking: an INIT IPI puts an AP into the wait-for-SIPI state.  From there
 * only a startup IPI makes it run again, and only a local APIC's ICR can
 * send one (an I/O APIC entry or an MSI cannot carry a SIPI: their delivery
 * modes have none).  The guest's ICR writes are filtered (src/svm/apic.c):
 * no INIT or SIPI of its reaches another CPU.  So a parked AP never runs
 * again while Umbra does, whatever the firmware had left it doing (SeaBIOS
 * leaves its APs in a HLT loop in low memory, which the guest owns).
 */
#include <umbra/kern.h>
#include <umbra/lib.h>
#include <umbra/x86.h>
#include <umbra/acpi.h>
#include <umbra/smp.h>

struct smp_info smp_info;

void *acpi_phys(paddr_t pa, size_t len)
{
    if (pa + len > DIRECT_MAP_LIMIT || pa + len < pa)
        return NULL;
    return phys_to_virt(pa);
}

static uint64_t apic_base_msr;

static bool x2apic_on(void)
{
    return (apic_base_msr & (APIC_BASE_ENABLE | APIC_BASE_X2APIC)) ==
           (APIC_BASE_ENABLE | APIC_BASE_X2APIC);
}

static volatile uint32_t *xreg(unsigned off)
{
    return (volatile uint32_t *)phys_to_virt((apic_base_msr & 0xffffff000ULL) + off);
}

void smp_delay_us(unsigned us)
{
    while (us--)
        outb(0x80, 0);
}

/* Send one IPI (ICR low word lo) to the physical APIC ID id; false if the APIC never accepted it. */
static bool send_ipi(uint32_t id, uint32_t lo)
{
    if (x2apic_on()) {
        wrmsr(MSR_X2APIC_ICR, (uint64_t)id << 32 | lo);
        return true;
    }
    if (id > 0xfe)
        return false;                                 /* not nameable in xAPIC mode */
    *xreg(APIC_ICR_HI) = id << 24;
    *xreg(APIC_ICR_LO) = lo;
    for (unsigned i = 0; i < 100000; i++) {
        if (!(*xreg(APIC_ICR_LO) & (1u << 12)))        /* delivery status: idle */
            return true;
        smp_delay_us(1);
    }
    return false;
}

bool smp_send_init(uint32_t id)
{
    return send_ipi(id, (5u << 8) | (1u << 14));      /* INIT, level assert, edge */
}

bool smp_send_startup(uint32_t id, uint8_t vector)
{
    return send_ipi(id, (6u << 8) | (1u << 14) | vector);   /* STARTUP at vector << 12 */
}

static uint32_t boot_apic_id(void)
{
    uint32_t r[4];
    cpuid(1, 0, r);
    if (x2apic_on())
        return (uint32_t)rdmsr(MSR_X2APIC_ID);
    if (apic_base_msr & APIC_BASE_ENABLE)
        return *xreg(APIC_ID) >> 24;
    return r[1] >> 24;
}

void smp_init(const void *mb2_rsdp)
{
    struct acpi_cpu cpu[ACPI_MAX_CPUS];
    struct smp_info *s = &smp_info;
    uint32_t r[4];
    char ids[160];
    size_t used = 0;

    cpuid(1, 0, r);
    if (!(r[3] & (1u << 9)) || rdmsr_safe(MSR_APIC_BASE, &apic_base_msr) < 0) {
        ulog("cpus: no local APIC: one CPU, nothing to park");
        return;
    }
    s->boot_id = boot_apic_id();
    acpi_init_mb2(mb2_rsdp);
    int n = acpi_madt_cpus(cpu, ACPI_MAX_CPUS);
    s->source = "MADT";
    if (n < 0) {
        n = mptable_cpus(cpu, ACPI_MAX_CPUS);
        s->source = "MP table";
    }
    if (n < 0) {
        ulog("cpus: no ACPI MADT and no MP table: assuming the boot CPU (APIC ID %u) is alone",
             s->boot_id);
        s->source = "none";
        return;
    }
    if (n > ACPI_MAX_CPUS)
        ulog("cpus: the %s lists %d CPUs, only the first %u are handled", s->source, n, ACPI_MAX_CPUS);
    s->listed = (unsigned)n;
    ids[0] = '\0';
    for (unsigned i = 0; i < s->listed && i < ACPI_MAX_CPUS; i++) {
        used += (size_t)snprintf(ids + used, used < sizeof(ids) ? sizeof(ids) - used : 0, " %u%s",
                                 cpu[i].apic_id, cpu[i].usable ? "" : "(off)");
        if (used >= sizeof(ids))
            used = sizeof(ids) - 1;
        if (cpu[i].apic_id == s->boot_id)
            continue;
        if (!cpu[i].usable) {
            s->disabled++;
            continue;
        }
        if (smp_send_init(cpu[i].apic_id)) {
            if (!s->have_ap) {
                s->have_ap = true;
                s->first_ap = cpu[i].apic_id;
            }
            s->parked++;
        } else {
            s->unparked++;
            ulog("cpus: APIC ID %u did not take the INIT IPI", cpu[i].apic_id);
        }
    }
    ulog("cpus: %u in the %s (APIC IDs%s), boot CPU %u; %u AP(s) parked in wait-for-SIPI (INIT)",
         s->listed, s->source, ids, s->boot_id, s->parked);
    int m = acpi_madt_keep_one(s->boot_id), p = mptable_keep_one(s->boot_id);
    if (m >= 0)
        s->madt_cut = (unsigned)m;
    if (p >= 0)
        s->mp_cut = (unsigned)p;
    ulog("cpus: the guest's tables: MADT %s (%u CPU entries cut), MP table %s (%u cut)",
         m >= 0 ? "rewritten to the boot CPU" : "not rewritten (none, or the boot CPU is not in it)",
         s->madt_cut, p >= 0 ? "rewritten to the boot CPU" : "not rewritten (none, or the boot CPU is not in it)",
         s->mp_cut);
}
