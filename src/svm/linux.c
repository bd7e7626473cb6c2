/*
 * Linux boot-protocol loader and the Linux guest's platform end.
 *
 * Loading (Documentation/x86/boot.rst, 32-bit boot protocol): the image is
 * [boot sector + setup: (setup_sects + 1) * 512 bytes][protected-mode part].
 * Umbra runs none of the real-mode setup code; it does what that code would
 * have left behind: a zeroed boot_params ("zero page") holding a copy of the
 * setup header, a command line, the initrd, an e820 map, and a jump to the
 * protected-mode part in flat 32-bit mode, paging and interrupts off,
 * CS = 0x10, DS/ES/SS = 0x18, ESI = boot_params, EBX = EBP = EDI = 0.
 *
 * Guest RAM after loading (all inside guest_mmap's available ranges):
 *   0x90000 boot_params | 0x91000 command line | 0x92000 GDT (0x10, 0x18 flat)
 *   [load, load + init_size)   kernel: pref_address for a relocatable kernel
 *                              when that fits, else code32_start
 *   initrd                     as high as guest RAM and initrd_addr_max allow,
 *                              clear of the kernel's init_size window
 * The modules were staged in Umbra's reserve (loader_stage) before any of
 * this is written, so no load overwrites its own source.  Every check comes
 * before the first write.
 *
 * Platform: the guest owns the devices.  Umbra intercepts only the ports
 * that end the machine -- the ACPI PM1a/PM1b control registers named by the
 * FADT (SLP_EN = sleep/S5), 0xCF9 (reset control) and the keyboard
 * controller's 0x64 (pulse reset) -- passes every other access to those
 * ports through, and ends the run with its summary when the guest powers off
 * or resets.  A triple fault and HLT with IF=0 end it in exit.c already.
 */
#include <umbra/linux.h>
#include <umbra/lib.h>
#include <umbra/svm.h>
#include <umbra/x86.h>

#define BOOT_PARAMS_PA 0x90000u
#define CMDLINE_PA     0x91000u
#define GDT_PA         0x92000u
#define BOOT_AREA_END  0x93000u

#define PORT_RESET_CTL 0xcf9      /* PIIX/ICH reset control: bit 2 = do the reset */
#define PORT_KBC_CMD   0x64       /* i8042 command: 0xFE pulses the reset line */
#define KBC_PULSE_RESET 0xfe
#define RST_CPU        0x04
#define ACPI_SLP_EN    (1u << 13) /* PM1x_CNT: enter the sleep state in SLP_TYP */

static struct {
    uint32_t boot_params;
    uint16_t pm1_cnt[2];          /* PM1a/PM1b control ports, 0 = none */
} lx;

static inline uint16_t rd16(const uint8_t *p, unsigned off) { uint16_t v; memcpy(&v, p + off, 2); return v; }
static inline uint32_t rd32(const uint8_t *p, unsigned off) { uint32_t v; memcpy(&v, p + off, 4); return v; }
static inline uint64_t rd64(const uint8_t *p, unsigned off) { uint64_t v; memcpy(&v, p + off, 8); return v; }
static inline void wr16(uint8_t *p, unsigned off, uint16_t v) { memcpy(p + off, &v, 2); }
static inline void wr32(uint8_t *p, unsigned off, uint32_t v) { memcpy(p + off, &v, 4); }

bool linux_is_bzimage(const uint8_t *img, uint64_t size)
{
    return size >= LX_HEADER + 4 && memcmp(img + LX_HEADER, "HdrS", 4) == 0;
}

/* [lo, hi) is guest RAM Umbra may load into (quiet form of loader_check_dest). */
static bool fits(uint64_t lo, uint64_t hi)
{
    if (hi < lo || hi > (1ULL << 32))
        return false;
    if (lo < umbra_layout.reserve_hi && hi > umbra_layout.reserve_lo)
        return false;
    return mmap_is_ram(guest_mmap, guest_mmap_n, lo, hi);
}

static bool overlaps(uint64_t a_lo, uint64_t a_hi, uint64_t b_lo, uint64_t b_hi)
{
    return a_lo < b_hi && b_lo < a_hi;
}

/*
 * The highest page-aligned [at, at + size) in guest RAM below `limit`, at or
 * above 1 MiB, clear of [avoid_lo, avoid_hi).  0 if there is none.
 */
