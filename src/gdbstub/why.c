/*
 * Why the stub or the target refused a request (issue 17 item 9): GDB shows
 * every failed memory access as "Cannot access memory", whatever the cause.
 * Each refusal leaves one line in s->why: what was asked, and why it failed,
 * in the target's words (gdb_stub_why()), or else the stub's own, which for
 * a virtual address includes where the guest's walk stopped.  GDB shows the
 * line itself for P and G (its "remote failure reply 'E.text'", GDB 7+);
 * for everything else `monitor why` prints it.  Pure.
 */
#include "internal.h"
#include <umbra/lib.h>

void gdb_stub_why(struct gdb_stub *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->twhy, sizeof(s->twhy), fmt, ap);
    va_end(ap);
}

static const char *err_name(int err)
{
    switch (err < 0 ? -err : err) {
    case GDB_EPERM:  return "refused by the target";
    case GDB_ENOENT: return "not found";
    case GDB_EIO:    return "not accessible";
    case GDB_EFAULT: return "bad address";
    case GDB_EINVAL: return "malformed or out of range";
    case GDB_ENOSPC: return "no free slot";
    case GDB_ENOSYS: return "not supported by this target";
    default:         return "failed";
    }
}

/* The guest's own walk of va, told as the reason a debugger cannot reach it. */
static void explain_va(struct gdb_stub *s, uint64_t va, char *buf, size_t size)
{
    struct gdb_walk w;
    memset(&w, 0, sizeof(w));
    if (!s->ops->mon_walk || s->ops->mon_walk(s->t, s->g_cpu, va, &w) < 0) {
        snprintf(buf, size, "not mapped or not guest RAM");
        return;
    }
    if (w.g_ok) {
        snprintf(buf, size, "the guest maps it to gpa 0x%llx, which is not guest RAM", (unsigned long long)w.gpa);
        return;
    }
    for (unsigned i = w.nlevels; i-- > 0;) {
        const struct gdb_walk_level *l = &w.lv[i];
        if (l->g_valid) {
            snprintf(buf, size, "not mapped by the guest: L%u entry %u of table 0x%llx is 0x%llx (#PF code 0x%x)",
                     l->level, l->g_index, (unsigned long long)l->g_table, (unsigned long long)l->g_entry,
                     w.g_pfec);
            return;
        }
    }
    snprintf(buf, size, "not mapped by the guest (#PF code 0x%x)", w.g_pfec);
}

const char *gdb_refusal(struct gdb_stub *s, int err, bool va_known, uint64_t va, const char *fmt, ...)
{
    char what[64], cause[128];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    if (s->twhy[0])
        snprintf(cause, sizeof(cause), "%s", s->twhy);
    else if (va_known && (err == -GDB_EIO || err == GDB_EIO))
        explain_va(s, va, cause, sizeof(cause));
    else
        snprintf(cause, sizeof(cause), "%s", err_name(err));
    snprintf(s->why, sizeof(s->why), "%s: %s", what, cause);
    s->refusals++;
    return s->why;
}
