#!/usr/bin/env bash
# Large messages through the real milter protocol (bench/miltergen and
# miltertest): wire form in memory under large_message_threshold, an
# unlinked spill file past it; memory bounded for 50 MB and 200 MB messages,
# decoded parts included (decoded into their own spill file);
# a virus at the end of a 20 MB message found after the spill; limits give
# "unscannable", never clean; max_message_size and oversize_action; aborts
# and dropped connections leave nothing open or on disk; a full file_base
# tempfails that message and the daemon carries on; stale files from a
# crash are removed at start.
set -u
. "$(dirname "$0")/../lib/scanmilter.sh"

sm_need_built "$MILTERGEN"
plan 59
WD=$(mktemp -d /tmp/sm-large.XXXXXX)
TMPFS=$WD/small-fs
cleanup() { sm_stop; mountpoint -q "$TMPFS" && umount "$TMPFS"; [ -n "${KEEP:-}" ] || rm -rf "$WD"; }
trap cleanup EXIT
mkdir -p "$WD/m"
EICAR='X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*'

# mkmsg FILE MB [EICAR]: a plain-text message of about MB megabytes, with
# EICAR as its last line if asked
mkmsg() {
    python3 - "$1" "$2" "${3:-}" "$EICAR" <<'PY'
import sys
path, mb, eicar, sig = sys.argv[1], float(sys.argv[2]), sys.argv[3], sys.argv[4]
line = b"The quick brown fox jumps over the lazy dog 0123456789 abcdefghij\r\n"
with open(path, "wb") as f:
    f.write(b"From: a@example.com\r\nTo: b@example.org\r\nSubject: big\r\n\r\n")
    n = int(mb * 1024 * 1024 / len(line))
    chunk = line * 1024
    for _ in range(n // 1024):
        f.write(chunk)
    f.write(line * (n % 1024))
    if eicar:
        f.write(sig.encode() + b"\r\n")
PY
}
send() {  # DIR CSV [miltergen args] -> prints the RESULT line
    timeout 300 "$MILTERGEN" -s "unix:$SM_SOCK" -c 1 -n 1 -t 240 -o "$2" "${@:3}" "$1" | grep '^RESULT'
}
reply_of() { tail -n 1 "$1" | cut -d, -f5- | tr -d '"'; }
rss_anon_kb() { awk '/^RssAnon:/ { print $2 }' "/proc/$SM_PID/status"; }
# peak RssAnon of the daemon while CMD runs (polled every 50 ms, bounded by CMD)
peak_rss_while() {
    local peak=0 v pid
    "$@" >"$WD/peak.out" 2>&1 &
    pid=$!
    while kill -0 "$pid" 2>/dev/null; do
        v=$(rss_anon_kb); [ -n "$v" ] && [ "$v" -gt "$peak" ] && peak=$v
        sleep 0.05
    done
    wait "$pid"
    echo "$peak"
}
open_spills() { ls -l "/proc/$SM_PID/fd" 2>/dev/null | grep -c -E 'spool|msg\.' ; }

# a stale file left by a "crash" is removed at start
mkdir -p "$WD/tmp/spool" "$WD/tmp/engine-clamav1"
touch "$WD/tmp/spool/msg.crashed" "$WD/tmp/engine-clamav1/20260101-scantemp.x"
SM_AV='antivirus "antivirus1" { timeout = 120s  clamav "clamav1" {
    database_directory = "'"$SM_TOP/t/data/sigs"'" } }' sm_start "$WD"
check "stale files from a crash removed at start" \
    bash -c "[ ! -e '$WD/tmp/spool/msg.crashed' ] && [ ! -e '$WD/tmp/engine-clamav1/20260101-scantemp.x' ]"
check "start-up log says what it removed" sm_log_has 'removed 1 stale file\(s\) from .*/spool'

# 1. at, under and over the threshold (1 MiB): all scanned, clean, delivered
for kb in 1023 1024 1025; do
    mkdir -p "$WD/t$kb"
    { printf 'From: a@example.com\r\nSubject: t\r\n\r\n'; head -c $((kb * 1024 - 34)) /dev/zero | tr '\0' 'y'; } >"$WD/t$kb/m.eml"
    send "$WD/t$kb" "$WD/t$kb.csv" >/dev/null
    check "${kb} KiB message accepted as clean" grep -q ',accept,' "$WD/t$kb.csv"
