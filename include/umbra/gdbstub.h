/*
 * Umbra's GDB stub: the Remote Serial Protocol over a UART Umbra owns.
 *
 * Layers (src/gdbstub/):
 *   rsp.c      framing: a byte-at-a-time receive state machine, acks, resend,
 *              escapes, run-length decoding, Ctrl-C; hex helpers.  Pure.
 *   regs.c     register layouts (i386, x86-64) and their target descriptions.
 *   cmd.c      the packet commands, against struct gdb_target_ops.  Pure.
 *   bp.c       software breakpoints (int3) through the target's memory ops.
 *   monitor.c  the `monitor` commands (walk, shadows, pool, stats, dot, ...).
 *   uart.c     16550 polled I/O (freestanding only).
 * The pure files compile unchanged into umbra.elf and the hosted tests; they
 * include only umbra/lib.h for C library functions.
 *
 * Driving the stub (the hypervisor or a test):
 *   gdb_stub_init() once; feed every received byte to gdb_stub_input().  While
 *   the guest is stopped, the caller loops reading bytes until gdb_stub_input()
 *   returns GDB_ACT_RESUME; it then runs the vCPUs as the target's resume hook
 *   was told.  While the guest runs, the caller still feeds bytes (polled
 *   between exits); GDB_ACT_INTERRUPT means GDB sent Ctrl-C: stop the guest.
 *   When the guest stops (breakpoint, step done, Ctrl-C, watchpoint) the caller
 *   calls gdb_stub_stopped(), which sends the stop reply.
 */
#ifndef UMBRA_GDBSTUB_H
#define UMBRA_GDBSTUB_H

#include <umbra/types.h>
#include <umbra/guest_paging.h>

struct shadow_vcpu;     /* include/umbra/shadow.h: only src/gdbstub/shadow_hooks.c looks inside */
struct shadow_domain;

/* ---- limits ---------------------------------------------------------------- */
#define GDB_PACKET_SIZE   16384  /* max payload we accept and advertise (PacketSize): GDB 13 uses at most 16384 */
#define GDB_MAX_CPUS      8
#define GDB_MAX_SWBP      64
#define GDB_XML_SIZE      12288

/* Error numbers of `E NN` replies (GDB only shows them). */
#define GDB_EPERM   0x01
#define GDB_ENOENT  0x02
#define GDB_EIO     0x05    /* unreadable/unwritable memory */
#define GDB_EFAULT  0x0e
#define GDB_EINVAL  0x16    /* malformed packet, bad hex, out of range */
#define GDB_ENOSPC  0x1c
#define GDB_ENOSYS  0x26    /* target cannot do it (hook missing) */

/* ---- registers ------------------------------------------------------------- */
/*
 * The canonical guest register file.  The target fills all of it; the stub
 * maps it onto the layout GDB was given (i386: low 32 bits of the GPRs;
 * x86-64: all of them).  x87/SSE registers are not part of it: the stub
 * reports them as zero and ignores writes to them.
 */
struct gdb_regs {
    uint64_t rax, rbx, rcx, rdx, rsi, rdi, rbp, rsp;
    uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
    uint64_t rip, rflags;
    uint64_t cs, ss, ds, es, fs, gs;                        /* selectors */
    uint64_t cs_base, ss_base, ds_base, es_base, fs_base, gs_base;
    uint64_t cr0, cr2, cr3, cr4, efer;
    /* The guest's debug registers (never the stub's own hbreak/watch slots),
     * and its descriptor-table registers (read-only from GDB, see
     * gdb_check_sysregs()). */
    uint64_t dr0, dr1, dr2, dr3, dr6, dr7;
    uint64_t gdtr_base, gdtr_limit, idtr_base, idtr_limit;
    uint64_t ldtr, ldtr_base, ldtr_limit, tr, tr_base, tr_limit;
};

