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
# Writes by virtual address (paging_ops.write_guest): a software breakpoint,
# which GDB plants as an int3 through a virtual memory write, then an
# unmapped VA, which must be refused, then the guest's mailbox (alias VA + 4:
# the guest ends once it holds 0x600DF00D).
break gdb_tick
continue
printf "at-swbreak eip=0x%x\n", $eip
delete
printf "counter-before=%u\n", counter
set {unsigned}&counter = 0x7777
printf "counter-after=0x%x\n", counter
python
try:
    gdb.execute("set {unsigned}0xc0000000 = 1")
    print("unmapped-write=accepted")
except gdb.error as e:
    print("unmapped-write-refused: %s" % e)
end
set {unsigned}0x80000004 = 0x600DF00D
printf "mailbox-virt=0x%x\n", *(unsigned *)0x80000004
monitor phys on
printf "mailbox-phys=0x%x\n", *(unsigned *)(data_page_pa + 4)
monitor phys off
echo === continue\n
continue
