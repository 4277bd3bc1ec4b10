#!/usr/bin/env bash
# ambiguity.sh - how often MIME decomposition (mime_decompose = yes) must
# also scan a message whole because the parser found something two MIME
# readers could read differently (any anomaly: the daemon's rule), on the
# bench corpus's legitimate mail.  The parser is run as the daemon runs it
# (mime_parse() with the default limits, through t/mime-diff/mimedump -a)
# on every message; prints a Markdown section for bench/RESULTS.md.
#
#   bench/ambiguity.sh [CORPUS_DIR...]
#
# CORPUS_DIR: a bench corpus (MANIFEST and its messages); default: the one
# bench/run.sh uses, WORKDIR/corpus-COUNT (made with mkcorpus.py --count
# COUNT --seed 1 if missing).  The repository's legitimate mail is always
# counted too (t/data/mime/control: legal but unusual constructs,
# t/data/mime/good, t/data/mail/clean-*): it must flag none.
# Environment: WORKDIR (default /dev/shm/scanmilter-bench), COUNT (2000),
# BUILD (build/), TESTFILES (/usr/share/clamav-testfiles).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/.." && pwd)
BUILD=${BUILD:-$TOP/build}
MIMEDUMP=$BUILD/t/mime-diff/mimedump
COUNT=${COUNT:-2000}
W=${WORKDIR:-/dev/shm/scanmilter-bench}
TESTFILES=${TESTFILES:-/usr/share/clamav-testfiles}

[ -x "$MIMEDUMP" ] || make -C "$BUILD" t/mime-diff/mimedump >/dev/null
corpora=("$@")
if [ ${#corpora[@]} -eq 0 ]; then
	c=$W/corpus-$COUNT
	if [ ! -f "$c/MANIFEST" ]; then
		mkdir -p "$W"
		rm -rf "$c.tmp"
		python3 "$HERE/mkcorpus.py" "$c.tmp" --count "$COUNT" --seed 1 \
		    --testfiles "$TESTFILES" >&2
		mv "$c.tmp" "$c"
	fi
	corpora=("$c")
fi

# one line per message: "PATH: none" or "PATH: NAME... (first reason)"
findings() {	# DIR FILE...
	local d=$1
	shift
	(cd "$d" && printf '%s\0' "$@" | xargs -0 -n 200 "$MIMEDUMP" -a \
	    2>&1 >/dev/null)
}

echo "## MIME ambiguity on legitimate mail"
echo
echo "\`bench/ambiguity.sh\`: the MIME parser run on every message as the daemon runs it"
echo "(\`mime_parse()\`, default limits); a message with any finding is scanned whole as well"
echo "when \`mime_decompose = yes\` (decomposition may only add detections). Target: at most"
echo "1% of the legitimate (clean) messages."
echo
echo "| corpus | messages | scanned whole too | share | findings |"
echo "|---|---:|---:|---:|---|"
for c in "${corpora[@]}"; do
	mapfile -t clean < <(awk -F'\t' '$3 == "clean" { print $1 }' "$c/MANIFEST")
	mapfile -t infected < <(awk -F'\t' '$3 == "infected" { print $1 }' "$c/MANIFEST")
	for set in clean infected; do
		declare -n files=$set
		[ ${#files[@]} -gt 0 ] || continue
		findings "$c" "${files[@]}" | awk -v name="$(basename "$c") ($set)" '
		    { n++ }
		    $2 != "none" {
			f++
			r = $0; sub(/^[^(]*\(/, "", r); sub(/\)$/, "", r); why[r]++
		    }
		    END {
			s = ""
			for (r in why) s = s (s == "" ? "" : "; ") r " (" why[r] ")"
			printf "| %s | %d | %d | %.2f%% | %s |\n", name, n, f,
			    n ? 100 * f / n : 0, s == "" ? "none" : s
		    }'
		unset -n files
	done
done
# the repository's own legitimate mail: every message must pass unflagged
fixed() {	# DIR GLOB LABEL
	local files
	mapfile -t files < <(cd "$TOP/$1" && ls $2)
	findings "$TOP/$1" "${files[@]}" | awk -v name="$1/$2 ($3)" '
	    { n++ } $2 != "none" { f++; l = l (l == "" ? "" : "; ") $0 }
	    END { printf "| %s | %d | %d | %.2f%% | %s |\n", name, n, f,
		  n ? 100 * f / n : 0, l == "" ? "none" : l }'
}
fixed t/data/mime/control '*.eml' "legal but unusual"
fixed t/data/mime/good '*.eml' "the parser's well-formed cases"
fixed t/data/mail 'clean-*.eml' "the daemon tests' clean mail"