enum gdb_arch {
    GDB_ARCH_AUTO,   /* choose from the guest's paging mode at each connection/attach */
    GDB_ARCH_I386,
    GDB_ARCH_AMD64,
};

/* ---- breakpoints and resume --------------------------------------------------- */
enum gdb_bp_type {      /* the Z/z type digit */
    GDB_BP_SW = 0,
    GDB_BP_HW = 1,
    GDB_WP_WRITE = 2,
    GDB_WP_READ = 3,
    GDB_WP_ACCESS = 4,
};

enum gdb_run {
    GDB_RUN_STOP,       /* stay stopped */
    GDB_RUN_CONT,       /* continue */
    GDB_RUN_STEP,       /* one instruction, then report a stop (SIGTRAP) */
};

/* What the target reports when a vCPU stops. */
struct gdb_stop {
    unsigned cpu;       /* the vCPU that stopped (0-based) */
    int signal;         /* GDB_SIGTRAP, GDB_SIGINT, ... */
    bool swbreak;       /* stopped at one of the stub's int3 (rip already rewound to it) */
    bool hwbreak;       /* stopped by a hardware instruction breakpoint (DR6.B0-3) */
    bool watch;         /* a watchpoint fired at watch_addr */
    enum gdb_bp_type watch_type;
    uint64_t watch_addr;
    bool exited;        /* the guest is gone (W reply): exit_code */
    int exit_code;
    const char *notice; /* shown by GDB before the stop (an `O` packet), e.g. that the
                         * guest left the mode of this session's register layout; or NULL */
};
#define GDB_SIGINT  2
#define GDB_SIGTRAP 5
#define GDB_SIGSEGV 11
#define GDB_SIGKILL 9

/* ---- monitor hook data ------------------------------------------------------ */
/* One level of a guest walk and the matching shadow walk (level 4..1 or 3..1). */
struct gdb_walk_level {
    unsigned level;         /* 4, 3, 2, 1 (the guest's numbering: PAE has 3..1) */
    bool g_valid;           /* the guest walk reached this level */
    uint64_t g_table;       /* guest-physical address of the guest table */
    unsigned g_index;       /* index used in it */
    uint64_t g_entry;       /* the guest entry (raw) */
    bool s_valid;           /* the shadow walk reached this level */
    uint64_t s_table;       /* host-physical address of the shadow table */
    unsigned s_index;
    uint64_t s_entry;       /* the shadow entry (raw) */
    bool leaf;              /* this level maps the page (PS or level 1) */
};

struct gdb_walk {
    enum guest_paging mode;
    uint64_t va;
    unsigned nlevels;                /* entries used in lv[], top level first; the deeper
                                      * of the two walks (a 2-level guest on PAE shadows
                                      * has an L3 with only the shadow side valid) */
    struct gdb_walk_level lv[5];
    bool g_ok;                       /* the guest maps va: gpa valid */
    uint64_t gpa;
    uint32_t g_pfec;                 /* if !g_ok: the #PF error code a read would get */
    bool s_ok;                       /* the shadow maps va: hpa valid */
    uint64_t hpa;
};

/* One shadow page, as the monitor lists it. */
struct gdb_shadow_info {
    uint64_t smfn;          /* the shadow frame */
    uint64_t gfn;           /* the guest frame it shadows (fl1: first frame of the superpage) */
    uint64_t g_table;       /* guest-physical address of the table it mirrors (gfn << 12; the
                             * PAE PDPT: CR3 & ~0x1f); 0 if it mirrors none */
    const char *type;       /* "l1_pae", "l2_pae", "fl1_pae", "l2_32", ... */
    unsigned guest_levels;  /* 2, 3, 4 (0: paging-off shadow); 2 = 32-bit entries */
    unsigned level;         /* 1 = leaf table (l1/fl1), 2, 3, 4 */
    unsigned refcount;
    bool pinned;
    bool in_use;            /* a vCPU's current top level */
    unsigned entries;       /* number of entries in the table (512, 1024, 4) */
};

