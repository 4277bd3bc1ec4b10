#!/usr/bin/env bash
# A full file_base never lets infected mail through.  libclamav unpacks
# into files under file_base (engine-NAME/) and calls a scan clean when
# those files come out short, so with file_base on a small tmpfs filled to
# the last byte: zips holding an executable get the tempfailure code, never
# accept, in whole-message and in decomposed mode, alone and under load
# while the disk fills and empties; a scan that runs out of space half way
# (a zip inflating past what is free) is an error; decoded parts that
# cannot spill fall back to the whole message and tempfail too; the refusal
# is logged once, not per message, and counted; once space is back, clean
# mail is accepted and infected mail rejected; nothing is left behind.
set -u
. "$(dirname "$0")/../lib/scanmilter.sh"

sm_need_built "$MILTERGEN"
command -v miltertest >/dev/null || fail "no miltertest"
WD=$(mktemp -d /tmp/sm-fulldisk.XXXXXX)
FS=$WD/fs
cleanup() {
    [ -n "${LOADPID:-}" ] && kill "$LOADPID" 2>/dev/null
    sm_stop
    mountpoint -q "$FS" && umount "$FS"
    [ -n "${KEEP:-}" ] || rm -rf "$WD"
}
trap cleanup EXIT
chmod 755 "$WD"
mkdir -p "$FS"
if ! mount -t tmpfs -o size=16m,mode=0755 tmpfs "$FS"; then
    not_ok "cannot mount a small tmpfs for file_base"
    finish
fi

# mkmail DIR KIND N [START]: N distinct messages; KIND exe (a zip holding
# clam.exe), eicar (a zip holding eicar.com), bomb (a zip whose first
# member inflates to 10 MB of zeros, then clam.exe), big (a 300 KB random
# attachment and a zip holding clam.exe), clean (a zip of text)
mkmail() {
    python3 - "$@" <<'PY'
import base64, io, os, random, sys, zipfile
d, kind, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
start = int(sys.argv[4]) if len(sys.argv) > 4 else 0
EICAR = b'X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*'
EXE = open("/usr/share/clamav-testfiles/clam.exe", "rb").read()
os.makedirs(d, exist_ok=True)
def part(name, ctype, data):
    b64 = base64.encodebytes(data).decode().replace("\n", "\r\n")
    return ('Content-Type: %s; name="%s"\r\nContent-Transfer-Encoding: base64'
            '\r\nContent-Disposition: attachment; filename="%s"\r\n\r\n%s'
            % (ctype, name, name, b64))
for i in range(start, start + n):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        if kind == "bomb":
            z.writestr("zeros.bin", bytes(10 << 20))
        z.writestr("readme.txt", ("%s message %d\n" % (kind, i)) * 20)
        if kind in ("exe", "bomb", "big"):
            z.writestr("setup.exe", EXE)
        elif kind == "eicar":
            z.writestr("eicar.com", EICAR)
    parts = [part("a.zip", "application/zip", buf.getvalue())]
    if kind == "big":
        rnd = random.Random(i).randbytes(300 * 1024)
        parts.insert(0, part("data.bin", "application/octet-stream", rnd))
    body = "".join("--B%d\r\n%s" % (i, p) for p in parts)
    msg = ("From: a@example.com\r\nTo: b@example.org\r\nSubject: %s %d\r\n"
           "Message-ID: <%s-%d@example.com>\r\nMIME-Version: 1.0\r\n"
           "Content-Type: multipart/mixed; boundary=\"B%d\"\r\n\r\n"
           "--B%d\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n"
           "%s--B%d--\r\n") % (kind, i, kind, i, i, i, body, i)
    with open(os.path.join(d, "%s-%04d.eml" % (kind, i)), "w", newline="") as f:
        f.write(msg)
PY
}
send() {  # DIR CSV CONCURRENCY MESSAGES -> the RESULT line
    timeout 300 "$MILTERGEN" -s "unix:$SM_SOCK" -c "$3" -n "$4" -t 60 -o "$2" "$1" | grep '^RESULT'
}
count() { grep -c -- ",$2," "$1"; }      # CSV accept|reject|tempfail
fill() { dd if=/dev/zero of="$FS/fill" bs=64k 2>/dev/null; sync; true; }
unfill() { rm -f "$FS/fill"; }
avail_kb() { df -k --output=avail "$FS" | tail -n 1 | tr -d ' '; }
left_behind() { find "$FS" -type f ! -name fill | head -n 5; }
nothing_left() { [ -z "$(left_behind)" ]; }

