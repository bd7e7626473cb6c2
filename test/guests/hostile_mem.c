/*
 * Hostile guest: reach Umbra's memory through every kind of mapping and
 * through the hypercalls.  One case per boot, named on the command line
 * (case=NAME); test/e2e/hostile-mem.sh runs each bare and under Umbra and
 * prints the table.
 *
 * Where Umbra's memory is: where the guest's memory map has a hole above a
 * RAM range (hostile_top.h), so every case aims at the bytes just above
 * that top of guest RAM and scans SCAN_BYTES from
 * there for MARKER, a format string in Umbra's image.  Finding it, or a
 * write there reading back, means the guest reached Umbra's memory: the
 * case prints "not ok ... REACHED".  Bare, nothing is there (no RAM): the
 * scan finds nothing and the write reads back something else.  Under Umbra
 * the hardware-like outcomes are the same, or Umbra stops the guest with a
 * reported reason (the script tells them apart).
 *
 *   4k-read, 4k-write   PAE, 4 KiB pages (scanned 2 MiB window by window)
 *   2m-read, 2m-write   PAE, 2 MiB pages (the first also maps guest RAM below the top)
 *   4m-read, 4m-write   2-level with PSE, 4 MiB pages
 *   nopg-read, nopg-write  paging off
 *   hypercall           HC_PRINT aimed at the reserve, across its bound, wrapping
 *                       at 4 GiB, too long, at the IOMMU's MMIO; an unknown function
 */
#include "lib/pt.h"
#include "hostile_top.h"

#define SCAN_BYTES (16u << 20)   /* Umbra's default reserve is about 11-13 MiB, its image on top */
#define WIN        0x40000000u          /* where the 4k/2m/4m cases map what they scan */
#define POKE       0x5aa5c33cu
/* Spelled in pieces so the guest's own image never holds it whole. */
static const char marker_a[] = "exit reason=";
static const char marker_b[] = "%s status=%u";

static char marker[32];
static unsigned mlen;
static uint32_t top;                    /* first byte above guest RAM */

static const char *arg_case(void)
{
    extern uint32_t mb_info;
    const uint32_t *mbi = (const uint32_t *)(uintptr_t)mb_info;
    if (!mbi || !(mbi[0] & 4))
        return "";
    const char *c = (const char *)(uintptr_t)mbi[4];
    for (; *c; c++)
        if (c[0] == 'c' && c[1] == 'a' && c[2] == 's' && c[3] == 'e' && c[4] == '=')
            return c + 5;
    return "";
}

static bool is(const char *arg, const char *name)
{
    while (*name && *arg == *name)
        arg++, name++;
    return !*name && (*arg == 0 || *arg == ' ');
}

/* Scan [va, va + len) (linear) for the marker; its offset or -1. */
static long scan(uint32_t va, uint32_t len)
{
    const volatile uint8_t *p = (const volatile uint8_t *)(uintptr_t)va;
    const volatile uint32_t *w = (const volatile uint32_t *)(uintptr_t)va;
    for (uint32_t i = 0; i + mlen <= len; i++) {
        /* One 32-bit load per 4 bytes first: absent memory is slow to read in an emulator. */
        if ((i & 3) == 0) {
            uint32_t x = w[i / 4], m = (uint8_t)marker[0];
            if ((x & 0xff) != m && (x >> 8 & 0xff) != m && (x >> 16 & 0xff) != m && x >> 24 != m) {
                i += 3;
                continue;
            }
        }
        if (p[i] != (uint8_t)marker[0])
            continue;
        unsigned k = 1;
        while (k < mlen && p[i + k] == (uint8_t)marker[k])
            k++;
        if (k == mlen)
            return (long)i;
    }
    return -1;
}

static void report_scan(const char *name, long at, uint32_t pa_base)
{
    if (at >= 0)
        tap_ok(false, "mem %s: REACHED Umbra's memory: marker \"%s\" read at physical 0x%x", name,
               marker, pa_base + (uint32_t)at);
    else
        tap_ok(true, "mem %s: nothing of Umbra's read in %u MiB above the top of guest RAM", name,
               SCAN_BYTES >> 20);
}

static void report_poke(const char *name, volatile uint32_t *p)
{
    bool listed = mb1_listed(top);
    *p = POKE;
    uint32_t back = *p;
    bool reached = back == POKE && !listed;
    tap_ok(!reached, "mem %s: a write just above the top of guest RAM %s", name,
           reached ? "REACHED memory the map hides (it reads back)" :
           back == POKE ? "lands in memory the map lists (the firmware's, not Umbra's)" :
           "lands nowhere (it does not read back)");
}

/* ---- the mapping cases ---------------------------------------------------------- */

