/*
 * The decisions of a hardware task switch (AMD APM vol. 2, 12.3 "Task
 * Switching"; Intel SDM vol. 3, 7.3 for the order of the checks).  Pure:
 * no guest memory, no VMCB, no globals.  src/svm/taskswitch.c does the
 * accesses in the CPU's order and asks these rules between them;
 * test/unit/test_core_taskswitch.c checks them hosted, linked unchanged.
 */
#include <umbra/types.h>
#include <umbra/x86.h>
#include <umbra/x86emu.h>
#include "tsrules.h"

#define RFLAGS_NT  TS_RFLAGS_NT
#define RFLAGS_RF  (1u << 16)

static int fault(struct ts_verdict *vd, unsigned vec, uint32_t err)
{
    *vd = (struct ts_verdict){ .vector = (uint8_t)vec, .err = err };
    return TS_FAULT;
}

static int stop(struct ts_verdict *vd, const char *why)
{
    *vd = (struct ts_verdict){ .why = why };
    return TS_STOP;
}

static unsigned desc_type(uint64_t d) { return (d >> 40) & 0xf; }
static unsigned desc_dpl(uint64_t d) { return (d >> 45) & 3; }

uint32_t ts_desc_base(uint64_t d) { return (uint32_t)(((d >> 16) & 0xffffff) | ((d >> 32) & 0xff000000)); }
uint16_t ts_desc_attr(uint64_t d) { return (uint16_t)(((d >> 40) & 0xff) | ((d >> 44) & 0xf00)); }
uint32_t ts_desc_limit(uint64_t d)
{
    uint32_t l = (uint32_t)((d & 0xffff) | ((d >> 32) & 0xf0000));
    return (d & (1ULL << 55)) ? (l << 12) | 0xfff : l;
}

struct vmcb_seg ts_desc_seg(uint16_t sel, uint64_t d)
{
    return (struct vmcb_seg){ .sel = sel, .attrib = ts_desc_attr(d), .limit = ts_desc_limit(d),
                              .base = ts_desc_base(d) };
}

bool ts_desc_la(uint16_t sel, const struct vmcb_seg *gdtr, const struct vmcb_seg *ldtr, uint64_t *la)
{
    const struct vmcb_seg *tbl = (sel & 4) ? ldtr : gdtr;
    if ((sel & 4) && !(tbl->attrib & X86_SEG_ATTR_P))
        return false;
    if ((uint32_t)(sel & ~7u) + 7 > tbl->limit)
        return false;
    *la = tbl->base + (sel & ~7u);
    return true;
}

uint8_t ts_busy_byte(uint64_t d, bool busy)
{
    return (uint8_t)(((busy ? d | TS_DESC_BUSY : d & ~TS_DESC_BUSY) >> 40) & 0xff);
}

struct ts_cause ts_cause(uint64_t i2, uint64_t ii, bool int_n)
{
    struct ts_cause c = { .event = ii & SVM_EVT_VALID };
    uint64_t etype = ii & (7ULL << 8);
    unsigned evec = ii & 0xff;
    c.soft = c.event && (int_n || etype == SVM_EVT_TYPE_SOFT ||
                         (etype == SVM_EVT_TYPE_EXC && (evec == X86_EXC_BP || evec == X86_EXC_OF)));
    c.why = (i2 & TS_INFO2_IRET) ? TS_IRET : (i2 & TS_INFO2_JMP) ? TS_JMP : !c.event ? TS_CALL
          : c.soft ? TS_GATE_SOFT : TS_GATE_EVENT;
    c.nested = c.why != TS_JMP && c.why != TS_IRET;
    c.ext = (c.event && !c.soft) ? 1 : 0;
    return c;
}

bool ts_target_wants_desc(uint16_t sel, bool in_gdt)
{
    return !(sel & 4) && in_gdt;
}

int ts_check_target(const struct ts_cause *c, uint16_t sel, bool in_gdt, uint64_t d,
                    const struct vmcb_seg *tr, struct ts_verdict *vd)
{
    bool iret = c->why == TS_IRET;
    unsigned bad = iret ? X86_EXC_TS : X86_EXC_GP;     /* a bad target: IRET #TS, the others #GP */
    uint32_t err = (sel & 0xfffc) | c->ext;

    if (!ts_target_wants_desc(sel, in_gdt))
        return fault(vd, bad, err);
    unsigned type = desc_type(d);
    if ((d & TS_DESC_S) || (type & ~2u) != 9) {
        if ((type & ~2u) == 1 && !(d & TS_DESC_S))
            return stop(vd, "16-bit TSS");
        return fault(vd, bad, err);
    }
    if (!(d & TS_DESC_P))
        return fault(vd, X86_EXC_NP, err);
    if (iret ? !(d & TS_DESC_BUSY) : !!(d & TS_DESC_BUSY))
        return fault(vd, bad, err);
    if (ts_desc_limit(d) < TSS32_MIN_LIMIT)
        return fault(vd, X86_EXC_TS, err);
    if ((tr->attrib & 0xf) != 0xB)
        return stop(vd, "the current task has a 16-bit TSS");
    if (tr->limit < TSS32_SAVE_END)
        return fault(vd, X86_EXC_TS, (tr->sel & 0xfffc) | c->ext);
    return TS_OK;
}

