#!/usr/bin/env bash
# What the README says about installing and running:
#   1. a staged `make install DESTDIR=...` puts in place each file the README lists (daemon,
#      scanmilterctl, engine.h, config + example, rules.xml and rules.rng, systemd unit,
#      SysV script, tmpfiles.d, sysusers.d, man pages), the unit's and the script's paths
#      rewritten to the configured ones; a second install keeps an edited config; the
#      installed daemon runs;
#   2. `make run`: the command its recipe runs (read with make -n) serves on
#      /run/scanmilter/scanmilter.sock with etc/scanmilter-run.conf: a clean message
#      accepted and tagged, EICAR refused.  If something already listens there the check
#      fails and says so (it never stops someone else's daemon).
# BUILD (default: the tree $SCANMILTER was built in) is the configured build tree (prefix
# /usr/local, sysconfdir /etc, from the top-level Makefile's CONFIGURE_FLAGS).
set -u
. "$(dirname "$0")/../lib/scanmilter.sh"
. "$(dirname "$0")/../lib/promises.sh"

BUILD=${BUILD:-$(cd "$(dirname "$SCANMILTER")/.." && pwd)}
[ -f "$BUILD/Makefile" ] || fail "no $BUILD/Makefile (make all first)"
sm_need_built "$MILTERGEN"
WD=$(mktemp -d /tmp/sm-install.XXXXXX)
RPID=
stop_run() {
    [ -n "$RPID" ] || return 0
    kill -TERM "$RPID" 2>/dev/null
    wait_for_pid_gone "$RPID" 20 || kill -KILL "$RPID" 2>/dev/null
    wait "$RPID" 2>/dev/null; local rc=$?
    RPID=
    return $rc
}
trap 'stop_run; rm -rf "$WD"' EXIT
chmod 755 "$WD"

# 1. staged install
D=$WD/stage
prefix=$(sed -n 's/^prefix = //p' "$BUILD/Makefile")
sysconfdir=$(sed -n 's/^sysconfdir = //p' "$BUILD/Makefile")
[ "$prefix" = /usr/local ] && [ "$sysconfdir" = /etc ] ||
    log "build configured with prefix $prefix, sysconfdir $sysconfdir (the README's are /usr/local, /etc)"
