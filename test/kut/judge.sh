# judge.sh: sourced by check.sh.  How a kvm-unit-tests run is judged; each
# function prints "PASS [reason]" or "FAIL reason".
#
# A test reports with "PASS: "/"FAIL: " lines (access_test prefixes its own
# with the flag combination: "test pte.p ...: FAIL: error code 8 expected 9"),
# a "SUMMARY: N tests[, M unexpected failures][, K skipped]" line, and its
# status through port 0xF4: QEMU exits with (status << 1) | 1; Bochs ignores
# the port (the guest then writes "Shutdown" to port 0x8900), so a bare Bochs
# run carries its status in the "exit status N" line of our patch 0003.
# Under Umbra, Umbra intercepts the port and prints
# "umbra: exit reason=port-f4 status=N".
#
# bochs-known (KUT_BOCHS_KNOWN overrides) lists the FAIL lines that Bochs
# itself gets wrong bare, as "LABEL | FAIL line | reason": a bare Bochs run
# whose only failures are listed passes as the reference, and each run under
# Umbra must then end exactly like it (the same FAIL lines and status).

# fails FILE: the FAIL lines, sorted (access_test's summary report excluded:
# it follows from the others, and judge_umbra checks it through the status).
kut_fails() {
    grep -aE '(^|: )FAIL: ' "$1" | grep -avE '^FAIL: [0-9]-level paging tests' | sort
}

# kut_tcg_known: of the FAIL lines on stdin, the ones QEMU 7.2 TCG gets wrong
# bare (kvm-unit-tests README): a #PF caused by a reserved bit reports its
# error code without P, "error code 8 expected 9" -- expected = got | 1, with
# RSVD (0x8) in both.
kut_tcg_known() {
    awk 'function hex(s,   i, v) {
            v = 0
            for (i = 1; i <= length(s); i++) v = v * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1
            return v
        }
        match($0, /FAIL: error code [0-9a-f]+ expected [0-9a-f]+$/) {
            split(substr($0, RSTART), w, " ")
            g = hex(w[4]); e = hex(w[6])
            if (g % 2 == 0 && e == g + 1 && int(g / 8) % 2 == 1) print
        }'
}

kut_summary() { grep -a '^SUMMARY: ' "$1" | tail -n 1; }
# kut_counted FILE: access_test's own count line ("N tests, M failures") minus M,
# and its shard line: what was run, which must not change under Umbra.
kut_counted() {
    grep -aE '^[0-9]+ tests, [0-9]+ failures$|^shard [0-9]+/[0-9]+: ' "$1" | sed 's/, [0-9]* failures$//'
}
# kut_status_bare EMU FILE RC: the guest's status, or "none".
kut_status_bare() {
    if [ "$1" = bochs ]; then
        n=$(sed -n 's/^exit status \([0-9][0-9]*\)\r*$/\1/p' "$2" | tail -n 1)
        [ "$3" != 124 ] && [ -n "$n" ] && echo "$n" || echo none
    elif [ $(( $3 & 1 )) = 1 ] && [ "$3" != 124 ]; then echo $(( $3 >> 1 )); else echo none; fi
}

# kut_bochs_known: of the FAIL lines on stdin, the ones bochs-known lists for $label.
kut_bochs_known() {
    f=${KUT_BOCHS_KNOWN:-$here/bochs-known}
    [ -f "$f" ] || return 0
    awk -F ' [|] ' -v t="$label" 'NR == FNR { if ($1 == t) k[$2] = 1; next } k[$0]' "$f" -
}

# judge_bare EMU FILE RC
judge_bare() {
    st=$(kut_status_bare "$1" "$2" "$3")
    s=$(kut_summary "$2")
    [ "$3" = 124 ] && { echo "FAIL timeout${s:+ after \"$s\"}"; return; }
    grep -aqv '^kut-run: ' "$2" || { echo "FAIL no output (exit $3: the emulator did not start?)"; return; }
    kut_fails "$2" > "$2.f"
    if [ "$1" = qemu ]; then kut_tcg_known < "$2.f" > "$2.k"; else kut_bochs_known < "$2.f" > "$2.k"; fi
    other=$(grep -vxF -f "$2.k" "$2.f" | head -n 1)
    nk=$(grep -c . "$2.k")
    [ -n "$other" ] && { echo "FAIL $other"; return; }
    case $s in *"unexpected failures"*) [ "$nk" -gt 0 ] || { echo "FAIL $s"; return; };; esac
    case $s in "SUMMARY: "*" tests"*", "*" skipped") 
        t=${s#SUMMARY: }; t=${t%% *}; k=${s##*, }; k=${k%% *}
        [ "$t" = "$k" ] && { echo "FAIL all skipped: $s"; return; };; esac
    if [ "$1" = bochs ]; then
        [ "$st" = none ] && { echo "FAIL no \"exit status N\" line (triple fault, emulator error or timeout)"; return; }
        if [ "$nk" -gt 0 ]; then
            [ "$st" = 1 ] || { echo "FAIL status $st with $nk failures"; return; }
            echo "PASS as the reference: $nk failures of Bochs' own (bochs-known), no other; ${s:-no SUMMARY}"; return
        fi
        [ "$st" = 0 ] || { echo "FAIL status $st${s:+; $s}"; return; }
        echo "PASS ${s:-status 0 (this test prints no SUMMARY)}"; return
    fi
    [ "$st" = none ] && { echo "FAIL exit $3 is no status (triple fault or emulator error)"; return; }
    if [ "$nk" -gt 0 ]; then
        [ "$st" = 1 ] || { echo "FAIL status $st with $nk failures"; return; }
        echo "PASS $nk known TCG RSVD-without-P failures, no other; ${s:-no SUMMARY}"; return
    fi
    [ "$st" = 0 ] || { echo "FAIL status $st${s:+; $s}"; return; }
    echo "PASS ${s:-status 0 (this test prints no SUMMARY)}"
}

