#!/usr/bin/env bash
# run.sh - the benchmark behind `make bench`: in one run, on one corpus and one
# signature database, measures
#   scanmilter          (build/src/scanmilter, libclamav in-process, whole
#                       messages: mime_decompose = no)
#   scanmilter-mime     (the same daemon and config, but mime_decompose = yes
#                       and the verdict cache on at its default size)
#   clamav-milter+clamd (Debian packages, unix sockets, via bench/clamav-milter.sh)
#   nullmilter          (libmilter, accepts everything: the protocol's own cost)
#   rawscan             (libclamav from memory, no milter: the ceiling)
# each milter under miltergen at every concurrency of CONCURRENCY, REPS times,
# a fresh server per run (libclamav's clean-file cache starts empty every
# time), and writes bench/RESULTS.md (medians over the repetitions) from the
# raw per-run lines it keeps in bench/results/raw-DATE.txt. Then small
# steps (once per run, after the repetitions):
#   campaign  CAMPAIGN_ROUNDS fresh scanmilter-mime daemons; each is warmed up
#             with a few clean non-campaign messages, then gets one campaign
#             message (its attachment not yet cached: the first scan) and
#             CAMPAIGN_N further campaign messages (the same attachment, now
#             cached), all at concurrency 1; recorded per phase: the daemon's
#             own scan time (`scanmilterctl stats`: Avg. time/message, cache
#             hits, engine scans), the daemon's CPU (perf stat task-clock
#             of all its threads when perf works, and utime+stime from /proc
#             in 1/CLK_TCK ticks) and miltergen's latency.
#   ambiguity bench/ambiguity.sh: how many corpus messages the MIME parser
#             finds ambiguous (decomposition then scans them whole too);
#             its section is appended to RESULTS.md.
#   rules     bench/rulescost (thread CPU time per message) for the rule sets
#             RULESETS of etc/rules.xml over every (COUNT/RULES_SAMPLE)-th
#             corpus message, RULES_ITER evaluations each.
#
#   bench/run.sh [-w WORKDIR] [-n COUNT] [-r REPS] [-c "1 2 8 32"] [-j THREADS]
#
# or the same through the environment (options win):
#   WORKDIR      corpus, database, sockets, temporary files (default
#                /dev/shm/scanmilter-bench: tmpfs, so libclamav's temporary
#                files cost the same on every side)
#   COUNT        messages in the corpus and per run, one pass (default 2000)
#   REPS         runs of each server x concurrency, reported as medians (default 3)
#   CONCURRENCY  miltergen connections (default "1 2 8 32")
#   THREADS      scanmilter's CPU pool threads, and rawscan's -j for
#                concurrency >= THREADS (default: nproc)
#   BUILD        the autotools build directory (default build/ at the top)
#   RESULTS      the report written (default bench/RESULTS.md)
#   SERVERS      what to measure (default "rawscan scanmilter scanmilter-mime
#                clamav null"; the campaign step runs with scanmilter-mime)
#   SM_POOL_CONF the body of scanmilter's threadpool "CPU" scope (default
#                "concurrency = THREADS"), for experiments
#   SM_AV_CONF   lines added to scanmilter's antivirus scope (default
#                "mime_decompose = no": whole messages, as clamd gets them)
#   SM_MIME_AV_CONF  the same for scanmilter-mime (default
#                "mime_decompose = yes"; cache_size stays at its default)
#   SM_MIME_POOL_CONF  scanmilter-mime's threadpool "CPU" body (default:
#                SM_POOL_CONF); with SM_MIME_AV_CONF="mime_decompose = no",
#                two pool settings measured side by side in one run
#   CAMPAIGN_ROUNDS  fresh daemons in the campaign step (default 5, 0: no step)
#   CAMPAIGN_N   cached campaign messages sent to each (default 100)
#   RULES_SAMPLE corpus messages given to rulescost (default 500, 0: no step)
#   RULES_ITER   evaluations of each message per rule set (default 20)
#   RULESETS     rule sets measured (default
#                "service-provider-full,service-provider-express")
#   PERF         perf(1) for the campaign step's CPU in ns (default: perf on
#                the PATH if `perf stat` works here; empty: ticks only)
#   RETRIES      how often a run disturbed by other work on the machine is
#                repeated (default 1; see "noise" below)
#
# Noise: other processes on the machine skew the numbers. Before every run
# the script waits (at most QUIET_WAIT s, default 30) for the machine to be
# quiet, and measures the CPU the rest of the machine used during the run; a
# run where that exceeds NOISE_FRAC (default 0.10) of one CPU on average is
# recorded as NOISY and repeated, up to RETRIES times (the last attempt
# counts whatever it shows).
#
# Installs nothing (`make bench` does); checks for what it needs and says
# what is missing. Bounded: every miltergen run has a wall limit (-T) and a
# `timeout`, every server start and stop a deadline, every loop a count.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$HERE/.." && pwd)
CMDLINE="$0${*:+ $*}"

usage() {
	sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//' >&2
	exit 2
}

while getopts "w:n:r:c:j:h" opt; do
	case $opt in
	w) WORKDIR=$OPTARG ;;
	n) COUNT=$OPTARG ;;
	r) REPS=$OPTARG ;;
	c) CONCURRENCY=$OPTARG ;;
	j) THREADS=$OPTARG ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
