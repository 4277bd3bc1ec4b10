#!/usr/bin/env bash
# Coming from Momentum (its antivirus framework and BEIK module):
#  - scan_pool and bmiconfig_path are read as pool and config_path with a
#    warning naming ours and the line; accum_pool, csapi, beik, use_wire_rep
#    and header_padding are refused with file, line and what to write (-t);
#  - tempfailure takes a 5xx with a warning: through Postfix a scan error is
#    then refused 554 5.3.0, and so is mail during a blocking reload;
#  - `scanmilterctl version INSTANCE` prints Momentum's three lines;
#  - context_variable: per-engine headers through Postfix, only when that
#    engine found a virus or failed; copies sent with a message are removed;
#  - skip_variable from Postfix: a second smtpd service in master.cf sets
#    the macro with -o milter_macro_defaults;
#  - more than 64 instances are refused; scanmilter.conf(5) has the antispam
#    scope; the log line names the recipients.
set -u
. "$(dirname "$0")/../lib/scanmilter.sh"
. "$(dirname "$0")/../lib/postfix.sh"

# the daemon with the test engine (verdicts and delays set per message)
SCANMILTER=${SCANMILTER_TEST_PLAIN:-$SM_TOP/build/t/scanmilter-test}
CTL=${SCANMILTERCTL:-$SM_TOP/build/src/scanmilterctl}
plan 44
WD=$(mktemp -d /tmp/sm-seeds.XXXXXX)
trap 'sm_stop; postfix_stop "$WD"; [ -n "${KEEP:-}" ] || rm -rf "$WD"' EXIT
chmod 755 "$WD"
mkdir -p "$WD/tmp"
SIGS=$SM_TOP/t/data/sigs
MAIL=$SM_TOP/t/data/mail

# ---- -t: Momentum's names --------------------------------------------------

head_conf() { printf 'milter { listen = "unix:%s/t.sock"  file_base = "%s/tmp" }\n' "$WD" "$WD"; }
tconf() {  # NAME: scanmilter -t on $WD/NAME.conf, output in $WD/NAME.out
    "$SCANMILTER" -t -c "$WD/$1.conf" >"$WD/$1.out" 2>&1
}
out_has() { grep -qF -- "$2" "$WD/$1.out" || { sed 's/^/#   /' "$WD/$1.out" >&2; return 1; }; }
refused() {  # NAME TEXT: -t fails and says TEXT
    ! tconf "$1" && out_has "$1" "$2"
}

{ head_conf; cat <<EOF
antivirus "antivirus1" {
  clamav "clamav1" {
    database_directory = "$SIGS"
    scan_pool = "IO"
  }
}
antispam "antispam1" {
  rules "rules1" {
    bmiconfig_path = "$SM_TOP/etc/rules.xml"
    schema_path = "$SM_TOP/etc/rules.rng"
  }
}
EOF
} >"$WD/names.conf"
check "scan_pool and bmiconfig_path: the configuration loads" tconf names
check "scan_pool: warning with file, line and our name" \
    out_has names "names.conf:5: option 'scan_pool' is Momentum's name for 'pool': read as pool"
check "bmiconfig_path: warning with file, line and our name (the rules load from it)" \
    out_has names "names.conf:10: option 'bmiconfig_path' is Momentum's name for 'config_path'"

{ head_conf; printf 'antivirus "a" {\n  accum_pool = "IO"\n  clamav "c" { database_directory = "%s" }\n}\n' "$SIGS"; } >"$WD/accum.conf"
check "accum_pool refused: file, line, option and libmilter's threads" \
    refused accum "accum.conf:3: option 'accum_pool': Momentum's pool that accumulates a message has no counterpart: libmilter"

{ head_conf; printf 'antivirus "a" {\n  csapi "csapi1" { enabled = false }\n  clamav "c" { database_directory = "%s" }\n}\n' "$SIGS"; } >"$WD/csapi.conf"
check "csapi \"NAME\" { } refused: file, line, scope and the engines there are" \
    refused csapi "csapi.conf:3: scope 'csapi': Symantec CSAPI is not available here; the engines are clamav"
{ head_conf; printf 'csapi { }\nantivirus "a" { clamav "c" { database_directory = "%s" } }\n' "$SIGS"; } >"$WD/csapi2.conf"
check "top-level csapi { } refused the same way" \
    refused csapi2 "csapi2.conf:2: scope 'csapi': Symantec CSAPI"
{ head_conf; printf 'beik {\n  use_wire_rep = true\n}\nantivirus "a" { clamav "c" { database_directory = "%s" } }\n' "$SIGS"; } >"$WD/beik.conf"
check "Momentum's beik { } refused, pointing at antispam and rules" \
    refused beik "beik.conf:2: scope 'beik': Symantec BEIK is not available here; anti-spam is antispam"