mkmail "$WD/inf" exe 20; mkmail "$WD/inf" eicar 20
mkmail "$WD/inf2" exe 10 100
mkmail "$WD/clean" clean 10
mkmail "$WD/bomb" bomb 4
mkmail "$WD/big" big 1
AV_WHOLE='antivirus "antivirus1" { cache_size = 0  mime_decompose = no  clamav "clamav1" {
    database_directory = "'"$SM_TOP/t/data/sigs"'" } }'
AV_PARTS='antivirus "antivirus1" { cache_size = 0  mime_decompose = yes
    clamav "clamav1" { database_directory = "'"$SM_TOP/t/data/sigs"'" } }'

# 1. whole-message mode, file_base full to the last byte
SM_AV=$AV_WHOLE SM_FILE_BASE=$FS sm_start "$WD/w"
send "$WD/clean" "$WD/w0.csv" 1 1 >/dev/null
check "space free: clean mail accepted" [ "$(count "$WD/w0.csv" accept)" -eq 1 ]
fill
check "file_base filled to the last byte ($(avail_kb) KB free)" [ "$(avail_kb)" -eq 0 ]
send "$WD/inf" "$WD/w1.csv" 4 40 >/dev/null
check "full: no infected message accepted ($(count "$WD/w1.csv" accept) of 40)" \
    [ "$(count "$WD/w1.csv" accept)" -eq 0 ]
check "full: each gets the tempfailure code ($(count "$WD/w1.csv" tempfail) of 40)" \
    [ "$(count "$WD/w1.csv" tempfail)" -eq 40 ]
check "full: the log says why" \
    sm_log_has 'verdict=error, virus=disk space low before the scan \(0 bytes free under .*/engine-clamav1\)'
n=$(grep -c 'kept free (min_free_space)' "$SM_LOG")
check "full: the low space is logged once, not per message ($n lines)" [ "$n" -eq 1 ]
errs=$(timeout 10 "$CTL" -s "$SM_CTL" stats antivirus1 2>&1 | awk -F: '/^ *Tempfails \(error\)/ { split($2, v, " "); print v[1] }')
check "full: counted in stats as tempfails (error): ${errs:-none}" [ "${errs:-0}" -ge 40 ]
unfill
send "$WD/clean" "$WD/w2.csv" 2 10 >/dev/null
check "space back: clean mail accepted ($(count "$WD/w2.csv" accept) of 10)" \
    [ "$(count "$WD/w2.csv" accept)" -eq 10 ]
send "$WD/inf2" "$WD/w3.csv" 2 10 >/dev/null
check "space back: infected mail rejected ($(count "$WD/w3.csv" reject) of 10)" \
    [ "$(count "$WD/w3.csv" reject)" -eq 10 ]

# 2. under load, the disk filling and emptying every few tenths of a second
send "$WD/inf" "$WD/load.csv" 4 2000 >"$WD/load.out" &
LOADPID=$!
for _ in $(seq 1 25); do
    kill -0 "$LOADPID" 2>/dev/null || break
    fill; sleep 0.3; unfill; sleep 0.2
done
wait "$LOADPID"; LOADPID=
acc=$(count "$WD/load.csv" accept); rej=$(count "$WD/load.csv" reject)
tf=$(count "$WD/load.csv" tempfail)
log "under load: $rej rejected, $tf tempfailed, $acc accepted of $(($(wc -l <"$WD/load.csv") - 1))"
check "under load: no infected message accepted ($acc)" [ "$acc" -eq 0 ]
check "under load: some rejected while there was space ($rej)" [ "$rej" -gt 0 ]
check "under load: some tempfailed while it was full ($tf)" [ "$tf" -gt 0 ]
check "whole mode: stopped cleanly" sm_stop
check "whole mode: nothing left in file_base ($(left_behind))" nothing_left

# 3. space runs out half way: above the reserve (a tenth of 16 MB) when the
#    scan starts, but the zip inflates past it; libclamav reports the write
#    failure and the scan is an error
SM_AV=$AV_WHOLE SM_FILE_BASE=$FS sm_start "$WD/b"
dd if=/dev/zero of="$FS/fill" bs=1M count=12 2>/dev/null
send "$WD/bomb" "$WD/b1.csv" 1 4 >/dev/null
check "half way: no infected message accepted ($(count "$WD/b1.csv" accept) of 4)" \
    [ "$(count "$WD/b1.csv" accept)" -eq 0 ]
