/*
 * Tests of the simulated platform and of the reference MMU (the oracle of
 * the shadow tests), with hand-built page tables.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <umbra/x86.h>
#include "sim_platform.h"

#define RAM (4u << 20)
#define POOL 64u

START_TEST(sim_layout_and_p2m)
{
    sim_init(RAM, POOL);
    uint64_t ram = sim_ram_frames();
    ck_assert_uint_eq(ram, RAM >> PAGE_SHIFT);
    ck_assert(plat_gfn_is_ram(_gfn(0)));
    ck_assert(plat_gfn_is_ram(_gfn(ram - 1)));
    ck_assert(!plat_gfn_is_ram(_gfn(ram)));
    /* RAM and MMIO are identity, the reserve is refused. */
    ck_assert_uint_eq(mfn_x(plat_gfn_to_mfn(_gfn(5))), 5);
    ck_assert(!mfn_valid(plat_gfn_to_mfn(_gfn(ram))));
    ck_assert(!mfn_valid(plat_gfn_to_mfn(_gfn(mfn_x(sim_pool_base())))));
    ck_assert(!mfn_valid(plat_gfn_to_mfn(_gfn(sim_backed_frames() - 1))));
    ck_assert_uint_eq(mfn_x(plat_gfn_to_mfn(_gfn(sim_backed_frames()))), sim_backed_frames());
    ck_assert_uint_eq(mfn_x(plat_gfn_to_mfn(_gfn(0xfee00))), 0xfee00);
    /* Above MAXPHYADDR: refused. */
    sim_features.maxphyaddr = 36;
    ck_assert(mfn_valid(plat_gfn_to_mfn(_gfn((1ULL << 24) - 1))));
    ck_assert(!mfn_valid(plat_gfn_to_mfn(_gfn(1ULL << 24))));
    /* The pool is inside the reserve, backed, below 4 GiB. */
    ck_assert(sim_frame_in_pool(mfn_x(sim_pool_base())));
    ck_assert(sim_frame_in_reserve(mfn_x(sim_pool_base()) + POOL - 1));
    ck_assert(!sim_frame_in_pool(mfn_x(sim_pool_base()) + POOL));
    ck_assert_ptr_nonnull(plat_map_mfn(sim_pool_base()));
    ck_assert_ptr_null(plat_map_mfn(_mfn(sim_backed_frames())));
    ck_assert_uint_eq(sim_bad_map_calls, 1);
    /* Memory is shared between the views. */
    sim_guest_write(0x1234, 0xdeadbeefcafef00dULL, 8);
    ck_assert_uint_eq(*(uint64_t *)((char *)plat_map_mfn(_mfn(1)) + 0x234), 0xdeadbeefcafef00dULL);
    ck_assert_uint_eq(sim_read_phys(0x1236, 2), 0xcafe);
    ck_assert_uint_eq(sim_guest_read((uint64_t)RAM, 4), 0xffffffffu);
    ck_assert_uint_eq(sim_read_phys(sim_backed_frames() << PAGE_SHIFT, 8), ~0ULL);
    sim_fini();
}
END_TEST

START_TEST(sim_log_capture)
{
    sim_init(RAM, POOL);
    plat_log("shadow: made %d", 3);
    plat_log("second\n");
    ck_assert_uint_eq(sim_log_lines(), 2);
    ck_assert_str_eq(sim_log_text(), "umbra: shadow: made 3\numbra: second\n");
    ck_assert(sim_log_contains("made 3"));
    for (int i = 0; i < 40000; i++)
        plat_log("filler line %d with some text to make it longer", i);
    ck_assert(strlen(sim_log_text()) <= (1u << 20));
    ck_assert(sim_log_contains("filler line 39999 "));
    sim_log_reset();
    ck_assert_str_eq(sim_log_text(), "");
    plat_flush_va(NULL, 0x5000);
    ck_assert_uint_eq(sim_flush_va_calls, 1);
    ck_assert_uint_eq(sim_last_flush_va, 0x5000);
    sim_fini();
}
END_TEST


/* ---- reference MMU ---------------------------------------------------- */

#include "refmmu.h"

#define P  _PAGE_PRESENT
#define W  _PAGE_RW
#define U  _PAGE_USER
#define A  _PAGE_ACCESSED
#define D  _PAGE_DIRTY
#define PS _PAGE_PSE
#define NX _PAGE_NX

static struct ref_paging pg;
static struct ref_result res;
static uint64_t pdpte_cache[4];

/* Walk with the current pg; returns -1 if allowed, else the error code
 * (0x1000 | vector for a non-#PF fault). */
static long walk_ac(uint64_t va, uint32_t acc, bool ac)
{
    if (ref_walk(&pg, va, acc, ac, REF_NO_SIDE_EFFECTS, &res))
        return -1;
    return res.vector == X86_EXC_PF ? (long)res.pfec : 0x1000 | res.vector;
}
static long walk(uint64_t va, uint32_t acc) { return walk_ac(va, acc, false); }

