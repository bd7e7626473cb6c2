#define GUEST_LEVELS 3
#include "multi.c"
