# Item 4's figures, timed inside GDB (wall time of each command, its output
# going to the transcript file).  Packets: run with `set debug remote 1`
# (session.sh GDB_DEBUG=1) and count the "Sending packet" lines between the
# "=== " markers (written to GDB's log stream, where the packets go);
# timing.sh makes both runs.
python import time
python gdb.write("=== begin x/1024x\n", gdb.STDLOG)
python umbra_t0 = time.time()
x/1024x 0x100000
python gdb.write("=== end x/1024x: %.3f s\n" % (time.time() - umbra_t0), gdb.STDLOG)
python gdb.write("=== begin dump64k\n", gdb.STDLOG)
python umbra_t0 = time.time()
dump binary memory /tmp/umbra-dump64k.bin 0x100000 0x110000
python gdb.write("=== end dump64k: %.3f s\n" % (time.time() - umbra_t0), gdb.STDLOG)
python gdb.write("=== begin stepi10\n", gdb.STDLOG)
python umbra_t0 = time.time()
stepi 10
python gdb.write("=== end stepi10: %.3f s\n" % (time.time() - umbra_t0), gdb.STDLOG)
python gdb.write("=== begin x/1024x-after-stepi\n", gdb.STDLOG)
python umbra_t0 = time.time()
x/1024x 0x100000
python gdb.write("=== end x/1024x-after-stepi: %.3f s\n" % (time.time() - umbra_t0), gdb.STDLOG)
shell stat -c 'dump size %s' /tmp/umbra-dump64k.bin
kill
