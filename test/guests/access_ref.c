/*
 * The access test's reference rules (see access.h), from the AMD APM vol. 2:
 * 5.3-5.5 (entry formats, reserved bits), 5.6 (page protection: U/S, R/W,
 * CR0.WP, NX), 5.6.6 and 5.6.7 (SMEP, SMAP with EFLAGS.AC), 8.4.2 (the #PF
 * error code), 5.4.2 and 5.5.2 (A and D).  Written independently of
 * lib/matrix.c's mx_expect(), which covers fewer bits; the two agree where
 * both apply.
 *
 * Where the manual leaves latitude, the set of allowed results is accepted
 * exactly, never a superset:
 *  - the A bit of an upper-level entry on a walk that then faults: set or
 *    clear (QEMU sets it, Bochs does not), but only on entries the walk
 *    passed through (present, no reserved bit, every level above alike);
 *  - the leaf's A and D and every D bit stay as they were on a fault (the
 *    project's "A/D only on success" rule, which QEMU and Bochs follow).
 * The reserved-bit error code is P|RSV (a reserved bit is only checked in a
 * present entry); bare QEMU's RSV-without-P is skipped by the engine, never
 * accepted here.
 */
#include "access.h"

static const uint64_t P = _PAGE_PRESENT, RW = _PAGE_RW, US = _PAGE_USER, NX = _PAGE_NX;
static const uint64_t A = _PAGE_ACCESSED, D = _PAGE_DIRTY;

unsigned ax_pdpte_bit5;

unsigned ax_maxphy = 36;

void ax_init(void)
{
    uint32_t r[4];
    cpuid(0x80000000u, 0, r);
    if (r[0] >= 0x80000008u) {
        cpuid(0x80000008u, 0, r);
        ax_maxphy = r[0] & 0xff;
    }
}

uint64_t ax_rsvd(const struct pmode *m, int level, bool large, const struct acfg *c)
{
    uint64_t r = 0;
    if (m->wide) {
        if (ax_maxphy < 52)
            r |= 1ULL << ax_maxphy;
        if (!c->nxe)
            r |= NX;
        if (large && level == 1)
            r |= 0x1fe000ULL;                 /* PAE 2 MiB PDE bits 20:13 */
    } else if (large && level == 1) {
        r |= 1ULL << 21;                      /* 4 MiB PDE bit 21 (PSE-40 bits 20:13 are address) */
    }
    return r;
}

bool ax_expect(const struct awalk *w, const struct acfg *c, const struct aacc *a, uint32_t *err,
               int *valid_from, bool *rsvd)
{
    const struct pmode *m = w->m;
    bool user = a->cpl == 3, wr = a->op == OP_WRITE, fx = a->op == OP_FETCH;
    uint32_t base = (wr ? PFEC_WRITE : 0) | (user ? PFEC_USER : 0) |
                    (fx && ((m->has_nx && c->nxe) || c->smep) ? PFEC_INSN : 0);
    bool all_us = true, all_rw = true, nx = false;
    int top = m->levels - 1;

    *rsvd = false;
    *valid_from = top + 1;
    for (int l = top; l >= w->leaf; l--) {
        uint64_t e = w->ent[l];
        if (!(e & P)) {
            *err = base;
            return true;
        }
        if (e & ax_rsvd(m, l, l == w->leaf && l > 0, c)) {
            *err = base | PFEC_PRESENT | PFEC_RSVD;
            *rsvd = true;
            return true;
        }
        *valid_from = l;
        if (l <= m->top_perm) {
            all_us &= !!(e & US);
            all_rw &= !!(e & RW);
            nx |= m->has_nx && c->nxe && (e & NX);
        }
    }
    bool fault;
    if (user)
        fault = !all_us || (wr && !all_rw) || (fx && nx);
    else if (fx)
        fault = nx || (c->smep && all_us);
    else
        fault = (c->smap && all_us && !a->ac) || (wr && c->wp && !all_rw);
    *err = base | PFEC_PRESENT;
    return fault;
}

bool ax_entries_ok(const struct awalk *w, const uint64_t before[3], const uint64_t after[3],
                   bool fault, enum probe_op op, int valid_from, char *why, size_t n)
{
    const struct pmode *m = w->m;
    static const char *ln[] = { "pte", "pde", "pdpte" };
    for (int l = m->levels - 1; l >= w->leaf; l--) {
        bool has_a = !(m->levels == 3 && l == 2);     /* a PAE PDPTE has no A bit */
        uint64_t b = before[l], x = after[l];
        uint64_t may = 0, must = 0;
        if (!fault) {
            if (has_a)
                must |= A;
            if (l == w->leaf && op == OP_WRITE)
                must |= D;
        } else if (l > w->leaf && has_a && l >= valid_from) {
            may |= A;
        }
        uint64_t want = b | must;
        /* Bare QEMU 7.2 TCG sets bit 5 (reserved, MBZ in the APM's legacy
         * PAE PDPE) on a walk; the waiver is counted and reported apart. */
        if (!has_a && emu_bare_qemu() && !(b & A) && x == (b | A)) {
            ax_pdpte_bit5++;
            continue;
        }
        if ((x & ~may) != (want & ~may)) {
            gsnprintf(why, n, "%s %llx -> %llx, want %llx%s", ln[l], (unsigned long long)b,
                      (unsigned long long)x, (unsigned long long)want, may ? " (A either)" : "");
            return false;
        }
    }
    return true;
}
