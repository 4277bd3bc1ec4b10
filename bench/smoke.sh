#!/bin/sh
# smoke.sh - build the bench tools and run each once on a small corpus:
# rawscan (1 and 2 threads), nullmilter and clamav-milter+clamd under
# miltergen at concurrency 1 and 8, checking that every message the MANIFEST
# calls infected is rejected and no other one is.
#
#   smoke.sh [WORKDIR [COUNT]]    (default /dev/shm/scanmilter-bench, 200)
#
# WORKDIR holds the corpus, the database, sockets and temporary files; the
# default is on tmpfs so that libclamav's temporary files cost the same in
# every run. clamd is restarted before each clamav-milter run so that its
# clean-file cache starts empty. Bounded: each miltergen run has -T 600.
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
W=${1:-/dev/shm/scanmilter-bench}
COUNT=${2:-200}
NPID=

cleanup() {
	[ -n "$NPID" ] && kill "$NPID" 2>/dev/null || true
	"$HERE/clamav-milter.sh" stop "$W/clamav" >/dev/null 2>&1 || true
}
trap cleanup EXIT INT TERM

# check_verdicts CSV: rejects must be exactly the MANIFEST's infected files.
check_verdicts() {
	awk -F'\t' 'NR == FNR { want[$1] = $3; next }
		FNR > 1 { gsub(/"/, "", $0); split($0, f, ","); n = split(f[1], p, "/");
			  name = p[n]; got = (f[4] == "reject") ? "infected" : "clean";
			  if (f[4] != "reject" && f[4] != "accept" && f[4] != "continue") bad++;
			  else if (want[name] != got) { bad++; print "MISMATCH " name " " want[name] " " f[4] } }
		END { if (bad) { print bad " verdict(s) differ from MANIFEST"; exit 1 }
		      print "verdicts match MANIFEST" }' FS='\t' "$W/corpus/MANIFEST" FS=',' "$1"
}

make -C "$HERE" -s
mkdir -p "$W"
[ -f "$W/corpus/MANIFEST" ] || python3 "$HERE/mkcorpus.py" "$W/corpus" --count "$COUNT" --seed 1
[ -f "$W/db/bulk.hdb" ] || python3 "$HERE/mksigs.py" "$W/db"
N=$(grep -c . "$W/corpus/MANIFEST")
INF=$(awk -F'\t' '$3 == "infected"' "$W/corpus/MANIFEST" | wc -l)
echo "== corpus $N messages, $INF infected; clamscan database load:"
/usr/bin/time -f "clamscan on one file incl. database load: %e s, %M KB" \
	clamscan --no-summary --database="$W/db" "$W/corpus/MANIFEST" >/dev/null

for j in 1 2; do
	echo "== rawscan -j $j"
	"$HERE/rawscan" -j "$j" -t "$W" "$W/db" "$W/corpus" | tail -4
done

echo "== nullmilter"
rm -f "$W/null.sock"
"$HERE/nullmilter" -p "unix:$W/null.sock" > "$W/nullmilter.out" 2>&1 &
NPID=$!
i=0; while [ ! -S "$W/null.sock" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
for c in 1 8; do
	"$HERE/miltergen" -s "unix:$W/null.sock" -c $c -n "$N" -T 600 "$W/corpus" | grep RESULT
done
kill "$NPID"; wait "$NPID" || true; NPID=
cat "$W/nullmilter.out"

for c in 1 8; do
	echo "== clamav-milter + clamd, concurrency $c (fresh clamd)"
	"$HERE/clamav-milter.sh" stop "$W/clamav" >/dev/null
	SOCK=$("$HERE/clamav-milter.sh" start "$W/clamav" "$W/db")
	"$HERE/miltergen" -s "$SOCK" -c $c -n "$N" -T 600 -o "$W/clamav-c$c.csv" "$W/corpus" | grep RESULT
	check_verdicts "$W/clamav-c$c.csv"
done
