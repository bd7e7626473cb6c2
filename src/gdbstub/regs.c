/*
 * Register layouts and target descriptions, one table per architecture.
 *
 * GDB numbers registers in the order of the target description, and `g`/`G`
 * carry them in that order, so one table drives the XML, g/G and p/P alike.
 * The core features follow GDB's own 32bit-core.xml / 64bit-core.xml (GDB's
 * i386 backend checks them by name): GPRs, eflags, selectors, then the x87
 * registers, which Umbra does not track (they read as zero).  A third feature,
 * org.umbra.x86.sys, adds what a hypervisor developer wants next to them: the
 * guest's control registers, EFER, the segment bases, the guest's debug
 * registers and its descriptor-table registers (GDTR/IDTR base and limit,
 * LDTR/TR selector, base and limit; read-only, see gdb_check_sysregs()).
 * New registers go at the end of a feature: GDB numbers them in order.
 */
#include <umbra/gdbstub.h>
#include <umbra/lib.h>

#define F(x) ((int)offsetof(struct gdb_regs, x))
#define FEAT_CORE 0
#define FEAT_SYS  1

#define X87_REGS \
    { "st0", 80, "i387_ext", "float", FEAT_CORE, -1 }, \
    { "st1", 80, "i387_ext", "float", FEAT_CORE, -1 }, \
    { "st2", 80, "i387_ext", "float", FEAT_CORE, -1 }, \
    { "st3", 80, "i387_ext", "float", FEAT_CORE, -1 }, \
    { "st4", 80, "i387_ext", "float", FEAT_CORE, -1 }, \
    { "st5", 80, "i387_ext", "float", FEAT_CORE, -1 }, \
    { "st6", 80, "i387_ext", "float", FEAT_CORE, -1 }, \
    { "st7", 80, "i387_ext", "float", FEAT_CORE, -1 }, \
    { "fctrl", 32, "int32", "float", FEAT_CORE, -1 }, \
    { "fstat", 32, "int32", "float", FEAT_CORE, -1 }, \
    { "ftag", 32, "int32", "float", FEAT_CORE, -1 }, \
    { "fiseg", 32, "int32", "float", FEAT_CORE, -1 }, \
    { "fioff", 32, "int32", "float", FEAT_CORE, -1 }, \
    { "foseg", 32, "int32", "float", FEAT_CORE, -1 }, \
    { "fooff", 32, "int32", "float", FEAT_CORE, -1 }, \
    { "fop", 32, "int32", "float", FEAT_CORE, -1 }

#define SYS_REGS \
    { "cr0", 64, "umbra_cr0", "system", FEAT_SYS, F(cr0) }, \
    { "cr2", 64, "int64", "system", FEAT_SYS, F(cr2) }, \
    { "cr3", 64, "umbra_cr3", "system", FEAT_SYS, F(cr3) }, \
    { "cr4", 64, "umbra_cr4", "system", FEAT_SYS, F(cr4) }, \
    { "efer", 64, "umbra_efer", "system", FEAT_SYS, F(efer) }, \
    { "cs_base", 64, "int64", "system", FEAT_SYS, F(cs_base) }, \
    { "ss_base", 64, "int64", "system", FEAT_SYS, F(ss_base) }, \
    { "ds_base", 64, "int64", "system", FEAT_SYS, F(ds_base) }, \
    { "es_base", 64, "int64", "system", FEAT_SYS, F(es_base) }, \
    { "fs_base", 64, "int64", "system", FEAT_SYS, F(fs_base) }, \
    { "gs_base", 64, "int64", "system", FEAT_SYS, F(gs_base) }, \
    { "dr0", 64, "int64", "system", FEAT_SYS, F(dr0) }, \
    { "dr1", 64, "int64", "system", FEAT_SYS, F(dr1) }, \
    { "dr2", 64, "int64", "system", FEAT_SYS, F(dr2) }, \
    { "dr3", 64, "int64", "system", FEAT_SYS, F(dr3) }, \
    { "dr6", 64, "umbra_dr6", "system", FEAT_SYS, F(dr6) }, \
    { "dr7", 64, "umbra_dr7", "system", FEAT_SYS, F(dr7) }, \
    { "gdtr_base", 64, "int64", "system", FEAT_SYS, F(gdtr_base) }, \
    { "gdtr_limit", 32, "int32", "system", FEAT_SYS, F(gdtr_limit) }, \
    { "idtr_base", 64, "int64", "system", FEAT_SYS, F(idtr_base) }, \
    { "idtr_limit", 32, "int32", "system", FEAT_SYS, F(idtr_limit) }, \
    { "ldtr", 32, "int32", "system", FEAT_SYS, F(ldtr) }, \
    { "ldtr_base", 64, "int64", "system", FEAT_SYS, F(ldtr_base) }, \
    { "ldtr_limit", 32, "int32", "system", FEAT_SYS, F(ldtr_limit) }, \
    { "tr", 32, "int32", "system", FEAT_SYS, F(tr) }, \
    { "tr_base", 64, "int64", "system", FEAT_SYS, F(tr_base) }, \
    { "tr_limit", 32, "int32", "system", FEAT_SYS, F(tr_limit) }

