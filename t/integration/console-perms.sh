#!/usr/bin/env bash
# Who may do what on the control socket, against the real daemon, with scanmilterctl run
# as user nobody (setpriv; no account or group is created) and the socket in group mail
# (socket_mode 0660), admin_group uucp:
#  - nobody in neither group cannot connect (the socket's mode);
#  - nobody in the socket's group may read (stats, version, engines, pools, cache, help)
#    but is refused reload, stats reset and cache flush (exit 1, "permission denied"),
#    in text and --json, and nothing changes (the counters, the reload count);
#  - nobody in admin_group (as a supplementary or as its own group) may do them;
#  - reloads asked in a loop are rate-limited (reload_interval), also for root, with a
#    clear error; the refusals are logged in a bounded number of lines;
#  - the daemon's own user (a daemon dropping to user "daemon") may change state.
set -u
. "$(dirname "$0")/../lib/scanmilter.sh"

sm_need_built "$MILTERGEN" "$CTL"
[ "$(id -u)" = 0 ] || { log "not root: cannot run scanmilterctl as another user; skipped"; finish; exit 0; }
command -v setpriv >/dev/null || fail "setpriv is missing (util-linux)"
SOCKGRP=mail ADMGRP=uucp
getent group "$SOCKGRP" >/dev/null && getent group "$ADMGRP" >/dev/null &&
    getent passwd nobody >/dev/null || fail "needs user nobody and groups $SOCKGRP, $ADMGRP"
SOCKGID=$(getent group "$SOCKGRP" | cut -d: -f3)
ADMGID=$(getent group "$ADMGRP" | cut -d: -f3)

WD=$(mktemp -d /tmp/sm-console-perms.XXXXXX)
trap 'sm_stop; rm -rf "$WD"' EXIT
chmod 755 "$WD"
mkdir -p "$WD/clean"
cp "$SM_TOP/t/data/mail/clean-plain.eml" "$WD/clean/"
chmod -R a+rX "$WD/clean"
PORT=$(pick_port)

# as nobody, with primary group GID and supplementary groups GROUPS ("" for none)
as_nobody() {  # GID GROUPS CTL-ARGS...
    local gid=$1 groups=$2; shift 2
    if [ -n "$groups" ]; then
        setpriv --reuid=65534 --regid="$gid" --groups="$groups" "$CTL" -s "unix:$SM_CTL" "$@"
    else
        setpriv --reuid=65534 --regid="$gid" --clear-groups "$CTL" -s "unix:$SM_CTL" "$@"
    fi
}
reader() { as_nobody 65534 "$SOCKGID" "$@"; }
admin() { as_nobody 65534 "$SOCKGID,$ADMGID" "$@"; }
stat_of() {  # LABEL COL
    "$CTL" -s "unix:$SM_CTL" stats | sed -n "s|^  $1: *||p" | awk -v c="$2" '{ print $c }'
}
# CMD... prints a line matching RE
says() {  # RE CMD...
    local re=$1; shift
    "$@" 2>/dev/null | grep -q "$re"
}
quiet() { "$@" >/dev/null 2>&1; }
reloads() {
    curl -sf --max-time 5 "http://127.0.0.1:$PORT/metrics" |
        awk '$1 == "scanmilter_reloads_total" { print $2 }'
}

