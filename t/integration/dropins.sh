#!/usr/bin/env bash
# Config management, with /etc/scanmilter hidden from the daemon (a private
# mount namespace), as on a host where nothing was installed there:
#   1. a rules engine without schema_path uses the schema built into the
#      binary: the rule file is still validated (a file the schema refuses
#      is refused), and schema_path overrides it;
#   2. include "conf.d/*.conf" (relative to the config) splices in drop-ins:
#      an antivirus scope and an antispam scope from two files work through
#      a real Postfix (EICAR refused, spam tagged), scanmilterctl finds the
#      control socket a drop-in names; an empty pattern is fine;
#   3. a drop-in's error names the drop-in and its line (unknown option,
#      syntax), and so do the caps: a file including itself (depth), files
#      together over 1 MiB (size), include outside a file.
set -u
. "$(dirname "$0")/../lib/scanmilter.sh"
. "$(dirname "$0")/../lib/postfix.sh"

WD=$(mktemp -d /tmp/sm-dropins.XXXXXX)
trap 'sm_stop; postfix_stop "$WD"; rm -rf "$WD"' EXIT
MAIL=$SM_TOP/t/data/rules/mail
mkdir -p "$WD/empty" "$WD/d/conf.d" "$WD/d/run" "$WD/d/tmp"
chmod 755 "$WD" "$WD/d" "$WD/d/run"

# the daemon binary, run with an empty directory over /etc/scanmilter
REAL=$SCANMILTER
cat >"$WD/hidden" <<SH
#!/bin/sh
exec unshare -m sh -c '[ -d /etc/scanmilter ] && mount --bind "\$0" /etc/scanmilter; exec "\$@"' "$WD/empty" "$REAL" "\$@"
SH
chmod 755 "$WD/hidden"
hidden() { "$WD/hidden" "$@"; }
check "the wrapper hides /etc/scanmilter" \
    bash -c "unshare -m sh -c '[ -d /etc/scanmilter ] && mount --bind $WD/empty /etc/scanmilter; [ ! -e /etc/scanmilter/rules.rng ]'"

# 1. the built-in schema
rules_conf() {  # RULEFILE [SCHEMA]
    printf 'milter { file_base = "%s" }\nantispam "antispam1" {\n  rules "rules1" { config_path = "%s" %s }\n}\n' \
        "$WD/d/tmp" "$1" "${2:+schema_path = \"$2\"}"
}
rules_conf "$SM_TOP/etc/rules.xml" >"$WD/schema.conf"
out=$(hidden -t -c "$WD/schema.conf" 2>&1); rc=$?
check "no schema_path, no /etc/scanmilter/rules.rng: -t accepts the rules (rc $rc)" [ $rc = 0 ]
[ $rc = 0 ] || log "$out"
out=$(hidden scan -c "$WD/schema.conf" "$MAIL/spam-lottery.eml" 2>&1)
check "... and scores mail with them" grep -q '^  header: X-Spam-Flag: YES' <<<"$out"
# well-formed, compiles, but outside the schema: an unknown attribute
sed 's|<ruleset name="service-provider-full"|& colour="red"|' "$SM_TOP/etc/rules.xml" >"$WD/offschema.xml"
rules_conf "$WD/offschema.xml" >"$WD/off.conf"
out=$(hidden -t -c "$WD/off.conf" 2>&1); rc=$?
check "the built-in schema still validates: an unknown attribute is refused ($(head -c 160 <<<"$out"))" \
    bash -c "[ $rc != 0 ] && grep -q 'offschema.xml' <<<'$out'"
rules_conf "$SM_TOP/etc/rules.xml" "$WD/none.rng" >"$WD/over.conf"
out=$(hidden -t -c "$WD/over.conf" 2>&1); rc=$?
check "schema_path overrides the built-in schema ($(head -c 160 <<<"$out"))" \
    bash -c "[ $rc != 0 ] && grep -q '$WD/none.rng' <<<'$out'"

