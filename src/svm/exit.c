/*
 * The exit switch: one table indexed by exit code, a counter per code, a
 * thin handler per intercept class.  Anything without a handler is
 * "unexpected": its exit code, exitinfo1/2 and the guest registers are
 * printed and the guest is stopped cleanly (Umbra itself keeps running to
 * report and end the run).  This is the hot path: no logging on it.
 */
#include <umbra/kern.h>
#include <umbra/lib.h>
#include <umbra/svm.h>
#include <umbra/x86.h>
#include <umbra/platform.h>
#include <umbra/loader.h>
#include <umbra/iommu.h>
#include <umbra/shadow.h>
#include "gdbtarget.h"
#include "taskswitch.h"
#include "event.h"
#include "apic.h"
#include "exitprof.h"
#include "nmi.h"
#include "watchdog.h"
#include <umbra/watchdog.h>

typedef void (*exit_fn)(struct svm_vcpu *v);

static uint64_t exit_count[VMEXIT_TABLE_SIZE];
static uint64_t exit_count_other;
static uint64_t events_redelivered, events_reexecuted, events_from[EVF_KINDS];
static unsigned long vmmcall_user_ud;   /* VMMCALLs from CPL > 0 answered with #UD */
uint64_t exitprof_ticks[VMEXIT_TABLE_SIZE];
uint64_t exitprof_t0;

/* ---- next RIP ------------------------------------------------------------ */

/*
 * Fixed lengths of the instructions Umbra intercepts without an instruction
 * decoder (no prefixes assumed).  0 = unknown.
 */
static unsigned fixed_insn_len(struct svm_vcpu *v, uint64_t exitcode)
{
    (void)v;
    switch (exitcode) {
    case VMEXIT_CPUID: return 2;     /* 0F A2 */
    case VMEXIT_HLT: return 1;       /* F4 */
    case VMEXIT_VMMCALL: return 3;   /* 0F 01 D9 */
    case VMEXIT_MSR: return 2;       /* 0F 32 / 0F 30 */
    default: return 0;
    }
}

unsigned (*svm_insn_len)(struct svm_vcpu *v, uint64_t exitcode) = fixed_insn_len;

void svm_skip_insn(struct svm_vcpu *v)
{
    struct vmcb *vm = v->vmcb;
    if (vm->ctl.exitcode == VMEXIT_IOIO)
        vm->save.rip = vm->ctl.exitinfo2;          /* IOIO always gives the next RIP */
    else if ((v->svm_features & SVM_FEAT_NRIPS) && vm->ctl.nrip)
        vm->save.rip = vm->ctl.nrip;
    else {
        unsigned len = svm_insn_len(v, vm->ctl.exitcode);
        if (!len) {
            svm_dump_guest(v, "cannot tell the instruction length");
            svm_stop(v, "unexpected", UMBRA_STATUS_ERROR);
            return;
        }
        vm->save.rip += len;
    }
    vm->ctl.int_shadow = 0;
}

/* ---- the event an exit cut short (rules in event.h) ------------------------ */

static bool event_insn_at_rip(void *arg, uint8_t b[2])
{
    struct svm_vcpu *v = arg;
    struct vmcb *vm = v->vmcb;
    struct sh_fault f;
    bool lma = vm->save.efer & EFER_LMA;
    uint64_t ip = vm->save.cs.base + vm->save.rip;
    return v->sh && shadow_read_guest(v->sh, lma ? ip : (uint32_t)ip, b, 2, 0, &f) == SH_FIXED;
}

static bool event_read_guest(void *arg, uint64_t la, void *buf, unsigned len)
{
    struct svm_vcpu *v = arg;
    struct sh_fault f;
    bool lma = v->vmcb->save.efer & EFER_LMA;
    return v->sh && shadow_read_guest(v->sh, lma ? la : (uint32_t)la, buf, len, 0, &f) == SH_FIXED;
}

