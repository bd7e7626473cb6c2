/*
 * Page-table helpers for the three paging modes a guest suite can run:
 * 2-level (with PSE 4 MiB pages), PAE (with 2 MiB pages) and long mode
 * (with 2 MiB and 1 GiB pages).  Levels are numbered from the leaf: 0 is the
 * PTE, 1 the PDE, 2 the PAE PDPTE / long-mode PDPTE, 3 the PML4E.
 * Physical memory below the pool's end is identity mapped, so a table's
 * physical address is also a pointer to it.
 */
#ifndef GUEST_PT_H
#define GUEST_PT_H

#include "guest.h"

struct pmode {
    const char *name;
    int levels;          /* 2, 3 or 4 */
    bool wide;           /* 8-byte entries */
    bool has_nx;         /* entries have bit 63 = NX (reserved when EFER.NXE = 0) */
    int top_perm;        /* highest level whose entries carry RW/US (PAE: 1) */
    unsigned shift[4];   /* VA bit where the index of each level starts */
    unsigned bits[4];    /* width of that index */
};
extern const struct pmode pm_2level, pm_pae, pm_long;

/* A zeroed page-table frame from the static pool, and back to it.  Bails out
 * when the pool is exhausted. */
uint64_t pt_alloc(void);
void pt_free(uint64_t pa);
unsigned pt_free_count(void);

/* Entry access through a pointer to the slot (4 or 8 bytes wide). */
uint64_t pte_get(const struct pmode *m, void *slot);
void pte_set(const struct pmode *m, void *slot, uint64_t v);
/* Pointer to the level-`level` entry for `va` under `root`, creating missing
 * lower tables (entries P|RW|US; a PAE PDPTE gets only P) when `create`; NULL
 * when a table on the way is missing and !create. */
void *pt_slot(const struct pmode *m, uint64_t root, uint64_t va, int level, bool create);
/* Map [va, va+len) to [pa, pa+len) with 4 KiB pages and leaf `flags`. */
void pt_map(const struct pmode *m, uint64_t root, uint64_t va, uint64_t pa, uint64_t len,
            uint64_t flags);
/* A fresh root with the kernel's identity map of [0, IDENT_END): supervisor
 * pages, except the runtime's user pages (code and stack) which are US. */
#define IDENT_END 0x800000u
uint64_t pt_new_space(const struct pmode *m);
/* Free every table reachable from root except the shared kernel ones. */
void pt_free_space(const struct pmode *m, uint64_t root);
/* Bits of an entry that hold the frame address. */
uint64_t pt_frame_mask(const struct pmode *m);
/* Full permissions for an intermediate entry at `level`. */
uint64_t pt_dir_flags(const struct pmode *m, int level);

/* Enter the mode from flat protected mode with paging off (i386 suites):
 * CR4.PSE or CR4.PAE, CR3 = root, CR0.PG|WP. */
void paging_enable(const struct pmode *m, uint64_t root);

/* The frames the matrix and other tests point leaves at: TARGET_PA holds
 * 0xC3 (RET) bytes and sits at a 4 MiB boundary so a 4 MiB / 2 MiB page can
 * map it at offset 0. */
#define TARGET_PA 0x400000u
void target_fill(void);

#endif

/* Marker frames: MARK_PA(i) holds MARK(i) in its first word (up to 256
 * frames from 6 MiB, inside the identity map). */
#define MARK_PA(i) (0x600000u + (unsigned)(i) * 0x1000u)
#define MARK(i) (0x5a5a0000u + (unsigned)(i))
void mark_fill(unsigned n);
/* Read a word at va at CPL 0: true and *v on success, false on a fault. */
bool peek(uint64_t va, uint32_t *v);
/* The value a read of va should give, or ~0 for "faults"; one TAP line. */
void expect_read(uint64_t va, uint32_t want, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
#define FAULTS 0xffffffffu
