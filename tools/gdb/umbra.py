# Umbra GDB helpers: `source tools/gdb/umbra.py` after `target remote ...`.
#
# One `umbra` command per `monitor` command.  Where the monitor command takes
# a number, the umbra one takes any GDB expression ($pc, &var, $cr3 >> 12,
# 0x401000+4) and passes its value as 0x-hex; `monitor` itself only takes
# 0x-hex or decimal (GDB hands monitor lines to the stub unevaluated).
#
#   umbra walk EXPR       guest walk and shadow walk of an address side by side
#   umbra vmmap [START [END]] [-w -x -u -s -diff -frame GFN]   the address space as ranges
#   umbra shadows         every shadow page (frame, guest frame, type, refcount, pin)
#   umbra shadow EXPR     one shadow table's entries with their guest entries
#   umbra stats [-a|-d]   counters by group: non-zero, -a all, -d changed since the last call
#   umbra pool            shadow pool usage
#   umbra audit           check every shadow against the guest tables
#   umbra blow            tear down the shadows not in use (rebuilt on demand)
#   umbra mode            paging mode, control registers, register layout
#   umbra phys on|off     m/M/X by guest-physical or guest-virtual address
#   umbra arch i386|x86-64|auto   layout for the next connection
#   umbra why             the last refused request and why
#   umbra dot [FILE [START [END]]]   the Graphviz text of monitor dot (to FILE)
#   umbra graph FILE.png [START [END]]  render guest tables + shadows with Graphviz
#                         (monitor dot | dot -Tpng); with a VA range only its subtree
#   umbra help            the monitor's own list
#   umbra regs            the system registers with their flags (GDB 13 leaves
#                         `info registers system` empty for i386, see UmbraRegs)
#   umbra cache [x|on|off] [LINE]  GDB's data cache over guest memory: by default
#                         (x) only while an `x` command runs, so x/1024x takes one
#                         packet instead of 1024; see UmbraCache
#
# Each is a thin wrapper over Umbra's `monitor` commands, so they work over any
# GDB connection to Umbra's stub (serial line, emulator socket).
import os
import shutil
import subprocess

import gdb


def monitor(cmd):
    """Run `monitor CMD` and return its text output."""
    return gdb.execute("monitor " + cmd, to_string=True)


def _addr(arg):
    if not arg.strip():
        raise gdb.GdbError("an address expression is required")
    return int(gdb.parse_and_eval(arg)) & 0xFFFFFFFFFFFFFFFF


class Umbra(gdb.Command):
    """Umbra hypervisor commands, one per monitor command (numbers as GDB expressions):
walk, shadows, shadow, stats, pool, audit, blow, mode, phys, arch, why, dot, graph, help,
trace, vmmap, regs, cache."""

    def __init__(self):
        super().__init__("umbra", gdb.COMMAND_USER, prefix=True)


class _Simple(gdb.Command):
    def __init__(self, name, mon, doc):
        self.__doc__ = doc
        super().__init__("umbra " + name, gdb.COMMAND_USER)
        self.mon = mon

    def invoke(self, arg, from_tty):
        gdb.write(monitor(self.mon))


class _Expr(gdb.Command):
    """A monitor command whose argument is a number: evaluated by GDB here."""

    def __init__(self, name, doc):
        self.__doc__ = doc
        super().__init__("umbra " + name, gdb.COMMAND_USER, gdb.COMPLETE_EXPRESSION)
        self.name = name

    def invoke(self, arg, from_tty):
        gdb.write(monitor("%s 0x%x" % (self.name, _addr(arg))))


class _Words(gdb.Command):
    """A monitor command whose argument is one of a few words."""

    def __init__(self, name, words, doc):
        self.__doc__ = doc
        super().__init__("umbra " + name, gdb.COMMAND_USER)
        self.name, self.words = name, words

    def complete(self, text, word):
        return [w for w in self.words if w.startswith(text.strip())]

    def invoke(self, arg, from_tty):
        a = arg.strip()
        if a and a not in self.words:
            raise gdb.GdbError("usage: umbra %s [%s]" % (self.name, "|".join(self.words)))
        gdb.write(monitor((self.name + " " + a).strip()))


