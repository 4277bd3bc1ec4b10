#!/usr/bin/env bash
# Running without -f: the command returns once the daemon serves (the parent exits 0), the
# pidfile holds the child, which leads its own session, keeps serving, logs to syslog (not to
# the terminal) and stops cleanly on SIGTERM, removing the pidfile; a start that fails makes
# the command exit non-zero.  `log = syslog` sends the log to syslog with -f too.
# syslog is captured in a private mount namespace: a private /dev whose /dev/log is a
# datagram socket bound by a small python3 listener writing WORKDIR/syslog.
set -u
. "$(dirname "$0")/../lib/scanmilter.sh"
. "$(dirname "$0")/../lib/promises.sh"

sm_need_built "$MILTERGEN"
[ "$(id -u)" = 0 ] || fail "must run as root (unshare, mount)"
command -v unshare >/dev/null || fail "unshare not installed"
WD=$(mktemp -d /tmp/sm-daemon.XXXXXX)
cleanup() {
    local p
    for p in "$WD"/daemon.pid "$WD"/syslogd.pid; do
        [ -s "$p" ] && kill $(cat "$p") 2>/dev/null
    done
    [ -n "${FPID:-}" ] && kill "$FPID" 2>/dev/null
    rm -rf "$WD"
}
trap cleanup EXIT
chmod 755 "$WD"
mkdir -p "$WD/run" "$WD/tmp" "$WD/clean" "$WD/eicar" "$WD/dev"
cp "$SM_TOP/t/data/mail/clean-plain.eml" "$WD/clean/"
cp "$SM_TOP/t/data/mail/eicar-plain.eml" "$WD/eicar/"
sm_write_conf "$WD" >"$WD/scanmilter.conf"
sed 's/^  log_level = debug$/  log_level = info\n  log = syslog/' "$WD/scanmilter.conf" >"$WD/syslog.conf"
grep -q 'log = syslog' "$WD/syslog.conf" || fail "could not write syslog.conf"
: >"$WD/syslog"

cat >"$WD/syslogd.py" <<'PY'
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
os.chmod(sys.argv[1], 0o666)
open(sys.argv[3], "a").write("%d\n" % os.getpid())
s.settimeout(300)
with open(sys.argv[2], "a") as out:
    try:
        while True:
            out.write(s.recv(65536).decode(errors="replace").rstrip("\n") + "\n")
            out.flush()
    except socket.timeout:
        pass
PY

# The script run in the private mount namespace: a private /dev with /dev/log, then the
# command given (the daemon stays in the namespace after unshare's shell exits).
cat >"$WD/ns.sh" <<EOF
set -u
mount -t tmpfs -o mode=755 smdev '$WD/dev' || exit 3
for n in null zero random urandom full; do
    [ -e /dev/\$n ] || continue
    touch '$WD/dev/'\$n && mount --bind /dev/\$n '$WD/dev/'\$n || exit 3
done
ln -s /proc/self/fd '$WD/dev/fd'
mount --bind '$WD/dev' /dev || exit 3
python3 '$WD/syslogd.py' /dev/log '$WD/syslog' '$WD/syslogd.pid' </dev/null >/dev/null 2>&1 &
i=0; while [ ! -S /dev/log ] && [ \$i -lt 100 ]; do sleep 0.1; i=\$((i+1)); done
[ -S /dev/log ] || exit 4
"\$@"
EOF

serves() {  # LABEL
    local c e
    c=$(mg_one "unix:$WD/run/scanmilter.sock" "$WD/clean")
    e=$(mg_one "unix:$WD/run/scanmilter.sock" "$WD/eicar")
    check "$1: clean accepted ($c)" [ "$c" = "accept|" ]
    check "$1: EICAR refused ($e)" [ "$e" = "reject|550 5.7.1 Virus found: Scanmilter.Test.EICAR.UNOFFICIAL" ]
}

# 1. without -f
start=$(_now_ms)
timeout 60 unshare --mount --propagation private bash "$WD/ns.sh" \
    "$SCANMILTER" -c "$WD/scanmilter.conf" -P "$WD/daemon.pid" >"$WD/out" 2>&1 </dev/null
