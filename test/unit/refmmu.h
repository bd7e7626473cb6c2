/*
 * Reference MMU: a software x86 page walker (AMD APM vol. 2 ch. 5) that is
 * the oracle of the shadow tests.  For any virtual address and access it
 * gives the translation or the exact fault the CPU would raise:
 *
 *   - the guest's view: walk the guest tables from v->guest_cr3 (legacy PAE:
 *     from the PDPTEs cached in v->guest_pdpte) with v->guest_cr0/cr4/efer,
 *     tables addressed guest-physically (read through the p2m), as bare
 *     hardware would;
 *   - the hardware's view: walk the shadow tables from v->hw_cr3 with
 *     v->hw_cr0/cr4/efer, tables addressed host-physically, as the CPU
 *     running the guest under Umbra would.
 *
 * CPU features (MAXPHYADDR, PSE-36, 1 GiB pages) come from plat_cpu_features().
 */
#ifndef UMBRA_TEST_REFMMU_H
#define UMBRA_TEST_REFMMU_H

#include <umbra/types.h>
#include <umbra/shadow.h>

/* Access kinds: an access is a combination of PFEC_WRITE, PFEC_USER and
 * PFEC_INSN (x86.h); 0 is a supervisor read. */

/* Flags of ref_walk(). */
#define REF_NO_SIDE_EFFECTS  (1u << 0)   /* do not set A/D bits */

/* Paging state a walk runs with. */
struct ref_paging {
    uint64_t cr0, cr3, cr4, efer;
    const uint64_t *pdpte;   /* legacy PAE: the cached PDPTEs; NULL: read them at cr3 */
    uint32_t pkru;           /* PKRU (only with CR4.PKE in long mode) */
    uint32_t pkrs;           /* IA32_PKRS (supervisor pages, CR4.PKS in long mode) */
    bool host_phys;          /* tables are host-physical (shadow) not guest-physical */
};

struct ref_result {
    bool ok;              /* the access is allowed; pa is valid */
    uint8_t vector;       /* when !ok: X86_EXC_PF, or X86_EXC_GP (non-canonical
                           * address, or a present PDPTE with reserved bits read
                           * from memory) */
    uint32_t pfec;        /* #PF error code when vector == X86_EXC_PF */
    bool mapped;          /* a translation exists (present, no reserved bit),
                           * whatever the access rights: pa, page_size, user,
                           * write and nx are valid */
    uint64_t pa;          /* translated (guest- or host-) physical address */
    uint64_t page_size;   /* 4 KiB, 2 MiB, 4 MiB or 1 GiB */
    bool user, write, nx; /* effective rights, combined over all levels */
    bool table_unbacked;  /* a table lay outside backed memory (read as 0) */
    int levels;           /* paging levels of the mode (0: paging off) */
    int leaf_level;       /* level of the last entry read (1 = PTE) */
    uint64_t entry[5];    /* entry[l]: entry read at level l (l = 1..levels) */
    uint64_t entry_pa[5]; /* its physical address (0 for cached PDPTEs) */
};

/* The paging mode (enum guest_paging) selected by cr0/cr4/efer. */
enum guest_paging ref_mode(uint64_t cr0, uint64_t cr4, uint64_t efer);

/*
 * Walk `va` for `access` (PFEC_WRITE/USER/INSN) with RFLAGS.AC = `ac`.
 * Sets A in every entry used and D in the leaf on a write, only if the
 * access is allowed and flags lacks REF_NO_SIDE_EFFECTS (as KVM does: a
 * faulting access sets no A/D bit).  Returns r->ok.
 */
bool ref_walk(const struct ref_paging *p, gva_t va, uint32_t access, bool ac,
              unsigned flags, struct ref_result *r);

/*
 * ref_walk(p, va, access[i], ac[i], REF_NO_SIDE_EFFECTS, &out[i]) for i < n,
 * ok[i] its return value, with the tables walked once: what a walk reads does
 * not depend on the access, only the verdict does (the rights, protection
 * keys and the error code's access bits), which is taken per access.
 */
void ref_walk_accesses(const struct ref_paging *p, gva_t va, unsigned n, const uint32_t *access,
                       const bool *ac, struct ref_result *out, bool *ok);

/*
 * Would a translation with effective rights user/write/nx allow `access`
 * under p's CR0.WP, SMEP and SMAP (RFLAGS.AC = ac)?  (nx must already be
 * false unless EFER.NXE applies; protection keys are not judged.)  What the
 * CPU checks on a TLB hit.
 */
bool ref_rights_allow(const struct ref_paging *p, bool user, bool write, bool nx,
                      uint32_t access, bool ac);

/* The guest's view of v (guest_* registers, cached PDPTEs, guest-physical). */
bool ref_guest_walk(const struct shadow_vcpu *v, gva_t va, uint32_t access, bool ac,
                    unsigned flags, struct ref_result *r);

/* The hardware's view of v (hw_* registers, host-physical shadow tables). */
bool ref_hw_walk(const struct shadow_vcpu *v, gva_t va, uint32_t access, bool ac,
                 unsigned flags, struct ref_result *r);
/* ref_walk_accesses() of the hardware's view. */
void ref_hw_walk_accesses(const struct shadow_vcpu *v, gva_t va, unsigned n, const uint32_t *access,
                          const bool *ac, struct ref_result *out, bool *ok);

/* The paging state of v's guest (guest_*) or of its hardware (hw_*) view. */
struct ref_paging ref_guest_paging(const struct shadow_vcpu *v);
struct ref_paging ref_hw_paging(const struct shadow_vcpu *v);

/* Reserved bits of a legacy-PAE PDPTE for MAXPHYADDR `maxphyaddr`. */
uint64_t ref_pdpte_rsvd(unsigned maxphyaddr);

/*
 * MOV to CR3 in legacy PAE mode: read the four PDPTEs at guest-physical
 * cr3 & ~0x1f into out[].  Returns false (the CPU raises #GP(0)) if a
 * present one has a reserved bit set.
 */
bool ref_load_pdptes(uint64_t cr3, uint64_t out[4]);

/* Format r as one line ("ok pa=... 4K U W X" / "#PF pfec=0x.. level N"). */
void ref_format(const struct ref_result *r, char *buf, size_t size);

#endif
