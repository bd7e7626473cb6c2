# The long-mode guest (test/guests/long.elf) across its mode switch, first GDB:
# it attaches in the i386 layout (the guest starts in 32-bit protected mode),
# runs until Umbra stops it at the switch to long mode, and disconnects.
# session.sh runs long2.gdb next with `set architecture i386:x86-64` (SCRIPT2).
set pagination off
set confirm off
set width 0
set trace-commands on
show architecture
p $eip
p $cr0
p $efer
x/2i $pc
continue
p $eip
p $efer
p $cr0
p $cr4
umbra mode
disconnect
