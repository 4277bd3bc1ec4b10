#!/usr/bin/env bash
# Command-line conventions: --help and --version answer on stdout with
# status 0; an unknown option is a usage error (status 2) on stderr.
set -u
. "$(dirname "$0")/../lib/scanmilter.sh"

WD=$(mktemp -d /tmp/sm-usage.XXXXXX)
trap 'rm -rf "$WD"' EXIT

for opt in --help -h; do
    "$SCANMILTER" $opt >"$WD/out" 2>"$WD/err"
    check "scanmilter $opt: status 0" [ $? -eq 0 ]
    check "scanmilter $opt: usage on stdout, nothing on stderr" \
        bash -c "grep -q '^usage: scanmilter' '$WD/out' && [ ! -s '$WD/err' ]"
done
for opt in --version -V; do
    "$SCANMILTER" $opt >"$WD/out" 2>"$WD/err"
    check "scanmilter $opt: status 0" [ $? -eq 0 ]
    check "scanmilter $opt: 'scanmilter VERSION' on stdout" grep -qE '^scanmilter [0-9]+\.[0-9]+' "$WD/out"
done
"$SCANMILTER" --no-such-option >"$WD/out" 2>"$WD/err"
check "scanmilter --no-such-option: status 2" [ $? -eq 2 ]
check "scanmilter --no-such-option: usage on stderr only" \
    bash -c "grep -q '^usage: scanmilter' '$WD/err' && [ ! -s '$WD/out' ]"

finish
