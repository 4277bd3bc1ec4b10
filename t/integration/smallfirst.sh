#!/usr/bin/env bash
# "Small messages go first and have a lane of their own, so they never wait behind big
# attachments" -- through the real daemon with the test engine's per-message delay:
#   1. order: one CPU thread (no small lane, max_wait long) kept busy; a large message is
#      queued, then a small one: the small one is scanned and answered first;
#   2. lane: one CPU thread scanning a large message for 6 s; a small message is answered at
#      once on the small lane (small_threads = 1, the default), long before the large one.
set -u
. "$(dirname "$0")/../lib/scanmilter.sh"
. "$(dirname "$0")/../lib/promises.sh"

sm_need_built "$MILTERGEN"
WD=$(mktemp -d /tmp/sm-small.XXXXXX)
PIDS=()
trap 'sm_stop; for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$WD"' EXIT
chmod 755 "$WD"

mkmsg() {  # DIR SUBJECT DELAY BODY_KIB
    mkdir -p "$1"
    {
        printf 'From: s@example.com\r\nSubject: %s\r\nX-Test-Delay: %s\r\n\r\n' "$2" "$3"
        python3 -c 'import sys
line = "x" * 76 + "\r\n"
sys.stdout.write(line * (int(sys.argv[1]) * 1024 // len(line) + 1))' "$4"
    } >"$1/m.eml"
}
mkmsg "$WD/block" blocker 3s 1
mkmsg "$WD/large" large 1s 200
mkmsg "$WD/small" small 1s 1
send() {  # NAME: miltergen in the background, CSV WD/NAME.csv
    timeout 60 "$MILTERGEN" -s "unix:$SM_SOCK" -c 1 -n 1 -t 50 -o "$WD/$1.csv" "$WD/$1" >/dev/null 2>&1 &
    PIDS+=($!)
}
started() { [ "$(grep -c 'test engine t1: scan of .* started' "$SM_LOG")" -ge "$1" ]; }
queued() { "$CTL" -s "$SM_CTL" pools 2>/dev/null | awk -v n="$1" '$1 == "CPU" && $4 >= n { f = 1 } END { exit !f }'; }
order() {  # the sizes of the answered messages, in log order
    sed -n 's/.*, size=\([0-9]*\),.*reply=.*/\1/p' "$SM_LOG" | tr '\n' ' ' | sed 's/ / &/g'
}
lsize=$(wc -c <"$WD/large/m.eml")
ssize=$(wc -c <"$WD/small/m.eml")
[ "$lsize" -gt 131072 ] && [ "$ssize" -lt 4096 ] || fail "test messages of the wrong sizes ($lsize, $ssize)"

# 1. order, one thread, no small lane
SM_AV='antivirus "av1" { timeout = 60s  test "t1" { } }' SCANMILTER=$SCANMILTER_T sm_start "$WD/a" \
    'threadpool "CPU" { concurrency = 1  small_threads = 0  max_wait = 30s }'
send block
check "order: the blocker is scanning" wait_until 10 started 1
send large
check "order: the large message waits in the queue" wait_until 10 queued 1
send small
check "order: the small message waits too" wait_until 10 queued 2
for p in "${PIDS[@]}"; do wait "$p"; done; PIDS=()
got=$(order)
log "answered (sizes, in order): $got"
check "order: all three accepted" bash -c "[ \"\$(grep -c 'reply=accept' '$SM_LOG')\" = 3 ]"
check "order: the small message was answered before the large one" \
    bash -c "[[ ' $got' == *' $ssize '*' $lsize '* ]]"
check "order: stopped cleanly" sm_stop

# 2. the small lane: one CPU thread busy with a 6 s large scan
mkmsg "$WD/large" large 6s 200
SM_AV='antivirus "av1" { timeout = 60s  test "t1" { } }' SCANMILTER=$SCANMILTER_T sm_start "$WD/b" \
    'threadpool "CPU" { concurrency = 1 }'
send large
check "lane: the large scan is running" wait_until 10 started 1
t0=$(_now_ms)
got=$(mg_one "unix:$SM_SOCK" "$WD/small")
dt=$(( $(_now_ms) - t0 ))
check "lane: the small message accepted ($got)" [ "$got" = "accept|" ]
check "lane: ... in ${dt} ms, not behind the 6 s scan (< 4000)" [ "$dt" -lt 4000 ]
check "lane: ... while the large one still ran" bash -c "[ \"\$(grep -c 'reply=' '$SM_LOG')\" = 1 ]"
for p in "${PIDS[@]}"; do wait "$p"; done; PIDS=()
check "lane: the large message accepted afterwards" [ "$(csv_reply "$WD/large.csv")" = "accept|" ]
check "lane: stopped cleanly" sm_stop
finish
