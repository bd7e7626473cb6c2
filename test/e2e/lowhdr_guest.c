/*
 * The body of the low-header guest (lowhdr_entry.S): prints the loader's
 * magic, where its entry ran and the command line with its length on COM1,
 * then ends the run with status 0 through port 0xF4 (QEMU) / 0x8900 (Bochs).
 * test/e2e/core-loader.sh boots it bare and under Umbra.
 */
static inline void outb(unsigned short port, unsigned char v)
{
    __asm__ volatile("outb %0, %1" :: "a"(v), "Nd"(port));
}
static inline unsigned char inb(unsigned short port)
{
    unsigned char v;
    __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

static void putc_(char c)
{
    while (!(inb(0x3f8 + 5) & 0x20))
        ;
    outb(0x3f8, (unsigned char)c);
}

static void puts_(const char *s)
{
    while (*s)
        putc_(*s++);
}

static void putu(unsigned long v, unsigned base)
{
    char b[24];
    int n = 0;
    do {
        b[n++] = "0123456789abcdef"[v % base];
        v /= base;
    } while (v);
    while (n)
        putc_(b[--n]);
}

/* The bss segment (filesz 0) must arrive zeroed. */
static volatile unsigned bss_word[64];

void lowhdr_main(unsigned magic, const unsigned *mbi);
void lowhdr_main(unsigned magic, const unsigned *mbi)
{
    unsigned nonzero = 0;
    for (unsigned i = 0; i < 64; i++)
        nonzero |= bss_word[i];
    puts_("lowhdr: magic 0x");
    putu(magic, 16);
    puts_(", entry at 0x");
    putu((unsigned long)&lowhdr_main, 16);
    puts_(nonzero ? ", bss not zeroed\n" : ", bss zeroed\n");
    /* What the header segment's paddr holds now (the BIOS may keep 0xf0000-0xfffff read-only). */
    const volatile unsigned char *h = (const volatile unsigned char *)0xff000;
    puts_(h[0] == 0x7f && h[1] == 'E' && h[2] == 'L' && h[3] == 'F' ?
          "lowhdr: 0xff000 holds the ELF header\n" : "lowhdr: 0xff000 does not hold the ELF header\n");
    const char *cmd = (mbi[0] & 4) ? (const char *)mbi[4] : "";
    unsigned long len = 0;
    while (cmd[len])
        len++;
    puts_("lowhdr: cmdline ");
    putu(len, 10);
    puts_(" bytes: ");
    puts_(cmd);
    puts_("\n");
    puts_("exit status 0\n");
    while (!(inb(0x3f8 + 5) & 0x40))
        ;
    outb(0xf4, 0);
    for (const char *p = "Shutdown"; *p; p++)
        outb(0x8900 & 0xffff, (unsigned char)*p);
    for (;;)
        __asm__ volatile("cli; hlt");
}
