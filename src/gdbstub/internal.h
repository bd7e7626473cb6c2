/*
 * Private interfaces between the files of src/gdbstub/.
 */
#ifndef GDBSTUB_INTERNAL_H
#define GDBSTUB_INTERNAL_H

#include <umbra/gdbstub.h>

/* bp.c: software breakpoints planted as int3 through the target's memory ops. */
int gdb_swbp_insert(struct gdb_stub *s, uint64_t addr);
int gdb_swbp_remove(struct gdb_stub *s, uint64_t addr);
void gdb_swbp_remove_all(struct gdb_stub *s);

/* cmd.c: memory access split per 4 KiB page.  Returns the number of bytes
 * transferred from the start (a readable prefix), or a negative GDB_E* if
 * not even the first byte could be transferred. */
long gdb_mem_xfer(struct gdb_stub *s, bool phys, uint64_t addr, void *buf, size_t len, bool write);

#endif
