#!/usr/bin/env bash
# What a sender can make the rules engine spend, behind a real Postfix:
#   1. a message of 8 HTML parts, each one <a> tag with 32,000 attributes
#      (160 KB: quadratic work for a tree-building HTML parser) is answered
#      within the instance timeout, and costs the daemon little CPU;
#   2. a legitimate message sent right after it is answered at once with
#      its verdict, not tempfailed behind a scan that outlived its timeout;
#   3. a scan that is slow whatever the parser (a rule set of many phrases
#      over 1 MB text parts) stops at the deadline: the message gets the
#      timeout's 451 and the next legitimate one is answered at once.
# The CPU pool has one thread (small_threads = 0), so a thread held past
# the timeout shows in the very next message; with N threads it takes N
# such messages.  Rules as the bundled config has them (etc/rules.xml).
set -u
. "$(dirname "$0")/../lib/scanmilter.sh"
. "$(dirname "$0")/../lib/postfix.sh"

WD=$(mktemp -d /tmp/sm-rulescpu.XXXXXX)
trap 'sm_stop; postfix_stop "$WD"; rm -rf "$WD"' EXIT
MAIL=$SM_TOP/t/data/rules/mail
TIMEOUT_S=3

antispam() {  # RULEFILE
    printf 'antispam "antispam1" {\n  timeout = %ss\n  verdict_header = yes\n  rules "rules1" {\n' "$TIMEOUT_S"
    printf '    config_path = "%s"\n    schema_path = "%s"\n  }\n}\n' \
        "$1" "$SM_TOP/etc/rules.rng"
    printf 'threadpool "CPU" { concurrency = 1  small_threads = 0 }\n'
}

data_reply() { printf '%s\n' "$1" | grep -E '^<(-|\*\*) ' | grep -v ' 221 ' | tail -n 1 | sed -E 's/^<(-|\*\*) +//'; }
verdict_of() { sink_headers "$1" | sed -n 's/^X-Spam-Verdict: //p'; }
# CPU seconds (user + system) the daemon has used so far, in ms
cpu_ms() { awk -v hz="$(getconf CLK_TCK)" '{ print int(($14 + $15) * 1000 / hz) }' "/proc/$SM_PID/stat"; }

# the messages
python3 - "$WD" <<'PY'
import sys
wd = sys.argv[1]
def tag(n):   # one <a> with n distinct attributes, 5 bytes each
    return "<a" + "".join(" " + "".join(chr(97 + k // 26 ** j % 26) for j in range(4))
                          for k in range(n)) + ">"
head = ("From: Attacker <a@attacker.example>\r\nTo: rcpt@example.net\r\n"
        "Subject: {}\r\nMIME-Version: 1.0\r\n"
        "Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n")
part = "--b\r\nContent-Type: {}\r\n\r\n{}\r\n"
with open(wd + "/attrs.eml", "w", newline="") as f:
    f.write(head.format("attributes") + "".join(
        part.format("text/html", tag(32000)) for _ in range(8)) + "--b--\r\n")
text = ("lorem ipsum dolor sit amet " * 40000)[:1000000]
with open(wd + "/phrases.eml", "w", newline="") as f:
    f.write(head.format("long text") + "".join(
        part.format("text/plain", text) for _ in range(4)) + "--b--\r\n")
with open(wd + "/phrases.xml", "w") as f:
    f.write('<rules version="cpu">\n  <ruleset name="service-provider-full">\n'
            '    <body name="many-phrases" score="1">\n')
    f.writelines("      <phrase>no such phrase %06d</phrase>\n" % i for i in range(40000))
    f.write("    </body>\n  </ruleset>\n</rules>\n")
PY
log "attack: $(wc -c <"$WD/attrs.eml") bytes; slow text: $(wc -c <"$WD/phrases.eml") bytes"

# send FILE -> sets REPLY and MS (the SMTP session's wall time)
send() {
    local t0 out
    t0=$(_now_ms)
    out=$(smtp_send sender@example.org rcpt@example.net "$1") || true
    MS=$(( $(_now_ms) - t0 ))
    REPLY=$(data_reply "$out")
}
accepted() { [[ $REPLY == "250 2.0.0 Ok: queued as "* ]]; }
# the first message after a start (signatures and rules loaded, first
# connection) until it is accepted
warm_up() { send "$MAIL/ham.eml"; accepted; }

# 1 and 2: the attack, then legitimate mail
cp "$SM_TOP/etc/rules.xml" "$WD/rules.xml"
sm_start "$WD" "$(antispam "$WD/rules.xml")"
postfix_start "$WD" "unix:$SM_SOCK" milter_content_timeout=60s
check "the daemon loaded the rule set" \
    sm_log_has 'rules "rules1": rule set service-provider-full, [0-9]+ rules'

check "warm-up message accepted" wait_until 30 warm_up
cpu0=$(cpu_ms)
send "$WD/attrs.eml"
log "attack message: $REPLY after $MS ms"
check "the attack message is answered within the timeout (${MS} ms: $REPLY)" \
    [ "$MS" -lt $(( TIMEOUT_S * 1000 + 1500 )) ]
send "$MAIL/ham.eml"
log "legitimate message right after: $REPLY after $MS ms"
check "the legitimate message right after it is accepted ($REPLY)" accepted
check "... at once (${MS} ms, timeout ${TIMEOUT_S}s)" [ "$MS" -lt 2000 ]
sleep 1
cpu=$(( $(cpu_ms) - cpu0 ))
log "daemon CPU for both messages and a second after: $cpu ms"
check "the attack cost the daemon little CPU ($cpu ms)" [ "$cpu" -lt 1500 ]
sink_wait_count 3 20
msg=$(sink_files | while read -r f; do grep -l '^Subject: attributes' "$f"; done | tail -n 1)
if [ -n "$msg" ]; then
    check "the attack message got a verdict: $(verdict_of "$msg")" \
        bash -c "[[ '$(verdict_of "$msg")' == Clean* ]]"
else
    not_ok "the attack message was delivered with a verdict"
fi
check "stopped cleanly" sm_stop

# 3. slow whatever the parser: stops at the deadline
sm_start "$WD" "$(antispam "$WD/phrases.xml")"
check "phrases: warm-up message accepted" wait_until 30 warm_up
cpu0=$(cpu_ms)
send "$WD/phrases.eml"
log "slow message: $REPLY after $MS ms"
check "the slow message gets the timeout's tempfail ($REPLY)" \
    bash -c "[[ '$REPLY' == 451* ]]"
check "... within the timeout (${MS} ms)" [ "$MS" -lt $(( TIMEOUT_S * 1000 + 1500 )) ]
send "$MAIL/ham.eml"
log "legitimate message right after: $REPLY after $MS ms"
check "the legitimate message right after it is accepted ($REPLY)" accepted
check "... at once (${MS} ms)" [ "$MS" -lt 2000 ]
cpu0=$(cpu_ms)
sleep 2
cpu=$(( $(cpu_ms) - cpu0 ))
log "daemon CPU in the 2 s after: $cpu ms"
check "the slow scan stopped at its deadline: $cpu ms of CPU in the 2 s after" \
    [ "$cpu" -lt 300 ]
check "stopped cleanly" sm_stop
check "no temporary file left under file_base" sm_tmp_empty
finish
