/*
 * Private to src/svm: the GDB stub on an SVM guest (src/svm/gdb/: the
 * intercepts in intercept.c, gdb_target_ops in target.c, the monitor hooks
 * in monitor.c, their shared state in state.c).  With
 * gdb=com1|com2 Umbra owns that UART (IOPM-intercepted, svm.c), serves the
 * stub between exits, and intercepts #BP, #DB, physical interrupts (so a
 * spinning guest still exits on every timer tick and Ctrl-C is seen) and,
 * while GDB holds hardware breakpoints, the guest's debug-register accesses.
 * With gdb=none none of this exists: svm_gdb_on is false and the run loop
 * pays one predictable branch per exit.
 */
#ifndef UMBRA_SVM_GDB_H
#define UMBRA_SVM_GDB_H

#include <umbra/svm.h>
#include <umbra/gdbstub.h>

extern bool svm_gdb_on;

/* After the paging mode's init: set up the UART, the stub and the intercepts;
 * with gdb_wait serve GDB until it resumes the guest. */
void svm_gdb_start(struct svm_vcpu *v);

/* Right before every VMRUN (only when svm_gdb_on). */
void svm_gdb_before_vmrun(struct svm_vcpu *v);

/* After every handled exit (only when svm_gdb_on): finish a single-step,
 * report a stop a handler recorded, poll the UART for Ctrl-C. */
void svm_gdb_after_exit(struct svm_vcpu *v);

/* The run ended (v->stop): tell an attached GDB the guest exited (W). */
void svm_gdb_end(struct svm_vcpu *v);

/* Exit handlers (registered in exit.c's table; intercepts set only when svm_gdb_on). */
void svm_gdb_exit_bp(struct svm_vcpu *v);     /* #BP */
/* True while GDB single-steps the guest (TF is GDB's). */
bool svm_gdb_stepping(void);
void svm_gdb_exit_db(struct svm_vcpu *v);     /* #DB */
void svm_gdb_exit_swint(struct svm_vcpu *v);  /* INT n (QEMU reports INT3 this way) */
void svm_gdb_exit_intr(struct svm_vcpu *v);   /* physical INTR */
void svm_gdb_exit_vintr(struct svm_vcpu *v);  /* virtual INTR: the guest can take interrupts again */
void svm_gdb_exit_dr(struct svm_vcpu *v);     /* MOV to/from DRn */

/* IOIO exit on a port the stub intercepts for itself (the PICs' command
 * ports during an interrupt window): passed through; true if handled. */
bool svm_gdb_ioio(struct svm_vcpu *v, unsigned port, uint32_t info);


/* Monitor hooks (monitor.c), as struct gdb_target_ops describes them; t is the svm_vcpu. */
int svm_mon_walk(void *t, unsigned cpu, uint64_t va, struct gdb_walk *w);
int svm_mon_shadows(void *t, bool (*fn)(const struct gdb_shadow_info *, void *), void *arg);
int svm_mon_shadow_entry(void *t, const struct gdb_shadow_info *si, unsigned i,
                         uint64_t *sentry, uint64_t *gentry);
int svm_mon_pool(void *t, struct gdb_pool_info *pi);
int svm_mon_stat(void *t, unsigned idx, const char **name, const char **group, uint64_t *value);
long svm_mon_audit(void *t, const struct gdb_out *out);
int svm_mon_blow(void *t);
/* state.c: idx-th of the stub's own counters (SVM_GDB_OWN_STATS of them); false past the last. */
#define SVM_GDB_OWN_STATS 4
bool svm_gdb_own_stat(unsigned idx, const char **name, uint64_t *value);

/* From platform.c: while set, plat_log() lines go to sink instead of the console. */
extern void (*plat_log_sink)(const char *line, void *ctx);
extern void *plat_log_sink_ctx;

#endif
