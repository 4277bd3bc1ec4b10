#!/usr/bin/env bash
# MIME decomposition, the verdict cache, bypass detection, and the discard
# and quarantine actions, through `scanmilter scan`, the daemon and a real
# Postfix:
#  - every detection of whole-message scanning is also made with
#    mime_decompose (test corpus and the MIME corpus), and nothing clean
#    becomes infected;
#  - detect_bypass, behind an engine that finds nothing, flags every
#    crafted message in t/data/mime/bad with the Heuristics.Bypass name of
#    its construct, and none of the legal-but-unusual or real-world-shaped
#    ones in t/data/mime/good;
#  - a campaign (the same attachment in different messages) is scanned once
#    and then answered from the cache;
#  - action = quarantine puts the message in Postfix's hold queue, tagged;
#    action = discard accepts it and delivers nothing.
set -u
. "$(dirname "$0")/../lib/scanmilter.sh"
. "$(dirname "$0")/../lib/postfix.sh"

WD=$(mktemp -d /tmp/sm-mime.XXXXXX)
trap 'sm_stop; [ -n "${KEEP:-}" ] || rm -rf "$WD"' EXIT
mkdir -p "$WD/tmp"
chmod 755 "$WD"
conf() {  # FILE EXTRA-ANTIVIRUS-OPTIONS
    cat >"$1" <<CONF
milter { file_base = "$WD/tmp" }
antivirus "antivirus1" {
  $2
  clamav "clamav1" { database_directory = "$SM_TOP/t/data/sigs" }
}
CONF
}
conf "$WD/whole.conf" "mime_decompose = no"
conf "$WD/dec.conf" "mime_decompose = yes"
verdict() { "$SCANMILTER" scan -c "$1" "$2" 2>/dev/null | head -n 1 | sed 's/^[^:]*: //'; }

# 1. differential: whole-message scanning vs decomposition
files=$(ls "$SM_TOP"/t/data/mail/*.eml "$SM_TOP"/t/data/mime/good/*.eml "$SM_TOP"/t/data/mime/bad/*.eml)
n=0 same=0 infected=0 missed=0 extra=0 found=0
for f in $files; do
    w=$(verdict "$WD/whole.conf" "$f"); d=$(verdict "$WD/dec.conf" "$f")
    n=$((n + 1))
    case $w in infected*) infected=$((infected + 1)) ;; esac
    if [ "$w" = "$d" ]; then same=$((same + 1))
    elif [[ $w == infected* ]]; then missed=$((missed + 1)); log "missed with decomposition: $f ($w / $d)"
    elif [[ $d == infected* && $f == */bad/* ]]; then
        found=$((found + 1)); log "found only with decomposition (crafted to hide it): ${f##*/} ($d)"
    elif [[ $d == infected* ]]; then extra=$((extra + 1)); log "infected only with decomposition: $f ($w / $d)"
    fi
done
check "decomposition makes every whole-message detection ($infected of $n files; $missed missed)" [ "$missed" -eq 0 ]
check "decomposition calls no clean test or real-world message infected ($extra; $found more found in crafted ones)" [ "$extra" -eq 0 ]
out=$("$SCANMILTER" scan -c "$WD/dec.conf" "$SM_TOP/t/data/mail/eicar-zip.eml")
check "eicar-zip: the zip attachment is scanned as its own part" \
    bash -c "grep -q 'scans: 2 by engines, 0 from the cache, 1 of them on decoded parts' <<<'$out'"

# 2. bypass detection, with an engine that finds nothing (the test engine,
#    verdict clean), so only detect_bypass can flag a file: each crafted
#    message gets Heuristics.Bypass.<REASON>, REASON the lowest anomaly the
#    parser reports (src/pipeline/scan.c).  EXPECTED names each file's
#    construct; a few files carry a second one that comes first:
#      nul-in-header: the Content-Type cut by a NUL is followed by another
#        Content-Type (DUP_HEADER before CONTROL_CHARS);
#      control-in-cte: "base\v64" is also an unknown encoding (BAD_ENCODING).
#    Files known to get no bypass verdict go into BYPASS_GAPS (FILE:why):
#    they are counted as skips, never as passes.
BYPASS_FIRST="nul-in-header.eml:DUP_HEADER control-in-cte.eml:BAD_ENCODING"
BYPASS_GAPS=""
ORDER="DUP_HEADER BAD_BOUNDARY BAD_ENCODING ENCODING_NOT_ALLOWED PARTIAL DEPTH CONTROL_CHARS LIMIT AMBIGUOUS"
cat >"$WD/clean-engine.conf" <<CONF
milter { file_base = "$WD/tmp" }
antivirus "antivirus1" { mime_decompose = yes  test "t1" { verdict = clean } }
CONF
cat >"$WD/bypass-clean.conf" <<CONF
milter { file_base = "$WD/tmp" }
antivirus "antivirus1" { mime_decompose = yes  detect_bypass = yes  detect_bypass_limits = yes
  test "t1" { verdict = clean } }