/*
 * The highest vector in the LAPIC's in-service register (the guest owns the
 * LAPIC, so this is its state), or -1.  Only asked when EXITINTINFO cannot
 * be taken as it is, which on hardware does not happen.
 */
static int event_lapic_isr_top(void *arg)
{
    uint64_t base;
    (void)arg;
    if (rdmsr_safe(MSR_APIC_BASE, &base) < 0 || !(base & APIC_BASE_ENABLE))
        return -1;
    for (int i = 7; i >= 0; i--) {
        uint32_t w;
        if (base & APIC_BASE_X2APIC) {
            w = (uint32_t)rdmsr(MSR_X2APIC_ISR0 + (unsigned)i);
        } else {
            paddr_t pa = (base & ~0xfffULL) + APIC_ISR0 + 0x10 * (unsigned)i;
            if (pa + 4 > DIRECT_MAP_LIMIT)
                return -1;
            w = *(volatile uint32_t *)phys_to_virt(pa);
        }
        if (w)
            return i * 32 + 31 - __builtin_clz(w);
    }
    return -1;
}

/* Exception classes for the double-fault rules (APM vol. 2, 8.2.9). */
static bool contributory(unsigned vec)
{
    return vec == X86_EXC_DE || vec == X86_EXC_TS || vec == X86_EXC_NP || vec == X86_EXC_SS ||
           vec == X86_EXC_GP;
}

void svm_inject_exc(struct svm_vcpu *v, unsigned vector, bool has_err, uint32_t err)
{
    uint64_t first = v->vmcb->ctl.eventinj;
    if ((first & SVM_EVT_VALID) && (first & (7ULL << 8)) == SVM_EVT_TYPE_EXC) {
        /* The new exception arose while delivering `first` (re-queued from EXITINTINFO). */
        unsigned f = first & 0xff;
        if (f == X86_EXC_DF) {
            svm_dump_guest(v, "guest triple fault (fault while delivering #DF)");
            svm_stop(v, "triple-fault", UMBRA_STATUS_TRIPLE_FAULT);
            return;
        }
        if ((f == X86_EXC_PF && (vector == X86_EXC_PF || contributory(vector))) ||
            (contributory(f) && contributory(vector))) {
            vector = X86_EXC_DF;
            has_err = true;
            err = 0;
        }
    }
    uint64_t e = SVM_EVT_VALID | SVM_EVT_TYPE_EXC | (vector & 0xff);
    if (has_err)
        e |= SVM_EVT_ERR_VALID | ((uint64_t)err << 32);
    v->vmcb->ctl.eventinj = e;
}

void svm_set_guest_cr2(struct svm_vcpu *v, uint64_t cr2)
{
    v->vmcb->save.cr2 = cr2;
    __asm__ volatile("mov %0, %%cr2" :: "r"(cr2) : "memory");
}

uint64_t svm_guest_cr(struct svm_vcpu *v, unsigned cr)
{
    if (v->paging->guest_cr)
        return v->paging->guest_cr(v, cr);
    const struct vmcb_save *s = &v->vmcb->save;
    return cr == 0 ? s->cr0 : cr == 3 ? s->cr3 : cr == 4 ? s->cr4 : 0;
}

/* ---- diagnostics --------------------------------------------------------- */

