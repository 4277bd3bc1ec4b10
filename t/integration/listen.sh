#!/usr/bin/env bash
# Where the daemon listens: `-p SOCKET` overrides the config's listen (the config's socket is
# never created), and inet: (127.0.0.1) and inet6: ([::1]) listeners serve mail -- a clean
# message accepted, EICAR refused 550 5.7.1 -- as the unix one does; the config's inet6 listen
# works without -p too.
set -u
. "$(dirname "$0")/../lib/scanmilter.sh"
. "$(dirname "$0")/../lib/promises.sh"

sm_need_built "$MILTERGEN"
WD=$(mktemp -d /tmp/sm-listen.XXXXXX)
PID=
stop() {
    [ -n "$PID" ] || return 0
    kill -TERM "$PID" 2>/dev/null
    wait_for_pid_gone "$PID" 20 || kill -KILL "$PID" 2>/dev/null
    wait "$PID" 2>/dev/null; local rc=$?
    PID=
    return $rc
}
trap 'stop; rm -rf "$WD"' EXIT
chmod 755 "$WD"
mkdir -p "$WD/run" "$WD/tmp" "$WD/clean" "$WD/eicar"
cp "$SM_TOP/t/data/mail/clean-plain.eml" "$WD/clean/"
cp "$SM_TOP/t/data/mail/eicar-plain.eml" "$WD/eicar/"
sm_write_conf "$WD" >"$WD/scanmilter.conf"	# listens on unix:$WD/run/scanmilter.sock

start() {  # [-p SPEC]: run the daemon in the foreground, wait for its "listening" line
    : >"$WD/log"
    "$SCANMILTER" -f -c "$WD/scanmilter.conf" "$@" 2>"$WD/log" </dev/null &
    PID=$!
    wait_until 20 grep -q 'listening on' "$WD/log" || { cat "$WD/log" >&2; not_ok "daemon started with $*"; return 1; }
}

serves() {  # SPEC LABEL: a clean message accepted, EICAR refused
    local c e
    c=$(mg_one "$1" "$WD/clean")
    e=$(mg_one "$1" "$WD/eicar")
    check "$2: clean accepted ($c)" [ "$c" = "accept|" ]
    check "$2: EICAR refused ($e)" [ "$e" = "reject|550 5.7.1 Virus found: Scanmilter.Test.EICAR.UNOFFICIAL" ]
}

# 1. -p inet: on 127.0.0.1
port=$(pick_port)
if start -p "inet:$port@127.0.0.1"; then
    check "-p inet: the log names the -p socket" grep -q "listening on inet:$port@127.0.0.1" "$WD/log"
    check "-p inet: 127.0.0.1:$port accepts connections" wait_for_port 127.0.0.1 "$port" 5
    check "-p inet: the config's unix socket is not created" [ ! -e "$WD/run/scanmilter.sock" ]
    serves "inet:$port@127.0.0.1" "inet:$port@127.0.0.1"
    check "-p inet: stopped cleanly" stop
fi

# 2. -p inet6: on [::1]
if have_ipv6_loopback; then
    port=$(pick_port)
    if start -p "inet6:$port@[::1]"; then
        check "-p inet6: [::1]:$port accepts connections" wait_for_port ::1 "$port" 5
        check "-p inet6: nothing on 127.0.0.1:$port" bash -c "! timeout 1 bash -c 'exec 3<>/dev/tcp/127.0.0.1/$port' 2>/dev/null"
        check "-p inet6: the config's unix socket is not created" [ ! -e "$WD/run/scanmilter.sock" ]
        serves "inet6:$port@[::1]" "inet6:$port@[::1]"
        check "-p inet6: stopped cleanly" stop
    fi
    # the same from the config file, without -p
    port=$(pick_port)
    sed -i "0,/listen = \"unix:[^\"]*\"/s||listen = \"inet6:$port@[::1]\"|" "$WD/scanmilter.conf"	# milter's, not control's
    if start; then
        serves "inet6:$port@[::1]" "listen = inet6:$port@[::1] in the config"
        check "config inet6: stopped cleanly" stop
    fi
else
    not_ok "no IPv6 loopback: cannot test an inet6 listener"
fi

# 3. -p unix: another path than the config's
sm_write_conf "$WD" >"$WD/scanmilter.conf"
if start -p "unix:$WD/other.sock"; then
    check "-p unix: the -p socket exists" wait_for_socket "$WD/other.sock" 5
    check "-p unix: the config's socket is not created" [ ! -e "$WD/run/scanmilter.sock" ]
    serves "unix:$WD/other.sock" "-p unix:$WD/other.sock"
    check "-p unix: stopped cleanly" stop
fi
finish
