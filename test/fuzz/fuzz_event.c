/*
 * libFuzzer target: the EXITINTINFO resolver (src/svm/event.c,
 * svm_event_cut_short) with arbitrary vCPU state, EXITINTINFO and exit code.
 * Input: a fixed header (the facts) then guest memory: two bytes at RIP, a
 * window of guest bytes at a base the header names, the LAPIC's top ISR.
 * Oracles (event.h's contract): the kind is in range; a report is taken
 * as is (after the TCG >= 32 fix-up) unless an intercepted exception cut
 * the delivery short; an intercepted exception not injected by this VMRUN
 * is never taken; a replacement event is valid, has no error code, no
 * reserved bit, and is of the kind its source says (a gate's vector, the
 * software interrupt at RIP, the LAPIC's in-service vector >= 32); no
 * result is an exception of vector >= 32; guest reads are at most 8 bytes;
 * the LAPIC is asked only for a report known wrong; the answer is the same
 * twice.
 */
#include <umbra/svm.h>
#include <umbra/x86.h>
#include "../../src/svm/event.h"
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define TYPE_MASK (7ULL << 8)

struct env {
    uint8_t rip_bytes[2];
    bool rip_ok;
    uint64_t mem_base;
    const uint8_t *mem;
    size_t mem_len;
    int isr;
    unsigned lapic_asked, insn_asked;
};

static bool insn_at_rip(void *arg, uint8_t b[2])
{
    struct env *e = arg;
    e->insn_asked++;
    memcpy(b, e->rip_bytes, 2);
    return e->rip_ok;
}

static bool read_guest(void *arg, uint64_t la, void *buf, unsigned len)
{
    struct env *e = arg;
    if (len == 0 || len > 8)
        abort();                                /* delivery reads gates and TSS fields only */
    uint64_t off = la - e->mem_base;
    if (off > e->mem_len || len > e->mem_len - off)
        return false;
    memcpy(buf, e->mem + off, len);
    return true;
}

static int lapic_isr_top(void *arg)
{
    struct env *e = arg;
    e->lapic_asked++;
    return e->isr;
}

static uint64_t get(const uint8_t **p, size_t *n, unsigned len)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < len && *n; i++, (*p)++, (*n)--)
        v |= (uint64_t)**p << (8 * i);
    return v;
}