static uint64_t place_high(uint64_t size, uint64_t limit, uint64_t avoid_lo, uint64_t avoid_hi)
{
    for (unsigned i = guest_mmap_n; i-- > 0;) {
        const struct mem_range *m = &guest_mmap[i];
        if (m->type != MEM_AVAILABLE)
            continue;
        uint64_t lo = m->base < 0x100000 ? 0x100000 : m->base;
        uint64_t hi = m->base + m->len;
        if (hi > limit)
            hi = limit;
        /* Try below the end of the range, then below the avoided window. */
        uint64_t tops[2] = { hi, avoid_lo < hi ? avoid_lo : hi };
        for (unsigned t = 0; t < 2; t++) {
            if (tops[t] < lo + size)
                continue;
            uint64_t at = (tops[t] - size) & ~(uint64_t)(PAGE_SIZE - 1);
            if (at >= lo && !overlaps(at, at + size, avoid_lo, avoid_hi) && fits(at, at + size))
                return at;
        }
    }
    return 0;
}

/* ---- ACPI: where the PM1 control registers are ---------------------------- */

static bool acpi_sum_ok(const uint8_t *p, uint32_t len)
{
    uint8_t s = 0;
    for (uint32_t i = 0; i < len; i++)
        s = (uint8_t)(s + p[i]);
    return s == 0;
}

static const uint8_t *rsdp_scan(paddr_t lo, paddr_t hi)
{
    for (paddr_t p = lo; p + 20 <= hi; p += 16) {
        const uint8_t *r = phys_to_virt(p);
        if (memcmp(r, "RSD PTR ", 8) == 0 && acpi_sum_ok(r, 20))
            return r;
    }
    return NULL;
}

/* A system description table at pa, if it looks like one (below 4 GiB, sane length). */
static const uint8_t *acpi_table(uint64_t pa)
{
    if (pa == 0 || pa >= (1ULL << 32) - 36)
        return NULL;
    const uint8_t *t = phys_to_virt(pa);
    uint32_t len = rd32(t, 4);
    if (len < 36 || len > 0x100000 || !acpi_sum_ok(t, len))
        return NULL;
    return t;
}

/* The FADT ("FACP") via the RSDP in the EBDA or the BIOS area, then the XSDT or RSDT. */
static const uint8_t *acpi_find_fadt(void)
{
    /* The BDA word at 0x40E holds the EBDA segment (the barrier keeps gcc from calling 0x40E NULL+). */
    uintptr_t bda = 0x40e;
    __asm__("" : "+r"(bda));
    paddr_t ebda = (paddr_t)*(const volatile uint16_t *)phys_to_virt(bda) << 4;
    const uint8_t *rsdp = NULL;
    if (ebda >= 0x80000 && ebda < 0xa0000)
        rsdp = rsdp_scan(ebda, ebda + 1024);
    if (!rsdp)
        rsdp = rsdp_scan(0xe0000, 0x100000);
    if (!rsdp)
        return NULL;
    const uint8_t *sdt = NULL;
    unsigned esz = 4;
    if (rsdp[15] >= 2 && (sdt = acpi_table(rd64(rsdp, 24))) != NULL)
        esz = 8;
    else
        sdt = acpi_table(rd32(rsdp, 16));
    if (!sdt)
        return NULL;
    for (uint32_t off = 36; off + esz <= rd32(sdt, 4); off += esz) {
        const uint8_t *t = acpi_table(esz == 8 ? rd64(sdt, off) : rd32(sdt, off));
        if (t && memcmp(t, "FACP", 4) == 0)
            return t;
    }
    return NULL;
}

/* A PM1x control block port: the 32-bit field, else the extended (GAS, I/O space) one. */
static uint16_t fadt_port(const uint8_t *fadt, unsigned legacy_off, unsigned gas_off)
{
    uint32_t p = rd32(fadt, legacy_off);
    if (p == 0 && rd32(fadt, 4) >= gas_off + 12 && fadt[gas_off] == 1)
        p = (uint32_t)rd64(fadt, gas_off + 4);
    return p < 0x10000 ? (uint16_t)p : 0;
}

