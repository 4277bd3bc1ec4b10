# t/lib/common.sh - tiny helpers for scanmilter integration tests (bash).
#
# Source it from a bash test script:   . "$(dirname "$0")/../lib/common.sh"
#
#   log MSG...                       print "# MSG" to stderr (TAP comment style)
#   fail MSG...                      print "FATAL: MSG" to stderr and exit 1 (EXIT traps still run)
#   wait_for_socket PATH TIMEOUT_S   wait until PATH is a unix socket; 0 ok, 1 timeout
#   wait_for_port HOST PORT TIMEOUT_S  wait until HOST:PORT accepts TCP (HOST may be ::1)
#   wait_for_file_gone PATH TIMEOUT_S  wait until PATH no longer exists
#   wait_for_pid_gone PID TIMEOUT_S  wait until PID has exited (zombies count as exited)
#   wait_until TIMEOUT_S CMD...      poll CMD every 0.1 s until it succeeds; 0 ok, 1 timeout
#   pick_port                        print a TCP port free on 127.0.0.1 (and on ::1 if it exists)
#                                    now: bind it before the next pick_port, which may print it again
#   have_ipv6_loopback               true if ::1 can be bound
#   ok DESC / not_ok DESC            record and print a TAP-ish result line
#   check DESC CMD...                ok if CMD succeeds, not_ok otherwise
#   skip DESC                        a check that cannot run here (a tool or user missing, a
#                                    known defect): "ok N # SKIP DESC", counted as skipped
#   skip_n N DESC                    N such checks at once (a whole section left out)
#   plan N                           declare N checks (skips included) up front; finish fails
#                                    the script if another number ran
#   finish                           print the plan and "N passed, M failed, K skipped"; exit 1
#                                    if M>0, if no check passed, or if the plan was not met
#
# Every wait is bounded in time (TIMEOUT_S, fractions allowed, e.g. 2.5) and polls at most
# every 0.1 s.

# --- output -------------------------------------------------------------------------------
log() { printf '# %s\n' "$*" >&2; }
fail() { printf 'FATAL: %s\n' "$*" >&2; exit 1; }

# --- time -----------------------------------------------------------------------------------
# Milliseconds since the epoch (bash >= 5 has EPOCHREALTIME; fall back to date).
_now_ms() {
    if [ -n "${EPOCHREALTIME:-}" ]; then
        local t=${EPOCHREALTIME/[.,]/}
        printf '%s\n' "${t:0:${#t}-3}"
    else
        date +%s%3N
    fi
}

