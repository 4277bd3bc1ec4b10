#!/usr/bin/env bash
# The Debian package, end to end: debian/ builds scanmilter_*.deb with
# dpkg-buildpackage (in a copy of the tree; an earlier build is reused while
# the tree is unchanged), lintian finds no error or warning, dpkg -i and
# apt-get install -f install it, the daemon starts from its installed
# config through its init script, and a real Postfix with Debian's own
# master.cf (smtpd chrooted in /var/spool/postfix) reaches it on
# unix:/scanmilter/scanmilter.sock: the socket is
# /var/spool/postfix/scanmilter/scanmilter.sock, group postfix, mode 0660.
# A clean message is delivered, tagged; EICAR is refused 550 5.7.1.  The
# same under the systemd layout (socket directory and daemon the service
# user's), set up by hand: no systemd here.  The postinst survives a start
# that fails for want of signatures; the freshclam hook reloads only on new
# signature files (systemctl stubbed).  Then apt-get purge, and what is
# left is shown: only the user and group scanmilter, as adduser(8) advises
# for system users.
#
# It changes the host for a minute and puts it back: it installs and purges
# the package (and any dependency apt-get had to add), puts the test
# signatures into /var/lib/clamav and takes them out, runs a Postfix master
# on /var/spool/postfix with a private config directory (started and
# stopped here; the system's /etc/postfix is not read) and removes what that
# left in the spool, and removes the user and group scanmilter if they were
# not there before.  It refuses a host where any of that is in use (the
# package or a hand-installed /etc/scanmilter, a running system Postfix).
# Package scripts start nothing while it installs (a policy-rc.d, unless
# the host has one).
set -u
. "$(dirname "$0")/../lib/scanmilter.sh"
. "$(dirname "$0")/../lib/postfix.sh"

[ "$(id -u)" = 0 ] || fail "must run as root"
T0=$(date +%s)
SPOOL=/var/spool/postfix
DB=/var/lib/clamav
MASTER_DIST=/usr/share/postfix/master.cf.dist
CONFIGURE_INSTANCE=/usr/lib/postfix/configure-instance.sh
CACHE=${SM_PKG_CACHE:-$SM_TOP/build/package}
WD=$(mktemp -d /tmp/sm-pkg.XXXXXX)
chmod 755 "$WD"
CONF=$WD/postfix-etc

# --- refuse a host this test would disturb ----------------------------------------------
busy=
pkg_present() {
    case "$(dpkg-query -W -f='${Status}' scanmilter 2>/dev/null)" in
        "" | *" not-installed") return 1 ;;
        *) return 0 ;;
    esac
}
pkg_present && busy="the package scanmilter is installed (or half-installed)"
[ -e /etc/scanmilter ] && busy="/etc/scanmilter exists (a make install?)"
[ -e $SPOOL/scanmilter ] && busy="$SPOOL/scanmilter exists"
# a daemon (make run, t/integration/install.sh) on the shipped paths
ss -xl 2>/dev/null | grep -q ' /run/scanmilter/' && busy="something listens in /run/scanmilter"
[ -e /var/spool/scanmilter ] && busy="/var/spool/scanmilter exists"
if [ -f $SPOOL/pid/master.pid ] && kill -0 "$(tr -dc 0-9 <$SPOOL/pid/master.pid)" 2>/dev/null; then
    busy="a Postfix runs on $SPOOL"
fi
for tool in dpkg-buildpackage dh lintian swaks postfix; do
    command -v $tool >/dev/null || busy="no $tool (make test-deps)"
done
[ -r "$MASTER_DIST" ] && [ -r "$CONFIGURE_INSTANCE" ] || busy="no Debian postfix package files"
if [ -n "$busy" ]; then
    ok "host left alone: $busy"
    skip_n 1 "the package test needs a host without it"
    rm -rf "$WD"
    finish
fi

# --- what is there before, to put back -------------------------------------------------
had_user=0; getent passwd scanmilter >/dev/null && had_user=1
had_group=0; getent group scanmilter >/dev/null && had_group=1
# the shipped rundir: what an earlier daemon (make run) left there is kept aside and put
# back at the end
saved_run=0
if [ -e /run/scanmilter ] || [ -L /run/scanmilter ]; then
    mv /run/scanmilter "$WD/saved-run" && saved_run=1
