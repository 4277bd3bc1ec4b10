#!/usr/bin/env bash
# run.sh DIR... - differential test of the MIME decomposition: every .eml
# under each DIR is decomposed by scanmilter's parser (mimedump) and by
# Python's email package (pydump.py); both print one line per leaf part
# (depth, type, file name, decoded length, SHA-256).  A file whose lines
# differ fails unless t/mime-diff/ALLOWLIST explains it.  Exits 0 only if
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
allow = {}
for line in open(sys.argv[3], encoding="utf-8"):
    if line.strip() and not line.startswith("#"):
        name, reason = line.rstrip("\n").split("\t", 1)
        allow[name] = reason
agree = explained = failed = 0
for path in sorted(c):
    if c[path] == py.get(path):
        agree += 1
        continue
    why = next((r for n, r in allow.items() if path.endswith("/" + n) or path == n), None)
    tag = "explained" if why else "DIFFERS"
    print("%s: %s%s" % (tag, path, " (%s)" % why if why else ""))
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
