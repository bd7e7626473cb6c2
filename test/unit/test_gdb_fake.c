/*
 * The fake target (see test_gdb_fake.h).  Its page walker is a real one over
 * the simulated memory, so `m` by virtual address, the page split, the hole
 * and `monitor walk` are tested against actual table contents, not canned
 * answers.
 */
#include "test_gdb_fake.h"
#include <umbra/lib.h>
#include <umbra/x86.h>

#define PTE_P   _PAGE_PRESENT
#define PTE_RW  _PAGE_RW
#define PTE_US  _PAGE_USER
#define PTE_A   _PAGE_ACCESSED

static uint64_t rd64(struct fake *f, uint64_t pa)
{
    uint64_t v = 0;
    if (pa + 8 <= FAKE_MEM_SIZE)
        memcpy(&v, f->mem + pa, 8);
    return v;
}

static void wr64(struct fake *f, uint64_t pa, uint64_t v)
{
    memcpy(f->mem + pa, &v, 8);
}

static uint64_t guest_cr3(struct fake *f) { return f->mode == GUEST_PAGING_LONG ? 0x4000 : 0x1000; }
static uint64_t shadow_cr3(struct fake *f) { return f->mode == GUEST_PAGING_LONG ? 0x84000 : 0x80000; }

/* Walk from cr3; fill lv[] (top first) with this side of the walk if given. */
static bool walk(struct fake *f, uint64_t cr3, uint64_t va, struct gdb_walk *w, bool shadow, uint64_t *pa)
{
    bool lm = f->mode == GUEST_PAGING_LONG;
    unsigned levels = lm ? 4 : 3;
    uint64_t table = cr3 & ~0xfffULL;

    for (unsigned l = levels, i = 0; l >= 1; l--, i++) {
        unsigned shift = 12 + 9 * (l - 1);
        unsigned idx = (unsigned)((va >> shift) & ((!lm && l == 3) ? 3 : 511));
        uint64_t e = rd64(f, table + idx * 8ULL);

        if (w) {
            struct gdb_walk_level *lv = &w->lv[i];
            lv->level = l;
            lv->leaf = l == 1;
            if (shadow) {
                lv->s_valid = true; lv->s_table = table; lv->s_index = idx; lv->s_entry = e;
            } else {
                lv->g_valid = true; lv->g_table = table; lv->g_index = idx; lv->g_entry = e;
            }
        }
        if (!(e & PTE_P))
            return false;
        table = e & PADDR_MASK_52;
    }
    *pa = table | (va & 0xfff);
    return true;
}

bool fake_translate(struct fake *f, uint64_t va, bool shadow, uint64_t *pa)
{
    if (f->mode == GUEST_PAGING_OFF) {
        *pa = va;
        return va < FAKE_MEM_SIZE;
    }
    return walk(f, shadow ? shadow_cr3(f) : guest_cr3(f), va, NULL, shadow, pa) && *pa < FAKE_MEM_SIZE;
}

static void build_shadows(struct fake *f)
{
    /* shadow PD and PT mirror the guest's, pointing at shadow tables */
    memset(f->mem + 0x80000, 0, 0x6000);
    wr64(f, 0x80000, 0x81000 | PTE_P);
    wr64(f, 0x81000 + 2 * 8, 0x82000 | PTE_P | PTE_RW | PTE_US | PTE_A);
    for (unsigned i = 0; i < 512; i++) {
        uint64_t g = rd64(f, 0x3000 + i * 8ULL);
        if (g & PTE_P)
            wr64(f, 0x82000 + i * 8ULL, g | PTE_A);
    }
    wr64(f, 0x84000, 0x85000 | PTE_P | PTE_RW | PTE_US | PTE_A);
    wr64(f, 0x85000, 0x81000 | PTE_P | PTE_RW | PTE_US | PTE_A);
    f->nshadows = f->mode == GUEST_PAGING_LONG ? 4 : 3;
}

static const uint8_t program[] = {
    0xb8, 0x00, 0x00, 0x00, 0x00,       /* 400000: mov eax, 0 */
    0x40,                               /* 400005: inc eax            <- loop */
    0x43,                               /* 400006: inc ebx */
    0xa3, 0x00, 0x10, 0x40, 0x00,       /* 400007: mov [0x401000], eax */
    0x90,                               /* 40000c: nop */
    0xeb, 0xf6,                         /* 40000d: jmp 400005 */
    0x90,                               /* 40000f: nop */
    0xeb, 0xfe,                         /* 400010: jmp $ (vCPU 1) */
};

