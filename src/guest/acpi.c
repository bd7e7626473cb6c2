/*
 * The guest's ACPI and MP-table view (include/umbra/acpi.h): find the
 * firmware's tables, list the CPUs they describe, and rewrite them in place
 * so the guest reads a one-CPU machine, or does not see a table at all.
 *
 * Invariants: every table this file writes has a checksum that sums to 0
 * over its (new) length when the call returns; a table only ever shrinks,
 * so nothing is written past the bytes the firmware gave it; a table whose
 * checksum or length is wrong is never used or written.
 */
#include <umbra/acpi.h>
#include <umbra/lib.h>

#define SDT_HDR 36          /* signature, length, revision, checksum, OEM ..., creator */
#define MADT_ENTRIES 44     /* header + local APIC address + flags */
#define MADT_LAPIC 0        /* Processor Local APIC: uid, apic id (8 bit), flags */
#define MADT_X2APIC 9       /* Processor Local x2APIC: reserved, x2apic id (32 bit), flags, uid */
#define MADT_ENABLED 1u
#define MADT_ONLINE_CAPABLE 2u
#define SDT_MAX (1u << 20)  /* no sane table is bigger */

static paddr_t rsdp_pa;
/*
 * A copy of the RSDP found: the multiboot2 loader's copy lies in memory the
 * guest gets (the multiboot2 info), so everything after acpi_init*() reads
 * the root table addresses from here, never from there again.
 */
static uint8_t rsdp_buf[36];
static unsigned rsdp_len;

static void keep_rsdp(const uint8_t *r)
{
    rsdp_len = r[15] >= 2 ? 36 : 20;
    memset(rsdp_buf, 0, sizeof(rsdp_buf));
    memcpy(rsdp_buf, r, rsdp_len);
}

static uint32_t rd32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint64_t rd64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }
static uint16_t rd16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static void wr32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void wr16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }

static uint8_t sum(const uint8_t *p, size_t n)
{
    uint8_t s = 0;
    while (n--)
        s = (uint8_t)(s + *p++);
    return s;
}

/* Make the bytes [p, p + n) sum to 0 by choosing the byte at p[at]. */
static void fix_sum(uint8_t *p, size_t n, size_t at)
{
    p[at] = 0;
    p[at] = (uint8_t)-sum(p, n);
}

static const uint8_t *rsdp_at(paddr_t pa)
{
    const uint8_t *r = acpi_phys(pa, 36);
    if (!r || memcmp(r, "RSD PTR ", 8) || sum(r, 20))
        return NULL;
    if (r[15] >= 2 && (rd32(r + 20) < 36 || sum(r, 36)))
        return NULL;
    return r;
}

static paddr_t rsdp_scan(paddr_t lo, paddr_t hi)
{
    for (paddr_t pa = lo; pa + 36 <= hi; pa += 16)
        if (rsdp_at(pa))
            return pa;
    return 0;
}

/* The real-mode segment in the BIOS data area word at 0x40E, as an address; 0 if none. */
static paddr_t ebda_base(void)
{
    const uint8_t *w = acpi_phys(0x40e, 2);
    paddr_t e = w ? (paddr_t)rd16(w) << 4 : 0;
    return e >= 0x80000 && e < 0xa0000 ? e : 0;
}

int acpi_init_at(paddr_t rsdp)
{
    const uint8_t *r = rsdp_at(rsdp);
    if (!r)
        return -1;
    rsdp_pa = rsdp;
    keep_rsdp(r);
    return 0;
}

paddr_t acpi_init(void)
{
    paddr_t e = ebda_base(), r = 0;
    if (e)
        r = rsdp_scan(e, e + 1024);
    if (!r)
        r = rsdp_scan(0xe0000, 0x100000);
    rsdp_pa = r;
    rsdp_len = 0;
    if (r)
        keep_rsdp(rsdp_at(r));
    return r;
}

paddr_t acpi_init_mb2(const void *mb2_copy)
{
    if (rsdp_len)
        return rsdp_pa;                  /* once: the copy may be gone by the second call */
    if (mb2_copy && acpi_init_at((paddr_t)(uintptr_t)mb2_copy) == 0)
        return rsdp_pa;
    return acpi_init();
}

unsigned acpi_rsdp_copy(uint8_t *out, unsigned max)
{
    unsigned n = rsdp_len < max ? rsdp_len : max;
    memcpy(out, rsdp_buf, n);
    return n;
}

/* The table at pa with its whole length mapped, or NULL if bad. */
static uint8_t *sdt(paddr_t pa)
{
    uint8_t *h = pa ? acpi_phys(pa, SDT_HDR) : NULL;
    if (!h)
        return NULL;
    uint32_t len = rd32(h + 4);
    if (len < SDT_HDR || len > SDT_MAX)
        return NULL;
    uint8_t *t = acpi_phys(pa, len);
    return t && sum(t, len) == 0 ? t : NULL;
}

