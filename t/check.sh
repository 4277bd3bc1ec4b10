#!/usr/bin/env bash
# Runs every test and prints the totals as its last line ("check: N passed,
# M failed, K skipped").  Called by `make check`: t/check.sh
# [--integration-only] BUILD ASAN JOBS.
#   1. cmocka unit tests, built with AddressSanitizer + UBSan (ASAN dir);
#   2. each t/integration/*.sh against the daemon in BUILD (each prints
#      its own "N passed, M failed, K skipped"); the test daemon with the
#      test engine comes from the ASAN build;
#   3. the libFuzzer targets (t/fuzz) for a bounded time each.
# Nothing counts as passed unless it ran now: old unit logs are removed
# first, make's and each script's exit status count, a test that did not
# build, a script that ran no check or died early, and a summary that
# disagrees with the result lines printed are failures.  A check that
# could not run here is a skip, counted apart.
set -u
set -o pipefail
only_integration=0
if [ "${1:-}" = --integration-only ]; then only_integration=1; shift; fi
build=${1:-build} asan=${2:-build-asan} jobs=${3:-2}
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 2
passed=0 failed=0 skipped=0

problem() { echo "check: FAILED: $*"; failed=$((failed + 1)); }

sum() { awk '{ s += $1 } END { if (NR) print s }'; }  # of the numbers read, one a line

