#!/usr/bin/env bash
# The command line: `scanmilter scan` over the test corpus gives the verdict
# t/data/mail/EXPECTED lists and the documented exit status; `-t` accepts
# the shipped configs and refuses broken ones naming file, line and option.
set -u
. "$(dirname "$0")/../lib/scanmilter.sh"

WD=$(mktemp -d /tmp/sm-cli.XXXXXX)
trap 'rm -rf "$WD"' EXIT
mkdir -p "$WD/run" "$WD/tmp"
SM_TMP=$WD/tmp
sm_write_conf "$WD" >"$WD/ok.conf"

while IFS=$'\t' read -r file verdict name; do
    case "$file" in ''|'#'*) continue ;; esac
    out=$("$SCANMILTER" scan -c "$WD/ok.conf" "$SM_TOP/t/data/mail/$file" 2>&1); rc=$?
    if [ "$verdict" = clean ]; then
        want="$SM_TOP/t/data/mail/$file: clean"; want_rc=0
    else
        want="$SM_TOP/t/data/mail/$file: $verdict ($name)"; want_rc=1
    fi
    if [ "$(printf '%s\n' "$out" | head -n 1)" = "$want" ] && [ $rc = $want_rc ]; then
        ok "scan $file: $verdict"
    else
        not_ok "scan $file: wanted '$want' rc $want_rc, got rc $rc"
        printf '%s\n' "$out" | sed 's/^/#   /'
    fi
done <"$SM_TOP/t/data/mail/EXPECTED"

out=$("$SCANMILTER" scan -c "$WD/ok.conf" "$SM_TOP/t/data/mail/clean-plain.eml")
check "scan prints the reply and both headers of a clean message" \
    bash -c "printf '%s\n' \"\$1\" | grep -qx '  reply: accept' &&
             printf '%s\n' \"\$1\" | grep -qx '  header: X-Virus-Scanned: scanmilter [0-9.]* on scanner.test' &&
             printf '%s\n' \"\$1\" | grep -qx '  header: X-Virus-Status: Clean'" _ "$out"
out=$("$SCANMILTER" scan -c "$WD/ok.conf" "$SM_TOP/t/data/mail/eicar-attach.eml")
check "scan prints the 550 reply of an infected message" \
    bash -c "printf '%s\n' \"\$1\" | grep -qx '  reply: 550 5.7.1 Virus found: Scanmilter.Test.EICAR.UNOFFICIAL'" _ "$out"
"$SCANMILTER" scan -c "$WD/ok.conf" /nonexistent.eml >/dev/null 2>&1
check "scan of a missing file exits 2" [ $? = 2 ]
"$SCANMILTER" scan -c "$WD/ok.conf" "$SM_TOP/t/data/mail/clean-plain.eml" \
    "$SM_TOP/t/data/mail/eicar-plain.eml" >/dev/null 2>&1
check "scan of clean + infected exits 1" [ $? = 1 ]
out=$("$SCANMILTER" scan -c "$WD/ok.conf" - <"$SM_TOP/t/data/mail/eicar-attach.eml"); rc=$?
check "scan - reads the message from standard input: $(head -n 1 <<<"$out"), rc $rc" \
    bash -c "[ $rc = 1 ] && [ \"\$(head -n 1 <<<\"\$1\")\" = '-: infected (Scanmilter.Test.EICAR.UNOFFICIAL)' ]" _ "$out"
out=$(cat "$SM_TOP/t/data/mail/clean-plain.eml" | "$SCANMILTER" scan -c "$WD/ok.conf" -); rc=$?
check "scan - from a pipe: clean, rc $rc" bash -c "[ $rc = 0 ] && [ \"\$(head -n 1 <<<\"\$1\")\" = '-: clean' ]" _ "$out"
out=$("$SCANMILTER" scan -c "$WD/ok.conf" --json "$SM_TOP/t/data/mail/clean-plain.eml" - \
    /nonexistent.eml <"$SM_TOP/t/data/mail/eicar-attach.eml" 2>/dev/null); rc=$?
