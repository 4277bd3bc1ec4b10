#!/usr/bin/env bash
# redis-campaign.sh - the campaign step with the verdict cache shared through Redis: what a
# campaign message costs the filter hosts when its attachment was scanned before, on one
# host and on three sharing one Redis (redis-server on a private unix socket, started here).
#
#   bench/redis-campaign.sh [-w WORKDIR] [-n MESSAGES] [-a ATTACHMENTS]
#
# Signatures: bench/mksigs.py's synthetic database (as bench/run.sh).  Corpus: ATTACHMENTS
# (default 10) distinct 400 KB attachments; every message has its own headers and text (its
# skeleton is scanned each time) and one of them.  Each daemon: mime_decompose = yes, its own
# LRU (cache_size default), warmed up with four unrelated messages before it is measured.  Measured, at concurrency 1 per host, in daemon CPU (utime +
# stime of all its threads, from /proc, summed over the hosts) and engine scans (stats):
#   1 host   first  ATTACHMENTS messages, each attachment new: first scans
#            cached MESSAGES messages, attachments in the local cache
#   1 host   redis  the same host restarted (local cache empty), Redis full: ATTACHMENTS
#                   messages whose attachments come from Redis
#   3 hosts  MESSAGES messages spread over three hosts at once (each host its third),
#            without Redis, then with a fresh Redis: scans and CPU per message; then, with
#            Redis, each host gets the attachments another host had, in new messages:
#            every attachment known (from Redis the first time a host sees it, from its own
#            caches after that), every skeleton new
# Writes bench/results/redis-campaign-DATE.txt and prints a summary.  Installs nothing.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$HERE/.." && pwd)
WORKDIR=/dev/shm/scanmilter-redis-bench N=150 A=10
while getopts "w:n:a:h" opt; do
	case $opt in
	w) WORKDIR=$OPTARG ;;
	n) N=$OPTARG ;;
	a) A=$OPTARG ;;
	*) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2 ;;
	esac
done
[[ $N =~ ^[0-9]+$ ]] && [ "$N" -ge 3 ] && [ "$N" -le 5000 ] || { echo "-n: 3..5000" >&2; exit 2; }
[[ $A =~ ^[0-9]+$ ]] && [ "$A" -ge 1 ] && [ "$A" -le 100 ] || { echo "-a: 1..100" >&2; exit 2; }
BUILD=${BUILD:-$TOP/build}
SCANMILTER=$BUILD/src/scanmilter SMCTL=$BUILD/src/scanmilterctl MILTERGEN=$BUILD/bench/miltergen
REDIS=$(command -v redis-server || echo /usr/bin/redis-server)
for b in "$SCANMILTER" "$SMCTL" "$MILTERGEN" "$REDIS"; do
	[ -x "$b" ] || { echo "redis-campaign.sh: missing $b (make all; redis-server)" >&2; exit 1; }
done
mkdir -p "$WORKDIR" "$HERE/results"
W=$(cd "$WORKDIR" && pwd)
OUT=$HERE/results/redis-campaign-$(date +%Y%m%d-%H%M%S).txt
CLK_TCK=$(getconf CLK_TCK)
log() { echo "[$(date +%H:%M:%S)] $*"; }

[ -f "$W/db/bulk.ndb" ] || { log "signatures (mksigs.py)"; rm -rf "$W/db"; python3 "$HERE/mksigs.py" "$W/db" >/dev/null; }
log "corpus: $A attachments, $N + $A messages"
rm -rf "$W/m"
python3 - "$W/m" "$N" "$A" <<'PY'
import base64, os, random, sys
out, n, a = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rnd = random.Random(7)
atts = [b"%PDF-1.4\n" + rnd.randbytes(400 * 1024) for _ in range(a)]
def msg(i, k, d):
    b64 = base64.encodebytes(atts[k]).decode().replace("\n", "\r\n")
    text = " ".join(rnd.choice(["statement", "account", "please", "find", "attached", "your",
                                "invoice", "payment", "due", "regards"]) for _ in range(60))
    os.makedirs(d, exist_ok=True)
    open("%s/m%05d.eml" % (d, i), "w", newline="").write(
        "From: billing@bank.example\r\nTo: user%d@example.org\r\nSubject: Your statement %d\r\n"
        "Message-ID: <s%d@bank.example>\r\nMIME-Version: 1.0\r\n"
        "Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n"
        "%s\r\n--b\r\nContent-Type: application/pdf; name=\"s.pdf\"\r\n"
        "Content-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=\"s.pdf\"\r\n\r\n"
        "%s--b--\r\n" % (i, i, i, text, b64))