/* Shadow pool usage (shadow_pool_usage() gives the first four). */
struct gdb_pool_info {
    unsigned long total, free, shadows, pinned;   /* frames, frames, live shadows, pinned shadows */
    unsigned long unpins, teardowns;              /* counters, 0 if unknown */
};

/* Output sink for monitor text (the stub turns it into `O` packets). */
struct gdb_out {
    void (*write)(void *ctx, const char *s, size_t n);
    void *ctx;
};

/* ---- the target --------------------------------------------------------------- */
/*
 * Everything the stub needs from the machine.  `t` is the target's own
 * context.  Return conventions: 0 = success, a negative GDB_E* = failure
 * (e.g. -GDB_EIO).  Hooks marked optional may be NULL; the stub then answers
 * with an error or "not available".  The stub calls the hooks only while
 * every vCPU is stopped, except interrupt() (see gdb_stub_input()).
 */
struct gdb_target_ops {
    /* Number of vCPUs (1..GDB_MAX_CPUS).  Threads are vCPUs: thread id = cpu + 1. */
    unsigned (*nr_cpus)(void *t);

    /* Guest paging mode of a vCPU right now (chooses the target description). */
    enum guest_paging (*paging_mode)(void *t, unsigned cpu);

    /* Read/write the whole register file of a stopped vCPU.  set_regs writes all
     * fields (the stub read them first and changed what GDB asked). */
    int (*get_regs)(void *t, unsigned cpu, struct gdb_regs *r);
    int (*set_regs)(void *t, unsigned cpu, const struct gdb_regs *r);

    /* Guest-virtual memory of vCPU `cpu` through the guest's own tables, without
     * access-right checks and without setting A/D bits.  [va, va+len) never
     * crosses a 4 KiB page (the stub splits).  -GDB_EIO if not mapped.  Writes
     * must keep the shadows coherent (write-protected guest page tables). */
    int (*read_virt)(void *t, unsigned cpu, uint64_t va, void *buf, size_t len);
    int (*write_virt)(void *t, unsigned cpu, uint64_t va, const void *buf, size_t len);

    /* Guest-physical memory (monitor phys on), same page rule.  -GDB_EIO for
     * frames the guest does not own. */
    int (*read_phys)(void *t, uint64_t gpa, void *buf, size_t len);
    int (*write_phys)(void *t, uint64_t gpa, const void *buf, size_t len);

    /* Hardware breakpoints and watchpoints (DR0-3 and DR7 of the guest; the target
     * swaps them with the guest's own debug registers).  kind = length in bytes
     * for watchpoints (1, 2, 4, 8), ignored for GDB_BP_HW.  -GDB_ENOSPC when the
     * four slots are used.  Software breakpoints (GDB_BP_SW) never reach the
     * target: the stub writes int3 through write_virt itself.  Optional. */
    int (*insert_hw)(void *t, enum gdb_bp_type type, uint64_t addr, unsigned kind);
    int (*remove_hw)(void *t, enum gdb_bp_type type, uint64_t addr, unsigned kind);

    /* Record how each vCPU runs when the caller resumes: run[cpu] for every cpu
     * < nr_cpus.  GDB_RUN_STEP sets RFLAGS.TF (hiding it from the guest) and
     * reports GDB_SIGTRAP after one instruction.  A vCPU that stops at an int3
     * the stub planted must report rip = the breakpoint address (rewind past the
     * int3), signal GDB_SIGTRAP. */
    void (*resume)(void *t, const enum gdb_run *run);

    /* GDB detached (D) or killed (k): the target drops its debug state
     * (hardware breakpoints, TF); `kill` asks to stop the guest for good. */
    void (*detach)(void *t, bool kill);

