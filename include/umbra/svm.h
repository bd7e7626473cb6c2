/*
 * AMD SVM: the VMCB layout (AMD APM vol. 2, appendix B), exit codes,
 * intercept bits, the per-vCPU state the VMRUN loop uses, and Umbra's
 * hypercall ABI.  Offsets in comments are from the start of the VMCB.
 */
#ifndef UMBRA_SVM_H
#define UMBRA_SVM_H

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
    uint8_t  tlb_control;         /* +0x05C 0 = none, 1 = flush all */
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

_Static_assert(sizeof(struct vmcb) == 4096, "VMCB is one page");
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

/* intercept_misc1 (VMCB +0x00C) */
#define INTERCEPT1_INTR     (1u << 0)
#define INTERCEPT1_NMI      (1u << 1)
#define INTERCEPT1_SMI      (1u << 2)
#define INTERCEPT1_IRET     (1u << 20)
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
#define SVM_FEAT_DECODE      (1u << 7)

/* ---- Umbra's hypercall ABI (VMMCALL, 0F 01 D9) -----------------------
 * In:  EAX = function, EBX/ECX = arguments.  Out: EAX = 0 on success,
 * 0xFFFFFFFF for an unknown function or bad argument.  Other registers kept.
 *   HC_PRINT (0): print ECX bytes (at most HC_PRINT_MAX) of the string at
 *                 guest-PHYSICAL address EBX as the line "umbra: guest: ...".
 *   HC_EXIT  (1): end the run with status EBX (as a write to port 0xF4).
 * The hypervisor leaf CPUID 0x40000000 returns EAX = 0x40000001 (max leaf)
 * and EBX:ECX:EDX = "UmbraUmbraUm"; CPUID 0x40000001 EAX = ABI version (1).
 */
#define HC_PRINT     0
#define HC_EXIT      1
#define HC_PRINT_MAX 256
#define HC_ABI_VERSION 1

/* ---- exit status Umbra reports (port 0xF4 value) ----------------------
 * QEMU's isa-debug-exit turns status v into the exit code (v << 1) | 1.
 * Umbra's own failures use values a test guest never does:
 *   UMBRA_STATUS_WATCHDOG     0x7D  -> QEMU exit code 251 (watchdog=SECONDS:
 *                                      the guest spun that long with IF=0)
 *   UMBRA_STATUS_TRIPLE_FAULT 0x7E  -> QEMU exit code 253
 *   UMBRA_STATUS_ERROR        0x7F  -> QEMU exit code 255 (loader error, no
 *                                      SVM, unexpected exit, NPF, bad option)
 */
#define UMBRA_STATUS_WATCHDOG     0x7D
#define UMBRA_STATUS_TRIPLE_FAULT 0x7E
#define UMBRA_STATUS_ERROR        0x7F

/* Ports Umbra owns */
#define PORT_DEBUG_EXIT 0xF4
#define PORT_BOCHS_SHUTDOWN 0x8900

/* ---- vCPU --------------------------------------------------------------- */

/* Guest GPRs the VMCB does not hold (RAX and RSP live in the VMCB). */
struct guest_regs {
    uint64_t rbx, rcx, rdx, rsi, rdi, rbp;
    uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
};

struct paging_ops;
struct shadow_vcpu;

struct svm_vcpu {
    struct guest_regs regs;       /* saved/restored by svm_vmrun() */
    struct vmcb *vmcb;            /* direct-mapped */
    paddr_t vmcb_pa;
    const struct paging_ops *paging;
    uint64_t guest_efer;          /* EFER as the guest sees it (no SVME) */
    struct shadow_vcpu *sh;       /* paging=shadow: the shadow MMU's view of this vCPU */
    uint32_t svm_features;        /* CPUID 0x8000000A EDX */
    unsigned long full_flushes;   /* TLB_CONTROL = 1 requests */
    uint64_t run_eventinj;        /* EVENTINJ and RIP of the last VMRUN (svm_handle_exit */
    uint64_t run_rip;             /*   checks EXITINTINFO against them) */
    uint64_t last_eventinj;       /* the last event any VMRUN injected (ditto) ... */
    uint64_t last_inj_rip;        /*   ... and the RIP it was injected at */
    unsigned long hlt_waits;      /* HLTs let through to wait natively (exit.c) */
    uint64_t hlt_wait_rip;        /* the last of them (watchdog.c restarts it after its NMI) */
    bool wd_intr_armed;           /* INTR intercepted for that wait only (watchdog.c) */
    bool nmi_masked;              /* the guest's NMI blocking, kept by Umbra (nmi.c) ... */
    bool nmi_pending;             /*   an NMI held until the unmasking IRET */
    bool nmi_step;                /*   single-stepping that IRET */
    bool nmi_step_guest_tf, nmi_step_db_intercepted;
    uint16_t nmi_step_cs;
    uint64_t nmi_step_rip;
    bool stop;                    /* leave the run loop */
    const char *stop_reason;
    unsigned stop_status;
};

/* The VMRUN stub (src/svm/vmrun.S): load guest GPRs, VMLOAD/VMRUN/VMSAVE, save them. */
void svm_vmrun(struct svm_vcpu *v);

/*
 * Length of the intercepted instruction at guest RIP, for exits without
 * nRIP.  A pointer so the x86 decoder (src/x86) can replace the fixed table.
 */
extern unsigned (*svm_insn_len)(struct svm_vcpu *v, uint64_t exitcode);
/* Advance guest RIP past the intercepted instruction (nRIP when the CPU has NRIPS). */
void svm_skip_insn(struct svm_vcpu *v);

