# Driven by gdb_npt_qemu.sh: real GDB on Umbra's COM2 stub, the guest
# (gdb_svm_guest.elf) under paging=npt, stopped before its first instruction.
# Virtual reads under npt go through paging_ops.read_guest (npt_walk.c): with
# paging on, VA 0x80000000 is the guest's alias of its data page.
set pagination off
set confirm off
set width 0
printf "start eip=0x%x cr0=0x%x\n", $eip, $cr0
hbreak gdb_tick
continue
printf "at-hbreak eip=0x%x tick=0x%x cr0=0x%x\n", $eip, &gdb_tick, $cr0
printf "alias-read=0x%x\n", *(unsigned *)0x80000000
printf "data-page-pa=0x%x\n", data_page_pa
printf "tick-insn=0x%x\n", *(unsigned char *)gdb_tick
monitor phys on
printf "phys-read=0x%x\n", *(unsigned *)data_page_pa
monitor phys off
delete
# The guest ends once its mailbox (alias VA + 4) holds 0x600DF00D: written by
# physical address (virtual writes under npt are not offered).
monitor phys on
set {unsigned}(data_page_pa + 4) = 0x600DF00D
monitor phys off
echo === continue\n
continue