static void w32(uint64_t pa, uint64_t v) { sim_guest_write(pa, v, 4); }
static void w64(uint64_t pa, uint64_t v) { sim_guest_write(pa, v, 8); }
static uint64_t r64(uint64_t pa) { return sim_guest_read(pa, 8); }

enum { RD = 0, WR = PFEC_WRITE, US = PFEC_USER, IF = PFEC_INSN };

static void setup(uint64_t cr0, uint64_t cr4, uint64_t efer, uint64_t cr3)
{
    sim_init(RAM, POOL);
    memset(&pg, 0, sizeof(pg));
    pg.cr0 = cr0 | X86_CR0_PE;
    pg.cr4 = cr4;
    pg.efer = efer;
    pg.cr3 = cr3;
}

START_TEST(ref_paging_off)
{
    setup(0, 0, 0, 0);
    ck_assert_int_eq(walk(0x12345678, WR | US | IF), -1);
    ck_assert_uint_eq(res.pa, 0x12345678);
    ck_assert_int_eq(walk(0x123456789ULL, RD), -1);
    ck_assert_uint_eq(res.pa, 0x23456789);
    ck_assert_int_eq(ref_mode(X86_CR0_PE, X86_CR4_PAE, EFER_LME), GUEST_PAGING_OFF);
    ck_assert_int_eq(ref_mode(X86_CR0_PG, 0, 0), GUEST_PAGING_2LEVEL);
    ck_assert_int_eq(ref_mode(X86_CR0_PG, X86_CR4_PAE, EFER_LME), GUEST_PAGING_PAE);
    ck_assert_int_eq(ref_mode(X86_CR0_PG, X86_CR4_PAE, EFER_LME | EFER_LMA), GUEST_PAGING_LONG);
    sim_fini();
}
END_TEST

/* 2-level: PD at 0x10000, PT at 0x11000. */
START_TEST(ref_2level_rights)
{
    setup(X86_CR0_PG, 0, 0, 0x10000);
    uint64_t va = 0x00403000;     /* PD index 1, PT index 3 */
    ck_assert_int_eq(walk(va, RD), 0);
    ck_assert_int_eq(walk(va, WR | US), WR | US);
    ck_assert_int_eq(walk(va, IF), 0);           /* no I/D without SMEP or PAE+NXE */
    w32(0x10000 + 4, 0x11000 | P | W | U);
    ck_assert_int_eq(walk(va, WR), WR);          /* PTE not present */
    w32(0x11000 + 12, 0x55000 | P | U);
    ck_assert_int_eq(walk(va + 0x123, US), -1);
    ck_assert_uint_eq(res.pa, 0x55123);
    ck_assert_uint_eq(res.page_size, PAGE_SIZE);
    ck_assert(res.user && !res.write && !res.nx);
    /* R/W: user write faults; supervisor write only with CR0.WP. */
    ck_assert_int_eq(walk(va, WR | US), P | WR | US);
    ck_assert_int_eq(walk(va, WR), -1);
    pg.cr0 |= X86_CR0_WP;
    ck_assert_int_eq(walk(va, WR), P | WR);
    /* R/W and U/S are ANDed across levels. */
    w32(0x11000 + 12, 0x55000 | P | W | U);
    ck_assert_int_eq(walk(va, WR | US), -1);
    w32(0x10000 + 4, 0x11000 | P | U);
    ck_assert_int_eq(walk(va, WR | US), P | WR | US);
    ck_assert_int_eq(walk(va, WR), P | WR);
    w32(0x10000 + 4, 0x11000 | P | W);
    ck_assert_int_eq(walk(va, US), P | US);
    ck_assert_int_eq(walk(va, RD), -1);
    ck_assert(!res.user && res.write);
    /* SMEP: supervisor fetch from a user page; I/D reported with SMEP. */
    w32(0x10000 + 4, 0x11000 | P | W | U);
    ck_assert_int_eq(walk(va, IF), -1);
    pg.cr4 |= X86_CR4_SMEP;
    ck_assert_int_eq(walk(va, IF), P | IF);
    ck_assert_int_eq(walk(va, IF | US), -1);
    w32(0x11000 + 12, 0x55000 | P | W);
    ck_assert_int_eq(walk(va, IF | US), P | US | IF);
    ck_assert_int_eq(walk(va, IF), -1);
    /* SMAP: supervisor data access to a user page unless AC. */
    w32(0x11000 + 12, 0x55000 | P | W | U);
    pg.cr4 |= X86_CR4_SMAP;
    ck_assert_int_eq(walk(va, RD), P);
    ck_assert_int_eq(walk(va, WR), P | WR);
    ck_assert_int_eq(walk_ac(va, RD, true), -1);
    ck_assert_int_eq(walk_ac(va, WR, true), -1);
    ck_assert_int_eq(walk(va, US | WR), -1);
    /* NXE has no effect without PAE (32-bit entries have no NX bit). */
    pg.efer |= EFER_NXE;
    pg.cr4 &= ~(X86_CR4_SMEP | X86_CR4_SMAP);
    ck_assert_int_eq(walk(0x00800000, IF), 0);
    ck_assert_int_eq(walk(va, IF | US), -1);
    /* 2-level 4 KiB entries have no reserved bits. */
    w32(0x11000 + 12, 0x55000 | P | W | U | _PAGE_PAT | (7u << 9));
    ck_assert_int_eq(walk(va, RD), -1);
    sim_fini();
}
END_TEST