fi
dpkg-query -W -f='${Package} ${Status}\n' | awk '$NF == "installed" { print $1 }' | sort >"$WD/pkgs.before"
find $SPOOL -xdev -print 2>/dev/null | sort >"$WD/spool.before"
our_prc=
sigs_added=()
PF_STARTED=0
SINK_STARTED=0

restore() {
    set +e
    [ -n "${SPID:-}" ] && { kill -TERM "$SPID" 2>/dev/null; wait "$SPID"; }
    if [ -x /etc/init.d/scanmilter ]; then
        /etc/init.d/scanmilter stop >/dev/null 2>&1
    fi
    if [ $PF_STARTED = 1 ]; then
        timeout 20 postfix -c "$CONF" stop >/dev/null 2>&1 ||
            timeout 10 postfix -c "$CONF" abort >/dev/null 2>&1
        # its children leave within a moment
        wait_until 10 bash -c "! pgrep -f -- '-c $CONF' >/dev/null"
    fi
    [ $SINK_STARTED = 1 ] && sink_stop "$WD/sink"
    if pkg_present; then
        DEBIAN_FRONTEND=noninteractive timeout 120 apt-get purge -y -qq scanmilter >/dev/null 2>&1
    fi
    # packages apt-get install -f added
    dpkg-query -W -f='${Package} ${Status}\n' | awk '$NF == "installed" { print $1 }' | sort >"$WD/pkgs.after"
    added=$(comm -13 "$WD/pkgs.before" "$WD/pkgs.after")
    if [ -n "$added" ]; then
        log "purging what the install added: $added"
        # shellcheck disable=SC2086
        DEBIAN_FRONTEND=noninteractive timeout 300 apt-get purge -y -qq $added >/dev/null 2>&1
    fi
    [ -n "$our_prc" ] && rm -f /usr/sbin/policy-rc.d
    for f in "${sigs_added[@]}"; do rm -f "$DB/$f"; done
    # what the Postfix master and the chroot set-up added to the spool
    find $SPOOL -xdev -print 2>/dev/null | sort >"$WD/spool.after"
    comm -13 "$WD/spool.before" "$WD/spool.after" | sort -r | while IFS= read -r p; do
        if [ -d "$p" ] && [ ! -L "$p" ]; then rmdir "$p"; else rm -f "$p"; fi
    done
    if [ $had_user = 0 ] && getent passwd scanmilter >/dev/null; then
        deluser --quiet --system scanmilter >/dev/null 2>&1
    fi
    if [ $had_group = 0 ] && getent group scanmilter >/dev/null; then
        delgroup --quiet --system scanmilter >/dev/null 2>&1
    fi
    if [ $saved_run = 1 ]; then
        rm -rf /run/scanmilter
        mv "$WD/saved-run" /run/scanmilter
    fi
    [ -n "${KEEP:-}" ] || rm -rf "$WD"
}
trap restore EXIT

# --- 1. build (or reuse) the package ---------------------------------------------------
# the tree as git sees it (tracked and new files, not the ignored build output)
cd "$SM_TOP" || fail "cd $SM_TOP"
if git -C "$SM_TOP" rev-parse --git-dir >/dev/null 2>&1; then
    git ls-files -co --exclude-standard -z | sort -z >"$WD/files"
else
    find . \( -path ./build -o -path './build-*' -o -path ./.git -o -path ./autom4te.cache -o -path ./t/fuzz/out \) \
        -prune -o -type f -print0 | sed -z 's|^\./||' | sort -z >"$WD/files"
fi
key=$(xargs -0 sha256sum <"$WD/files" | sha256sum | cut -c1-16)
mkdir -p "$CACHE"
deb=$(ls "$CACHE"/scanmilter_*.deb 2>/dev/null | head -n 1)
if [ -n "$deb" ] && [ "$(cat "$CACHE/key" 2>/dev/null)" = "$key" ]; then
    log "reusing $deb (tree unchanged: $key)"
    ok "package built earlier from this very tree ($key)"
