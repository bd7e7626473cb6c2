/*
 * Umbra's guest ABI: the hypercalls (VMMCALL), the exit status Umbra
 * reports (the port 0xF4 value) and the ports Umbra owns.  Shared by the
 * hypervisor (src/svm/intercepts.c) and its console and trap handler (which
 * end the run with a status); the test guests write the same numbers.
 */
#ifndef UMBRA_HYPERCALL_H
#define UMBRA_HYPERCALL_H

/* ---- Umbra's hypercall ABI (VMMCALL, 0F 01 D9) -----------------------
 * In:  EAX = function, EBX/ECX = arguments.  Out: EAX = 0 on success,
 * 0xFFFFFFFF for an unknown function or bad argument.  Other registers kept.
 *   HC_PRINT (0): print ECX bytes (at most HC_PRINT_MAX) of the string at
 *                 guest-PHYSICAL address EBX as the line "umbra: guest: ...".
 *   HC_EXIT  (1): end the run with status EBX (as a write to port 0xF4).
 * The hypervisor leaf CPUID 0x40000000 returns EAX = 0x40000001 (max leaf)
 * and EBX:ECX:EDX = "UmbraUmbraUm"; CPUID 0x40000001 EAX = ABI version (1).
 */
#define HC_PRINT     0
#define HC_EXIT      1
#define HC_PRINT_MAX 256
#define HC_ABI_VERSION 1

/* ---- exit status Umbra reports (port 0xF4 value) ----------------------
 * QEMU's isa-debug-exit turns status v into the exit code (v << 1) | 1.
 * Umbra's own failures use values a test guest never does:
 *   UMBRA_STATUS_WATCHDOG     0x7D  -> QEMU exit code 251 (watchdog=SECONDS:
 *                                      the guest spun that long with IF=0)
 *   UMBRA_STATUS_TRIPLE_FAULT 0x7E  -> QEMU exit code 253
 *   UMBRA_STATUS_ERROR        0x7F  -> QEMU exit code 255 (loader error, no
 *                                      SVM, unexpected exit, NPF, bad option)
 */
#define UMBRA_STATUS_WATCHDOG     0x7D
#define UMBRA_STATUS_TRIPLE_FAULT 0x7E
#define UMBRA_STATUS_ERROR        0x7F

/* Ports Umbra owns */
#define PORT_DEBUG_EXIT 0xF4
#define PORT_BOCHS_SHUTDOWN 0x8900

#endif
