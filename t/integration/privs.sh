#!/usr/bin/env bash
# The privilege drop with `group =` and who may use the control socket:
#   - user = nobody, group = mail: the running daemon's real, effective, saved and
#     filesystem gids are mail's (not nobody's own group), no other group is left (not root's
#     0), its uids are nobody's; it still scans (EICAR refused) and reloads;
#   - the control socket (mode 0660, socket_group mail) answers root and a member of mail,
#     and refuses a user outside the group (scanmilterctl as nobody exits 1, daemon untouched);
#   - `scanmilter -t` and `scanmilter scan` started by root load signatures as the service user
#     (what a reload will do): a signature directory only root can read is refused by -t, and
#     scan still reads a message only root can read (opened before the switch);
#   - a third-party engine module (engine "NAME" { module = … }) first runs its code as the
#     service user, never as root: its constructor records its euid, at start, at a
#     reload and under -t.
set -u
. "$(dirname "$0")/../lib/scanmilter.sh"
. "$(dirname "$0")/../lib/promises.sh"

sm_need_built "$MILTERGEN"
[ "$(id -u)" = 0 ] || fail "must run as root"
id nobody >/dev/null 2>&1 || fail "no user nobody"
GROUP=mail
getent group "$GROUP" >/dev/null || fail "no group $GROUP"
GID=$(getent group "$GROUP" | cut -d: -f3)
NOBODY_UID=$(id -u nobody)
NOBODY_GID=$(id -g nobody)
[ "$GID" != "$NOBODY_GID" ] || fail "group $GROUP is nobody's own group: the test would prove nothing"
id -nG nobody | tr ' ' '\n' | grep -qx "$GROUP" && fail "nobody is a member of $GROUP: cannot test a non-member"
CTL=$(dirname "$SCANMILTER")/scanmilterctl
[ -x "$CTL" ] || CTL=$SM_TOP/build/src/scanmilterctl
WD=$(mktemp -d /tmp/sm-privs.XXXXXX)
trap 'sm_stop; rm -rf "$WD"' EXIT
chmod 755 "$WD"
mkdir -p "$WD/db" "$WD/eicar"
cp "$SM_TOP"/t/data/sigs/* "$WD/db/"
cp "$SM_TOP/t/data/mail/eicar-plain.eml" "$WD/eicar/"
chmod -R a+rX "$WD/db" "$WD/eicar"
cp "$CTL" "$WD/scanmilterctl" && chmod 755 "$WD/scanmilterctl"	# runnable by nobody

SM_AV='antivirus "av1" { clamav "c1" { database_directory = "'"$WD/db"'" } }' \
SM_MILTER_EXTRA="user = \"nobody\"  group = \"$GROUP\"" sm_start "$WD/a" \
    "control { listen = \"unix:$WD/a/run/control.sock\"  socket_mode = 0660  socket_group = \"$GROUP\" }"
# the socket listens before the switch: read the ids once it is done
wait_until 20 sm_log_has "running as user nobody" || fail "the daemon never said it switched"
st() { awk -v k="$1:" '$1 == k { $1 = ""; sub(/^ /, ""); print }' "/proc/$SM_PID/status"; }
gids=$(st Gid | tr -s '\t ' ' ') uids=$(st Uid | tr -s '\t ' ' ') groups=$(st Groups | tr -s '\t ' ' ')
check "group = $GROUP: real, effective, saved, fs gid are $GID ($gids)" [ "$gids" = "$GID $GID $GID $GID" ]
check "user = nobody: uids are $NOBODY_UID ($uids)" [ "$uids" = "$NOBODY_UID $NOBODY_UID $NOBODY_UID $NOBODY_UID" ]
check "no supplementary group but $GROUP (${groups:-none})" bash -c "[ -z \"\$(tr ' ' '\n' <<<'$groups' | grep -vx '$GID' | grep .)\" ]"
check "the log says so" sm_log_has "running as user nobody \\(uid $NOBODY_UID, gid $GID\\)"
got=$(mg_one "unix:$SM_SOCK" "$WD/eicar")
check "as nobody:$GROUP: EICAR refused ($got)" [ "$got" = "reject|550 5.7.1 Virus found: Scanmilter.Test.EICAR.UNOFFICIAL" ]

check "control socket: mode 0660, group $GROUP" \
    bash -c "[ \"\$(stat -c '%a %G' '$SM_CTL')\" = '660 $GROUP' ]"
check "control socket: root is answered" bash -c "'$CTL' -s '$SM_CTL' version | grep -q '^scanmilter '"
out=$(runuser -u nobody -g "$GROUP" -- "$WD/scanmilterctl" -s "$SM_CTL" version 2>&1); rc=$?
check "control socket: a member of $GROUP is answered (rc $rc)" \
    bash -c '[ "$1" = 0 ] && grep -q "^scanmilter " <<<"$2"' _ "$rc" "$out"
out=$(runuser -u nobody -- "$WD/scanmilterctl" -s "$SM_CTL" version 2>&1); rc=$?
printf '%s\n' "$out" | sed 's/^/#   /'
check "control socket: nobody (not in $GROUP) refused, exit 1 ($rc)" [ "$rc" = 1 ]
check "... says permission denied, nothing of the answer" \
    bash -c 'grep -q "permission denied" <<<"$1" && ! grep -q "^scanmilter " <<<"$1"' _ "$out"
out=$(runuser -u nobody -- "$WD/scanmilterctl" -s "$SM_CTL" reload 2>&1); rc=$?
check "control socket: nobody cannot reload either ($rc)" [ "$rc" = 1 ]
check "... and no reload happened" bash -c "! grep -q 'reload (' '$SM_LOG'"
kill -HUP "$SM_PID"
check "as nobody:$GROUP: SIGHUP reload works" \
    wait_until 20 sm_log_has 'reload \(SIGHUP\): configuration and signatures from .* in use'
got=$(mg_one "unix:$SM_SOCK" "$WD/eicar")
check "after the reload: EICAR refused ($got)" [ "$got" = "reject|550 5.7.1 Virus found: Scanmilter.Test.EICAR.UNOFFICIAL" ]
check "stopped cleanly" sm_stop

# -t and scan as root with user = nobody: the load runs as nobody
mkdir -p "$WD/t/tmp" "$WD/rootdb" "$WD/rootmsg"
cp "$SM_TOP"/t/data/sigs/* "$WD/rootdb/"; chmod 700 "$WD/rootdb"
cp "$SM_TOP/t/data/mail/eicar-plain.eml" "$WD/rootmsg/"; chmod 700 "$WD/rootmsg"
for db in db rootdb; do
    cat >"$WD/t/$db.conf" <<CONF
milter { listen = "unix:$WD/t/sock"  user = "nobody"  file_base = "$WD/t/tmp" }
antivirus "av1" { clamav "c1" { database_directory = "$WD/$db" } }
control { listen = "" }
CONF
done
out=$("$SCANMILTER" -t -c "$WD/t/db.conf" 2>&1); rc=$?
check "-t as root, user = nobody, signatures nobody can read: OK (rc $rc)" [ "$rc" = 0 ]
out=$("$SCANMILTER" -t -c "$WD/t/rootdb.conf" 2>&1); rc=$?
printf '%s\n' "$out" | sed 's/^/#   /' | head -3
check "-t as root, user = nobody, signatures only root can read: refused (rc $rc), naming them" \
    bash -c '[ "$1" != 0 ] && grep -q "$2" <<<"$3"' _ "$rc" "$WD/rootdb" "$out"
out=$("$SCANMILTER" scan -c "$WD/t/db.conf" "$WD/rootmsg/eicar-plain.eml" 2>&1); rc=$?
check "scan as root, user = nobody: a message only root can read is scanned, EICAR found (rc $rc)" \
    bash -c '[ "$1" = 1 ] && grep -q "Scanmilter.Test.EICAR.UNOFFICIAL" <<<"$2"' _ "$rc" "$out"

# a plug-in's code (its constructor) runs as the service user, never root
mkdir -p "$WD/p/mod" "$WD/p/out"; chmod 755 "$WD/p" "$WD/p/mod"; chmod 777 "$WD/p/out"
if ${CC:-cc} -std=c11 -shared -fPIC -I"$SM_TOP/include" -o "$WD/p/mod/template.so" \
    "$SM_TOP/engines/template/template.c" "$SM_TOP/t/engines/euid.c"; then
    chmod 755 "$WD/p/mod/template.so"
    export SM_TEST_EUID_FILE=$WD/p/out/euid
    SM_AV='antivirus "av1" {
  template "t1" { needle = "BAD-STUFF-42" }
  clamav "c1" { database_directory = "'"$WD/db"'" }
}' SM_MILTER_EXTRA="user = \"nobody\"  group = \"$GROUP\"" sm_start "$WD/pa" \
        "engine \"template\" { module = \"$WD/p/mod/template.so\" }"
    wait_until 20 sm_log_has 'template engine "t1" looks for' || true
    sed 's/^/#   /' "$WD/p/out/euid" 2>/dev/null
    check "plug-in: the daemon started as root loaded it as nobody (euid $NOBODY_UID), never as root" \
        bash -c '[ -s "$1" ] && ! grep -qvx "euid $2" "$1"' _ "$WD/p/out/euid" "$NOBODY_UID"
    rm -f "$WD/p/out/euid"
    kill -HUP "$SM_PID"
    check "plug-in: a reload keeps it" \
        wait_until 20 sm_log_has 'reload \(SIGHUP\): configuration and signatures from .* in use'
    sed 's/^/#   /' "$WD/p/out/euid" 2>/dev/null
    # (the library may stay loaded across the swap: then no constructor runs)
    check "plug-in: whatever of it a reload runs again runs as nobody, never as root" \
        bash -c '! grep -qvx "euid $2" "$1" 2>/dev/null' _ "$WD/p/out/euid" "$NOBODY_UID"
    check "stopped cleanly" sm_stop
    rm -f "$WD/p/out/euid"
    out=$("$SCANMILTER" -t -c "$SM_CONF" 2>&1); rc=$?
    sed 's/^/#   /' "$WD/p/out/euid" 2>/dev/null
    check "plug-in: -t as root loaded it, as nobody only (rc $rc)" \
        bash -c '[ "$1" = 0 ] && [ -s "$2" ] && ! grep -qvx "euid $3" "$2"' _ "$rc" "$WD/p/out/euid" "$NOBODY_UID"
    unset SM_TEST_EUID_FILE
else
    not_ok "plug-in: cannot build the test module"
fi
finish