static const struct gdb_reg_desc i386_regs[] = {
    { "eax", 32, "int32", "general", FEAT_CORE, F(rax) },
    { "ecx", 32, "int32", "general", FEAT_CORE, F(rcx) },
    { "edx", 32, "int32", "general", FEAT_CORE, F(rdx) },
    { "ebx", 32, "int32", "general", FEAT_CORE, F(rbx) },
    { "esp", 32, "data_ptr", "general", FEAT_CORE, F(rsp) },
    { "ebp", 32, "data_ptr", "general", FEAT_CORE, F(rbp) },
    { "esi", 32, "int32", "general", FEAT_CORE, F(rsi) },
    { "edi", 32, "int32", "general", FEAT_CORE, F(rdi) },
    { "eip", 32, "code_ptr", "general", FEAT_CORE, F(rip) },
    { "eflags", 32, "i386_eflags", "general", FEAT_CORE, F(rflags) },
    { "cs", 32, "int32", "general", FEAT_CORE, F(cs) },
    { "ss", 32, "int32", "general", FEAT_CORE, F(ss) },
    { "ds", 32, "int32", "general", FEAT_CORE, F(ds) },
    { "es", 32, "int32", "general", FEAT_CORE, F(es) },
    { "fs", 32, "int32", "general", FEAT_CORE, F(fs) },
    { "gs", 32, "int32", "general", FEAT_CORE, F(gs) },
    X87_REGS,
    SYS_REGS,
};

static const struct gdb_reg_desc amd64_regs[] = {
    { "rax", 64, "int64", "general", FEAT_CORE, F(rax) },
    { "rbx", 64, "int64", "general", FEAT_CORE, F(rbx) },
    { "rcx", 64, "int64", "general", FEAT_CORE, F(rcx) },
    { "rdx", 64, "int64", "general", FEAT_CORE, F(rdx) },
    { "rsi", 64, "int64", "general", FEAT_CORE, F(rsi) },
    { "rdi", 64, "int64", "general", FEAT_CORE, F(rdi) },
    { "rbp", 64, "data_ptr", "general", FEAT_CORE, F(rbp) },
    { "rsp", 64, "data_ptr", "general", FEAT_CORE, F(rsp) },
    { "r8", 64, "int64", "general", FEAT_CORE, F(r8) },
    { "r9", 64, "int64", "general", FEAT_CORE, F(r9) },
    { "r10", 64, "int64", "general", FEAT_CORE, F(r10) },
    { "r11", 64, "int64", "general", FEAT_CORE, F(r11) },
    { "r12", 64, "int64", "general", FEAT_CORE, F(r12) },
    { "r13", 64, "int64", "general", FEAT_CORE, F(r13) },
    { "r14", 64, "int64", "general", FEAT_CORE, F(r14) },
    { "r15", 64, "int64", "general", FEAT_CORE, F(r15) },
    { "rip", 64, "code_ptr", "general", FEAT_CORE, F(rip) },
    { "eflags", 32, "i386_eflags", "general", FEAT_CORE, F(rflags) },
    { "cs", 32, "int32", "general", FEAT_CORE, F(cs) },
    { "ss", 32, "int32", "general", FEAT_CORE, F(ss) },
    { "ds", 32, "int32", "general", FEAT_CORE, F(ds) },
    { "es", 32, "int32", "general", FEAT_CORE, F(es) },
    { "fs", 32, "int32", "general", FEAT_CORE, F(fs) },
    { "gs", 32, "int32", "general", FEAT_CORE, F(gs) },
    X87_REGS,
    SYS_REGS,
};

/*
 * Flag types (issue 17 item 4), so that GDB prints `p $cr0` as
 * [ PE ET PG ] and `p $eflags` as [ IOPL=0 IF ZF PF CF ], as with QEMU's
 * stub.  Each is emitted once, at the top of the feature its register is
 * in (GDB looks types up per feature).  Bit positions from the AMD APM
 * vol. 2 (3.1 CR0/CR3/CR4, 3.1.7 EFER, 3.1.6 RFLAGS); a range is a field.
 */
struct flag_field { const char *name; unsigned start, end; };
struct flag_type {
    const char *id;
    unsigned size;              /* bytes */
    unsigned feature;
    const struct flag_field *fields;
    unsigned nfields;
};