START_TEST(ref_2level_pse)
{
    setup(X86_CR0_PG, 0, 0, 0x10000);
    uint64_t va = 0x00c01234;     /* PD index 3 */
    w32(0x10000 + 12, 0x11000 | P | W | U | PS);
    w32(0x11000 + 4, 0x77000 | P | W);
    /* Without CR4.PSE the PS bit is ignored: the PDE points to a table. */
    ck_assert_int_eq(walk(va, RD), -1);
    ck_assert_uint_eq(res.pa, 0x77234);
    ck_assert_uint_eq(res.page_size, PAGE_SIZE);
    pg.cr4 |= X86_CR4_PSE;
    w32(0x10000 + 12, 0x01400000 | P | W | U | PS | _PAGE_PSE_PAT);
    ck_assert_int_eq(walk(va, RD), -1);
    ck_assert_uint_eq(res.pa, 0x01401234);     /* PAT bit 12 is not an address bit */
    ck_assert_uint_eq(res.page_size, 4u << 20);
    /* PSE-36/40: bits 20:13 are PA 39:32. */
    w32(0x10000 + 12, 0x01400000 | P | W | U | PS | (0x5u << 13));
    ck_assert_int_eq(walk(va, RD), -1);
    ck_assert_uint_eq(res.pa, 0x501401234ULL);
    /* Bit 21 is reserved. */
    w32(0x10000 + 12, 0x01400000 | P | W | U | PS | (1u << 21));
    ck_assert_int_eq(walk(va, WR | US), P | PFEC_RSVD | WR | US);
    /* Bits above MAXPHYADDR are reserved. */
    sim_features.maxphyaddr = 36;
    w32(0x10000 + 12, 0x01400000 | P | W | U | PS | (0xfu << 13));
    ck_assert_int_eq(walk(va, RD), -1);
    w32(0x10000 + 12, 0x01400000 | P | W | U | PS | (0x10u << 13));
    ck_assert_int_eq(walk(va, RD), P | PFEC_RSVD);
    /* Without PSE-36, all of 20:13 are reserved. */
    sim_features.maxphyaddr = 40;
    sim_features.pse36 = false;
    w32(0x10000 + 12, 0x01400000 | P | W | U | PS | (0x1u << 13));
    ck_assert_int_eq(walk(va, RD), P | PFEC_RSVD);
    /* A not-present entry with reserved bits is just not present. */
    w32(0x10000 + 12, 0x01400000 | W | U | PS | (1u << 21));
    ck_assert_int_eq(walk(va, RD), 0);
    sim_fini();
}
END_TEST

START_TEST(ref_2level_accessed_dirty)
{
    setup(X86_CR0_PG | X86_CR0_WP, X86_CR4_PSE, 0, 0x10000);
    w32(0x10000, 0x11000 | P | W | U);
    w32(0x11000 + 8, 0x33000 | P | U);
    w32(0x10000 + 8, 0x00800000 | P | W | PS);
    /* A faulting access sets nothing. */
    ck_assert(!ref_walk(&pg, 0x2000, WR | US, false, 0, &res));
    ck_assert_uint_eq(sim_guest_read(0x10000, 4), 0x11000 | P | W | U);
    ck_assert_uint_eq(sim_guest_read(0x11008, 4), 0x33000 | P | U);
    /* No side effects when asked. */
    ck_assert(ref_walk(&pg, 0x2000, US, false, REF_NO_SIDE_EFFECTS, &res));
    ck_assert_uint_eq(sim_guest_read(0x11008, 4), 0x33000 | P | U);
    /* A read sets A at both levels, never D. */
    ck_assert(ref_walk(&pg, 0x2000, US, false, 0, &res));
    ck_assert_uint_eq(sim_guest_read(0x10000, 4), 0x11000 | P | W | U | A);
    ck_assert_uint_eq(sim_guest_read(0x11008, 4), 0x33000 | P | U | A);
    /* A write sets D in the leaf only. */
    w32(0x11000 + 8, 0x33000 | P | W | U);
    ck_assert(ref_walk(&pg, 0x2000, WR, false, 0, &res));
    ck_assert_uint_eq(sim_guest_read(0x10000, 4), 0x11000 | P | W | U | A);
    ck_assert_uint_eq(sim_guest_read(0x11008, 4), 0x33000 | P | W | U | A | D);
    /* 4 MiB leaf: A and D in the PDE. */
    ck_assert(ref_walk(&pg, 0x00812345, WR, false, 0, &res));
    ck_assert_uint_eq(res.pa, 0x00812345);
    ck_assert_uint_eq(sim_guest_read(0x10008, 4), 0x00800000 | P | W | PS | A | D);
    sim_fini();
}
END_TEST

