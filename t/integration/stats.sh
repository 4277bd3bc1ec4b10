#!/usr/bin/env bash
# Per-instance statistics through the real daemon, with an antivirus
# instance (clamav, mime_decompose), an anti-spam instance (rules) and a
# slow instance (test engine, 600 ms a scan) side by side:
#  - 2 EICAR messages, 1 spam and 1 clean message sent with miltergen: each
#    instance counts its own engines' verdicts (the anti-spam instance
#    detects no virus, the antivirus instance no spam), its own MIME parts,
#    its own time (the fast instances are not charged the slow one's
#    600 ms; the time per MIME part is the time of the part scans, a part
#    that timed out still queued costing none);
#  - the same numbers in `scanmilterctl stats`, its --json and /metrics;
#  - each instance's own reply: strip (with "Viruses cured"), quarantine and
#    discard shown per instance in the console and in
#    scanmilter_replies_total{reply=...}; a reload keeps the counters;
#  - a virus under action = tempfail counts as a tempfail of the action,
#    not as a scan error, nor as a timeout the instance accepted; so does
#    a message too large under oversize_action = tempfail.
set -u
. "$(dirname "$0")/../lib/scanmilter.sh"

SCANMILTER=${SCANMILTER_TEST_PLAIN:-$SM_TOP/build/t/scanmilter-test}
CTL=${SCANMILTERCTL:-$SM_TOP/build/src/scanmilterctl}
[ -x "$SCANMILTER" ] || fail "no $SCANMILTER (make -C build t/scanmilter-test)"
sm_need_built "$MILTERGEN"
[ -x "$CTL" ] || fail "no $CTL (make all first)"
command -v curl >/dev/null || fail "curl is missing (make deps)"

plan 57
WD=$(mktemp -d /tmp/sm-stats.XXXXXX)
trap 'sm_stop; [ -n "${KEEP:-}" ] || rm -rf "$WD"' EXIT
chmod 755 "$WD"
MAIL=$SM_TOP/t/data/mail
SPAM=$SM_TOP/t/data/rules/mail/spam-lottery.eml
PORT=$(pick_port)

ctl() { "$CTL" -s "unix:$SM_CTL" "$@"; }
stat_of() {  # LABEL COL INSTANCE -> the value
    ctl stats "$3" | sed -n "s|^  $1: *||p" | awk -v c="$2" '{ print $c }'
}
scrape() { curl -sf --max-time 5 "http://127.0.0.1:$PORT/metrics" >"$WD/metrics.txt"; }
metric() { awk -v k="$1" '$1 == k { print $2 }' "$WD/metrics.txt"; }
send() {  # FILE -> the RESULT line
    timeout 60 "$MILTERGEN" -s "unix:$SM_SOCK" -c 1 -n 1 -t 30 "$1" | grep '^RESULT'
}
is() {  # WHAT GOT WANT
    [ "$2" = "$3" ] || { log "$1: got '$2', want '$3'"; return 1; }
}
ms_below() {  # "12.345ms" LIMIT
    [[ $1 =~ ^([0-9]+)\.[0-9]{3}ms$ ]] && [ "${BASH_REMATCH[1]}" -lt "$2" ] ||
        { log "time '$1' not below ${2}ms"; return 1; }
}
ms_atleast() {  # "612.345ms" LIMIT
    [[ $1 =~ ^([0-9]+)\.[0-9]{3}ms$ ]] && [ "${BASH_REMATCH[1]}" -ge "$2" ] ||
        { log "time '$1' not at least ${2}ms"; return 1; }
}

instances() {  # AV_ACTION SPAM_ACTION
    cat <<EOF
antivirus "antivirus1" {
  action = "$1"
  mime_decompose = yes
  clamav "clamav1" { database_directory = "$SM_TOP/t/data/sigs" }
}
antispam "antispam1" {
  action = "$2"
  rules "rules1" {
    config_path = "$SM_TOP/etc/rules.xml"
    schema_path = "$SM_TOP/etc/rules.rng"
  }
}
antivirus "slow1" {
  mime_decompose = no
  test "t1" { delay = 600ms }
}
EOF
}

