# t/lib/postfix.sh - run a private, real Postfix on loopback in front of a milter (bash).
#
# Debian packages the MTA harness needs (CI install step; preseed
#   echo 'postfix postfix/main_mailer_type select No configuration' | debconf-set-selections
# first so the postfix package writes no config and starts nothing):
#   postfix swaks libio-socket-inet6-perl perl util-linux coreutils
#   miltertest                                   (step-by-step milter tests)
#   clamav clamav-daemon clamav-milter           (t/lib/selftest-harness.sh only)
#   m4 + the Debian archive reachable by apt    (t/lib/sendmail.sh: it apt-get downloads
#                                                 sendmail-bin sendmail-cf sendmail-base libwrap0
#                                                 once into $SM_CACHE and dpkg-deb -x's them;
#                                                 sendmail conflicts with postfix, so it is never
#                                                 installed.  Pre-fill $SM_CACHE/debs offline.)
#
# Usage (from a bash test, as root):
#   . t/lib/common.sh; . t/lib/postfix.sh
#   postfix_start "$WD" "unix:$WD/milter/scanmilter.sock" [main.cf_param=value ...]
#   smtp_send sender@example.org rcpt@example.net msg.eml | grep '250 2.0.0 Ok: queued'
#   sink_wait_count 1 10 && sink_headers "$(sink_last)"
#   postfix_stop "$WD"
#
# Functions:
#   postfix_start WORKDIR MILTER_SPEC [PARAM=VALUE ...]
#       Writes a private instance under WORKDIR/postfix/{etc,queue,data} plus an smtp-sink
#       relay under WORKDIR/sink, starts both, waits until Postfix accepts connections.
#       Exports PF_PORT, PF_CONF (config dir), PF_LOG (maillog), PF_IPV6 (1 if [::1] listens),
#       PF_SINK_DIR, and SINK_DIR/SINK_PORT/SINK_PID (see common.sh).  Makes WORKDIR mode 0755
#       and fails early if user postfix cannot reach a unix: milter socket's directory.  Extra PARAM=VALUE pairs are applied
#       with postconf -e (e.g. milter_content_timeout=5s).  MILTER_SPEC is any smtpd_milters
#       value, e.g. unix:/path/sock or inet:127.0.0.1:PORT; may be empty for no milter.
#   postfix_stop WORKDIR         stop Postfix and the sink (bounded); deletes nothing.
#   postfix_log WORKDIR          print the maillog.
#   postfix_conf WORKDIR PARAM=VALUE...   change main.cf and reload.
#   postfix_queue_empty WORKDIR  true if nothing is in the queue (incoming/active/deferred).
#   smtp_send [-6] [-p PORT] FROM TO FILE.eml [swaks args...]
#       Send FILE.eml with swaks to 127.0.0.1 (or ::1 with -6) on PORT (default
#       ${SMTP_PORT:-$PF_PORT}); prints the whole transcript on stdout (server lines start
#       with "<- " or "<** " for 4xx/5xx replies).  Returns swaks' exit status (0 = accepted;
#       non-zero if any reply was an error), so under set -e write  out=$(smtp_send ...) || true.
#       TO may be a comma-separated list.
#
# Design choices:
#   * chroot is off for every service in the private master.cf, so the milter socket may live
#     anywhere; Postfix's smtpd connects as user "postfix", so the socket must be connectable by
#     it: mode 0666 (or group postfix with 0660) and every parent directory searchable (o+x).
#     postfix_start makes WORKDIR mode 0755 for that reason.
#   * no syslog: maillog_file = WORKDIR/postfix/maillog (via postlogd); maillog_file_prefixes
#     is set to WORKDIR.  When `postfix check`/`start` fail they print nothing without a
#     terminal: postfix_start prints the maillog then.
#   * mydestination, relay_domains and local_recipient_maps are empty and relayhost is the
#     sink, so every recipient is accepted (clients on loopback are in mynetworks) and relayed.
#   * nothing outside WORKDIR is written; the system's /etc/postfix is only read (meta files,
#     dynamicmaps.cf), so any system Postfix is unaffected.

