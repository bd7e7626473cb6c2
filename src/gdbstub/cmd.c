/*
 * The RSP command layer: one complete packet in, one reply out, against
 * struct gdb_target_ops.  Pure: no hardware, no libc beyond umbra/lib.h.
 *
 * Invariants:
 *   - every packet gets exactly one reply (empty = "not supported"), except
 *     resume packets, answered later by gdb_stub_stopped(), and `k`;
 *   - target hooks that need stopped vCPUs are called only while !running;
 *   - every parse checks its input: bad hex, odd lengths, missing separators,
 *     out-of-range registers/threads give `E NN`, never a crash.
 */
#include "internal.h"
#include <umbra/lib.h>

static void out_O(void *ctx, const char *str, size_t n);
static const struct gdb_layout *layout(struct gdb_stub *s);

/* ---- replies --------------------------------------------------------------- */
static void reply(struct gdb_stub *s, const char *str)
{
    rsp_send_str(&s->rsp, str);
}

static void reply_err(struct gdb_stub *s, int err)
{
    if (err < 0)
        err = -err;
    snprintf(s->reply, sizeof(s->reply), "E%02x", err & 0xff);
    reply(s, s->reply);
}

/* GDB's textual error reply, "E." + text: GDB prints it for P and G ("remote
 * failure reply 'E.text'").  Only where GDB reads it: its m handler takes
 * anything but "Enn" as data. */
static void reply_text_err(struct gdb_stub *s, const char *text)
{
    snprintf(s->reply, sizeof(s->reply), "E.%s", text);
    /* GDB shows the text as it came, escapes included: keep it plain. */
    for (char *c = s->reply; *c; c++)
        if (*c == '#' || *c == '$' || *c == '}' || *c == '*')
            *c = '_';
    reply(s, s->reply);
}

static void reply_rc(struct gdb_stub *s, int rc)
{
    if (rc < 0)
        reply_err(s, rc);
    else
        reply(s, "OK");
}

/* ---- helpers ----------------------------------------------------------------- */
static unsigned nr_cpus(struct gdb_stub *s)
{
    unsigned n = s->ops->nr_cpus ? s->ops->nr_cpus(s->t) : 1;
    if (n < 1)
        n = 1;
    return n > GDB_MAX_CPUS ? GDB_MAX_CPUS : n;
}

enum gdb_arch gdb_stub_arch_for(struct gdb_stub *s, unsigned cpu)
{
    if (s->arch_override != GDB_ARCH_AUTO)
        return s->arch_override;
    if (s->ops->paging_mode && s->ops->paging_mode(s->t, cpu) == GUEST_PAGING_LONG)
        return GDB_ARCH_AMD64;
    return GDB_ARCH_I386;
}

/* Parse "addr,len" and advance *p past it. */
static bool parse_addr_len(const char **p, uint64_t *addr, uint64_t *len)
{
    if (!rsp_parse_hex(p, addr) || **p != ',')
        return false;
    (*p)++;
    return rsp_parse_hex(p, len);
}

/*
 * Thread ids: GDB's thread n is vCPU n-1.  -1 = all, 0 = any.  *cpu gets
 * -1 for all, the vCPU otherwise (any = the stopped one).
 */
static bool parse_tid(struct gdb_stub *s, const char **p, int *cpu)
{
    uint64_t id;

    if ((*p)[0] == '-' && (*p)[1] == '1') {
        *p += 2;
        *cpu = -1;
        return true;
    }
    if (!rsp_parse_hex(p, &id))
        return false;
    if (id == 0) {
        *cpu = (int)s->stop_cpu;
        return true;
    }
    if (id > nr_cpus(s))
        return false;
    *cpu = (int)id - 1;
    return true;
}

long gdb_mem_xfer(struct gdb_stub *s, bool phys, uint64_t addr, void *buf, size_t len, bool write)
{
    const struct gdb_target_ops *o = s->ops;
    size_t done = 0;

    while (done < len) {
        uint64_t a = addr + done;
        size_t chunk = PAGE_SIZE - (a & (PAGE_SIZE - 1));
        int rc;

        if (chunk > len - done)
            chunk = len - done;
        if (phys)
            rc = write ? (o->write_phys ? o->write_phys(s->t, a, (char *)buf + done, chunk) : -GDB_ENOSYS)
                       : (o->read_phys ? o->read_phys(s->t, a, (char *)buf + done, chunk) : -GDB_ENOSYS);
        else
            rc = write ? (o->write_virt ? o->write_virt(s->t, s->g_cpu, a, (char *)buf + done, chunk) : -GDB_ENOSYS)
                       : (o->read_virt ? o->read_virt(s->t, s->g_cpu, a, (char *)buf + done, chunk) : -GDB_ENOSYS);
        if (rc < 0)
            return done ? (long)done : rc;
        done += chunk;
    }
    return (long)done;
}

