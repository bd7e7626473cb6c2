/*
 * Test harness for the stub: the real stub over the fake target, with the
 * transmit side captured in a buffer and a tiny RSP client to frame requests
 * and decode (and checksum-verify) replies.
 */
#ifndef TEST_GDB_UTIL_H
#define TEST_GDB_UTIL_H

#include <ctype.h>
#include "test_gdb_fake.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct harness {
    struct fake f;
    struct gdb_stub s;
    char out[1 << 18];          /* raw bytes the stub sent */
    size_t outlen;
    char reply[GDB_PACKET_SIZE + 1];   /* decoded payload of the last packet */
    char console[1 << 18];      /* concatenated `O` packet text */
    enum gdb_action last_action;
    int bad_frames;             /* replies with a wrong checksum (must stay 0) */
};

static void h_tx(void *ctx, const uint8_t *buf, size_t n)
{
    struct harness *h = ctx;
    if (h->outlen + n > sizeof(h->out))
        h->outlen = 0;          /* keep only the recent past */
    memcpy(h->out + h->outlen, buf, n);
    h->outlen += n;
}

static inline void h_init(struct harness *h, enum guest_paging mode)
{
    memset(h, 0, sizeof(*h));
    fake_init(&h->f, mode);
    gdb_stub_init(&h->s, &fake_ops, &h->f, h_tx, h);
    h->f.stub = &h->s;
}

/* Feed raw bytes; remember the first action other than NONE. */
static inline enum gdb_action h_feed(struct harness *h, const void *data, size_t n)
{
    const uint8_t *p = data;
    enum gdb_action act = GDB_ACT_NONE;
    for (size_t i = 0; i < n; i++) {
        enum gdb_action a = gdb_stub_input(&h->s, p[i]);
        if (a != GDB_ACT_NONE && act == GDB_ACT_NONE)
            act = a;
    }
    h->last_action = act;
    return act;
}

/* Frame a payload (escaping $#}*) as GDB would. */
static inline size_t h_frame(const char *payload, size_t n, char *out)
{
    size_t o = 0;
    unsigned sum = 0;
    out[o++] = '$';
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)payload[i];
        if (c == '$' || c == '#' || c == '}' || c == '*') {
            out[o++] = '}';
            sum += '}';
            c ^= 0x20;
        }
        out[o++] = (char)c;
        sum += c;
    }
    o += (size_t)sprintf(out + o, "#%02x", sum & 0xff);
    return o;
}

/* Decode every packet in out[] since `from`: O packets go to console, the last
 * other packet to reply.  Returns the number of packets. */
static inline int h_decode(struct harness *h, size_t from)
{
    int count = 0;
    size_t i = from;
    while (i < h->outlen) {
        if (h->out[i] != '$') {
            i++;
            continue;
        }
        char pl[GDB_PACKET_SIZE + 1];
        size_t n = 0;
        unsigned sum = 0;
        i++;
        while (i < h->outlen && h->out[i] != '#') {
            unsigned char c = (unsigned char)h->out[i++];
            sum += c;
            if (c == '}' && i < h->outlen) {
                c = (unsigned char)h->out[i++];
                sum += c;
                c ^= 0x20;
            }
            if (n < sizeof(pl) - 1)
                pl[n++] = (char)c;
        }
        pl[n] = '\0';
        if (i + 2 >= h->outlen + 0 && i + 2 > h->outlen)
            break;
        unsigned cs = (unsigned)strtoul((char[]){ h->out[i + 1], h->out[i + 2], 0 }, NULL, 16);
        if (cs != (sum & 0xff))
            h->bad_frames++;
        i += 3;
        count++;
        if (pl[0] == 'O' && n > 1 && n % 2 == 1) {
            size_t cl = strlen(h->console);
            for (size_t k = 1; k + 1 < n && cl < sizeof(h->console) - 1; k += 2) {
                char hx[3] = { pl[k], pl[k + 1], 0 };
                h->console[cl++] = (char)strtoul(hx, NULL, 16);
            }
            h->console[cl] = '\0';
        } else {
            memcpy(h->reply, pl, n + 1);
        }
    }
    return count;
}

/* Send one packet, return the decoded reply ("" if the stub sent none). */
static inline const char *h_cmd_n(struct harness *h, const char *payload, size_t n)
{
    char frame[2 * GDB_PACKET_SIZE + 16];
    size_t from;
    if (h->outlen > sizeof(h->out) / 2)
        h->outlen = 0;          /* room for the whole exchange */
    from = h->outlen;
    size_t fl = h_frame(payload, n, frame);
    h->reply[0] = '\0';
    h->console[0] = '\0';
    strcpy(h->reply, "<none>");
    h_feed(h, frame, fl);
    if (h_decode(h, from) == 0)
        strcpy(h->reply, "<none>");
    return h->reply;
}

static inline const char *h_cmd(struct harness *h, const char *payload)
{
    return h_cmd_n(h, payload, strlen(payload));
}

/* monitor command: returns the console text, reply must be OK */
static inline const char *h_monitor(struct harness *h, const char *line)
{
    char pkt[2048] = "qRcmd,";
    size_t o = strlen(pkt);
    for (const char *p = line; *p; p++)
        o += (size_t)sprintf(pkt + o, "%02x", (unsigned char)*p);
    h_cmd(h, pkt);
    return h->console;
}

/* "PacketSize=<GDB_PACKET_SIZE in hex>;" + rest: the qSupported reply. */
static inline const char *h_psz(const char *rest)
{
    static char b[256];
    snprintf(b, sizeof(b), "PacketSize=%x;%s", GDB_PACKET_SIZE, rest);
    return b;
}

/* Is reply the stop reply `head` followed only by expedited registers
 * ("NN:hex;" items, at least the pc)?  The values are checked elsewhere. */
static inline bool h_is_stop(const char *reply, const char *head)
{
    size_t n = strlen(head);
    unsigned items = 0;
    if (strncmp(reply, head, n) != 0)
        return false;
    for (const char *p = reply + n; *p; items++) {
        if (!isxdigit((unsigned char)p[0]) || !isxdigit((unsigned char)p[1]) || p[2] != ':')
            return false;
        p += 3;
        const char *v = p;
        while (isxdigit((unsigned char)*p))
            p++;
        if (p == v || (p - v) % 2 || *p != ';')
            return false;
        p++;
    }
    return items == 3;         /* sp, fp, pc (regs.c: what GDB reads at every stop) */
}
#define ck_assert_stop(reply, head) \
    ck_assert_msg(h_is_stop((reply), (head)), "stop reply '%s' is not '%s' + registers", (reply), (head))

#endif