done
# every message of at most 1 MiB stayed in memory, every larger one spilled
held() {
    awk '/verdict=clean/ && match($0, /size=[0-9]+( \(spilled\))?,/) {
        f = substr($0, RSTART + 5, RLENGTH - 6); n = f + 0
        if (n < 1000000 || n > 1100000) next
        if ((n > 1048576) != (f ~ /spilled/)) bad++; seen++
    } END { exit !(seen == 3 && bad == 0) }' "$SM_LOG"
}
check "messages up to 1 MiB stayed in memory, the larger one spilled" held

# 2. a virus at the end of a 20 MB message, found after the spill
mkdir -p "$WD/v20"; mkmsg "$WD/v20/v.eml" 20 eicar
send "$WD/v20" "$WD/v20.csv" >/dev/null
check "EICAR at the end of 20 MB found after spilling: $(reply_of "$WD/v20.csv")" \
    grep -q '550 5.7.1 Virus found: Scanmilter.Test.EICAR.UNOFFICIAL' "$WD/v20.csv"

# 3. limits: 200 MB is over libclamav's max_file_size (100M): unscannable,
#    rejected, never clean
mkdir -p "$WD/m200"; mkmsg "$WD/m200/m.eml" 200
base=$(rss_anon_kb)
peak=$(peak_rss_while send "$WD/m200" "$WD/m200.csv")
check "200 MB is unscannable, rejected: $(reply_of "$WD/m200.csv")" \
    grep -q '550 5.7.1 Message could not be scanned: Heuristics.Limits.Exceeded.MaxFileSize' "$WD/m200.csv"
log "with libclamav: 200 MB message, daemon anonymous memory +$(( (peak - base) / 1024 )) MB"
# the reply may come before the message's last scan lets go of its files
wait_until 5 bash -c "[ \$(ls -l /proc/$SM_PID/fd | grep -c -E 'spool|msg\\.') -eq 0 ]"
check "no spill file left open" [ "$(open_spills)" -eq 0 ]
check "nothing left under file_base" sm_tmp_empty

# 4. abort and dropped connection after the spill: nothing open, nothing on disk
cat >"$WD/abort.lua" <<'LUA'
local conn = mt.connect(socket, 20, 0.25)
if conn == nil then print("cannot connect"); os.exit(1) end
mt.conninfo(conn, "c.example", "127.0.0.1")
mt.mailfrom(conn, "<a@example.com>")
mt.rcptto(conn, "<b@example.org>")
mt.header(conn, "Subject", "abort me")
mt.eoh(conn)
for i = 1, 40 do mt.bodystring(conn, string.rep("x", 65000) .. "\r\n") end
if mode == "abort" then
	mt.abort(conn)
	mt.disconnect(conn, true)
else
	mt.disconnect(conn, false)
end
print("sent")
LUA
for mode in abort drop; do
    timeout 60 miltertest -D socket="unix:$SM_SOCK" -D mode=$mode -s "$WD/abort.lua" >"$WD/$mode.out" 2>&1
    wait_until 5 bash -c "[ \$(ls -l /proc/$SM_PID/fd | grep -c -E 'spool|msg\\.') -eq 0 ]"
    check "$mode after a 2.5 MB spill: no spill file open" [ "$(open_spills)" -eq 0 ]
    check "$mode: nothing under file_base" sm_tmp_empty
done
check "stopped cleanly" sm_stop

# 4b. memory of the milter layer itself: 50 MB and 200 MB through the test
#     engine (reads nothing), so only scanmilter's own buffering counts, in
#     both modes (decomposition writes the skeleton -- here all the text --
#     to its own buffer, which spills like a message)
mkdir -p "$WD/m50"; mkmsg "$WD/m50/m.eml" 50
for dec in no yes; do
    SM_AV="antivirus \"antivirus1\" { timeout = 120s  mime_decompose = $dec  test \"t1\" { } }" \
        SCANMILTER=${SCANMILTER_TEST_PLAIN:-$SM_TOP/build/t/scanmilter-test} sm_start "$WD/mem$dec"
    base=$(rss_anon_kb)
    for mb in 50 200; do
        peak=$(peak_rss_while send "$WD/m$mb" "$WD/mem$dec$mb.csv")
        check "mime_decompose = $dec: $mb MB accepted by the test engine" grep -q ',accept,' "$WD/mem$dec$mb.csv"
        check "mime_decompose = $dec: $mb MB: the daemon's memory grew $(( (peak - base) / 1024 )) MB (threshold 1 MB; limit 8 MB)" \
            [ $((peak - base)) -lt 8192 ]
    done
    check "mime_decompose = $dec: stopped cleanly" sm_stop
done
rm -rf "$WD/m50" "$WD/m200"