/* ---- stop replies -------------------------------------------------------------- */
static void send_stop(struct gdb_stub *s)
{
    const struct gdb_stop *w = &s->last_stop;
    static const char *const wname[] = { "", "", "watch", "rwatch", "awatch" };

    if (w->exited) {
        snprintf(s->reply, sizeof(s->reply), "W%02x", w->exit_code & 0xff);
    } else if (w->watch && w->watch_type >= GDB_WP_WRITE && w->watch_type <= GDB_WP_ACCESS) {
        snprintf(s->reply, sizeof(s->reply), "T%02xthread:%x;%s:%llx;", w->signal & 0xff, w->cpu + 1,
                 wname[w->watch_type], (unsigned long long)w->watch_addr);
    } else {
        /* With swbreak/hwbreak GDB trusts our pc; without, it would check for a
         * breakpoint at pc - 1 and might move pc back by one. */
        snprintf(s->reply, sizeof(s->reply), "T%02xthread:%x;%s", w->signal & 0xff, w->cpu + 1,
                 w->swbreak && s->gdb_swbreak ? "swbreak:;" :
                 w->hwbreak && s->gdb_hwbreak ? "hwbreak:;" : "");
    }
    /* The registers ride along, so a stepi costs GDB no `g` round trip. */
    struct gdb_regs r;
    if (!w->exited && s->ops->get_regs && s->ops->get_regs(s->t, w->cpu, &r) == 0) {
        size_t n = strlen(s->reply);
        gdb_expedite_regs(layout(s), &r, s->reply + n, sizeof(s->reply) - n);
    }
    reply(s, s->reply);
}

void gdb_stub_stopped(struct gdb_stub *s, const struct gdb_stop *why)
{
    s->last_stop = *why;
    if (s->last_stop.cpu >= nr_cpus(s))
        s->last_stop.cpu = 0;
    s->stop_cpu = s->g_cpu = s->c_cpu = s->last_stop.cpu;
    s->running = false;
    /* Nobody asked (no debugger has spoken since the last D/k): keep the
     * reason for '?', never push an unsolicited packet at a fresh GDB. */
    if (s->attached && why->notice && !why->exited) {
        /* Console output is allowed while GDB waits for a stop reply. */
        size_t n = strlen(why->notice);
        if (n > (sizeof(s->reply) - 2) / 2)
            n = (sizeof(s->reply) - 2) / 2;
        s->reply[0] = 'O';
        rsp_mem2hex((const uint8_t *)why->notice, n, s->reply + 1);
        reply(s, s->reply);
    }
    s->last_stop.notice = NULL;
    if (s->attached)
        send_stop(s);
}

void gdb_stub_set_running(struct gdb_stub *s)
{
    s->running = true;
}

/* ---- resume ---------------------------------------------------------------------- */
static enum gdb_action resume(struct gdb_stub *s, const enum gdb_run *run)
{
    bool any = false;

    for (unsigned i = 0; i < nr_cpus(s); i++)
        any |= run[i] != GDB_RUN_STOP;
    if (!any) {                 /* nothing to run: report "still stopped" at once */
        send_stop(s);
        return GDB_ACT_NONE;
    }
    if (s->ops->resume)
        s->ops->resume(s->t, run);
    s->running = true;
    return GDB_ACT_RESUME;
}

/* c/s/C/S [sig][;addr] (legacy): continue all, or step the Hc vCPU only. */
static enum gdb_action cmd_cont_step(struct gdb_stub *s, const char *p, bool step, bool sig)
{
    enum gdb_run run[GDB_MAX_CPUS];
    uint64_t v;