static const char *exit_name(uint64_t code, char *buf, size_t len)
{
    switch (code) {
    case VMEXIT_CPUID: return "cpuid";
    case VMEXIT_HLT: return "hlt";
    case VMEXIT_INVLPG: return "invlpg";
    case VMEXIT_INVLPGA: return "invlpga";
    case VMEXIT_IOIO: return "ioio";
    case VMEXIT_MSR: return "msr";
    case VMEXIT_SHUTDOWN: return "shutdown";
    case VMEXIT_VMRUN: return "vmrun";
    case VMEXIT_VMMCALL: return "vmmcall";
    case VMEXIT_VMLOAD: return "vmload";
    case VMEXIT_VMSAVE: return "vmsave";
    case VMEXIT_STGI: return "stgi";
    case VMEXIT_CLGI: return "clgi";
    case VMEXIT_SKINIT: return "skinit";
    case VMEXIT_NPF: return "npf";
    case VMEXIT_INTR: return "intr";
    case VMEXIT_NMI: return "nmi";
    case VMEXIT_SMI: return "smi";
    case VMEXIT_TASK_SWITCH: return "task-switch";
    case VMEXIT_VINTR: return "vintr";
    case VMEXIT_IRET: return "iret";
    case 0x75: return "swint";
    }
    if (code < VMEXIT_CR0_READ + 16)
        snprintf(buf, len, "cr%u-read", (unsigned)code);
    else if (code >= VMEXIT_CR0_WRITE && code < VMEXIT_CR0_WRITE + 16)
        snprintf(buf, len, "cr%u-write", (unsigned)(code - VMEXIT_CR0_WRITE));
    else if (code >= 0x20 && code < 0x40)
        snprintf(buf, len, "dr%u-%s", (unsigned)(code & 15), code < 0x30 ? "read" : "write");
    else if (code >= VMEXIT_EXC_BASE && code < VMEXIT_EXC_BASE + 32)
        snprintf(buf, len, "exception-%u", (unsigned)(code - VMEXIT_EXC_BASE));
    else
        snprintf(buf, len, "code-%#lx", code);
    return buf;
}

void svm_dump_guest(struct svm_vcpu *v, const char *why)
{
    struct vmcb *vm = v->vmcb;
    struct guest_regs *r = &v->regs;
    char nb[24];
    ulog("%s: exit %s (code %#lx) exitinfo1=%#lx exitinfo2=%#lx exitintinfo=%#lx", why,
         exit_name(vm->ctl.exitcode, nb, sizeof(nb)), vm->ctl.exitcode, vm->ctl.exitinfo1,
         vm->ctl.exitinfo2, vm->ctl.exitintinfo);
    ulog("  rip=%08lx rsp=%08lx rflags=%08lx cs=%04x cpl=%u", vm->save.rip, vm->save.rsp,
         vm->save.rflags, vm->save.cs.sel, vm->save.cpl);
    ulog("  rax=%08lx rbx=%08lx rcx=%08lx rdx=%08lx", vm->save.rax, r->rbx, r->rcx, r->rdx);
    ulog("  rsi=%08lx rdi=%08lx rbp=%08lx r8=%lx r9=%lx", r->rsi, r->rdi, r->rbp, r->r8, r->r9);
    ulog("  cr0=%08lx cr2=%08lx cr3=%08lx cr4=%08lx efer=%lx", svm_guest_cr(v, 0), vm->save.cr2,
         svm_guest_cr(v, 3), svm_guest_cr(v, 4), v->paging->efer_read(v));
    if (v->paging->guest_cr)
        ulog("  hardware: cr0=%08lx cr3=%08lx cr4=%08lx efer=%lx", vm->save.cr0, vm->save.cr3,
             vm->save.cr4, vm->save.efer);
}

void svm_print_exit_counts(void)
{
    char nb[24];
    for (unsigned c = 0; c < VMEXIT_TABLE_SIZE; c++)
        if (exit_count[c])
            ulog("exits: %s=%lu", exit_name(c, nb, sizeof(nb)), exit_count[c]);
    if (exit_count_other)
        ulog("exits: other=%lu", exit_count_other);
    /* The bench build's ticks per reason (exitprof.h); nothing in umbra.elf. */
    uint64_t tsum = 0, tn = 0;
    for (unsigned c = 0; c < VMEXIT_TABLE_SIZE; c++)
        if (exitprof_ticks[c]) {
            ulog("exit-ticks: %s=%lu mean=%lu", exit_name(c, nb, sizeof(nb)), exitprof_ticks[c],
                 exitprof_ticks[c] / exit_count[c]);
            tsum += exitprof_ticks[c];
            tn += exit_count[c];
        }
    if (tn)
        ulog("exit-ticks: total=%lu exits=%lu mean=%lu", tsum, tn, tsum / tn);
    ulog("events: cut short by an exit: redelivered=%lu, instruction re-executed=%lu",
         events_redelivered, events_reexecuted);
    if (events_from[EVF_AS_LAST])
        ulog("events: taken as reported, equal to an earlier injection=%lu", events_from[EVF_AS_LAST]);
    for (unsigned k = EVF_AS_LAST + 1; k < EVF_KINDS; k++)
        if (events_from[k])
            ulog("events: not as EXITINTINFO reported: %s=%lu", svm_event_from_name(k), events_from[k]);
    svm_task_switch_report();
    if (vmmcall_user_ud)
        ulog("vmmcall: from CPL > 0, #UD raised=%lu", vmmcall_user_ud);
}