else
    rm -rf "${CACHE:?}"/*
    mkdir -p "$CACHE/src/scanmilter"
    xargs -0 cp --parents -t "$CACHE/src/scanmilter" <"$WD/files" || fail "copying the tree"
    b0=$(date +%s)
    # the unit tests run elsewhere in make check: nocheck
    if (cd "$CACHE/src/scanmilter" &&
        DEB_BUILD_OPTIONS="nocheck parallel=$(nproc)" DEB_BUILD_PROFILES=nocheck timeout 600 nice \
            dpkg-buildpackage -us -uc -b) >"$CACHE/build.log" 2>&1; then
        deb=$(ls "$CACHE"/src/scanmilter_*.deb 2>/dev/null | head -n 1)
        mv "$CACHE"/src/*.deb "$CACHE"/src/*.changes "$CACHE"/src/*.buildinfo "$CACHE/"
        deb=$CACHE/${deb##*/}
        echo "$key" >"$CACHE/key"
        ok "dpkg-buildpackage -us -uc -b built ${deb##*/} in $(( $(date +%s) - b0 ))s"
    else
        tail -n 30 "$CACHE/build.log" | sed 's/^/#   /'
        not_ok "dpkg-buildpackage failed (log: $CACHE/build.log)"
        finish
    fi
    rm -rf "$CACHE/src"
fi
check "the package is scanmilter_*.deb" bash -c "[[ '${deb##*/}' == scanmilter_*_*.deb ]]"
changes=$(ls "$CACHE"/scanmilter_*.changes | head -n 1)
if timeout 120 lintian --fail-on error,warning -I "$changes" >"$WD/lintian.out" 2>&1; then
    ok "lintian: no error or warning"
else
    not_ok "lintian"
fi
grep -v '^running with root' "$WD/lintian.out" | sed 's/^/#   lintian: /'

# what the package holds
dpkg-deb -c "$deb" | awk '{ print $NF }' | sed 's|^\./|/|' >"$WD/contents"
dpkg-deb -f "$deb" Depends >"$WD/depends"
dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./conffiles >"$WD/conffiles" 2>/dev/null
check "Depends: clamav-freshclam | clamav-data" grep -q 'clamav-freshclam | clamav-data' "$WD/depends"
check "conffiles: /etc/scanmilter/scanmilter.conf, rules.xml, the init script, /etc/default" \
    bash -c "grep -qx /etc/scanmilter/scanmilter.conf '$WD/conffiles' && grep -qx /etc/scanmilter/rules.xml '$WD/conffiles' &&
        grep -qx /etc/init.d/scanmilter '$WD/conffiles' && grep -qx /etc/default/scanmilter '$WD/conffiles'"
check "ships the systemd unit, its drop-in, the freshclam path unit, sysusers and tmpfiles entries" \
    bash -c "for f in /lib/systemd/system/scanmilter.service /lib/systemd/system/scanmilter.service.d/debian.conf \
        /lib/systemd/system/scanmilter-signatures.path /lib/systemd/system/scanmilter-signatures.service \
        /usr/lib/sysusers.d/scanmilter.conf /usr/lib/tmpfiles.d/scanmilter.conf /usr/sbin/scanmilter \
        /usr/sbin/scanmilterctl; do grep -qx \"\$f\" '$WD/contents' || { echo \"missing \$f\"; exit 1; }; done"

# --- 2. install --------------------------------------------------------------------------
if [ ! -e /usr/sbin/policy-rc.d ]; then
    our_prc=1
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
fi
if DEBIAN_FRONTEND=noninteractive timeout 120 dpkg -i "$deb" >"$WD/dpkg.out" 2>&1; then
    ok "dpkg -i ${deb##*/}"
