/*
 * AMD SVM, the hardware: the VMCB layout (AMD APM vol. 2, appendix B), exit
 * codes, every intercept bit Umbra uses, EVENTINJ/EXITINTINFO and the IOIO
 * EXITINFO1 layout, the CPUID 8000_000A feature bits.  Offsets in comments
 * are from the start of the VMCB.  Nothing here is Umbra's: the vCPU is
 * include/umbra/svm.h, the hypercall ABI include/umbra/hypercall.h.
 */
#ifndef UMBRA_SVM_HW_H
#define UMBRA_SVM_HW_H

#include <umbra/types.h>

/* ---- VMCB ----------------------------------------------------------- */

struct vmcb_seg {
    uint16_t sel;
    uint16_t attrib;      /* type[3:0] S[4] DPL[6:5] P[7] AVL[8] L[9] DB[10] G[11] */
    uint32_t limit;
    uint64_t base;
};

struct vmcb_control {
    uint32_t intercept_cr;        /* +0x000 CR reads [15:0], CR writes [31:16] */
    uint32_t intercept_dr;        /* +0x004 DR reads [15:0], DR writes [31:16] */
    uint32_t intercept_exc;       /* +0x008 exception vectors */
    uint32_t intercept_misc1;     /* +0x00C INTR..SHUTDOWN (INTERCEPT1_*) */
    uint32_t intercept_misc2;     /* +0x010 VMRUN..XSETBV (INTERCEPT2_*) */
    uint32_t intercept_misc3;     /* +0x014 */
    uint8_t  rsvd0[0x24];         /* +0x018 */
    uint16_t pause_thresh;        /* +0x03C */
    uint16_t pause_count;         /* +0x03E */
    uint64_t iopm_base_pa;        /* +0x040 */
    uint64_t msrpm_base_pa;       /* +0x048 */
    uint64_t tsc_offset;          /* +0x050 */
    uint32_t asid;                /* +0x058 */
    uint8_t  tlb_control;         /* +0x05C SVM_TLB_*: 0 = none, 1 = flush all, 3 = this ASID */
    uint8_t  rsvd1[3];            /* +0x05D */
    uint64_t vintr;               /* +0x060 V_TPR, V_IRQ, V_INTR_MASKING ... */
    uint64_t int_shadow;          /* +0x068 bit 0: guest in interrupt shadow */
    uint64_t exitcode;            /* +0x070 */
    uint64_t exitinfo1;           /* +0x078 */
    uint64_t exitinfo2;           /* +0x080 */
    uint64_t exitintinfo;         /* +0x088 event being delivered at the exit */
    uint64_t np_enable;           /* +0x090 bit 0: nested paging */
    uint64_t avic_apic_bar;       /* +0x098 */
    uint64_t ghcb_pa;             /* +0x0A0 */
    uint64_t eventinj;            /* +0x0A8 event to inject at VMRUN */
    uint64_t n_cr3;               /* +0x0B0 nested page table root */
    uint64_t lbr_virt;            /* +0x0B8 */
    uint32_t clean;               /* +0x0C0 VMCB clean bits (always 0 here) */
    uint32_t rsvd2;               /* +0x0C4 */
    uint64_t nrip;                /* +0x0C8 next RIP (NRIPS only) */
    uint8_t  insn_len;            /* +0x0D0 bytes fetched (decode assists) */
    uint8_t  insn_bytes[15];      /* +0x0D1 */
    uint8_t  rsvd3[0x400 - 0x0E0];/* +0x0E0 .. 0x3FF (AVIC, VMSA: unused) */
};

