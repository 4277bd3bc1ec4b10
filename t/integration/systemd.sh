#!/usr/bin/env bash
# The daemon as init/scanmilter.service runs it, without systemd: a
# listener on NOTIFY_SOCKET stands in for the service manager.
#   1. a long signature load (the test engine's create_delay) is announced
#      in the log before it starts ("loading signatures of 1 engine..."),
#      and systemd hears STATUS= and EXTEND_TIMEOUT_USEC= at its start and
#      again while it lasts, all before READY=1;
#   2. the per-message log line quotes a field holding commas (a spam
#      verdict's rule list), so the line still splits at ", " into
#      key=value fields (through a real Postfix);
#   3. the unit's ExecReload command, run as systemd would: 0 for a good
#      config (RELOADING=1, then READY=1), 1 with the file:line reason for
#      a refused one (the daemon keeps serving), 3 when the daemon is not
#      running (LSB); scanmilterctl --help and --version.
set -u
. "$(dirname "$0")/../lib/scanmilter.sh"
. "$(dirname "$0")/../lib/postfix.sh"

UNIT=$SM_TOP/init/scanmilter.service
WD=$(mktemp -d /tmp/sm-systemd.XXXXXX)
NPID=
trap 'sm_stop; postfix_stop "$WD"; [ -n "$NPID" ] && kill "$NPID" 2>/dev/null; rm -rf "$WD"' EXIT
LOAD_S=12	# past one keepalive period (10 s)

# a systemd-style notification listener: one line per datagram
python3 - "$WD/notify.sock" >"$WD/notify.log" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(180)
try:
    while True:
        print(s.recv(4096).decode().replace("\n", " "), flush=True)
except socket.timeout:
    pass
PY
NPID=$!
wait_for_socket "$WD/notify.sock" 10 || fail "notify listener did not start"

# 1. a long load
AV=$(printf 'antivirus "antivirus1" {\n  action = pass\n  test "t1" { verdict = infected  name = "Spam (score 7: rule-a, rule-b)"  create_delay = %ss }\n}' "$LOAD_S")
EXTRA="control { listen = \"unix:$WD/run/control.sock\"  reload_interval = 0 }"
NOTIFY_SOCKET=$WD/notify.sock SM_AV=$AV SCANMILTER=$SCANMILTER_TEST sm_start "$WD" "$EXTRA"
sleep 3
check "the log says 'loading signatures of 1 engine...' before the load ends" \
    bash -c "grep -q 'loading signatures of 1 engine\.\.\.' '$SM_LOG' && ! grep -q '^READY=1' '$WD/notify.log'"
check "systemd hears STATUS= and EXTEND_TIMEOUT_USEC= as the load starts" \
    grep -q '^EXTEND_TIMEOUT_USEC=30000000 STATUS=loading signatures of 1 engine (0s)' "$WD/notify.log"
check "READY=1 once loaded" wait_until $((LOAD_S + 20)) grep -q '^READY=1' "$WD/notify.log"
before_ready=$(sed -n '/^READY=1/q;p' "$WD/notify.log" | grep -c '^EXTEND_TIMEOUT_USEC=')
log "notify: $(head -n 4 "$WD/notify.log" | tr '\n' '|')"
check "EXTEND_TIMEOUT_USEC repeated while the load lasted ($before_ready before READY=1)" \
    [ "$before_ready" -ge 2 ]
check "'loading' is logged before 'listening on'" bash -c \
    "[ \$(grep -n 'loading signatures' '$SM_LOG' | head -n 1 | cut -d: -f1) -lt \$(grep -n 'listening on' '$SM_LOG' | head -n 1 | cut -d: -f1) ]"

# 2. the per-message line through Postfix
postfix_start "$WD" "unix:$SM_SOCK" milter_content_timeout=60s
smtp_send sender@example.org rcpt@example.net "$SM_TOP/t/data/mail/clean-plain.eml" >/dev/null || true
check "the message was logged" wait_until 20 sm_log_has 'verdict=infected'
line=$(grep 'verdict=infected' "$SM_LOG" | tail -n 1)
log "$line"
check "the verdict with commas is quoted" \
    grep -qF 'virus="Spam (score 7: rule-a, rule-b)", engine=t1, reply=accept' <<<"$line"
check "the line splits at ', ' into key=value fields" python3 -c '
import re, sys
line = sys.argv[1].split(": ", 3)[-1]
field = r"[a-z]+=(\"(?:[^\"\\]|\\.)*\"|<[^>,]*>|[^,\" ]*(?: \([a-z]+\))?|[^,\"]*\[[^],]*\])"
assert re.fullmatch(field + r"(, " + field + r")*", line), line
' "$line"
postfix_stop "$WD"

# 3. ExecReload as the unit has it
reload_cmd=$(sed -n 's/^ExecReload=//p' "$UNIT" |
    sed "s|/usr/sbin/scanmilterctl|$CTL|; s|/etc/scanmilter/scanmilter.conf|$SM_CONF|")
log "ExecReload: $reload_cmd"
check "the unit reloads through scanmilterctl reload" grep -q '^ExecReload=/usr/sbin/scanmilterctl .*reload$' "$UNIT"
sed -i 's/create_delay = [0-9]*s//' "$SM_CONF"
lines=$(wc -l <"$WD/notify.log")
$reload_cmd >"$WD/out" 2>"$WD/err"; rc=$?
check "ExecReload of a good config: exit 0 ($(cat "$WD/err"))" [ $rc = 0 ]
tail -n +$((lines + 1)) "$WD/notify.log" >"$WD/notify.reload"
check "... RELOADING=1, loading status, READY=1 in that order" bash -c \
    "tr '\n' '|' <'$WD/notify.reload' | grep -qE '^RELOADING=1 [^|]*\|EXTEND_TIMEOUT_USEC=[0-9]+ STATUS=loading [^|]*\|READY=1'"
sed -i 's|^milter {|milter {\n  bogus_option = 1|' "$SM_CONF"
$reload_cmd >"$WD/out" 2>"$WD/err"; rc=$?
check "ExecReload of a refused config: exit 1 with the reason ($(head -c 200 "$WD/err"))" \
    bash -c "[ $rc = 1 ] && grep -q \"$SM_CONF:[0-9]*: option 'bogus_option'\" '$WD/err'"
check "... and the daemon keeps serving" bash -c "'$CTL' -s '$SM_CTL' version >/dev/null"
out=$("$CTL" --version); rc=$?
check "scanmilterctl --version: $out" bash -c "[ $rc = 0 ] && grep -qE '^scanmilterctl .*[0-9]+\.[0-9]+' <<<'$out'"
out=$("$CTL" --help); rc=$?
check "scanmilterctl --help: usage and exit statuses, exit 0" \
    bash -c "[ $rc = 0 ] && grep -q '^usage: scanmilterctl' <<<'$out' && grep -q '3 scanmilter is not running' <<<'$out'"
check "stopped cleanly" sm_stop
$reload_cmd >"$WD/out" 2>"$WD/err"; rc=$?
check "ExecReload with the daemon stopped: exit 3 (LSB: not running), says so" \
    bash -c "[ $rc = 3 ] && grep -q 'scanmilter is not running' '$WD/err'"
"$CTL" -s "$SM_CTL" stats >/dev/null 2>&1; rc=$?
check "any command with the daemon stopped: exit 3" [ $rc = 3 ]
finish
