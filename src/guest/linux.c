/*
 * The Linux guest: linux_load() and the boot protocol's entry state.  The
 * boot-protocol loading itself is pure and lives in linux_boot.c (fuzzed
 * hosted); the machine's power end (ACPI S5, resets) is power.c's.
 */
#include <umbra/linux.h>
#include <umbra/lib.h>
#include <umbra/svm.h>
#include "power.h"

#define GDT_PA         LX_GDT_PA

static uint32_t boot_params;

/* The boot protocol's entry state on top of the multiboot v1 one svm.c built. */
static void linux_entry(struct svm_vcpu *v)
{
    struct vmcb *vm = v->vmcb;
    vm->save.gdtr.base = GDT_PA;
    vm->save.gdtr.limit = 4 * 8 - 1;
    vm->save.rax = 0;
    memset(&v->regs, 0, sizeof(v->regs));
    v->regs.rsi = boot_params;
}

static const struct guest_hooks linux_hooks = { .entry = linux_entry, .ioio = power_ioio };

/* ---- loading: the pure boot-protocol half is linux_boot.c ---------------- */

int linux_load(struct guest_boot *gb)
{
    if (linux_boot_load(gb) < 0)
        return -1;
    boot_params = gb->info;
    power_watch_ports();
    guest_hooks = &linux_hooks;
    return 0;
}
