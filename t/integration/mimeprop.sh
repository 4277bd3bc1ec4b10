#!/usr/bin/env bash
# The safety property of MIME decomposition, through `scanmilter scan` with
# real libclamav and the test signatures: decomposition never catches less
# than whole-message scanning.  t/mime-diff/prop.py generates a fixed,
# reproducible set of mutated messages (boundary and Content-Type parameter
# syntax, duplicate headers, transfer-encoding values, nesting, delimiter
# junk, missing and extra close delimiters, bare CRs), each with an encoded
# EICAR in every leaf any reading makes, and asserts
#   - mime_decompose + detect_bypass refuses every message some reader
#     (Python's email, libclamav whole, our decomposition) finds it in;
#   - mime_decompose alone is never clean where whole-message is infected;
#   - messages of legal syntax only are found by decomposition and never
#     called a bypass.
# MIMEPROP_COUNT / MIMEPROP_SEED change the run (a long run by hand:
# MIMEPROP_COUNT=50000 MIMEPROP_SEED=7 bash t/integration/mimeprop.sh).
set -u
. "$(dirname "$0")/../lib/scanmilter.sh"

count=${MIMEPROP_COUNT:-2500} seed=${MIMEPROP_SEED:-1}
WD=$(mktemp -d /tmp/sm-mimeprop.XXXXXX)
trap '[ -n "${KEEP:-}" ] || rm -rf "$WD"' EXIT
start=$(date +%s)
out=$(nice python3 "$SM_TOP/t/mime-diff/prop.py" --scanmilter "$SCANMILTER" \
    --sigs "$SM_TOP/t/data/sigs" --count "$count" --seed "$seed" --show 5 \
    ${KEEP:+--keep "$WD/msg"} 2>&1); rc=$?
printf '%s\n' "$out" | sed 's/^/# /'
summary=$(grep '^mimeprop:' <<<"$out")
check "decomposition never catches less than whole-message scanning, $count generated messages ($((  $(date +%s) - start )) s): ${summary#mimeprop: }" [ "$rc" = 0 ]
finish
