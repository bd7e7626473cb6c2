/*
 * Builder of guest page tables in simulated guest RAM, for every guest
 * paging mode: 2-level (4 KiB and 4 MiB PSE pages), legacy PAE (4 KiB and
 * 2 MiB), long mode (4 KiB, 2 MiB, 1 GiB).  Tables come from a bump
 * allocator over a range of guest frames; entries are written with
 * sim_guest_write() (no shadow involved: this is the guest's memory before
 * or outside the shadow's view).
 *
 * Levels are numbered as in refmmu.h: 1 = PTE ... 4 = PML4E; legacy PAE
 * has levels 1..3 with level 3 the PDPT.
 */
#ifndef UMBRA_TEST_GUESTPT_H
#define UMBRA_TEST_GUESTPT_H

#include <umbra/types.h>
#include <umbra/shadow.h>

struct gpt_alloc {
    uint64_t next, end;      /* guest frames [next, end) still free */
};

/* One address space. */
struct gpt_space {
    enum guest_paging mode;
    uint64_t cr3;            /* the value to load (PAE: 32-byte aligned PDPT) */
    uint64_t root;           /* guest-physical address of the top table */
};

void gpt_alloc_init(struct gpt_alloc *a, uint64_t first_gfn, uint64_t nframes);
/* A zeroed table frame; returns its guest-physical address (aborts when out). */
uint64_t gpt_alloc_table(struct gpt_alloc *a);

int gpt_levels(enum guest_paging mode);           /* 2, 3 or 4 */
unsigned gpt_entry_size(enum guest_paging mode);  /* 4 or 8 */
unsigned gpt_index(enum guest_paging mode, int level, gva_t va);
/* Size mapped by one entry at level (4K, 4M / 2M, 1G, 512G). */
uint64_t gpt_level_size(enum guest_paging mode, int level);

/*
 * New address space with an empty top table.  PAE: the PDPT is placed at
 * byte `pdpt_off` (a multiple of 32) of a fresh frame.
 */
void gpt_init(struct gpt_space *s, enum guest_paging mode, struct gpt_alloc *a,
              unsigned pdpt_off);

/* Read / write one entry at guest-physical address gpa. */
uint64_t gpt_read(enum guest_paging mode, uint64_t gpa);
void gpt_write(enum guest_paging mode, uint64_t gpa, uint64_t val);

/*
 * The leaf entry mapping `pa` at `level` with `flags` (P, RW, U, A, D, G,
 * NX ...).  Adds PS for superpages and encodes PSE-36 bits for a 2-level
 * 4 MiB page.  pa must be aligned to the level's size.
 */
uint64_t gpt_make_leaf(enum guest_paging mode, int level, uint64_t pa, uint64_t flags);

/*
 * Guest-physical address of the entry at `level` for va, walking present
 * non-leaf entries from the top; 0 if the walk stops above `level` (an
 * entry not present or a superpage).  Legacy PAE level 3 reads the PDPT in
 * memory.
 */
uint64_t gpt_entry_addr(const struct gpt_space *s, gva_t va, int level);

/*
 * Write raw `val` into the entry at `level` for va, creating missing
 * intermediate tables (and replacing superpage entries in the way) with
 * entries carrying `upper_flags` (legacy-PAE PDPTEs get only P).  Returns
 * the guest-physical address of the entry written.
 */
uint64_t gpt_set(struct gpt_space *s, struct gpt_alloc *a, gva_t va, int level,
                 uint64_t val, uint64_t upper_flags);

/* gpt_set() of gpt_make_leaf(). */
uint64_t gpt_map(struct gpt_space *s, struct gpt_alloc *a, gva_t va, uint64_t pa,
                 int level, uint64_t flags, uint64_t upper_flags);

/* The table an entry points to (address bits of a non-leaf entry). */
uint64_t gpt_entry_table(enum guest_paging mode, uint64_t entry);

#endif