static void find_power_ports(void)
{
    const uint8_t *fadt = acpi_find_fadt();
    if (fadt) {
        lx.pm1_cnt[0] = fadt_port(fadt, 64, 172);
        lx.pm1_cnt[1] = fadt_port(fadt, 68, 184);
        ulog("linux: ACPI FADT at %#lx: PM1a_CNT=%#x PM1b_CNT=%#x", (unsigned long)(uintptr_t)fadt,
             lx.pm1_cnt[0], lx.pm1_cnt[1]);
    }
    if (!fadt || !lx.pm1_cnt[0]) {
        /* No FADT: QEMU's PIIX4 (PM base 0x600) and Bochs' BIOS (0xb000). */
        lx.pm1_cnt[0] = 0x604;
        lx.pm1_cnt[1] = 0xb004;
        ulog("linux: no ACPI FADT found; watching PM1_CNT at 0x604 (QEMU) and 0xb004 (Bochs)");
    }
    for (unsigned i = 0; i < 2; i++)
        if (lx.pm1_cnt[i]) {
            svm_iopm_intercept(lx.pm1_cnt[i], true);
            svm_iopm_intercept(lx.pm1_cnt[i] + 1u, true);
        }
    svm_iopm_intercept(PORT_RESET_CTL, true);
    svm_iopm_intercept(PORT_KBC_CMD, true);
}

/* ---- run time: the intercepted power ports ------------------------------- */

static uint32_t port_in(unsigned port, unsigned size)
{
    uint32_t v;
    if (size == 1) {
        uint8_t b;
        __asm__ volatile("inb %w1, %0" : "=a"(b) : "Nd"((uint16_t)port));
        v = b;
    } else if (size == 2) {
        uint16_t w;
        __asm__ volatile("inw %w1, %0" : "=a"(w) : "Nd"((uint16_t)port));
        v = w;
    } else {
        __asm__ volatile("inl %w1, %0" : "=a"(v) : "Nd"((uint16_t)port));
    }
    return v;
}

static void port_out(unsigned port, unsigned size, uint32_t v)
{
    if (size == 1)
        __asm__ volatile("outb %b0, %w1" :: "a"(v), "Nd"((uint16_t)port));
    else if (size == 2)
        __asm__ volatile("outw %w0, %w1" :: "a"(v), "Nd"((uint16_t)port));
    else
        __asm__ volatile("outl %0, %w1" :: "a"(v), "Nd"((uint16_t)port));
}

/* The byte of an access [port, port + size) carrying value v that lands on port `at` (-1: none). */
static int byte_at(unsigned port, unsigned size, uint32_t v, unsigned at)
{
    if (at < port || at >= port + size)
        return -1;
    return (int)((v >> (8 * (at - port))) & 0xff);
}

/* True if the write ends the machine: ACPI sleep, reset control, keyboard-controller reset. */
static bool power_write(struct svm_vcpu *v, unsigned port, unsigned size, uint32_t val)
{
    for (unsigned i = 0; i < 2; i++) {
        int hi = lx.pm1_cnt[i] ? byte_at(port, size, val, lx.pm1_cnt[i] + 1u) : -1;
        if (hi >= 0 && (hi & (ACPI_SLP_EN >> 8))) {
            ulog("linux: guest entered ACPI sleep type %u (PM1%c_CNT %#x): power off",
                 (unsigned)(hi >> 2) & 7, 'a' + i, lx.pm1_cnt[i]);
            svm_stop(v, "poweroff", 0);
            return true;
        }
    }
    /* 0xCF9 is a byte register; a dword at 0xCF8 is a PCI config address. */
    if (port == PORT_RESET_CTL && size == 1 && (val & RST_CPU)) {
        ulog("linux: guest reset the machine (port 0xcf9 <- %#x)", val & 0xff);
        svm_stop(v, "reboot", 0);
        return true;
    }
    if (port == PORT_KBC_CMD && size == 1 && (val & 0xff) == KBC_PULSE_RESET) {
        ulog("linux: guest reset the machine (keyboard controller 0x64 <- 0xfe)");
        svm_stop(v, "reboot", 0);
        return true;
    }
    return false;
}

static bool watched(unsigned port, unsigned size)
{
    unsigned end = port + size;
    for (unsigned i = 0; i < 2; i++)
        if (lx.pm1_cnt[i] && lx.pm1_cnt[i] < end && port < lx.pm1_cnt[i] + 2u)
            return true;
    return (PORT_RESET_CTL >= port && PORT_RESET_CTL < end) ||
           (PORT_KBC_CMD >= port && PORT_KBC_CMD < end);
}

/* An access touching a watched port: end the run, or do it for the guest. */
static bool linux_ioio(struct svm_vcpu *v, unsigned port, unsigned size, bool in)
{
    if (!watched(port, size) || (size != 1 && size != 2 && size != 4))
        return false;
    struct vmcb *vm = v->vmcb;
    uint32_t mask = size == 1 ? 0xff : size == 2 ? 0xffff : 0xffffffff;
    svm_skip_insn(v);
    if (in) {
        vm->save.rax = (vm->save.rax & ~(uint64_t)mask) | port_in(port, size);
    } else {
        uint32_t val = (uint32_t)vm->save.rax & mask;
        if (!power_write(v, port, size, val))
            port_out(port, size, val);
    }
    return true;
}