log "$(head -c 600 <<<"$out")"
check "scan --json: one JSON object per file, rc $rc (the worst)" python3 -c '
import json, sys
objs = [json.loads(l) for l in sys.argv[1].splitlines()]
assert len(objs) == 3, objs
c, v, e = objs
assert c["verdict"] == "clean" and c["reply"] == "accept" and c["status"] == 0, c
assert {"name": "X-Virus-Status", "value": "Clean"} in c["headers"], c
assert v["file"] == "-" and v["verdict"] == "infected" and v["status"] == 1, v
assert v["name"] == "Scanmilter.Test.EICAR.UNOFFICIAL" and v["reply"] == "reject", v
assert (v["code"], v["xcode"]) == ("550", "5.7.1") and v["headers"] == [], v
assert e["file"] == "/nonexistent.eml" and e["status"] == 2, e
assert int(sys.argv[2]) == 2
' "$out" "$rc"
cat >"$WD/quote.conf" <<CONF
$(sed '/^antivirus/,$d' "$WD/ok.conf")
antivirus "antivirus1" { action = pass  clamav "clamav1" { database_directory = "$SM_TOP/t/data/sigs" } }
CONF
out=$("$SCANMILTER" scan -c "$WD/quote.conf" --json - <<<"$(printf 'Subject: "q\\\tx\n\nhi\n')")
check "scan --json of stdin with a quote and control bytes in nothing breaks: valid JSON" \
    python3 -c 'import json, sys; json.loads(sys.argv[1])' "$out"
check "no temporary file left by scan" sm_tmp_empty

check "-t accepts the bundled run config" "$SCANMILTER" -t -c "$SM_TOP/etc/scanmilter-run.conf"
check "-t accepts the example config's syntax" bash -c \
    "sed 's|/var/lib/clamav|$SM_TOP/t/data/sigs|; s|#file_base = \"/var/tmp/scanmilter\"|file_base = \"$WD/tmp\"|; s|^  user = .*||' '$SM_TOP/etc/scanmilter.conf' >'$WD/example.conf' && '$SCANMILTER' -t -c '$WD/example.conf'"

check "etc/scanmilter.conf is what 'scanmilter options --config' prints" \
    bash -c "'$SCANMILTER' options --config | diff -u - '$SM_TOP/etc/scanmilter.conf'"

bad() {  # DESC WANT CONFIG-TEXT
    printf '%s\n' "$3" >"$WD/bad.conf"
    out=$("$SCANMILTER" -t -c "$WD/bad.conf" 2>&1); rc=$?
    if [ $rc != 0 ] && printf '%s\n' "$out" | grep -qF "$2"; then
        ok "-t refuses $1"
    else
        not_ok "-t refuses $1: rc $rc, output: $out"
    fi
}
bad "an unknown option" "$WD/bad.conf:2: option 'colour': unknown in antivirus" \
    $'antivirus "a" {\n  colour = blue\n  clamav "c" { } }'
bad "a bad duration" "$WD/bad.conf:3: option 'max_scan_time': expected a duration" \
    $'antivirus "a" {\n  clamav "c" {\n    max_scan_time = soon } }'
bad "a missing database" "engine clamav \"c\": cannot load signatures from $WD/nodb" \
    $'milter { file_base = "'"$WD/tmp"$'" }\nantivirus "a" {\n  clamav "c" { database_directory = "'"$WD/nodb"$'" } }'
mkdir -p "$WD/emptydb"
bad "an empty database directory" "cannot load signatures from $WD/emptydb" \
    $'milter { file_base = "'"$WD/tmp"$'" }\nantivirus "a" {\n  clamav "c" { database_directory = "'"$WD/emptydb"$'" } }'
many=$(for i in $(seq 1 17); do
    printf 'antivirus "a%s" { scanned_header = "X-S%s"  status_header = "X-V%s"\n' $i $i $i
    printf '  clamav "c%s" { database_directory = "%s" } }\n' $i "$SM_TOP/t/data/sigs"
done)
bad "more tagging instances than it can tag for" \
    "$WD/bad.conf:33: option 'add_headers': more than 16 scanning instances add headers" "$many"
"$SCANMILTER" -f -c "$WD/bad.conf" >/dev/null 2>&1
check "the daemon refuses to start on a bad config" [ $? != 0 ]
finish
