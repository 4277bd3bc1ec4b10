#!/usr/bin/env bash
# The verdict cache shared through Redis (cache { redis = … }), through three real daemons
# (libclamav, MIME decomposition) and Debian's redis-server on a private unix socket (with a
# password: AUTH):
#  - a 200-message campaign (five distinct attachments, one of them EICAR) sent round-robin
#    to the three daemons: the engine scans counted in their stats add up to one per message
#    (its skeleton: headers and text, different in each) plus one per distinct attachment in
#    all, every message answered right;
#  - a reload with unchanged signatures keeps the hits (no new scan); a changed signature
#    set misses: the objects are scanned again and an attachment the new set detects is
#    refused (no stale "clean" from Redis), also when the set keeps its version and size
#    (one local signature replaced by another);
#  - Redis stopped (SIGSTOP: slow) and then killed mid-run: every message still answered
#    right and at once, the outage logged once per engine and shown in `scanmilterctl stats`
#    and the metrics; Redis back: "answering again", stores resume.
set -u
. "$(dirname "$0")/../lib/scanmilter.sh"
. "$(dirname "$0")/../lib/promises.sh"

sm_need_built "$MILTERGEN"
CTL=$(dirname "$SCANMILTER")/scanmilterctl
[ -x "$CTL" ] || CTL=$SM_TOP/build/src/scanmilterctl
REDIS=$(command -v redis-server || echo /usr/bin/redis-server)
[ -x "$REDIS" ] || fail "redis-server is missing (make test-deps installs it)"
command -v curl >/dev/null || fail "curl is missing"

WD=$(mktemp -d /tmp/sm-redis.XXXXXX)
chmod 755 "$WD"
RPID= CPID= PIDS=() SOCKS=() CTLS=() LOGS=() PORTS=()
cleanup() {
    local p
    [ -n "$RPID" ] && { kill -CONT "$RPID" 2>/dev/null; kill -KILL "$RPID" 2>/dev/null; }
    [ -n "$CPID" ] && kill -KILL "$CPID" 2>/dev/null
    for p in "${PIDS[@]}"; do SM_PID=$p sm_stop; done
    [ -n "${KEEP:-}" ] || rm -rf "$WD"
}
trap cleanup EXIT

redis_start() {
    rm -f "$WD/redis.sock"
    "$REDIS" --port 0 --unixsocket "$WD/redis.sock" --unixsocketperm 700 --save '' \
        --requirepass "t$$-secret" \
        --appendonly no --dir "$WD" --logfile "$WD/redis.log" </dev/null &
    RPID=$!
    disown "$RPID"
    wait_for_socket "$WD/redis.sock" 20 || fail "redis-server did not start"
}
redis_keys() {  # how many verdicts Redis holds for this test's prefix (not the encodings, :enc:)
    REDISCLI_AUTH="t$$-secret" "$(dirname "$REDIS")/redis-cli" -s "$WD/redis.sock" --scan --pattern "t$$:*" 2>/dev/null |
        grep -vc ':enc:'
}
redis_encs() {  # how many first-level entries (attachment as encoded -> decoded key)
    REDISCLI_AUTH="t$$-secret" "$(dirname "$REDIS")/redis-cli" -s "$WD/redis.sock" --scan --pattern "t$$:*:enc:*" 2>/dev/null |
        wc -l
}

