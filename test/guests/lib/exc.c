/*
 * Exception handling and probes.  Every exception lands in exc_dispatch().
 * When a probe (or catch_call) is armed, the handler records vector, error
 * code, CR2 and the faulting IP/CS in exc_last and jumps back to the probe's
 * gsetjmp point at CPL 0 -- this is also how a CPL 3 probe returns (int
 * $0x80).  An exception nobody armed for is a test-kernel bug: bail out.
 */
#include "guest.h"
#include "arch.h"

volatile struct exc_info exc_last;
volatile ureg_t probe_value;
static struct gjmp probe_jb;
static volatile bool armed;

void exc_dispatch(struct exc_frame *f)
{
    if (f->vector == 0x80) {
        if (!armed)
            tap_bail("int $0x80 without a probe");
        armed = false;
        exc_last.vector = EXC_NONE;
        glongjmp(&probe_jb, 1);
    }
    exc_last.vector = (unsigned)f->vector;
    exc_last.err = f->err;
    exc_last.cr2 = f->vector == X86_EXC_PF ? read_cr2() : 0;
    exc_last.ip = f->ip;
    exc_last.cs = f->cs;
    if (armed) {
        armed = false;
        glongjmp(&probe_jb, 1);
    }
    gprintf("# unexpected exception %u err %lx ip %lx cs %lx cr2 %lx\n", (unsigned)f->vector,
            (unsigned long)f->err, (unsigned long)f->ip, (unsigned long)f->cs,
            (unsigned long)exc_last.cr2);
    tap_bail("unexpected exception");
}

unsigned probe(int cpl, enum probe_op op, ureg_t va)
{
    exc_last.vector = EXC_NONE;
    if (gsetjmp(&probe_jb) == 0) {
        armed = true;
        if (cpl == 3 || op >= OP_INVLPG)
            enter_user((ureg_t)user_probe, (ureg_t)user_stack_top, va, (ureg_t)op);
        if (op == OP_READ)
            probe_value = probe_r0_read(va);
        else if (op == OP_WRITE)
            probe_r0_write(va);
        else
            probe_r0_fetch(va);
        armed = false;
    }
    return exc_last.vector;
}

ureg_t probe_insn(int cpl, enum probe_op op, ureg_t va)
{
    if (op == OP_FETCH)
        return va;
    if (op == OP_INVLPG)
        return (ureg_t)user_invlpg_insn;
    if (op == OP_CR3)
        return (ureg_t)user_cr3_insn;
    if (cpl == 3)
        return (ureg_t)(op == OP_READ ? user_read_insn : user_write_insn);
    return (ureg_t)(op == OP_READ ? probe_r0_read_insn : probe_r0_write_insn);
}

unsigned catch_call(void (*fn)(void *), void *arg)
{
    exc_last.vector = EXC_NONE;
    if (gsetjmp(&probe_jb) == 0) {
        armed = true;
        fn(arg);
        armed = false;
    }
    return exc_last.vector;
}
