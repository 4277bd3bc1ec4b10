#!/usr/bin/env bash
# Root never follows a link the service user planted.  The daemon starts
# as root with user = nobody while a racing process running as nobody keeps
# putting symbolic links to a root-owned file (a scratch file of this test)
# where the daemon writes as root: the pidfile, both sockets, the spool and
# engine directories and what a crash left in them, during start-up and
# during a long signature load.  Whatever the race does, the file's
# content, owner and mode never change, and the daemon either serves mail
# or refuses to start with an error naming the directory and its owner.
#
#   A  the old shipped layout: run directory and file_base owned by the
#      service user -> refused (root will not work in them)
#   P  only the pidfile's directory the service user's -> refused
#   K  only the control socket's directory the service user's -> refused
#   B  run directory root's, file_base the service user's -> starts
#   C  run directory and file_base root's, the private directories below
#      the service user's, full of planted links and directories -> starts,
#      removes them without following any, and scans
#   M  an engine module in a directory of the service user's -> refused
#   F  the config file in a directory of the service user's -> refused
set -u
. "$(dirname "$0")/../lib/scanmilter.sh"

SVC=nobody
id "$SVC" >/dev/null 2>&1 || fail "no user $SVC"
[ "$(id -u)" = 0 ] || fail "must run as root"
SVCGRP=$(id -gn "$SVC")
ROUNDS=${ROUNDS:-3}

WD=$(mktemp -d /tmp/sm-rootlinks.XXXXXX)
RPID= DPID=
cleanup() {
    [ -n "$RPID" ] && kill "$RPID" 2>/dev/null
    [ -n "$DPID" ] && kill -KILL "$DPID" 2>/dev/null
    [ -n "${KEEP:-}" ] || rm -rf "$WD"
}
trap cleanup EXIT
chmod 755 "$WD"

# the file root must never touch: root's, 0600, known content
TARGET=$WD/precious
printf 'precious root-owned data\n' >"$TARGET"
chown root:root "$TARGET"; chmod 0600 "$TARGET"
target_state() { printf '%s %s\n' "$(stat -c '%u:%g:%a' "$TARGET")" "$(sha256sum <"$TARGET" | cut -c1-64)"; }
WANT=$(target_state)

