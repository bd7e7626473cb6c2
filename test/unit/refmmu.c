/*
 * Reference page walker (AMD APM vol. 2 ch. 5, cross-checked with the Intel
 * SDM vol. 3 ch. 4 where AMD is silent).  Written for clarity, not speed:
 * it is the oracle the shadow MMU is judged against.
 *
 * Virtual address split per mode:
 *
 *   2-level   31      22 21      12 11        0
 *             |  PD idx |  PT idx  |  offset   |        (PSE: 4 MiB page = bits 21:0)
 *   PAE       31 30 29    21 20    12 11      0
 *             |PDP| PD idx | PT idx  | offset  |        (PS: 2 MiB page)
 *   long      47    39 38   30 29    21 20    12 11    0
 *             | PML4 | PDP   |  PD   |  PT   | offset|  (1 GiB / 2 MiB pages)
 *
 * Rules implemented (APM 5.3-5.6, 5.7 for reserved bits):
 *   - U/S and R/W are ANDed over all levels, NX is ORed (only with
 *     EFER.NXE; bit 63 is reserved otherwise).  Legacy-PAE PDPTEs carry no
 *     U/S, R/W, A or NX: those bits are reserved there.
 *   - Supervisor writes ignore R/W unless CR0.WP; SMEP forbids supervisor
 *     fetches from user pages; SMAP forbids supervisor data accesses to user
 *     pages unless RFLAGS.AC (explicit accesses only).
 *   - Protection keys: long mode, data accesses; CR4.PKE with PKRU for user
 *     pages, CR4.PKS with IA32_PKRS for supervisor pages.
 *   - Reserved bits: physical-address bits at and above MAXPHYADDR (up to 51
 *     in long mode, up to 62 in legacy PAE), bit 63 without NXE, PS in a
 *     PML4E, bit 8 in a PML4E (AMD), PS in a PDPTE without 1 GiB pages, the
 *     low address bits of a superpage above PAT (20:13, 29:13), and in a
 *     2-level 4 MiB PDE bit 21 and the PSE-36/40 bits above MAXPHYADDR.
 *     2-level 4 KiB entries have none.  A reserved bit in a present entry
 *     gives #PF with P=1, RSV=1 whatever the rights.
 *   - Error code: P (protection / reserved, not not-present), W/R, U/S,
 *     RSV, I/D on fetches when SMEP is on or (CR4.PAE and EFER.NXE), PK.
 *   - A/D bits are set only when the access completes (A in every entry
 *     used, D in the leaf on a write), never on a faulting access.
 */
#include <stdio.h>
#include <string.h>

#include <umbra/x86.h>
#include <umbra/platform.h>
#include "refmmu.h"
#include "sim_platform.h"

#define BITS(hi, lo) ((~0ULL >> (63 - (hi))) & ~((1ULL << (lo)) - 1))

enum guest_paging ref_mode(uint64_t cr0, uint64_t cr4, uint64_t efer)
{
    if (!(cr0 & X86_CR0_PG))
        return GUEST_PAGING_OFF;
    if (efer & EFER_LMA)
        return GUEST_PAGING_LONG;
    if (cr4 & X86_CR4_PAE)
        return GUEST_PAGING_PAE;
    return GUEST_PAGING_2LEVEL;
}

static unsigned maxphy(void)
{
    unsigned m = plat_cpu_features()->maxphyaddr;
    return m > 52 ? 52 : m;
}

uint64_t ref_pdpte_rsvd(unsigned maxphyaddr)
{
    return BITS(63, maxphyaddr) | PDPTE_RSVD_LOW;
}

/* Physical address of a table entry -> pointer, or NULL (unbacked). */
static void *entry_ptr(const struct ref_paging *p, uint64_t pa, unsigned size)
{
    if (p->host_phys)
        return sim_phys(pa);
    mfn_t m = plat_gfn_to_mfn(_gfn(pa >> PAGE_SHIFT));
    if (!mfn_valid(m) || !plat_gfn_is_ram(_gfn(pa >> PAGE_SHIFT)))
        return NULL;
    (void)size;
    return sim_phys((mfn_x(m) << PAGE_SHIFT) | (pa & (PAGE_SIZE - 1)));
}

bool ref_load_pdptes(uint64_t cr3, uint64_t out[4])
{
    struct ref_paging p = { .host_phys = false };
    bool good = true;
    for (int i = 0; i < 4; i++) {
        uint64_t *e = entry_ptr(&p, (cr3 & 0xffffffe0ULL) + 8 * i, 8);
        out[i] = e ? *e : 0;
        if ((out[i] & _PAGE_PRESENT) && (out[i] & ref_pdpte_rsvd(maxphy())))
            good = false;
    }
    return good;
}

