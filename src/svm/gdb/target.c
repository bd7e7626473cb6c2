/*
 * The SVM implementation of struct gdb_target_ops (include/umbra/gdbstub.h):
 * one vCPU, its registers in the VMCB and v->regs, its memory through the
 * shadow MMU (src/gdbstub/shadow_hooks.c), breakpoint slots in DR0-3 and
 * the step's RFLAGS.TF; the monitor hooks are monitor.c's.  The intercepts
 * that turn debug events into stops, and the serving loop, are intercept.c's
 * (its header says how each event reaches GDB).  Called only while the
 * guest is stopped, except svm_gdb_window()/svm_gdb_end_step(), which
 * intercept.c calls between exits.
 */
#include <umbra/kern.h>
#include <umbra/lib.h>
#include <umbra/svm.h>
#include <umbra/x86.h>
#include <umbra/shadow.h>
#include <umbra/platform.h>
#include <umbra/gdbstub.h>
#include "gdb.h"
#include "private.h"

/* ---- debug registers ---------------------------------------------------------- */

static uint64_t dr_get(unsigned n)
{
    uint64_t v = 0;
    switch (n) {
    case 0: __asm__ volatile("mov %%db0, %0" : "=r"(v)); break;
    case 1: __asm__ volatile("mov %%db1, %0" : "=r"(v)); break;
    case 2: __asm__ volatile("mov %%db2, %0" : "=r"(v)); break;
    case 3: __asm__ volatile("mov %%db3, %0" : "=r"(v)); break;
    }
    return v;
}

static void dr_set(unsigned n, uint64_t v)
{
    switch (n) {
    case 0: __asm__ volatile("mov %0, %%db0" :: "r"(v)); break;
    case 1: __asm__ volatile("mov %0, %%db1" :: "r"(v)); break;
    case 2: __asm__ volatile("mov %0, %%db2" :: "r"(v)); break;
    case 3: __asm__ volatile("mov %0, %%db3" :: "r"(v)); break;
    }
}

/* DR7 for GDB's slots: L bit, R/W and LEN per used slot. */
static uint64_t gdb_dr7(void)
{
    uint64_t d = DR7_FIXED;
    for (unsigned i = 0; i < 4; i++) {
        const struct hw_slot *s = &svm_gdb.hw[i];
        if (!s->used)
            continue;
        unsigned rw = s->type == GDB_BP_HW ? 0 : s->type == GDB_WP_WRITE ? 1 : 3;
        unsigned len = s->type == GDB_BP_HW ? 0 : s->len == 1 ? 0 : s->len == 2 ? 1 : s->len == 8 ? 2 : 3;
        d |= (1ULL << (2 * i)) | ((uint64_t)(rw | len << 2) << (16 + 4 * i));
    }
    return d;
}

/* Take the debug registers from the guest (first GDB slot) or give them back (last). */
void svm_gdb_dr_own(struct svm_vcpu *v, bool own)
{
    struct vmcb *vm = v->vmcb;
    if (own == svm_gdb.dr_owned)
        return;
    if (own) {
        for (unsigned i = 0; i < 4; i++)
            svm_gdb.guest_dr[i] = dr_get(i);
        svm_gdb.guest_dr7 = vm->save.dr7;
        vm->ctl.intercept_dr = INTERCEPT_DR_ALL;
    } else {
        for (unsigned i = 0; i < 4; i++)
            dr_set(i, svm_gdb.guest_dr[i]);
        vm->save.dr7 = svm_gdb.guest_dr7;
        vm->ctl.intercept_dr = 0;
    }
    svm_gdb.dr_owned = own;
}

static int t_insert_hw(void *t, enum gdb_bp_type type, uint64_t addr, unsigned kind)
{
    struct svm_vcpu *v = t;
    unsigned len = type == GDB_BP_HW ? 1 : kind;

    if (type == GDB_WP_READ)
        return -GDB_ENOSYS;          /* x86 has no read-only data breakpoint */
    if (type != GDB_BP_HW && ((len != 1 && len != 2 && len != 4 && len != 8) || (addr & (len - 1))))
        return -GDB_EINVAL;
    for (unsigned i = 0; i < 4; i++) {
        if (svm_gdb.hw[i].used)
            continue;
        svm_gdb_dr_own(v, true);
        svm_gdb.hw[i] = (struct hw_slot){ true, type, addr, len };
        dr_set(i, addr);
        v->vmcb->save.dr7 = gdb_dr7();
        return 0;
    }
    return -GDB_ENOSPC;
}