[ $# -eq 0 ] || usage

WORKDIR=${WORKDIR:-/dev/shm/scanmilter-bench}
COUNT=${COUNT:-2000}
REPS=${REPS:-3}
CONCURRENCY=${CONCURRENCY:-"1 2 8 32"}
THREADS=${THREADS:-$(nproc)}
BUILD=${BUILD:-$TOP/build}
RESULTS=${RESULTS:-$HERE/RESULTS.md}
DEFAULT_SERVERS="rawscan scanmilter scanmilter-mime clamav null"
SERVERS=${SERVERS:-$DEFAULT_SERVERS}
SM_POOL_CONF=${SM_POOL_CONF:-concurrency = $THREADS}
SM_AV_CONF=${SM_AV_CONF:-mime_decompose = no}
SM_MIME_AV_CONF=${SM_MIME_AV_CONF:-mime_decompose = yes}
SM_MIME_POOL_CONF=${SM_MIME_POOL_CONF:-$SM_POOL_CONF}
CAMPAIGN_ROUNDS=${CAMPAIGN_ROUNDS:-5}
CAMPAIGN_N=${CAMPAIGN_N:-100}
CAMPAIGN_WARM=6     # clean non-campaign messages sent before the first campaign message
RULES_SAMPLE=${RULES_SAMPLE:-500}
RULES_ITER=${RULES_ITER:-20}
RULESETS=${RULESETS:-service-provider-full,service-provider-express}
PERF=${PERF-$(command -v perf 2>/dev/null || true)}
RETRIES=${RETRIES:-1}
QUIET_WAIT=${QUIET_WAIT:-30}
NOISE_FRAC=${NOISE_FRAC:-0.10}

SCANMILTER=$BUILD/src/scanmilter
MILTERGEN=$BUILD/bench/miltergen
NULLMILTER=$BUILD/bench/nullmilter
RAWSCAN=$BUILD/bench/rawscan
SMCTL=$BUILD/src/scanmilterctl
RULESCOST=$BUILD/bench/rulescost
RULES_XML=$TOP/etc/rules.xml
RULES_RNG=$TOP/etc/rules.rng
CLAMD=${CLAMD:-/usr/sbin/clamd}
CLAMAV_MILTER=${CLAMAV_MILTER:-/usr/sbin/clamav-milter}
TESTFILES=${TESTFILES:-/usr/share/clamav-testfiles}

AV_TIMEOUT=60       # scanmilter's antivirus timeout, seconds (10 MB messages)
REPLY_TIMEOUT=180   # miltergen -t: longest wait for one reply
WALL_LIMIT=1200     # miltergen -T: no new message after this many seconds
START_LIMIT=180     # seconds for a server to load the database and listen

die() { echo "run.sh: $*" >&2; exit 1; }
log() { echo "[$(date +%H:%M:%S)] $*"; }

is_uint() { [[ $1 =~ ^[0-9]+$ ]] && [ "$1" -gt 0 ]; }
is_uint "$COUNT" || die "COUNT must be a positive integer, not '$COUNT'"
is_uint "$REPS" || die "REPS must be a positive integer, not '$REPS'"
is_uint "$THREADS" || die "THREADS must be a positive integer, not '$THREADS'"
[ "$REPS" -le 20 ] || die "REPS above 20 makes no sense"
[ -n "$CONCURRENCY" ] || die "CONCURRENCY is empty"
[[ $RETRIES =~ ^[0-9]$ ]] || die "RETRIES must be 0..9, not '$RETRIES'"
{ [[ $QUIET_WAIT =~ ^[0-9]+$ ]] && [ "$QUIET_WAIT" -le 600 ]; } || die "QUIET_WAIT must be 0..600"
[[ $NOISE_FRAC =~ ^[0-9.]+$ ]] || die "NOISE_FRAC must be a number"
for s in $SERVERS; do
	case $s in rawscan | scanmilter | scanmilter-mime | clamav | null) ;; *) die "unknown server '$s' in SERVERS" ;; esac
done
{ [[ $CAMPAIGN_ROUNDS =~ ^[0-9]+$ ]] && [ "$CAMPAIGN_ROUNDS" -le 20 ]; } || die "CAMPAIGN_ROUNDS must be 0..20"
{ is_uint "$CAMPAIGN_N" && [ "$CAMPAIGN_N" -le 10000 ]; } || die "CAMPAIGN_N must be 1..10000"
{ [[ $RULES_SAMPLE =~ ^[0-9]+$ ]] && [ "$RULES_SAMPLE" -le 100000 ]; } || die "RULES_SAMPLE must be 0..100000"
{ is_uint "$RULES_ITER" && [ "$RULES_ITER" -le 10000 ]; } || die "RULES_ITER must be 1..10000"
[[ $RULESETS =~ ^[A-Za-z0-9_.,-]+$ ]] || die "RULESETS: rule set names separated by commas"
for c in $CONCURRENCY; do
	{ is_uint "$c" && [ "$c" -le 1024 ]; } || die "bad concurrency '$c' (1..1024)"
done

# ---- what is needed -------------------------------------------------------

missing=()
for b in "$SCANMILTER" "$MILTERGEN" "$NULLMILTER" "$RAWSCAN"; do
	[ -x "$b" ] || missing+=("$b (build it: make all)")
done
for b in "$CLAMD" "$CLAMAV_MILTER"; do
	[ -x "$b" ] || missing+=("$b (Debian packages clamav-daemon, clamav-milter)")
done
for t in python3 sigtool awk timeout; do
	command -v "$t" >/dev/null 2>&1 || missing+=("$t")