struct vmcb_save {
    struct vmcb_seg es;           /* +0x400 */
    struct vmcb_seg cs;           /* +0x410 */
    struct vmcb_seg ss;           /* +0x420 */
    struct vmcb_seg ds;           /* +0x430 */
    struct vmcb_seg fs;           /* +0x440 */
    struct vmcb_seg gs;           /* +0x450 */
    struct vmcb_seg gdtr;         /* +0x460 */
    struct vmcb_seg ldtr;         /* +0x470 */
    struct vmcb_seg idtr;         /* +0x480 */
    struct vmcb_seg tr;           /* +0x490 */
    uint8_t  rsvd0[0x2B];         /* +0x4A0 */
    uint8_t  cpl;                 /* +0x4CB */
    uint32_t rsvd1;               /* +0x4CC */
    uint64_t efer;                /* +0x4D0 */
    uint8_t  rsvd2[0x70];         /* +0x4D8 */
    uint64_t cr4;                 /* +0x548 */
    uint64_t cr3;                 /* +0x550 */
    uint64_t cr0;                 /* +0x558 */
    uint64_t dr7;                 /* +0x560 */
    uint64_t dr6;                 /* +0x568 */
    uint64_t rflags;              /* +0x570 */
    uint64_t rip;                 /* +0x578 */
    uint8_t  rsvd3[0x58];         /* +0x580 */
    uint64_t rsp;                 /* +0x5D8 */
    uint64_t s_cet, ssp, isst;    /* +0x5E0 */
    uint64_t rax;                 /* +0x5F8 */
    uint64_t star;                /* +0x600 */
    uint64_t lstar;               /* +0x608 */
    uint64_t cstar;               /* +0x610 */
    uint64_t sfmask;              /* +0x618 */
    uint64_t kernel_gs_base;      /* +0x620 */
    uint64_t sysenter_cs;         /* +0x628 */
    uint64_t sysenter_esp;        /* +0x630 */
    uint64_t sysenter_eip;        /* +0x638 */
    uint64_t cr2;                 /* +0x640 */
    uint8_t  rsvd4[0x20];         /* +0x648 */
    uint64_t g_pat;               /* +0x668 */
    uint64_t dbgctl;              /* +0x670 */
    uint64_t br_from, br_to;      /* +0x678 */
    uint64_t lastexcp_from;       /* +0x688 */
    uint64_t lastexcp_to;         /* +0x690 */
    uint8_t  rsvd5[0x1000 - 0x698];
};

struct vmcb {
    struct vmcb_control ctl;      /* +0x000 */
    struct vmcb_save save;        /* +0x400 */
};

