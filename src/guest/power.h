/*
 * Private to src/guest: the guest machine's power end (power.c).
 */
#ifndef UMBRA_GUEST_POWER_H
#define UMBRA_GUEST_POWER_H

#include <umbra/svm.h>

/* Find the PM1 control ports (the FADT, else QEMU's and Bochs' defaults) and
 * intercept them, 0xCF9 and 0x64, from the next VMRUN on. */
void power_watch_ports(void);
/* guest_hooks.ioio: an access touching a watched port ends the run (sleep,
 * reset) or is done for the guest; false if it touches none. */
bool power_ioio(struct svm_vcpu *v, unsigned port, unsigned size, bool in);

#endif
