#!/usr/bin/env bash
# The verdict cache through the real daemon (libclamav): cache_size entries per engine, least recently
# used evicted.  With cache_size = 2 and four distinct messages the two oldest verdicts are
# evicted: the newest message sent again is answered from the cache (the scanning pool runs no
# job for it), the
# first one is scanned again; `scanmilterctl cache` (and --json) count entries, capacity,
# hits, misses, evictions.  The same sequence with cache_size = 10 scans nothing twice.
set -u
. "$(dirname "$0")/../lib/scanmilter.sh"
. "$(dirname "$0")/../lib/promises.sh"

sm_need_built "$MILTERGEN"
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
finish
