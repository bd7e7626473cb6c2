/*
 * The exit counters and the names of exit codes: counted by svm_handle_exit()
 * (exit.c), read by the end-of-run summary, the watchdog and `monitor stats`.
 * Below every handler: it calls nothing in src/svm.
 */
#include <umbra/kern.h>
#include <umbra/lib.h>
#include <umbra/svm.h>
#include <umbra/x86.h>
#include "exit.h"
#include "exitprof.h"

uint64_t svm_exit_count[VMEXIT_TABLE_SIZE];
uint64_t svm_exit_count_other;
uint64_t exitprof_ticks[VMEXIT_TABLE_SIZE];
uint64_t exitprof_t0;
const uint16_t exitprof_split_code[EXITPROF_NSPLIT] = { VMEXIT_EXC_BASE + 14, VMEXIT_CR0_WRITE + 3, VMEXIT_INVLPG };
uint64_t exitprof_split_ticks[EXITPROF_NSPLIT][SHW_NCLASS];
uint64_t exitprof_split_n[EXITPROF_NSPLIT][SHW_NCLASS];

const char *svm_exit_name(uint64_t code, char *buf, size_t len)
{
    switch (code) {
    case VMEXIT_CPUID: return "cpuid";
    case VMEXIT_HLT: return "hlt";
    case VMEXIT_INVLPG: return "invlpg";
    case VMEXIT_INVLPGA: return "invlpga";
    case VMEXIT_IOIO: return "ioio";
    case VMEXIT_MSR: return "msr";
    case VMEXIT_SHUTDOWN: return "shutdown";
    case VMEXIT_VMRUN: return "vmrun";
    case VMEXIT_VMMCALL: return "vmmcall";
    case VMEXIT_VMLOAD: return "vmload";
    case VMEXIT_VMSAVE: return "vmsave";
    case VMEXIT_STGI: return "stgi";
    case VMEXIT_CLGI: return "clgi";
    case VMEXIT_SKINIT: return "skinit";
    case VMEXIT_NPF: return "npf";
    case VMEXIT_INTR: return "intr";
    case VMEXIT_NMI: return "nmi";
    case VMEXIT_SMI: return "smi";
    case VMEXIT_TASK_SWITCH: return "task-switch";
    case VMEXIT_VINTR: return "vintr";
    case VMEXIT_IRET: return "iret";
    case 0x75: return "swint";
    }
    if (code < VMEXIT_CR0_READ + 16)
        snprintf(buf, len, "cr%u-read", (unsigned)code);
    else if (code >= VMEXIT_CR0_WRITE && code < VMEXIT_CR0_WRITE + 16)
        snprintf(buf, len, "cr%u-write", (unsigned)(code - VMEXIT_CR0_WRITE));
    else if (code >= 0x20 && code < 0x40)
        snprintf(buf, len, "dr%u-%s", (unsigned)(code & 15), code < 0x30 ? "read" : "write");
    else if (code >= VMEXIT_EXC_BASE && code < VMEXIT_EXC_BASE + 32)
        snprintf(buf, len, "exception-%u", (unsigned)(code - VMEXIT_EXC_BASE));
    else
        snprintf(buf, len, "code-%#lx", code);
    return buf;
}

void svm_print_exit_counts(void)
{
    char nb[24];
    for (unsigned c = 0; c < VMEXIT_TABLE_SIZE; c++)
        if (svm_exit_count[c])
            ulog("exits: %s=%lu", svm_exit_name(c, nb, sizeof(nb)), svm_exit_count[c]);
    if (svm_exit_count_other)
        ulog("exits: other=%lu", svm_exit_count_other);
    /* The bench build's ticks per reason (exitprof.h); nothing in umbra.elf. */
    uint64_t tsum = 0, tn = 0;
    for (unsigned c = 0; c < VMEXIT_TABLE_SIZE; c++)
        if (exitprof_ticks[c]) {
            ulog("exit-ticks: %s=%lu mean=%lu", svm_exit_name(c, nb, sizeof(nb)), exitprof_ticks[c],
                 exitprof_ticks[c] / svm_exit_count[c]);
            tsum += exitprof_ticks[c];
            tn += svm_exit_count[c];
        }
    if (tn)
        ulog("exit-ticks: total=%lu exits=%lu mean=%lu", tsum, tn, tsum / tn);
    /* The split build's ticks per (reason, kind of shadow work); nothing elsewhere. */
    for (unsigned s = 0; s < EXITPROF_NSPLIT; s++)
        for (unsigned w = 0; w < SHW_NCLASS; w++)
            if (exitprof_split_n[s][w])
                ulog("exit-split: %s/%s=%lu n=%lu mean=%lu", svm_exit_name(exitprof_split_code[s], nb, sizeof(nb)),
                     shadow_work_name((enum shadow_work)w), exitprof_split_ticks[s][w], exitprof_split_n[s][w],
                     exitprof_split_ticks[s][w] / exitprof_split_n[s][w]);
}

bool svm_exit_stat(unsigned idx, char *buf, size_t len, uint64_t *count)
{
    char nb[24];
    for (unsigned c = 0; c < VMEXIT_TABLE_SIZE; c++)
        if (svm_exit_count[c] && idx-- == 0) {
            snprintf(buf, len, "%s", svm_exit_name(c, nb, sizeof(nb)));
            *count = svm_exit_count[c];
            return true;
        }
    return false;
}

uint64_t svm_exit_total(void)
{
    uint64_t n = svm_exit_count_other;
    for (unsigned c = 0; c < VMEXIT_TABLE_SIZE; c++)
        n += svm_exit_count[c];
    return n;
}

