#!/bin/sh
# make check: the benchmark harness works (bench/README.md).  Runs the demo
# guest bare and under umbra-bench.elf (paging=shadow) in Bochs through
# bench/bochs-ticks.sh and checks bench.json: both records have ticks, the
# modelled cost is ticks + exits x C_EXIT, the Umbra run has exits per reason
# and Umbra's own ticks per reason, fewer than the run's ticks.  Then the demo
# under umbra-split.elf: its #PF (and any CR3-write, INVLPG) ticks and exits,
# split by the kind of shadow work, add up to the reason's.  No figure is
# compared with an expected speed: that is make bench's job, not a test's.
. "${top_srcdir:-$(dirname "$0")/..}/test/e2e/lib.sh"
json=$(mktemp "${TMPDIR:-/tmp}/umbra-bench-json.XXXXXX")
sjson=$(mktemp "${TMPDIR:-/tmp}/umbra-split-json.XXXXXX")
trap 'rm -f "$json" "$sjson"' EXIT
out=$(BENCH_MODES="bare shadow" BENCH_JSON="$json" C_EXIT=1000 TIMEOUT=300 \
    sh "$top_srcdir/bench/bochs-ticks.sh" "$DEMO" 2>&1)
rc=$?
printf '%s\n' "$out"
[ $rc -eq 0 ] || bad "bochs-ticks.sh exited $rc"
expect '^bench: modelled = ticks \+ exits x C_EXIT, C_EXIT=1000 \('
expect '^bench: demo shadow ticks=[0-9]+ modelled=[0-9]+ bare:x[0-9.]+/x[0-9.]+ exits=[0-9]+ .* umbra_ticks=[0-9]+'
python3 - "$json" <<'PY' || bad "bench.json does not hold what it should"
import json, sys
runs = {r["mode"]: r for r in json.load(open(sys.argv[1]))}
assert set(runs) == {"bare", "shadow"}, runs.keys()
for r in runs.values():
    assert r["guest"] == "demo" and r["ticks"] > 0 and r["c_exit"] == 1000
    assert r["modelled"] == r["ticks"] + r["exit_total"] * 1000
b, s = runs["bare"], runs["shadow"]
assert b["exit_total"] == 0 and not b["handler_ticks"]
assert s["exits"].get("exception-14", 0) > 0 and s["exit_total"] == sum(s["exits"].values())
assert set(s["handler_ticks"]) <= set(s["exits"]) and s["handler_ticks"].get("exception-14", 0) > 0
assert 0 < s["handler_ticks_total"] < s["ticks"]
assert s["counters"].get("fault_fixed", 0) > 0 and s["exit_reason"] == "port-f4"
assert not s["handler_split"]
print("ok: bench.json: 2 records, modelled = ticks + exits x 1000, handler ticks per reason")
PY
out=$(UMBRA_BENCH_ELF="$top_builddir/umbra-split.elf" BENCH_MODES=shadow BENCH_JSON="$sjson" TIMEOUT=300 \
    sh "$top_srcdir/bench/bochs-ticks.sh" "$DEMO" 2>&1)
rc=$?
printf '%s\n' "$out"
[ $rc -eq 0 ] || bad "bochs-ticks.sh (umbra-split.elf) exited $rc"
expect '^bench:   demo shadow umbra ticks by shadow work: exception-14/'
python3 - "$sjson" <<'PY' || bad "umbra-split.elf's split does not add up"
import json, sys
(s,) = json.load(open(sys.argv[1]))
split = s["handler_split"]
reasons = {k.split("/")[0] for k in split}
assert "exception-14" in reasons and reasons <= {"exception-14", "cr3-write", "invlpg"}, reasons
for r in reasons:
    parts = [v for k, v in split.items() if k.split("/")[0] == r]
    # every exit of r is charged once, to one class (the run ends on port-f4, not on r)
    assert sum(p["exits"] for p in parts) == s["exits"][r], (r, parts, s["exits"][r])
    assert sum(p["ticks"] for p in parts) == s["handler_ticks"][r], (r, parts, s["handler_ticks"][r])
print("ok: umbra-split.elf: %d classes over %s add up to the exits and ticks per reason"
      % (len(split), " ".join(sorted(reasons))))
PY
finish
