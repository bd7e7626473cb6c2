# Driven by gdb_qemu_uart.sh and gdb_bochs_uart.sh: real GDB over the
# emulator's COM2 socket to the stub in a bare-metal kernel (16550 driver +
# stub + fake target, no hypervisor).
set pagination off
set confirm off
set width 0
printf "eip=0x%x cr3=0x%x\n", $eip, $cr3
x/4xb 0x400000
set {int}0x402000 = 0x12345678
x/xw 0x402000
break *0x400005
continue
stepi
printf "step eip=0x%x eax=%d\n", $eip, $eax
delete
hbreak *0x40000c
continue
printf "at-hbp eip=0x%x\n", $eip
delete
watch *(int *)0x401000
continue
printf "after-watch mem=%d eax=%d\n", *(int *)0x401000, $eax
delete
shell (sleep 0.5; kill -INT $PPID) &
continue
printf "after-interrupt eip=0x%x\n", $eip
info threads
monitor walk 0x404000
monitor dot
source tools/gdb/umbra.py
umbra shadows
umbra graph qemu_uart.png
x/8xw 0x4017e0
echo === done\n
kill
