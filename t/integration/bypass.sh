#!/usr/bin/env bash
# detect_bypass through the real daemon (miltergen), behind an engine that
# finds nothing (test engine, clean), so only bypass detection can refuse:
#  - with mime_decompose = no as with yes, a message built to confuse MIME
#    readers is refused as Heuristics.Bypass.REASON, a legal one accepted;
#  - a real message past mime_max_parts is scanned whole and accepted, as
#    the README says, unless detect_bypass_limits is set: then it is
#    refused as Heuristics.Bypass.LIMIT (the option read again on reload).
set -u
. "$(dirname "$0")/../lib/scanmilter.sh"

SCANMILTER=${SCANMILTER_TEST_PLAIN:-$SM_TOP/build/t/scanmilter-test}
CTL=${SCANMILTERCTL:-$SM_TOP/build/src/scanmilterctl}
[ -x "$SCANMILTER" ] || fail "no $SCANMILTER"
sm_need_built "$MILTERGEN"
plan 12
WD=$(mktemp -d /tmp/sm-bypass.XXXXXX)
trap 'sm_stop; [ -n "${KEEP:-}" ] || rm -rf "$WD"' EXIT
chmod 755 "$WD"
BAD=$SM_TOP/t/data/mime/bad
GOOD=$SM_TOP/t/data/mail/clean-attach.eml

send() {  # FILE -> "accept" or the reply's code and text
    timeout 60 "$MILTERGEN" -s "unix:$SM_SOCK" -c 1 -n 1 -t 30 -o "$WD/r.csv" "$1" >/dev/null
    tail -n 1 "$WD/r.csv"
}
av() {  # DECOMPOSE LIMITS
    printf 'antivirus "antivirus1" {\n  mime_decompose = %s\n  detect_bypass = yes\n  detect_bypass_limits = %s\n  test "t1" { verdict = clean }\n}\n' "$1" "$2"
}
EXTRA='control { listen = "unix:'$WD'/d/run/control.sock"  reload_interval = 0 }'

for dec in no yes; do
    SM_AV=$(av $dec no) sm_start "$WD/d" "$EXTRA"
    r=$(send "$BAD/dup-content-type.eml")
    check "mime_decompose = $dec: two Content-Type headers refused as Heuristics.Bypass.DUP_HEADER ($r)" \
        grep -q '550 5.7.1.*Heuristics.Bypass.DUP_HEADER' <<<"$r"
    r=$(send "$BAD/boundary-reused-nested.eml")
    check "mime_decompose = $dec: a reused nested boundary refused as Heuristics.Bypass.BAD_BOUNDARY" \
        grep -q '550 5.7.1.*Heuristics.Bypass.BAD_BOUNDARY' <<<"$r"
    r=$(send "$GOOD")
    check "mime_decompose = $dec: a legal message with an attachment accepted ($r)" grep -q ',accept,' <<<"$r"
    r=$(send "$BAD/too-many-parts.eml")
    check "mime_decompose = $dec: past mime_max_parts, without detect_bypass_limits: scanned whole, accepted ($r)" \
        grep -q ',accept,' <<<"$r"
    [ $dec = yes ] || sm_stop
done
SM_AV=$(av yes yes) sm_write_conf "$WD/d" "$EXTRA" >"$SM_CONF"
check "reload with detect_bypass_limits = yes" bash -c "'$CTL' -s 'unix:$SM_CTL' reload | grep -q '^reloaded'"
r=$(send "$BAD/too-many-parts.eml")
check "detect_bypass_limits = yes: past mime_max_parts refused as Heuristics.Bypass.LIMIT ($r)" \
    grep -q '550 5.7.1.*Heuristics.Bypass.LIMIT' <<<"$r"
check "stopped cleanly" sm_stop
check "nothing left under file_base" sm_tmp_empty

finish