/* The XSDT (esz 8) or RSDT (esz 4); which = 0 XSDT, 1 RSDT. */
static uint8_t *root(unsigned which, unsigned *esz)
{
    const uint8_t *r = rsdp_len ? rsdp_buf : NULL;
    if (!r)
        return NULL;
    uint8_t *t = NULL;
    if (which == 0 && r[15] >= 2) {
        t = sdt(rd64(r + 24));
        if (t && memcmp(t, "XSDT", 4))
            t = NULL;
        *esz = 8;
    } else if (which == 1) {
        t = sdt(rd32(r + 16));
        if (t && memcmp(t, "RSDT", 4))
            t = NULL;
        *esz = 4;
    }
    return t;
}

static paddr_t entry(const uint8_t *rt, unsigned esz, unsigned i)
{
    const uint8_t *p = rt + SDT_HDR + (size_t)i * esz;
    return esz == 8 ? rd64(p) : rd32(p);
}

paddr_t acpi_find_table(const char sig[4])
{
    for (unsigned which = 0; which < 2; which++) {
        unsigned esz;
        uint8_t *rt = root(which, &esz);
        if (!rt)
            continue;
        unsigned n = (rd32(rt + 4) - SDT_HDR) / esz;
        for (unsigned i = 0; i < n; i++) {
            paddr_t pa = entry(rt, esz, i);
            const uint8_t *t = sdt(pa);
            if (t && !memcmp(t, sig, 4))
                return pa;
        }
    }
    return 0;
}

unsigned acpi_hide_table(const char sig[4])
{
    unsigned removed = 0;
    for (unsigned which = 0; which < 2; which++) {
        unsigned esz;
        uint8_t *rt = root(which, &esz);
        if (!rt)
            continue;
        uint32_t len = rd32(rt + 4);
        unsigned n = (len - SDT_HDR) / esz, out = 0;
        for (unsigned i = 0; i < n; i++) {
            paddr_t pa = entry(rt, esz, i);
            const uint8_t *h = pa ? acpi_phys(pa, 4) : NULL;
            if (h && !memcmp(h, sig, 4)) {
                removed++;
                continue;
            }
            if (out != i)
                memmove(rt + SDT_HDR + (size_t)out * esz, rt + SDT_HDR + (size_t)i * esz, esz);
            out++;
        }
        if (out != n) {
            uint32_t nlen = SDT_HDR + out * esz + (len - SDT_HDR) % esz;
            memset(rt + nlen, 0, len - nlen);
            wr32(rt + 4, nlen);
            fix_sum(rt, nlen, 9);
        }
    }
    return removed;
}

/* True if list[0..n) (n as the lister returned it, capped at max) names keep. */
static bool listed(const struct acpi_cpu *list, int n, uint32_t keep)
{
    for (int i = 0; i < n && i < ACPI_MAX_CPUS; i++)
        if (list[i].apic_id == keep)
            return true;
    return false;
}

/* ---- MADT ------------------------------------------------------------------- */

/* For a CPU entry at e: its APIC ID and flags; false for any other entry type. */
static bool madt_cpu(const uint8_t *e, uint32_t *id, uint32_t *flags)
{
    if (e[0] == MADT_LAPIC && e[1] >= 8) {
        *id = e[3];
        *flags = rd32(e + 4);
        return true;
    }
    if (e[0] == MADT_X2APIC && e[1] >= 16) {
        *id = rd32(e + 4);
        *flags = rd32(e + 8);
        return true;
    }
    return false;
}

static uint8_t *madt(uint32_t *len)
{
    uint8_t *t = sdt(acpi_find_table("APIC"));
    if (!t || rd32(t + 4) < MADT_ENTRIES)
        return NULL;
    *len = rd32(t + 4);
    return t;
}

int acpi_madt_cpus(struct acpi_cpu *out, unsigned max)
{
    uint32_t len;
    uint8_t *t = madt(&len);
    if (!t)
        return -1;
    int n = 0;
    for (uint32_t off = MADT_ENTRIES; off + 2 <= len && t[off + 1] >= 2 && off + t[off + 1] <= len;
         off += t[off + 1]) {
        uint32_t id, fl;
        if (!madt_cpu(t + off, &id, &fl))
            continue;
        if ((unsigned)n < max)
            out[n] = (struct acpi_cpu){ id, (fl & (MADT_ENABLED | MADT_ONLINE_CAPABLE)) != 0 };
        n++;
    }
    return n;
}