# 4c. a decoded part past the threshold is decoded into its own spill file,
#     never onto the heap (nor copied there afterwards): a base64 attachment
#     of 50 and 200 MB (past mime_max_decoded: cut there), a
#     quoted-printable one and a uuencoded block inside a text part, through
#     the test engine (reads nothing) with decomposition; the same with
#     detect_bypass alone (the parser decodes for its findings only); then
#     with libclamav, a 200 MB one within 64 MB of idle in both modes
# mkmime FILE MB KIND: one part of random bytes, KIND b64, qp or uu, the
# message about MB megabytes
mkmime() {
    python3 - "$1" "$2" "$3" <<'PY'
import binascii, os, sys
path, mb, kind = sys.argv[1], float(sys.argv[2]), sys.argv[3]
size = int(mb * 1024 * 1024)
with open(path, "wb") as f:
    f.write(b"From: a@example.com\r\nTo: b@example.org\r\nSubject: big\r\n"
            b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"B\"\r\n\r\n--B\r\n")
    if kind == "uu":
        f.write(b"Content-Type: text/plain\r\n\r\nbegin 644 r.bin\r\n")
        raw, step = size * 45 // 63, 45
    else:
        f.write(b"Content-Type: application/octet-stream\r\nContent-Disposition: attachment; "
                b"filename=\"r.bin\"\r\nContent-Transfer-Encoding: %s\r\n\r\n"
                % (b"base64" if kind == "b64" else b"quoted-printable"))
        raw, step = (size * 57 // 78, 57 * 4096) if kind == "b64" else (size // 3, 1 << 20)
    while raw > 0:
        n = min(raw, step * 1024 if kind == "uu" else step)
        b = os.urandom(n)
        if kind == "b64":
            f.write(b"".join(binascii.b2a_base64(b[i:i + 57]).replace(b"\n", b"\r\n")
                             for i in range(0, n, 57)))
        elif kind == "qp":
            f.write(binascii.b2a_qp(b, istext=False).replace(b"\n", b"\r\n"))
        else:
            f.write(b"".join(binascii.b2a_uu(b[i:i + 45]).replace(b"\n", b"\r\n")
                             for i in range(0, n, 45)))
        raw -= n
    f.write(b"`\r\nend\r\n" if kind == "uu" else b"\r\n")
    f.write(b"--B--\r\n")
PY
}
for k in b64-50 b64-200 qp-50 uu-50; do
    mkdir -p "$WD/p$k"; mkmime "$WD/p$k/m.eml" "${k#*-}" "${k%-*}"
done
for av in "mime_decompose = yes" "mime_decompose = no  detect_bypass = yes"; do
    SM_AV="antivirus \"antivirus1\" { timeout = 120s  $av  test \"t1\" { } }" \
        SCANMILTER=${SCANMILTER_TEST_PLAIN:-$SM_TOP/build/t/scanmilter-test} sm_start "$WD/dec"
    base=$(rss_anon_kb)
    for k in b64-50 b64-200 qp-50 uu-50; do
        [ "$av" = "${av#mime_decompose = yes}" ] && [ "$k" != b64-50 ] && continue
        peak=$(peak_rss_while send "$WD/p$k" "$WD/p$k.csv")
        check "$av: a $k MB part, the daemon's memory grew $(( (peak - base) / 1024 )) MB (limit 8 MB): $(reply_of "$WD/p$k.csv")" \
            [ $((peak - base)) -lt 8192 ]
    done
    check "$av: nothing left under file_base" sm_tmp_empty
    check "$av: stopped cleanly" sm_stop
done
for dec in yes no; do
    SM_AV='antivirus "antivirus1" { timeout = 120s  mime_decompose = '$dec'  clamav "clamav1" {
        database_directory = "'"$SM_TOP/t/data/sigs"'" } }' sm_start "$WD/cdec$dec"
    base=$(rss_anon_kb)
    peak=$(peak_rss_while send "$WD/pb64-200" "$WD/cdec$dec.csv")
    check "libclamav, mime_decompose = $dec: a 200 MB attachment is unscannable: $(reply_of "$WD/cdec$dec.csv")" \
        grep -q '550 5.7.1 Message could not be scanned: Heuristics.Limits.Exceeded.MaxFileSize' "$WD/cdec$dec.csv"
    check "libclamav, mime_decompose = $dec: 200 MB attachment, the daemon's memory grew $(( (peak - base) / 1024 )) MB (limit 64 MB)" \
        [ $((peak - base)) -lt 65536 ]
    check "libclamav, mime_decompose = $dec: stopped cleanly" sm_stop
done
rm -rf "$WD"/p*-*

