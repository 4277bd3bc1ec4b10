#!/usr/bin/env bash
# Logging that the journal understands: when stderr is the journal
# (JOURNAL_STREAM names its device and inode, as systemd sets it), every
# line starts with its syslog priority "<N>", so `journalctl -p warning`
# sees severities; otherwise lines read "scanmilter: LEVEL: text".
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
        JOURNAL_STREAM=$(stat -c '%d:%i' "$WD/j/scanmilter.log") sm_start "$WD/$how"
    else
        sm_start "$WD/$how"
    fi
    send "$SM_TOP/t/data/mail/clean-plain.eml"
    sm_stop
    L=$WD/$how/scanmilter.log
    check "$how: 'scanmilter: LEVEL:' lines" grep -q '^scanmilter: info: .*verdict=clean' "$L"
    check "$how: no priority prefixes" bash -c "! grep -q '^<[0-7]>' '$L'"
done

# 3. a refused start is an error (<3>) in the journal
: >"$WD/refused.log"
JOURNAL_STREAM=$(stat -c '%d:%i' "$WD/refused.log") \
    timeout 30 "$SCANMILTER" -f -c "$WD/nonexistent.conf" 2>>"$WD/refused.log"
check "refused start: exit status not 0" [ $? -ne 0 ]
check "refused start: the reason is an error (<3>)" \
    grep -q "^<3>$WD/nonexistent.conf: " "$WD/refused.log"

finish
