#!/usr/bin/env bash
# reload_mode: concurrent keeps scanning during a signature reload and so
# holds two signature sets for a while; blocking never holds two (mail is
# answered 451 4.3.2 meanwhile).  Shown with a 440,000-signature database:
# the daemon's peak anonymous memory during a reload, in both modes.
set -u
. "$(dirname "$0")/../lib/scanmilter.sh"

plan 20
WD=$(mktemp -d /tmp/sm-rmem.XXXXXX)
trap 'sm_stop; rm -rf "$WD"' EXIT
chmod 755 "$WD"
mkdir -p "$WD/db"
python3 - "$WD/db" <<'PY'
import random, sys
r = random.Random(7)
with open(sys.argv[1] + "/bulk.hdb", "w") as f:
    for i in range(400000):
        f.write("%032x:%d:Bulk.Hash.%d\n" % (r.getrandbits(128), r.randint(100, 100000), i))
with open(sys.argv[1] + "/bulk.ndb", "w") as f:
    for i in range(40000):
        f.write("Bulk.Body.%d:0:*:%048x\n" % (i, r.getrandbits(192)))
PY
cp "$SM_TOP"/t/data/sigs/* "$WD/db/"
chmod -R a+rX "$WD/db"

# a signature only the reload brings: the message below is clean before it
mkdir -p "$WD/new"
printf 'From: a@example.com\r\nTo: b@example.org\r\nSubject: new\r\n\r\nSCANMILTER-RELOADED-SIGNATURE-7Z\r\n' >"$WD/new/m.eml"
NEWSIG='Scanmilter.Test.Reloaded:0:*:5343414e4d494c5445522d52454c4f414445442d5349474e41545552452d375a'

anon() { awk '/^RssAnon:/ { print $2 }' "/proc/$SM_PID/status"; }
# peak RssAnon over a reload: HUP, then poll until the log says it is done
reload_peak() {
    local n0 peak=0 v i
    n0=$(grep -c 'configuration and signatures from' "$SM_LOG")
    kill -HUP "$SM_PID"
    for i in $(seq 1 600); do          # at most 60 s
        v=$(anon); [ -n "$v" ] && [ "$v" -gt "$peak" ] && peak=$v
        [ "$(grep -c 'configuration and signatures from' "$SM_LOG")" -gt "$n0" ] && break
        sleep 0.1
    done
    sleep 1; v=$(anon); [ "$v" -gt "$peak" ] && peak=$v
    echo "$peak"
}

for mode in concurrent blocking; do
    rm -f "$WD/db/reloaded.ndb"
    SM_AV='antivirus "antivirus1" { clamav "clamav1" { database_directory = "'"$WD/db"'" } }' \
        SM_MILTER_EXTRA="reload_mode = $mode" sm_start "$WD/$mode"
    timeout 30 "$MILTERGEN" -s "unix:$SM_SOCK" -c 1 -n 1 -o "$WD/$mode-before.csv" "$WD/new" >/dev/null
    check "$mode: before the reload the new signature's message is clean" \
        grep -q ',accept,' "$WD/$mode-before.csv"
    echo "$NEWSIG" >"$WD/db/reloaded.ndb"; chmod a+r "$WD/db/reloaded.ndb"
    base=$(anon)
    peak=$(reload_peak)
    after=$(anon)
    log "$mode: base $((base / 1024)) MB, peak during reload $((peak / 1024)) MB, after $((after / 1024)) MB"
    eval "base_$mode=$base peak_$mode=$peak"
    timeout 30 "$MILTERGEN" -s "unix:$SM_SOCK" -c 1 -n 1 -o "$WD/$mode.csv" "$WD/new" >/dev/null
    check "$mode: scanning with the reloaded signatures (the new one finds its message)" \
        grep -q '550 5.7.1 Virus found: Scanmilter.Test.Reloaded.UNOFFICIAL' "$WD/$mode.csv"
    timeout 30 "$MILTERGEN" -s "unix:$SM_SOCK" -c 1 -n 1 -o "$WD/$mode-old.csv" "$SM_TOP/t/data/mail/eicar-plain.eml" >/dev/null
    check "$mode: ... and the old ones still find theirs" \
        grep -q '550 5.7.1 Virus found: Scanmilter.Test.EICAR' "$WD/$mode-old.csv"
    check "$mode: memory back near its base after the reload" [ "$after" -lt $((base + base / 4 + 10240)) ]
    sm_stop
done
engine=$((base_concurrent - 4096))    # the signature set, roughly (base less ~4 MB of daemon)
check "concurrent: two signature sets during the reload (peak +$(( (peak_concurrent - base_concurrent) / 1024 )) MB)" \
    [ $((peak_concurrent - base_concurrent)) -gt $((engine / 2)) ]
check "blocking: never two (peak +$(( (peak_blocking - base_blocking) / 1024 )) MB, set ~$((engine / 1024)) MB)" \
    [ $((peak_blocking - base_blocking)) -lt $((engine / 2)) ]

# mail during a blocking reload: 451 4.3.2, never accepted unscanned
SM_AV='antivirus "antivirus1" { clamav "clamav1" { database_directory = "'"$WD/db"'" } }' \
    SM_MILTER_EXTRA="reload_mode = blocking" sm_start "$WD/mail"
kill -HUP "$SM_PID"
wait_until 10 sm_log_has 'reload \(SIGHUP\): reading '
timeout 30 "$MILTERGEN" -s "unix:$SM_SOCK" -c 1 -n 1 -o "$WD/during.csv" "$SM_TOP/t/data/mail/clean-plain.eml" >/dev/null
check "during a blocking reload: 451 4.3.2 reloading ($(tail -n 1 "$WD/during.csv" | cut -d, -f4-))" \
    grep -q '451 4.3.2 Mail scanner reloading its signatures, try again later' "$WD/during.csv"
wait_until 60 sm_log_has 'reload \(SIGHUP\): configuration and signatures'
timeout 30 "$MILTERGEN" -s "unix:$SM_SOCK" -c 1 -n 1 -o "$WD/after.csv" "$SM_TOP/t/data/mail/clean-plain.eml" >/dev/null
check "after it: accepted again" grep -q ',accept,' "$WD/after.csv"
# a message that began before the reload and ends during it: 451 too
cat >"$WD/across.lua" <<'LUA'
local conn = mt.connect(socket, 20, 0.25)
mt.conninfo(conn, "client.example", "127.0.0.1")
mt.mailfrom(conn, "<across@example.com>")
mt.rcptto(conn, "<b@example.org>")
mt.header(conn, "Subject", "across")
-- the reload has begun once the log says so (at most 10 s)
os.execute("kill -HUP " .. pid .. "; for i in $(seq 100); do " ..
    "[ $(grep -c 'reload (SIGHUP): reading ' " .. log .. ") -gt " .. n0 .. " ] && break; sleep 0.1; done")
mt.eoh(conn)
mt.bodystring(conn, "body\r\n")
mt.eom(conn)
if mt.eom_check(conn, MT_SMTPREPLY, "451", "4.3.2", "Mail scanner reloading its signatures, try again later") then
    print("451 4.3.2")
elseif mt.getreply(conn) == SMFIR_REPLYCODE then print("another reply code") else print("no reply code") end
mt.disconnect(conn)
LUA
n0=$(grep -c 'reload (SIGHUP): configuration and signatures' "$SM_LOG")
nr=$(grep -c 'reload (SIGHUP): reading ' "$SM_LOG")
r=$(timeout 60 miltertest -D socket="unix:$SM_SOCK" -D pid="$SM_PID" -D log="$SM_LOG" -D n0="$nr" \
    -s "$WD/across.lua" 2>&1 | tail -n 1)
check "a message ending during a blocking reload: 451 4.3.2 ($r)" [ "$r" = "451 4.3.2" ]
check "... and logged as not scanned" sm_log_has 'from=<across@example.com>: not scanned, reloading: tempfail'
reloaded() { [ "$(grep -c 'reload (SIGHUP): configuration and signatures' "$SM_LOG")" -gt "$n0" ]; }
wait_until 60 reloaded
check "stopped cleanly" sm_stop

# a message already under way (MAIL FROM given, still arriving) when a
# blocking reload starts: it does not hold the reload back (only scans
# do), and at its end it is scanned by the new engines -- never accepted
# unscanned.  Regression for two review findings.
cat >"$WD/slow.lua" <<'LUA'
local conn = mt.connect(socket, 20, 0.25)
mt.conninfo(conn, "client.example", "127.0.0.1")
mt.helo(conn, "client.example")
mt.mailfrom(conn, "<a@example.com>")
mt.rcptto(conn, "<b@example.org>")
-- wait (at most 30 s) until the reload is done, the message still open
os.execute("kill -HUP " .. pid .. "; for i in $(seq 300); do " ..
    "grep -q 'reload (SIGHUP): configuration and signatures' " .. log .. " && break; sleep 0.1; done")
mt.header(conn, "Subject", "under way")
mt.eoh(conn)
mt.bodystring(conn, "body\r\n")
mt.eom(conn)
if mt.getreply(conn) == SMFIR_ACCEPT then print("accepted") else print("refused") end
mt.disconnect(conn)
LUA
SM_AV='antivirus "antivirus1" { timeout = 1s  test "t1" { verdict = infected } }' \
    SM_MILTER_EXTRA="reload_mode = blocking" SCANMILTER=${SCANMILTER_TEST:-$SM_TOP/build/t/scanmilter-test} \
    sm_start "$WD/under"
r=$(timeout 60 miltertest -D socket="unix:$SM_SOCK" -D pid="$SM_PID" -D log="$SM_LOG" -s "$WD/slow.lua" 2>&1 | tail -n 1)
check "a message under way through a blocking reload is not accepted unscanned ($r)" [ "$r" = refused ]
check "the reload did not wait for a message still arriving" \
    sm_log_has 'reload \(SIGHUP\): configuration and signatures'
check "... nor gave up" bash -c "! grep -q 'blocking reload abandoned' '$SM_LOG'"
check "the message was scanned by the new engines (after the reload)" \
    bash -c "sed -n '/reload (SIGHUP): configuration and signatures/,\$p' '$SM_LOG' | grep -q 'from=<a@example.com>.*infected'"
check "stopped cleanly" sm_stop
finish