sm_start "$WD/a" "control {
  listen = \"unix:$WD/a/run/control.sock\"
  socket_mode = 0660
  socket_group = \"$SOCKGRP\"
  admin_group = \"$ADMGRP\"
  reload_interval = 3s
}
metrics { listen = \"127.0.0.1:$PORT\" }"
timeout 60 "$MILTERGEN" -s "unix:$SM_SOCK" -c 1 -n 2 -t 30 "$WD/clean" | grep -q ' accept=2 ' ||
    fail "mail not accepted"

# 1. not in the socket's group: the mode keeps it out
as_nobody 65534 "" stats >/dev/null 2>"$WD/err"; rc=$?
check "outsider: exit 1, permission denied on connect" bash -c \
    "[ $rc = 1 ] && grep -q 'permission denied' '$WD/err'"

# 2. in the socket's group: reads, may not change
for cmd in "stats" "version" "engines" "pools" "cache" "help" "stats antivirus1"; do
    # shellcheck disable=SC2086
    check "socket group: '$cmd' works" quiet reader $cmd
done
for cmd in "reload" "stats reset" "cache flush" "stats reset antivirus1"; do
    # shellcheck disable=SC2086
    reader $cmd >"$WD/out" 2>"$WD/err"; rc=$?
    sed 's/^/#   /' "$WD/err"
    check "socket group: '$cmd' refused, exit 1, says why" bash -c \
        "[ $rc = 1 ] && grep -q \"^scanmilterctl: permission denied: '${cmd% antivirus1}' changes the daemon's state\" '$WD/err' &&
         grep -q 'admin_group $ADMGRP' '$WD/err' && [ ! -s '$WD/out' ]"
done
reader --json reload >"$WD/out" 2>"$WD/err"; rc=$?
check "socket group: --json reload refused, exit 1, a JSON error" bash -c \
    "[ $rc = 1 ] && grep -q '^{\"error\": \"permission denied' '$WD/out'"
check "socket group: the refused reset changed nothing (2 since reset)" [ "$(stat_of 'Messages checked' 2)" = 2 ]
check "socket group: no reload happened" [ "$(reloads)" = 0 ]
check "the refusals were logged, rate-limited (at most 2 lines)" bash -c \
    "n=\$(grep -c \"control: refused '\" '$SM_LOG'); [ \"\$n\" -ge 1 ] && [ \"\$n\" -le 2 ]"

# 3. in admin_group: may change
check "admin group: stats reset" says '^statistics reset' admin stats reset
check "admin group: the reset happened (0 since reset)" [ "$(stat_of 'Messages checked' 2)" = 0 ]
check "admin group: cache flush" says '^flushed' admin cache flush
check "admin group: reload" says '^reloaded' admin reload
check "admin group: the reload counted" [ "$(reloads)" = 1 ]

# 4. a reload loop is rate-limited (reload_interval = 3s), for root too
ok=0 refused=0
for _ in 1 2 3 4 5 6 7 8; do
    if "$CTL" -s "unix:$SM_CTL" reload >/dev/null 2>"$WD/err"; then
        ok=$((ok + 1))
    elif grep -q '^scanmilterctl: reload refused: the last one ended .* at most one every 3.0 s (control { reload_interval }); try again in [0-9]* s' "$WD/err"; then
        refused=$((refused + 1))
    fi
done
sed 's/^/#   /' "$WD/err"
check "reload loop: 8 asked at once, none ran ($ok), 8 refused with the reason ($refused)" \
    [ "$ok.$refused" = 0.8 ]
check "reload loop: no reload counted" [ "$(reloads)" = 1 ]
sleep 3.2
# admin_group as the caller's own group this time
check "reload allowed again after reload_interval (admin_group as primary group)" \
    says '^reloaded' as_nobody "$ADMGID" "$SOCKGID" reload
check "2 reloads counted in all" [ "$(reloads)" = 2 ]
check "stopped cleanly" sm_stop

# 5. the daemon's own user may change state (a daemon dropping to user "daemon")
if DUID=$(id -u daemon 2>/dev/null); then
    SM_MILTER_EXTRA='user = "daemon"' sm_start "$WD/b" "control {
  listen = \"unix:$WD/b/run/control.sock\"
  socket_group = \"$SOCKGRP\"
}"
    check "daemon runs as user daemon" [ "$(ps -o user= -p "$SM_PID")" = daemon ]
    check "its own user: cache flush" says '^flushed' \
        setpriv --reuid="$DUID" --regid="$(id -g daemon)" --groups="$SOCKGID" "$CTL" -s "unix:$SM_CTL" cache flush
    reader cache flush >/dev/null 2>"$WD/err"; rc=$?
    check "socket group, no admin_group set: cache flush refused, says admin_group is not set" \
        bash -c "[ $rc = 1 ] && grep -q 'admin_group } (not set)' '$WD/err'"
    check "stopped cleanly" sm_stop
else
    log "no user daemon: the daemon's-own-user case skipped"
fi
finish