else
    # missing dependencies: apt-get install -f brings them (never removing a package)
    if DEBIAN_FRONTEND=noninteractive timeout 300 apt-get install -f -y -qq --no-remove >>"$WD/dpkg.out" 2>&1 &&
        dpkg-query -W -f='${Status}\n' scanmilter | grep -q 'install ok installed'; then
        ok "dpkg -i, then apt-get install -f for the dependencies"
    else
        sed 's/^/#   /' "$WD/dpkg.out"
        not_ok "dpkg -i ${deb##*/}"
        finish
    fi
fi
sed 's/^/#   dpkg: /' "$WD/dpkg.out" | grep -v 'Selecting\|Reading database\|Preparing\|Unpacking'
[ -n "$our_prc" ] && { rm -f /usr/sbin/policy-rc.d; our_prc=; }
check "postinst made the system user scanmilter (nologin)" \
    bash -c '[ "$(getent passwd scanmilter | cut -d: -f7)" = /usr/sbin/nologin ] && getent group scanmilter >/dev/null'
check "postinst added postfix to group scanmilter" bash -c "id -nG postfix | tr ' ' '\n' | grep -qx scanmilter"
check "postinst made $SPOOL/scanmilter: root, group postfix, setgid, 2750" \
    [ "$(stat -c '%a %U %G' $SPOOL/scanmilter 2>/dev/null)" = "2750 root postfix" ]
check "the installed config listens in Postfix's chroot" \
    grep -qx '  listen = "unix:/var/spool/postfix/scanmilter/scanmilter.sock"' /etc/scanmilter/scanmilter.conf
check "file_base /var/spool/scanmilter, the service user's, 0750 (not in world-writable /var/tmp)" \
    [ "$(stat -c '%a %U %G' /var/spool/scanmilter 2>/dev/null)" = "750 scanmilter scanmilter" ]
check "init script enabled (update-rc.d)" bash -c 'ls /etc/rc2.d/S*scanmilter >/dev/null 2>&1'

# The postinst as dpkg runs it on a host where starts are allowed (here policy-rc.d refused
# the start): invoke-rc.d runs the real init script.  Right after an install freshclam has
# not fetched the signatures yet: the start fails, the install must not.
no_live_daemon() {
    local p
    for p in $(pgrep -u scanmilter -x scanmilter); do
        case "$(ps -o stat= -p "$p")" in Z*) ;; *) return 1 ;; esac
    done
    return 0
}
mkdir -p "$WD/stub-rc"
printf '#!/bin/sh\n[ "$1" = --skip-systemd-native ] && shift\nexec /etc/init.d/"$1" "$2"\n' >"$WD/stub-rc/invoke-rc.d"
chmod 755 "$WD/stub-rc/invoke-rc.d"
if [ -z "$(find $DB -maxdepth 1 -type f \( -name '*.c[vl]d' -o -name '*.[hn]db' -o -name '*.hsb' \) -print -quit 2>/dev/null)" ]; then
    DPKG_MAINTSCRIPT_PACKAGE=scanmilter DPKG_MAINTSCRIPT_NAME=postinst PATH=$WD/stub-rc:$PATH \
        timeout 120 /var/lib/dpkg/info/scanmilter.postinst configure >"$WD/postinst.out" 2>&1
    rc=$?
    sed 's/^/#   postinst: /' "$WD/postinst.out"
    check "no signatures yet: the start fails, postinst configure still exits 0 ($rc) and says why" \
        bash -c "[ $rc = 0 ] && grep -q 'scanmilter was not started' '$WD/postinst.out'"
    # (an exited daemon may stay a zombie a moment, or for good where PID 1 reaps nothing)
    check "... and no daemon is left running" wait_until 10 no_live_daemon
else
    skip_n 2 "$DB has signatures: a start right after the install succeeds"
fi

# --- 3. the daemon from its installed config ---------------------------------------------
for f in "$SM_TOP"/t/data/sigs/*; do
    n=${f##*/}
    [ -e "$DB/$n" ] && continue
    install -m 0644 "$f" "$DB/$n" && sigs_added+=("$n")
done
log "test signatures in $DB: ${sigs_added[*]}"
if timeout 120 /etc/init.d/scanmilter start >"$WD/start.out" 2>&1; then
    ok "/etc/init.d/scanmilter start"
