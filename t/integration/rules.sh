#!/usr/bin/env bash
# The rules engine (engines/rules) behind a real Postfix on loopback:
#   1. tag mode (an antispam scope's default): each message of
#      t/data/rules/mail gets the same X-Spam-Verdict (verdict_header = yes)
#      from `scanmilter scan` and through Postfix, the one in EXPECTED, and
#      the headers mail tools filter on: X-Spam-Flag: YES|NO, X-Spam-Status:
#      Yes|No, score=N.0 required=5.0 tests=a,b, X-Spam-Level: N stars;
#      copies of them the sender wrote are removed; the envelope sender
#      reaches the sender rules; rules read what a reader is shown: an RFC
#      2047 encoded Subject, a quoted-printable ISO-8859-1 phrase, an HTML
#      phrase written with character references and markup;
#   1b. the header names are configurable, "" leaves one out, and without
#      verdict_header there is no X-Spam-Verdict;
#   2. reject mode with a client rule for ::1: the same clean message is
#      delivered from 127.0.0.1 and refused (550 5.7.1) from [::1]; spam is
#      refused, never delivered, and the reply names no rule;
#   2b. two blocks of the same rules with their own threshold and action:
#      one score refused, a lower one held in Postfix's hold queue; both
#      read each message's MIME parts from one parse: the decomposition's,
#      or, with no parse of the daemon's own (no mime_decompose, no
#      detect_bypass), the one the first of them asks for;
#   3. the rule file changed on disk is picked up without a signal; a broken
#      one is refused with its line number, the rules before stay, and it is
#      tried again later and later, not at every check.
set -u
. "$(dirname "$0")/../lib/scanmilter.sh"
. "$(dirname "$0")/../lib/postfix.sh"

WD=$(mktemp -d /tmp/sm-rules.XXXXXX)
trap 'sm_stop; postfix_stop "$WD"; rm -rf "$WD"' EXIT
MAIL=$SM_TOP/t/data/rules/mail
EXPECTED=$MAIL/EXPECTED

antispam() {  # RULEFILE [ACTION [SCOPE OPTIONS]]
    printf 'antispam "antispam1" {\n%s%s  rules "rules1" {\n' \
        "${2:+  action = $2
}" "${3:+  $3
}"
    printf '    config_path = "%s"\n    schema_path = "%s"\n  }\n}\n' \
        "$1" "$SM_TOP/etc/rules.rng"
}

data_reply() { printf '%s\n' "$1" | grep -E '^<(-|\*\*) ' | grep -v ' 221 ' | tail -n 1 | sed -E 's/^<(-|\*\*) +//'; }
verdict_of() { sink_headers "$1" | sed -n 's/^X-Spam-Verdict: //p'; }
hdr_of() { sink_headers "$2" | sed -n "s/^$1: //p"; }
# the X-Spam-* headers a verdict in EXPECTED gives, one per line
spam_want() {  # VERDICT
    local v=$1 score tests flag=NO yes=No
    score=$(sed -E 's/^[A-Za-z]+ \(score (-?[0-9]+).*/\1/' <<<"$v")
    tests=$(sed -E -n 's/^[^:]*: (.*)\)$/\1/p' <<<"$v" | tr -d ' ')
    case $v in Spam*) flag=YES yes=Yes ;; esac
    printf 'X-Spam-Flag: %s\nX-Spam-Status: %s, score=%s.0 required=5.0 tests=%s\nX-Spam-Level: %s\n' \
        "$flag" "$yes" "$score" "${tests:-none}" \
        "$(head -c "$((score > 0 ? score : 0))" /dev/zero | tr '\0' '*')"
}
no_header() { ! sink_headers "$2" | grep -Eq "$1"; }
spam_got() { sink_headers "$1" | grep -E '^X-Spam-(Flag|Status|Level):' | sed 's/ *$//'; }
scan_verdict() { "$SCANMILTER" scan -c "$SM_CONF" "$1" 2>/dev/null | sed -n 's/^  header: X-Spam-Verdict: //p'; }