check "half way: each gets the tempfailure code ($(count "$WD/b1.csv" tempfail) of 4)" \
    [ "$(count "$WD/b1.csv" tempfail)" -eq 4 ]
check "half way: libclamav's write failure is the reason" \
    sm_log_has "verdict=error, virus=(Can't write to file|libclamav: .*(write error|[Cc]an.t write|failed to write))"
unfill
send "$WD/bomb" "$WD/b2.csv" 1 4 >/dev/null
check "half way: with space, the same mail is rejected ($(count "$WD/b2.csv" reject) of 4)" \
    [ "$(count "$WD/b2.csv" reject)" -eq 4 ]
check "half way: stopped cleanly" sm_stop
check "half way: nothing left in file_base ($(left_behind))" nothing_left

# 4. decomposed mode, full
SM_AV=$AV_PARTS SM_FILE_BASE=$FS sm_start "$WD/p"
fill
send "$WD/inf" "$WD/p1.csv" 4 40 >/dev/null
check "decomposed, full: no infected message accepted ($(count "$WD/p1.csv" accept) of 40)" \
    [ "$(count "$WD/p1.csv" accept)" -eq 0 ]
check "decomposed, full: each gets the tempfailure code ($(count "$WD/p1.csv" tempfail) of 40)" \
    [ "$(count "$WD/p1.csv" tempfail)" -eq 40 ]
unfill
send "$WD/inf2" "$WD/p2.csv" 2 10 >/dev/null
check "decomposed, space back: infected mail rejected ($(count "$WD/p2.csv" reject) of 10)" \
    [ "$(count "$WD/p2.csv" reject)" -eq 10 ]
check "decomposed: stopped cleanly" sm_stop

# 5. decoded parts that must spill: the message (over a 64 KiB threshold)
#    spills while there is space; the disk fills before end of message, so
#    its 300 KB part cannot spill: it is scanned whole, which tempfails
SM_AV=$AV_PARTS SM_FILE_BASE=$FS SM_MILTER_EXTRA='large_message_threshold = 64K' \
    sm_start "$WD/s"
cat >"$WD/spill.lua" <<'LUA'
local conn = mt.connect(socket, 20, 0.25)
if conn == nil then print("cannot connect"); os.exit(1) end
local f = io.open(msgfile, "rb"); local msg = f:read("*a"); f:close()
local hdr, body = msg:match("^(.-\r\n)\r\n(.*)$")
mt.conninfo(conn, "c.example", "127.0.0.1")
mt.mailfrom(conn, "<a@example.com>", "SIZE=" .. #msg)
mt.rcptto(conn, "<b@example.org>")
for name, value in hdr:gmatch("([^:\r\n]+): ([^\r\n]*)\r\n") do
	mt.header(conn, name, value)
end
mt.eoh(conn)
for i = 1, #body, 60000 do mt.bodystring(conn, body:sub(i, i + 59999)) end
os.execute(fillcmd)
mt.eom(conn)
local r = mt.getreply(conn)
if r == SMFIR_REPLYCODE then print("replycode")
elseif r == SMFIR_ACCEPT then print("accept")
else print("other") end
mt.disconnect(conn)
LUA
out=$(timeout 60 miltertest -D socket="unix:$SM_SOCK" -D msgfile="$WD/big/big-0000.eml" \
    -D fillcmd="dd if=/dev/zero of=$FS/fill bs=64k 2>/dev/null" -s "$WD/spill.lua" 2>&1)
check "parts cannot spill: a reply code, not accept (${out:-nothing})" [ "$out" = replycode ]
check "parts cannot spill: scanned whole instead" \
    sm_log_has 'cannot keep the decoded parts \(No space left on device\): scanning the message whole'
check "parts cannot spill: the whole scan was refused for space, 451" \
    sm_log_has 'size=[0-9]+ \(spilled\), verdict=error, virus=disk space low .*reply=tempfail 451'
unfill
check "spill: stopped cleanly" sm_stop
check "spill: nothing left in file_base ($(left_behind))" nothing_left
finish
