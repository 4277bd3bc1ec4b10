#!/usr/bin/env bash
# The short soak: bench/soak.sh (make soak) for about 5,000 messages at
# concurrency 32 under every fault it injects, with the AddressSanitizer +
# UBSan test daemon ($SCANMILTER_TEST from t/check.sh), then 2,000 with
# the ThreadSanitizer one (make tsan-daemon): every answer right
# for the signature set live and the faults, nothing left in file_base, no
# descriptor or thread growth, no sanitizer report, a clean stop.  RSS is
# not checked here (ASan's quarantine holds freed memory); the full soak on
# the optimised build checks it.  The last line adds up both runs' checks.
set -u
. "$(dirname "$0")/../lib/scanmilter.sh"

CTL=$(dirname "$SCANMILTER")/scanmilterctl
[ -x "$CTL" ] || CTL=$SM_TOP/build/src/scanmilterctl
for p in "$MILTERGEN" "$CTL" "$SCANMILTER_TEST"; do
    [ -x "$p" ] || fail "no $p (make all first)"
done
WD=$(mktemp -d /tmp/sm-soak.XXXXXX)
trap '[ -n "${KEEP:-}" ] || rm -rf "$WD"' EXIT
passed=0 failed=0 n=0

# soak NAME DAEMON MESSAGES SECONDS [SOAK.PY OPTIONS]: one short soak;
# adds its checks
soak() {
    local name=$1 daemon=$2 san= line
    case $(ldd "$daemon" 2>/dev/null) in *libasan*|*libtsan*) san=1 ;; esac
    [ -n "$san" ] || log "$daemon has no sanitizer: RSS is checked too"
    log "short soak under $name: $daemon, $3 messages"
    SOAK_DAEMON=$daemon SOAK_CTL=$CTL MILTERGEN=$MILTERGEN SOAK_ASAN=$san \
        SOAK_MESSAGES=$3 SOAK_SECONDS=$4 SOAK_MIN_FAULTS=1 \
        SOAK_CORPUS=${SOAK_CORPUS:-400} SOAK_FAULT_EVERY=${SOAK_FAULT_EVERY:-0.5} \
        SOAK_WORKDIR=$WD/$name SOAK_ARGS="--hang-every 100 --warmup 10 ${5:-} ${SOAK_ARGS:-}" \
        timeout 600 bash "$SM_TOP/bench/soak.sh" >"$WD/$name.out" 2>&1
    cat "$WD/$name.out"
    # soak.py's last line: "soak: N passed, M failed" (none if it died);
    # each row of its check table becomes an ok / not ok line here
    line=$(grep -E '^soak: [0-9]+ passed, [0-9]+ failed' "$WD/$name.out" | tail -n 1)
    if [ -z "$line" ]; then
        n=$((n + 1)); failed=$((failed + 1))
        echo "not ok $n - $name: bench/soak.sh died"; return
    fi
    local p=0 f=0 row result
    while IFS= read -r row; do
        result=${row%%$'\t'*} row=${row#*$'\t'}
        n=$((n + 1))
        if [ "$result" = ok ]; then
            p=$((p + 1)); echo "ok $n - $name: $row"
        else
            f=$((f + 1)); echo "not ok $n - $name: $row"
        fi
    done < <(awk -F' [|] ' '/^[|] check [|] result [|]/ { t = 1; next }
        t && /^[|]---/ { next }
        t && /^[|] / { sub(/^[|] /, ""); print $2 "\t" $1 " (" $3; next }
        t && !/^[|]/ { t = 0 }' "$WD/$name.out" | sed 's/ |$/)/')
    set -- $(echo "$line" | grep -oE '[0-9]+')
    if [ "$p" != "$1" ] || [ "$f" != "$2" ]; then
        n=$((n + 1)); f=$((f + 1))
        echo "not ok $n - $name: its table ($p ok, $f failed) disagrees with '$line'"
    fi
    passed=$((passed + p)) failed=$((failed + f))
}

soak asan "$SCANMILTER_TEST" "${SOAK_MESSAGES:-5000}" "${SOAK_SECONDS:-150}"
# the same under ThreadSanitizer (fewer messages: it runs 5-15 times slower)
if [ -z "${SCANMILTER_TSAN:-}" ]; then
    timeout 900 nice make -C "$SM_TOP" tsan-daemon >/dev/null 2>&1 ||
        { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - make tsan-daemon failed"; }
    SCANMILTER_TSAN=$SM_TOP/build-tsan/t/scanmilter-test
fi
if [ -x "$SCANMILTER_TSAN" ]; then
    # (a scan of the largest messages can take 10 s under it)
    soak tsan "$SCANMILTER_TSAN" "${SOAK_TSAN_MESSAGES:-2000}" "${SOAK_TSAN_SECONDS:-120}" \
        "--timeout 20"
fi
echo "$passed passed, $failed failed"