# 1. tag mode
cp "$SM_TOP/etc/rules.xml" "$WD/rules.xml"
export SM_MILTER_EXTRA="auto_reload_interval = 1s"
sm_start "$WD" "$(antispam "$WD/rules.xml" "" "verdict_header = yes")"
postfix_start "$WD" "unix:$SM_SOCK" milter_content_timeout=60s
check "the daemon loaded the rule set" \
    sm_log_has 'rules "rules1": rule set service-provider-full, [0-9]+ rules'

n=0
while IFS=$'\t' read -r f want; do
    [ -n "$f" ] || continue
    n=$((n + 1))
    got=$(scan_verdict "$MAIL/$f")
    check "scanmilter scan $f: $got" [ "$got" = "$want" ]
    out=$(smtp_send sender@example.org rcpt@example.net "$MAIL/$f") || true
    reply=$(data_reply "$out")
    if ! sink_wait_count "$n" 20; then
        not_ok "$f: delivered, tagged ($reply)"; continue
    fi
    msg=$(sink_last)
    check "through Postfix $f: $(verdict_of "$msg")" [ "$(verdict_of "$msg")" = "$want" ]
    check "through Postfix $f: $(spam_got "$msg" | head -n 2 | tr '\n' ' ')" \
        [ "$(spam_got "$msg")" = "$(spam_want "$want" | sed 's/ *$//')" ]
done <"$EXPECTED"
# a sender's own verdict headers are replaced by ours
{ printf 'X-Spam-Flag: NO\r\nX-Spam-Status: No, score=-100.0 tests=none\r\nX-Spam-Level: \r\n'
  cat "$MAIL/spam-lottery.eml"; } >"$WD/forged.eml"
out=$(smtp_send sender@example.org rcpt@example.net "$WD/forged.eml") || true
n=$((n + 1))
if sink_wait_count "$n" 20; then
    msg=$(sink_last)
    check "forged X-Spam-* headers removed, ours added: $(hdr_of X-Spam-Flag "$msg" | tr '\n' ' ')" \
        [ "$(spam_got "$msg")" = "$(spam_want "Spam (score 7: subject-lottery, body-money-offer)")" ]
else
    not_ok "a message with forged X-Spam-* headers delivered"
fi
check "every message of EXPECTED was sent ($n)" [ "$n" -ge 5 ]

out=$(smtp_send news@mx.spam-sender.example rcpt@example.net "$MAIL/ham.eml") || true
n=$((n + 1))
if sink_wait_count "$n" 20; then
    got=$(verdict_of "$(sink_last)")
    check "the envelope sender reaches the rules: $got" \
        [ "$got" = "Suspect (score 3: sender-spam-domain)" ]
else
    not_ok "mail from a listed sender domain delivered, tagged"
fi
check "stopped cleanly" sm_stop

# 1b. other names, one left out, and no X-Spam-Verdict by default
sm_start "$WD" "$(antispam "$WD/rules.xml" "" 'flag_header = "X-Junk"  level_header = ""')"
out=$(smtp_send sender@example.org rcpt@example.net "$MAIL/spam-lottery.eml") || true
n=$((n + 1))
if sink_wait_count "$n" 20; then
    msg=$(sink_last)
    check "flag_header renamed: X-Junk: $(hdr_of X-Junk "$msg")" [ "$(hdr_of X-Junk "$msg")" = YES ]
    check "level_header \"\": no X-Spam-Level, no X-Spam-Flag" \
        no_header '^X-Spam-(Level|Flag):' "$msg"
    check "X-Spam-Status kept: $(hdr_of X-Spam-Status "$msg")" \
        [ "$(hdr_of X-Spam-Status "$msg")" = "Yes, score=7.0 required=5.0 tests=subject-lottery,body-money-offer" ]
    check "no X-Spam-Verdict unless verdict_header = yes" [ -z "$(verdict_of "$msg")" ]