/* The layout, checked wherever this header is compiled (APM vol. 2, tables B-1 and B-2). */
_Static_assert(sizeof(struct vmcb) == 4096, "VMCB is one page");
_Static_assert(sizeof(struct vmcb_seg) == 16, "vmcb_seg");
_Static_assert(offsetof(struct vmcb, ctl.intercept_misc1) == 0x00C, "intercept_misc1");
_Static_assert(offsetof(struct vmcb, ctl.intercept_misc2) == 0x010, "intercept_misc2");
_Static_assert(offsetof(struct vmcb, ctl.msrpm_base_pa) == 0x048, "msrpm_base_pa");
_Static_assert(offsetof(struct vmcb, ctl.exitinfo1) == 0x078, "exitinfo1");
_Static_assert(offsetof(struct vmcb, ctl.exitinfo2) == 0x080, "exitinfo2");
_Static_assert(offsetof(struct vmcb, ctl.np_enable) == 0x090, "np_enable");
_Static_assert(offsetof(struct vmcb, ctl.clean) == 0x0C0, "clean");
_Static_assert(offsetof(struct vmcb, ctl.insn_bytes) == 0x0D1, "insn_bytes");
_Static_assert(offsetof(struct vmcb, save.cs) == 0x410, "cs");
_Static_assert(offsetof(struct vmcb, save.gdtr) == 0x460, "gdtr");
_Static_assert(offsetof(struct vmcb, save.idtr) == 0x480, "idtr");
_Static_assert(offsetof(struct vmcb, save.cr3) == 0x550, "cr3");
_Static_assert(offsetof(struct vmcb, save.cr0) == 0x558, "cr0");
_Static_assert(offsetof(struct vmcb, save.dr7) == 0x560, "dr7");
_Static_assert(offsetof(struct vmcb, save.rflags) == 0x570, "rflags");
_Static_assert(offsetof(struct vmcb, save.star) == 0x600, "star");
_Static_assert(offsetof(struct vmcb, save.kernel_gs_base) == 0x620, "kernel_gs_base");
_Static_assert(offsetof(struct vmcb, save.sysenter_eip) == 0x638, "sysenter_eip");
_Static_assert(offsetof(struct vmcb, save.lastexcp_to) == 0x690, "lastexcp_to");
_Static_assert(offsetof(struct vmcb, ctl.iopm_base_pa) == 0x040, "iopm");
_Static_assert(offsetof(struct vmcb, ctl.asid) == 0x058, "asid");
_Static_assert(offsetof(struct vmcb, ctl.tlb_control) == 0x05C, "tlb_control");
_Static_assert(offsetof(struct vmcb, ctl.exitcode) == 0x070, "exitcode");
_Static_assert(offsetof(struct vmcb, ctl.exitintinfo) == 0x088, "exitintinfo");
_Static_assert(offsetof(struct vmcb, ctl.eventinj) == 0x0A8, "eventinj");
_Static_assert(offsetof(struct vmcb, ctl.n_cr3) == 0x0B0, "n_cr3");
_Static_assert(offsetof(struct vmcb, ctl.nrip) == 0x0C8, "nrip");
_Static_assert(offsetof(struct vmcb, save.es) == 0x400, "save area");
_Static_assert(offsetof(struct vmcb, save.tr) == 0x490, "tr");
_Static_assert(offsetof(struct vmcb, save.cpl) == 0x4CB, "cpl");
_Static_assert(offsetof(struct vmcb, save.efer) == 0x4D0, "efer");
_Static_assert(offsetof(struct vmcb, save.cr4) == 0x548, "cr4");
_Static_assert(offsetof(struct vmcb, save.rip) == 0x578, "rip");
_Static_assert(offsetof(struct vmcb, save.rsp) == 0x5D8, "rsp");
_Static_assert(offsetof(struct vmcb, save.rax) == 0x5F8, "rax");
_Static_assert(offsetof(struct vmcb, save.cr2) == 0x640, "cr2");
_Static_assert(offsetof(struct vmcb, save.g_pat) == 0x668, "g_pat");

/* Segment attributes in VMCB form. */
#define SVM_ATTR_CODE32 0x0C9B   /* G, DB, P, S, type 0xB (exec/read, accessed) */
#define SVM_ATTR_DATA32 0x0C93   /* G, DB, P, S, type 0x3 (read/write, accessed) */
#define SVM_ATTR_TSS32  0x008B   /* P, busy 32-bit TSS */
#define SVM_ATTR_LDT    0x0082   /* P, LDT */

/* intercept_cr (VMCB +0x000) and intercept_dr (+0x004) */
#define INTERCEPT_CR(n)       (1u << (n))
#define INTERCEPT_CR_WRITE(n) (1u << (16 + (n)))
#define INTERCEPT_DR_ALL      0x00ff00ffu       /* reads and writes of DR0-7 */

/* VINTR (VMCB +0x060) */
#define VINTR_V_IRQ     (1ULL << 8)
#define VINTR_IGN_TPR   (1ULL << 20)
#define VINTR_MASKING   (1ULL << 24)