    /* ---- monitor hooks (all optional) ---- */
    int (*mon_walk)(void *t, unsigned cpu, uint64_t va, struct gdb_walk *w);
    /* Call fn on every live shadow (stop early if fn returns false); 0 or a
     * negative GDB_E*.  Shaped like shadow_for_each(): the hook converts each
     * struct shadow_info into a gdb_shadow_info. */
    int (*mon_shadows)(void *t, bool (*fn)(const struct gdb_shadow_info *si, void *arg), void *arg);
    /* Entry i of the shadow si (as mon_shadows() reported it, i < si->entries):
     * its raw value and the guest entry it mirrors (*gentry left 0 where there
     * is none, e.g. fl1).  Given the whole info so no lookup is needed. */
    int (*mon_shadow_entry)(void *t, const struct gdb_shadow_info *si, unsigned i,
                            uint64_t *sentry, uint64_t *gentry);
    int (*mon_pool)(void *t, struct gdb_pool_info *pi);
    /* idx-th counter: name, group (faults, cr3, tlb, exits, ...: `monitor
     * stats` prints by group) and value; -GDB_ENOENT past the last. */
    int (*mon_stat)(void *t, unsigned idx, const char **name, const char **group, uint64_t *value);
    /* Run the audit, printing each error to `out`; returns the error count. */
    long (*mon_audit)(void *t, const struct gdb_out *out);
    /* Tear down every shadow not in use (then the current ones are rebuilt on demand). */
    int (*mon_blow)(void *t);
};

/* ---- the framing layer (rsp.c) -------------------------------------------------- */
enum rsp_rx_state { RSP_IDLE, RSP_DATA, RSP_ESC, RSP_RLE, RSP_CSUM1, RSP_CSUM2 };

struct rsp {
    /* transmit: the caller's byte sink (a UART, a socket) */
    void (*tx)(void *ctx, const uint8_t *buf, size_t n);
    void *tx_ctx;
    bool noack;                       /* QStartNoAckMode accepted */

    /* receive state machine */
    enum rsp_rx_state st;
    uint8_t sum;                      /* running checksum of the raw payload */
    uint8_t csum;                     /* received checksum */
    bool bad;                         /* malformed (escape/RLE misuse, bad checksum digit) */
    bool overflow;                    /* payload exceeded GDB_PACKET_SIZE: answered E16 */
    size_t len;
    char buf[GDB_PACKET_SIZE + 1];    /* decoded payload, NUL-terminated */

    /* the last packet sent, framed, for resend on '-' */
    size_t last_len;
    uint8_t last[2 * GDB_PACKET_SIZE + 8];

    unsigned long naks_sent, naks_rcvd, resends, garbage;
};

enum rsp_event {
    RSP_EV_NONE,        /* byte consumed, nothing complete */
    RSP_EV_PACKET,      /* r->buf holds a packet of r->len bytes (NUL-terminated) */
    RSP_EV_INTERRUPT,   /* 0x03 outside a packet */
};

/* Reset the framing state; tx is where framed bytes go. */
void rsp_init(struct rsp *r, void (*tx)(void *, const uint8_t *, size_t), void *ctx);

/* Feed one received byte.  Invariant: any byte sequence leaves the machine in a
 * valid state; a bad packet is NAKed (ack mode) or dropped, a '$' always starts a
 * new packet.  Acks ('+') are sent here for good packets. */
enum rsp_event rsp_rx(struct rsp *r, uint8_t c);

/* Frame and send a payload of n bytes (escaping $ # } *), remember it for resend.
 * Payloads longer than GDB_PACKET_SIZE are truncated. */
void rsp_send(struct rsp *r, const char *payload, size_t n);
void rsp_send_str(struct rsp *r, const char *s);

/* hex helpers: all return -1 (or false) on a non-hex digit or bad length */
int rsp_hexval(int c);
/* Parse hex digits from *p up to a non-hex char; advances *p.  false if none or > 64 bits. */
bool rsp_parse_hex(const char **p, uint64_t *val);
/* Decode 2n hex chars from s into n bytes; false on a non-hex digit. */
bool rsp_hex2mem(const char *s, size_t n, uint8_t *out);
/* Encode n bytes as 2n hex chars + NUL into out. */
void rsp_mem2hex(const uint8_t *in, size_t n, char *out);

