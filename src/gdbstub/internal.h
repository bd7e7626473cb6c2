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

/* why.c: record a refusal in s->why ("WHAT: CAUSE", WHAT from fmt; the cause
 * is the target's gdb_stub_why() text of this packet, else the guest walk of
 * va when va_known and err is EIO, else err's name).  Returns s->why. */
const char *gdb_refusal(struct gdb_stub *s, int err, bool va_known, uint64_t va, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* monitor.c: a monitor number (0x-hex or decimal, the whole trimmed word). */
bool gdb_mon_parse_num(const char *p, uint64_t *v);
/* vmmap.c: monitor vmmap. */
int gdb_mon_vmmap(const struct gdb_mon_ctx *c, const char *args);

#endif