bool svm_exit_stat(unsigned idx, char *buf, size_t len, uint64_t *count)
{
    char nb[24];
    for (unsigned c = 0; c < VMEXIT_TABLE_SIZE; c++)
        if (exit_count[c] && idx-- == 0) {
            snprintf(buf, len, "%s", exit_name(c, nb, sizeof(nb)));
            *count = exit_count[c];
            return true;
        }
    return false;
}

uint64_t svm_exit_total(void)
{
    uint64_t n = exit_count_other;
    for (unsigned c = 0; c < VMEXIT_TABLE_SIZE; c++)
        n += exit_count[c];
    return n;
}

static void exit_unexpected(struct svm_vcpu *v)
{
    svm_dump_guest(v, "unexpected exit");
    svm_stop(v, "unexpected", UMBRA_STATUS_ERROR);
}

/* ---- handlers -------------------------------------------------------------- */

static void exit_cpuid(struct svm_vcpu *v)
{
    struct vmcb *vm = v->vmcb;
    uint32_t leaf = (uint32_t)vm->save.rax, sub = (uint32_t)v->regs.rcx, r[4];

    if (leaf >= 0x40000000 && leaf <= 0x400000ff) {
        r[0] = r[1] = r[2] = r[3] = 0;
        if (leaf == 0x40000000) {
            r[0] = 0x40000001;
            memcpy(&r[1], "Umbr", 4);
            memcpy(&r[2], "aUmb", 4);
            memcpy(&r[3], "raUm", 4);
        } else if (leaf == 0x40000001) {
            r[0] = HC_ABI_VERSION;
        }
    } else {
        cpuid(leaf, sub, r);
        /*
         * MONITOR/MWAIT and MONITORX/MWAITX are hidden (as KVM does): a guest
         * MWAIT would sleep the physical CPU, and Bochs 2.7's MWAITX never
         * wakes on its TSC deadline, which hangs Linux's udelay() for good
         * (test/linux/README.md).  Hidden, Linux idles with HLT and delays
         * with the TSC loop.
         */
        /*
         * OSXSAVE (1.ECX[27]) and OSPKE (7.0.ECX[4]) mirror the guest's
         * CR4.OSXSAVE and CR4.PKE, as on the CPU; executed here they would
         * show Umbra's CR4 (which sets PKE for RDPKRU, platform.c).
         */
        uint64_t cr4 = svm_guest_cr(v, 4);
        if (leaf == 1)
            r[2] = ((r[2] | 1u << 31) & ~(1u << 3 | 1u << 27))   /* hypervisor present; no MONITOR */
                 | ((cr4 & X86_CR4_OSXSAVE) ? 1u << 27 : 0);
        else if (leaf == 7 && sub == 0)
            r[2] = (r[2] & ~(1u << 4)) | ((cr4 & X86_CR4_PKE) ? 1u << 4 : 0);
        else if (leaf == 5)
            r[0] = r[1] = r[2] = r[3] = 0;           /* MONITOR/MWAIT leaf */
        else if (leaf == 0x80000001)
            r[2] &= ~(1u << 2 | 1u << 29);           /* hide SVM and MONITORX */
        else if (leaf == 0x8000000A)
            r[0] = r[1] = r[2] = r[3] = 0;
        if (v->paging == &shadow_paging_ops) {
            /* What the shadow MMU does not model: PCID, INVPCID, 5-level paging (CR4 refuses them). */
            if (leaf == 1)
                r[2] &= ~(1u << 17);
            else if (leaf == 7 && sub == 0)
                r[1] &= ~(1u << 10), r[2] &= ~(1u << 16);
        }
    }
    vm->save.rax = r[0];
    v->regs.rbx = r[1];
    v->regs.rcx = r[2];
    v->regs.rdx = r[3];
    svm_skip_insn(v);
}