/* PAE: PDPT at 0x10020 (32-byte aligned), PD 0x11000, PT 0x12000. */
START_TEST(ref_pae)
{
    setup(X86_CR0_PG | X86_CR0_WP, X86_CR4_PAE, EFER_NXE, 0x10020);
    pg.pdpte = pdpte_cache;
    uint64_t va = 0x40201000;   /* PDP 1, PD 1, PT 1 */
    w64(0x10020 + 8, 0x11000 | P);
    w64(0x11000 + 8, 0x12000 | P | W | U);
    w64(0x12000 + 8, 0x99000 | P | W | U);
    /* The walk uses the cached PDPTEs, not memory. */
    ck_assert_int_eq(walk(va, RD), 0);
    ck_assert(ref_load_pdptes(pg.cr3, pdpte_cache));
    ck_assert_uint_eq(pdpte_cache[1], 0x11000 | P);
    ck_assert_int_eq(walk(va + 5, WR | US), -1);
    ck_assert_uint_eq(res.pa, 0x99005);
    w64(0x10020 + 8, 0);
    ck_assert_int_eq(walk(va, RD), -1);
    ck_assert_uint_eq(res.entry_pa[3], 0);
    /* NX: only with EFER.NXE; I/D reported with PAE+NXE. */
    w64(0x12000 + 8, 0x99000 | P | W | U | NX);
    ck_assert_int_eq(walk(va, IF), P | IF);
    ck_assert_int_eq(walk(va, IF | US), P | IF | US);
    ck_assert_int_eq(walk(va, WR | US), -1);
    ck_assert(res.nx);
    w64(0x12000 + 8, 0x99000 | P | W | U);
    w64(0x11000 + 8, 0x12000 | P | W | U | NX);   /* NX ORs over levels */
    ck_assert_int_eq(walk(va, IF), P | IF);
    ck_assert_int_eq(walk(0x40000000, IF), IF);  /* not present, I/D still reported */
    pg.efer = 0;
    ck_assert_int_eq(walk(va, IF), P | PFEC_RSVD);   /* bit 63 reserved, no I/D without NXE */
    ck_assert_int_eq(walk(va, RD), P | PFEC_RSVD);
    w64(0x11000 + 8, 0x12000 | P | W | U);
    ck_assert_int_eq(walk(va, IF), -1);
    pg.efer = EFER_NXE;
    /* PAE: bits 62:MAXPHYADDR reserved. */
    w64(0x12000 + 8, 0x99000 | P | W | U | (1ULL << 62));
    ck_assert_int_eq(walk(va, RD), P | PFEC_RSVD);
    w64(0x12000 + 8, 0x99000 | P | W | U | (1ULL << 40));
    ck_assert_int_eq(walk(va, US), P | PFEC_RSVD | US);
    w64(0x12000 + 8, 0x99000 | P | W | U | (1ULL << 39));
    ck_assert_int_eq(walk(va, US), -1);
    ck_assert_uint_eq(res.pa, 0x8000099000ULL);
    sim_features.maxphyaddr = 36;
    ck_assert_int_eq(walk(va, US), P | PFEC_RSVD | US);
    sim_features.maxphyaddr = 40;
    /* 2 MiB pages: bits 20:13 reserved, PAT at 12. */
    w64(0x11000 + 16, 0x00600000 | P | W | PS | _PAGE_PSE_PAT);
    ck_assert_int_eq(walk(0x40412345, RD), -1);
    ck_assert_uint_eq(res.pa, 0x00612345);
    ck_assert_uint_eq(res.page_size, 2u << 20);
    w64(0x11000 + 16, 0x00600000 | P | W | PS | (1u << 13));
    ck_assert_int_eq(walk(0x40412345, RD), P | PFEC_RSVD);
    /* ... and PS is honoured without CR4.PSE. */
    ck_assert(!(pg.cr4 & X86_CR4_PSE));
    /* Not-present PDPTE. */
    ck_assert_int_eq(walk(0x80000000, WR), WR);
    sim_fini();
}
END_TEST

