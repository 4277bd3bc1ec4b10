#!/usr/bin/env bash
# Logging that the journal understands: when stderr is the journal
# (JOURNAL_STREAM names its device and inode, as systemd sets it), every
# line starts with its syslog priority "<N>", so `journalctl -p warning`
# sees severities; otherwise lines read "scanmilter: LEVEL: text".  With
# log_level = debug each scan also logs its timeline (parse, key, submit,
# queue, scan, handback, rest), stages that add up to its total.
set -u
. "$(dirname "$0")/../lib/scanmilter.sh"

WD=$(mktemp -d /tmp/sm-logging.XXXXXX)
trap 'sm_stop; rm -rf "$WD"' EXIT
sm_need_built "$MILTERGEN"

send() { timeout 30 "$MILTERGEN" -s "unix:$SM_SOCK" -c 1 -n 1 "$1" >/dev/null; }

# 1. stderr is the journal
mkdir -p "$WD/j"
: >"$WD/j/scanmilter.log"
JOURNAL_STREAM=$(stat -c '%d:%i' "$WD/j/scanmilter.log") sm_start "$WD/j"
send "$SM_TOP/t/data/mail/clean-plain.eml"
send "$SM_TOP/t/data/mail/eicar-plain.eml"
sm_stop
L=$WD/j/scanmilter.log
check "journal: 'listening' is info (<6>)" grep -q '^<6>scanmilter .* listening on ' "$L"
check "journal: 'running as root' is a warning (<4>)" grep -q '^<4>running as root' "$L"
check "journal: a clean message is info (<6>)" grep -q '^<6>.*verdict=clean' "$L"
check "journal: an infected message is a notice (<5>)" grep -q '^<5>.*verdict=infected' "$L"
check "journal: every line has a priority ($(grep -cv '^<[0-7]>' "$L") without)" \
    bash -c "! grep -qv '^<[0-7]>' '$L'"

# 2. plain stderr, and a JOURNAL_STREAM that names another file
for how in plain other; do
    mkdir -p "$WD/$how"
    : >"$WD/$how/scanmilter.log"
    if [ $how = other ]; then
        JOURNAL_STREAM=$(stat -c '%d:%i' "$WD/j/scanmilter.log") SM_LOG_LEVEL=info \
            sm_start "$WD/$how"
    else
        SM_LOG_LEVEL=info sm_start "$WD/$how"
    fi
    send "$SM_TOP/t/data/mail/clean-plain.eml"
    sm_stop
    L=$WD/$how/scanmilter.log
    check "$how: 'scanmilter: LEVEL:' lines" grep -q '^scanmilter: info: .*verdict=clean' "$L"
    check "$how: no priority prefixes" bash -c "! grep -q '^<[0-7]>' '$L'"
    check "$how: no timeline at log_level info" bash -c "! grep -q ' timeline ' '$L'"
done

# 3. log_level = debug: a timeline per scanned message, whole and
# decomposed, its stages none negative and within the total
for mode in no yes; do
    mkdir -p "$WD/debug-$mode"
    : >"$WD/debug-$mode/scanmilter.log"
    SM_AV='antivirus "antivirus1" {
  mime_decompose = '$mode'
  clamav "clamav1" { database_directory = "'"$SM_TOP/t/data/sigs"'" }
}' sm_start "$WD/debug-$mode"
    send "$SM_TOP/t/data/mail/clean-attach.eml"
    send "$SM_TOP/t/data/mail/eicar-zip.eml"
    sm_stop
    L=$WD/debug-$mode/scanmilter.log
    grep ' timeline ' "$L" | sed 's/^/#   /'
    check "mime_decompose = $mode: a timeline line for each of the 2 messages" \
        test "$(grep -c 'debug: [0-9A-F]*: timeline parse=[0-9.]* key=[0-9.]* submit=[0-9.]* queue=[0-9.]* scan=[0-9.]* handback=[0-9.]* rest=-\?[0-9.]* total=[0-9.]* ms, [0-9]* pooled task(s)' "$L")" = 2
    check "mime_decompose = $mode: the stages add up to the total (rest >= 0)" \
        bash -c "! grep ' timeline ' '$L' | grep -q 'rest=-0\.0*[1-9]'"
    check "mime_decompose = $mode: the scan took time (scan > 0)" \
        bash -c "grep ' timeline ' '$L' | grep -q 'scan=[0-9]*\.[0-9]*[1-9]'"
done
check "decomposed: the attachment is a second pooled task" \
    grep -q 'total=.* 2 pooled task(s)' "$WD/debug-yes/scanmilter.log"

# 4. a refused start is an error (<3>) in the journal
: >"$WD/refused.log"
JOURNAL_STREAM=$(stat -c '%d:%i' "$WD/refused.log") \
    timeout 30 "$SCANMILTER" -f -c "$WD/nonexistent.conf" 2>>"$WD/refused.log"
check "refused start: exit status not 0" [ $? -ne 0 ]
check "refused start: the reason is an error (<3>)" \
    grep -q "^<3>$WD/nonexistent.conf: " "$WD/refused.log"

finish