EXTRA="metrics { listen = \"127.0.0.1:$PORT\" }
control { listen = \"unix:$WD/d/run/control.sock\"  reload_interval = 0 }"
SM_AV=$(instances reject pass) sm_start "$WD/d" "$EXTRA"

# ---- 1. verdicts, parts and time per instance ------------------------------
r1=$(send "$MAIL/eicar-plain.eml"); r2=$(send "$MAIL/eicar-zip.eml")
r3=$(send "$SPAM"); r4=$(send "$MAIL/clean-plain.eml")
check "2 EICAR rejected, spam and clean accepted" bash -c \
    "grep -q ' reject=1 ' <<<'$r1' && grep -q ' reject=1 ' <<<'$r2' &&
     grep -q ' accept=1 ' <<<'$r3' && grep -q ' accept=1 ' <<<'$r4'"
ctl stats | sed 's/^/#   /'
for i in antivirus1 antispam1 slow1; do
    check "$i: 4 messages checked" is "$i messages" "$(stat_of 'Messages checked' 1 $i)" 4
done
check "antivirus1: 2 viruses detected" is viruses "$(stat_of 'Viruses detected' 1 antivirus1)" 2
check "antivirus1: no spam detected" is spam "$(stat_of 'Spam detected' 1 antivirus1)" 0
check "antivirus1: 2 infected, 2 clean" bash -c \
    "[ '$(stat_of Infected 1 antivirus1)' = 2 ] && [ '$(stat_of Clean 1 antivirus1)' = 2 ]"
check "antivirus1: 2 rejects, 2 accepts" bash -c \
    "[ '$(stat_of Rejects 1 antivirus1)' = 2 ] && [ '$(stat_of Accepts 1 antivirus1)' = 2 ]"
check "antispam1: no virus detected" is viruses "$(stat_of 'Viruses detected' 1 antispam1)" 0
check "antispam1: 1 spam detected" is spam "$(stat_of 'Spam detected' 1 antispam1)" 1
check "antispam1: 1 infected (spam), 3 clean" bash -c \
    "[ '$(stat_of Infected 1 antispam1)' = 1 ] && [ '$(stat_of Clean 1 antispam1)' = 3 ]"
check "antispam1: tagged all 4 (its own reply: no reject)" bash -c \
    "[ '$(stat_of Rejects 1 antispam1)' = 0 ] && [ '$(stat_of Accepts 1 antispam1)' = 4 ]"
check "slow1: 4 clean, no virus" bash -c \
    "[ '$(stat_of Clean 1 slow1)' = 4 ] && [ '$(stat_of 'Viruses detected' 1 slow1)' = 0 ]"
av_parts=$(stat_of 'MIME parts checked' 1 antivirus1)
check "antivirus1: the zip attachment counted as its one MIME part" is parts "$av_parts" 1
check "antispam1 (whole-message engine): no MIME part" is parts "$(stat_of 'MIME parts checked' 1 antispam1)" 0
check "slow1 (mime_decompose = no): no MIME part" is parts "$(stat_of 'MIME parts checked' 1 slow1)" 0
check "antispam1: no time per MIME part ('-')" is avg "$(stat_of 'Avg. time/MIME part' 1 antispam1)" -
check "slow1: its own 600 ms scans" ms_atleast "$(stat_of 'Avg. time/message' 1 slow1)" 600
check "antivirus1: not charged slow1's time" ms_below "$(stat_of 'Avg. time/message' 1 antivirus1)" 400
check "antispam1: not charged slow1's time" ms_below "$(stat_of 'Avg. time/message' 1 antispam1)" 400
check "antivirus1: time per MIME part is the part scans' time" \
    ms_below "$(stat_of 'Avg. time/MIME part' 1 antivirus1)" 400

ctl --json stats >"$WD/stats.json"
check "--json: the same numbers per instance" python3 -c '
import json, sys
d = {i["name"]: i["since_start"] for i in json.load(open(sys.argv[1]))["instances"]}
assert d["antivirus1"]["viruses"] == 2 and d["antivirus1"]["spam"] == 0, d
assert d["antispam1"]["viruses"] == 0 and d["antispam1"]["spam"] == 1, d
assert d["antispam1"]["mime_parts"] == 0 and d["antispam1"]["avg_ms_mime_part"] is None, d
assert d["slow1"]["avg_ms_message"] >= 600 > d["antispam1"]["avg_ms_message"], d' "$WD/stats.json"

check "metrics scraped" scrape
m() { metric "scanmilter_$1{scanner=\"$2\"${3:+,$3}}"; }
check "metrics: viruses_total antivirus1 2, antispam1 0" bash -c \
    "[ '$(m viruses_total antivirus1)' = 2 ] && [ '$(m viruses_total antispam1)' = 0 ]"
check "metrics: spam_total antivirus1 0, antispam1 1" bash -c \
    "[ '$(m spam_total antivirus1)' = 0 ] && [ '$(m spam_total antispam1)' = 1 ]"
check "metrics: verdicts of antispam1 (1 infected, 3 clean)" bash -c \
    "[ '$(m verdicts_total antispam1 'verdict="infected"')' = 1 ] && [ '$(m verdicts_total antispam1 'verdict="clean"')' = 3 ]"
check "metrics: replies of antispam1 (4 accept, 0 reject)" bash -c \
    "[ '$(m replies_total antispam1 'reply="accept"')' = 4 ] && [ '$(m replies_total antispam1 'reply="reject"')' = 0 ]"
check "metrics: mime_parts_total as the console" bash -c \
    "[ '$(m mime_parts_total antivirus1)' = '$av_parts' ] && [ '$(m mime_parts_total antispam1)' = 0 ]"
check "metrics: scan seconds of slow1 >= 2.4 s, of antispam1 < 1.6 s" python3 -c '
import sys
v = {}
for l in open(sys.argv[1]):
    if l.startswith("scanmilter_message_scan_seconds_sum{"):
        v[l.split("\"")[1]] = float(l.split()[1])
assert v["slow1"] >= 2.4 and v["antispam1"] < 1.6 and v["antivirus1"] < 1.6, v' "$WD/metrics.txt"
check "metrics: part scan seconds of antispam1 0" is parts_s "$(m mime_part_scan_seconds_total antispam1)" 0.000000

# ---- 2. strip, quarantine and discard, per instance -------------------------
SM_AV=$(instances strip quarantine) sm_write_conf "$WD/d" "$EXTRA" >"$SM_CONF"
check "reload: antivirus1 strips, antispam1 quarantines" bash -c "'$CTL' -s '$SM_CTL' reload | grep -q '^reloaded'"
check "stats reset" bash -c "'$CTL' -s '$SM_CTL' stats reset | grep -q 'for 3 instances'"
r1=$(send "$MAIL/eicar-zip.eml"); r2=$(send "$SPAM")
check "EICAR zip attachment stripped (accepted, body replaced)" grep -q ' accept=1 ' <<<"$r1"
check "spam quarantined" grep -q ' quarantined=1 ' <<<"$r2"
SM_AV=$(instances discard quarantine) sm_write_conf "$WD/d" "$EXTRA" >"$SM_CONF"
ctl reload >/dev/null
r3=$(send "$MAIL/eicar-plain.eml")
check "EICAR discarded" grep -q ' discard=1 ' <<<"$r3"
ctl stats | sed 's/^/#   /'
check "antivirus1: Strips 1, Viruses cured 1, Discards 1 (since reset)" bash -c \
    "[ '$(stat_of Strips 2 antivirus1)' = 1 ] && [ '$(stat_of 'Viruses cured' 2 antivirus1)' = 1 ] &&
     [ '$(stat_of Discards 2 antivirus1)' = 1 ]"
check "antivirus1: the spam was its accept (no quarantine)" bash -c \
    "[ '$(stat_of Quarantines 2 antivirus1)' = 0 ] && [ '$(stat_of Accepts 2 antivirus1)' = 1 ]"
check "antispam1: Quarantines 1, no strip, discard or cure" bash -c \
    "[ '$(stat_of Quarantines 2 antispam1)' = 1 ] && [ '$(stat_of Strips 2 antispam1)' = 0 ] &&
     [ '$(stat_of Discards 2 antispam1)' = 0 ] && [ '$(stat_of 'Viruses cured' 2 antispam1)' = 0 ]"
check "since start kept over two reloads: antivirus1 7 messages" is messages "$(stat_of 'Messages checked' 1 antivirus1)" 7
ctl --json stats >"$WD/stats2.json"
check "--json: strips, discards, quarantines" python3 -c '
import json, sys
d = {i["name"]: i["since_reset"] for i in json.load(open(sys.argv[1]))["instances"]}
assert (d["antivirus1"]["strips"], d["antivirus1"]["discards"], d["antivirus1"]["quarantines"]) == (1, 1, 0), d
assert (d["antispam1"]["strips"], d["antispam1"]["discards"], d["antispam1"]["quarantines"]) == (0, 0, 1), d' "$WD/stats2.json"
check "metrics scraped" scrape
check "metrics: replies_total strip, discard, quarantine per instance" bash -c \
    "[ '$(m replies_total antivirus1 'reply="strip"')' = 1 ] && [ '$(m replies_total antivirus1 'reply="discard"')' = 1 ] &&
     [ '$(m replies_total antispam1 'reply="quarantine"')' = 1 ] && [ '$(m replies_total antispam1 'reply="strip"')' = 0 ]"
check "metrics: viruses_cured_total antivirus1 1, antispam1 0" bash -c \
    "[ '$(m viruses_cured_total antivirus1)' = 1 ] && [ '$(m viruses_cured_total antispam1)' = 0 ]"
check "metrics: replies of antivirus1 add up to its messages" python3 -c '
import sys
n = t = 0
for l in open(sys.argv[1]):
    if l.startswith("scanmilter_replies_total{scanner=\"antivirus1\""): n += int(l.split()[1])
    if l.startswith("scanmilter_messages_total{scanner=\"antivirus1\"}"): t = int(l.split()[1])
assert n == t == 7, (n, t)' "$WD/metrics.txt"
# INSTANCE COLUMN OTHER: one tempfail of the action and none for the
# reason OTHER, in the console (COLUMN 1: since start, 2: since reset)
# and in the metrics
action_tempfail() {
    check "$1: Tempfails (action) 1, Tempfails ($3) 0" bash -c \
        "[ '$(stat_of 'Tempfails (action)' "$2" "$1")' = 1 ] && [ '$(stat_of "Tempfails ($3)" "$2" "$1")' = 0 ]"
    scrape
    check "metrics: $1 tempfails_total reason=action 1, reason=$3 0" bash -c \
        "[ '$(m tempfails_total "$1" 'reason="action"')' = 1 ] && [ '$(m tempfails_total "$1" "reason=\"$3\"")' = 0 ]"
}
# a virus under action = tempfail is the action's tempfail, not an error
SM_AV=$(instances tempfail pass) sm_write_conf "$WD/d" "$EXTRA" >"$SM_CONF"
ctl reload >/dev/null
r4=$(send "$MAIL/eicar-plain.eml")
check "EICAR under action = tempfail: 451" grep -q ' tempfail=1 ' <<<"$r4"
action_tempfail antivirus1 2 error
# the reason is the one behind the tempfail: a timeout the instance
# accepts (on_error) and a virus it tempfails is the action's tempfail
SM_AV="$(instances tempfail pass)
antivirus \"mixed1\" {
  timeout = 1s
  on_error = accept
  test \"hang1\" { delay = 3s }
  test \"found1\" { verdict = infected  action = tempfail }
}" sm_write_conf "$WD/d" "$EXTRA" >"$SM_CONF"
ctl reload >/dev/null
r5=$(send "$MAIL/clean-plain.eml")
check "timeout accepted, virus under action = tempfail: 451" grep -q ' tempfail=1 ' <<<"$r5"
action_tempfail mixed1 1 timeout
# a message over max_message_size under oversize_action = tempfail is
# the action's tempfail too, not a scan error
SM_MILTER_EXTRA='max_message_size = 1K  oversize_action = tempfail' \
    SM_AV="$(instances tempfail pass)
