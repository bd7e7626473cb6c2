# Driven by gdb_svm_bochs.sh: the shorter session of gdb_svm.gdb in Bochs.
set pagination off
set confirm off
set width 0
printf "start eip=0x%x cr0=0x%x cr3=0x%x\n", $eip, $cr0, $cr3
printf "frame0-read=0x%x\n", *(unsigned *)0
# The shadow trace from the first instruction: the guest's paging setup and first faults.
monitor trace on
hbreak gdb_mark
continue
printf "at-hbreak eip=0x%x mark=0x%x\n", $eip, &gdb_mark
delete
break gdb_tick
continue
printf "at-break eip=0x%x tick=0x%x cr0=0x%x cr3=0x%x\n", $eip, &gdb_tick, $cr0, $cr3
stepi
printf "after-stepi eip=0x%x\n", $eip
printf "step-offset=%d\n", $eip - (unsigned)&gdb_tick
delete
printf "alias-read=0x%x\n", *(unsigned *)0x80000000
echo === trace\n
monitor trace dump last=12
echo === trace-va\n
monitor trace dump va=0x80000000-0x80000fff
echo === end trace\n
p $eflags
p $cr0
python
try:
    gdb.execute("set $cr0 = 0xffffffffffffffff")
    print("cr0-accepted")
except gdb.error as e:
    print("cr0-refused: %s" % e)
end
monitor vmmap 0x80000000-0x80001000
shell (sleep 2; kill -INT $PPID) &
continue
printf "after-interrupt eip=0x%x\n", $eip
monitor walk 0x80000004
monitor stats
# Every shadow goes, the IDT's too: the next timer tick faults on its gate.
monitor blow
echo === trace-blow\n
monitor trace dump last=2
echo === end trace-blow\n
monitor trace off
set {unsigned}0x80000004 = 0x600DF00D
continue
echo === done\n
