/*
 * A model of the hardware TLB in front of the shadow tables, for
 * test_shadow_random.  The CPU running the guest caches the shadow's
 * translations; it drops them only on INVLPGA (plat_flush_va), on a
 * whole-ASID flush (v->tlb_flush before VMRUN), on a #PF at that address,
 * or by eviction (always legal).  So the shadow must flush whatever it takes
 * away from the hardware, and what it leaves cached must stay legal for the
 * guest:
 *
 *   T1 a TLB hit may complete an access only if the guest's translation *when
 *      the entry was filled* allowed it (same frame) -- a stale entry is legal
 *      on bare hardware until the guest flushes, never after;
 *   T2 after the guest's INVLPG va, no cached entry may translate any address
 *      of the guest page that contained va (a guest superpage splintered into
 *      4 KiB shadow entries must be flushed whole);
 *   T4 no cached writable entry reaches a frame shadowed as a page table
 *      (checked every few steps: the shadow must flush what it write-protects);
 *   T3 a guest MOV CR3 requests a whole flush (shadow.h), and a guest flush
 *      event (CR3 load, change of CR0.PG, CR4.PAE/PSE/PGE/SMEP, EFER.LME)
 *      retires every entry filled before it: using one is a failure.
 * Entries are 4 KiB (shadows map 4 KiB pages), direct-mapped, TLB_N of them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <umbra/x86.h>
#include <umbra/platform.h>
#include "sim_platform.h"
#include "shadow_world.h"

static struct world *hook_world;

static bool tlb_enabled(void)
{
    static int on = -1;
    if (on < 0)
        on = !env_flag("UMBRA_NO_TLB");
    return on;
}

static void hook(struct shadow_vcpu *v, gva_t va)
{
    if (hook_world && &hook_world->v == v)
        tlb_drop_va(hook_world, va);
}

void tlb_attach(struct world *w)
{
    memset(w->tlb, 0, sizeof(w->tlb));
    hook_world = w;
    sim_flush_hook = hook;
}

void tlb_flush_all(struct world *w)
{
    memset(w->tlb, 0, sizeof(w->tlb));
}

void tlb_sync(struct world *w)
{
    if (w->v.tlb_flush) {
        tlb_flush_all(w);
        w->v.tlb_flush = false;
        w->st->tlb_flushes++;
    }
}

void tlb_drop_va(struct world *w, gva_t va)
{
    for (int i = 0; i < TLB_N; i++)
        if (w->tlb[i].valid && ((va ^ w->tlb[i].va) & PAGE_MASK) == 0)
            w->tlb[i].valid = false;
}

void tlb_fill(struct world *w, gva_t va, uint32_t acc, const struct ref_result *h)
{
    struct tlbe *e = &w->tlb[(va >> PAGE_SHIFT) % TLB_N];
    struct ref_result g;
    if (!tlb_enabled())
        return;
    ref_guest_walk(&w->v, va, 0, false, REF_NO_SIDE_EFFECTS, &g);
    memset(e, 0, sizeof(*e));
    /* check_allowed() made sure it is mapped, unless only an old PTE (S1')
     * explained the access: such a fill is not modelled (T1 would judge it
     * against the current guest entry). */
    e->valid = g.mapped && !w->last_stale;
    e->va = va & PAGE_MASK;
    e->hpa = h->pa & PAGE_MASK;
    e->hu = h->user;
    e->hw = h->write;
    e->hnx = h->nx;
    e->hkey = (uint8_t)((h->entry[h->leaf_level] >> 59) & 15);
    e->dirty = acc & PFEC_WRITE;
    e->gu = g.user;
    e->gw = g.write;
    e->gnx = g.nx;
    e->gpa = g.pa & PAGE_MASK;
    e->gbase = va & ~(g.page_size - 1);
    e->gsize = g.page_size;
    e->epoch = w->guest_epoch;
    e->step = w->step;
}

