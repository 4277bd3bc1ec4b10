-- Skip rules (skip_networks, skip_authenticated, skip_variable) driven by
-- miltertest against a daemon configured with:
--   skip_networks = "10.0.0.0/8 2001:db8::/32"  skip_authenticated = yes
--   skip_variable = "skip_virus_check"
-- Run: miltertest -D socket=unix:/path -s skip.lua

local eicar = "X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
local passes, failures = 0, 0

local function check(cond, what)
	if cond then
		print("ok - " .. what); passes = passes + 1
	else
		print("not ok - " .. what); failures = failures + 1
	end
end

-- one connection from ip, one EICAR message, macros as given
local function try(ip, macros)
	local conn = mt.connect(socket, 20, 0.25)
	if conn == nil then print("not ok - connect"); os.exit(1) end
	mt.conninfo(conn, "client.example", ip)
	mt.helo(conn, "client.example")	-- HELO clears later stages' macros
	for name, value in pairs(macros) do
		mt.macro(conn, SMFIC_MAIL, name, value)
	end
	mt.mailfrom(conn, "<a@example.com>")
	mt.rcptto(conn, "<b@example.org>")
	mt.header(conn, "Subject", "skip test")
	mt.eoh(conn)
	mt.bodystring(conn, eicar .. "\r\n")
	mt.eom(conn)
	local r = mt.getreply(conn)
	local tag = nil
	for _, why in ipairs({ "trusted network", "authenticated", "skip_virus_check" }) do
		if mt.eom_check(conn, MT_HDRADD, "X-Virus-Status", "Skipped (" .. why .. ")") then
			tag = why
		end
	end
	mt.disconnect(conn)
	return r, tag
end

local r, tag = try("10.9.8.7", {})
check(r == SMFIR_ACCEPT and tag == "trusted network", "IPv4 client in skip_networks: accepted unscanned, tagged")
r, tag = try("2001:db8::25", {})
check(r == SMFIR_ACCEPT and tag == "trusted network", "IPv6 client in skip_networks: accepted unscanned, tagged")
r, tag = try("::ffff:10.1.1.1", {})
check(r == SMFIR_ACCEPT and tag == "trusted network", "IPv4-mapped IPv6 client matches the IPv4 range")
r, tag = try("192.0.2.1", { ["{auth_authen}"] = "alice" })
check(r == SMFIR_ACCEPT and tag == "authenticated", "authenticated sender skipped")
r, tag = try("192.0.2.1", { ["{skip_virus_check}"] = "yes" })
check(r == SMFIR_ACCEPT and tag == "skip_virus_check", "skip_variable macro set: skipped")
r, tag = try("192.0.2.1", { ["{skip_virus_check}"] = "0" })
check(r == SMFIR_REPLYCODE, "skip_variable macro set to 0: scanned, rejected")
r, tag = try("192.0.2.1", {})
check(r == SMFIR_REPLYCODE and tag == nil, "other IPv4 client: scanned, rejected")
r, tag = try("2001:db9::1", {})
check(r == SMFIR_REPLYCODE and tag == nil, "IPv6 client outside the range: scanned, rejected")

print(string.format("%d passed, %d failed", passes, failures))
if failures > 0 then os.exit(1) end
