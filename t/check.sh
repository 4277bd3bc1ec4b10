#!/usr/bin/env bash
# Runs every test and prints the totals as its last line ("N passed, M
# failed").  Called by `make check`: t/check.sh [--integration-only] BUILD
# ASAN JOBS.
#   1. cmocka unit tests, built with AddressSanitizer + UBSan (ASAN dir);
#   2. each t/integration/*.sh against the daemon in BUILD (each prints
#      its own "N passed, M failed"); the test daemon with the test engine
#      comes from the ASAN build;
#   3. the libFuzzer targets (t/fuzz) for a bounded time each.
set -u
only_integration=0
if [ "${1:-}" = --integration-only ]; then only_integration=1; shift; fi
build=${1:-build} asan=${2:-build-asan} jobs=${3:-2}
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 2
passed=0 failed=0

count_line() {  # adds the last "N passed, M failed" line of a log
    local line
    line=$(grep -E '^([A-Za-z-]+: )?[0-9]+ passed, [0-9]+ failed' "$1" | tail -n 1)
    if [ -z "$line" ]; then failed=$((failed + 1)); return; fi
    set -- $(echo "$line" | grep -oE '[0-9]+')
    passed=$((passed + $1)); failed=$((failed + $2))
}

if [ $only_integration = 0 ]; then
    echo "== unit tests (ASan + UBSan) =="
    make -C "$asan" -j"$jobs" check >"$asan/unit.out" 2>&1
    grep -E '^(PASS|FAIL|ERROR|XPASS)' "$asan/unit.out"
    for log in "$asan"/t/unit/*.log; do
        [ -f "$log" ] || continue
        p=$(grep -c '^\[       OK \]' "$log"); f=$(grep -c '^\[  FAILED  \] test' "$log")
        if grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$log"; then
            echo "sanitizer report in $log:"; grep -E 'ERROR:|runtime error:' "$log" | head
            f=$((f + 1))
        fi
        passed=$((passed + p)); failed=$((failed + f))
    done
    if ! grep -q '^# FAIL: *0' "$asan/test-suite.log"; then
        cat "$asan/test-suite.log"; failed=$((failed + 1))
    fi
fi

# the test daemon (test engine built in) comes from the sanitizer build, so
# timeouts, refusals and late results run under ASan/UBSan too
make -C "$asan" -j"$jobs" t/scanmilter-test >/dev/null || failed=$((failed + 1))
export SCANMILTER_TEST="$top/$asan/t/scanmilter-test"
# memory is measured on the optimised build (ASan's quarantine holds freed
# memory and would hide what the daemon really uses)
make -C "$build" -j"$jobs" t/scanmilter-test t/engines/badabi.so >/dev/null ||
    failed=$((failed + 1))
export SCANMILTER_TEST_PLAIN="$top/$build/t/scanmilter-test"
export MILTERGEN="$top/$build/bench/miltergen"

for t in t/integration/*.sh; do
    [ -f "$t" ] || continue
    echo "== $t =="
    log=$(mktemp)
    SCANMILTER="$top/$build/src/scanmilter" timeout 900 bash "$t" 2>&1 | tee "$log"
    count_line "$log"
    rm -f "$log"
done

# 3. fuzzing, bounded: the MIME, config and XML rules parsers under
#    libFuzzer + ASan/UBSan, seeded from the test data
if [ $only_integration = 0 ]; then
    for target in mime:${FUZZ_MIME_SECONDS:-90} conf:${FUZZ_CONF_SECONDS:-45} \
        rules:${FUZZ_RULES_SECONDS:-45}; do
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

echo "check: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
