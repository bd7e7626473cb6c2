#define GUEST_LEVELS 4
#include "multi.c"
