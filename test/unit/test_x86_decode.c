/*
 * Decoder tests, table driven: bytes + mode -> result, length, sizes,
 * prefixes, ModRM/SIB fields, class, effective address against a register
 * file.  Every accepted case is also re-decoded from every shorter prefix
 * of its bytes placed against a PROT_NONE guard page: the result must be
 * TRUNCATED and the decoder must never touch the guard.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <umbra/x86emu.h>

#define R16 X86_MODE_REAL
#define P16 X86_MODE_PROT16
#define P32 X86_MODE_PROT32
#define L64 X86_MODE_LONG64
#define OK  X86_DECODE_OK
#define UD  X86_DECODE_UD
#define TR  X86_DECODE_TRUNCATED
#define UNS X86_DECODE_UNSUPPORTED
#define TL  X86_DECODE_TOO_LONG
#define NA  0x7fffffffffffffffLL   /* "don't check" */

struct dcase {
    const char *name;
    enum x86_cpu_mode mode;
    const char *hex;
    int res;
    int len;            /* expected length (for OK; for UD-with-length too) */
    int op;             /* enum x86_op, -1 = don't check */
    int opsize, addrsize;
    long long ea;       /* expected effective address with the standard registers, NA = no memory operand check */
    int seg;            /* expected segment of the memory operand, -1 = don't check */
    int prefixes;       /* expected X86_PFX_* bits, -1 = don't check */
};

/* Registers: rAX=0x...1000, rCX=0x...2002, ..., each distinct so EA mixes show. */
static void std_regs(struct x86_regs *r)
{
    memset(r, 0, sizeof(*r));
    for (int i = 0; i < 16; i++)
        r->gpr[i] = 0x1111000000000000ULL * (i & 1) + 0x1000ULL * (i + 1) + 2 * i;
    r->rip = 0x400000;
}
#define RAX 0x1000LL
#define RCX (0x1111000000000000LL + 0x2002)
#define RDX 0x3004LL
#define RBX (0x1111000000000000LL + 0x4006)
#define RSP 0x5008LL
#define RBP (0x1111000000000000LL + 0x600a)
#define RSI 0x700cLL
#define RDI (0x1111000000000000LL + 0x800e)
#define R8  0x9010LL
#define R13 (0x1111000000000000LL + 0xe01a)
#define R12 0xd018LL
#define M32(x) ((long long)((x) & 0xffffffffULL))
#define M16(x) ((long long)((x) & 0xffffULL))

