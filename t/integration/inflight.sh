#!/usr/bin/env bash
# Messages in flight, through the real daemon (test engine delays, libclamav signatures):
#   1. a reload (SIGHUP) while a scan runs swaps to a config and signatures that would accept
#      the message: the message in flight still finishes with the old ones (rejected with the
#      old reject_text); the next message gets the new ones (accepted);
#   2. stop_timeout: SIGTERM while a scan longer than stop_timeout runs ends the daemon after
#      about stop_timeout (not after the scan), saying so in the log; with a scan shorter than
#      stop_timeout the message gets its answer first.
set -u
. "$(dirname "$0")/../lib/scanmilter.sh"
. "$(dirname "$0")/../lib/promises.sh"

sm_need_built "$MILTERGEN"
WD=$(mktemp -d /tmp/sm-inflight.XXXXXX)
GPID=
trap 'sm_stop; [ -n "$GPID" ] && kill "$GPID" 2>/dev/null; rm -rf "$WD"' EXIT
chmod 755 "$WD"
mkdir -p "$WD/db-old" "$WD/db-new" "$WD/slow" "$WD/now" "$WD/stop"
cp "$SM_TOP"/t/data/sigs/* "$WD/db-old/"
cp "$SM_TOP"/t/data/sigs/*.hdb "$SM_TOP"/t/data/sigs/*.hsb "$WD/db-new/"	# no EICAR in the new set
EICAR='X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*'
printf 'Subject: in flight\r\nX-Test-Delay: 4s\r\n\r\n%s\r\n' "$EICAR" >"$WD/slow/m.eml"
printf 'Subject: after\r\n\r\n%s\r\n' "$EICAR" >"$WD/now/m.eml"

av() {  # DB VERDICT TEXT
    printf 'antivirus "av1" {\n  timeout = 60s\n  reject_text = "%s: %%v"\n' "$3"
    printf '  test "t1" { verdict = %s  name = "Test.Old" }\n' "$2"
    printf '  clamav "c1" { database_directory = "%s" }\n}\n' "$1"
}
scan_started() { grep -q 'test engine t1: scan of .* started' "$SM_LOG"; }

# 1. reload with a scan in flight
SM_AV=$(av "$WD/db-old" infected Old) SCANMILTER=$SCANMILTER_T sm_start "$WD/a"
timeout 60 "$MILTERGEN" -s "unix:$SM_SOCK" -c 1 -n 1 -t 50 -o "$WD/slow.csv" "$WD/slow" >/dev/null 2>&1 &
GPID=$!
check "reload: the slow scan is under way" wait_until 10 scan_started
SM_AV=$(av "$WD/db-new" clean New) sm_write_conf "$WD/a" >"$SM_CONF"
kill -HUP "$SM_PID"
check "reload: the new config and signatures are in use" \
    wait_until 20 sm_log_has 'reload \(SIGHUP\): configuration and signatures from .* in use'
check "reload: ... before the slow scan ended" bash -c "! grep -q 'verdict=' '$SM_LOG'"
wait "$GPID"; GPID=
got=$(csv_reply "$WD/slow.csv")
check "reload: the message in flight finished with the old ones ($got)" \
    bash -c "[[ '$got' == 'reject|550 5.7.1 Old: '* ]]"
got=$(mg_one "unix:$SM_SOCK" "$WD/now")
check "reload: the next EICAR message gets the new ones: accepted ($got)" [ "$got" = "accept|" ]
check "reload: stopped cleanly" sm_stop

# 2. stop_timeout = 2s, a 40 s scan in flight.  libmilter notices the signal only at its next
#    listener wake-up (every 5 s), so the daemon ends 2 to 7 s after SIGTERM; ignoring
#    stop_timeout would take 30 s (its default) or the scan's 40 s.
printf 'Subject: stop\r\nX-Test-Delay: 40s\r\n\r\nslow\r\n' >"$WD/stop/m.eml"
SM_AV='antivirus "av1" { timeout = 60s  test "t1" { } }' SM_MILTER_EXTRA='stop_timeout = 2s' \
    SCANMILTER=$SCANMILTER_T sm_start "$WD/b"
timeout 60 "$MILTERGEN" -s "unix:$SM_SOCK" -c 1 -n 1 -t 50 "$WD/stop" >/dev/null 2>&1 &
GPID=$!
check "stop_timeout: the 40 s scan is under way" wait_until 30 scan_started ||
    tail -n 5 "$SM_LOG" | sed 's/^/#   /'
t0=$(_now_ms)
kill -TERM "$SM_PID"
wait_for_pid_gone "$SM_PID" 30
dt=$(( $(_now_ms) - t0 ))
wait "$SM_PID"; rc=$?; SM_PID=
check "stop_timeout = 2s: the daemon ended after ${dt} ms (2 s .. 15 s, not 30 s or the scan's 40 s)" \
    awk -v m="$dt" 'BEGIN { exit !(m >= 1900 && m < 15000) }'
check "stop_timeout: ... with a non-zero status ($rc)" [ "$rc" != 0 ]
check "stop_timeout: the log says it stopped anyway" \
    sm_log_has 'stop_timeout passed with messages in flight: stopping anyway'
check "stop_timeout: the log gave the limit" sm_log_has 'letting messages in flight finish \(up to 2s\)'
kill "$GPID" 2>/dev/null; wait "$GPID" 2>/dev/null; GPID=

# ... and a 2 s scan with stop_timeout = 10s: answered, then a clean exit
printf 'Subject: stop\r\nX-Test-Delay: 2s\r\n\r\nslow\r\n' >"$WD/stop/m.eml"
SM_AV='antivirus "av1" { timeout = 60s  test "t1" { } }' SM_MILTER_EXTRA='stop_timeout = 10s' \
    SCANMILTER=$SCANMILTER_T sm_start "$WD/c"
timeout 60 "$MILTERGEN" -s "unix:$SM_SOCK" -c 1 -n 1 -t 50 -o "$WD/stop.csv" "$WD/stop" >/dev/null 2>&1 &
GPID=$!
check "stop_timeout = 10s: the 2 s scan is under way" wait_until 10 scan_started
t0=$(_now_ms)
kill -TERM "$SM_PID"
wait "$GPID"; GPID=
check "stop_timeout = 10s: the message in flight was answered ($(csv_reply "$WD/stop.csv"))" \
    [ "$(csv_reply "$WD/stop.csv")" = "accept|" ]
wait_for_pid_gone "$SM_PID" 30
dt=$(( $(_now_ms) - t0 ))
wait "$SM_PID"; rc=$?; SM_PID=
check "stop_timeout = 10s: exit status 0 ($rc)" [ "$rc" = 0 ]
check "stop_timeout = 10s: no 'stopping anyway'" bash -c "! grep -q 'stopping anyway' '$SM_LOG'"
log "stop_timeout = 10s: stopped ${dt} ms after SIGTERM (the scan took 2 s)"
finish
