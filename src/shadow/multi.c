/*
 * multi.c -- the guest-mode dependent half of the shadow MMU, written once
 * and compiled once per guest paging level (guest_2.c, guest_3.c,
 * guest_4.c: `#define GUEST_LEVELS N` + `#include "multi.c"`).  This file
 * holds what every part of the template shares (the names block, the mode's
 * entry width and types, the entry helpers, the mutant switches) and the
 * dispatch table; the functions live in fragments it includes, one concern
 * each (multi_walk, multi_propagate, multi_fault, multi_cr3, multi_audit
 * .inc.c), so that the mode is still one compilation.  The names block below
 * gives every function a per-mode name (walk_g3, page_fault_g4, ...);
 * sh_mode_gN is the dispatch table the vCPU points at while in that mode.
 *
 * Shadow format = guest format: 2-level guests on 2-level shadows (32-bit
 * entries), PAE guests on PAE shadows (the four guest PDPTEs are cached at
 * CR3 load and mirrored in a per-vCPU shadow PDPT), long-mode guests on
 * 4-level shadows.  Guest superpages are splintered into fl1 shadows: a
 * shadow never uses PS, so every guest 4 KiB frame is checked one by one.
 */
#include "private.h"
#include "entry.h"

#ifndef GUEST_LEVELS
#error "multi.c is compiled through guest_2.c, guest_3.c or guest_4.c"
#endif

#define SH_NAME(n) SH_XCAT3(n, _g, GUEST_LEVELS)

/*
 * The names block: every function of the template (this file and the
 * multi_*.inc.c fragments), one line each, gets its per-mode name here (walk ->
 * walk_g3, page_fault -> page_fault_g4, ...), so the definitions below are
 * written with plain names that grep and ctags find, and a backtrace or a
 * symbol table still tells the modes apart.  A new function of the template
 * gets its line here.  The names that are also members of struct
 * shadow_mode are undefined again just above the dispatch table at the end.
 * The entry accessors SH_ENTRY_TYPE writes (gl1e_val, slne_frame, ...) are
 * not listed: one-line inlines that never reach a symbol table.
 */
#define idx                      SH_NAME(idx)
#define nxe                      SH_NAME(nxe)
#define superpage                SH_NAME(superpage)
#define rsvd                     SH_NAME(rsvd)
#define sp_base                  SH_NAME(sp_base)
#define gw_raw                   SH_NAME(gw_raw)
#define gw_set                   SH_NAME(gw_set)
#define fault                    SH_NAME(fault)
#define walk                     SH_NAME(walk)
#define set_ad                   SH_NAME(set_ad)
#define translate                SH_NAME(translate)
#define translate_leaf           SH_NAME(translate_leaf)
#define translate_fetch          SH_NAME(translate_fetch)
#define mk_leaf                  SH_NAME(mk_leaf)
#define mk_leaf_mfn              SH_NAME(mk_leaf_mfn)
#define l1e_flags                SH_NAME(l1e_flags)
#define l1e_flags_with           SH_NAME(l1e_flags_with)
#define l1e_propagate_from_guest SH_NAME(l1e_propagate_from_guest)
#define set_l1e                  SH_NAME(set_l1e)
#define fl1e_propagate           SH_NAME(fl1e_propagate)
#define lne_propagate_from_guest SH_NAME(lne_propagate_from_guest)
#define install                  SH_NAME(install)
#define child_of                 SH_NAME(child_of)
#define fl2e_link                SH_NAME(fl2e_link)
#define get_shadow               SH_NAME(get_shadow)
#define make_shadow              SH_NAME(make_shadow)
#define top_shadow               SH_NAME(top_shadow)
#define linked_shadow            SH_NAME(linked_shadow)
#define get_and_create_l1e       SH_NAME(get_and_create_l1e)
#define prefetch_l1              SH_NAME(prefetch_l1)
#define set_toplevel_shadow      SH_NAME(set_toplevel_shadow)
#define top_failed               SH_NAME(top_failed)
#define wp0_leaf_ok              SH_NAME(wp0_leaf_ok)
#define page_fault               SH_NAME(page_fault)
#define invlpg                   SH_NAME(invlpg)
#define update_cr3               SH_NAME(update_cr3)
#define validate                 SH_NAME(validate)
#define destroy                  SH_NAME(destroy)
#define mode_vcpu                SH_NAME(mode_vcpu)
#define audit                    SH_NAME(audit)
#define walk_info                SH_NAME(walk_info)