static const struct flag_field eflags_fields[] = {
    { "CF", 0, 0 }, { "", 1, 1 }, { "PF", 2, 2 }, { "AF", 4, 4 }, { "ZF", 6, 6 }, { "SF", 7, 7 },
    { "TF", 8, 8 }, { "IF", 9, 9 }, { "DF", 10, 10 }, { "OF", 11, 11 }, { "IOPL", 12, 13 },
    { "NT", 14, 14 }, { "RF", 16, 16 }, { "VM", 17, 17 }, { "AC", 18, 18 }, { "VIF", 19, 19 },
    { "VIP", 20, 20 }, { "ID", 21, 21 },
};
static const struct flag_field cr0_fields[] = {
    { "PE", 0, 0 }, { "MP", 1, 1 }, { "EM", 2, 2 }, { "TS", 3, 3 }, { "ET", 4, 4 }, { "NE", 5, 5 },
    { "WP", 16, 16 }, { "AM", 18, 18 }, { "NW", 29, 29 }, { "CD", 30, 30 }, { "PG", 31, 31 },
};
static const struct flag_field cr3_fields[] = {
    { "PWT", 3, 3 }, { "PCD", 4, 4 }, { "PDBR", 12, 63 },
};
static const struct flag_field cr4_fields[] = {
    { "VME", 0, 0 }, { "PVI", 1, 1 }, { "TSD", 2, 2 }, { "DE", 3, 3 }, { "PSE", 4, 4 },
    { "PAE", 5, 5 }, { "MCE", 6, 6 }, { "PGE", 7, 7 }, { "PCE", 8, 8 }, { "OSFXSR", 9, 9 },
    { "OSXMMEXCPT", 10, 10 }, { "UMIP", 11, 11 }, { "LA57", 12, 12 }, { "FSGSBASE", 16, 16 },
    { "PCIDE", 17, 17 }, { "OSXSAVE", 18, 18 }, { "SMEP", 20, 20 }, { "SMAP", 21, 21 },
    { "PKE", 22, 22 }, { "CET", 23, 23 },
};
static const struct flag_field efer_fields[] = {
    { "SCE", 0, 0 }, { "LME", 8, 8 }, { "LMA", 10, 10 }, { "NXE", 11, 11 }, { "SVME", 12, 12 },
    { "LMSLE", 13, 13 }, { "FFXSR", 14, 14 }, { "TCE", 15, 15 },
};
static const struct flag_field dr6_fields[] = {
    { "B0", 0, 0 }, { "B1", 1, 1 }, { "B2", 2, 2 }, { "B3", 3, 3 }, { "BD", 13, 13 }, { "BS", 14, 14 },
    { "BT", 15, 15 },
};
static const struct flag_field dr7_fields[] = {
    { "L0", 0, 0 }, { "G0", 1, 1 }, { "L1", 2, 2 }, { "G1", 3, 3 }, { "L2", 4, 4 }, { "G2", 5, 5 },
    { "L3", 6, 6 }, { "G3", 7, 7 }, { "LE", 8, 8 }, { "GE", 9, 9 }, { "GD", 13, 13 },
    { "RW0", 16, 17 }, { "LEN0", 18, 19 }, { "RW1", 20, 21 }, { "LEN1", 22, 23 },
    { "RW2", 24, 25 }, { "LEN2", 26, 27 }, { "RW3", 28, 29 }, { "LEN3", 30, 31 },
};
#define FLAGS(id, size, feat, f) { id, size, feat, f, ARRAY_SIZE(f) }
static const struct flag_type flag_types[] = {
    FLAGS("i386_eflags", 4, FEAT_CORE, eflags_fields),
    FLAGS("umbra_cr0", 8, FEAT_SYS, cr0_fields),
    FLAGS("umbra_cr3", 8, FEAT_SYS, cr3_fields),
    FLAGS("umbra_cr4", 8, FEAT_SYS, cr4_fields),
    FLAGS("umbra_efer", 8, FEAT_SYS, efer_fields),
    FLAGS("umbra_dr6", 8, FEAT_SYS, dr6_fields),
    FLAGS("umbra_dr7", 8, FEAT_SYS, dr7_fields),
};

static const struct gdb_layout layouts[] = {
    { "i386", { "org.gnu.gdb.i386.core", "org.umbra.x86.sys", NULL, NULL },
      i386_regs, ARRAY_SIZE(i386_regs), 8, { 4, 5, 8 } },          /* esp ebp eip */
    { "i386:x86-64", { "org.gnu.gdb.i386.core", "org.umbra.x86.sys", NULL, NULL },
      amd64_regs, ARRAY_SIZE(amd64_regs), 16, { 6, 7, 16 } },     /* rbp rsp rip */
};

const struct gdb_layout *gdb_layout(enum gdb_arch arch)
{
    return arch == GDB_ARCH_AMD64 ? &layouts[1] : &layouts[0];
}

