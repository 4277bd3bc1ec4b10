#!/usr/bin/env bash
# The short soak: bench/soak.sh (make soak) for about 5,000 messages at
# concurrency 32 under every fault it injects, with the AddressSanitizer +
# UBSan test daemon ($SCANMILTER_TEST from t/check.sh): every answer right
# for the signature set live and the faults, nothing left in file_base, no
# descriptor or thread growth, no sanitizer report, a clean stop.  RSS is
# not checked here (ASan's quarantine holds freed memory); the full soak on
# the optimised build checks it.  Its last line is soak.py's "N passed, M
# failed" over those checks.
set -u
. "$(dirname "$0")/../lib/scanmilter.sh"

MILTERGEN=${MILTERGEN:-$SM_TOP/build/bench/miltergen}
CTL=$(dirname "$SCANMILTER")/scanmilterctl
[ -x "$CTL" ] || CTL=$SM_TOP/build/src/scanmilterctl
for p in "$MILTERGEN" "$CTL" "$SCANMILTER_TEST"; do
    [ -x "$p" ] || fail "no $p (make all first)"
done
asan=
case $(nm -D "$SCANMILTER_TEST" 2>/dev/null; ldd "$SCANMILTER_TEST") in
    *asan*) asan=1 ;;
esac
[ -n "$asan" ] || log "$SCANMILTER_TEST has no AddressSanitizer: RSS is checked too"
WD=$(mktemp -d /tmp/sm-soak.XXXXXX)
trap '[ -n "${KEEP:-}" ] || rm -rf "$WD"' EXIT
SOAK_DAEMON=$SCANMILTER_TEST SOAK_CTL=$CTL MILTERGEN=$MILTERGEN SOAK_ASAN=$asan \
    SOAK_MESSAGES=${SOAK_MESSAGES:-5000} SOAK_SECONDS=${SOAK_SECONDS:-150} \
    SOAK_CORPUS=${SOAK_CORPUS:-400} SOAK_FAULT_EVERY=${SOAK_FAULT_EVERY:-0.5} \
    SOAK_WORKDIR=$WD SOAK_ARGS="--timeout 5 --hang-every 100 ${SOAK_ARGS:-}" \
    timeout 600 bash "$SM_TOP/bench/soak.sh"
rc=$?
# soak.py's own last line is "soak: N passed, M failed"; one that died
# before it prints none, which t/check.sh counts as a failure
[ "$rc" -eq 0 ] || log "bench/soak.sh exited $rc"