static const struct dcase cases[] = {
    /* ---- plain lengths, one-byte map ---- */
    { "nop", P32, "90", OK, 1, X86_OP_OTHER, 4, 4, NA, -1, 0 },
    { "pause", P32, "f390", OK, 2, X86_OP_PAUSE, 4, 4, NA, -1, X86_PFX_REP },
    { "hlt", P32, "f4", OK, 1, X86_OP_HLT, 4, 4, NA, -1, 0 },
    { "int3", P32, "cc", OK, 1, X86_OP_INT3, -1, -1, NA, -1, 0 },
    { "int 0x80", P32, "cd80", OK, 2, X86_OP_INT, -1, -1, NA, -1, 0 },
    { "into 32", P32, "ce", OK, 1, X86_OP_INTO, -1, -1, NA, -1, 0 },
    { "into 64 invalid", L64, "ce", UD, -1, -1, -1, -1, NA, -1, -1 },
    { "icebp", P32, "f1", OK, 1, X86_OP_INT1, -1, -1, NA, -1, 0 },
    { "iret", P32, "cf", OK, 1, X86_OP_IRET, 4, 4, NA, -1, 0 },
    { "iretq", L64, "48cf", OK, 2, X86_OP_IRET, 8, 8, NA, -1, 0 },
    { "iretw 16", R16, "cf", OK, 1, X86_OP_IRET, 2, 2, NA, -1, 0 },
    { "in al,imm", P32, "e460", OK, 2, X86_OP_IN, 1, 4, NA, -1, 0 },
    { "in eax,dx", P32, "ed", OK, 1, X86_OP_IN, 4, 4, NA, -1, 0 },
    { "in ax,dx", P32, "66ed", OK, 2, X86_OP_IN, 2, 4, NA, -1, X86_PFX_OPSZ },
    { "out imm,al", P32, "e680", OK, 2, X86_OP_OUT, 1, 4, NA, -1, 0 },
    { "out dx,al", P32, "ee", OK, 1, X86_OP_OUT, 1, 4, NA, -1, 0 },
    { "rep outsb", P32, "f36e", OK, 2, X86_OP_OUTS, 1, 4, NA, -1, X86_PFX_REP },
    { "rep insw 16", R16, "f36d", OK, 2, X86_OP_INS, 2, 2, NA, -1, X86_PFX_REP },
    { "pushf", P32, "9c", OK, 1, X86_OP_PUSHF, 4, 4, NA, -1, 0 },
    { "popf 64", L64, "9d", OK, 1, X86_OP_POPF, 8, 8, NA, -1, 0 },
    { "popfw 64", L64, "669d", OK, 2, X86_OP_POPF, 2, 8, NA, -1, X86_PFX_OPSZ },
    { "push imm32", P32, "6878563412", OK, 5, -1, 4, 4, NA, -1, 0 },
    { "push imm16", P32, "66687856", OK, 4, -1, 2, 4, NA, -1, X86_PFX_OPSZ },
    { "push imm 16-bit mode", R16, "687856", OK, 3, -1, 2, 2, NA, -1, 0 },
    { "push imm 64", L64, "6878563412", OK, 5, -1, 8, 8, NA, -1, 0 },
    { "mov eax,imm32", P32, "b878563412", OK, 5, -1, 4, 4, NA, -1, 0 },
    { "mov ax,imm16 16", R16, "b83412", OK, 3, -1, 2, 2, NA, -1, 0 },
    { "mov eax,imm32 16+66", R16, "66b878563412", OK, 6, -1, 4, 2, NA, -1, X86_PFX_OPSZ },
    { "movabs rax,imm64", L64, "48b8efcdab8967452301", OK, 10, -1, 8, 8, NA, -1, 0 },
    { "mov r8d,imm32", L64, "41b878563412", OK, 6, -1, 4, 8, NA, -1, 0 },
    { "mov al,imm8", P32, "b012", OK, 2, -1, 1, 4, NA, -1, 0 },
    { "enter", P32, "c8100001", OK, 4, -1, -1, -1, NA, -1, 0 },
    { "ret imm16", P32, "c20800", OK, 3, -1, -1, -1, NA, -1, 0 },
    { "retf imm16", P32, "ca0800", OK, 3, -1, -1, -1, NA, -1, 0 },
    { "call rel32", P32, "e800000000", OK, 5, -1, 4, 4, NA, -1, 0 },
    { "call rel16 16", R16, "e80000", OK, 3, -1, 2, 2, NA, -1, 0 },
    { "call rel32 64", L64, "e800000000", OK, 5, -1, 8, 8, NA, -1, 0 },
    { "call rel16 64+66 (AMD)", L64, "66e80000", OK, 4, -1, 2, 8, NA, -1, X86_PFX_OPSZ },
    { "jmp far ptr16:32", P32, "ea785634120800", OK, 7, -1, 4, 4, NA, -1, 0 },
    { "jmp far ptr16:16", R16, "ea34120800", OK, 5, -1, 2, 2, NA, -1, 0 },
    { "jmp far 64 invalid", L64, "ea785634120800", UD, -1, -1, -1, -1, NA, -1, -1 },
    { "jcc rel8", P32, "7410", OK, 2, -1, -1, -1, NA, -1, 0 },
    { "jcc rel32", P32, "0f8410000000", OK, 6, -1, -1, -1, NA, -1, 0 },
    { "jcc rel16 16", R16, "0f841000", OK, 4, -1, -1, -1, NA, -1, 0 },
    { "loop", L64, "e2fe", OK, 2, -1, -1, -1, NA, -1, 0 },
    { "test al,imm8", P32, "a801", OK, 2, -1, 1, 4, NA, -1, 0 },
    { "test eax,imm32", P32, "a901000000", OK, 5, -1, 4, 4, NA, -1, 0 },
    { "test r/m8,imm8 (f6 /0)", P32, "f60301", OK, 3, -1, 1, 4, RBX & 0xffffffff, X86_SEG_DS, 0 },
    { "test r/m32,imm32 (f7 /0)", P32, "f70301000000", OK, 6, -1, 4, 4, M32(RBX), -1, 0 },
    { "test r/m16,imm16 (66 f7 /0)", P32, "66f7030100", OK, 5, -1, 2, 4, M32(RBX), -1, -1 },
    { "not r/m (f7 /2, no imm)", P32, "f713", OK, 2, X86_OP_NOTNEG, 4, 4, M32(RBX), -1, 0 },
    { "test r/m64,imm32", L64, "48f70301000000", OK, 7, -1, 8, 8, RBX, -1, 0 },
    { "aam", P32, "d40a", OK, 2, -1, -1, -1, NA, -1, 0 },
    { "aam 64 invalid", L64, "d40a", UD, -1, -1, -1, -1, NA, -1, -1 },
    { "salc invalid", P32, "d6", UD, -1, -1, -1, -1, NA, -1, -1 },
    { "push es 64 invalid", L64, "06", UD, -1, -1, -1, -1, NA, -1, -1 },
    { "pusha 64 invalid", L64, "60", UD, -1, -1, -1, -1, NA, -1, -1 },
    { "inc eax 32 (40)", P32, "40", OK, 1, -1, 4, 4, NA, -1, 0 },
    { "vex c5 64", L64, "c5f877", UNS, -1, -1, -1, -1, NA, -1, -1 },
    { "vex c4 64", L64, "c4e27900c1", UNS, -1, -1, -1, -1, NA, -1, -1 },
    { "lds 32 (c5 mem)", P32, "c503", OK, 2, -1, 4, 4, M32(RBX), -1, 0 },
    { "vex c5 32 (mod 3)", P32, "c5f877", UNS, -1, -1, -1, -1, NA, -1, -1 },
    { "evex 64", L64, "62f17c4810c1", UNS, -1, -1, -1, -1, NA, -1, -1 },
    { "xop 8f /1", L64, "8fe97890c0", UNS, -1, -1, -1, -1, NA, -1, -1 },
    { "pop r/m 8f /0", P32, "8f03", OK, 2, -1, 4, 4, M32(RBX), -1, 0 },
    { "sse movups", P32, "0f1003", UNS, -1, -1, -1, -1, NA, -1, -1 },
    { "x87 fld m32", P32, "d903", OK, 2, -1, -1, -1, M32(RBX), -1, 0 },
    { "x87 reg form", P32, "d9c0", UNS, -1, -1, -1, -1, NA, -1, -1 },
    { "lea reg form", P32, "8dc0", UD, -1, -1, -1, -1, NA, -1, -1 },
    { "mov sreg 8e /1 (cs)", P32, "8ec8", UD, -1, -1, -1, -1, NA, -1, -1 },
    { "mov sreg 8c /6", P32, "8cf0", UD, -1, -1, -1, -1, NA, -1, -1 },
    { "fe /2 invalid", P32, "fe13", UD, -1, -1, -1, -1, NA, -1, -1 },
    { "ff /7 invalid", P32, "ff3b", UD, -1, -1, -1, -1, NA, -1, -1 },
    { "call far reg invalid", P32, "ffd8", UD, -1, -1, -1, -1, NA, -1, -1 },
    { "c7 /1 invalid", P32, "c70b00000000", UD, -1, -1, -1, -1, NA, -1, -1 },
    { "ud2", P32, "0f0b", OK, 2, -1, -1, -1, NA, -1, 0 },
    { "0f 04 invalid", P32, "0f04", UD, -1, -1, -1, -1, NA, -1, -1 },
    { "bt group 0f ba /0 invalid", P32, "0fba0305", UD, -1, -1, -1, -1, NA, -1, -1 },

    /* ---- system instructions Umbra intercepts ---- */
    { "cpuid", P32, "0fa2", OK, 2, X86_OP_CPUID, -1, -1, NA, -1, 0 },
    { "rdmsr", P32, "0f32", OK, 2, X86_OP_RDMSR, -1, -1, NA, -1, 0 },
    { "wrmsr", L64, "0f30", OK, 2, X86_OP_WRMSR, -1, -1, NA, -1, 0 },
    { "rdtsc", P32, "0f31", OK, 2, X86_OP_RDTSC, -1, -1, NA, -1, 0 },
    { "rdtscp", P32, "0f01f9", OK, 3, X86_OP_RDTSCP, -1, -1, NA, -1, 0 },
    { "rdpmc", P32, "0f33", OK, 2, X86_OP_RDPMC, -1, -1, NA, -1, 0 },
    { "invd", P32, "0f08", OK, 2, X86_OP_INVD, -1, -1, NA, -1, 0 },
    { "wbinvd", P32, "0f09", OK, 2, X86_OP_WBINVD, -1, -1, NA, -1, 0 },
    { "xsetbv", P32, "0f01d1", OK, 3, X86_OP_XSETBV, -1, -1, NA, -1, 0 },
    { "vmrun", P32, "0f01d8", OK, 3, X86_OP_VMRUN, -1, -1, NA, -1, 0 },
    { "vmmcall", P32, "0f01d9", OK, 3, X86_OP_VMMCALL, -1, -1, NA, -1, 0 },
    { "vmmcall 64", L64, "0f01d9", OK, 3, X86_OP_VMMCALL, -1, -1, NA, -1, 0 },
    { "vmload", L64, "0f01da", OK, 3, X86_OP_VMLOAD, -1, -1, NA, -1, 0 },
    { "vmsave", L64, "0f01db", OK, 3, X86_OP_VMSAVE, -1, -1, NA, -1, 0 },
    { "stgi", L64, "0f01dc", OK, 3, X86_OP_STGI, -1, -1, NA, -1, 0 },
    { "clgi", L64, "0f01dd", OK, 3, X86_OP_CLGI, -1, -1, NA, -1, 0 },
    { "skinit", P32, "0f01de", OK, 3, X86_OP_SKINIT, -1, -1, NA, -1, 0 },
    { "invlpga", P32, "0f01df", OK, 3, X86_OP_INVLPGA, -1, 4, NA, -1, 0 },
    { "invlpga 67 in 64", L64, "670f01df", OK, 4, X86_OP_INVLPGA, -1, 4, NA, -1, X86_PFX_ADSZ },
    { "monitor", P32, "0f01c8", OK, 3, X86_OP_MONITOR, -1, -1, NA, -1, 0 },
    { "mwait", P32, "0f01c9", OK, 3, X86_OP_MWAIT, -1, -1, NA, -1, 0 },
    { "swapgs 64", L64, "0f01f8", OK, 3, -1, -1, -1, NA, -1, 0 },
    { "swapgs 32 unsupported", P32, "0f01f8", UNS, -1, -1, -1, -1, NA, -1, -1 },
    { "0f 01 e8 unsupported", P32, "0f01e8", UNS, -1, -1, -1, -1, NA, -1, -1 },
    { "mov cr3,eax", P32, "0f22d8", OK, 3, X86_OP_MOV_TO_CR, 4, 4, NA, -1, 0 },
    { "mov eax,cr0", P32, "0f20c0", OK, 3, X86_OP_MOV_FROM_CR, 4, 4, NA, -1, 0 },
    { "mov cr4,rbx 64", L64, "0f22e3", OK, 3, X86_OP_MOV_TO_CR, 8, 8, NA, -1, 0 },
    { "mov cr8,rax (rex.r)", L64, "440f22c0", OK, 4, X86_OP_MOV_TO_CR, 8, 8, NA, -1, 0 },
    { "mov cr3,r15 (rex.b)", L64, "410f22df", OK, 4, X86_OP_MOV_TO_CR, 8, 8, NA, -1, 0 },
    { "mov cr ignores mod (mod=0 no disp)", P32, "0f2218", OK, 3, X86_OP_MOV_TO_CR, 4, 4, NA, -1, 0 },
    { "mov cr ignores mod (mod=1 no disp)", P32, "0f2258", OK, 3, X86_OP_MOV_TO_CR, 4, 4, NA, -1, 0 },
    { "mov cr1 invalid", P32, "0f22c8", UD, -1, -1, -1, -1, NA, -1, -1 },
    { "mov cr5 invalid", P32, "0f22e8", UD, -1, -1, -1, -1, NA, -1, -1 },
    { "mov cr9 invalid", L64, "440f22c8", UD, -1, -1, -1, -1, NA, -1, -1 },
    { "mov dr7,eax", P32, "0f23f8", OK, 3, X86_OP_MOV_TO_DR, 4, 4, NA, -1, 0 },
    { "mov eax,dr6", P32, "0f21f0", OK, 3, X86_OP_MOV_FROM_DR, 4, 4, NA, -1, 0 },
    { "mov dr8 invalid", L64, "440f21c0", UD, -1, -1, -1, -1, NA, -1, -1 },
    { "clts", P32, "0f06", OK, 2, X86_OP_CLTS, -1, -1, NA, -1, 0 },
    { "lmsw ax", P32, "0f01f0", OK, 3, X86_OP_LMSW, -1, -1, NA, -1, 0 },
    { "lmsw [ebx]", P32, "0f0133", OK, 3, X86_OP_LMSW, -1, -1, M32(RBX), X86_SEG_DS, 0 },
    { "smsw eax", P32, "0f01e0", OK, 3, X86_OP_SMSW, 4, 4, NA, -1, 0 },
    { "smsw [ebx+8]", P32, "0f016308", OK, 4, X86_OP_SMSW, -1, -1, M32(RBX + 8), -1, 0 },
    { "invlpg [eax]", P32, "0f0138", OK, 3, X86_OP_INVLPG, -1, 4, M32(RAX), X86_SEG_DS, 0 },
    { "invlpg [ebp-4] (ss)", P32, "0f017dfc", OK, 4, X86_OP_INVLPG, -1, 4, M32(RBP - 4), X86_SEG_SS, 0 },
    { "invlpg [rip+disp]", L64, "0f013d10000000", OK, 7, X86_OP_INVLPG, -1, 8, 0x400000 + 7 + 0x10, -1, 0 },
    { "invlpg fs:[rax]", L64, "640f0138", OK, 4, X86_OP_INVLPG, -1, 8, RAX, X86_SEG_FS, X86_PFX_SEG },
    { "invlpg reg form invalid", P32, "0f01f8", UNS, -1, -1, -1, -1, NA, -1, -1 },
    { "invlpg [bx+si] 16", R16, "0f0138", OK, 3, X86_OP_INVLPG, -1, 2, M16(RBX + RSI), X86_SEG_DS, 0 },
    { "lgdt [eax]", P32, "0f0110", OK, 3, X86_OP_LGDT, -1, -1, M32(RAX), -1, 0 },
    { "lidt [eax]", P32, "0f0118", OK, 3, X86_OP_LIDT, -1, -1, M32(RAX), -1, 0 },
    { "sgdt [eax]", P32, "0f0100", OK, 3, X86_OP_SGDT, -1, -1, M32(RAX), -1, 0 },
    { "sidt [eax]", P32, "0f0108", OK, 3, X86_OP_SIDT, -1, -1, M32(RAX), -1, 0 },
    { "lldt ax", P32, "0f00d0", OK, 3, X86_OP_LLDT, -1, -1, NA, -1, 0 },
    { "ltr ax", P32, "0f00d8", OK, 3, X86_OP_LTR, -1, -1, NA, -1, 0 },
    { "sldt [eax]", P32, "0f0000", OK, 3, X86_OP_SLDT, -1, -1, M32(RAX), -1, 0 },
    { "str eax", P32, "0f00c8", OK, 3, X86_OP_STR, -1, -1, NA, -1, 0 },
    { "0f 00 /6 invalid", P32, "0f00f0", UD, -1, -1, -1, -1, NA, -1, -1 },

    /* ---- ModRM / SIB / displacement, 32-bit addressing ---- */
    { "mov [ebx],eax", P32, "8903", OK, 2, X86_OP_MOV, 4, 4, M32(RBX), X86_SEG_DS, 0 },
    { "mov [ebx+8],eax disp8", P32, "894308", OK, 3, X86_OP_MOV, 4, 4, M32(RBX + 8), X86_SEG_DS, 0 },
    { "mov [ebx-1] disp8 negative", P32, "8943ff", OK, 3, X86_OP_MOV, 4, 4, M32(RBX - 1), -1, 0 },
    { "mov [ebx+disp32]", P32, "898300100000", OK, 6, X86_OP_MOV, 4, 4, M32(RBX + 0x1000), -1, 0 },
    { "mov [disp32] (mod0 rm5)", P32, "890578563412", OK, 6, X86_OP_MOV, 4, 4, 0x12345678, X86_SEG_DS, 0 },
    { "mov [ebp+0] (mod1 rm5, ss)", P32, "894500", OK, 3, X86_OP_MOV, 4, 4, M32(RBP), X86_SEG_SS, 0 },
    { "mov [ebp+disp32] (ss)", P32, "898500000100", OK, 6, X86_OP_MOV, 4, 4, M32(RBP + 0x10000), X86_SEG_SS, 0 },
    { "mov [esp] (sib, ss)", P32, "890424", OK, 3, X86_OP_MOV, 4, 4, M32(RSP), X86_SEG_SS, 0 },
    { "mov [esp+4] (sib disp8)", P32, "89442404", OK, 4, X86_OP_MOV, 4, 4, M32(RSP + 4), X86_SEG_SS, 0 },
    { "mov [ebx+ecx*4]", P32, "89048b", OK, 3, X86_OP_MOV, 4, 4, M32(RBX + RCX * 4), X86_SEG_DS, 0 },
    { "mov [ebx+ecx*8+0x10]", P32, "8944cb10", OK, 4, X86_OP_MOV, 4, 4, M32(RBX + (RCX & 0xffff) * 8 + 0x10), -1, 0 },
    { "mov [ecx*4+disp32] (sib no base)", P32, "89048d00100000", OK, 7, X86_OP_MOV, 4, 4, M32(RCX * 4 + 0x1000), X86_SEG_DS, 0 },
    { "mov [ebp+ecx*2] mod1 (base ebp, ss)", P32, "89444d00", OK, 4, X86_OP_MOV, 4, 4, M32(RBP + RCX * 2), X86_SEG_SS, 0 },
    { "sib index=4 means none", P32, "890423", OK, 3, X86_OP_MOV, 4, 4, M32(RBX), X86_SEG_DS, 0 },
    { "sib no base no index", P32, "89042578563412", OK, 7, X86_OP_MOV, 4, 4, 0x12345678, X86_SEG_DS, 0 },
    { "ds override keeps ds on ebp", P32, "3e894500", OK, 4, X86_OP_MOV, 4, 4, M32(RBP), X86_SEG_DS, X86_PFX_SEG },
    { "es override", P32, "268903", OK, 3, X86_OP_MOV, 4, 4, M32(RBX), X86_SEG_ES, X86_PFX_SEG },
    { "cs override", P32, "2e8903", OK, 3, X86_OP_MOV, 4, 4, M32(RBX), X86_SEG_CS, X86_PFX_SEG },
    { "ss override", P32, "368903", OK, 3, X86_OP_MOV, 4, 4, M32(RBX), X86_SEG_SS, X86_PFX_SEG },
    { "fs override", P32, "648903", OK, 3, X86_OP_MOV, 4, 4, M32(RBX), X86_SEG_FS, X86_PFX_SEG },
    { "gs override", P32, "658903", OK, 3, X86_OP_MOV, 4, 4, M32(RBX), X86_SEG_GS, X86_PFX_SEG },
    { "last segment override wins", P32, "64658903", OK, 4, X86_OP_MOV, 4, 4, M32(RBX), X86_SEG_GS, X86_PFX_SEG },
    { "66: 16-bit operand", P32, "668903", OK, 3, X86_OP_MOV, 2, 4, M32(RBX), -1, X86_PFX_OPSZ },
    { "66 66: still 16-bit", P32, "66668903", OK, 4, X86_OP_MOV, 2, 4, M32(RBX), -1, X86_PFX_OPSZ },
    { "mov byte [ebx],al", P32, "8803", OK, 2, X86_OP_MOV, 1, 4, M32(RBX), -1, 0 },
    { "mov byte 66 ignored for size", P32, "668803", OK, 3, X86_OP_MOV, 1, 4, M32(RBX), -1, X86_PFX_OPSZ },
    { "67 in 32: [bx+si]", P32, "678900", OK, 3, X86_OP_MOV, 4, 2, M16(RBX + RSI), X86_SEG_DS, X86_PFX_ADSZ },
    { "67 in 32: [disp16]", P32, "67890634 12", OK, 5, X86_OP_MOV, 4, 2, 0x1234, X86_SEG_DS, X86_PFX_ADSZ },
    { "mov [ebx],imm32", P32, "c70378563412", OK, 6, X86_OP_MOV, 4, 4, M32(RBX), -1, 0 },
    { "mov word [ebx],imm16", P32, "66c7033412", OK, 5, X86_OP_MOV, 2, 4, M32(RBX), -1, -1 },
    { "mov byte [ebx],imm8", P32, "c60312", OK, 3, X86_OP_MOV, 1, 4, M32(RBX), -1, 0 },
    { "mov [ebx+ecx*4+disp32],imm32", P32, "c7848b0010000078563412", OK, 11, X86_OP_MOV, 4, 4, M32(RBX + RCX * 4 + 0x1000), -1, 0 },
    { "mov moffs32,eax", P32, "a378563412", OK, 5, X86_OP_MOV, 4, 4, 0x12345678, X86_SEG_DS, 0 },
    { "mov moffs16 (67),al", P32, "67a23412", OK, 4, X86_OP_MOV, 1, 2, 0x1234, X86_SEG_DS, -1 },
    { "mov eax,moffs fs", P32, "64a178563412", OK, 6, X86_OP_MOV, 4, 4, 0x12345678, X86_SEG_FS, -1 },
    { "mov eax,[ebx] (8b)", P32, "8b03", OK, 2, X86_OP_MOV, 4, 4, M32(RBX), -1, 0 },
    { "mov reg,reg has no memory", P32, "89c3", OK, 2, X86_OP_MOV, 4, 4, NA, -1, 0 },

    /* ---- 16-bit addressing ---- */
    { "16: [bx+si]", R16, "8900", OK, 2, X86_OP_MOV, 2, 2, M16(RBX + RSI), X86_SEG_DS, 0 },
    { "16: [bx+di]", R16, "8901", OK, 2, X86_OP_MOV, 2, 2, M16(RBX + RDI), X86_SEG_DS, 0 },
    { "16: [bp+si] ss", R16, "8902", OK, 2, X86_OP_MOV, 2, 2, M16(RBP + RSI), X86_SEG_SS, 0 },
    { "16: [bp+di] ss", R16, "8903", OK, 2, X86_OP_MOV, 2, 2, M16(RBP + RDI), X86_SEG_SS, 0 },
    { "16: [si]", R16, "8904", OK, 2, X86_OP_MOV, 2, 2, M16(RSI), X86_SEG_DS, 0 },
    { "16: [di]", R16, "8905", OK, 2, X86_OP_MOV, 2, 2, M16(RDI), X86_SEG_DS, 0 },
    { "16: [disp16] (mod0 rm6)", R16, "89063412", OK, 4, X86_OP_MOV, 2, 2, 0x1234, X86_SEG_DS, 0 },
    { "16: [bx]", R16, "8907", OK, 2, X86_OP_MOV, 2, 2, M16(RBX), X86_SEG_DS, 0 },
    { "16: [bp+disp8] ss", R16, "894610", OK, 3, X86_OP_MOV, 2, 2, M16(RBP + 0x10), X86_SEG_SS, 0 },
    { "16: [bp-2] ss", R16, "8946fe", OK, 3, X86_OP_MOV, 2, 2, M16(RBP - 2), X86_SEG_SS, 0 },
    { "16: [bx+si+disp16] wraps", R16, "8980ffff", OK, 4, X86_OP_MOV, 2, 2, M16(RBX + RSI + 0xffff), -1, 0 },
    { "16: [bp+di+disp16]", R16, "89830001", OK, 4, X86_OP_MOV, 2, 2, M16(RBP + RDI + 0x100), X86_SEG_SS, 0 },
    { "16: 66 gives 32-bit operand", R16, "668907", OK, 3, X86_OP_MOV, 4, 2, M16(RBX), -1, X86_PFX_OPSZ },
    { "16: 67 gives 32-bit addressing", R16, "67890424", OK, 4, X86_OP_MOV, 2, 4, M32(RSP), X86_SEG_SS, X86_PFX_ADSZ },
    { "16: 66 67 sib", R16, "6667894c8b10", OK, 6, X86_OP_MOV, 4, 4, M32(RBX + RCX * 4 + 0x10), -1, -1 },
    { "prot16 same as real", P16, "894610", OK, 3, X86_OP_MOV, 2, 2, M16(RBP + 0x10), X86_SEG_SS, 0 },
    { "16: mov [bx],imm16", R16, "c7073412", OK, 4, X86_OP_MOV, 2, 2, M16(RBX), -1, 0 },
    { "16: moffs16", R16, "a33412", OK, 3, X86_OP_MOV, 2, 2, 0x1234, X86_SEG_DS, 0 },

    /* ---- 64-bit: REX, RIP-relative, 67 ---- */
    { "64: mov [rbx],eax", L64, "8903", OK, 2, X86_OP_MOV, 4, 8, RBX, X86_SEG_DS, 0 },
    { "64: mov [rbx],rax", L64, "488903", OK, 3, X86_OP_MOV, 8, 8, RBX, -1, 0 },
    { "64: mov [r11],rax (rex.b)", L64, "498903", OK, 3, X86_OP_MOV, 8, 8, (long long)(0x1111000000000000ULL + 0xc016), -1, 0 },
    { "64: mov [rbx+r8*2] (rex.x)", L64, "4a890443", OK, 4, X86_OP_MOV, 8, 8, RBX + R8 * 2, -1, 0 },
    { "64: sib index 4 with rex.x = r12", L64, "42890423", OK, 4, X86_OP_MOV, 4, 8, RBX + R12, -1, 0 },
    { "64: [r12] needs sib", L64, "41890424", OK, 4, X86_OP_MOV, 4, 8, R12, X86_SEG_DS, 0 },
    { "64: [r13+0] (mod1, not rip)", L64, "41894500", OK, 4, X86_OP_MOV, 4, 8, R13, X86_SEG_DS, 0 },
    { "64: sib base r13 mod0 = disp32", L64, "4189042578563412", OK, 8, X86_OP_MOV, 4, 8, 0x12345678, -1, 0 },
    { "64: rip-relative", L64, "48890510000000", OK, 7, X86_OP_MOV, 8, 8, 0x400000 + 7 + 0x10, -1, 0 },
    { "64: rip-relative negative", L64, "8905f0ffffff", OK, 6, X86_OP_MOV, 4, 8, 0x400000 + 6 - 0x10, -1, 0 },
    { "64: rip-relative with imm (len counts imm)", L64, "c705f0ffffff78563412", OK, 10, X86_OP_MOV, 4, 8, 0x400000 + 10 - 0x10, -1, 0 },
    { "64: 67 rip-relative = eip", L64, "678905f0ffffff", OK, 7, X86_OP_MOV, 4, 4, 0x400000 + 7 - 0x10, -1, X86_PFX_ADSZ },
    { "64: 67 [ebx] truncates", L64, "678903", OK, 3, X86_OP_MOV, 4, 4, M32(RBX), -1, X86_PFX_ADSZ },
    { "64: disp32 sign-extends", L64, "4889838000ffff", OK, 7, X86_OP_MOV, 8, 8, RBX - 0xff80, -1, 0 },
    { "64: rex.w beats 66", L64, "66488903", OK, 4, X86_OP_MOV, 8, 8, RBX, -1, X86_PFX_OPSZ },
    { "64: 66 = 16-bit", L64, "668903", OK, 3, X86_OP_MOV, 2, 8, RBX, -1, X86_PFX_OPSZ },
    { "64: rex before 66 is dropped", L64, "48668903", OK, 4, X86_OP_MOV, 2, 8, RBX, -1, -1 },
    { "64: rex then seg is dropped", L64, "49648903", OK, 4, X86_OP_MOV, 4, 8, RBX, X86_SEG_FS, -1 },
    { "64: two rex, last counts", L64, "41488903", OK, 4, X86_OP_MOV, 8, 8, RBX, -1, 0 },
    { "64: ds/es/ss/cs overrides ignored", L64, "26368903", OK, 4, X86_OP_MOV, 4, 8, RBX, X86_SEG_DS, 0 },
    { "64: gs override", L64, "65488903", OK, 4, X86_OP_MOV, 8, 8, RBX, X86_SEG_GS, X86_PFX_SEG },
    { "64: [rbp] default ss", L64, "48894500", OK, 4, X86_OP_MOV, 8, 8, RBP, X86_SEG_SS, 0 },
    { "64: mov [rbx],imm32 sx", L64, "48c703ffffffff", OK, 7, X86_OP_MOV, 8, 8, RBX, -1, 0 },
    { "64: moffs64", L64, "48a3efcdab8967452301", OK, 10, X86_OP_MOV, 8, 8, 0x0123456789abcdefLL, X86_SEG_DS, 0 },
    { "64: moffs32 with 67", L64, "67a378563412", OK, 6, X86_OP_MOV, 4, 4, 0x12345678, X86_SEG_DS, -1 },
    { "64: spl needs rex", L64, "40882b", OK, 3, X86_OP_MOV, 1, 8, RBX, -1, 0 },
    { "64: movsxd", L64, "4863c3", OK, 3, -1, 8, 8, NA, -1, 0 },
    { "64: push r/m default 64", L64, "ff33", OK, 2, -1, 8, 8, RBX, -1, 0 },

    /* ---- page-table writers ---- */
    { "xchg [ebx],eax", P32, "8703", OK, 2, X86_OP_XCHG, 4, 4, M32(RBX), -1, 0 },
    { "cmpxchg [ebx],ecx", P32, "0fb10b", OK, 3, X86_OP_CMPXCHG, 4, 4, M32(RBX), -1, 0 },
    { "lock cmpxchg [ebx],ecx", P32, "f00fb10b", OK, 4, X86_OP_CMPXCHG, 4, 4, M32(RBX), -1, X86_PFX_LOCK },
    { "lock cmpxchg8b [esi]", P32, "f00fc70e", OK, 4, X86_OP_CMPXCHG8B, 8, 4, M32(RSI), -1, X86_PFX_LOCK },
    { "cmpxchg8b [esi+edi*8+4]", P32, "0fc74cfe04", OK, 5, X86_OP_CMPXCHG8B, 8, 4, M32(RSI + (RDI & 0xffffff) * 8 + 4), -1, 0 },
    { "lock cmpxchg16b [rsi]", L64, "f0480fc70e", OK, 5, X86_OP_CMPXCHG16B, 16, 8, RSI, -1, X86_PFX_LOCK },
    { "cmpxchg8b reg invalid", P32, "0fc7c8", UD, -1, -1, -1, -1, NA, -1, -1 },
    { "lock or [ebx],eax", P32, "f00903", OK, 3, X86_OP_ALU, 4, 4, M32(RBX), -1, X86_PFX_LOCK },
    { "lock and [ebx],imm32", P32, "f0812378563412", OK, 7, X86_OP_ALU, 4, 4, M32(RBX), -1, X86_PFX_LOCK },
    { "lock add [ebx],imm8", P32, "f0830301", OK, 4, X86_OP_ALU, 4, 4, M32(RBX), -1, X86_PFX_LOCK },
    { "lock xor byte", P32, "f0803301", OK, 4, X86_OP_ALU, 1, 4, M32(RBX), -1, X86_PFX_LOCK },
    { "lock sub qword", L64, "f0482903", OK, 4, X86_OP_ALU, 8, 8, RBX, -1, X86_PFX_LOCK },
    { "lock bts [ebx],eax", P32, "f00fab03", OK, 4, X86_OP_BT, 4, 4, M32(RBX), -1, X86_PFX_LOCK },
    { "lock btr imm", P32, "f00fba3305", OK, 5, X86_OP_BT, 4, 4, M32(RBX), -1, X86_PFX_LOCK },
    { "btc imm", P32, "0fba3b05", OK, 4, X86_OP_BT, 4, 4, M32(RBX), -1, 0 },
    { "bt reg", P32, "0fa303", OK, 3, X86_OP_BT, 4, 4, M32(RBX), -1, 0 },
    { "lock inc", P32, "f0ff03", OK, 3, X86_OP_INCDEC, 4, 4, M32(RBX), -1, X86_PFX_LOCK },
    { "lock dec byte", P32, "f0fe0b", OK, 3, X86_OP_INCDEC, 1, 4, M32(RBX), -1, X86_PFX_LOCK },
    { "lock neg", P32, "f0f71b", OK, 3, X86_OP_NOTNEG, 4, 4, M32(RBX), -1, X86_PFX_LOCK },
    { "lock xadd", P32, "f00fc103", OK, 4, X86_OP_XADD, 4, 4, M32(RBX), -1, X86_PFX_LOCK },
    { "lock xchg (redundant lock ok)", P32, "f08703", OK, 3, X86_OP_XCHG, 4, 4, M32(RBX), -1, X86_PFX_LOCK },
    { "rep stosd", P32, "f3ab", OK, 2, X86_OP_STOS, 4, 4, NA, -1, X86_PFX_REP },
    { "rep stosq", L64, "f348ab", OK, 3, X86_OP_STOS, 8, 8, NA, -1, X86_PFX_REP },
    { "rep movsb 67", L64, "67f3a4", OK, 3, X86_OP_MOVS, 1, 4, NA, -1, X86_PFX_REP | X86_PFX_ADSZ },
    { "stosw 16", R16, "ab", OK, 1, X86_OP_STOS, 2, 2, NA, -1, 0 },
    { "rep then repne: last wins", P32, "f3f2ab", OK, 3, X86_OP_STOS, 4, 4, NA, -1, X86_PFX_REPNE },

    /* ---- LOCK misuse: #UD with the length known ---- */
    { "lock mov", P32, "f08903", UD, 3, -1, -1, -1, NA, -1, -1 },
    { "lock add reg,reg", P32, "f001c3", UD, 3, -1, -1, -1, NA, -1, -1 },
    { "lock cmp", P32, "f03903", UD, 3, -1, -1, -1, NA, -1, -1 },
    { "lock 80 /7 (cmp)", P32, "f0803b01", UD, 4, -1, -1, -1, NA, -1, -1 },
    { "lock add reg,[mem] (02)", P32, "f00203", UD, 3, -1, -1, -1, NA, -1, -1 },
    { "lock bt (read only)", P32, "f00fa303", UD, 4, -1, -1, -1, NA, -1, -1 },
    { "lock nop", P32, "f090", UD, 2, -1, -1, -1, NA, -1, -1 },
    { "lock stos", P32, "f0ab", UD, 2, -1, -1, -1, NA, -1, -1 },
    { "lock mov cr0 (cr8 alias unsupported)", P32, "f00f22c0", UD, 4, -1, -1, -1, NA, -1, -1 },
    { "lock test", P32, "f0f60301", UD, 4, -1, -1, -1, NA, -1, -1 },

    /* ---- limits ---- */
    { "15 bytes is fine", P32, "6666666666666666666666666666 90", OK, 15, X86_OP_OTHER, 2, 4, NA, -1, -1 },
    { "16 bytes is #GP", P32, "666666666666666666666666666666 90", TL, -1, -1, -1, -1, NA, -1, -1 },
    { "long because of imm", L64, "6626262626262626 48c78424785634120100000000", TL, -1, -1, -1, -1, NA, -1, -1 },
    { "truncated modrm", P32, "89", TR, -1, -1, -1, -1, NA, -1, -1 },
    { "truncated sib", P32, "8904", TR, -1, -1, -1, -1, NA, -1, -1 },
    { "truncated disp", P32, "898300", TR, -1, -1, -1, -1, NA, -1, -1 },
    { "truncated imm", P32, "c7037856", TR, -1, -1, -1, -1, NA, -1, -1 },
    { "truncated after prefixes", P32, "6667", TR, -1, -1, -1, -1, NA, -1, -1 },
    { "truncated escape", P32, "0f", TR, -1, -1, -1, -1, NA, -1, -1 },
    { "empty", P32, "", TR, -1, -1, -1, -1, NA, -1, -1 },
};

