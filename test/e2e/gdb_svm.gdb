# Driven by gdb_svm_qemu.sh: real GDB on Umbra's COM2 stub, the guest
# (gdb_svm_guest.elf) under paging=shadow, stopped before its first
# instruction (gdb_wait).  The script prints tagged lines the shell checks.
# It ends with a detach: gdb_svm_attach.gdb
# attaches again to the running guest and lets it finish.
set pagination off
set confirm off
set width 0
printf "start eip=0x%x cr0=0x%x cr3=0x%x\n", $eip, $cr0, $cr3
# Guest frame 0 (paging is off: VA 0 is gpa 0), read, written, read back physically.
printf "frame0-read=0x%x\n", *(unsigned *)0
set {unsigned}0 = 0x0badf00d
monitor phys on
printf "frame0-phys=0x%x\n", *(unsigned *)0
monitor phys off
monitor trace on
hbreak gdb_mark
continue
printf "at-hbreak eip=0x%x mark=0x%x\n", $eip, &gdb_mark
delete
break gdb_tick
continue
printf "at-break eip=0x%x tick=0x%x cr0=0x%x cr3=0x%x\n", $eip, &gdb_tick, $cr0, $cr3
# Control-register writes VMRUN would refuse: refused with the reason, the guest runs on.
python
# (flag-typed 64-bit registers take 64-bit values: GDB refuses an int literal, "Invalid cast")
for reg, val in (("cr0", "0xffffffffffffffff"), ("cr4", "0xffffffff00000000"), ("efer", "0x500ULL")):
    try:
        gdb.execute("set $%s = %s" % (reg, val))
        print("%s-accepted" % reg)
    except gdb.error as e:
        print("%s-refused: %s" % (reg, e))
end
monitor why
printf "after-refusals cr0=0x%x cr4=0x%x efer=0x%x\n", $cr0, $cr4, $efer
stepi
printf "after-stepi eip=0x%x\n", $eip
printf "step-offset=%d\n", $eip - (unsigned)&gdb_tick
delete
# The guest's debug and descriptor-table registers ("system" group), read
# while GDB's own hardware breakpoint holds DR0/DR7 (always-inserted: the Z1
# stays in while stopped): GDB must see the guest's values, not its slot.
set breakpoint always-inserted on
hbreak gdb_mark
# (GDB would answer from the registers it cached before the Z1)
maintenance flush register-cache
printf "sys dr0=0x%x dr7=0x%x gdtr=0x%x/0x%x idtr=0x%x/0x%x ldtr=0x%x tr=0x%x tr_base=0x%x tr_limit=0x%x\n", $dr0, $dr7, $gdtr_base, $gdtr_limit, $idtr_base, $idtr_limit, $ldtr, $tr, $tr_base, $tr_limit
p $dr7
p $dr6
python
for reg, val in (("gdtr_base", "0"), ("tr", "0x28"), ("dr7", "0x100000400ULL"), ("dr7", "0x800ULL")):
    try:
        gdb.execute("set $%s = %s" % (reg, val))
        print("%s-accepted" % reg)
    except gdb.error as e:
        print("%s-refused: %s" % (reg, e))
end
set $dr1 = 0x100000
printf "dr1-after=0x%x gdtr-after=0x%x\n", $dr1, $gdtr_base
set $dr1 = 0
delete
set breakpoint always-inserted off
printf "alias-read=0x%x\n", *(unsigned *)0x80000000
printf "data-page-pa=0x%x\n", data_page_pa
set {unsigned}0x80000008 = 0x5a5a1234
monitor phys on
printf "phys-read=0x%x\n", *(unsigned *)(data_page_pa + 8)
monitor phys off
watch counter
continue
printf "after-watch counter=%u\n", counter
continue
printf "after-watch counter=%u guest-dr7=0x%x\n", counter, dr7_seen
delete
shell (sleep 1; kill -INT $PPID) &
continue
printf "after-interrupt eip=0x%x\n", $eip
monitor walk 0x80000004
source tools/gdb/umbra.py
echo === trace\n
monitor trace dump
umbra trace dump va=0x80000000:0x80000fff last=3
echo === end trace\n
umbra trace off
echo === vmmap\n
monitor vmmap
monitor vmmap -w -diff
umbra vmmap -frame data_page_pa>>12
umbra vmmap 0x80000000 0x80001000
echo === end vmmap\n
umbra graph svm.png
monitor pool
monitor audit
monitor stats
monitor stats -d
monitor stats -x
umbra shadows
echo === detach\n
detach