/* Reserved-bit mask of an entry at `level` in `mode` (leaf: PS set). */
static uint64_t rsvd_mask(const struct ref_paging *p, enum guest_paging mode,
                          int level, bool leaf)
{
    unsigned m = maxphy();
    const struct plat_cpu_features *f = plat_cpu_features();
    uint64_t nx = (p->efer & EFER_NXE) ? 0 : _PAGE_NX;

    if (mode == GUEST_PAGING_2LEVEL) {
        if (level == 2 && leaf) {
            unsigned m2 = f->pse36 ? (m < 40 ? m : 40) : 32;
            uint64_t r = 1ULL << 21;
            if (m2 < 40)
                r |= BITS(20, 13 + (m2 - 32));
            return r;
        }
        return 0;
    }
    uint64_t high = mode == GUEST_PAGING_LONG ? (m < 52 ? BITS(51, m) : 0) : BITS(62, m);
    switch (level) {
    case 4:
        return high | nx | _PAGE_PSE | (1ULL << 8);
    case 3:
        if (mode == GUEST_PAGING_PAE)
            return ref_pdpte_rsvd(m);
        return high | nx | (leaf ? BITS(29, 13) : 0);
    case 2:
        return high | nx | (leaf ? BITS(20, 13) : 0);
    default:
        return high | nx;
    }
}

static uint32_t access_bits(uint32_t access)
{
    return access & (PFEC_WRITE | PFEC_USER | PFEC_INSN);
}

static void fault(const struct ref_paging *p, struct ref_result *r, uint32_t access,
                  uint32_t extra)
{
    r->ok = false;
    r->vector = X86_EXC_PF;
    r->pfec = extra | (access & (PFEC_WRITE | PFEC_USER));
    if ((access & PFEC_INSN) &&
        ((p->cr4 & X86_CR4_SMEP) || ((p->cr4 & X86_CR4_PAE) && (p->efer & EFER_NXE))))
        r->pfec |= PFEC_INSN;
}

bool ref_rights_allow(const struct ref_paging *p, bool user, bool write, bool nx,
                      uint32_t access, bool ac)
{
    bool is_user = access & PFEC_USER, is_write = access & PFEC_WRITE;
    bool fetch = access & PFEC_INSN;
    if (fetch && nx)
        return false;
    if (is_user)
        return user && (write || !is_write);
    if (is_write && !write && (p->cr0 & X86_CR0_WP))
        return false;
    if (fetch && user && (p->cr4 & X86_CR4_SMEP))
        return false;
    if (!fetch && user && (p->cr4 & X86_CR4_SMAP) && !ac)
        return false;
    return true;
}

/* How walk_tables() ended: paging off (every access allowed), #GP, a #PF
 * whatever the access (not present, reserved bit: the error code's extra
 * bits), or a translation whose rights judge() still weighs. */
enum walk_end { WALK_OFF, WALK_GP, WALK_PF, WALK_MAPPED };

/*
 * The part of a walk that does not depend on the access: the entries read
 * (r->entry[], entry_pa[], leaf_level, levels, table_unbacked; eptr[] their
 * pointers), and for WALK_MAPPED the translation and the rights combined
 * over the levels (r->mapped, pa, page_size, user, write, nx), *leaf = the
 * level of the leaf and *e its entry.  r is zeroed by the caller.
 */
