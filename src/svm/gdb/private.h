/*
 * Private to src/svm/gdb: the state intercept.c and target.c share (in
 * state.c) and the helpers target.c lends intercept.c.
 */
#ifndef UMBRA_SVM_GDB_PRIVATE_H
#define UMBRA_SVM_GDB_PRIVATE_H

#include <umbra/svm.h>
#include <umbra/gdbstub.h>

#define DR6_HITS        0xfULL
#define DR7_FIXED       0x400ULL

struct hw_slot {
    bool used;
    enum gdb_bp_type type;
    uint64_t addr;
    unsigned len;
};

struct svm_gdb {
    struct gdb_stub stub;
    uint16_t uart;
    bool stepping;            /* TF is ours until the step ends */
    bool guest_tf;            /* the guest's own TF when the step began */
    uint64_t step_rip;
    bool have_stop;           /* a handler recorded `stop` for after_exit() */
    struct gdb_stop stop;
    bool killed;
    struct hw_slot hw[4];
    bool window;              /* an interrupt window is open (see svm_gdb_window()) */
    bool dr_owned;            /* GDB holds DR0-3/DR7; guest's copies below */
    uint64_t guest_dr[4], guest_dr7;
    bool layout_told;         /* this connection was told its layout no longer fits */
    unsigned long stops, interrupts, intr_windows, layout_stops;
};
extern struct svm_gdb svm_gdb;                   /* state.c */

/* target.c */
extern const struct gdb_target_ops svm_gdb_ops;
/* Take the debug registers from the guest (first GDB slot) or give them back (last). */
void svm_gdb_dr_own(struct svm_vcpu *v, bool own);
/* End a step: the guest's own TF back, interrupts unmasked again. */
void svm_gdb_end_step(struct svm_vcpu *v);
/* Open or close the one-delivery interrupt window (comment at the definition). */
void svm_gdb_window(struct svm_vcpu *v, bool open);

#endif