void fake_init(struct fake *f, enum guest_paging mode)
{
    memset(f, 0, sizeof(*f));
    f->mode = mode;
    /* guest tables: PAE PDPT 0x1000, long-mode PML4 0x4000 + PDPT 0x5000; shared PD/PT */
    wr64(f, 0x1000, 0x2000 | PTE_P);
    wr64(f, 0x4000, 0x5000 | PTE_P | PTE_RW | PTE_US);
    wr64(f, 0x5000, 0x2000 | PTE_P | PTE_RW | PTE_US);
    wr64(f, 0x2000 + 2 * 8, 0x3000 | PTE_P | PTE_RW | PTE_US);
    wr64(f, 0x3000 + 0 * 8, 0x10000 | PTE_P | PTE_RW | PTE_US);
    wr64(f, 0x3000 + 1 * 8, 0x11000 | PTE_P | PTE_RW);
    wr64(f, 0x3000 + 2 * 8, 0x12000 | PTE_P | PTE_RW);
    wr64(f, 0x3000 + 4 * 8, 0x14000 | PTE_P | _PAGE_NX);
    build_shadows(f);
    memcpy(f->mem + 0x10000, program, sizeof(program));
    for (unsigned i = 0; i < 4096; i++)
        f->mem[0x11000 + i] = (uint8_t)i, f->mem[0x12000 + i] = (uint8_t)(0xff - (i & 0xff)),
        f->mem[0x14000 + i] = 0x5a;
    for (unsigned c = 0; c < FAKE_NCPUS; c++) {
        struct gdb_regs *r = &f->regs[c];
        r->rip = c ? FAKE_IDLE_VA : FAKE_CODE_VA;
        r->rsp = 0x402ff0;
        r->rflags = X86_RFLAGS_FIXED;
        r->cs = mode == GUEST_PAGING_LONG ? 0x10 : 0x08;
        r->ss = r->ds = r->es = 0x18;
        r->cr0 = X86_CR0_PE | X86_CR0_PG | X86_CR0_ET;
        r->cr3 = guest_cr3(f);
        r->cr4 = X86_CR4_PAE;
        r->efer = mode == GUEST_PAGING_LONG ? (EFER_LME | EFER_LMA | EFER_NXE) : EFER_NXE;
        r->rsi = 0x1122334455667788ULL;     /* high half visible only in the amd64 layout */
        /* the guest's debug and descriptor-table registers (distinct values) */
        r->dr0 = 0x401000, r->dr6 = 0xffff0ff0, r->dr7 = 0x401;
        r->gdtr_base = 0x9000, r->gdtr_limit = 0x27, r->idtr_base = 0x9800, r->idtr_limit = 0x7ff;
        r->ldtr = 0, r->ldtr_limit = 0xffff, r->tr = 0x20, r->tr_base = 0x9400, r->tr_limit = 0x67;
    }
}

/* ---- target ops ---- */
static unsigned f_nr_cpus(void *t) { (void)t; return FAKE_NCPUS; }
static enum guest_paging f_mode(void *t, unsigned cpu) { (void)cpu; return ((struct fake *)t)->mode; }

static int f_get_regs(void *t, unsigned cpu, struct gdb_regs *r)
{
    struct fake *f = t;
    if (cpu >= FAKE_NCPUS)
        return -GDB_EINVAL;
    *r = f->regs[cpu];
    return 0;
}

static int f_set_regs(void *t, unsigned cpu, const struct gdb_regs *r)
{
    struct fake *f = t;
    struct gdb_regs n = *r;
    char why[128];
    /* A CPU like QEMU's EPYC model: what a real target checks (ctlcheck.c). */
    const struct gdb_ctl_caps caps = {
        .cr4_allowed = 0x7ff | X86_CR4_FSGSBASE | X86_CR4_OSXSAVE | X86_CR4_SMEP | X86_CR4_SMAP,
        .efer_allowed = EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE,
        .maxphyaddr = 40,
        .cs_l = f->mode == GUEST_PAGING_LONG,
    };
    if (cpu >= FAKE_NCPUS)
        return -GDB_EINVAL;
    if (!gdb_check_control(&f->regs[cpu], &n, &caps, why, sizeof(why))) {
        if (f->stub)
            gdb_stub_why(f->stub, "%s", why);
        return -GDB_EPERM;
    }
    f->regs[cpu] = n;
    return 0;
}

