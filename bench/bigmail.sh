#!/usr/bin/env bash
# bigmail.sh - the daemon's anonymous memory for large mail: RssAnon of
# build/src/scanmilter (from /proc/PID/status, sampled every INTERVAL_MS
# while it works) for one message of each size in SIZES (one base64
# attachment of random bytes, the message about that many MiB), sent with
# bench/miltergen at concurrency 1, in both modes (mime_decompose = no and
# yes), with the clamav engine's default limits and a synthetic signature set
# (bench/mksigs.py); then the peak during a signature reload in both
# reload modes (concurrent and blocking), and libclamav's own memory for
# the same messages without the daemon (bench/clammem.py).  Prints, per
# case, idle (just
# before), peak (while it runs) and delta, writes the raw lines to
# bench/results/bigmail-DATE.txt and a markdown section for RESULTS.md to
# bench/results/bigmail-DATE.md.
#
#   bench/bigmail.sh [-w WORKDIR] [-s "50 200"] [-m "no yes"] [-R] [-L]
#                    [-b BEFORE.txt]
#   bench/bigmail.sh -r RAW.txt [-b BEFORE.txt]   (the markdown again)
#
#   -w  work directory (default: a new one under /var/tmp, removed at the
#       end; the spill files go there, on disk, as in production)
#   -s  message sizes in MiB (default "50 200")
#   -m  mime_decompose values (default "no yes")
#   -R  no reload step
#   -L  no libclamav-alone step (bench/clammem.py on the same messages)
#   -b  an earlier raw file (e.g. of the code before a change): its deltas
#       go in a column of their own
#   -r  measure nothing: write the markdown of RAW.txt (to RAW.md)
# Environment: HASHES, BODIES (signatures, default 300000 and 30000, as
# bench/run.sh), INTERVAL_MS (default 20), LIMIT_MB (the bound the section
# states as met or missed, default 64), BUILD (default build/).
# Bounded: every send and reload has a time limit, every loop a count.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$HERE/.." && pwd)
BUILD=${BUILD:-$TOP/build}
SCANMILTER=${SCANMILTER:-$BUILD/src/scanmilter}
MILTERGEN=${MILTERGEN:-$BUILD/bench/miltergen}
SIZES="50 200" MODES="no yes" RELOAD=1 LIBCLAMAV=1 WD='' BEFORE='' REDO=''
HASHES=${HASHES:-300000} BODIES=${BODIES:-30000}
INTERVAL_MS=${INTERVAL_MS:-20} LIMIT_MB=${LIMIT_MB:-64}
while getopts "w:s:m:RLb:r:" o; do
	case $o in
	w) WD=$OPTARG ;;
	s) SIZES=$OPTARG ;;
	m) MODES=$OPTARG ;;
	R) RELOAD=0 ;;
	L) LIBCLAMAV=0 ;;
	b) BEFORE=$OPTARG ;;
	r) REDO=$OPTARG ;;
	*) sed -n '2,25p' "$0" >&2; exit 2 ;;
	esac
done
if [ -n "$REDO" ]; then
	RAW=$REDO MD=${REDO%.txt}.md
else
for f in "$SCANMILTER" "$MILTERGEN"; do
	[ -x "$f" ] || { echo "bigmail.sh: no $f (make all first)" >&2; exit 1; }
done
KEEP_WD=1
if [ -z "$WD" ]; then
	WD=$(mktemp -d /var/tmp/sm-bigmail.XXXXXX)
	KEEP_WD=0
fi
mkdir -p "$WD"
STAMP=$(date -u +%Y%m%d-%H%M%S)
RAW=$TOP/bench/results/bigmail-$STAMP.txt
MD=$TOP/bench/results/bigmail-$STAMP.md
SM_PID=''

cleanup() {
	stop_sm
	[ "$KEEP_WD" = 1 ] || rm -rf "$WD"
}
trap cleanup EXIT