rc=$?
check "without -f: the command returns, status 0 ($rc)" [ "$rc" = 0 ]
check "... once the socket is there" [ -S "$WD/run/scanmilter.sock" ]
check "... and the pidfile" [ -s "$WD/daemon.pid" ]
pid=$(cat "$WD/daemon.pid" 2>/dev/null)
check "pidfile holds a running scanmilter ($pid)" bash -c "[ -n '$pid' ] && [ \"\$(cat /proc/$pid/comm 2>/dev/null)\" = scanmilter ]"
check "the daemon leads its own session (setsid)" \
    bash -c "[ \"\$(ps -o sid= -p '$pid' | tr -d ' ')\" = '$pid' ]"
check "the daemon is not a child of this shell" bash -c "[ \"\$(ps -o ppid= -p '$pid' | tr -d ' ')\" != $$ ]"
check "the daemon's stderr is /dev/null" bash -c "[ \"\$(readlink /proc/$pid/fd/2)\" = /dev/null ]"
check "nothing written to the terminal" bash -c "[ ! -s '$WD/out' ]"
serves "daemonized"
check "syslog: the start-up line, tagged scanmilter[PID]" \
    wait_until 5 grep -qE "scanmilter\\[$pid\\]: .*listening on unix:$WD/run/scanmilter.sock" "$WD/syslog"
check "syslog: facility mail (<2x>)" grep -qE "^<2[0-9]>.*scanmilter\\[$pid\\]: .*listening on" "$WD/syslog"
check "syslog: the infected message's line" \
    wait_until 5 grep -q "scanmilter\\[$pid\\]: .*verdict=infected, virus=Scanmilter.Test.EICAR.UNOFFICIAL" "$WD/syslog"
kill -TERM "$pid"
check "SIGTERM: the daemon exits" wait_for_pid_gone "$pid" 20
check "SIGTERM: pidfile removed" [ ! -e "$WD/daemon.pid" ]
check "SIGTERM: milter socket removed" [ ! -e "$WD/run/scanmilter.sock" ]
check "syslog: 'stopped'" wait_until 5 grep -q "scanmilter\\[$pid\\]: .*stopped" "$WD/syslog"
log "syslog: $(wc -l <"$WD/syslog") lines; daemonized in $(( $(_now_ms) - start )) ms"

# 2. a start that fails after the fork: the command's status says so
sed 's|database_directory = "[^"]*"|database_directory = "/nonexistent"|' "$WD/scanmilter.conf" >"$WD/bad.conf"
timeout 60 unshare --mount --propagation private bash "$WD/ns.sh" \
    "$SCANMILTER" -c "$WD/bad.conf" -P "$WD/bad.pid" >"$WD/out" 2>&1 </dev/null
rc=$?
check "without -f, engines fail to load: the command exits non-zero ($rc)" bash -c '[ "$1" != 0 ] && [ "$1" != 3 ] && [ "$1" != 4 ] && [ "$1" != 124 ]' _ "$rc"
check "... and says why on stderr" grep -q '/nonexistent' "$WD/out"

# 3. log = syslog with -f: the log goes to syslog, not stderr
: >"$WD/syslog"
unshare --mount --propagation private bash "$WD/ns.sh" \
    "$SCANMILTER" -f -c "$WD/syslog.conf" 2>"$WD/stderr" </dev/null &
FPID=$!
if wait_for_socket "$WD/run/scanmilter.sock" 20 && wait_until 10 grep -q 'listening on' "$WD/syslog"; then
    serves "log = syslog, -f"
    check "log = syslog: the infected message's line in syslog" \
        wait_until 5 grep -q 'verdict=infected, virus=Scanmilter.Test.EICAR.UNOFFICIAL' "$WD/syslog"
    check "log = syslog: nothing on stderr" bash -c "! grep -q 'verdict=' '$WD/stderr'"
else
    not_ok "log = syslog with -f: daemon did not start or log"; cat "$WD/stderr" >&2
fi
spid=$(pgrep -P "$FPID" -x scanmilter || echo "$FPID")
kill -TERM "$spid" 2>/dev/null
wait_for_pid_gone "$FPID" 20
wait "$FPID"; rc=$?; FPID=
check "log = syslog: stopped cleanly ($rc)" [ "$rc" = 0 ]
finish
