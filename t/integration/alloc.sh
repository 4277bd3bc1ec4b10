#!/usr/bin/env bash
# What a client declares or sends never stops the daemon.  With
# large_message_threshold = 1024G (every message in memory): SIZE=10^12 in
# MAIL FROM reserves at most a small first buffer, and the message is
# scanned as usual; with the daemon's address space lowered (prlimit --as)
# a message that outgrows it gets the tempfailure code, and the daemon
# serves the next message under the same limit and after it.  With
# mime_decompose, a part whose decoding buffer cannot be had stops the
# decomposition: the message is scanned whole, the daemon carries on.
set -u
. "$(dirname "$0")/../lib/scanmilter.sh"
. "$(dirname "$0")/../lib/promises.sh"

command -v miltertest >/dev/null || fail "no miltertest"
command -v prlimit >/dev/null || fail "no prlimit"
WD=$(mktemp -d /tmp/sm-alloc.XXXXXX)
cleanup() { sm_stop; [ -n "${KEEP:-}" ] || rm -rf "$WD"; }
trap cleanup EXIT

# one message: MAIL FROM with SIZE=$size (unless empty), $mb MB of body
# lines (or a short one), EICAR at the end if $eicar = yes; prints the
# reply (accept, replycode, other) or how the connection failed
cat >"$WD/send.lua" <<'LUA'
local eicar_s = "X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
local function step(rc, what)
	if rc ~= nil then print("failed at " .. what .. ": " .. tostring(rc)); os.exit(0) end
end
local conn = mt.connect(socket, 20, 0.25)
if conn == nil then print("cannot connect"); os.exit(0) end
step(mt.conninfo(conn, "c.example", "127.0.0.1"), "connect")
if size ~= "" then
	step(mt.mailfrom(conn, "<a@example.com>", "SIZE=" .. size), "MAIL")
else
	step(mt.mailfrom(conn, "<a@example.com>"), "MAIL")
end
step(mt.rcptto(conn, "<b@example.org>"), "RCPT")
step(mt.header(conn, "From", "a@example.com"), "header")
step(mt.header(conn, "Subject", "alloc " .. id), "header")
step(mt.eoh(conn), "EOH")
local n = tonumber(mb) * 16
if n == 0 then
	step(mt.bodystring(conn, "short body\r\n"), "body")
else
	local chunk = string.rep("The quick brown fox jumps over the lazy dog 0123456789 abcdefghij\r\n", 972)
	for i = 1, n do step(mt.bodystring(conn, chunk), "body chunk " .. i) end
end
if eicar == "yes" then step(mt.bodystring(conn, eicar_s .. "\r\n"), "body") end
step(mt.eom(conn), "EOM")
local r = mt.getreply(conn)
if r == SMFIR_ACCEPT then print("accept")
elseif r == SMFIR_REPLYCODE then print("replycode")
else print("other " .. tostring(r)) end
mt.disconnect(conn)
LUA
send() {  # ID SIZE MB [EICAR]
    timeout 300 miltertest -D socket="unix:$SM_SOCK" -D id="$1" -D size="$2" \
        -D mb="$3" -D eicar="${4:-no}" -s "$WD/send.lua" 2>&1 | tail -n 1
}
alive() { kill -0 "$SM_PID" 2>/dev/null; }
vm_kb() { awk '/^VmSize:/ { print $2 }' "/proc/$SM_PID/status"; }

SM_MILTER_EXTRA='large_message_threshold = 1024G' sm_start "$WD/d"

# 1. a terabyte declared, a few bytes sent
r=$(send one 1000000000000 0)
check "SIZE=10^12, short clean message: accepted ($r)" [ "$r" = accept ]
check "SIZE=10^12: the daemon is still running" alive
r=$(send two 1000000000000 0 yes)
check "SIZE=10^12 with EICAR: scanned, a reply code ($r)" [ "$r" = replycode ]
check "SIZE=10^12 with EICAR: rejected as a virus" \
    sm_log_has 'verdict=infected, virus=Scanmilter.Test.EICAR.UNOFFICIAL.*reply=reject 550'
r=$(send three 99999999999999999999999 0)
check "SIZE past 2^64: accepted ($r)" [ "$r" = accept ]