START_TEST(ref_pae_pdptes)
{
    setup(X86_CR0_PG, X86_CR4_PAE, 0, 0x10000);
    uint64_t c[4];
    w64(0x10000, 0x11000 | P | _PAGE_PWT | _PAGE_PCD | (7u << 9));
    ck_assert(ref_load_pdptes(0x10000, c));
    w64(0x10018, 0x11000 | (1ULL << 63));   /* not present: anything goes */
    ck_assert(ref_load_pdptes(0x10000, c));
    uint64_t bad[] = { W, U, A, D, PS, _PAGE_GLOBAL, NX, 1ULL << 40, 1ULL << 52 };
    for (unsigned i = 0; i < ARRAY_SIZE(bad); i++) {
        w64(0x10008, 0x12000 | P | bad[i]);
        ck_assert_msg(!ref_load_pdptes(0x10000, c), "bit %#llx", (unsigned long long)bad[i]);
    }
    /* A hardware walk reads the PDPT from memory: a bad PDPTE is #GP. */
    pg.pdpte = NULL;
    w64(0x10008, 0x12000 | P | W);
    ck_assert_int_eq(walk(0x40000000, RD), 0x1000 | X86_EXC_GP);
    w64(0x10008, 0x12000 | P);
    ck_assert_int_eq(walk(0x40000000, RD), 0);
    ck_assert_uint_eq(res.entry_pa[3], 0x10008);
    ck_assert_uint_eq(ref_pdpte_rsvd(36), 0xfffffff000000000ULL | 0x1e6);
    /* PDPTEs get no A bit. */
    w64(0x12000, 0x13000 | P | W);
    w64(0x13000, 0x14000 | P | W);
    ck_assert(ref_walk(&pg, 0x40000000, WR, false, 0, &res));
    ck_assert_uint_eq(r64(0x10008), 0x12000 | P);
    ck_assert_uint_eq(r64(0x12000), 0x13000 | P | W | A);
    ck_assert_uint_eq(r64(0x13000), 0x14000 | P | W | A | D);
    sim_fini();
}
END_TEST

/* Long mode: PML4 0x10000, PDPT 0x11000, PD 0x12000, PT 0x13000. */
static void long_setup(void)
{
    setup(X86_CR0_PG | X86_CR0_WP, X86_CR4_PAE, EFER_LME | EFER_LMA | EFER_NXE, 0x10000);
    w64(0x10000 + 8 * 256, 0x11000 | P | W | U);   /* 0xffff800000000000 */
    w64(0x11000 + 8 * 1, 0x12000 | P | W | U);     /* + 1 GiB */
    w64(0x12000 + 8 * 2, 0x13000 | P | W | U);     /* + 4 MiB */
    w64(0x13000 + 8 * 3, 0x88000 | P | W | U);     /* + 12 KiB */
}
#define LVA 0xffff800040403000ULL

START_TEST(ref_long_basic)
{
    long_setup();
    ck_assert_int_eq(walk(LVA + 0xabc, WR | US), -1);
    ck_assert_uint_eq(res.pa, 0x88abc);
    ck_assert_int_eq(res.levels, 4);
    /* Non-canonical: #GP, not #PF. */
    ck_assert_int_eq(walk(0x0000800040403000ULL, RD), 0x1000 | X86_EXC_GP);
    ck_assert_int_eq(walk(0xfff0800040403000ULL, RD), 0x1000 | X86_EXC_GP);
    ck_assert_int_eq(walk(0x00007ffffffff000ULL, RD), 0);
    /* U/S at the top level. */
    w64(0x10000 + 8 * 256, 0x11000 | P | W);
    ck_assert_int_eq(walk(LVA, US), P | US);
    ck_assert_int_eq(walk(LVA, IF | US), P | US | IF);
    w64(0x10000 + 8 * 256, 0x11000 | P | W | U);
    /* PML4E: PS and bit 8 reserved (AMD); bits 62:52 are available. */
    w64(0x10000 + 8 * 256, 0x11000 | P | W | U | PS);
    ck_assert_int_eq(walk(LVA, WR), P | WR | PFEC_RSVD);
    w64(0x10000 + 8 * 256, 0x11000 | P | W | U | _PAGE_GLOBAL);
    ck_assert_int_eq(walk(LVA, RD), P | PFEC_RSVD);
    w64(0x10000 + 8 * 256, 0x11000 | P | W | U | (0x7ffULL << 52));
    ck_assert_int_eq(walk(LVA, RD), -1);
    w64(0x10000 + 8 * 256, 0x11000 | P | W | U | (1ULL << 51));
    ck_assert_int_eq(walk(LVA, RD), P | PFEC_RSVD);
    w64(0x10000 + 8 * 256, 0x11000 | P | W | U);
    /* Non-leaf PDPTE/PDE: bit 8 ignored; leaf PTE: bit 7 is PAT. */
    w64(0x11000 + 8, 0x12000 | P | W | U | _PAGE_GLOBAL);
    w64(0x13000 + 8 * 3, 0x88000 | P | W | U | _PAGE_PAT | _PAGE_GLOBAL);
    ck_assert_int_eq(walk(LVA, RD), -1);
    /* NX bit 63 without NXE: reserved at every level. */
    w64(0x12000 + 8 * 2, 0x13000 | P | W | U | NX);
    ck_assert_int_eq(walk(LVA, IF), P | IF);
    pg.efer &= ~EFER_NXE;
    ck_assert_int_eq(walk(LVA, IF), P | PFEC_RSVD);
    sim_fini();
}
END_TEST

