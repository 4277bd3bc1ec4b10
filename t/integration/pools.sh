#!/usr/bin/env bash
# Bounded pools, back-pressure and timeouts through the real daemon, with
# the test engine (t/engines/testengine.c: verdict and delay from config or
# X-Test-* headers) and bench/miltergen as the MTA side:
#  - 50 connections at once against a pool of 2 threads and a queue of 4:
#    never more than 2 scans at once, the excess answered 451 4.3.2 at once,
#    nobody waits past the timeout;
#  - a scan slower than the timeout answers 451 4.3.0 after the timeout, and
#    the daemon goes on (its late result is dropped);
#  - max_concurrency caps one engine below its pool's size;
#  - large messages run on at most large_concurrency threads, so small ones
#    pass while they scan;
#  - the queue bound counts messages: a decomposed message's parts are
#    never refused once the message is queued.
set -u
. "$(dirname "$0")/../lib/scanmilter.sh"

sm_need_built "$MILTERGEN"
[ -x "$SCANMILTER_TEST" ] || fail "no $SCANMILTER_TEST (make -C build t/scanmilter-test)"
SCANMILTER=$SCANMILTER_TEST

plan 29
WD=$(mktemp -d /tmp/sm-pool.XXXXXX)
trap 'sm_stop; rm -rf "$WD"' EXIT
mkdir -p "$WD/m1" "$WD/slow" "$WD/big" "$WD/small"

mkmsg() {  # FILE DELAY [BODY_BYTES]
    { printf 'From: a@example.com\r\nTo: b@example.org\r\nSubject: t\r\n'
      printf 'X-Test-Delay: %s\r\n\r\nhello\r\n' "$2"
      if [ "${3:-0}" -gt 0 ]; then head -c "$3" /dev/zero | tr '\0' 'x' | fold -w 76 | sed 's/$/\r/'; fi
    } >"$1"
}
mkmsg "$WD/m1/one.eml" 1s
mkmsg "$WD/slow/slow.eml" 4s
mkmsg "$WD/big/big.eml" 3s 300000
mkmsg "$WD/small/small.eml" 0

col() {  # KEY RESULT-LINE
    printf '%s\n' "$2" | tr ' ' '\n' | sed -n "s/^$1=//p"
}
max_running() {  # highest running=N the test engine logged
    grep -o 'running=[0-9]*' "$SM_LOG" | cut -d= -f2 | sort -n | tail -n 1
}

# 1. burst of 50 against 2 threads + queue of 4
SM_AV='antivirus "antivirus1" { timeout = 8s  test "t1" { } }' \
    sm_start "$WD/a" 'threadpool "CPU" { concurrency = 2  queue = 4  small_threads = 0 }'
out=$(timeout 60 "$MILTERGEN" -s "unix:$SM_SOCK" -c 50 -n 50 -m 1 -t 30 -o "$WD/burst.csv" "$WD/m1")
printf '%s\n' "$out" | sed 's/^/#   /'
res=$(printf '%s\n' "$out" | grep '^RESULT')
acc=$(col accept "$res") tf=$(col tempfail "$res") maxms=$(col max_ms "$res")
check "all 50 answered (accept $acc + tempfail $tf)" [ $((acc + tf)) -eq 50 ]
check "at least 6 scanned (2 running + 4 queued)" [ "$acc" -ge 6 ]
check "the excess was refused ($tf tempfails)" [ "$tf" -ge 30 ]
check "never more than 2 scans at once (max running $(max_running))" [ "$(max_running)" -le 2 ]
check "2 scans did run at once" [ "$(max_running)" -eq 2 ]
busy=$(grep -c '451 4.3.2 Mail scanner busy' "$WD/burst.csv")
check "refusals are 451 4.3.2 'busy' ($busy)" [ "$busy" -eq "$tf" ]
# at once: before a slot could have freed (each scan takes 1 s), so no
# refusal waited in the queue first
slow_busy=$(awk -F, '/4\.3\.2/ && $3 > 900 { n++ } END { print n + 0 }' "$WD/burst.csv")
check "refusals came at once (none after 900 ms, a scan takes 1 s: $slow_busy)" [ "$slow_busy" -eq 0 ]
check "nobody waited past the timeout + 1 s (max ${maxms} ms)" \
    awk -v m="$maxms" 'BEGIN { exit !(m < 9000) }'
check "daemon logged each refusal" bash -c "[ \$(grep -c 'reply=tempfail 451 4.3.2' '$SM_LOG') -eq $tf ]"
check "stopped cleanly" sm_stop