stop_sm() {
	local i=0
	[ -n "$SM_PID" ] || return 0
	if kill -TERM "$SM_PID" 2>/dev/null; then
		while kill -0 "$SM_PID" 2>/dev/null && [ "$i" -lt 300 ]; do
			sleep 0.1; i=$((i + 1))
		done
		kill -KILL "$SM_PID" 2>/dev/null || true
	fi
	wait "$SM_PID" 2>/dev/null || true
	SM_PID=''
}

# ---- inputs ------------------------------------------------------------

# the messages: headers, a text part, one base64 attachment of random bytes
for mb in $SIZES; do
	[ -s "$WD/m$mb/m.eml" ] && continue
	mkdir -p "$WD/m$mb"
	python3 - "$WD/m$mb/m.eml" "$mb" <<'PY'
import base64, os, sys
path, mb = sys.argv[1], int(sys.argv[2])
raw = mb * 1024 * 1024 * 57 // 78          # 57 bytes per 78-byte line
with open(path, "wb") as f:
    f.write(b"From: a@example.com\r\nTo: b@example.org\r\nSubject: big %d MiB\r\n"
            b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"BIG\"\r\n\r\n"
            b"--BIG\r\nContent-Type: text/plain\r\n\r\nSee the attachment.\r\n"
            b"--BIG\r\nContent-Type: application/octet-stream\r\n"
            b"Content-Transfer-Encoding: base64\r\n"
            b"Content-Disposition: attachment; filename=\"random.bin\"\r\n\r\n" % mb)
    left = raw
    while left > 0:
        n = min(left, 57 * 16384)
        enc = base64.encodebytes(os.urandom(n))      # 76 chars + LF a line
        f.write(enc.replace(b"\n", b"\r\n"))
        left -= n
    f.write(b"--BIG--\r\n")
PY
done
if [ ! -s "$WD/db/bulk.hdb" ]; then
	python3 "$HERE/mksigs.py" "$WD/db" --hashes "$HASHES" --bodies "$BODIES" >/dev/null
fi

# the sampler: peak RssAnon of PID while a command runs, or until a log
# file has one line more matching a pattern (a reload)
cat >"$WD/sample.py" <<'PY'
import os, re, subprocess, sys, time
pid, ms, deadline = int(sys.argv[1]), float(sys.argv[2]) / 1000, float(sys.argv[3])
what = sys.argv[4:]
def anon():
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("RssAnon:"):
                    return int(line.split()[1])
    except OSError:
        return None
def count(log, pat):
    with open(log, errors="replace") as f:
        return sum(1 for l in f if re.search(pat, l))
idle = anon(); peak = idle; n = 0; t0 = time.monotonic()
if what[0] == "run":
    p = subprocess.Popen(what[1:], stdout=subprocess.DEVNULL)
    done = lambda: p.poll() is not None
else:                        # log LOGFILE PATTERN: after a signal, until logged
    log, pat = what[1], what[2]
    n0 = count(log, pat)
    os.kill(pid, int(what[3]))
    done = lambda: count(log, pat) > n0
while time.monotonic() - t0 < deadline:
    v = anon()
    if v is not None and v > peak:
        peak = v
    n += 1
    if done():
        break
    time.sleep(ms)
secs = time.monotonic() - t0
time.sleep(0.5)
after = anon()
print("idle_kb=%d peak_kb=%d after_kb=%d samples=%d secs=%.2f" % (idle, peak, after or 0, n, secs))
PY

