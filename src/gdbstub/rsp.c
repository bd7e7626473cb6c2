/*
 * RSP framing: `$payload#cc`, acks, resend, `}` escapes, `*` run-length
 * decoding, the out-of-band Ctrl-C.  Pure: bytes in through rsp_rx(), bytes
 * out through the caller's tx function.
 *
 * Robustness invariant: the receive machine is a total function of (state,
 * byte).  Whatever arrives -- line noise, a packet cut short, a packet longer
 * than GDB_PACKET_SIZE -- it never writes past buf[], and a '$' always starts
 * a fresh packet, so the stub resynchronises on GDB's next packet.
 */
#include <umbra/gdbstub.h>
#include <umbra/lib.h>

static const char hexdig[] = "0123456789abcdef";

void rsp_init(struct rsp *r, void (*tx)(void *, const uint8_t *, size_t), void *ctx)
{
    memset(r, 0, sizeof(*r));
    r->tx = tx;
    r->tx_ctx = ctx;
    r->st = RSP_IDLE;
}

static void put(struct rsp *r, const uint8_t *b, size_t n)
{
    if (r->tx)
        r->tx(r->tx_ctx, b, n);
}

static void ack(struct rsp *r, bool good)
{
    uint8_t c = good ? '+' : '-';

    if (r->noack)
        return;
    if (!good)
        r->naks_sent++;
    put(r, &c, 1);
}

static void start_packet(struct rsp *r)
{
    r->st = RSP_DATA;
    r->len = 0;
    r->sum = 0;
    r->bad = false;
    r->overflow = false;
    r->buf[0] = '\0';
}

/* Append one decoded byte; past the limit only remember that we overflowed. */
static void append(struct rsp *r, uint8_t c)
{
    if (r->len >= GDB_PACKET_SIZE) {
        r->overflow = true;
        return;
    }
    r->buf[r->len++] = (char)c;
}

int rsp_hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* The checksum is complete: judge the packet and report it. */
static enum rsp_event finish(struct rsp *r)
{
    bool good = !r->bad && r->csum == r->sum;

    r->st = RSP_IDLE;
    r->buf[r->len] = '\0';
    if (!good && !r->noack) {
        ack(r, false);
        return RSP_EV_NONE;
    }
    if (!good)              /* no-ack mode: nobody would resend; drop it */
        return RSP_EV_NONE;
    ack(r, true);
    return RSP_EV_PACKET;   /* an overflowed packet is reported; cmd.c answers E16 */
}

enum rsp_event rsp_rx(struct rsp *r, uint8_t c)
{
    int h;

    /* '$' is never legal inside a packet: it always means "new packet". */
    if (c == '$') {
        if (r->st != RSP_IDLE)
            r->garbage++;
        start_packet(r);
        return RSP_EV_NONE;
    }

    /* Ctrl-C inside an unfinished packet (line noise, a client that gave up
     * mid-packet: issue 17 item 9): GDB sends 0x03 raw and never inside a
     * text packet, so it ends the packet unheard and interrupts.  Only the
     * payload of a binary X packet may hold a raw 0x03 byte, and "}\x03" is
     * an escaped '#'. */
    if (c == 0x03 && r->st != RSP_IDLE && r->st != RSP_ESC &&
        (r->st == RSP_CSUM1 || r->st == RSP_CSUM2 || r->len == 0 || r->buf[0] != 'X')) {
        r->garbage++;
        r->st = RSP_IDLE;
        return RSP_EV_INTERRUPT;
    }

