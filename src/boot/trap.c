/*
 * Umbra's own exceptions.  Umbra runs with interrupts off, so the only
 * entries into the IDT are NMIs (isr.S's isr_nmi counts them for the
 * watchdog and the guest) and CPU exceptions, which are Umbra bugs: print a
 * register dump on the console and end the run with UMBRA_STATUS_ERROR.
 * The exceptions that are expected are a #GP from rdmsr_safe() or
 * wrmsr_safe(), which the handler fixes up by moving RIP to their fixup label.
 */
#include <umbra/kern.h>
#include <umbra/hypercall.h>
#include <umbra/x86.h>

struct trap_frame {
    uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
    uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
    uint64_t vector, error;
    uint64_t rip, cs, rflags, rsp, ss;
};

struct idt_entry {
    uint16_t off_lo, sel;
    uint8_t ist, type;
    uint16_t off_mid;
    uint32_t off_hi, zero;
};

static struct idt_entry idt[32] __attribute__((aligned(16)));
extern const uint64_t isr_table[32];
extern const char isr_nmi[];
extern const char rdmsr_safe_insn[], rdmsr_safe_fixup[], wrmsr_safe_insn[], wrmsr_safe_fixup[];

void trap_init(void)
{
    for (unsigned i = 0; i < 32; i++) {
        uint64_t a = i == X86_EXC_NMI ? (uint64_t)isr_nmi : isr_table[i];   /* isr.S: judged, counted */
        idt[i] = (struct idt_entry){
            .off_lo = a & 0xffff, .sel = 0x08, .ist = 0, .type = 0x8e,  /* present, interrupt gate */
            .off_mid = (a >> 16) & 0xffff, .off_hi = a >> 32,
        };
    }
    struct __attribute__((packed)) { uint16_t limit; uint64_t base; } idtr = {
        sizeof(idt) - 1, (uint64_t)idt,
    };
    __asm__ volatile("lidt %0" :: "m"(idtr));
}

void trap_handler(struct trap_frame *f);
void trap_handler(struct trap_frame *f)
{
    if (f->vector == X86_EXC_GP && f->rip == (uint64_t)rdmsr_safe_insn) {
        f->rip = (uint64_t)rdmsr_safe_fixup;
        return;
    }
    if (f->vector == X86_EXC_GP && f->rip == (uint64_t)wrmsr_safe_insn) {
        f->rip = (uint64_t)wrmsr_safe_fixup;
        return;
    }
    uint64_t cr2, cr3;
    __asm__ volatile("mov %%cr2, %0; mov %%cr3, %1" : "=r"(cr2), "=r"(cr3));
    ulog("panic: exception %lu error=%#lx at rip=%#lx", f->vector, f->error, f->rip);
    ulog("  rax=%016lx rbx=%016lx rcx=%016lx rdx=%016lx", f->rax, f->rbx, f->rcx, f->rdx);
    ulog("  rsi=%016lx rdi=%016lx rbp=%016lx rsp=%016lx", f->rsi, f->rdi, f->rbp, f->rsp);
    ulog("  r8 =%016lx r9 =%016lx r10=%016lx r11=%016lx", f->r8, f->r9, f->r10, f->r11);
    ulog("  r12=%016lx r13=%016lx r14=%016lx r15=%016lx", f->r12, f->r13, f->r14, f->r15);
    ulog("  cs=%lx ss=%lx rflags=%016lx cr2=%016lx cr3=%016lx", f->cs, f->ss, f->rflags, cr2, cr3);
    ulog("exit reason=umbra-exception status=%u", UMBRA_STATUS_ERROR);
    machine_exit(UMBRA_STATUS_ERROR);
}