static enum walk_end walk_tables(const struct ref_paging *p, gva_t va, struct ref_result *r,
                                 uint64_t *eptr[5], int *leaf, uint64_t *ep, uint32_t *extra)
{
    enum guest_paging mode = ref_mode(p->cr0, p->cr4, p->efer);
    unsigned esize = mode == GUEST_PAGING_2LEVEL ? 4 : 8;
    uint64_t table;
    int level;

    if (mode == GUEST_PAGING_OFF) {
        r->ok = r->mapped = r->user = r->write = true;
        r->pa = va & 0xffffffffULL;
        r->page_size = PAGE_SIZE;
        return WALK_OFF;
    }
    if (mode == GUEST_PAGING_LONG) {
        r->levels = 4;
        if ((uint64_t)((int64_t)(va << 16) >> 16) != va) {
            r->vector = X86_EXC_GP;
            return WALK_GP;
        }
        table = p->cr3 & BITS(maxphy() - 1, 12);
    } else {
        va &= 0xffffffffULL;
        r->levels = mode == GUEST_PAGING_PAE ? 3 : 2;
        table = mode == GUEST_PAGING_PAE ? (p->cr3 & 0xffffffe0ULL) : (p->cr3 & PTE32_ADDR_MASK);
    }

    bool user = true, write = true, nx = false;
    uint64_t e = 0;
    for (level = r->levels; level >= 1; level--) {
        unsigned shift = mode == GUEST_PAGING_2LEVEL ? 12 + 10 * (level - 1) : 12 + 9 * (level - 1);
        unsigned idx_mask = mode == GUEST_PAGING_2LEVEL ? 1023 : (mode == GUEST_PAGING_PAE && level == 3 ? 3 : 511);
        uint64_t epa = table + ((va >> shift) & idx_mask) * esize;
        bool cached_pdpte = mode == GUEST_PAGING_PAE && level == 3 && p->pdpte;

        if (cached_pdpte) {
            e = p->pdpte[(va >> 30) & 3];
            epa = 0;
        } else {
            void *ptr = entry_ptr(p, epa, esize);
            if (!ptr) {
                r->table_unbacked = true;
                e = 0;
            } else {
                eptr[level] = ptr;
                e = esize == 4 ? *(uint32_t *)ptr : *(uint64_t *)ptr;
            }
        }
        r->entry[level] = e;
        r->entry_pa[level] = epa;
        r->leaf_level = level;

        if (!(e & _PAGE_PRESENT)) {
            *extra = 0;
            return WALK_PF;
        }
        bool leaf = level == 1;
        if (level == 2 && (e & _PAGE_PSE) &&
            (mode != GUEST_PAGING_2LEVEL || (p->cr4 & X86_CR4_PSE)))
            leaf = true;
        if (level == 3 && mode == GUEST_PAGING_LONG && (e & _PAGE_PSE)) {
            if (!plat_cpu_features()->pdpe1gb) {
                *extra = PFEC_PRESENT | PFEC_RSVD;
                return WALK_PF;
            }
            leaf = true;
        }
        if (e & rsvd_mask(p, mode, level, leaf)) {
            if (mode == GUEST_PAGING_PAE && level == 3 && !cached_pdpte) {
                /* A bad PDPTE fails the CR3 load (#GP), never the walk. */
                r->vector = X86_EXC_GP;
                return WALK_GP;
            }
            *extra = PFEC_PRESENT | PFEC_RSVD;
            return WALK_PF;
        }
        if (!(mode == GUEST_PAGING_PAE && level == 3)) {
            user = user && (e & _PAGE_USER);
            write = write && (e & _PAGE_RW);
            if (mode != GUEST_PAGING_2LEVEL && (p->efer & EFER_NXE) && (e & _PAGE_NX))
                nx = true;
        }
        if (leaf)
            break;
        table = mode == GUEST_PAGING_2LEVEL ? (e & PTE32_ADDR_MASK) : (e & PADDR_MASK_52);
    }

    /* Translation found. */
    r->mapped = true;
    r->user = user;
    r->write = write;
    r->nx = nx;
    if (mode == GUEST_PAGING_2LEVEL) {
        if (level == 2) {
            r->page_size = 4ULL << 20;
            r->pa = (e & 0xffc00000ULL) | (((e >> 13) & 0xff) << 32) | (va & 0x3fffff);
        } else {
            r->page_size = PAGE_SIZE;
            r->pa = (e & PTE32_ADDR_MASK) | (va & 0xfff);
        }
    } else {
        r->page_size = 1ULL << (12 + 9 * (level - 1));
        r->pa = (e & PADDR_MASK_52 & ~(r->page_size - 1)) | (va & (r->page_size - 1));
    }
    *leaf = level;
    *ep = e;
    return WALK_MAPPED;
}

/* The verdict for one access (access_bits() applied) on what walk_tables()
 * found: r->ok, or the fault (vector, pfec).  Reads p, e and r's rights. */
static bool judge(const struct ref_paging *p, enum walk_end end, uint32_t extra, uint64_t e,
                  uint32_t access, bool ac, struct ref_result *r)
{
    if (end == WALK_OFF)
        return true;
    if (end == WALK_GP)
        return false;
    if (end == WALK_PF) {
        fault(p, r, access, extra);
        return false;
    }
    bool user = r->user;
    bool is_user = access & PFEC_USER, is_write = access & PFEC_WRITE;
    bool fetch = access & PFEC_INSN;
    bool bad = !ref_rights_allow(p, user, r->write, r->nx, access, ac);
    uint32_t pk = 0;
    if (ref_mode(p->cr0, p->cr4, p->efer) == GUEST_PAGING_LONG && (p->cr4 & (user ? X86_CR4_PKE : X86_CR4_PKS))
        && !fetch) {
        unsigned key = (e >> 59) & 15;
        uint32_t rights = user ? p->pkru : p->pkrs;
        bool ad = (rights >> (2 * key)) & 1, wd = (rights >> (2 * key + 1)) & 1;
        if (ad || (wd && is_write && (is_user || (p->cr0 & X86_CR0_WP))))
            pk = PFEC_PK;
    }
    if (bad || pk) {
        fault(p, r, access, PFEC_PRESENT | pk);
        return false;
    }
    r->ok = true;
    return true;
}

