# The GDB session of watchdog.sh on hostile_spin.elf (`cli; jmp .`): attached
# while the guest spins (the stub stopped it on GDB's '?' at a watchdog
# exit), resume, Ctrl-C (kill -INT to this gdb after 1 s), read the
# registers, kill.  tkill/tstop: the times of the Ctrl-C and of the stop.
set pagination off
set confirm off
set width 0
printf "attach-eip=0x%x\n", $eip
shell (sleep 1; date +%s.%N > tkill; kill -INT $PPID) &
continue
shell date +%s.%N > tstop
printf "after-interrupt eip=0x%x if=%d\n", $eip, ($eflags >> 9) & 1
info registers eip eflags
x/2bx $eip
kill
echo killed\n
