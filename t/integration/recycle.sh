#!/usr/bin/env bash
# Large buffers are reused, not mapped afresh, and what is kept stays
# bounded.  The optimised test daemon (malloc's mmap threshold fixed at
# 128 KiB, so every buffer above it is a fresh mapping unless recycled),
# mime_decompose = yes and the test engine (it reads nothing, so the page
# faults counted are scanmilter's own): messages of about 600 KB with a
# 450 KB base64 attachment, each of which needs a message buffer, a decode
# buffer and a buffer for the decoded part.  Fresh pages for those are
# some 350 minor faults a message; reused ones, next to none.  After a
# burst at concurrency 8 the daemon's idle anonymous memory is within the
# recycler's cap (16 MiB) and a margin of its base.
set -u
. "$(dirname "$0")/../lib/scanmilter.sh"

SCANMILTER=${SCANMILTER_TEST_PLAIN:-$SM_TOP/build/t/scanmilter-test}
sm_need_built "$MILTERGEN" "$SCANMILTER"
case $(ldd "$SCANMILTER" 2>/dev/null) in
*libasan*|*libtsan*) echo "1..0 # skip: $SCANMILTER has a sanitizer (its own allocator)"; exit 0 ;;
esac
plan 6
WD=$(mktemp -d /tmp/sm-recycle.XXXXXX)
cleanup() { sm_stop; [ -n "${KEEP:-}" ] || rm -rf "$WD"; }
trap cleanup EXIT

# 12 different messages (random attachments: no two decode the same)
mkdir -p "$WD/m"
python3 - "$WD/m" <<'PY'
import base64, os, sys
for i in range(12):
    data = base64.encodebytes(os.urandom(450 * 1024)).replace(b"\n", b"\r\n")
    with open(os.path.join(sys.argv[1], "m%02d.eml" % i), "wb") as f:
        f.write(b"From: a@example.com\r\nTo: b@example.org\r\n"
                b"Subject: recycle %d\r\nMIME-Version: 1.0\r\n"
                b"Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n"
                b"--b\r\nContent-Type: text/plain\r\n\r\nhello\r\n"
                b"--b\r\nContent-Type: application/octet-stream\r\n"
                b"Content-Disposition: attachment; filename=\"a.bin\"\r\n"
                b"Content-Transfer-Encoding: base64\r\n\r\n" % i)
        f.write(data)
        f.write(b"--b--\r\n")
PY
send() {  # CONCURRENCY COUNT CSV -> the RESULT line
    timeout 300 "$MILTERGEN" -s "unix:$SM_SOCK" -c "$1" -n "$2" -t 120 -o "$3" "$WD/m" | grep '^RESULT'
}
minflt() { awk '{ print $10 }' "/proc/$SM_PID/stat"; }
rss_anon_kb() { awk '/^RssAnon:/ { print $2 }' "/proc/$SM_PID/status"; }

SM_AV='antivirus "antivirus1" { timeout = 60s  mime_decompose = yes  test "t1" { } }' \
    sm_start "$WD"
base=$(rss_anon_kb)
send 1 12 "$WD/warm.csv" >/dev/null	# the first of each size are fresh
check "warm-up: 12 accepted" [ "$(grep -c ',accept,' "$WD/warm.csv")" -eq 12 ]

f0=$(minflt)
send 1 48 "$WD/one.csv" >/dev/null
f1=$(minflt)
per=$(( (f1 - f0) / 48 ))
check "48 messages one at a time accepted" [ "$(grep -c ',accept,' "$WD/one.csv")" -eq 48 ]
check "minor page faults per 600 KB message: $per (fresh buffers: some 350; limit 100)" \
    [ "$per" -lt 100 ]

f0=$(minflt)
send 8 96 "$WD/burst.csv" >/dev/null
f1=$(minflt)
per=$(( (f1 - f0) / 96 ))
check "96 messages at concurrency 8 accepted" [ "$(grep -c ',accept,' "$WD/burst.csv")" -eq 96 ]
check "minor page faults per message at concurrency 8: $per (limit 150)" [ "$per" -lt 150 ]
sleep 1
idle=$(rss_anon_kb)
check "idle after the burst: anonymous memory +$(( (idle - base) / 1024 )) MB over its base (limit: the 16 MiB cap + 8 MB)" \
    [ $((idle - base)) -lt $(( (16 + 8) * 1024 )) ]
sm_stop
finish