static unsigned parse_hex(const char *s, uint8_t *out)
{
    unsigned n = 0;
    while (*s) {
        if (*s == ' ') { s++; continue; }
        unsigned v;
        sscanf(s, "%2x", &v);
        out[n++] = (uint8_t)v;
        s += 2;
    }
    return n;
}

static uint8_t *guard_page_end;   /* last byte of a RW page followed by a PROT_NONE page */

static void setup_guard(void)
{
    long pg = sysconf(_SC_PAGESIZE);
    uint8_t *p = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ck_assert_ptr_ne(p, MAP_FAILED);
    ck_assert_int_eq(mprotect(p + pg, pg, PROT_NONE), 0);
    guard_page_end = p + pg;
}

/* Decode bytes placed right before the guard page (any read past avail faults). */
static enum x86_decode_result decode_guarded(const uint8_t *b, unsigned n, enum x86_cpu_mode m,
                                             struct x86_insn *in)
{
    memcpy(guard_page_end - n, b, n);
    return x86_decode(guard_page_end - n, n, m, in);
}

START_TEST(table)
{
    const struct dcase *c = &cases[_i];
    uint8_t b[32];
    unsigned n = parse_hex(c->hex, b);
    struct x86_insn in;
    struct x86_regs r;
    std_regs(&r);
    setup_guard();
    enum x86_decode_result res = decode_guarded(b, n, c->mode, &in);
    ck_assert_msg(res == c->res, "%s: result %d, want %d", c->name, res, c->res);
    if (c->len >= 0)
        ck_assert_msg(in.len == c->len, "%s: len %u, want %d", c->name, in.len, c->len);
    if (res != OK)
        return;
    if (c->op >= 0)
        ck_assert_msg(in.op == c->op, "%s: op %u, want %d", c->name, in.op, c->op);
    if (c->opsize >= 0)
        ck_assert_msg(in.opsize == c->opsize, "%s: opsize %u, want %d", c->name, in.opsize, c->opsize);
    if (c->addrsize >= 0)
        ck_assert_msg(in.addrsize == c->addrsize, "%s: addrsize %u, want %d", c->name, in.addrsize, c->addrsize);
    if (c->prefixes >= 0)
        ck_assert_msg(in.prefixes == c->prefixes, "%s: prefixes %#x, want %#x", c->name, in.prefixes, c->prefixes);
    if (c->ea != NA) {
        ck_assert_msg(in.mem, "%s: no memory operand", c->name);
        uint64_t ea = x86_insn_ea(&in, &r);
        ck_assert_msg(ea == (uint64_t)c->ea, "%s: ea %#llx, want %#llx", c->name,
                      (unsigned long long)ea, (unsigned long long)c->ea);
    } else if (in.has_modrm) {
        ck_assert_msg(!in.mem || c->op == -1 || c->op == X86_OP_LMSW || c->op == X86_OP_OTHER,
                      "%s: unexpected memory operand", c->name);
    }
    if (c->seg >= 0)
        ck_assert_msg(in.seg == c->seg, "%s: seg %u, want %d", c->name, in.seg, c->seg);
    /* every shorter prefix of the bytes is TRUNCATED, never a read past avail */
    for (unsigned k = 0; k < in.len; k++) {
        struct x86_insn t;
        enum x86_decode_result tr = decode_guarded(b, k, c->mode, &t);
        ck_assert_msg(tr == TR, "%s: %u of %u bytes gave %d", c->name, k, in.len, tr);
    }
    ck_assert_uint_eq(x86_insn_length(b, n, c->mode), in.len);
}
END_TEST

