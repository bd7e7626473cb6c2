/*
 * The seam between the shadow MMU (and the other pure code: instruction
 * emulator, GDB packet layer) and the machine.
 *
 * src/shadow/ and src/x86/ reach memory, the p2m and the log only through
 * these functions.  The hypervisor implements them on SVM
 * (src/svm/platform.c); the hosted tests implement them on a simulated
 * physical memory (test/unit/sim_platform.c).  Nothing here may assume which
 * of the two it runs in.
 */
#ifndef UMBRA_PLATFORM_H
#define UMBRA_PLATFORM_H

#include <umbra/types.h>

struct shadow_vcpu;

/*
 * Pointer to the 4 KiB host frame `mfn`, valid for the life of the run
 * (the hypervisor direct-maps all RAM; the simulator owns one array).
 * Returns NULL for a frame the platform does not back with memory.
 */
void *plat_map_mfn(mfn_t mfn);

/*
 * The p2m.  Guest-physical equals host-physical, except that Umbra's own
 * reserve (image, shadow pool, VMCBs, copied modules) and frames above the
 * guest's physical address width are refused with INVALID_MFN.  Device
 * frames (MMIO holes) translate to themselves so they can be passed through.
 * Its answer for a frame is fixed while a guest runs (the shadow keeps
 * shadows of frames it accepted without asking again).
 */
mfn_t plat_gfn_to_mfn(gfn_t gfn);

/* True if `gfn` is RAM the guest owns (not MMIO, not Umbra's). */
bool plat_gfn_is_ram(gfn_t gfn);

/*
 * True if every guest write to `gfn` must reach Umbra (the local APIC page,
 * whose ICR Umbra filters).  The shadow never maps such a frame writable and
 * answers a write fault on it with SH_EMULATE (sh_fault.gfn names it), so the
 * SVM layer emulates the instruction and decides what reaches the device.
 */
bool plat_gfn_trap_writes(gfn_t gfn);

/*
 * Flush the guest TLB entry for one virtual address in the vCPU's ASID
 * (INVLPGA on SVM; a no-op in the simulator, which has no TLB).  For a
 * whole-ASID flush set v->tlb_flush instead.
 */
void plat_flush_va(struct shadow_vcpu *v, gva_t va);

/*
 * CPU features the guest sees (the host's, less SVM).  The shadow code
 * honours exactly these: a feature the guest cannot enable is never
 * emulated, one it can is never ignored.  plat_cpu_features() returns the
 * same pointer at every call, for the life of the run, so a caller may keep
 * the pointer (the shadow domain does: no call per entry walked) and read
 * the fields through it; it must not keep a copy of a field the platform
 * may change (the hosted tests change some between runs of the shadow code).
 */
struct plat_cpu_features {
    unsigned maxphyaddr;   /* CPUID 0x80000008 EAX[7:0] */
    bool nx;               /* CPUID 0x80000001 EDX[20] */
    bool pse36;
    bool pge;
    bool pdpe1gb;          /* 1 GiB pages in long mode */
    bool smep;             /* CPUID 7.0 EBX[7] */
    bool smap;             /* CPUID 7.0 EBX[20] */
    bool pku;              /* CPUID 7.0 ECX[3] */
    bool pks;              /* CPUID 7.0 ECX[31] (no AMD CPU; QEMU -cpu max) */
};
const struct plat_cpu_features *plat_cpu_features(void);

/*
 * The guest's PKRU (protection-key rights: AD = bit 2k, WD = bit 2k+1 for
 * key k).  SVM does not switch PKRU, so after #VMEXIT the register holds
 * the guest's value.  The shadow walker asks only while the guest runs long
 * mode with CR4.PKE and the feature exists; 0 if there is no PKU.
 */
uint32_t plat_guest_pkru(struct shadow_vcpu *v);

/*
 * The guest's IA32_PKRS (the same layout, for supervisor pages under
 * CR4.PKS).  Umbra neither intercepts nor switches the MSR, so after #VMEXIT
 * it holds the guest's value; the host runs with CR4.PKS = 0.  Asked only
 * under the same conditions with CR4.PKS; 0 if there is no PKS.
 */
uint32_t plat_guest_pkrs(struct shadow_vcpu *v);

/* The guest's RIP at the current #VMEXIT (for the shadow trace, src/shadow/trace.c). */
uint64_t plat_guest_rip(struct shadow_vcpu *v);

/* Diagnostics: one line, printf format, printed as "umbra: ..." by the caller's convention. */
void plat_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * A shadow-MMU precondition failed (SH_ASSERT in src/shadow/private.h):
 * report `cond` at file:line and never return.  The hypervisor stops the
 * machine rather than run the guest on a broken shadow; the hosted tests
 * abort(), so Check sees SIGABRT.
 */
void plat_assert_failed(const char *cond, const char *file, int line)
    __attribute__((noreturn, cold));

#endif