START_TEST(ref_long_superpages)
{
    long_setup();
    /* 2 MiB */
    w64(0x12000 + 8 * 3, 0x00e00000 | P | W | PS);
    ck_assert_int_eq(walk(0xffff800040654321ULL, WR), -1);
    ck_assert_uint_eq(res.pa, 0x00e54321);
    ck_assert_uint_eq(res.page_size, 2u << 20);
    ck_assert_int_eq(walk(0xffff800040654321ULL, US), P | US);
    w64(0x12000 + 8 * 3, 0x00e00000 | P | W | PS | (1u << 20));
    ck_assert_int_eq(walk(0xffff800040654321ULL, RD), P | PFEC_RSVD);
    /* 1 GiB */
    w64(0x11000 + 8 * 2, 0x40000000 | P | W | U | PS | _PAGE_PSE_PAT);
    ck_assert_int_eq(walk(0xffff8000bfedcba9ULL, US | WR), -1);
    ck_assert_uint_eq(res.pa, 0x7fedcba9);
    ck_assert_uint_eq(res.page_size, 1u << 30);
    ck_assert_int_eq(res.leaf_level, 3);
    w64(0x11000 + 8 * 2, 0x40000000 | P | W | U | PS | (1u << 29));
    ck_assert_int_eq(walk(0xffff8000bfedcba9ULL, RD), P | PFEC_RSVD);
    w64(0x11000 + 8 * 2, 0x40000000 | P | W | U | PS);
    sim_features.pdpe1gb = false;
    ck_assert_int_eq(walk(0xffff8000bfedcba9ULL, RD), P | PFEC_RSVD);
    sim_features.pdpe1gb = true;
    /* A/D on a 1 GiB write: A in PML4E and PDPTE, D in the PDPTE. */
    ck_assert(ref_walk(&pg, 0xffff8000bfedcba9ULL, WR, false, 0, &res));
    ck_assert_uint_eq(r64(0x10000 + 8 * 256), 0x11000 | P | W | U | A);
    ck_assert_uint_eq(r64(0x11000 + 16), 0x40000000 | P | W | U | PS | A | D);
    sim_fini();
}
END_TEST

START_TEST(ref_long_smep_smap_wp_pk)
{
    long_setup();
    pg.cr4 |= X86_CR4_SMEP | X86_CR4_SMAP;
    ck_assert_int_eq(walk(LVA, IF), P | IF);
    ck_assert_int_eq(walk(LVA, RD), P);
    ck_assert_int_eq(walk(LVA, WR), P | WR);
    ck_assert_int_eq(walk_ac(LVA, WR, true), -1);
    ck_assert_int_eq(walk_ac(LVA, IF, true), P | IF);   /* AC does not lift SMEP */
    ck_assert_int_eq(walk(LVA, IF | US), -1);
    /* Supervisor page: SMEP/SMAP do not apply, WP does. */
    w64(0x13000 + 8 * 3, 0x88000 | P);
    ck_assert_int_eq(walk(LVA, IF), -1);
    ck_assert_int_eq(walk(LVA, WR), P | WR);
    pg.cr0 &= ~X86_CR0_WP;
    ck_assert_int_eq(walk(LVA, WR), -1);
    /* WP=0 lets supervisor writes through read-only user pages, SMAP still applies. */
    w64(0x13000 + 8 * 3, 0x88000 | P | U);
    ck_assert_int_eq(walk_ac(LVA, WR, true), -1);
    ck_assert_int_eq(walk(LVA, WR), P | WR);
    ck_assert_int_eq(walk(LVA, WR | US), P | WR | US);
    /* Protection keys (user pages, data only). */
    pg.cr4 = X86_CR4_PAE | X86_CR4_PKE;
    pg.cr0 |= X86_CR0_WP;
    w64(0x13000 + 8 * 3, 0x88000 | P | W | U | (3ULL << 59));
    pg.pkru = 1u << 6;     /* key 3 access-disable */
    ck_assert_int_eq(walk(LVA, US), P | US | PFEC_PK);
    ck_assert_int_eq(walk(LVA, RD), P | PFEC_PK);
    ck_assert_int_eq(walk(LVA, IF | US), -1);
    pg.pkru = 2u << 6;     /* key 3 write-disable */
    ck_assert_int_eq(walk(LVA, US), -1);
    ck_assert_int_eq(walk(LVA, US | WR), P | US | WR | PFEC_PK);
    ck_assert_int_eq(walk(LVA, WR), P | WR | PFEC_PK);
    pg.cr0 &= ~X86_CR0_WP;
    ck_assert_int_eq(walk(LVA, WR), -1);
    pg.pkru = 3u << 4;     /* another key */
    ck_assert_int_eq(walk(LVA, US | WR), -1);
    pg.cr4 = X86_CR4_PAE;  /* PKE off: keys ignored */
    pg.pkru = ~0u;
    ck_assert_int_eq(walk(LVA, US | WR), -1);
    sim_fini();
}
END_TEST