# 2. drop-ins
cat >"$WD/d/scanmilter.conf" <<CONF
milter {
  listen = "unix:$WD/d/run/scanmilter.sock"
  socket_mode = 0666
  file_base = "$WD/d/tmp"
  log_level = debug
}
include "conf.d/*.conf"
include "none.d/*.conf"
CONF
cat >"$WD/d/conf.d/10-antivirus.conf" <<CONF
# an antivirus scope from a drop-in
antivirus "antivirus1" {
  clamav "clamav1" { database_directory = "$SM_TOP/t/data/sigs" }
}
control { listen = "unix:$WD/d/run/control.sock" }
CONF
cat >"$WD/d/conf.d/20-antispam.conf" <<CONF
antispam "antispam1" {
  rules "rules1" { config_path = "$SM_TOP/etc/rules.xml" }
}
CONF
SM_CONF=$WD/d/scanmilter.conf SM_LOG=$WD/d/scanmilter.log SM_SOCK=$WD/d/run/scanmilter.sock
SM_TMP=$WD/d/tmp SM_CTL=$WD/d/run/control.sock
"$WD/hidden" -f -c "$SM_CONF" 2>>"$SM_LOG" </dev/null &
SM_PID=$!
export SM_CONF SM_LOG SM_SOCK SM_PID SM_TMP SM_CTL
if ! wait_for_socket "$SM_SOCK" 30; then
    cat "$SM_LOG" >&2
    fail "scanmilter did not start from the config with drop-ins"
fi
postfix_start "$WD" "unix:$SM_SOCK" milter_content_timeout=60s
data_reply() { printf '%s\n' "$1" | grep -E '^<(-|\*\*) ' | grep -v ' 221 ' | tail -n 1 | sed -E 's/^<(-|\*\*) +//'; }
out=$(smtp_send sender@example.org rcpt@example.net "$SM_TOP/t/data/mail/eicar-attach.eml") || true
check "the drop-in's antivirus scope refuses EICAR through Postfix ($(data_reply "$out"))" \
    bash -c "[[ '$(data_reply "$out")' == '550 5.7.1 Virus found: '* ]]"
out=$(smtp_send sender@example.org rcpt@example.net "$MAIL/spam-lottery.eml") || true
if sink_wait_count 1 20; then
    check "the drop-in's antispam scope tags spam (built-in schema)" \
        grep -qx 'X-Spam-Flag: YES' <<<"$(sink_headers "$(sink_last)" | tr -d '\r')"
else
    not_ok "spam from the drop-in's antispam scope delivered ($(data_reply "$out"))"
fi
out=$("$CTL" -c "$SM_CONF" version 2>&1); rc=$?
check "scanmilterctl -c finds the control socket a drop-in names (rc $rc)" [ $rc = 0 ]
check "stopped cleanly" sm_stop
postfix_stop "$WD"

# 3. errors name the drop-in and its line
t_refused() {  # DESC WANT
    local out rc
    out=$(hidden -t -c "$WD/d/scanmilter.conf" 2>&1); rc=$?
    if [ $rc != 0 ] && grep -qF "$2" <<<"$out"; then ok "$1"
    else not_ok "$1: rc $rc: $(head -c 300 <<<"$out")"; fi
}
printf '# bad\nantivirus "av2" {\n  bogus = 1\n  clamav "c2" { database_directory = "%s" }\n}\n' \
    "$SM_TOP/t/data/sigs" >"$WD/d/conf.d/30-bad.conf"
t_refused "an unknown option in a drop-in: file and line" "$WD/d/conf.d/30-bad.conf:3: option 'bogus'"
printf 'antivirus "av2" {\n\n  clamav "c2" {\n' >"$WD/d/conf.d/30-bad.conf"
t_refused "a syntax error in a drop-in: file and line" "$WD/d/conf.d/30-bad.conf:3: scope 'clamav' is not closed"
printf '\ninclude "30-bad.conf"\n' >"$WD/d/conf.d/30-bad.conf"
t_refused "a drop-in including itself: the depth cap, file and line" \
    "$WD/d/conf.d/30-bad.conf:2: include \"30-bad.conf\": includes nested deeper than 4"
head -c 1100000 /dev/zero | tr '\0' '#' >"$WD/d/conf.d/30-bad.conf"
t_refused "drop-ins over 1 MiB together: the size cap, where" \
    "$WD/d/scanmilter.conf:7: include: $WD/d/conf.d/30-bad.conf: larger than"
rm -f "$WD/d/conf.d/30-bad.conf"
check "without it the config is accepted again" hidden -t -c "$WD/d/scanmilter.conf"
finish
