#!/usr/bin/env bash
# The clamd engine against a farm of two real clamd servers (Debian's
# clamav-daemon, on private unix sockets, loaded with the test signatures),
# bench/miltergen as the MTA side:
#  - a clean message accepted, EICAR refused with clamd's signature name;
#  - round-robin: both servers scan;
#  - at concurrency 16 one clamd is killed (SIGKILL) mid-run: every message
#    is still answered with its right verdict, none tempfailed (the object
#    goes to the other server at once), the outage is logged once;
#  - while it is down, the other server takes everything;
#  - restarted, it answers PING after down_time and takes traffic again;
#  - both down: the answer is the tempfailure, never "clean";
#  - scanmilterctl version shows clamd's version.
set -u
. "$(dirname "$0")/../lib/scanmilter.sh"

sm_need_built "$MILTERGEN"
CLAMD=$(command -v clamd || echo /usr/sbin/clamd)
[ -x "$CLAMD" ] || fail "clamd is missing (make test-deps installs clamav-daemon)"

WD=$(mktemp -d /tmp/sm-clamd.XXXXXX)
chmod 755 "$WD"
CLAMD_PIDS=()
cleanup() {
    sm_stop
    for p in "${CLAMD_PIDS[@]}"; do kill "$p" 2>/dev/null; done
    for p in "${CLAMD_PIDS[@]}"; do wait_for_pid_gone "$p" 5 || kill -9 "$p" 2>/dev/null; done
    [ -n "${KEEP:-}" ] || rm -rf "$WD"
}
trap cleanup EXIT

# clamd_start N LOGNAME: clamd number N on $WD/cN.sock, logging every scan
clamd_start() {
    local n=$1 log=$WD/$2
    mkdir -p "$WD/ctmp$n"
    cat >"$WD/c$n.conf" <<EOF
LocalSocket $WD/c$n.sock
Foreground yes
DatabaseDirectory $SM_TOP/t/data/sigs
LogFile $log
LogClean yes
LogTime no
TemporaryDirectory $WD/ctmp$n
MaxThreads 8
EOF
    rm -f "$WD/c$n.sock"
    "$CLAMD" -c "$WD/c$n.conf" >"$WD/c$n.out" 2>&1 </dev/null &
    eval "CLAMD$n=$!"
    CLAMD_PIDS+=("$!")
    disown "$!"
    wait_for_socket "$WD/c$n.sock" 60 || { cat "$WD/c$n.out" >&2; fail "clamd $n did not start"; }
}
scans() { grep -cE ': (OK|.* FOUND)$' "$WD/$1" 2>/dev/null || echo 0; }
col() { printf '%s\n' "$2" | tr ' ' '\n' | sed -n "s/^$1=//p"; }

# the corpus: 30 clean and 10 EICAR messages, all different
mkdir -p "$WD/m"
for i in $(seq 1 30); do
    { printf 'X-Seq: %d\r\n' "$i"; cat "$SM_TOP/t/data/mail/clean-plain.eml"; } >"$WD/m/clean-$i.eml"
done
for i in $(seq 1 10); do
    { printf 'X-Seq: %d\r\n' "$i"; cat "$SM_TOP/t/data/mail/eicar-attach.eml"; } >"$WD/m/eicar-$i.eml"
done
# every line of a miltergen CSV has the verdict its file name says
verdicts_right() {
    awk -F, 'NR > 1 {
        bad = ($1 ~ /eicar-/ && $4 != "reject") || ($1 ~ /clean-/ && $4 != "accept")
        if (bad) { n++; if (n <= 3) print "#   wrong: " $0 > "/dev/stderr" }
    } END { exit n > 0 }' "$1"
}
run_load() {  # N CSV: miltergen at concurrency 16
    timeout 120 "$MILTERGEN" -s "unix:$SM_SOCK" -c 16 -n "$1" -t 30 -o "$2" "$WD/m" | grep '^RESULT'
}

clamd_start 1 c1.log
clamd_start 2 c2.log
SM_AV="antivirus \"antivirus1\" {
  action = \"reject\"
  timeout = 20s
  cache_size = 0
  clamd \"farm\" {
    servers = \"unix:$WD/c1.sock, unix:$WD/c2.sock\"
    down_time = 1s
  }
}" sm_start "$WD/d"