# 2. timeout: a 4 s scan against a 1 s timeout
SM_AV='antivirus "antivirus1" { timeout = 1s  test "t1" { } }' sm_start "$WD/b"
out=$(timeout 60 "$MILTERGEN" -s "unix:$SM_SOCK" -c 1 -n 1 -t 30 -o "$WD/slow.csv" "$WD/slow")
res=$(printf '%s\n' "$out" | grep '^RESULT')
ms=$(col max_ms "$res")
check "slow scan answered 451 4.3.0 timed out" grep -q '451 4.3.0 Message scan timed out' "$WD/slow.csv"
check "after the 1 s timeout, not the 4 s scan (${ms} ms)" awk -v m="$ms" 'BEGIN { exit !(m >= 1000 && m < 3000) }'
out=$(timeout 60 "$MILTERGEN" -s "unix:$SM_SOCK" -c 1 -n 2 -t 30 "$WD/small")
check "the daemon goes on serving after a timeout" bash -c "printf '%s\n' \"\$1\" | grep -q ' accept=2 '" _ "$out"
sleep 3.5   # let the late scan finish and be dropped
check "the late result was dropped, daemon alive" kill -0 "$SM_PID"
check "stopped cleanly" sm_stop

# 3. max_concurrency = 1 in a pool of 2
SM_AV='antivirus "antivirus1" { test "t1" { max_concurrency = 1 } }' \
    sm_start "$WD/c" 'threadpool "CPU" { concurrency = 2 }'
mkmsg "$WD/m1/one.eml" 300ms
out=$(timeout 60 "$MILTERGEN" -s "unix:$SM_SOCK" -c 4 -n 8 -t 30 "$WD/m1")
check "max_concurrency: all 8 accepted" bash -c "printf '%s\n' \"\$1\" | grep -q ' accept=8 '" _ "$out"
check "max_concurrency = 1 held (max running $(max_running))" [ "$(max_running)" -eq 1 ]
check "stopped cleanly" sm_stop

# 4. large lane: 3 large 3 s scans, small mail alongside stays fast (well
#    under the time of one large scan: it never waited behind one)
SM_AV='antivirus "antivirus1" { test "t1" { } }' \
    sm_start "$WD/d" 'threadpool "CPU" { concurrency = 2  large_job_size = 100K }'
timeout 60 "$MILTERGEN" -s "unix:$SM_SOCK" -c 3 -n 3 -m 1 -t 30 -o "$WD/big.csv" "$WD/big" >"$WD/big.out" &
bigpid=$!
wait_until 10 sm_log_has 'test engine t1: scan of .* started, running=1, delay=3000ms'
out=$(timeout 60 "$MILTERGEN" -s "unix:$SM_SOCK" -c 1 -n 20 -t 30 "$WD/small")
check "the small mail was done while a large scan still ran" kill -0 "$bigpid"
wait $bigpid
res=$(printf '%s\n' "$out" | grep '^RESULT')
p99=$(col p99_ms "$res")
check "small mail accepted while large scans run" bash -c "printf '%s\n' \"\$1\" | grep -q ' accept=20 '" _ "$out"
check "small mail did not wait behind large (p99 ${p99} ms < 1500, half a large scan)" awk -v m="$p99" 'BEGIN { exit !(m < 1500) }'
big_max=$(grep '^RESULT' "$WD/big.out" | tr ' ' '\n' | sed -n 's/^max_ms=//p')
check "large scans ran one at a time (last done after ${big_max} ms >= 8000)" awk -v m="$big_max" 'BEGIN { exit !(m >= 8000) }'
check "large: all 3 accepted" grep -q ' accept=3 ' "$WD/big.out"
check "stopped cleanly" sm_stop

# 5. the queue's bound is in messages: a message with attachments
# (mime_decompose: a job for each part and one for the rest) is never
# refused half way, nor counted once per part
mkdir -p "$WD/parts"
{ printf 'From: a@example.com\r\nTo: b@example.org\r\nSubject: parts\r\n'
  printf 'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n'
  for n in 1 2 3; do
      printf -- '--b\r\nContent-Type: application/octet-stream; name="f%s.bin"\r\n' $n
      printf 'Content-Disposition: attachment; filename="f%s.bin"\r\n\r\n' $n
      printf 'attachment %s\r\n' $n
  done
  printf -- '--b--\r\n'; } >"$WD/parts/parts.eml"
SM_AV='antivirus "antivirus1" { mime_decompose = yes  cache_size = 0
      test "t1" { delay = 100ms } }' \
    sm_start "$WD/e" 'threadpool "CPU" { concurrency = 1  queue = 2  small_threads = 0 }'
out=$(timeout 60 "$MILTERGEN" -s "unix:$SM_SOCK" -c 2 -n 6 -t 30 "$WD/parts")
printf '%s\n' "$out" | grep '^RESULT' | sed 's/^/#   /'
res=$(printf '%s\n' "$out" | grep '^RESULT')
check "2 messages of 4 jobs each against a queue of 2: none refused ($(col tempfail "$res") tempfails)" \
    [ "$(col accept "$res")" -eq 6 ]
scans=$(grep -c 'test engine t1: scan of' "$SM_LOG")
check "each was scanned in parts ($scans scans for 6 messages)" [ "$scans" -ge 24 ]
check "nothing held open or left under file_base while it runs" sm_tmp_empty
check "stopped cleanly" sm_stop
check "no temporary file left" sm_tmp_empty
finish