static int t_remove_hw(void *t, enum gdb_bp_type type, uint64_t addr, unsigned kind)
{
    struct svm_vcpu *v = t;
    (void)kind;
    for (unsigned i = 0; i < 4; i++) {
        struct hw_slot *s = &svm_gdb.hw[i];
        if (!s->used || s->type != type || s->addr != addr)
            continue;
        s->used = false;
        v->vmcb->save.dr7 = gdb_dr7();
        bool any = false;
        for (unsigned k = 0; k < 4; k++)
            any |= svm_gdb.hw[k].used;
        if (!any)
            svm_gdb_dr_own(v, false);
        return 0;
    }
    return -GDB_ENOENT;
}

void svm_gdb_end_step(struct svm_vcpu *v)
{
    if (!svm_gdb.stepping)
        return;
    uint64_t *fl = &v->vmcb->save.rflags;
    *fl = (*fl & ~X86_RFLAGS_TF) | (svm_gdb.guest_tf ? X86_RFLAGS_TF : 0);
    v->vmcb->ctl.vintr &= ~VINTR_MASKING;
    svm_gdb.stepping = false;
}

/*
 * The interrupt window: the INTR intercept is off for the one delivery, and
 * the next exit of any kind closes the window.  What makes that exit come
 * soon: the virtual interrupt (V_IRQ + VINTR intercept), taken as soon as
 * the guest's IF is back on after its handler (hardware, Bochs); QEMU TCG
 * drops a pending V_IRQ when it delivers a physical interrupt, so the PICs'
 * command ports are intercepted too and the handler's EOI exits.
 */
void svm_gdb_window(struct svm_vcpu *v, bool open)
{
    struct vmcb_control *c = &v->vmcb->ctl;
    if (open) {
        c->intercept_misc1 = (c->intercept_misc1 & ~INTERCEPT1_INTR) | INTERCEPT1_VINTR;
        c->vintr |= VINTR_V_IRQ | VINTR_IGN_TPR;
        svm_gdb.intr_windows++;
    } else {
        c->intercept_misc1 = (c->intercept_misc1 & ~INTERCEPT1_VINTR) | INTERCEPT1_INTR;
        c->vintr &= ~(VINTR_V_IRQ | VINTR_IGN_TPR);
    }
    svm_iopm_intercept(0x20, open);
    svm_iopm_intercept(0xa0, open);
    svm_gdb.window = open;
}

/* ---- gdb_target_ops ------------------------------------------------------------ */

static unsigned t_nr_cpus(void *t)
{
    (void)t;
    return 1;
}

static enum guest_paging t_paging_mode(void *t, unsigned cpu)
{
    struct svm_vcpu *v = t;
    (void)cpu;
    if (v->sh)
        return v->sh->paging;
    if (!(svm_guest_cr(v, 0) & X86_CR0_PG))
        return GUEST_PAGING_OFF;
    if (v->mmu->efer_read(v) & EFER_LMA)
        return GUEST_PAGING_LONG;
    return (svm_guest_cr(v, 4) & X86_CR4_PAE) ? GUEST_PAGING_PAE : GUEST_PAGING_2LEVEL;
}

