/*
 * Architectural constants: control-register and EFER bits, page-table entry
 * bits, page-fault error code bits, exception vectors and MSR numbers.
 * One place for them: nothing else in the tree may define its own copy.
 */
#ifndef UMBRA_X86_H
#define UMBRA_X86_H

/* CR0 */
#define X86_CR0_PE  (1UL << 0)
#define X86_CR0_MP  (1UL << 1)
#define X86_CR0_EM  (1UL << 2)
#define X86_CR0_TS  (1UL << 3)
#define X86_CR0_ET  (1UL << 4)
#define X86_CR0_NE  (1UL << 5)
#define X86_CR0_WP  (1UL << 16)
#define X86_CR0_AM  (1UL << 18)
#define X86_CR0_NW  (1UL << 29)
#define X86_CR0_CD  (1UL << 30)
#define X86_CR0_PG  (1UL << 31)

/* CR4 */
#define X86_CR4_VME        (1UL << 0)
#define X86_CR4_PVI        (1UL << 1)
#define X86_CR4_TSD        (1UL << 2)
#define X86_CR4_DE         (1UL << 3)
#define X86_CR4_PSE        (1UL << 4)
#define X86_CR4_PAE        (1UL << 5)
#define X86_CR4_MCE        (1UL << 6)
#define X86_CR4_PGE        (1UL << 7)
#define X86_CR4_PCE        (1UL << 8)
#define X86_CR4_OSFXSR     (1UL << 9)
#define X86_CR4_OSXMMEXCPT (1UL << 10)
#define X86_CR4_UMIP       (1UL << 11)
#define X86_CR4_FSGSBASE   (1UL << 16)
#define X86_CR4_PCIDE      (1UL << 17)
#define X86_CR4_OSXSAVE    (1UL << 18)
#define X86_CR4_SMEP       (1UL << 20)
#define X86_CR4_SMAP       (1UL << 21)
#define X86_CR4_PKE        (1UL << 22)
#define X86_CR4_PKS        (1UL << 24)

/* EFER (MSR 0xC0000080) */
#define MSR_EFER     0xC0000080u
#define MSR_IA32_PKRS 0x6E1u        /* supervisor protection-key rights (PKS) */
#define EFER_SCE     (1UL << 0)
#define EFER_LME     (1UL << 8)
#define EFER_LMA     (1UL << 10)
#define EFER_NXE     (1UL << 11)
#define EFER_SVME    (1UL << 12)

/* Other MSRs */
#define MSR_VM_CR        0xC0010114u
#define MSR_VM_HSAVE_PA  0xC0010117u
#define VM_CR_SVMDIS     (1UL << 4)
#define MSR_STAR         0xC0000081u
#define MSR_LSTAR        0xC0000082u
#define MSR_CSTAR        0xC0000083u
#define MSR_SFMASK       0xC0000084u
#define MSR_FS_BASE      0xC0000100u
#define MSR_GS_BASE      0xC0000101u
#define MSR_KERNEL_GS_BASE 0xC0000102u
#define MSR_PAT          0x00000277u

/* Local APIC: the base MSR and the in-service register (ISR, 8 x 32 bits) */
#define MSR_APIC_BASE    0x0000001Bu
#define APIC_BASE_X2APIC (1UL << 10)      /* EXTD: registers are MSRs 0x800+ */
#define APIC_BASE_ENABLE (1UL << 11)
#define APIC_ISR0        0x100u           /* xAPIC MMIO offset of ISR bits 31:0; +0x10 per word */
#define MSR_X2APIC_ISR0  0x00000810u      /* x2APIC: one MSR per word */
#define APIC_ID          0x020u           /* xAPIC MMIO offsets */
#define APIC_LDR         0x0D0u
#define APIC_DFR         0x0E0u
#define APIC_ICR_LO      0x300u
#define APIC_ICR_HI      0x310u
#define MSR_X2APIC_ID    0x00000802u
#define MSR_X2APIC_LDR   0x0000080Du
#define MSR_X2APIC_ICR   0x00000830u      /* 64 bits: destination in 63:32 */
/* ICR fields */
#define ICR_MODE(lo)      (((lo) >> 8) & 7u)   /* 0 fixed 1 lowest 2 SMI 4 NMI 5 INIT 6 SIPI */
#define ICR_LOGICAL       (1u << 11)
#define ICR_SHORTHAND(lo) (((lo) >> 18) & 3u)  /* 0 none 1 self 2 all 3 all-but-self */

