# The issue-17 transcript on Linux (Debian's i386 686-pae kernel, test/linux):
#   tools/gdb/transcript/linux.sh qemu|bochs OUT
# Umbra stops before the kernel's first instruction; GDB lets it boot for
# $UMBRA_LX_WAIT seconds (Ctrl-C from a shell), then looks at its PAE address
# space, traces a second of its shadow-MMU work and kills it.  No symbols
# (bzImage is not an ELF): addresses only.
set pagination off
set confirm off
set width 0
set trace-commands on
p $eflags
p $cr0
python import os; gdb.execute("shell (sleep %s; kill -INT $PPID) &" % os.environ.get("UMBRA_LX_WAIT", "20"))
continue
p $eflags
p $cr0
p $cr4
p $efer
p/x $cr3
umbra mode
# --- the guest's debug and descriptor-table registers (the "system" group)
p $dr7
p $dr6
p/x $dr0
p/x $gdtr_base
p $gdtr_limit
p/x $idtr_base
p $idtr_limit
p $tr
p/x $tr_base
p $tr_limit
# --- a bad CR0 write is refused, the kernel keeps its CR0
python
for reg, val in (("cr0", "0xffffffffffffffff"), ("cr0", "0x80000010ULL"), ("efer", "0x500ULL"),
                 ("gdtr_base", "0"), ("dr7", "0x100000400ULL")):
    try:
        gdb.execute("set $%s = %s" % (reg, val))
        print("%s = %s accepted" % (reg, val))
    except gdb.error as e:
        print("refused: %s" % e)
end
p $cr0
# --- guest frame 0, by physical address (Linux maps no VA 0 for the kernel)
umbra phys on
x/8xw 0
umbra phys off
monitor walk 0xc0000000
# --- the address space: the kernel's direct map, the user part, one range
monitor vmmap 0xc0000000-0xc2000000
monitor vmmap -u
monitor vmmap 0xc0000000-0xd0000000 -w -x
monitor vmmap -diff 0xc0000000-0xc1000000
umbra vmmap -frame 0x1000
# --- the graph: whole (hundreds of tables), and only the subtree of 4 MiB of the kernel
umbra graph /tmp/umbra-transcript-lx.png
umbra graph /tmp/umbra-transcript-lx-sub.png 0xc1000000 0xc13fffff
shell file /tmp/umbra-transcript-lx.png /tmp/umbra-transcript-lx-sub.png | sed 's/, 8-bit.*//'
shell grep '// va' /tmp/umbra-transcript-lx-sub.dot
# --- a second of the kernel's shadow-MMU work in the trace ring
monitor trace on
python gdb.execute("shell (sleep 1; kill -INT $PPID) &")
continue
monitor trace dump last=20
# (the kernel moves with KASLR: filter on the 16 MiB around where it was stopped)
umbra trace dump va=(unsigned)$pc&0xff000000:(unsigned)$pc|0xffffff last=8
monitor stats
umbra trace off
# --- memory speed on Linux: x/1024x through the dcache and without, a 64 KiB dump, stepi 10
python import time
python t = time.time(); gdb.execute("x/1024x 0xc0100000", to_string=True); print("x/1024x, umbra cache x:   %.3f s" % (time.time() - t))
umbra cache off
python t = time.time(); gdb.execute("x/1024x 0xc0100000", to_string=True); print("x/1024x, umbra cache off: %.3f s" % (time.time() - t))
umbra cache x
python t = time.time(); gdb.execute("dump binary memory /tmp/umbra-transcript-lx64k.bin 0xc0100000 0xc0110000"); print("dump binary memory 64 KiB: %.3f s" % (time.time() - t))
python t = time.time(); gdb.execute("stepi 10", to_string=True); print("stepi 10: %.3f s" % (time.time() - t))
x/2i $pc
kill