else
    not_ok "/etc/init.d/scanmilter start"; sed 's/^/#   /' "$WD/start.out"
    ls -lanR /var/spool/scanmilter /run/scanmilter 2>&1 | sed 's/^/#   /'
fi
SOCK=$SPOOL/scanmilter/scanmilter.sock
if ! wait_for_socket $SOCK 60; then
    not_ok "the daemon listens on $SOCK"
    finish
fi
check "socket $SOCK: group postfix, mode 0660" [ "$(stat -c '%a %G' $SOCK)" = "660 postfix" ]
# the SysV script's pidfile (under systemd, the script hands over to the unit)
pid=$(cat /run/scanmilter/scanmilter.pid 2>/dev/null)
[ -d /run/systemd/system ] && pid=$(systemctl show -P MainPID scanmilter.service)
check "the daemon runs as user scanmilter (pid $pid)" \
    bash -c "sleep 1; [ \"\$(ps -o user= -p '${pid:-0}' | tr -d ' ')\" = scanmilter ]"
check "/etc/init.d/scanmilter status" /etc/init.d/scanmilter status

# --- 4. Postfix, Debian's master.cf (chrooted smtpd), queue /var/spool/postfix ----------
mkdir -p "$CONF" "$WD/data"
chown postfix "$WD/data"
sink_start "$WD/sink"; SINK_STARTED=1
port=$(pick_port)
sed -E "s/^smtp( +)inet /$port\\1inet /" "$MASTER_DIST" >"$CONF/master.cf"
{ echo "# Postfix for t/integration/package.sh: Debian's queue directory and chroot"
  pf_main_cf "$SPOOL" "$WD/data" "$WD/maillog" "$WD" "$SINK_PORT" \
      unix:/scanmilter/scanmilter.sock; } >"$CONF/main.cf"
: >"$WD/maillog"
MAIL_CONFIG=$CONF sh "$CONFIGURE_INSTANCE" - >"$WD/configure.out" 2>&1 ||
    { sed 's/^/#   /' "$WD/configure.out"; fail "Debian's configure-instance.sh failed"; }
PF_STARTED=1
if ! timeout 60 postfix -c "$CONF" start >"$WD/pfstart.out" 2>&1 || ! wait_for_port 127.0.0.1 "$port" 15; then
    cat "$WD/pfstart.out" "$WD/maillog" | sed 's/^/#   /'
    fail "postfix did not start"
fi
log "postfix on 127.0.0.1:$port, queue $SPOOL, smtpd_milters = unix:/scanmilter/scanmilter.sock"

data_reply() { printf '%s\n' "$1" | grep -E '^<(-|\*\*) ' | grep -v ' 221 ' | tail -n 1 | sed -E 's/^<(-|\*\*) +//'; }
MAIL=$SM_TOP/t/data/mail
out=$(smtp_send -p "$port" sender@example.org rcpt@example.net "$MAIL/clean-plain.eml") || true
reply=$(data_reply "$out")
check "clean message accepted ($reply)" bash -c "[[ '$reply' == '250 2.0.0 Ok: queued as '* ]]"
if sink_wait_count 1 30; then
    hdrs=$(sink_headers "$(sink_last)")
    check "delivered, X-Virus-Status: Clean" grep -qx 'X-Virus-Status: Clean' <<<"$hdrs"
    check "delivered, X-Virus-Scanned by scanmilter" grep -Eq '^X-Virus-Scanned: scanmilter [0-9.]+' <<<"$hdrs"
else
    not_ok "clean message reached the sink"; tail -20 "$WD/maillog" | sed 's/^/#   /'
    skip "headers of the clean message"
fi
out=$(smtp_send -p "$port" sender@example.org rcpt@example.net "$MAIL/eicar-attach.eml") || true
reply=$(data_reply "$out")
check "EICAR refused ($reply)" [ "$reply" = "550 5.7.1 Virus found: Scanmilter.Test.EICAR.UNOFFICIAL" ]
# the README's quick start test, as written there (plus this instance's port)
readme_cmd=$(grep -A1 -F "    printf '%s\n' 'X5O" "$SM_TOP/README" | sed 's/^ *//' | tr '\n' ' ' | tr -s ' ')
readme_ok=0
case "$readme_cmd" in
    *"| swaks --server 127.0.0.1 --to postmaster@localhost --attach - ") readme_ok=1 ;;
