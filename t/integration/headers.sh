#!/usr/bin/env bash
# No text we add to a message can start a header of its own.  The host
# name (from the config), an antivirus engine's virus name and an
# anti-spam engine's verdict words carry CR, LF, tab and other control
# bytes; through a real Postfix and a real Sendmail to smtp-sink, the
# delivered message has each of our headers on one line, no injected
# header (not even folded into ours), no control byte.
set -u
. "$(dirname "$0")/../lib/scanmilter.sh"
. "$(dirname "$0")/../lib/postfix.sh"
. "$(dirname "$0")/../lib/sendmail.sh"

WD=$(mktemp -d /tmp/sm-hdr.XXXXXX)
trap 'sm_stop; postfix_stop "$WD"; sendmail_stop "$WD/sm"; [ -n "${KEEP:-}" ] || rm -rf "$WD"' EXIT
chmod 755 "$WD"
mkdir -p "$WD/run" "$WD/tmp"
chmod 755 "$WD/run"

# raw CR, VT, ESC, DEL bytes in strings (the config grammar takes any
# byte but NUL inside quotes; \n and \t are its escapes)
CR=$'\r' VT=$'\v' ESC=$'\e' DEL=$'\x7f'
SM_CONF=$WD/scanmilter.conf SM_LOG=$WD/scanmilter.log SM_SOCK=$WD/run/scanmilter.sock
SM_TMP=$WD/tmp
cat >"$SM_CONF" <<CONF
milter {
  listen = "unix:$SM_SOCK"
  socket_mode = 0666
  file_base = "$WD/tmp"
  hostname = "scanner.test$CR\nX-Injected-Host: yes$VT"
  log_level = debug
}
antivirus "antivirus1" {
  action = "pass"
  test "t1" { verdict = infected  name = "Test.Virus$CR\nX-Injected-Virus: yes$ESC" }
}
antispam "spam1" {
  action = "pass"
  verdict_header = yes
  test "t2" { verdict = infected  name = "Spam (score 9: evil)$CR\nX-Injected-Spam: yes\t$DEL" }
}
control { listen = "unix:$WD/run/control.sock" }
CONF
"$SCANMILTER_TEST" -f -c "$SM_CONF" 2>>"$SM_LOG" </dev/null &
SM_PID=$!
export SM_CONF SM_LOG SM_SOCK SM_PID SM_TMP
if ! wait_for_socket "$SM_SOCK" 20; then
    cat "$SM_LOG" >&2
    fail "scanmilter did not open $SM_SOCK"
fi
# MTA: the message went through; check what it delivered
delivered_ok() {
    local mta=$1 msg hdrs ours
    if ! sink_wait_count 1 30; then
        not_ok "$mta: the message reached the sink"
        return
    fi
    msg=$(sink_last)
    hdrs=$(sink_headers "$msg")
    printf '%s\n' "$hdrs" | sed -n '/^X-Virus-Scanned:/,$p' | cat -A | sed "s/^/#   $mta: /" >&2
    # our headers are the last ones: from X-Virus-Scanned to the body
    ours=$(printf '%s\n' "$hdrs" | tr -d '\r' | sed -n '/^X-Virus-Scanned:/,$p')
    check "$mta: no injected header, not even as a folded line" \
        bash -c "! printf '%s\n' \"\$1\" | grep -Eqi '^[[:space:]]*X-Injected'" _ "$hdrs"
    check "$mta: X-Virus-Scanned is one line, the host name's control bytes blanked" \
        bash -c "printf '%s\n' \"\$1\" | grep -Eqx 'X-Virus-Scanned: scanmilter [0-9.]+ on scanner.test  X-Injected-Host: yes '" _ "$ours"
    check "$mta: X-Virus-Status is one line with the virus name's bytes blanked" \
        bash -c "printf '%s\n' \"\$1\" | grep -Fqx 'X-Virus-Status: Infected (Test.Virus  X-Injected-Virus: yes )'" _ "$ours"
    check "$mta: the anti-spam verdict is one line, its control bytes blanked" \
        bash -c "printf '%s\n' \"\$1\" | grep -Fqx 'X-Spam-Verdict: Spam (score 9: evil)  X-Injected-Spam: yes  '" _ "$ours"
    check "$mta: X-Spam-Status is one line, the rule names' control bytes blanked" \
        bash -c "printf '%s\n' \"\$1\" | grep -Fqx 'X-Spam-Status: Yes, score=9.0 tests=evil'" _ "$ours"
    check "$mta: our seven headers are seven lines without a control byte" \
        bash -c "[ \$(printf '%s\n' \"\$1\" | wc -l) = 7 ] && ! printf '%s\n' \"\$1\" | LC_ALL=C grep -q '[[:cntrl:]]'" _ "$ours"
}

# 1. Postfix (which folds a value's LF into a continuation line)
postfix_start "$WD" "unix:$SM_SOCK" milter_content_timeout=60s
out=$(smtp_send sender@example.org rcpt@example.net "$SM_TOP/t/data/mail/clean-plain.eml") || true
check "postfix: message accepted (action pass)" \
    bash -c "printf '%s\n' \"\$1\" | grep -Eq '^<- +250 2.0.0 Ok: queued'" _ "$out"
delivered_ok postfix
postfix_stop "$WD"

# 2. Sendmail
mkdir -p "$WD/sm"; chmod 755 "$WD/sm"
sendmail_start "$WD/sm" "$SM_SOCK"
out=$(smtp_send -p "$SM_PORT" sender@example.org rcpt@example.net "$SM_TOP/t/data/mail/clean-plain.eml") || true
check "sendmail: message accepted (action pass)" \
    bash -c "printf '%s\n' \"\$1\" | grep -Eq '^<- +250 2.0.0 .*accepted'" _ "$out"
delivered_ok sendmail
check "scanmilter stops cleanly" sm_stop
finish