static int f_virt(void *t, unsigned cpu, uint64_t va, void *buf, size_t len, bool write)
{
    struct fake *f = t;
    uint64_t pa;

    (void)cpu;
    if ((va & 0xfff) + len > 4096)      /* the stub promised not to cross a page */
        return -GDB_EINVAL;
    if (!fake_translate(f, va, false, &pa) || pa + len > FAKE_MEM_SIZE)
        return -GDB_EIO;
    if (write) {
        memcpy(f->mem + pa, buf, len);
        f->writes++;
    } else {
        memcpy(buf, f->mem + pa, len);
        f->reads++;
    }
    return 0;
}

static int f_read_virt(void *t, unsigned cpu, uint64_t va, void *buf, size_t len)
{
    return f_virt(t, cpu, va, buf, len, false);
}

static int f_write_virt(void *t, unsigned cpu, uint64_t va, const void *buf, size_t len)
{
    return f_virt(t, cpu, va, (void *)buf, len, true);
}

static int f_read_phys(void *t, uint64_t pa, void *buf, size_t len)
{
    struct fake *f = t;
    if (pa >= FAKE_MEM_SIZE || len > FAKE_MEM_SIZE - pa)
        return -GDB_EIO;
    memcpy(buf, f->mem + pa, len);
    return 0;
}

static int f_write_phys(void *t, uint64_t pa, const void *buf, size_t len)
{
    struct fake *f = t;
    if (pa >= FAKE_MEM_SIZE || len > FAKE_MEM_SIZE - pa)
        return -GDB_EIO;
    memcpy(f->mem + pa, buf, len);
    return 0;
}

static int f_insert_hw(void *t, enum gdb_bp_type type, uint64_t addr, unsigned kind)
{
    struct fake *f = t;

    if (type == GDB_WP_READ)
        return -GDB_ENOSYS;             /* like DR7: no read-only watchpoints */
    if (type != GDB_BP_HW && kind != 1 && kind != 2 && kind != 4 && kind != 8)
        return -GDB_EINVAL;
    for (unsigned i = 0; i < 4; i++) {
        if (!f->hw[i].used) {
            f->hw[i] = (struct fake_hw){ true, type, addr, type == GDB_BP_HW ? 1 : kind };
            return 0;
        }
    }
    return -GDB_ENOSPC;
}

static int f_remove_hw(void *t, enum gdb_bp_type type, uint64_t addr, unsigned kind)
{
    struct fake *f = t;

    (void)kind;
    for (unsigned i = 0; i < 4; i++) {
        if (f->hw[i].used && f->hw[i].type == type && f->hw[i].addr == addr) {
            f->hw[i].used = false;
            return 0;
        }
    }
    return -GDB_ENOENT;
}

static void f_resume(void *t, const enum gdb_run *run)
{
    struct fake *f = t;
    for (unsigned i = 0; i < FAKE_NCPUS; i++) {
        f->run[i] = run[i];
        f->fresh[i] = true;
    }
    if (!f->nshadows)
        build_shadows(f);               /* after `blow`, shadows come back on demand */
    f->resumes++;
}

static void f_detach(void *t, bool kill)
{
    struct fake *f = t;
    memset(f->hw, 0, sizeof(f->hw));
    f->detached = true;
    f->killed = kill;
}

/* ---- monitor hooks ---- */
static int f_walk(void *t, unsigned cpu, uint64_t va, struct gdb_walk *w)
{
    struct fake *f = t;
    uint64_t pa;

    (void)cpu;
    w->mode = f->mode;
    w->va = va;
    w->nlevels = f->mode == GUEST_PAGING_LONG ? 4 : 3;
    w->g_ok = walk(f, guest_cr3(f), va, w, false, &pa);
    if (w->g_ok)
        w->gpa = pa;
    else
        w->g_pfec = 0;
    w->s_ok = f->nshadows && walk(f, shadow_cr3(f), va, w, true, &pa);
    if (w->s_ok)
        w->hpa = pa;
    return 0;
}

struct fake_shadow { uint64_t smfn, gfn; const char *type; unsigned level, entries; };
static const struct fake_shadow pae_shadows[] = {
    { 0x80, 0x1, "l3_pae", 3, 4 }, { 0x81, 0x2, "l2_pae", 2, 512 }, { 0x82, 0x3, "l1_pae", 1, 512 },
};
static const struct fake_shadow lm_shadows[] = {
    { 0x84, 0x4, "l4_64", 4, 512 }, { 0x85, 0x5, "l3_64", 3, 512 },
    { 0x81, 0x2, "l2_64", 2, 512 }, { 0x82, 0x3, "l1_64", 1, 512 },
};