esac
out=$(bash -c "${readme_cmd% |*} | swaks --server 127.0.0.1 --port $port --to postmaster@localhost --attach - 2>&1") || true
if [ $readme_ok = 1 ] && grep -q '^<\*\* *550 5.7.1 Virus found' <<<"$out"; then
    ok "the README's swaks EICAR test gets 550 5.7.1"
else
    not_ok "the README's swaks EICAR test gets 550 5.7.1"
    printf '%s\n' "$readme_cmd" "$out" | tail -n 12 | sed 's/^/#   /'
fi
sleep 1
check "nothing infected delivered" [ "$(sink_count)" -eq 1 ]
chrooted=0
for p in $(pgrep -x smtpd); do
    tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -q -- "-n $port " || continue
    [ "$(readlink "/proc/$p/root")" = "$SPOOL" ] && chrooted=$((chrooted + 1))
done
check "it was a chrooted smtpd (root $SPOOL) that talked to the milter ($chrooted)" [ "$chrooted" -ge 1 ]

check "/etc/init.d/scanmilter stop" timeout 120 /etc/init.d/scanmilter stop
check "the daemon is gone" wait_until 10 bash -c "! kill -0 ${pid:-0} 2>/dev/null"

# --- 4b. the layout under systemd, whose unit runs the daemon as scanmilter from the
#         start: its drop-in's ExecStartPre (as root) gives the socket directory to
#         scanmilter, RuntimeDirectory= gives it /run/scanmilter.  No systemd here: the
#         same steps by hand, the daemon under setpriv as User=/Group= would start it.
SPID=
if [ -d /run/systemd/system ]; then
    skip_n 4 "systemd runs here: the SysV script above already went through the unit"
else
    /usr/libexec/scanmilter/socket-dir scanmilter
    check "ExecStartPre socket-dir scanmilter: $SPOOL/scanmilter is scanmilter's, group postfix, 2750" \
        [ "$(stat -c '%a %U %G' $SPOOL/scanmilter)" = "2750 scanmilter postfix" ]
    install -d -o scanmilter -g scanmilter -m 0750 /run/scanmilter
    rm -f $SOCK
    (cd / && exec env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin setpriv --reuid=scanmilter \
        --regid=scanmilter --init-groups /usr/sbin/scanmilter -f -c /etc/scanmilter/scanmilter.conf \
        </dev/null >"$WD/unit.log" 2>&1) &
    SPID=$!
    if wait_for_socket $SOCK 60; then
        check "as the service user: the socket it made is group postfix (setgid directory), 0660" \
            [ "$(stat -c '%a %U %G' $SOCK)" = "660 scanmilter postfix" ]
        out=$(smtp_send -p "$port" sender@example.org rcpt@example.net "$MAIL/eicar-attach.eml") || true
        reply=$(data_reply "$out")
        check "as the service user: EICAR refused through the chrooted smtpd ($reply)" \
            [ "$reply" = "550 5.7.1 Virus found: Scanmilter.Test.EICAR.UNOFFICIAL" ]
    else
        sed 's/^/#   /' "$WD/unit.log"
        not_ok "as the service user: the daemon listens on $SOCK"
        skip "as the service user: EICAR through Postfix"
    fi
    kill -TERM "$SPID" 2>/dev/null; wait "$SPID"; rc=$?; SPID=
    check "as the service user: stops cleanly on SIGTERM ($rc)" [ "$rc" = 0 ]
fi

timeout 20 postfix -c "$CONF" stop >/dev/null 2>&1; PF_STARTED=0
wait_until 10 bash -c "! pgrep -f -- '-c $CONF' >/dev/null"
sink_stop "$WD/sink"; SINK_STARTED=0