    switch (r->st) {
    case RSP_IDLE:
        if (c == 0x03)
            return RSP_EV_INTERRUPT;
        if (c == '-' && !r->noack) {
            r->naks_rcvd++;
            if (r->last_len) {
                r->resends++;
                put(r, r->last, r->last_len);
            }
        } else if (c != '+') {
            r->garbage++;
        }
        return RSP_EV_NONE;

    case RSP_DATA:
        if (c == '#') {
            r->st = RSP_CSUM1;
            return RSP_EV_NONE;
        }
        r->sum += c;
        if (c == '}') {
            r->st = RSP_ESC;
        } else if (c == '*') {
            if (r->len == 0)
                r->bad = true;      /* nothing to repeat */
            r->st = RSP_RLE;
        } else {
            append(r, c);
        }
        return RSP_EV_NONE;

    case RSP_ESC:
        if (c == '#') {             /* escape at the end of the payload */
            r->bad = true;
            r->st = RSP_CSUM1;
            return RSP_EV_NONE;
        }
        r->sum += c;
        append(r, c ^ 0x20);
        r->st = RSP_DATA;
        return RSP_EV_NONE;

    case RSP_RLE:
        if (c == '#') {             /* run-length marker with no count */
            r->bad = true;
            r->st = RSP_CSUM1;
            return RSP_EV_NONE;
        }
        r->sum += c;
        r->st = RSP_DATA;
        /* count = c - 29 further copies; GDB never sends counts below 3
         * (c < ' ') nor above '~'. */
        if (c < ' ' || c > '~' || r->len == 0) {
            r->bad = true;
            return RSP_EV_NONE;
        }
        {
            uint8_t prev = (uint8_t)r->buf[r->len - 1];
            for (int n = c - 29; n > 0; n--)
                append(r, prev);
        }
        return RSP_EV_NONE;

    case RSP_CSUM1:
        h = rsp_hexval(c);
        if (h < 0) {
            r->bad = true;
            h = 0;
        }
        r->csum = (uint8_t)(h << 4);
        r->st = RSP_CSUM2;
        return RSP_EV_NONE;

    case RSP_CSUM2:
        h = rsp_hexval(c);
        if (h < 0) {
            r->bad = true;
            h = 0;
        }
        r->csum |= (uint8_t)h;
        return finish(r);
    }
    /* unreachable: every state is handled above; recover anyway */
    r->st = RSP_IDLE;
    return RSP_EV_NONE;
}

void rsp_send(struct rsp *r, const char *payload, size_t n)
{
    uint8_t *o = r->last;
    uint8_t sum = 0;

    if (n > GDB_PACKET_SIZE)
        n = GDB_PACKET_SIZE;
    *o++ = '$';
    for (size_t i = 0; i < n; i++) {
        uint8_t c = (uint8_t)payload[i];
        if (c == '$' || c == '#' || c == '}' || c == '*') {
            *o++ = '}';
            sum += '}';
            c ^= 0x20;
        }
        *o++ = c;
        sum += c;
    }
    *o++ = '#';
    *o++ = (uint8_t)hexdig[sum >> 4];
    *o++ = (uint8_t)hexdig[sum & 15];
    r->last_len = (size_t)(o - r->last);
    put(r, r->last, r->last_len);
}

void rsp_send_str(struct rsp *r, const char *s)
{
    rsp_send(r, s, strlen(s));
}

bool rsp_parse_hex(const char **p, uint64_t *val)
{
    const char *s = *p;
    uint64_t v = 0;
    int n = 0, h;

    while ((h = rsp_hexval((unsigned char)*s)) >= 0) {
        if (++n > 16)
            return false;
        v = (v << 4) | (uint64_t)h;
        s++;
    }
    if (n == 0)
        return false;
    *p = s;
    *val = v;
    return true;
}

bool rsp_hex2mem(const char *s, size_t n, uint8_t *out)
{
    for (size_t i = 0; i < n; i++) {
        int hi = rsp_hexval((unsigned char)s[2 * i]);
        int lo = hi < 0 ? -1 : rsp_hexval((unsigned char)s[2 * i + 1]);
        if (lo < 0)
            return false;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return true;
}

void rsp_mem2hex(const uint8_t *in, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++) {
        *out++ = hexdig[in[i] >> 4];
        *out++ = hexdig[in[i] & 15];
    }
    *out = '\0';
}
