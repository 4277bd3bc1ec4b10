# t/lib/scanmilter.sh - start and stop the scanmilter daemon under test (bash).
#
#   sm_start WORKDIR [EXTRA_CONFIG]  write WORKDIR/scanmilter.conf (test signatures,
#                                    socket WORKDIR/run/scanmilter.sock mode 0666, file_base
#                                    WORKDIR/tmp) plus EXTRA_CONFIG (with $SM_AV set, it
#                                    replaces the default antivirus block; $SM_MILTER_EXTRA goes
#                                    into milter { }), start $SCANMILTER -f on it
#                                    (stderr to WORKDIR/scanmilter.log), wait for the socket.
#                                    Unless EXTRA_CONFIG has its own control { } scope, the
#                                    control socket is WORKDIR/run/control.sock (never the
#                                    shared /run/scanmilter one).
#                                    Exports SM_SOCK, SM_PID, SM_LOG, SM_CONF, SM_TMP, SM_CTL.
#   sm_stop                          SIGTERM, wait (bounded), SIGKILL if needed; 0 if it
#                                    exited cleanly with status 0.
#   sm_tmp_empty                     true if file_base holds nothing but empty directories and,
#                                    while the daemon runs, it holds no file under file_base
#                                    open (spill files are unlinked: only /proc/PID/fd shows
#                                    them); waits up to 5 s for that
#   sm_log_has REGEX                 true if the daemon's log matches
#   sm_need_built PROGRAM...         fail unless each was built ($MILTERGEN, $CTL:
#                                    the load generator and scanmilterctl)
#
# $SCANMILTER is the daemon binary (t/check.sh sets it; default build/src/scanmilter);
# $SCANMILTER_TEST the daemon with the test engine (default build/t/scanmilter-test;
# t/check.sh gives the sanitizer build's, and $SCANMILTER_TEST_PLAIN the optimised one).

# shellcheck source=common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

SM_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SCANMILTER=${SCANMILTER:-$SM_TOP/build/src/scanmilter}
SCANMILTER_TEST=${SCANMILTER_TEST:-$SM_TOP/build/t/scanmilter-test}
# the load generator and the console client the scripts drive
MILTERGEN=${MILTERGEN:-$SM_TOP/build/bench/miltergen}
CTL=${SCANMILTERCTL:-$(dirname "$SCANMILTER")/scanmilterctl}
[ -x "$CTL" ] || CTL=$SM_TOP/build/src/scanmilterctl

sm_need_built() {  # PROGRAM...: fail unless each was built
    local b
    for b in "$@"; do [ -x "$b" ] || fail "no $b (make all first)"; done
}

sm_write_conf() {  # WORKDIR EXTRA
    local wd=$1 extra=${2:-} av=${SM_AV:-}
    if [ -z "$av" ]; then
        av=$(printf 'antivirus "antivirus1" {\n  action = "reject"\n  clamav "clamav1" {\n    database_directory = "%s"\n  }\n}' "$SM_TOP/t/data/sigs")
    fi
    cat <<CONF
milter {
  listen = "unix:$wd/run/scanmilter.sock"
  socket_mode = 0666
  file_base = "${SM_FILE_BASE:-$wd/tmp}"
  hostname = "scanner.test"
  log_level = ${SM_LOG_LEVEL:-debug}
  ${SM_MILTER_EXTRA:-}
}
$av
$extra
CONF
    case $extra in
        *control*\{*) ;;
        *) printf 'control { listen = "unix:%s/run/control.sock" }\n' "$wd" ;;
    esac
}

sm_start() {
    local wd=$1 extra=${2:-}
    mkdir -p "$wd/run" "$wd/tmp" || fail "sm_start: mkdir under $wd"
    chmod 755 "$wd" "$wd/run"
    SM_CONF=$wd/scanmilter.conf SM_LOG=$wd/scanmilter.log
    SM_SOCK=$wd/run/scanmilter.sock SM_TMP=${SM_FILE_BASE:-$wd/tmp}
    SM_CTL=$wd/run/control.sock
    sm_write_conf "$wd" "$extra" >"$SM_CONF"
    # a socket left by a daemon killed here before would look ready at once
    [ -S "$SM_SOCK" ] && rm -f "$SM_SOCK"
    "$SCANMILTER" -f -c "$SM_CONF" 2>>"$SM_LOG" </dev/null &
    SM_PID=$!
    export SM_CONF SM_LOG SM_SOCK SM_PID SM_TMP SM_CTL
    if ! wait_for_socket "$SM_SOCK" 20; then
        cat "$SM_LOG" >&2
        fail "sm_start: scanmilter did not open $SM_SOCK"
    fi
}

sm_stop() {
    local rc
    [ -n "${SM_PID:-}" ] || return 0
    kill -TERM "$SM_PID" 2>/dev/null
    if ! wait_for_pid_gone "$SM_PID" 30; then
        kill -KILL "$SM_PID" 2>/dev/null
        wait "$SM_PID" 2>/dev/null
        SM_PID=
        return 1
    fi
    wait "$SM_PID" 2>/dev/null; rc=$?
    SM_PID=
    return $rc
}

# Spill files are O_TMPFILE or unlinked at once: no walk of file_base can
# see them, only the daemon's descriptors can ("/path (deleted)").
sm_tmp_open() {  # print the daemon's open non-directories under file_base
    local base fd t
    [ -n "${SM_PID:-}" ] && [ -d "/proc/$SM_PID/fd" ] || return 0
    base=$(cd "$SM_TMP" 2>/dev/null && pwd -P) || base=$SM_TMP
    for fd in /proc/"$SM_PID"/fd/*; do
        t=$(readlink "$fd" 2>/dev/null) || continue
        case $t in "$base"/*|"$SM_TMP"/*) ;; *) continue ;; esac
        [ "$(stat -L -c %F "$fd" 2>/dev/null)" = directory ] && continue
        printf '%s\n' "$t"
    done
}
sm_tmp_bytes() {  # bytes in anything but directories under file_base
    find "$SM_TMP" ! -type d -printf '%s\n' 2>/dev/null | awk '{ n += $1 } END { print n + 0 }'
}
_sm_tmp_clean() {
    [ -z "$(sm_tmp_open)" ] && [ -z "$(find "$SM_TMP" ! -type d 2>/dev/null | head -n 1)" ] &&
        [ "$(sm_tmp_bytes)" = 0 ]
}
sm_tmp_empty() {
    wait_until 5 _sm_tmp_clean && return 0
    log "file_base $SM_TMP: $(sm_tmp_bytes) bytes in files (du: $(du -sk "$SM_TMP" 2>/dev/null | cut -f1) KiB)"
    sm_tmp_open | sed 's/^/#   held open: /' >&2
    find "$SM_TMP" ! -type d 2>/dev/null | head -n 10 | sed 's/^/#   left: /' >&2
    return 1
}

sm_log_has() { grep -Eq "$1" "$SM_LOG"; }
