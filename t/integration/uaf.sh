#!/usr/bin/env bash
# A scan that outlives its timeout must not read what the milter freed.
# The MTA gets its 451 at the timeout and moves on: the milter forgets the
# transaction (sender, queue id, macros) and, when the MTA hangs up, the
# connection (client address, HELO), while the engine is still scanning.
# The test engine sleeps past the timeout and then reads the envelope the
# object carries; the daemon is the AddressSanitizer build
# ($SCANMILTER_TEST from build-asan), which aborts on any read of freed
# memory.  Covered: the whole message, decomposed parts, several
# transactions on one connection, many at once.
set -u
. "$(dirname "$0")/../lib/scanmilter.sh"

sm_need_built "$MILTERGEN"
[ -x "$SCANMILTER_TEST" ] || fail "no $SCANMILTER_TEST (make -C build-asan t/scanmilter-test)"
SCANMILTER=$SCANMILTER_TEST
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=1}

WD=$(mktemp -d /tmp/sm-uaf.XXXXXX)
trap 'sm_stop; rm -rf "$WD"' EXIT
mkdir -p "$WD/m"
{ printf 'From: a@example.com\r\nTo: b@example.org\r\nSubject: late\r\n'
  printf 'X-Test-Delay: 2500ms\r\nMIME-Version: 1.0\r\n'
  printf 'Content-Type: multipart/mixed; boundary="B1"\r\n\r\n'
  printf -- '--B1\r\nContent-Type: text/plain\r\n\r\nhello\r\n'
  printf -- '--B1\r\nContent-Type: application/octet-stream\r\n'
  printf 'Content-Disposition: attachment; filename="a.bin"\r\n\r\n'
  printf 'X-Test-Delay: 2500ms\r\n--B1--\r\n'
} >"$WD/m/late.eml"

asan_clean() { ! grep -q 'AddressSanitizer' "$SM_LOG"; }
envelopes() { grep -c 'envelope after 2500ms: sender=<sender@bench.example> helo=client.example client=' "$SM_LOG"; }

run() {  # NAME MIME(yes/no) CONNECTIONS MESSAGES PER-CONNECTION
    local name=$1 mime=$2 c=$3 n=$4 m=$5 out want
    SM_AV="antivirus \"antivirus1\" { timeout = 1s  mime_decompose = $mime
        test \"t1\" { read_envelope = yes } }" \
        sm_start "$WD/$name" 'threadpool "CPU" { concurrency = 8  queue = 64 }'
    out=$(timeout 60 "$MILTERGEN" -s "unix:$SM_SOCK" -c "$c" -n "$n" -m "$m" -t 30 "$WD/m")
    printf '%s\n' "$out" | grep '^RESULT' | sed 's/^/#   /'
    check "$name: all $n answered 451 at the timeout" \
        bash -c "printf '%s\n' \"\$1\" | grep -q ' tempfail=$n '" _ "$out"
    want=$n; [ "$mime" = yes ] && want=$((2 * n))
    wait_until 15 bash -c "[ \$(grep -c 'envelope after' '$SM_LOG') -ge $want ] || ! kill -0 $SM_PID"
    check "$name: the late scans read the envelope they were given ($(envelopes) of $want)" \
        [ "$(envelopes)" -eq "$want" ]
    check "$name: no AddressSanitizer report" asan_clean
    check "$name: daemon alive" kill -0 "$SM_PID"
    check "$name: stopped cleanly" sm_stop
    asan_clean || grep -m 3 -A 12 'AddressSanitizer' "$SM_LOG" | sed 's/^/#   /' >&2
}

run whole no 1 1 1
run parts yes 1 1 1
run reused no 1 3 3
run many no 4 8 2
finish
