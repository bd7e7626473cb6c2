# The issue-17 transcript on the PAE GDB test guest (test/e2e/gdb_svm_guest.elf):
#   sh tools/gdb/transcript/session.sh qemu|bochs test/e2e/gdb_svm_guest.elf \
#      tools/gdb/transcript/pae.gdb OUT
# Umbra stops before the guest's first instruction (paging off).  Commands are
# echoed (+cmd) so the output reads as a session.
set pagination off
set confirm off
set width 0
set trace-commands on
# --- registers as flags, at the first instruction (paging off)
p $eflags
p $cr0
p/x $cr0
umbra regs
# --- guest frame 0: paging is off, VA 0 is gpa 0; then by physical address
x/4xw 0
umbra phys on
x/4xw 0
umbra phys off
# --- the trace on, run until the guest has paging and its alias mapped
monitor trace on
break gdb_tick
continue
delete
p $eflags
p $cr0
p $cr4
p $efer
# --- a bad CR0 write is refused, the guest keeps its CR0
python
for reg, val in (("cr0", "0xffffffffffffffff"), ("cr0", "0x80000010ULL"), ("cr4", "0xffffffff00000000")):
    try:
        gdb.execute("set $%s = %s" % (reg, val))
        print("%s = %s accepted" % (reg, val))
    except gdb.error as e:
        print("refused: %s" % e)
end
monitor why
p $cr0
# --- guest frame 0 again, now through the PAE tables (VA 0 maps gpa 0) and physically
monitor walk 0
x/4xw 0
umbra phys on
x/4xw 0
umbra phys off
# --- the shadow trace after the guest's first faults
monitor trace dump last=16
umbra trace dump va=0x80000000:0x80000fff
umbra trace off
# --- the address space
monitor vmmap
monitor vmmap -w
monitor vmmap -u
monitor vmmap 0x100000-0x200000 -diff
monitor vmmap 0x80000000-0x80400000
monitor vmmap -diff
umbra vmmap -frame data_page_pa>>12
monitor vmmap -bogus
# --- the graph: whole, and only the subtree of the alias page
umbra graph /tmp/umbra-transcript-pae.png
umbra graph /tmp/umbra-transcript-pae-alias.png 0x80000000 0x80000fff
shell file /tmp/umbra-transcript-pae.png /tmp/umbra-transcript-pae-alias.png | sed 's/, 8-bit.*//'
shell grep '// va' /tmp/umbra-transcript-pae-alias.dot
# --- memory speed: x through the dcache (umbra cache x, the default) and without it
umbra cache
python import time
python t = time.time(); gdb.execute("x/1024x 0x100000", to_string=True); print("x/1024x, umbra cache x:   %.3f s" % (time.time() - t))
umbra cache off
python t = time.time(); gdb.execute("x/1024x 0x100000", to_string=True); print("x/1024x, umbra cache off: %.3f s" % (time.time() - t))
umbra cache x
python t = time.time(); gdb.execute("dump binary memory /tmp/umbra-transcript-64k.bin 0x100000 0x110000"); print("dump binary memory 64 KiB: %.3f s" % (time.time() - t))
python t = time.time(); gdb.execute("stepi 10", to_string=True); print("stepi 10: %.3f s" % (time.time() - t))
# --- let the guest end: the mailbox it waits for, by its virtual alias
set {unsigned}0x80000004 = 0x600DF00D
continue