# --- 5. the freshclam hook, as scanmilter-signatures.path runs it (no systemd here:
#        systemctl is a stub that logs what it is asked and answers for the unit) ------
HOOK=/usr/libexec/scanmilter/signatures-updated
mkdir -p "$WD/stub"
cat >"$WD/stub/systemctl" <<'EOF'
#!/bin/sh
echo "$*" >>"$STUB_LOG"
case "$*" in
    "-q is-active scanmilter.service") [ "$STUB_ACTIVE" = 1 ] ;;
    "-q is-enabled scanmilter.service") true ;;
    "-q is-failed scanmilter.service") false ;;
    *) true ;;
esac
EOF
chmod 755 "$WD/stub/systemctl"
hook() {  # ACTIVE(0/1) [ARG]: one run of the hook, bounded
    : >"$WD/calls"
    STUB_LOG=$WD/calls STUB_ACTIVE=$1 PATH=$WD/stub:$PATH timeout 150 "$HOOK" ${2:+"$2"} >>"$WD/hook.out" 2>&1
}
called() { grep -qx "$1" "$WD/calls"; }
quiet() { ! grep -q 'reload\|start' "$WD/calls"; }
hook 1 --record
hook 1
check "hook: signatures as the daemon loaded them: no reload" quiet
[ -e $DB/freshclam.dat ] || { : >$DB/freshclam.dat; sigs_added+=(freshclam.dat); }
touch $DB/freshclam.dat
hook 1
check "hook: only freshclam.dat rewritten (a check without news): no reload" quiet
cp "$SM_TOP/t/data/sigs/scanmilter-test.ndb" $DB/scanmilter-hook.ndb && sigs_added+=(scanmilter-hook.ndb)
hook 1
check "hook: a new signature file: systemctl reload scanmilter.service" called "reload scanmilter.service"
hook 1
check "hook: the same files again: no second reload" quiet
mkdir $DB/tmp.pkgtest
touch -d '1 minute ago' $DB/scanmilter-hook.ndb
( sleep 3; rmdir $DB/tmp.pkgtest ) &
h0=$(date +%s)
hook 1
h1=$(date +%s)
check "hook: waits while freshclam's tmp.* download directory is there ($((h1 - h0))s), then reloads" \
    bash -c "[ $((h1 - h0)) -ge 3 ] && grep -qx 'reload scanmilter.service' '$WD/calls'"
rm -rf $DB/tmp.pkgtest
rm -f $DB/scanmilter-hook.ndb
hook 0
check "hook: enabled but not started (no signatures at boot): systemctl start scanmilter.service" \
    called "start scanmilter.service"

# --- 6. purge, and what is left -----------------------------------------------------------
if DEBIAN_FRONTEND=noninteractive timeout 120 apt-get purge -y -qq scanmilter >"$WD/purge.out" 2>&1; then
    ok "apt-get purge scanmilter"
else
    not_ok "apt-get purge scanmilter"; sed 's/^/#   /' "$WD/purge.out"
fi
left=$(for p in /etc/scanmilter /etc/default/scanmilter /etc/init.d/scanmilter /etc/rc?.d/*scanmilter \
    /lib/systemd/system/scanmilter* /etc/systemd/system/*/scanmilter* /usr/sbin/scanmilter* \
    /usr/libexec/scanmilter /usr/share/doc/scanmilter /usr/lib/sysusers.d/scanmilter.conf \
    /usr/lib/tmpfiles.d/scanmilter.conf $SPOOL/scanmilter /var/spool/scanmilter /run/scanmilter \
    /var/lib/dpkg/info/scanmilter.*; do [ -e "$p" ] || [ -L "$p" ] && echo "$p"; done)
log "left after purge: user $(getent passwd scanmilter | cut -d: -f1,3,6,7), group $(getent group scanmilter)"
[ -n "$left" ] && printf '%s\n' "$left" | sed 's/^/#   left: /'
check "after purge no file of it is left (config, units, socket directory, file_base, rundir)" [ -z "$left" ]
check "after purge the user and group scanmilter stay (adduser(8): files may be theirs)" \
    bash -c 'getent passwd scanmilter >/dev/null && getent group scanmilter >/dev/null'
log "package test took $(( $(date +%s) - T0 ))s"
finish
