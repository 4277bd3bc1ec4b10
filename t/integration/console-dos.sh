#!/usr/bin/env bash
# The console's listeners (control socket, metrics port) under a local denial of service,
# against the real daemon with its descriptor limit lowered (prlimit):
#  1. default caps, RLIMIT_NOFILE 256, 300 slow clients on each listener that trickle a
#     byte every 0.3 s and never finish a request: mail is still served promptly through
#     the milter socket, the clients past the cap (16) are closed at once, every client is
#     closed by the absolute deadline (5 s, not restarted by a byte), the daemon's CPU
#     time over the window stays small and its log grows by a bounded number of lines;
#     the console answers again afterwards.
#  2. caps raised past the limit (max_connections 1000, RLIMIT_NOFILE 40 past the
#     descriptors open at start): the listeners themselves run out of descriptors; they
#     pause instead of spinning on accept (CPU), log a bounded number of lines, close
#     what waits in the backlog, and once the deadline has closed the slow clients mail
#     and commands are served again.
set -u
. "$(dirname "$0")/../lib/scanmilter.sh"

sm_need_built "$MILTERGEN" "$CTL"
command -v prlimit >/dev/null || fail "prlimit is missing (util-linux)"
command -v python3 >/dev/null || fail "python3 is missing"
command -v curl >/dev/null || fail "curl is missing (make deps)"

WD=$(mktemp -d /tmp/sm-console-dos.XXXXXX)
SLOW_PIDS=
trap 'for p in $SLOW_PIDS; do kill "$p" 2>/dev/null; done; sm_stop; rm -rf "$WD"' EXIT
mkdir -p "$WD/clean"
cp "$SM_TOP/t/data/mail/clean-plain.eml" "$WD/clean/"
TICK=$(getconf CLK_TCK)

# slow.py KIND ADDR N SECONDS OUT: opens N connections to ADDR (unix path or
# 127.0.0.1:PORT), sends the start of a request, then one byte every 0.3 s to each open
# one until it is SECONDS old; writes how long each lasted (or "open" if it outlived
# SECONDS, "refused" if it could not connect in 2 s) to OUT.
cat >"$WD/slow.py" <<'PY'
import resource, select, socket, sys, time
kind, addr, n, secs, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 4096), hard))
head = b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: " if kind == "metrics" else b"stat"
socks, res = {}, []

def reap(timeout):
    """Notes (and closes) the connections the daemon has closed."""
    r, _, _ = select.select(list(socks), [], [], timeout) if socks else ([], [], [])
    now = time.monotonic()
    for s in r:
        try:
            data = s.recv(4096)
        except OSError:
            data = b""
        if data == b"":
            res.append("%.2f" % (now - socks.pop(s)))
            s.close()

t0 = time.monotonic()
for i in range(n):
    try:
        if kind == "metrics":
            host, port = addr.rsplit(":", 1)
            s = socket.create_connection((host, int(port)), timeout=2)
        else:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(2)
            s.connect(addr)
        s.setblocking(False)
        try:
            s.send(head)
        except OSError:
            pass
        socks[s] = time.monotonic()
    except OSError:
        res.append("refused")
    reap(0)
# each connection is watched for secs after its connect, all for at most 3 * secs
while socks and time.monotonic() - t0 < 3 * secs and \
        min(socks.values()) > time.monotonic() - secs:
    reap(0.3)
    for s in list(socks):
        try:
            s.send(b"a" if kind == "metrics" else b"s")
        except BlockingIOError:
            pass
        except OSError:
            res.append("%.2f" % (time.monotonic() - socks.pop(s)))
            s.close()
