/*
 * The GDB stub's monitor hooks on an SVM guest (gdb_target_ops.mon_*, used
 * by gdbtarget.c): the shadow MMU through src/gdbstub/shadow_hooks.c, plus
 * what is private elsewhere, captured honestly: the shadow counters come
 * from shadow_print_stats() and the audit's findings from shadow_audit(),
 * both through plat_log_sink; Umbra's exits per reason from exit.c.
 * Called only while the guest is stopped.
 */
#include <umbra/kern.h>
#include <umbra/lib.h>
#include <umbra/svm.h>
#include <umbra/shadow.h>
#include <umbra/gdbstub.h>
#include "gdbtarget.h"

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
 * The shadow counters are private to src/shadow; shadow_print_stats() logs
 * them as "shadow: NAME=VALUE" through plat_log.  The monitor captures that
 * output into a table (on idx 0 of each `stats` run) and serves it, then
 * appends Umbra's exits per reason and the stub's own figures.
 */
#define STAT_MAX 96
static struct { char name[40]; uint64_t value; } stat_tab[STAT_MAX];
static unsigned stat_n;

static void stat_line(const char *line, void *ctx)
{
    (void)ctx;
    const char *p = line, *eq;
    if (strncmp(p, "shadow: ", 8) == 0)
        p += 8;
    eq = strchr(p, '=');
    if (!eq || stat_n == STAT_MAX || (size_t)(eq - p) >= sizeof(stat_tab[0].name))
        return;
    uint64_t val = 0;
    for (const char *d = eq + 1; *d >= '0' && *d <= '9'; d++)
        val = val * 10 + (uint64_t)(*d - '0');
    memcpy(stat_tab[stat_n].name, p, (size_t)(eq - p));
    stat_tab[stat_n].name[eq - p] = 0;
    stat_tab[stat_n].value = val;
    stat_n++;
}

static void capture_stats(struct svm_vcpu *v)
{
    stat_n = 0;
    if (!v->sh)
        return;
    plat_log_sink = stat_line;
    shadow_print_stats(v->sh->d);
    plat_log_sink = NULL;
}

int svm_mon_stat(void *t, unsigned idx, const char **name, uint64_t *value)
{
    struct svm_vcpu *v = t;
    static char nb[48];
    if (idx == 0)
        capture_stats(v);
    if (idx < stat_n) {
        *name = stat_tab[idx].name;
        *value = stat_tab[idx].value;
        return 0;
    }
    idx -= stat_n;
    if (svm_gdb_own_stat(idx, name, value))
        return 0;
    idx -= SVM_GDB_OWN_STATS;
    if (idx == 0) {
        *name = "tlb_full_flushes";
        *value = v->full_flushes;
        return 0;
    }
    idx--;
    char en[24];
    if (!svm_exit_stat(idx, en, sizeof(en), value))
        return -GDB_ENOENT;
    snprintf(nb, sizeof(nb), "exits_%s", en);
    *name = nb;
    return 0;
}

static uint64_t stat_value(const char *name)
{
    for (unsigned i = 0; i < stat_n; i++)
        if (strcmp(stat_tab[i].name, name) == 0)
            return stat_tab[i].value;
    return 0;
}

int svm_mon_pool(void *t, struct gdb_pool_info *pi)
{
    struct svm_vcpu *v = t;
    if (!v->sh)
        return -GDB_ENOSYS;
    gdb_shadow_pool(v->sh->d, pi);
    capture_stats(v);
    pi->unpins = stat_value("unpins");
    pi->teardowns = stat_value("teardowns");
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
