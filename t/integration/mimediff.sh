#!/usr/bin/env bash
# Differential test of the MIME decomposition against an independent,
# well-known parser (Python's email package): every leaf part's type, file
# name, decoded length and SHA-256 agree on the test corpus, the
# legal/real-world MIME corpus and the control corpus (t/mime-diff/run.sh;
# differences must be explained in t/mime-diff/ALLOWLIST).
set -u
. "$(dirname "$0")/../lib/common.sh"
top=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "$(dirname "${SCANMILTER:-$top/build/src/scanmilter}")/.." && pwd)
[ -x "$build/t/mime-diff/mimedump" ] || make -C "$build" t/mime-diff/mimedump >/dev/null
out=$(MIMEDUMP=$build/t/mime-diff/mimedump bash "$top/t/mime-diff/run.sh" \
    "$top/t/data/mail" "$top/t/data/mime/good" "$top/t/data/mime/control" 2>&1); rc=$?
printf '%s\n' "$out" | tail -n 1 | sed 's/^/# /'
check "scanmilter's MIME parser and Python's email agree ($(tail -n 1 <<<"$out"))" [ $rc = 0 ]
finish