static void exit_hlt(struct svm_vcpu *v)
{
    if (!(v->vmcb->save.rflags & X86_RFLAGS_IF)) {
        /* Nothing can wake it: report instead of spinning until a timeout. */
        ulog("guest halted with interrupts disabled at rip=%#lx", v->vmcb->save.rip);
        svm_stop(v, "halt", UMBRA_STATUS_ERROR);
        return;
    }
    /*
     * HLT waits, as on the CPU: the guest re-enters at its HLT with the HLT
     * intercept off (svm_run_guest() turns it back on after the next exit
     * of any kind), so the CPU itself halts until an interrupt arrives and
     * delivers it to the guest.  The interrupt shadow of an `sti; hlt` is
     * kept (the VMCB's, untouched), so a wake-up cannot slip in between.
     * Umbra still sees the next interrupt when GDB is on (INTR intercept).
     * With the watchdog CPU on, its NMIs must not end the wait: watchdog.c
     * puts the guest back on its HLT (svm_wd_hlt_wait()).
     */
    v->vmcb->ctl.intercept_misc1 &= ~INTERCEPT1_HLT;
    v->hlt_waits++;
    v->hlt_wait_rip = v->vmcb->save.rip;
    if (unlikely(wd_info.running))
        svm_wd_hlt_wait(v);
}

static unsigned bochs_shutdown_pos;

static void exit_ioio(struct svm_vcpu *v)
{
    struct vmcb *vm = v->vmcb;
    uint32_t info = (uint32_t)vm->ctl.exitinfo1;
    unsigned port = info >> IOIO_PORT_SHIFT;
    unsigned size = (info >> IOIO_SZ_SHIFT) & 7;

    if (unlikely(svm_gdb_on) && svm_gdb_ioio(v, port, info))
        return;                                   /* a PIC port the GDB stub watches */
    if (guest_hooks && guest_hooks->ioio && !(info & (IOIO_STR | IOIO_REP)) &&
        guest_hooks->ioio(v, port, size, info & IOIO_IN))
        return;
    if (iommu_active && !(info & (IOIO_STR | IOIO_REP)) && svm_pcicfg_ioio(v, port, size, info & IOIO_IN))
        return;                                   /* PCI config ports (pcicfg.c) */
    if (info & (IOIO_STR | IOIO_REP)) {
        exit_unexpected(v);
        return;
    }
    if (info & IOIO_IN) {
        /* Umbra's ports read as an absent device. */
        uint64_t mask = size == 1 ? 0xff : size == 2 ? 0xffff : 0xffffffff;
        vm->save.rax = (vm->save.rax & ~mask) | mask;
        svm_skip_insn(v);
        return;
    }
    svm_skip_insn(v);
    if (port == PORT_DEBUG_EXIT) {
        svm_stop(v, "port-f4", (unsigned)(vm->save.rax & 0xff));
    } else if (port == PORT_BOCHS_SHUTDOWN) {
        /* Bochs' "Shutdown" sequence, one byte at a time. */
        static const char word[] = "Shutdown";
        char c = (char)vm->save.rax;
        bochs_shutdown_pos = c == word[bochs_shutdown_pos] ? bochs_shutdown_pos + 1 :
                             c == word[0] ? 1 : 0;
        if (bochs_shutdown_pos == sizeof(word) - 1)
            svm_stop(v, "port-8900", 0);
    }
    /* COM2 (gdb=com2) writes are dropped until the GDB stub owns the port. */
}

