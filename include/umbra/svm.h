/*
 * AMD SVM, Umbra's side: the per-vCPU state the VMRUN loop uses, the vCPU
 * services every exit handler calls (src/svm/vcpu.c), the paging-mode hooks
 * (struct paging_ops) and the SVM core's entry points.  The hardware
 * definitions are include/umbra/svm_hw.h, the hypercall ABI and status codes
 * include/umbra/hypercall.h; both come with this header.
 */
#ifndef UMBRA_SVM_H
#define UMBRA_SVM_H

#include <umbra/types.h>
#include <umbra/svm_hw.h>
#include <umbra/hypercall.h>
#include <umbra/x86emu.h>

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
    const struct paging_ops *mmu;   /* the paging mode (npt or shadow): how the MMU is virtualised */
    uint64_t guest_efer;          /* EFER as the guest sees it (no SVME) */
    struct shadow_vcpu *sh;       /* paging=shadow: the shadow MMU's view of this vCPU */
    uint32_t svm_features;        /* CPUID 0x8000000A EDX */
    unsigned long full_flushes;   /* TLB_CONTROL != 0 requests (whole-ASID flushes) */
    uint64_t run_eventinj;        /* EVENTINJ and RIP of the last VMRUN (svm_handle_exit */
    uint64_t run_rip;             /*   checks EXITINTINFO against them) */
    uint64_t last_eventinj;       /* the last event any VMRUN injected (ditto) ... */
    uint64_t last_inj_rip;        /*   ... and the RIP it was injected at */
    unsigned long hlt_waits;      /* HLTs let through to wait natively (intercepts.c) */
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
    struct x86_decode_memo decode_memo;   /* the intercepts' decodes (emu.c svm_emu_begin), zero to start */
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
/* An exit nothing handles: dump the guest and stop it ("unexpected"). */
void svm_exit_unexpected(struct svm_vcpu *v);

/*
 * Per-paging-mode hooks (src/svm/svm.c's paging_select() chooses one): npt
 * (src/svm/npt.c, nested paging) or shadow (src/svm/shadow_paging.c on the
 * shadow MMU).  init sets up the
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
    /* NULL (the guest's CRs are not Umbra's to write), or the CR4 bits the guest may set:
     * the GDB target checks a debugger's CR4 write against what the CR4 intercept allows. */
    uint64_t (*cr4_allowed)(void);
    /* NULL, or hide in a CPUID result what the mode does not model (after the common filter). */
    void (*cpuid)(struct svm_vcpu *v, uint32_t leaf, uint32_t sub, uint32_t r[4]);
    /*
     * NULL, or first after every #VMEXIT, before EXITINTINFO and the handler:
     * the mode's check that the hardware did not move its state behind it.
     * 0: handle the exit; 1: the check consumed it (counted, not handled);
     * -1: the guest was stopped (not counted).
     */
    int (*exit_check)(struct svm_vcpu *v);
    /*
     * Read len bytes of guest-virtual memory at la (truncated to 32 bits by
     * the caller outside long mode) as the guest's own read would translate
     * it; false if a byte is not readable guest RAM.  Nothing is written
     * (no A/D bits), nothing is injected.  Used by the event rules (event.h)
     * and GDB's virtual reads.
     */
    bool (*read_guest)(struct svm_vcpu *v, uint64_t la, void *buf, unsigned len);
    /*
     * NULL, or GDB's write of len bytes at guest-virtual la, translated as
     * read_guest translates (no A/D bits, nothing injected); false, with
     * the pages before the bad one written, if a byte is not writable guest
     * RAM.  Under shadow paging GDB writes through the shadow MMU instead,
     * which revalidates a write to a shadowed page table.
     */
    bool (*write_guest)(struct svm_vcpu *v, uint64_t la, const void *buf, unsigned len);
};

/* ---- SVM core entry points (src/svm) ------------------------------------ */

/* Detect SVM, print its features, enable EFER.SVME and the host save area. 0 or -1 (logged). */
int svm_init(uint32_t *features);
/* Paging ops for the option value. */
const struct paging_ops *paging_select(int paging_kind);
/* CR0/3/4 as the guest sees them, through v->mmu->guest_cr when the mode has one. */
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
/* Ask for a flush of the guest's whole TLB at the next VMRUN (TLB_CONTROL = 3
 * with FlushByAsid, else 1). */
void svm_flush_guest_tlb(struct svm_vcpu *v);

/* Set (on) or clear the IOPM intercept of one guest I/O port, from the next VMRUN on. */
void svm_iopm_intercept(unsigned port, bool on);
/* Intercept reads and writes of one MSR (MSRPM). */
void svm_msrpm_intercept(uint32_t msr);
/* The IOPM and MSRPM the two calls above edit (svm_vcpu_alloc() hands them over). */
void svm_vcpu_maps(uint8_t *iopm, uint8_t *msrpm);
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
