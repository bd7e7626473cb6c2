# Second GDB on the long-mode guest: started with `set architecture i386:x86-64`
# before `file` and `target remote` (as the stop message says); rip, r8-r15
# and 64-bit disassembly.
set pagination off
set confirm off
set width 0
set trace-commands on
show architecture
p/x $rip
p $efer
p $cr0
p $cr4
p $eflags
info registers rip rsp r8 r12
x/3i $pc
stepi
x/4i $pc
umbra mode
monitor vmmap 0x0-0x400000
monitor trace on
stepi 20
monitor trace dump last=8
umbra trace off
continue