static const struct fake_shadow *shadow_at(struct fake *f, unsigned long i)
{
    if (i >= f->nshadows)
        return NULL;
    return f->mode == GUEST_PAGING_LONG ? &lm_shadows[i] : &pae_shadows[i];
}

static void fill_info(const struct fake_shadow *fs, unsigned long i, struct gdb_shadow_info *si)
{
    si->smfn = fs->smfn;
    si->gfn = fs->gfn;
    si->type = fs->type;
    si->level = fs->level;
    si->guest_levels = strcmp(fs->type + strlen(fs->type) - 3, "_64") == 0 ? 4 : 3;
    si->entries = fs->entries;
    si->refcount = 1;
    si->pinned = i == 0;
    si->in_use = i == 0;
}

static int f_shadows(void *t, bool (*fn)(const struct gdb_shadow_info *, void *), void *arg)
{
    struct gdb_shadow_info si;
    for (unsigned long i = 0; shadow_at(t, i); i++) {
        fill_info(shadow_at(t, i), i, &si);
        if (!fn(&si, arg))
            break;
    }
    return 0;
}

static int f_shadow_info(void *t, uint64_t smfn, struct gdb_shadow_info *si)
{
    for (unsigned long i = 0; shadow_at(t, i); i++) {
        if (shadow_at(t, i)->smfn == smfn) {
            fill_info(shadow_at(t, i), i, si);
            return 0;
        }
    }
    return -GDB_ENOENT;
}

static int f_shadow_entry(void *t, const struct gdb_shadow_info *si, unsigned i, uint64_t *se, uint64_t *ge)
{
    struct fake *f = t;
    struct gdb_shadow_info known;

    if (f_shadow_info(t, si->smfn, &known) < 0 || i >= known.entries)
        return -GDB_ENOENT;
    *se = rd64(f, known.smfn * 4096 + i * 8ULL);
    *ge = rd64(f, known.gfn * 4096 + i * 8ULL);
    return 0;
}

static int f_pool(void *t, struct gdb_pool_info *pi)
{
    struct fake *f = t;
    pi->total = 64;
    pi->shadows = f->nshadows;
    pi->pinned = f->nshadows ? 1 : 0;
    pi->free = pi->total - pi->shadows;
    return 0;
}

static int f_stat(void *t, unsigned idx, const char **name, const char **group, uint64_t *v)
{
    struct fake *f = t;
    *group = idx < 3 ? "run" : "memory";
    switch (idx) {
    case 0: *name = "insns"; *v = f->insns; return 0;
    case 1: *name = "steps"; *v = f->steps; return 0;
    case 2: *name = "resumes"; *v = f->resumes; return 0;
    case 3: *name = "virt_reads"; *v = f->reads; return 0;
    case 4: *name = "virt_writes"; *v = f->writes; return 0;
    default: return -GDB_ENOENT;
    }
}

/* A real check: every present shadow entry must be granted by its guest entry. */
static long f_audit(void *t, const struct gdb_out *out)
{
    struct fake *f = t;
    struct gdb_shadow_info si;
    long errs = 0;

    for (unsigned long i = 0; shadow_at(f, i); i++) {
        fill_info(shadow_at(f, i), i, &si);
        for (unsigned e = 0; e < si.entries; e++) {
            uint64_t se, ge;
            f_shadow_entry(t, &si, e, &se, &ge);
            if (!(se & PTE_P))
                continue;
            bool bad = !(ge & PTE_P) || ((se & PTE_RW) && !(ge & PTE_RW)) ||
                       ((se & PTE_US) && !(ge & PTE_US)) ||
                       (si.level == 1 && (se & PADDR_MASK_52) != (ge & PADDR_MASK_52));
            if (bad) {
                errs++;
                gdb_printf(out, "umbra: audit: smfn 0x%llx [%u] shadow 0x%llx guest 0x%llx\n",
                           (unsigned long long)si.smfn, e, (unsigned long long)se, (unsigned long long)ge);
            }
        }
    }
    return errs;
}

static int f_blow(void *t)
{
    struct fake *f = t;
    f->nshadows = 0;
    return 0;
}