bool tlb_hit(struct world *w, gva_t va, uint32_t acc, bool ac, uint64_t *hpa)
{
    struct tlbe *e = &w->tlb[(va >> PAGE_SHIFT) % TLB_N];
    if (!tlb_enabled() || !e->valid || ((va ^ e->va) & PAGE_MASK))
        return false;
    struct ref_paging hp = ref_hw_paging(&w->v), gp = ref_guest_paging(&w->v);
    if (!ref_rights_allow(&hp, e->hu, e->hw, e->hnx, acc, ac))
        return false;              /* the CPU re-walks (and faults) */
    if ((acc & PFEC_WRITE) && !e->dirty)
        return false;              /* first write through a clean entry re-walks to set D */
    if ((hp.cr4 & X86_CR4_PKE) && (hp.efer & EFER_LMA) && e->hu && !(acc & PFEC_INSN)) {
        /* PKRU is checked on every access, cached key against the current
         * register: a denial re-walks (and faults) */
        uint32_t r = sim_pkru >> (2 * e->hkey);
        if ((r & 1) || ((r & 2) && (acc & PFEC_WRITE) && ((acc & PFEC_USER) || (hp.cr0 & X86_CR0_WP))))
            return false;
    }
    if (e->epoch != w->guest_epoch && (w->v.guest_cr0 & X86_CR0_PG))
        wfail(w, "TLB entry for %#llx filled at step %lu survived a guest TLB flush (T3)",
              (unsigned long long)va, e->step);
    bool nx = e->gnx && (w->v.guest_efer & EFER_NXE);
    if (!ref_rights_allow(&gp, e->gu, e->gw, nx, acc, ac))
        wfail(w, "TLB entry for %#llx (filled at step %lu: shadow %s%s%s, guest %s%s%s) lets %s "
              "through that the guest never allowed (T1)", (unsigned long long)va, e->step,
              e->hu ? "U" : "S", e->hw ? "W" : "R", e->hnx ? " NX" : "",
              e->gu ? "U" : "S", e->gw ? "W" : "R", e->gnx ? " NX" : "", acc_name(acc));
    mfn_t m = plat_gfn_to_mfn(_gfn(e->gpa >> PAGE_SHIFT));
    if (!mfn_valid(m) || (mfn_x(m) << PAGE_SHIFT) != e->hpa)
        wfail(w, "TLB entry for %#llx maps host %#llx, the guest had gpa %#llx (T1)",
              (unsigned long long)va, (unsigned long long)e->hpa, (unsigned long long)e->gpa);
    *hpa = e->hpa | (va & (PAGE_SIZE - 1));
    w->st->tlb_hits++;
    return true;
}

void tlb_check_guest_invlpg(struct world *w, gva_t va)
{
    tlb_sync(w);
    for (int i = 0; i < TLB_N; i++) {
        struct tlbe *e = &w->tlb[i];
        if (!e->valid || va < e->gbase || va - e->gbase >= e->gsize)
            continue;
        wfail(w, "guest INVLPG %#llx left the TLB entry for %#llx (guest page %#llx+%#llx, "
                  "filled at step %lu) (T2)", (unsigned long long)va, (unsigned long long)e->va,
                  (unsigned long long)e->gbase, (unsigned long long)e->gsize, e->step);
    }
}

/* Collect the guest frames shadowed as page tables (not fl1/fl2/phys shadows). */
static bool note_pt(const struct shadow_info *si, void *arg)
{
    uint8_t *pt = arg;
    /* An out-of-sync table may be written through the TLB (O, docs/shadow.md). */
    if (si->guest_levels && strncmp(si->type, "fl", 2) && gfn_x(si->gfn) < sim_ram_frames()
        && !si->out_of_sync)
        pt[gfn_x(si->gfn) >> 3] |= 1u << (gfn_x(si->gfn) & 7);
    return true;
}

/*
 * T4: no cached writable translation may reach a frame that is now shadowed
 * as a page table -- a write through it would change the guest's tables
 * behind the shadow's back (the shadow must flush when it write-protects).
 */
void tlb_check_write_protect(struct world *w)
{
    static uint8_t pt[(1u << 20) / 8];
    uint64_t frames = sim_ram_frames();
    tlb_sync(w);
    memset(pt, 0, (frames + 7) / 8);
    shadow_for_each(w->d, note_pt, pt);
    for (int i = 0; i < TLB_N; i++) {
        struct tlbe *e = &w->tlb[i];
        uint64_t f = e->hpa >> PAGE_SHIFT;
        if (!(e->valid && e->hw && e->dirty && f < frames && (pt[f >> 3] & (1u << (f & 7)))))
            continue;
        wfail(w, "TLB entry for %#llx (filled at step %lu) still writes frame %#llx, which "
                  "is now shadowed as a page table (T4)", (unsigned long long)e->va, e->step,
                  (unsigned long long)f);
    }
}