# 5. max_message_size: reject (552 5.3.4), tempfail, or accept tagged
mkdir -p "$WD/m3"; mkmsg "$WD/m3/m.eml" 3
cat >"$WD/hdr.lua" <<'LUA'
local conn = mt.connect(socket, 20, 0.25)
mt.conninfo(conn, "c.example", "127.0.0.1")
mt.mailfrom(conn, "<a@example.com>")
mt.rcptto(conn, "<b@example.org>")
mt.header(conn, "Subject", "big")
mt.eoh(conn)
for i = 1, 40 do mt.bodystring(conn, string.rep("x", 65000) .. "\r\n") end
mt.eom(conn)
if mt.eom_check(conn, MT_HDRADD, "X-Virus-Status", "Unscanned (too large)") then
	print("tagged")
end
LUA
AV_CLAM='antivirus "antivirus1" { clamav "clamav1" {
    database_directory = "'"$SM_TOP/t/data/sigs"'" } }'
for act in reject tempfail accept; do
    SM_AV=$AV_CLAM SM_MILTER_EXTRA="max_message_size = 2M  oversize_action = $act" \
        sm_start "$WD/o$act"
    send "$WD/m3" "$WD/o$act.csv" >/dev/null
    case $act in
    reject) check "oversize reject: 552 5.3.4" grep -q '552 5.3.4 Message too large to scan' "$WD/o$act.csv" ;;
    tempfail) check "oversize tempfail: 451 4.3.4" grep -q '451 4.3.4 Message too large to scan' "$WD/o$act.csv" ;;
    accept) check "oversize accept: accepted" grep -q ',accept,' "$WD/o$act.csv"
            check "oversize accept: logged as unscannable, not clean" \
                sm_log_has 'verdict=unscannable, virus=message larger than 2097152 bytes'
            check "oversize accept: tagged X-Virus-Status: Unscanned (too large)" \
                bash -c "timeout 60 miltertest -D socket=unix:$SM_SOCK -s '$WD/hdr.lua' | grep -qx tagged" ;;
    esac
    check "oversize $act: stopped cleanly" sm_stop
done

# 6. file_base full: that message tempfails 451 4.3.1, the daemon carries on
mkdir -p "$TMPFS"
if mount -t tmpfs -o size=2m,mode=0700 tmpfs "$TMPFS"; then
    SM_AV=$AV_CLAM SM_FILE_BASE=$TMPFS sm_start "$WD/full"
    send "$WD/m3" "$WD/full.csv" >/dev/null
    check "full file_base: 451 4.3.1 for that message ($(reply_of "$WD/full.csv"))" \
        grep -q '451 4.3.1 Message could not be stored' "$WD/full.csv"
    check "full file_base: the log says why" \
        sm_log_has 'verdict=error, virus=cannot store message under .*: No space left on device'
    send "$SM_TOP/t/data/mail/clean-plain.eml" "$WD/after.csv" >/dev/null
    check "full file_base: the daemon carries on (small mail accepted)" grep -q ',accept,' "$WD/after.csv"
    check "full file_base: the failed spill file is not held open, nothing left" sm_tmp_empty
    check "full file_base: stopped cleanly" sm_stop
    check "full file_base: nothing left in it" sm_tmp_empty
    umount "$TMPFS"
else
    not_ok "cannot mount a small tmpfs for the disk-full case"
fi

# 6b. room for the message but not for its decoded part (a 3.5 MB message
#     in 5 MB): the part's file cannot be had, never a fault on a store
#     into a hole; the message is scanned whole, the daemon carries on
mkdir -p "$WD/p35"; mkmime "$WD/p35/m.eml" 3.5 b64
if mount -t tmpfs -o size=5m,mode=0700 tmpfs "$TMPFS"; then
    SM_AV='antivirus "antivirus1" { timeout = 60s  test "t1" { } }' \
        SCANMILTER=${SCANMILTER_TEST_PLAIN:-$SM_TOP/build/t/scanmilter-test} \
        SM_FILE_BASE=$TMPFS sm_start "$WD/partfull"
    send "$WD/p35" "$WD/partfull.csv" >/dev/null
    check "no room for the decoded part: the daemon is still running" kill -0 "$SM_PID"
    check "no room for the decoded part: scanned whole, accepted ($(reply_of "$WD/partfull.csv"))" \
        grep -q ',accept,' "$WD/partfull.csv"
    check "no room for the decoded part: the log says why" \
        sm_log_has 'cannot keep the decoded parts \(No space left on device\): scanning the message whole'
    check "no room for the decoded part: stopped cleanly" sm_stop
    check "no room for the decoded part: nothing left in file_base" sm_tmp_empty
    umount "$TMPFS"
else
    not_ok "cannot mount a small tmpfs for the decoded-part case"
fi
finish