sysconfdir=${sysconfdir//\$\{prefix\}/$prefix}
if nice make -s -C "$BUILD" install DESTDIR="$D" >"$WD/install.log" 2>&1; then
    ok "make install DESTDIR=... succeeded"
else
    not_ok "make install DESTDIR=... failed"; sed 's/^/#   /' "$WD/install.log" | tail -20
fi
for f in "$prefix/sbin/scanmilter" "$prefix/sbin/scanmilterctl"; do
    check "installed, executable: $f" [ -x "$D$f" ]
done
for f in "$prefix/include/scanmilter/engine.h" \
         "$sysconfdir/scanmilter/scanmilter.conf" \
         "$sysconfdir/scanmilter/rules.xml" \
         "$sysconfdir/scanmilter/rules.rng" \
         "$prefix/share/doc/scanmilter/examples/scanmilter.conf" \
         "$prefix/lib/systemd/system/scanmilter.service" \
         "$prefix/lib/tmpfiles.d/scanmilter.conf" \
         "$prefix/lib/sysusers.d/scanmilter.conf" \
         "$prefix/share/man/man8/scanmilter.8" \
         "$prefix/share/man/man5/scanmilter.conf.5" \
         "$prefix/share/man/man8/scanmilterctl.8"; do
    check "installed: $f" [ -s "$D$f" ]
done
check "installed, executable: $sysconfdir/init.d/scanmilter" [ -x "$D$sysconfdir/init.d/scanmilter" ]
check "the config is the shipped one" cmp -s "$SM_TOP/etc/scanmilter.conf" "$D$sysconfdir/scanmilter/scanmilter.conf"
check "engine.h is the source's" cmp -s "$SM_TOP/include/scanmilter/engine.h" "$D$prefix/include/scanmilter/engine.h"
unit=$D$prefix/lib/systemd/system/scanmilter.service
check "unit: ExecStart runs $prefix/sbin/scanmilter" grep -qE "^ExecStart=$prefix/sbin/scanmilter( |\$)" "$unit"
check "unit: Type=notify" grep -qx 'Type=notify' "$unit"
check "unit: ExecReload" grep -q '^ExecReload=' "$unit"
if [ "$prefix" != /usr ]; then
    check "unit and init script: no /usr/sbin/scanmilter left" \
        bash -c "! grep -q '/usr/sbin/scanmilter' '$unit' '$D$sysconfdir/init.d/scanmilter'"
fi
check "init script: runs $prefix/sbin/scanmilter" grep -q "$prefix/sbin/scanmilter" "$D$sysconfdir/init.d/scanmilter"
check "init script: no unreplaced @...@ in the installed files" \
    bash -c "! grep -l '@[a-z_]*@' '$unit' '$D$sysconfdir/init.d/scanmilter' '$D$prefix/lib/tmpfiles.d/scanmilter.conf' '$D$prefix/lib/sysusers.d/scanmilter.conf'"
out=$("$D$prefix/sbin/scanmilter" -V 2>&1)
check "the installed daemon runs: $out" grep -qE '^scanmilter [0-9]' <<<"$out"
check "the installed daemon reads $sysconfdir/scanmilter/scanmilter.conf by default" \
    bash -c "'$D$prefix/sbin/scanmilter' -h | grep -qF 'default config: $sysconfdir/scanmilter/scanmilter.conf'"
echo "# edited" >>"$D$sysconfdir/scanmilter/scanmilter.conf"
nice make -s -C "$BUILD" install DESTDIR="$D" >"$WD/install2.log" 2>&1
check "a second install keeps an edited config" grep -qx '# edited' "$D$sysconfdir/scanmilter/scanmilter.conf"

# 2. make run
cmd=$(cd "$SM_TOP" && make --no-print-directory -n run BUILD="$BUILD" 2>/dev/null | grep -v "^make\[" | tail -n 2)
printf '%s\n' "$cmd" | sed 's/^/#   make run: /'
check "make run's recipe: mkdir /run/scanmilter, then the daemon on etc/scanmilter-run.conf" \
    bash -c 'grep -qx "mkdir -p /run/scanmilter" <<<"$1" && grep -qE "^exec [^ ]*/src/scanmilter -f -c etc/scanmilter-run.conf\$" <<<"$1"' _ "$cmd"
SOCK=/run/scanmilter/scanmilter.sock
busy=
if [ -S "$SOCK" ] && timeout 2 python3 -c 'import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])' "$SOCK" 2>/dev/null; then
    busy=1
    not_ok "make run: something already listens on $SOCK (another 'make run'?): not tested"
fi
if [ -z "$busy" ] && [ -S /run/scanmilter/control.sock ] && timeout 2 python3 -c 'import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])' /run/scanmilter/control.sock 2>/dev/null; then
    busy=1
    not_ok "make run: something already listens on /run/scanmilter/control.sock: not tested"
fi
if [ -z "$busy" ]; then
    (cd "$SM_TOP" && exec bash -c "$cmd") 2>"$WD/run.log" </dev/null &
    RPID=$!
    if wait_until 30 grep -q "listening on unix:$SOCK" "$WD/run.log"; then
        ok "make run: listening on unix:$SOCK"
        check "make run: the rules loaded (etc/rules.xml, relative to the config)" grep -q 'rules "rules1"' "$WD/run.log"
        check "make run: a clean message accepted, tagged Clean" \
            mt_send "unix:$SOCK" want=accept hname=X-Virus-Status hval=Clean
        got=$(mg_one "unix:$SOCK" "$SM_TOP/t/data/mail/eicar-plain.eml")
        check "make run: EICAR refused ($got)" [ "$got" = "reject|550 5.7.1 Virus found: Scanmilter.Test.EICAR.UNOFFICIAL" ]
        check "make run: stops cleanly on SIGTERM" stop_run
    else
        not_ok "make run: did not listen on $SOCK"; sed 's/^/#   /' "$WD/run.log"
    fi
fi
finish