/* Lengths don't depend on what follows; extra bytes are never consumed. */
START_TEST(trailing_bytes)
{
    for (unsigned i = 0; i < ARRAY_SIZE(cases); i++) {
        const struct dcase *c = &cases[i];
        if (c->res != OK)
            continue;
        uint8_t b[40];
        unsigned n = parse_hex(c->hex, b);
        memset(b + n, 0xcc, sizeof(b) - n);
        ck_assert_msg(x86_insn_length(b, sizeof(b), c->mode) == n, "%s: trailing bytes changed the length",
                      c->name);
    }
}
END_TEST

START_TEST(mode_of)
{
    ck_assert_int_eq(x86_cpu_mode_of(0x10, 0, 2, 0x9b), X86_MODE_REAL);
    ck_assert_int_eq(x86_cpu_mode_of(0x11, 0, 2, 0x9b), X86_MODE_PROT16);
    ck_assert_int_eq(x86_cpu_mode_of(0x11, 0, 2, 0xc9b), X86_MODE_PROT32);
    ck_assert_int_eq(x86_cpu_mode_of(0x80000011, 0x500, 2, 0x29b), X86_MODE_LONG64);
    ck_assert_int_eq(x86_cpu_mode_of(0x80000011, 0x500, 2, 0xc9b), X86_MODE_PROT32);  /* compat */
    ck_assert_int_eq(x86_cpu_mode_of(0x80000011, 0x100, 2, 0x29b), X86_MODE_PROT16);  /* LMA off */
    ck_assert_int_eq(x86_cpu_mode_of(0x11, 0, 0x20002, 0xc9b), X86_MODE_REAL);        /* vm86 */
}
END_TEST