static int t_get_regs(void *t, unsigned cpu, struct gdb_regs *r)
{
    struct svm_vcpu *v = t;
    const struct vmcb_save *s = &v->vmcb->save;
    const struct guest_regs *gr = &v->regs;
    (void)cpu;
    *r = (struct gdb_regs){
        .rax = s->rax, .rbx = gr->rbx, .rcx = gr->rcx, .rdx = gr->rdx,
        .rsi = gr->rsi, .rdi = gr->rdi, .rbp = gr->rbp, .rsp = s->rsp,
        .r8 = gr->r8, .r9 = gr->r9, .r10 = gr->r10, .r11 = gr->r11,
        .r12 = gr->r12, .r13 = gr->r13, .r14 = gr->r14, .r15 = gr->r15,
        .rip = s->rip, .rflags = s->rflags,
        .cs = s->cs.sel, .ss = s->ss.sel, .ds = s->ds.sel, .es = s->es.sel, .fs = s->fs.sel, .gs = s->gs.sel,
        .cs_base = s->cs.base, .ss_base = s->ss.base, .ds_base = s->ds.base, .es_base = s->es.base,
        .fs_base = s->fs.base, .gs_base = s->gs.base,
        .cr0 = svm_guest_cr(v, 0), .cr2 = s->cr2, .cr3 = svm_guest_cr(v, 3), .cr4 = svm_guest_cr(v, 4),
        .efer = v->mmu->efer_read(v),
        /* The guest's debug registers: its copies while GDB holds DR0-3/DR7. */
        .dr0 = svm_gdb.dr_owned ? svm_gdb.guest_dr[0] : dr_get(0),
        .dr1 = svm_gdb.dr_owned ? svm_gdb.guest_dr[1] : dr_get(1),
        .dr2 = svm_gdb.dr_owned ? svm_gdb.guest_dr[2] : dr_get(2),
        .dr3 = svm_gdb.dr_owned ? svm_gdb.guest_dr[3] : dr_get(3),
        .dr6 = s->dr6, .dr7 = svm_gdb.dr_owned ? svm_gdb.guest_dr7 : s->dr7,
        .gdtr_base = s->gdtr.base, .gdtr_limit = s->gdtr.limit, .idtr_base = s->idtr.base,
        .idtr_limit = s->idtr.limit, .ldtr = s->ldtr.sel, .ldtr_base = s->ldtr.base,
        .ldtr_limit = s->ldtr.limit, .tr = s->tr.sel, .tr_base = s->tr.base, .tr_limit = s->tr.limit,
    };
    if (svm_gdb.stepping)
        r->rflags = (r->rflags & ~X86_RFLAGS_TF) | (svm_gdb.guest_tf ? X86_RFLAGS_TF : 0);
    return 0;
}

/*
 * CR0/CR3/CR4/EFER written by GDB: first the checks VMRUN and the CPU make
 * (gdb_check_control(): a state VMRUN would refuse is refused here, with
 * its reason, and the guest runs on), then the shadow protocol (the same
 * calls the CR intercepts make), the old values back on a refusal.
 */
static int set_control(struct svm_vcpu *v, const struct gdb_regs *r)
{
    struct shadow_vcpu *s = v->sh;
    char why[128];
    if (r->cr0 == svm_guest_cr(v, 0) && r->cr3 == svm_guest_cr(v, 3) && r->cr4 == svm_guest_cr(v, 4) &&
        r->efer == v->mmu->efer_read(v))
        return 0;
    if (!s) {
        gdb_stub_why(&svm_gdb.stub, "control registers cannot be written from GDB under paging=npt");
        return -GDB_EPERM;
    }
    uint64_t o0 = s->guest_cr0, o4 = s->guest_cr4, oe = s->guest_efer, o3 = s->guest_cr3;
    struct gdb_regs old = { .cr0 = o0, .cr3 = o3, .cr4 = o4, .efer = oe }, n = *r;
    uint16_t cs = v->vmcb->save.cs.attrib;
    struct gdb_ctl_caps caps = {
        .cr4_allowed = v->mmu->cr4_allowed ? v->mmu->cr4_allowed() : 0,
        .efer_allowed = EFER_SCE | EFER_LME | EFER_LMA | (plat_cpu_features()->nx ? EFER_NXE : 0),
        .maxphyaddr = plat_cpu_features()->maxphyaddr,
        .cs_l = cs & (1u << 9), .cs_d = cs & (1u << 10),
    };
    if (!gdb_check_control(&old, &n, &caps, why, sizeof(why))) {
        gdb_stub_why(&svm_gdb.stub, "%s", why);
        return -GDB_EPERM;
    }
    if (n.cr0 != o0 || n.cr4 != o4 || n.efer != oe) {
        s->guest_cr0 = n.cr0 | X86_CR0_ET;
        s->guest_cr4 = n.cr4;
        s->guest_efer = n.efer;
        if (shadow_update_paging_mode(s) != 0) {
            s->guest_cr0 = o0, s->guest_cr4 = o4, s->guest_efer = oe;
            gdb_stub_why(&svm_gdb.stub, "the shadow refused the paging mode (PAE PDPTEs with reserved bits?)");
            return shadow_update_paging_mode(s) == 0 ? -GDB_EPERM : -GDB_EIO;
        }
        v->guest_efer = s->guest_efer;
    }
    if (n.cr3 != o3) {
        struct sh_fault f = { 0 };
        s->guest_cr3 = n.cr3;
        if (shadow_update_cr3(s, &f) != SH_FIXED) {
            gdb_stub_why(&svm_gdb.stub, "cr3 %#lx refused by the shadow: %s", (unsigned long)n.cr3,
                         f.why ? f.why : "the guest's top-level table is not usable");
            s->guest_cr3 = o3;
            shadow_update_cr3(s, &f);
            return -GDB_EPERM;
        }
    }
    return 0;
}

