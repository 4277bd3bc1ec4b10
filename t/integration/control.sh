#!/usr/bin/env bash
# The control console and the metrics listener against the real daemon:
#  - mail sent with bench/miltergen shows up exactly in `scanmilterctl stats`
#    (text and --json), `stats reset` zeroes the since-reset column only;
#  - version, reload (good and bad config, seen in version and metrics),
#    engines, pools, cache, cache flush, help, unknown command, daemon down;
#  - the socket's mode and group, a stale socket left by a crash;
#  - a real scrape of /metrics with curl, checked by t/lib/promcheck.py and
#    against the console's numbers; 404 elsewhere; non-loopback refused;
#  - commands answered at once while a slow scan (test engine) runs.
set -u
. "$(dirname "$0")/../lib/scanmilter.sh"

sm_need_built "$MILTERGEN" "$CTL"
[ -x "$SCANMILTER_TEST" ] || fail "no $SCANMILTER_TEST"
command -v curl >/dev/null || fail "curl is missing (make deps)"
PROMCHECK=$SM_TOP/t/lib/promcheck.py

plan 92
WD=$(mktemp -d /tmp/sm-control.XXXXXX)
trap 'sm_stop; rm -rf "$WD"' EXIT
mkdir -p "$WD/clean" "$WD/virus" "$WD/slow"
cp "$SM_TOP/t/data/mail/clean-plain.eml" "$WD/clean/"
cp "$SM_TOP/t/data/mail/eicar-plain.eml" "$WD/virus/"
PORT=$(pick_port)
GROUP=mail
getent group "$GROUP" >/dev/null || GROUP=root

ctl() { "$CTL" -s "unix:$SM_CTL" "$@"; }
# the VALUE in column COL (1: since start, 2: since reset) of stats row LABEL
stat_of() {  # LABEL COL [INSTANCE]
    ctl stats ${3:-} | sed -n "s|^  $1: *||p" | awk -v c="$2" '{ print $c }'
}
metric() {  # SERIES (exact, with labels) -> value
    awk -v k="$1" '$1 == k { print $2 }' "$WD/metrics.txt"
}
quiet() { "$@" >/dev/null 2>&1; }
scrape() { curl -sf --max-time 5 "http://127.0.0.1:$PORT/metrics" >"$WD/metrics.txt"; }
send() {  # DIR N
    timeout 60 "$MILTERGEN" -s "unix:$SM_SOCK" -c 1 -n "$2" -t 30 "$1" | grep '^RESULT'
}

