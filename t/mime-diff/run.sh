#!/usr/bin/env bash
# run.sh DIR... - differential test of the MIME decomposition: every .eml
# under each DIR is decomposed by scanmilter's parser (mimedump) and by
# Python's email package (pydump.py); both print one line per leaf part
# (depth, type, file name, decoded length, SHA-256).  A file whose lines
# differ fails unless t/mime-diff/ALLOWLIST explains exactly those leaves.  Exits 0 only if
# every file agrees or is explained.
#   MIMEDUMP  the mimedump binary (default: build/t/mime-diff/mimedump)
#   PYTHON    python3
# With no DIR: t/data/mail, t/data/mime/good, t/data/mime/control and the bench corpus if present
# (/dev/shm/scanmilter-bench/corpus-*).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
mimedump=${MIMEDUMP:-$top/build/t/mime-diff/mimedump}
python=${PYTHON:-python3}
[ -x "$mimedump" ] || { echo "run.sh: no $mimedump (make check builds it)" >&2; exit 2; }
if [ $# -eq 0 ]; then
	set -- "$top/t/data/mail" "$top/t/data/mime/good" "$top/t/data/mime/control"
	for d in /dev/shm/scanmilter-bench/corpus-*; do [ -d "$d" ] && set -- "$@" "$d"; done
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for d in "$@"; do find "$d" -name '*.eml' -type f; done | sort >"$tmp/files"
[ -s "$tmp/files" ] || { echo "run.sh: no .eml files" >&2; exit 2; }
xargs -d '\n' -n 500 "$mimedump" -H <"$tmp/files" >"$tmp/c.out"
xargs -d '\n' -n 500 "$python" "$here/pydump.py" -H <"$tmp/files" >"$tmp/py.out"
"$python" - "$tmp/c.out" "$tmp/py.out" "$here/ALLOWLIST" <<'PY'
import sys

def blocks(path):
    out, cur = {}, None
    with open(path, "rb") as f:
        for line in f.read().decode("utf-8", "surrogateescape").splitlines():
            if line.startswith("== "):
                cur = line[3:]
                out[cur] = []
            else:
                out[cur].append(line)
    return out

c, py = blocks(sys.argv[1]), blocks(sys.argv[2])
allow = {}  # file -> (reason, leaves only scanmilter may have, only Python may have)
cur = None
for line in open(sys.argv[3], encoding="utf-8"):
    line = line.rstrip("\n")
    if not line.strip() or line.startswith("#"):
        continue
    if line.startswith("\t"):
        side, _, leaf = line[1:].partition(": ")
        if cur is None or side not in ("scanmilter", "python"):
            sys.exit("ALLOWLIST: bad line %r" % line)
        allow[cur][1 if side == "scanmilter" else 2].append(leaf)
    else:
        cur, reason = line.split("\t", 1)
        allow[cur] = (reason, [], [])


def without(leaves, drop):
    """leaves less one of each in drop, or None if one of them is missing"""
    rest = list(leaves)
    for d in drop:
        if d not in rest:
            return None
        rest.remove(d)
    return rest


agree = explained = failed = 0
for path in sorted(c):
    if c[path] == py.get(path):
        agree += 1
        continue
    entry = next((e for n, e in allow.items() if path.endswith("/" + n) or path == n), None)
    why = None
    if entry:
        rc, rp = without(c[path], entry[1]), without(py.get(path, []), entry[2])
        if rc is not None and rp is not None and rc == rp:
            why = entry[0]
    tag = "explained" if why else "DIFFERS"
    print("%s: %s%s" % (tag, path, " (%s)" % why if why else
                         " (ALLOWLIST names other differences)" if entry else ""))
    for l in c[path]:
        if l not in py.get(path, []):
            print("  scanmilter: " + l)
    for l in py.get(path, []):
        if l not in c[path]:
            print("  python:     " + l)
    if why:
        explained += 1
    else:
        failed += 1
print("mime-diff: %d files, %d agree, %d explained, %d differ" %
      (len(c), agree, explained, failed))
sys.exit(1 if failed or len(c) != len(py) else 0)
PY