/* Every single opcode byte in every mode: the decoder never crashes, never
 * reports a length beyond the bytes, and an OK length is never 0. */
START_TEST(exhaustive_two_bytes)
{
    setup_guard();
    for (int m = R16; m <= L64; m++)
        for (unsigned a = 0; a < 256; a++)
            for (unsigned b2 = 0; b2 < 256; b2++) {
                uint8_t b[4] = { a, b2, 0, 0 };
                struct x86_insn in;
                for (unsigned n = 0; n <= 4; n++) {
                    enum x86_decode_result r = decode_guarded(b, n, m, &in);
                    if (r == OK)
                        ck_assert(in.len >= 1 && in.len <= n);
                }
            }
}
END_TEST

/* Two decodes agree on every field (the memo copies what x86_decode gave). */
static bool same_insn(const struct x86_insn *a, const struct x86_insn *b)
{
    return a->len == b->len && a->mode == b->mode && a->prefixes == b->prefixes && a->rex == b->rex
        && a->opsize == b->opsize && a->addrsize == b->addrsize && a->map == b->map
        && a->opcode == b->opcode && a->op == b->op && a->alu == b->alu && a->seg == b->seg
        && a->has_modrm == b->has_modrm && a->modrm == b->modrm && a->mod == b->mod
        && a->reg == b->reg && a->rm == b->rm && a->has_sib == b->has_sib && a->sib == b->sib
        && a->mem == b->mem && a->rip_rel == b->rip_rel && a->base == b->base
        && a->index == b->index && a->scale == b->scale && a->disp_size == b->disp_size
        && a->imm_size == b->imm_size && a->imm2_size == b->imm2_size && a->disp == b->disp
        && a->imm == b->imm && a->imm2 == b->imm2;
}