    if (sig) {
        if (!rsp_parse_hex(&p, &v))
            goto bad;
        if (*p == ';')
            p++;
        else if (*p)
            goto bad;
    }
    if (*p) {
        struct gdb_regs r;
        if (!rsp_parse_hex(&p, &v) || *p)
            goto bad;
        if (!s->ops->get_regs || s->ops->get_regs(s->t, s->c_cpu, &r) < 0)
            goto bad;
        r.rip = v;
        if (!s->ops->set_regs || s->ops->set_regs(s->t, s->c_cpu, &r) < 0)
            goto bad;
    }
    for (unsigned i = 0; i < GDB_MAX_CPUS; i++)
        run[i] = step ? GDB_RUN_STOP : GDB_RUN_CONT;
    if (step)
        run[s->c_cpu] = GDB_RUN_STEP;
    return resume(s, run);
bad:
    reply_err(s, GDB_EINVAL);
    return GDB_ACT_NONE;
}

/* vCont;action[:tid]...  The leftmost action that names a vCPU wins. */
static enum gdb_action cmd_vcont(struct gdb_stub *s, const char *p)
{
    enum gdb_run run[GDB_MAX_CPUS];
    bool set[GDB_MAX_CPUS] = { false };
    unsigned n = nr_cpus(s);
    uint64_t v;

    for (unsigned i = 0; i < GDB_MAX_CPUS; i++)
        run[i] = GDB_RUN_STOP;
    if (!*p)
        goto bad;
    while (*p == ';') {
        enum gdb_run act;
        char a = *++p;
        int cpu = -1;

        p++;
        if (a == 'c' || a == 'C')
            act = GDB_RUN_CONT;
        else if (a == 's' || a == 'S')
            act = GDB_RUN_STEP;
        else if (a == 't')
            act = GDB_RUN_STOP;
        else
            goto bad;
        if ((a == 'C' || a == 'S') && !rsp_parse_hex(&p, &v))
            goto bad;
        if (*p == ':') {
            p++;
            if (!parse_tid(s, &p, &cpu))
                goto bad;
        }
        for (unsigned i = 0; i < n; i++) {
            if ((cpu < 0 || (unsigned)cpu == i) && !set[i]) {
                run[i] = act;
                set[i] = true;
            }
        }
    }
    if (*p)
        goto bad;
    return resume(s, run);
bad:
    reply_err(s, GDB_EINVAL);
    return GDB_ACT_NONE;
}

/* ---- registers ------------------------------------------------------------------ */
static const struct gdb_layout *layout(struct gdb_stub *s)
{
    return gdb_layout(s->arch);
}

/* The stub's own rules for the debug and descriptor-table registers, the same
 * for every target (ctlcheck.c); the reason goes to s->why.  0 or -GDB_EPERM. */
static int check_sysregs(struct gdb_stub *s, const struct gdb_regs *old, struct gdb_regs *r)
{
    char why[160];
    if (gdb_check_sysregs(old, r, why, sizeof(why)))
        return 0;
    gdb_stub_why(s, "%s", why);
    return -GDB_EPERM;
}

static void cmd_g(struct gdb_stub *s)
{
    const struct gdb_layout *l = layout(s);
    struct gdb_regs r;
    char *o = s->reply;
    uint8_t b[16];

    if (!s->ops->get_regs || s->ops->get_regs(s->t, s->g_cpu, &r) < 0) {
        reply_err(s, GDB_EIO);
        return;
    }
    for (unsigned i = 0; i < l->nregs; i++) {
        unsigned sz = gdb_reg_get(l, i, &r, b);
        rsp_mem2hex(b, sz, o);
        o += 2 * sz;
    }
    reply(s, s->reply);
}

static void cmd_G(struct gdb_stub *s, const char *p, size_t len)
{
    const struct gdb_layout *l = layout(s);
    struct gdb_regs r;
    size_t total = 0;

    for (unsigned i = 0; i < l->nregs; i++)
        total += gdb_reg_size(l, i);
    if (len != 2 * total || total > sizeof(s->scratch) || !rsp_hex2mem(p, total, s->scratch)) {
        reply_err(s, GDB_EINVAL);
        return;
    }
    if (!s->ops->get_regs || s->ops->get_regs(s->t, s->g_cpu, &r) < 0) {
        reply_err(s, GDB_EIO);
        return;
    }
    struct gdb_regs old = r;
    total = 0;
    for (unsigned i = 0; i < l->nregs; i++) {
        gdb_reg_set(l, i, &r, s->scratch + total, gdb_reg_size(l, i));
        total += gdb_reg_size(l, i);
    }
    int rc = check_sysregs(s, &old, &r);
    if (rc == 0)
        rc = s->ops->set_regs ? s->ops->set_regs(s->t, s->g_cpu, &r) : -GDB_ENOSYS;
    if (rc < 0)
        reply_text_err(s, gdb_refusal(s, rc, false, 0, "write of the registers"));
    else
        reply(s, "OK");
}