static void exit_msr(struct svm_vcpu *v)
{
    struct vmcb *vm = v->vmcb;
    uint32_t msr = (uint32_t)v->regs.rcx;
    bool write = vm->ctl.exitinfo1 & 1;
    uint64_t val = (vm->save.rax & 0xffffffff) | (v->regs.rdx << 32);

    switch (msr) {
    case MSR_EFER:
        if (write) {
            uint64_t ok = EFER_SCE | EFER_LME | EFER_LMA;
            if (plat_cpu_features()->nx)
                ok |= EFER_NXE;
            if (val & ~ok) {
                svm_inject_exc(v, X86_EXC_GP, true, 0);
                return;
            }
            if (v->paging->efer_write(v, val) < 0)
                return;                    /* a fault was injected or the guest stopped */
        } else {
            val = v->paging->efer_read(v);
        }
        break;
    case MSR_VM_CR:
    case MSR_VM_HSAVE_PA:
        /* SVM is hidden: reads see nothing, writes fault. */
        if (write) {
            svm_inject_exc(v, X86_EXC_GP, true, 0);
            return;
        }
        val = msr == MSR_VM_CR ? VM_CR_SVMDIS : 0;
        break;
    case MSR_APIC_BASE:
    case MSR_X2APIC_ICR:
        /* The APIC stays where its write trap is; IPIs reach this CPU only (apic.c). */
        if (svm_apic_msr(v, msr, write, &val) < 0) {
            svm_inject_exc(v, X86_EXC_GP, true, 0);
            return;
        }
        break;
    default:
        exit_unexpected(v);
        return;
    }
    if (!write) {
        vm->save.rax = val & 0xffffffff;
        v->regs.rdx = val >> 32;
    }
    svm_skip_insn(v);
}

static void exit_vmmcall(struct svm_vcpu *v)
{
    struct vmcb *vm = v->vmcb;
    uint32_t fn = (uint32_t)vm->save.rax;
    uint64_t ret = 0;

    /*
     * The hypercalls are the guest kernel's: from CPL > 0 (ring 1-3, V86)
     * VMMCALL raises #UD, as it does on a CPU with no hypervisor behind it.
     */
    if (vm->save.cpl != 0) {
        vmmcall_user_ud++;
        svm_inject_exc(v, X86_EXC_UD, false, 0);
        return;
    }
    svm_skip_insn(v);
    switch (fn) {
    case HC_PRINT: {
        uint64_t gpa = (uint32_t)v->regs.rbx, len = (uint32_t)v->regs.rcx;
        if (len > HC_PRINT_MAX || gpa + len > umbra_layout.reserve_lo ||
            (iommu_active && iommu_mmio_overlaps(gpa, len))) {
            ret = 0xffffffff;
            break;
        }
        ulog("guest: %.*s", (int)len, (const char *)phys_to_virt(gpa));
        break;
    }
    case HC_EXIT:
        svm_stop(v, "hypercall", (unsigned)v->regs.rbx);
        break;
    default:
        ret = 0xffffffff;
        break;
    }
    vm->save.rax = ret;
}

static void exit_shutdown(struct svm_vcpu *v)
{
    svm_dump_guest(v, "guest triple fault");
    svm_stop(v, "triple-fault", UMBRA_STATUS_TRIPLE_FAULT);
}

/* SVM instructions: the guest sees no SVM, so they raise #UD as on a CPU without it. */
static void exit_svm_insn(struct svm_vcpu *v)
{
    svm_inject_exc(v, X86_EXC_UD, false, 0);
}

static void exit_npf(struct svm_vcpu *v)
{
    if (v->paging->npf)
        v->paging->npf(v);
    else
        exit_unexpected(v);
}

