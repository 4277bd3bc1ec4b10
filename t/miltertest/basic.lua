-- Drives a running scanmilter step by step, as an MTA does, with Debian's
-- miltertest.  Run: miltertest -D socket=unix:/path -s basic.lua
-- Every failure names itself (an uncaught Lua error exits 1 silently).

local eicar = "X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
local failures = 0
local passes = 0

local function check(cond, what)
	if cond then
		print("ok - " .. what)
		passes = passes + 1
	else
		print("not ok - " .. what)
		failures = failures + 1
	end
end

local function step(rc, what)
	if rc ~= nil then
		print("not ok - " .. what .. ": " .. tostring(rc))
		os.exit(1)
	end
end

local function send_message(conn, id, headers, body)
	step(mt.macro(conn, SMFIC_MAIL, "i", id), "macro i")
	step(mt.mailfrom(conn, "<sender@example.com>", "SIZE=" .. #body), "MAIL")
	step(mt.rcptto(conn, "<rcpt@example.org>"), "RCPT")
	for _, h in ipairs(headers) do
		step(mt.header(conn, h[1], h[2]), "header " .. h[1])
	end
	step(mt.eoh(conn), "EOH")
	step(mt.bodystring(conn, body), "body")
	step(mt.eom(conn), "EOM")
	return mt.getreply(conn)
end

local std = {
	{ "From", "sender@example.com" },
	{ "To", "rcpt@example.org" },
	{ "Subject", "miltertest" },
	{ "X-Folded", "first\n\tsecond" },
}

local conn = mt.connect(socket, 20, 0.25)
if conn == nil then
	print("not ok - cannot connect to " .. tostring(socket))
	os.exit(1)
end
step(mt.conninfo(conn, "client.example", "::1"), "conninfo IPv6")
check(mt.getreply(conn) == SMFIR_CONTINUE, "connect from ::1 continues")
step(mt.helo(conn, "client.example"), "HELO")	-- it clears MAIL's macros

-- 1. clean mail is accepted and tagged
local r = send_message(conn, "MT0001", std, "Hello.\r\nJust text.\r\n")
check(r == SMFIR_ACCEPT, "clean message accepted")
check(mt.eom_check(conn, MT_HDRADD, "X-Virus-Status", "Clean"),
    "X-Virus-Status: Clean added")
check(mt.eom_check(conn, MT_HDRADD, "X-Virus-Scanned"),
    "X-Virus-Scanned added")

-- 2. EICAR in the body on the same connection: 550 5.7.1 with the name
r = send_message(conn, "MT0002", std, "Look:\r\n" .. eicar .. "\r\n")
check(r == SMFIR_REPLYCODE, "infected message gets a reply code")
check(mt.eom_check(conn, MT_SMTPREPLY, "550", "5.7.1",
    "Virus found: Scanmilter.Test.EICAR.UNOFFICIAL"),
    "reply is 550 5.7.1 Virus found: Scanmilter.Test.EICAR.UNOFFICIAL")
check(not mt.eom_check(conn, MT_HDRADD), "no header added to rejected mail")

-- 3. a forged X-Virus-Status is removed before ours is added
local forged = { { "From", "a@example.com" },
	{ "X-Virus-Status", "Clean" }, { "X-Virus-Status", "Clean too" } }
r = send_message(conn, "MT0003", forged, "text\r\n")
check(r == SMFIR_ACCEPT, "message with forged status accepted")
check(mt.eom_check(conn, MT_HDRDELETE, "X-Virus-Status"),
    "forged X-Virus-Status deleted")

-- 4. an abort mid-body, then a fresh message on the same connection
step(mt.mailfrom(conn, "<x@example.com>"), "MAIL before abort")
step(mt.rcptto(conn, "<y@example.org>"), "RCPT before abort")
step(mt.header(conn, "Subject", "aborted"), "header before abort")
step(mt.eoh(conn), "EOH before abort")
step(mt.bodystring(conn, eicar), "body before abort")
step(mt.abort(conn), "abort")
r = send_message(conn, "MT0004", std, "after abort\r\n")
check(r == SMFIR_ACCEPT, "message after an abort is clean (no leftover)")

-- 5. EICAR split across body chunks is still found
step(mt.macro(conn, SMFIC_MAIL, "i", "MT0005"), "macro i")
step(mt.mailfrom(conn, "<s@example.com>"), "MAIL")
step(mt.rcptto(conn, "<r@example.org>"), "RCPT")
step(mt.header(conn, "Subject", "split"), "header")
step(mt.eoh(conn), "EOH")
step(mt.bodystring(conn, string.sub(eicar, 1, 30)), "body chunk 1")
step(mt.bodystring(conn, string.sub(eicar, 31) .. "\r\n"), "body chunk 2")
step(mt.eom(conn), "EOM")
check(mt.getreply(conn) == SMFIR_REPLYCODE, "EICAR split over chunks rejected")

mt.disconnect(conn)
print(string.format("%d passed, %d failed", passes, failures))
if failures > 0 then
	os.exit(1)
end