done
[ -f "$TESTFILES/clam.exe" ] || missing+=("$TESTFILES/clam.exe (Debian package clamav-testfiles)")
[ -r /proc/self/stat ] || missing+=("/proc (CPU and RSS are read from /proc/PID)")
if [ ${#missing[@]} -gt 0 ]; then
	echo "run.sh: missing (\`make bench\` installs the packages):" >&2
	printf '  %s\n' "${missing[@]}" >&2
	exit 1
fi
TIME=
[ -x /usr/bin/time ] && TIME=/usr/bin/time
if [ -n "$PERF" ] && ! timeout 30 "$PERF" stat -e task-clock -x, -o /dev/null true >/dev/null 2>&1; then
	echo "run.sh: note: '$PERF stat' does not work here; campaign CPU in ticks only" >&2
	PERF=
fi

mkdir -p "$WORKDIR"
W=$(cd "$WORKDIR" && pwd)
# Run copies of the binaries, so that a rebuild during the run cannot mix versions.
mkdir -p "$W/bin"
for b in "$SCANMILTER" "$MILTERGEN" "$NULLMILTER" "$RAWSCAN"; do
	cp -f "$b" "$W/bin/"
done
SCANMILTER=$W/bin/scanmilter MILTERGEN=$W/bin/miltergen
NULLMILTER=$W/bin/nullmilter RAWSCAN=$W/bin/rawscan
# optional: the control client (daemon stats per run, campaign step) and
# the rules engine's cost tool; without them those parts are left out.
if [ -x "$SMCTL" ]; then cp -f "$SMCTL" "$W/bin/"; SMCTL=$W/bin/scanmilterctl; else SMCTL=; fi
if [ -x "$RULESCOST" ] && [ -f "$RULES_XML" ] && [ -f "$RULES_RNG" ]; then
	cp -f "$RULESCOST" "$W/bin/"
	RULESCOST=$W/bin/rulescost
	mkdir -p "$W/rules"
	cp -f "$RULES_XML" "$RULES_RNG" "$W/rules/"
	RULES_XML=$W/rules/$(basename "$RULES_XML") RULES_RNG=$W/rules/$(basename "$RULES_RNG")
else
	RULESCOST=
fi
CORPUS=$W/corpus-$COUNT
DB=$W/db
SMW=$W/scanmilter
SMMW=$W/scanmilter-mime
NMW=$W/nullmilter
CVW=$W/clamav
RUNS=$W/runs
mkdir -p "$SMW" "$SMMW" "$NMW" "$CVW" "$RUNS" "$HERE/results"
STAMP=$(date +%Y%m%d-%H%M%S)
RAW=$HERE/results/raw-$STAMP.txt
CLK_TCK=$(getconf CLK_TCK)
T_START=$(date +%s)

# Foreign scanners would steal CPU from the measurement; say so (they are
# not ours to stop).
if others=$(pgrep -a -x 'clamd|freshclam|clamav-milter|scanmilter' 2>/dev/null); then
	echo "run.sh: warning: already running, the numbers will suffer:" >&2
	echo "$others" >&2
fi

# ---- server processes ------------------------------------------------------

SM_PID='' NM_PID='' SM_DIR=''

# sm_conf DIR AV_LINES POOL_LINES: the config of one scanmilter variant,
# everything under DIR; the variants differ only in DIR, AV_LINES and
# (for experiments) POOL_LINES.
sm_conf() {
	local dir=$1 avconf=$2 poolconf=$3
	cat <<CONF
# scanmilter for the benchmark (written by bench/run.sh)
milter {
  listen = "unix:$dir/scanmilter.sock"
  socket_mode = 0666
  file_base = "$dir/tmp"
  log = stderr
  log_clean = no
}
$(# builds with a control socket: keep it in the workdir (grep reads
	# all: with pipefail, -q would let SIGPIPE fail the pipeline at random)
	"$SCANMILTER" options 2>/dev/null | grep '^control[[:space:]]listen' >/dev/null &&
	printf 'control {\n  listen = "unix:%s/control.sock"\n}\n' "$dir")
# scanning threads$([ "$poolconf" = "concurrency = $THREADS" ] && echo " = cores ($THREADS)" || echo ": experiment (SM_POOL_CONF)")
threadpool "CPU" {
  $poolconf
}
antivirus "bench" {
  timeout = ${AV_TIMEOUT}s
  action = reject
  $avconf
  clamav "clamav" {
    database_directory = "$DB"
    # as clamd in bench/clamav-milter.sh: MaxFileSize 100M, MaxScanSize 400M
    # (StreamMaxLength 100M: every message is far below), and clamd's defaults
    max_file_size = 100M
    max_scan_size = 400M
    max_recursion = 17
    max_files = 10000
    max_scan_time = 120s
    heuristic_alerts = yes
    alert_exceeds_max = no
    alert_encrypted = no
    bytecode = yes
    pua = no
  }
}
CONF
}

# wait_socket PATH SECONDS PID...: until PATH is a socket; fail if a PID dies.
wait_socket() {
	local path=$1 secs=$2 i=0 p
	shift 2
	while [ ! -S "$path" ]; do
		for p in "$@"; do
			kill -0 "$p" 2>/dev/null || { echo "run.sh: process $p died" >&2; return 1; }
		done
		i=$((i + 1))
		[ "$i" -le $((secs * 10)) ] || { echo "run.sh: no $path after $secs s" >&2; return 1; }
		sleep 0.1
	done
}

# stop_pid PID: TERM, up to 30 s, then KILL; reaps it when it is our child.
stop_pid() {
	local pid=$1 i=0
	[ -n "$pid" ] || return 0
	if kill -TERM "$pid" 2>/dev/null; then
		while kill -0 "$pid" 2>/dev/null && [ "$i" -lt 300 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		kill -KILL "$pid" 2>/dev/null || true
	fi
	wait "$pid" 2>/dev/null || true
}

# sm_start DIR: the scanmilter variant configured in DIR/scanmilter.conf.
sm_start() {
	SM_DIR=$1
	rm -rf "$SM_DIR/tmp" "$SM_DIR/scanmilter.sock"
	mkdir -p "$SM_DIR/tmp"
	"$SCANMILTER" -f -c "$SM_DIR/scanmilter.conf" 2>>"$SM_DIR/scanmilter.log" </dev/null &
	SM_PID=$!
	wait_socket "$SM_DIR/scanmilter.sock" "$START_LIMIT" "$SM_PID" ||
		{ tail -20 "$SM_DIR/scanmilter.log" >&2; return 1; }
	PIDS=("$SM_PID")
	SOCK=unix:$SM_DIR/scanmilter.sock
}
sm_stop() { stop_pid "$SM_PID"; SM_PID=; }

# smctl ARGS...: scanmilterctl on the running variant's control socket
# (bounded: -t 10 and a timeout).
smctl() {
	[ -n "$SMCTL" ] && [ -S "$SM_DIR/control.sock" ] || return 1
	timeout 20 "$SMCTL" -s "unix:$SM_DIR/control.sock" -t 10 "$@"
}

# sm_stats PREFIX: the running daemon's counters since the last reset, as
# PREFIXkey=value words (messages, clean, rejects, cache_hits, engine_scans,
# avg_ms_message, ...); nothing when there is no control socket.
sm_stats() {
	smctl --json stats 2>/dev/null | python3 -c '
import json, sys
p = sys.argv[1]
try:
    d = json.load(sys.stdin)
except ValueError:
    sys.exit(0)
for inst in d.get("instances", []):
    if inst.get("name") != "bench":
        continue
    for k, v in inst.get("since_reset", {}).items():
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            print("%s%s=%s" % (p, k, v), end=" ")
' "$1" || true
}

nm_start() {
	rm -f "$NMW/null.sock"
	"$NULLMILTER" -p "unix:$NMW/null.sock" >>"$NMW/nullmilter.out" 2>&1 </dev/null &
	NM_PID=$!
	wait_socket "$NMW/null.sock" 30 "$NM_PID" || return 1
	PIDS=("$NM_PID")
	SOCK=unix:$NMW/null.sock
}
nm_stop() { stop_pid "$NM_PID"; NM_PID=; }

cv_start() {
	"$HERE/clamav-milter.sh" stop "$CVW" >/dev/null 2>&1 || true
	rm -rf "$CVW/tmp-clamd" "$CVW/tmp-milter"
	SOCK=$(START_TIMEOUT=$START_LIMIT CLAMD=$CLAMD CLAMAV_MILTER=$CLAMAV_MILTER \
		"$HERE/clamav-milter.sh" start "$CVW" "$DB") || return 1
	PIDS=("$(cat "$CVW/clamd.bgpid")" "$(cat "$CVW/clamav-milter.bgpid")")
	# clamav-milter.sh records the pids it started; make sure they are the daemons.
	[ "$(cat "/proc/${PIDS[0]}/comm")" = clamd ] || { echo "run.sh: pid ${PIDS[0]} is not clamd" >&2; return 1; }
	[ "$(cat "/proc/${PIDS[1]}/comm")" = clamav-milter ] || { echo "run.sh: pid ${PIDS[1]} is not clamav-milter" >&2; return 1; }
}
cv_stop() { "$HERE/clamav-milter.sh" stop "$CVW" >/dev/null 2>&1 || true; }

cleanup() {
	[ -z "${PERF_PID:-}" ] || { kill -INT "$PERF_PID" 2>/dev/null; wait "$PERF_PID" 2>/dev/null; } || true
	sm_stop
	nm_stop
	cv_stop
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# alive PID...: all of them still run.
alive() {
	local p
	for p in "$@"; do
		kill -0 "$p" 2>/dev/null || return 1
	done
}

# cpu_ticks PID...: utime + stime of all threads, summed over the processes
# (0 for one that is gone).
cpu_ticks() {
	local p s t=0
	for p in "$@"; do
		s=$(cat "/proc/$p/stat" 2>/dev/null) || continue
		s=${s##*) }
		# shellcheck disable=SC2086
		set -- $s
		t=$((t + ${12} + ${13}))
	done
	echo "$t"
}

# busy_ticks: CPU time the whole machine spent not idle (all CPUs).
busy_ticks() {
	local user nice system irq softirq steal
	read -r _ user nice system _ _ irq softirq steal _ </proc/stat
	echo $((user + nice + system + irq + softirq + steal))
}

# other_cpu BUSY0 BUSY1 OURS_S: seconds of CPU the rest of the machine used
# meanwhile (whatever is neither the server nor the load generator): noise.
other_cpu() {
	awk -v b=$(($2 - $1)) -v h="$CLK_TCK" -v o="$3" 'BEGIN { x = b / h - o; printf "%.2f", x < 0 ? 0 : x }'
}

# wait_quiet: until the machine spends under 10% of one CPU in a second, at
# most QUIET_WAIT s.
wait_quiet() {
	local i=0 a b
	while [ "$i" -lt "$QUIET_WAIT" ]; do
		a=$(busy_ticks)
		sleep 1
		b=$(busy_ticks)
		[ $((b - a)) -gt $((CLK_TCK / 10)) ] || return 0
		i=$((i + 1))
	done
	log "machine still busy after $QUIET_WAIT s; measuring anyway"
}

# is_noisy OTHER_S WALL_S: the rest of the machine used more than NOISE_FRAC of a CPU.
# (and more than half a CPU second in all: tick rounding and process exits are not noise).
is_noisy() { awk -v o="$1" -v w="$2" -v f="$NOISE_FRAC" 'BEGIN { exit !(o > f * w && o > 0.5) }'; }

# hwm_kb PID: peak resident set size (VmHWM), kB.
hwm_kb() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }

# wait_idle PID...: until the processes use no CPU for half a second (the
# database is loaded), at most START_LIMIT s.
wait_idle() {
	local i=0 a b
	b=$(cpu_ticks "$@")
	while [ "$i" -lt $((START_LIMIT * 2)) ]; do
		sleep 0.5
		a=$b
		b=$(cpu_ticks "$@")
		[ "$a" != "$b" ] || return 0
		i=$((i + 1))
	done
	echo "run.sh: warning: $* still busy after $START_LIMIT s" >&2
}

# check_verdicts CSV: every message answered, rejected exactly when the
# MANIFEST says infected. Prints "ok" or "FAIL:N".
check_verdicts() {
	awk -F'\t' 'NR == FNR { want[$1] = $3; next }
		FNR > 1 { split($0, f, ","); gsub(/"/, "", f[1]); gsub(/"/, "", f[4]);
			  n = split(f[1], p, "/"); name = p[n]; seen++;
			  got = (f[4] == "reject") ? "infected" : "clean";
			  if (f[4] != "reject" && f[4] != "accept" && f[4] != "continue") {
				bad++; if (bad <= 5) print "  " name ": " f[4] > "/dev/stderr" }
			  else if (want[name] != got) {
				bad++; if (bad <= 5) print "  " name ": " f[4] ", MANIFEST says " want[name] > "/dev/stderr" } }
		END { if (seen != n_want) bad += (seen > n_want ? seen - n_want : n_want - seen);
		      print bad ? "FAIL:" bad : "ok" }' n_want="$COUNT" FS='\t' "$CORPUS/MANIFEST" FS=',' "$1"
}

# verdict_counts CSV: how the MANIFEST's infected and clean messages were
# answered: "inf_n=.. inf_rejected=.. clean_n=.. clean_untouched=..", where
# untouched = accepted or continued, not quarantined, no reply text (a
# milter's own reply code, 4xx or 5xx, would be one).
verdict_counts() {
	awk -F'\t' 'NR == FNR { want[$1] = $3; next }
		FNR > 1 { n = split($0, f, ","); gsub(/"/, "", f[1]); gsub(/"/, "", f[4]);
			  reply = $0; for (i = 0; i < 4; i++) reply = substr(reply, index(reply, ",") + 1); gsub(/"/, "", reply);
			  k = split(f[1], p, "/"); name = p[k];
			  if (want[name] == "infected") { inf++; if (f[4] == "reject") rej++ }
			  else if (want[name] == "clean") { cl++; if ((f[4] == "accept" || f[4] == "continue") && reply == "") ok++ } }
		END { printf "inf_n=%d inf_rejected=%d clean_n=%d clean_untouched=%d", inf, rej, cl, ok }' \
		FS='\t' "$CORPUS/MANIFEST" FS=',' "$1"
}

# ---- corpus and signatures (made once, kept in WORKDIR) --------------------

if [ ! -f "$CORPUS/MANIFEST" ]; then
	log "making the corpus: $COUNT messages in $CORPUS"
	rm -rf "$CORPUS.tmp"
	python3 "$HERE/mkcorpus.py" "$CORPUS.tmp" --count "$COUNT" --seed 1 --testfiles "$TESTFILES"
	mv "$CORPUS.tmp" "$CORPUS"
fi
if [ ! -f "$DB/bulk.hdb" ] || [ ! -f "$DB/bulk.ndb" ] || [ ! -f "$DB/test.hdb" ] || [ ! -f "$DB/test.ndb" ]; then
	log "making the signature database in $DB"
	rm -rf "$DB" "$DB.tmp"
	python3 "$HERE/mksigs.py" "$DB.tmp" --testfiles "$TESTFILES"
	mv "$DB.tmp" "$DB"
fi
N=$(grep -c . "$CORPUS/MANIFEST")
[ "$N" -eq "$COUNT" ] || die "$CORPUS/MANIFEST lists $N messages, not $COUNT (remove $CORPUS)"
DB_LINES=$(cat "$DB"/*.hdb "$DB"/*.ndb | grep -c .)

sm_conf "$SMW" "$SM_AV_CONF" "$SM_POOL_CONF" >"$SMW/scanmilter.conf"
sm_conf "$SMMW" "$SM_MIME_AV_CONF" "$SM_MIME_POOL_CONF" >"$SMMW/scanmilter.conf"
for f in "$SMW/scanmilter.conf" "$SMMW/scanmilter.conf"; do
	"$SCANMILTER" -t -c "$f" >/dev/null || die "scanmilter rejects $f"
done

# ---- the raw file: metadata, then one RUN line per run ----------------------

{
	echo "# scanmilter benchmark raw results; bench/report.py turns them into RESULTS.md"
	echo "META date=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "META host_nproc=$(nproc)"
	echo "META host_cpu=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
	echo "META host_mem_mb=$(awk '/^MemTotal:/ { printf "%d", $2 / 1024 }' /proc/meminfo)"
	echo "META kernel=$(uname -r)"
	echo "META libclamav=$(dpkg-query -W -f='${Version}' libclamav12 2>/dev/null || clamscan -V | awk '{print $2}')"
	echo "META scanmilter=$("$SCANMILTER" -V 2>&1 | head -1)"
	echo "META git=$(git -C "$TOP" describe --always --dirty 2>/dev/null || echo unknown)"
	echo "META scanmilter_sha256=$(sha256sum "$SCANMILTER" | cut -c1-16)"
	# the defaults the config leaves alone, as this binary has them
	echo "META pool_defaults=$("$SCANMILTER" options 2>/dev/null | awk -F'\t' '$1 == "threadpool" { printf "%s%s=%s", s, $2, $4; s = "," }')"
	echo "META av_defaults=$("$SCANMILTER" options 2>/dev/null | awk -F'\t' '$1 == "antivirus" && $2 ~ /mime|cache/ { printf "%s%s=%s", s, $2, $4; s = "," }')"
	echo "META count=$COUNT reps=$REPS concurrency=${CONCURRENCY// /,} threads=$THREADS retries=$RETRIES noise_frac=$NOISE_FRAC"
	echo "META av_timeout_s=$AV_TIMEOUT workdir=$W"
	echo "META db_lines=$DB_LINES"
	awk -F'\t' '{ n++; b += $2; if ($2 < 50 * 1024) small++; if ($3 == "infected") inf++;
		      if ($2 > max) max = $2; kind[$4]++ }
		    END { printf "META corpus_files=%d corpus_bytes=%d corpus_small=%d corpus_infected=%d corpus_max=%d corpus_kinds=", n, b, small, inf, max;
			  sep = ""; for (k in kind) { printf "%s%s:%d", sep, k, kind[k]; sep = "," }; print "" }' \
		"$CORPUS/MANIFEST"
	echo "META command=WORKDIR=$W COUNT=$COUNT REPS=$REPS CONCURRENCY=\"$CONCURRENCY\" THREADS=$THREADS$(
		[ "$SERVERS" = "$DEFAULT_SERVERS" ] || echo " SERVERS=\"$SERVERS\"")$(
		[ "$SM_POOL_CONF" = "concurrency = $THREADS" ] || printf ' SM_POOL_CONF=%q' "$SM_POOL_CONF")$(
		[ "$SM_AV_CONF" = "mime_decompose = no" ] || printf ' SM_AV_CONF=%q' "$SM_AV_CONF")$(
		[ "$SM_MIME_AV_CONF" = "mime_decompose = yes" ] || printf ' SM_MIME_AV_CONF=%q' "$SM_MIME_AV_CONF")$(
		[ "$SM_MIME_POOL_CONF" = "$SM_POOL_CONF" ] || printf ' SM_MIME_POOL_CONF=%q' "$SM_MIME_POOL_CONF")$(
		[ "$CAMPAIGN_ROUNDS" = 5 ] || printf ' CAMPAIGN_ROUNDS=%s' "$CAMPAIGN_ROUNDS")$(
		[ "$CAMPAIGN_N" = 100 ] || printf ' CAMPAIGN_N=%s' "$CAMPAIGN_N")$(
		[ "$RULES_SAMPLE" = 500 ] || printf ' RULES_SAMPLE=%s' "$RULES_SAMPLE")$(
		[ "$RULES_ITER" = 20 ] || printf ' RULES_ITER=%s' "$RULES_ITER")$(
		[ "$RULESETS" = service-provider-full,service-provider-express ] || printf ' RULESETS=%s' "$RULESETS") bash bench/run.sh"
	echo "META invoked_as=$CMDLINE"
	echo "META servers=${SERVERS// /,} clk_tck=$CLK_TCK"
	echo "META sm_av_conf=${SM_AV_CONF//$'\n'/; }"
	echo "META sm_mime_av_conf=${SM_MIME_AV_CONF//$'\n'/; }"
} >"$RAW"
sed 's/^/    /' "$SMW/scanmilter.conf" | sed 's/^/CONF /' >>"$RAW"
sed 's/^/    /' "$SMMW/scanmilter.conf" | sed 's/^/CONFMIME /' >>"$RAW"

log "corpus $N messages ($(awk -F'\t' '$3 == "infected"' "$CORPUS/MANIFEST" | wc -l) infected), $DB_LINES signature lines, threads $THREADS"
log "concurrency: $CONCURRENCY; $REPS repetition(s); raw results: $RAW"

FAILS=0

# one_run SERVER C REP: fresh server, one pass of miltergen, CPU/RSS, verdicts.
one_run() {
	local server=$1 c=$2 rep=$3 out csv rc t0 t1 b0 b1 cpu rss detail="" p v result gen other smstats vc= locks= logn
	out=$RUNS/$server-c$c-r$rep.out
	csv=$RUNS/$server-c$c-r$rep.csv
	rm -f "$out" "$csv"
	case $server in
	scanmilter) sm_start "$SMW" ;;
	scanmilter-mime) sm_start "$SMMW" ;;
	clamav) cv_start ;;
	null) nm_start ;;
	esac || { LINE="server=$server c=$c rep=$rep status=start-failed"; OK=0 OTHER=0 WIN=1 DIED=1; return 0; }
	# scanmilter logs its mutex wait counters when it stops: this run's line
	logn=0
	case $server in scanmilter*) logn=$(wc -l <"$SM_DIR/scanmilter.log") ;; esac
	wait_idle "${PIDS[@]}"
	t0=$(cpu_ticks "${PIDS[@]}")
	b0=$(busy_ticks)
	WIN=$EPOCHREALTIME
	rc=0
	timeout $((WALL_LIMIT + REPLY_TIMEOUT + 60)) ${TIME:+"$TIME" -f 'TIME cpu_s=%U+%S'} \
		"$MILTERGEN" -s "$SOCK" -c "$c" -n "$COUNT" -t "$REPLY_TIMEOUT" -T "$WALL_LIMIT" \
		-o "$csv" "$CORPUS" >"$out" 2>&1 || rc=$?
	b1=$(busy_ticks)
	WIN=$(awk -v a="$WIN" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.3f", b - a }')
	DIED=0
	alive "${PIDS[@]}" || DIED=1
	t1=$(cpu_ticks "${PIDS[@]}")
	rss=0
	for p in "${PIDS[@]}"; do
		v=$(hwm_kb "$p")
		rss=$((rss + v))
		detail+="${detail:+,}$(cat "/proc/$p/comm" 2>/dev/null || echo gone):$v"
	done
	smstats=
	case $server in
	scanmilter*) smstats=$(sm_stats sm_) ;;
	esac
	case $server in
	scanmilter*) sm_stop ;;
	clamav) cv_stop ;;
	null) nm_stop ;;
	esac
	locks=
	case $server in
	scanmilter*) locks=$(tail -n +$((logn + 1)) "$SM_DIR/scanmilter.log" | grep -a 'lock waits: ' | tail -1 |
		sed 's/.*lock waits: //' | awk -F', ' '{ for (i = 1; i <= NF; i++) { n = split($i, w, " ")
			for (k = 2; k <= n; k++) printf "%slock_%s_%s", (i + k > 3 ? " " : ""), w[1], w[k] } }') ;;
	esac
	cpu=$(awk -v t=$((t1 - t0)) -v h="$CLK_TCK" 'BEGIN { printf "%.2f", t / h }')
	if [ "$server" = null ]; then
		v=n/a
	elif [ -s "$csv" ]; then
		v=$(check_verdicts "$csv")
		vc=$(verdict_counts "$csv")
	else
		v=FAIL:nocsv
	fi
	result=$(grep '^RESULT ' "$out" | tail -1 | sed 's/^RESULT //')
	[ -n "$result" ] || result="noresult=1"
	# miltergen's own CPU, corpus loading included when /usr/bin/time says it
	gen=$(sed -n 's/^TIME cpu_s=\([0-9.]*\)+\([0-9.]*\)/\1 \2/p' "$out" | awk '{ print $1 + $2 }')
	[ -n "$gen" ] || gen=$(sed -n 's/.* gen_cpu_s=\([^ ]*\).*/\1/p' <<<"$result")
	other=$(other_cpu "$b0" "$b1" "$(awk -v a="$cpu" -v b="${gen:-0}" 'BEGIN { print a + b }')")
	OK=0
	[ "$rc" -eq 0 ] && [ "${v#FAIL}" = "$v" ] && OK=1
	OTHER=$other
	[ "$DIED" -eq 0 ] || { OK=0; log "  $server (pid ${PIDS[*]}) ended during the run: see ${SM_DIR:-$SMW}/scanmilter.log, $CVW/*.log"; }
	LINE="server=$server c=$c rep=$rep$([ "$DIED" -eq 0 ] || echo " status=server-died") rc=$rc verdicts=$v server_cpu_s=$cpu rss_kb=$rss rss_detail=$detail other_cpu_s=$other${vc:+ $vc}${smstats:+ ${smstats% }}${locks:+ $locks} $result"
	log "$(printf '%-15s c=%-3s rep %s: %s msgs/s, p50 %s ms, p99 %s ms, server CPU %s s, RSS %s MB, other CPU %s s, verdicts %s, rc %s' \
		"$server" "$c" "$rep" \
		"$(sed -n 's/.* msgs_per_s=\([^ ]*\).*/\1/p' <<<"$result")" \
		"$(sed -n 's/.* p50_ms=\([^ ]*\).*/\1/p' <<<"$result")" \
		"$(sed -n 's/.* p99_ms=\([^ ]*\).*/\1/p' <<<"$result")" \
		"$cpu" "$((rss / 1024))" "$other" "$v" "$rc")"
}

# raw_run J REP: rawscan -j J over the corpus; checks it finds exactly the
# MANIFEST's infected messages.
raw_run() {
	local j=$1 rep=$2 out rc=0 v result rss=0 b0 b1 other=
	out=$RUNS/rawscan-j$j-r$rep.out
	if [ -n "$TIME" ]; then
		b0=$(busy_ticks)
		WIN=$EPOCHREALTIME
		timeout $((WALL_LIMIT + 300)) "$TIME" -f 'TIME maxrss_kb=%M cpu_s=%U+%S' "$RAWSCAN" -v -j "$j" -t "$W" "$DB" "$CORPUS" >"$out" 2>&1 || rc=$?
		b1=$(busy_ticks)
		WIN=$(awk -v a="$WIN" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.3f", b - a }')
		rss=$(sed -n 's/^TIME maxrss_kb=\([0-9]*\).*/\1/p' "$out")
		other=$(other_cpu "$b0" "$b1" "$(sed -n 's/^TIME .*cpu_s=\([0-9.]*\)+\([0-9.]*\)/\1 \2/p' "$out" | awk '{ print $1 + $2 }')")
	else
		WIN=1
		timeout $((WALL_LIMIT + 300)) "$RAWSCAN" -v -j "$j" -t "$W" "$DB" "$CORPUS" >"$out" 2>&1 || rc=$?
	fi
	if diff <(sed -n 's|^.*/\([^/]*\): .* FOUND$|\1|p' "$out" | sort) \
		<(awk -F'\t' '$3 == "infected" { print $1 }' "$CORPUS/MANIFEST" | sort) >/dev/null &&
		! grep -q ': ERROR ' "$out"; then
		v=ok
	else
		v=FAIL
	fi
	result=$(grep '^RESULT ' "$out" | tail -1 | sed 's/^RESULT //')
	[ -n "$result" ] || result="noresult=1"
	OK=0 DIED=0
	[ "$rc" -eq 0 ] && [ "$v" = ok ] && OK=1
	OTHER=${other:-0}
	LINE="server=rawscan c=$j rep=$rep rc=$rc verdicts=$v rss_kb=${rss:-0} other_cpu_s=${other:-?} $result"
	log "$(printf '%-15s j=%-3s rep %s: %s files/s, CPU %s s, other CPU %s s, verdicts %s, rc %s' rawscan "$j" "$rep" \
		"$(sed -n 's/.* files_per_s=\([^ ]*\).*/\1/p' <<<"$result")" \
		"$(sed -n 's/.* cpu_s=\([^ ]*\).*/\1/p' <<<"$result")" "${other:-?}" "$v" "$rc")"
}

# rawscan at 1 thread and at THREADS (the ceiling for concurrency >= THREADS);
# at any other concurrency below THREADS, at that many.
# measured FUNCTION ARGS...: the run, repeated while the rest of the machine
# disturbed it (at most RETRIES more times); disturbed attempts are kept in
# the raw file as NOISY lines, the one that counts as a RUN line.
measured() {
	local attempt=0
	while :; do
		wait_quiet
		"$@"
		if [ "$attempt" -lt "$RETRIES" ] && { [ "$DIED" -eq 1 ] || is_noisy "$OTHER" "$WIN"; }; then
			echo "NOISY attempt=$attempt $LINE" >>"$RAW"
			if [ "$DIED" -eq 1 ]; then
				log "  (the server did not last the run: once more)"
			else
				log "  (other processes used $OTHER s of CPU in $WIN s: noisy, once more)"
			fi
			attempt=$((attempt + 1))
			continue
		fi
		echo "RUN attempt=$attempt $LINE" >>"$RAW"
		[ "$OK" -eq 1 ] || FAILS=$((FAILS + 1))
		return 0
	done
}

has() { [[ " $SERVERS " == *" $1 "* ]]; }

RAW_JS=$(for c in 1 $CONCURRENCY; do [ "$c" -lt "$THREADS" ] && echo "$c" || echo "$THREADS"; done | sort -nu | tr '\n' ' ')

for rep in $(seq 1 "$REPS"); do
	log "== repetition $rep of $REPS"
	if has rawscan; then
		for j in $RAW_JS; do
			measured raw_run "$j" "$rep"
		done
	fi
	for c in $CONCURRENCY; do
		for server in scanmilter scanmilter-mime clamav null; do
			has "$server" && measured one_run "$server" "$c" "$rep"
		done
	done
done

# ---- campaign: what a message whose attachment is cached costs ---------------

# gen_c1 CSV FILE...: miltergen at concurrency 1, one pass over FILE...;
# prints its RESULT line (empty when it failed).
gen_c1() {
	local csv=$1 out=${1%.csv}.out rc=0
	shift
	timeout $((REPLY_TIMEOUT + 120)) "$MILTERGEN" -s "$SOCK" -c 1 -n $# -t "$REPLY_TIMEOUT" -T 600 \
		-o "$csv" "$@" >"$out" 2>&1 || rc=$?
	[ "$rc" -eq 0 ] || { log "  miltergen failed (rc $rc), see $out" >&2; return 1; }
	grep '^RESULT ' "$out" | tail -1 | sed 's/^RESULT //'
}

# perf_start PID FILE: count PID's task-clock (every thread, those started
# later included) into FILE until perf_stop; nothing without perf.
PERF_PID=
perf_start() {
	PERF_PID=
	[ -n "$PERF" ] || return 0
	timeout 900 "$PERF" stat -e task-clock -x, -o "$2" -p "$1" >/dev/null 2>&1 &
	PERF_PID=$!
	sleep 0.3	# attached
}
# perf_stop FILE: prints the task-clock in ms (empty without perf).
perf_stop() {
	[ -n "$PERF_PID" ] || return 0
	kill -INT "$PERF_PID" 2>/dev/null || true
	wait "$PERF_PID" 2>/dev/null || true
	PERF_PID=
	awk -F',' '$3 == "task-clock" && $1 ~ /^[0-9.]+$/ { print $1 }' "$1"
}

# csv_lat CSV: "mean p50" of the latency column, ms; "bad=N" counts the
# messages not accepted (all campaign and warm-up messages are clean).
csv_lat() {
	local p50
	p50=$(awk -F',' 'FNR > 1 { print $3 }' "$1" | sort -g | awk '{ v[NR] = $1 } END { print NR ? v[int((NR + 1) / 2)] : 0 }')
	awk -F',' -v p50="$p50" 'FNR > 1 { gsub(/"/, "", $4); n++; s += $3; if ($4 != "accept" && $4 != "continue") bad++ }
		END { if (!n) { print "mean=0 p50=0 bad=1"; exit }
		      printf "mean=%.3f p50=%.3f bad=%d", s / n, p50, bad }' "$1"
}

campaign_step() {
	local camp=() warm=() cached=() rounds n k first r0 r1 t0 t1 t2 t3 b0 b1 w0 first_st cached_st dir p0 p1
	mapfile -t camp < <(awk -F'\t' -v d="$CORPUS" '$4 == "campaign" { print d "/" $1 }' "$CORPUS/MANIFEST")
	mapfile -t warm < <(awk -F'\t' -v d="$CORPUS" '$3 == "clean" && ($4 == "plain" || $4 == "html" || $4 == "attach") { print d "/" $1 }' \
		"$CORPUS/MANIFEST" | head -n "$CAMPAIGN_WARM")
	rounds=$CAMPAIGN_ROUNDS
	[ "$rounds" -lt "${#camp[@]}" ] || rounds=$((${#camp[@]} - 1))
	if [ "$rounds" -lt 1 ] || [ -z "$SMCTL" ]; then
		log "campaign step skipped (${#camp[@]} campaign messages, control client ${SMCTL:-missing})"
		echo "META campaign=skipped" >>"$RAW"
		return 0
	fi
	n=$CAMPAIGN_N
	[ "$n" -le $((${#camp[@]} - rounds)) ] || n=$((${#camp[@]} - rounds))
	# the first `rounds` campaign messages are the first scans, one per
	# fresh daemon; the next n are the cached ones (the same n every round)
	cached=("${camp[@]:rounds:n}")
	dir=$RUNS/campaign
	mkdir -p "$dir"
	echo "META campaign_rounds=$rounds campaign_n=$n campaign_warm=${#warm[@]} campaign_perf=$([ -n "$PERF" ] && echo yes || echo no) campaign_msg_bytes=$(awk -F'\t' '$4 == "campaign" { print $2; exit }' "$CORPUS/MANIFEST")" >>"$RAW"
	log "campaign: $rounds fresh scanmilter-mime daemon(s), each: ${#warm[@]} warm-up messages, 1 first campaign message, $n cached ones (c=1)"
	for k in $(seq 1 "$rounds"); do
		first=${camp[k - 1]}
		wait_quiet
		if ! sm_start "$SMMW"; then
			echo "CAMPAIGN round=$k status=start-failed" >>"$RAW"
			FAILS=$((FAILS + 1))
			continue
		fi
		wait_idle "$SM_PID"
		if ! gen_c1 "$dir/warm-$k.csv" "${warm[@]}" >/dev/null || ! smctl stats reset >/dev/null; then
			sm_stop
			echo "CAMPAIGN round=$k status=warmup-failed" >>"$RAW"
			FAILS=$((FAILS + 1))
			continue
		fi
		b0=$(busy_ticks) w0=$EPOCHREALTIME
		perf_start "$SM_PID" "$dir/perf-first-$k.txt"
		t0=$(cpu_ticks "$SM_PID")
		r0=$(gen_c1 "$dir/first-$k.csv" "$first") || r0=
		t1=$(cpu_ticks "$SM_PID")
		p0=$(perf_stop "$dir/perf-first-$k.txt")
		first_st=$(sm_stats first_)
		smctl stats reset >/dev/null || true
		perf_start "$SM_PID" "$dir/perf-cached-$k.txt"
		t2=$(cpu_ticks "$SM_PID")
		r1=$(gen_c1 "$dir/cached-$k.csv" "${cached[@]}") || r1=
		t3=$(cpu_ticks "$SM_PID")
		p1=$(perf_stop "$dir/perf-cached-$k.txt")
		cached_st=$(sm_stats cached_)
		b1=$(busy_ticks)
		alive "$SM_PID" || r1=
		sm_stop
		LINE="round=$k first_file=${first##*/} n=$n first_cpu_ticks=$((t1 - t0)) cached_cpu_ticks=$((t3 - t2))"
		LINE+="${p0:+ first_perf_ms=$p0}${p1:+ cached_perf_ms=$p1}"
		LINE+=" first_lat_$(csv_lat "$dir/first-$k.csv" | sed 's/ / first_lat_/g') cached_lat_$(csv_lat "$dir/cached-$k.csv" | sed 's/ / cached_lat_/g')"
		LINE+=" ${first_st% } ${cached_st% }"
		LINE+=" other_cpu_s=$(other_cpu "$b0" "$b1" "$(awk -v t=$((t3 - t0)) -v h="$CLK_TCK" 'BEGIN { print t / h }')")"
		LINE+=" wall_s=$(awk -v a="$w0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.3f", b - a }')"
		if [ -z "$r0" ] || [ -z "$r1" ] || [[ " $LINE " != *" first_messages=1 "* ]] || [[ " $LINE " != *" cached_messages=$n "* ]] ||
			[[ " $LINE " != *" first_lat_bad=0 "* ]] || [[ " $LINE " != *" cached_lat_bad=0 "* ]]; then
			LINE+=" status=failed"
			FAILS=$((FAILS + 1))
		fi
		echo "CAMPAIGN $LINE" >>"$RAW"
		log "$(awk '{ for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] } }
			END { printf "  round %s: first: scan %s ms (daemon), CPU %s ticks, %s ms (perf); cached: scan %s ms/msg (daemon), CPU %s ticks, %s ms (perf) for %s msgs, cache hits %s%s",
				v["round"], v["first_avg_ms_message"], v["first_cpu_ticks"], v["first_perf_ms"], v["cached_avg_ms_message"],
				v["cached_cpu_ticks"], v["cached_perf_ms"], v["n"], v["cached_cache_hits"], (v["status"] ? ", " v["status"] : "") }' <<<"$LINE")"
	done
}

# ---- rules: the rules engine's cost per message ------------------------------

rules_step() {
	local step files=() out=$RUNS/rulescost.out rc=0
	if [ -z "$RULESCOST" ]; then
		log "rules step skipped (no $BUILD/bench/rulescost or etc/rules.xml)"
		echo "META rules=skipped" >>"$RAW"
		return 0
	fi
	step=$((COUNT / RULES_SAMPLE))
	[ "$step" -ge 1 ] || step=1
	mapfile -t files < <(awk -F'\t' -v k="$step" -v d="$CORPUS" '(NR - 1) % k == 0 { print d "/" $1 }' "$CORPUS/MANIFEST" | head -n "$RULES_SAMPLE")
	echo "META rules_sets=$RULESETS rules_iter=$RULES_ITER rules_step=$step rules_files=${#files[@]} rules_xml_sha256=$(sha256sum "$RULES_XML" | cut -c1-16)" >>"$RAW"
	log "rules: rulescost -n $RULES_ITER, $RULESETS, ${#files[@]} messages (every ${step}th)"
	wait_quiet
	timeout 900 "$RULESCOST" -n "$RULES_ITER" "$RULES_XML" "$RULES_RNG" "$RULESETS" "${files[@]}" >"$out" 2>&1 || rc=$?
	if [ "$rc" -ne 0 ]; then
		log "  rulescost failed (rc $rc): $(tail -1 "$out")"
		echo "META rules=failed rules_rc=$rc" >>"$RAW"
		FAILS=$((FAILS + 1))
		return 0
	fi
	# "message  rule-set  bytes  us/msg  score" -> RULES lines with the kind
	awk 'NR == FNR { split($0, f, "\t"); kind[f[1]] = f[4]; next }
		$1 ~ /\.eml$/ && NF == 5 { printf "RULES set=%s file=%s kind=%s bytes=%s us=%s score=%s\n", $2, $1, kind[$1], $3, $4, $5 }' \
		"$CORPUS/MANIFEST" "$out" >>"$RAW"
	log "$(awk '$1 == "(mean)" { printf "  %s: mean %s us/msg; ", $2, $3 }' "$out")"
}

has scanmilter-mime && [ "$CAMPAIGN_ROUNDS" -gt 0 ] && campaign_step
[ "$RULES_SAMPLE" -gt 0 ] && rules_step

T_END=$(date +%s)
echo "META runtime_s=$((T_END - T_START)) failures=$FAILS" >>"$RAW"
python3 "$HERE/report.py" "$RAW" "$RESULTS"
# how often decomposition must scan a message whole too (same corpus)
if ! { echo; BUILD=$BUILD bash "$HERE/ambiguity.sh" "$CORPUS"; } >>"$RESULTS"; then
	log "ambiguity step failed"
fi
log "wrote $RESULTS from $RAW ($((T_END - T_START)) s, $FAILS failed run(s))"
[ "$FAILS" -eq 0 ] || die "$FAILS run(s) failed or gave wrong verdicts; see $RAW and $RUNS"
