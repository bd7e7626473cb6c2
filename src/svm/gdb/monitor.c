/*
 * The GDB stub's monitor hooks on an SVM guest (gdb_target_ops.mon_*, used
 * by target.c's table): the shadow MMU through src/gdbstub/shadow_hooks.c, plus
 * what is private elsewhere: the shadow counters through shadow_stat(), the
 * audit's findings from shadow_audit() (captured through plat_log_sink),
 * Umbra's exits per reason from exitstat.c.
 * Called only while the guest is stopped.
 */
#include <umbra/kern.h>
#include <umbra/lib.h>
#include <umbra/svm.h>
#include <umbra/shadow.h>
#include <umbra/gdbstub.h>
#include "gdb.h"
#include "../exit.h"

int svm_mon_walk(void *t, unsigned cpu, uint64_t va, struct gdb_walk *w)
{
    struct svm_vcpu *v = t;
    (void)cpu;
    return v->sh ? gdb_shadow_walk(v->sh, va, w) : -GDB_ENOSYS;
}

int svm_mon_shadows(void *t, bool (*fn)(const struct gdb_shadow_info *, void *), void *arg)
{
    struct svm_vcpu *v = t;
    return v->sh ? gdb_shadow_list(v->sh, fn, arg) : -GDB_ENOSYS;
}

int svm_mon_shadow_entry(void *t, const struct gdb_shadow_info *si, unsigned i,
                              uint64_t *sentry, uint64_t *gentry)
{
    (void)t;
    return gdb_shadow_entry(si, i, sentry, gentry);
}

/*
 * `monitor stats`: the shadow counters through shadow_stat() (src/shadow's
 * iterator, with their groups), then the stub's own figures, the TLB flushes
 * and Umbra's exits per reason (exits_NAME).
 */
int svm_mon_stat(void *t, unsigned idx, const char **name, const char **group, uint64_t *value)
{
    struct svm_vcpu *v = t;
    static struct shadow_stat st;
    static char nb[48];

    if (v->sh && shadow_stat(v->sh->d, idx, &st)) {
        *name = st.name;
        *group = st.group;
        *value = st.value;
        return 0;
    }
    if (v->sh) {                        /* idx past the shadow counters */
        unsigned n = 0;
        while (shadow_stat(v->sh->d, n, &st))
            n++;
        idx -= n;
    }
    *group = "gdb";
    if (svm_gdb_own_stat(idx, name, value))
        return 0;
    idx -= SVM_GDB_OWN_STATS;
    if (idx == 0) {
        *name = "tlb_full_flushes";
        *group = "tlb";
        *value = v->full_flushes;
        return 0;
    }
    idx--;
    char en[24];
    if (!svm_exit_stat(idx, en, sizeof(en), value))
        return -GDB_ENOENT;
    snprintf(nb, sizeof(nb), "exits_%s", en);
    *name = nb;
    *group = "exits";
    return 0;
}

static uint64_t stat_value(struct svm_vcpu *v, const char *name)
{
    struct shadow_stat st;
    for (unsigned i = 0; shadow_stat(v->sh->d, i, &st); i++)
        if (strcmp(st.name, name) == 0)
            return st.value;
    return 0;
}

int svm_mon_pool(void *t, struct gdb_pool_info *pi)
{
    struct svm_vcpu *v = t;
    if (!v->sh)
        return -GDB_ENOSYS;
    gdb_shadow_pool(v->sh->d, pi);
    pi->unpins = stat_value(v, "unpins");
    pi->teardowns = stat_value(v, "teardowns");
    return 0;
}

static void audit_line(const char *line, void *ctx)
{
    gdb_printf(ctx, "%s\n", line);
}

long svm_mon_audit(void *t, const struct gdb_out *out)
{
    struct svm_vcpu *v = t;
    if (!v->sh)
        return -GDB_ENOSYS;
    plat_log_sink = audit_line;
    plat_log_sink_ctx = (void *)out;
    long errs = (long)shadow_audit(v->sh->d);
    plat_log_sink = NULL;
    return errs;
}

int svm_mon_blow(void *t)
{
    struct svm_vcpu *v = t;
    if (!v->sh)
        return -GDB_ENOSYS;
    shadow_blow_tables(v->sh->d);
    v->sh->tlb_flush = true;
    return 0;
}
