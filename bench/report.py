#!/usr/bin/env python3
"""make bench's bookkeeping (bench/README.md): turns the serial output of Bochs
runs into records, prints them with ratios, writes bench.json, compares two
bench.json files.  Counts only: Bochs ticks (deterministic with clock
sync=none), exits per reason, Umbra's own ticks per reason (umbra-bench.elf),
the shadow counters, and a modelled cost that charges each exit what a
VMEXIT/VMRUN round trip costs on AMD hardware (the emulators charge nothing).

  report.py record GUEST MODE OUTPUT >>runs.jsonl   one run's record
  report.py summary runs.jsonl bench.json           lines with ratios + bench.json
  report.py diff OLD.json NEW.json                  what changed between two
"""
import json
import os
import re
import sys

C_EXIT = int(os.environ.get("C_EXIT", "1350"))
C_EXIT_SOURCE = os.environ.get(
    "C_EXIT_SOURCE",
    "a VMEXIT+VMRUN round trip on AMD hardware, measured in a KVM SVM thread on LKML (Dec 2020)")

RE_TICKS = re.compile(r"^run-guest: bochs ticks=(\d+)")
RE_EXIT = re.compile(r"^umbra: exits: ([a-z0-9-]+)=(\d+)$")
RE_HTICKS = re.compile(r"^umbra: exit-ticks: ([a-z0-9-]+)=(\d+) mean=\d+$")
RE_SPLIT = re.compile(r"^umbra: exit-split: ([a-z0-9-]+/[a-z]+)=(\d+) n=(\d+) mean=\d+$")   # umbra-split.elf
RE_COUNTER = re.compile(r"^umbra: shadow: ([a-z_0-9]+)=(\d+)$")           # summary=full
RE_GROUPED = re.compile(r"^umbra: shadow: \[[a-z0-9]+\] ((?:[a-z_0-9]+=\d+ ?)+)$")   # the default
RE_FLUSH = re.compile(r"^umbra: tlb: full flushes=(\d+)$")
RE_STATUS = re.compile(r"^umbra: exit reason=(\S+) status=(\d+)")


def record(guest, mode, path):
    rec = {"guest": guest, "mode": mode, "ticks": None, "exits": {}, "handler_ticks": {},
           "handler_split": {}, "counters": {}, "exit_reason": None}
    with open(path, errors="replace") as f:
        for line in f:
            line = line.rstrip("\r\n")
            m = RE_TICKS.match(line)
            if m:
                rec["ticks"] = int(m.group(1))
                continue
            m = RE_EXIT.match(line)
            if m:
                rec["exits"][m.group(1)] = int(m.group(2))
                continue
            m = RE_HTICKS.match(line)
            if m:
                rec["handler_ticks"][m.group(1)] = int(m.group(2))
                continue
            m = RE_SPLIT.match(line)
            if m:
                rec["handler_split"][m.group(1)] = {"ticks": int(m.group(2)), "exits": int(m.group(3))}
                continue
            m = RE_COUNTER.match(line)
            if m:
                rec["counters"][m.group(1)] = int(m.group(2))
                continue
            m = RE_GROUPED.match(line)
            if m:
                for word in m.group(1).split():
                    k, v = word.split("=")
                    rec["counters"][k] = int(v)
                continue
            m = RE_FLUSH.match(line)
            if m:
                rec["counters"]["tlb_full_flushes"] = int(m.group(1))
                continue
            m = RE_STATUS.match(line)
            if m:
                rec["exit_reason"] = m.group(1)
    return rec


def finish(rec):
    """Derived fields: total exits and the modelled cost."""
    n = sum(rec["exits"].values())
    rec["exit_total"] = n
    rec["c_exit"] = C_EXIT
    rec["modelled"] = None if rec["ticks"] is None else rec["ticks"] + n * C_EXIT
    ht = sum(rec["handler_ticks"].values())
    rec["handler_ticks_total"] = ht
    return rec


def ratio(a, b):
    return "x%.2f" % (a / b) if a is not None and b else "x?"