static void cmd_p(struct gdb_stub *s, const char *p)
{
    const struct gdb_layout *l = layout(s);
    struct gdb_regs r;
    uint64_t n;
    uint8_t b[16];

    if (!rsp_parse_hex(&p, &n) || *p || n >= l->nregs) {
        reply_err(s, GDB_EINVAL);
        return;
    }
    if (!s->ops->get_regs || s->ops->get_regs(s->t, s->g_cpu, &r) < 0) {
        reply_err(s, GDB_EIO);
        return;
    }
    rsp_mem2hex(b, gdb_reg_get(l, (unsigned)n, &r, b), s->reply);
    reply(s, s->reply);
}

static void cmd_P(struct gdb_stub *s, const char *p)
{
    const struct gdb_layout *l = layout(s);
    struct gdb_regs r;
    uint64_t n;
    uint8_t b[16];
    unsigned sz;

    if (!rsp_parse_hex(&p, &n) || *p != '=' || n >= l->nregs) {
        reply_err(s, GDB_EINVAL);
        return;
    }
    p++;
    sz = gdb_reg_size(l, (unsigned)n);
    if (strlen(p) != 2 * sz || !rsp_hex2mem(p, sz, b)) {
        reply_err(s, GDB_EINVAL);
        return;
    }
    if (!s->ops->get_regs || s->ops->get_regs(s->t, s->g_cpu, &r) < 0) {
        reply_err(s, GDB_EIO);
        return;
    }
    struct gdb_regs old = r;
    gdb_reg_set(l, (unsigned)n, &r, b, sz);
    int rc = check_sysregs(s, &old, &r);
    if (rc == 0)
        rc = s->ops->set_regs ? s->ops->set_regs(s->t, s->g_cpu, &r) : -GDB_ENOSYS;
    if (rc < 0)
        reply_text_err(s, gdb_refusal(s, rc, false, 0, "write of %s", l->regs[n].name));
    else
        reply(s, "OK");
}

/* ---- memory ------------------------------------------------------------------- */
static void cmd_m(struct gdb_stub *s, const char *p)
{
    uint64_t addr, len;
    long got;

    if (!parse_addr_len(&p, &addr, &len) || *p) {
        reply_err(s, GDB_EINVAL);
        return;
    }
    if (len > sizeof(s->scratch))
        len = sizeof(s->scratch);        /* GDB accepts a short read */
    if (len == 0) {
        reply(s, "");
        return;
    }
    got = gdb_mem_xfer(s, s->phys, addr, s->scratch, len, false);
    if (got < 0) {
        gdb_refusal(s, (int)got, !s->phys, addr, "read of %s %#llx", s->phys ? "gpa" : "guest VA",
                    (unsigned long long)addr);
        reply_err(s, GDB_EIO);
        return;
    }
    rsp_mem2hex(s->scratch, (size_t)got, s->reply);
    reply(s, s->reply);
}

/* M addr,len:hex and X addr,len:binary (the framing already undid escapes). */
static void cmd_write(struct gdb_stub *s, const char *p, size_t plen, bool binary)
{
    const char *start = p;
    uint64_t addr, len;
    size_t datalen;
    long put;

    if (!parse_addr_len(&p, &addr, &len) || *p != ':') {
        reply_err(s, GDB_EINVAL);
        return;
    }
    p++;
    datalen = plen - (size_t)(p - start);
    if (len > sizeof(s->scratch) ||
        (binary ? datalen != len : (datalen != 2 * len || !rsp_hex2mem(p, len, s->scratch)))) {
        reply_err(s, GDB_EINVAL);
        return;
    }
    if (binary)
        memcpy(s->scratch, p, len);
    if (len == 0) {
        reply(s, "OK");
        return;
    }
    put = gdb_mem_xfer(s, s->phys, addr, s->scratch, len, true);
    if (put != (long)len) {
        uint64_t at = addr + (put > 0 ? (uint64_t)put : 0);
        gdb_refusal(s, put < 0 ? (int)put : -GDB_EIO, !s->phys, at, "write of %s %#llx",
                    s->phys ? "gpa" : "guest VA", (unsigned long long)at);
    }
    reply_rc(s, put == (long)len ? 0 : -GDB_EIO);
}

