# gdb -batch -x bench/exitprof.py (run by bench/qemu-exitprof.sh): counts Umbra's instructions per #VMEXIT by
# single-stepping the host in QEMU's own gdbstub, from the instruction after
# VMRUN to the next VMRUN, and attributes each to its function.
import gdb, os, collections
elf = os.environ.get("UMBRA_ELF", "umbra.elf")
ec = os.environ.get("EXIT_CODE", "0x4e")              # exception-14; "any": every exit
want = None if ec == "any" else int(ec, 0)
warm = int(os.environ.get("WARM", "2000"))             # exits skipped first
samples = int(os.environ.get("SAMPLES", "20"))
every = int(os.environ.get("EVERY", "1"))              # sample every N-th matching exit
gdb.execute("set pagination off")
gdb.execute("set confirm off")
gdb.execute("file " + elf)
gdb.execute("target remote :" + os.environ.get("PORT", "1234"))
vmrun_pc = int(os.environ["VMRUN_PC"], 0); vmsave_pc = int(os.environ["VMSAVE_PC"], 0)
print("vmrun at %#x, vmsave at %#x" % (vmrun_pc, vmsave_pc))
gdb.execute("hbreak *%#x" % vmsave_pc)
inf = gdb.selected_inferior()
def exitcode():
    rax = int(gdb.parse_and_eval("$rax")) & 0xffffffffffffffff
    b = inf.read_memory(rax + 0x70, 8).tobytes()        # VMCB EXITCODE (include/umbra/svm.h)
    return int.from_bytes(b, "little")
asm_names = {}
def asm_name(pc):
    """The symbol of a pc outside any debug-info function (assembly: vmrun.S, isr.S)."""
    if pc not in asm_names:
        w = gdb.execute("info symbol %#x" % pc, to_string=True).split()
        asm_names[pc] = (w[0] + " (asm)") if w and w[0] != "No" else "?%#x" % pc
    return asm_names[pc]
seen = 0
while seen < warm:
    gdb.execute("continue", to_string=True)
    seen += 1
func = collections.Counter(); total = []; per = {}
n = 0; m = 0
while n < samples:
    gdb.execute("continue", to_string=True)
    code = exitcode()
    if want is not None and code != want:
        continue
    m += 1
    if m % every:
        continue
    cnt = 0
    while True:
        gdb.execute("stepi", to_string=True)
        pc = int(gdb.parse_and_eval("$pc")) & 0xffffffffffffffff
        cnt += 1
        if pc == vmrun_pc: break
        b = gdb.block_for_pc(pc)
        f = b.function if b else None
        while b and not f:
            b = b.superblock; f = b.function if b else None
        func[f.name if f else asm_name(pc)] += 1
    total.append(cnt); n += 1
    per.setdefault(code, []).append(cnt)
    print("exit %d: code %#x %d instructions" % (n, code, cnt), flush=True)
print("exits=%d mean=%.0f min=%d max=%d" % (len(total), sum(total)/len(total), min(total), max(total)))
for code, l in sorted(per.items()):
    print("code %#x: n=%d mean=%.0f min=%d max=%d" % (code, len(l), sum(l)/len(l), min(l), max(l)))
for f, c in func.most_common(60):
    print("%8.1f %s" % (c / len(total), f))
gdb.execute("kill")