/*
 * Queue an exception for the next VMRUN (err used when has_err).  If an event
 * whose delivery the exit cut short is queued for re-delivery, the two are
 * combined as the CPU does: #DF for a contributory or page fault on a
 * contributory/page fault, a triple fault (the guest is stopped) on #DF;
 * otherwise the new exception replaces it.
 */
void svm_inject_exc(struct svm_vcpu *v, unsigned vector, bool has_err, uint32_t err);

/*
 * Set the guest's CR2 (before injecting a #PF).  Writes the VMCB field and
 * the CPU's CR2: Bochs 2.7's VMRUN reads the VMCB's CR2 but never loads it,
 * so the guest runs with whatever CR2 the CPU holds; on hardware and QEMU
 * VMRUN loads the VMCB value and the extra write is harmless (Umbra keeps
 * no CR2 of its own).
 */
void svm_set_guest_cr2(struct svm_vcpu *v, uint64_t cr2);

/* Stop the guest: leave the run loop and report `reason` with `status`. */
void svm_stop(struct svm_vcpu *v, const char *reason, unsigned status);

/* Print exit code, exitinfo1/2 and the guest registers as "umbra: " lines. */
void svm_dump_guest(struct svm_vcpu *v, const char *why);

/*
 * Per-paging-mode hooks (src/svm/paging.c chooses one): npt (nested paging)
 * or shadow (src/svm/shadow_paging.c on the shadow MMU).  init sets up the
 * VMCB for the mode (intercepts, nested or shadow CR3) and returns 0, or -1
 * after logging why.
 */
struct paging_ops {
    const char *name;
    int (*init)(struct svm_vcpu *v);
    void (*pre_vmrun)(struct svm_vcpu *v);                /* NULL, or sync hw_* state into the VMCB */
    void (*cr_read)(struct svm_vcpu *v, unsigned cr);    /* CR0/3/4 read intercept */
    void (*cr_write)(struct svm_vcpu *v, unsigned cr);   /* CR0/3/4 write intercept */
    void (*page_fault)(struct svm_vcpu *v);               /* #PF intercept */
    void (*invlpg)(struct svm_vcpu *v);                   /* INVLPG intercept */
    void (*npf)(struct svm_vcpu *v);                      /* nested page fault */
    uint64_t (*efer_read)(struct svm_vcpu *v);            /* guest RDMSR EFER */
    /* Guest WRMSR EFER (reserved bits already checked): 0 done, -1 it injected a fault or stopped the guest. */
    int (*efer_write)(struct svm_vcpu *v, uint64_t val);
    /* NULL, or CR0/3/4 as the guest sees them (else the VMCB's are the guest's). */
    uint64_t (*guest_cr)(struct svm_vcpu *v, unsigned cr);
    /* NULL, or print the mode's own end-of-run lines (counters). */
    void (*report)(struct svm_vcpu *v);
};

/* ---- SVM core entry points (src/svm) ------------------------------------ */

/* Detect SVM, print its features, enable EFER.SVME and the host save area. 0 or -1 (logged). */
int svm_init(uint32_t *features);
/* Paging ops for the option value. */
const struct paging_ops *paging_select(int paging_kind);
extern const struct paging_ops shadow_paging_ops;   /* src/svm/shadow_paging.c */
/* CR0/3/4 as the guest sees them, through v->paging->guest_cr when the mode has one. */
uint64_t svm_guest_cr(struct svm_vcpu *v, unsigned cr);
/*
 * Nested paging identity-maps guest-physical [0, top) minus Umbra's reserve,
 * top = the end of RAM rounded up to 1 GiB, at least 4 GiB (MMIO lives
 * below 4 GiB).  Its table frames are allocated before the reserve is sealed:
 * npt_frames_needed(top) of them, handed over with npt_prealloc().
 */
unsigned long npt_frames_needed(uint64_t top);
void npt_prealloc(paddr_t frames_pa, uint64_t top);
/* Build the vCPU, run the guest until it stops; returns the exit status. */
unsigned svm_run_guest(struct svm_vcpu *v, uint32_t entry, uint32_t info);
/* Handle the exit in v->vmcb (src/svm/exit.c): count it, run its handler. */
void svm_handle_exit(struct svm_vcpu *v);
/* Print "umbra: exits: NAME=COUNT" for every exit reason seen. */
void svm_print_exit_counts(void);
/* Ask for a full guest TLB flush (TLB_CONTROL = 1) at the next VMRUN. */
void svm_flush_guest_tlb(struct svm_vcpu *v);

/* Set (on) or clear the IOPM intercept of one guest I/O port, from the next VMRUN on. */
void svm_iopm_intercept(unsigned port, bool on);
/*
 * PCI configuration ports while an IOMMU is on (src/svm/pcicfg.c): init sets
 * the intercepts of 0xCF8-0xCFF; ioio handles one intercepted access there
 * (true) or leaves it (false); report prints the counts.
 */
void svm_pcicfg_init(void);
bool svm_pcicfg_ioio(struct svm_vcpu *v, unsigned port, unsigned size, bool in);
void svm_pcicfg_report(void);

/* Give v its VMCB, IOPM and MSRPM from the reserve (before sealing). 0 or -1 (logged). */
struct frame_alloc;
int svm_vcpu_alloc(struct svm_vcpu *v, struct frame_alloc *fa);

#endif