/* Host-physical walks read the reserve; guest walks go through the p2m. */
START_TEST(ref_host_vs_guest_phys)
{
    setup(X86_CR0_PG, 0, 0, 0);
    uint64_t pool = mfn_x(sim_pool_base()) << PAGE_SHIFT;
    pg.cr3 = pool;
    sim_write_phys(pool + 4, (pool + PAGE_SIZE) | P | W, 4);
    sim_write_phys(pool + PAGE_SIZE + 8, 0x42000 | P | W, 4);
    ck_assert_int_eq(walk(0x402000, RD), 0);
    ck_assert(res.table_unbacked);
    pg.host_phys = true;
    ck_assert_int_eq(walk(0x402000, RD), -1);
    ck_assert_uint_eq(res.pa, 0x42000);
    char buf[128];
    ref_format(&res, buf, sizeof(buf));
    ck_assert_str_eq(buf, "ok pa=0x42000 4K S W X");
    /* The vCPU wrappers pick guest_* vs hw_*. */
    struct shadow_vcpu v = { 0 };
    v.hw_cr0 = X86_CR0_PG | X86_CR0_PE;
    v.hw_cr3 = pool;
    v.guest_cr0 = X86_CR0_PE;
    ck_assert(ref_hw_walk(&v, 0x402000, WR, false, 0, &res));
    ck_assert_uint_eq(sim_read_phys(pool + PAGE_SIZE + 8, 4), 0x42000 | P | W | A | D);
    ck_assert(ref_guest_walk(&v, 0xabcdef, WR, false, 0, &res));
    ck_assert_uint_eq(res.pa, 0xabcdef);
    sim_fini();
}
END_TEST


/* More corner cases of the walker. */
START_TEST(ref_corners)
{
    /* Long mode A/D: A at every level, D only in the leaf, never on a fault. */
    long_setup();
    ck_assert(ref_walk(&pg, LVA, WR, false, 0, &res));
    ck_assert_uint_eq(r64(0x10000 + 8 * 256), 0x11000 | P | W | U | A);
    ck_assert_uint_eq(r64(0x11000 + 8), 0x12000 | P | W | U | A);
    ck_assert_uint_eq(r64(0x12000 + 16), 0x13000 | P | W | U | A);
    ck_assert_uint_eq(r64(0x13000 + 24), 0x88000 | P | W | U | A | D);
    w64(0x13000 + 8 * 4, 0x89000 | P | U);
    ck_assert(!ref_walk(&pg, LVA + 0x1000, WR | US, false, 0, &res));
    ck_assert_uint_eq(r64(0x13000 + 32), 0x89000 | P | U);
    /* R/W at the PD level binds supervisor writes under WP, not reads. */
    w64(0x12000 + 16, 0x13000 | P | U | A);
    ck_assert_int_eq(walk(LVA, WR), P | WR);
    ck_assert_int_eq(walk(LVA, RD), -1);
    ck_assert(!res.write);
    /* U/S at the PDPT level. */
    w64(0x12000 + 16, 0x13000 | P | W | U);
    w64(0x11000 + 8, 0x12000 | P | W);
    ck_assert_int_eq(walk(LVA, US), P | US);
    /* SMAP/SMEP never apply to user-mode accesses; PK never to supervisor pages. */
    w64(0x11000 + 8, 0x12000 | P | W | U);
    pg.cr4 |= X86_CR4_SMAP | X86_CR4_SMEP | X86_CR4_PKE;
    pg.pkru = ~0u;
    w64(0x13000 + 24, 0x88000 | P | W | (5ULL << 59));
    ck_assert_int_eq(walk(LVA, WR), -1);
    w64(0x13000 + 24, 0x88000 | P | W | U);
    ck_assert_int_eq(walk(LVA, US | IF), -1);   /* fetch: PK does not apply */
    ck_assert_int_eq(walk(LVA, US), P | US | PFEC_PK);
    pg.pkru = 0;
    ck_assert_int_eq(walk(LVA, US | WR), -1);
    /* Not-present fetch with SMEP and no NXE still reports I/D. */
    pg.efer &= ~EFER_NXE;
    ck_assert_int_eq(walk(0xffff800040410000ULL, IF), IF);
    pg.cr4 &= ~X86_CR4_SMEP;
    ck_assert_int_eq(walk(0xffff800040410000ULL, IF), 0);
    sim_fini();
    /* 2-level: PDE with PS but CR4.PSE=0 gets A as a table pointer, and
     * MAXPHYADDR 32 without PSE-36 reserves bits 20:13 of a 4 MiB PDE. */
    setup(X86_CR0_PG, 0, 0, 0x10000);
    w32(0x10000, 0x11000 | P | W | PS);
    w32(0x11000, 0x22000 | P | W);
    ck_assert(ref_walk(&pg, 0x123, WR, false, 0, &res));
    ck_assert_uint_eq(res.pa, 0x22123);
    ck_assert_uint_eq(sim_guest_read(0x10000, 4), 0x11000 | P | W | PS | A);
    ck_assert_uint_eq(sim_guest_read(0x11000, 4), 0x22000 | P | W | A | D);
    sim_fini();
}
END_TEST