else
    not_ok "tagged spam delivered with renamed headers"
fi
check "stopped cleanly" sm_stop

# 2. reject mode; one more rule: the IPv6 loopback client
sed 's|<ruleset name="service-provider-express">|&\n    <client name="client-v6-loopback" score="6"><net>::1</net></client>|' \
    "$SM_TOP/etc/rules.xml" >"$WD/rules.xml"
sm_start "$WD" "$(antispam "$WD/rules.xml" reject)"
before=$(sink_count)
out=$(smtp_send sender@example.org rcpt@example.net "$MAIL/ham.eml") || true
check "reject mode: clean mail from 127.0.0.1 accepted ($(data_reply "$out"))" \
    bash -c "[[ '$(data_reply "$out")' == '250 2.0.0 Ok: queued as '* ]]"
out=$(smtp_send sender@example.org rcpt@example.net "$MAIL/spam-lottery.eml") || true
reply=$(data_reply "$out")
check "reject mode: spam refused ($reply)" \
    [ "$reply" = "550 5.7.1 Message refused as spam" ]
if [ "$PF_IPV6" = 1 ]; then
    out=$(smtp_send -6 sender@example.org rcpt@example.net "$MAIL/ham.eml") || true
    reply=$(data_reply "$out")
    check "the same clean mail from [::1] refused by the client rule ($reply)" \
        [ "$reply" = "550 5.7.1 Message refused as spam" ]
else
    not_ok "no IPv6 loopback: cannot test an IPv6 client"
fi
sleep 1
check "only the clean IPv4 message was delivered" [ "$(sink_count)" -eq $((before + 1)) ]

# 2b. a verdict per action: two blocks of the same rules with their own
# threshold and action -- score >= 10 refused, 5..9 held in Postfix's hold
# queue, below delivered
cat >"$WD/levels.conf" <<CONF
antispam "antispam1" {
  rules "hard" { config_path = "$SM_TOP/etc/rules.xml"  schema_path = "$SM_TOP/etc/rules.rng"
                 spam_score = 10  suspect_score = 10  action = reject }
  rules "soft" { config_path = "$SM_TOP/etc/rules.xml"  schema_path = "$SM_TOP/etc/rules.rng"
                 spam_score = 5  action = quarantine }
}
CONF
sm_stop
from=$(wc -l <"$SM_LOG" 2>/dev/null || echo 0)
sm_start "$WD" "$(cat "$WD/levels.conf")"
before=$(sink_count)
out=$(smtp_send sender@example.org rcpt@example.net "$MAIL/spam-program.eml") || true
reply=$(data_reply "$out")
check "levels: score 14 refused ($reply)" \
    [ "$reply" = "550 5.7.1 Message refused as spam" ]
out=$(smtp_send sender@example.org rcpt@example.net "$MAIL/spam-lottery.eml") || true
reply=$(data_reply "$out")
check "levels: score 7 accepted by Postfix ($reply)" \
    bash -c "[[ '$reply' == '250 2.0.0 Ok: queued as '* ]]"
held=$(postqueue -c "$PF_CONF" -p 2>/dev/null)
check "levels: ... and put in the hold queue" bash -c "grep -Eq '^[0-9A-F]+!' <<<'$held'"
out=$(smtp_send sender@example.org rcpt@example.net "$MAIL/suspect-link.eml") || true
check "levels: score 3 delivered" sink_wait_count $((before + 1)) 20
check "levels: nothing else delivered" [ "$(sink_count)" -eq $((before + 1)) ]
# two engines wanting the parts of each message: one parse per message
parsed_once() {  # FROM: in the log past line FROM, each message says 1
    local new
    new=$(tail -n +"$(($1 + 1))" "$SM_LOG" | grep -E 'MIME parts parsed [0-9]+ time')
    grep -q 'parsed 1 time' <<<"$new" && ! grep -vq 'parsed 1 time' <<<"$new"
}
check "levels: each message's parts parsed once for both engines (decomposed)" \
    wait_until 10 parsed_once "$from"