/* ---- breakpoints ----------------------------------------------------------------- */
static void cmd_Z(struct gdb_stub *s, const char *p, bool insert)
{
    uint64_t type, addr, kind;
    int rc;

    if (!rsp_parse_hex(&p, &type) || *p++ != ',' || !parse_addr_len(&p, &addr, &kind)) {
        reply_err(s, GDB_EINVAL);
        return;
    }
    /* A conditions list (";X...") may follow; we evaluate none of them. */
    if (*p && *p != ';') {
        reply_err(s, GDB_EINVAL);
        return;
    }
    if (type == GDB_BP_SW) {
        rc = insert ? gdb_swbp_insert(s, addr) : gdb_swbp_remove(s, addr);
    } else if (type <= GDB_WP_ACCESS) {
        int (*fn)(void *, enum gdb_bp_type, uint64_t, unsigned) =
            insert ? s->ops->insert_hw : s->ops->remove_hw;
        rc = fn ? fn(s->t, (enum gdb_bp_type)type, addr, (unsigned)kind) : -GDB_ENOSYS;
    } else {
        rc = -GDB_ENOSYS;
    }
    if (rc < 0)
        gdb_refusal(s, rc, type == GDB_BP_SW, addr, "%s of a type-%u breakpoint at %#llx",
                    insert ? "insert" : "removal", (unsigned)type, (unsigned long long)addr);
    if (rc == -GDB_ENOSYS)
        reply(s, "");                   /* "not supported": GDB falls back */
    else
        reply_rc(s, rc);
}

/* ---- queries -------------------------------------------------------------------- */
static bool starts(const char *p, const char *prefix)
{
    return strncmp(p, prefix, strlen(prefix)) == 0;
}

/* Does the ';'-separated feature list p contain exactly the item f? */
static bool has_feature(const char *p, const char *f)
{
    size_t n = strlen(f);
    for (const char *q = strchr(p, ':'); q; q = strchr(q, ';')) {
        q++;
        if (strncmp(q, f, n) == 0 && (q[n] == ';' || q[n] == '\0'))
            return true;
    }
    return false;
}

static void cmd_xfer_features(struct gdb_stub *s, const char *p)
{
    uint64_t off, len;
    size_t n;

    if (!starts(p, "target.xml:")) {
        reply_err(s, GDB_ENOENT);
        return;
    }
    p += strlen("target.xml:");
    if (!parse_addr_len(&p, &off, &len) || *p) {
        reply_err(s, GDB_EINVAL);
        return;
    }
    if (s->xml_len == 0 || s->xml_arch != s->arch) {
        s->xml_len = gdb_target_xml(gdb_layout(s->arch), s->xml, sizeof(s->xml));
        s->xml_arch = s->arch;
    }
    if (off >= s->xml_len) {
        reply(s, "l");
        return;
    }
    n = s->xml_len - (size_t)off;
    if (len > GDB_PACKET_SIZE - 1)
        len = GDB_PACKET_SIZE - 1;
    if (n > len)
        n = (size_t)len;
    s->reply[0] = (off + n < s->xml_len) ? 'm' : 'l';
    memcpy(s->reply + 1, s->xml + off, n);
    rsp_send(&s->rsp, s->reply, n + 1);
}

static void cmd_rcmd(struct gdb_stub *s, const char *p)
{
    size_t n = strlen(p);
    char *line = (char *)s->scratch;
    struct gdb_out out = { out_O, s };
    struct gdb_mon_ctx ctx = { s, s->ops, s->t, s->g_cpu, &out };

    if (n % 2 || n / 2 >= sizeof(s->scratch) || !rsp_hex2mem(p, n / 2, s->scratch)) {
        reply_err(s, GDB_EINVAL);
        return;
    }
    line[n / 2] = '\0';
    s->olen = 0;
    gdb_monitor(&ctx, line);
    if (s->olen)
        out_O(s, NULL, 0);
    reply(s, "OK");
}