def summary(runs_path, out_path):
    runs = []
    with open(runs_path) as f:
        for line in f:
            if line.strip():
                runs.append(finish(json.loads(line)))
    by = {(r["guest"], r["mode"]): r for r in runs}
    print("bench: modelled = ticks + exits x C_EXIT, C_EXIT=%d (%s)" % (C_EXIT, C_EXIT_SOURCE))
    for r in runs:
        bare = by.get((r["guest"], "bare"))
        npt = by.get((r["guest"], "npt"))
        if r["ticks"] is None:
            print("bench: %s %s: did not finish" % (r["guest"], r["mode"]))
            continue
        line = "bench: %s %s ticks=%d modelled=%d" % (r["guest"], r["mode"], r["ticks"], r["modelled"])
        if bare and r is not bare and bare["ticks"]:
            line += " bare:%s/%s" % (ratio(r["ticks"], bare["ticks"]), ratio(r["modelled"], bare["modelled"]))
        if npt and r is not npt and r["mode"] != "bare" and npt["ticks"]:
            line += " npt:%s/%s" % (ratio(r["ticks"], npt["ticks"]), ratio(r["modelled"], npt["modelled"]))
        if r["exit_total"]:
            line += " exits=%d" % r["exit_total"]
            top = sorted(r["exits"].items(), key=lambda kv: -kv[1])[:4]
            line += " (" + " ".join("%s=%d" % kv for kv in top) + ")"
        if r["handler_ticks_total"] and r["exit_total"]:
            line += " umbra_ticks=%d (%.0f/exit)" % (r["handler_ticks_total"],
                                                     r["handler_ticks_total"] / r["exit_total"])
        print(line)
        if r["handler_ticks"]:
            per = sorted(r["handler_ticks"].items(), key=lambda kv: -kv[1])
            print("bench:   %s %s umbra ticks per reason: %s" % (r["guest"], r["mode"], " ".join(
                "%s=%d/%d" % (k, v, v // max(r["exits"].get(k, 1), 1)) for k, v in per)))
        if r.get("handler_split"):
            per = sorted(r["handler_split"].items(), key=lambda kv: -kv[1]["ticks"])
            print("bench:   %s %s umbra ticks by shadow work: %s" % (r["guest"], r["mode"], " ".join(
                "%s=%d/%d(n=%d)" % (k, v["ticks"], v["ticks"] // max(v["exits"], 1), v["exits"])
                for k, v in per)))
        c = r["counters"]
        keys = ["fault_fixed", "fault_reflected", "fault_emulated_pt", "unshadows", "cr3_hits",
                "cr3_misses", "reclaim_unpins", "tlb_full_flushes"]
        shown = ["%s=%d" % (k, c[k]) for k in keys if c.get(k)]
        if shown:
            print("bench:   %s %s counters: %s" % (r["guest"], r["mode"], " ".join(shown)))
    with open(out_path, "w") as f:
        json.dump(runs, f, indent=1, sort_keys=True)
        f.write("\n")
    print("bench: %d runs written to %s" % (len(runs), out_path))
    return 0 if all(r["ticks"] is not None for r in runs) else 1


def diff(old_path, new_path):
    with open(old_path) as f:
        old = {(r["guest"], r["mode"]): r for r in json.load(f)}
    with open(new_path) as f:
        new = json.load(f)
    for r in new:
        o = old.get((r["guest"], r["mode"]))
        name = "%s %s" % (r["guest"], r["mode"])
        if o is None:
            print("bench-diff: %s: new" % name)
            continue
        parts = []
        for k in ("ticks", "modelled", "exit_total", "handler_ticks_total"):
            a, b = o.get(k), r.get(k)
            if a and b and a != b:
                parts.append("%s %d -> %d (%+.1f%%)" % (k, a, b, 100.0 * (b - a) / a))
        for group in ("exits", "counters"):
            for k in sorted(set(o.get(group, {})) | set(r.get(group, {}))):
                a, b = o.get(group, {}).get(k, 0), r.get(group, {}).get(k, 0)
                if a != b and max(a, b) >= 100 and abs(b - a) * 20 >= max(a, b):   # >= 5%, not noise-level
                    parts.append("%s.%s %d -> %d" % (group, k, a, b))
        print("bench-diff: %s: %s" % (name, "; ".join(parts) if parts else "unchanged"))
    for key in old:
        if key not in {(r["guest"], r["mode"]) for r in new}:
            print("bench-diff: %s %s: gone" % key)
    return 0


def main(argv):
    if len(argv) == 5 and argv[1] == "record":
        print(json.dumps(record(argv[2], argv[3], argv[4]), sort_keys=True))
        return 0
    if len(argv) == 4 and argv[1] == "summary":
        return summary(argv[2], argv[3])
    if len(argv) == 4 and argv[1] == "diff":
        return diff(argv[2], argv[3])
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
