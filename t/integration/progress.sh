#!/usr/bin/env bash
# A scan slower than Postfix's milter_content_timeout, but within
# scanmilter's own timeout: scanmilter keeps Postfix waiting with
# smfi_progress, so the message gets its real answer instead of Postfix's
# "451 4.7.1" -- and past scanmilter's timeout the answer is its own 451.
set -u
. "$(dirname "$0")/../lib/scanmilter.sh"
. "$(dirname "$0")/../lib/postfix.sh"

plan 4
WD=$(mktemp -d /tmp/sm-prog.XXXXXX)
trap 'sm_stop; postfix_stop "$WD" 2>/dev/null; rm -rf "$WD"' EXIT
chmod 755 "$WD"
printf 'From: a@example.com\r\nTo: b@example.org\r\nSubject: slow\r\nX-Test-Delay: 6s\r\n\r\nslow scan\r\n' >"$WD/slow.eml"
printf 'From: a@example.com\r\nTo: b@example.org\r\nSubject: slower\r\nX-Test-Delay: 14s\r\n\r\nslower scan\r\n' >"$WD/slower.eml"

SM_AV='antivirus "antivirus1" { timeout = 10s  test "t1" { } }' \
    SCANMILTER=$SCANMILTER_TEST sm_start "$WD"
postfix_start "$WD" "unix:$SM_SOCK" milter_content_timeout=3s

start=$(date +%s)
out=$(smtp_send a@example.org b@example.net "$WD/slow.eml") || true
took=$(( $(date +%s) - start ))
check "a 6 s scan behind a 3 s milter_content_timeout is delivered (${took}s)" \
    bash -c "grep -Eq '^<- +250 2.0.0 Ok: queued' <<<'$out'"
check "... and really waited for the scan (>= 5 s)" [ "$took" -ge 5 ]
# Postfix says "... reply packet header: Connection timed out" (or
# "timeout") when milter_content_timeout runs out
check "Postfix saw no milter timeout" bash -c "! grep -Eiq 'milter.*(timeout|timed out)' '$PF_LOG'"

out=$(smtp_send a@example.org b@example.net "$WD/slower.eml") || true
check "a scan past scanmilter's own 10 s timeout: its 451 4.3.0, not Postfix's" \
    bash -c "grep -Eq '^<\*\* +451 4.3.0 Message scan timed out' <<<'$out'"
finish
