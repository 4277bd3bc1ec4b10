# t/lib/sendmail.sh - run a private, real Sendmail on loopback in front of a milter (bash, root).
#
# Sendmail conflicts with postfix as a Debian package, so it is never installed: the .debs
# (sendmail-bin sendmail-cf sendmail-base, plus libwrap0 which sendmail links and a minimal
# system lacks) are fetched once with `apt-get download` into $SM_CACHE/debs and unpacked with
# `dpkg-deb -x` into $SM_CACHE/root-<version>; later runs reuse both (no network needed once the
# cache is filled).  Needs: apt (and the Debian archive, first run only), dpkg, m4, util-linux
# (unshare, mount), postfix (for smtp-sink).
#
# Functions:
#   sendmail_prepare
#       Fill/verify the cache; exports SM_ROOT (the unpacked tree) and SM_BIN.
#   sendmail_start WORKDIR MILTER_SOCKET
#       Build WORKDIR/sendmail/sendmail.cf with m4, using
#         INPUT_MAIL_FILTER(`scanmilter', `S=unix:MILTER_SOCKET, F=T, T=S:30s;R:60s;E:5m')
#       (override the whole S=/F=/T= string with $SM_MILTER_SPEC; add .mc lines with
#       $SM_MC_EXTRA), start an smtp-sink under WORKDIR/sink as the smart host, and run
#       `sendmail -bd -q5s` listening on 127.0.0.1 (and [::1] on the same port when IPv6
#       loopback works; no_default_msa: no port 587) inside
#       `unshare --uts --mount` with host name mta.scanmilter.test and a private /etc/hosts
#       bind-mounted over /etc/hosts (otherwise Sendmail sleeps 60 s at start on an unqualified
#       host name).  Waits until the port answers.  Exports SM_PORT, SM_CF, SM_SINK_DIR, SM_IPV6
#       (1 if [::1]:SM_PORT listens) (also
#       SINK_DIR/SINK_PORT/SINK_PID, see common.sh).  Everything relays (promiscuous_relay) to
#       the sink.  Send with  smtp_send -p "$SM_PORT" FROM TO FILE.
#   sendmail_stop WORKDIR        stop Sendmail (bounded) and its sink; deletes nothing.
#   sendmail_log WORKDIR         print what Sendmail logged (see below).
#
# No syslog runs here, and Sendmail only logs through syslog(3): inside its private mount
# namespace a small perl listener receives /dev/log datagrams (a private /dev is assembled from
# bind mounts of the host's null/zero/random/urandom/tty/ptmx/pts/shm) and appends them to
# WORKDIR/sendmail/maillog.  If that cannot be set up, Sendmail still runs, without a log.
# The milter socket must not be reached through a symlink (Sendmail refuses it).  Replies seen:
# accepted "250 2.0.0 <id> Message accepted for delivery"; a milter reject at end of DATA is
# passed through as set ("550 5.7.1 Virus found: NAME"); milter down with F=T
# "451 4.3.2 Please try again later" in answer to MAIL FROM.

# shellcheck source=common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

SM_CACHE=${SM_CACHE:-/var/cache/scanmilter-test}
SM_PKGS="sendmail-bin sendmail-cf sendmail-base libwrap0"
SM_HOSTNAME=${SM_HOSTNAME:-mta.scanmilter.test}

sendmail_prepare() {
    mkdir -p "$SM_CACHE/debs" || fail "sendmail_prepare: mkdir $SM_CACHE/debs"
    # serialise concurrent first runs (bounded: 180 s)
    exec {_sm_lock}>"$SM_CACHE/.lock"
    flock -w 180 "$_sm_lock" || fail "sendmail_prepare: $SM_CACHE/.lock busy for 180 s"
    _sendmail_prepare_locked
    local rc=$?
    exec {_sm_lock}>&-
    return $rc
}

_sm_download() {  # DEBDIR PACKAGE
    ( cd "$1" && timeout 120 apt-get -q download -o APT::Sandbox::User=root "$2" ) \
        >>"$1/download.log" 2>&1
}