unsigned gdb_reg_size(const struct gdb_layout *l, unsigned n)
{
    return n < l->nregs ? l->regs[n].bits / 8 : 0;
}

unsigned gdb_reg_get(const struct gdb_layout *l, unsigned n, const struct gdb_regs *r, uint8_t *out)
{
    unsigned size = gdb_reg_size(l, n);
    uint64_t v;

    if (!size)
        return 0;
    memset(out, 0, size);
    if (l->regs[n].field < 0)
        return size;
    memcpy(&v, (const char *)r + l->regs[n].field, sizeof(v));
    for (unsigned i = 0; i < size && i < 8; i++)
        out[i] = (uint8_t)(v >> (8 * i));
    return size;
}

/* Invariant: a 32-bit register write replaces the low half and keeps the high
 * half, as a legacy-mode guest cannot see it anyway. */
bool gdb_reg_set(const struct gdb_layout *l, unsigned n, struct gdb_regs *r, const uint8_t *in, size_t size)
{
    uint64_t v;

    if (n >= l->nregs || size != gdb_reg_size(l, n))
        return false;
    if (l->regs[n].field < 0)
        return true;                /* x87 state is not tracked: ignore */
    memcpy(&v, (const char *)r + l->regs[n].field, sizeof(v));
    for (unsigned i = 0; i < size && i < 8; i++) {
        v &= ~(0xffULL << (8 * i));
        v |= (uint64_t)in[i] << (8 * i);
    }
    memcpy((char *)r + l->regs[n].field, &v, sizeof(v));
    return true;
}

size_t gdb_target_xml(const struct gdb_layout *l, char *buf, size_t size)
{
    size_t n = 0;
    int k;

#define EMIT(...) do { \
        k = snprintf(buf + n, size - n, __VA_ARGS__); \
        if (k < 0 || (size_t)k >= size - n) return 0; \
        n += (size_t)k; \
    } while (0)

    EMIT("<?xml version=\"1.0\"?>\n<!DOCTYPE target SYSTEM \"gdb-target.dtd\">\n"
         "<target version=\"1.0\">\n<architecture>%s</architecture>\n", l->arch_name);
    for (unsigned f = 0; f < ARRAY_SIZE(l->features) && l->features[f]; f++) {
        EMIT("<feature name=\"%s\">\n", l->features[f]);
        for (unsigned t = 0; t < ARRAY_SIZE(flag_types); t++) {
            const struct flag_type *ft = &flag_types[t];
            if (ft->feature != f)
                continue;
            EMIT("  <flags id=\"%s\" size=\"%u\">\n", ft->id, ft->size);
            for (unsigned i = 0; i < ft->nfields; i++)
                EMIT("    <field name=\"%s\" start=\"%u\" end=\"%u\"/>\n", ft->fields[i].name,
                     ft->fields[i].start, ft->fields[i].end);
            EMIT("  </flags>\n");
        }
        for (unsigned i = 0; i < l->nregs; i++) {
            const struct gdb_reg_desc *d = &l->regs[i];
            if (d->feature != f)
                continue;
            EMIT("  <reg name=\"%s\" bitsize=\"%u\" type=\"%s\" regnum=\"%u\"%s%s%s/>\n",
                 d->name, d->bits, d->type, i,
                 d->group ? " group=\"" : "", d->group ? d->group : "", d->group ? "\"" : "");
        }
        EMIT("</feature>\n");
    }
    EMIT("</target>\n");
#undef EMIT
    return n;
}

/*
 * Expedited registers for a T stop reply: "NN:hex;" for the registers GDB
 * reads at every stop to place the frame (pc, sp, fp: what gdbserver sends
 * for x86), so a stepi costs GDB no `g`, while the reply stays short on a
 * 115200-baud line (every other register comes with the first `g` GDB
 * sends when a command needs one).  Writes at most size bytes (NUL
 * included) and stops before a register that would not fit whole; returns
 * the length written.
 */
size_t gdb_expedite_regs(const struct gdb_layout *l, const struct gdb_regs *r, char *buf, size_t size)
{
    size_t n = 0;
    uint8_t b[16];

    if (size == 0)
        return 0;
    buf[0] = '\0';
    for (unsigned i = 0; i < l->nregs; i++) {
        if ((i != l->expedite[0] && i != l->expedite[1] && i != l->expedite[2]) || l->regs[i].field < 0)
            continue;
        unsigned sz = gdb_reg_get(l, i, r, b);
        if (n + 4 + 2 * sz >= size)
            break;
        n += (size_t)snprintf(buf + n, size - n, "%02x:", i);
        rsp_mem2hex(b, sz, buf + n);
        n += 2 * sz;
        buf[n++] = ';';
        buf[n] = '\0';
    }
    return n;
}