CONF
# without detect_bypass_limits a message past a limit is only scanned whole
sed 's/detect_bypass_limits = yes//' "$WD/bypass-clean.conf" >"$WD/bypass-nolimits.conf"
for f in deep-nesting too-many-parts; do
    v=$("$SCANMILTER_TEST" scan -c "$WD/bypass-nolimits.conf" "$SM_TOP/t/data/mime/bad/$f.eml" 2>/dev/null)
    check "detect_bypass without detect_bypass_limits: $f is not flagged ($(head -n 1 <<<"$v" | sed 's/^[^:]*: //'))" \
        bash -c 'head -n 1 <<<"$1" | grep -q ": clean$"' _ "$v"
done
tverdict() { "$SCANMILTER_TEST" scan -c "$1" "$2" 2>/dev/null | head -n 1 | sed 's/^[^:]*: //'; }
want_bypass() {  # FILE-NAME -> the REASON it must be flagged with
    local f=$1 first list a
    for a in $BYPASS_FIRST; do [ "${a%%:*}" = "$f" ] && { echo "${a#*:}"; return; }; done
    list=$(awk -F'\t' -v f="bad/$f" '$1 == f { print $2 }' "$SM_TOP/t/data/mime/EXPECTED")
    for a in $ORDER; do
        case ",$list," in *",$a,"*) echo "$a"; return ;; esac
    done
}
fp=0 ngood=0
for f in "$SM_TOP"/t/data/mime/good/*.eml; do
    ngood=$((ngood + 1))
    v=$(tverdict "$WD/bypass-clean.conf" "$f")
    [ "$v" = clean ] || { fp=$((fp + 1)); log "false positive: $f ($v)"; }
done
check "detect_bypass: no false positive on $ngood legal/real-world messages ($fp)" \
    [ "$fp" -eq 0 -a "$ngood" -ge 20 ]
nbad=0 seen=0
for f in "$SM_TOP"/t/data/mime/bad/*.eml; do
    nbad=$((nbad + 1))
    [ "$(tverdict "$WD/clean-engine.conf" "$f")" = clean ] && seen=$((seen + 1))
done
nexp=$(grep -c '^bad/' "$SM_TOP/t/data/mime/EXPECTED")
check "the test engine alone calls all $nbad crafted messages clean ($seen), EXPECTED lists $nexp" \
    [ "$seen" -eq "$nbad" -a "$nbad" -eq "$nexp" -a "$nbad" -gt 0 ]
for f in "$SM_TOP"/t/data/mime/bad/*.eml; do
    name=${f##*/} want=$(want_bypass "${f##*/}")
    got=$(tverdict "$WD/bypass-clean.conf" "$f")
    gap=
    for a in $BYPASS_GAPS; do [ "${a%%:*}" = "$name" ] && gap=${a#*:}; done
    if [ -n "$gap" ] && [ "$got" != "infected (Heuristics.Bypass.$want)" ]; then
        skip "detect_bypass: $name not flagged (known gap: $gap; got $got)"
    else
        check "detect_bypass: $name -> Heuristics.Bypass.${want:-?} ($got)" \
            [ -n "$want" -a "$got" = "infected (Heuristics.Bypass.$want)" ]
    fi
done
out=$("$SCANMILTER_TEST" scan -c "$WD/bypass-clean.conf" "$SM_TOP"/t/data/mime/bad/*.eml 2>/dev/null | grep -c 'reply: 550 5.7.1 Virus found: Heuristics.Bypass.')
check "flagged messages are rejected like viruses ($out of $nbad with a Heuristics.Bypass name)" [ "$out" -eq "$nbad" ]

# 3. campaign: the same attachment in messages that differ elsewhere
mkdir -p "$WD/camp"
att=$(head -c 300000 /dev/urandom | base64 -w 76)
for i in 1 2 3 4 5; do
    printf 'From: s%d@example.com\r\nSubject: offer %d\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b%d"\r\n\r\n--b%d\r\nContent-Type: text/plain\r\n\r\nhello %d\r\n--b%d\r\nContent-Type: application/pdf; name="offer.pdf"\r\nContent-Transfer-Encoding: base64\r\n\r\n%s\r\n--b%d--\r\n' \
        $i $i $i $i $i $i "$(printf '%s' "$att" | sed 's/$/\r/')" $i >"$WD/camp/m$i.eml"
done
out=$("$SCANMILTER" scan -c "$WD/dec.conf" "$WD"/camp/m*.eml)
first=$(grep -m1 'scans:' <<<"$out"); last=$(grep 'scans:' <<<"$out" | tail -n 1)
check "campaign: the first message scans its attachment ($first)" \
    bash -c "grep -q 'scans: 2 by engines, 0 from the cache' <<<'$first'"
check "campaign: later ones get it from the cache ($last)" \
    bash -c "grep -q 'scans: 1 by engines, 1 from the cache' <<<'$last'"

# 3b. the cache key includes how an object was scanned: the same bytes as
#     an attachment (a file: clean) must not answer for them as a message
#     (mail: infected).  Regression for a cache-poisoning report.
out=$("$SCANMILTER" scan -c "$WD/dec.conf" "$SM_TOP/t/data/regress/cache-poison-carrier.eml" \
    "$SM_TOP/t/data/regress/cache-poison-target.eml" 2>/dev/null | grep -A1 'cache-poison-target.eml:')
check "a clean verdict for an attachment does not answer for the same bytes as mail" \
    bash -c "grep -q 'reply: 550 5.7.1 Virus found: Scanmilter.Test.EICAR' <<<'$out'"

# 3c. with several instances, strip's "Cured" status goes only to those
#     whose every find was cut out: one that also found something strip
#     cannot remove keeps "Infected".  Regression for a review finding.
cat >"$WD/three.conf" <<CONF
milter { file_base = "$WD/tmp" }
antivirus "av1" { action = strip  mime_decompose = yes
  clamav "c1" { database_directory = "$SM_TOP/t/data/sigs" } }
antivirus "av2" { action = pass  mime_decompose = yes
  scanned_header = "X-AV2-Scanned"  status_header = "X-AV2-Status"
  test "t1" { verdict = infected  name = "Test.Everywhere" } }
antivirus "av3" { action = pass  mime_decompose = yes
  scanned_header = "X-AV3-Scanned"  status_header = "X-AV3-Status"
  clamav "c3" { database_directory = "$SM_TOP/t/data/sigs" } }
CONF
out=$("$SCANMILTER_TEST" scan -c "$WD/three.conf" "$SM_TOP/t/data/mail/eicar-attach.eml" 2>/dev/null)
printf '%s\n' "$out" | grep Status | sed 's/^/#   /'
check "strip with three instances: the attachment is cut" \
    grep -q 'reply: strip (1 attachment(s) removed)' <<<"$out"
check "... the stripping instance says Cured" \
    grep -q 'header: X-Virus-Status: Cured (removed eicar.com: Scanmilter.Test.EICAR' <<<"$out"
check "... one whose find was in the cut part says Cured too" \
    grep -q 'header: X-AV3-Status: Cured (removed eicar.com:' <<<"$out"
check "... one that found something in what stays says Infected" \
    grep -q 'header: X-AV2-Status: Infected (Test.Everywhere)' <<<"$out"

# 4. quarantine, discard and strip through a real Postfix
for act in quarantine discard strip; do
    SM_AV='antivirus "antivirus1" { action = '$act' mime_decompose = yes
        clamav "clamav1" { database_directory = "'"$SM_TOP/t/data/sigs"'" } }' \
        sm_start "$WD/$act"
    if [ $act = strip ]; then
        postfix_start "$WD/$act" "unix:$SM_SOCK"
        out=$(smtp_send sender@example.org rcpt@example.net "$SM_TOP/t/data/mail/eicar-attach.eml") || true
        check "strip: Postfix accepts the message (250)" bash -c "grep -Eq '^<- +250 2.0.0 Ok: queued' <<<'$out'"
        if sink_wait_count 1 20; then
            msg=$(sink_last)
            # every part decoded (base64, quoted-printable, nested messages),
            # and the raw bytes too
            eicar_in=$(python3 - "$msg" <<'PY'
import email, sys
from email import policy
raw = open(sys.argv[1], "rb").read()
sig = b"EICAR-STANDARD-ANTIVIRUS-TEST-FILE"
m = email.message_from_bytes(raw, policy=policy.compat32)
hits = ["%s (%s)" % (p.get_content_type(), p.get_filename()) for p in m.walk()
        if not p.is_multipart() and sig in (p.get_payload(decode=True) or b"")]
if sig in raw:
    hits.append("raw message")
print(", ".join(hits) if hits else "none")
PY
)
            check "strip: no part of the delivered message, decoded, holds EICAR ($eicar_in)" \
                [ "$eicar_in" = none ]
            check "strip: it carries the notice naming file and virus" \
                grep -q 'scanmilter removed the attachment eicar.com from this message: it contained Scanmilter.Test.EICAR.UNOFFICIAL.' "$msg"
            check "strip: X-Virus-Status says what was removed" \
                grep -q '^X-Virus-Status: Cured (removed eicar.com: Scanmilter.Test.EICAR.UNOFFICIAL)' "$msg"
            # the rest of the message, byte for byte: every line of the
            # original outside the attachment is in the delivered one
            python3 - "$SM_TOP/t/data/mail/eicar-attach.eml" "$msg" >"$WD/strip.py.out" <<'PY'
import email, sys
from email import policy
orig = email.message_from_bytes(open(sys.argv[1], "rb").read(), policy=policy.default)
got = email.message_from_bytes(open(sys.argv[2], "rb").read(), policy=policy.default)
o = [p for p in orig.walk() if not p.is_multipart()]
g = [p for p in got.walk() if not p.is_multipart()]
ok = len(o) == len(g)
for a, b in zip(o, g):
    if a.get_filename() == "eicar.com":
        ok &= b.get_content_type() == "text/plain" and "removed the attachment" in b.get_content()
    else:
        lf = lambda p: (p.get_payload(decode=True) or b"").replace(b"\r\n", b"\n")
        ok &= lf(a) == lf(b) and a.get_content_type() == b.get_content_type()
print("same structure, clean parts intact" if ok else "DIFFERENT: %r" % [(p.get_content_type(), p.get_filename()) for p in g])
sys.exit(0 if ok else 1)
PY
            prc=$?
            check "strip: clean parts intact, the infected one replaced ($(cat "$WD/strip.py.out"))" [ $prc = 0 ]
        else
            not_ok "strip: nothing delivered"
        fi
        check "strip: counted as cured, logged" sm_log_has 'verdict=infected, .*reply=strip'
        postfix_stop "$WD/$act"
        sm_stop
        continue
    fi
    postfix_start "$WD/$act" "unix:$SM_SOCK"
    out=$(smtp_send sender@example.org rcpt@example.net "$SM_TOP/t/data/mail/eicar-attach.eml") || true
    check "$act: Postfix accepts the infected message (250)" \
        bash -c "grep -Eq '^<- +250 2.0.0 Ok: queued' <<<'$out'"
    sleep 1
    check "$act: nothing delivered" [ "$(sink_count)" -eq 0 ]
    if [ $act = quarantine ]; then
        held=$(postqueue -c "$PF_CONF" -p 2>/dev/null)
        check "quarantine: the message is in the hold queue" bash -c "grep -Eq '^[0-9A-F]+!' <<<'$held'"
        check "quarantine: Postfix logged the milter's HOLD" \
            wait_until 5 grep -q 'milter-hold: END-OF-MESSAGE' "$PF_LOG"
    else
        check "discard: the queue is empty" postfix_queue_empty "$WD/$act"
        check "discard: Postfix logged the discard" wait_until 5 grep -q 'milter-discard' "$PF_LOG"
    fi
    check "$act: logged by scanmilter" sm_log_has "verdict=infected, .*reply=$act"
    postfix_stop "$WD/$act"
    sm_stop
done
finish