class UmbraRegs(gdb.Command):
    """umbra regs: the system registers (cr0 cr2 cr3 cr4 efer, segment bases, the guest's
debug registers, GDTR/IDTR/LDTR/TR), hex and flags.
GDB 13's i386 backend files every register it does not know under "general"
(it ignores the target description's group="system"), so `info registers
system` is empty; this prints that group."""

    NAMES = ("cr0", "cr2", "cr3", "cr4", "efer", "cs_base", "ss_base", "ds_base", "es_base",
             "fs_base", "gs_base", "dr0", "dr1", "dr2", "dr3", "dr6", "dr7", "gdtr_base", "gdtr_limit",
             "idtr_base", "idtr_limit", "ldtr", "ldtr_base", "ldtr_limit", "tr", "tr_base", "tr_limit")

    def __init__(self):
        super().__init__("umbra regs", gdb.COMMAND_USER)

    def invoke(self, arg, from_tty):
        for name in self.NAMES:
            v = gdb.parse_and_eval("$" + name)
            raw = int(v.cast(gdb.lookup_type("unsigned long long")))
            shown = str(v)
            gdb.write("%-10s 0x%-16x %s\n" % (name, raw, shown if shown.startswith("[") else ""))


class UmbraVmmap(gdb.Command):
    """umbra vmmap [START [END]] [-w] [-x] [-u|-s] [-diff] [-frame GFN]: the address space
as merged ranges with the guest's rights and the shadow's state (monitor vmmap), START,
END and GFN as GDB expressions (no spaces inside one: &buf+0x1000, $cr3>>12)."""

    FLAGS = ("-w", "-x", "-u", "-s", "-diff")

    def __init__(self):
        super().__init__("umbra vmmap", gdb.COMMAND_USER, gdb.COMPLETE_EXPRESSION)

    def invoke(self, arg, from_tty):
        argv = gdb.string_to_argv(arg)
        out, nums = [], []
        i = 0
        while i < len(argv):
            a = argv[i]
            if a in self.FLAGS:
                out.append(a)
            elif a == "-frame":
                if i + 1 == len(argv):
                    raise gdb.GdbError("umbra vmmap: -frame needs a frame number")
                out.append("-frame 0x%x" % _addr(argv[i + 1]))
                i += 1
            else:
                nums.append(_addr(a))
            i += 1
        if len(nums) > 2:
            raise gdb.GdbError("usage: umbra vmmap [START [END]] [-w] [-x] [-u|-s] [-diff] [-frame GFN]")
        rng = "0x%x-0x%x" % tuple(nums) if len(nums) == 2 else "0x%x" % nums[0] if nums else ""
        gdb.write(monitor(" ".join(["vmmap", rng] + out).replace("  ", " ")))


def _dot_cmd(exprs, usage):
    """monitor dot with an optional VA range given as one or two GDB expressions."""
    if len(exprs) > 2:
        raise gdb.GdbError(usage)
    v = [_addr(e) for e in exprs]
    if len(v) == 2 and v[1] <= v[0]:
        raise gdb.GdbError("umbra: END 0x%x is not above START 0x%x; %s" % (v[1], v[0], usage))
    return "dot" + ("" if not v else " 0x%x" % v[0] if len(v) == 1 else " 0x%x-0x%x" % (v[0], v[1]))


class UmbraDot(gdb.Command):
    """umbra dot [FILE [START [END]]]: the Graphviz DOT text of monitor dot, printed or written
to FILE; with START (and END, GDB expressions) only the subtree of that VA range."""

    def __init__(self):
        super().__init__("umbra dot", gdb.COMMAND_USER, gdb.COMPLETE_FILENAME)

    def invoke(self, arg, from_tty):
        argv = gdb.string_to_argv(arg)
        text = monitor(_dot_cmd(argv[1:], "usage: umbra dot [FILE [START [END]]]"))
        out = argv[0] if argv else ""
        if not out:
            gdb.write(text)
            return
        with open(out, "w") as f:
            f.write(text[max(text.find("digraph"), 0):])
        gdb.write("umbra: dot: %s\n" % out)


