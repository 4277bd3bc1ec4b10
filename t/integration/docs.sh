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
plan 20
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
        skip "$name: mandoc -T lint (mandoc not installed: make deps)"
    fi
done

# a staged `make install`: each page lands in its section under mandir, as
# shipped, and man finds it there by name
BUILD=$(cd "$(dirname "$SCANMILTER")/.." && pwd)
mandir=$(printf 'print-mandir:\n\t@echo $(mandir)\n' | make -s -C "$BUILD" -f Makefile -f - print-mandir)
if make -C "$BUILD" install DESTDIR="$WD/stage" >"$WD/install.log" 2>&1; then
    ok "make install DESTDIR=... stages the build"
else
    tail -n 20 "$WD/install.log" | sed 's/^/#   /'
    not_ok "make install DESTDIR=... stages the build"
fi
for page in $PAGES; do
    name=$(basename "$page") sec=${page##*.}
    check "$name: installed as $mandir/man$sec/$name, as shipped" \
        cmp -s "$page" "$WD/stage$mandir/man$sec/$name"
    check "$name: man finds it by name in the staged tree" bash -c \
        "[ \"\$(MANPATH= man -M '$WD/stage$mandir' -w $sec '${name%.*}' 2>/dev/null)\" = '$WD/stage$mandir/man$sec/$name' ]"
done
finish