i = 0
for w in range(4):                      # warm/: other attachments, before any measurement
    atts.append(rnd.randbytes(20 * 1024))
    msg(i, len(atts) - 1, out + "/warm"); i += 1
for k in range(a):                      # first/: one message per attachment
    msg(i, k, out + "/first"); i += 1
for k in range(a):                      # redis/: the same attachments, other messages
    msg(i, k, out + "/redis"); i += 1
for j in range(n):                      # cached/ and the three hosts' thirds
    k = j % a if j < a else rnd.randrange(a)
    msg(i, k, out + "/cached"); i += 1
    msg(i, k, out + "/host%d" % (j % 3 + 1)); i += 1
    msg(i, k, out + "/again%d" % ((j + 1) % 3 + 1)); i += 1     # another host's attachment, new text
PY

RPID= PIDS=() PERF_PID=
cleanup() {
	local p
	[ -z "$PERF_PID" ] || kill -INT "$PERF_PID" 2>/dev/null || true
	for p in "${PIDS[@]}" $RPID; do kill -TERM "$p" 2>/dev/null || true; done
	for p in "${PIDS[@]}" $RPID; do wait "$p" 2>/dev/null || true; done
}
trap cleanup EXIT

redis_start() {
	[ -z "$RPID" ] || { kill "$RPID"; wait "$RPID" 2>/dev/null || true; }
	rm -f "$W/redis.sock"
	"$REDIS" --port 0 --unixsocket "$W/redis.sock" --unixsocketperm 700 --save '' --appendonly no \
		--dir "$W" --logfile "$W/redis.log" </dev/null &
	RPID=$!
	for _ in $(seq 1 100); do [ -S "$W/redis.sock" ] && return 0; sleep 0.1; done
	echo "redis-server did not start" >&2; exit 1
}
# host_start I CACHE: daemon I (1..3) with CACHE ("" or a cache { } scope)
host_start() {
	local d=$W/h$1
	rm -rf "$d"; mkdir -p "$d/tmp"
	cat >"$d/scanmilter.conf" <<CONF
milter { listen = "unix:$d/sock"  socket_mode = 0666  file_base = "$d/tmp"  log = stderr  log_clean = no }
control { listen = "unix:$d/control.sock" }
antivirus "bench" {
  action = reject  mime_decompose = yes  timeout = 60s
  clamav "clamav" { database_directory = "$W/db" }
}
$2
CONF
	"$SCANMILTER" -f -c "$d/scanmilter.conf" 2>>"$d/log" </dev/null &
	PIDS[$1]=$!
	for _ in $(seq 1 1800); do [ -S "$d/sock" ] && break; sleep 0.1; done
	[ -S "$d/sock" ] || { echo "host $1 did not start" >&2; tail "$d/log" >&2; exit 1; }
	send "$1" "$W/m/warm"	# libclamav's first scans cost more: not measured
}
host_stop() { kill -TERM "${PIDS[$1]}"; wait "${PIDS[$1]}" 2>/dev/null || true; unset "PIDS[$1]"; }
# CPU of the hosts given, in ms: perf stat's task-clock (all threads) when perf works,
# else utime + stime from /proc (1/CLK_TCK steps).
PERF=$(command -v perf || true)
[ -z "$PERF" ] || timeout 30 "$PERF" stat -e task-clock -x, -o /dev/null true >/dev/null 2>&1 || PERF=
cpu_start() {  # HOST...
	local p pl=
	CPU_HOSTS=("$@")
	for p in "$@"; do pl+=${pl:+,}${PIDS[$p]}; done
	CPU_T0=$(ticks "$@")
	if [ -n "$PERF" ]; then
		timeout 900 "$PERF" stat -e task-clock -x, -o "$W/perf.txt" -p "$pl" >/dev/null 2>&1 &
		PERF_PID=$!
		sleep 0.3
	fi
}
cpu_stop() {  # sets c (ms); not in a subshell: it waits for perf to write
	local t1
	t1=$(ticks "${CPU_HOSTS[@]}")
	if [ -n "$PERF" ]; then
		kill -INT "$PERF_PID"; wait "$PERF_PID" 2>/dev/null || true
		PERF_PID=
		c=$(awk -F, '$3 == "task-clock" { printf "%.1f", $1 }' "$W/perf.txt")
	else
		c=$(awk -v t=$((t1 - CPU_T0)) -v h="$CLK_TCK" 'BEGIN { printf "%.1f", t * 1000 / h }')
	fi
	rm -f "$W/perf.txt"
}
ticks() {  # utime + stime of the hosts given
	local t=0 p s
	for p in "$@"; do
		s=$(cat "/proc/${PIDS[$p]}/stat"); s=${s##*) }
		# shellcheck disable=SC2086
		set -- $s; t=$((t + ${12} + ${13}))
	done
	echo "$t"
}
scans() {  # engine scans of the hosts given
	local n=0 p
	for p in "$@"; do
		n=$((n + $("$SMCTL" -s "unix:$W/h$p/control.sock" --json stats | python3 -c '
import json, sys
print(sum(i["since_start"]["engine_scans"] for i in json.load(sys.stdin)["instances"]))')))
	done
	echo "$n"
}
send() {  # HOST DIR: every message of DIR to HOST at concurrency 1; fails on a wrong answer
	local n csv=$W/h$1/$(basename "$2").csv
	n=$(ls "$2" | wc -l)
	timeout 900 "$MILTERGEN" -s "unix:$W/h$1/sock" -c 1 -n "$n" -t 120 -o "$csv" "$2" >/dev/null
	awk -F, 'NR > 1 && $4 !~ /accept/ { bad++ } END { exit bad > 0 }' "$csv" ||
		{ echo "host $1: not every message of $2 accepted ($csv)" >&2; exit 1; }
}
ms_per() { awk -v t="$1" -v n="$2" 'BEGIN { printf "%.2f", t / n }'; }
pct() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f%%", 100 * a / b }'; }

echo "# redis-campaign.sh $(date -u +%FT%TZ) N=$N A=$A nproc=$(nproc) load=$(cut -d' ' -f1-3 /proc/loadavg)" >"$OUT"
CACHE="cache { redis = \"unix:$W/redis.sock\"  prefix = \"bench$$\" }"

# one host
redis_start
host_start 1 "$CACHE"
s0=$(scans 1); cpu_start 1; send 1 "$W/m/first"; cpu_stop; s1=$(scans 1)
first=$(ms_per "$c" "$A")
cpu_start 1; send 1 "$W/m/cached"; cpu_stop; s2=$(scans 1)
cached=$(ms_per "$c" "$N")
host_stop 1
host_start 1 "$CACHE"
s3=$(scans 1); cpu_start 1; send 1 "$W/m/redis"; cpu_stop; s4=$(scans 1)
rhit=$(ms_per "$c" "$A")
host_stop 1
echo "one_host cpu=$([ -n "$PERF" ] && echo perf || echo ticks) first_ms=$first first_scans=$((s1 - s0)) cached_ms=$cached cached_scans=$((s2 - s1)) redis_hit_ms=$rhit redis_hit_scans=$((s4 - s3))" >>"$OUT"
log "one host, daemon CPU per message: first scan $first ms ($((s1 - s0)) scans for $A), local hit $cached ms ($(pct "$cached" "$first"); $((s2 - s1)) scans for $N), Redis hit $rhit ms ($(pct "$rhit" "$first"); $((s4 - s3)) scans for $A)"

# spread MODE DIR: DIR1, DIR2, DIR3 to hosts 1, 2, 3 at once; records and
# sets s (engine scans) and c (CPU ms, all three)
spread() {
	local s0 h p pids=()
	s0=$(scans 1 2 3)
	cpu_start 1 2 3
	for h in 1 2 3; do send "$h" "$2$h" & pids+=($!); done
	for p in "${pids[@]}"; do wait "$p"; done
	cpu_stop; s=$(($(scans 1 2 3) - s0))
	echo "three_hosts mode=$1 messages=$N scans=$s attachment_scans=$((s - N)) cpu_ms_per_msg=$(ms_per "$c" "$N")" >>"$OUT"
}

# three hosts, without and with Redis
for mode in alone redis; do
	cache=""
	[ "$mode" = alone ] || { redis_start; cache=$CACHE; }
	for h in 1 2 3; do host_start "$h" "$cache"; done
	spread "$mode" "$W/m/host"
	log "three hosts, $mode: $N messages, $s engine scans ($((s - N)) of attachments, $A distinct), $(ms_per "$c" "$N") ms daemon CPU per message"
	if [ "$mode" = redis ]; then
		# the campaign goes on: each host gets the attachments another
		# host had, in new messages (new skeletons)
		spread again "$W/m/again"
		log "three hosts, redis, again (each host another's attachments, new messages): $N messages, $s engine scans ($((s - N)) of attachments), $(ms_per "$c" "$N") ms daemon CPU per message ($(pct "$(ms_per "$c" "$N")" "$first") of a first scan)"
	fi
	for h in 1 2 3; do host_stop "$h"; done
done
log "wrote $OUT"
