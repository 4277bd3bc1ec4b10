#!/usr/bin/env bash
# The verdict cache through the real daemon (libclamav): cache_size entries per engine, least recently
# used evicted.  With cache_size = 2 and four distinct messages the two oldest verdicts are
# evicted: the newest message sent again is answered from the cache (the scanning pool runs no
# job for it), the
# first one is scanned again; `scanmilterctl cache` (and --json) count entries, capacity,
# hits, misses, evictions.  The same sequence with cache_size = 10 scans nothing twice.
# The first level (an attachment known by its bytes as encoded in the message): the same
# encoded bytes under another transfer encoding decode to other bytes and must not be taken
# for the part seen before (a base64 EICAR first seen as quoted-printable text, clean, is still
# rejected as base64); a known attachment in another message gets its verdict without a scan
# or a decode (an encoding hit); the same file encoded differently still hits (the decoded
# bytes' key, no encoding hit).
# Attachments of 4 KB and more seen twice are also kept as they arrived (attachment_memory): the
# third copy is known by comparing its bytes, without hashing them (an attachment hit); copies that differ
# from it in a few bytes only (the same length, the same start and end, EICAR planted at eight
# places in between) are not taken for it: each is scanned and rejected.  With
# attachment_memory = 0 a repeated attachment is still known, by its hash.
set -u
. "$(dirname "$0")/../lib/scanmilter.sh"
. "$(dirname "$0")/../lib/promises.sh"

sm_need_built "$MILTERGEN"
command -v curl >/dev/null || fail "curl is missing (make deps)"
CTL=$(dirname "$SCANMILTER")/scanmilterctl
[ -x "$CTL" ] || CTL=$SM_TOP/build/src/scanmilterctl
WD=$(mktemp -d /tmp/sm-cache.XXXXXX)
trap 'sm_stop; rm -rf "$WD"' EXIT
chmod 755 "$WD"
for i in 1 2 3 4; do
    mkdir -p "$WD/m$i"
    printf 'From: s@example.com\r\nSubject: cache %s\r\n\r\nbody number %s\r\n' "$i" "$i" >"$WD/m$i/m.eml"
done
scans() {  # jobs the CPU pool ran: cache hits never reach it
    "$CTL" -s "$SM_CTL" --json pools | python3 -c '
import json, sys
print(sum(p["done"] for p in json.load(sys.stdin)["pools"]))'
}
cache_json() {  # FIELD
    "$CTL" -s "$SM_CTL" --json cache | python3 -c '
import json, sys
c = json.load(sys.stdin)["caches"][0]
print(c[sys.argv[1]])' "$1"
}
memo_json() {  # FIELD of the attachments kept as they arrived ("off" without them)
    "$CTL" -s "$SM_CTL" --json cache | python3 -c '
import json, sys
m = json.load(sys.stdin)["attachments"]
print("off" if m is None else m[sys.argv[1]])' "$1"
}
send() {  # N...
    local i got
    for i in "$@"; do
        got=$(mg_one "unix:$SM_SOCK" "$WD/m$i")
        [ "$got" = "accept|" ] || { not_ok "message $i accepted ($got)"; return 1; }
    done
}

# 1. cache_size = 2
SM_AV='antivirus "av1" { cache_size = 2  clamav "c1" { database_directory = "'"$SM_TOP/t/data/sigs"'" } }' sm_start "$WD/a"
send 1 2 3 4
check "4 distinct messages: 4 engine scans ($(scans))" [ "$(scans)" = 4 ]
check "cache: 2 entries of 2 ($(cache_json entries)/$(cache_json capacity))" \
    [ "$(cache_json entries)/$(cache_json capacity)" = 2/2 ]
check "cache: 2 evictions ($(cache_json evictions))" [ "$(cache_json evictions)" = 2 ]
send 4
check "the newest sent again: from the cache, no scan ($(scans))" [ "$(scans)" = 4 ]
check "cache: 1 hit ($(cache_json hits))" [ "$(cache_json hits)" = 1 ]
send 1
check "the first sent again: evicted, scanned again ($(scans))" [ "$(scans)" = 5 ]
check "cache: 5 misses, 3 evictions ($(cache_json misses), $(cache_json evictions))" \
    [ "$(cache_json misses),$(cache_json evictions)" = 5,3 ]
