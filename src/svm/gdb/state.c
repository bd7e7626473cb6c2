/*
 * The GDB stub's state on an SVM guest, shared by intercept.c (the debug
 * intercepts) and target.c (gdb_target_ops), and the stub's own counters
 * for monitor.c.  Nothing here calls anything: the three files above it do.
 */
#include <umbra/kern.h>
#include <umbra/lib.h>
#include <umbra/svm.h>
#include <umbra/gdbstub.h>
#include "gdb.h"
#include "private.h"

struct svm_gdb svm_gdb;                    /* ~30 KiB (the stub): static */

/* The stub's own figures for `monitor stats` (monitor.c). */
bool svm_gdb_own_stat(unsigned idx, const char **name, uint64_t *value)
{
    const struct { const char *n; uint64_t v; } own[] = {
        { "gdb_packets", svm_gdb.stub.packets }, { "gdb_stops", svm_gdb.stops }, { "gdb_interrupts", svm_gdb.interrupts },
        { "gdb_intr_windows", svm_gdb.intr_windows },
    };
    _Static_assert(ARRAY_SIZE(own) == SVM_GDB_OWN_STATS, "SVM_GDB_OWN_STATS");
    if (idx >= ARRAY_SIZE(own))
        return false;
    *name = own[idx].n;
    *value = own[idx].v;
    return true;
}
