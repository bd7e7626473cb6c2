# Umbra GDB helpers: `source tools/gdb/umbra.py` after `target remote ...`.
#
#   umbra walk ADDR       guest walk and shadow walk of ADDR side by side
#   umbra shadows         every shadow page (frame, guest frame, type, refcount, pin)
#   umbra shadow MFN      one shadow table's entries with their guest entries
#   umbra stats           shadow counters
#   umbra pool            shadow pool usage
#   umbra audit           check every shadow against the guest tables
#   umbra mode            paging mode, control registers, register layout
#   umbra graph FILE.png  render guest tables + shadows with Graphviz (monitor dot | dot -Tpng)
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
    """Umbra hypervisor commands: walk, shadows, shadow, stats, pool, audit, mode, graph."""

    def __init__(self):
        super().__init__("umbra", gdb.COMMAND_USER, prefix=True)


class _Simple(gdb.Command):
    def __init__(self, name, mon, doc):
        self.__doc__ = doc
        super().__init__("umbra " + name, gdb.COMMAND_USER)
        self.mon = mon

    def invoke(self, arg, from_tty):
        gdb.write(monitor(self.mon))


class UmbraWalk(gdb.Command):
    """umbra walk ADDR: the guest walk and the shadow walk of ADDR side by side."""

    def __init__(self):
        super().__init__("umbra walk", gdb.COMMAND_USER)

    def invoke(self, arg, from_tty):
        gdb.write(monitor("walk 0x%x" % _addr(arg)))


class UmbraShadow(gdb.Command):
    """umbra shadow MFN: the non-empty entries of one shadow table."""

    def __init__(self):
        super().__init__("umbra shadow", gdb.COMMAND_USER)

    def invoke(self, arg, from_tty):
        gdb.write(monitor("shadow 0x%x" % _addr(arg)))


class UmbraGraph(gdb.Command):
    """umbra graph FILE.png: render the address space (monitor dot) with Graphviz.
Also writes FILE.dot next to it.  The dot program comes from $DOT or PATH."""

    def __init__(self):
        super().__init__("umbra graph", gdb.COMMAND_USER, gdb.COMPLETE_FILENAME)

    def invoke(self, arg, from_tty):
        out = arg.strip()
        if not out:
            raise gdb.GdbError("usage: umbra graph FILE.png")
        text = monitor("dot")
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
                                                      + text.count("[label=\"guest")))


Umbra()
UmbraWalk()
UmbraShadow()
UmbraGraph()
_Simple("shadows", "shadows", "umbra shadows: every shadow page with type, refcount, pin.")
_Simple("stats", "stats", "umbra stats: the shadow MMU counters.")
_Simple("pool", "pool", "umbra pool: shadow pool usage.")
_Simple("audit", "audit", "umbra audit: check every shadow against the guest tables.")
_Simple("mode", "mode", "umbra mode: paging mode, control registers, register layout.")