{ head_conf | sed 's/}$/  use_wire_rep = false\n}/'; printf 'antivirus "a" { clamav "c" { database_directory = "%s" } }\n' "$SIGS"; } >"$WD/wire.conf"
check "use_wire_rep refused: Momentum's meaning, and in_memory for ours" \
    refused wire "wire.conf:1: option 'use_wire_rep': in Momentum it chooses between the message as received and a copy with this MTA's changes"
check "... the refusal names in_memory" out_has wire "in_memory = no puts every message on disk"
{ head_conf | sed 's/}$/  header_padding = 512\n}/'; printf 'antivirus "a" { clamav "c" { database_directory = "%s" } }\n' "$SIGS"; } >"$WD/pad.conf"
check "header_padding refused: names buffer_padding" \
    refused pad "pad.conf:1: option 'header_padding': in Momentum it pads the copy made when use_wire_rep is off; scanmilter makes no such copy: delete it (buffer_padding"
{ head_conf | sed 's/}$/  in_memory = no  buffer_padding = 1K\n}/'; printf 'antivirus "a" { clamav "c" { database_directory = "%s" } }\n' "$SIGS"; } >"$WD/ours.conf"
check "our in_memory and buffer_padding load" tconf ours

# ---- -t: tempfailure, limits, context_variable -------------------------------

{ head_conf; printf 'antivirus "a" {\n  tempfailure = 554\n  clamav "c" { database_directory = "%s" }\n}\n' "$SIGS"; } >"$WD/tf.conf"
check "tempfailure = 554 loads" tconf tf
check "... with a warning naming file, line and option" \
    out_has tf "tf.conf:3: option 'tempfailure': 554 is permanent"
sed 's/554/600/' "$WD/tf.conf" >"$WD/tf6.conf"
check "tempfailure = 600 refused" refused tf6 "tf6.conf:3: option 'tempfailure': '600' is out of range 400..599"

instances() {  # N: N antivirus scopes
    head_conf
    for ((i = 1; i <= $1; i++)); do
        printf 'antivirus "av%d" { add_headers = no  clamav "c%d" { database_directory = "%s" } }\n' "$i" "$i" "$SIGS"
    done
}
instances 64 >"$WD/i64.conf"; instances 65 >"$WD/i65.conf"
check "64 instances load" tconf i64
check "65 instances refused with file, line and the instance" \
    refused i65 "i65.conf:66: antivirus \"av65\": more than 64 antivirus and antispam scopes"

{ head_conf; printf 'antivirus "a" {\n'
  for i in $(seq 1 9); do printf '  clamav "c%d" { database_directory = "%s"  context_variable = "s%d" }\n' "$i" "$SIGS" "$i"; done
  printf '}\n'; } >"$WD/ctx9.conf"
check "context_variable on 9 engines refused (file, line, option)" \
    refused ctx9 "ctx9.conf:11: option 'context_variable': more than 8 engines set it"
{ head_conf; printf 'antivirus "a" {\n  clamav "c" {\n    database_directory = "%s"\n    context_variable = "clamav status"\n  }\n}\n' "$SIGS"; } >"$WD/ctxbad.conf"
check "context_variable that is no header name refused" \
    refused ctxbad "ctxbad.conf:5: option 'context_variable': 'clamav status' is not a header name"

sed 's/clamav status/Received/' "$WD/ctxbad.conf" >"$WD/ctxrcv.conf"
check "context_variable naming a header of the message refused (copies would be removed)" \
    refused ctxrcv "ctxrcv.conf:5: option 'context_variable': 'Received' is a header of the message itself"

man=$SM_TOP/man/scanmilter.conf.5
check "scanmilter.conf(5) has the antispam scope" grep -q '^\.SS "antispam \\(dqNAME\\(dq' "$man"
check "scanmilter.conf(5) puts rules in an antispam scope" \
    grep -q 'Options of the rules engine, in an antispam scope' "$man"

# ---- the daemon behind Postfix ------------------------------------------------

av_conf() {  # ON_ERROR
    cat <<EOF
antivirus "antivirus1" {
  action = "pass"
  tempfailure = 554
  on_error = "$1"
  clamav "clamav1" {
    database_directory = "$SIGS"
    context_variable = "clamav_status"
  }
  test "t1" { context_variable = "test_status" }
  clamav "clamav2" { database_directory = "$SIGS" }
}
EOF
}
SM_AV=$(av_conf tempfail) SM_MILTER_EXTRA="reload_mode = blocking" sm_start "$WD"
postfix_start "$WD" "unix:$SM_SOCK" milter_content_timeout=60s \
    'milter_end_of_data_macros=i {skip_virus_check}'
