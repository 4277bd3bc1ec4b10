#!/bin/bash
# t/lib/selftest-harness.sh - prove the MTA harness works, with Debian's clamav-milter + clamd
# as the milter under test.  Also the reference for how scanmilter's integration tests look.
#
#   sudo t/lib/selftest-harness.sh          (root; needs clamav clamav-daemon clamav-milter
#                                            postfix swaks libio-socket-inet6-perl; m4 and the
#                                            Debian archive, or a filled $SM_CACHE, for Sendmail)
# Env: KEEP=1        keep the work directory (also kept automatically when a check failed)
#      SKIP_SENDMAIL=1  run the Postfix part only
#      SM_CACHE=DIR  where the sendmail .debs are cached (see t/lib/sendmail.sh)
#
# Checks, through a real Postfix (and Sendmail) on loopback:
#   clean message -> 250 and delivered to the sink with clamav-milter's X-Virus-Scanned header
#   EICAR message -> 5xx after DATA, nothing delivered
#   milter killed -> Postfix 451 4.7.1 / Sendmail 451 4.3.2
# Exit 0 only if every check passed.  Every wait is bounded.
set -u

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/common.sh"
. "$here/postfix.sh"
have_sendmail_lib=0
if [ "${SKIP_SENDMAIL:-0}" != 1 ] && [ -f "$here/sendmail.sh" ]; then
    . "$here/sendmail.sh"; have_sendmail_lib=1
fi

[ "$(id -u)" = 0 ] || fail "run as root"
for c in clamd clamav-milter sigtool swaks postfix smtp-sink; do
    command -v "$c" >/dev/null || fail "$c not found"
done

T0=$(_now_ms)
WD=$(mktemp -d /tmp/scanmilter-selftest.XXXXXX) || fail "mktemp"
chmod 755 "$WD"
CLAMD_PID='' MILTER_PID=''

cleanup() {
    local rc=$?
    [ -n "$MILTER_PID" ] && { kill "$MILTER_PID" 2>/dev/null; wait_for_pid_gone "$MILTER_PID" 5 || kill -9 "$MILTER_PID" 2>/dev/null; }
    [ -n "$CLAMD_PID" ] && { kill "$CLAMD_PID" 2>/dev/null; wait_for_pid_gone "$CLAMD_PID" 5 || kill -9 "$CLAMD_PID" 2>/dev/null; }
    postfix_stop "$WD/pf" 2>/dev/null
    [ "$have_sendmail_lib" = 1 ] && sendmail_stop "$WD/sm" 2>/dev/null
    if [ "${KEEP:-0}" = 1 ] || [ "$T_FAIL" -gt 0 ] || [ "$rc" -ne 0 ]; then
        log "work directory kept: $WD"
    else
        rm -rf "$WD"
    fi
}
trap cleanup EXIT
trap 'exit 129' HUP; trap 'exit 130' INT; trap 'exit 143' TERM

# --- test data: EICAR built from two halves so this file itself is not "infected" -------------
EICAR='X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD'
EICAR=$EICAR'-ANTIVIRUS-TEST-FILE!$H+H*'
mkdir -p "$WD/db" "$WD/clamd" "$WD/milter" "$WD/mail"
printf 'Test.EICAR:0:*:%s\n' "$(printf '%s' "$EICAR" | sigtool --hex-dump | tr -d '\n')" \
    >"$WD/db/test.ndb"

mkmsg() {  # FILE SUBJECT BODYLINE
    printf 'From: Sender <sender@example.org>\r\nTo: Rcpt <rcpt@example.net>\r\nSubject: %s\r\nMessage-ID: <%s@selftest.scanmilter.test>\r\n\r\n%s\r\n' \
        "$2" "$2.$$" "$3" >"$1"
}
mkmsg "$WD/mail/clean.eml" clean "Just a harmless line."
mkmsg "$WD/mail/eicar.eml" eicar "$EICAR"

# --- clamd ------------------------------------------------------------------------------------
cat >"$WD/clamd/clamd.conf" <<EOF
Foreground yes
LocalSocket $WD/clamd/clamd.sock
LocalSocketMode 660
DatabaseDirectory $WD/db
TemporaryDirectory $WD/clamd
LogFile $WD/clamd/clamd.log
LogTime yes
PidFile $WD/clamd/clamd.pid
Bytecode no
SelfCheck 3600
EOF
clamd -c "$WD/clamd/clamd.conf" >"$WD/clamd/stdout" 2>&1 </dev/null &
CLAMD_PID=$!; disown "$CLAMD_PID"   # no "Killed" job notices
wait_for_socket "$WD/clamd/clamd.sock" 30 || { cat "$WD/clamd/stdout" "$WD/clamd/clamd.log" >&2; fail "clamd did not start"; }
log "clamd up (pid $CLAMD_PID) after $(( $(_now_ms) - T0 )) ms"

# --- clamav-milter ----------------------------------------------------------------------------
MILTER_SOCK=$WD/milter/clamav-milter.sock
cat >"$WD/milter/clamav-milter.conf" <<EOF
Foreground yes
MilterSocket unix:$MILTER_SOCK
MilterSocketMode 666
FixStaleSocket yes
ClamdSocket unix:$WD/clamd/clamd.sock
PidFile $WD/milter/clamav-milter.pid
TemporaryDirectory $WD/milter
LogFile $WD/milter/clamav-milter.log
LogTime yes
LogInfected Basic
LogClean Basic
OnClean Accept
OnInfected Reject
OnFail Defer
AddHeader Replace
ReadTimeout 30
EOF
start_milter() {
    rm -f "$MILTER_SOCK"   # a stale socket from a killed milter would satisfy wait_for_socket
    clamav-milter -c "$WD/milter/clamav-milter.conf" >"$WD/milter/stdout" 2>&1 </dev/null &
    MILTER_PID=$!; disown "$MILTER_PID"
    wait_for_socket "$MILTER_SOCK" 15 || { cat "$WD/milter/stdout" "$WD/milter/clamav-milter.log" >&2; fail "clamav-milter did not start"; }
}
kill_milter() {  # simulate a crash: SIGKILL (clamav-milter needs ~4 s to exit on SIGTERM)
    kill -9 "$MILTER_PID" 2>/dev/null
    wait_for_pid_gone "$MILTER_PID" 5
    MILTER_PID=
}
start_milter
log "clamav-milter up (pid $MILTER_PID) after $(( $(_now_ms) - T0 )) ms"