/* Small values are likelier to meet each other (RIP = run RIP, an address inside the IDT). */
static uint64_t addr(const uint8_t **p, size_t *n)
{
    uint8_t sel = (uint8_t)get(p, n, 1);
    return sel & 0x80 ? get(p, n, 8) : get(p, n, 2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *p = data;
    size_t n = size;
    struct env env = {0};
    struct svm_event_facts f = {0};
    uint8_t flags = (uint8_t)get(&p, &n, 1);
    f.exitintinfo = get(&p, &n, 8) | SVM_EVT_VALID;
    if (flags & 1)                              /* most reports: no reserved bits */
        f.exitintinfo &= ~0x7ffff000ULL;
    uint8_t ec = (uint8_t)get(&p, &n, 1);
    f.exitcode = ec < 240 ? VMEXIT_EXC_BASE + (ec % 36) - 2 : get(&p, &n, 8);
    f.exitinfo1 = get(&p, &n, 1);
    f.exitinfo2 = addr(&p, &n);
    f.rip = addr(&p, &n);
    f.run_rip = flags & 2 ? f.rip : addr(&p, &n);
    f.run_eventinj = flags & 4 ? f.exitintinfo : get(&p, &n, 8);
    f.last_injected = get(&p, &n, 8);
    f.intercepted_exc = (uint32_t)get(&p, &n, 4);
    f.idt_base = addr(&p, &n);
    f.idt_limit = (uint32_t)get(&p, &n, 2);
    f.gdt_base = addr(&p, &n);
    f.gdt_limit = (uint32_t)get(&p, &n, 2);
    f.ldt_base = addr(&p, &n);
    f.ldt_limit = (uint32_t)get(&p, &n, 2);
    f.tss_base = addr(&p, &n);
    f.tss_limit = (uint32_t)get(&p, &n, 2);
    f.lma = flags & 8;
    env.rip_ok = !(flags & 0x10);
    env.rip_bytes[0] = (uint8_t)get(&p, &n, 1);
    env.rip_bytes[1] = (uint8_t)get(&p, &n, 1);
    env.isr = (int)(int8_t)get(&p, &n, 1);
    if (env.isr >= -1 && (flags & 0x20))
        env.isr = (int)get(&p, &n, 1);          /* mostly 0..255 */
    env.mem_base = flags & 0x40 ? f.idt_base : addr(&p, &n);
    env.mem = p;
    env.mem_len = n;
    if (!(flags & 0x80)) {                      /* some facts unknown: no callbacks */
        f.insn_at_rip = insn_at_rip;
        f.read_guest = read_guest;
        f.lapic_isr_top = lapic_isr_top;
    }
    f.arg = &env;

    enum svm_event_from from = EVF_KINDS;
    uint64_t r = svm_event_cut_short(&f, &from);
    if ((unsigned)from >= EVF_KINDS || !svm_event_from_name(from)[0])
        abort();

    /* The report after the TCG fix-up: an "exception" >= 32 is the external interrupt. */
    uint64_t ii = f.exitintinfo;
    if ((ii & TYPE_MASK) == SVM_EVT_TYPE_EXC && (ii & 0xff) >= 32)
        ii = (ii & ~(TYPE_MASK | SVM_EVT_ERR_VALID | (0xffffffffULL << 32))) | SVM_EVT_TYPE_INTR;
    bool exc_exit = f.exitcode >= VMEXIT_EXC_BASE && f.exitcode < VMEXIT_EXC_BASE + 32;
    if (!(r & SVM_EVT_VALID))
        abort();
    if ((r & TYPE_MASK) == SVM_EVT_TYPE_EXC && (r & 0xff) >= 32)
        abort();                                /* never an exception vector out of range */
    if (!exc_exit && (from != EVF_REPORTED || r != ii))
        abort();                                /* only an exception exit is judged */
    if (!exc_exit && (env.insn_asked || env.lapic_asked))
        abort();
    uint64_t inj = f.run_eventinj, id = SVM_EVT_VALID | TYPE_MASK | 0xff;
    bool injected_here = (inj & SVM_EVT_VALID) && f.rip == f.run_rip && (ii & id) == (inj & id);
    unsigned vec = ii & 0xff;
    bool intercepted = (ii & TYPE_MASK) == SVM_EVT_TYPE_EXC && vec < 32 && (f.intercepted_exc >> vec & 1);
    switch (from) {
    case EVF_REPORTED:
    case EVF_AS_LAST:
        if (r != ii || (exc_exit && intercepted && !injected_here))
            abort();                            /* rule I: never taken */
        if (from == EVF_AS_LAST && (injected_here || ((f.last_injected & id) != (ii & id))))
            abort();
        break;
    case EVF_IMPOSSIBLE:
        if (r != ii || !exc_exit)
            abort();
        break;
    case EVF_IDT_GATE:
    case EVF_INSN:
    case EVF_LAPIC_ISR: {
        if (!exc_exit || (r & ~(SVM_EVT_VALID | TYPE_MASK | 0xff)))
            abort();                            /* a made-up event: no error code, no reserved bit */
        uint64_t t = r & TYPE_MASK;
        unsigned rv = r & 0xff;
        if (from == EVF_IDT_GATE) {
            if (f.exitcode != VMEXIT_EXC_BASE + X86_EXC_PF || (f.exitinfo1 & PFEC_WRITE))
                abort();
            if (t == SVM_EVT_TYPE_NMI ? rv != X86_EXC_NMI :
                t != SVM_EVT_TYPE_INTR && t != SVM_EVT_TYPE_SOFT)
                abort();
            if (t == SVM_EVT_TYPE_INTR && rv == X86_EXC_NMI)
                abort();
        } else if (from == EVF_INSN) {
            if (t != SVM_EVT_TYPE_SOFT || !env.rip_ok || env.lapic_asked)
                abort();
            uint8_t b0 = env.rip_bytes[0];
            unsigned want = b0 == 0xcd ? env.rip_bytes[1] : b0 == 0xcc ? X86_EXC_BP :
                            b0 == 0xce ? X86_EXC_OF : b0 == 0xf1 ? X86_EXC_DB : 0x100;
            if (rv != want)
                abort();
        } else if (t != SVM_EVT_TYPE_INTR || (int)rv != env.isr || rv < 32 || env.lapic_asked != 1) {
            abort();
        }
        break;
    }
    default:
        abort();
    }
    if (env.lapic_asked && from != EVF_LAPIC_ISR && from != EVF_IMPOSSIBLE)
        abort();                                /* the guess is made only for a wrong report */

    enum svm_event_from from2;
    if (svm_event_cut_short(&f, &from2) != r || from2 != from)
        abort();                                /* pure: the same facts, the same answer */
    return 0;
}