# 2. address space lowered to what the daemon uses now + 128 MiB; a 400 MB
#    message cannot be held in memory: tempfail, and the daemon carries on
if alive; then
    base=$(vm_kb)
    limit=$(( (base + 128 * 1024) * 1024 ))
    prlimit --pid "$SM_PID" --as="$limit:" || not_ok "prlimit --as on the daemon"
    log "address space limited to $((limit / 1048576)) MiB (in use: $((base / 1024)) MiB)"
    r=$(send four "" 400)
    check "400 MB under the lowered limit: a reply code, not accept ($r)" [ "$r" = replycode ]
    check "400 MB: the tempfailure code, because memory ran out" \
        sm_log_has 'verdict=error, virus=cannot store message under .*: Cannot allocate memory.*reply=tempfail 451'
    check "400 MB: the daemon is still running" alive
    r=$(send five "" 0)
    check "next message under the same limit: accepted ($r)" [ "$r" = accept ]
    r=$(send six 400000000 2 yes)
    check "next infected message, SIZE=400 MB declared: scanned and rejected ($r)" [ "$r" = replycode ]
    check "  (as a virus)" \
        bash -c "grep -c 'verdict=infected, virus=Scanmilter.Test.EICAR' '$SM_LOG' | grep -qx 2"
    prlimit --pid "$SM_PID" --as=unlimited:
    r=$(send seven "" 0)
    check "limit lifted: accepted ($r)" [ "$r" = accept ]
else
    not_ok "the daemon died before the address-space case"
fi
check "the daemon never logged a fatal allocation failure" \
    bash -c "! grep -Eq 'fatal|(malloc|realloc|calloc) [0-9]+ bytes' '$SM_LOG'"
check "stopped cleanly" sm_stop

# 3. decomposition without memory for a part: a 48 MB base64 attachment
#    (64 MB encoded, spilled to file_base) whose decoding buffer cannot be
#    had -- malloc fails for 40..56 MiB requests, through a preloaded
#    wrapper, so nothing else is touched
[ -x "$MILTERGEN" ] || fail "no $MILTERGEN"
command -v cc >/dev/null || fail "no C compiler for the malloc wrapper"
cat >"$WD/failbig.c" <<'C'
#include <errno.h>
#include <stddef.h>
extern void *__libc_malloc(size_t);
void *
malloc(size_t n)
{
	if (n >= (size_t)40 << 20 && n <= (size_t)56 << 20) {
		errno = ENOMEM;
		return NULL;
	}
	return __libc_malloc(n);
}
C
cc -shared -fPIC -o "$WD/failbig.so" "$WD/failbig.c" || fail "cc failbig.so"
mkdir -p "$WD/big"
python3 - "$WD/big/m.eml" <<'PY'
import base64, os, sys
with open(sys.argv[1], "w") as f:
    f.write("From: a@example.com\r\nTo: b@example.org\r\nSubject: big part\r\n"
            "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n"
            "--b\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n--b\r\n"
            "Content-Type: application/octet-stream; name=\"x.bin\"\r\n"
            "Content-Transfer-Encoding: base64\r\n\r\n")
    block = base64.encodebytes(os.urandom(57 * 16384)).decode().replace("\n", "\r\n")
    for _ in range(48 * 1048576 // (57 * 16384)):
        f.write(block)
    f.write("--b--\r\n")
PY
# (held in memory: past large_message_threshold a part would be decoded
# into a file of its own, not the heap)
SCANMILTER=$SCANMILTER_TEST_PLAIN LD_PRELOAD=$WD/failbig.so \
    SM_MILTER_EXTRA='large_message_threshold = 200M' \
    SM_AV='antivirus "av1" { mime_decompose = yes  timeout = 60s  test "t1" { } }' sm_start "$WD/e"
got=$(mg_one "unix:$SM_SOCK" "$WD/big/m.eml")
check "decomposition out of memory: answered, scanned whole and clean ($got)" [ "$got" = "accept|" ]
check "  the log says why" sm_log_has 'cannot keep the decoded parts \(out of memory\): scanning the message whole'
check "  one scan, of the whole message" bash -c "[ \$(grep -c 'test engine t1: scan of' '$SM_LOG') = 1 ]"
check "  the daemon is still running" alive
got=$(mg_one "unix:$SM_SOCK" "$SM_TOP/t/data/mail/clean-plain.eml")
check "  and answers the next message ($got)" [ "$got" = "accept|" ]
check "stopped cleanly" sm_stop
finish
