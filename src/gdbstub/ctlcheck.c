/*
 * Checks on control registers a debugger writes (P/G of cr0, cr3, cr4,
 * efer): the consistency checks VMRUN makes on the guest state (AMD APM
 * vol. 2, 15.5.1 "Basic Operation", canonicalization and consistency
 * checks), plus the #GP(0) rules of MOV CRn / WRMSR EFER that keep the
 * shadow's view of the guest a state a real CPU could be in.  A write that
 * fails them would be accepted by the stub and kill the guest at the next
 * VMRUN ("VMRUN refused the guest state"), so the target refuses it and
 * the reason goes back to GDB.  Pure: no hardware, compiled into the hosted
 * tests unchanged.
 */
#include <umbra/gdbstub.h>
#include <umbra/lib.h>
#include <umbra/x86.h>

#define CR0_PE  (1ULL << 0)
#define CR0_NW  (1ULL << 29)
#define CR0_CD  (1ULL << 30)
#define CR0_PG  (1ULL << 31)
#define CR4_PAE (1ULL << 5)
#define EF_LME  (1ULL << 8)
#define EF_LMA  (1ULL << 10)

/* The fixed order of the checks makes the first broken rule the one named.
 * EFER.LMA is the CPU's: left as it was, it becomes LME && PG in *n (as the
 * CPU sets it when paging goes on); changed by the writer, it must agree. */
bool gdb_check_control(const struct gdb_regs *o, struct gdb_regs *n, const struct gdb_ctl_caps *c,
                       char *why, size_t size)
{
    bool pg = n->cr0 & CR0_PG, lme = n->efer & EF_LME, lma = n->efer & EF_LMA;
    bool old_64 = (o->efer & EF_LMA) && c->cs_l;

    if (!((o->efer ^ n->efer) & EF_LMA) && !(n->efer & ~c->efer_allowed)) {
        lma = lme && pg;
        n->efer = (n->efer & ~EF_LMA) | (lma ? EF_LMA : 0);
    }

    if (n->cr0 >> 32)
        snprintf(why, size, "cr0 0x%llx: bits 63:32 must be zero (VMRUN check)", (unsigned long long)n->cr0);
    else if ((n->cr0 & CR0_NW) && !(n->cr0 & CR0_CD))
        snprintf(why, size, "cr0 0x%llx: NW=1 needs CD=1 (VMRUN check)", (unsigned long long)n->cr0);
    else if (pg && !(n->cr0 & CR0_PE))
        snprintf(why, size, "cr0 0x%llx: PG=1 needs PE=1 (MOV CR0 raises GP(0))", (unsigned long long)n->cr0);
    else if (n->cr4 & ~c->cr4_allowed)
        snprintf(why, size, "cr4 0x%llx: bits 0x%llx reserved or not offered to the guest (VMRUN check)",
                 (unsigned long long)n->cr4, (unsigned long long)(n->cr4 & ~c->cr4_allowed));
    else if (n->efer & ~c->efer_allowed)
        snprintf(why, size, "efer 0x%llx: bits 0x%llx reserved or not offered to the guest (VMRUN check)",
                 (unsigned long long)n->efer, (unsigned long long)(n->efer & ~c->efer_allowed));
    else if (lma != (lme && pg))
        snprintf(why, size, "efer 0x%llx: LMA=%d with LME=%d and CR0.PG=%d; LMA is set by the CPU "
                 "(write LME, then CR0.PG)", (unsigned long long)n->efer, lma, lme, pg);
    else if (lme && pg && !(n->cr4 & CR4_PAE))
        snprintf(why, size, "long mode (EFER.LME=1, CR0.PG=1) needs CR4.PAE=1 (VMRUN check)");
    else if (lme && pg && c->cs_l && c->cs_d)
        snprintf(why, size, "long mode with CS.L=1 and CS.D=1 (VMRUN check)");
    else if ((o->cr0 & CR0_PG) && pg && ((o->efer ^ n->efer) & EF_LME))
        snprintf(why, size, "efer: LME cannot change while paging is on (WRMSR raises GP(0))");
    else if (old_64 && !pg)
        snprintf(why, size, "cr0: paging cannot be turned off in 64-bit code (MOV CR0 raises GP(0))");
    else if (lma && c->maxphyaddr < 64 && (n->cr3 >> c->maxphyaddr))
        snprintf(why, size, "cr3 0x%llx: bits above MAXPHYADDR (%u) must be zero in long mode (VMRUN check)",
                 (unsigned long long)n->cr3, c->maxphyaddr);
    else
        return true;
    return false;
}