static void cmd_thread_extra(struct gdb_stub *s, const char *p)
{
    static const char *const modes[] = { "paging off", "2-level", "PAE", "long mode" };
    char text[64];
    int cpu;
    enum guest_paging m = GUEST_PAGING_OFF;

    if (!parse_tid(s, &p, &cpu) || cpu < 0 || *p) {
        reply_err(s, GDB_EINVAL);
        return;
    }
    if (s->ops->paging_mode)
        m = s->ops->paging_mode(s->t, (unsigned)cpu);
    snprintf(text, sizeof(text), "vCPU %d, %s", cpu, (unsigned)m < 4 ? modes[m] : "?");
    rsp_mem2hex((const uint8_t *)text, strlen(text), s->reply);
    reply(s, s->reply);
}

static void cmd_q(struct gdb_stub *s, const char *p)
{
    if (starts(p, "qSupported")) {
        /* A new connection: it starts in ack mode, and its layout follows the
         * guest's mode now (or the monitor override). */
        if (s->rsp.noack) {
            s->rsp.noack = false;
            if (s->rsp.tx)
                s->rsp.tx(s->rsp.tx_ctx, (const uint8_t *)"+", 1);
        }
        s->arch = gdb_stub_arch_for(s, s->stop_cpu);
        s->gdb_swbreak = has_feature(p, "swbreak+");
        s->gdb_hwbreak = has_feature(p, "hwbreak+");
        snprintf(s->reply, sizeof(s->reply),
                 "PacketSize=%x;qXfer:features:read+;QStartNoAckMode+;vContSupported+%s%s",
                 GDB_PACKET_SIZE, s->gdb_swbreak ? ";swbreak+" : "", s->gdb_hwbreak ? ";hwbreak+" : "");
        reply(s, s->reply);
    } else if (starts(p, "qXfer:features:read:")) {
        cmd_xfer_features(s, p + strlen("qXfer:features:read:"));
    } else if (strcmp(p, "qfThreadInfo") == 0) {
        char *o = s->reply;
        *o++ = 'm';
        for (unsigned i = 0; i < nr_cpus(s); i++)
            o += snprintf(o, 16, "%s%x", i ? "," : "", i + 1);
        *o = '\0';
        reply(s, s->reply);
    } else if (strcmp(p, "qsThreadInfo") == 0) {
        reply(s, "l");
    } else if (strcmp(p, "qC") == 0) {
        snprintf(s->reply, sizeof(s->reply), "QC%x", s->stop_cpu + 1);
        reply(s, s->reply);
    } else if (starts(p, "qThreadExtraInfo,")) {
        cmd_thread_extra(s, p + strlen("qThreadExtraInfo,"));
    } else if (starts(p, "qAttached")) {
        reply(s, "1");
    } else if (starts(p, "qRcmd,")) {
        cmd_rcmd(s, p + strlen("qRcmd,"));
    } else {
        s->unknown++;
        reply(s, "");
    }
}

static void cmd_H(struct gdb_stub *s, const char *p)
{
    char op = *p++;
    int cpu;

    if ((op != 'g' && op != 'c') || !parse_tid(s, &p, &cpu) || *p) {
        reply_err(s, GDB_EINVAL);
        return;
    }
    if (cpu < 0)
        cpu = (int)s->stop_cpu;
    if (op == 'g')
        s->g_cpu = (unsigned)cpu;
    else
        s->c_cpu = (unsigned)cpu;
    reply(s, "OK");
}

static void cmd_T(struct gdb_stub *s, const char *p)
{
    int cpu;

    if (!parse_tid(s, &p, &cpu) || *p || cpu < 0)
        reply_err(s, GDB_ENOENT);
    else
        reply(s, "OK");
}

static enum gdb_action cmd_detach(struct gdb_stub *s, bool kill)
{
    enum gdb_run run[GDB_MAX_CPUS];

    gdb_swbp_remove_all(s);
    if (s->ops->detach)
        s->ops->detach(s->t, kill);
    if (!kill)
        reply(s, "OK");
    s->attached = false;
    s->rsp.noack = false;             /* the next debugger starts in ack mode */
    for (unsigned i = 0; i < GDB_MAX_CPUS; i++)
        run[i] = GDB_RUN_CONT;
    if (s->ops->resume && !kill)
        s->ops->resume(s->t, run);
    s->running = !kill;
    return GDB_ACT_DETACH;
}