/* The boot protocol's entry state on top of the multiboot v1 one svm.c built. */
static void linux_entry(struct svm_vcpu *v)
{
    struct vmcb *vm = v->vmcb;
    vm->save.gdtr.base = GDT_PA;
    vm->save.gdtr.limit = 4 * 8 - 1;
    vm->save.rax = 0;
    memset(&v->regs, 0, sizeof(v->regs));
    v->regs.rsi = lx.boot_params;
}

static const struct guest_hooks linux_hooks = { .entry = linux_entry, .ioio = linux_ioio };

/* ---- loading ---------------------------------------------------------------- */

/* The e820 table: guest_mmap plus Umbra's reserve as "reserved" (not a hole PCI could claim). */
static int build_e820(uint8_t *bp)
{
    unsigned n = 0;
    bool reserve_done = false;
    uint8_t *tab = bp + LX_E820_TABLE;
    for (unsigned i = 0; i <= guest_mmap_n; i++) {
        if (!reserve_done && (i == guest_mmap_n || guest_mmap[i].base > umbra_layout.reserve_lo)) {
            if (n == LX_E820_MAX)
                return -1;
            uint64_t e[2] = { umbra_layout.reserve_lo, umbra_layout.reserve_hi - umbra_layout.reserve_lo };
            memcpy(tab + 20 * n, e, 16);
            wr32(tab + 20 * n, 16, MEM_RESERVED);
            n++;
            reserve_done = true;
        }
        if (i == guest_mmap_n)
            break;
        if (n == LX_E820_MAX)
            return -1;
        uint64_t e[2] = { guest_mmap[i].base, guest_mmap[i].len };
        memcpy(tab + 20 * n, e, 16);
        wr32(tab + 20 * n, 16, guest_mmap[i].type);
        n++;
    }
    bp[LX_E820_ENTRIES] = (uint8_t)n;
    return (int)n;
}