#if GUEST_LEVELS == 2
typedef uint32_t entry_raw_t;    /* the width of every entry, guest and shadow */
#define NENT     1024
#define LSHIFT   10
#define GADDR    ((uint64_t)PTE32_ADDR_MASK)
#define TOPS     2           /* level of the shadow top (hw CR3 points at it) */
#define FL1      SH_T_FL1_32
static const uint8_t ltype[5] = { 0, SH_T_L1_32, SH_T_L2_32, 0, 0 };
#elif GUEST_LEVELS == 3
typedef uint64_t entry_raw_t;
#define NENT     512
#define LSHIFT   9
#define GADDR    PADDR_MASK_52
#define TOPS     2           /* the l2 shadows; the PDPT is per vCPU */
#define FL1      SH_T_FL1_PAE
static const uint8_t ltype[5] = { 0, SH_T_L1_PAE, SH_T_L2_PAE, 0, 0 };
#elif GUEST_LEVELS == 4
typedef uint64_t entry_raw_t;
#define NENT     512
#define LSHIFT   9
#define GADDR    PADDR_MASK_52
#define TOPS     4
#define FL1      SH_T_FL1_64
static const uint8_t ltype[5] = { 0, SH_T_L1_64, SH_T_L2_64, SH_T_L3_64, SH_T_L4_64 };
#else
#error "GUEST_LEVELS must be 2, 3 or 4"
#endif

/* The four kinds of entry (entry.h): guest PTE, guest upper-level entry,
 * shadow leaf, shadow link. */
SH_ENTRY_TYPE(gl1e_t, gl1e, entry_raw_t, GADDR)
SH_ENTRY_TYPE(glne_t, glne, entry_raw_t, GADDR)
SH_ENTRY_TYPE(sl1e_t, sl1e, entry_raw_t, GADDR)
SH_ENTRY_TYPE(slne_t, slne, entry_raw_t, GADDR)

#define P   ((uint64_t)_PAGE_PRESENT)
#define RW  ((uint64_t)_PAGE_RW)
#define US  ((uint64_t)_PAGE_USER)
#define ACC ((uint64_t)_PAGE_ACCESSED)
#define DIR ((uint64_t)_PAGE_DIRTY)
#define PS  ((uint64_t)_PAGE_PSE)
#define CACHE ((uint64_t)(_PAGE_PWT | _PAGE_PCD))
/* Long mode: the protection key of a leaf (bits 62:59, used with CR4.PKE),
 * copied so the hardware checks PKRU itself. */
#define PKEY  (GUEST_LEVELS == 4 ? 0x7800000000000000ULL : 0)

static inline unsigned idx(gva_t va, unsigned l)
{
    return (unsigned)(va >> (PAGE_SHIFT + LSHIFT * (l - 1))) & (NENT - 1);
}

/* EFER.NXE in effect: the guest set it and the CPU has NX (read through
 * the domain's pointer to the platform's features, which is stable). */
static inline bool nxe(const struct shadow_vcpu *v)
{
    return GUEST_LEVELS > 2 && (v->guest_efer & EFER_NXE) && v->d->feat->nx;
}

/* Does a present entry at level l with PS set map a superpage (vs. being reserved/ignored)? */
static inline bool superpage(const struct shadow_vcpu *v, unsigned l, glne_t e)
{
    if (!glne_has(e, PS))
        return false;
#if GUEST_LEVELS == 2
    return l == 2 && (v->guest_cr4 & X86_CR4_PSE);
#else
    (void)v;
    return l == 2 || l == 3;   /* 1 GiB: only without reserved PS (rsvd() checks) */
#endif
}

/* Reserved bits of a present guest entry at level l, raw value e (any level:
 * the walker and the audit judge every level alike; I1: such entries are
 * never shadowed). */
static uint64_t rsvd(const struct shadow_vcpu *v, unsigned l, uint64_t e)
{
#if GUEST_LEVELS == 2
    const struct plat_cpu_features *f = v->d->feat;
    if (l == 2 && superpage(v, l, glne_mk(e))) {
        /* 4 MiB PDE: bits 20:13 carry PA 39:32 with PSE-36, bit 21 is reserved */
        unsigned hi = f->pse36 ? (f->maxphyaddr >= 40 ? 8 : f->maxphyaddr - 32) : 0;
        return (1ULL << 21) | ((0xffULL << 13) & ~(((1ULL << hi) - 1) << 13));
    }
    return 0;
#else
    uint64_t r = v->d->rsvd_addr[GUEST_LEVELS == 3 ? 0 : 1];   /* sh_rsvd_addr(62 or 51) */
    if (!nxe(v))
        r |= _PAGE_NX;
    if (l == 2 && (e & PS))
        r |= 0xffULL << 13;                       /* 2 MiB: bits 20:13 */
#if GUEST_LEVELS == 4
    if (l == 3 && (e & PS))
        r |= v->d->feat->pdpe1gb ? 0x1ffffULL << 13 : _PAGE_PSE;   /* 1 GiB: bits 29:13 */
    if (l == 4)
        r |= _PAGE_PSE | _PAGE_GLOBAL;      /* AMD: PML4E bits 8:7 are MBZ */
#endif
    return r;
#endif
}

