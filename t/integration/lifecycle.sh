#!/usr/bin/env bash
# The daemon's life: SIGHUP reloads under load (hundreds, in bursts, mixed
# with other signals, signature databases swapped) with no dropped
# connection and no tempfail; a bad config keeps the old one; restart-only
# options say so; signature updates are picked up by themselves; systemd
# notifications; SIGTERM lets messages in flight finish, a second signal
# stops at once; privileges dropped; pidfile; libclamav failing half way
# is a tempfail, never "clean".
set -u
. "$(dirname "$0")/../lib/scanmilter.sh"

sm_need_built "$MILTERGEN"
plan 54
WD=$(mktemp -d /tmp/sm-life.XXXXXX)
NPID=
cleanup() { sm_stop; [ -n "$NPID" ] && kill "$NPID" 2>/dev/null; [ -n "${KEEP:-}" ] || rm -rf "$WD"; }
trap cleanup EXIT
chmod 755 "$WD"
DB=$WD/db
mkdir -p "$DB" "$WD/corpus"
cp "$SM_TOP"/t/data/sigs/* "$DB/"
cp "$SM_TOP"/t/data/mail/*.eml "$WD/corpus/"
rm -f "$WD/corpus/clean-large.eml"		# keep the load fast
chmod -R a+rX "$DB" "$WD/corpus"
AV='antivirus "antivirus1" { timeout = 30s  clamav "clamav1" { database_directory = "'"$DB"'" } }'

# a systemd-style notification listener: one line per datagram
python3 - "$WD/notify.sock" >"$WD/notify.log" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(240)
try:
    while True:
        print(s.recv(4096).decode().replace("\n", " "), flush=True)
except socket.timeout:
    pass
PY
NPID=$!
wait_for_socket "$WD/notify.sock" 10 || fail "notify listener did not start"

NOTIFY_SOCKET=$WD/notify.sock SM_AV=$AV \
    SM_MILTER_EXTRA="auto_reload_interval = 1s  pidfile = \"$WD/a/run/scanmilter.pid\"" sm_start "$WD/a"
check "READY=1 sent to NOTIFY_SOCKET" wait_until 5 grep -q '^READY=1' "$WD/notify.log"
check "pidfile holds the daemon's pid" bash -c "[ \"\$(cat '$WD/a/run/scanmilter.pid')\" = $SM_PID ]"
rss0=$(awk '/^RssAnon:/ { print $2 }' "/proc/$SM_PID/status")

# expected verdict per corpus file
verdicts_ok() {  # CSV: every reply is the definitive one EXPECTED says
    awk -F'\t' 'NR == FNR { want[$1] = $2; next }
        FNR > 1 { n = split($1, p, "/"); f = p[n]; gsub(/"/, "", f)
                  got = ($4 == "reject") ? "infected" : ($4 == "accept") ? "clean" : $4
                  if (want[f] != got) { bad++; if (bad < 5) print "MISMATCH " f " " got > "/dev/stderr" }
                  seen++ }
        END { exit !(seen > 0 && bad == 0) }' \
        "$SM_TOP/t/data/mail/EXPECTED" FS=',' "$1"
}

# 1. load at 16 connections while HUP is sent 300 times in bursts, mixed
#    with other signals, and the signature database is swapped
"$MILTERGEN" -s "unix:$SM_SOCK" -c 16 -n 20000 -m 20 -t 60 -T 300 \
    -o "$WD/load.csv" "$WD/corpus" >"$WD/load.out" 2>&1 &
LPID=$!
sent=0
for burst in $(seq 1 30); do
    for i in $(seq 1 10); do
        case $((i % 4)) in
        0) kill -USR1 "$SM_PID" ;; 1) kill -WINCH "$SM_PID" ;; 2) kill -USR2 "$SM_PID" ;;
        esac
        kill -HUP "$SM_PID"; sent=$((sent + 1))
    done
    if [ $((burst % 5)) = 0 ]; then      # swap databases: add, then remove one
        if [ -f "$DB/extra.ndb" ]; then rm -f "$DB/extra.ndb"
        else echo 'Scanmilter.Test.Extra:0:*:5343414e4d494c5445522d45585452412d534947' >"$DB/extra.ndb"; fi
    fi
    sleep 0.1
    kill -0 "$LPID" 2>/dev/null || break
done
wait "$LPID"; lrc=$?
res=$(grep '^RESULT' "$WD/load.out")
printf '#   %s\n' "$res"
check "daemon survived $sent SIGHUPs in bursts with other signals" kill -0 "$SM_PID"
check "load run finished cleanly (miltergen exit $lrc)" [ "$lrc" = 0 ]
check "no dropped connection, no reply timeout" bash -c "grep -q ' connerr=0 timeout=0 unsent=0' <<<'$res'"
check "no tempfail during reloads" bash -c "grep -q ' tempfail=0 ' <<<'$res'"
check "every message got the verdict EXPECTED says" verdicts_ok "$WD/load.csv"
nrel=$(grep -c 'configuration and signatures from .* in use' "$SM_LOG")
check "reloads happened under load ($nrel)" [ "$nrel" -ge 10 ]
check "RELOADING=1 with MONOTONIC_USEC sent" grep -q '^RELOADING=1 MONOTONIC_USEC=[0-9]' "$WD/notify.log"
sleep 2
rss1=$(awk '/^RssAnon:/ { print $2 }' "/proc/$SM_PID/status")
check "memory back near baseline after reloads ($((rss0 / 1024)) MB -> $((rss1 / 1024)) MB)" \
    [ "$rss1" -lt $((rss0 + 20480)) ]

# 2. a bad config: the old one keeps serving, the log says why
cp "$SM_CONF" "$WD/good.conf"
sed -i 's|^milter {|milter {\n  bogus_option = 1|' "$SM_CONF"
kill -HUP "$SM_PID"
check "bad config: reload refused with file, line and option" \
    wait_until 5 sm_log_has "reload \(SIGHUP\) failed, the running configuration stays: $SM_CONF:[0-9]+: option 'bogus_option'"
out=$(timeout 60 "$MILTERGEN" -s "unix:$SM_SOCK" -c 2 -n 26 -o "$WD/after.csv" "$WD/corpus")
check "bad config: still serving with the old one" verdicts_ok "$WD/after.csv"
cp "$WD/good.conf" "$SM_CONF"

# 3. an option only a restart changes says so
sed -i 's|backlog = .*||; s|^milter {|milter {\n  backlog = 7|' "$SM_CONF"
kill -HUP "$SM_PID"
check "restart-only option: reload says it waits for a restart" \
    wait_until 5 sm_log_has "option 'backlog' changed in .*: it takes effect at the next restart"
cp "$WD/good.conf" "$SM_CONF"
# a metrics listener named on reload is one of them too
printf 'metrics {\n  listen = "127.0.0.1:1"\n}\n' >>"$SM_CONF"
kill -HUP "$SM_PID"
check "restart-only option: a new metrics listen waits for a restart" \
    wait_until 5 sm_log_has "option 'metrics listen' changed in .*: it takes effect at the next restart"
cp "$WD/good.conf" "$SM_CONF"
# and so do the console's admin_group, max_connections and
# reload_interval, the metrics max_connections, group and pidfile
sed -i "s|^control { listen = \"\([^\"]*\)\" }|control { listen = \"\1\"  admin_group = \"root\"  max_connections = 3  reload_interval = 2s }\nmetrics { max_connections = 3 }|; s|pidfile = \"[^\"]*\"|pidfile = \"$WD/a/run/other.pid\"  group = \"root\"|" "$SM_CONF"
kill -HUP "$SM_PID"
for o in 'control admin_group' 'control max_connections' \
    'control reload_interval' 'metrics max_connections' pidfile group; do
    check "restart-only option: '$o' changed on reload waits for a restart" \
        wait_until 5 sm_log_has "option '$o' changed in .*: it takes effect at the next restart"
done
cp "$WD/good.conf" "$SM_CONF"
# and the sockets and the identity the daemon took at its start: the
# milter's listen, mode and group, the user, the log facility, the
# console's listen, mode and group
sed -i "s|^  listen = \"unix:[^\"]*\"|  listen = \"unix:$WD/a/run/other.sock\"  socket_group = \"root\"  user = \"root\"  log_facility = local3|; s|socket_mode = 0666|socket_mode = 0660|; s|^control { listen = \"\([^\"]*\)\" }|control { listen = \"unix:$WD/a/run/other-control.sock\"  socket_mode = 0600  socket_group = \"root\" }|" "$SM_CONF"
kill -HUP "$SM_PID"
for o in listen socket_mode socket_group user log_facility 'control listen' \
    'control socket_mode' 'control socket_group'; do
    check "restart-only option: '$o' changed on reload waits for a restart" \
        wait_until 5 sm_log_has "option '$o' changed in .*: it takes effect at the next restart"
done
check "... and the daemon still listens where it started" \
    bash -c "[ -S '$SM_SOCK' ] && [ ! -e '$WD/a/run/other.sock' ] && [ ! -e '$WD/a/run/other-control.sock' ]"
cp "$WD/good.conf" "$SM_CONF"

# 4. signatures updated on disk are picked up by themselves (auto_reload)
mkdir -p "$WD/newsig"
printf 'Subject: new\r\n\r\nSCANMILTER-FRESH-SIGNATURE-9Q\r\n' >"$WD/newsig/m.eml"
timeout 30 "$MILTERGEN" -s "unix:$SM_SOCK" -c 1 -n 1 -o "$WD/new0.csv" "$WD/newsig" >/dev/null
check "before the update: the message is clean" grep -q ',accept,' "$WD/new0.csv"
# ... while the config file is half edited: the update reloads the running
# configuration, it never reads the file
printf '\nmilter { bogus_half_edit\n' >>"$SM_CONF"
echo 'Scanmilter.Test.Fresh:0:*:5343414e4d494c5445522d46524553482d5349474e41545552452d3951' >"$DB/fresh.ndb"
picked() {  # SUBDIR NAME: a message of WD/SUBDIR is refused as NAME
    timeout 30 "$MILTERGEN" -s "unix:$SM_SOCK" -c 1 -n 1 -o "$WD/new1.csv" "$WD/$1" >/dev/null
    grep -q "$2" "$WD/new1.csv"
}
check "after the update: rejected without a SIGHUP (auto_reload)" wait_until 10 picked newsig Scanmilter.Test.Fresh.UNOFFICIAL
check "the log says the signatures changed" sm_log_has 'signatures of clamav "clamav1" changed on disk'
check "the half-edited config file was not read: the running configuration, new signatures" \
    sm_log_has 'reload \(signatures changed\): new signatures in use, the configuration unchanged'
check "... and no reload failed over it" bash -c "! grep -q 'bogus_half_edit' '$SM_LOG'"
cp "$WD/good.conf" "$SM_CONF"

# ... and auto_reload = no, by SIGHUP, stops it (read at every reload)
sed -i 's|^milter {|milter {\n  auto_reload = no|' "$SM_CONF"
nr=$(grep -c 'reload (SIGHUP): configuration and signatures' "$SM_LOG")
kill -HUP "$SM_PID"
check "auto_reload = no: the reload took it" \
    wait_until 10 bash -c "[ \$(grep -c 'reload (SIGHUP): configuration and signatures' '$SM_LOG') -gt $nr ]"
mkdir -p "$WD/newsig2"
printf 'Subject: new2\r\n\r\nSCANMILTER-SECOND-SIGNATURE-7Z\r\n' >"$WD/newsig2/m.eml"
echo 'Scanmilter.Test.Second:0:*:5343414e4d494c5445522d5345434f4e442d5349474e41545552452d375a' >"$DB/second.ndb"
sleep 4		# four auto_reload_intervals
not_picked() { ! picked "$@"; }
check "auto_reload = no: a signature change is not picked up" not_picked newsig2 Scanmilter.Test.Second.UNOFFICIAL
cp "$WD/good.conf" "$SM_CONF"
kill -HUP "$SM_PID"
check "a SIGHUP loads it" wait_until 10 picked newsig2 Scanmilter.Test.Second.UNOFFICIAL
# ... and that reload turned auto_reload back on: the next change is
# picked up without a SIGHUP
mkdir -p "$WD/newsig3"
printf 'Subject: new3\r\n\r\nSCANMILTER-THIRD-SIGNATURE-4K\r\n' >"$WD/newsig3/m.eml"
echo "Scanmilter.Test.Third:0:*:$(printf 'SCANMILTER-THIRD-SIGNATURE-4K' | od -An -tx1 | tr -d ' \n')" >"$DB/third.ndb"
check "auto_reload = yes again by SIGHUP: a signature change is picked up by itself" \
    wait_until 10 picked newsig3 Scanmilter.Test.Third.UNOFFICIAL

# 5. libclamav failing half way (its temporary directory gone) is never clean
rmdir "$SM_TMP/engine-clamav1" 2>/dev/null || rm -rf "$SM_TMP/engine-clamav1"
timeout 30 "$MILTERGEN" -s "unix:$SM_SOCK" -c 1 -n 1 -o "$WD/broken.csv" "$SM_TOP/t/data/mail/eicar-plain.eml" >/dev/null
check "engine failure: EICAR answered 451 4.3.0, not accepted" grep -q '451 4.3.0' "$WD/broken.csv"
mkdir -p "$SM_TMP/engine-clamav1"

check "nothing held open or left under file_base while it runs" sm_tmp_empty
check "SIGTERM: exit status 0" sm_stop
check "STOPPING=1 sent" wait_until 5 grep -q '^STOPPING=1' "$WD/notify.log"
check "pidfile removed" [ ! -e "$WD/a/run/scanmilter.pid" ]
check "no temporary file left" sm_tmp_empty

# 6. SIGTERM lets a message in flight finish; a second signal stops at once
SCANMILTER_T=${SCANMILTER_TEST:-$SM_TOP/build/t/scanmilter-test}
mkdir -p "$WD/slow"
printf 'Subject: slow\r\nX-Test-Delay: 2s\r\n\r\nslow\r\n' >"$WD/slow/m.eml"
SM_AV='antivirus "antivirus1" { test "t1" { } }' SCANMILTER=$SCANMILTER_T sm_start "$WD/b"
timeout 30 "$MILTERGEN" -s "unix:$SM_SOCK" -c 1 -n 1 -o "$WD/inflight.csv" "$WD/slow" >/dev/null &
GPID=$!
wait_until 10 sm_log_has 'test engine t1: scan of .* started'
kill -TERM "$SM_PID"
wait "$GPID"
check "SIGTERM during a scan: that message still got its answer" grep -q ',accept,' "$WD/inflight.csv"
check "SIGTERM during a scan: the daemon exits once it finished" wait_for_pid_gone "$SM_PID" 10
wait "$SM_PID"; rc=$?; SM_PID=
check "... with status 0 ($rc)" [ "$rc" = 0 ]

printf 'Subject: slower\r\nX-Test-Delay: 20s\r\n\r\nslow\r\n' >"$WD/slow/m.eml"
SM_AV='antivirus "antivirus1" { timeout = 60s  test "t1" { } }' SCANMILTER=$SCANMILTER_T sm_start "$WD/c"
timeout 60 "$MILTERGEN" -s "unix:$SM_SOCK" -c 1 -n 1 -t 50 "$WD/slow" >/dev/null 2>&1 &
GPID=$!
wait_until 10 sm_log_has 'test engine t1: scan of .* started'
kill -TERM "$SM_PID"
wait_until 10 sm_log_has 'stopping: letting messages in flight finish'
kill -TERM "$SM_PID"
check "a second SIGTERM stops at once" wait_for_pid_gone "$SM_PID" 3
wait "$SM_PID" 2>/dev/null; rc=$?
check "... with a non-zero status ($rc)" [ "$rc" != 0 ]
SM_PID=
check "... and says so in the log" sm_log_has 'second signal \(Terminated\): stopping now'
kill "$GPID" 2>/dev/null; wait "$GPID" 2>/dev/null

# 7. privileges: started as root, runs as the configured user
if id nobody >/dev/null 2>&1; then
    chmod 755 "$WD"
    SM_AV=$AV SM_MILTER_EXTRA='user = "nobody"' sm_start "$WD/d"
    uid=$(awk '/^Uid:/ { print $2 "/" $3 "/" $4 }' "/proc/$SM_PID/status")
    check "running as nobody ($uid)" [ "$uid" = "$(id -u nobody)/$(id -u nobody)/$(id -u nobody)" ]
    timeout 30 "$MILTERGEN" -s "unix:$SM_SOCK" -c 2 -n 26 -o "$WD/nobody.csv" "$WD/corpus" >/dev/null
    check "as nobody: verdicts still right" verdicts_ok "$WD/nobody.csv"
    kill -HUP "$SM_PID"
    check "as nobody: reload works" wait_until 5 sm_log_has 'reload \(SIGHUP\): configuration and signatures'
    check "as nobody: stops cleanly" sm_stop
else
    skip_n 4 "privilege drop to nobody (no user nobody here)"
fi
finish