class UmbraGraph(gdb.Command):
    """umbra graph FILE.png [START [END]]: render the address space (monitor dot) with Graphviz.
With START (and END), GDB expressions, only the subtree of that VA range: the shadows
mapping part of it, their guest tables and the links between them -- for address
spaces too large to read whole (Linux: hundreds of tables).
Also writes FILE.dot next to it.  The dot program comes from $DOT or PATH."""

    def __init__(self):
        super().__init__("umbra graph", gdb.COMMAND_USER, gdb.COMPLETE_FILENAME)

    def invoke(self, arg, from_tty):
        argv = gdb.string_to_argv(arg)
        usage = "usage: umbra graph FILE.png [START [END]]"
        if not argv:
            raise gdb.GdbError(usage)
        out = argv[0]
        text = monitor(_dot_cmd(argv[1:], usage))
        start = text.find("digraph")
        if start < 0:
            raise gdb.GdbError("monitor dot gave no graph: " + text.strip())
        text = text[start:]
        base = out[:-4] if out.endswith(".png") else out
        with open(base + ".dot", "w") as f:
            f.write(text)
        dot = os.environ.get("DOT") or shutil.which("dot")
        if not dot:
            raise gdb.GdbError("Graphviz 'dot' not found (wrote %s.dot)" % base)
        r = subprocess.run([dot, "-Tpng", "-o", out], input=text.encode(),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if r.returncode != 0:
            raise gdb.GdbError("dot failed: " + r.stderr.decode(errors="replace"))
        gdb.write("umbra: graph: %s (%d nodes)\n" % (out, text.count("[label=\"smfn")
                                                      + text.count("[label=\"guest gfn")))   # not the legend


Umbra()
UmbraRegs()
UmbraVmmap()
_Expr("walk", "umbra walk EXPR: the guest walk and the shadow walk of the address EXPR side by side.")
_Expr("shadow", "umbra shadow EXPR: the non-empty entries of the shadow table in frame EXPR.")
UmbraGraph()
UmbraDot()
_Simple("shadows", "shadows", "umbra shadows: every shadow page with type, refcount, pin.")
_Words("stats", ["-a", "-d"], "umbra stats [-a|-d]: the counters by group (non-zero; -a all; -d changed since the last stats).")
_Simple("pool", "pool", "umbra pool: shadow pool usage.")
_Simple("audit", "audit", "umbra audit: check every shadow against the guest tables.")
_Simple("blow", "blow", "umbra blow: tear down every shadow not in use (rebuilt on demand).")
_Simple("mode", "mode", "umbra mode: paging mode, control registers, register layout.")
_Simple("why", "why", "umbra why: the last request Umbra refused, and why.")
_Simple("help", "help", "umbra help: the monitor commands, as Umbra lists them.")
class UmbraPhys(_Words):
    """umbra phys on|off: memory by guest-physical (on) or guest-virtual (off) address.
The addresses change meaning, so GDB's data cache is flushed."""

    def __init__(self):
        super().__init__("phys", ["on", "off"], self.__doc__)

    def invoke(self, arg, from_tty):
        super().invoke(arg, from_tty)
        gdb.execute("maintenance flush dcache", to_string=True)


UmbraPhys()
_Words("arch", ["i386", "x86-64", "auto"], "umbra arch i386|x86-64|auto: the layout for the next connection.")


class UmbraTrace(gdb.Command):
    """umbra trace on|off|clear|dump [va=START[:END]] [gfn=GFN] [last=N]: the shadow-MMU
event ring (monitor trace) as a table: seq, kind, guest RIP, VA, gfn, shadow frame,
old and new entry.  START, END, GFN and N are GDB expressions (no spaces inside one:
va=&buf:&buf+0x1000, gfn=$cr3>>12)."""

    def __init__(self):
        super().__init__("umbra trace", gdb.COMMAND_USER, gdb.COMPLETE_EXPRESSION)

    def invoke(self, arg, from_tty):
        argv = gdb.string_to_argv(arg)
        usage = "usage: umbra trace on|off|clear|dump [va=START[:END]] [gfn=GFN] [last=N]"
        if not argv or argv[0] not in ("on", "off", "clear", "dump"):
            raise gdb.GdbError(usage)
        if argv[0] != "dump" and len(argv) > 1:
            raise gdb.GdbError(usage)
        out = [argv[0]]
        for a in argv[1:]:
            key, eq, val = a.partition("=")
            if not eq or key not in ("va", "gfn", "last"):
                raise gdb.GdbError("umbra trace: unknown filter '%s'; %s" % (a, usage))
            if key == "va":
                lo, colon, hi = val.partition(":")
                out.append("va=0x%x" % _addr(lo) + ("-0x%x" % _addr(hi) if colon else ""))
            else:
                out.append("%s=0x%x" % (key, _addr(val)))
        gdb.write(monitor("trace " + " ".join(out)))


UmbraTrace()


class UmbraCache(gdb.Command):
    """umbra cache [x | on | off] [LINE]: GDB's data cache (dcache) over the guest's memory.
GDB reads every value of an examine on its own (x/1024x: 1024 `m` packets) unless
the memory is in a cacheable region; then it reads whole LINE-byte lines and keeps
them until the guest runs again (GDB empties the cache at every resume).  While the
guest is stopped only GDB's own writes change its memory, and they go through the
cache, so cached reads are exact.  But a line is read whole even for one byte, and
a large read (dump) is cut into lines: so by default the region exists only while
an `x` command runs.
  x     (the default, set when umbra.py is sourced) hook-x / hookpost-x add `mem 0 0
        cache` around each x and delete it after; LINE defaults to 4096.
  on    the region always (every read in lines; stepi then reads a LINE at pc).
  off   no region: GDB's own behaviour.
  LINE  the line size, a power of two from 64 to 4096 bytes: a line then never
        crosses a page, so it reads exactly when the value it holds does.
Without an argument: the state.  `umbra phys` flushes the cache (addresses change
meaning).  The hooks replace any hook-x / hookpost-x of your own."""

    mode = "off"
    line = 4096
    region = None      # the number of the `mem` region in place now, if any

    def __init__(self):
        super().__init__("umbra cache", gdb.COMMAND_USER)

    @classmethod
    def _add(cls):
        if cls.region is not None:
            return
        gdb.execute("set dcache line-size %d" % cls.line, to_string=True)
        before = set(gdb.execute("info mem", to_string=True).splitlines())
        gdb.execute("mem 0 0 cache", to_string=True)
        rows = [l.split()[0] for l in gdb.execute("info mem", to_string=True).splitlines()
                if l[:1].isdigit() and l not in before]
        cls.region = int(rows[-1]) if rows else None

    @classmethod
    def _drop(cls):
        if cls.region is not None:
            try:
                gdb.execute("delete mem %d" % cls.region, to_string=True)
            except gdb.error:
                pass    # the user deleted it
            cls.region = None
        gdb.execute("maintenance flush dcache", to_string=True)

    @classmethod
    def x_begin(cls):
        if cls.mode == "x":
            cls._add()

    @classmethod
    def x_end(cls):
        if cls.mode == "x":
            cls._drop()

    @classmethod
    def _on_resume(cls, event):
        # An x that failed never ran hookpost-x: do not step with the region on.
        if cls.mode == "x" and cls.region is not None:
            cls._drop()

    @classmethod
    def set_mode(cls, mode, line=None):
        cls._drop()
        if line:
            cls.line = line
        if cls.mode == "x" and mode != "x":
            gdb.execute("define hook-x\nend", to_string=True)
            gdb.execute("define hookpost-x\nend", to_string=True)
        if mode == "x" and cls.mode != "x":
            gdb.execute("define hook-x\npython UmbraCache.x_begin()\nend", to_string=True)
            gdb.execute("define hookpost-x\npython UmbraCache.x_end()\nend", to_string=True)
        cls.mode = mode
        if mode == "on":
            cls._add()

    def invoke(self, arg, from_tty):
        argv = gdb.string_to_argv(arg)
        usage = "usage: umbra cache [x | on | off] [LINE] (LINE: a power of two from 64 to 4096 bytes)"
        if not argv:
            gdb.write("umbra cache: %s, line %d bytes%s\n" % (
                {"x": "x (cached while an x command runs)", "on": "on (always)", "off": "off"}[self.mode],
                self.line, " (mem region %d)" % self.region if self.region is not None else ""))
            return
        if argv[0] not in ("x", "on", "off") or len(argv) > 2 or (argv[0] == "off" and len(argv) == 2):
            raise gdb.GdbError(usage)
        line = None
        if len(argv) == 2:
            try:
                line = int(argv[1], 0)
            except ValueError:
                line = -1
            if line < 64 or line > 4096 or line & (line - 1):
                raise gdb.GdbError("umbra cache: bad LINE '%s'; %s" % (argv[1], usage))
        self.set_mode(argv[0], line)
        self.invoke("", from_tty)


UmbraCache()
gdb.events.cont.connect(UmbraCache._on_resume)
UmbraCache.set_mode("x")