/* intercept_misc1 (VMCB +0x00C) */
#define INTERCEPT1_INTR     (1u << 0)
#define INTERCEPT1_NMI      (1u << 1)
#define INTERCEPT1_SMI      (1u << 2)
#define INTERCEPT1_VINTR    (1u << 4)
#define INTERCEPT1_IRET     (1u << 20)
#define INTERCEPT1_INTN     (1u << 21)
#define INTERCEPT1_INVLPG   (1u << 25)
#define INTERCEPT1_INVLPGA  (1u << 26)
#define INTERCEPT1_CPUID    (1u << 18)
#define INTERCEPT1_HLT      (1u << 24)
#define INTERCEPT1_IOIO     (1u << 27)
#define INTERCEPT1_MSR      (1u << 28)
#define INTERCEPT1_TASKSW   (1u << 29)
#define INTERCEPT1_SHUTDOWN (1u << 31)
/* intercept_misc2 (VMCB +0x010) */
#define INTERCEPT2_VMRUN    (1u << 0)
#define INTERCEPT2_VMMCALL  (1u << 1)
#define INTERCEPT2_VMLOAD   (1u << 2)
#define INTERCEPT2_VMSAVE   (1u << 3)
#define INTERCEPT2_STGI     (1u << 4)
#define INTERCEPT2_CLGI     (1u << 5)
#define INTERCEPT2_SKINIT   (1u << 6)

/* EVENTINJ / EXITINTINFO */
#define SVM_EVT_VALID       (1ULL << 31)
#define SVM_EVT_ERR_VALID   (1ULL << 11)
#define SVM_EVT_TYPE_INTR   (0ULL << 8)
#define SVM_EVT_TYPE_NMI    (2ULL << 8)
#define SVM_EVT_TYPE_EXC    (3ULL << 8)
#define SVM_EVT_TYPE_SOFT   (4ULL << 8)

/* IOIO EXITINFO1 */
#define IOIO_IN        (1u << 0)
#define IOIO_STR       (1u << 2)
#define IOIO_REP       (1u << 3)
#define IOIO_SZ_SHIFT  4          /* bits 6:4: 1, 2 or 4 bytes */
#define IOIO_PORT_SHIFT 16

/* Exit codes (EXITCODE, VMCB +0x070) */
#define VMEXIT_CR0_READ   0x000
#define VMEXIT_CR0_WRITE  0x010
#define VMEXIT_CR3_WRITE  0x013
#define VMEXIT_CR4_WRITE  0x014
#define VMEXIT_EXC_BASE   0x040   /* + vector */
#define VMEXIT_INTR       0x060
#define VMEXIT_NMI        0x061
#define VMEXIT_SMI        0x062
#define VMEXIT_INIT       0x063
#define VMEXIT_VINTR      0x064
#define VMEXIT_IRET       0x074
#define VMEXIT_CPUID      0x072
#define VMEXIT_HLT        0x078
#define VMEXIT_INVLPG     0x079
#define VMEXIT_INVLPGA    0x07A
#define VMEXIT_IOIO       0x07B
#define VMEXIT_MSR        0x07C
#define VMEXIT_TASK_SWITCH 0x07D
#define VMEXIT_SHUTDOWN   0x07F
#define VMEXIT_VMRUN      0x080
#define VMEXIT_VMMCALL    0x081
#define VMEXIT_VMLOAD     0x082
#define VMEXIT_VMSAVE     0x083
#define VMEXIT_STGI       0x084
#define VMEXIT_CLGI       0x085
#define VMEXIT_SKINIT     0x086
#define VMEXIT_NPF        0x400
#define VMEXIT_INVALID    ((uint64_t)-1)
#define VMEXIT_TABLE_SIZE 0x401   /* dispatch table covers 0 .. VMEXIT_NPF */

/* CPUID 0x8000000A EDX feature bits */
#define SVM_FEAT_NP          (1u << 0)
#define SVM_FEAT_NRIPS       (1u << 3)
#define SVM_FEAT_FLUSHBYASID (1u << 6)
/* TLB_CONTROL values (APM vol. 2, 15.16.1); 3 and 7 need FlushByAsid. */
#define SVM_TLB_FLUSH_ALL    1     /* every entry of every ASID */
#define SVM_TLB_FLUSH_ASID   3     /* every entry of the guest's ASID */
#define SVM_FEAT_DECODE      (1u << 7)

#endif