_sendmail_prepare_locked() {
    local debs=$SM_CACHE/debs p n ver root
    for p in $SM_PKGS; do
        n=$(find "$debs" -maxdepth 1 -name "${p}_*.deb" | head -n 1)
        if [ -z "$n" ]; then
            log "sendmail_prepare: downloading $p into $debs"
            # a fresh machine may have no package lists yet: update once, then retry
            _sm_download "$debs" "$p" || {
                log "sendmail_prepare: apt-get download $p failed; apt-get update, then again"
                timeout 300 apt-get -q update >>"$debs/download.log" 2>&1
                _sm_download "$debs" "$p"
            } || {
                cat "$debs/download.log" >&2
                fail "sendmail_prepare: apt-get download $p failed"
            }
        fi
    done
    ver=$(find "$debs" -maxdepth 1 -name 'sendmail-bin_*.deb' | sed 's/.*sendmail-bin_\([^_]*\)_.*/\1/' | head -n 1)
    root=$SM_CACHE/root-$ver
    if [ ! -f "$root/.complete" ]; then
        rm -rf "$root"; mkdir -p "$root"
        for p in "$debs"/*.deb; do
            dpkg-deb -x "$p" "$root" || fail "sendmail_prepare: dpkg-deb -x $p"
        done
        # setgid would make the loader ignore LD_LIBRARY_PATH (needed for the private libwrap)
        chmod g-s "$root/usr/libexec/sendmail/sendmail"
        touch "$root/.complete"
    fi
    SM_ROOT=$root SM_BIN=$root/usr/libexec/sendmail/sendmail
    [ -x "$SM_BIN" ] || fail "sendmail_prepare: $SM_BIN missing"
    # sendmail-bin's other libraries are not unpacked: they must be installed
    local missing
    missing=$(LD_LIBRARY_PATH=$root/usr/lib/x86_64-linux-gnu:$root/lib/x86_64-linux-gnu \
        ldd "$SM_BIN" 2>&1 | awk '/not found/ { print $1 }' | tr '\n' ' ')
    [ -z "$missing" ] || fail "sendmail_prepare: $SM_BIN needs $missing(apt-get install the packages that hold them)"
    export SM_ROOT SM_BIN
}

_sm_mc() {  # DIR PORT SINKPORT MILTERSPEC IPV6(0/1)
    local d=$1 v6line='dnl no IPv6 listener'
    [ "${5:-0}" = 1 ] &&
        v6line="DAEMON_OPTIONS(\`Family=inet6, Name=MTA-v6, Addr=::1, Port=$2')dnl"
    cat <<EOF
divert(-1)
# private scanmilter test instance, generated by t/lib/sendmail.sh
divert(0)dnl
VERSIONID(\`scanmilter test harness')dnl
OSTYPE(\`linux')dnl
define(\`confDOMAIN_NAME', \`$SM_HOSTNAME')dnl
define(\`confDONT_PROBE_INTERFACES', \`True')dnl
define(\`confSERVICE_SWITCH_FILE', \`$d/service.switch')dnl
define(\`confHOSTS_FILE', \`$d/hosts')dnl
define(\`QUEUE_DIR', \`$d/queue')dnl
define(\`confPID_FILE', \`$d/sendmail.pid')dnl
define(\`ALIAS_FILE', \`$d/aliases')dnl
define(\`STATUS_FILE', \`$d/statistics')dnl
define(\`confHELP_FILE', \`$SM_ROOT/etc/mail/helpfile')dnl
define(\`confCW_FILE', \`-o $d/local-host-names')dnl
define(\`confCT_FILE', \`-o $d/trusted-users')dnl
define(\`confHOST_STATUS_DIRECTORY', \`')dnl
define(\`confEBINDIR', \`$SM_ROOT/usr/libexec/sendmail')dnl
define(\`confLOG_LEVEL', \`14')dnl
define(\`confMILTER_LOG_LEVEL', \`6')dnl
define(\`confTO_IDENT', \`0')dnl
define(\`confTO_CONNECT', \`5s')dnl
define(\`confTO_ICONNECT', \`5s')dnl
define(\`confMIN_QUEUE_AGE', \`0')dnl
define(\`confDELIVERY_MODE', \`background')dnl
define(\`confPRIVACY_FLAGS', \`goaway')dnl
define(\`confBIND_OPTS', \`-DNSRCH -DEFNAMES')dnl
define(\`confDONT_BLAME_SENDMAIL', \`TrustStickyBit,GroupWritableDirPathSafe')dnl
define(\`SMART_HOST', \`relay:[127.0.0.1]')dnl
define(\`RELAY_MAILER_ARGS', \`TCP \$h $3')dnl
define(\`ESMTP_MAILER_ARGS', \`TCP \$h $3')dnl
define(\`SMTP_MAILER_ARGS', \`TCP \$h $3')dnl
FEATURE(\`no_default_msa')dnl
FEATURE(\`nocanonify')dnl
FEATURE(\`accept_unresolvable_domains')dnl
FEATURE(\`accept_unqualified_senders')dnl
FEATURE(\`promiscuous_relay')dnl
DAEMON_OPTIONS(\`Family=inet, Name=MTA-v4, Addr=127.0.0.1, Port=$2')dnl
$v6line
INPUT_MAIL_FILTER(\`scanmilter', \`$4')dnl
MAILER(\`smtp')dnl
EOF
}

# Perl /dev/log listener (written to WORKDIR/sendmail/syslogd.pl): datagrams -> file, one line
# each, "<pri>" stripped.  sendmail_stop kills it through its pid file.
_SM_SYSLOGD='
use strict; use IO::Socket::UNIX; use Socket;
my ($path, $file, $pidf) = @ARGV;
unlink $path;
my $s = IO::Socket::UNIX->new(Type => SOCK_DGRAM, Local => $path) or die "syslog socket: $!";
chmod 0666, $path;
open(my $o, ">>", $file) or die "$file: $!"; select((select($o), $|=1)[0]);
if (open(my $p, ">", $pidf)) { print $p "$$\n"; close $p; }
my $buf;
while (defined $s->recv($buf, 65536)) { $buf =~ s/\0$//; $buf =~ s/^<\d+>//; print $o $buf, "\n"; }
'

sendmail_start() {
    local wd=${1:?sendmail_start WORKDIR MILTER_SOCKET} sock=${2:?sendmail_start WORKDIR MILTER_SOCKET}
    local d=$wd/sendmail port spec v6=0
    [ "$(id -u)" = 0 ] || fail "sendmail_start: must run as root"
    command -v m4 >/dev/null || fail "sendmail_start: m4 not installed"
    command -v unshare >/dev/null || fail "sendmail_start: unshare not installed"
    sendmail_prepare
    mkdir -p "$d/queue" "$d/dev" || fail "sendmail_start: mkdir"
    chmod 700 "$d/queue"
    have_ipv6_loopback && v6=1
    # the sink first: a port picked but not yet bound could be picked again for it
    sink_start "$wd/sink"
    port=$(pick_port); [ -n "$port" ] || fail "sendmail_start: no free port"
    spec=${SM_MILTER_SPEC:-S=unix:$sock, F=T, T=S:30s;R:60s;E:5m}

    printf '127.0.0.1\tlocalhost %s %s\n::1\tlocalhost ip6-localhost\n' \
        "$SM_HOSTNAME" "${SM_HOSTNAME%%.*}" >"$d/hosts"
    printf 'hosts\tfiles\naliases\tfiles\npasswd\tfiles\n' >"$d/service.switch"
    printf 'postmaster: root\nMAILER-DAEMON: postmaster\n' >"$d/aliases"
    : >"$d/statistics"; : >"$d/maillog"
    { _sm_mc "$d" "$port" "$SINK_PORT" "$spec" "$v6"; printf '%s\n' "${SM_MC_EXTRA:-}"; } >"$d/sendmail.mc"
    m4 -D_CF_DIR_="$SM_ROOT/usr/share/sendmail/cf/" "$SM_ROOT/usr/share/sendmail/cf/m4/cf.m4" \
        "$d/sendmail.mc" >"$d/sendmail.cf" 2>"$d/m4.err" \
        || { cat "$d/m4.err" >&2; fail "sendmail_start: m4 failed"; }

    printf '%s' "$_SM_SYSLOGD" >"$d/syslogd.pl"
    # The script run inside the private UTS + mount namespace.
    cat >"$d/run-in-ns.sh" <<EOF
set -u
hostname '$SM_HOSTNAME' || exit 1
mount --bind '$d/hosts' /etc/hosts || echo "warning: private /etc/hosts not mounted" >&2
# private /dev with a /dev/log socket, so syslog(3) output lands in $d/maillog
if [ "\${SM_NO_LOG:-0}" != 1 ] && mount -t tmpfs -o mode=755 smdev '$d/dev' 2>/dev/null; then
    ok=1
    for n in null zero random urandom tty full; do
        [ -e /dev/\$n ] || continue
        touch '$d/dev/'\$n && mount --bind /dev/\$n '$d/dev/'\$n || ok=0
    done
    for n in pts shm; do
        [ -d /dev/\$n ] || continue
        mkdir -p '$d/dev/'\$n && mount --rbind /dev/\$n '$d/dev/'\$n || ok=0
    done
    [ -e /dev/ptmx ] && ln -s pts/ptmx '$d/dev/ptmx'
    ln -s /proc/self/fd '$d/dev/fd'
    if [ \$ok = 1 ] && mount --bind '$d/dev' /dev; then
        perl '$d/syslogd.pl' /dev/log '$d/maillog' '$d/syslogd.pid' </dev/null >>'$d/maillog' 2>&1 &
        i=0; while [ ! -S /dev/log ] && [ \$i -lt 50 ]; do sleep 0.1; i=\$((i+1)); done
    else
        echo "warning: no private /dev; Sendmail will not log" >&2
    fi
fi
export LD_LIBRARY_PATH='$SM_ROOT/usr/lib/x86_64-linux-gnu:$SM_ROOT/lib/x86_64-linux-gnu'
'$SM_BIN' -C '$d/sendmail.cf' -bi || echo "warning: newaliases failed" >&2
exec '$SM_BIN' -C '$d/sendmail.cf' -bd -q5s
EOF
    timeout 30 unshare --uts --mount --propagation private bash "$d/run-in-ns.sh" \
        >"$d/start.out" 2>&1 </dev/null \
        || { cat "$d/start.out" "$d/maillog" >&2; fail "sendmail_start: sendmail did not start"; }
    if ! wait_for_port 127.0.0.1 "$port" 20; then
        cat "$d/start.out" "$d/maillog" >&2
        fail "sendmail_start: nothing listens on 127.0.0.1:$port"
    fi
    if [ "$v6" = 1 ] && ! wait_for_port ::1 "$port" 5; then
        log "sendmail_start: [::1]:$port not listening; IPv6 tests will fail"
        v6=0
    fi
    SM_PORT=$port SM_CF=$d/sendmail.cf SM_SINK_DIR=$SINK_DIR SM_IPV6=$v6
    export SM_PORT SM_CF SM_SINK_DIR SM_IPV6
    log "sendmail: listening on 127.0.0.1:$port$([ "$v6" = 1 ] && echo " and [::1]:$port"), smart host 127.0.0.1:$SINK_PORT, milter $spec"
}

sendmail_stop() {
    local wd=${1:?sendmail_stop WORKDIR} d=$1/sendmail pid
    if [ -f "$d/sendmail.pid" ]; then
        pid=$(head -n 1 "$d/sendmail.pid")
        if [ -n "$pid" ] && ! _pid_gone "$pid"; then
            kill "$pid" 2>/dev/null
            wait_for_pid_gone "$pid" 10 || kill -9 "$pid" 2>/dev/null
        fi
    fi
    if [ -f "$d/syslogd.pid" ]; then
        pid=$(cat "$d/syslogd.pid")
        [ -n "$pid" ] && kill "$pid" 2>/dev/null
        rm -f "$d/syslogd.pid"
    fi
    sink_stop "$wd/sink"
}

sendmail_log() { cat "${1:?sendmail_log WORKDIR}/sendmail/maillog"; }