/* ---- the stub (cmd.c) -------------------------------------------------------- */
struct gdb_swbp {
    uint64_t addr;
    uint8_t saved;
    bool used;
};

struct gdb_stub {
    struct rsp rsp;
    const struct gdb_target_ops *ops;
    void *t;

    enum gdb_arch arch_override;      /* monitor arch */
    enum gdb_arch arch;               /* the layout GDB was given on this connection */
    bool phys;                        /* monitor phys on: m/M/X are guest-physical */
    bool running;                     /* resumed, no stop reported yet */
    bool attached;                    /* a debugger sent a packet since init or the last D/k */
    unsigned g_cpu;                   /* Hg: registers/memory thread */
    unsigned c_cpu;                   /* Hc (legacy step/continue) */
    unsigned stop_cpu;                /* last stopped vCPU */
    struct gdb_stop last_stop;
    bool gdb_swbreak, gdb_hwbreak;    /* GDB understands swbreak/hwbreak stop reasons */

    struct gdb_swbp swbp[GDB_MAX_SWBP];

    /* monitor output, collected into `O` packets */
    char obuf[GDB_PACKET_SIZE / 2 - 8];
    size_t olen;

    char reply[GDB_PACKET_SIZE + 1];
    uint8_t scratch[GDB_PACKET_SIZE / 2];   /* decoded memory/registers */
    char xml[GDB_XML_SIZE];
    size_t xml_len;
    enum gdb_arch xml_arch;

    /* the last refusal, "WHAT: CAUSE" (why.c; `monitor why` prints it), and the
     * target's cause for a refusal in the packet being handled (gdb_stub_why()) */
    char why[200];
    char twhy[128];
    unsigned long refusals;

    unsigned long packets, unknown;
};

enum gdb_action {
    GDB_ACT_NONE,        /* keep feeding bytes */
    GDB_ACT_RESUME,      /* run the guest as ops->resume() was told */
    GDB_ACT_INTERRUPT,   /* Ctrl-C while running: stop the guest, then gdb_stub_stopped() */
    GDB_ACT_DETACH,      /* D or k: run the guest freely (ops->detach() was called) */
};

/* Set up a stub over the byte sink tx.  The guest is considered stopped on vCPU 0
 * until the first resume. */
void gdb_stub_init(struct gdb_stub *s, const struct gdb_target_ops *ops, void *t,
                   void (*tx)(void *, const uint8_t *, size_t), void *tx_ctx);

/* Feed one received byte; handles complete packets.  See enum gdb_action. */
enum gdb_action gdb_stub_input(struct gdb_stub *s, uint8_t c);

/* The guest stopped: remember why and send the stop reply (T05thread:..;), or,
 * if no debugger has sent a packet since init or the last D/k, only remember
 * it (GDB's '?' will fetch it). */
void gdb_stub_stopped(struct gdb_stub *s, const struct gdb_stop *why);

/* The caller started the guest without waiting for GDB: a Ctrl-C or a '?' from
 * a debugger that connects later returns GDB_ACT_INTERRUPT; stop the guest and
 * call gdb_stub_stopped(), whose reply answers GDB. */
void gdb_stub_set_running(struct gdb_stub *s);

/* True if the stub planted an int3 at guest-virtual addr.  The target's #BP
 * handler asks this for rip - 1: yes = report a stop at addr (rewinding rip),
 * no = the guest's own int3, reflect #BP into the guest. */
bool gdb_stub_swbp_at(const struct gdb_stub *s, uint64_t addr);

/* A target hook about to fail can say why, in a few words ("cr0 0x...: PG=1
 * needs PE=1").  Kept for the packet being handled: the stub puts it in its
 * reply to P/G (E.text) and in `monitor why`. */
