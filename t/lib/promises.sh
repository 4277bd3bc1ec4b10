# t/lib/promises.sh - helpers for the scripts that hold the daemon to the README's promises
# (bash; source after t/lib/scanmilter.sh).
#
#   mg_one SOCKET FILE [MILTERGEN_ARGS...]
#       send FILE once through miltergen to SOCKET (unix:/path, inet:PORT@127.0.0.1,
#       inet6:PORT@[::1]); print "VERDICT|REPLY" (VERDICT accept, reject, tempfail, discard,
#       accept+quarantine, connerr, timeout...; REPLY "550 5.7.1 text" or "").
#   mt_send SOCKET VAR=VALUE...
#       send one message step by step with Debian's miltertest and check what came back.
#       VARs: hdr ("Name: value" added to the message), body (default "text"), want
#       (accept | reply | discard), rcode xcode text (with want=reply: the exact reply),
#       hname hval (with want=accept: a header added with exactly this value), nohdr (a header
#       name that must NOT be added).  Prints miltertest's "ok"/"not ok" lines; 0 if all held.
#   msg_file PATH [HEADER...]
#       write a small message to PATH with the given extra header lines.
#   csv_reply CSVFILE [N]
#       "VERDICT|REPLY" of the Nth message (default 1) of a miltergen CSV.

MILTERGEN=${MILTERGEN:-$SM_TOP/build/bench/miltergen}
SCANMILTER_T=${SCANMILTER_TEST:-$SM_TOP/build/t/scanmilter-test}

csv_reply() {
    python3 - "$1" "${2:-1}" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="")))
n = int(sys.argv[2])
if len(rows) < n:
    print("none|"); sys.exit(0)
r = rows[n - 1]
print("%s|%s" % (r["verdict"], r["reply"]))
PY
}

mg_one() {
    local sock=$1 file=$2 csv
    shift 2
    csv=$(mktemp /tmp/sm-mg.XXXXXX)
    timeout 60 "$MILTERGEN" -s "$sock" -c 1 -n 1 -t 30 -o "$csv" "$@" "$file" >/dev/null 2>&1
    csv_reply "$csv"
    rm -f "$csv"
}

msg_file() {
    local path=$1 h
    shift
    {
        printf 'From: sender@example.com\r\nTo: rcpt@example.org\r\nSubject: promise\r\n'
        for h in "$@"; do printf '%s\r\n' "$h"; done
        printf '\r\nJust text.\r\n'
    } >"$path"
}

_PROMISES_LUA='
local function fail(what) print("not ok - " .. what); os.exit(1) end
local function step(rc, what) if rc ~= nil then fail(what .. ": " .. tostring(rc)) end end
local conn = mt.connect(socket, 20, 0.25)
if conn == nil then fail("connect to " .. tostring(socket)) end
step(mt.conninfo(conn, "client.example", "127.0.0.1"), "conninfo")
step(mt.helo(conn, "client.example"), "HELO")
step(mt.macro(conn, SMFIC_MAIL, "i", "PROM01"), "macro i")
step(mt.mailfrom(conn, "<sender@example.com>"), "MAIL")
step(mt.rcptto(conn, "<rcpt@example.org>"), "RCPT")
step(mt.header(conn, "From", "sender@example.com"), "From")
step(mt.header(conn, "Subject", "promise"), "Subject")
if hdr ~= nil and hdr ~= "" then
	local n, v = string.match(hdr, "^([^:]+):%s*(.*)$")
	step(mt.header(conn, n, v), "header " .. n)
end
step(mt.eoh(conn), "EOH")
step(mt.bodystring(conn, (body or "text") .. "\r\n"), "body")
step(mt.eom(conn), "EOM")
local r = mt.getreply(conn)
local bad = 0
local function check(c, what) if c then print("ok - " .. what) else print("not ok - " .. what); bad = bad + 1 end end
if want == "accept" then
	check(r == SMFIR_ACCEPT, "accepted")
	if hname ~= nil then
		check(mt.eom_check(conn, MT_HDRADD, hname, hval), "header " .. hname .. ": " .. tostring(hval))
	end
elseif want == "discard" then
	check(r == SMFIR_DISCARD, "discarded")
elseif want == "reply" then
	check(r == SMFIR_REPLYCODE, "a reply code")
	check(mt.eom_check(conn, MT_SMTPREPLY, rcode, xcode, text), "reply " .. rcode .. " " .. xcode .. " " .. text)
	check(not mt.eom_check(conn, MT_HDRADD), "no header added")
end
if nohdr ~= nil then
	check(not mt.eom_check(conn, MT_HDRADD, nohdr), "no " .. nohdr .. " added")
end
mt.disconnect(conn)
if bad > 0 then os.exit(1) end
'

mt_send() {
    local sock=$1 lua out rc kv
    shift
    lua=$(mktemp /tmp/sm-mt.XXXXXX.lua)
    printf '%s\n' "$_PROMISES_LUA" >"$lua"
    local args=()
    for kv in "$@"; do args+=(-D "$kv"); done
    out=$(timeout 60 miltertest -D socket="$sock" "${args[@]}" -s "$lua" 2>&1); rc=$?
    printf '%s\n' "$out" | sed 's/^/#   /' >&2
    rm -f "$lua"
    return $rc
}