/*
 * SMI, intercepted while the GDB stub intercepts INTR (gdbtarget.c): Bochs
 * keeps the SMI pending across the exit and takes it in Umbra's context at
 * vmrun.S's STGI, so the firmware's SMM handler (Linux's ACPI enable writes
 * port 0xb2) never runs inside the guest, where an INTR intercept could cut
 * it short.  Nothing to do here.
 */
static void exit_smi(struct svm_vcpu *v)
{
    (void)v;
}

static void exit_pf(struct svm_vcpu *v)
{
    if (v->paging->page_fault)
        v->paging->page_fault(v);
    else
        exit_unexpected(v);
}

static void exit_invlpg(struct svm_vcpu *v)
{
    if (v->paging->invlpg)
        v->paging->invlpg(v);
    else
        exit_unexpected(v);
}

static void exit_cr_write(struct svm_vcpu *v)
{
    if (v->paging->cr_write)
        v->paging->cr_write(v, (unsigned)(v->vmcb->ctl.exitcode - VMEXIT_CR0_WRITE));
    else
        exit_unexpected(v);
}

static void exit_cr_read(struct svm_vcpu *v)
{
    if (v->paging->cr_read)
        v->paging->cr_read(v, (unsigned)(v->vmcb->ctl.exitcode - VMEXIT_CR0_READ));
    else
        exit_unexpected(v);
}

static const exit_fn exit_table[VMEXIT_TABLE_SIZE] = {
    [VMEXIT_CR0_READ] = exit_cr_read,
    [VMEXIT_CR0_READ + 3] = exit_cr_read,
    [VMEXIT_CR0_READ + 4] = exit_cr_read,
    [VMEXIT_CR0_WRITE] = exit_cr_write,
    [VMEXIT_CR3_WRITE] = exit_cr_write,
    [VMEXIT_CR4_WRITE] = exit_cr_write,
    [VMEXIT_EXC_BASE + X86_EXC_PF] = exit_pf,
    /* gdb=com1|com2 only (gdbtarget.c sets these intercepts) */
    [VMEXIT_EXC_BASE + X86_EXC_DB] = svm_nmi_exit_db,    /* nmi.c, then gdbtarget.c */
    [VMEXIT_IRET] = svm_nmi_exit_iret,
    [VMEXIT_EXC_BASE + X86_EXC_BP] = svm_gdb_exit_bp,
    [VMEXIT_INTR] = svm_wd_exit_intr,          /* watchdog.c, then gdbtarget.c */
    [VMEXIT_NMI] = svm_wd_exit_nmi,           /* watchdog CPU on only (watchdog.c) */
    [VMEXIT_SMI] = exit_smi,
    [0x75] = svm_gdb_exit_swint,              /* INT n */
    [VMEXIT_VINTR] = svm_gdb_exit_vintr,
    [0x20 ... 0x27] = svm_gdb_exit_dr,        /* DR0-7 reads */
    [0x30 ... 0x37] = svm_gdb_exit_dr,        /* DR0-7 writes */
    [VMEXIT_CPUID] = exit_cpuid,
    [VMEXIT_HLT] = exit_hlt,
    [VMEXIT_INVLPG] = exit_invlpg,
    [VMEXIT_INVLPGA] = exit_svm_insn,
    [VMEXIT_IOIO] = exit_ioio,
    [VMEXIT_MSR] = exit_msr,
    [VMEXIT_SHUTDOWN] = exit_shutdown,
    [VMEXIT_TASK_SWITCH] = svm_task_switch,     /* taskswitch.c (shadow paging) */
    [VMEXIT_VMRUN] = exit_svm_insn,
    [VMEXIT_VMMCALL] = exit_vmmcall,
    [VMEXIT_VMLOAD] = exit_svm_insn,
    [VMEXIT_VMSAVE] = exit_svm_insn,
    [VMEXIT_STGI] = exit_svm_insn,
    [VMEXIT_CLGI] = exit_svm_insn,
    [VMEXIT_SKINIT] = exit_svm_insn,
    [VMEXIT_NPF] = exit_npf,
};

