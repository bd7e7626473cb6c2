/*
 * TAP reporting.  Numbers are consecutive; a skip is reported as
 * "ok N - name # SKIP reason" and counted apart (never as a pass).
 */
#include "guest.h"

static unsigned tap_n, tap_fail, tap_skips, tap_planned;

void tap_plan(unsigned n)
{
    tap_planned = n;
    gprintf("1..%u\n", n);
}

static void line(bool pass, const char *name, const char *suffix)
{
    ++tap_n;
    if (!pass)
        tap_fail++;
    gprintf("%sok %u - %s%s\n", pass ? "" : "not ", tap_n, name, suffix ? suffix : "");
}

void tap_ok(bool pass, const char *fmt, ...)
{
    char name[160];
    va_list ap;
    va_start(ap, fmt);
    gvsnprintf(name, sizeof(name), fmt, ap);
    va_end(ap);
    line(pass, name, NULL);
}

void tap_check(bool pass, const char *name, const char *detail)
{
    char sfx[160];
    if (!pass && detail && *detail) {
        gsnprintf(sfx, sizeof(sfx), " # %s", detail);
        line(false, name, sfx);
    } else {
        line(pass, name, NULL);
    }
}

void tap_skip(const char *reason, const char *fmt, ...)
{
    char name[160], sfx[160];
    va_list ap;
    va_start(ap, fmt);
    gvsnprintf(name, sizeof(name), fmt, ap);
    va_end(ap);
    gsnprintf(sfx, sizeof(sfx), " # SKIP %s", reason);
    tap_skips++;
    line(true, name, sfx);
}

void tap_diag(const char *fmt, ...)
{
    char buf[200];
    va_list ap;
    va_start(ap, fmt);
    gvsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    gprintf("# %s\n", buf);
}

unsigned tap_failed(void) { return tap_fail; }

int tap_done(void)
{
    if (!tap_planned)
        gprintf("1..%u\n", tap_n);
    else if (tap_planned != tap_n)
        gprintf("# planned %u tests, ran %u\n", tap_planned, tap_n);
    gprintf("# %u tests, %u failed, %u skipped\n", tap_n, tap_fail, tap_skips);
    return tap_fail || (tap_planned && tap_planned != tap_n) ? 1 : 0;
}

void tap_bail(const char *why)
{
    gprintf("Bail out! %s\n", why);
    guest_exit(2);
}
