#!/usr/bin/env bash
# soak.sh - `make soak`: the daemon under load and faults for a bounded time
# (bench/soak.py says what runs and what is checked).  Runs it niced, in a
# private mount namespace (file_base is a small tmpfs mounted there), and
# prints the table; exit 0 if every check passed.
#
#   SOAK_MESSAGES   messages miltergen sends (default 100000)
#   SOAK_SECONDS    no new message after this many seconds (default 2400)
#   SOAK_CONCURRENCY  (default 32)    SOAK_SEED  (default 1)
#   SOAK_CORPUS     corpus files (bench/mkcorpus.py; default 1000)
#   SOAK_FAULT_EVERY  mean seconds between faults (default 0.7)
#   SOAK_MIN_FAULTS   each fault kind at least this often (default 20)
#   SOAK_DAEMON     the daemon (default build/t/scanmilter-test: the
#                   optimised daemon with the test engine, for scans that
#                   hang); a sanitizer build needs SOAK_ASAN=1 (no RSS check)
#   SOAK_WORKDIR    (default /tmp/scanmilter-soak; the corpus is kept)
#   SOAK_REPORT     also write the table to this file
#   SOAK_MALLOC_EVERY  s between malloc_stats() samples when gdb is there (60)
#   SOAK_ARGS       more bench/soak.py options (e.g. --arena-max 2)
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$HERE/.." && pwd)
BUILD=${BUILD:-$TOP/build}
daemon=${SOAK_DAEMON:-$BUILD/t/scanmilter-test}
args=(--daemon "$daemon" --ctl "${SOAK_CTL:-$BUILD/src/scanmilterctl}"
	--miltergen "${MILTERGEN:-$BUILD/bench/miltergen}"
	--workdir "${SOAK_WORKDIR:-/tmp/scanmilter-soak}"
	--messages "${SOAK_MESSAGES:-100000}" --seconds "${SOAK_SECONDS:-2400}"
	--concurrency "${SOAK_CONCURRENCY:-32}" --seed "${SOAK_SEED:-1}"
	--corpus-count "${SOAK_CORPUS:-1000}" --fault-every "${SOAK_FAULT_EVERY:-0.7}"
	--min-faults "${SOAK_MIN_FAULTS:-20}")
# malloc_stats() of the daemon now and then, when gdb is there
if command -v gdb >/dev/null && [ -z "${SOAK_ASAN:-}" ]; then
	args+=(--malloc-every "${SOAK_MALLOC_EVERY:-60}")
fi
[ -z "${SOAK_ASAN:-}" ] || args+=(--asan)
[ -z "${SOAK_REPORT:-}" ] || args+=(--report "$SOAK_REPORT")
# shellcheck disable=SC2206
[ -z "${SOAK_ARGS:-}" ] || args+=($SOAK_ARGS)
for p in unshare python3 sigtool; do
	command -v "$p" >/dev/null || { echo "soak.sh: no $p" >&2; exit 2; }
done
[ -f /usr/share/clamav-testfiles/clam.exe ] ||
	{ echo "soak.sh: no clamav-testfiles (make bench-deps)" >&2; exit 2; }
exec nice unshare --mount --propagation private python3 "$HERE/soak.py" "${args[@]}"