int linux_load(struct guest_boot *gb)
{
    const uint8_t *img = phys_to_virt(gb->mod[0].pa);
    uint64_t size = gb->mod[0].size;

    if (size < 0x1000)
        return loader_error("Linux image truncated (%lu bytes)", (unsigned long)size);
    uint16_t version = rd16(img, LX_VERSION);
    if (version < 0x206)
        return loader_error("Linux boot protocol %u.%02u is older than 2.06", version >> 8, version & 0xff);
    if (!(img[LX_LOADFLAGS] & LX_LOADED_HIGH))
        return loader_error("Linux image is a zImage (loads low): only bzImage is supported");
    unsigned setup_sects = img[LX_SETUP_SECTS] ? img[LX_SETUP_SECTS] : 4;
    uint64_t setup_len = (uint64_t)(setup_sects + 1) * 512;
    uint64_t sys_len = (uint64_t)rd32(img, LX_SYSSIZE) * 16;
    /* syssize counts 16-byte paragraphs, the last one possibly partial. */
    if (size <= setup_len || size - setup_len + 15 < sys_len)
        return loader_error("Linux image truncated: %lu bytes, setup %lu + kernel %lu expected",
                            (unsigned long)size, (unsigned long)setup_len, (unsigned long)sys_len);
    uint64_t pm_len = size - setup_len;
    unsigned hdr_end = LX_HEADER + img[LX_JUMP + 1];      /* the short jump at 0x200 skips the header */
    if (hdr_end > setup_len || hdr_end > PAGE_SIZE)
        return loader_error("Linux setup header runs past the setup code");

    uint64_t need = version >= 0x20a ? rd32(img, LX_INIT_SIZE) : 0;
    if (need < pm_len)
        need = pm_len;
    bool relocatable = version >= 0x205 && img[LX_RELOCATABLE];
    uint64_t load = rd32(img, LX_CODE32_START);
    uint64_t pref = version >= 0x20a ? rd64(img, LX_PREF_ADDRESS) : load;
    if (relocatable && fits(pref, pref + need))
        load = pref;
    else if (loader_check_dest(load, load + need, "Linux kernel (init_size window)") < 0)
        return -1;
    if (loader_check_dest(BOOT_PARAMS_PA, BOOT_AREA_END, "boot_params, command line and GDT") < 0)
        return -1;

    /* The command line: the module string minus its first word (the file name). */
    const char *cmd = gb->mod[0].string;
    while (*cmd && *cmd != ' ')
        cmd++;
    while (*cmd == ' ')
        cmd++;
    uint32_t cmd_max = rd32(img, LX_CMDLINE_SIZE);
    if (strlen(cmd) > cmd_max || strlen(cmd) >= GDT_PA - CMDLINE_PA)
        return loader_error("Linux command line (%lu bytes) longer than the kernel's %u",
                            (unsigned long)strlen(cmd), cmd_max);

    uint64_t initrd = 0, initrd_len = 0;
    if (gb->nmod >= 2) {
        initrd_len = gb->mod[1].size;
        uint64_t limit = (uint64_t)rd32(img, LX_INITRD_ADDR_MAX) + 1;
        initrd = initrd_len ? place_high(initrd_len, limit, load, load + need) : 0;
        if (initrd_len && !initrd)
            return loader_error("initrd (%lu bytes) does not fit in guest RAM below %#lx clear of the kernel",
                                (unsigned long)initrd_len, (unsigned long)limit);
    }
    if (gb->nmod > 2)
        ulog("loader: Linux takes one initrd: %u further module(s) ignored", gb->nmod - 2);

    /* Checks done: write. */
    uint8_t *bp = phys_to_virt(BOOT_PARAMS_PA);
    memset(bp, 0, PAGE_SIZE);
    memcpy(bp + LX_SETUP_SECTS, img + LX_SETUP_SECTS, hdr_end - LX_SETUP_SECTS);
    if (build_e820(bp) < 0)
        return loader_error("memory map has more than %u entries", LX_E820_MAX);
    bp[LX_TYPE_OF_LOADER] = 0xff;                 /* undefined loader id */
    bp[LX_LOADFLAGS] = (uint8_t)(bp[LX_LOADFLAGS] & ~(LX_KEEP_SEGMENTS | LX_CAN_USE_HEAP));
    wr32(bp, LX_CODE32_START, (uint32_t)load);
    wr32(bp, LX_CMD_LINE_PTR, CMDLINE_PA);
    wr32(bp, LX_RAMDISK_IMAGE, (uint32_t)initrd);
    wr32(bp, LX_RAMDISK_SIZE, (uint32_t)initrd_len);
    for (unsigned i = 0; i < guest_mmap_n; i++) {
        const struct mem_range *m = &guest_mmap[i];
        if (m->type == MEM_AVAILABLE && m->base <= 0x100000 && m->base + m->len > 0x100000) {
            uint64_t top = m->base + m->len < (1ULL << 32) ? m->base + m->len : (1ULL << 32);
            wr32(bp, LX_ALT_MEM_K, (uint32_t)((top - 0x100000) >> 10));
        }
    }
    memcpy(phys_to_virt(CMDLINE_PA), cmd, strlen(cmd) + 1);
    uint64_t *gdt = phys_to_virt(GDT_PA);
    gdt[0] = gdt[1] = 0;
    gdt[2] = 0x00cf9b000000ffffULL;               /* 0x10: flat 4 GiB code, exec/read */
    gdt[3] = 0x00cf93000000ffffULL;               /* 0x18: flat 4 GiB data, read/write */
    memcpy(phys_to_virt(load), img + setup_len, pm_len);
    if (initrd_len)
        memcpy(phys_to_virt(initrd), phys_to_virt(gb->mod[1].pa), initrd_len);

    lx.boot_params = BOOT_PARAMS_PA;
    find_power_ports();
    guest_hooks = &linux_hooks;
    gb->entry = (uint32_t)load;
    gb->info = BOOT_PARAMS_PA;
    gb->kernel_lo = (uint32_t)load;
    gb->kernel_hi = (uint32_t)(load + need);
    ulog("loader: Linux boot protocol %u.%02u, kernel %lu bytes at %#lx (init_size %#lx%s), "
         "initrd %lu bytes at %#lx, %u e820 entries, boot_params at %#x, cmdline \"%s\"",
         version >> 8, version & 0xff, (unsigned long)pm_len, (unsigned long)load, (unsigned long)need,
         load == pref && relocatable ? ", pref_address" : "", (unsigned long)initrd_len,
         (unsigned long)initrd, bp[LX_E820_ENTRIES], BOOT_PARAMS_PA, cmd);
    return 0;
}