# judge_umbra EMU BARE_FILE BARE_RC FILE RC: PASS when the run under Umbra ends
# like the bare run: the same status, SUMMARY and FAIL lines, except that a
# FAIL bare that is QEMU's known RSVD-without-P error may be gone (Umbra then
# gets the error code right where bare TCG does not); nothing else may differ.
judge_umbra() {
    bs=$(kut_status_bare "$1" "$2" "$3")
    line=$(grep -a '^umbra: exit reason=' "$4" | tail -n 1)
    [ -n "$line" ] || {
        s=$(kut_summary "$4")
        if [ "$5" = 124 ]; then echo "FAIL timeout, no Umbra exit line${s:+ (after \"$s\")}"
        else echo "FAIL no Umbra exit line (exit $5)"; fi; return; }
    reason=${line#umbra: exit reason=}; reason=${reason%% *}
    us=${line##*status=}; us=${us%% *}
    if [ "$reason" != port-f4 ]; then
        why=$(grep -aB1 '^umbra: exit reason=' "$4" | grep -av '^umbra: exit reason=' | tail -n 1 | cut -c1-160)
        echo "FAIL Umbra stopped the guest: reason=$reason status=$us${why:+: $why}"; return
    fi
    if [ "$1" = qemu ] && [ "$5" != $(( (us << 1) | 1 )) ]; then
        echo "FAIL QEMU exit $5 does not match Umbra's status=$us"; return
    fi
    kut_fails "$2" > "$4.bf"; kut_fails "$4" > "$4.f"
    new=$(grep -vxF -f "$4.bf" "$4.f" | head -n 1)
    [ -n "$new" ] && { echo "FAIL new failure: $new"; return; }
    if [ "$1" = qemu ]; then kut_tcg_known < "$4.bf" > "$4.k"; else : > "$4.k"; fi
    gone=$(grep -vxF -f "$4.f" "$4.bf" > "$4.g"; grep -c . "$4.g")
    bad=$(grep -vxF -f "$4.k" "$4.g" | head -n 1)
    [ -n "$bad" ] && { echo "FAIL a bare failure is gone that is not TCG's known one: $bad"; return; }
    [ "$(kut_counted "$2")" = "$(kut_counted "$4")" ] ||
        { echo "FAIL ran something else: \"$(kut_counted "$4" | tr '\n' ' ')\", bare \"$(kut_counted "$2" | tr '\n' ' ')\""; return; }
    bsum=$(kut_summary "$2"); usum=$(kut_summary "$4")
    if [ "$gone" -eq 0 ]; then
        [ "$us" = "$bs" ] || { echo "FAIL status $us, bare $bs"; return; }
        [ "$usum" = "$bsum" ] || { echo "FAIL \"$usum\", bare \"$bsum\""; return; }
        if [ -s "$4.f" ]; then echo "PASS as bare: the same $(grep -c . "$4.f") known failures (the emulator's own); $usum"
        else echo "PASS ${usum:-status $us, as bare}"; fi
        return
    fi
    # Some of TCG's wrong error codes are right under Umbra.
    want=0; [ -s "$4.f" ] && want=$bs
    [ "$us" = "$want" ] || { echo "FAIL status $us, want $want"; return; }
    [ "${usum%%,*}" = "${bsum%%,*}" ] || { echo "FAIL \"$usum\", bare \"$bsum\""; return; }
    echo "PASS $gone of bare TCG's $(grep -c . "$4.bf") wrong RSVD error codes right under Umbra, $(grep -c . "$4.f") left; $usum"
}