static void case_4k(bool write)
{
    uint64_t root = pt_new_space(&pm_pae);
    paging_enable(&pm_pae, root);
    const char *name = write ? "4k-write" : "4k-read";
    if (write) {
        pt_map(&pm_pae, root, WIN, top, 4096, _PAGE_PRESENT | _PAGE_RW);
        write_cr3(read_cr3());
        report_poke(name, (volatile uint32_t *)(uintptr_t)WIN);
        return;
    }
    long at = -1;
    uint32_t off;
    for (off = 0; off < SCAN_BYTES && at < 0; off += 2u << 20) {
        /* One page more than the window, so a marker across two windows is seen. */
        pt_map(&pm_pae, root, WIN, top + off, (2u << 20) + 4096, _PAGE_PRESENT | _PAGE_RW);
        write_cr3(read_cr3());
        at = scan(WIN, (2u << 20) + mlen);
    }
    report_scan(name, at, top + off - (2u << 20));
}

static void case_2m(bool write)
{
    uint64_t root = pt_new_space(&pm_pae);
    paging_enable(&pm_pae, root);
    uint32_t base = top & ~((2u << 20) - 1);
    for (uint32_t i = 0; i < SCAN_BYTES / (2u << 20) + 1; i++) {
        void *slot = pt_slot(&pm_pae, root, WIN + i * (2u << 20), 1, true);
        pte_set(&pm_pae, slot, (uint64_t)(base + i * (2u << 20)) | _PAGE_PRESENT | _PAGE_RW | _PAGE_PSE);
    }
    write_cr3(read_cr3());
    uint32_t va = WIN + (top - base);
    if (write)
        report_poke("2m-write", (volatile uint32_t *)(uintptr_t)va);
    else
        report_scan("2m-read", scan(va, SCAN_BYTES), top);
}

static void case_4m(bool write)
{
    uint64_t root = pt_new_space(&pm_2level);
    paging_enable(&pm_2level, root);
    uint32_t base = top & ~((4u << 20) - 1);
    for (uint32_t i = 0; i < SCAN_BYTES / (4u << 20) + 1; i++) {
        void *slot = pt_slot(&pm_2level, root, WIN + i * (4u << 20), 1, true);
        pte_set(&pm_2level, slot, (uint64_t)(base + i * (4u << 20)) | _PAGE_PRESENT | _PAGE_RW | _PAGE_PSE);
    }
    write_cr3(read_cr3());
    uint32_t va = WIN + (top - base);
    if (write)
        report_poke("4m-write", (volatile uint32_t *)(uintptr_t)va);
    else
        report_scan("4m-read", scan(va, SCAN_BYTES), top);
}

static void case_nopaging(bool write)
{
    if (write)
        report_poke("nopg-write", (volatile uint32_t *)(uintptr_t)top);
    else
        report_scan("nopg-read", scan(top, SCAN_BYTES), top);
}

/* ---- hypercalls ----------------------------------------------------------------- */

struct hc { uint32_t fn, b, c, ret; };

static void do_vmmcall(void *arg)
{
    struct hc *h = arg;
    uint32_t a = h->fn;
    __asm__ volatile(".byte 0x0f,0x01,0xd9" : "+a"(a) : "b"(h->b), "c"(h->c) : "memory");
    h->ret = a;
}

/* One hypercall that must not succeed: refused (EAX = -1) under Umbra, #UD bare. */
static void hc_case(const char *what, uint32_t fn, uint32_t b, uint32_t c)
{
    struct hc h = { fn, b, c, 0x12345678u };
    unsigned v = catch_call(do_vmmcall, &h);
    bool refused = v == X86_EXC_UD || (v == EXC_NONE && h.ret == 0xffffffffu);
    tap_ok(refused, "mem hypercall %s: %s", what,
           refused ? "refused (EAX=-1 under a hypervisor, #UD on bare hardware)" :
           v == EXC_NONE && h.ret == 0 ? "REACHED: Umbra accepted it (printed that memory)" :
           "something else happened");
}

static void case_hypercall(void)
{
    hc_case("print of the reserve's first bytes", 0, top, 16);
    hc_case("print across the top of guest RAM", 0, top - 8, 16);
    hc_case("print wrapping at 4 GiB", 0, 0xfffffff0u, 0x20);
    hc_case("print longer than HC_PRINT_MAX", 0, 0x100000, 0x1000);
    hc_case("print with length -1", 0, 0x100000, 0xffffffffu);
    hc_case("print of the IOMMU registers (0xfed80000)", 0, 0xfed80000u, 16);
    hc_case("unknown function 0x7fffffff", 0x7fffffffu, top, 16);
}

int guest_main(void)
{
    const char *c = arg_case();
    unsigned i = 0;
    for (const char *s = marker_a; *s; s++)
        marker[i++] = *s;
    for (const char *s = marker_b; *s; s++)
        marker[i++] = *s;
    mlen = i;
    top = hostile_target();
    gprintf("# mem: case %s, the top of guest RAM is 0x%x\n", c, top);
    if (is(c, "4k-read")) case_4k(false);
    else if (is(c, "4k-write")) case_4k(true);
    else if (is(c, "2m-read")) case_2m(false);
    else if (is(c, "2m-write")) case_2m(true);
    else if (is(c, "4m-read")) case_4m(false);
    else if (is(c, "4m-write")) case_4m(true);
    else if (is(c, "nopg-read")) case_nopaging(false);
    else if (is(c, "nopg-write")) case_nopaging(true);
    else if (is(c, "hypercall")) case_hypercall();
    else tap_bail("mem: no case=NAME on the command line");
    return tap_done();
}
