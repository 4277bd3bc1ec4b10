#!/usr/bin/env bash
# timeline.sh - where a message's time goes, per mode: the daemon of BUILD
# on the corpus and configurations bench/run.sh left in WORKDIR (run it
# first), whole messages and decomposition, each under miltergen at
# CONCURRENCY for REPS passes of the corpus, with log_level = debug so that
# every scan logs its timeline (src/pipeline/batch.h: parse, key, submit,
# queue, scan, handback, rest).  Joined by queue id with miltergen's own
# latency per message, the medians by size class go to stdout (and the raw
# lines to OUT, default bench/results/timeline-DATE.txt).
#
#   BUILD=build WORKDIR=/dev/shm/scanmilter-bench CONCURRENCY=8 REPS=3 \
#       bash bench/timeline.sh
# POOL_EXTRA adds lines to the CPU pool's scope (experiments: "small_threads
# = 2"); MODES picks the configurations (default "scanmilter scanmilter-mime").
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
BUILD=${BUILD:-$HERE/../build}
WORKDIR=${WORKDIR:-/dev/shm/scanmilter-bench}
CONCURRENCY=${CONCURRENCY:-8}
REPS=${REPS:-3}
OUT=${OUT:-$HERE/results/timeline-$(date +%Y%m%d-%H%M%S).txt}
SCANMILTER=$BUILD/src/scanmilter
MILTERGEN=$BUILD/bench/miltergen
CORPUS=$(ls -d "$WORKDIR"/corpus-* 2>/dev/null | head -n 1)
[ -n "$CORPUS" ] && [ -f "$CORPUS/MANIFEST" ] || {
	echo "timeline.sh: no corpus under $WORKDIR (run bench/run.sh first)" >&2; exit 1; }
N=$(grep -c . "$CORPUS/MANIFEST")
[ "$REPS" -ge 1 ] && [ "$REPS" -le 10 ] || { echo "timeline.sh: REPS 1..10" >&2; exit 1; }

: >"$OUT"
for mode in ${MODES:-scanmilter scanmilter-mime}; do
	src=$WORKDIR/$mode/scanmilter.conf
	[ -f "$src" ] || { echo "timeline.sh: no $src (run bench/run.sh first)" >&2; exit 1; }
	dir=$(mktemp -d /dev/shm/sm-timeline.XXXXXX)
	mkdir "$dir/tmp"
	# the same configuration, its paths moved here, with a debug log
	sed -e "s#$WORKDIR/$mode/#$dir/#g" -e 's#log_clean = no#log_clean = no\n  log_level = debug#' \
		-e "s#^threadpool \"CPU\" {#&\n  ${POOL_EXTRA:-}#" "$src" >"$dir/scanmilter.conf"
	for rep in $(seq 1 "$REPS"); do
		"$SCANMILTER" -f -c "$dir/scanmilter.conf" 2>"$dir/log" </dev/null &
		pid=$!
		for _ in $(seq 1 600); do [ -S "$dir/scanmilter.sock" ] && break; sleep 0.1; done
		timeout 900 "$MILTERGEN" -s "unix:$dir/scanmilter.sock" -c "$CONCURRENCY" -n "$N" \
			-t 120 -T 600 -o "$dir/gen.csv" "$CORPUS" >"$dir/gen.out"
		kill -TERM "$pid"; wait "$pid" || true
		echo "# $mode $rep $(grep -oE 'msgs_per_s=[0-9.]+' "$dir/gen.out")" >>"$OUT"
		python3 - "$mode" "$rep" "$dir/log" "$dir/gen.csv" >>"$OUT" <<'PY'
import csv, re, sys
mode, rep, log, gencsv = sys.argv[1:5]
rows = list(csv.DictReader(open(gencsv)))
pat = re.compile(r"([0-9A-F]{10}): timeline parse=(\S+) key=(\S+) submit=(\S+) queue=(\S+) "
                 r"scan=(\S+) handback=(\S+) rest=(\S+) total=(\S+) ms, (\d+) pooled")
for line in open(log):
    m = pat.search(line)
    if not m:
        continue
    k = int(m.group(1), 16) - 1
    if not 0 <= k < len(rows):
        continue
    r = rows[k]
    print(mode, rep, r["size"], r["latency_ms"], *m.groups()[1:])
PY
		rm -f "$dir/scanmilter.sock"
	done
	rm -rf "$dir"
done

python3 - "$OUT" "$CONCURRENCY" <<'PY'
import statistics, sys
out, conc = sys.argv[1], sys.argv[2]
phases = ["parse", "key", "submit", "queue", "scan", "handback", "rest", "total"]
data = {}
rate = {}
for line in open(out):
    f = line.split()
    if f[0] == "#":
        rate.setdefault(f[1], []).append(float(f[3].split("=")[1]))
        continue
    mode, size, lat = f[0], int(f[2]), float(f[3])
    v = [float(x) for x in f[4:12]]
    cls = "<50KB" if size < 50000 else ">=50KB"
    # the milter's part outside the scan: receiving, the reply, the MTA's
    # side of the protocol (miltergen's latency less the scan's total)
    data.setdefault((mode, cls), []).append(v + [lat - v[7], lat, int(f[12])])
print("medians in ms at concurrency %s (%s)" % (conc, out))
print("| mode | size | n | " + " | ".join(phases) + " | outside scan | latency | pooled tasks "
      "| msgs/s |")
print("|---" * (len(phases) + 7) + "|")
for (mode, cls), rows in sorted(data.items()):
    cols = list(zip(*rows))
    print("| %s | %s | %d | " % (mode, cls, len(rows)) +
          " | ".join("%.2f" % statistics.median(c) for c in cols[:-1]) +
          " | %.1f | %.0f |" % (statistics.mean(cols[-1]), statistics.median(rate[mode])))
PY