# seconds (may be fractional, "2.5") -> milliseconds
_s_to_ms() {
    local s=$1 int frac
    int=${s%%.*}; frac=
    [ "$int" != "$s" ] && frac=${s#*.}
    frac=${frac}000; frac=${frac:0:3}
    printf '%s\n' $(( ${int:-0} * 1000 + 10#$frac ))
}

# wait_until TIMEOUT_S CMD... : run CMD until it succeeds or the time is up.
wait_until() {
    local deadline=$(( $(_now_ms) + $(_s_to_ms "$1") )); shift
    # Hard cap on iterations as a second bound (0.1 s sleeps; +50 for slow CMDs).
    local max=$(( ($(_s_to_ms "$TIMEOUT_CAP_S") / 100) + 50 )) i=0
    while [ "$i" -lt "$max" ]; do
        "$@" && return 0
        [ "$(_now_ms)" -ge "$deadline" ] && return 1
        sleep 0.1
        i=$((i + 1))
    done
    return 1
}
TIMEOUT_CAP_S=${TIMEOUT_CAP_S:-600}   # no single wait may exceed this

_is_socket() { [ -S "$1" ]; }
_is_gone() { [ ! -e "$1" ]; }
_port_open() {
    # bash's /dev/tcp uses getaddrinfo, so ::1 works; cap each attempt at 1 s.
    timeout 1 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$1" "$2" 2>/dev/null
}

wait_for_socket() { wait_until "$2" _is_socket "$1"; }
wait_for_file_gone() { wait_until "$2" _is_gone "$1"; }
wait_for_port() { wait_until "$3" _port_open "$1" "$2"; }

# --- ports ------------------------------------------------------------------------------------
have_ipv6_loopback() {
    perl -MIO::Socket::IP -e \
        'IO::Socket::IP->new(Listen => 1, LocalHost => "::1", LocalPort => 0) or exit 1' \
        2>/dev/null
}

# Print a port that is free on 127.0.0.1 and, if IPv6 loopback works, on ::1 too.
# The kernel picks it (bind to port 0); racy only against other processes binding the same
# ephemeral port in the next moment. At most 20 tries.
pick_port() {
    perl -MIO::Socket::IP -e '
        for (1 .. 20) {
            my $s4 = IO::Socket::IP->new(Listen => 1, LocalHost => "127.0.0.1",
                                         LocalPort => 0, ReuseAddr => 0) or next;
            my $p = $s4->sockport;
            next if $p < 1024;
            if ($ARGV[0]) {
                my $s6 = IO::Socket::IP->new(Listen => 1, LocalHost => "::1",
                                             LocalPort => $p, ReuseAddr => 0) or next;
            }
            print "$p\n"; exit 0;
        }
        exit 1;' "$(have_ipv6_loopback && echo 1 || echo 0)" || fail "pick_port: no free port"
}

# --- results ------------------------------------------------------------------------------------
# Counters live in this shell: call check/ok/not_ok/skip from it, never from a subshell or the
# right side of a pipe (t/check.sh compares the result lines with the totals).
T_PASS=0
T_FAIL=0
T_SKIP=0
T_NUM=0
T_PLAN=
ok()     { T_NUM=$((T_NUM + 1)); T_PASS=$((T_PASS + 1)); printf 'ok %d - %s\n' "$T_NUM" "$*"; }
not_ok() { T_NUM=$((T_NUM + 1)); T_FAIL=$((T_FAIL + 1)); printf 'not ok %d - %s\n' "$T_NUM" "$*"; }
skip()   { T_NUM=$((T_NUM + 1)); T_SKIP=$((T_SKIP + 1)); printf 'ok %d # SKIP %s\n' "$T_NUM" "$*"; }
skip_n() { local n=$1 i; shift; for ((i = 0; i < n; i++)); do skip "$*"; done; }
check()  { local d=$1; shift; if "$@"; then ok "$d"; else not_ok "$d"; fi; }
plan()   { T_PLAN=$1; printf '1..%d\n' "$1"; }
finish() {
    if [ -n "$T_PLAN" ] && [ "$T_NUM" -ne "$T_PLAN" ]; then
        not_ok "the plan: $T_PLAN checks planned, $T_NUM run"
    fi
    [ -n "$T_PLAN" ] || printf '1..%d\n' "$T_NUM"
    printf '%d passed, %d failed, %d skipped\n' "$T_PASS" "$T_FAIL" "$T_SKIP"
    [ "$T_FAIL" -eq 0 ] && [ "$T_PASS" -gt 0 ] && exit 0
    exit 1
}

# --- smtp-sink: captures delivered mail, one file per message ----------------------------------
#   sink_start DIR [PORT]            start Postfix's smtp-sink on 127.0.0.1 (picked port unless
#                                    given); each message goes to a file DIR/msg/<time>.<hex>.
#                                    Exports SINK_DIR (=DIR/msg), SINK_PORT, SINK_PID; also
#                                    writes DIR/sink.pid, DIR/sink.port. Log: DIR/sink.log.
#   sink_stop DIR                    stop it (bounded), keeps the files
#   sink_files [SINKDIR]             print completed message files, oldest first
#   sink_count [SINKDIR]             number of completed message files
#   sink_wait_count N TIMEOUT_S [SINKDIR]  wait until >= N completed files; 0 ok, 1 timeout
#   sink_last [SINKDIR]              print the newest completed message file
#   sink_headers FILE                print the message header of a sink file (up to 1st blank line)
# "Completed" = no longer held open by smtp-sink (it keeps a file open while the SMTP transaction
# is in progress), read from /proc/$SINK_PID/fd.  A sink file begins with smtp-sink's own
# X-Client-Addr/X-Mail-Args/X-Rcpt-Args/Received lines, then the message as received.
# smtp-sink must drop root: it runs as user $SINK_USER (default postfix), so DIR and its parents
# must be traversable by that user.

SINK_USER=${SINK_USER:-postfix}

sink_start() {
    local dir=$1 port=${2:-}
    [ -n "$port" ] || port=$(pick_port)
    [ -n "$port" ] || fail "sink_start: no free port"
    mkdir -p "$dir/msg" || fail "sink_start: mkdir $dir/msg"
    chown "$SINK_USER" "$dir/msg" || fail "sink_start: chown $SINK_USER $dir/msg"
    runuser -u "$SINK_USER" -- test -w "$dir/msg" ||
        fail "sink_start: user $SINK_USER cannot write $dir/msg (a parent directory not searchable?)"
    command -v smtp-sink >/dev/null || PATH=$PATH:/usr/sbin
    smtp-sink -u "$SINK_USER" -h sink.scanmilter.test -d "$dir/msg/%Y%m%d%H%M%S." \
        "127.0.0.1:$port" 64 >"$dir/sink.log" 2>&1 </dev/null &
    local pid=$!; disown "$pid" 2>/dev/null
    echo "$pid" >"$dir/sink.pid"; echo "$port" >"$dir/sink.port"
    if ! wait_for_port 127.0.0.1 "$port" 10; then
        cat "$dir/sink.log" >&2
        fail "sink_start: smtp-sink did not listen on 127.0.0.1:$port"
    fi
    SINK_DIR=$dir/msg SINK_PORT=$port SINK_PID=$pid
    export SINK_DIR SINK_PORT SINK_PID
}

sink_stop() {
    local dir=$1 pid
    [ -f "$dir/sink.pid" ] || return 0
    pid=$(cat "$dir/sink.pid")
    if kill -0 "$pid" 2>/dev/null; then
        kill "$pid" 2>/dev/null
        wait_until 5 _pid_gone "$pid" || kill -9 "$pid" 2>/dev/null
    fi
    rm -f "$dir/sink.pid"
}

# true if PID has exited (a zombie counts as exited: PID 1 here may reap late)
_pid_gone() {
    kill -0 "$1" 2>/dev/null || return 0
    local st
    st=$(sed -n 's/^[0-9]* (.*) \([A-Za-z]\).*/\1/p' "/proc/$1/stat" 2>/dev/null)
    [ "$st" = Z ] || [ -z "$st" ]
}
wait_for_pid_gone() { wait_until "$2" _pid_gone "$1"; }

_sink_pid_for() {  # SINKDIR -> pid of its smtp-sink (or empty)
    local f=${1%/msg}/sink.pid
    [ -f "$f" ] && cat "$f"
}

sink_files() {
    local dir=${1:-${SINK_DIR:?sink_files: no SINK_DIR}} pid f open=
    pid=$(_sink_pid_for "$dir")
    if [ -n "$pid" ] && [ -d "/proc/$pid/fd" ]; then
        open=$(for f in /proc/"$pid"/fd/*; do readlink "$f" 2>/dev/null; done)
    fi
    # names are <YYYYmmddHHMMSS>.<hex>; sort by mtime so "oldest first" holds within a second
    ls -1tr "$dir" 2>/dev/null | while IFS= read -r f; do
        [ -f "$dir/$f" ] || continue
        case $'\n'"$open"$'\n' in *$'\n'"$dir/$f"$'\n'*) continue ;; esac
        printf '%s\n' "$dir/$f"
    done
}
sink_count() { sink_files "${1:-}" | wc -l; }
_sink_has() { [ "$(sink_count "$2")" -ge "$1" ]; }
sink_wait_count() { wait_until "$2" _sink_has "$1" "${3:-${SINK_DIR:-}}"; }
sink_last() { sink_files "${1:-}" | tail -n 1; }
sink_headers() { sed -e 's/\r$//' -e '/^$/q' "$1"; }