# shellcheck source=common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

PF_PATH_ADD=/usr/sbin:/usr/lib/postfix/sbin
case ":$PATH:" in *:/usr/sbin:*) ;; *) PATH=$PATH:$PF_PATH_ADD ;; esac

_pf_master_cf() {  # PORT
    cat <<EOF
# private scanmilter test instance: no chroot anywhere
$1        inet  n       -       n       -       -       smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
virtual   unix  -       n       n       -       -       virtual
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
EOF
}

_pf_main_cf() {  # WORKDIR PORT SINKPORT MILTER_SPEC IPV6(0/1)
    echo "# private scanmilter test instance, generated by t/lib/postfix.sh"
    pf_main_cf "$1/postfix/queue" "$1/postfix/data" "$1/postfix/maillog" "$1" "$3" "$4" "$5"
}

# pf_main_cf QUEUE DATA MAILLOG PREFIX SINKPORT MILTER_SPEC [IPV6(0/1)]: a
# main.cf for a test instance: loopback only, everything relayed to the
# sink on SINKPORT, MILTER_SPEC as smtpd_milters, logging to MAILLOG
pf_main_cf() {
    local q=$1 data=$2 maillog=$3 prefix=$4 sport=$5 milters=$6 v6=${7:-0} ifs protos nets
    if [ "$v6" = 1 ]; then
        ifs='127.0.0.1, [::1]'; protos='ipv4, ipv6'; nets='127.0.0.0/8 [::1]/128'
    else
        ifs='127.0.0.1'; protos='ipv4'; nets='127.0.0.0/8'
    fi
    cat <<EOF
compatibility_level = 3.6
queue_directory = $q
data_directory = $data
mail_owner = postfix
setgid_group = postdrop
maillog_file = $maillog
maillog_file_prefixes = $prefix
myhostname = mta.scanmilter.test
mydomain = scanmilter.test
myorigin = \$myhostname
mydestination =
local_recipient_maps =
relay_domains =
alias_maps =
alias_database =
inet_interfaces = $ifs
inet_protocols = $protos
mynetworks = $nets
smtpd_relay_restrictions = permit_mynetworks, reject
smtpd_recipient_restrictions =
relayhost = [127.0.0.1]:$sport
smtp_dns_support_level = disabled
smtp_connect_timeout = 5s
smtp_tls_security_level = none
smtpd_tls_security_level = none
smtputf8_enable = no
biff = no
notify_classes =
delay_warning_time = 0
queue_run_delay = 2s
minimal_backoff_time = 2s
maximal_backoff_time = 4s
smtpd_milters = $milters
non_smtpd_milters =
milter_default_action = tempfail
milter_protocol = 6
milter_content_timeout = 60s
EOF
}