bool ref_walk(const struct ref_paging *p, gva_t va, uint32_t access, bool ac,
              unsigned flags, struct ref_result *r)
{
    uint64_t *eptr[5] = { 0 };
    uint64_t e = 0;
    uint32_t extra = 0;
    int level = 0;

    memset(r, 0, sizeof(*r));
    access = access_bits(access);
    enum walk_end end = walk_tables(p, va, r, eptr, &level, &e, &extra);
    if (!judge(p, end, extra, e, access, ac, r))
        return false;
    if (end == WALK_OFF)
        return true;
    if (!(flags & REF_NO_SIDE_EFFECTS)) {
        bool pae = ref_mode(p->cr0, p->cr4, p->efer) == GUEST_PAGING_PAE;
        bool narrow = ref_mode(p->cr0, p->cr4, p->efer) == GUEST_PAGING_2LEVEL;
        for (int l = r->levels; l >= level; l--) {
            if (!eptr[l] || (pae && l == 3))
                continue;   /* legacy-PAE PDPTEs have no A bit */
            uint64_t set = _PAGE_ACCESSED;
            if (l == level && (access & PFEC_WRITE))
                set |= _PAGE_DIRTY;
            if (narrow)
                *(uint32_t *)eptr[l] |= (uint32_t)set;
            else
                *(uint64_t *)eptr[l] |= set;
            r->entry[l] |= set;
        }
    }
    return true;
}

void ref_walk_accesses(const struct ref_paging *p, gva_t va, unsigned n, const uint32_t *access,
                       const bool *ac, struct ref_result *out, bool *ok)
{
    struct ref_result base;
    uint64_t *eptr[5] = { 0 };
    uint64_t e = 0;
    uint32_t extra = 0;
    int level = 0;

    memset(&base, 0, sizeof(base));
    enum walk_end end = walk_tables(p, va, &base, eptr, &level, &e, &extra);
    for (unsigned i = 0; i < n; i++) {
        out[i] = base;
        ok[i] = judge(p, end, extra, e, access_bits(access[i]), ac[i], &out[i]);
    }
}

struct ref_paging ref_guest_paging(const struct shadow_vcpu *v)
{
    return (struct ref_paging){
        .cr0 = v->guest_cr0, .cr3 = v->guest_cr3, .cr4 = v->guest_cr4,
        .efer = v->guest_efer, .pdpte = v->guest_pdpte, .host_phys = false,
        .pkru = sim_pkru,        /* one register: the guest's, and the hardware's */
        .pkrs = sim_pkrs,        /* the same for IA32_PKRS */
    };
}

struct ref_paging ref_hw_paging(const struct shadow_vcpu *v)
{
    return (struct ref_paging){
        .cr0 = v->hw_cr0, .cr3 = v->hw_cr3, .cr4 = v->hw_cr4,
        .efer = v->hw_efer, .pdpte = NULL, .host_phys = true, .pkru = sim_pkru,
        .pkrs = sim_pkrs,
    };
}

bool ref_guest_walk(const struct shadow_vcpu *v, gva_t va, uint32_t access, bool ac,
                    unsigned flags, struct ref_result *r)
{
    struct ref_paging p = ref_guest_paging(v);
    return ref_walk(&p, va, access, ac, flags, r);
}

bool ref_hw_walk(const struct shadow_vcpu *v, gva_t va, uint32_t access, bool ac,
                 unsigned flags, struct ref_result *r)
{
    struct ref_paging p = ref_hw_paging(v);
    return ref_walk(&p, va, access, ac, flags, r);
}

void ref_hw_walk_accesses(const struct shadow_vcpu *v, gva_t va, unsigned n, const uint32_t *access,
                          const bool *ac, struct ref_result *out, bool *ok)
{
    struct ref_paging p = ref_hw_paging(v);
    ref_walk_accesses(&p, va, n, access, ac, out, ok);
}

void ref_format(const struct ref_result *r, char *buf, size_t size)
{
    int n;
    if (r->ok || r->mapped)
        n = snprintf(buf, size, "%s pa=%#llx %s%s%s%s", r->ok ? "ok" : "denied",
                     (unsigned long long)r->pa,
                     r->page_size == PAGE_SIZE ? "4K" : r->page_size == (2ULL << 20) ? "2M" :
                     r->page_size == (4ULL << 20) ? "4M" : "1G",
                     r->user ? " U" : " S", r->write ? " W" : " R", r->nx ? " NX" : " X");
    else
        n = snprintf(buf, size, "no translation");
    if (!r->ok && n > 0 && (size_t)n < size) {
        if (r->vector == X86_EXC_PF)
            snprintf(buf + n, size - n, " #PF pfec=%#x level %d entry %#llx", r->pfec,
                     r->leaf_level, (unsigned long long)r->entry[r->leaf_level]);
        else
            snprintf(buf + n, size - n, " #GP");
    }
}