static int t_set_regs(void *t, unsigned cpu, const struct gdb_regs *r)
{
    struct svm_vcpu *v = t;
    struct vmcb_save *s = &v->vmcb->save;
    struct guest_regs *gr = &v->regs;
    (void)cpu;
    /* Segments need descriptors: GDB may only write back what it read. */
    if (r->cs != s->cs.sel || r->ss != s->ss.sel || r->ds != s->ds.sel || r->es != s->es.sel ||
        r->fs != s->fs.sel || r->gs != s->gs.sel) {
        gdb_stub_why(&svm_gdb.stub, "segment selectors are read-only (they need descriptors)");
        return -GDB_EPERM;
    }
    int rc = set_control(v, r);
    if (rc < 0)
        return rc;
    s->rax = r->rax, gr->rbx = r->rbx, gr->rcx = r->rcx, gr->rdx = r->rdx;
    gr->rsi = r->rsi, gr->rdi = r->rdi, gr->rbp = r->rbp, s->rsp = r->rsp;
    gr->r8 = r->r8, gr->r9 = r->r9, gr->r10 = r->r10, gr->r11 = r->r11;
    gr->r12 = r->r12, gr->r13 = r->r13, gr->r14 = r->r14, gr->r15 = r->r15;
    s->rip = r->rip;
    s->cr2 = r->cr2;
    uint64_t fl = (r->rflags | X86_RFLAGS_FIXED) & 0x3f7fd7ULL;
    if (svm_gdb.stepping) {
        svm_gdb.guest_tf = fl & X86_RFLAGS_TF;
        fl |= X86_RFLAGS_TF;
    }
    s->rflags = fl;
    s->fs.base = r->fs_base;
    s->gs.base = r->gs_base;
    /* Debug registers, checked by the stub (gdb_check_sysregs()); the
     * descriptor-table registers are read-only there.  GDB's own slots stay. */
    const uint64_t dr[4] = { r->dr0, r->dr1, r->dr2, r->dr3 };
    for (unsigned i = 0; i < 4; i++) {
        if (svm_gdb.dr_owned)
            svm_gdb.guest_dr[i] = dr[i];
        else if (dr[i] != dr_get(i))
            dr_set(i, dr[i]);
    }
    s->dr6 = r->dr6;
    if (svm_gdb.dr_owned)
        svm_gdb.guest_dr7 = r->dr7;
    else
        s->dr7 = r->dr7;
    return 0;
}

/* Paging off (or no shadow): guest-virtual is guest-physical. */
static int phys_xfer(uint64_t gpa, void *buf, size_t len, bool write)
{
    gfn_t gfn = _gfn(gpa >> PAGE_SHIFT);
    mfn_t m;
    char *p;
    if ((gpa & (PAGE_SIZE - 1)) + len > PAGE_SIZE)
        return -GDB_EINVAL;
    m = plat_gfn_to_mfn(gfn);
    if (!mfn_valid(m) || !plat_gfn_is_ram(gfn) || !gdb_map_frame(m, &p))
        return -GDB_EIO;
    p += gpa & (PAGE_SIZE - 1);
    if (write)
        memcpy(p, buf, len);
    else
        memcpy(buf, p, len);
    return 0;
}