# a second smtpd service: this one tells the milter to skip scanning
PORT2=$(pick_port)
printf '%s inet n - n - - smtpd -o milter_macro_defaults=skip_virus_check=yes\n' "$PORT2" >>"$PF_CONF/master.cf"
timeout 20 postfix -c "$PF_CONF" reload >/dev/null 2>&1
wait_for_port 127.0.0.1 "$PORT2" 15 || log "postfix: nothing on $PORT2"

data_reply() { printf '%s\n' "$1" | grep -E '^<(-|\*\*) ' | grep -v ' 221 ' | tail -n 1 | sed -E 's/^<(-|\*\*) +//'; }
mk() {  # FILE HEADER-LINES... : a small clean message with extra headers
    local f=$WD/$1; shift
    { printf 'From: a@example.org\r\nTo: b@example.net\r\nSubject: seeds\r\n'
      for h in "$@"; do printf '%s\r\n' "$h"; done
      printf '\r\nhello\r\n'; } >"$f"
}
delivered() {  # N: the N-th delivered message's headers (waits)
    sink_wait_count "$1" 20 || return 1
    sink_headers "$(sink_files | sed -n "${1}p")"
}

mk clean.eml
mk forged.eml 'clamav_status: infected' 'clamav_status_info: Forged' 'test_status: error'
mk error.eml 'X-Test-Verdict: error'
mk slow.eml 'X-Test-Delay: 4s'

out=$("$CTL" -s "$SM_CTL" version antivirus1 2>&1)
check "version antivirus1: Momentum's three lines" \
    bash -c 'printf "%s\n" "$1" | grep -q "^AV scanner version number: ClamAV [0-9]" &&
             printf "%s\n" "$1" | grep -q "^AV definitions version: 3 signatures$" &&
             printf "%s\n" "$1" | grep -Eq "^Up to date: (yes|no)$"' _ "$out"
check "... for each engine of the instance (clamav1, t1, clamav2)" \
    bash -c '[ "$(printf "%s\n" "$1" | grep -c "^Up to date: ")" = 3 ] &&
             printf "%s\n" "$1" | grep -q "^antivirus1: test \"t1\"$"' _ "$out"
check "Momentum's form 'antivirus:antivirus1 version' answers the same" \
    bash -c '[ "$("$1" -s "$2" antivirus:antivirus1 version 2>&1)" = "$3" ]' _ "$CTL" "$SM_CTL" "$out"