/* ---- monitor output as O packets ----------------------------------------------- */
/* Collects text; a full buffer (or str == NULL) goes out as one `O` packet. */
static void out_O(void *ctx, const char *str, size_t n)
{
    struct gdb_stub *s = ctx;

    for (;;) {
        size_t room = sizeof(s->obuf) - s->olen;
        size_t k = n < room ? n : room;

        if (str && k) {
            memcpy(s->obuf + s->olen, str, k);
            s->olen += k;
            str += k;
            n -= k;
        }
        if (s->olen == sizeof(s->obuf) || (!str && s->olen)) {
            s->reply[0] = 'O';
            rsp_mem2hex((const uint8_t *)s->obuf, s->olen, s->reply + 1);
            reply(s, s->reply);
            s->olen = 0;
        }
        if (!str || n == 0)
            return;
    }
}

/* ---- dispatch ------------------------------------------------------------------ */
/* Packets that need stopped vCPUs.  While running only '?' means something
 * (GDB connecting to a running guest): stop it, the stop reply answers. */
static bool needs_stopped(char c)
{
    return c && strchr("gGpPmMXZzcCsSDk?", c) != NULL;
}

static enum gdb_action handle(struct gdb_stub *s)
{
    const char *p = s->rsp.buf;
    size_t len = s->rsp.len;

    s->packets++;
    s->attached = true;
    s->twhy[0] = 0;
    if (s->rsp.overflow) {
        reply_err(s, GDB_EINVAL);
        return GDB_ACT_NONE;
    }
    if (len == 0) {
        reply(s, "");
        return GDB_ACT_NONE;
    }
    if (s->running && (needs_stopped(p[0]) || starts(p, "vCont;"))) {
        if (p[0] == '?')
            return GDB_ACT_INTERRUPT;
        reply_err(s, GDB_EPERM);
        return GDB_ACT_NONE;
    }
    switch (p[0]) {
    case '?':
        send_stop(s);
        break;
    case 'g': cmd_g(s); break;
    case 'G': cmd_G(s, p + 1, len - 1); break;
    case 'p': cmd_p(s, p + 1); break;
    case 'P': cmd_P(s, p + 1); break;
    case 'm': cmd_m(s, p + 1); break;
    case 'M': cmd_write(s, p + 1, len - 1, false); break;
    case 'X': cmd_write(s, p + 1, len - 1, true); break;
    case 'Z': cmd_Z(s, p + 1, true); break;
    case 'z': cmd_Z(s, p + 1, false); break;
    case 'c': return cmd_cont_step(s, p + 1, false, false);
    case 'C': return cmd_cont_step(s, p + 1, false, true);
    case 's': return cmd_cont_step(s, p + 1, true, false);
    case 'S': return cmd_cont_step(s, p + 1, true, true);
    case 'H': cmd_H(s, p + 1); break;
    case 'T': cmd_T(s, p + 1); break;
    case 'D': return cmd_detach(s, false);
    case 'k': return cmd_detach(s, true);
    case 'q': cmd_q(s, p); break;
    case 'Q':
        if (strcmp(p, "QStartNoAckMode") == 0) {
            reply(s, "OK");
            s->rsp.noack = true;
        } else {
            s->unknown++;
            reply(s, "");
        }
        break;
    case 'v':
        if (strcmp(p, "vCont?") == 0)
            reply(s, "vCont;c;C;s;S;t");
        else if (starts(p, "vCont;") || strcmp(p, "vCont") == 0)
            return cmd_vcont(s, p + 5);
        else {
            s->unknown++;
            reply(s, "");
        }
        break;
    default:
        s->unknown++;
        reply(s, "");
        break;
    }
    return GDB_ACT_NONE;
}

void gdb_stub_init(struct gdb_stub *s, const struct gdb_target_ops *ops, void *t,
                   void (*tx)(void *, const uint8_t *, size_t), void *tx_ctx)
{
    memset(s, 0, sizeof(*s));
    rsp_init(&s->rsp, tx, tx_ctx);
    s->ops = ops;
    s->t = t;
    s->arch_override = GDB_ARCH_AUTO;
    s->arch = gdb_stub_arch_for(s, 0);
    s->last_stop.signal = GDB_SIGTRAP;
}

enum gdb_action gdb_stub_input(struct gdb_stub *s, uint8_t c)
{
    switch (rsp_rx(&s->rsp, c)) {
    case RSP_EV_INTERRUPT:
        return s->running ? GDB_ACT_INTERRUPT : GDB_ACT_NONE;
    case RSP_EV_PACKET:
        return handle(s);
    default:
        return GDB_ACT_NONE;
    }
}