res += ["open"] * len(socks)
open(out, "w").write("\n".join(res) + "\n")
PY

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$SM_PID/stat"; }
log_lines() { wc -l <"$SM_LOG"; }
# how many of OUT's clients lasted at most S seconds / longer / were still open
lasted_le() { awk -v s="$2" '$1 != "open" && $1 != "refused" && $1 + 0 <= s' "$1" | wc -l; }
lasted_gt() { awk -v s="$2" '$1 == "open" || ($1 != "refused" && $1 + 0 > s)' "$1" | wc -l; }
still_open() { grep -c '^open$' "$1"; }
# TCP connections on PORT the daemon holds open (accepted: a descriptor of
# its own), from /proc: not a client's view, so a loaded machine's late
# connects and closes do not count
held_tcp() {  # PORT
    local port inodes
    port=$(printf '%04X' "$1")
    inodes=$(find "/proc/$SM_PID/fd" -lname 'socket:*' -printf '%l\n' 2>/dev/null |
        sed 's/socket:\[\([0-9]*\)\]/\1/' | sort -u)
    awk -v p=":$port" 'FNR > 1 && substr($2, length($2) - 4) == p && $4 == "01" { print $10 }' \
        /proc/net/tcp /proc/net/tcp6 2>/dev/null | sort -u | comm -12 - <(printf '%s\n' "$inodes") | wc -l
}
held_max() {  # PORT SECONDS: the most held at once, sampled every 0.1 s
    local m=0 n i
    for ((i = 0; i < $2 * 10; i++)); do
        n=$(held_tcp "$1"); [ "$n" -gt "$m" ] && m=$n
        sleep 0.1
    done
    echo "$m"
}
longest() { awk '$1 != "open" && $1 != "refused" && $1 + 0 > m { m = $1 + 0 } END { print m + 0 }' "$1"; }
send_mail() {  # N -> prints the RESULT line, in at most 20 s
    timeout 20 "$MILTERGEN" -s "unix:$SM_SOCK" -c 1 -n "$1" -t 15 "$WD/clean" | grep '^RESULT'
}
slow_start() {  # TAG KIND ADDR N SECONDS
    python3 "$WD/slow.py" "$2" "$3" "$4" "$5" "$WD/$1.out" &
    SLOW_PIDS="$SLOW_PIDS $!"
}
slow_wait() {
    for p in $SLOW_PIDS; do wait "$p"; done
    SLOW_PIDS=
}

# ---- 1. default caps, descriptors to spare -------------------------------------------
PORT=$(pick_port)
sm_start "$WD/a" "control { listen = \"unix:$WD/a/run/control.sock\" }
metrics { listen = \"127.0.0.1:$PORT\" }"
check "metrics answer before" bash -c "curl -sf --max-time 5 'http://127.0.0.1:$PORT/metrics' | grep -q '^scanmilter_build_info'"
check "prlimit RLIMIT_NOFILE 256 on the daemon" prlimit --pid "$SM_PID" --nofile=256:256
cpu0=$(cpu_ticks); lines0=$(log_lines); t0=$(_now_ms)
slow_start ctl1 control "$SM_CTL" 300 9
slow_start met1 metrics "127.0.0.1:$PORT" 300 9
held_max "$PORT" 8 >"$WD/met1.held" &
HELD_PID=$!
sleep 1.5
t1=$(_now_ms)
res=$(send_mail 3)
dt=$(( $(_now_ms) - t1 ))
log "mail during the flood: $res (${dt} ms)"
check "mail served during the flood (3 accepted)" grep -q ' accept=3 ' <<<"$res"
check "... promptly (${dt} ms < 3000)" [ "$dt" -lt 3000 ]
slow_wait
wait "$HELD_PID"
dt=$(( $(_now_ms) - t0 ))
cpu=$(( $(cpu_ticks) - cpu0 )); lines=$(( $(log_lines) - lines0 ))
for k in ctl1 met1; do
    log "$k: $(lasted_le "$WD/$k.out" 1) closed within 1 s, $(lasted_le "$WD/$k.out" 7) within 7 s," \
        "$(still_open "$WD/$k.out") still open, $(grep -c refused "$WD/$k.out") refused, longest $(longest "$WD/$k.out") s"
done
# the cap (16): the others are closed (or not let in) at once, a client's lifetime as
# measured here being late by its own blocked connect (2 s) and, on a loaded
# machine, the wait for the daemon's loop (every held client lasts 5 s)
check "control: at most 20 clients held past 4 s ($(lasted_gt "$WD/ctl1.out" 4))" \
    [ "$(lasted_gt "$WD/ctl1.out" 4)" -le 20 ]
# metrics closes a client past the cap at accept; what the daemon holds at
# once is counted from its own descriptors (a client's lifetime, as above,
# also counts its wait in the accept queue on a loaded machine)
check "metrics: at most 16 clients held at once, 17 while one past the cap is closed ($(cat "$WD/met1.held"), $(lasted_gt "$WD/met1.out" 4) lasted past 4 s)" \
    bash -c "m=\$(cat '$WD/met1.held'); [ \"\$m\" -ge 1 ] && [ \"\$m\" -le 17 ]"
check "control: every slow client closed by the deadline (none open 9 s after connect)" \
    [ "$(still_open "$WD/ctl1.out")" = 0 ]
check "metrics: every slow client closed by the deadline (none open 9 s after connect)" \
    [ "$(still_open "$WD/met1.out")" = 0 ]
check "control: none lasted past 7 s ($(longest "$WD/ctl1.out") s)" \
    awk -v m="$(longest "$WD/ctl1.out")" 'BEGIN { exit !(m <= 7) }'
check "metrics: none lasted past 7 s ($(longest "$WD/met1.out") s)" \
    awk -v m="$(longest "$WD/met1.out")" 'BEGIN { exit !(m <= 7) }'
log "daemon CPU over the ${dt} ms window: $cpu ticks of 1/$TICK s; log grew by $lines lines"
check "daemon CPU over the window < 1.5 s" [ "$cpu" -lt $(( TICK * 3 / 2 )) ]
check "log grew by < 50 lines" [ "$lines" -lt 50 ]
check "stats answered after the flood" bash -c "'$CTL' -s 'unix:$SM_CTL' stats | grep -q 'Messages checked'"
check "metrics answer after the flood" bash -c "curl -sf --max-time 5 'http://127.0.0.1:$PORT/metrics' | grep -q '^scanmilter_messages_total'"
check "the cap was logged (rate-limited)" sm_log_has 'connections open \(the most allowed: max_connections\)'
check "stopped cleanly" sm_stop

# ---- 2. caps past the descriptor limit: the listeners hit EMFILE ---------------------
PORT=$(pick_port)
sm_start "$WD/b" "control { listen = \"unix:$WD/b/run/control.sock\"
  max_connections = 1000 }