antivirus \"big1\" { test \"t2\" { } }" sm_write_conf "$WD/d" "$EXTRA" >"$SM_CONF"
ctl reload >/dev/null
r6=$(send "$MAIL/clean-attach.eml")
check "over max_message_size, oversize_action = tempfail: 451" grep -q ' tempfail=1 ' <<<"$r6"
action_tempfail big1 1 error
# a part given up while it still waited for a thread cost no engine time:
# one thread, a message of 3 parts and its skeleton at 3 s a scan, 1 s
SM_AV="$(instances tempfail pass)
threadpool \"one\" { concurrency = 1  small_threads = 0 }
antivirus \"queued1\" {
  timeout = 1s
  on_error = accept
  mime_decompose = yes
  test \"hang2\" { delay = 3s  pool = \"one\" }
}" sm_write_conf "$WD/d" "$EXTRA" >"$SM_CONF"
ctl reload >/dev/null
send "$MAIL/clean-attach.eml" >/dev/null
scrape
qs=$(m mime_part_scan_seconds_total queued1)
log "queued1: part scan seconds $qs"
check "queued1: only the scan that ran is charged (part time < 1.5 s)" \
    awk -v s="$qs" 'BEGIN { exit !(s != "" && s < 1.5) }'
ctl --json stats >"$WD/stats3.json"
check "metrics: every counter of every instance as --json stats says" python3 -c '
import json, re, sys
con = {i["name"]: i["since_start"] for i in json.load(open(sys.argv[1]))["instances"]}
met = {}
for l in open(sys.argv[2]):
    m = re.match(r"(scanmilter_\w+)\{scanner=\"([^\"]+)\"(?:,\w+=\"([^\"]+)\")?\} (\S+)$", l)
    if m:
        met[(m.group(2), m.group(1), m.group(3))] = float(m.group(4))