int acpi_madt_keep_one(uint32_t keep)
{
    struct acpi_cpu list[ACPI_MAX_CPUS];
    uint32_t len;
    uint8_t *t = madt(&len);
    if (!t || !listed(list, acpi_madt_cpus(list, ACPI_MAX_CPUS), keep))
        return -1;               /* checked first: nothing is moved unless keep stays */
    uint32_t off = MADT_ENTRIES, w = MADT_ENTRIES;
    int cut = 0;
    bool kept = false;
    while (off + 2 <= len && t[off + 1] >= 2 && off + t[off + 1] <= len) {
        uint8_t el = t[off + 1];
        uint32_t id, fl;
        bool is_cpu = madt_cpu(t + off, &id, &fl);
        if (is_cpu && id == keep && !kept) {
            kept = true;
        } else if (is_cpu) {
            cut++;
            off += el;
            continue;
        }
        if (w != off)
            memmove(t + w, t + off, el);
        w += el;
        off += el;
    }
    memset(t + w, 0, len - w);
    wr32(t + 4, w);
    fix_sum(t, w, 9);
    return cut;
}

/* ---- MP table ------------------------------------------------------------------ */

#define MPC_HDR 44
#define MPC_PROC 0
#define MPC_PROC_LEN 20
#define MPC_OTHER_LEN 8

static uint8_t *mpf_scan(paddr_t lo, paddr_t hi)
{
    for (paddr_t pa = lo; pa + 16 <= hi; pa += 16) {
        uint8_t *f = acpi_phys(pa, 16);
        if (f && !memcmp(f, "_MP_", 4) && f[8] == 1 && sum(f, 16) == 0)
            return f;
    }
    return NULL;
}

/* The MP configuration table ("PCMP", base checksum good), its base length in *len. */
static uint8_t *mpc(uint32_t *len)
{
    paddr_t e = ebda_base();
    uint8_t *f = e ? mpf_scan(e, e + 1024) : NULL;
    if (!f)
        f = mpf_scan(0x9fc00, 0xa0000);
    if (!f)
        f = mpf_scan(0xf0000, 0x100000);
    if (!f || f[11] != 0 || !rd32(f + 4))
        return NULL;             /* no table, or a default configuration */
    uint8_t *h = acpi_phys(rd32(f + 4), MPC_HDR);
    if (!h || memcmp(h, "PCMP", 4))
        return NULL;
    uint32_t l = rd16(h + 4), ext = rd16(h + 40);
    uint8_t *t = acpi_phys(rd32(f + 4), l + ext);
    if (!t || l < MPC_HDR || sum(t, l))
        return NULL;
    *len = l;
    return t;
}

/* The length of the entry at t + off, 0 if it does not lie whole in [t + MPC_HDR, t + len). */
static unsigned mpc_entry_len(const uint8_t *t, uint32_t off, uint32_t len)
{
    if (off >= len)
        return 0;                /* t[off] itself is past the base table */
    unsigned el = t[off] == MPC_PROC ? MPC_PROC_LEN : MPC_OTHER_LEN;
    return off + el <= len ? el : 0;
}

int mptable_cpus(struct acpi_cpu *out, unsigned max)
{
    uint32_t len;
    uint8_t *t = mpc(&len);
    if (!t)
        return -1;
    int n = 0;
    unsigned cnt = rd16(t + 34);
    uint32_t off = MPC_HDR;
    for (unsigned i = 0, el; i < cnt && (el = mpc_entry_len(t, off, len)); i++) {
        if (t[off] == MPC_PROC) {
            if ((unsigned)n < max)
                out[n] = (struct acpi_cpu){ t[off + 1], (t[off + 3] & 1) != 0 };
            n++;
        }
        off += el;
    }
    return n;
}

int mptable_keep_one(uint32_t keep)
{
    struct acpi_cpu list[ACPI_MAX_CPUS];
    uint32_t len;
    uint8_t *t = mpc(&len);
    if (!t || !listed(list, mptable_cpus(list, ACPI_MAX_CPUS), keep))
        return -1;
    unsigned cnt = rd16(t + 34), ncnt = 0;
    uint32_t ext = rd16(t + 40), off = MPC_HDR, w = MPC_HDR;
    int cut = 0;
    bool kept = false;
    for (unsigned i = 0, el; i < cnt && (el = mpc_entry_len(t, off, len)); i++) {
        if (t[off] == MPC_PROC) {
            if (t[off + 1] != keep || kept) {
                cut++;
                off += el;
                continue;
            }
            kept = true;
        }
        if (w != off)
            memmove(t + w, t + off, el);
        w += el;
        off += el;
        ncnt++;
    }
    if (cut) {
        memmove(t + w, t + len, ext);            /* the extended table follows the base table */
        memset(t + w + ext, 0, len - w);
        wr16(t + 4, (uint16_t)w);
        wr16(t + 34, (uint16_t)ncnt);
        fix_sum(t, w, 7);
    }
    return cut;
}