/* RFLAGS */
#define X86_RFLAGS_CF  (1UL << 0)
#define X86_RFLAGS_FIXED (1UL << 1)
#define X86_RFLAGS_PF  (1UL << 2)
#define X86_RFLAGS_AF  (1UL << 4)
#define X86_RFLAGS_ZF  (1UL << 6)
#define X86_RFLAGS_SF  (1UL << 7)
#define X86_RFLAGS_TF  (1UL << 8)
#define X86_RFLAGS_IF  (1UL << 9)
#define X86_RFLAGS_DF  (1UL << 10)
#define X86_RFLAGS_OF  (1UL << 11)
#define X86_RFLAGS_RF  (1UL << 16)

#define X86_DR6_BS     (1ULL << 14)   /* DR6: single-step trap */
#define X86_RFLAGS_VM  (1UL << 17)
#define X86_RFLAGS_AC  (1UL << 18)

/*
 * Page-table entry bits, common to 2-level, PAE and long mode unless noted.
 * PS is bit 7 in a PDE/PDPTE (a superpage); in an L1 entry bit 7 is PAT.
 * In a superpage entry PAT moves to bit 12.
 */
#define _PAGE_PRESENT  (1ULL << 0)
#define _PAGE_RW       (1ULL << 1)
#define _PAGE_USER     (1ULL << 2)
#define _PAGE_PWT      (1ULL << 3)
#define _PAGE_PCD      (1ULL << 4)
#define _PAGE_ACCESSED (1ULL << 5)
#define _PAGE_DIRTY    (1ULL << 6)
#define _PAGE_PSE      (1ULL << 7)
#define _PAGE_PAT      (1ULL << 7)
#define _PAGE_GLOBAL   (1ULL << 8)
#define _PAGE_AVAIL0   (1ULL << 9)
#define _PAGE_AVAIL1   (1ULL << 10)
#define _PAGE_AVAIL2   (1ULL << 11)
#define _PAGE_PSE_PAT  (1ULL << 12)
#define _PAGE_NX       (1ULL << 63)   /* PAE and long mode only */
#define PADDR_MASK_52  0x000ffffffffff000ULL   /* frame bits of a PAE/long-mode entry */
#define PTE32_ADDR_MASK 0xfffff000u            /* frame bits of a 2-level entry */

/* PAE PDPTE reserved bits (legacy PAE mode): 2:1, 8:5 and 63:MAXPHYADDR */
#define PDPTE_RSVD_LOW  0x1e6ULL

/* Page-fault error code */
#define PFEC_PRESENT  (1u << 0)   /* P:   0 = not present, 1 = protection */
#define PFEC_WRITE    (1u << 1)   /* W/R: access was a write */
#define PFEC_USER     (1u << 2)   /* U/S: access was at CPL 3 */
#define PFEC_RSVD     (1u << 3)   /* RSV: a reserved bit was set */
#define PFEC_INSN     (1u << 4)   /* I/D: instruction fetch */
#define PFEC_PK       (1u << 5)   /* protection key violation */
#define PFEC_SS       (1u << 6)   /* shadow stack */

/* Exception vectors */
#define X86_EXC_DE  0
#define X86_EXC_DB  1
#define X86_EXC_NMI 2
#define X86_EXC_BP  3
#define X86_EXC_OF  4
#define X86_EXC_BR  5
#define X86_EXC_UD  6
#define X86_EXC_NM  7
#define X86_EXC_DF  8
#define X86_EXC_TS  10
#define X86_EXC_NP  11
#define X86_EXC_SS  12
#define X86_EXC_GP  13
#define X86_EXC_PF  14
#define X86_EXC_MF  16
#define X86_EXC_AC  17
#define X86_EXC_MC  18
#define X86_EXC_XM  19

#endif