# --- helpers for checks -------------------------------------------------------------------------
# has_reply TRANSCRIPT REGEX: a server reply line (swaks "<-" or "<**") matches REGEX
has_reply() { printf '%s\n' "$1" | grep -E '^<(-|\*\*) ' | grep -Eq "$2"; }
show_replies() { printf '%s\n' "$1" | grep -E '^<(-|\*\*) ' | grep -Ev '^<-  250[- ][A-Z0-9-]+$' | sed 's/^/#   /' >&2; }
reply_after_data() {  # the reply that followed the message body: last reply before QUIT
    printf '%s\n' "$1" | grep -E '^<(-|\*\*) ' | grep -v ' 221 ' | tail -n 1
}

# --- Postfix -----------------------------------------------------------------------------------
t=$(_now_ms)
postfix_start "$WD/pf" "unix:$MILTER_SOCK" milter_connect_timeout=5s
log "postfix up after $(( $(_now_ms) - t )) ms"

out=$(smtp_send sender@example.org rcpt@example.net "$WD/mail/clean.eml") || true
show_replies "$out"
check "postfix: clean message accepted (250 2.0.0 Ok: queued)" has_reply "$out" '^<-  250 2\.0\.0 Ok: queued as '
check "postfix: clean message delivered to the sink" sink_wait_count 1 20
f=$(sink_last)
check "postfix: delivered message has Subject: clean" grep -q '^Subject: clean' "$f"
check "postfix: delivered message has clamav-milter's X-Virus-Scanned header" \
    grep -q '^X-Virus-Scanned: clamav-milter' "$f"
check "postfix: delivered message has X-Virus-Status: Clean" grep -q '^X-Virus-Status: Clean' "$f"

npf=1
if [ "$PF_IPV6" = 1 ]; then
    out=$(smtp_send -6 sender@example.org rcpt@example.net "$WD/mail/clean.eml") || true
    check "postfix: clean message over [::1] accepted" has_reply "$out" '^<-  250 2\.0\.0 Ok: queued as '
    check "postfix: clean message over [::1] delivered" sink_wait_count 2 20
    npf=2
fi

out=$(smtp_send sender@example.org rcpt@example.net "$WD/mail/eicar.eml") || true
show_replies "$out"
check "postfix: EICAR rejected with 5xx after DATA" \
    eval 'reply_after_data "$out" | grep -Eq "^<\*\* 5[0-9][0-9] "'
check "postfix: EICAR reply is 550 5.7.1" has_reply "$out" '^<\*\* 550 5\.7\.1 '
sleep 1
check "postfix: EICAR not delivered" eval '[ "$(sink_count)" -eq "$npf" ]'

kill_milter
out=$(smtp_send sender@example.org rcpt@example.net "$WD/mail/clean.eml") || true
show_replies "$out"
check "postfix: milter down -> 451 4.7.1" has_reply "$out" '^<\*\* 451 4\.7\.1 '
check "postfix: milter down -> nothing more delivered" eval '[ "$(sink_count)" -eq "$npf" ]'
postfix_stop "$WD/pf"

# --- Sendmail ----------------------------------------------------------------------------------
if [ "$have_sendmail_lib" = 1 ]; then
    start_milter
    t=$(_now_ms)
    if sendmail_start "$WD/sm" "$MILTER_SOCK"; then
        log "sendmail up after $(( $(_now_ms) - t )) ms"
        out=$(smtp_send -p "$SM_PORT" sender@example.org rcpt@example.net "$WD/mail/clean.eml") || true
        show_replies "$out"
        check "sendmail: clean message accepted (250 2.0.0 ... accepted for delivery)" \
            has_reply "$out" '^<-  250 2\.0\.0 .*[Mm]essage accepted for delivery'
        check "sendmail: clean message delivered to the sink" sink_wait_count 1 30 "$SM_SINK_DIR"
        f=$(sink_last "$SM_SINK_DIR")
        check "sendmail: delivered message has X-Virus-Status: Clean" grep -q '^X-Virus-Status: Clean' "$f"

        out=$(smtp_send -p "$SM_PORT" sender@example.org rcpt@example.net "$WD/mail/eicar.eml") || true
        show_replies "$out"
        check "sendmail: EICAR rejected with 5xx after DATA" \
            eval 'reply_after_data "$out" | grep -Eq "^<\*\* 5[0-9][0-9] "'
        sleep 1
        check "sendmail: EICAR not delivered" eval '[ "$(sink_count "$SM_SINK_DIR")" -eq 1 ]'

        kill_milter
        out=$(smtp_send -p "$SM_PORT" sender@example.org rcpt@example.net "$WD/mail/clean.eml") || true
        show_replies "$out"
        check "sendmail: milter down -> 451 4.3.2" has_reply "$out" '^<\*\* 451 4\.3\.2 '
        sendmail_stop "$WD/sm"
    else
        not_ok "sendmail: sendmail_start failed"
    fi
else
    log "Sendmail part skipped"
fi

log "selftest took $(( $(_now_ms) - T0 )) ms"
finish