out=$("$CTL" -s "$SM_CTL" cache)
printf '%s\n' "$out" | sed 's/^/#   /'
check "scanmilterctl cache: entries 2, capacity 2, hits 1, misses 5" \
    grep -qE '^av1 +c1 +2 +2 +1 +5 ' <<<"$out"
check "stopped cleanly" sm_stop

# 2. the same with room for all: nothing scanned twice
SM_AV='antivirus "av1" { cache_size = 10  clamav "c1" { database_directory = "'"$SM_TOP/t/data/sigs"'" } }' sm_start "$WD/b"
send 1 2 3 4 4 1
check "cache_size = 10: 4 scans for 6 messages ($(scans))" [ "$(scans)" = 4 ]
check "cache_size = 10: no eviction ($(cache_json evictions))" [ "$(cache_json evictions)" = 0 ]
check "stopped cleanly" sm_stop

# 3. the first level: keyed by the encoded bytes and the transfer encoding
# (the messages of 4. made here too)
python3 - "$WD" <<'PY'
import base64, os, random, sys
wd = sys.argv[1]
eicar = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
def msg(name, text, cte, body):
    os.makedirs("%s/%s" % (wd, name), exist_ok=True)
    open("%s/%s/m.eml" % (wd, name), "wb").write(
        b"From: s@example.com\r\nSubject: first level " + name.encode() +
        b"\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n"
        b"--b\r\nContent-Type: text/plain\r\n\r\n" + text + b"\r\n--b\r\n"
        b"Content-Type: application/octet-stream; name=\"f.bin\"\r\n"
        b"Content-Transfer-Encoding: " + cte + b"\r\n\r\n" + body + b"--b--\r\n")
def b64lines(data):      # base64 in 76-column lines
    return base64.encodebytes(data).replace(b"\n", b"\r\n")
b64 = b64lines(eicar)
assert b64.rstrip().endswith(b"=")      # as quoted-printable: a soft line break, no flaw
b64_60 = b"".join(base64.b64encode(eicar)[i:i + 60] + b"\r\n" for i in range(0, 92, 60))
msg("qp", b"the base64 text as it stands", b"quoted-printable", b64)
msg("b64", b"the same bytes, as base64", b"base64", b64)
msg("b64again", b"another message, the same attachment", b"base64", b64)
msg("b64other", b"the same file, other line lengths", b"base64", b64_60)
rnd = random.Random(5)
clean = bytes(rnd.choice(b"abcdefghij klmnopqrstuvwxyz\n") for _ in range(48 * 1024))
msg("big", b"first", b"base64", b64lines(clean))
msg("bigagain", b"another message, the same attachment", b"base64", b64lines(clean))
msg("bigthird", b"a third message, the same attachment", b"base64", b64lines(clean))
for k in range(8):       # EICAR in place of as many bytes, on a 3-byte boundary
    at = (1 + k) * len(clean) // 10 // 3 * 3
    near = clean[:at] + eicar + clean[at + len(eicar):]
    assert len(near) == len(clean) and near[:at] == clean[:at]
    msg("near%d" % k, b"a near copy", b"base64", b64lines(near))
PY
SM_AV='antivirus "av1" { cache_size = 10  clamav "c1" { database_directory = "'"$SM_TOP/t/data/sigs"'" } }' sm_start "$WD/c"
got=$(mg_one "unix:$SM_SOCK" "$WD/qp/m.eml")
check "base64 text as quoted-printable: clean, accepted ($got)" [ "$got" = "accept|" ]
check "  skeleton and part scanned ($(scans))" [ "$(scans)" = 2 ]
got=$(mg_one "unix:$SM_SOCK" "$WD/b64/m.eml")
check "the same bytes as base64: EICAR, rejected ($got)" grep -q '^reject|.*EICAR' <<<"$got"
check "  its part scanned, not taken from the cache ($(scans))" [ "$(scans)" = 4 ]
check "  no encoding known ($(cache_json encoding_hits))" [ "$(cache_json encoding_hits)" = 0 ]
got=$(mg_one "unix:$SM_SOCK" "$WD/b64again/m.eml")
check "the attachment in another message: rejected ($got)" grep -q '^reject|.*EICAR' <<<"$got"
check "  only the skeleton scanned ($(scans))" [ "$(scans)" = 5 ]
check "  known by its encoded bytes, not decoded (encoding hits $(cache_json encoding_hits))" \
    [ "$(cache_json encoding_hits)" = 1 ]
