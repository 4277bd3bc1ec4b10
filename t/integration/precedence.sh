#!/usr/bin/env bash
# "When several engines or instances disagree, the most definitive answer wins: reject >
# discard > quarantine > tempfail > strip > accept" -- through the real daemon with libclamav:
# one EICAR attachment seen by several antivirus instances, each with its own action, the
# strongest listed last (and once first); each step drops the strongest and the next must win.
set -u
. "$(dirname "$0")/../lib/scanmilter.sh"
. "$(dirname "$0")/../lib/promises.sh"

sm_need_built "$MILTERGEN"
WD=$(mktemp -d /tmp/sm-prec.XXXXXX)
trap 'sm_stop; rm -rf "$WD"' EXIT
chmod 755 "$WD"
mkdir -p "$WD/m"
cp "$SM_TOP/t/data/mail/eicar-attach.eml" "$WD/m/"
NAME=Scanmilter.Test.EICAR.UNOFFICIAL

instances() {  # ACTION... -> one antivirus instance per action, in this order
    local a
    for a in "$@"; do
        printf 'antivirus "av_%s" {\n  mime_decompose = yes\n  action = %s\n' "$a" "$a"
        printf '  clamav "c_%s" { database_directory = "%s" }\n}\n' "$a" "$SM_TOP/t/data/sigs"
    done
}

run() {  # WANT ACTION...
    local want=$1 got n
    shift
    n=$((n_run = ${n_run:-0} + 1))
    SM_AV=$(instances "$@") sm_start "$WD/$n"
    got=$(mg_one "unix:$SM_SOCK" "$WD/m")
    if [ "$got" = "$want" ]; then ok "$* -> $want"; else not_ok "$* -> '$got', want '$want'"; fi
    sm_stop || not_ok "$*: daemon did not stop cleanly"
}

run "reject|550 5.7.1 Virus found: $NAME" strip tempfail quarantine discard reject
run "discard|" strip tempfail quarantine discard
run "accept+quarantine|" strip tempfail quarantine
run "tempfail|451 4.3.0 Message held back: $NAME, try again later" strip tempfail
run "accept|" strip
check "strip alone: the log says strip" sm_log_has "verdict=infected, virus=$NAME, engine=c_strip, reply=strip"
run "reject|550 5.7.1 Virus found: $NAME" reject discard quarantine tempfail strip
run "discard|" discard strip quarantine
finish