void gdb_stub_why(struct gdb_stub *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The layout in use for a vCPU (the override, else from its paging mode). */
enum gdb_arch gdb_stub_arch_for(struct gdb_stub *s, unsigned cpu);

/* ---- registers (regs.c) ---------------------------------------------------------- */
struct gdb_reg_desc {
    const char *name;
    unsigned bits;          /* 32, 64, 80, 128 */
    const char *type;       /* GDB type name: int32, int64, code_ptr, data_ptr, i387_ext, vec128, ... */
    const char *group;      /* "general", "float", "vector", "system" or NULL */
    unsigned feature;       /* index into the layout's feature names */
    int field;              /* offset into struct gdb_regs, or -1 (reads as 0, writes ignored) */
};

struct gdb_layout {
    const char *arch_name;            /* "i386", "i386:x86-64" */
    const char *features[4];          /* feature names, NULL-terminated */
    const struct gdb_reg_desc *regs;
    unsigned nregs;
    unsigned pc_regno;
    unsigned expedite[3];             /* sent in every T stop reply: sp, fp, pc */
};

const struct gdb_layout *gdb_layout(enum gdb_arch arch);
/* Size in bytes of register n in the layout (0 if out of range). */
unsigned gdb_reg_size(const struct gdb_layout *l, unsigned n);
/* Write register n of r as target bytes (little endian) into out; returns its size (0 = bad n). */
unsigned gdb_reg_get(const struct gdb_layout *l, unsigned n, const struct gdb_regs *r, uint8_t *out);
/* Store size bytes into register n of r (zero-extending i386 registers); false if bad n or size. */
bool gdb_reg_set(const struct gdb_layout *l, unsigned n, struct gdb_regs *r, const uint8_t *in, size_t size);
/* "NN:hex;" for each register of l->expedite (sp, fp, pc: a T reply's
 * expedited registers), within size bytes; returns the length. */
size_t gdb_expedite_regs(const struct gdb_layout *l, const struct gdb_regs *r, char *buf, size_t size);
/* Generate the target description XML (target.xml) into buf; returns its length or 0 if it does not fit. */
size_t gdb_target_xml(const struct gdb_layout *l, char *buf, size_t size);

/* ---- control-register checks (ctlcheck.c) ------------------------------------------ */
/* What the target's CPU lets the guest set, and the code segment's L and D bits. */
struct gdb_ctl_caps {
    uint64_t cr4_allowed;       /* CR4 bits the guest may set */
    uint64_t efer_allowed;      /* EFER bits (SCE LME LMA, NXE if the CPU has NX) */
    unsigned maxphyaddr;
    bool cs_l, cs_d;            /* CS.L and CS.D of the stopped vCPU */
};
/* True if CR0/CR3/CR4/EFER of n (the registers after a GDB write, o before)
 * pass the checks VMRUN and the CPU's MOV CR / WRMSR make; else false and a
 * one-line reason in why.  May set n->efer's LMA (see ctlcheck.c). */
bool gdb_check_control(const struct gdb_regs *o, struct gdb_regs *n, const struct gdb_ctl_caps *c,
                       char *why, size_t size);
/* True if the debug and descriptor-table registers of n (after a GDB write;
 * o before) may be handed to the target: the descriptor-table registers
 * unchanged, DR6/DR7 with bits 63:32 clear (VMRUN check) and no DR7
 * reserved bit, DR0-3 canonical in long mode and 32-bit outside it.  Else
 * false and a one-line reason in why.  Called by the stub for every P/G,
 * before the target's set_regs; may set n->dr7's always-one bit 10. */
bool gdb_check_sysregs(const struct gdb_regs *o, struct gdb_regs *n, char *why, size_t size);

/* ---- monitor (monitor.c) ----------------------------------------------------------- */
struct gdb_mon_ctx {
    struct gdb_stub *s;               /* the stub (arch, phys state); may be NULL in tests of formatting */
    const struct gdb_target_ops *ops;
    void *t;
    unsigned cpu;
    const struct gdb_out *out;
};
/* Run one monitor command line; prints to ctx->out.  Returns 0, or -1 for an unknown
 * command or bad arguments (after printing a message). */
int gdb_monitor(const struct gdb_mon_ctx *ctx, const char *line);
/* `monitor trace ARGS` on the shadow trace ring (src/shadow/trace.h), defined by
 * shadow_hooks.c; weak, so stub builds without the shadow MMU answer "unavailable". */
int gdb_shadow_trace(const char *args, void (*put)(const char *s, void *ctx), void *ctx) __attribute__((weak));
/* Print helpers, used by monitor.c and available to targets. */
void gdb_printf(const struct gdb_out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Format the decoded flags of a page-table entry at `level` ("P RW US A D PS G NX"). */
void gdb_pte_flags(uint64_t e, unsigned level, enum guest_paging mode, char *buf, size_t size);

/* ---- hooks on the shadow MMU (shadow_hooks.c; needs src/shadow) -------------------- */
/* mon_walk: the guest walk and the shadow walk of va (shadow_walk_va()). */
int gdb_shadow_walk(struct shadow_vcpu *v, uint64_t va, struct gdb_walk *w);
/* mon_shadows: every live shadow (shadow_for_each()); v's PDPT shadow is shown
 * with the guest PDPT it mirrors. */
int gdb_shadow_list(struct shadow_vcpu *v, bool (*fn)(const struct gdb_shadow_info *, void *), void *arg);
/* mon_shadow_entry: entry i of a shadow and the guest entry it mirrors. */
int gdb_shadow_entry(const struct gdb_shadow_info *si, unsigned i, uint64_t *sentry, uint64_t *gentry);
/* mon_pool (shadow_pool_usage()). */
int gdb_shadow_pool(struct shadow_domain *d, struct gdb_pool_info *pi);
/* read_virt/write_virt: debugger access by guest-virtual address, no rights
 * check, no A/D; one page at most.  A write into a guest page table goes
 * through shadow_write_guest() (shadows revalidated) and is refused
 * (-GDB_EPERM) if the guest's own tables forbid it. */
int gdb_shadow_read_virt(struct shadow_vcpu *v, uint64_t va, void *buf, size_t len);
int gdb_shadow_write_virt(struct shadow_vcpu *v, uint64_t va, const void *buf, size_t len);
/* Map frame m for a debugger copy: plat_map_mfn(), except that frame 0 of an
 * identity direct map (at address 0, i.e. NULL) counts as mapped.  False if
 * m cannot be mapped. */
bool gdb_map_frame(mfn_t m, char **p);
/* True if guest frame gfn is shadowed as a page table. */
bool gdb_shadow_is_table(struct shadow_domain *d, uint64_t gfn);

/* ---- 16550 UART (uart.c over pio.c; pio.c is freestanding only) ---------------------- */
uint8_t gdb_pio_inb(uint16_t port);
void gdb_pio_outb(uint16_t port, uint8_t v);
#define GDB_COM1 0x3f8
#define GDB_COM2 0x2f8

/* Program the UART at `base` for 8N1 at `baud` (115200 divides evenly), FIFOs on,
 * interrupts off (the stub polls). */
void gdb_uart_init(uint16_t base, unsigned baud);
/* Non-blocking receive: true and *c if a byte was waiting. */
bool gdb_uart_getc(uint16_t base, uint8_t *c);
/* Blocking transmit of n bytes; usable as the stub's tx with ctx = (void *)(uintptr_t)base. */
void gdb_uart_tx(void *ctx, const uint8_t *buf, size_t n);
/* Feed the stub every byte the UART holds.  block = keep polling until the stub
 * returns an action other than GDB_ACT_NONE (use while the guest is stopped).
 * Returns the first action other than GDB_ACT_NONE, or GDB_ACT_NONE. */
enum gdb_action gdb_uart_poll(struct gdb_stub *s, uint16_t base, bool block);

#endif