plain = {"messages": "messages_total", "mime_parts": "mime_parts_total",
         "viruses": "viruses_total", "spam": "spam_total", "cured": "viruses_cured_total",
         "rejects": "rejects_total", "accepts": "accepts_total", "skipped": "skipped_total",
         "cache_hits": "cache_hits_total", "engine_scans": "engine_scans_total"}
tempf = {"tempfails_timeout": "timeout", "tempfails_busy": "busy", "tempfails_error": "error",
         "tempfails_action": "action"}
reply = {"accepts": "accept", "strips": "strip", "rejects": "reject", "tempfails": "tempfail",
         "discards": "discard", "quarantines": "quarantine"}
verdict = {"clean": "clean", "infected": "infected", "unscannable": "unscannable", "errors": "error"}
bad = []
for inst, c in con.items():
    want = [(k, ("scanmilter_" + v, None)) for k, v in plain.items()]
    want += [(k, ("scanmilter_replies_total", v)) for k, v in reply.items()]
    want += [(k, ("scanmilter_verdicts_total", v)) for k, v in verdict.items()]
    want += [(k, ("scanmilter_tempfails_total", v)) for k, v in tempf.items()]
    for k, (name, lab) in want:
        if met.get((inst, name, lab)) != c[k]:
            bad.append((inst, k, c[k], met.get((inst, name, lab))))
    s = met[(inst, "scanmilter_message_scan_seconds_sum", None)] * 1000
    if abs(s - c["avg_ms_message"] * c["messages"]) > 0.01 * c["messages"] + 0.01:
        bad.append((inst, "time", c["avg_ms_message"] * c["messages"], s))
assert not bad, bad' "$WD/stats3.json" "$WD/metrics.txt"
check "stopped cleanly" sm_stop
check "nothing left under file_base" sm_tmp_empty

finish