# 1. one of each
timeout 30 "$MILTERGEN" -s "unix:$SM_SOCK" -c 1 -n 1 -o "$WD/one.csv" "$WD/m/clean-1.eml" >/dev/null
check "clean message accepted" grep -q '^"[^"]*/clean-1.eml",[0-9]*,[0-9.]*,accept,' "$WD/one.csv"
timeout 30 "$MILTERGEN" -s "unix:$SM_SOCK" -c 1 -n 1 -o "$WD/two.csv" "$WD/m/eicar-1.eml" >/dev/null
check "EICAR refused with clamd's name" grep -q 'reject,.*Scanmilter.Test.EICAR' "$WD/two.csv"

# 2. round-robin
res=$(run_load 40 "$WD/rr.csv")
log "$res"
s1=$(scans c1.log) s2=$(scans c2.log)
check "round-robin: both servers scan (c1 $s1, c2 $s2)" [ "$s1" -ge 10 ] && [ "$s2" -ge 10 ]
check "round-robin: every verdict right" verdicts_right "$WD/rr.csv"

# 3. clamd 1 killed mid-run at concurrency 16
run_load 1500 "$WD/kill.csv" >"$WD/kill.res" &
gen=$!
base=$(scans c1.log)
wait_until 60 bash -c "[ \$(grep -cE ': (OK|.* FOUND)\$' '$WD/c1.log') -ge $((base + 100)) ]" ||
    log "clamd 1 scanned fewer than 100 before the kill"
kill -9 "$CLAMD1"
killed_at=$(scans c1.log)
wait "$gen"
res=$(cat "$WD/kill.res"); log "$res"
check "kill: all 1500 answered ($(col accept "$res") accept, $(col reject "$res") reject)" \
    [ $(( $(col accept "$res") + $(col reject "$res") )) -eq 1500 ]
check "kill: no tempfail ($(col tempfail "$res"))" [ "$(col tempfail "$res")" -eq 0 ]
check "kill: every verdict right" verdicts_right "$WD/kill.csv"
check "kill: clamd 1 had scanned before it died ($killed_at)" [ "$killed_at" -gt "$base" ]
check "kill: the outage is logged once" \
    [ "$(grep -c "server unix:$WD/c1.sock is down" "$SM_LOG")" -eq 1 ]

# 4. while it is down, clamd 2 takes all
s2=$(scans c2.log)
res=$(run_load 100 "$WD/down.csv"); log "$res"
check "down: 100 accepted or refused, none tempfailed" [ "$(col tempfail "$res")" -eq 0 ]
check "down: clamd 2 scanned all 100" [ "$(scans c2.log)" -ge $((s2 + 100)) ]

# 5. restarted: back after down_time, traffic returns
clamd_start 1 c1b.log
sleep 1.2
res=$(run_load 200 "$WD/back.csv"); log "$res"
check "back: every verdict right" verdicts_right "$WD/back.csv"
check "back: the return is logged" sm_log_has "server unix:$WD/c1.sock is back"
check "back: clamd 1 scans again ($(scans c1b.log) of 200)" [ "$(scans c1b.log)" -ge 50 ]

# 6. version through the console
check "scanmilterctl version names clamd" bash -c "'$CTL' -s '$SM_CTL' version | grep -q 'clamd 1\\.'"

# 7. both down: tempfail, never clean
kill -9 "$CLAMD1" "$CLAMD2"
wait_for_pid_gone "$CLAMD1" 5; wait_for_pid_gone "$CLAMD2" 5
timeout 60 "$MILTERGEN" -s "unix:$SM_SOCK" -c 2 -n 4 -t 30 -o "$WD/none.csv" "$WD/m/clean-2.eml" "$WD/m/eicar-2.eml" >/dev/null
check "no server: every message tempfailed" \
    [ "$(awk -F, 'NR > 1 && $4 == "tempfail"' "$WD/none.csv" | wc -l)" -eq 4 ]
check "no server: the log says why" sm_log_has 'clamd: no server answered'
check "stopped cleanly" sm_stop

finish
