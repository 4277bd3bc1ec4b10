#!/usr/bin/env bash
# scanmilter behind a real Postfix on loopback (t/lib/postfix.sh): clean
# mail is delivered with X-Virus-Scanned and X-Virus-Status, infected mail
# is refused at end of DATA with 550 5.7.1 and the virus name, an IPv6
# client reaches the milter as ::1, and with the milter stopped Postfix's
# default action (tempfail) answers 451.  Nothing is left in scanmilter's temporary directory.
set -u
. "$(dirname "$0")/../lib/scanmilter.sh"
. "$(dirname "$0")/../lib/postfix.sh"

plan 18
WD=$(mktemp -d /tmp/sm-pf.XXXXXX)
trap 'sm_stop; postfix_stop "$WD"; rm -rf "$WD"' EXIT
MAIL=$SM_TOP/t/data/mail

sm_start "$WD"
postfix_start "$WD" "unix:$SM_SOCK" milter_content_timeout=60s

# the reply Postfix gave after the message data (the last reply before QUIT)
data_reply() { printf '%s\n' "$1" | grep -E '^<(-|\*\*) ' | grep -v ' 221 ' | tail -n 1 | sed -E 's/^<(-|\*\*) +//'; }

# 1. clean mail: accepted, delivered, tagged
out=$(smtp_send sender@example.org rcpt@example.net "$MAIL/clean-attach.eml") || true
reply=$(data_reply "$out")
check "clean message accepted after DATA ($reply)" bash -c "[[ '$reply' == '250 2.0.0 Ok: queued as '* ]]"
if sink_wait_count 1 20; then
    msg=$(sink_last)
    hdrs=$(sink_headers "$msg")
    check "delivered message has X-Virus-Scanned" \
        bash -c "printf '%s\n' \"\$1\" | grep -Eq '^X-Virus-Scanned: scanmilter [0-9.]+ on scanner.test$'" _ "$hdrs"
    check "delivered message has X-Virus-Status: Clean" \
        bash -c "printf '%s\n' \"\$1\" | grep -qx 'X-Virus-Status: Clean'" _ "$hdrs"
    check "delivered body is the one sent (attachment intact)" \
        bash -c "grep -qF \"\$(grep -m1 -E '^[A-Za-z0-9+/]{60,}' '$MAIL/clean-attach.eml' | tr -d '\r')\" '$msg'"
else
    not_ok "clean message reached the sink"; postfix_log "$WD" | tail -20 | sed 's/^/#   /'
fi

# 2. infected mail: refused at end of DATA with the virus name
for f in eicar-attach.eml eicar-zip.eml clamexe-attach.eml eicar-oddfirstheader.eml; do
    out=$(smtp_send sender@example.org rcpt@example.net "$MAIL/$f") || true
    reply=$(data_reply "$out")
    name=$(awk -F'\t' -v f="$f" '$1 == f { print $3 }' "$MAIL/EXPECTED")
    check "$f refused: $reply" bash -c "[[ '$reply' == '550 5.7.1 Virus found: $name' ]]"
done
check "nothing infected was delivered" [ "$(sink_count)" -eq 1 ]

# 3. an IPv6 client: the milter sees ::1
if [ "$PF_IPV6" = 1 ]; then
    out=$(smtp_send -6 v6@example.org rcpt@example.net "$MAIL/eicar-plain.eml") || true
    reply=$(data_reply "$out")
    check "IPv6 client's infected mail refused ($reply)" bash -c "[[ '$reply' == '550 5.7.1 '* ]]"
    check "log shows the IPv6 client address" sm_log_has 'client=[^ ]*\[::1\], from=<v6@example.org>'
    out=$(smtp_send -6 v6@example.org rcpt@example.net "$MAIL/clean-utf8.eml") || true
    check "IPv6 client's clean mail delivered" sink_wait_count 2 20
else
    not_ok "no IPv6 loopback: cannot test an IPv6 client"
fi
check "log line carries Postfix's queue id" sm_log_has '^scanmilter: info: [0-9A-F]{6,}: client='

# 4. milter stopped: what follows shows Postfix's own default action
#    (milter_default_action = tempfail in t/lib/postfix.sh), not scanmilter
check "nothing held open or left under file_base while it runs" sm_tmp_empty
check "scanmilter stops cleanly on SIGTERM" sm_stop
check "no temporary file left under file_base" sm_tmp_empty
before=$(sink_count)
out=$(smtp_send sender@example.org rcpt@example.net "$MAIL/clean-plain.eml") || true
check "milter down, MTA's default action (milter_default_action = tempfail): Postfix answers 451 4.7.1" \
    bash -c "printf '%s\n' \"\$1\" | grep -Eq '^<\*\* +451 4.7.1 '" _ "$out"
sleep 1
check "milter down, MTA's default action: Postfix delivers nothing" [ "$(sink_count)" -eq "$before" ]
finish