metrics { listen = \"127.0.0.1:$PORT\"
  max_connections = 1000 }"
nofile=$(( $(ls "/proc/$SM_PID/fd" | wc -l) + 40 ))
check "prlimit RLIMIT_NOFILE $nofile (40 more than open now) on the daemon" \
    prlimit --pid "$SM_PID" --nofile=$nofile:$nofile
cpu0=$(cpu_ticks); lines0=$(log_lines); t0=$(_now_ms)
slow_start ctl2 control "$SM_CTL" 150 9
slow_start met2 metrics "127.0.0.1:$PORT" 150 9
slow_wait
dt=$(( $(_now_ms) - t0 ))
cpu=$(( $(cpu_ticks) - cpu0 )); lines=$(( $(log_lines) - lines0 ))
for k in ctl2 met2; do
    log "$k: $(lasted_le "$WD/$k.out" 1) closed within 1 s, $(lasted_le "$WD/$k.out" 7) within 7 s," \
        "$(still_open "$WD/$k.out") still open, $(grep -c refused "$WD/$k.out") refused, longest $(longest "$WD/$k.out") s"
done
log "daemon CPU over the ${dt} ms window: $cpu ticks of 1/$TICK s; log grew by $lines lines"
check "out of descriptors: daemon CPU over the window < 1.5 s" [ "$cpu" -lt $(( TICK * 3 / 2 )) ]
check "out of descriptors: log grew by < 50 lines" [ "$lines" -lt 50 ]
check "out of descriptors: it said so" sm_log_has 'cannot accept a connection: Too many open files'
check "no slow client left open" bash -c "[ \$(cat '$WD/ctl2.out' '$WD/met2.out' | grep -c '^open\$') = 0 ]"
check "still running" kill -0 "$SM_PID"
res=$(send_mail 3)
check "mail served once the clients are gone" grep -q ' accept=3 ' <<<"$res"
check "stats answered once the clients are gone" bash -c "'$CTL' -s 'unix:$SM_CTL' stats | grep -q 'Messages checked'"
check "metrics answer once the clients are gone" bash -c "curl -sf --max-time 5 'http://127.0.0.1:$PORT/metrics' | grep -q '^scanmilter_build_info'"
check "stopped cleanly" sm_stop
finish
