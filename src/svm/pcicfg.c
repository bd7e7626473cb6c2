/*
 * PCI configuration mechanism #1 -- the address port 0xCF8 and the data
 * ports 0xCFC-0xCFF -- intercepted only while an IOMMU is on, so that the
 * IOMMU's own PCI functions are not the guest's: to the guest they read as
 * absent (all ones) and writes to them are dropped (a guest that moved the
 * IOMMU's base address or switched off its bus mastering would own or stop
 * DMA protection).  Every other configuration access is made for the guest on
 * the real ports.  The guest's 0xCF8 value is kept here and written to the
 * port before each data access, so Umbra's own use of the ports cannot
 * confuse it.
 *
 * Cost: two exits per guest configuration access through the ports (one for
 * the address, one for the data), counted as "pci: ...".  Not covered: the
 * memory-mapped configuration space (ECAM, ACPI MCFG) -- hiding the IOMMU's
 * 4 KiB page there needs reads emulated as all ones under shadow paging and
 * NPT (see the note of issue 13).
 */
#include <umbra/kern.h>
#include <umbra/lib.h>
#include <umbra/svm.h>
#include <umbra/iommu.h>

#define PCI_ADDR 0xcf8
#define PCI_DATA 0xcfc

static uint32_t guest_cf8;
static unsigned long accesses, hidden_reads, dropped_writes;

void svm_pcicfg_init(void)
{
    if (!iommu_active)
        return;
    for (unsigned p = PCI_ADDR; p < PCI_DATA + 4; p++)
        svm_iopm_intercept(p, true);
    ulog("pci: config ports 0xcf8-0xcff intercepted: the IOMMU's PCI function reads as absent, "
         "writes to it are dropped");
}

static uint32_t port_in(unsigned port, unsigned size)
{
    uint32_t v;
    if (size == 1) { uint8_t b; __asm__ volatile("inb %w1, %0" : "=a"(b) : "Nd"((uint16_t)port)); v = b; }
    else if (size == 2) { uint16_t w; __asm__ volatile("inw %w1, %0" : "=a"(w) : "Nd"((uint16_t)port)); v = w; }
    else __asm__ volatile("inl %w1, %0" : "=a"(v) : "Nd"((uint16_t)port));
    return v;
}

static void port_out(unsigned port, unsigned size, uint32_t v)
{
    if (size == 1) __asm__ volatile("outb %b0, %w1" :: "a"(v), "Nd"((uint16_t)port));
    else if (size == 2) __asm__ volatile("outw %w0, %w1" :: "a"(v), "Nd"((uint16_t)port));
    else __asm__ volatile("outl %0, %w1" :: "a"(v), "Nd"((uint16_t)port));
}

bool svm_pcicfg_ioio(struct svm_vcpu *v, unsigned port, unsigned size, bool in)
{
    if (port < PCI_ADDR || port >= PCI_DATA + 4 || !iommu_active)
        return false;
    struct vmcb *vm = v->vmcb;
    uint32_t mask = size == 1 ? 0xff : size == 2 ? 0xffff : 0xffffffff;
    uint32_t val = (uint32_t)vm->save.rax & mask;
    accesses++;
    if (port < PCI_DATA) {
        if (port == PCI_ADDR && size == 4) {
            if (in)
                val = guest_cf8;
            else
                guest_cf8 = val;
        } else if (in) {
            val = port_in(port, size);        /* not the address register (e.g. 0xcf9 reset control) */
        } else {
            port_out(port, size, val);
        }
    } else if ((guest_cf8 & 0x80000000u) && iommu_pci_is_iommu((uint16_t)(guest_cf8 >> 8))) {
        if (in) {
            val = mask;
            hidden_reads++;
        } else {
            dropped_writes++;
        }
    } else {
        port_out(PCI_ADDR, 4, guest_cf8);
        if (in)
            val = port_in(port, size);
        else
            port_out(port, size, val);
    }
    if (in)
        vm->save.rax = (vm->save.rax & ~(uint64_t)mask) | val;
    svm_skip_insn(v);
    return true;
}

void svm_pcicfg_report(void)
{
    if (iommu_active)
        ulog("pci: config port accesses=%lu, of the IOMMU's function: reads hidden=%lu, writes dropped=%lu",
             accesses, hidden_reads, dropped_writes);
}
