#!/usr/bin/env bash
# What a sender can make the MIME parser spend.  The parse runs on the
# connection's thread before any engine's timeout applies, so it must stay
# linear in the message.  3 MB text parts built of the delimiter search's
# worst cases are each answered, and each costs the daemon under 5 s of
# CPU (a linear parse takes a fraction of a second; a search that looked
# for the line's end again at every "--" after a bare CR took 17 s of CPU
# per parse of the first one):
#   crdash     "\r--" again and again on one line, no LF
#   crbound    "\r--zz" (the boundary: a delimiter after a bare CR each time)
#   lines      lines that all start with "--"
#   dashes     one line of dashes
# and the other places where a parser could look back or again: the starts
# of embedded files in text (uuencode, yEnc, BinHex lines), encodings
# (quoted-printable soft breaks, base64 padding), folded header lines,
# RFC 2047 words, parts up to the limit, multiparts nested up to the limit;
# with mime_decompose and detect_bypass (both parse), then with
# detect_bypass alone.  The engine is the test engine, which reads nothing:
# the daemon's CPU is the parse's (libclamav's own cost on such mail is
# bounded by the instance timeout, the parse's by nothing but this).
set -u
. "$(dirname "$0")/../lib/scanmilter.sh"
. "$(dirname "$0")/../lib/promises.sh"
SCANMILTER=${SCANMILTER_TEST_PLAIN:-$SM_TOP/build/t/scanmilter-test}

sm_need_built "$MILTERGEN"
WD=$(mktemp -d /tmp/sm-mimecpu.XXXXXX)
trap 'sm_stop; rm -rf "$WD"' EXIT
chmod 755 "$WD"
python3 - "$WD" <<'PY'
import sys
wd = sys.argv[1]
size = 3 * 1024 * 1024
def msg(name, unit, part=b"Content-Type: text/plain\r\n", head=b""):
    body = unit * (size // len(unit))
    open("%s/%s.eml" % (wd, name), "wb").write(
        b"From: s@example.com\r\nSubject: " + name.encode() + b"\r\n" + head +
        b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"zz\"\r\n\r\n"
        b"--zz\r\n" + part + b"\r\n" + body + b"\r\n--zz--\r\n")
msg("crdash", b"\r--")
msg("crbound", b"\r--zz")
msg("lines", b"--x\r\n")
msg("dashes", b"-")
msg("uubegin", b"begin 644 a.exe\r\nM\r\n")
msg("ybegin", b"=ybegin line=128 size=9 name=a.exe\r\n")
msg("binhex", b"(This file must be converted with BinHex 4.0)\r\n:\r\n")
att = b"Content-Type: application/octet-stream; name=\"a.bin\"\r\nContent-Transfer-Encoding: "
msg("qpsoft", b"=\r\n", att + b"quoted-printable\r\n")
msg("b64pad", b"====\r\n", att + b"base64\r\n")
msg("folded", b"x\r\n", head=b"X-Long: a\r\n" + b" a\r\n" * 200000)
msg("words", b"x\r\n", head=b"X-Words:" + b" =?utf-8?q?=41?=" * 20000 + b"\r\n")
msg("parts", b"--zz\r\n\r\nx\r\n")
msg("nested", b"--zz\r\nContent-Type: multipart/mixed; boundary=zz\r\n\r\n")
PY

cpu_ticks() { local s; s=$(cat "/proc/$SM_PID/stat"); s=${s##*) }; set -- $s; echo $(( ${12} + ${13} )); }
HZ=$(getconf CLK_TCK)
run() {  # MODE
    local f name t0 t1 got secs
    for f in crdash crbound lines dashes uubegin ybegin binhex qpsoft b64pad folded words parts nested; do
        t0=$(cpu_ticks)
        got=$(mg_one "unix:$SM_SOCK" "$WD/$f.eml")
        t1=$(cpu_ticks)
        secs=$(awk -v t=$((t1 - t0)) -v h="$HZ" 'BEGIN { printf "%.2f", t / h }')
        check "$1, $f (3 MB): answered ($got)" grep -Eq '^(accept|reject)\|' <<<"$got"
        check "$1, $f: under 5 s of daemon CPU ($secs s)" awk -v s="$secs" 'BEGIN { exit !(s < 5) }'
    done
}
SM_AV='antivirus "av1" { mime_decompose = yes  detect_bypass = yes  test "t1" { } }' sm_start "$WD/a"
run "decomposition"
check "stopped cleanly" sm_stop
SM_AV='antivirus "av1" { mime_decompose = no  detect_bypass = yes  test "t1" { } }' sm_start "$WD/b"
run "detect_bypass alone"
check "stopped cleanly" sm_stop
finish
