/*
 * kmain: from head.S (long mode, direct map, kernel mapped) to the guest.
 * Order matters: everything GRUB gave us (info block, modules) is parsed or
 * copied into Umbra's reserve before the guest image may overwrite it, and
 * the reserve is sealed before the guest's memory map and nested page tables
 * are computed from it.
 */
#include <umbra/kern.h>
#include <umbra/lib.h>
#include <umbra/mb.h>
#include <umbra/svm.h>
#include <umbra/loader.h>
#include <umbra/smp.h>
#include <umbra/acpi.h>
#include <umbra/iommu.h>
#include <umbra/watchdog.h>

extern char __kernel_start[], __kernel_end[];

struct umbra_layout umbra_layout;
struct umbra_opts umbra_opts;
static struct mb2_info mbi;
static struct frame_alloc frames;
static struct guest_boot gboot;
static struct svm_vcpu vcpu0;
static char cmdline[OPTS_CMDLINE_MAX + 1];

paddr_t kva_to_pa(const void *p)
{
    return (paddr_t)((uintptr_t)p - (uintptr_t)__kernel_start) + umbra_layout.image_lo;
}

/* True if some word of the command line starts with `prefix`. */
static bool cmdline_has(const char *cl, const char *prefix)
{
    size_t n = strlen(prefix);
    for (const char *p = cl; *p; p++)
        if ((p == cl || p[-1] == ' ') && !strncmp(p, prefix, n))
            return true;
    return false;
}

static void __attribute__((noreturn)) fail_stop(void)
{
    ulog("exit reason=error status=%u", UMBRA_STATUS_ERROR);
    machine_exit(UMBRA_STATUS_ERROR);
}

