#include "lib/pt.h"
void pae_extra(uint64_t root) { (void)root; }