postfix_start() {
    local wd=${1:?postfix_start WORKDIR MILTER_SPEC [PARAM=VALUE...]} milters=${2-}
    shift 2 || shift $#
    local conf=$wd/postfix/etc log=$wd/postfix/maillog port v6=0 kv
    [ "$(id -u)" = 0 ] || fail "postfix_start: must run as root"
    id postfix >/dev/null 2>&1 || fail "postfix_start: no user postfix (apt-get install postfix)"
    mkdir -p "$conf" "$wd/postfix/queue" "$wd/postfix/data" || fail "postfix_start: mkdir"
    chmod 755 "$wd"
    chown postfix "$wd/postfix/data" || fail "postfix_start: chown data_directory"
    have_ipv6_loopback && v6=1
    # the sink first: a port picked but not yet bound could be picked again for it
    sink_start "$wd/sink"
    port=$(pick_port); [ -n "$port" ] || fail "postfix_start: no free port"
    # smtpd connects to a unix-socket milter as user postfix
    case $milters in
        unix:*) runuser -u postfix -- test -x "$(dirname "${milters#unix:}")" ||
                    fail "postfix_start: user postfix cannot reach ${milters#unix:} (make every parent directory o+x)" ;;
    esac
    _pf_main_cf "$wd" "$port" "$SINK_PORT" "$milters" "$v6" >"$conf/main.cf"
    _pf_master_cf "$port" >"$conf/master.cf"
    for kv in "$@"; do
        postconf -c "$conf" -e "$kv" || fail "postfix_start: postconf -e $kv"
    done
    : >"$log"

    # "postfix start" runs "postfix check" itself, which creates the queue subdirectories
    # with the right owners; on failure it prints nothing without a terminal: show the log.
    if ! timeout 60 postfix -c "$conf" start >"$wd/postfix/start.out" 2>&1; then
        cat "$wd/postfix/start.out" "$log" >&2
        fail "postfix_start: postfix start failed"
    fi
    if ! wait_for_port 127.0.0.1 "$port" 15; then
        cat "$wd/postfix/start.out" "$log" >&2
        fail "postfix_start: nothing listens on 127.0.0.1:$port"
    fi
    if [ "$v6" = 1 ] && ! wait_for_port ::1 "$port" 5; then
        log "postfix_start: [::1]:$port not listening; IPv6 tests will fail"
        v6=0
    fi
    PF_PORT=$port PF_CONF=$conf PF_LOG=$log PF_IPV6=$v6 PF_SINK_DIR=$SINK_DIR
    export PF_PORT PF_CONF PF_LOG PF_IPV6 PF_SINK_DIR
    log "postfix: listening on 127.0.0.1:$port$([ "$v6" = 1 ] && echo " and [::1]:$port"), relayhost 127.0.0.1:$SINK_PORT, smtpd_milters = $milters"
}

_pf_master_pid() {  # WORKDIR -> pid of its master (or fail)
    local f=$1/postfix/queue/pid/master.pid pid
    [ -f "$f" ] || return 1
    pid=$(tr -d ' \n' <"$f")
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

postfix_stop() {
    local wd=${1:?postfix_stop WORKDIR} conf=$1/postfix/etc pid
    if pid=$(_pf_master_pid "$wd"); then
        timeout 20 postfix -c "$conf" stop >/dev/null 2>&1
        if ! wait_until 10 _pid_gone "$pid"; then
            log "postfix_stop: master $pid still running; postfix abort"
            timeout 10 postfix -c "$conf" abort >/dev/null 2>&1
            wait_until 5 _pid_gone "$pid" || kill -9 "$pid" 2>/dev/null
        fi
    fi
    sink_stop "$wd/sink"
}

postfix_log() { cat "${1:?postfix_log WORKDIR}/postfix/maillog"; }

postfix_conf() {
    local wd=${1:?postfix_conf WORKDIR PARAM=VALUE...} kv; shift
    for kv in "$@"; do postconf -c "$wd/postfix/etc" -e "$kv" || return 1; done
    timeout 20 postfix -c "$wd/postfix/etc" reload >/dev/null 2>&1
}

postfix_queue_empty() {
    local q=${1:?postfix_queue_empty WORKDIR}/postfix/queue d
    for d in incoming active deferred hold maildrop; do
        [ -z "$(find "$q/$d" -type f 2>/dev/null | head -n 1)" ] || return 1
    done
}

smtp_send() {
    local host=127.0.0.1 port=${SMTP_PORT:-${PF_PORT:-}}
    while [ $# -gt 0 ]; do
        case $1 in
            -6) host=::1; shift ;;
            -4) host=127.0.0.1; shift ;;
            -p) port=$2; shift 2 ;;
            *) break ;;
        esac
    done
    local from=${1:?smtp_send FROM TO FILE} to=${2:?smtp_send FROM TO FILE} file=${3:?smtp_send FROM TO FILE}
    shift 3
    [ -n "$port" ] || fail "smtp_send: no port (postfix_start not run, PF_PORT/SMTP_PORT unset)"
    [ -r "$file" ] || fail "smtp_send: cannot read $file"
    # swaks has its own 30 s per-step timeout; timeout(1) bounds the whole session.
    timeout 120 swaks --server "$host" --port "$port" --helo client.scanmilter.test \
        --from "$from" --to "$to" --data "@$file" --timeout 30s "$@" 2>&1
}