out=$("$CTL" -s "$SM_CTL" --json version antivirus1 2>&1)
check "--json version antivirus1" bash -c 'printf "%s" "$1" | python3 -c "
import json, sys
d = json.load(sys.stdin)
assert d[\"instance\"] == \"antivirus1\" and len(d[\"engines\"]) == 3
assert d[\"engines\"][0][\"definitions_version\"] == \"3 signatures\"
assert isinstance(d[\"engines\"][0][\"up_to_date\"], bool)"' _ "$out"
"$CTL" -s "$SM_CTL" version nosuch >"$WD/ctl.out" 2>&1; rc=$?
check "version of an unknown instance: exit 2 and says so" \
    bash -c '[ "$1" = 2 ] && grep -q "no antivirus or antispam instance \"nosuch\"" "$2"' _ "$rc" "$WD/ctl.out"

# clean: no per-engine header
out=$(smtp_send sender@example.org r1@example.net "$WD/clean.eml") || true
hdrs=$(delivered 1)
check "clean: delivered, X-Virus-Status: Clean" bash -c 'printf "%s\n" "$1" | grep -qx "X-Virus-Status: Clean"' _ "$hdrs"
check "clean: no clamav_status or test_status header" \
    bash -c '! printf "%s\n" "$1" | grep -Eiq "^(clamav|test)_status"' _ "$hdrs"
# forged copies are removed
out=$(smtp_send sender@example.org r1@example.net "$WD/forged.eml") || true
hdrs=$(delivered 2)
check "forged clamav_status/test_status headers removed on clean mail" \
    bash -c '! printf "%s\n" "$1" | grep -Eiq "^(clamav|test)_status"' _ "$hdrs"
# EICAR (action pass): only the engine with context_variable that found it
out=$(smtp_send sender@example.org r1@example.net "$MAIL/eicar-plain.eml") || true
hdrs=$(delivered 3)
check "EICAR: clamav_status: infected" bash -c 'printf "%s\n" "$1" | grep -qx "clamav_status: infected"' _ "$hdrs"
check "EICAR: clamav_status_info: the virus name" \
    bash -c 'printf "%s\n" "$1" | grep -qx "clamav_status_info: Scanmilter.Test.EICAR.UNOFFICIAL"' _ "$hdrs"
check "EICAR: no test_status (that engine found nothing), one clamav_status" \
    bash -c '! printf "%s\n" "$1" | grep -qi "^test_status" && [ "$(printf "%s\n" "$1" | grep -c "^clamav_status:")" = 1 ]' _ "$hdrs"
# a scan error under tempfailure = 554: refused for good
out=$(smtp_send sender@example.org r1@example.net "$WD/error.eml") || true
reply=$(data_reply "$out")
check "scan error with tempfailure = 554: $reply" \
    bash -c '[[ "$1" == "554 5.3.0 Message could not be scanned" ]]' _ "$reply"
# two recipients in the log line
out=$(smtp_send sender@example.org r1@example.net,r2@example.net "$WD/clean.eml") || true
sink_wait_count 4 20
check "log line lists the recipients (quoted: the list has a comma)" wait_until 5 sm_log_has 'rcpts=2, to="<r1@example.net>,<r2@example.net>", size='
# skip_variable from a master.cf service
out=$(smtp_send -p "$PORT2" sender@example.org r1@example.net "$MAIL/eicar-plain.eml") || true
hdrs=$(delivered 5)
check "EICAR through the service with milter_macro_defaults: Skipped" \
    bash -c 'printf "%s\n" "$1" | grep -q "^X-Virus-Status: Skipped (skip_virus_check"' _ "$hdrs"
check "... and not scanned (no clamav_status)" bash -c '! printf "%s\n" "$1" | grep -qi "^clamav_status"' _ "$hdrs"
out=$(smtp_send sender@example.org r1@example.net "$MAIL/eicar-plain.eml") || true
hdrs=$(delivered 6)
check "EICAR through the main service: still Infected" \
    bash -c 'printf "%s\n" "$1" | grep -q "^X-Virus-Status: Infected"' _ "$hdrs"

# engine failure with on_error = accept: the engine's header says error
SM_AV=$(av_conf accept) SM_MILTER_EXTRA="reload_mode = blocking" sm_write_conf "$WD" >"$SM_CONF"
n0=$(grep -c 'configuration and signatures from' "$SM_LOG")
kill -HUP "$SM_PID"
wait_until 30 bash -c '[ "$(grep -c "configuration and signatures from" "$1")" -gt "$2" ]' _ "$SM_LOG" "$n0"
out=$(smtp_send sender@example.org r1@example.net "$WD/error.eml") || true
hdrs=$(delivered 7)
check "engine error, on_error = accept: test_status: error" \
    bash -c 'printf "%s\n" "$1" | grep -qx "test_status: error"' _ "$hdrs"
check "... test_status_info says why; clamav_status absent (it found nothing)" \
    bash -c 'printf "%s\n" "$1" | grep -Eq "^test_status_info: .+" && ! printf "%s\n" "$1" | grep -qi "^clamav_status"' _ "$hdrs"

# mail during a blocking reload gets the tempfailure code (554), not 451
smtp_send sender@example.org r1@example.net "$WD/slow.eml" >"$WD/slow.out" 2>&1 &
slow=$!
sleep 1.5	# its scan (4 s) has begun
n0=$(grep -c 'reload (SIGHUP): reading' "$SM_LOG")
kill -HUP "$SM_PID"
wait_until 10 bash -c '[ "$(grep -c "reload (SIGHUP): reading" "$1")" -gt "$2" ]' _ "$SM_LOG" "$n0"
out=$(smtp_send sender@example.org r1@example.net "$WD/clean.eml") || true
check "during a blocking reload: 554 5.3.2 (tempfailure), no retry asked" \
    bash -c 'printf "%s\n" "$1" | grep -Eq "^<\*\* +554 5.3.2 Mail scanner reloading its signatures$"' _ "$out"
wait "$slow"
check "the message in flight across the reload was delivered" \
    bash -c 'grep -Eq "^<- +250 2.0.0 Ok: queued" "$1"' _ "$WD/slow.out"

check "the daemon stops cleanly" sm_stop
check "nothing left under file_base" sm_tmp_empty
check "Postfix logged the milter's 554 reject" grep -Eq "milter-reject: END-OF-MESSAGE .*: 5.3.0 Message could not be scanned" "$WD/postfix/maillog"
finish