void ts_save_old(const struct ts_regs *r, uint64_t next_rip, uint64_t i2, bool iret, uint32_t save[10])
{
    save[0] = (uint32_t)next_rip;
    save[1] = ((uint32_t)r->rflags & ~(RFLAGS_RF | (iret ? RFLAGS_NT : 0))) |
              ((i2 & TS_INFO2_RF) ? RFLAGS_RF : 0);
    save[2] = (uint32_t)r->rax; save[3] = (uint32_t)r->rcx;
    save[4] = (uint32_t)r->rdx; save[5] = (uint32_t)r->rbx;
    save[6] = (uint32_t)r->rsp; save[7] = (uint32_t)r->rbp;
    save[8] = (uint32_t)r->rsi; save[9] = (uint32_t)r->rdi;
}

struct ts_plan ts_plan(enum ts_reason why)
{
    return (struct ts_plan){ .clear_old_busy = why == TS_JMP || why == TS_IRET,
                             .set_new_busy = why != TS_IRET,
                             .link = why != TS_JMP && why != TS_IRET };
}

int ts_new_state(const uint8_t *tss, bool nested, struct ts_state *st, struct ts_verdict *vd)
{
    uint32_t w[8], eip, eflags;

    __builtin_memcpy(w, tss + TSS_EAX, sizeof(w));
    __builtin_memcpy(&eip, tss + TSS_EIP, 4);
    __builtin_memcpy(&eflags, tss + TSS_EFLAGS, 4);
    if (eflags & X86_RFLAGS_VM)
        return stop(vd, "the new task is virtual-8086 (not emulated)");
    __builtin_memcpy(&st->cr3, tss + TSS_CR3, 4);
    __builtin_memcpy(&st->ldt, tss + TSS_LDT, 2);
    for (unsigned i = 0; i < 6; i++)
        __builtin_memcpy(&st->sel[i], tss + TSS_ES + 4 * i, 2);
    st->r = (struct ts_regs){ .rax = w[0], .rcx = w[1], .rdx = w[2], .rbx = w[3],
                              .rsp = w[4], .rbp = w[5], .rsi = w[6], .rdi = w[7], .rip = eip,
                              .rflags = (eflags | 2u | (nested ? RFLAGS_NT : 0)) & 0x3f7fd7u };
    st->trap = tss[TSS_TRAP] & 1;
    return TS_OK;
}

bool ts_ldt_wants_desc(uint16_t ldt, bool in_gdt)
{
    return (ldt & ~3u) && !(ldt & 4) && in_gdt;
}

int ts_check_ldt(uint16_t ldt, bool in_gdt, uint64_t d, uint32_t ext, struct vmcb_seg *out,
                 struct ts_verdict *vd)
{
    uint32_t err = (ldt & 0xfffc) | ext;
    if (!(ldt & ~3u)) {
        *out = (struct vmcb_seg){ .sel = ldt };
        return TS_OK;
    }
    if (!ts_ldt_wants_desc(ldt, in_gdt))
        return fault(vd, X86_EXC_TS, err);
    if ((d & TS_DESC_S) || desc_type(d) != 2 || !(d & TS_DESC_P))
        return fault(vd, X86_EXC_TS, err);
    *out = ts_desc_seg(ldt, d);
    return TS_OK;
}

bool ts_seg_wants_desc(uint16_t sel, bool in_table)
{
    return (sel & ~3u) && in_table;
}

int ts_check_seg(unsigned seg, uint16_t sel, bool in_table, uint64_t d, unsigned cpl, uint32_t ext,
                 struct vmcb_seg *out, bool *set_accessed, struct ts_verdict *vd)
{
    uint32_t err = (sel & 0xfffc) | ext;
    unsigned rpl = sel & 3;

    *set_accessed = false;
    if (!(sel & ~3u)) {
        if (seg == X86_SEG_CS || seg == X86_SEG_SS)
            return fault(vd, X86_EXC_TS, err);
        *out = (struct vmcb_seg){ .sel = sel };       /* null: unusable */
        return TS_OK;
    }
    if (!in_table)
        return fault(vd, X86_EXC_TS, err);
    unsigned type = desc_type(d), dpl = desc_dpl(d);
    bool code = type & 8, conforming = code && (type & 4);
    if (!(d & TS_DESC_S))                                /* system descriptor */
        return fault(vd, X86_EXC_TS, err);
    if (seg == X86_SEG_CS) {
        if (!code || (conforming ? dpl > cpl : dpl != cpl))
            return fault(vd, X86_EXC_TS, err);
    } else if (seg == X86_SEG_SS) {
        if (code || !(type & 2) || rpl != cpl || dpl != cpl)
            return fault(vd, X86_EXC_TS, err);
    } else {
        if ((code && !(type & 2)) || (!conforming && (dpl < cpl || dpl < rpl)))
            return fault(vd, X86_EXC_TS, err);
    }
    if (!(d & TS_DESC_P))
        return fault(vd, seg == X86_SEG_SS ? X86_EXC_SS : X86_EXC_NP, err);
    if (!(type & 1)) {
        *set_accessed = true;
        d |= 1ULL << 40;
    }
    *out = ts_desc_seg(sel, d);
    return TS_OK;
}

int ts_push_err(const struct vmcb_seg *ss, uint64_t rsp, uint32_t ext, uint64_t *la, uint64_t *new_rsp,
                struct ts_verdict *vd)
{
    bool big = ss->attrib & X86_SEG_ATTR_DB;
    uint32_t esp = (uint32_t)rsp - 4;
    if (!big)
        esp = ((uint32_t)rsp & ~0xffffu) | (esp & 0xffff);
    uint32_t off = big ? esp : esp & 0xffff;
    /* Expand-up stacks only (what the CPU checks for a push at the limit). */
    if (!(ss->attrib & 4) && off + 3 > ss->limit)
        return fault(vd, X86_EXC_SS, ext);
    *la = ss->base + off;
    *new_rsp = esp;
    return TS_OK;
}