# cmocka_count LOG: adds one unit test binary's results (every group it ran)
cmocka_count() {
    local log=$1 name=${1##*/} runs ran p f s
    name=${name%.log}
    runs=$(sed -n 's/^\[==========\] Running \([0-9]*\) test(s)\.$/\1/p' "$log" | sum)
    ran=$(sed -n 's/^\[==========\] \([0-9]*\) test(s) run\.$/\1/p' "$log" | sum)
    p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test(s)\.$/\1/p' "$log" | sum)
    f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test(s), listed below:$/\1/p' "$log" | sum)
    s=$(sed -n 's/^\[  SKIPPED \] \([0-9]*\) test(s), listed below:$/\1/p' "$log" | sum)
    p=${p:-0} f=${f:-0} s=${s:-0}
    if [ -z "$runs" ] || [ -z "$ran" ]; then
        problem "$name: no cmocka summary (it did not run, or died half way)"
    elif [ "$runs" != "$ran" ] || [ $((p + f + s)) != "$runs" ]; then
        problem "$name: $runs test(s) started, $ran run, $p passed + $f failed + $s skipped"
    fi
    if grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$log"; then
        problem "$name: sanitizer report"
        grep -E 'ERROR:|runtime error:' "$log" | head
    fi
    grep -E '^\[  (FAILED|SKIPPED|ERROR) +\] [^0-9]' "$log" | sort -u | sed "s|^|$name: |"
    passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
}

# script_count LOG STATUS: adds one integration script's results
script_count() {
    local log=$1 rc=$2 name=$3 line p f s oks noks sks
    line=$(grep -E '^([A-Za-z-]+: )?[0-9]+ passed, [0-9]+ failed(, [0-9]+ skipped)?$' "$log" | tail -n 1)
    if [ -z "$line" ]; then
        problem "$name: no 'N passed, M failed' line (exit status $rc)"
        return
    fi
    set -- $(echo "$line" | grep -oE '[0-9]+ (passed|failed|skipped)' | grep -oE '[0-9]+')
    p=$1 f=$2 s=${3:-0}
    passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
    oks=$(grep -cE '^ok [0-9]+ - ' "$log")
    noks=$(grep -cE '^not ok [0-9]+ - ' "$log")
    sks=$(grep -cE '^ok [0-9]+ # SKIP ' "$log")
    if [ $((p + f)) -eq 0 ]; then
        problem "$name: ran no check (exit status $rc)"
        return
    fi
    if [ "$oks" != "$p" ] || [ "$noks" != "$f" ] || [ "$sks" != "$s" ]; then
        problem "$name: its summary ($p/$f/$s) is not what it printed ($oks ok, $noks not ok, $sks skipped)"
    fi
    if [ "$rc" != 0 ] && [ "$f" -eq 0 ]; then
        problem "$name: exit status $rc with no failed check"
    elif [ "$rc" = 0 ] && [ "$f" -ne 0 ]; then
        problem "$name: exit status 0 with $f failed check(s)"
    fi
}

if [ $only_integration = 0 ]; then
    echo "== unit tests (ASan + UBSan) =="
    # the logs of an earlier run must not count again if a test no longer builds
    rm -f "$asan"/t/unit/*.log "$asan"/t/unit/*.trs "$asan"/test-suite.log
    make -C "$asan" -j"$jobs" check >"$asan/unit.out" 2>&1
    mrc=$?
    grep -E '^(PASS|FAIL|ERROR|XPASS|SKIP|XFAIL):' "$asan/unit.out"
    if [ $mrc != 0 ]; then
        problem "make check in $asan exited $mrc"
        grep -E 'error|Error' "$asan/unit.out" | head -n 20
    fi
    # every test automake knows must have run now, and every t/unit source
    # must be one of them
    tests=$(printf 'print-tests:\n\t@echo $(TESTS)\n' |
        make -s -C "$asan" -f Makefile -f - print-tests 2>/dev/null)
    [ -n "$tests" ] || problem "cannot list the unit tests of $asan"
    for src in t/unit/test_*.c; do
        [ -f "$src" ] || continue
        case " $tests " in *" ${src%.c} "*) ;; *) problem "$src is not in TESTS: never run" ;; esac
    done
    for t in $tests; do
        if [ -f "$asan/$t.log" ]; then
            cmocka_count "$asan/$t.log"
        else
            problem "$t: no log (it did not build or did not run)"
        fi
    done
    if [ -f "$asan/test-suite.log" ]; then
        for k in FAIL ERROR XPASS; do
            grep -qE "^# $k: +0$" "$asan/test-suite.log" || problem "test-suite.log: # $k is not 0"
        done
        n=$(sed -n 's/^# SKIP: *//p' "$asan/test-suite.log")
        skipped=$((skipped + ${n:-0}))
        n=$(sed -n 's/^# TOTAL: *//p' "$asan/test-suite.log")
        [ "${n:-x}" = "$(echo $tests | wc -w)" ] ||
            problem "test-suite.log: TOTAL ${n:-?}, but $(echo $tests | wc -w) tests"
        grep -qE '^# (FAIL|ERROR|XPASS): +[1-9]' "$asan/test-suite.log" && cat "$asan/test-suite.log"
    else
        problem "no $asan/test-suite.log"
    fi
fi

# The daemons the scripts run.  The test daemon (test engine built in) comes
# from the sanitizer build, so timeouts, refusals and late results run under
# ASan/UBSan too; memory is measured on the optimised build (ASan's
# quarantine holds freed memory and would hide what the daemon really
# uses).  If any of them does not build, no script runs: its passes would
# be those of a stale binary.
built=1
make -C "$asan" -j"$jobs" t/scanmilter-test >"$asan/testd.out" 2>&1 || {
    tail -n 20 "$asan/testd.out"; problem "$asan/t/scanmilter-test did not build"; built=0; }
make -C "$build" -j"$jobs" all t/scanmilter-test t/engines/badabi.so t/engines/abi2.so bench/miltergen \
    t/mime-diff/mimedump >"$build/testd.out" 2>&1 || {
    tail -n 20 "$build/testd.out"
    problem "$build: the daemon, test daemon, badabi.so, abi2.so, miltergen or mimedump did not build"
    built=0; }
export SCANMILTER_TEST="$top/$asan/t/scanmilter-test"
export SCANMILTER_TEST_PLAIN="$top/$build/t/scanmilter-test"
export MILTERGEN="$top/$build/bench/miltergen"

if [ $built = 1 ]; then
    nscripts=0
    for t in t/integration/*.sh; do
        [ -f "$t" ] || continue
        nscripts=$((nscripts + 1))
        echo "== $t =="
        log=$(mktemp)
        SCANMILTER="$top/$build/src/scanmilter" timeout 900 bash "$t" 2>&1 | tee "$log"
        rc=${PIPESTATUS[0]}
        script_count "$log" "$rc" "$t"
        rm -f "$log"
    done
    [ $nscripts -gt 0 ] || problem "no integration script in t/integration"
else
    echo "== integration scripts not run: the binaries they test did not build =="
fi

# 3. fuzzing, bounded: the MIME, config, XML rules and HTML parsers, the
#    control protocol and the milter callbacks under libFuzzer +
#    ASan/UBSan, seeded from the test data
if [ $only_integration = 0 ]; then
    for target in mime:${FUZZ_MIME_SECONDS:-90} conf:${FUZZ_CONF_SECONDS:-45} \
        rules:${FUZZ_RULES_SECONDS:-45} html:${FUZZ_HTML_SECONDS:-30} \
        ctl:${FUZZ_CTL_SECONDS:-30} milter:${FUZZ_MILTER_SECONDS:-30}; do
        name=${target%%:*} secs=${target#*:}
        echo "== fuzz $name for ${secs}s =="
        if timeout $((secs + 300)) bash t/fuzz/run.sh "$name" "$secs" >"$asan/fuzz-$name.out" 2>&1; then
            echo "ok - fuzz_$name: $(tail -n 1 "$asan/fuzz-$name.out")"
            passed=$((passed + 1))
        else
            echo "not ok - fuzz_$name"; tail -n 30 "$asan/fuzz-$name.out"
            failed=$((failed + 1))
        fi
    done
fi

echo "check: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
