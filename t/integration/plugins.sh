#!/usr/bin/env bash
# Third-party engines as shared objects: the template engine
# (engines/template, built against engine.h only) loaded with
# engine "template" { module = … } scans mail through the real daemon, and
# with decoded = yes reads the message's MIME parts the daemon offers
# (base64 undone); an engine built for ABI 2 still loads and scans; an
# engine built for another ABI, a missing module, a module writable by
# others and a file that is not an engine are refused with the file named;
# a reload naming a module that does not load is refused, the running
# configuration kept.
set -u
. "$(dirname "$0")/../lib/scanmilter.sh"

BUILD=${BUILD_DIR:-$(dirname "$SCANMILTER")/..}
SO=$BUILD/engines/template/template.so
BAD=$BUILD/t/engines/badabi.so
ABI2=$BUILD/t/engines/abi2.so
[ -f "$SO" ] || fail "no $SO (make all first)"
WD=$(mktemp -d /tmp/sm-plug.XXXXXX)
trap 'sm_stop; rm -rf "$WD"' EXIT
mkdir -p "$WD/tmp" "$WD/m"
cp "$SO" "$WD/template.so"; chmod 755 "$WD/template.so"
cp "$ABI2" "$WD/abi2.so"; chmod 755 "$WD/abi2.so"

printf 'Subject: t\r\n\r\nthis carries BAD-STUFF-42 inside\r\n' >"$WD/m/bad.eml"
printf 'Subject: t\r\n\r\nnothing to see\r\n' >"$WD/m/good.eml"
printf 'Subject: t\r\n\r\nthis carries ABI2-STUFF inside\r\n' >"$WD/m/old.eml"
# HIDDEN-STUFF-7 in base64: only a reader of the decoded parts sees it
printf 'Subject: t\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\ndGhpcyBoaWRlcyBISURERU4tU1RVRkYtNyBpbnNpZGUNCg==\r\n' >"$WD/m/hidden.eml"

SM_AV='antivirus "antivirus1" {
  template "t1" { needle = "BAD-STUFF-42"  name = "Template.Test" }
  abi2 "old1" { }
  clamav "clamav1" { database_directory = "'"$SM_TOP/t/data/sigs"'" }
}
antivirus "antivirus2" {
  mime_decompose = no
  template "t2" { needle = "HIDDEN-STUFF-7"  name = "Template.Decoded"  decoded = yes }
}' sm_start "$WD/a" "engine \"template\" { module = \"$WD/template.so\" }
engine \"abi2\" { module = \"$WD/abi2.so\" }"
check "the daemon started with the template engine" sm_log_has 'template engine "t1" looks for 12 bytes'
timeout 30 "$MILTERGEN" -s "unix:$SM_SOCK" -c 1 -n 4 -o "$WD/plug.csv" "$WD/m" >/dev/null
check "an engine built for ABI 2 loads and scans: Abi2.Test" \
    grep -q 'old.eml.*550 5.7.1 Virus found: Abi2.Test' "$WD/plug.csv"
check "a plug-in reads the decoded parts (decoded = yes): Template.Decoded" \
    grep -q 'hidden.eml.*550 5.7.1 Virus found: Template.Decoded' "$WD/plug.csv"
check "the plug-in's detection rejects: 550 5.7.1 Virus found: Template.Test" \
    grep -q '550 5.7.1 Virus found: Template.Test' "$WD/plug.csv"
check "clean mail passes both engines" grep -q 'good.eml.*,accept,' "$WD/plug.csv"
timeout 30 "$MILTERGEN" -s "unix:$SM_SOCK" -c 1 -n 1 -o "$WD/eicar.csv" "$SM_TOP/t/data/mail/eicar-plain.eml" >/dev/null
check "the built-in engine still works beside it" grep -q 'Scanmilter.Test.EICAR' "$WD/eicar.csv"
kill -HUP "$SM_PID"
check "reload with the plug-in loaded" wait_until 5 sm_log_has 'reload \(SIGHUP\): configuration and signatures'
# a module that does not load fails the reload (loaded with the new
# configuration, not while it is read); the running one stays
cp "$BAD" "$WD/badabi2.so"; chmod 755 "$WD/badabi2.so"
printf 'engine "badabi" { module = "%s" }\n' "$WD/badabi2.so" >>"$SM_CONF"
kill -HUP "$SM_PID"
check "a reload naming a module of another ABI is refused, naming it" \
    wait_until 10 sm_log_has "reload \\(SIGHUP\\) failed, the running configuration stays: .*engine \"badabi\": $WD/badabi2.so: engine ABI version"
timeout 30 "$MILTERGEN" -s "unix:$SM_SOCK" -c 1 -n 4 -o "$WD/plug2.csv" "$WD/m" >/dev/null
check "... and the running plug-in still rejects" grep -q '550 5.7.1 Virus found: Template.Test' "$WD/plug2.csv"
check "stopped cleanly" sm_stop

refused() {  # DESC WANT ENGINE-SCOPE
    printf '%s\nantivirus "a" { clamav "c" { database_directory = "%s" } }\n' "$3" "$SM_TOP/t/data/sigs" >"$WD/p.conf"
    out=$("$SCANMILTER" -t -c "$WD/p.conf" 2>&1); rc=$?
    if [ $rc != 0 ] && grep -qF "$2" <<<"$out"; then ok "refused: $1"
    else not_ok "refused: $1 (rc $rc: $out)"; fi
}
cp "$BAD" "$WD/badabi.so"; chmod 755 "$WD/badabi.so"
refused "another ABI version" "$WD/badabi.so: engine ABI version 44, scanmilter speaks 3 (and loads 2 to 3)" \
    "engine \"badabi\" { module = \"$WD/badabi.so\" }"
refused "a missing module" "$WD/nope.so: no such engine module" \
    "engine \"nope\" { module = \"$WD/nope.so\" }"
cp "$WD/template.so" "$WD/open.so"; chmod 777 "$WD/open.so"
refused "a module others may write" "$WD/open.so: writable by group or others: refused" \
    "engine \"template\" { module = \"$WD/open.so\" }"
printf 'not an object' >"$WD/junk.so"; chmod 755 "$WD/junk.so"
refused "a file that is no shared object" "$WD/junk.so:" \
    "engine \"junk\" { module = \"$WD/junk.so\" }"
refused "a name that differs from the engine's" "the engine calls itself 'template', the config 'other'" \
    "engine \"other\" { module = \"$WD/template.so\" }"
finish
