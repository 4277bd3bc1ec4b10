#!/usr/bin/env bash
# The man pages: scanmilter.conf(5) is what man/gen-conf5.sh makes from the
# option tables (so a new or changed option cannot be left out of it), it
# documents every option `scanmilter options` lists, and every page renders
# without a warning from groff -ww, man -l and mandoc -T lint.
set -u
. "$(dirname "$0")/../lib/common.sh"

TOP=$(cd "$(dirname "$0")/../.." && pwd)
SCANMILTER=${SCANMILTER:-$TOP/build/src/scanmilter}
[ -x "$SCANMILTER" ] || fail "no $SCANMILTER (make all first)"
WD=$(mktemp -d /tmp/sm-docs.XXXXXX)
trap 'rm -rf "$WD"' EXIT
PAGES="$TOP/man/scanmilter.8 $TOP/man/scanmilter.conf.5 $TOP/man/scanmilterctl.8"

check "man/gen-conf5.sh runs" bash -c "'$TOP/man/gen-conf5.sh' '$SCANMILTER' >'$WD/conf.5'"
if diff -u "$TOP/man/scanmilter.conf.5" "$WD/conf.5" >"$WD/diff"; then
    ok "man/scanmilter.conf.5 is what gen-conf5.sh makes from the option tables"
else
    sed 's/^/#   /' "$WD/diff" | head -40
    not_ok "man/scanmilter.conf.5 is stale: run man/gen-conf5.sh build/src/scanmilter >man/scanmilter.conf.5"
fi

missing=0
while IFS=$'\t' read -r scope opt _; do
    case $scope in '#'*) continue ;; esac
    grep -q "^\.BR $opt " "$TOP/man/scanmilter.conf.5" || {
        log "not in scanmilter.conf(5): $scope $opt"; missing=$((missing + 1)); }
done < <("$SCANMILTER" options)
check "every option of 'scanmilter options' is in scanmilter.conf(5)" [ "$missing" = 0 ]
check "scanmilter.conf(5) has no option count mismatch" bash -c \
    "[ \$('$SCANMILTER' options | grep -vc '^#') = \$(grep -c '^\.BR [a-z_]* \" (' '$TOP/man/scanmilter.conf.5') ]"

for page in $PAGES; do
    name=$(basename "$page")
    check "$name: groff -ww renders without warnings" bash -c \
        "out=\$(groff -ww -man -Tutf8 '$page' 2>&1 >/dev/null); [ -z \"\$out\" ] || { echo \"\$out\" >&2; false; }"
    check "$name: man -l renders without warnings" bash -c \
        "out=\$(MANWIDTH=80 man -l '$page' 2>&1 >/dev/null); [ -z \"\$out\" ] || { echo \"\$out\" >&2; false; }"
    if command -v mandoc >/dev/null; then
        check "$name: mandoc -T lint is silent" bash -c \
            "out=\$(mandoc -T lint '$page' 2>&1); [ -z \"\$out\" ] || { echo \"\$out\" >&2; false; }"
    else
        log "mandoc not installed (make deps): lint skipped for $name"
    fi
done
check "the man pages are installed by make install (dist_man_MANS)" bash -c \
    "grep -q '^dist_man_MANS = man/scanmilter.8 man/scanmilter.conf.5 man/scanmilterctl.8' '$TOP/Makefile.am'"
finish