# a signature database big enough to make the load a wide window
DB=$WD/db
mkdir -p "$DB"
cp "$SM_TOP"/t/data/sigs/* "$DB/"
python3 - "$DB/wide.hdb" <<'PY'
import hashlib, sys
with open(sys.argv[1], "w") as f:
    for i in range(300000):
        f.write("%s:%d:Rootlinks.Filler.%d\n" % (hashlib.md5(b"%d" % i).hexdigest(), 1000 + i, i))
PY
chmod -R a+rX "$DB"

# the racer: as the service user, for at most $3 seconds or 2,000,000
# iterations, swaps each watched path for a link to the target -- files at
# once, sockets once bound, directories as soon as they appear (after 0-20
# ms) --
# and plants links and directories of links inside the directories it owns
cat >"$WD/racer.py" <<'PY'
import os, random, stat, sys, time
target, stopfile, secs = sys.argv[1], sys.argv[2], float(sys.argv[3])
files = [p for p in sys.argv[4:] if not p.endswith("/")]
dirs = [p.rstrip("/") for p in sys.argv[4:] if p.endswith("/")]
deadline, n, swaps, planted = time.time() + secs, 0, 0, set()
def link_over(path):
    tmp = "%s.lnk%d" % (path, os.getpid())
    try:
        os.symlink(target, tmp)
        os.rename(tmp, path)
        return 1
    except OSError:
        try: os.unlink(tmp)
        except OSError: pass
        return 0
def plant(d):
    # stale-looking content: links to the target, a directory of them
    try:
        os.symlink(target, os.path.join(d, "stale-link"))
        os.mkdir(os.path.join(d, "stale-dir"))
        os.symlink(target, os.path.join(d, "stale-dir", "inner-link"))
        os.symlink(os.path.dirname(target), os.path.join(d, "dir-link"))
    except OSError:
        pass
while n < 2000000 and time.time() < deadline and not os.path.exists(stopfile):
    n += 1
    for p in files:
        try:
            st = os.lstat(p)
            if stat.S_ISLNK(st.st_mode):
                continue
        except OSError:
            st = None
        # a socket path is swapped once bound (a link there beforehand
        # only makes the bind fail); any other file at once
        if p.endswith(".sock") and (st is None or not stat.S_ISSOCK(st.st_mode)):
            continue
        swaps += link_over(p)
    for d in dirs:
        try:
            st = os.lstat(d)
        except OSError:
            continue
        if not stat.S_ISDIR(st.st_mode):
            continue
        if st.st_uid == os.getuid() and d not in planted:
            planted.add(d)
            plant(d)
        time.sleep(random.random() * 0.02)
        try:
            os.rename(d, "%s.away%d" % (d, n))
        except OSError:
            continue
        swaps += link_over(d)
print("racer: %d iterations, %d links put in place" % (n, swaps))
PY
chmod 644 "$WD/racer.py"

# ROUND SCENARIO: lay out, race, start the daemon as root, check the target
round() {
    local sc=$1 r=$2 d=$WD/$1$2 rc= started=0
    local run=$d/run pid=$d/pid ctl=$d/ctl tmp=$d/tmp log=$d/scanmilter.log
    mkdir -p "$d"; chmod 755 "$d"
    mkdir -p "$run" "$pid" "$ctl" "$tmp"
    chmod 0755 "$run" "$pid" "$ctl" "$tmp"
    case $sc in
        A) chown "$SVC:$SVCGRP" "$run" "$pid" "$ctl" "$tmp"
           chmod 0750 "$run" "$pid" "$ctl" "$tmp" ;;
        P) chown "$SVC:$SVCGRP" "$pid" ;;
        K) chown "$SVC:$SVCGRP" "$ctl" ;;
        B) chown "$SVC:$SVCGRP" "$tmp"; chmod 0750 "$tmp" ;;
        C)
           mkdir -p "$tmp/spool" "$tmp/engine-clamav1"
           chown "$SVC:$SVCGRP" "$tmp/spool" "$tmp/engine-clamav1"
           chmod 0700 "$tmp/spool" "$tmp/engine-clamav1" ;;
    esac
    cat >"$d/scanmilter.conf" <<CONF
milter {
  listen = "unix:$run/scanmilter.sock"
  socket_mode = 0666
  socket_group = "$SVCGRP"
  user = "$SVC"
  group = "$SVCGRP"
  pidfile = "$pid/scanmilter.pid"
  file_base = "$tmp"
  log_level = debug
}
antivirus "antivirus1" { timeout = 30s  clamav "clamav1" { database_directory = "$DB" } }
control { listen = "unix:$ctl/control.sock"  socket_mode = 0660  socket_group = "$SVCGRP" }
CONF
    # the racer watches everything root used to touch by path
    runuser -u "$SVC" -- python3 "$WD/racer.py" "$TARGET" "$d/stop" 25 \
        "$pid/scanmilter.pid" "$run/scanmilter.sock" "$ctl/control.sock" \
        "$tmp/spool/" "$tmp/engine-clamav1/" \
        "$tmp/spool/stale-dir/" "$tmp/engine-clamav1/stale-dir/" \
        >"$d/racer.log" 2>&1 &
    RPID=$!
    sleep 0.3
    "$SCANMILTER" -f -c "$d/scanmilter.conf" 2>"$log" </dev/null &
    DPID=$!
    # up (serving) or gone, within 60 s
    wait_until 60 bash -c "grep -q 'listening on' '$log' || ! kill -0 $DPID 2>/dev/null"
    if kill -0 "$DPID" 2>/dev/null && grep -q 'listening on' "$log"; then
        started=1
        if [ "$sc" = C ]; then
            out=$(timeout 30 "$MILTERGEN" -s "unix:$run/scanmilter.sock" -c 1 -n 1 \
                -o "$d/gen.csv" "$SM_TOP/t/data/mail/eicar-plain.eml" 2>&1)
            check "$sc$r: the daemon serves mail after the race (EICAR refused)" \
                grep -q 'Scanmilter.Test.EICAR' "$d/gen.csv"
        fi
        sleep 1
        kill -TERM "$DPID" 2>/dev/null
        wait_for_pid_gone "$DPID" 30 || kill -KILL "$DPID" 2>/dev/null
    fi
    wait "$DPID" 2>/dev/null; rc=$?
    DPID=
    touch "$d/stop"
    wait "$RPID" 2>/dev/null
    RPID=
    log "$sc$r: started=$started rc=$rc; $(cat "$d/racer.log")"
    grep -E 'error|refused|owned by|not a directory' "$log" | head -3 | sed 's/^/#   /' >&2
    check "$sc$r: the root-owned target kept its content, owner and mode ($(target_state))" \
        [ "$(target_state)" = "$WANT" ]
    check "$sc$r: the target is still a plain file of root's" \
        bash -c "[ -f '$TARGET' ] && [ ! -L '$TARGET' ] && [ \$(stat -c %u '$TARGET') = 0 ]"
    case $sc in
        A|P|K) local bad=$run
               [ "$sc" = P ] && bad=$pid
               [ "$sc" = K ] && bad=$ctl
               check "$sc$r: refused, naming the directory and its owner" \
                   bash -c "[ $started = 0 ] && grep -Eq '$bad is owned by $SVC \\(uid [0-9]+\\), not by root' '$log'" ;;
        B|C) if [ $started = 1 ]; then
                 ok "$sc$r: started while the racer ran"
             else
                 check "$sc$r: or refused with a clear error" \
                     grep -Eq 'owned by|not a directory|not the socket we bound' "$log"
             fi ;;
    esac
    if [ "$sc" = C ] && [ $started = 1 ]; then
        check "$sc$r: the planted links and directories were removed, none followed" \
            bash -c "[ -z \"\$(find '$tmp/spool' '$tmp/engine-clamav1' -mindepth 1 | head -n 1)\" ] && [ -f '$TARGET' ]"
    fi
}

for sc in A P K B C; do
    for r in $(seq 1 "$ROUNDS"); do
        round "$sc" "$r"
        # the race leaves the target alone or the round failed: restore it
        # for the next round so one failure is not counted again
        if [ "$(target_state)" != "$WANT" ]; then
            rm -f "$TARGET"
            printf 'precious root-owned data\n' >"$TARGET"
            chown root:root "$TARGET"; chmod 0600 "$TARGET"
        fi
    done
done
# M: an engine module the service user could replace.  Root loads the
# modules the config names; one in a directory the service user owns (the
# file itself root's) runs whatever that user put there.  Its constructor
# here gives the target away when it runs as root.
if command -v cc >/dev/null; then
    mods=$WD/mods
    mkdir -p "$mods"; chown "$SVC:$SVCGRP" "$mods"; chmod 0755 "$mods"
    cat >"$WD/evil.c" <<C
#include <unistd.h>
__attribute__((constructor)) static void evil(void)
{
	if (geteuid() == 0)
		(void)chown("$TARGET", $(id -u "$SVC"), $(id -g "$SVC"));
}
C
    cc -shared -fPIC -o "$mods/evil.so" "$WD/evil.c" || fail "cc evil.so"
    chmod 0755 "$mods/evil.so"
    mkdir -p "$WD/M/run" "$WD/M/tmp"; chmod 755 "$WD/M" "$WD/M/run"
    cat >"$WD/M/scanmilter.conf" <<CONF
milter {
  listen = "unix:$WD/M/run/scanmilter.sock"
  user = "$SVC"
  file_base = "$WD/M/tmp"
}
engine "evil" { module = "$mods/evil.so" }
antivirus "antivirus1" { clamav "clamav1" { database_directory = "$SM_TOP/t/data/sigs" } }
control { listen = "" }
CONF
    timeout 30 "$SCANMILTER" -f -c "$WD/M/scanmilter.conf" >"$WD/M/log" 2>&1 </dev/null
    rc=$?
    sed 's/^/#   /' "$WD/M/log" | head -3 >&2
    check "M: a module in a directory of the service user's is refused (rc $rc), naming it and its owner" \
        bash -c "[ $rc != 0 ] && grep -Eq '$mods is owned by $SVC \\(uid [0-9]+\\), not by root: refused' '$WD/M/log'"
    check "M: the module's code never ran as root ($(target_state))" [ "$(target_state)" = "$WANT" ]
else
    not_ok "M: no C compiler to build the planted module"
fi
# F: a config file the service user could rewrite.  Root acts on what it
# says (here: the pidfile is the target), so it must be as safe as root's
# own files: one in a directory of the service user's is refused.
mkdir -p "$WD/F/conf" "$WD/F/run" "$WD/F/tmp"; chmod 755 "$WD/F" "$WD/F/run"
chown "$SVC:$SVCGRP" "$WD/F/conf"
cat >"$WD/F/conf/scanmilter.conf" <<CONF
milter {
  listen = "unix:$WD/F/run/scanmilter.sock"
  user = "$SVC"
  pidfile = "$TARGET"
  file_base = "$WD/F/tmp"
}
antivirus "antivirus1" { clamav "clamav1" { database_directory = "$SM_TOP/t/data/sigs" } }
control { listen = "" }
CONF
chmod 644 "$WD/F/conf/scanmilter.conf"
timeout 30 "$SCANMILTER" -f -c "$WD/F/conf/scanmilter.conf" >"$WD/F/log" 2>&1 </dev/null &
fpid=$!
wait_until 20 bash -c "grep -q 'listening on' '$WD/F/log' || ! kill -0 $fpid 2>/dev/null"
kill -TERM "$fpid" 2>/dev/null; wait "$fpid"; rc=$?
sed 's/^/#   /' "$WD/F/log" | head -3 >&2
check "F: a config in a directory of the service user's is refused (rc $rc), naming it and its owner" \
    bash -c "[ $rc != 0 ] && grep -Eq '$WD/F/conf is owned by $SVC \\(uid [0-9]+\\), not by root: refused' '$WD/F/log'"
check "F: root did not act on it ($(target_state))" [ "$(target_state)" = "$WANT" ]
finish