/* First 4 KiB guest frame of the superpage a leaf entry at level l maps. */
static inline uint64_t sp_base(glne_t e, unsigned l)
{
#if GUEST_LEVELS == 2
    (void)l;
    uint64_t r = glne_val(e);
    return ((r >> 22) << 10) | (((r >> 13) & 0xff) << 20);
#else
    uint64_t m = l == 2 ? 0x1fffffULL : 0x3fffffffULL;
    return (glne_val(e) & GADDR & ~m) >> PAGE_SHIFT;
#endif
}

/*
 * Fault injection, for proving the tests notice a walker that sets A on an
 * access SMAP refuses: the mutant build (umbra-mutant-asmap.elf,
 * libshadow-asmap.a) sets A on every entry of such a walk before faulting.
 * Never on in umbra.elf.
 */
#ifndef SHADOW_MUTANT_A_BEFORE_SMAP
#define SHADOW_MUTANT_A_BEFORE_SMAP 0
#endif

/*
 * Fault injection, for proving the tests notice a shadow that gets the
 * guest's D bit wrong.  SHADOW_MUTANT_NO_DIRTY = kind (1..4), or -1: the kind
 * is read at run time from sh_mutant_dbit (the hosted libshadow_dbit.a; the
 * test binary defines the variable, test/unit/mutant-dbit.sh).  Kinds:
 *   1  a writable 4 KiB leaf is mapped writable before the guest's D is set
 *      (umbra-mutant-dbit.elf, test/e2e/mutant-dbit.sh);
 *   2  the link to a guest superpage's splinter likewise;
 *   3  the walker does not set D on the leaf of a write;
 *   4  the walker sets D on the leaf of a read;
 *   5, 6  out-of-sync mutants (common.c): a resync that skips an entry, no
 *      resync at INVLPG.
 * 0 (umbra.elf, libshadow.a): no mutant, DBIT_MUTANT(k) is a constant 0.
 */
#ifndef SHADOW_MUTANT_NO_DIRTY
#define SHADOW_MUTANT_NO_DIRTY 0
#endif
#if SHADOW_MUTANT_NO_DIRTY < 0
extern unsigned sh_mutant_dbit;
#define DBIT_MUTANT(k) (sh_mutant_dbit == (k))
#else
#define DBIT_MUTANT(k) (SHADOW_MUTANT_NO_DIRTY == (k))
#endif

/*
 * The template's concerns, one fragment each (each under ~400 lines), in
 * the order their functions need one another:
 */
#include "multi_walk.inc.c"        /* the guest walker, A/D, translate */
#include "multi_propagate.inc.c"   /* guest -> shadow entries, validate, destroy */
#include "multi_fault.inc.c"       /* get_and_create_l1e, #PF, INVLPG */
#include "multi_cr3.inc.c"         /* set_toplevel_shadow, CR3 load */
#include "multi_audit.inc.c"       /* the audit of one shadow, the monitor walk */

/* The designators below are member names: take the names block off them. */
#undef page_fault
#undef update_cr3
#undef invlpg
#undef translate
#undef translate_fetch
#undef walk_info
#undef validate
#undef destroy
#undef audit

const struct shadow_mode SH_XCAT3(sh_mode_g, GUEST_LEVELS, ) = {
    .name = GUEST_LEVELS == 2 ? "2level" : GUEST_LEVELS == 3 ? "pae" : "long",
    .paging = GUEST_LEVELS == 2 ? GUEST_PAGING_2LEVEL
            : GUEST_LEVELS == 3 ? GUEST_PAGING_PAE : GUEST_PAGING_LONG,
    .guest_levels = GUEST_LEVELS,
    .page_fault = SH_NAME(page_fault),
    .update_cr3 = SH_NAME(update_cr3),
    .invlpg = SH_NAME(invlpg),
    .translate = SH_NAME(translate),
    .translate_fetch = SH_NAME(translate_fetch),
    .walk_info = SH_NAME(walk_info),
    .validate = SH_NAME(validate),
    .destroy = SH_NAME(destroy),
    .audit = SH_NAME(audit),
};