# sm_start NAME AV_LINES MILTER_LINES: a daemon configured as in bench/run.sh
sm_start() {
	local dir=$WD/$1 i=0
	rm -rf "$dir"; mkdir -p "$dir/tmp"
	cat >"$dir/scanmilter.conf" <<CONF
milter {
  listen = "unix:$dir/scanmilter.sock"
  socket_mode = 0666
  file_base = "$dir/tmp"
  log = stderr
  log_clean = yes
  $3
}
control {
  listen = "unix:$dir/control.sock"
}
antivirus "bench" {
  timeout = 240s
  action = reject
  $2
  clamav "clamav" {
    database_directory = "$WD/db"
  }
}
CONF
	SM_LOG=$dir/scanmilter.log
	"$SCANMILTER" -f -c "$dir/scanmilter.conf" 2>>"$SM_LOG" </dev/null &
	SM_PID=$!
	# the socket is bound before the signatures load: wait for the log
	while ! grep -q 'listening on' "$SM_LOG" 2>/dev/null; do
		kill -0 "$SM_PID" 2>/dev/null && [ "$i" -lt 1200 ] ||
			{ tail -5 "$SM_LOG" >&2; echo "bigmail.sh: no start" >&2; exit 1; }
		sleep 0.1; i=$((i + 1))
	done
	SOCK=unix:$dir/scanmilter.sock
	sleep 1			# let the start-up settle before "idle"
	kill -0 "$SM_PID" 2>/dev/null ||
		{ tail -5 "$SM_LOG" >&2; echo "bigmail.sh: died at start" >&2; exit 1; }
}

kv() { tr ' ' '\n' <<<"$1" | sed -n "s/^$2=//p"; }

{
	echo "META date=$STAMP host=$(hostname) nproc=$(nproc) commit=$(git -C "$TOP" rev-parse --short HEAD 2>/dev/null || echo -)"
	echo "META clamav=$(clamconf 2>/dev/null | sed -n 's/^Version: *//p' | head -1) signatures=$HASHES+$BODIES interval_ms=$INTERVAL_MS"
} >"$RAW"

for dec in $MODES; do
	for mb in $SIZES; do
		# a fresh daemon per case: freed memory the allocator keeps
		# would hide the next case's growth
		sm_start "dec-$dec-$mb" "mime_decompose = $dec" ""
		size=$(stat -c %s "$WD/m$mb/m.eml")
		out=$(python3 "$WD/sample.py" "$SM_PID" "$INTERVAL_MS" 600 run \
		    timeout 600 "$MILTERGEN" -s "$SOCK" -c 1 -n 1 -t 300 \
		    -o "$WD/dec-$dec-$mb.csv" "$WD/m$mb")
		reply=$(tail -n 1 "$WD/dec-$dec-$mb.csv" | cut -d, -f4- | tr -d '"' | tr ', ' '__')
		verdict=$(grep -o 'verdict=[^,]*, virus=[^,]*' "$SM_LOG" | tail -n 1 | tr ' ' '_')
		echo "CASE mode=decompose-$dec mb=$mb bytes=$size $out reply=$reply $verdict" | tee -a "$RAW"
		stop_sm
	done
done

if [ "$RELOAD" = 1 ]; then
	for rm in concurrent blocking; do
		sm_start "reload-$rm" "mime_decompose = yes" "reload_mode = $rm"
		touch "$WD/db/bulk.ndb"		# changed: a real reload
		out=$(python3 "$WD/sample.py" "$SM_PID" "$INTERVAL_MS" 300 log \
		    "$SM_LOG" 'configuration and signatures from' 1)
		echo "RELOAD mode=$rm $out" | tee -a "$RAW"
		stop_sm
	done
fi

# libclamav alone (bench/clammem.py, the same signatures and limits): what
# its own scan of the same message costs, by descriptor and from memory,
# with its mail parser on and off
if [ "$LIBCLAMAV" = 1 ]; then
	for mb in $SIZES; do
		for how in "" "-m" "-M"; do
			out=$(nice python3 "$HERE/clammem.py" $how "$WD/db" "$WD/m$mb/m.eml" 2>/dev/null |
			    sed -n 's/^LIBCLAMAV //p')
			echo "LIBCLAMAV mb=$mb $out" | tee -a "$RAW"
		done
	done
fi

fi	# measuring