/*
 * Debug and descriptor-table registers written by GDB.  The descriptor-table
 * registers stay read-only: a new GDTR/IDTR/LDTR/TR would not reload the
 * hidden segment state cached from the old tables, so the guest would run
 * with a state no LGDT/LIDT/LLDT/LTR sequence produces (as with the segment
 * selectors).  The debug registers are the guest's (the target keeps them
 * apart from the stub's hbreak/watch slots), so any value a MOV DRn could
 * load is accepted.  Invariant: o and n differ only where GDB wrote.
 */
#define DR7_MBZ    ((1ULL << 11) | (1ULL << 12) | (1ULL << 14) | (1ULL << 15))
#define DR7_ONE    (1ULL << 10)
#define CR4_LA57   (1ULL << 12)

bool gdb_check_sysregs(const struct gdb_regs *o, struct gdb_regs *n, char *why, size_t size)
{
    static const struct { const char *name; size_t off; } ro[] = {
#define RO(f) { #f, offsetof(struct gdb_regs, f) }
        RO(gdtr_base), RO(gdtr_limit), RO(idtr_base), RO(idtr_limit), RO(ldtr), RO(ldtr_base),
        RO(ldtr_limit), RO(tr), RO(tr_base), RO(tr_limit),
#undef RO
    };
    const uint64_t *dr[4] = { &n->dr0, &n->dr1, &n->dr2, &n->dr3 };
    bool lma = o->efer & EF_LMA;
    unsigned vabits = (o->cr4 & CR4_LA57) ? 57 : 48;

    for (unsigned i = 0; i < ARRAY_SIZE(ro); i++) {
        uint64_t a, b;
        memcpy(&a, (const char *)o + ro[i].off, sizeof(a));
        memcpy(&b, (const char *)n + ro[i].off, sizeof(b));
        if (a != b) {
            snprintf(why, size, "%s is read-only (the guest's LGDT/LIDT/LLDT/LTR set it, with the "
                     "segment state it caches)", ro[i].name);
            return false;
        }
    }
    for (unsigned i = 0; i < 4; i++) {
        uint64_t v = *dr[i];
        if (!lma && (v >> 32)) {
            snprintf(why, size, "dr%u 0x%llx: bits 63:32 must be zero outside long mode", i,
                     (unsigned long long)v);
            return false;
        }
        if (lma && (uint64_t)((int64_t)(v << (64 - vabits)) >> (64 - vabits)) != v) {
            snprintf(why, size, "dr%u 0x%llx: not canonical (MOV DR%u raises GP(0))", i,
                     (unsigned long long)v, i);
            return false;
        }
    }
    if (n->dr6 >> 32) {
        snprintf(why, size, "dr6 0x%llx: bits 63:32 must be zero (VMRUN check)", (unsigned long long)n->dr6);
        return false;
    }
    if (n->dr7 >> 32) {
        snprintf(why, size, "dr7 0x%llx: bits 63:32 must be zero (VMRUN check)", (unsigned long long)n->dr7);
        return false;
    }
    if (n->dr7 & DR7_MBZ) {
        snprintf(why, size, "dr7 0x%llx: reserved bits 0x%llx must be zero", (unsigned long long)n->dr7,
                 (unsigned long long)(n->dr7 & DR7_MBZ));
        return false;
    }
    if (n->dr7 != o->dr7)
        n->dr7 |= DR7_ONE;
    return true;
}