static int t_read_virt(void *t, unsigned cpu, uint64_t va, void *buf, size_t len)
{
    struct svm_vcpu *v = t;
    (void)cpu;
    if (v->sh)
        return gdb_shadow_read_virt(v->sh, va, buf, len);
    if (!(svm_guest_cr(v, 0) & X86_CR0_PG))
        return phys_xfer(va, buf, len, false);
    /* npt: the guest's own tables (paging_ops.read_guest). */
    if (!(v->mmu->efer_read(v) & EFER_LMA))
        va = (uint32_t)va;
    return v->mmu->read_guest && v->mmu->read_guest(v, va, buf, len) ? 0 : -GDB_EIO;
}

static int t_write_virt(void *t, unsigned cpu, uint64_t va, const void *buf, size_t len)
{
    struct svm_vcpu *v = t;
    (void)cpu;
    if (v->sh)
        return gdb_shadow_write_virt(v->sh, va, buf, len);
    if (!(svm_guest_cr(v, 0) & X86_CR0_PG))
        return phys_xfer(va, (void *)buf, len, true);
    /* npt: through the guest's own tables (paging_ops.write_guest). */
    if (!(v->mmu->efer_read(v) & EFER_LMA))
        va = (uint32_t)va;
    return v->mmu->write_guest && v->mmu->write_guest(v, va, buf, len) ? 0 : -GDB_EIO;
}

static int t_read_phys(void *t, uint64_t gpa, void *buf, size_t len)
{
    (void)t;
    return phys_xfer(gpa, buf, len, false);
}

/* A physical write into a shadowed page table would bypass revalidation:
 * refused (write it by virtual address instead). */
static int t_write_phys(void *t, uint64_t gpa, const void *buf, size_t len)
{
    struct svm_vcpu *v = t;
    if (v->sh && gdb_shadow_is_table(v->sh->d, gpa >> PAGE_SHIFT))
        return -GDB_EPERM;
    return phys_xfer(gpa, (void *)buf, len, true);
}

static void t_resume(void *t, const enum gdb_run *run)
{
    struct svm_vcpu *v = t;
    struct vmcb *vm = v->vmcb;
    if (run[0] != GDB_RUN_STEP || svm_gdb.stepping)
        return;
    /*
     * No interrupt may come before the stepped instruction.  Two locks,
     * because each emulator honours only one: the interrupt shadow (Bochs,
     * hardware) and V_INTR_MASKING = 1, which hands INTR masking to the
     * host's IF, clear in Umbra (QEMU TCG takes the INTR intercept at VMRUN
     * despite the shadow; Bochs ignores the masking for the intercept).
     * After the instruction the single-step trap outranks the interrupt.
     */
    if (svm_gdb.window)
        svm_gdb_window(v, false);
    svm_gdb.stepping = true;
    svm_gdb.step_rip = vm->save.rip;
    svm_gdb.guest_tf = vm->save.rflags & X86_RFLAGS_TF;
    vm->save.rflags |= X86_RFLAGS_TF;
    vm->ctl.int_shadow |= 1;
    vm->ctl.vintr |= VINTR_MASKING;
}

static void t_detach(void *t, bool kill)
{
    struct svm_vcpu *v = t;
    for (unsigned i = 0; i < 4; i++)
        svm_gdb.hw[i].used = false;
    svm_gdb_dr_own(v, false);
    svm_gdb_end_step(v);
    svm_gdb.killed = kill;
}

const struct gdb_target_ops svm_gdb_ops = {
    .nr_cpus = t_nr_cpus,
    .paging_mode = t_paging_mode,
    .get_regs = t_get_regs,
    .set_regs = t_set_regs,
    .read_virt = t_read_virt,
    .write_virt = t_write_virt,
    .read_phys = t_read_phys,
    .write_phys = t_write_phys,
    .insert_hw = t_insert_hw,
    .remove_hw = t_remove_hw,
    .resume = t_resume,
    .detach = t_detach,
    .mon_walk = svm_mon_walk,
    .mon_shadows = svm_mon_shadows,
    .mon_shadow_entry = svm_mon_shadow_entry,
    .mon_pool = svm_mon_pool,
    .mon_stat = svm_mon_stat,
    .mon_audit = svm_mon_audit,
    .mon_blow = svm_mon_blow,
};