# ---- the markdown section ---------------------------------------------
markdown() {
python3 - "$RAW" "$LIMIT_MB" "$(basename "$RAW")" "$BEFORE" >"$MD" <<'PY'
import sys
raw, limit, name, before_raw = sys.argv[1], float(sys.argv[2]), sys.argv[3], sys.argv[4]
def read(path):
    out = {"META": [], "CASE": [], "RELOAD": [], "LIBCLAMAV": []}
    for line in open(path):
        w = line.split()
        if w and w[0] in out:
            out[w[0]].append(dict(x.split("=", 1) for x in w[1:] if "=" in x))
    return out
r = read(raw)
meta, cases, reloads, alone = r["META"], r["CASE"], r["RELOAD"], r["LIBCLAMAV"]
mib = lambda kb: int(kb) / 1024
before, bmeta = {}, {}
if before_raw:
    b = read(before_raw)
    bmeta = {k: v for d in b["META"] for k, v in d.items()}
    for d in b["CASE"]:
        before[(d["mode"], d["mb"])] = mib(d["peak_kb"]) - mib(d["idle_kb"])
    for d in b["RELOAD"]:
        before[("reload", d["mode"])] = mib(d["peak_kb"]) - mib(d["idle_kb"])
print("## Memory for large mail\n")
m = {k: v for d in meta for k, v in d.items()}
print("One message of each size (one base64 attachment of random bytes), "
      "miltergen at concurrency 1, a fresh daemon per case, the clamav limits "
      "(their defaults: max_file_size 100M, max_scan_size 400M, alert_exceeds_max yes), %s signatures, ClamAV %s; "
      "RssAnon of the daemon sampled every %s ms; commit %s, raw: `bench/results/%s`.\n"
      % (m.get("signatures", "?"), m.get("clamav", "?"), m.get("interval_ms", "?"),
         m.get("commit", "?"), name))
bcol = " delta before (%s) |" % bmeta.get("commit", "?") if before else ""
print("| mode | message | idle MiB | peak MiB | delta MiB |%s target (%d MiB) | reply | time s |"
      % (bcol, limit))
print("|---|---|---:|---:|---:|%s---|---|---:|" % ("---:|" if before else ""))
for d in cases:
    delta = mib(d["peak_kb"]) - mib(d["idle_kb"])
    bv = before.get((d["mode"], d["mb"]))
    print("| %s | %s MiB | %.0f | %.0f | **%+.0f** |%s %s | %s | %s |" % (
        d["mode"], d["mb"], mib(d["idle_kb"]), mib(d["peak_kb"]), delta,
        (" %+.0f |" % bv if bv is not None else " - |") if before else "",
        "met" if delta <= limit else "missed", d.get("reply", "").replace("_", " ").strip(),
        d["secs"]))
if alone:
    print("\nlibclamav alone on the same messages (`bench/clammem.py`: one engine, "
          "the same signatures and limits, an envelope line in front as the daemon "
          "adds; from memory the process also holds its own copy of the message):\n")
    print("| message | scanned from | mail parser | idle MiB | peak MiB | delta MiB | result |")
    print("|---|---|---|---:|---:|---:|---|")
    for d in alone:
        if "idle_kb" not in d:
            continue
        print("| %s MiB | %s | %s | %.0f | %.0f | %+.0f | %s |" % (
            d["mb"], {"fd": "descriptor", "memory": "memory"}.get(d["from"], d["from"]),
            d["mail_parser"], mib(d["idle_kb"]), mib(d["peak_kb"]),
            mib(d["peak_kb"]) - mib(d["idle_kb"]),
            "clean" if d["rc"] == "0" else "virus/limit" if d["rc"] == "1" else "rc " + d["rc"]))
if reloads:
    print("\nA signature reload (the same signatures, one file touched), "
          "no mail meanwhile:\n")
    print("| reload_mode | idle MiB | peak MiB | delta MiB |%s time s |" % bcol)
    print("|---|---:|---:|---:|%s---:|" % ("---:|" if before else ""))
    for d in reloads:
        bv = before.get(("reload", d["mode"]))
        print("| %s | %.0f | %.0f | %+.0f |%s %s |" % (d["mode"], mib(d["idle_kb"]),
              mib(d["peak_kb"]), mib(d["peak_kb"]) - mib(d["idle_kb"]),
              (" %+.0f |" % bv if bv is not None else " - |") if before else "", d["secs"]))
PY
}
markdown
echo "bigmail.sh: $RAW and $MD"
cat "$MD"