void svm_handle_exit(struct svm_vcpu *v)
{
    struct vmcb *vm = v->vmcb;
    uint64_t code = vm->ctl.exitcode;

    /*
     * Only a task switch the CPU did not intercept (QEMU TCG) moves CR3
     * behind the shadow.  Adopt it first: if the exit came in the middle of
     * that switch, finishing it consumes the event and voids the exit.
     */
    if (unlikely(v->sh && vm->save.cr3 != v->sh->hw_cr3)) {
        svm_task_switch_unintercepted(v);
        if (v->stop)
            return;
        if (svm_task_switch_finish(v)) {
            if (code < VMEXIT_TABLE_SIZE)
                exit_count[code]++;
            return;
        }
    }

    /*
     * An event cut short by the exit is delivered again on the next VMRUN --
     * except INT n, INT3 and INTO: RIP still points at the instruction, which
     * simply runs again (re-injecting would return past it twice over
     * without NRIPS).
     */
    if (unlikely(vm->ctl.exitintinfo & SVM_EVT_VALID)) {
        struct svm_event_facts f = {
            .exitintinfo = vm->ctl.exitintinfo, .exitcode = code, .exitinfo1 = vm->ctl.exitinfo1,
            .exitinfo2 = vm->ctl.exitinfo2,
            .rip = vm->save.rip, .run_eventinj = v->run_eventinj, .run_rip = v->run_rip,
            .last_injected = v->last_eventinj, .intercepted_exc = vm->ctl.intercept_exc,
            .idt_base = vm->save.idtr.base, .idt_limit = vm->save.idtr.limit,
            .gdt_base = vm->save.gdtr.base, .gdt_limit = vm->save.gdtr.limit,
            .tss_base = vm->save.tr.base, .tss_limit = vm->save.tr.limit,
            .lma = vm->save.efer & EFER_LMA,
            .insn_at_rip = event_insn_at_rip, .read_guest = event_read_guest,
            .lapic_isr_top = event_lapic_isr_top, .arg = v,
        };
        if (vm->save.ldtr.sel & ~3u) {
            f.ldt_base = vm->save.ldtr.base;
            f.ldt_limit = vm->save.ldtr.limit;
        }
        enum svm_event_from from;
        uint64_t ii = svm_event_cut_short(&f, &from);
        uint64_t type = ii & (7ULL << 8);
        unsigned vec = ii & 0xff;
        events_from[from]++;
        if (unlikely(from == EVF_IMPOSSIBLE)) {
            /*
             * No CPU makes this report (event.h), so the emulator is broken;
             * delivering it would hand the guest a fault it never raised.
             */
            ulog("events: last injected %#lx at rip %#lx; this VMRUN injected %#lx at rip %#lx",
                 v->last_eventinj, v->last_inj_rip, v->run_eventinj, v->run_rip);
            svm_dump_guest(v, "EXITINTINFO names an intercepted exception as being delivered, "
                           "which no CPU does, and the real event cannot be found");
            svm_stop(v, "event-lost", UMBRA_STATUS_ERROR);
            return;
        }
        if (type != SVM_EVT_TYPE_SOFT &&
            !(type == SVM_EVT_TYPE_EXC && (vec == X86_EXC_BP || vec == X86_EXC_OF))) {
            vm->ctl.eventinj = ii;
            events_redelivered++;
        } else {
            events_reexecuted++;
        }
    }

    if (likely(code < VMEXIT_TABLE_SIZE)) {
        exit_count[code]++;
        if (likely(exit_table[code] != NULL)) {
            exit_table[code](v);
            return;
        }
    } else {
        exit_count_other++;
        /* QEMU TCG writes the 32-bit -1 (0x00000000ffffffff). */
        if (code == VMEXIT_INVALID || code == 0xffffffffULL) {
            svm_dump_guest(v, "VMRUN refused the guest state (VMEXIT_INVALID)");
            svm_stop(v, "invalid-state", UMBRA_STATUS_ERROR);
            return;
        }
    }
    exit_unexpected(v);
}