sm_stop
from=$(wc -l <"$SM_LOG")
SM_AV=$(printf 'antivirus "antivirus1" {\n  mime_decompose = no  detect_bypass = no\n  clamav "clamav1" { database_directory = "%s" }\n}' "$SM_TOP/t/data/sigs") \
    sm_start "$WD" "$(sed 's/^antispam "antispam1" {$/&\n  mime_decompose = no  detect_bypass = no/' "$WD/levels.conf")"
out=$(smtp_send sender@example.org rcpt@example.net "$MAIL/spam-program.eml") || true
check "levels: no parse of the daemon's own: the same reply ($(data_reply "$out"))" \
    [ "$(data_reply "$out")" = "550 5.7.1 Message refused as spam" ]
check "levels: ... and the parts parsed once, for both engines, when asked" \
    wait_until 10 parsed_once "$from"

# 3. the rule file changed on disk: picked up by itself (auto_reload); a
# broken one is refused with its line and the rules before stay
sm_stop
sm_start "$WD" "$(antispam "$WD/rules.xml" reject)"
sed -i 's|<net>::1</net>|<net>127.0.0.1</net>|' "$WD/rules.xml"
v4_refused() {
    out=$(smtp_send sender@example.org rcpt@example.net "$MAIL/ham.eml") || true
    [ "$(data_reply "$out")" = "550 5.7.1 Message refused as spam" ]
}
check "a changed rule file is used without a signal" wait_until 20 v4_refused
printf '<rules>\n  <ruleset name="service-provider-full">\n    <bogus/>\n' >"$WD/rules.xml"
check "a broken rule file is refused with its line number" \
    wait_until 20 sm_log_has "$WD/rules.xml:[0-9]+"
sm_log_has "$WD/rules.xml:[0-9]+" && log "$(grep -E "$WD/rules.xml:[0-9]+" "$SM_LOG" | tail -n 1)"
check "... and the rules before it stay in use" v4_refused
# each try loads every engine anew: failed ones come later and later
sleep 7
tries=$(grep -c 'reload (signatures changed) failed' "$SM_LOG")
check "failed automatic reloads back off (in ~8 s at a 1 s interval: $tries tries)" \
    [ "$tries" -ge 2 -a "$tries" -le 4 ]
check "... and say when the next comes" \
    sm_log_has 'automatic reload failed; next try in [0-9]+s \(SIGHUP tries at once\)'
check "nothing held open or left under file_base while it runs" sm_tmp_empty
check "stopped cleanly" sm_stop
check "no temporary file left under file_base" sm_tmp_empty

# an attachment the antivirus cache knows by its encoding is still decoded
# for the rules: the second copy scores as the first (type rules included)
mkdir -p "$WD/known/fb"
sed 's/^Subject: .*/Subject: Invoice, again/' "$MAIL/spam-program.eml" >"$WD/known/b.eml"
cat >"$WD/known/c.conf" <<EOF
milter { file_base = "$WD/known/fb" }
control { listen = "unix:$WD/known/ctl.sock" }
antivirus "av1" { clamav "c1" { database_directory = "$SM_TOP/t/data/sigs" } }
antispam "as1" {
  rules "r1" { config_path = "$SM_TOP/etc/rules.xml"  schema_path = "$SM_TOP/etc/rules.rng" }
}
EOF
out=$("$SCANMILTER" scan -c "$WD/known/c.conf" "$MAIL/spam-program.eml" "$WD/known/b.eml" 2>&1)
printf '%s\n' "$out" | grep -E 'X-Spam-Status|scans:' | sed 's/^/#   /'
check "a cached attachment: the antivirus answers from the cache" \
    grep -q 'scans: 2 by engines, 1 from the cache' <<<"$out"
check "a cached attachment: the rules still read its bytes (score 14 twice)" \
    [ "$(grep -c 'X-Spam-Status: Yes, score=14.0 .*type-mismatch' <<<"$out")" = 2 ]
finish