const struct gdb_target_ops fake_ops = {
    .nr_cpus = f_nr_cpus, .paging_mode = f_mode,
    .get_regs = f_get_regs, .set_regs = f_set_regs,
    .read_virt = f_read_virt, .write_virt = f_write_virt,
    .read_phys = f_read_phys, .write_phys = f_write_phys,
    .insert_hw = f_insert_hw, .remove_hw = f_remove_hw,
    .resume = f_resume, .detach = f_detach,
    .mon_walk = f_walk, .mon_shadows = f_shadows,
    .mon_shadow_entry = f_shadow_entry, .mon_pool = f_pool, .mon_stat = f_stat,
    .mon_audit = f_audit, .mon_blow = f_blow,
};

/* ---- the toy CPU ---- */
static bool hw_hit(struct fake *f, enum gdb_bp_type type, uint64_t a, unsigned len, uint64_t *where)
{
    for (unsigned i = 0; i < 4; i++) {
        const struct fake_hw *h = &f->hw[i];
        bool kind = type == GDB_BP_HW ? h->type == GDB_BP_HW
                                      : (h->type == GDB_WP_WRITE || h->type == GDB_WP_ACCESS);
        if (h->used && kind && a < h->addr + h->len && h->addr < a + len) {
            *where = h->addr;
            return true;
        }
    }
    return false;
}

/* Execute one instruction on cpu.  true + *why when it stops. */
static bool exec_one(struct fake *f, unsigned cpu, struct gdb_stop *why)
{
    struct gdb_regs *r = &f->regs[cpu];
    uint8_t insn[5];
    uint64_t pc = r->rip, where;
    int32_t imm;

    memset(why, 0, sizeof(*why));
    why->cpu = cpu;
    why->signal = GDB_SIGTRAP;
    if (!f->fresh[cpu] && hw_hit(f, GDB_BP_HW, pc, 1, &where)) {
        why->hwbreak = true;
        return true;
    }
    f->fresh[cpu] = false;
    if (f_read_virt(f, cpu, pc, insn, 1) < 0 ||
        ((pc & 0xfff) <= 4091 && f_read_virt(f, cpu, pc, insn, 5) < 0)) {
        why->signal = GDB_SIGSEGV;
        return true;
    }
    f->insns++;
    switch (insn[0]) {
    case 0xcc:
        if (f->stub && gdb_stub_swbp_at(f->stub, pc)) {
            why->swbreak = true;        /* GDB's breakpoint: report at pc */
            return true;
        }
        r->rip = pc + 1;
        return true;
    case 0x90: r->rip = pc + 1; return false;
    case 0x40: r->rax = (uint32_t)(r->rax + 1); r->rip = pc + 1; return false;
    case 0x43: r->rbx = (uint32_t)(r->rbx + 1); r->rip = pc + 1; return false;
    case 0xb8:
        memcpy(&imm, insn + 1, 4);
        r->rax = (uint32_t)imm;
        r->rip = pc + 5;
        return false;
    case 0xa3: {
        uint32_t a, v = (uint32_t)r->rax;
        memcpy(&a, insn + 1, 4);
        r->rip = pc + 5;
        if (f_write_virt(f, cpu, a, &v, 4) < 0) {
            why->signal = GDB_SIGSEGV;
            return true;
        }
        if (hw_hit(f, GDB_WP_WRITE, a, 4, &where)) {
            why->watch = true;
            why->watch_type = GDB_WP_WRITE;
            why->watch_addr = where;
            return true;
        }
        return false;
    }
    case 0xeb: r->rip = pc + 2 + (int8_t)insn[1]; return false;
    default:
        why->signal = 4;                /* SIGILL */
        return true;
    }
}

bool fake_run(struct fake *f, unsigned budget, struct gdb_stop *why)
{
    for (unsigned n = 0; n < budget; n++) {
        bool any = false;
        for (unsigned c = 0; c < FAKE_NCPUS; c++) {
            if (f->run[c] == GDB_RUN_STOP)
                continue;
            any = true;
            bool stop = exec_one(f, c, why);
            if (f->run[c] == GDB_RUN_STEP) {
                f->steps++;
                stop = true;
            }
            if (stop) {
                for (unsigned k = 0; k < FAKE_NCPUS; k++)
                    f->run[k] = GDB_RUN_STOP;   /* all-stop */
                return true;
            }
        }
        if (!any)
            return false;
    }
    return false;
}
