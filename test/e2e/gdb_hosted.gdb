# Driven by gdb_hosted.sh after `target remote`: the real GDB against the real
# stub serving the fake target (toy program at 0x400000, data at 0x401000).
set pagination off
set confirm off
set width 0
echo === arch\n
show architecture
echo === regs\n
printf "eip=0x%x esp=0x%x cr3=0x%x efer=0x%x\n", $eip, $esp, $cr3, $efer
echo === mem\n
x/4xb 0x400000
x/2xw 0x401000
set {int}0x402000 = 0x12345678
x/xw 0x402000
echo === break\n
break *0x400005
continue
printf "at-bp eip=0x%x eax=%d\n", $eip, $eax
stepi
printf "step1 eip=0x%x eax=%d\n", $eip, $eax
stepi
printf "step2 eip=0x%x ebx=%d\n", $eip, $ebx
continue
printf "bp-again eip=0x%x eax=%d\n", $eip, $eax
delete
echo === adjacent\n
break *0x400006
break *0x400007
continue
printf "adj1 eip=0x%x\n", $eip
continue
printf "adj2 eip=0x%x\n", $eip
delete
echo === hbreak\n
hbreak *0x40000c
continue
printf "at-hbp eip=0x%x\n", $eip
delete
echo === watch\n
watch *(int *)0x401000
continue
printf "after-watch eip=0x%x mem=%d eax=%d\n", $eip, *(int *)0x401000, $eax
delete
echo === setreg\n
set $eax = 1000
printf "eax-now=%d\n", $eax
echo === interrupt\n
shell (sleep 0.3; kill -INT $PPID) &
continue
printf "after-interrupt eip=0x%x\n", $eip
echo === threads\n
info threads
echo === monitor\n
monitor help
monitor walk 0x401000
monitor bogus
echo === python\n
source tools/gdb/umbra.py
umbra walk 0x401000+4
umbra shadows
umbra stats
umbra stats -a
umbra pool
umbra audit
umbra shadow 0x82
umbra mode
umbra graph gdb_hosted.png
p $eflags
p $cr0
p/x $cr0
p $cr4
p $efer
umbra regs
umbra walk $pc
umbra shadow (0x8000 + 0x200) >> 8
umbra why
umbra phys on
umbra phys off
umbra arch auto
umbra dot gdb_hosted_dot.txt
umbra graph gdb_hosted_sub.png 0 0x1000-1
umbra dot gdb_hosted_sub.txt 0x400000
python
for bad in ("gdb_hosted_bad.png 1 2 3", "gdb_hosted_bad.png 0x2000 0x1000", "gdb_hosted_bad.png nosuchsymbol"):
    try:
        gdb.execute("umbra graph " + bad)
    except gdb.error as e:
        print("graph-refused: %s" % e)
end
umbra help
monitor walk $pc
monitor walk 4198400
umbra blow
umbra shadows
echo === cache\n
umbra cache
x/8xw 0x401000
python gdb.write("=== cache-x-begin\n", gdb.STDLOG)
set debug remote 1
x/8xw 0x401000
set debug remote 0
python gdb.write("=== cache-x-end\n", gdb.STDLOG)
info mem
umbra cache off
python gdb.write("=== cache-off-begin\n", gdb.STDLOG)
set debug remote 1
x/8xw 0x401000
set debug remote 0
python gdb.write("=== cache-off-end\n", gdb.STDLOG)
umbra cache on 64
info mem
umbra cache x
python
try:
    gdb.execute("umbra cache bogus")
except gdb.error as e:
    print(e)
end
python
try:
    gdb.execute("umbra cache on 100")
except gdb.error as e:
    print(e)
end
python
try:
    gdb.execute("umbra cache on 8192")
except gdb.error as e:
    print(e)
end
python
try:
    gdb.execute("umbra cache on 32")
except gdb.error as e:
    print(e)
end
python
try:
    gdb.execute("umbra cache on 0x")
except gdb.error as e:
    print(e)
end
python
try:
    gdb.execute("umbra cache off 64")
except gdb.error as e:
    print(e)
end
python
try:
    gdb.execute("umbra cache x 64 1")
except gdb.error as e:
    print(e)
end
umbra cache
echo === done\n
detach