/* The page-table builder of the shadow tests, checked through the walker. */
#include "guestpt.h"

START_TEST(guestpt_builder)
{
    static const enum guest_paging modes[] = { GUEST_PAGING_2LEVEL, GUEST_PAGING_PAE, GUEST_PAGING_LONG };
    for (unsigned i = 0; i < ARRAY_SIZE(modes); i++) {
        enum guest_paging m = modes[i];
        struct gpt_alloc a;
        struct gpt_space s;
        sim_init(16u << 20, POOL);
        gpt_alloc_init(&a, 0x100, 0x100);
        gpt_init(&s, m, &a, 0x40);
        memset(&pg, 0, sizeof(pg));
        pg.cr0 = X86_CR0_PG | X86_CR0_PE | X86_CR0_WP;
        pg.cr4 = m == GUEST_PAGING_2LEVEL ? X86_CR4_PSE : X86_CR4_PAE;
        pg.efer = m == GUEST_PAGING_LONG ? EFER_LME | EFER_LMA | EFER_NXE :
                  m == GUEST_PAGING_PAE ? EFER_NXE : 0;
        pg.cr3 = s.cr3;
        ck_assert_uint_eq(s.cr3 & 0xfff, m == GUEST_PAGING_PAE ? 0x40 : 0);
        gva_t va = m == GUEST_PAGING_LONG ? 0xffff800012345000ULL : 0x12345000;
        uint64_t epa = gpt_map(&s, &a, va, 0x678000, 1, W | U, W | U);
        ck_assert_uint_eq(epa, gpt_entry_addr(&s, va, 1));
        if (m == GUEST_PAGING_PAE)
            ck_assert(ref_load_pdptes(s.cr3, pdpte_cache)), pg.pdpte = pdpte_cache;
        ck_assert_int_eq(walk(va + 0x9a, WR | US), -1);
        ck_assert_uint_eq(res.pa, 0x67809a);
        ck_assert_uint_eq(res.entry_pa[1], epa);
        /* A superpage next to it, then the entry above is replaced by a table again. */
        uint64_t big = gpt_level_size(m, 2);
        gva_t sva = va + 4 * big;
        sva -= sva % big;
        gpt_map(&s, &a, sva, 4 * big, 2, W, W | U);
        if (m == GUEST_PAGING_PAE)
            ref_load_pdptes(s.cr3, pdpte_cache);
        ck_assert_int_eq(walk(sva + 0x5123, WR), -1);
        ck_assert_uint_eq(res.pa, 4 * big + 0x5123);
        ck_assert_uint_eq(res.page_size, big);
        ck_assert_uint_eq(gpt_entry_addr(&s, sva, 1), 0);
        gpt_map(&s, &a, sva + 0x2000, 0x999000, 1, 0, W);
        ck_assert_int_eq(walk(sva + 0x2000, RD), -1);
        ck_assert_uint_eq(res.pa, 0x999000);
        ck_assert_int_eq(walk(sva + 0x5000, RD), 0);
        ck_assert_uint_eq(gpt_index(m, 1, va), (va >> 12) & (m == GUEST_PAGING_2LEVEL ? 1023 : 511));
        sim_fini();
    }
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("refmmu");
    TCase *tc = tcase_create("sim");
    tcase_add_test(tc, sim_layout_and_p2m);
    tcase_add_test(tc, sim_log_capture);
    suite_add_tcase(s, tc);
    tc = tcase_create("refmmu");
    tcase_add_test(tc, ref_paging_off);
    tcase_add_test(tc, ref_2level_rights);
    tcase_add_test(tc, ref_2level_pse);
    tcase_add_test(tc, ref_2level_accessed_dirty);
    tcase_add_test(tc, ref_pae);
    tcase_add_test(tc, ref_pae_pdptes);
    tcase_add_test(tc, ref_long_basic);
    tcase_add_test(tc, ref_long_superpages);
    tcase_add_test(tc, ref_long_smep_smap_wp_pk);
    tcase_add_test(tc, ref_host_vs_guest_phys);
    tcase_add_test(tc, ref_corners);
    tcase_add_test(tc, guestpt_builder);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