# the signatures, copied so that phase 3 can change them
mkdir -p "$WD/sigs"
cp "$SM_TOP"/t/data/sigs/* "$WD/sigs/"

# the campaign: 430 messages (200 for step 1, the rest for the later steps), all different in
# their headers, with the same text part and one of five attachments (a0..a3 clean, a4 EICAR)
python3 - "$WD" <<'PY'
import base64, os, random, sys
wd = sys.argv[1]
rnd = random.Random(20261207)
atts = [bytes(rnd.getrandbits(8) for _ in range(6000 + 1000 * i)) for i in range(4)]
atts.append(b'X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*')
os.makedirs(wd + '/att', exist_ok=True)
for i, a in enumerate(atts):
    open('%s/att/a%d' % (wd, i), 'wb').write(a)
def msg(n, a):
    b64 = base64.encodebytes(atts[a]).decode().replace('\n', '\r\n')
    return ('From: billing@example.com\r\nTo: user%d@example.org\r\n'
            'Subject: Invoice %d\r\nMessage-ID: <c%d@example.com>\r\n'
            'MIME-Version: 1.0\r\n'
            'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
            '--b\r\nContent-Type: text/plain\r\n\r\nPlease find the invoice attached.\r\n'
            '--b\r\nContent-Type: application/octet-stream; name="inv%d.bin"\r\n'
            'Content-Transfer-Encoding: base64\r\n'
            'Content-Disposition: attachment; filename="inv%d.bin"\r\n\r\n'
            '%s--b--\r\n' % (n, n, n, a, a, b64))
for n in range(430):
    a = rnd.randrange(5) if n >= 5 else n   # every attachment in the first five
    open('%s/m%03d-a%d.eml' % (wd, n, a), 'w', newline='').write(msg(n, a))
PY
ATTS=5

conf_cache() {
    printf 'cache { redis = "unix:%s/redis.sock"  password = "t%s-secret"  prefix = "t%s"  timeout = 250ms  retry = 1s }\n' \
        "$WD" "$$" "$$"
}
AV_CLAMAV='clamav "c1" { database_directory = "'"$WD/sigs"'" }'
start_all() {  # CACHE_CONF [ENGINE_BLOCK [N]]: N daemons (3) with it and the engine (clamav)
    local i
    PIDS=() SOCKS=() CTLS=() LOGS=() PORTS=()
    for ((i = 1; i <= ${3:-3}; i++)); do
        PORTS+=("$(pick_port)")
        SM_MILTER_EXTRA='auto_reload = no' \
        SM_AV='antivirus "av1" {
  action = "reject"  mime_decompose = yes  cache_size = 1000
  '"${2:-$AV_CLAMAV}"'
}' sm_start "$WD/d$i" "$1
metrics { listen = \"127.0.0.1:${PORTS[$((i - 1))]}\" }
control { listen = \"unix:$WD/d$i/run/control.sock\"  reload_interval = 0 }"
        PIDS+=("$SM_PID") SOCKS+=("$SM_SOCK") CTLS+=("$SM_CTL") LOGS+=("$SM_LOG")
    done
    SM_PID=
}
stop_all() {
    local p ok=0
    for p in "${PIDS[@]}"; do SM_PID=$p sm_stop || ok=1; done
    PIDS=()
    return $ok
}
# engine scans in all three daemons together (cache misses that reached the engine)
scans() {
    local c n=0 s
    for c in "${CTLS[@]}"; do
        s=$("$CTL" -s "$c" --json stats | python3 -c '
import json, sys
print(sum(i["since_start"]["engine_scans"] for i in json.load(sys.stdin)["instances"]))')
        n=$((n + s))
    done
    echo "$n"
}
shared() {  # FIELD summed over the daemons' shared caches
    local c n=0 s
    for c in "${CTLS[@]}"; do
        s=$("$CTL" -s "$c" --json stats | python3 -c '
import json, sys
print(sum(int(x[sys.argv[1]]) for x in json.load(sys.stdin).get("shared_cache", [])))' "$1")
        n=$((n + s))
    done
    echo "$n"
}
# send FIRST COUNT [STALE_ATT]: messages FIRST.. round-robin over the daemons, one at a time;
# EICAR (a4) and STALE_ATT must be refused, the rest accepted.  Counts wrong answers in BAD,
# and the slowest answer (ms) in SLOWEST.
BAD=0 SLOWEST=0
send() {
    local first=$1 count=$2 stale=${3:-x} i f a got want t0 ms
    BAD=0 SLOWEST=0
    for ((i = first; i < first + count; i++)); do
        f=$(ls "$WD"/m"$(printf %03d "$i")"-a*.eml)
        a=${f##*-a}; a=${a%.eml}
        want=accept
        [ "$a" = 4 ] || [ "$a" = "$stale" ] && want=reject
        t0=$(date +%s%N)
        got=$(mg_one "unix:${SOCKS[$((i % ${#SOCKS[@]}))]}" "$f")
        ms=$((($(date +%s%N) - t0) / 1000000))
        [ "$ms" -gt "$SLOWEST" ] && SLOWEST=$ms
        if [ "${got%%|*}" != "$want" ]; then
            BAD=$((BAD + 1))
            [ "$BAD" -le 3 ] && log "message $i (a$a) to daemon $((i % ${#SOCKS[@]} + 1)): $got, want $want"
        fi
    done
}

# 0. the server must be an address: a name would be looked up in the mail's path
mkdir -p "$WD/t0/tmp"
sm_write_conf "$WD/t0" 'cache { redis = "inet:6379@redis.example" }' >"$WD/t0/bad.conf"
out=$("$SCANMILTER" -t -c "$WD/t0/bad.conf" 2>&1); rc=$?
check "scanmilter -t refuses a host name for Redis (rc $rc)" \
    bash -c '[ "$1" != 0 ] && grep -q "must be an IP address" <<<"$2"' _ "$rc" "$out"
sm_write_conf "$WD/t0" 'cache { redis = "inet6:6379@[::1]" }' >"$WD/t0/good.conf"
check "scanmilter -t takes inet6:PORT@[::1] (Redis not running: no matter)" \
    "$SCANMILTER" -t -c "$WD/t0/good.conf"

redis_start
start_all "$(conf_cache)"

# 1. the campaign across three hosts
send 0 200
check "campaign: 200 messages answered right across 3 daemons (wrong: $BAD)" [ "$BAD" = 0 ]
n=$(scans)
check "campaign: $n engine scans in all = 200 skeletons + $ATTS attachments, each once on 3 hosts" \
    [ "$n" = $((200 + ATTS)) ]
check "campaign: Redis holds the $((200 + ATTS)) verdicts ($(redis_keys))" \
    [ "$(redis_keys)" = $((200 + ATTS)) ]
check "campaign: Redis holds the $ATTS attachments' encodings ($(redis_encs))" \
    [ "$(redis_encs)" = "$ATTS" ]
h=$(shared hits)
check "campaign: Redis answered the 2 other daemons' first sight of each attachment ($h hits)" \
    [ "$h" = $((2 * ATTS)) ]
"$CTL" -s "${CTLS[0]}" stats | sed -n '/Shared verdict cache/,$p' | sed 's/^/#   /'

# 2. reload with the same signatures: the local caches start empty, Redis answers
for c in "${CTLS[@]}"; do "$CTL" -s "$c" reload >/dev/null || not_ok "reload"; done
before=$(scans)
send 200 60
check "reload, same signatures: 60 messages answered right (wrong: $BAD)" [ "$BAD" = 0 ]
n=$(($(scans) - before))
check "reload, same signatures: attachments from Redis, only the 60 skeletons scanned ($n)" \
    [ "$n" = 60 ]

# 2b. Redis drops every client (as on its idle timeout): a closed connection is no outage,
# the command runs again on a new one
outages() { cat "${LOGS[@]}" | grep -c "scanning without the shared cache"; }
o0=$(outages) e0=$(shared errors)
REDISCLI_AUTH="t$$-secret" "$(dirname "$REDIS")/redis-cli" -s "$WD/redis.sock" CLIENT KILL TYPE normal |
    sed 's/^/#   clients dropped: /'
send 420 10
check "clients dropped: 10 messages answered right (wrong: $BAD)" [ "$BAD" = 0 ]
check "clients dropped: no outage logged ($o0 -> $(outages)), no error counted ($e0 -> $(shared errors))" \
    [ "$(outages),$(shared errors)" = "$o0,$e0" ]

# 3. a changed signature set: everything misses, and a0 is now detected
md5=$(md5sum "$WD/att/a0" | cut -d' ' -f1)
printf '%s:%s:Scanmilter.Test.Campaign\n' "$md5" "$(stat -c %s "$WD/att/a0")" >"$WD/sigs/campaign.hdb"
for c in "${CTLS[@]}"; do "$CTL" -s "$c" reload >/dev/null || not_ok "reload"; done
before=$(scans)
send 260 60 0
check "changed signatures: 60 messages answered right, a0 now refused (wrong: $BAD)" [ "$BAD" = 0 ]
n=$(($(scans) - before))
check "changed signatures: the attachments scanned again ($n = 60 skeletons + $ATTS)" \
    [ "$n" = $((60 + ATTS)) ]
check "changed signatures: new keys beside the old ($(redis_keys) = $((330 + ATTS * 2)))" \
    [ "$(redis_keys)" = $((330 + ATTS * 2)) ]

# 3b. one signature replaced by another: the same count ("4 signatures"), other content
before=$(scans)
md5=$(md5sum "$WD/att/a1" | cut -d' ' -f1)
printf '%s:%s:Scanmilter.Test.Campaign\n' "$md5" "$(stat -c %s "$WD/att/a1")" >"$WD/sigs/campaign.hdb"
for c in "${CTLS[@]}"; do "$CTL" -s "$c" reload >/dev/null || not_ok "reload"; done
send 320 30 1
check "signature replaced, same count: a1 refused, a0 accepted again (wrong: $BAD)" [ "$BAD" = 0 ]
n=$(($(scans) - before))
check "signature replaced, same count: the attachments scanned again ($n = 30 + $ATTS)" \
    [ "$n" = $((30 + ATTS)) ]

# 4. Redis slow (stopped), then killed mid-run: mail goes on, scanned here (the local
# caches emptied first, so that they miss and ask Redis)
for c in "${CTLS[@]}"; do "$CTL" -s "$c" cache flush >/dev/null || not_ok "cache flush"; done
OFF=()
for l in "${LOGS[@]}"; do OFF+=("$(wc -l <"$l")"); done
kill -STOP "$RPID"
send 350 15 1
check "Redis stopped: 15 messages answered right (wrong: $BAD)" [ "$BAD" = 0 ]
check "Redis stopped: the slowest answer took ${SLOWEST} ms (< 3000)" [ "$SLOWEST" -lt 3000 ]
kill -KILL "$RPID"; kill -CONT "$RPID" 2>/dev/null
wait_for_pid_gone "$RPID" 5 || not_ok "redis-server killed"
RPID=
send 365 30 1
check "Redis killed: 30 messages answered right (wrong: $BAD)" [ "$BAD" = 0 ]
check "Redis killed: the slowest answer took ${SLOWEST} ms (< 3000)" [ "$SLOWEST" -lt 3000 ]
o=0
for i in 0 1 2; do
    l=${LOGS[$i]}
    k=$(tail -n +$((OFF[i] + 1)) "$l" | grep -c "redis unix:$WD/redis.sock: .*scanning without the shared cache")
    o=$((o + k))
    [ "$k" = 1 ] || { log "$l: $k outage lines"; grep "redis unix" "$l" | sed 's/^/#   /' >&2; }
done
tail -n +$((OFF[0] + 1)) "${LOGS[0]}" | grep "redis unix" | sed 's/^/#   /' >&2
check "the outage logged once per daemon ($o lines for 3)" [ "$o" = 3 ]
out=$("$CTL" -s "${CTLS[0]}" stats)
printf '%s\n' "$out" | sed -n '/Shared verdict cache/,$p' | sed 's/^/#   /'
check "scanmilterctl stats: the shared cache down, one outage" \
    grep -qE '^  av1 +c1 +down +[0-9]+ +[0-9]+ +[0-9]+ +[1-9][0-9]* +1$' <<<"$out"
m=$(curl -s --max-time 5 "http://127.0.0.1:${PORTS[0]}/metrics")
check "metrics: scanmilter_shared_cache_up 0 and one outage" \
    bash -c 'grep -q "^scanmilter_shared_cache_up{.*} 0$" <<<"$1" &&
             grep -q "^scanmilter_shared_cache_outages_total{.*} 1$" <<<"$1"' _ "$m"

# 5. Redis back: it is used again (the local caches emptied: they have it all now)
redis_start
for c in "${CTLS[@]}"; do "$CTL" -s "$c" cache flush >/dev/null || not_ok "cache flush"; done
sleep 1.5   # past retry
send 395 25 1
check "Redis back: 25 messages answered right (wrong: $BAD)" [ "$BAD" = 0 ]
a=0
for l in "${LOGS[@]}"; do grep -q "redis unix:$WD/redis.sock: answering again" "$l" && a=$((a + 1)); done
check "Redis back: 'answering again' logged by the 3 daemons ($a)" [ "$a" = 3 ]
check "Redis back: verdicts stored again ($(redis_keys) keys)" [ "$(redis_keys)" -ge "$ATTS" ]

# 5b. the same under load: 200 messages at concurrency 8 on one daemon, Redis killed (SIGKILL)
# while they run (its outage logged then): every one answered right
for c in "${CTLS[@]}"; do "$CTL" -s "$c" cache flush >/dev/null || not_ok "cache flush"; done
mkdir -p "$WD/conc"
cp "$WD"/m[12]??-a*.eml "$WD/conc/"
o0=$(grep -c "scanning without the shared cache" "${LOGS[0]}")
messages() { grep -c 'verdict=' "${LOGS[0]}"; }	# one log line per message
m0=$(messages)
timeout 300 "$MILTERGEN" -s "unix:${SOCKS[0]}" -c 8 -n 200 -t 30 -o "$WD/conc.csv" "$WD/conc" >/dev/null 2>&1 &
mg=$!
for _ in $(seq 1 2000); do [ "$(messages)" -ge $((m0 + 20)) ] && break; sleep 0.002; done
log "Redis killed after $(($(messages) - m0)) of 200 messages"
kill -KILL "$RPID"; wait_for_pid_gone "$RPID" 5; RPID=
wait "$mg"
o1=$(grep -c "scanning without the shared cache" "${LOGS[0]}")
check "Redis killed under load: while messages were in flight (an outage logged: $((o1 - o0)))" \
    [ "$o1" = $((o0 + 1)) ]
bad=$(awk -F, 'NR > 1 { gsub(/"/, "", $4); want = ($1 ~ /-a[14]\.eml/) ? "reject" : "accept"
                        if ($4 != want) { n++; if (n <= 3) print "#   " $0 > "/dev/stderr" } }
               END { print n + 0 }' "$WD/conc.csv")
check "Redis killed under load (c=8): $(($(wc -l <"$WD/conc.csv") - 1)) of 200 answered, $bad wrong" \
    [ "$(($(wc -l <"$WD/conc.csv") - 1)),$bad" = 200,0 ]
redis_start
check "stopped cleanly" stop_all

# 6. a clamd farm (one server here, with the same signatures) behind two daemons and Redis.
# These signatures have no version (no daily.cvd): clamd's VERSION names none, so a verdict
# could not be told from one made with other signatures: no shared cache then (said in the
# log), each daemon's own cache only.
CLAMD=$(command -v clamd || echo /usr/sbin/clamd)
[ -x "$CLAMD" ] || fail "clamd is missing (make test-deps installs clamav-daemon)"
mkdir -p "$WD/ctmp"
cat >"$WD/clamd.conf" <<EOF
LocalSocket $WD/clamd.sock
Foreground yes
DatabaseDirectory $WD/sigs
LogFile $WD/clamd.log
LogClean yes
LogTime no
TemporaryDirectory $WD/ctmp
MaxThreads 4
EOF
"$CLAMD" -c "$WD/clamd.conf" >"$WD/clamd.out" 2>&1 </dev/null &
CPID=$!
disown "$CPID"
wait_for_socket "$WD/clamd.sock" 60 || { cat "$WD/clamd.out" >&2; kill "$CPID"; fail "clamd did not start"; }
start_all "$(conf_cache)" 'clamd "farm" { servers = "unix:'"$WD/clamd.sock"'" }' 2
send 400 20 1
check "clamd farm, 2 daemons: 20 messages answered right (wrong: $BAD)" [ "$BAD" = 0 ]
want=$((20 + 2 * $(ls "$WD"/m4[01]?-a*.eml | sed 's/.*-a//' | sort -u | wc -l)))
got=$(grep -cE ': (OK|.* FOUND)$' "$WD/clamd.log")
check "clamd farm, no signature version: $got scans = 20 skeletons + each attachment once per daemon ($want)" \
    [ "$got" = "$want" ]
check "clamd farm, no signature version: no shared cache, said in both logs" \
    [ "$(grep -l 'clamd "farm": no signature version: no shared verdict cache' "${LOGS[@]}" | wc -l)" = 2 ]
check "clamd farm, no signature version: no shared cache in the stats" \
    bash -c '! "$1" -s "$2" --json stats | grep -q shared_cache' _ "$CTL" "${CTLS[0]}"
check "stopped cleanly" stop_all
kill "$CPID"; wait_for_pid_gone "$CPID" 10 || kill -9 "$CPID"
CPID=
finish
