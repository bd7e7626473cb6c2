#define GUEST_LEVELS 2
#include "multi.c"
