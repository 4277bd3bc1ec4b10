#!/usr/bin/env bash
# scanmilter behind a real Sendmail on loopback (t/lib/sendmail.sh: Debian's
# sendmail-bin unpacked into a private prefix, milter with F=T): clean mail
# is delivered with X-Virus-Scanned and X-Virus-Status, infected mail is
# refused at end of DATA with 550 5.7.1 and the virus name, an IPv6 client
# reaches the milter as ::1, and with the milter stopped Sendmail's default
# action for F=T answers MAIL FROM with 451 4.3.2 and delivers nothing.
# Nothing is left in scanmilter's temporary directory.
set -u
. "$(dirname "$0")/../lib/scanmilter.sh"
. "$(dirname "$0")/../lib/postfix.sh"    # smtp_send (swaks)
. "$(dirname "$0")/../lib/sendmail.sh"

plan 18
WD=$(mktemp -d /tmp/sm-sm.XXXXXX)
trap 'sm_stop; sendmail_stop "$WD"; rm -rf "$WD"' EXIT
MAIL=$SM_TOP/t/data/mail

sm_start "$WD"
sendmail_start "$WD" "$SM_SOCK"

# the reply Sendmail gave after the message data (the last reply before QUIT)
data_reply() { printf '%s\n' "$1" | grep -E '^<(-|\*\*) ' | grep -v ' 221 ' | tail -n 1 | sed -E 's/^<(-|\*\*) +//'; }
# the first error reply of a session and the command it answered ("MAIL FROM: 451 ...")
first_error() {
    printf '%s\n' "$1" | awk '/^ *-> /{ sub(/^ *-> +/, ""); sub(/:.*/, ":"); cmd = $0 }
        /^<\*\* /{ sub(/^<\*\* +/, ""); print cmd " " $0; exit }'
}
show_log() { sendmail_log "$WD" | tail -n 20 | sed 's/^/#   /'; }

# 1. clean mail: accepted, delivered, tagged
out=$(smtp_send -p "$SM_PORT" sender@example.org rcpt@example.net "$MAIL/clean-attach.eml") || true
reply=$(data_reply "$out")
check "clean message accepted after DATA ($reply)" \
    bash -c "[[ '$reply' == '250 2.0.0 '*' Message accepted for delivery' ]]"
if sink_wait_count 1 30; then
    msg=$(sink_last)
    hdrs=$(sink_headers "$msg")
    check "delivered message has X-Virus-Scanned" \
        bash -c "printf '%s\n' \"\$1\" | grep -Eq '^X-Virus-Scanned: scanmilter [0-9.]+ on scanner.test$'" _ "$hdrs"
    check "delivered message has X-Virus-Status: Clean" \
        bash -c "printf '%s\n' \"\$1\" | grep -qx 'X-Virus-Status: Clean'" _ "$hdrs"
    check "delivered body is the one sent (attachment intact)" \
        bash -c "grep -qF \"\$(grep -m1 -E '^[A-Za-z0-9+/]{60,}' '$MAIL/clean-attach.eml' | tr -d '\r')\" '$msg'"
else
    not_ok "clean message reached the sink"; show_log
fi

# 2. infected mail: refused at end of DATA with the virus name
for f in eicar-attach.eml eicar-zip.eml clamexe-attach.eml eicar-oddfirstheader.eml; do
    out=$(smtp_send -p "$SM_PORT" sender@example.org rcpt@example.net "$MAIL/$f") || true
    reply=$(data_reply "$out")
    name=$(awk -F'\t' -v f="$f" '$1 == f { print $3 }' "$MAIL/EXPECTED")
    check "$f refused: $reply" bash -c "[[ '$reply' == '550 5.7.1 Virus found: $name' ]]"
done
sleep 1
check "nothing infected was delivered" [ "$(sink_count)" -eq 1 ]
check "log line carries Sendmail's queue id" \
    sm_log_has '^scanmilter: info: [0-9A-Za-z]{14}: client='

# 3. an IPv6 client: the milter sees ::1
if [ "$SM_IPV6" = 1 ]; then
    out=$(smtp_send -6 -p "$SM_PORT" v6@example.org rcpt@example.net "$MAIL/eicar-plain.eml") || true
    reply=$(data_reply "$out")
    check "IPv6 client's infected mail refused ($reply)" bash -c "[[ '$reply' == '550 5.7.1 '* ]]"
    check "log shows the IPv6 client address" sm_log_has 'client=[^ ]*\[::1\], from=<v6@example.org>'
    out=$(smtp_send -6 -p "$SM_PORT" v6@example.org rcpt@example.net "$MAIL/clean-utf8.eml") || true
    check "IPv6 client's clean mail delivered" sink_wait_count 2 30
else
    not_ok "no IPv6 loopback: cannot test an IPv6 client"
fi

# 4. milter stopped: what follows shows Sendmail's own default action for
#    a milter with F=T (t/lib/sendmail.sh), not scanmilter
check "nothing held open or left under file_base while it runs" sm_tmp_empty
check "scanmilter stops cleanly on SIGTERM" sm_stop
check "no temporary file left under file_base" sm_tmp_empty
before=$(sink_count)
out=$(smtp_send -p "$SM_PORT" sender@example.org rcpt@example.net "$MAIL/clean-plain.eml") || true
reply=$(first_error "$out")
check "milter down, MTA's default action (F=T): Sendmail answers 451 4.3.2 at MAIL FROM ($reply)" \
    bash -c "[[ '$reply' == 'MAIL FROM: 451 4.3.2 '* ]]"
sleep 1
check "milter down, MTA's default action: Sendmail delivers nothing" [ "$(sink_count)" -eq "$before" ]
finish