void kmain(uint32_t magic, uint32_t info_pa, uint32_t load_base);
void kmain(uint32_t magic, uint32_t info_pa, uint32_t load_base)
{
    char err[160];

    umbra_layout.image_lo = load_base;
    umbra_layout.image_hi = load_base + (paddr_t)(__kernel_end - __kernel_start);
    umbra_layout.reserve_hi = umbra_layout.image_hi;
    console_init(CONSOLE_COM1);
    trap_init();

    if (magic != MB2_BOOTLOADER_MAGIC) {
        ulog("not started by a multiboot2 loader (magic %#x)", magic);
        fail_stop();
    }
    if (mb2_parse(phys_to_virt(info_pa), &mbi, err, sizeof(err)) < 0) {
        ulog("%s", err);
        fail_stop();
    }
    opts_default(&umbra_opts);
    if (opts_parse(&umbra_opts, mbi.cmdline, err, sizeof(err)) < 0) {
        ulog("command line: %s", err);
        fail_stop();
    }
    snprintf(cmdline, sizeof(cmdline), "%s", mbi.cmdline);   /* whole: opts_parse refuses a longer one */
    console_init(umbra_opts.console);
    ulog("Umbra %s, image at [%#lx, %#lx) (load-base tag %s%#lx), loader \"%s\"", "0.1",
         umbra_layout.image_lo, umbra_layout.image_hi, mbi.have_load_base ? "" : "absent ",
         mbi.load_base, mbi.loader);
    ulog("command line \"%s\"", cmdline);

    /* The RAM region holding the image: the reserve is carved below it. */
    paddr_t floor = 0;
    bool found = false;
    for (unsigned i = 0; i < mbi.nmmap; i++) {
        const struct mem_range *r = &mbi.mmap[i];
        if (r->type == MEM_AVAILABLE && r->base <= umbra_layout.image_lo &&
            umbra_layout.image_hi <= r->base + r->len) {
            floor = r->base;
            found = true;
        }
    }
    if (!found) {
        ulog("image [%#lx, %#lx) is not inside one RAM range of the memory map",
             umbra_layout.image_lo, umbra_layout.image_hi);
        fail_stop();
    }
    if (floor < (1ULL << 20))
        floor = 1ULL << 20;
    frame_init(&frames, floor, umbra_layout.image_lo);
    frame_avoid(&frames, info_pa, info_pa + mbi.total_size);
    for (unsigned i = 0; i < mbi.nmod; i++)
        if (frame_avoid(&frames, mbi.mod[i].start, mbi.mod[i].end) < 0) {
            ulog("too many modules");
            fail_stop();
        }

    uint32_t features;
    if (svm_init(&features) < 0)
        fail_stop();
    vcpu0.svm_features = features;
    vcpu0.mmu = paging_select(umbra_opts.paging);
    smp_init(mbi.rsdp);      /* before anything is loaded over the multiboot2 info or the tables */
    wdcpu_start(&mbi, info_pa);   /* gdb= or watchdog=: one parked AP becomes the watchdog CPU */

    gboot.rsdp_len = acpi_rsdp_copy(gboot.rsdp, sizeof(gboot.rsdp));
    if (loader_stage(&frames, &mbi, &gboot) < 0)
        fail_stop();
    if (svm_vcpu_alloc(&vcpu0, &frames) < 0)
        fail_stop();
    uint64_t ram_top = 0;
    for (unsigned i = 0; i < mbi.nmmap; i++)
        if (mbi.mmap[i].type == MEM_AVAILABLE && mbi.mmap[i].base + mbi.mmap[i].len > ram_top)
            ram_top = mbi.mmap[i].base + mbi.mmap[i].len;
    /* The IOMMU first: nested paging must know its MMIO range. */
    if (iommu_prepare(&frames, &mbi, ram_top, umbra_opts.iommu_require) < 0)
        fail_stop();
    if (umbra_opts.paging == PAGING_NPT) {
        paddr_t npt = frame_alloc_n(&frames, npt_frames_needed(ram_top));
        if (!npt) {
            ulog("out of memory for nested page tables");
            fail_stop();
        }
        npt_prealloc(npt, ram_top);
    } else {
        unsigned long n = (unsigned long)(umbra_opts.shadow_pool >> PAGE_SHIFT);
        umbra_layout.shadow_pool = frame_alloc_n(&frames, n);
        /*
         * The default pool (not a size the command line asked for) shrinks
         * in 256 KiB steps to what the RAM region holding the image has
         * left: under UEFI firmware that region can be only a few MiB.
         */
        unsigned long want = n;
        while (!umbra_layout.shadow_pool && !cmdline_has(cmdline, "shadow_pool=") && n > 64) {
            n -= 64;
            umbra_layout.shadow_pool = frame_alloc_n(&frames, n);
        }
        if (umbra_layout.shadow_pool && n != want)
            ulog("shadow pool: the default %luK does not fit below the image: %luK", want * 4, n * 4);
        if (!umbra_layout.shadow_pool) {
            ulog("no room for shadow_pool=%luK below the image", (unsigned long)(umbra_opts.shadow_pool >> 10));
            fail_stop();
        }
        umbra_layout.shadow_pool_frames = n;
        /* The trace ring (trace_ring=N events of 64 bytes): in the reserve,
         * so the p2m refuses it to the guest like the pool. */
        unsigned long tn = (unsigned long)ALIGN_UP((uint64_t)umbra_opts.trace_ring * UMBRA_TRACE_EV_BYTES,
                                                   PAGE_SIZE) >> PAGE_SHIFT;
        umbra_layout.trace_ring = frame_alloc_n(&frames, tn);
        if (!umbra_layout.trace_ring) {
            ulog("no room for trace_ring=%u (%luK) below the image", umbra_opts.trace_ring, tn * 4);
            fail_stop();
        }
        umbra_layout.trace_ring_frames = tn;
        ulog("shadow pool [%#lx, %#lx)", umbra_layout.shadow_pool,
             umbra_layout.shadow_pool + ((paddr_t)n << PAGE_SHIFT));
    }

    iommu_guard_alloc(&frames);
    umbra_layout.reserve_lo = frame_seal(&frames);
    guest_mmap_n = mmap_remove(mbi.mmap, mbi.nmmap, umbra_layout.reserve_lo,
                               umbra_layout.reserve_hi, guest_mmap, MB_MAX_MMAP);
    ulog("reserve [%#lx, %#lx) = %lu KiB (%lu frames allocated), guest RAM below %#lx",
         umbra_layout.reserve_lo, umbra_layout.reserve_hi,
         (unsigned long)((umbra_layout.reserve_hi - umbra_layout.reserve_lo) >> 10),
         frames.frames, umbra_layout.reserve_lo);

    if (iommu_enable() < 0)
        fail_stop();
    if (loader_load(&gboot) < 0)
        fail_stop();
    unsigned status = svm_run_guest(&vcpu0, gboot.entry, gboot.info);
    machine_exit(status);
}