EXTRA="control {
  listen = \"unix:$WD/a/run/control.sock\"
  socket_mode = 0660
  socket_group = \"$GROUP\"
  signature_max_age = 7
  reload_interval = 0
}
metrics { listen = \"127.0.0.1:$PORT\" }"
sm_start "$WD/a" "$EXTRA"
check "control socket is there" wait_until 10 test -S "$SM_CTL"
check "control socket mode 0660" [ "$(stat -c %a "$SM_CTL")" = 660 ]
check "control socket group $GROUP" [ "$(stat -c %G "$SM_CTL")" = "$GROUP" ]

# 1. stats match what was sent
res=$(send "$WD/clean" 5)
check "5 clean messages accepted" grep -q ' accept=5 ' <<<"$res"
res=$(send "$WD/virus" 2)
check "2 EICAR messages rejected" grep -q ' reject=2 ' <<<"$res"
out=$(ctl stats); rc=$?
printf '%s\n' "$out" | sed 's/^/#   /'
check "stats exits 0" [ $rc = 0 ]
check "stats: Messages checked 7 since start" [ "$(stat_of 'Messages checked' 1)" = 7 ]
check "stats: Messages checked 7 since reset" [ "$(stat_of 'Messages checked' 2)" = 7 ]
check "stats: Viruses detected 2" [ "$(stat_of 'Viruses detected' 1)" = 2 ]
check "stats: Rejects 2" [ "$(stat_of 'Rejects' 1)" = 2 ]
check "stats: Viruses cured 0" [ "$(stat_of 'Viruses cured' 1)" = 0 ]
check "stats: an average time per message" \
    bash -c "[[ '$(stat_of 'Avg. time/message' 1)' =~ ^[0-9]+\.[0-9]{3}ms$ ]]"
check "stats: the same content was answered by the cache" \
    [ "$(stat_of 'Cache hits' 1)" -ge 5 ]
check "stats: tempfails by reason" bash -c "grep -q 'Tempfails (timeout): *0 *0' <<<'$out' &&
    grep -q 'Tempfails (busy):' <<<'$out' && grep -q 'Tempfails (error):' <<<'$out'"
check "stats lists the pools" grep -qE '^CPU +[0-9]+ +[0-9]+' <<<"$out"
check "stats INSTANCE" bash -c "'$CTL' -s '$SM_CTL' stats antivirus1 | grep -q '^antivirus1 '"
ctl stats nosuch >/dev/null 2>"$WD/err"; rc=$?
check "stats of an unknown instance: exit 2, says so" \
    bash -c "[ $rc = 2 ] && grep -q 'no antivirus instance \"nosuch\"' '$WD/err'"

ctl --json stats >"$WD/stats.json"
check "--json stats is JSON" quiet python3 -m json.tool "$WD/stats.json"
check "--json stats: messages 7, viruses 2" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
i = d["instances"][0]
assert i["name"] == "antivirus1", i
assert i["since_start"]["messages"] == 7 and i["since_start"]["viruses"] == 2, i
assert d["pools"][0]["name"] == "CPU", d' "$WD/stats.json"

# 2. metrics agree
check "metrics scraped with curl" scrape
check "metrics: exposition format well formed" python3 "$PROMCHECK" "$WD/metrics.txt"
check "metrics: messages_total 7" [ "$(metric 'scanmilter_messages_total{scanner="antivirus1"}')" = 7 ]
check "metrics: viruses_total 2" [ "$(metric 'scanmilter_viruses_total{scanner="antivirus1"}')" = 2 ]
check "metrics: rejects_total 2" [ "$(metric 'scanmilter_rejects_total{scanner="antivirus1"}')" = 2 ]
check "metrics: histogram count 7" \
    [ "$(metric 'scanmilter_message_scan_seconds_count{scanner="antivirus1"}')" = 7 ]
check "metrics: replies by kind (5 accepted, 2 rejected, none discarded)" bash -c '
    [ "$(grep -F "scanmilter_replies_total{scanner=\"antivirus1\",reply=\"accept\"}" "$1" | cut -d" " -f2)" = 5 ] &&
    [ "$(grep -F "scanmilter_replies_total{scanner=\"antivirus1\",reply=\"reject\"}" "$1" | cut -d" " -f2)" = 2 ] &&
    [ "$(grep -F "scanmilter_replies_total{scanner=\"antivirus1\",reply=\"discard\"}" "$1" | cut -d" " -f2)" = 0 ]' _ "$WD/metrics.txt"
check "metrics: process_start_time_seconds and process_resident_memory_bytes" bash -c '
    start=$(sed -n "s/^process_start_time_seconds //p" "$1"); rss=$(sed -n "s/^process_resident_memory_bytes //p" "$1")
    now=$(date +%s); [ -n "$start" ] && [ "$start" -le "$now" ] && [ "$start" -gt $((now - 3600)) ] &&
    [ -n "$rss" ] && [ "$rss" -gt 1000000 ]' _ "$WD/metrics.txt"
check "metrics: no label named instance (Prometheus adds its own)" bash -c '! grep -q "[{,]instance=" "$1"' _ "$WD/metrics.txt"
check "metrics: tempfails by reason" grep -q 'scanmilter_tempfails_total{scanner="antivirus1",reason="busy"} 0' "$WD/metrics.txt"
check "metrics: pool gauges" grep -q '^scanmilter_pool_threads{pool="CPU"} [1-9]' "$WD/metrics.txt"
check "metrics: cache hits per engine" \
    bash -c "[ \"\$(grep -F 'scanmilter_engine_cache_hits_total{scanner=\"antivirus1\",engine=\"clamav1\"}' '$WD/metrics.txt' | awk '{print \$2}')\" -ge 5 ]"
check "metrics: Content-Type 0.0.4" bash -c \
    "curl -sf -D - -o /dev/null 'http://127.0.0.1:$PORT/metrics' | grep -qi '^content-type: text/plain; version=0.0.4'"
check "metrics: 404 elsewhere" \
    [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/")" = 404 ]
# only GET is allowed: any other method is 405 with "Allow: GET" (curl's 000
# would mean no answer at all -- a crash)
hdrs=$(curl -s -o /dev/null -D - -X POST "http://127.0.0.1:$PORT/metrics" | tr -d '\r')
code=$(sed -n '1s/^HTTP\/1\.[01] \([0-9]*\).*/\1/p' <<<"$hdrs")
check "metrics: POST refused with 405 and Allow: GET ($code)" \
    bash -c '[ "$1" = 405 ] && grep -qx "Allow: GET" <<<"$2"' _ "$code" "$hdrs"
check "metrics: still answering GET after it" bash -c \
    "[ \"\$(curl -s -o /dev/null -w '%{http_code}' 'http://127.0.0.1:$PORT/metrics')\" = 200 ]"

# 3. stats reset
check "stats reset" bash -c "'$CTL' -s '$SM_CTL' stats reset | grep -q 'statistics reset for 1 instance'"
check "after reset: since reset 0" [ "$(stat_of 'Messages checked' 2)" = 0 ]
check "after reset: since start still 7" [ "$(stat_of 'Messages checked' 1)" = 7 ]
check "after reset: no average yet ('-', not nan)" [ "$(stat_of 'Avg. time/message' 2)" = - ]
send "$WD/virus" 1 >/dev/null
check "after reset: one more counted in both columns" \
    bash -c "[ '$(stat_of 'Viruses detected' 1)' = 3 ] && [ '$(stat_of 'Viruses detected' 2)' = 1 ]"

# 4. version
out=$(ctl version)
printf '%s\n' "$out" | sed 's/^/#   /'
ver=$("$SCANMILTER" -V)
check "version: scanmilter's version" grep -qxF "$ver" <<<"$out"
check "version: the engine instance" grep -qx 'antivirus1: clamav "clamav1"' <<<"$out"
check "version: engine version" grep -qE '^  Engine version: +ClamAV [0-9]' <<<"$out"
check "version: signature version" grep -qE '^  Signature version: +.*3 signatures' <<<"$out"
# the test signatures (.ndb/.hdb, no .cvd header) carry no build time: the
# age is unknown, never "Up to date"
check "version: signature build date unknown (no .cvd header)" grep -qE '^  Signatures built: +unknown$' <<<"$out"
check "version: signature age unknown, not 'Up to date'" grep -qx '  Signature age unknown' <<<"$out"
check "version: no reload yet" grep -qE '^Last reload: +never' <<<"$out"
check "--json version is JSON with the engine" bash -c \
    "'$CTL' -s '$SM_CTL' --json version | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d[\"engines\"][0][\"engine_version\"].startswith(\"ClamAV\")'"

# 5. reload: good, bad, good again
out=$(ctl reload); rc=$?
check "reload: exit 0, says so" bash -c "[ $rc = 0 ] && grep -q '^reloaded' <<<'$out'"
check "reload: version shows it" bash -c "'$CTL' -s '$SM_CTL' version | grep -qE '^Last reload: .*, OK$'"
scrape
check "reload: metrics count it" [ "$(metric scanmilter_reloads_total)" = 1 ]
cp "$SM_CONF" "$WD/good.conf"
sed -i 's|^milter {|milter {\n  bogus_option = 1|' "$SM_CONF"
ctl reload >/dev/null 2>"$WD/err"; rc=$?
check "bad reload: exit 1 with file, line and option" bash -c \
    "[ $rc = 1 ] && grep -q \"reload failed, the running configuration stays: $SM_CONF:[0-9]*: option 'bogus_option'\" '$WD/err'"
check "bad reload: version says FAILED" bash -c "'$CTL' -s '$SM_CTL' version | grep -qE '^Last reload: .*, FAILED: .*bogus_option'"
scrape
check "bad reload: metrics last_reload_success 0" [ "$(metric scanmilter_last_reload_success)" = 0 ]
check "bad reload: still serving" bash -c "timeout 60 '$MILTERGEN' -s 'unix:$SM_SOCK' -c 1 -n 1 '$WD/clean' | grep -q ' accept=1 '"
cp "$WD/good.conf" "$SM_CONF"
check "reload again" quiet ctl reload
check "metrics: 2 reloads, 1 failure" bash -c "curl -sf 'http://127.0.0.1:$PORT/metrics' |
    grep -qx 'scanmilter_reloads_total 2' && curl -sf 'http://127.0.0.1:$PORT/metrics' | grep -qx 'scanmilter_reload_failures_total 1'"

# 6. engines, pools, cache, help, errors
check "engines lists clamav1" bash -c "'$CTL' -s '$SM_CTL' engines | grep -qE '^antivirus1 +clamav1 +clamav +enabled +CPU +reject'"
check "pools: CPU with threads and queue" bash -c "'$CTL' -s '$SM_CTL' pools | grep -qE '^CPU +[1-9][0-9]* +[0-9]+ +[0-9]+ +[1-9]'"
check "--json pools is JSON" bash -c "'$CTL' -s '$SM_CTL' --json pools | python3 -m json.tool >/dev/null"
send "$WD/clean" 3 >/dev/null
out=$(ctl cache)
printf '%s\n' "$out" | sed 's/^/#   /'
check "cache: clamav1 has an entry and hits" bash -c "grep -qE '^antivirus1 +clamav1 +1 +[0-9]+ +[1-9]' <<<'$out'"
check "cache flush" bash -c "'$CTL' -s '$SM_CTL' cache flush | grep -q '^flushed 1 cache, 1 entry dropped'"
check "cache: empty after the flush" bash -c "'$CTL' -s '$SM_CTL' cache | grep -qE '^antivirus1 +clamav1 +0 '"
check "help lists the commands" bash -c "'$CTL' -s '$SM_CTL' help | grep -q 'cache \[flush\]'"
ctl frobnicate >/dev/null 2>"$WD/err"; rc=$?
check "unknown command: exit 2 and says so" \
    bash -c "[ $rc = 2 ] && grep -q \"unknown command 'frobnicate'\" '$WD/err'"
ctl --json frobnicate >"$WD/err.json" 2>/dev/null; rc=$?
check "unknown command --json: exit 2, JSON error" \
    bash -c "[ $rc = 2 ] && python3 -c 'import json,sys; assert \"error\" in json.load(open(sys.argv[1]))' '$WD/err.json'"
ctl version extra >/dev/null 2>&1
check "extra argument: exit 2" [ $? = 2 ]
check "-c CONFIG finds the socket" bash -c "'$CTL' -c '$SM_CONF' version | grep -q '^scanmilter '"
check "raw protocol: status line first" bash -c \
    "python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(b\"help\n\"); d=s.makefile().read(); assert d.startswith(\"OK\n\"), d' '$SM_CTL'"
check "a silent client is dropped, the console goes on" bash -c \
    "python3 -c 'import socket,sys,time; s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.settimeout(10); t=time.time(); d=s.recv(100); assert d==b\"\" and time.time()-t < 8' '$SM_CTL' && '$CTL' -s '$SM_CTL' pools >/dev/null"

# 7. crash leaves the socket; a new daemon replaces the stale one
kill -KILL "$SM_PID"; wait "$SM_PID" 2>/dev/null; SM_PID=
check "after a crash the socket is left behind" [ -S "$SM_CTL" ]
ctl stats >/dev/null 2>"$WD/err"; rc=$?
check "daemon down: exit 3 (LSB: not running), 'not running'" bash -c \
    "[ $rc = 3 ] && grep -q 'scanmilter is not running' '$WD/err'"
sm_start "$WD/a" "$EXTRA"
check "restart over a stale socket: console answers" wait_until 10 quiet ctl version
check "second daemon on the same control socket refused" bash -c \
    "sed 's|/a/run/scanmilter.sock|/a/run/other.sock|' '$SM_CONF' >'$WD/second.conf' &&
     ! timeout 20 '$SCANMILTER' -f -c '$WD/second.conf' 2>'$WD/second.log' &&
     grep -q 'in use by a running scanmilter' '$WD/second.log'"
check "... and the first one still answers" quiet ctl version
check "stopped cleanly" sm_stop
check "control socket removed at exit" [ ! -e "$SM_CTL" ]
ctl stats >/dev/null 2>"$WD/err"; rc=$?
check "daemon not running: exit 3, names the socket" bash -c \
    "[ $rc = 3 ] && grep -qF 'scanmilter is not running (no control socket at $SM_CTL)' '$WD/err'"

# 8. metrics only on loopback
sm_write_conf "$WD/b" "metrics { listen = \"0.0.0.0:$PORT\" }" >"$WD/b.conf"
mkdir -p "$WD/b/run" "$WD/b/tmp"
timeout 20 "$SCANMILTER" -f -c "$WD/b.conf" 2>"$WD/b.log"
check "non-loopback metrics address refused at start" bash -c \
    "[ $? != 0 ] && grep -q 'is not a loopback address' '$WD/b.log'"

# 9. answered while a slow scan runs (test engine, 4 s per message)
printf 'From: a@example.com\r\nTo: b@example.org\r\nSubject: t\r\nX-Test-Delay: 4s\r\n\r\nhello\r\n' \
    >"$WD/slow/slow.eml"
SM_AV='antivirus "antivirus1" { timeout = 30s  test "t1" { } }' SCANMILTER=$SCANMILTER_TEST \
    sm_start "$WD/c" 'threadpool "CPU" { concurrency = 1 }'
timeout 60 "$MILTERGEN" -s "unix:$SM_SOCK" -c 2 -n 2 -t 30 "$WD/slow" >"$WD/slow.out" 2>&1 &
gen=$!
check "slow scan under way" wait_until 3 bash -c "'$CTL' -s '$SM_CTL' pools | grep -qE '^CPU +[0-9]+ +[1-9]'"
# what matters is that the answers come while the scans still run (two of
# 4 s, one after the other), not how fast a busy machine gives them
t0=$(_now_ms)
out=$(ctl stats) && out2=$(ctl version) && out3=$(ctl pools)
dt=$(( $(_now_ms) - t0 ))
check "stats, version, pools answered in ${dt} ms, before the scans ended" \
    bash -c "[ $dt -lt 4000 ] && kill -0 $gen 2>/dev/null"
check "... showing the busy thread" grep -qE '^CPU +[0-9]+ +[1-9]' <<<"$out3"
check "... and the test engine" grep -q 'Engine version: *test engine 1' <<<"$out2"
t0=$(_now_ms)
check "reload during the scan" quiet ctl reload
check "stats right after the reload" quiet ctl stats antivirus1
dt=$(( $(_now_ms) - t0 ))
check "reload did not wait for the scans (${dt} ms, the scans still running)" \
    bash -c "[ $dt -lt 4000 ] && kill -0 $gen 2>/dev/null"
wait "$gen"
check "both slow messages accepted" grep -q ' accept=2 ' "$WD/slow.out"
check "stats counted them" [ "$(stat_of 'Messages checked' 1 antivirus1)" = 2 ]
check "stopped cleanly (test daemon)" sm_stop
# 10. the console's directory missing: the daemon scans anyway, and says so
sm_start "$WD/nodir" 'control { listen = "unix:/nonexistent-scanmilter-dir/control.sock" }'
timeout 30 "$MILTERGEN" -s "unix:$SM_SOCK" -c 1 -n 1 -o "$WD/nodir.csv" "$SM_TOP/t/data/mail/eicar-plain.eml" >/dev/null
check "no control directory: mail is still scanned" grep -q 'Virus found: Scanmilter.Test.EICAR' "$WD/nodir.csv"
check "no control directory: the log says the console is off" sm_log_has 'its directory does not exist: no console'
check "stopped cleanly" sm_stop

finish
