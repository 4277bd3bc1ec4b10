#!/usr/bin/env bash
# The daemon under ThreadSanitizer: the test daemon built with
# -fsanitize=thread (make tsan-daemon) scans with libclamav, the rules
# engine and the test engine (some scans past the timeout) at concurrency
# 16, while SIGHUPs, console reloads, stats and metrics run beside it.
# Passes when every message is answered and ThreadSanitizer reports
# nothing (t/tsan/suppressions lists what is libmilter's, each with why).
set -u
. "$(dirname "$0")/../lib/scanmilter.sh"

CTL=$(dirname "$SCANMILTER")/scanmilterctl
[ -x "$CTL" ] || CTL=$SM_TOP/build/src/scanmilterctl
sm_need_built "$MILTERGEN"
if [ -z "${SCANMILTER_TSAN:-}" ]; then
    timeout 900 nice make -C "$SM_TOP" tsan-daemon >/dev/null 2>&1 ||
        fail "make tsan-daemon failed"
    SCANMILTER_TSAN=$SM_TOP/build-tsan/t/scanmilter-test
fi
[ -x "$SCANMILTER_TSAN" ] || fail "no $SCANMILTER_TSAN"
SCANMILTER=$SCANMILTER_TSAN

WD=$(mktemp -d /tmp/sm-tsan.XXXXXX)
trap 'sm_stop; [ -n "${KEEP:-}" ] || rm -rf "$WD"' EXIT
mkdir -p "$WD/m" "$WD/reports"
cp "$SM_TOP"/t/data/mail/*.eml "$SM_TOP"/t/data/rules/mail/*.eml "$WD/m/"
# two messages whose test-engine scan outlasts the 1 s timeout
for i in 1 2; do
    { printf 'X-Test-Delay: 1500ms\r\n'; cat "$SM_TOP/t/data/rules/mail/ham.eml"; } >"$WD/m/slow-$i.eml"
done
export TSAN_OPTIONS="halt_on_error=0 report_signal_unsafe=0 history_size=3 log_path=$WD/reports/tsan suppressions=$SM_TOP/t/tsan/suppressions"

METRICS_PORT=$(pick_port)
sm_start "$WD/d" "metrics { listen = \"127.0.0.1:$METRICS_PORT\" }
antispam \"spam\" {
  timeout = 1s
  rules \"rules1\" {
    config_path = \"$SM_TOP/etc/rules.xml\"
    schema_path = \"$SM_TOP/etc/rules.rng\"
  }
  test \"t1\" { }
}"

timeout 300 "$MILTERGEN" -s "unix:$SM_SOCK" -c 16 -n 600 -t 60 "$WD/m" >"$WD/load.out" 2>&1 &
gen=$!
hups=0 ctls=0
for i in $(seq 1 40); do
    kill -0 "$gen" 2>/dev/null || break
    case $((i % 4)) in
        0) kill -HUP "$SM_PID" && hups=$((hups + 1)) ;;
        1) "$CTL" -s "$SM_CTL" reload >/dev/null 2>&1 && ctls=$((ctls + 1)) ;;
        2) "$CTL" -s "$SM_CTL" stats >/dev/null 2>&1 ;;
        3) curl -s --max-time 5 "http://127.0.0.1:$METRICS_PORT/metrics" >/dev/null ;;
    esac
    sleep 0.5
done
wait "$gen"
res=$(grep '^RESULT' "$WD/load.out")
log "$res ($hups SIGHUPs, $ctls console reloads)"
done_n=$(printf '%s\n' "$res" | tr ' ' '\n' | sed -n 's/^done=//p')
check "all 600 messages answered under ThreadSanitizer (${done_n:-0})" [ "${done_n:-0}" -eq 600 ]
check "reloads happened during the load ($hups + $ctls)" [ $((hups + ctls)) -ge 4 ]
sm_stop
# a report whose access stacks are all libmilter's (and the sanitizer's
# interceptors), none of ours, is libmilter's own teardown: its pool
# controller destroys the workers' mutex and condition at exit while a
# worker still waits on them.  Debian's libmilter has no symbols for
# t/tsan/suppressions to name, so such reports are told apart here.
set -- $(cat "$WD"/reports/tsan* 2>/dev/null | awk '
    /^WARNING: ThreadSanitizer/ { inb = 1; acc = 1; ours = 0; next }
    inb && /^  (Location is|Mutex |Thread T)/ { acc = 0 }
    inb && acc && /^ +#[0-9]/ { if ($0 !~ /libmilter\.so|libtsan\.so/) ours = 1 }
    inb && /^SUMMARY/ { if (ours) n++; else lib++; inb = 0 }
    END { print n + 0, lib + 0 }')
n=$1
[ "$2" -eq 0 ] || log "$2 report(s) in libmilter alone (its teardown), not counted"
if [ "$n" -gt 0 ]; then
    cat "$WD"/reports/tsan* | grep -A14 '^WARNING: ThreadSanitizer' | grep -E 'WARNING|#[0-3] ' | head -60 >&2
fi
check "ThreadSanitizer reported nothing ($n reports)" [ "$n" -eq 0 ]

finish