/*
 * x86_decode_memo() gives exactly x86_decode()'s answer: the table's
 * instructions and random ones, in every mode, each several times and
 * followed by other bytes (so entries are hit, replaced, and met by inputs
 * sharing only a prefix with them, or shorter than them), with one memo
 * throughout.  Also: it kept some answers (the hits happened).
 */
START_TEST(memo_same_answers)
{
    static struct x86_decode_memo memo;
    uint8_t pool[64][X86_MAX_INSN_LEN];
    unsigned npool = 0;
    for (unsigned i = 0; i < ARRAY_SIZE(cases) && npool < 32; i++) {
        uint8_t b[32];
        unsigned n = parse_hex(cases[i].hex, b);
        if (n > X86_MAX_INSN_LEN)
            continue;
        memset(pool[npool], 0x90, X86_MAX_INSN_LEN);
        memcpy(pool[npool++], b, n);
    }
    srand(14);
    while (npool < 64) {
        for (unsigned k = 0; k < X86_MAX_INSN_LEN; k++)
            pool[npool][k] = (uint8_t)rand();
        if (npool & 1)
            pool[npool][0] = 0x0f;       /* the 0F map, where the intercepts are */
        npool++;
    }
    unsigned hits = 0;
    for (unsigned it = 0; it < 200000; it++) {
        uint8_t b[X86_MAX_INSN_LEN];
        memcpy(b, pool[rand() % npool], sizeof(b));
        if (rand() % 4 == 0)
            b[rand() % X86_MAX_INSN_LEN] = (uint8_t)rand();   /* a tail (or a byte) changed */
        unsigned avail = 1 + rand() % X86_MAX_INSN_LEN;
        enum x86_cpu_mode m = (enum x86_cpu_mode)(rand() % 4);
        struct x86_insn want, got;
        memset(&got, 0x5a, sizeof(got));
        enum x86_decode_result rw = x86_decode(b, avail, m, &want);
        unsigned full = 0;
        for (unsigned k = 0; k < X86_DECODE_MEMO; k++)
            full += memo.e[k].insn.len != 0;
        enum x86_decode_result rg = x86_decode_memo(&memo, b, avail, m, &got);
        ck_assert_int_eq(rg, rw);
        if (rw == X86_DECODE_OK) {
            ck_assert_msg(same_insn(&got, &want), "iteration %u: the memo's decode differs", it);
            hits += full == X86_DECODE_MEMO;
        }
    }
    ck_assert_uint_gt(hits, 0);
    /* a hit is an entry's answer: mark the entry of invlpg [ebx] and meet it again */
    const uint8_t inv[4] = { 0x0f, 0x01, 0x3b, 0x90 };
    struct x86_insn t;
    ck_assert_int_eq(x86_decode_memo(&memo, inv, 4, X86_MODE_PROT32, &t), OK);
    unsigned marked = 0;
    for (unsigned k = 0; k < X86_DECODE_MEMO; k++)
        if (memo.e[k].insn.len == 3 && !memcmp(memo.e[k].bytes, inv, 3)
            && memo.e[k].insn.mode == X86_MODE_PROT32) {
            memo.e[k].insn.alu = 77;
            marked++;
        }
    ck_assert_uint_eq(marked, 1);
    ck_assert_int_eq(x86_decode_memo(&memo, inv, 4, X86_MODE_PROT32, &t), OK);
    ck_assert_uint_eq(t.alu, 77);                   /* the memo answered */
    ck_assert_int_eq(x86_decode_memo(&memo, inv, 4, X86_MODE_PROT16, &t), OK);
    ck_assert_uint_ne(t.alu, 77);                   /* not for another mode */
    ck_assert_int_eq(x86_decode_memo(&memo, inv, 2, X86_MODE_PROT32, &t), TR);   /* nor fewer bytes */
    /* NULL: plain x86_decode */
    struct x86_insn a, b2;
    ck_assert_int_eq(x86_decode_memo(NULL, (const uint8_t *)"\x0f\x01\x3b", 3, X86_MODE_PROT32, &a), OK);
    ck_assert_int_eq(x86_decode(( const uint8_t *)"\x0f\x01\x3b", 3, X86_MODE_PROT32, &b2), OK);
    ck_assert(same_insn(&a, &b2) && a.op == X86_OP_INVLPG);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("x86_decode");
    TCase *tc = tcase_create("decode");
    tcase_add_loop_test(tc, table, 0, ARRAY_SIZE(cases));
    tcase_add_test(tc, trailing_bytes);
    tcase_add_test(tc, mode_of);
    tcase_add_test(tc, exhaustive_two_bytes);
    tcase_add_test(tc, memo_same_answers);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    printf("x86_decode: %zu table cases\n", ARRAY_SIZE(cases));
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