got=$(mg_one "unix:$SM_SOCK" "$WD/b64other/m.eml")
check "the same file encoded differently: rejected ($got)" grep -q '^reject|.*EICAR' <<<"$got"
check "  only the skeleton scanned ($(scans))" [ "$(scans)" = 6 ]
check "  known by its decoded bytes, not its encoding (encoding hits $(cache_json encoding_hits))" \
    [ "$(cache_json encoding_hits)" = 1 ]
check "stopped cleanly" sm_stop

# 4. attachments kept as they arrived: known by their bytes, near copies are not
PORT=$(pick_port)
SM_AV='antivirus "av1" { mime_decompose = yes  cache_size = 100  clamav "c1" { database_directory = "'"$SM_TOP/t/data/sigs"'" } }' \
    sm_start "$WD/d" "metrics { listen = \"127.0.0.1:$PORT\" }"
got=$(mg_one "unix:$SM_SOCK" "$WD/big/m.eml")
check "a 64 KB base64 attachment: clean, accepted ($got)" [ "$got" = "accept|" ]
check "  skeleton and part scanned ($(scans)); seen once, not kept ($(memo_json inserts))" \
    [ "$(scans),$(memo_json inserts)" = 2,0 ]
got=$(mg_one "unix:$SM_SOCK" "$WD/bigagain/m.eml")
check "the attachment in another message: accepted ($got)" [ "$got" = "accept|" ]
check "  only the skeleton scanned ($(scans)), known by its hash (encoding hits $(cache_json encoding_hits))" \
    [ "$(scans),$(cache_json encoding_hits)" = 3,1 ]
check "  seen twice: kept ($(memo_json inserts)), no attachment hit yet ($(memo_json hits))" \
    [ "$(memo_json inserts),$(memo_json hits)" = 1,0 ]
got=$(mg_one "unix:$SM_SOCK" "$WD/bigthird/m.eml")
check "the attachment in a third message: accepted ($got)" [ "$got" = "accept|" ]
check "  only the skeleton scanned ($(scans))" [ "$(scans)" = 4 ]
check "  known by its bytes (attachment hits $(memo_json hits), encoding hits $(cache_json encoding_hits))" \
    [ "$(memo_json hits),$(cache_json encoding_hits)" = 1,2 ]
m=$(curl -sf --max-time 5 "http://127.0.0.1:$PORT/metrics")
check "  and in the metrics: 1 hit, 1 entry of its size" bash -c '
    grep -qx "scanmilter_attachment_memory_hits_total 1" <<<"$1" &&
    grep -qx "scanmilter_attachment_memory_entries 1" <<<"$1" &&
    grep -qx "scanmilter_attachment_memory_bytes $2" <<<"$1"' _ "$m" "$(memo_json bytes)"
rejected=0
for k in 0 1 2 3 4 5 6 7; do
    got=$(mg_one "unix:$SM_SOCK" "$WD/near$k/m.eml")
    grep -q '^reject|.*EICAR' <<<"$got" && rejected=$((rejected + 1))
done
check "8 near copies (same length, start and end): all rejected ($rejected)" [ "$rejected" = 8 ]
check "  each one's part scanned ($(scans))" [ "$(scans)" = 20 ]
check "  none known by its bytes (attachment hits $(memo_json hits))" [ "$(memo_json hits)" = 1 ]
check "stopped cleanly" sm_stop
SM_MILTER_EXTRA='attachment_memory = 0' \
SM_AV='antivirus "av1" { mime_decompose = yes  cache_size = 100  clamav "c1" { database_directory = "'"$SM_TOP/t/data/sigs"'" } }' sm_start "$WD/e"
mg_one "unix:$SM_SOCK" "$WD/big/m.eml" >/dev/null
got=$(mg_one "unix:$SM_SOCK" "$WD/bigagain/m.eml")
check "attachment_memory = 0: the attachment in another message accepted ($got)" [ "$got" = "accept|" ]
check "  only the skeleton scanned ($(scans)), known by its hash (encoding hits $(cache_json encoding_hits))" \
    [ "$(scans),$(cache_json encoding_hits)" = 3,1 ]
check "  nothing kept ($(memo_json hits))" [ "$(memo_json hits)" = off ]
check "stopped cleanly" sm_stop
finish
